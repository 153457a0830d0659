//! A port of libuci's file parser (`uci_import` in file.c, with the list.c operations it calls).
//!
//! libuci parses in place: it reads the file with `fgets` into one growing buffer, splits the
//! command word with `strtok`, and unquotes each argument by copying it leftwards inside the same
//! buffer. Several of its quirks follow from that mechanism rather than from a grammar (a NUL byte
//! swallows the rest of its `fgets` chunk and the next line is glued on; `x;` ends the line while
//! `'x';` starts a second command; `option a b ;` is an error), so this module emulates the buffer
//! instead of defining a cleaner grammar: the differential tests then hold byte for byte.
//!
//! Behaviour is that of `uci` and rpcd, which both run libuci in strict mode: the first error
//! rejects the whole file.
//!
//! Version: this is the libuci vendored in libuci-sys 1.0.5 (upstream as of late 2020), the one
//! the differential tests can build. Upstream uci changed two things since, both verified against
//! a build of upstream HEAD: from 2022-11 a replaced option (new value, option<->list) keeps its
//! position instead of moving to the end, and from 2023-07 a third declaration of a named section
//! no longer drops the section context. Values are the same in both; only option order and the
//! acceptance of that rare file differ. Invalid UTF-8 in values is kept as libuci keeps it (bytes) until the end,
//! then decoded lossily (U+FFFD); names and types are ASCII by libuci's own validation.
use super::{Package, Section, UciOption, Value};
use std::collections::HashMap;

/// A strict-mode parse error, as libuci would raise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the error (0 only for an invalid package name, which is no line's fault).
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Where libuci itself reports an error: `uci` prints `Parse error (<reason>) at line <line>, byte
/// <byte>`. libuci's line counter lags by one on a last line without a newline (it counts newlines
/// read), which [`ParseError::line`] corrects; this keeps the raw values for the differential tests.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibuciPosition {
    pub reason: &'static str,
    pub line: usize,
    pub byte: usize,
}

/// Parses one config file the way `uci_load` does for `/etc/config/<name>`.
///
/// `name` is the package name (the file name); a `package` line inside the file is checked but,
/// as in libuci's single-package load, does not rename it.
pub fn parse(name: &str, input: &[u8]) -> Result<Package, ParseError> {
    parse_with_libuci_position(name, input).map_err(|(e, _)| e)
}

/// [`parse`], also returning libuci's raw error position (for the differential tests).
#[doc(hidden)]
pub fn parse_with_libuci_position(
    name: &str,
    input: &[u8],
) -> Result<Package, (ParseError, Option<LibuciPosition>)> {
    if !validate_str(name.as_bytes(), false, true) {
        let message =
            format!("invalid package name {name:?} (libuci allows printable ASCII without spaces)");
        return Err((ParseError { line: 0, message }, None));
    }
    let mut p = Parser::new(input);
    match p.run() {
        Ok(()) => Ok(p.into_package(name)),
        Err(reason) => {
            // libuci counts newlines read; on an unterminated last line that is one short.
            let line = p.line + usize::from(!p.ended_in_newline);
            let message = describe(reason, p.lost_section);
            let raw = LibuciPosition {
                reason,
                line: p.line,
                byte: p.pos,
            };
            Err((ParseError { line, message }, Some(raw)))
        }
    }
}

/// libuci's reason, then what it means for the person editing the file.
fn describe(reason: &'static str, lost_section: bool) -> String {
    let hint = match reason {
        R_INVALID_COMMAND => "a line must start with package, config, option, list or #",
        R_INSUFFICIENT => "config needs a type, option and list need a name",
        R_NAME => "section and option names may contain only letters, digits and _",
        R_TYPE => "a section type must be printable ASCII without spaces",
        R_TOO_MANY => "put quotes around a value that contains spaces",
        R_UNTERMINATED_SQ | R_UNTERMINATED_DQ => "a quote is opened but never closed",
        R_DIFFERENT_TYPE => "two sections share a name but not a type",
        R_NO_SECTION if lost_section => {
            "libuci forgets the current section when a named section is declared a third time"
        }
        R_NO_SECTION => "an option or list line needs a config line above it",
        R_PACKAGE_NO_NAME | R_CONFIG_NO_NAME | R_OPTION_NO_NAME => {
            "the line ends right after the command"
        }
        _ => "",
    };
    if hint.is_empty() {
        reason.to_string()
    } else {
        format!("{reason} ({hint})")
    }
}

