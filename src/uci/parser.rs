//! libuci-compatible parser (placeholder until the parser lands).
use super::Package;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the error.
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

pub fn parse(_name: &str, _input: &[u8]) -> Result<Package, ParseError> {
    Err(ParseError { line: 0, message: "parser not implemented yet".into() })
}
