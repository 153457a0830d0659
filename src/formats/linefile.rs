//! Results of reading line-oriented state files (lease files), where one bad line must not cost
//! the others: it is reported with its number and skipped.
use serde::Serialize;

use crate::formats::FormatError;

/// A line that could not be read, and why: the [`FormatError`]'s words, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// What a line-file parser returns: the good entries and the bad lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T> {
    pub entries: Vec<T>,
    pub bad_lines: Vec<BadLine>,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed {
            entries: Vec::new(),
            bad_lines: Vec::new(),
        }
    }
}

/// The 1-based number and content of each line, without its `\n` or `\r\n`.
pub(crate) fn numbered_lines(input: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    input.split(|&b| b == b'\n').enumerate().map(|(i, line)| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        (i + 1, line)
    })
}

/// Runs `parse_line` on every non-blank line; a line it rejects becomes a [`BadLine`] and the
/// rest go on.
pub(crate) fn parse_lines<T>(
    input: &[u8],
    parse_line: impl Fn(usize, &[u8]) -> Result<T, FormatError>,
) -> Parsed<T> {
    let mut parsed = Parsed::default();
    for (number, line) in numbered_lines(input) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(number, line) {
            Ok(entry) => parsed.entries.push(entry),
            Err(e) => parsed.bad_lines.push(bad_line(number, e)),
        }
    }
    parsed
}

/// Outside the generic `parse_lines`, so rendering an error is compiled once, not once per line
/// format (flash is scarce on routers).
fn bad_line(line: usize, e: FormatError) -> BadLine {
    BadLine {
        line,
        message: e.to_string(),
    }
}

pub(crate) fn ascii(field: &[u8]) -> Option<&str> {
    std::str::from_utf8(field).ok()
}

/// Only plain decimal digits: no sign, no blanks, no hex (what miniupnpd writes).
pub(crate) fn digits(field: &[u8]) -> Option<&str> {
    (!field.is_empty() && field.len() <= 20 && field.iter().all(u8::is_ascii_digit))
        .then(|| ascii(field))
        .flatten()
}
