//! Tokens -> a syntax tree, with the precedence of antonmedv/expr (the language Gitness
//! evaluates `${{ }}` in): `?:`, `??`, `or`, `and`, comparisons and word operators, `+ -`,
//! `* / %`, unary `not ! -`, then member access, indexing and calls.

use super::ExprError;
use super::lexer::{Tok, Token};

/// A parsed expression. Every node keeps the byte offset it starts at, for messages.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ast {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<(Ast, usize)>),
    Ident(String, usize),
    Member(Box<Ast>, String, usize),
    Index(Box<Ast>, Box<Ast>, usize),
    Call(Box<Ast>, Vec<Ast>, usize),
    Unary(&'static str, Box<Ast>, usize),
    Binary(&'static str, Box<Ast>, Box<Ast>, usize),
    Cond(Box<Ast>, Box<Ast>, Box<Ast>),
}

/// Parses a whole expression.
pub(super) fn parse(tokens: &[Token], len: usize) -> Result<Ast, ExprError> {
    let mut p = Parser {
        tokens,
        pos: 0,
        len,
        depth: 0,
    };
    if tokens.is_empty() {
        return Err(ExprError::new(0, "the expression is empty"));
    }
    let ast = p.ternary()?;
    if let Some(t) = p.peek() {
        return Err(ExprError::new(
            t.at,
            format!(
                "unexpected {} after a complete expression",
                describe(&t.tok)
            ),
        ));
    }
    Ok(ast)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(n) => format!("number `{n}`"),
        Tok::Float(n) => format!("number `{n}`"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::Punct(p) => format!("`{p}`"),
    }
}

struct Parser<'t> {
    tokens: &'t [Token],
    pos: usize,
    len: usize,
    /// How deep the expression nests here: parentheses, `? :`, unary operators, and the
    /// operators of a chain (`a + b + ...` nests one level per operator).
    depth: usize,
}

/// How deep an expression may nest: deeper, it is refused at the place where the limit is
/// crossed, rather than overflowing the stack of the parser or the evaluator.
pub(crate) const MAX_DEPTH: usize = 100;

/// Binary operators by precedence level, lowest first.
const LEVELS: [&[&str]; 5] = [
    &["||", "or"],
    &["&&", "and"],
    &[
        "==",
        "!=",
        "<",
        ">",
        "<=",
        ">=",
        "in",
        "not in",
        "matches",
        "contains",
        "startsWith",
        "endsWith",
    ],
    &["+", "-"],
    &["*", "/", "%"],
];

