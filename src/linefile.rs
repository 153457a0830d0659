//! Results of reading line-oriented state files (lease files), where one bad line must not cost
//! the others: it is reported with its number and skipped.
use serde::Serialize;

/// A line that could not be read, and why.
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
