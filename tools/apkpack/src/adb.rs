//! ADB, the container of apk-tools 3 packages and indexes (apk-tools `doc/apk-v3.5.scd`).
//!
//! A file starts with "ADB" and a compression byte ('.' none, 'd' raw deflate). The stream
//! behind it is the file header ("ADB." and the schema), then blocks, each a little-endian
//! u32 of 2 type bits and 30 size bits, padded to 8 bytes: one ADB block holding the tree of
//! values, SIG blocks, then DATA blocks. Inside the ADB block every value is a u32 tag: 4 bits
//! of type and 28 bits of immediate value or of offset into the block.
//!
//! The writer stores values the way apk-tools' own writer does (same order, alignment and
//! sharing of identical bytes), so that `apk mkpkg` and this writer give the same bytes for the
//! same tree; nothing in the format requires it, but it makes the real tool a byte-exact check.
use std::collections::HashMap;

use crate::Error;

pub const SCHEMA_PACKAGE: u32 = u32::from_le_bytes(*b"pckg");
pub const SCHEMA_INDEX: u32 = u32::from_le_bytes(*b"indx");

const FILE_MAGIC: &[u8; 4] = b"ADB.";
const DEFLATE_MAGIC: &[u8; 4] = b"ADBd";

pub const BLOCK_ADB: u32 = 0;
pub const BLOCK_SIG: u32 = 1;
pub const BLOCK_DATA: u32 = 2;
const BLOCK_ALIGNMENT: usize = 8;
/// Larger blocks need the extended header, which nothing camguard packs comes near.
const BLOCK_MAX_PAYLOAD: usize = 0x3fff_ffff - 4;

pub type Val = u32;
pub const NULL: Val = 0;

const TYPE_MASK: u32 = 0xf000_0000;
const VALUE_MASK: u32 = 0x0fff_ffff;
const TYPE_SPECIAL: u32 = 0x0000_0000;
const TYPE_INT: u32 = 0x1000_0000;
const TYPE_INT_32: u32 = 0x2000_0000;
const TYPE_INT_64: u32 = 0x3000_0000;
const TYPE_BLOB_8: u32 = 0x8000_0000;
const TYPE_BLOB_16: u32 = 0x9000_0000;
const TYPE_BLOB_32: u32 = 0xa000_0000;
const TYPE_ARRAY: u32 = 0xd000_0000;
const TYPE_OBJECT: u32 = 0xe000_0000;

/// The 8-byte header of the ADB block: compat version 0, version 0, reserved, root value.
const ADB_HEADER_LEN: usize = 8;

/// Builds the value tree of one ADB block.
pub struct Writer {
    buf: Vec<u8>,
    written: HashMap<Vec<u8>, usize>,
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub fn new() -> Writer {
        Writer {
            buf: vec![0; ADB_HEADER_LEN],
            written: HashMap::new(),
        }
    }

    fn append(&mut self, bytes: &[u8], align: usize) -> usize {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
        let at = self.buf.len();
        self.buf.extend_from_slice(bytes);
        at
    }

    /// Identical bytes are stored once, if the earlier copy has the alignment asked for.
    fn data(&mut self, bytes: &[u8], align: usize) -> usize {
        if let Some(&at) = self.written.get(bytes) {
            if at % align == 0 {
                return at;
            }
        }
        let at = self.append(bytes, align);
        self.written.insert(bytes.to_vec(), at);
        at
    }

    fn tag(kind: u32, offset: usize) -> Val {
        assert!(
            offset as u64 <= VALUE_MASK as u64,
            "ADB block beyond 256 MiB"
        );
        kind | offset as u32
    }

    fn blob_bytes(b: &[u8]) -> (u32, Vec<u8>, usize) {
        let mut out;
        let (kind, align) = if b.len() > 0xffff {
            out = (b.len() as u32).to_le_bytes().to_vec();
            (TYPE_BLOB_32, 4)
        } else if b.len() > 0xff {
            out = (b.len() as u16).to_le_bytes().to_vec();
            (TYPE_BLOB_16, 2)
        } else {
            out = vec![b.len() as u8];
            (TYPE_BLOB_8, 1)
        };
        out.extend_from_slice(b);
        (kind, out, align)
    }

    /// A byte string; the empty one is NULL, as in apk (an unset field).
    pub fn blob(&mut self, b: &[u8]) -> Val {
        if b.is_empty() {
            return NULL;
        }
        let (kind, bytes, align) = Self::blob_bytes(b);
        let at = self.data(&bytes, align);
        Self::tag(kind, at)
    }

