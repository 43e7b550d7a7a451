//! Tokens -> syntax tree, with GitHub's precedence (`||` < `&&` < `==`/`!=` <
//! `<`/`<=`/`>`/`>=` < `!` < indexing), its nesting limit, and names checked as GitHub checks
//! them: an unknown context or function is an error before anything is evaluated.

use super::lexer::{Kind, Token};
use super::{Data, ErrorKind, GhError};

/// How deep an expression may nest, as on GitHub.
pub(super) const MAX_DEPTH: usize = 50;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A function GitHub knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    Contains,
    StartsWith,
    EndsWith,
    Format,
    Join,
    ToJson,
    FromJson,
    Case,
    Success,
    Always,
    Failure,
    Cancelled,
    HashFiles,
}

impl Func {
    fn lookup(name: &str) -> Option<Func> {
        Some(match name.to_ascii_lowercase().as_str() {
            "contains" => Func::Contains,
            "startswith" => Func::StartsWith,
            "endswith" => Func::EndsWith,
            "format" => Func::Format,
            "join" => Func::Join,
            "tojson" => Func::ToJson,
            "fromjson" => Func::FromJson,
            "case" => Func::Case,
            "success" => Func::Success,
            "always" => Func::Always,
            "failure" => Func::Failure,
            "cancelled" => Func::Cancelled,
            "hashfiles" => Func::HashFiles,
            _ => return None,
        })
    }

    /// The status functions: a condition that calls none of them means `success() && ...`.
    pub(super) fn is_status(self) -> bool {
        matches!(
            self,
            Func::Success | Func::Always | Func::Failure | Func::Cancelled
        )
    }

    fn arity(self) -> (usize, usize) {
        match self {
            Func::Contains | Func::StartsWith | Func::EndsWith => (2, 2),
            Func::Format => (1, 255),
            Func::Join => (1, 2),
            Func::ToJson | Func::FromJson => (1, 1),
            Func::Case => (3, usize::MAX),
            Func::Success | Func::Always | Func::Failure | Func::Cancelled => (0, 0),
            Func::HashFiles => (1, 255),
        }
    }
}

/// A syntax tree node; `at` is the byte offset of the token that names it.
#[derive(Debug, Clone)]
pub(super) enum Node {
    Literal(Data),
    Context(String, usize),
    /// `target[index]` or `target.name`; `None` is `*`.
    Index(Box<Node>, Option<Box<Node>>),
    Call(Func, Vec<Node>),
    Not(Box<Node>),
    Compare(Cmp, Box<Node>, Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

/// What names an expression may use where it is written.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Names {
    /// The contexts (compared without regard to case).
    pub contexts: Vec<String>,
    /// Whether `success()`, `always()`, `failure()`, `cancelled()` may be called.
    pub status: bool,
    /// Whether `hashFiles()` may be called.
    pub hash_files: bool,
}

impl Names {
    /// Only these contexts, and no status function or `hashFiles`.
    pub fn contexts<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Names {
        Names {
            contexts: names.into_iter().map(Into::into).collect(),
            status: false,
            hash_files: false,
        }
    }
}

pub(super) fn parse(tokens: &[Token], names: &Names) -> Result<Option<Node>, GhError> {
    let mut p = Parser {
        tokens,
        i: 0,
        depth: 0,
        names,
    };
    if p.at_end() {
        return Ok(None);
    }
    let node = p.expression()?;
    if !p.at_end() {
        return Err(p.error(ErrorKind::Parsing, "Unexpected symbol", p.peek()));
    }
    Ok(Some(node))
}

struct Parser<'a> {
    tokens: &'a [Token],
    i: usize,
    depth: usize,
    names: &'a Names,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> &'a Token {
        &self.tokens[self.i]
    }