// libuci's reasons, verbatim: `uci` prints them and the differential tests compare them.
const R_INVALID_COMMAND: &str = "invalid command";
const R_INSUFFICIENT: &str = "insufficient arguments";
const R_NAME: &str = "invalid character in name field";
const R_TYPE: &str = "invalid character in type field";
const R_TOO_MANY: &str = "too many arguments";
const R_UNTERMINATED_SQ: &str = "EOF with unterminated '";
const R_UNTERMINATED_DQ: &str = "EOF with unterminated \"";
const R_DIFFERENT_TYPE: &str = "section of different type overwrites prior section with same name";
const R_NO_SECTION: &str = "option/list command found before the first section";
const R_PACKAGE_NO_NAME: &str = "package without name";
const R_CONFIG_NO_NAME: &str = "config without name";
const R_OPTION_NO_NAME: &str = "option without name";

type Res<T> = Result<T, &'static str>;

/// libuci's `LINEBUF`: the first size of the line buffer, doubled as lines need.
const LINEBUF: usize = 32;

/// `isspace` in the C locale (bytes >= 0x80 are not space).
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// libuci's `uci_validate_str`: names (`name`) allow `[A-Za-z0-9_]`, plus `-` for a package;
/// types and package names otherwise allow any printable ASCII except space.
fn validate_str(s: &[u8], name: bool, package: bool) -> bool {
    !s.is_empty()
        && s.iter().all(|&c| {
            c.is_ascii_alphanumeric()
                || c == b'_'
                || (c == b'-' && package)
                || (!name && (33..=126).contains(&c))
        })
}

/// The name libuci gives an anonymous section when it is created (`uci_fixup_section`): the
/// section's 1-based position among all sections in `%02x`, then a djb hash of its type in `%04x`.
/// The section has no options yet at that moment, so only the type enters the hash.
pub(crate) fn anonymous_name(position: usize, section_type: &[u8]) -> String {
    let mut hash: u32 = 5381;
    for &c in section_type {
        // `str[i]` is a plain `char`, signed on the platforms the tests run on; types are ASCII
        // after validation, so the sign never matters in practice.
        hash = hash
            .wrapping_shl(5)
            .wrapping_add(hash)
            .wrapping_add(c as i8 as i32 as u32);
    }
    hash &= 0x7FFF_FFFF;
    format!("cfg{:02x}{:04x}", position, hash % (1 << 16))
}

struct RawSection {
    name: Vec<u8>,
    section_type: Vec<u8>,
    anonymous: bool,
    /// libuci stores a section's type inline until the first redefinition moves it to the heap;
    /// the redefinition after that leaves the parser with no current section (see `parse_config`).
    redefined: bool,
    options: Options,
}

impl RawSection {
    fn new(name: Vec<u8>, section_type: Vec<u8>, anonymous: bool) -> Self {
        RawSection {
            name,
            section_type,
            anonymous,
            redefined: false,
            options: Options::default(),
        }
    }
}

/// A section's options in libuci's order, with a name index: libuci's lookups are linear, which
/// is fine on a router's small files but quadratic on a hostile one (an offline backup).
#[derive(Default)]
struct Options {
    /// A replaced option leaves a hole (`None`) and is pushed again at the end.
    slots: Vec<Option<(Vec<u8>, RawValue)>>,
    index: HashMap<Vec<u8>, usize>,
}

impl Options {
    fn get_mut(&mut self, name: &[u8]) -> Option<&mut RawValue> {
        let i = *self.index.get(name)?;
        self.slots.get_mut(i)?.as_mut().map(|(_, v)| v)
    }

    /// Adds `name` at the end, dropping an earlier option of that name.
    fn push(&mut self, name: Vec<u8>, value: RawValue) {
        if let Some(old) = self.index.insert(name.clone(), self.slots.len()) {
            self.slots[old] = None;
        }
        self.slots.push(Some((name, value)));
    }

    fn into_ordered(self) -> impl Iterator<Item = (Vec<u8>, RawValue)> {
        self.slots.into_iter().flatten()
    }
}

enum RawValue {
    Single(Vec<u8>),
    List(Vec<Vec<u8>>),
}

struct Parser<'a> {
    /// The `FILE *`: the input and the read position of `fgets`.
    input: &'a [u8],
    at: usize,
    eof: bool,
    /// libuci's line buffer; its length is always `bufsz`.
    buf: Vec<u8>,
    buf_filled: usize,
    pos: usize,
    /// Newlines read so far: libuci's `pctx->line`.
    line: usize,
    /// Whether the last chunk read ended in a newline (false only on an unterminated last line).
    ended_in_newline: bool,
    sections: Vec<RawSection>,
    /// First section of each name (libuci's lookup returns the first match).
    section_index: HashMap<Vec<u8>, usize>,
    current: Option<usize>,
    /// The current section was dropped by a third declaration of a named section.
    lost_section: bool,
}

