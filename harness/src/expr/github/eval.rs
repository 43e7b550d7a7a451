//! Evaluating a syntax tree against the contexts, as GitHub does: `&&`/`||` return an
//! operand, a missing property is `null`, `.*` filters, a memory limit on what an evaluation
//! holds at once.

use std::cmp::Ordering;

use super::json;
use super::parser::{Cmp, Func, Node};
use super::value::{equals, fold, order};
use super::{Data, ErrorKind, GhError, Status};

/// The most memory an evaluation may hold at once, as on GitHub's runner (1 MiB).
pub(super) const MAX_MEMORY: usize = 1 << 20;

pub(super) struct Eval<'a> {
    pub(super) contexts: &'a Data,
    pub(super) status: Status,
    pub(super) hash_files: &'a dyn Fn(&[String]) -> Result<String, String>,
    /// Bytes held by results at each depth of the tree.
    held: Vec<usize>,
}

type R = Result<Data, GhError>;

impl<'a> Eval<'a> {
    pub(super) fn new(
        contexts: &'a Data,
        status: Status,
        hash_files: &'a dyn Fn(&[String]) -> Result<String, String>,
    ) -> Self {
        Eval {
            contexts,
            status,
            hash_files,
            held: Vec::new(),
        }
    }

    pub(super) fn eval(&mut self, node: &Node, depth: usize) -> R {
        let out = self.node(node, depth)?;
        self.held.truncate(depth + 1);
        if self.held.len() <= depth {
            self.held.resize(depth + 1, 0);
        }
        self.held[depth] += out.size();
        if self.held.iter().sum::<usize>() > MAX_MEMORY {
            return Err(GhError::new(
                ErrorKind::Evaluation,
                0,
                "The maximum allowed memory size was exceeded",
            ));
        }
        Ok(out)
    }

    fn node(&mut self, node: &Node, depth: usize) -> R {
        let d = depth + 1;
        match node {
            Node::Literal(v) => Ok(v.clone()),
            Node::Context(name, _) => Ok(self.contexts.get(name).cloned().unwrap_or(Data::Null)),
            Node::Not(inner) => Ok(Data::Bool(!self.eval(inner, d)?.truthy())),
            Node::Compare(op, l, r) => {
                let l = self.eval(l, d)?;
                let r = self.eval(r, d)?;
                Ok(Data::Bool(compare(*op, &l, &r)))
            }
            Node::And(args) | Node::Or(args) => {
                let and = matches!(node, Node::And(_));
                let mut last = Data::Null;
                for a in args {
                    last = self.eval(a, d)?;
                    if last.truthy() != and {
                        break;
                    }
                }
                Ok(last)
            }
            Node::Index(target, index) => {
                let key = match index {
                    Some(i) => Some(self.eval(i, d)?),
                    None => None,
                };
                let base = self.eval(target, d)?;
                Ok(index_into(&base, key.as_ref()))
            }
            Node::Call(func, args) => {
                if *func == Func::Case {
                    return self.case(args, d);
                }
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a, d)?);
                }
                match self.call(*func, &values)? {
                    Data::String(s) if s.len() > crate::expr::MAX_VALUE_BYTES => Err(GhError::new(
                        ErrorKind::Evaluation,
                        0,
                        crate::expr::TOO_LARGE,
                    )),
                    v => Ok(v),
                }
            }
        }
    }

    fn case(&mut self, args: &[Node], d: usize) -> R {
        for pair in args.chunks(2) {
            let [pred, value] = pair else {
                return self.eval(&pair[0], d);
            };
            match self.eval(pred, d)? {
                Data::Bool(true) => return self.eval(value, d),
                Data::Bool(false) => {}
                _ => {
                    return Err(GhError::new(
                        ErrorKind::Evaluation,
                        0,
                        "case predicate must evaluate to a boolean value",
                    ));
                }
            }
        }
        Ok(Data::Null)
    }

    fn call(&mut self, func: Func, args: &[Data]) -> R {
        let failed = |message: String| GhError::new(ErrorKind::Evaluation, 0, message);
        Ok(match func {
            Func::Contains => Data::Bool(contains(&args[0], &args[1])),
            Func::StartsWith | Func::EndsWith => {
                let (a, b) = (&args[0], &args[1]);
                if !a.is_primitive() || !b.is_primitive() {
                    return Ok(Data::Bool(false));
                }
                let (a, b) = (fold(&a.to_text()), fold(&b.to_text()));
                Data::Bool(if func == Func::StartsWith {
                    a.starts_with(&b)
                } else {
                    a.ends_with(&b)
                })
            }
            Func::Format => Data::String(format(args).map_err(failed)?),
            Func::Join => match &args[0] {
                Data::Array(a) => {
                    let sep = match args.get(1) {
                        Some(s) if s.is_primitive() => s.to_text(),
                        _ => ",".to_string(),
                    };
                    let parts: Vec<String> = a.items.iter().map(Data::to_text).collect();
                    Data::String(parts.join(&sep))
                }
                v if v.is_primitive() => Data::String(v.to_text()),
                _ => Data::String(String::new()),
            },
            Func::ToJson => Data::String(json::to_json(&args[0])),
            Func::FromJson => {
                let text = args[0].to_text();
                if text.trim().is_empty() {
                    return Err(failed("empty input".into()));
                }
                json::from_json(&text).map_err(|e| {
                    failed(format!("Error parsing JSON when evaluating fromJson: {e}"))
                })?
            }
            Func::Case => unreachable!("case is evaluated lazily"),
            Func::Success => Data::Bool(self.status == Status::Success),
            Func::Failure => Data::Bool(self.status == Status::Failure),
            Func::Cancelled => Data::Bool(self.status == Status::Cancelled),
            Func::Always => Data::Bool(true),
            Func::HashFiles => {
                let patterns: Vec<String> = args.iter().map(Data::to_text).collect();
                Data::String((self.hash_files)(&patterns).map_err(failed)?)
            }
        })
    }
}

