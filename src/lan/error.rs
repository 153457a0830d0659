//! Why one of camguard's own state files could not be read. Both are camguard's to rewrite, so
//! the callers add what to do next: delete the file, or let the check pause.
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateFileError {
    /// Not JSON of the file's shape (damaged, or some other file); `detail` is the parser's or
    /// the reader's.
    NotOurs { file: StateFile, detail: String },
    /// Written by a newer camguard.
    NewerVersion { file: StateFile, version: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFile {
    /// [`super::CredState`].
    CredentialCheck,
    /// [`super::seen`].
    SeenDevices,
}

impl fmt::Display for StateFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateFileError::NotOurs {
                file: StateFile::CredentialCheck,
                detail,
            } => write!(f, "not a camguard credential-check state file: {detail}"),
            StateFileError::NotOurs {
                file: StateFile::SeenDevices,
                detail,
            } => write!(f, "not a camguard seen-devices file: {detail}"),
            StateFileError::NewerVersion { file, version } => {
                let name = match file {
                    StateFile::CredentialCheck => "credential-check state",
                    StateFile::SeenDevices => "seen-devices file",
                };
                write!(
                    f,
                    "{name} version {version} is newer than this camguard understands"
                )
            }
        }
    }
}

impl std::error::Error for StateFileError {}

#[cfg(test)]
mod tests {
    use crate::lan::{seen, CredState, StateFile, StateFileError};

    #[test]
    fn a_newer_credential_state_is_refused_by_version() {
        let err = CredState::parse(br#"{"version":2,"devices":{}}"#).unwrap_err();
        assert_eq!(
            err,
            StateFileError::NewerVersion {
                file: StateFile::CredentialCheck,
                version: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "credential-check state version 2 is newer than this camguard understands"
        );
    }

    #[test]
    fn a_damaged_file_is_not_ours() {
        let err = seen::parse(b"[").unwrap_err();
        assert!(matches!(
            err,
            StateFileError::NotOurs {
                file: StateFile::SeenDevices,
                ..
            }
        ));
        assert!(err
            .to_string()
            .starts_with("not a camguard seen-devices file: "));
    }
}
