//! Checks across steps and names, after decoding: hostnames, duplicates, volume references.

use std::collections::HashMap;

use super::{Pipeline, Step, StepSpec};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// Gitness's slug: lowercase ASCII letters and digits, everything else dropped.
///
/// # Examples
///
/// `my-db` becomes `mydb`, `Build & Test` becomes `buildtest`.
pub(crate) fn slugify(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// True for a valid DNS label: letters, digits and inner hyphens, at most 63 characters.
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub(super) fn normalize(pipeline: &mut Pipeline, diags: &mut Vec<Diagnostic>) {
    let mut stage_names: HashMap<String, Span> = HashMap::new();
    let word = pipeline.format.stage_word();
    for stage in &mut pipeline.stages {
        if let Some(name) = stage.name.as_ref() {
            if let Some(first) = stage_names.get(&name.value) {
                let label = if first.start.line == name.span.start.line {
                    "two copies of this matrix have this name".to_string()
                } else {
                    format!("first used at line {}", first.start.line)
                };
                diags.push(
                    Diagnostic::new(name.span, format!("another {word} is named `{}`", name.value))
                        .warning()
                        .with_label(label)
                        .with_help(format!("`--stage` and `stage = \"...\"` select the first; give every {word} a name of its own")),
                );
            } else {
                stage_names.insert(name.value.clone(), name.span);
            }
        }
        let volumes: Vec<String> = stage.volumes.iter().map(|v| v.name.value.clone()).collect();
        let mut names = HashMap::new();
        let mut hosts = HashMap::new();
        let mut ctx = Ctx {
            warn_duplicates: pipeline.format == super::Format::HarnessV1,
            reached_by_name: pipeline.format != super::Format::GitHubActions,
            names: &mut names,
            hosts: &mut hosts,
            volumes: &volumes,
            volume_set: volumes.iter().map(String::as_str).collect(),
            diags,
            next_number: HashMap::new(),
        };
        // Named steps first, so that generated names never take a name a step asked for.
        for_each_step(&mut stage.steps, &mut |step| ctx.named(step));
        for_each_step(&mut stage.steps, &mut |step| ctx.unnamed(step));
    }
}

fn for_each_step(steps: &mut [Step], f: &mut dyn FnMut(&mut Step)) {
    for step in steps {
        f(step);
        if let StepSpec::Group(children) | StepSpec::Parallel(children) = &mut step.spec {
            for_each_step(children, f);
        }
    }
}

struct Ctx<'a> {
    /// Only Gitness's own format warns about steps of the same name: the others name steps
    /// freely (`uses: actions/cache` twice).
    warn_duplicates: bool,
    /// Steps are reached by their names (GitHub Actions reaches only services, by their key).
    reached_by_name: bool,
    /// Step name -> where it was first written.
    names: &'a mut HashMap<String, Span>,
    /// Hostname -> the step (display name, line) that has it.
    hosts: &'a mut HashMap<String, (String, u32)>,
    volumes: &'a [String],
    volume_set: std::collections::HashSet<&'a str>,
    diags: &'a mut Vec<Diagnostic>,
    /// Base hostname -> the next number to try for it.
    next_number: HashMap<String, usize>,
}