    fn previous(&self) -> &'a Token {
        &self.tokens[self.i.saturating_sub(1)]
    }

    fn at_end(&self) -> bool {
        self.peek().kind == Kind::Eof
    }

    fn check(&self, kind: &Kind) -> bool {
        std::mem::discriminant(&self.peek().kind) == std::mem::discriminant(kind)
    }

    fn eat(&mut self, kind: &Kind) -> bool {
        if !self.at_end() && self.check(kind) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, kind: ErrorKind, what: &str, tok: &Token) -> GhError {
        GhError::new(kind, tok.at, format!("{what}: '{}'", tok.quoted()))
    }

    fn deeper(&mut self) -> Result<(), GhError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(
                ErrorKind::Parsing,
                &format!("Exceeded max expression depth {MAX_DEPTH}"),
                self.peek(),
            ));
        }
        Ok(())
    }

    fn expression(&mut self) -> Result<Node, GhError> {
        self.deeper()?;
        let out = self.or();
        self.depth -= 1;
        out
    }

    fn or(&mut self) -> Result<Node, GhError> {
        let first = self.and()?;
        if !self.check(&Kind::Or) {
            return Ok(first);
        }
        self.deeper()?;
        let mut args = vec![first];
        while self.eat(&Kind::Or) {
            args.push(self.and()?);
        }
        self.depth -= 1;
        Ok(Node::Or(args))
    }

    fn and(&mut self) -> Result<Node, GhError> {
        let first = self.equality()?;
        if !self.check(&Kind::And) {
            return Ok(first);
        }
        self.deeper()?;
        let mut args = vec![first];
        while self.eat(&Kind::And) {
            args.push(self.equality()?);
        }
        self.depth -= 1;
        Ok(Node::And(args))
    }

    fn equality(&mut self) -> Result<Node, GhError> {
        self.chain(
            &[(Kind::Eq, Cmp::Eq), (Kind::Ne, Cmp::Ne)],
            Self::comparison,
        )
    }

    fn comparison(&mut self) -> Result<Node, GhError> {
        let ops = [
            (Kind::Lt, Cmp::Lt),
            (Kind::Le, Cmp::Le),
            (Kind::Gt, Cmp::Gt),
            (Kind::Ge, Cmp::Ge),
        ];
        self.chain(&ops, Self::unary)
    }

    /// `next (op next)*` for the operators of one level, left to right.
    fn chain(
        &mut self,
        ops: &[(Kind, Cmp)],
        next: fn(&mut Self) -> Result<Node, GhError>,
    ) -> Result<Node, GhError> {
        let mut left = next(self)?;
        let mut chained = 0;
        while let Some((_, op)) = ops.iter().find(|(k, _)| self.check(k)) {
            self.i += 1;
            // A chain of comparisons nests the tree: it counts toward the limit (GitHub's
            // does not count it; no real expression chains 50), so that evaluating it
            // never runs out of stack.
            self.deeper()?;
            chained += 1;
            let right = next(self)?;
            left = Node::Compare(*op, Box::new(left), Box::new(right));
        }
        self.depth -= chained;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, GhError> {
        if self.eat(&Kind::Bang) {
            self.deeper()?;
            let inner = self.unary();
            self.depth -= 1;
            return Ok(Node::Not(Box::new(inner?)));
        }
        self.index()
    }

    fn index(&mut self) -> Result<Node, GhError> {
        let (mut node, indexable) = self.call()?;
        if !indexable {
            return Ok(node);
        }
        let depth = self.depth;
        loop {
            if self.eat(&Kind::LBracket) {
                let index = if self.eat(&Kind::Star) {
                    None
                } else {
                    Some(Box::new(self.expression()?))
                };
                if !self.eat(&Kind::RBracket) {
                    return Err(self.error(ErrorKind::Parsing, "Unexpected symbol", self.peek()));
                }
                self.deeper()?;
                node = Node::Index(Box::new(node), index);
            } else if self.eat(&Kind::Dot) {
                self.deeper()?;
                let tok = self.peek();
                let index = match tok.kind {
                    Kind::Ident => Some(Box::new(Node::Literal(Data::from(tok.lexeme.as_str())))),
                    Kind::Star => None,
                    _ => return Err(self.error(ErrorKind::Parsing, "Unexpected symbol", tok)),
                };
                self.i += 1;
                node = Node::Index(Box::new(node), index);
            } else {
                break;
            }
        }
        self.depth = depth;
        Ok(node)
    }

    /// A name (a context, or a function call) or a primary; whether it may be indexed.
    fn call(&mut self) -> Result<(Node, bool), GhError> {
        if !self.check(&Kind::Ident) {
            return self.primary();
        }
        let name = self.peek();
        self.i += 1;
        if !self.eat(&Kind::LParen) {
            let known = self
                .names
                .contexts
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&name.lexeme));
            if !known {
                return Err(self.error(ErrorKind::Parsing, "Unrecognized named-value", name));
            }
            return Ok((Node::Context(name.lexeme.clone(), name.at), true));
        }
        let mut args = Vec::new();
        while !self.eat(&Kind::RParen) {
            args.push(self.expression()?);
            if !self.check(&Kind::RParen) && !self.eat(&Kind::Comma) {
                return Err(self.error(ErrorKind::Parsing, "Unexpected symbol", self.peek()));
            }
        }
        let func = Func::lookup(&name.lexeme).filter(|f| {
            (!f.is_status() || self.names.status)
                && (*f != Func::HashFiles || self.names.hash_files)
        });
        let Some(func) = func else {
            return Err(self.error(ErrorKind::Parsing, "Unrecognized function", name));
        };
        let (min, max) = func.arity();
        if args.len() < min {
            return Err(self.error(ErrorKind::Parsing, "Too few parameters supplied", name));
        }
        if args.len() > max {
            return Err(self.error(ErrorKind::Parsing, "Too many parameters supplied", name));
        }
        if func == Func::Case && args.len() % 2 == 0 {
            return Err(self.error(
                ErrorKind::Parsing,
                "Even number of parameters supplied, requires an odd number of parameters",
                name,
            ));
        }
        Ok((Node::Call(func, args), true))
    }

    fn primary(&mut self) -> Result<(Node, bool), GhError> {
        let tok = self.peek();
        let literal = match &tok.kind {
            Kind::False => Data::Bool(false),
            Kind::True => Data::Bool(true),
            Kind::Null => Data::Null,
            Kind::Number(n) => Data::Number(*n),
            Kind::Str(s) => Data::String(s.clone()),
            Kind::LParen => {
                self.i += 1;
                let inner = self.expression()?;
                if self.at_end() {
                    return Err(self.error(
                        ErrorKind::Parsing,
                        "Unexpected end of expression",
                        self.previous(),
                    ));
                }
                if !self.eat(&Kind::RParen) {
                    return Err(self.error(ErrorKind::Parsing, "Unexpected symbol", self.peek()));
                }
                return Ok((inner, true));
            }
            Kind::Eof => {
                return Err(self.error(
                    ErrorKind::Parsing,
                    "Unexpected end of expression",
                    self.previous(),
                ));
            }
            _ => return Err(self.error(ErrorKind::Parsing, "Unexpected symbol", tok)),
        };
        self.i += 1;
        Ok((Node::Literal(literal), false))
    }
}
