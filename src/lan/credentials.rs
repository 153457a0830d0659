//! What the default-password check remembers per device (`/etc/camguard/credcheck.json`):
//! the records, their JSON form, and how a working login is named. Holds no password. The
//! check itself is [`crate::probe::credentials`]; the finding it leads to is made by the audit.
use std::net::IpAddr;

use serde::Serialize;

use super::{Device, StateFile, StateFileError};
use crate::json::Value;
use crate::json_read::{entries, list, string, uint, Fields, JsonReadError};
use crate::sorted::SortedMap;

/// What camguard remembers per device, persisted as JSON (suggested path
/// `/etc/camguard/credcheck.json`, under the sysroot with `--sysroot`). Holds no password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CredState {
    pub version: u32,
    pub devices: SortedMap<String, DeviceRecord>,
}

impl Default for CredState {
    fn default() -> CredState {
        CredState {
            version: 1,
            devices: SortedMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockoutRecord {
    pub at: u64,
    /// camguard's words for the sign ("answered 503"); never the device's text.
    pub sign: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    pub fn from_json(v: &Value) -> Result<CredState, JsonReadError> {
        let f = Fields::of(v)?;
        Ok(CredState {
            version: f.required("version", uint)?,
            devices: f.required("devices", |v| entries(v, DeviceRecord::from_json))?,
        })
    }

    pub fn parse(bytes: &[u8]) -> Result<CredState, StateFileError> {
        let state = crate::statefile::from_json(bytes, CredState::from_json).map_err(|e| {
            StateFileError::NotOurs {
                file: StateFile::CredentialCheck,
                detail: e.to_string(),
            }
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

impl DeviceRecord {
    /// Every field is one a later version added, or may be absent.
    pub fn from_json(v: &Value) -> Result<DeviceRecord, JsonReadError> {
        let f = Fields::of(v)?;
        Ok(DeviceRecord {
            attempts: f.or_default("attempts", |v| list(v, uint))?,
            last_run: f.optional("last_run", uint)?,
            failures: f.or_default("failures", uint)?,
            refused: f.or_default("refused", |v| list(v, string))?,
            lockout: f.optional("lockout", LockoutRecord::from_json)?,
            works: f.optional("works", WorkingLogin::from_json)?,
        })
    }
}

impl LockoutRecord {
    pub fn from_json(v: &Value) -> Result<LockoutRecord, JsonReadError> {
        let f = Fields::of(v)?;
        Ok(LockoutRecord {
            at: f.required("at", uint)?,
            sign: f.required("sign", string)?,
        })
    }
}

impl WorkingLogin {
    pub fn from_json(v: &Value) -> Result<WorkingLogin, JsonReadError> {
        let f = Fields::of(v)?;
        Ok(WorkingLogin {
            vendor: f.required("vendor", string)?,
            user: f.required("user", string)?,
            login: f.required("login", string)?,
            protocol: f.required("protocol", string)?,
            port: f.required("port", uint)?,
            first_found: f.required("first_found", uint)?,
            confirmed: f.required("confirmed", uint)?,
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_reads_back_as_written() {
        let full = DeviceRecord {
            attempts: vec![1, 2],
            last_run: Some(3),
            failures: 4,
            refused: vec!["Hikvision/0/admin".into()],
            lockout: Some(LockoutRecord {
                at: 5,
                sign: "answered 503".into(),
            }),
            works: Some(WorkingLogin {
                vendor: "Hikvision".into(),
                user: "admin".into(),
                login: "Hikvision/1/admin".into(),
                protocol: "HTTP".into(),
                port: 80,
                first_found: 6,
                confirmed: 7,
            }),
        };
        let state = CredState {
            version: 1,
            devices: [
                ("4c:bd:8f:00:00:01".to_owned(), full),
                ("ip:192.168.1.9".to_owned(), DeviceRecord::default()),
            ]
            .into(),
        };
        assert_eq!(CredState::parse(&state.to_json()), Ok(state));
    }

    /// Every field of a device record is one later versions added: an empty record reads.
    #[test]
    fn records_of_earlier_versions_read_and_damaged_ones_say_where() {
        let state = CredState::parse(br#"{"version":1,"devices":{"a":{},"b":{"last_run":null}}}"#);
        assert_eq!(state.unwrap().devices["b"], DeviceRecord::default());
        for (json, detail) in [
            (&br#"{"version":1}"#[..], "missing field `devices`"),
            (
                br#"{"version":1,"devices":[]}"#,
                "devices: expected an object, found a list",
            ),
            (
                br#"{"version":1,"devices":{"a":{"failures":null}}}"#,
                "devices.a.failures: expected a non-negative integer, found null",
            ),
            (
                br#"{"version":1,"devices":{"a":{"lockout":{"at":1}}}}"#,
                "devices.a.lockout: missing field `sign`",
            ),
            (
                br#"{"version":1,"devices":{"a":{"works":{"vendor":"v","user":"u","login":"l",
                    "protocol":"HTTP","port":65536,"first_found":1,"confirmed":1}}}}"#,
                "devices.a.works.port: 65536 is out of range",
            ),
        ] {
            let err = CredState::parse(json).unwrap_err().to_string();
            assert!(err.contains(detail), "{err}");
        }
    }
}
