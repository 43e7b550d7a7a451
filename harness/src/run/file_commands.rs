//! A GitHub Actions step's file commands: the files put into its container at its turn (its
//! script when made then, the variables its gate exports, empty `$GITHUB_OUTPUT`,
//! `$GITHUB_ENV`, `$GITHUB_PATH`, `$GITHUB_STEP_SUMMARY`), and those files read back, as
//! GitHub's runner reads them.

use super::github::Turn;
use crate::engine::ContainerEngine;
use crate::plan::{ENV_FILE, FILE_COMMANDS, FILE_COMMANDS_DIR as FILES_DIR};

/// `NAME=value` lines and `NAME<<DELIMITER` blocks, as GitHub reads `$GITHUB_OUTPUT` and
/// `$GITHUB_ENV`.
pub(crate) fn parse_file_command(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim().is_empty() {
            continue;
        }
        let heredoc = line
            .split_once("<<")
            .filter(|(name, _)| !name.contains('='));
        if let Some((name, delimiter)) = heredoc {
            let mut value = Vec::new();
            loop {
                match lines.next() {
                    Some(l) if l == delimiter => break,
                    Some(l) => value.push(l),
                    None => {
                        return Err(format!(
                            "`{name}<<{delimiter}` has no line `{delimiter}` to end it"
                        ));
                    }
                }
            }
            out.push((name.to_string(), value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            out.push((name.to_string(), value.to_string()));
        } else {
            return Err(format!(
                "`{line}` is neither `NAME=value` nor `NAME<<DELIMITER`"
            ));
        }
    }
    Ok(out)
}

/// A shell-safe `export` line, or `None` for a name no shell can export.
fn export(name: &str, value: &str) -> Option<String> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| format!("export {name}='{}'\n", value.replace('\'', "'\\''")))
}

/// The files a GitHub step gets at its turn: its script when made then, the variables its
/// gate exports, and empty file-command files.
pub(crate) fn turn_archive(turn: &Turn) -> Vec<u8> {
    let mut archive = tar::Builder::new(Vec::new());
    let mut add = |path: &str, mode: u32, body: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        // Writing to memory cannot fail.
        let _ = archive.append_data(&mut header, path.trim_start_matches('/'), body);
    };
    if let Some(script) = &turn.script {
        add(crate::plan::SCRIPT_PATH, 0o755, script.as_bytes());
    }
    let mut exports: String = turn.env.iter().filter_map(|(k, v)| export(k, v)).collect();
    if !turn.path.is_empty() {
        let dirs = turn.path.join(":").replace('\'', "'\\''");
        exports.push_str(&format!("export PATH='{dirs}':\"$PATH\"\n"));
    }
    add(ENV_FILE, 0o644, exports.as_bytes());
    for (_, file) in FILE_COMMANDS {
        // Any user the step runs as can write them.
        add(&format!("{FILES_DIR}/{file}"), 0o666, b"");
    }
    archive.into_inner().unwrap_or_default()
}

/// The file-command files of container `id`, by name.
pub(super) async fn read(
    engine: &dyn ContainerEngine,
    id: &str,
) -> Result<Vec<(String, String)>, String> {
    let bytes: Vec<u8> = engine
        .download(id, FILES_DIR)
        .await
        .map_err(|e| format!("cannot read the step's file commands: {e}"))?;
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(&bytes[..]);
    let entries = archive
        .entries()
        .map_err(|e| format!("cannot read the step's file commands: {e}"))?;
    for entry in entries.flatten() {
        let mut entry = entry;
        let Ok(path) = entry.path().map(|p| p.to_path_buf()) else {
            continue;
        };
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let mut text = String::new();
        if std::io::Read::read_to_string(&mut entry, &mut text).is_ok() {
            out.push((name, text));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_commands_as_github_reads_them() {
        let text = "version=1.2\nnotes<<EOF\nline one\nline=two\nEOF\n\nempty=\n";
        assert_eq!(
            parse_file_command(text).unwrap(),
            [
                ("version".to_string(), "1.2".to_string()),
                ("notes".to_string(), "line one\nline=two".to_string()),
                ("empty".to_string(), String::new()),
            ]
        );
        assert!(parse_file_command("x<<END\nno end\n").is_err());
        assert!(parse_file_command("just words\n").is_err());
    }

    #[test]
    fn exports_are_quoted_for_the_shell() {
        assert_eq!(
            export("A_1", "it's"),
            Some("export A_1='it'\\''s'\n".into())
        );
        assert_eq!(export("a-b", "x"), None);
    }
}
