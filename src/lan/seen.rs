//! First and last seen per device, and the latest probe of each address: the records of
//! camguard's seen-devices file (`/etc/camguard/seen.json`) and its JSON form.
//! [`crate::facts::seen`] merges the seen records with an audit; [`crate::statefile`] reads and
//! writes the file.
//!
//! The probe reports are kept here so that a restart neither probes every device again (the
//! probe runs at most daily per device) nor forgets what the probe taught the classifier.
use serde::Serialize;

use super::{ProbeReport, StateFile, StateFileError};
use crate::json::Value;
use crate::json_read::{list, parsed, uint, Fields, JsonReadError};
use crate::mac::Mac;

/// Most probe reports kept (the newest): a LAN host cycling addresses cannot grow the file.
pub const MAX_PROBE_RECORDS: usize = 256;
/// Most services kept per probe report (the probe asks a dozen ports).
pub const MAX_SERVICES_PER_PROBE: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeenRecord {
    pub mac: Mac,
    /// Unix times.
    pub first_seen: u64,
    pub last_seen: u64,
}

/// The file: version 1 (files written before the probe reports were kept have none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SeenFile {
    pub version: u32,
    pub devices: Vec<SeenRecord>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeReport>,
}

impl SeenFile {
    /// Probe reports through [`ProbeReport::from_json`], which leaves out what is not one.
    pub fn from_json(v: &Value) -> Result<SeenFile, JsonReadError> {
        let f = Fields::of(v)?;
        let probes = f.or_default("probes", |v| list(v, Ok))?;
        Ok(SeenFile {
            version: f.required("version", uint)?,
            devices: f.required("devices", |v| list(v, SeenRecord::from_json))?,
            probes: bounded_probes(probes.into_iter().filter_map(ProbeReport::from_json)),
        })
    }
}

impl SeenRecord {
    pub fn from_json(v: &Value) -> Result<SeenRecord, JsonReadError> {
        let f = Fields::of(v)?;
        Ok(SeenRecord {
            mac: f.required("mac", parsed)?,
            first_seen: f.required("first_seen", uint)?,
            last_seen: f.required("last_seen", uint)?,
        })
    }
}

