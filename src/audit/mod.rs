//! The audit: a pure function from a [`Snapshot`] to findings a person understands.
//!
//! No I/O and no clock: the time is the snapshot's. Each check family lives in its own file and
//! adds findings to a [`Context`]; ids are stable API (design.md §3).
mod config;
pub mod credentials;
pub mod devices;
pub mod eol;
mod forwards;
mod remedy;
mod router;
mod upnp;
mod wifi;

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

pub use crate::facts::Facts;
use crate::facts::Inventory;
use crate::json::Value;
use crate::json_read::{parsed, string, text, uint, Fields, JsonReadError};
use crate::lan::Device;
use crate::mac::Mac;
use crate::ports::Protocol;
use crate::snapshot::{Coverage, Problem, Snapshot};

/// How bad a finding is. Ordered: `Critical` is the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL_DESCENDING: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The names, worst first.
    pub const NAMES_DESCENDING: [&'static str; 5] = ["critical", "high", "medium", "low", "info"];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL_DESCENDING
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    /// Points taken off the score for one finding of this severity.
    fn penalty(self) -> u32 {
        match self {
            Severity::Critical => 30,
            Severity::High => 12,
            Severity::Medium => 4,
            Severity::Low => 1,
            Severity::Info => 0,
        }
    }
}

/// What a finding is about, precisely enough for the planner and LuCI to act on it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Router,
    Service {
        name: String,
    },
    Config {
        config: String,
    },
    Section {
        config: String,
        section: String,
        label: String,
    },
    Mapping {
        proto: Protocol,
        ext_port: u16,
        int_addr: IpAddr,
        int_port: u16,
    },
    Pinhole {
        proto: Protocol,
        int_client: IpAddr,
        int_port: u16,
    },
    Device {
        ip: Option<IpAddr>,
        mac: Option<Mac>,
    },
}