    /// A blob of `len` zero bytes that is never shared, to be filled in by `patch` once the
    /// rest of the block is known (the package id is a hash over the block that holds it).
    /// Returns the value and the offset of its bytes.
    pub fn placeholder(&mut self, len: usize) -> (Val, usize) {
        let (kind, bytes, align) = Self::blob_bytes(&vec![0; len]);
        let at = self.append(&bytes, align);
        (Self::tag(kind, at), at + bytes.len() - len)
    }

    pub fn int(&mut self, v: u64) -> Val {
        if v >= 1 << 32 {
            Self::tag(TYPE_INT_64, self.data(&v.to_le_bytes(), 4))
        } else if v >= 1 << 28 {
            Self::tag(TYPE_INT_32, self.data(&(v as u32).to_le_bytes(), 4))
        } else {
            TYPE_INT | v as u32
        }
    }

    /// An object whose field N is `fields[N - 1]`, or an array whose items are `fields`:
    /// trailing NULLs are dropped and nothing left is NULL. apk-tools writes its arrays through
    /// the same call, so they carry the object tag too; readers accept both.
    pub fn object(&mut self, fields: &[Val]) -> Val {
        let n = fields.iter().rposition(|&v| v != NULL).map_or(0, |i| i + 1);
        if n == 0 {
            return NULL;
        }
        let mut bytes = Vec::with_capacity(4 * (n + 1));
        bytes.extend_from_slice(&(n as u32 + 1).to_le_bytes());
        for v in &fields[..n] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        Self::tag(TYPE_OBJECT, self.data(&bytes, 4))
    }

    /// Copies a value of another block into this one, children before their parent.
    pub fn copy(&mut self, from: &Reader, v: Val) -> Result<Val, Error> {
        match v & TYPE_MASK {
            TYPE_SPECIAL | TYPE_INT => Ok(v),
            TYPE_INT_32 | TYPE_INT_64 => Ok(self.int(from.int(v)?)),
            TYPE_BLOB_8 | TYPE_BLOB_16 | TYPE_BLOB_32 => Ok(self.blob(from.blob(v)?)),
            TYPE_OBJECT | TYPE_ARRAY => {
                let mut copied = Vec::new();
                for f in from.fields(v)? {
                    copied.push(self.copy(from, f)?);
                }
                // Keep the source's tag: apk-tools copies objects and arrays as they are.
                let kind = v & TYPE_MASK;
                let mut bytes = (copied.len() as u32 + 1).to_le_bytes().to_vec();
                for c in copied {
                    bytes.extend_from_slice(&c.to_le_bytes());
                }
                Ok(Self::tag(kind, self.data(&bytes, 4)))
            }
            _ => Err(Error::Format(format!("value {v:#010x} of unknown type"))),
        }
    }

    pub fn patch(&mut self, offset: usize, bytes: &[u8]) {
        self.buf[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    /// The block's bytes so far, with `root` as the root value.
    pub fn finish(&mut self, root: Val) -> &[u8] {
        self.buf[4..8].copy_from_slice(&root.to_le_bytes());
        &self.buf
    }
}

/// Reads the value tree of one ADB block.
pub struct Reader<'a> {
    pub bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<Reader<'a>, Error> {
        if bytes.len() < ADB_HEADER_LEN || bytes[0] != 0 {
            return Err(Error::Format("ADB block without a version 0 header".into()));
        }
        Ok(Reader { bytes })
    }

    pub fn root(&self) -> Val {
        u32::from_le_bytes(self.bytes[4..8].try_into().unwrap())
    }

