//! Why the read stage could not get at a router's files: the snapshot root, the nft command or
//! a backup archive. Each message says what was expected, so the person can pass the right one.
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug)]
pub enum ReadError {
    /// The snapshot root is not a directory (a typo, or a file).
    NotADirectory {
        path: PathBuf,
    },
    /// A `.tar.gz` (or any gzip file) where a root directory was expected.
    BackupGivenAsRoot {
        path: PathBuf,
    },
    /// A directory without `etc/`: not the root of a router's file system.
    NotARouterRoot {
        path: PathBuf,
    },

    /// `nft` is installed but could not be started.
    NftNotStarted(io::Error),
    /// Waiting for `nft` to finish failed.
    NftWaitFailed(io::Error),
    /// `nft` did not finish in time and was killed.
    NftTimedOut {
        after: Duration,
    },

    /// The backup is larger than any real one (they are tens of KB).
    BackupTooLarge {
        bytes: usize,
        limit: usize,
    },
    /// The backup unpacks to more than `limit`: a gzip bomb, or not a backup.
    BackupUnpacksTooLarge {
        limit: usize,
    },
    /// Neither gzip nor tar.
    NotABackup,
    /// No gzip header where the backup's gzip stream must start.
    NotGzip,
    /// gzip around something that is not a tar archive.
    GzipNotTar,
    /// A gzip stream not compressed with deflate.
    UnknownCompression,
    TruncatedGzipHeader,
    DamagedCompressedData,
    /// A tar header (at byte `at` of the unpacked archive) whose size field is not octal.
    BadTarSize {
        at: usize,
    },
    /// A tar header whose checksum field is not octal.
    BadTarChecksumField {
        at: usize,
    },
    /// A tar header whose checksum does not match its bytes.
    TarChecksumMismatch {
        at: usize,
    },
    /// A tar entry longer than what is left of the archive.
    TarEntryPastEnd {
        at: usize,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::BackupGivenAsRoot { path } => write!(
                f,
                "{} is a backup archive, not a directory; audit it with --backup {}",
                path.display(),
                path.display()
            ),
            ReadError::NotADirectory { path } => write!(
                f,
                "{} is not a directory; pass the root of a router snapshot",
                path.display()
            ),
            ReadError::NotARouterRoot { path } => write!(
                f,
                "{} is not a router root: no etc/ found (expected etc/config/firewall and friends)",
                path.display()
            ),
            ReadError::NftNotStarted(e) => write!(f, "cannot run nft: {e}"),
            ReadError::NftWaitFailed(e) => write!(f, "waiting for nft: {e}"),
            ReadError::NftTimedOut { after } => {
                write!(f, "nft did not answer within {} s", after.as_secs())
            }
            ReadError::BackupTooLarge { bytes, limit } => write!(
                f,
                "the backup is {bytes} bytes; camguard reads backups up to {limit}"
            ),
            ReadError::BackupUnpacksTooLarge { limit } => write!(
                f,
                "the backup unpacks to more than {limit} bytes; refusing it"
            ),
            ReadError::NotABackup => f.write_str(
                "not a sysupgrade backup: expected a gzip-compressed tar archive (.tar.gz)",
            ),
            ReadError::NotGzip => f.write_str("not a gzip file (a sysupgrade backup is a .tar.gz)"),
            ReadError::GzipNotTar => f.write_str(
                "a gzip file, but not of a tar archive: a sysupgrade backup is the .tar.gz that \
                 `sysupgrade -b FILE` writes",
            ),
            ReadError::UnknownCompression => {
                f.write_str("gzip file uses an unknown compression method")
            }
            ReadError::TruncatedGzipHeader => f.write_str("truncated gzip header"),
            ReadError::DamagedCompressedData => {
                f.write_str("the backup's compressed data is damaged")
            }
            ReadError::BadTarSize { at } => {
                write!(f, "bad size field in tar header at byte {at}")
            }
            ReadError::BadTarChecksumField { at } => {
                write!(f, "bad checksum field at byte {at}")
            }
            ReadError::TarChecksumMismatch { at } => write!(
                f,
                "tar header at byte {at} is damaged (checksum mismatch); is this a sysupgrade \
                 backup?"
            ),
            ReadError::TarEntryPastEnd { at } => {
                write!(f, "tar entry at byte {at} runs past the end of the archive")
            }
        }
    }
}

// No `source()`: the messages already carry the I/O error's words.
impl std::error::Error for ReadError {}

/// Why one router file could not be read.
#[derive(Debug)]
pub enum FileError {
    /// Symbolic links that lead back to themselves.
    LinkLoop,
    /// A FIFO, socket or device where a file should be: refused without opening it, since
    /// reading one could wait forever.
    NotRegular(&'static str),
    Io(io::Error),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::LinkLoop => f.write_str("its symbolic links loop"),
            FileError::NotRegular(kind) => write!(f, "not a regular file but {kind}"),
            FileError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FileError {}