impl Subject {
    /// As [`Serialize`] writes it: one object whose `kind` says which fields count.
    pub fn from_json(v: &Value) -> Result<Subject, JsonReadError> {
        let f = Fields::of(v)?;
        Ok(match f.required("kind", text)? {
            "router" => Subject::Router,
            "service" => Subject::Service {
                name: f.required("name", string)?,
            },
            "config" => Subject::Config {
                config: f.required("config", string)?,
            },
            "section" => Subject::Section {
                config: f.required("config", string)?,
                section: f.required("section", string)?,
                label: f.required("label", string)?,
            },
            "mapping" => Subject::Mapping {
                proto: f.required("proto", Protocol::from_json)?,
                ext_port: f.required("ext_port", uint)?,
                int_addr: f.required("int_addr", parsed)?,
                int_port: f.required("int_port", uint)?,
            },
            "pinhole" => Subject::Pinhole {
                proto: f.required("proto", Protocol::from_json)?,
                int_client: f.required("int_client", parsed)?,
                int_port: f.required("int_port", uint)?,
            },
            "device" => Subject::Device {
                ip: f.optional("ip", parsed)?,
                mac: f.optional("mac", parsed)?,
            },
            other => {
                let kinds = [
                    "router", "service", "config", "section", "mapping", "pinhole", "device",
                ];
                return Err(JsonReadError::unknown_variant(other, &kinds).within("kind"));
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub subject: Subject,
    /// The facts behind the finding, as an object.
    pub evidence: Evidence,
    /// What to do, in plain words.
    pub remedy: Cow<'static, str>,
    /// The action that would fix it (filled in by the planner; null until then).
    pub fix: Option<Value>,
    /// The owner's policy on what the finding is about, when there is a policy file to judge
    /// by: part of the finding, never a finding of its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyVerdict>,
}

/// Whether /etc/config/camguard keeps what a finding is about, and the rule that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyVerdict {
    pub allowed: bool,
    pub why: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouterSummary {
    pub hostname: Option<String>,
    pub model: Option<String>,
    pub release: Option<String>,
}

/// The audit's result: the shape of `camguard audit --json` and of ubus `camguard status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub camguard: &'static str,
    /// Unix time the snapshot stands for.
    pub time: u64,
    pub origin: String,
    pub router: RouterSummary,
    /// 100 = nothing found; see [`score`].
    pub score: u8,
    pub counts: Counts,
    pub findings: Vec<Finding>,
    /// What could not be read (bad lease lines, unreadable files).
    pub problems: Vec<Problem>,
    /// Every source the read stage looked at and how that went. When not `complete`, the score
    /// leaves out what could not be read and must not be taken for "clean".
    pub coverage: Coverage,
}

impl Report {
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// The facts behind a finding, always a JSON object. The findings that come one per mapping,
/// forward or device are typed and share the device record, so a router with 10,000 mappings
/// costs no 10,000 JSON maps; the rare ones carry a JSON object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Evidence {
    Mapping(MappingEvidence),
    Forward(ForwardEvidence),
    Device(DeviceEvidence),
    DeviceMappings(DeviceMappingsEvidence),
    Json(Value),
}

impl Evidence {
    /// As JSON, for callers that inspect fields.
    pub fn to_json(&self) -> Value {
        crate::encode::to_value(self).unwrap_or_default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappingEvidence {
    pub proto: Protocol,
    pub ext_port: u16,
    pub int_addr: IpAddr,
    pub int_port: u16,
    pub description: Option<String>,
    pub expires: Option<u64>,
    /// "nft" (a live rule) or "lease file".
    pub seen_in: &'static str,
    /// In the live ruleset now (false: only in the lease file, re-created at the next start).
    pub live: bool,
    /// The lease has run out (see [`crate::facts::mappings::Mapping::expired`]).
    pub expired: bool,
    pub service: Option<&'static str>,
    pub device: Option<DeviceRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForwardEvidence {
    /// "redirect" (a port forward) or "rule" (a traffic rule accepting WAN traffic).
    pub kind: &'static str,
    pub section: String,
    pub name: Option<String>,
    pub src: Option<String>,
    pub src_dport: Option<crate::snapshot::values::PortRange>,
    pub dest_ip: Option<String>,
    pub dest_port: Option<crate::snapshot::values::PortRange>,
    pub protocols: Vec<String>,
    pub src_ip: Option<String>,
    pub sensitive_ports: Vec<SensitivePort>,
    pub device: Option<DeviceRef>,
    /// Every device a rule's addresses name (a redirect names one: `device`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SensitivePort {
    pub port: u16,
    pub service: &'static str,
}

/// `upnp.device_mappings`: the mappings of one address, counted (docs/ubus-api.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceMappingsEvidence {
    pub int_addr: IpAddr,
    pub mappings: usize,
    pub live: usize,
    pub expired: usize,
    pub camera: bool,
    pub services: crate::sorted::SortedSet<&'static str>,
    /// The first few of them.
    pub sample: Vec<MappingSample>,
    pub device: Option<DeviceRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MappingSample {
    pub proto: Protocol,
    pub ext_port: u16,
    pub int_port: u16,
    pub live: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeviceEvidence {
    pub device: DeviceRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_blocks: Option<bool>,
    /// With `credential_check` on: why the default-password check sends this device no login
    /// (low confidence, or evidence that contradicts itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_check: Option<String>,
}

/// A device named by a finding: what is known about it and why it was classified so.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRef(pub Arc<Device>);

impl Serialize for DeviceRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let d = &self.0;
        let c = &d.classification;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ip", &d.ips.first())?;
        m.serialize_entry("mac", &d.mac)?;
        m.serialize_entry("hostname", &d.hostnames.first())?;
        m.serialize_entry("class", &c.class)?;
        m.serialize_entry("vendor", &c.vendor)?;
        m.serialize_entry("confidence", &c.confidence)?;
        m.serialize_entry("reasons", &c.reasons)?;
        if !c.contradictions.is_empty() {
            m.serialize_entry("contradictions", &c.contradictions)?;
        }
        m.end()
    }
}

/// Builds a finding; the remedy and evidence are set with the chained methods.
pub(crate) fn finding(
    id: &'static str,
    severity: Severity,
    subject: Subject,
    title: String,
    detail: String,
) -> Finding {
    Finding {
        id,
        severity,
        title,
        detail,
        subject,
        evidence: Evidence::Json(Value::Object(Default::default())),
        remedy: Cow::Borrowed(""),
        fix: None,
        policy: None,
    }
}

impl Finding {
    pub(crate) fn evidence(mut self, evidence: Value) -> Finding {
        self.evidence = Evidence::Json(evidence);
        self
    }

    pub(crate) fn typed_evidence(mut self, evidence: Evidence) -> Finding {
        self.evidence = evidence;
        self
    }

    pub(crate) fn remedy(mut self, remedy: impl Into<Cow<'static, str>>) -> Finding {
        self.remedy = remedy.into();
        self
    }
}

/// "a camera", "an NVR/DVR": the article for a word read aloud.
pub(crate) fn with_article(word: &str) -> String {
    let vowel_sound = word.starts_with(['a', 'e', 'i', 'o', 'u', 'A', 'E', 'I', 'O', 'U'])
        || word.starts_with("NVR");
    format!("{} {word}", if vowel_sound { "an" } else { "a" })
}

/// "Camera", "NVR/DVR": a label at the start of a sentence.
pub(crate) fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| {
        f.to_uppercase().collect::<String>() + c.as_str()
    })
}

/// Audits a snapshot. Deterministic: same snapshot, same report.
pub fn audit(snap: &Snapshot) -> Report {
    let inventory = Inventory::build(snap);
    audit_with(&Facts::new(snap, &inventory))
}

/// Audits facts the caller keeps (the daemon answers its other methods from them).
pub fn audit_with(ctx: &Facts) -> Report {
    let snap = ctx.snap;
    // Grown as found, not sized by the lease file: past a few mappings per device the
    // mappings are counted in one finding, so a hostile file of 65,535 lines must not reserve
    // room for 65,535 findings.
    let mut findings = Vec::new();
    for check in [
        config::check,
        upnp::check,
        forwards::check,
        router::check,
        wifi::check,
        devices::check,
    ] {
        check(ctx, &mut findings);
    }
    // Unstable sort moves fewer of these large values; ties are broken on every text field, so
    // the order is still total and the report deterministic.
    findings.sort_unstable_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.id.cmp(b.id))
            .then_with(|| a.subject.cmp(&b.subject))
            .then_with(|| a.title.cmp(&b.title))
            .then_with(|| a.detail.cmp(&b.detail))
    });
    let mut counts = Counts::default();
    for f in &findings {
        *match f.severity {
            Severity::Critical => &mut counts.critical,
            Severity::High => &mut counts.high,
            Severity::Medium => &mut counts.medium,
            Severity::Low => &mut counts.low,
            Severity::Info => &mut counts.info,
        } += 1;
    }
    Report {
        camguard: env!("CARGO_PKG_VERSION"),
        time: snap.taken_at,
        origin: snap.origin.clone(),
        router: RouterSummary {
            hostname: snap.system.hostname.clone(),
            model: snap.system.model.clone(),
            release: snap.system.release.as_ref().map(|r| r.version.clone()),
        },
        score: score(&findings),
        counts,
        findings,
        problems: snap.problems.clone(),
        coverage: snap.coverage(),
    }
}

