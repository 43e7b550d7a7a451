//! GitHub Actions expressions in the dialect the resolver evaluates, and the contexts they
//! read (`github`, `runner`, `env`, `job`, `vars`, `needs`, `steps`, `strategy`).
//!
//! The syntax is the same (`${{ }}`, `==`, `&&`, `'strings'`, `contains(...)`); what differs
//! is rewritten: `secrets.NAME` reads the secret `NAME`, `a.b-c` is the key `b-c`,
//! `ports[6379]` is the port's key, `cancelled()` is false (a local run is never cancelled).

use std::collections::BTreeMap;

use crate::context::BuildContext;
use crate::expr::Value;
use crate::spec::{Stage, StepSpec};

/// `text` with every `${{ }}` rewritten.
pub(crate) fn rewrite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        let Some(len) = rest[start + 3..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str("${{ ");
        out.push_str(code(rest[start + 3..start + 3 + len].trim()).trim());
        out.push_str(" }}");
        rest = &rest[start + 3 + len + 2..];
    }
    out.push_str(rest);
    out
}

/// An `if:` condition: with or without `${{ }}` around it.
pub(crate) fn condition(text: &str) -> String {
    let t = text.trim();
    match t
        .strip_prefix("${{")
        .and_then(|s| s.strip_suffix("}}"))
        .filter(|inner| !inner.contains("${{"))
    {
        Some(inner) => code(inner.trim()),
        None => code(t),
    }
}

fn is_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_part(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// One expression's code, rewritten.
pub(crate) fn code(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // GitHub's strings: single quotes, '' inside is one quote.
            let mut s = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        s.push('\'');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                s.push(chars[i]);
                i += 1;
            }
            out.push_str(&crate::spec::build::string_literal(&s));
            continue;
        }
        let after_dot = i > 0 && (chars[i - 1] == '.' || is_part(chars[i - 1]));
        if !is_start(c) || after_dot {
            out.push(c);
            i += 1;
            continue;
        }
        let mut segments = Vec::new();
        loop {
            let begin = i;
            while i < chars.len() && is_part(chars[i]) {
                i += 1;
            }
            segments.push(chars[begin..i].iter().collect::<String>());
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|c| is_start(*c)) {
                i += 1;
            } else {
                break;
            }
        }
        let call = chars.get(i) == Some(&'(');
        match segments.as_slice() {
            [root, name, ..] if root == "secrets" && !call => {
                out.push_str(&crate::spec::build::secret_code(name));
                continue;
            }
            [name] if name == "cancelled" && call => {
                out.push_str("false");
                // Skip `()`.
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        out.push_str(&segments[0]);
        for seg in &segments[1..] {
            if seg.contains('-') {
                out.push_str(&format!("[\"{seg}\"]"));
            } else {
                out.push('.');
                out.push_str(seg);
            }
        }
        if segments.last().is_some_and(|s| s == "ports") && chars.get(i) == Some(&'[') {
            let digits: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if !digits.is_empty() && chars.get(i + 1 + digits.len()) == Some(&']') {
                out.push_str(&format!("[\"{digits}\"]"));
                i += digits.len() + 2;
            }
        }
    }
    out
}

/// The contexts of a job's expressions, beside the build's (`inputs`, `matrix`, secrets).
pub(crate) fn scope(
    ctx: &BuildContext,
    stage: &Stage,
    workflow: &str,
) -> Vec<(&'static str, Value)> {
    let git_ref = ctx.git_ref();
    let ref_name = git_ref
        .strip_prefix("refs/tags/")
        .or_else(|| git_ref.strip_prefix("refs/heads/"))
        .unwrap_or(&ctx.branch)
        .to_string();
    let event = match ctx.event.as_str() {
        "manual" | "" => "workflow_dispatch",
        "tag" => "push",
        other => other,
    };
    let job = stage
        .id
        .as_ref()
        .map(|i| i.value.clone())
        .unwrap_or_default();
    let slug = ctx.slug();
    let number = ctx.number.to_string();
    let mut github = string_map([
        ("ref", git_ref.as_str()),
        ("ref_name", ref_name.as_str()),
        (
            "ref_type",
            if git_ref.starts_with("refs/tags/") {
                "tag"
            } else {
                "branch"
            },
        ),
        ("sha", ctx.commit.as_str()),
        ("event_name", event),
        ("repository", slug.as_str()),
        ("repository_owner", ctx.repo_namespace.as_str()),
        ("actor", ctx.author_login.as_str()),
        ("triggering_actor", ctx.author_login.as_str()),
        ("run_id", number.as_str()),
        ("run_number", number.as_str()),
        ("run_attempt", "1"),
        (
            "workspace",
            crate::spec::Format::GitHubActions.workspace_path(),
        ),
        ("job", job.as_str()),
        ("workflow", workflow),
        ("server_url", "https://github.com"),
        ("api_url", "https://api.github.com"),
        ("head_ref", ""),
        ("base_ref", ""),
        ("action", ""),
        ("token", ""),
    ]);
    github.insert("event".into(), Value::Map(BTreeMap::new()));
    let runner = Value::map([
        ("os", "Linux"),
        ("arch", "X64"),
        ("name", "pipeline-test"),
        ("temp", "/tmp"),
        ("tool_cache", "/opt/hostedtoolcache"),
        ("environment", "self-hosted"),
    ]);
    let env: BTreeMap<String, Value> = stage
        .envs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect();
    let mut services = BTreeMap::new();
    for step in &stage.steps {
        let StepSpec::Background(b) = &step.spec else {
            continue;
        };
        let Some(c) = &b.container else { continue };
        let mut ports = BTreeMap::new();
        for p in &c.ports {
            if let Ok(m) = p.value.parse::<crate::ports::PortMapping>() {
                let host = m.host.unwrap_or(m.container.number);
                ports.insert(
                    m.container.number.to_string(),
                    Value::from(host.to_string().as_str()),
                );
            }
        }
        let mut service = string_map([("id", ""), ("network", "")]);
        service.insert("ports".into(), Value::Map(ports));
        let key = step
            .id
            .as_ref()
            .map(|i| i.value.clone())
            .unwrap_or_default();
        services.insert(key, Value::Map(service));
    }
    let mut job_map = string_map([("status", "success")]);
    job_map.insert("services".into(), Value::Map(services));
    job_map.insert(
        "container".into(),
        Value::map([("id", ""), ("network", "")]),
    );
    vec![
        ("github", Value::Map(github)),
        ("runner", runner),
        ("env", Value::Map(env)),
        ("job", Value::Map(job_map)),
        ("vars", Value::Map(BTreeMap::new())),
        ("needs", Value::Map(BTreeMap::new())),
        ("steps", Value::Map(BTreeMap::new())),
        ("strategy", Value::map([("job-index", "0")])),
    ]
}

fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_what_differs() {
        assert_eq!(
            rewrite("echo ${{ secrets.TOKEN }} ${{ matrix.node-version }}"),
            "echo ${{ secrets.get(\"TOKEN\") }} ${{ matrix[\"node-version\"] }}"
        );
        assert_eq!(
            code("job.services.redis.ports[6379]"),
            "job.services.redis.ports[\"6379\"]"
        );
        assert_eq!(
            code("github.ref == 'refs/heads/main' && !cancelled()"),
            "github.ref == \"refs/heads/main\" && !false"
        );
        assert_eq!(condition("${{ always() }}"), "always()");
        assert_eq!(code("'it''s'"), "\"it's\"");
        assert_eq!(code("1.5 > 1"), "1.5 > 1");
    }
}
