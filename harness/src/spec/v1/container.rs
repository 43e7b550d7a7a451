//! A step's `container` (string or object) and a background step's `healthcheck`.

use super::*;
use crate::diagnostic::Diagnostic;
use crate::source::Spanned;
use crate::yaml::{Node, Value};

pub(super) fn container(node: &Node<'_>, diags: &mut Diags) -> Option<Container> {
    if let Value::Scalar { .. } = node.value {
        let image = image(Some(node), "container", diags)?;
        return Some(Container {
            span: node.span,
            image,
            ..Container::default()
        });
    }
    let mut f = fields(node, "`container`", diags)?;
    let span = f.span;
    let image_node = f.get("image");
    let out = Container {
        span: node.span,
        image: Spanned::default(),
        connector: string(f.get("connector"), "connector", diags),
        credentials: f.get("credentials").and_then(|c| {
            let mut cf = fields(c, "`credentials`", diags)?;
            let username = string(cf.get("username"), "username", diags);
            let password = string(cf.get("password"), "password", diags);
            cf.entry("aws");
            cf.finish(diags, &|_| None);
            Some(Credentials { username, password })
        }),
        pull: pull(f.get("pull"), diags),
        entrypoint: string(f.get("entrypoint"), "entrypoint", diags),
        args: strings(f.get("args"), "args", diags),
        dns: strings(f.get("dns"), "dns", diags),
        dns_search: strings(f.get("dsn_search"), "dsn_search", diags),
        extra_hosts: strings(f.get("extra_hosts"), "extra_hosts", diags),
        network: string(f.get("network"), "network", diags),
        network_mode: string(f.get("network_mode"), "network_mode", diags),
        privileged: boolean(f.get("privileged"), "privileged", diags).is_some_and(|b| b.value),
        workdir: string(f.get("workdir"), "workdir", diags),
        ports: ports(f.get("ports"), diags),
        volumes: strings(f.get("volumes"), "volumes", diags),
        user: string(f.get("user"), "user", diags),
        group: string(f.get("group"), "group", diags),
        cpu: string(f.get("cpu"), "cpu", diags),
        memory: string(f.get("memory"), "memory", diags),
        shm_size: string(f.get("shm_size"), "shm_size", diags),
    };
    f.finish(diags, &|k| match k {
        "dns_search" => Some("the schema spells it `dsn_search`".into()),
        "env" | "envs" | "environment" => {
            Some("environment variables go in the step's `envs:`, next to `container:`".into())
        }
        _ => None,
    });
    match image(image_node, "image", diags) {
        Some(image) => Some(Container { image, ..out }),
        None => {
            if image_node.is_none() {
                diags.push(
                    Diagnostic::new(span, "`container` has no `image`")
                        .with_label("expected `image: <name>` here")
                        .with_help("add `image:`, or write the image directly: `container: redis`"),
                );
            }
            None
        }
    }
}

pub(super) fn healthcheck(node: &Node<'_>, diags: &mut Diags) -> Option<Healthcheck> {
    let mut f = fields(node, "`healthcheck`", diags)?;
    let span = f.span;
    let test_node = f.get("test");
    let disable = boolean(f.get("disable"), "disable", diags).is_some_and(|b| b.value);
    let out = Healthcheck {
        span: node.span,
        test: HealthTest::Disabled,
        interval: duration(f.get("interval"), "interval", diags),
        timeout: duration(f.get("timeout"), "timeout", diags),
        retries: uint(f.get("retries"), "retries", diags),
        start_period: duration(f.get("start_period"), "start_period", diags),
        start_interval: duration(f.get("start_interval"), "start_interval", diags),
    };
    f.finish(diags, &|_| None);
    if disable {
        return Some(out);
    }
    let Some(test_node) = test_node else {
        diags.push(
            Diagnostic::new(span, "`healthcheck` has no `test`").with_help(
                "add `test: [\"CMD\", \"redis-cli\", \"ping\"]` or `test: redis-cli ping`",
            ),
        );
        return None;
    };
    let test = match &test_node.value {
        Value::Scalar { text, .. } => HealthTest::Shell(text.to_string()),
        Value::Seq(_) => {
            let words: Vec<String> = strings(Some(test_node), "test", diags)
                .into_iter()
                .map(|s| s.value)
                .collect();
            match words.first().map(String::as_str) {
                Some("NONE") => HealthTest::Disabled,
                Some("CMD") if words.len() > 1 => HealthTest::Cmd(words[1..].to_vec()),
                Some("CMD-SHELL") if words.len() > 1 => HealthTest::Shell(words[1..].join(" ")),
                _ => {
                    diags.push(
                        Diagnostic::new(
                            test_node.span,
                            "a `test` list starts with `CMD`, `CMD-SHELL` or `NONE`",
                        )
                        .with_label("expected `[\"CMD\", \"program\", \"arg\", ...]`")
                        .with_help("write `[\"CMD-SHELL\", \"command\"]` to run through a shell"),
                    );
                    return None;
                }
            }
        }
        _ => {
            diags.push(
                Diagnostic::new(test_node.span, "`test` is a command string or a list")
                    .with_label("expected `[\"CMD\", ...]` or a string"),
            );
            return None;
        }
    };
    Some(Healthcheck { test, ..out })
}
