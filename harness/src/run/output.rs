//! A container's output: split into lines per stream (a line longer than [`MAX_LINE`] is cut
//! into marked pieces, so memory stays bounded whatever a step prints), masked, escaped,
//! passed to the observer, the last lines kept for the report.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::engine::{Chunk, EngineError};
use futures::{Stream, StreamExt};

use crate::report::{Event, Observer};

/// Lines of output kept per step for failure messages.
pub(crate) const TAIL_LINES: usize = 40;
/// The longest line passed on whole; a longer one is cut into pieces of this size, each but
/// the last ending with [`CONTINUES`].
pub(crate) const MAX_LINE: usize = 64 * 1024;
/// What ends a piece of a line that was cut.
pub(crate) const CONTINUES: &str = " [line continues]";

/// Splits a byte stream into lines. Each byte is looked at once, however long the line, and a
/// line longer than `max` bytes comes out in pieces (cut where a UTF-8 character starts).
#[derive(Debug)]
pub(crate) struct LineSplitter {
    buf: Vec<u8>,
    /// Bytes of `buf` already known to hold no newline.
    scanned: usize,
    max: usize,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter {
            buf: Vec::new(),
            scanned: 0,
            max: MAX_LINE,
        }
    }
}

/// A piece of output: a whole line, or a piece of a longer one.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Line(&'a [u8]),
    Cut(&'a [u8]),
}

impl LineSplitter {
    #[cfg(test)]
    fn with_max(max: usize) -> Self {
        LineSplitter {
            max,
            ..Default::default()
        }
    }

    /// Adds `bytes` and calls `each` with every line they complete (without its `\n`), and
    /// every piece of a line that grew past the limit.
    pub fn push(&mut self, bytes: &[u8], mut each: impl FnMut(Piece<'_>)) {
        self.buf.extend_from_slice(bytes);
        let mut start = 0;
        loop {
            match self.buf[self.scanned..].iter().position(|b| *b == b'\n') {
                Some(offset) if self.scanned + offset - start <= self.max => {
                    let end = self.scanned + offset;
                    each(Piece::Line(&self.buf[start..end]));
                    start = end + 1;
                    self.scanned = start;
                }
                _ if self.buf.len() - start > self.max => {
                    let mut cut = start + self.max;
                    // Back to the start of a UTF-8 character (at most three bytes).
                    while cut > start + self.max - 3 && (self.buf[cut] & 0b1100_0000) == 0b1000_0000
                    {
                        cut -= 1;
                    }
                    each(Piece::Cut(&self.buf[start..cut]));
                    start = cut;
                    self.scanned = self.scanned.max(start);
                }
                _ => break,
            }
        }
        self.scanned = self.buf.len();
        self.buf.drain(..start);
        self.scanned -= start;
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

/// Reads a container's output line by line, to its end: each line masked (secrets), escaped
/// (control characters that would move the cursor), to the observer and the tail.
pub(crate) async fn pump_lines(
    mut stream: impl Stream<Item = Result<Chunk, EngineError>> + Unpin,
    step: &str,
    observer: &dyn Observer,
    tail: &Mutex<Tail>,
    masks: &[String],
) {
    let mut splitters: [LineSplitter; 2] = Default::default();
    let emit = |bytes: &[u8], cut: bool| {
        let text = String::from_utf8_lossy(bytes);
        let text = crate::mask::apply(text.trim_end_matches('\r'), masks);
        let text = crate::escape::escape_controls(&text);
        let line = if cut {
            format!("{text}{CONTINUES}")
        } else {
            text.into_owned()
        };
        observer.on_event(&Event::Output { step, line: &line });
        tail.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    };
    while let Some(Ok(chunk)) = stream.next().await {
        let (which, bytes) = match chunk {
            Chunk::Err(bytes) => (1, bytes),
            Chunk::Out(bytes) => (0, bytes),
        };
        splitters[which].push(&bytes, |piece| match piece {
            Piece::Line(l) => emit(l, false),
            Piece::Cut(l) => emit(l, true),
        });
    }
    for rest in splitters.into_iter().filter_map(LineSplitter::rest) {
        emit(&rest, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_with(s: &mut LineSplitter, chunks: &[&str]) -> Vec<String> {
        let mut lines = Vec::new();
        for c in chunks {
            s.push(c.as_bytes(), |p| {
                lines.push(match p {
                    Piece::Line(l) => String::from_utf8_lossy(l).into_owned(),
                    Piece::Cut(l) => format!("{}+", String::from_utf8_lossy(l)),
                });
            });
        }
        lines
    }

    #[test]
    fn lines_across_chunks() {
        let mut s = LineSplitter::default();
        assert_eq!(
            split_with(&mut s, &["a\nb", "c\n\nd", "e"]),
            ["a", "bc", ""]
        );
        assert_eq!(s.rest().as_deref(), Some(&b"de"[..]));
    }

    #[test]
    fn long_lines_come_in_pieces_cut_between_characters() {
        let mut s = LineSplitter::with_max(4);
        assert_eq!(
            split_with(&mut s, &["abcdefghij\nxy", "z\n"]),
            ["abcd+", "efgh+", "ij", "xyz"]
        );
        let mut s = LineSplitter::with_max(4);
        // `é` is two bytes: never split in the middle.
        assert_eq!(split_with(&mut s, &["abcé", "fg"]), ["abc+"]);
        assert_eq!(s.rest().as_deref(), Some("éfg".as_bytes()));
    }

    #[test]
    fn memory_stays_bounded_for_a_line_without_end() {
        let mut s = LineSplitter::default();
        let chunk = vec![b'x'; 8192];
        let mut pieces = 0;
        for _ in 0..1000 {
            s.push(&chunk, |_| pieces += 1);
            assert!(s.buf.len() <= MAX_LINE);
        }
        // A full piece is passed on once more follows it (it may be the whole line).
        assert_eq!(pieces, (8192 * 1000 - 1) / MAX_LINE);
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
