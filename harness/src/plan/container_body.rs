//! The parts of a planned step that come from its container: image, pull and login,
//! entrypoint and arguments, resources, health check; and the script a step's commands become.

use std::time::Duration;

use super::{HEALTH_INTERVAL, HEALTH_RETRIES, HEALTH_TIMEOUT, HealthPlan, Mount, PlannedStep};
use crate::images::Login;
use crate::spec::{Container, HealthTest, Healthcheck};

pub(super) fn apply_container(p: &mut PlannedStep, c: &Container) {
    p.image = c.image.value.clone();
    p.pull = c.pull.as_ref().map(|x| x.value).unwrap_or_default();
    if let Some(creds) = &c.credentials {
        if let (Some(u), Some(pw)) = (&creds.username, &creds.password) {
            p.login = Some(Login {
                username: u.value.clone(),
                password: pw.value.clone(),
            });
        }
    }
    p.entrypoint = c.entrypoint.as_ref().map(|e| split_words(&e.value));
    if !c.args.is_empty() {
        p.cmd = Some(c.args.iter().map(|a| a.value.clone()).collect());
    }
    let strings = |v: &[crate::source::Spanned<String>]| {
        v.iter().map(|s| s.value.clone()).collect::<Vec<_>>()
    };
    p.dns = strings(&c.dns);
    p.dns_search = strings(&c.dns_search);
    p.extra_hosts = strings(&c.extra_hosts);
    p.ports = c
        .ports
        .iter()
        .filter_map(|x| x.value.parse().ok())
        .collect();
    p.mounts
        .extend(c.volumes.iter().map(|v| Mount::parse_bind(&v.value)));
    p.network_mode = c
        .network_mode
        .as_ref()
        .or(c.network.as_ref())
        .map(|n| n.value.clone());
    p.privileged = c.privileged;
    p.workdir = c.workdir.as_ref().map(|w| w.value.clone());
    p.user = match (&c.user, &c.group) {
        (Some(u), Some(g)) => Some(format!("{}:{}", u.value, g.value)),
        (Some(u), None) => Some(u.value.clone()),
        _ => None,
    };
    p.memory = c.memory.as_ref().and_then(|m| parse_bytes(&m.value));
    p.shm_size = c.shm_size.as_ref().and_then(|m| parse_bytes(&m.value));
    p.nano_cpus = c
        .cpu
        .as_ref()
        .and_then(|c| c.value.parse::<f64>().ok())
        .map(|cores| (cores * 1e9) as i64);
}

pub(super) fn health_plan(h: &Healthcheck) -> HealthPlan {
    let test = match &h.test {
        HealthTest::Cmd(words) => std::iter::once("CMD".to_string())
            .chain(words.iter().cloned())
            .collect(),
        HealthTest::Shell(cmd) => vec!["CMD-SHELL".to_string(), cmd.clone()],
        HealthTest::Disabled => vec!["NONE".to_string()],
    };
    HealthPlan {
        test,
        interval: h.interval.as_ref().map_or(HEALTH_INTERVAL, |d| d.value),
        timeout: h.timeout.as_ref().map_or(HEALTH_TIMEOUT, |d| d.value),
        retries: h.retries.as_ref().map_or(HEALTH_RETRIES, |r| r.value),
        start_period: h.start_period.as_ref().map_or(Duration::ZERO, |d| d.value),
    }
}

/// The program that runs a script for `shell:` (`sh` by default).
pub(super) fn shell_path(shell: Option<&str>) -> &'static str {
    match shell.unwrap_or("sh") {
        "bash" => "/bin/bash",
        "pwsh" | "powershell" => "pwsh",
        "python" => "python3",
        _ => "/bin/sh",
    }
}

/// The script a run step executes: `set -e`, then each command preceded by a `+ command`
/// trace line, as the Gitness runner does (each line of a multi-line command gets its `+ `).
/// Every item of a list runs.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::plan::script_text;
/// let s = script_text(["echo 'hi'"]);
/// assert_eq!(s, "set -e\nprintf '%s\\n' '+ echo '\\''hi'\\'''\necho 'hi'\n");
/// ```
pub fn script_text<'a>(commands: impl IntoIterator<Item = &'a str>) -> String {
    script_with("set -e", commands)
}

/// [`script_text`] with the shell options line `set` (`set -eo pipefail` for a GitHub
/// Actions bash step).
pub(crate) fn script_with<'a>(set: &str, commands: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = format!("{set}\n");
    for cmd in commands {
        let trace: Vec<String> = cmd.lines().map(|l| format!("+ {l}")).collect();
        let trace = trace.join("\n").replace('\'', "'\\''");
        out.push_str(&format!("printf '%s\\n' '{trace}'\n{cmd}\n"));
    }
    out
}

/// Splits an entrypoint string on white space.
pub(super) fn split_words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

/// `512m`, `2g`, `1024` (bytes), `1.5gb` -> bytes.
pub(super) fn parse_bytes(s: &str) -> Option<i64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, mult) = match s.chars().last()? {
        'k' => (&s[..s.len() - 1], 1u64 << 10),
        'm' => (&s[..s.len() - 1], 1 << 20),
        'g' => (&s[..s.len() - 1], 1 << 30),
        't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    Some((n * mult as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(parse_bytes("512m"), Some(512 << 20));
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("2gb"), Some(2 << 30));
        assert_eq!(parse_bytes("x"), None);
    }
}
