//! What the default-password check remembers per device (`/etc/camguard/credcheck.json`):
//! the records, their JSON form, and how a working login is named. Holds no password. The
//! check itself is [`crate::probe::credentials`]; the finding it leads to is made by the audit.
use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::{Device, StateFile, StateFileError};

/// What camguard remembers per device, persisted as JSON (suggested path
/// `/etc/camguard/credcheck.json`, under the sysroot with `--sysroot`). Holds no password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredState {
    pub version: u32,
    pub devices: BTreeMap<String, DeviceRecord>,
}

impl Default for CredState {
    fn default() -> CredState {
        CredState {
            version: 1,
            devices: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Unix times of credentialed requests in the last 24 hours.
    #[serde(default)]
    pub attempts: Vec<u64>,
    /// When the last run started.
    #[serde(default)]
    pub last_run: Option<u64>,
    /// Refused or unanswered credentialed requests since the last success.
    #[serde(default)]
    pub failures: u32,
    /// Logins refused since the last success ([`login_key`]: vendor, index and user).
    #[serde(default)]
    pub refused: Vec<String>,
    /// The device showed a lockout sign: it is never tried again.
    #[serde(default)]
    pub lockout: Option<LockoutRecord>,
    /// The factory login that worked at the last check.
    #[serde(default)]
    pub works: Option<WorkingLogin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutRecord {
    pub at: u64,
    /// camguard's words for the sign ("answered 503"); never the device's text.
    pub sign: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingLogin {
    pub vendor: String,
    pub user: String,
    /// Which table entry ([`login_key`]).
    pub login: String,
    /// "HTTP" or "RTSP".
    pub protocol: String,
    pub port: u16,
    pub first_found: u64,
    pub confirmed: u64,
}

impl CredState {
    pub fn parse(bytes: &[u8]) -> Result<CredState, StateFileError> {
        let state: CredState =
            crate::statefile::from_json(bytes).map_err(|e| StateFileError::NotOurs {
                file: StateFile::CredentialCheck,
                detail: e.to_string(),
            })?;
        if state.version != 1 {
            return Err(StateFileError::NewerVersion {
                file: StateFile::CredentialCheck,
                version: state.version,
            });
        }
        Ok(state)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = crate::encode::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

/// "admin with Hikvision's factory password": how every output names a working login.
pub fn login_words(user: &str, vendor: &str) -> String {
    format!("{user} with {vendor}'s factory password")
}

/// The state-file key of a device: its MAC, else `ip:<address>`.
pub fn device_key(d: &Device, ip: IpAddr) -> String {
    match d.mac {
        Some(m) => m.to_string(),
        None => format!("ip:{ip}"),
    }
}
