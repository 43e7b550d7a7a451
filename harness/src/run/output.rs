//! A container's output: split into lines per stream, passed to the observer, the last lines
//! kept for the report.

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::Mutex;

use bollard::container::LogOutput;
use futures::{Stream, StreamExt};

use super::gate::{ExitMarks, find_mark};
use crate::report::{Event, Observer};

/// Lines of output kept per step for failure messages.
pub(crate) const TAIL_LINES: usize = 40;

/// Splits a byte stream into lines. Each byte is looked at once, however long the line.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
    /// Bytes of `buf` already known to hold no newline.
    scanned: usize,
}

impl LineSplitter {
    /// Adds `bytes` and calls `each` with every line they complete (without its `\n`), until
    /// `each` breaks.
    pub fn push<B>(
        &mut self,
        bytes: &[u8],
        mut each: impl FnMut(&[u8]) -> ControlFlow<B>,
    ) -> ControlFlow<B> {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        let mut flow = ControlFlow::Continue(());
        while let Some(offset) = self.buf[self.scanned..].iter().position(|b| *b == b'\n') {
            let end = self.scanned + offset;
            flow = each(&self.buf[start..end]);
            start = end + 1;
            self.scanned = start;
            if flow.is_break() {
                break;
            }
        }
        if flow.is_continue() {
            self.scanned = self.buf.len();
        }
        self.buf.drain(..start);
        self.scanned -= start;
        flow
    }

    /// What is left after the last newline.
    pub fn rest(self) -> Option<Vec<u8>> {
        (!self.buf.is_empty()).then_some(self.buf)
    }
}

/// The last [`TAIL_LINES`] lines of a step's output.
#[derive(Debug, Default)]
pub(crate) struct Tail(VecDeque<String>);

impl Tail {
    pub fn push(&mut self, line: String) {
        if self.0.len() == TAIL_LINES {
            self.0.pop_front();
        }
        self.0.push_back(line);
    }

    pub fn lines(&self) -> Vec<String> {
        self.0.iter().cloned().collect()
    }
}

/// Reads a container's output line by line, to its end or, with `exit_mark`, until the gate
/// has printed its mark and the script's exit code on both streams (each stream keeps its
/// order, so by then all of both has arrived). Returns that exit code.
pub(crate) async fn pump_lines(
    mut stream: impl Stream<Item = Result<LogOutput, bollard::errors::Error>> + Unpin,
    step: &str,
    observer: &dyn Observer,
    tail: &Mutex<Tail>,
    exit_mark: Option<&str>,
    masks: &[String],
) -> Option<i64> {
    let mut splitters: [LineSplitter; 2] = Default::default();
    let mut marks = ExitMarks::default();
    let emit = |line: &[u8]| {
        let line = String::from_utf8_lossy(line);
        let line = crate::mask::apply(line.trim_end_matches('\r'), masks);
        let line = line.as_ref();
        observer.on_event(&Event::Output { step, line });
        tail.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(line.to_string());
    };
    while let Some(Ok(chunk)) = stream.next().await {
        let (which, bytes) = match chunk {
            LogOutput::StdErr { message } => (1, message),
            other => (0, other.into_bytes()),
        };
        let flow = splitters[which].push(&bytes, |line| {
            if let Some((before, code)) = exit_mark.and_then(|m| find_mark(line, m)) {
                if !before.is_empty() {
                    emit(before);
                }
                if let Some(code) = marks.seen(which, code) {
                    return ControlFlow::Break(code);
                }
            } else {
                emit(line);
            }
            ControlFlow::Continue(())
        });
        if let ControlFlow::Break(code) = flow {
            return Some(code);
        }
    }
    for rest in splitters.into_iter().filter_map(LineSplitter::rest) {
        emit(&rest);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&str]) -> (Vec<String>, Option<Vec<u8>>) {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        for c in chunks {
            let _ = s.push::<()>(c.as_bytes(), |l| {
                lines.push(String::from_utf8_lossy(l).into_owned());
                ControlFlow::Continue(())
            });
        }
        (lines, s.rest())
    }

    #[test]
    fn lines_across_chunks() {
        let (lines, rest) = split(&["a\nb", "c\n\nd", "e"]);
        assert_eq!(lines, ["a", "bc", ""]);
        assert_eq!(rest.as_deref(), Some(&b"de"[..]));
        assert_eq!(split(&["x\n"]).1, None);
    }

    #[test]
    fn a_break_keeps_the_rest() {
        let mut s = LineSplitter::default();
        let flow = s.push(b"one\ntwo\nthree", |l| {
            if l == b"one" {
                ControlFlow::Break(1)
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!(flow, ControlFlow::Break(1));
        assert_eq!(s.rest().as_deref(), Some(&b"two\nthree"[..]));
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let mut t = Tail::default();
        for i in 0..TAIL_LINES + 5 {
            t.push(i.to_string());
        }
        let lines = t.lines();
        assert_eq!(lines.len(), TAIL_LINES);
        assert_eq!(lines[0], "5");
    }
}
