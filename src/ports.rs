//! Well-known ports camguard reasons about, in one place (peers-and-camera-data §2.3).
//!
//! Checks, the classifier and the LuCI views all take their port knowledge from here.
use serde::Serialize;

use crate::json_read::{text, JsonReadError};

/// Why a port matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortKind {
    /// Video streams or vendor SDK/DVR protocols of cameras and NVRs.
    Camera,
    /// Remote administration or file sharing that should never face the internet.
    Admin,
}

/// A port with a name a person recognises, on the transport protocols its service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownPort {
    pub port: u16,
    pub name: &'static str,
    pub kind: PortKind,
    pub tcp: bool,
    pub udp: bool,
}

impl KnownPort {
    /// Whether the service listens on this protocol.
    pub fn speaks(&self, proto: Protocol) -> bool {
        match proto {
            Protocol::Tcp => self.tcp,
            Protocol::Udp | Protocol::UdpLite => self.udp,
        }
    }
}

const fn tcp(port: u16, name: &'static str, kind: PortKind) -> KnownPort {
    KnownPort {
        port,
        name,
        kind,
        tcp: true,
        udp: false,
    }
}

const fn both(port: u16, name: &'static str, kind: PortKind) -> KnownPort {
    KnownPort {
        port,
        name,
        kind,
        tcp: true,
        udp: true,
    }
}

/// Sorted by port. Camera ports: RTSP 554/8554, Hikvision SDK 8000, Foscam HTTP 88, RTMP 1935,
/// Reolink Baichuan 9000, Xiongmai DVR-IP 34567 and its telnet backdoor 9530, Dahua SDK 37777.
/// Admin ports: FTP, SSH, telnet, SMB/NetBIOS, RDP, VNC. Each on the protocols its service
/// uses (IANA's registry and the vendors' port lists, peers-and-camera-data §2.3): the vendor
/// SDKs, RTMP, SSH and SMB are TCP only, so a UDP forward of a range that contains their
/// numbers does not reach them; RTSP, RPC and RDP also answer on UDP.
pub const KNOWN_PORTS: &[KnownPort] = &[
    tcp(21, "FTP", PortKind::Admin),
    tcp(22, "SSH", PortKind::Admin),
    tcp(23, "telnet", PortKind::Admin),
    tcp(88, "Foscam camera HTTP", PortKind::Camera),
    both(135, "Windows RPC", PortKind::Admin),
    both(139, "NetBIOS/SMB", PortKind::Admin),
    tcp(445, "SMB", PortKind::Admin),
    both(554, "RTSP (camera video)", PortKind::Camera),
    tcp(1935, "RTMP (camera video)", PortKind::Camera),
    tcp(2323, "telnet (alternate)", PortKind::Admin),
    both(3389, "RDP", PortKind::Admin),
    tcp(5900, "VNC", PortKind::Admin),
    tcp(8000, "Hikvision SDK", PortKind::Camera),
    both(8554, "RTSP (alternate)", PortKind::Camera),
    tcp(9000, "Reolink Baichuan", PortKind::Camera),
    tcp(9530, "Xiongmai telnet backdoor", PortKind::Camera),
    tcp(34567, "Xiongmai DVR-IP", PortKind::Camera),
    tcp(37777, "Dahua SDK", PortKind::Camera),
];

/// Ports the camera probe and the classifier treat as camera services.
pub const CAMERA_PROBE_PORTS: &[u16] = &[554, 8554, 80, 8000, 37777, 34567, 88];

/// The known port with this number, whatever the protocol.
pub fn known(port: u16) -> Option<&'static KnownPort> {
    KNOWN_PORTS
        .binary_search_by_key(&port, |k| k.port)
        .ok()
        .map(|i| &KNOWN_PORTS[i])
}

/// The known service on this port and protocol, if any.
pub fn known_on(proto: Protocol, port: u16) -> Option<&'static KnownPort> {
    known(port).filter(|k| k.speaks(proto))
}

/// Every sensitive (camera or admin) port inside `lo..=hi` on one of `protos`, for forwards of
/// whole ranges.
pub fn sensitive_in_range(
    protos: &[Protocol],
    lo: u16,
    hi: u16,
) -> impl Iterator<Item = &'static KnownPort> + '_ {
    KNOWN_PORTS
        .iter()
        .filter(move |k| k.port >= lo && k.port <= hi && protos.iter().any(|p| k.speaks(*p)))
}

