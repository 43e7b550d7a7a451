//! Text from a file or a step made safe for a terminal: a leaf module (it uses nothing of the
//! crate), shared by the report and the plan.

/// `text` with the control characters that would move the cursor or rewrite the terminal
/// written out (`\r`, `\x1b[2J`, ...), so that what a step prints cannot hide or fake other
/// lines. Tabs and colour sequences (`ESC [ ... m`) are kept.
///
/// # Examples
///
/// ```
/// use pipeline_test_harness::report::escape_controls;
/// assert_eq!(escape_controls("ok\r\x1b[2Kfake"), "ok\\r\\x1b[2Kfake");
/// assert_eq!(escape_controls("\x1b[31mred\x1b[0m\tx"), "\x1b[31mred\x1b[0m\tx");
/// ```
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let needs = |c: char| c.is_control() && c != '\t';
    if !text.chars().any(needs) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\u{1b}' {
            // Keep a colour sequence: ESC [ digits and semicolons m.
            let tail = &rest[1..];
            if let Some(params) = tail.strip_prefix('[') {
                let n = params
                    .find(|p: char| !(p.is_ascii_digit() || p == ';'))
                    .unwrap_or(params.len());
                if params[n..].starts_with('m') {
                    out.push_str(&rest[..2 + n + 1]);
                    rest = &rest[2 + n + 1..];
                    continue;
                }
            }
        }
        if needs(c) {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            match c {
                '\r' => out.push_str("\\r"),
                '\n' => out.push_str("\\n"),
                c if (c as u32) < 0x100 => {
                    let b = c as u32 as usize;
                    out.push_str("\\x");
                    out.push(HEX[b >> 4] as char);
                    out.push(HEX[b & 15] as char);
                }
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    std::borrow::Cow::Owned(out)
}