    fn at(&self, v: Val, offset: usize, len: usize) -> Result<&'a [u8], Error> {
        let start = (v & VALUE_MASK) as usize + offset;
        self.bytes
            .get(start..start + len)
            .ok_or_else(|| Error::Format(format!("value {v:#010x} points outside the block")))
    }

    pub fn int(&self, v: Val) -> Result<u64, Error> {
        match v & TYPE_MASK {
            TYPE_SPECIAL if v == NULL => Ok(0),
            TYPE_INT => Ok((v & VALUE_MASK) as u64),
            TYPE_INT_32 => Ok(u32::from_le_bytes(self.at(v, 0, 4)?.try_into().unwrap()) as u64),
            TYPE_INT_64 => Ok(u64::from_le_bytes(self.at(v, 0, 8)?.try_into().unwrap())),
            _ => Err(Error::Format(format!("value {v:#010x} is not an integer"))),
        }
    }

    /// NULL reads as the empty string, as an unset field does in apk.
    pub fn blob(&self, v: Val) -> Result<&'a [u8], Error> {
        let (prefix, len) = match v & TYPE_MASK {
            TYPE_SPECIAL if v == NULL => return Ok(&[]),
            TYPE_BLOB_8 => (1, self.at(v, 0, 1)?[0] as usize),
            TYPE_BLOB_16 => (
                2,
                u16::from_le_bytes(self.at(v, 0, 2)?.try_into().unwrap()) as usize,
            ),
            TYPE_BLOB_32 => (
                4,
                u32::from_le_bytes(self.at(v, 0, 4)?.try_into().unwrap()) as usize,
            ),
            _ => return Err(Error::Format(format!("value {v:#010x} is not a blob"))),
        };
        self.at(v, prefix, len)
    }

    /// The fields of an object (field N at index N - 1) or the items of an array.
    pub fn fields(&self, v: Val) -> Result<Vec<Val>, Error> {
        match v & TYPE_MASK {
            TYPE_SPECIAL if v == NULL => Ok(Vec::new()),
            TYPE_OBJECT | TYPE_ARRAY => {
                let n = u32::from_le_bytes(self.at(v, 0, 4)?.try_into().unwrap()) as usize;
                if n == 0 {
                    return Err(Error::Format(format!("object {v:#010x} without its count")));
                }
                let slots = self.at(v, 0, 4 * n)?;
                Ok(slots[4..]
                    .chunks(4)
                    .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
                    .collect())
            }
            _ => Err(Error::Format(format!("value {v:#010x} is not an object"))),
        }
    }

    /// Field `n` (1-based) of an object, NULL when the object is shorter.
    pub fn field(&self, obj: Val, n: usize) -> Result<Val, Error> {
        Ok(self.fields(obj)?.get(n - 1).copied().unwrap_or(NULL))
    }
}

/// One block: its type and payload, padding removed.
pub struct Block<'a> {
    pub kind: u32,
    pub payload: &'a [u8],
}

pub fn push_block(out: &mut Vec<u8>, kind: u32, parts: &[&[u8]]) -> Result<(), Error> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    if len > BLOCK_MAX_PAYLOAD {
        return Err(Error::Format(format!(
            "a block of {len} bytes needs apk's extended header"
        )));
    }
    out.extend_from_slice(&((kind << 30) | (4 + len as u32)).to_le_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
    let padding = (BLOCK_ALIGNMENT - (4 + len) % BLOCK_ALIGNMENT) % BLOCK_ALIGNMENT;
    out.extend(std::iter::repeat_n(0, padding));
    Ok(())
}

/// The file header every uncompressed stream starts with.
pub fn file_header(schema: u32) -> Vec<u8> {
    let mut out = FILE_MAGIC.to_vec();
    out.extend_from_slice(&schema.to_le_bytes());
    out
}

/// "ADBd" and the raw deflate stream, what `apk mkpkg` and `apk mkndx` write by default.
pub fn compress(stream: &[u8]) -> Vec<u8> {
    let mut out = DEFLATE_MAGIC.to_vec();
    out.extend(miniz_oxide::deflate::compress_to_vec(stream, 9));
    out
}

pub fn decompress(file: &[u8]) -> Result<Vec<u8>, Error> {
    match file.get(..4) {
        Some(m) if m == FILE_MAGIC => Ok(file.to_vec()),
        Some(m) if m == DEFLATE_MAGIC => miniz_oxide::inflate::decompress_to_vec(&file[4..])
            .map_err(|e| Error::Format(format!("deflate stream: {e:?}"))),
        _ => Err(Error::Format(
            "not an apk v3 file (no ADB. or ADBd magic)".into(),
        )),
    }
}

