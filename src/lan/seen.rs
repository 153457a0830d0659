//! First and last seen per device: the records of camguard's seen-devices file
//! (`/etc/camguard/seen.json`) and its JSON form. [`crate::facts::seen`] merges them with an
//! audit; [`crate::statefile`] reads and writes the file.
use serde::{Deserialize, Serialize};

use super::{StateFile, StateFileError};
use crate::mac::Mac;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRecord {
    pub mac: Mac,
    /// Unix times.
    pub first_seen: u64,
    pub last_seen: u64,
}

#[derive(Serialize, Deserialize)]
struct SeenFile {
    version: u32,
    devices: Vec<SeenRecord>,
}

/// The file's JSON.
pub fn to_json(records: &[SeenRecord]) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(&SeenFile {
        version: 1,
        devices: records.to_vec(),
    })
    .unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

pub fn parse(bytes: &[u8]) -> Result<Vec<SeenRecord>, StateFileError> {
    let file: SeenFile = serde_json::from_slice(bytes).map_err(|e| StateFileError::NotOurs {
        file: StateFile::SeenDevices,
        detail: e.to_string(),
    })?;
    if file.version != 1 {
        return Err(StateFileError::NewerVersion {
            file: StateFile::SeenDevices,
            version: file.version,
        });
    }
    Ok(file.devices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trip_and_errors() {
        let r = vec![SeenRecord {
            mac: "4c:bd:8f:00:00:01".parse().unwrap(),
            first_seen: 1,
            last_seen: 2,
        }];
        assert_eq!(parse(&to_json(&r)).unwrap(), r);
        assert!(parse(b"{").is_err());
        assert!(parse(br#"{"version":2,"devices":[]}"#)
            .unwrap_err()
            .to_string()
            .contains("newer"));
    }
}
