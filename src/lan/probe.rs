//! What the camera-port probe found on one address: the data the probe produces and
//! classification and the default-password check consume. The probing itself is in
//! [`crate::probe`].
use std::net::IpAddr;

use serde::Serialize;

use crate::json::Value;
use crate::text::lan_text_reloaded;

/// How often one device is probed: what a device serves rarely changes.
pub const PROBE_INTERVAL_SECS: u64 = 24 * 3600;

/// Ports spoken to as RTSP, and as HTTP; the other probe ports are only connected to.
pub const RTSP_PORTS: &[u16] = &[554, 8554];
pub const HTTP_PORTS: &[u16] = &[80, 88, 8000, 8080];

/// What answered on one port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// Replied `RTSP/1.0 …` to OPTIONS.
    Rtsp,
    /// Replied `HTTP/1.x …` to GET.
    Http,
    /// Accepted the connection (and said nothing we recognise, or was not spoken to).
    Tcp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub port: u16,
    pub kind: ServiceKind,
    /// The `Server` header, cleaned (LAN-controlled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The realm of its authentication challenge, cleaned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// Authentication schemes it asked for on `GET /` or OPTIONS ("digest", "basic").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub auth: Vec<String>,
    /// A maker named by the reply, and why (see [`vendor_hint`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_hint: Option<VendorHint>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VendorHint {
    /// A vendor name of the OUI table / default-login table ("Hikvision", "Dahua", "Axis").
    pub vendor: String,
    pub reason: String,
}

/// The probe of one address; kept in the seen-devices file ([`super::seen`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    pub ip: IpAddr,
    /// Unix time of the probe.
    pub at: u64,
    /// Ports that accepted a connection, by port.
    pub services: Vec<Service>,
    /// Set when the guard refused the address: nothing was sent to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What the device said about itself in a discovery reply (model, firmware).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<DeviceInfo>,
}

/// What a device announced about itself through a discovery protocol: LAN strings, cleaned and
/// bounded like hostnames ([`crate::text::lan_text`], at most [`INFO_MAX_CHARS`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// "DS-2CD2143G0-I".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// As the device writes it: "V5.5.800build 210628".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// The maker the reply names (a UPnP description's `manufacturer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// The kind of device the reply says it is: a UPnP `deviceType` URN, WS-Discovery's
    /// `Types` ("dn:NetworkVideoTransmitter").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    /// "SADP" (Hikvision), "Dahua discovery", "WS-Discovery", "SSDP".
    pub protocol: String,
    /// Unix time of the reply.
    pub at: u64,
    /// Heard from an announcement the device multicast by itself (SSDP NOTIFY, WS-Discovery
    /// Hello, a SADP announcement), not from a reply to an inquiry.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub passive: bool,
}

impl DeviceInfo {
    /// How much it says: a firmware version, then a camera protocol rather than UPnP, then a
    /// model. An announcement replaces a remembered one only when it says as much.
    pub fn rank(&self) -> (bool, bool, bool) {
        (
            self.firmware.is_some(),
            self.protocol != "SSDP",
            self.model.is_some(),
        )
    }
}

/// Longest model or firmware string kept.
pub const INFO_MAX_CHARS: usize = 64;

/// What a probe reply is worth to classification: classify.rs words it "answers on port N".
pub const ANSWERS_ON: &str = "answers on";

impl ProbeReport {
    /// Evidence for [`super::Evidence::service_ports`]: the ports whose answer is the camera
    /// protocol classify.rs credits them with, since anything may listen on a port.
    /// - 554/8554 count only when RTSP answered.
    /// - 8000 counts only when it did **not** answer HTTP: Hikvision's SDK there is binary,
    ///   and a web server on 8000 (development servers, NAS apps) is no camera sign.
    /// - 88 counts only when it answered HTTP, as Foscam's web server does; Kerberos, the
    ///   port's other owner, does not.
    /// - Other ports (Dahua 37777, Xiongmai 34567) count when they accept a connection.
    pub fn service_ports(&self) -> Vec<(u16, &'static str)> {
        self.services
            .iter()
            .filter(|s| match s.port {
                p if RTSP_PORTS.contains(&p) => s.kind == ServiceKind::Rtsp,
                8000 => s.kind != ServiceKind::Http,
                88 => s.kind == ServiceKind::Http,
                _ => true,
            })
            .map(|s| (s.port, ANSWERS_ON))
            .collect()
    }

    /// The first maker a reply named.
    pub fn vendor_hint(&self) -> Option<&VendorHint> {
        self.services.iter().find_map(|s| s.vendor_hint.as_ref())
    }

    pub fn ports_of(&self, kind: ServiceKind) -> Vec<u16> {
        self.services
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.port)
            .collect()
    }

    /// Whether this report is recent enough not to probe the address again.
    pub fn is_fresh(&self, now: u64) -> bool {
        self.at <= now && now - self.at < PROBE_INTERVAL_SECS
    }
}

