//! Well-known ports camguard reasons about, in one place (peers-and-camera-data §2.3).
//!
//! Checks, the classifier and the LuCI views all take their port knowledge from here.
use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use super::*;

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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
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
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
