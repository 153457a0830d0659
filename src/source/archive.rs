//! `sysupgrade -b` backups: a gzip-compressed tar of `etc/…`, read in memory.
//!
//! A backup may come from anywhere, so sizes are capped (a gzip bomb must not eat a router's
//! 64 MB of RAM) and every header field is checked before use.
use super::ReadError;
use crate::sorted::SortedMap;

/// Largest archive accepted, compressed and uncompressed. Real backups are tens of KB.
pub const MAX_COMPRESSED: usize = 32 << 20;
pub const MAX_UNCOMPRESSED: usize = 64 << 20;

/// Files of the archive by path without a leading `/` or `./` (e.g. `etc/config/firewall`),
/// plus symbolic links by path → target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Archive {
    pub files: SortedMap<String, Vec<u8>>,
    pub symlinks: SortedMap<String, String>,
    /// Each file's modification time as the tar header gives it (Unix time).
    pub modified: SortedMap<String, u64>,
}

/// Reads a `.tar.gz` (or a plain `.tar`) backup.
pub fn read_backup(bytes: &[u8]) -> Result<Archive, ReadError> {
    if bytes.len() > MAX_COMPRESSED {
        return Err(ReadError::BackupTooLarge {
            bytes: bytes.len(),
            limit: MAX_COMPRESSED,
        });
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let tar = gunzip(bytes)?;
        // A backup is gzip around tar; plain gzip of anything else fails the first tar header.
        let empty_archive = tar.iter().take(1024).all(|b| *b == 0);
        if !empty_archive && tar.get(257..262) != Some(b"ustar".as_slice()) {
            return Err(ReadError::GzipNotTar);
        }
        return read_tar(&tar);
    }
    let looks_like_tar = bytes.get(257..262) == Some(b"ustar".as_slice());
    if !looks_like_tar {
        return Err(ReadError::NotABackup);
    }
    read_tar(bytes)
}

/// Decompresses the first gzip member (RFC 1952); `sysupgrade -b` writes exactly one.
pub fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, ReadError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if bytes.len() < 18 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Err(ReadError::NotGzip);
    }
    if bytes[2] != 8 {
        return Err(ReadError::UnknownCompression);
    }
    let flags = bytes[3];
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let len = usize::from(u16::from_le_bytes([
            *bytes.get(pos).unwrap_or(&0),
            *bytes.get(pos + 1).unwrap_or(&0),
        ]));
        pos += 2 + len;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = bytes.get(pos..).unwrap_or_default();
            let Some(end) = rest.iter().position(|b| *b == 0) else {
                return Err(ReadError::TruncatedGzipHeader);
            };
            pos += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    let Some(deflated) = bytes.get(pos..) else {
        return Err(ReadError::TruncatedGzipHeader);
    };
    miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, MAX_UNCOMPRESSED).map_err(|e| {
        match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => ReadError::BackupUnpacksTooLarge {
                limit: MAX_UNCOMPRESSED,
            },
            _ => ReadError::DamagedCompressedData,
        }
    })
}

/// Reads a ustar/GNU tar stream: regular files, symlinks, GNU long names and pax paths.
pub fn read_tar(data: &[u8]) -> Result<Archive, ReadError> {
    // Collected in order and sorted once; of a path written twice the last entry wins.
    let (mut files, mut symlinks, mut modified) = (Vec::new(), Vec::new(), Vec::new());
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    while pos + 512 <= data.len() {
        let header = &data[pos..pos + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        verify_checksum(header, pos)?;
        let size = octal(&header[124..136]).ok_or(ReadError::BadTarSize { at: pos })?;
        let body_start = pos + 512;
        let body_end = body_start
            .checked_add(size)
            .filter(|end| *end <= data.len())
            .ok_or(ReadError::TarEntryPastEnd { at: pos })?;
        let body = &data[body_start..body_end];
        let name = long_name.take().unwrap_or_else(|| header_name(header));
        match header[156] {
            b'0' | 0 | b'7' => {
                let name = normalise(&name);
                if let Some(mtime) = octal(&header[136..148]) {
                    modified.push((name.clone(), mtime as u64));
                }
                files.push((name, body.to_vec()));
            }
            b'2' => symlinks.push((normalise(&name), cstr(&header[157..257]))),
            b'L' => long_name = Some(cstr(body)),
            b'x' => long_name = pax_path(body),
            _ => {}
        }
        pos = body_start + size.div_ceil(512) * 512;
    }
    Ok(Archive {
        files: SortedMap::from_vec(files),
        symlinks: SortedMap::from_vec(symlinks),
        modified: SortedMap::from_vec(modified),
    })
}

fn verify_checksum(header: &[u8], pos: usize) -> Result<(), ReadError> {
    let stored = octal(&header[148..156]).ok_or(ReadError::BadTarChecksumField { at: pos })?;
    let sum: usize = header
        .iter()
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                usize::from(*b)
            }
        })
        .sum();
    if sum != stored {
        return Err(ReadError::TarChecksumMismatch { at: pos });
    }
    Ok(())
}

