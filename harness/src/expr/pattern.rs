//! The regular expressions of `matches` (Drone's globs become them too): each distinct pattern
//! is compiled once per process, under a size limit, and a bad one is described on one line.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use regex::{Regex, RegexBuilder};

/// The most memory one compiled pattern may take (the `regex` crate's own limit is 10 MB).
const SIZE_LIMIT: usize = 1 << 20;
/// Patterns remembered before the cache starts over: it stays small whatever a file holds.
const REMEMBERED: usize = 256;

type Compiled = Result<Arc<Regex>, String>;

static CACHE: LazyLock<Mutex<HashMap<String, Compiled>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// `pattern` compiled, or why it cannot be, in one line (`unclosed group at character 4`).
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::expr::pattern::compiled;
/// assert!(compiled("^v[0-9]+$").unwrap().is_match("v12"));
/// assert_eq!(compiled("ab(c").unwrap_err(), "unclosed group at character 3");
/// assert!(compiled("a{1000}{1000}").unwrap_err().contains("too large"));
/// ```
pub fn compiled(pattern: &str) -> Result<Arc<Regex>, String> {
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(known) = cache.get(pattern) {
        return known.clone();
    }
    let result = RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .dfa_size_limit(SIZE_LIMIT)
        .build()
        .map(Arc::new)
        .map_err(|e| one_line(&e));
    if cache.len() >= REMEMBERED {
        cache.clear();
    }
    cache.insert(pattern.to_string(), result.clone());
    result
}

/// The `regex` crate's error, which spans several lines (the pattern, a caret, the error), as
/// one: what is wrong and at which character of the pattern.
fn one_line(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let what = lines
                .iter()
                .rev()
                .find_map(|l| l.strip_prefix("error: "))
                .unwrap_or("not a regular expression");
            // The caret line sits under the pattern, both indented by four spaces.
            let at = lines
                .iter()
                .find(|l| l.trim_start().starts_with('^') && l.trim().chars().all(|c| c == '^'))
                .map(|l| l.len() - l.trim_start().len());
            match at {
                Some(col) if col >= 4 => format!("{what} at character {}", col - 4 + 1),
                _ => what.to_string(),
            }
        }
        regex::Error::CompiledTooBig(limit) => format!(
            "the pattern compiles too large (over {} KB); write a simpler one",
            limit / 1024
        ),
        other => other.to_string().replace('\n', " "),
    }
}
