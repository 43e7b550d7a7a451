//! What a message suggests or lists: the likely intended name of a typo, and lists of names
//! kept short. Both stay cheap on a hostile file's thousands of names.

/// `items` joined by `, `, at most 20 of them, then `and N more`: a hostile file's thousands
/// of names stay out of every message.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::diagnostic::listed;
/// assert_eq!(listed(&["a", "b"]), "a, b");
/// let many: Vec<String> = (0..25).map(|i| i.to_string()).collect();
/// assert!(listed(&many).ends_with("19 and 5 more"));
/// ```
pub fn listed<S: AsRef<str>>(items: &[S]) -> String {
    const SHOWN: usize = 20;
    let shown: Vec<&str> = items.iter().take(SHOWN).map(AsRef::as_ref).collect();
    let more = items.len().saturating_sub(SHOWN);
    let mut text = shown.join(", ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

/// Suggests the candidate closest to `word`, if any is close enough to be a likely typo.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::diagnostic::did_you_mean;
/// assert_eq!(did_you_mean("scirpt", &["script", "shell"]), Some("script"));
/// assert_eq!(did_you_mean("zzz", &["script", "shell"]), None);
/// ```
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    // Suggestions are for typos of short names: longer words, or candidates whose length alone
    // puts them out of reach, are not compared (so a hostile file stays linear here).
    const LONGEST: usize = 64;
    let lower = word.to_ascii_lowercase();
    if word.len() > LONGEST {
        return None;
    }
    let reach = |c: &str| (c.len().max(word.len()) / 3).max(1);
    candidates
        .iter()
        .filter(|c| c.len() <= LONGEST && c.len().abs_diff(word.len()) <= reach(c))
        .map(|c| (edit_distance(&lower, c), *c))
        .filter(|(d, c)| *d <= reach(c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("scirpt", "script"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("contianer", &["container", "envs"]),
            Some("container")
        );
        assert_eq!(did_you_mean("Envs", &["container", "envs"]), Some("envs"));
        assert_eq!(did_you_mean("x", &["container", "envs"]), None);
    }
}