/// 100 minus 30 per critical, 12 per high, 4 per medium and 1 per low finding, never below 0:
/// one critical exposure outweighs any amount of tidiness elsewhere.
pub fn score(findings: &[Finding]) -> u8 {
    let penalty: u32 = findings.iter().map(|f| f.severity.penalty()).sum();
    100u32.saturating_sub(penalty) as u8
}

/// "expires in 3 days", "is permanent (never expires)", "has expired" — after "The mapping".
pub(crate) fn expiry_words(expires: u64, now: u64) -> String {
    if expires == 0 {
        return "is permanent (never expires)".into();
    }
    if expires <= now {
        return "has expired".into();
    }
    format!("expires in {}", crate::time::duration_words(expires - now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::json;

    #[test]
    fn every_subject_reads_back_as_written() {
        let addr: IpAddr = "192.168.1.31".parse().unwrap();
        let subjects = [
            Subject::Router,
            Subject::Service {
                name: "miniupnpd".into(),
            },
            Subject::Config {
                config: "upnpd".into(),
            },
            Subject::Section {
                config: "firewall".into(),
                section: "cfg01".into(),
                label: "x".into(),
            },
            Subject::Mapping {
                proto: Protocol::Tcp,
                ext_port: 8080,
                int_addr: addr,
                int_port: 80,
            },
            Subject::Pinhole {
                proto: Protocol::UdpLite,
                int_client: "fd00::2".parse().unwrap(),
                int_port: 9,
            },
            Subject::Device {
                ip: Some(addr),
                mac: Some("4c:bd:8f:00:00:01".parse().unwrap()),
            },
            Subject::Device {
                ip: None,
                mac: None,
            },
        ];
        for s in subjects {
            let json = crate::encode::to_value(&s).unwrap();
            assert_eq!(Subject::from_json(&json), Ok(s), "{json}");
        }
        // Fields a kind does not have are ignored, as are unknown ones; null is absent.
        assert_eq!(
            Subject::from_json(&json!({"kind": "router", "name": 1, "later": true})),
            Ok(Subject::Router)
        );
        assert_eq!(
            Subject::from_json(&json!({"kind": "device", "ip": null})),
            Ok(Subject::Device {
                ip: None,
                mac: None
            })
        );
    }

    /// A subject also arrives from LuCI over ubus: what is not one says why.
    #[test]
    fn a_bad_subject_says_why() {
        let err = |v: Value| Subject::from_json(&v).unwrap_err().to_string();
        assert_eq!(
            err(json!({"kind": "host"})),
            "kind: unknown variant `host`, expected one of `router`, `service`, `config`, \
             `section`, `mapping`, `pinhole`, `device`"
        );
        assert_eq!(
            err(json!({"kind": 7.0})),
            "kind: expected a string, found a number"
        );
        assert_eq!(err(json!({"name": "x"})), "missing field `kind`");
        assert_eq!(
            err(json!({"kind": "section", "config": "c", "section": "s"})),
            "missing field `label`"
        );
        assert_eq!(
            err(
                json!({"kind": "pinhole", "proto": "TCP", "int_client": "fd00::2", "int_port": -1})
            ),
            "int_port: expected a non-negative integer, found a number"
        );
        assert_eq!(
            err(json!({"kind": "device", "mac": "4c:bd:8f"})),
            "mac: not a MAC address (expected six hex octets separated by ':' or '-')"
        );
        assert_eq!(
            err(
                json!({"kind": "mapping", "proto": "tcp", "ext_port": 1, "int_addr": "10.0.0.1", "int_port": 1})
            ),
            "proto: unknown variant `tcp`, expected one of `TCP`, `UDP`, `UDPLITE`"
        );
        assert_eq!(err(json!("router")), "expected an object, found a string");
    }
}