fn compare(op: Cmp, l: &Data, r: &Data) -> bool {
    match op {
        Cmp::Eq => equals(l, r),
        Cmp::Ne => !equals(l, r),
        Cmp::Lt => order(l, r) == Some(Ordering::Less),
        Cmp::Gt => order(l, r) == Some(Ordering::Greater),
        Cmp::Le => equals(l, r) || order(l, r) == Some(Ordering::Less),
        Cmp::Ge => equals(l, r) || order(l, r) == Some(Ordering::Greater),
    }
}

fn contains(hay: &Data, needle: &Data) -> bool {
    match hay {
        Data::Array(a) => a.items.iter().any(|v| equals(needle, v)),
        h if h.is_primitive() && needle.is_primitive() => h
            .to_text()
            .to_lowercase()
            .contains(&needle.to_text().to_lowercase()),
        _ => false,
    }
}

/// What `[key]` (or `.name`) gives; `None` is `*`.
fn index_into(base: &Data, key: Option<&Data>) -> Data {
    let int_key = || {
        key.map(Data::to_number)
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| f.floor() as usize)
    };
    let str_key = || key.filter(|k| k.is_primitive()).map(Data::to_text);
    match base {
        Data::Array(a) if a.filtered => {
            let mut out = Vec::new();
            for item in &a.items {
                match (item, key) {
                    (Data::Object(o), None) => {
                        out.extend(o.entries().iter().map(|(_, v)| v.clone()))
                    }
                    (Data::Object(o), Some(_)) => {
                        if let Some(v) = str_key().and_then(|k| o.get(&k).cloned()) {
                            out.push(v);
                        }
                    }
                    (Data::Array(inner), None) => out.extend(inner.items.iter().cloned()),
                    (Data::Array(inner), Some(_)) => {
                        if let Some(v) = int_key().and_then(|i| inner.items.get(i).cloned()) {
                            out.push(v);
                        }
                    }
                    _ => {}
                }
            }
            Data::filtered(out)
        }
        Data::Array(a) => match key {
            None => Data::filtered(a.items.clone()),
            Some(_) => int_key()
                .and_then(|i| a.items.get(i).cloned())
                .unwrap_or(Data::Null),
        },
        Data::Object(o) => match key {
            None => Data::filtered(o.entries().iter().map(|(_, v)| v.clone()).collect()),
            Some(_) => str_key()
                .and_then(|k| o.get(&k).cloned())
                .unwrap_or(Data::Null),
        },
        _ if key.is_none() => Data::filtered(Vec::new()),
        _ => Data::Null,
    }
}

/// `format('{0} and {{literal}}', x)`.
fn format(args: &[Data]) -> Result<String, String> {
    let fs = args[0].to_text();
    let invalid = || format!("The following format string is invalid: {fs}");
    let mut out = String::with_capacity(fs.len());
    let mut chars = fs.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '{' => {
                let mut digits = String::new();
                while let Some((_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                // Anything up to the closing brace is a format specifier, and ignored.
                if digits.is_empty() || !chars.by_ref().any(|(_, c)| c == '}') {
                    return Err(invalid());
                }
                let n: usize = digits.parse().unwrap_or(usize::MAX - 1);
                match args.get(n + 1) {
                    Some(v) => out.push_str(&v.to_text()),
                    None => {
                        return Err(format!(
                            "The following format string references more arguments than were supplied: {fs}"
                        ));
                    }
                }
            }
            '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(invalid()),
            c => out.push(c),
        }
    }
    Ok(out)
}
