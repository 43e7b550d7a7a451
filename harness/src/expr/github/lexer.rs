//! Expression text -> tokens, as GitHub's lexer splits it (numbers and names run to the next
//! boundary character, so `1 =2` is the bad symbol `=2`, not `=` then `2`).

use super::{ErrorKind, GhError, number};

/// The longest expression GitHub accepts, in characters.
pub(super) const MAX_LENGTH: usize = 21_000;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Bang,
    Ne,
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Star,
    Number(f64),
    Str(String),
    Ident,
    True,
    False,
    Null,
    Eof,
}

/// One token: its kind, its text, and the byte offset where it starts.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) kind: Kind,
    pub(super) lexeme: String,
    pub(super) at: usize,
}

impl Token {
    /// The token as GitHub's messages quote it: a string's value, `EOF` at the end.
    pub(super) fn quoted(&self) -> String {
        match &self.kind {
            Kind::Eof => "EOF".into(),
            Kind::Str(s) => s.clone(),
            _ => self.lexeme.clone(),
        }
    }
}

fn is_boundary(c: char) -> bool {
    matches!(
        c,
        '(' | '[' | ')' | ']' | ',' | '.' | '!' | '>' | '<' | '=' | '&' | '|'
    ) || c.is_whitespace()
}

fn is_legal_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Splits `src` into tokens, the last one `Eof`.
pub(super) fn lex(src: &str) -> Result<Vec<Token>, GhError> {
    if src.chars().count() > MAX_LENGTH {
        return Err(GhError::new(
            ErrorKind::Lexing,
            0,
            format!("Exceeded max expression length {MAX_LENGTH}"),
        ));
    }
    let mut l = Lexer {
        src,
        pos: 0,
        tokens: Vec::new(),
    };
    l.run()?;
    Ok(l.tokens)
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    tokens: Vec<Token>,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn previous(&self) -> Option<&Kind> {
        self.tokens.last().map(|t| &t.kind)
    }

    fn push(&mut self, kind: Kind, start: usize) {
        self.tokens.push(Token {
            kind,
            lexeme: self.src[start..self.pos].to_string(),
            at: start,
        });
    }

    fn bad(&self, start: usize, lexeme: &str) -> GhError {
        GhError::new(
            ErrorKind::Lexing,
            start,
            format!("Unexpected symbol: '{lexeme}'"),
        )
    }

    fn run(&mut self) -> Result<(), GhError> {
        while let Some(c) = self.bump() {
            let start = self.pos - c.len_utf8();
            let kind = match c {
                '(' => Kind::LParen,
                ')' => Kind::RParen,
                '[' => Kind::LBracket,
                ']' => Kind::RBracket,
                ',' => Kind::Comma,
                '.' if matches!(
                    self.previous(),
                    Some(Kind::Ident | Kind::RBracket | Kind::RParen | Kind::Star)
                ) =>
                {
                    Kind::Dot
                }
                '.' | '-' | '+' | '0'..='9' => {
                    self.number(start)?;
                    continue;
                }
                '!' if self.eat('=') => Kind::Ne,
                '!' => Kind::Bang,
                '=' if self.eat('=') => Kind::Eq,
                '<' if self.eat('=') => Kind::Le,
                '<' => Kind::Lt,
                '>' if self.eat('=') => Kind::Ge,
                '>' => Kind::Gt,
                '&' if self.eat('&') => Kind::And,
                '|' if self.eat('|') => Kind::Or,
                '*' => Kind::Star,
                ' ' | '\t' | '\r' | '\n' => continue,
                '\'' => {
                    self.string(start)?;
                    continue;
                }
                _ => {
                    self.name(start)?;
                    continue;
                }
            };
            self.push(kind, start);
        }
        self.tokens.push(Token {
            kind: Kind::Eof,
            lexeme: String::new(),
            at: self.src.len(),
        });
        Ok(())
    }

    fn number(&mut self, start: usize) -> Result<(), GhError> {
        while let Some(c) = self.peek() {
            if is_boundary(c) && c != '.' {
                break;
            }
            self.bump();
        }
        let lexeme = &self.src[start..self.pos];
        let value = number::parse(lexeme);
        if value.is_nan() {
            return Err(self.bad(start, lexeme));
        }
        self.push(Kind::Number(value), start);
        Ok(())
    }

    fn string(&mut self, start: usize) -> Result<(), GhError> {
        let mut value = String::new();
        loop {
            match self.bump() {
                None => return Err(self.bad(start, &self.src[start..])),
                Some('\'') if self.eat('\'') => value.push('\''),
                Some('\'') => break,
                Some(c) => value.push(c),
            }
        }
        self.push(Kind::Str(value), start);
        Ok(())
    }

    fn name(&mut self, start: usize) -> Result<(), GhError> {
        while self.peek().is_some_and(|c| !is_boundary(c)) {
            self.bump();
        }
        let lexeme = &self.src[start..self.pos];
        let after_dot = self.previous() == Some(&Kind::Dot);
        let kind = match lexeme {
            "true" if !after_dot => Kind::True,
            "false" if !after_dot => Kind::False,
            "null" if !after_dot => Kind::Null,
            "NaN" if !after_dot => Kind::Number(f64::NAN),
            "Infinity" if !after_dot => Kind::Number(f64::INFINITY),
            _ => Kind::Ident,
        };
        if !is_legal_name(lexeme) {
            return Err(self.bad(start, lexeme));
        }
        self.push(kind, start);
        Ok(())
    }
}