fn header_name(header: &[u8]) -> String {
    let name = cstr(&header[0..100]);
    let is_ustar = &header[257..262] == b"ustar";
    let prefix = if is_ustar {
        cstr(&header[345..500])
    } else {
        String::new()
    };
    if prefix.is_empty() {
        name
    } else {
        format!("{prefix}/{name}")
    }
}

/// A pax extended header's `path=` record (`"<len> path=<value>\n"`).
fn pax_path(body: &[u8]) -> Option<String> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|rec| rec.split_once(' ').map(|(_, kv)| kv))
        .find_map(|kv| kv.strip_prefix("path=").map(str::to_owned))
}

fn cstr(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// Octal numeric field; GNU base-256 for sizes beyond 8 GB is rejected (no backup is that big).
fn octal(field: &[u8]) -> Option<usize> {
    let text = cstr(field);
    let text = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if text.is_empty() {
        return Some(0);
    }
    usize::from_str_radix(text, 8).ok()
}

fn normalise(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a ustar archive in memory (test helper shared with the offline source tests).
    pub fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, body) in entries {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            h[100..107].copy_from_slice(b"0000644");
            h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
            h[136..147].copy_from_slice(b"00000000000");
            h[156] = b'0';
            h[257..263].copy_from_slice(b"ustar\0");
            h[148..156].fill(b' ');
            let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
            h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
            out.extend_from_slice(&h);
            out.extend_from_slice(body);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.resize(out.len() + 1024, 0);
        out
    }

    /// gzip-wraps data with a stored (uncompressed) deflate block.
    pub fn gzip_stored(data: &[u8]) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        out.extend(miniz_oxide::deflate::compress_to_vec(data, 6));
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out
    }

    #[test]
    fn reads_files_from_a_gzipped_tar() {
        let tarball = tar(&[
            ("./etc/config/firewall", b"config defaults\n"),
            ("etc/shadow", b"root:::0:::::\n"),
        ]);
        let archive = read_backup(&gzip_stored(&tarball)).unwrap();
        assert_eq!(archive.files["etc/config/firewall"], b"config defaults\n");
        assert!(archive.files.contains_key("etc/shadow"));
    }

    #[test]
    fn damaged_header_is_an_error_not_a_panic() {
        let mut tarball = tar(&[("etc/config/x", b"abc")]);
        tarball[10] ^= 0xff;
        assert!(read_tar(&tarball)
            .unwrap_err()
            .to_string()
            .contains("checksum"));
    }

    #[test]
    fn entry_longer_than_the_archive_is_an_error() {
        let mut tarball = tar(&[("etc/config/x", b"abc")]);
        tarball.truncate(514);
        assert!(read_tar(&tarball).is_err());
    }

    #[test]
    fn not_gzip_and_not_tar_is_a_clear_error() {
        assert!(gunzip(b"hello world, this is not gzip").is_err());
        assert!(read_backup(b"\x1f\x8bnot really").is_err());
    }

    #[test]
    fn gzip_bomb_is_refused() {
        let zeros = vec![0u8; MAX_UNCOMPRESSED + 4096];
        let bomb = gzip_stored(&zeros);
        assert!(bomb.len() < 1 << 20, "compresses well");
        assert!(read_backup(&bomb)
            .unwrap_err()
            .to_string()
            .contains("more than"));
    }
}