/// Ports of the router's own web interface and SSH, when the config does not say otherwise.
pub const ROUTER_ADMIN_DEFAULTS: &[u16] = &[22, 80, 443];

// ---------------------------------------------------------------------------------------------
// Vendor clouds and P2P relays (NCSC step 3: remote viewing)

/// A vendor cloud or P2P relay that camera apps use to reach a camera from outside the home:
/// a camera with a connection to one has remote viewing switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relay {
    /// As people know it.
    pub service: &'static str,
    /// Whose devices use it.
    pub used_by: &'static str,
    /// Destination ports of the camera's outbound connections, per protocol. Empty when no
    /// public source names them: the service is then known by its names only, which
    /// connection tracking does not see.
    pub udp: &'static [u16],
    pub tcp: &'static [u16],
    /// Server names, for people and for a DNS source. camguard does not match them: dnsmasq
    /// gives names only with `--log-queries` (OpenWrt's `option logqueries`, off by default),
    /// as syslog lines and, on SIGUSR1, a cache dump into syslog; its ubus object has metrics
    /// only. There is no bounded name source on a default router.
    pub names: &'static [&'static str],
    /// The public source of the ports and names.
    pub source: &'static str,
    /// False where the source is a third party's or the ports are inferred: findings say so.
    pub confirmed: bool,
}

/// The relays camguard recognises (issue 17). Each row's facts come from its `source`; rows
/// marked unconfirmed carry what third parties report, and rows without ports are listed so the
/// evidence and the docs can name them, but match no connection.
pub static RELAYS: &[Relay] = &[
    Relay {
        service: "CS2 Network / iLnkP2P \"PPPP\" P2P",
        used_by: "VStarcam, Wanscam, HiChip, Sricam, NEO Coolcam and hundreds of other brands",
        udp: &[32100],
        tcp: &[],
        names: &[],
        source:
            "Paul Marrapese, CVE-2019-11219/11220 (hacked.camera; his advice to block outbound \
                 32100/udp, as ZDNet and KrebsOnSecurity reported in April 2019)",
        confirmed: true,
    },
    Relay {
        service: "Ring cloud (Ring Socket Service)",
        used_by: "Ring doorbells and cameras",
        udp: &[],
        tcp: &[8557, 9998, 9999],
        names: &[],
        source: "Ring, \"Protocols and Ports Used by Ring Devices\" (ring.com support article)",
        confirmed: true,
    },
    Relay {
        service: "Dahua P2P (Easy4ip / DMSS)",
        used_by: "Dahua and the brands that use its firmware (Amcrest, Lorex, Imou)",
        udp: &[8900],
        tcp: &[8900],
        names: &["easy4ipcloud.com", "easy4ip.com"],
        source: "IC Plus knowledge base, \"Dahua - P2P Services & Ports\" (relay service on port \
                 8900; an integrator's page, not Dahua's own)",
        confirmed: false,
    },
    Relay {
        service: "ThroughTek Kalay (TUTK IOTC)",
        used_by: "many OEM cameras and baby monitors (the platform of CVE-2021-28372)",
        udp: &[],
        tcp: &[],
        names: &[],
        source: "ThroughTek, \"P2P Connection Technology\" (master and P2P servers; no port list \
                 published)",
        confirmed: false,
    },
    Relay {
        service: "Hik-Connect",
        used_by: "Hikvision and Ezviz cameras and recorders",
        udp: &[],
        tcp: &[],
        names: &["hik-connect.com"],
        source: "Hikvision technical bulletin \"Adding a Device to a Hik-Connect Account\" (the \
                 service and its portal; no port list found)",
        confirmed: false,
    },
    Relay {
        service: "Reolink P2P (UID)",
        used_by: "Reolink cameras and recorders",
        udp: &[],
        tcp: &[],
        names: &["p2p.reolink.com"],
        source: "Reolink support, \"Introduction to P2P or UID\"; kaspars.net, \"Reolink battery \
                 camera remote protocol\" (UDP to p2p.reolink.com on negotiated ports)",
        confirmed: false,
    },
];