impl<'a> Parser<'a> {
    fn new(input: &'a [u8]) -> Self {
        Parser {
            input,
            at: 0,
            eof: false,
            buf: vec![0; LINEBUF],
            buf_filled: 0,
            pos: 0,
            line: 0,
            ended_in_newline: true,
            sections: Vec::new(),
            section_index: HashMap::new(),
            current: None,
            lost_section: false,
        }
    }

    fn ch(&self, i: usize) -> u8 {
        self.buf.get(i).copied().unwrap_or(0)
    }

    fn set(&mut self, i: usize, c: u8) {
        if let Some(slot) = self.buf.get_mut(i) {
            *slot = c;
        }
    }

    /// The NUL-terminated string starting at `i`.
    fn cstr(&self, i: usize) -> &[u8] {
        let rest = self.buf.get(i..).unwrap_or(&[]);
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        &rest[..end]
    }

    /// libuci doubles its buffer after every `fgets` chunk that does not end a line, without a
    /// limit: a few dozen lines that each hold a NUL inside an open quote make it ask for
    /// gigabytes (real `uci` says "Out of memory" under a 4 GB ulimit). Only the buffer's size
    /// reaches the parse, as the `fgets` limit; every position written or read lies within the
    /// input consumed so far (+1 for a terminator), so from `input.len() + 2` on a bigger buffer
    /// changes nothing and the doubling stops there (tests/fuzz_regressions.rs).
    fn grow(&mut self) {
        let enough = self.input.len() + 2;
        let size = (self.buf.len() * 2).min(enough).max(self.buf.len());
        self.buf.resize(size, 0);
    }

    /// glibc `fgets(&buf[ofs], n, file)`: at most `n - 1` bytes, up to and including a newline,
    /// NUL bytes copied as they are. Returns false (NULL) when nothing was left to read.
    fn fgets(&mut self, ofs: usize, n: usize) -> bool {
        if self.at >= self.input.len() {
            self.eof = true;
            return false;
        }
        let limit = n.saturating_sub(1);
        let rest = &self.input[self.at..];
        let take = match rest.iter().take(limit).position(|&c| c == b'\n') {
            Some(i) => i + 1,
            None => {
                if rest.len() < limit {
                    // Ran out of input before the buffer filled: stdio sets the EOF flag.
                    self.eof = true;
                }
                rest.len().min(limit)
            }
        };
        let end = ofs + take;
        if end >= self.buf.len() {
            // Cannot happen with libuci's sizes (n = bufsz - ofs); kept panic-free regardless.
            self.buf.resize(end + 1, 0);
        }
        self.buf[ofs..end].copy_from_slice(&rest[..take]);
        self.buf[end] = 0;
        self.at += take;
        true
    }

    /// libuci's `uci_getln`: read the next line into the buffer at `offset`.
    fn getln(&mut self, offset: usize) {
        if offset >= self.buf.len() - 1 {
            self.grow();
        }
        let mut ofs = offset;
        loop {
            self.set(ofs, 0);
            let n = self.buf.len() - ofs;
            if !self.fgets(ofs, n) {
                return;
            }
            let len = self.cstr(ofs).len();
            if len == 0 {
                // A chunk that starts with NUL reads as nothing; libuci stops here.
                return;
            }
            ofs += len;
            self.buf_filled = ofs;
            if self.buf[ofs - 1] == b'\n' {
                self.line += 1;
                self.ended_in_newline = true;
                return;
            }
            self.ended_in_newline = false;
            self.grow();
        }
    }

    fn run(&mut self) -> Res<()> {
        while !self.eof {
            self.pos = 0;
            self.getln(0);
            if self.ch(0) != 0 {
                self.parse_line()?;
            }
        }
        Ok(())
    }

    fn skip_whitespace(&mut self) {
        while self.ch(self.pos) != 0 && is_space(self.ch(self.pos)) {
            self.pos += 1;
        }
    }

    fn addc(&mut self, target: &mut usize) {
        let c = self.ch(self.pos);
        self.set(*target, c);
        *target += 1;
        self.pos += 1;
    }