impl Ctx<'_> {
    fn named(&mut self, step: &mut Step) {
        self.check_mounts(step);
        let Some(label) = step.id.as_ref().or(step.name.as_ref()).cloned() else {
            return;
        };
        if label.value.contains("${{")
            || step.name.as_ref().is_some_and(|n| n.value.contains("${{"))
        {
            // Named by an expression: checked once it is expanded.
            step.hostnames = vec![slugify(&label.value)];
            return;
        }
        let mut duplicate = false;
        if let Some(name) = &step.name {
            if let Some(first) = self.names.get(&name.value) {
                if self.warn_duplicates {
                    self.diags.push(
                    Diagnostic::new(name.span, format!("another step is named `{}`", name.value))
                        .warning()
                        .with_label(format!("first used at line {}", first.start.line))
                        .with_help("Gitness gives it a numbered hostname, as pipeline-test does; give each step a name of its own to reach it by name"),
                    );
                }
                duplicate = true;
            } else {
                self.names.insert(name.value.clone(), name.span);
            }
        }
        let mut candidates = vec![slugify(&label.value)];
        if candidates[0].is_empty() {
            candidates[0] = step.spec.type_name().to_string();
        }
        if duplicate {
            // As Gitness's normalisation does: the slug with the first free number.
            candidates[0] = self.numbered(&candidates[0]);
        } else {
            for n in [&step.name, &step.id].into_iter().flatten() {
                if is_dns_label(&n.value) && !candidates.contains(&n.value) {
                    candidates.push(n.value.clone());
                }
            }
        }
        let service = matches!(step.spec, StepSpec::Background(_));
        if candidates[0].len() > 63
            && (!step.matrix.is_empty() || !(self.reached_by_name || service))
        {
            // A matrix copy's generated name, or a name nothing reaches the step by: cut.
            candidates[0].truncate(63);
        }
        if candidates[0].len() > 63 {
            self.diags.push(
                Diagnostic::new(
                    label.span,
                    format!(
                        "the hostname of this step, `{}`, has {} characters: a DNS name stops at 63",
                        candidates[0],
                        candidates[0].len()
                    ),
                )
                .with_label("other steps could not reach it by name")
                .with_help("give the step a shorter `name`, or an `id` of at most 63 letters and digits"),
            );
            return;
        }
        candidates.retain(|c| c.len() <= 63);
        let who = step.display_name();
        for host in &candidates {
            if let Some((other, line)) = self.hosts.get(host) {
                self.diags.push(
                    Diagnostic::new(label.span, format!("step `{who}` would have the hostname `{host}`, which step `{other}` (line {line}) already has"))
                        .with_label("hostnames are the name in lowercase letters and digits")
                        .with_help("rename one of the two steps so that their hostnames differ"),
                );
                return;
            }
        }
        for host in &candidates {
            self.hosts
                .insert(host.clone(), (who.clone(), label.span.start.line));
        }
        step.hostnames = candidates;
    }

    fn unnamed(&mut self, step: &mut Step) {
        if step.id.is_some() || step.name.is_some() {
            return;
        }
        let host = self.numbered(step.spec.type_name());
        self.hosts
            .insert(host.clone(), (host.clone(), step.span.start.line));
        step.hostnames = vec![host];
    }

    /// `base`, or if taken `base` with the first free number (`base1`, `base2`, ...). Numbers
    /// below the one remembered for `base` are taken already (hostnames are never freed), so
    /// each search starts there: n steps of one name cost O(n), not O(n^2).
    fn numbered(&mut self, base: &str) -> String {
        if !self.hosts.contains_key(base) {
            return base.to_string();
        }
        let i = self.next_number.entry(base.to_string()).or_insert(1);
        let mut host = format!("{base}{i}");
        while self.hosts.contains_key(&host) {
            *i += 1;
            host = format!("{base}{i}");
        }
        *i += 1;
        host
    }

    fn check_mounts(&mut self, step: &Step) {
        let mounts = match &step.spec {
            StepSpec::Run(r) => &r.mount,
            StepSpec::Background(b) => &b.mount,
            StepSpec::Script(s) => &s.mount,
            _ => return,
        };
        for m in mounts {
            if !self.volume_set.contains(m.name.value.as_str()) {
                self.diags.push(
                    Diagnostic::new(
                        m.name.span,
                        format!("mount of unknown volume `{}`", m.name.value),
                    )
                    .with_help(if self.volumes.is_empty() {
                        "declare it in the stage's `spec.volumes`".to_string()
                    } else {
                        format!(
                            "the stage's volumes are: {}",
                            crate::diagnostic::listed(self.volumes)
                        )
                    }),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slugify("my-db"), "mydb");
        assert_eq!(slugify("Build & Test"), "buildtest");
        assert!(is_dns_label("my-db"));
        assert!(!is_dns_label("my_db"));
        assert!(!is_dns_label("-x"));
    }
}
