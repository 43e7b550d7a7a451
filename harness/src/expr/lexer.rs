//! Expression text -> tokens, each with its byte offset in the expression.

use super::ExprError;

/// One token of an expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    /// Punctuation and operators: `== != <= >= < > && || ! + - * / % ( ) [ ] , . ? : ??`.
    Punct(&'static str),
}

/// A token and where it starts (byte offset in the expression).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) at: usize,
}

const PUNCTS: [&str; 25] = [
    "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "<", ">", "!", "+", "-", "*", "/", "%", "(",
    ")", "[", "]", ",", ".", "?", ":", "{",
];

/// Splits `src` into tokens.
pub(super) fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let at = i;
        if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
            let mut float = false;
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                float = true;
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text: String = src[at..i].chars().filter(|c| *c != '_').collect();
            let tok =
                if float {
                    Tok::Float(text.parse().map_err(|_| ExprError::new(at, "bad number"))?)
                } else {
                    Tok::Int(text.parse().map_err(|_| {
                        ExprError::new(at, format!("the number `{text}` is too large"))
                    })?)
                };
            out.push(Token { tok, at });
            continue;
        }
        if c == b'"' || c == b'\'' || c == b'`' {
            let (s, end) = string(src, i)?;
            out.push(Token {
                tok: Tok::Str(s),
                at,
            });
            i = end;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$')
            {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(src[at..i].to_string()),
                at,
            });
            continue;
        }
        let rest = &src[i..];
        match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            Some(p) if *p != "{" => {
                out.push(Token {
                    tok: Tok::Punct(p),
                    at,
                });
                i += p.len();
            }
            _ => {
                let ch = rest.chars().next().unwrap_or('?');
                return Err(ExprError::new(at, format!("unexpected character `{ch}`")));
            }
        }
    }
    Ok(out)
}

/// A quoted string starting at `start`; returns its value and the offset after it.
fn string(src: &str, start: usize) -> Result<(String, usize), ExprError> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((out, start + 1 + i + 1));
        }
        if c == '\\' && quote != '`' {
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, '0')) => out.push('\0'),
                Some((_, other)) => out.push(other),
                None => break,
            }
            continue;
        }
        out.push(c);
    }
    Err(ExprError::new(
        start,
        format!("this string has no closing {quote}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            toks(r#"build.branch == "main" && 1.5 >= 2"#),
            [
                Tok::Ident("build".into()),
                Tok::Punct("."),
                Tok::Ident("branch".into()),
                Tok::Punct("=="),
                Tok::Str("main".into()),
                Tok::Punct("&&"),
                Tok::Float(1.5),
                Tok::Punct(">="),
                Tok::Int(2),
            ]
        );
        assert_eq!(toks(r"'a\'b'"), [Tok::Str("a'b".into())]);
    }

    #[test]
    fn errors_say_where() {
        let e = lex("a # b").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (2, "unexpected character `#`")
        );
        let e = lex("x == 'open").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (5, "this string has no closing '")
        );
    }
}