/// The relay an outbound connection to this port and protocol reaches, if any.
pub fn relay_on(proto: Protocol, port: u16) -> Option<&'static Relay> {
    RELAYS.iter().find(|r| match proto {
        Protocol::Tcp => r.tcp.contains(&port),
        Protocol::Udp | Protocol::UdpLite => r.udp.contains(&port),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_are_matched_by_protocol_and_port() {
        assert!(relay_on(Protocol::Udp, 32100).is_some_and(|r| r.service.contains("PPPP")));
        assert!(relay_on(Protocol::Tcp, 32100).is_none());
        assert!(relay_on(Protocol::Tcp, 9999).is_some_and(|r| r.service.contains("Ring")));
        assert!(relay_on(Protocol::Udp, 443).is_none());
        for r in RELAYS {
            assert!(
                !r.source.is_empty(),
                "{}: every row cites its source",
                r.service
            );
            // A row a finding can come from names a protocol and port; the others stay
            // unconfirmed until a public source names them.
            assert!(r.confirmed || r.udp.is_empty() && r.tcp.is_empty() || !r.names.is_empty());
        }
    }

    #[test]
    fn table_is_sorted_and_unique_so_binary_search_works() {
        assert!(KNOWN_PORTS.windows(2).all(|w| w[0].port < w[1].port));
    }

    #[test]
    fn rtsp_is_a_camera_port_and_ssh_an_admin_port() {
        assert_eq!(known(554).unwrap().kind, PortKind::Camera);
        assert_eq!(known(22).unwrap().kind, PortKind::Admin);
        assert!(known(32400).is_none());
    }

    #[test]
    fn range_lookup_finds_every_sensitive_port_inside() {
        let found: Vec<u16> = sensitive_in_range(&[Protocol::Tcp], 500, 9000)
            .map(|k| k.port)
            .collect();
        assert_eq!(found, vec![554, 1935, 2323, 3389, 5900, 8000, 8554, 9000]);
    }

    #[test]
    fn protocols_read_back_as_written() {
        for p in [Protocol::Tcp, Protocol::Udp, Protocol::UdpLite] {
            let json = crate::encode::to_value(&p).unwrap();
            assert_eq!(Protocol::from_json(&json), Ok(p));
        }
        assert!(Protocol::from_json(&crate::encode::json!("tcp")).is_err());
        assert!(Protocol::from_json(&crate::encode::json!(6)).is_err());
    }

    #[test]
    fn a_udp_range_reaches_only_services_that_speak_udp() {
        let found: Vec<u16> = sensitive_in_range(&[Protocol::Udp], 10000, 40000)
            .map(|k| k.port)
            .collect();
        assert_eq!(found, Vec::<u16>::new(), "Xiongmai and Dahua SDKs are TCP");
        assert!(known_on(Protocol::Udp, 37777).is_none());
        assert!(known_on(Protocol::Tcp, 37777).is_some());
        assert!(known_on(Protocol::Udp, 554).is_some());
    }
}

/// A transport protocol as miniupnpd, nft and fw4 name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "UDPLITE")]
    UdpLite,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::UdpLite => "UDPLITE",
        }
    }

    /// The IP protocol number (the byte miniupnpd's nft rules match with `@nh,72,8`).
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::UdpLite => 136,
        }
    }

    pub fn from_number(number: u64) -> Option<Protocol> {
        match number {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            136 => Some(Protocol::UdpLite),
            _ => None,
        }
    }

    /// nft's and /etc/protocols' lower-case names.
    pub fn from_name(name: &str) -> Option<Protocol> {
        match name.to_ascii_lowercase().as_str() {
            "tcp" => Some(Protocol::Tcp),
            "udp" => Some(Protocol::Udp),
            "udplite" => Some(Protocol::UdpLite),
            _ => None,
        }
    }

    /// As it is written to JSON: [`Protocol::as_str`].
    pub fn from_json(v: &crate::json::Value) -> Result<Protocol, JsonReadError> {
        match text(v)? {
            "TCP" => Ok(Protocol::Tcp),
            "UDP" => Ok(Protocol::Udp),
            "UDPLITE" => Ok(Protocol::UdpLite),
            other => Err(JsonReadError::unknown_variant(
                other,
                &["TCP", "UDP", "UDPLITE"],
            )),
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