    /// After a backslash: true if the next character is to be taken literally, false if the
    /// backslash ended the line (the next line is then read onto the buffer: a continuation).
    fn parse_backslash(&mut self) -> bool {
        self.pos += 1;
        let c = self.ch(self.pos);
        let crlf_end = c == b'\r' && self.ch(self.pos + 1) == b'\n' && self.ch(self.pos + 2) == 0;
        if c == 0 || c == b'\n' || crlf_end {
            self.getln(self.pos);
            return false;
        }
        true
    }

    /// Inside `"…"`: backslash escapes any character and continues lines; newlines are kept.
    fn parse_double_quote(&mut self, target: &mut usize) -> Res<()> {
        self.pos += 1;
        loop {
            match self.ch(self.pos) {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                0 => {
                    self.getln(self.pos);
                    if self.ch(self.pos) == 0 {
                        return Err(R_UNTERMINATED_DQ);
                    }
                }
                b'\\' => {
                    if self.parse_backslash() {
                        self.addc(target);
                    }
                }
                _ => self.addc(target),
            }
        }
    }

    /// Inside `'…'`: every byte is literal, newlines included.
    fn parse_single_quote(&mut self, target: &mut usize) -> Res<()> {
        self.pos += 1;
        loop {
            match self.ch(self.pos) {
                b'\'' => {
                    self.pos += 1;
                    return Ok(());
                }
                0 => {
                    self.getln(self.pos);
                    if self.ch(self.pos) == 0 {
                        return Err(R_UNTERMINATED_SQ);
                    }
                }
                _ => self.addc(target),
            }
        }
    }

    /// One word: quoted and unquoted parts run together until whitespace; `#` ends the line,
    /// `;` ends the word (and, when it is still in the buffer, the command).
    fn parse_str(&mut self, target: &mut usize) -> Res<()> {
        let mut next = true;
        loop {
            match self.ch(self.pos) {
                b'\'' => self.parse_single_quote(target)?,
                b'"' => self.parse_double_quote(target)?,
                b'#' => {
                    self.set(self.pos, 0);
                    break;
                }
                0 => break,
                b';' => {
                    next = false;
                    break;
                }
                b'\\' => {
                    if self.parse_backslash() {
                        self.addc(target);
                    }
                }
                _ => self.addc(target),
            }
            let c = self.ch(self.pos);
            if c == 0 || is_space(c) {
                break;
            }
        }
        if self.ch(self.pos) != 0 && next {
            self.pos += 1;
        }
        self.set(*target, 0);
        Ok(())
    }

    /// The next argument's offset in the buffer (an empty string when there is none).
    fn next_arg(&mut self, required: bool, name: bool, package: bool) -> Res<usize> {
        self.skip_whitespace();
        let val = self.pos;
        let mut ptr = self.pos;
        if self.ch(self.pos) == b';' {
            self.set(self.pos, 0);
            self.pos += 1;
        } else {
            self.parse_str(&mut ptr)?;
        }
        if self.ch(val) == 0 {
            if required {
                return Err(R_INSUFFICIENT);
            }
            return Ok(val);
        }
        if name && !validate_str(self.cstr(val), name, package) {
            return Err(R_NAME);
        }
        Ok(val)
    }

    fn assert_eol(&mut self) -> Res<()> {
        self.skip_whitespace();
        let extra = self.next_arg(false, false, false)?;
        if self.ch(extra) != 0 {
            return Err(R_TOO_MANY);
        }
        Ok(())
    }

    /// `strtok(&buf[pos], " \t")`: only space and tab delimit the command word (so a command
    /// alone on its line, like `config\n`, keeps its newline and is not recognised).
    fn strtok(&mut self) -> Option<usize> {
        let mut i = self.pos;
        while matches!(self.ch(i), b' ' | b'\t') {
            i += 1;
        }
        if self.ch(i) == 0 {
            return None;
        }
        let start = i;
        while !matches!(self.ch(i), 0 | b' ' | b'\t') {
            i += 1;
        }
        self.set(i, 0);
        Some(start)
    }

    /// libuci's `uci_increase_pos` past the command word at `pos`.
    fn skip_command(&mut self, reason: &'static str) -> Res<()> {
        let add = self.cstr(self.pos).len() + 1;
        if self.pos + add > self.buf_filled {
            return Err(reason);
        }
        self.pos += add;
        Ok(())
    }