/// The schema and blocks of an uncompressed stream.
pub fn parse(stream: &[u8]) -> Result<(u32, Vec<Block<'_>>), Error> {
    if stream.len() < 8 || &stream[..4] != FILE_MAGIC {
        return Err(Error::Format("no ADB file header".into()));
    }
    let schema = u32::from_le_bytes(stream[4..8].try_into().unwrap());
    let mut blocks = Vec::new();
    let mut at = 8;
    while at < stream.len() {
        let head = stream
            .get(at..at + 4)
            .ok_or_else(|| Error::Format(format!("truncated block header at {at}")))?;
        let type_size = u32::from_le_bytes(head.try_into().unwrap());
        let kind = type_size >> 30;
        let raw = (type_size & 0x3fff_ffff) as usize;
        if kind == 3 || raw < 4 {
            return Err(Error::Format(format!(
                "block at {at}: extended or malformed header"
            )));
        }
        let payload = stream
            .get(at + 4..at + raw)
            .ok_or_else(|| Error::Format(format!("block at {at} runs past the end")))?;
        blocks.push(Block { kind, payload });
        at += raw.div_ceil(BLOCK_ALIGNMENT) * BLOCK_ALIGNMENT;
    }
    Ok((schema, blocks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_blob_is_null_and_lengths_pick_the_prefix_width() {
        let mut w = Writer::new();
        assert_eq!(w.blob(b""), NULL);
        let short = w.blob(&[7; 0xff]);
        let medium = w.blob(&[7; 0x100]);
        let long = w.blob(&[7; 0x10000]);
        assert_eq!(
            (short & TYPE_MASK, medium & TYPE_MASK, long & TYPE_MASK),
            (TYPE_BLOB_8, TYPE_BLOB_16, TYPE_BLOB_32)
        );
        let block = w.finish(NULL).to_vec();
        let r = Reader::new(&block).unwrap();
        assert_eq!(r.blob(short).unwrap().len(), 0xff);
        assert_eq!(r.blob(medium).unwrap().len(), 0x100);
        assert_eq!(r.blob(long).unwrap().len(), 0x10000);
        assert_eq!((medium & VALUE_MASK) % 2, 0);
        assert_eq!((long & VALUE_MASK) % 4, 0);
    }

    #[test]
    fn integers_are_immediate_below_two_to_the_28() {
        let mut w = Writer::new();
        let small = w.int(0x0fff_ffff);
        let epoch = w.int(1_700_000_000);
        let big = w.int(1 << 40);
        assert_eq!(small, TYPE_INT | 0x0fff_ffff);
        assert_eq!(epoch & TYPE_MASK, TYPE_INT_32);
        assert_eq!(big & TYPE_MASK, TYPE_INT_64);
        let block = w.finish(NULL).to_vec();
        let r = Reader::new(&block).unwrap();
        assert_eq!(
            [
                r.int(small).unwrap(),
                r.int(epoch).unwrap(),
                r.int(big).unwrap()
            ],
            [0x0fff_ffff, 1_700_000_000, 1 << 40]
        );
    }

    #[test]
    fn identical_values_are_stored_once_but_a_placeholder_never_is() {
        let mut w = Writer::new();
        let a = w.blob(b"root");
        let b = w.blob(b"root");
        assert_eq!(a, b);
        let (p, _) = w.placeholder(4);
        let (q, _) = w.placeholder(4);
        assert_ne!(p, q);
        let zeros = w.blob(&[0; 4]);
        assert_ne!(
            zeros, p,
            "a placeholder is patched later, so nothing may share it"
        );
    }

    #[test]
    fn objects_drop_trailing_nulls_and_read_back_field_by_field() {
        let mut w = Writer::new();
        let name = w.blob(b"x");
        let obj = w.object(&[name, NULL, w_int(5), NULL, NULL]);
        assert_eq!(w.object(&[NULL, NULL]), NULL);
        let block = w.finish(obj).to_vec();
        let r = Reader::new(&block).unwrap();
        assert_eq!(r.fields(r.root()).unwrap().len(), 3);
        assert_eq!(r.blob(r.field(obj, 1).unwrap()).unwrap(), b"x");
        assert_eq!(r.field(obj, 2).unwrap(), NULL);
        assert_eq!(r.int(r.field(obj, 3).unwrap()).unwrap(), 5);
        assert_eq!(r.field(obj, 9).unwrap(), NULL);
        assert_eq!((obj & VALUE_MASK) % 4, 0);
    }

    fn w_int(v: u32) -> Val {
        TYPE_INT | v
    }

    #[test]
    fn blocks_are_padded_to_eight_bytes_and_parse_back() {
        let mut stream = file_header(SCHEMA_PACKAGE);
        push_block(&mut stream, BLOCK_ADB, &[&[0; 8]]).unwrap();
        push_block(&mut stream, BLOCK_DATA, &[b"abc", b"de"]).unwrap();
        assert_eq!(stream.len() % 8, 0);
        let file = compress(&stream);
        assert_eq!(&file[..4], b"ADBd");
        let back = decompress(&file).unwrap();
        let (schema, blocks) = parse(&back).unwrap();
        assert_eq!(schema, SCHEMA_PACKAGE);
        assert_eq!(
            blocks
                .iter()
                .map(|b| (b.kind, b.payload))
                .collect::<Vec<_>>(),
            vec![(BLOCK_ADB, &[0u8; 8][..]), (BLOCK_DATA, &b"abcde"[..])]
        );
    }
}
