//! Where pipeline-test runs a valid file differently from Gitness, on purpose: a `note:` at the
//! line, so that a pipeline that passes locally does not surprise its author on the server.
//! The README's "Where Gitness differs" section lists the same points.

use super::{Pipeline, Step, StepSpec, When};
use crate::diagnostic::Diagnostic;
use crate::source::{Span, Spanned};

/// Every note for `pipeline`, in source order.
pub(super) fn notes(pipeline: &Pipeline) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if let Some(t) = &pipeline.options.timeout {
        out.push(note(t.span, "Gitness ignores `options.timeout` (its stages time out after the repository's limit); pipeline-test enforces it"));
    }
    for stage in &pipeline.stages {
        if let Some(m) = stage.strategy.as_ref().and_then(|s| s.matrix.as_ref()) {
            let span = m.axis.first().map_or(stage.span, |(n, _)| n.span);
            out.push(
                Diagnostic::new(span, "Gitness cannot run a stage `matrix` (the stage fails to compile there); pipeline-test runs one stage per combination")
                    .warning(),
            );
        }
        if let Some(When::Conditions(_)) = &stage.when {
            out.push(note(stage.span, WHEN_MAP));
        }
        for step in stage.all_steps() {
            step_notes(step, &mut out);
        }
    }
    out
}

const WHEN_MAP: &str = "Gitness ignores the mapping form of `when` (the step runs on every build there); pipeline-test evaluates it";

fn note(span: Span, message: &str) -> Diagnostic {
    Diagnostic::new(span, message).note()
}

fn step_notes(step: &Step, out: &mut Vec<Diagnostic>) {
    if let Some(t) = &step.timeout {
        out.push(note(
            t.span,
            "Gitness ignores a step's `timeout`; pipeline-test enforces it",
        ));
    }
    if let Some(When::Conditions(c)) = &step.when {
        let span = c.iter().flatten().next().map_or(step.span, |c| c.key.span);
        out.push(note(span, WHEN_MAP));
    }
    if let Some(m) = step.strategy.as_ref().and_then(|s| s.matrix.as_ref()) {
        if !m.include.is_empty() || !m.exclude.is_empty() || m.concurrency.is_some() {
            let span = m.concurrency.as_ref().map_or(step.span, |c| c.span);
            out.push(note(span, "Gitness uses only a matrix's `axis`; pipeline-test also honours `include`, `exclude` and `concurrency`"));
        }
    }
    if let Some(name) = &step.name {
        if step.hostnames.len() > 1 && step.hostnames.contains(&name.value) {
            out.push(note(
                name.span,
                &format!(
                    "other steps reach this one as `{}` here; on Gitness only as `{}`",
                    name.value, step.hostnames[0]
                ),
            ));
        }
    }
    let shell = |s: &Option<Spanned<String>>, out: &mut Vec<Diagnostic>| {
        if let Some(s) = s.as_ref().filter(|s| s.value != "sh") {
            out.push(note(s.span, "Gitness ignores `shell` and always runs scripts with /bin/sh; pipeline-test uses the shell named"));
        }
    };
    let script_list = |items: &[Spanned<String>], out: &mut Vec<Diagnostic>| {
        if let Some(second) = items.get(1) {
            out.push(note(second.span, "Gitness runs only the first item of a `script` list; pipeline-test runs every item"));
        }
    };
    match &step.spec {
        StepSpec::Run(r) => {
            shell(&r.shell, out);
            script_list(&r.script, out);
            if let Some(c) = &r.container {
                container_notes(c, out);
            }
        }
        StepSpec::Script(s) => {
            shell(&s.shell, out);
            script_list(&s.run, out);
        }
        StepSpec::Background(b) => {
            out.push(note(step.type_span, "pipeline-test waits until this service is healthy, or listens on its ports, before the next step; Gitness starts the next step at once"));
            if let Some(first) = b.script.first() {
                out.push(note(first.span, "Gitness ignores a background step's `script` (it runs only `run`); pipeline-test runs it"));
            }
            if let Some(h) = &b.healthcheck {
                out.push(note(
                    h.span,
                    "`healthcheck` is a pipeline-test extension; Gitness ignores it",
                ));
            }
            if let Some(c) = &b.container {
                container_notes(c, out);
            }
            let host = b
                .container
                .as_ref()
                .and_then(|c| c.network_mode.as_ref().or(c.network.as_ref()))
                .or(b.network.as_ref())
                .filter(|n| n.value == "host");
            if let Some(n) = host {
                out.push(note(n.span, "with the host's network, this service listens on every interface of this machine, not only 127.0.0.1, and other steps reach it at the host's address, not its name"));
            }
            if let Some(p) = b.ports.first() {
                out.push(note(
                    p.span,
                    "Gitness publishes no ports; pipeline-test publishes these on 127.0.0.1",
                ));
            }
        }
        StepSpec::Parallel(_) => {
            out.push(note(step.type_span, "Gitness runs the steps of a `parallel` one after another; pipeline-test runs them at the same time"));
        }
        StepSpec::Plugin(p) => {
            if let Some(image) = &p.image {
                out.push(note(image.span, "pipeline-test runs this image as a Drone plugin (`PLUGIN_*` variables); Gitness resolves plugins from its plugin store"));
            }
        }
        _ => {}
    }
}

fn container_notes(c: &super::Container, out: &mut Vec<Diagnostic>) {
    let fields: [(&str, Option<Span>); 10] = [
        ("dns", c.dns.first().map(|s| s.span)),
        ("dns_search", c.dns_search.first().map(|s| s.span)),
        ("extra_hosts", c.extra_hosts.first().map(|s| s.span)),
        ("ports", c.ports.first().map(|s| s.span)),
        ("volumes", c.volumes.first().map(|s| s.span)),
        ("workdir", c.workdir.as_ref().map(|s| s.span)),
        ("memory", c.memory.as_ref().map(|s| s.span)),
        ("cpu", c.cpu.as_ref().map(|s| s.span)),
        ("shm_size", c.shm_size.as_ref().map(|s| s.span)),
        ("group", c.group.as_ref().map(|s| s.span)),
    ];
    for (name, span) in fields {
        if let Some(span) = span {
            out.push(note(
                span,
                &format!("Gitness ignores a container's `{name}`; pipeline-test honours it"),
            ));
        }
    }
}