impl Parser<'_> {
    /// One level deeper, `levels` at once; an error where the limit is crossed.
    fn deeper(&mut self, levels: usize, at: usize) -> Result<(), ExprError> {
        self.depth += levels;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::new(
                at,
                format!("the expression nests more than {MAX_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn at(&self) -> usize {
        self.peek().map_or(self.len, |t| t.at)
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Token { tok: Tok::Punct(q), .. }) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), ExprError> {
        if self.eat_punct(p) {
            return Ok(());
        }
        let found = self
            .peek()
            .map_or("the end of the expression".to_string(), |t| {
                describe(&t.tok)
            });
        Err(ExprError::new(
            self.at(),
            format!("expected `{p}`, found {found}"),
        ))
    }

    /// A field name written with hyphens and no spaces (`matrix.python-version`, as GitHub
    /// Actions spells keys) is read as one name; `a.b - c` stays a subtraction.
    fn hyphenated(&mut self, mut name: String, at: usize) -> String {
        let mut end = at + name.len();
        while let (
            Some(Token {
                tok: Tok::Punct("-"),
                at: minus,
            }),
            Some(Token {
                tok: Tok::Ident(next),
                at: next_at,
            }),
        ) = (self.tokens.get(self.pos), self.tokens.get(self.pos + 1))
        {
            if *minus != end || *next_at != minus + 1 {
                break;
            }
            name.push('-');
            name.push_str(next);
            end = next_at + next.len();
            self.pos += 2;
        }
        name
    }

    fn ternary(&mut self) -> Result<Ast, ExprError> {
        let at = self.at();
        self.deeper(1, at)?;
        let out = self.ternary_inner();
        self.depth -= 1;
        out
    }

    fn ternary_inner(&mut self) -> Result<Ast, ExprError> {
        let cond = self.coalesce()?;
        if self.eat_punct("?") {
            let yes = self.ternary()?;
            self.expect(":")?;
            let no = self.ternary()?;
            return Ok(Ast::Cond(Box::new(cond), Box::new(yes), Box::new(no)));
        }
        Ok(cond)
    }

    fn coalesce(&mut self) -> Result<Ast, ExprError> {
        let mut left = self.binary(0)?;
        while let Some(at) = self.peek().map(|t| t.at) {
            if !self.eat_punct("??") {
                break;
            }
            let right = self.binary(0)?;
            left = Ast::Binary("??", Box::new(left), Box::new(right), at);
        }
        Ok(left)
    }

    /// The operator at the cursor if it belongs to `level`, consuming it.
    fn operator(&mut self, level: usize) -> Option<(&'static str, usize)> {
        let t = self.peek()?;
        let at = t.at;
        let word = match &t.tok {
            Tok::Punct(p) => *p,
            Tok::Ident(w) => w.as_str(),
            _ => return None,
        };
        if level == 2 && word == "not" {
            if let Some(Token {
                tok: Tok::Ident(next),
                ..
            }) = self.tokens.get(self.pos + 1)
            {
                if next == "in" {
                    self.pos += 2;
                    return Some(("not in", at));
                }
            }
            return None;
        }
        let op = LEVELS[level].iter().find(|o| **o == word)?;
        self.pos += 1;
        Some((op, at))
    }

    fn binary(&mut self, level: usize) -> Result<Ast, ExprError> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        let mut chain = 0;
        while let Some((op, at)) = self.operator(level) {
            chain += 1;
            self.deeper(1, at)?;
            let right = self.binary(level + 1)?;
            let op = match op {
                "or" => "||",
                "and" => "&&",
                other => other,
            };
            left = Ast::Binary(op, Box::new(left), Box::new(right), at);
        }
        self.depth -= chain;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Ast, ExprError> {
        let at = self.at();
        let op = match self.peek().map(|t| &t.tok) {
            Some(Tok::Punct("!")) => Some("!"),
            Some(Tok::Ident(w)) if w == "not" => Some("!"),
            Some(Tok::Punct("-")) => Some("-"),
            Some(Tok::Punct("+")) => Some("+"),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            self.deeper(1, at)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Ast::Unary(op, Box::new(inner), at));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Ast, ExprError> {
        let mut node = self.primary()?;
        loop {
            let at = self.at();
            if self.eat_punct(".") || self.eat_punct("?.") {
                match self.peek().map(|t| t.tok.clone()) {
                    Some(Tok::Ident(name)) => {
                        let name_at = self.at();
                        self.pos += 1;
                        let name = self.hyphenated(name, name_at);
                        node = Ast::Member(Box::new(node), name, name_at);
                    }
                    _ => {
                        return Err(ExprError::new(self.at(), "expected a field name after `.`"));
                    }
                }
            } else if self.eat_punct("[") {
                let index = self.ternary()?;
                self.expect("]")?;
                node = Ast::Index(Box::new(node), Box::new(index), at);
            } else if self.eat_punct("(") {
                let mut args = Vec::new();
                if !self.eat_punct(")") {
                    loop {
                        args.push(self.ternary()?);
                        if self.eat_punct(")") {
                            break;
                        }
                        if self.peek().is_none() {
                            self.expect(")")?;
                        }
                        self.expect(",")?;
                    }
                }
                node = Ast::Call(Box::new(node), args, at);
            } else {
                return Ok(node);
            }
        }
    }

    fn primary(&mut self) -> Result<Ast, ExprError> {
        let at = self.at();
        let Some(t) = self.peek().cloned() else {
            return Err(ExprError::new(
                self.len,
                "the expression ends where a value was expected",
            ));
        };
        self.pos += 1;
        Ok(match t.tok {
            Tok::Int(n) => Ast::Int(n),
            Tok::Float(f) => Ast::Float(f),
            Tok::Str(s) => Ast::Str(s),
            Tok::Ident(w) => match w.as_str() {
                "true" => Ast::Bool(true),
                "false" => Ast::Bool(false),
                "nil" | "null" => Ast::Nil,
                _ => Ast::Ident(w, at),
            },
            Tok::Punct("(") => {
                let inner = self.ternary()?;
                self.expect(")")?;
                inner
            }
            Tok::Punct("[") => {
                let mut items = Vec::new();
                if !self.eat_punct("]") {
                    loop {
                        let item_at = self.at();
                        items.push((self.ternary()?, item_at));
                        if self.eat_punct("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                Ast::List(items)
            }
            other => {
                return Err(ExprError::new(
                    at,
                    format!("expected a value, found {}", describe(&other)),
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex;
    use super::*;

    fn p(s: &str) -> Result<Ast, ExprError> {
        parse(&lex(s)?, s.len())
    }

    #[test]
    fn precedence() {
        let a = p("a or b and not c == 1 + 2 * 3").unwrap();
        let Ast::Binary("||", _, right, _) = a else {
            panic!("{a:?}")
        };
        assert!(matches!(*right, Ast::Binary("&&", _, _, _)));
        assert!(matches!(
            p("x not in ['a']").unwrap(),
            Ast::Binary("not in", _, _, 2)
        ));
    }

    #[test]
    fn errors_point_at_the_token() {
        let e = p("build.branch == ").unwrap_err();
        assert_eq!(e.offset, 16);
        let e = p("a b").unwrap_err();
        assert_eq!(
            (e.offset, e.message.as_str()),
            (2, "unexpected `b` after a complete expression")
        );
        let e = p("f(1, 2").unwrap_err();
        assert_eq!(e.message, "expected `)`, found the end of the expression");
    }
}
