//! Small JSON state files under /etc/camguard: read boundedly, written atomically.
//!
//! /etc is the router's flash: the callers write rarely (see their save rules), and a write is
//! a temporary file, fsync, rename and directory fsync, so a power cut leaves the old file or
//! the new one, never half of one.
use std::io::{self, Read, Write};
use std::path::Path;

use crate::json_read::JsonReadError;

/// Largest state file read; a bigger one is refused as damaged rather than loaded into RAM.
pub const MAX_STATE_FILE: u64 = 512 * 1024;

/// A state file's JSON as `T`: parsed into a [`crate::json::Value`] first, then taken apart by
/// `read`, the type's `from_json` ([`crate::json_read`]). The router then carries one JSON
/// parser (the `Value` one every ubus reply already needs) instead of one more per state type.
/// Errors name the field, not the line.
pub fn from_json<T>(
    bytes: &[u8],
    read: fn(&crate::json::Value) -> Result<T, JsonReadError>,
) -> Result<T, JsonReadError> {
    // Every state file and journal entry the unit tests read is held to serde_json.
    #[cfg(test)]
    crate::json::assert_reads_as_serde_json(bytes);
    let json = crate::json::from_slice(bytes).map_err(|e| JsonReadError::new(e.to_string()))?;
    read(&json)
}

/// The file's bytes; `None` when it does not exist yet.
pub fn read(path: &Path) -> io::Result<Option<Vec<u8>>> {
    read_up_to(path, MAX_STATE_FILE)
}

/// [`read`] with another bound. A FIFO, device or socket is refused without being opened: an
/// open of a FIFO would wait for a writer, and a device could be read for ever.
pub fn read_up_to(path: &Path, limit: u64) -> io::Result<Option<Vec<u8>>> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
        Ok(meta) if !meta.is_file() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not a regular file; camguard did not write it",
                    path.display()
                ),
            ))
        }
        Ok(_) => {}
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is larger than {limit} bytes; it is not a file camguard wrote",
                path.display()
            ),
        ));
    }
    Ok(Some(bytes))
}

/// Replaces the file atomically, creating its directory.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // Every state file and journal entry the unit tests write is held to serde_json.
    #[cfg(test)]
    crate::json::assert_reads_as_serde_json(bytes);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d)?;
    }
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "state path has no file name")
    })?;
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(d) = dir {
            std::fs::File::open(d)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_or_a_directory_is_refused_without_waiting() {
        let dir =
            std::env::temp_dir().join(format!("camguard-statefile-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        // No writer ever opens it: reading it would block for ever.
        let err = read(&fifo).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("not a regular file"), "{err}");
        assert!(read(&dir).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn round_trip_missing_and_oversized() {
        let dir = std::env::temp_dir().join(format!("camguard-statefile-{}", std::process::id()));
        let path = dir.join("sub/state.json");
        assert_eq!(read(&path).unwrap(), None);
        write(&path, b"{\"a\":1}").unwrap();
        assert_eq!(read(&path).unwrap().unwrap(), b"{\"a\":1}");
        write(&path, b"{}").unwrap();
        assert_eq!(read(&path).unwrap().unwrap(), b"{}");
        std::fs::write(&path, vec![b' '; MAX_STATE_FILE as usize + 1]).unwrap();
        assert!(read(&path)
            .unwrap_err()
            .to_string()
            .contains("not a file camguard wrote"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