/// The probe reports completed with what addresses announced by themselves (`heard`, each
/// `passive`): an announcement fills a report without a discovery reply, replaces an older
/// announcement, or one without a firmware version when it names one. An address heard but not
/// probed gets a report of its own with `at` 0 ("never probed": the probe stays due for it).
pub fn with_announcements<'a>(
    probes: &[ProbeReport],
    heard: impl IntoIterator<Item = (IpAddr, &'a DeviceInfo)>,
) -> Vec<ProbeReport> {
    let mut out = probes.to_vec();
    for (ip, info) in heard {
        match out.iter_mut().find(|p| p.ip == ip) {
            Some(p) => {
                let replace = p.info.as_ref().is_none_or(|known| {
                    (known.passive && known.at < info.at && info.rank() >= known.rank())
                        || (known.firmware.is_none() && info.firmware.is_some())
                });
                if replace {
                    p.info = Some(info.clone());
                }
            }
            None => out.push(ProbeReport {
                ip,
                at: 0,
                services: Vec::new(),
                refused: None,
                info: Some(info.clone()),
            }),
        }
    }
    out
}

/// Reading back what [`Serialize`] wrote to the seen-devices file. None for what is not a
/// report of this shape; services that are not one are left out. The strings came from LAN
/// devices: they are cleaned again ([`lan_text_reloaded`]), since the file may have been edited.
impl ProbeReport {
    pub fn from_json(v: &Value) -> Option<ProbeReport> {
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(lan_text_reloaded);
        let service = |s: &Value| {
            Some(Service {
                port: u16::try_from(s.get("port")?.as_u64()?).ok()?,
                kind: match s.get("kind")?.as_str()? {
                    "rtsp" => ServiceKind::Rtsp,
                    "http" => ServiceKind::Http,
                    "tcp" => ServiceKind::Tcp,
                    _ => return None,
                },
                server: text(s, "server"),
                realm: text(s, "realm"),
                auth: s
                    .get("auth")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                vendor_hint: s.get("vendor_hint").and_then(|h| {
                    Some(VendorHint {
                        vendor: text(h, "vendor")?,
                        reason: text(h, "reason")?,
                    })
                }),
            })
        };
        Some(ProbeReport {
            ip: v.get("ip")?.as_str()?.parse().ok()?,
            at: v.get("at")?.as_u64()?,
            services: v
                .get("services")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(service).collect())
                .unwrap_or_default(),
            refused: text(v, "refused"),
            info: v.get("info").and_then(|i| {
                Some(DeviceInfo {
                    model: text(i, "model"),
                    firmware: text(i, "firmware"),
                    manufacturer: text(i, "manufacturer"),
                    device_type: text(i, "device_type"),
                    protocol: text(i, "protocol")?,
                    at: i.get("at")?.as_u64()?,
                    passive: i.get("passive").and_then(Value::as_bool) == Some(true),
                })
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(protocol: &str, firmware: Option<&str>, at: u64, passive: bool) -> DeviceInfo {
        DeviceInfo {
            model: Some("M".into()),
            firmware: firmware.map(str::to_owned),
            manufacturer: None,
            device_type: None,
            protocol: protocol.into(),
            at,
            passive,
        }
    }

    fn report(ip: &str, at: u64, info: Option<DeviceInfo>) -> ProbeReport {
        ProbeReport {
            ip: ip.parse().unwrap(),
            at,
            services: vec![],
            refused: None,
            info,
        }
    }

    #[test]
    fn announcements_complete_probe_reports_without_hiding_the_probe() {
        let heard_sadp = info("SADP", Some("V5.5.0"), 50, true);
        let heard_ws = info("WS-Discovery", None, 60, true);
        let probes = [
            report("192.168.1.10", 40, None),
            report(
                "192.168.1.11",
                40,
                Some(info("ONVIF", Some("V1"), 40, false)),
            ),
            report("192.168.1.12", 40, Some(info("SSDP", None, 40, false))),
        ];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let out = with_announcements(
            &probes,
            [
                (ip("192.168.1.10"), &heard_ws),
                (ip("192.168.1.11"), &heard_ws),
                (ip("192.168.1.12"), &heard_sadp),
                (ip("192.168.1.13"), &heard_sadp),
            ],
        );
        assert_eq!(out[0].info.as_ref(), Some(&heard_ws), "fills a gap");
        assert_eq!(out[1].info, probes[1].info, "a reply naming firmware stays");
        assert_eq!(out[2].info.as_ref(), Some(&heard_sadp), "firmware wins");
        // A remembered announcement (seen.json) gives way to a newer one that says as much,
        // not to one that says less.
        let remembered = [report(
            "192.168.1.14",
            0,
            Some(info("SADP", Some("V5"), 5, true)),
        )];
        let newer_sadp = info("SADP", Some("V5.7"), 70, true);
        let newer_ssdp = info("SSDP", None, 80, true);
        let out2 = with_announcements(&remembered, [(ip("192.168.1.14"), &newer_ssdp)]);
        assert_eq!(out2[0].info, remembered[0].info);
        let out2 = with_announcements(&remembered, [(ip("192.168.1.14"), &newer_sadp)]);
        assert_eq!(out2[0].info.as_ref(), Some(&newer_sadp));
        // Heard only: a report that leaves the probe due, and reads back from seen.json.
        assert_eq!((out[3].at, out[3].info.as_ref()), (0, Some(&heard_sadp)));
        assert!(!out[3].is_fresh(1_800_000_000));
        let json = crate::encode::to_value(&out[3]).unwrap();
        assert_eq!(json["info"]["passive"], true);
        assert_eq!(ProbeReport::from_json(&json).as_ref(), Some(&out[3]));
        assert!(crate::encode::to_value(&out[1]).unwrap()["info"]
            .get("passive")
            .is_none());
    }
}