/// The file's JSON.
pub fn to_json(records: &[SeenRecord], probes: &[ProbeReport]) -> Vec<u8> {
    let mut bytes = crate::encode::to_vec_pretty(&SeenFile {
        version: 1,
        devices: records.to_vec(),
        probes: bounded_probes(probes.iter().cloned()),
    })
    .unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The newest report per address, at most [`MAX_PROBE_RECORDS`] (the newest), each with at
/// most [`MAX_SERVICES_PER_PROBE`] services. Linear in the input times the bound, and no sort:
/// a generic sort costs kilobytes of router flash.
pub fn bounded_probes(probes: impl IntoIterator<Item = ProbeReport>) -> Vec<ProbeReport> {
    let mut out: Vec<ProbeReport> = Vec::new();
    for mut p in probes {
        p.services.truncate(MAX_SERVICES_PER_PROBE);
        if let Some(q) = out.iter_mut().find(|q| q.ip == p.ip) {
            if p.at > q.at {
                *q = p;
            }
        } else if out.len() < MAX_PROBE_RECORDS {
            out.push(p);
        } else if let Some(oldest) = out.iter_mut().min_by_key(|q| q.at) {
            if p.at > oldest.at {
                *oldest = p;
            }
        }
    }
    out
}

/// The reports the daemon holds (`current`) completed with those of the file: per address the
/// newer one wins.
pub fn merge_probes(current: &[ProbeReport], saved: &[ProbeReport]) -> Vec<ProbeReport> {
    bounded_probes(current.iter().chain(saved).cloned())
}

/// The same reports, in any order: whether the file needs writing.
pub fn same_probes(a: &[ProbeReport], b: &[ProbeReport]) -> bool {
    a.len() == b.len() && a.iter().all(|p| b.contains(p))
}

pub fn parse(bytes: &[u8]) -> Result<SeenFile, StateFileError> {
    let file = crate::statefile::from_json(bytes, SeenFile::from_json).map_err(|e| {
        StateFileError::NotOurs {
            file: StateFile::SeenDevices,
            detail: e.to_string(),
        }
    })?;
    if file.version != 1 {
        return Err(StateFileError::NewerVersion {
            file: StateFile::SeenDevices,
            version: file.version,
        });
    }
    Ok(file)
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
        assert_eq!(parse(&to_json(&r, &[])).unwrap().devices, r);
        assert!(parse(b"{").is_err());
        assert!(parse(br#"{"version":2,"devices":[]}"#)
            .unwrap_err()
            .to_string()
            .contains("newer"));
    }

    /// Files of versions before the probe reports were kept read; damaged ones say where.
    #[test]
    fn older_files_read_and_damaged_ones_say_where() {
        let file = parse(
            br#"{"devices":[{"last_seen":2,"mac":"4C-BD-8F-00-00-01","first_seen":1,"x":0}],
                "version":1}"#,
        )
        .unwrap();
        assert_eq!(file.devices[0].mac.to_string(), "4c:bd:8f:00:00:01");
        assert!(file.probes.is_empty());
        // Probe reports that are not one are left out, not the file refused.
        let file = parse(br#"{"version":1,"devices":[],"probes":[{"ip":"x"},3]}"#).unwrap();
        assert!(file.probes.is_empty());
        for (json, detail) in [
            (
                &br#"{"version":1,"devices":[{"mac":"x","first_seen":1,"last_seen":2}]}"#[..],
                "devices[0].mac: not a MAC address",
            ),
            (
                br#"{"version":1,"devices":[{"mac":"4c:bd:8f:00:00:01","first_seen":1}]}"#,
                "devices[0]: missing field `last_seen`",
            ),
            (
                br#"{"version":1,"devices":[],"probes":null}"#,
                "probes: expected a list",
            ),
            (br#"{"devices":[]}"#, "missing field `version`"),
            (
                br#"{"version":"1","devices":[]}"#,
                "version: expected a non-negative integer",
            ),
        ] {
            let err = parse(json).unwrap_err().to_string();
            assert!(err.contains(detail), "{err}");
        }
    }

    fn probe(ip: &str, at: u64) -> ProbeReport {
        ProbeReport {
            ip: ip.parse().unwrap(),
            at,
            services: vec![],
            refused: None,
            info: None,
        }
    }

    #[test]
    fn probe_reports_survive_the_file_and_the_newest_wins() {
        let mut p = probe("192.168.1.64", 10);
        p.services = (0..40)
            .map(|port| crate::lan::Service {
                port,
                kind: crate::lan::ServiceKind::Tcp,
                server: None,
                realm: None,
                auth: vec![],
                vendor_hint: Some(crate::lan::VendorHint {
                    vendor: "Hikvision".into(),
                    reason: "r".into(),
                }),
            })
            .collect();
        let back = parse(&to_json(&[], &[p.clone(), probe("192.168.1.64", 5)])).unwrap();
        assert_eq!(back.probes.len(), 1);
        assert_eq!(back.probes[0].at, 10);
        assert_eq!(back.probes[0].services.len(), MAX_SERVICES_PER_PROBE);
        let merged = merge_probes(&[probe("192.168.1.64", 20)], &back.probes);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].at, 20);
        // A report that is not one is left out; the rest of the file still counts.
        let odd = br#"{"version":1,"devices":[],"probes":[{"ip":"x","at":1},{"ip":"10.0.0.1","at":2,
            "services":[{"port":70000,"kind":"tcp"},{"port":80,"kind":"gopher"},{"port":554,"kind":"rtsp"}]}]}"#;
        let back = parse(odd).unwrap();
        assert_eq!(back.probes.len(), 1);
        assert_eq!(back.probes[0].services.len(), 1);
        // A file written before probes were kept still reads.
        assert!(parse(br#"{"version":1,"devices":[]}"#)
            .unwrap()
            .probes
            .is_empty());
    }

    #[test]
    fn strings_read_back_are_cleaned_again() {
        // A file edited by hand (or damaged) with raw control characters and a bidi override.
        let edited = "{\"version\":1,\"devices\":[],\"probes\":[{\"ip\":\"10.0.0.5\",\"at\":3,\
            \"services\":[{\"port\":80,\"kind\":\"http\",\"server\":\"web\\u001b[2J\"}],\
            \"info\":{\"model\":\"DS\\u202e-2CD\",\"manufacturer\":\"x\\r\\ny\",\"protocol\":\"SSDP\",\"at\":3}}]}";
        let back = parse(edited.as_bytes()).unwrap();
        let p = &back.probes[0];
        assert_eq!(p.services[0].server.as_deref(), Some("web\\x1b[2J"));
        let info = p.info.as_ref().unwrap();
        assert_eq!(info.model.as_deref(), Some("DS\\u{202e}-2CD"));
        assert_eq!(info.manufacturer.as_deref(), Some("x\\x0d\\x0ay"));
        // What camguard wrote comes back unchanged, escapes and all.
        assert_eq!(
            parse(&to_json(&[], &back.probes)).unwrap().probes,
            back.probes
        );
    }

    #[test]
    fn probe_records_are_bounded() {
        let many: Vec<ProbeReport> = (0..1000u32)
            .map(|i| {
                probe(
                    &std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string(),
                    u64::from(i),
                )
            })
            .collect();
        let kept = bounded_probes(many);
        assert!(same_probes(
            &kept,
            &kept.iter().rev().cloned().collect::<Vec<_>>()
        ));
        assert_eq!(kept.len(), MAX_PROBE_RECORDS);
        assert!(
            kept.iter().all(|p| p.at >= 1000 - MAX_PROBE_RECORDS as u64),
            "newest kept"
        );
    }
}
