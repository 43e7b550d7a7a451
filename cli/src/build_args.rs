//! The build options of `lint` and `run` (`--branch`, `--event`, `--input`, `--secret`,
//! ...), and how they fill a [`BuildContext`].

use std::path::PathBuf;

use clap::Args;
use pipeline_test_harness::context::BuildContext;

/// The build a pipeline runs for; by default from the git repository holding the file, with
/// event `manual`.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The branch built (`build.branch`, DRONE_BRANCH); default: the repository's branch.
    #[arg(long)]
    branch: Option<String>,
    /// The event (`build.event`): manual (default), push, pull_request, tag, cron.
    #[arg(long)]
    event: Option<String>,
    /// An input (`inputs.NAME`), over the pipeline's default.
    #[arg(long = "input", value_name = "NAME=VALUE", value_parser = parse_env)]
    inputs: Vec<(String, String)>,
    /// A secret (`secrets.get("NAME")`); masked in everything printed.
    // Checked by `apply`, not by clap: clap's error would print the value.
    #[arg(long = "secret", value_name = "NAME=VALUE")]
    secrets: Vec<String>,
    /// A file of NAME=VALUE lines, one secret each (`#` starts a comment line).
    #[arg(long = "secret-file", value_name = "FILE")]
    secret_files: Vec<PathBuf>,
    /// A GitHub Actions configuration variable (`vars.NAME`).
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_env)]
    vars: Vec<(String, String)>,
    /// A GitHub Actions remote action (`uses: owner/repo@ref`) read from a local checkout of
    /// it, as `uses: ./path` is (PIPELINE_TEST_ACTIONS=owner/repo=DIR,...).
    #[arg(long = "action", value_name = "OWNER/REPO=DIR", value_parser = parse_env)]
    actions: Vec<(String, String)>,
    /// GitHub Actions' `github.event`: a webhook payload (JSON), instead of the one made from
    /// git and --event.
    #[arg(long = "event-file", value_name = "FILE")]
    event_file: Option<PathBuf>,
    /// The image of a plugin step that names a plugin from Gitness's store.
    #[arg(long = "plugin", value_name = "NAME=IMAGE", value_parser = parse_env)]
    plugins: Vec<(String, String)>,
    /// The image of run and script steps that name none (PIPELINE_TEST_DEFAULT_IMAGE).
    #[arg(long, value_name = "IMAGE")]
    pub(crate) default_image: Option<String>,
}

impl BuildArgs {
    /// The remote actions mapped to local checkouts.
    pub(crate) fn action_dirs(&self) -> Vec<(String, PathBuf)> {
        self.actions
            .iter()
            .map(|(repo, dir)| (repo.clone(), PathBuf::from(dir)))
            .collect()
    }

    /// Applies the flags to a context read from git and the environment.
    pub(crate) fn apply(&self, ctx: &mut BuildContext) -> Result<(), String> {
        if let Some(b) = &self.branch {
            ctx.set_branch(b.clone());
        }
        if let Some(e) = &self.event {
            ctx.event = e.clone();
        }
        for (k, v) in &self.inputs {
            ctx.inputs.insert(k.clone(), v.clone());
        }
        for (k, v) in &self.vars {
            ctx.vars.insert(k.clone(), v.clone());
        }
        if let Some(path) = &self.event_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the event file {}: {e}", path.display()))?;
            let payload = pipeline_test_harness::expr::github::from_json(&text)
                .map_err(|e| format!("the event file {} is not JSON: {e}", path.display()))?;
            ctx.event_payload = Some(payload);
        }
        for path in &self.secret_files {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read secret file {}: {e}", path.display()))?;
            // A byte-order mark, as some editors write, is not part of the first name.
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (k, v) = dotenv_line(line).ok_or_else(|| {
                    format!(
                        "{}:{}: expected NAME=VALUE (the value is not shown)",
                        path.display(),
                        n + 1
                    )
                })?;
                ctx.secrets.insert(k, v);
            }
        }
        for (i, secret) in self.secrets.iter().enumerate() {
            let Some((k, v)) = secret.split_once('=').filter(|(k, _)| !k.is_empty()) else {
                return Err(format!(
                    "the {} `--secret` is not NAME=VALUE (its text is not shown: it may be the secret itself)",
                    ordinal(i + 1)
                ));
            };
            ctx.secrets.insert(k.to_string(), v.to_string());
        }
        for (k, v) in &self.plugins {
            ctx.plugins.insert(k.clone(), v.clone());
        }
        Ok(())
    }
}

/// One `NAME=VALUE` line of a secret file, read as `.env` files are (act's `--secret-file`):
/// an optional `export `, spaces around the name and value dropped, a value in double quotes
/// with `\n`, `\"` and `\\` escapes, a value in single quotes as written, and a ` #` comment
/// after an unquoted value dropped.
fn dotenv_line(line: &str) -> Option<(String, String)> {
    let line = line.strip_prefix("export ").unwrap_or(line);
    let (k, v) = line.split_once('=')?;
    let k = k.trim();
    if k.is_empty() || k.contains(char::is_whitespace) {
        return None;
    }
    let v = v.trim();
    let value = if let Some(inner) = v.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match (c, chars.clone().next()) {
                ('\\', Some('n')) => {
                    out.push('\n');
                    chars.next();
                }
                ('\\', Some(e @ ('"' | '\\'))) => {
                    out.push(e);
                    chars.next();
                }
                (c, _) => out.push(c),
            }
        }
        out
    } else if let Some(inner) = v.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        inner.to_string()
    } else {
        v.split_once(" #")
            .map_or(v, |(before, _)| before)
            .trim_end()
            .to_string()
    };
    Some((k.to_string(), value))
}

/// `1st`, `2nd`, `3rd`, `4th`, ...
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

pub(crate) fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not NAME=value")),
    }
}

#[cfg(test)]
mod tests {
    use super::dotenv_line;

    #[test]
    fn secret_file_lines_read_as_dotenv() {
        let read = |l: &str| dotenv_line(l).map(|(k, v)| format!("{k}={v}"));
        assert_eq!(read("TOKEN=abc").as_deref(), Some("TOKEN=abc"));
        assert_eq!(read("export TOKEN = abc ").as_deref(), Some("TOKEN=abc"));
        assert_eq!(
            read("TOKEN=\"a b\\\"c\\nd\"").as_deref(),
            Some("TOKEN=a b\"c\nd")
        );
        assert_eq!(read("TOKEN='a \\n b'").as_deref(), Some("TOKEN=a \\n b"));
        assert_eq!(
            read("TOKEN=abc # the CI token").as_deref(),
            Some("TOKEN=abc")
        );
        assert_eq!(read("TOKEN=a#b").as_deref(), Some("TOKEN=a#b"));
        assert_eq!(read("=abc"), None);
        assert_eq!(read("no equals"), None);
    }
}