    fn parse_line(&mut self) -> Res<()> {
        self.skip_whitespace();
        loop {
            let Some(word) = self.strtok() else {
                return Ok(());
            };
            let w = self.cstr(word);
            let is = |full: &[u8]| w.len() == 1 || w == full;
            match w.first() {
                Some(b'#') | None => return Ok(()),
                Some(b'p') if is(b"package") => self.parse_package()?,
                Some(b'c') if is(b"config") => self.parse_config()?,
                Some(b'o') if is(b"option") => self.parse_option(false)?,
                Some(b'l') if is(b"list") => self.parse_option(true)?,
                _ => return Err(R_INVALID_COMMAND),
            }
        }
    }

    /// `package <name>`: checked, then ignored (a single-package load keeps the file's name).
    fn parse_package(&mut self) -> Res<()> {
        self.skip_command(R_PACKAGE_NO_NAME)?;
        self.next_arg(true, true, true)?;
        self.assert_eol()
    }

    fn parse_config(&mut self) -> Res<()> {
        self.skip_command(R_CONFIG_NO_NAME)?;
        let type_at = self.next_arg(true, false, false)?;
        if !validate_str(self.cstr(type_at), false, false) {
            return Err(R_TYPE);
        }
        let name_at = self.next_arg(false, true, false)?;
        self.assert_eol()?;
        let section_type = self.cstr(type_at).to_vec();
        let name = self.cstr(name_at).to_vec();

        if name.is_empty() {
            let name = anonymous_name(self.sections.len() + 1, &section_type).into_bytes();
            self.add_section(RawSection::new(name, section_type, true));
            return Ok(());
        }
        // A repeated name reopens the earlier section (anonymous ones match by generated name).
        match self.section_index.get(&name).copied() {
            Some(i) => {
                let s = &mut self.sections[i];
                if s.section_type != section_type {
                    return Err(R_DIFFERENT_TYPE);
                }
                // uci_set's "update section" path returns the section through `ptr.last` only when
                // it reallocates (the first redefinition); later ones leave it NULL, and libuci
                // then has no current section: an option after a third declaration is an error.
                if s.redefined {
                    self.current = None;
                    self.lost_section = true;
                } else {
                    s.redefined = true;
                    self.current = Some(i);
                }
            }
            None => self.add_section(RawSection::new(name, section_type, false)),
        }
        Ok(())
    }

    fn add_section(&mut self, section: RawSection) {
        let i = self.sections.len();
        self.section_index.entry(section.name.clone()).or_insert(i);
        self.sections.push(section);
        self.current = Some(i);
    }

    fn parse_option(&mut self, list: bool) -> Res<()> {
        let Some(current) = self.current else {
            return Err(R_NO_SECTION);
        };
        self.skip_command(R_OPTION_NO_NAME)?;
        let name_at = self.next_arg(true, true, false)?;
        let value_at = self.next_arg(false, false, false)?;
        self.assert_eol()?;
        let name = self.cstr(name_at).to_vec();
        let value = self.cstr(value_at).to_vec();
        let Some(section) = self.sections.get_mut(current) else {
            return Err(R_NO_SECTION);
        };
        let options = &mut section.options;

        if list {
            // uci_add_list: append to a list; a string becomes a new list (at the end) holding the
            // old string then the new item; an empty item is kept.
            match options.get_mut(&name) {
                Some(RawValue::List(items)) => items.push(value),
                Some(RawValue::Single(old)) => {
                    let old = std::mem::take(old);
                    options.push(name, RawValue::List(vec![old, value]));
                }
                None => options.push(name, RawValue::List(vec![value])),
            }
            return Ok(());
        }
        // uci_set: an empty value changes nothing (the parser's lookup is never "complete", so the
        // delete branch is not taken); the same string keeps its place; anything else, including
        // a list, is replaced by a new option at the end.
        if value.is_empty() {
            return Ok(());
        }
        match options.get_mut(&name) {
            Some(RawValue::Single(old)) if *old == value => {}
            _ => options.push(name, RawValue::Single(value)),
        }
        Ok(())
    }

    fn into_package(self, name: &str) -> Package {
        // Names and types passed validate_str, so they are ASCII; values may be any bytes.
        let text = |b: Vec<u8>| match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        let sections = self
            .sections
            .into_iter()
            .map(|s| Section {
                name: text(s.name),
                section_type: text(s.section_type),
                anonymous: s.anonymous,
                options: s
                    .options
                    .into_ordered()
                    .map(|(n, v)| UciOption {
                        name: text(n),
                        value: match v {
                            RawValue::Single(s) => Value::Single(text(s)),
                            RawValue::List(items) => {
                                Value::List(items.into_iter().map(text).collect())
                            }
                        },
                    })
                    .collect(),
            })
            .collect();
        Package {
            name: name.to_string(),
            sections,
        }
    }
}
