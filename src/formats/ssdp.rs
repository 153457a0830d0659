//! SSDP search responses and UPnP device descriptions: what a UPnP device (many cameras and
//! NVRs are one) says its maker and model are. Reference: UPnP Device Architecture 1.1 (UPnP
//! Forum, 15 October 2008):
//! - §1.3.2: a unicast `M-SEARCH * HTTP/1.1` to the device's port 1900, `HOST` its own
//!   address, no `MX`; the device answers unicast M-SEARCHes.
//! - §1.3.3: the answer is `HTTP/1.1 200 OK` over UDP with `LOCATION`, the URL of the device
//!   description, and `ST`, `USN`, `SERVER`, `CACHE-CONTROL`, `EXT`.
//! - §2.3: the description is XML `<root><specVersion>…</specVersion><device><deviceType>`,
//!   `<friendlyName>`, `<manufacturer>`, `<modelDescription>`, `<modelName>`, `<modelNumber>`,
//!   `<serialNumber>`, `<UDN>`…, then the embedded `<deviceList>` and `<serviceList>`.
//!
//! UPnP has no firmware element: a description gives the maker, the model and the device type,
//! never a firmware version, so SSDP cannot feed the known-exploited firmware check.
//!
//! The LOCATION is the device's word: camguard follows it only to the address that answered,
//! over plain HTTP, with a path that cannot break the request line ([`lan_location`]).
// What LAN devices send is parsed here: it must not be able to panic the daemon (probe/mod.rs).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]
use std::net::Ipv4Addr;

use super::discovery::{bounded, element, MAX_REPLY};
use crate::lan::DeviceInfo;

/// The SSDP port (UDA 1.1 §1.1.2).
pub const SSDP_PORT: u16 = 1900;
/// Longest description path followed.
pub const MAX_PATH: usize = 256;

/// A unicast M-SEARCH for every device and service (UDA 1.1 §1.3.2: `ssdp:all`).
pub fn msearch(to: Ipv4Addr) -> Vec<u8> {
    format!(
        "M-SEARCH * HTTP/1.1\r\nHOST: {to}:{SSDP_PORT}\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\n\
         USER-AGENT: Linux/5 UPnP/1.1 camguard/1\r\n\r\n"
    )
    .into_bytes()
}

/// The LOCATION of an SSDP search response (`HTTP/1.1 200` over UDP); None for anything else.
pub fn search_response_location(datagram: &[u8]) -> Option<String> {
    let bytes = datagram.get(..MAX_REPLY).unwrap_or(datagram);
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let status = lines.next()?;
    let mut parts = status.split_ascii_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") || parts.next()? != "200" {
        return None;
    }
    lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// What an SSDP `NOTIFY … ssdp:alive` announces (UDA 1.1 §1.2.2: a device multicasts one to
/// 239.255.255.250:1900 per root device, embedded device and service when it joins the
/// network and again before `CACHE-CONTROL: max-age` runs out; headers `HOST`,
/// `CACHE-CONTROL`, `LOCATION`, `NT`, `NTS: ssdp:alive`, `SERVER`, `USN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    /// The description's URL, as the device wrote it: followed only by the probe, through
    /// [`lan_location`].
    pub location: Option<String>,
    /// What the device says it is, when the notification is for a device type
    /// (`urn:schemas-upnp-org:device:MediaRenderer:1`); None for root-device, UUID and service
    /// notifications.
    pub info: Option<DeviceInfo>,
}

/// A NOTIFY `ssdp:alive` received at `at`; None for anything else (`ssdp:byebye` and
/// `ssdp:update` included, and search responses and M-SEARCHes).
pub fn parse_notify(datagram: &[u8], at: u64) -> Option<Notify> {
    let bytes = datagram.get(..MAX_REPLY).unwrap_or(datagram);
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let request = lines.next()?;
    if !request.eq_ignore_ascii_case("NOTIFY * HTTP/1.1") {
        return None;
    }
    let headers: Vec<(&str, &str)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
    };
    if !header("NTS")?.eq_ignore_ascii_case("ssdp:alive") {
        return None;
    }
    let device_type = header("NT").filter(|nt| nt.starts_with("urn:") && nt.contains(":device:"));
    Some(Notify {
        location: header("LOCATION").map(str::to_owned),
        info: device_type.map(|t| DeviceInfo {
            model: None,
            firmware: None,
            manufacturer: None,
            device_type: Some(bounded(t)),
            protocol: "SSDP".to_owned(),
            at,
            passive: false,
        }),
    })
}

/// Where a LOCATION URL points, when it is `http://<from>[:port]/path` with exactly the address
/// that answered: the port and the path. None for another host (a name, another address, a
/// user part), another scheme, a bad port, or a path with spaces or control characters, which
/// would end the request line camguard writes.
pub fn lan_location(url: &str, from: Ipv4Addr) -> Option<(u16, String)> {
    let scheme = url.get(..7)?;
    if !scheme.eq_ignore_ascii_case("http://") {
        return None;
    }
    let rest = url.get(7..)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok().filter(|p| *p != 0)?),
        None => (authority, 80),
    };
    // Dotted-quad only: `Ipv4Addr` refuses names, octal and shortened forms.
    if host.parse::<Ipv4Addr>().ok()? != from {
        return None;
    }
    let printable = path.bytes().all(|b| (0x21..0x7f).contains(&b));
    (printable && path.len() <= MAX_PATH).then(|| (port, path.to_owned()))
}

/// The GET of a description (HTTP/1.1, the connection closed after it).
pub fn description_request(host: Ipv4Addr, port: u16, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\
         User-Agent: Linux/5 UPnP/1.1 camguard/1\r\n\r\n"
    )
    .into_bytes()
}

/// The root device of a description received at `at`: its maker, model and device type. The
/// model is `modelName`, followed by `modelNumber` when that adds something. None when it is
/// not a description (no `<device>`) or names neither maker nor model.
pub fn parse_description(xml: &[u8], at: u64) -> Option<DeviceInfo> {
    let bytes = xml.get(..MAX_DESCRIPTION).unwrap_or(xml);
    let text = String::from_utf8_lossy(bytes);
    let start = text.find("<device>")? + "<device>".len();
    let device = text.get(start..)?;
    // The root device's own fields come before its embedded devices and services.
    let own = ["<deviceList>", "<serviceList>"]
        .iter()
        .filter_map(|t| device.find(t))
        .min()
        .and_then(|end| device.get(..end))
        .unwrap_or(device);
    let raw = |tag: &str| element(own, tag).map(unescaped);
    let manufacturer = raw("manufacturer").map(|m| bounded(&m));
    let model = match (raw("modelName"), raw("modelNumber")) {
        (Some(n), Some(m)) if !n.contains(m.as_str()) => Some(format!("{n} {m}")),
        (n, m) => n.or(m),
    }
    .map(|m| bounded(&m));
    if manufacturer.is_none() && model.is_none() {
        return None;
    }
    Some(DeviceInfo {
        model,
        firmware: None,
        manufacturer,
        device_type: raw("deviceType").map(|t| bounded(&t)),
        protocol: "SSDP".to_owned(),
        at,
        passive: false,
    })
}

/// Most of a description read: real ones are 1 to 4 KB, and the root device's fields come first.
pub const MAX_DESCRIPTION: usize = 16 * 1024;

/// XML's five predefined entities decoded (UDA 1.1 §2.3 escapes `&` and `<` in values); other
/// references are kept as they are.
pub(crate) fn unescaped(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lan::INFO_MAX_CHARS;

    const CAM: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 64);

    /// A search response laid out as UDA 1.1 §1.3.3 shows it.
    const RESPONSE: &str = "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\n\
        DATE: Mon, 07 Dec 2026 09:00:00 GMT\r\nEXT:\r\n\
        LOCATION: http://192.168.1.64:49152/rootDesc.xml\r\n\
        SERVER: Linux/3.0 UPnP/1.1 IPCamera/1.0\r\nST: upnp:rootdevice\r\n\
        USN: uuid:2f402f80-da50-11e1-9b23-4cbd8f0010aa::upnp:rootdevice\r\n\
        BOOTID.UPNP.ORG: 1\r\nCONFIGID.UPNP.ORG: 1\r\n\r\n";

    /// A description with the elements of UDA 1.1 §2.3, an embedded device and a service.
    pub const DESCRIPTION: &str = "<?xml version=\"1.0\"?>\
        <root xmlns=\"urn:schemas-upnp-org:device-1-0\"><specVersion><major>1</major><minor>1</minor></specVersion>\
        <device><deviceType>urn:schemas-upnp-org:device:Basic:1</deviceType>\
        <friendlyName>Garage camera</friendlyName><manufacturer>Hikvision</manufacturer>\
        <manufacturerURL>http://www.hikvision.com</manufacturerURL>\
        <modelDescription>Network Camera</modelDescription><modelName>IP Camera</modelName>\
        <modelNumber>DS-2CD2143G0-I</modelNumber><serialNumber>DS-2CD2143G0-I20190101AAWRD1</serialNumber>\
        <UDN>uuid:2f402f80-da50-11e1-9b23-4cbd8f0010aa</UDN>\
        <deviceList><device><deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>\
        <manufacturer>Other &amp; Co</manufacturer><modelName>Embedded</modelName></device></deviceList>\
        <serviceList><service><serviceType>urn:schemas-upnp-org:service:Dummy:1</serviceType></service></serviceList>\
        </device></root>";

    #[test]
    fn the_msearch_is_unicast_to_the_device() {
        let m = String::from_utf8(msearch(CAM)).unwrap();
        assert!(m.starts_with("M-SEARCH * HTTP/1.1\r\nHOST: 192.168.1.64:1900\r\n"));
        assert!(m.contains("MAN: \"ssdp:discover\"\r\n") && m.ends_with("\r\n\r\n"));
        assert!(!m.contains("MX:"), "UDA 1.1: no MX in a unicast M-SEARCH");
    }

    #[test]
    fn a_search_response_gives_its_location_and_other_messages_nothing() {
        assert_eq!(
            search_response_location(RESPONSE.as_bytes()).as_deref(),
            Some("http://192.168.1.64:49152/rootDesc.xml")
        );
        let lower = RESPONSE.replace("LOCATION", "Location");
        assert!(search_response_location(lower.as_bytes()).is_some());
        for not in [
            "NOTIFY * HTTP/1.1\r\nLOCATION: http://192.168.1.64/\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\nLOCATION: http://192.168.1.64/\r\n\r\n",
            "HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n",
            "HTTP/1.1 200 OK\r\nLOCATION:   \r\n\r\n",
            // A LOCATION in the body is not a header.
            "HTTP/1.1 200 OK\r\n\r\nLOCATION: http://192.168.1.64/\r\n",
            "",
        ] {
            assert_eq!(search_response_location(not.as_bytes()), None, "{not:?}");
        }
    }

    /// A NOTIFY laid out as UDA 1.1 §1.2.2 shows it, for an embedded device type.
    const NOTIFY: &str = "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\
        CACHE-CONTROL: max-age=1800\r\nLOCATION: http://192.168.1.64:49152/rootDesc.xml\r\n\
        NT: urn:schemas-upnp-org:device:MediaServer:1\r\nNTS: ssdp:alive\r\n\
        SERVER: Linux/3.0 UPnP/1.1 IPCamera/1.0\r\n\
        USN: uuid:2f402f80-da50-11e1-9b23-4cbd8f0010aa::urn:schemas-upnp-org:device:MediaServer:1\r\n\
        BOOTID.UPNP.ORG: 1\r\nCONFIGID.UPNP.ORG: 1\r\n\r\n";

    #[test]
    fn a_notify_gives_its_location_and_device_type_and_other_messages_nothing() {
        let n = parse_notify(NOTIFY.as_bytes(), 4).unwrap();
        assert_eq!(
            n.location.as_deref(),
            Some("http://192.168.1.64:49152/rootDesc.xml")
        );
        let info = n.info.unwrap();
        assert_eq!(
            info.device_type.as_deref(),
            Some("urn:schemas-upnp-org:device:MediaServer:1")
        );
        assert_eq!(
            (info.protocol.as_str(), info.at, info.model),
            ("SSDP", 4, None)
        );
        // A root-device or service notification names no device type.
        let root = NOTIFY.replace(
            "urn:schemas-upnp-org:device:MediaServer:1\r\nNTS",
            "upnp:rootdevice\r\nNTS",
        );
        let n = parse_notify(root.as_bytes(), 0).unwrap();
        assert!(n.info.is_none() && n.location.is_some());
        for not in [
            NOTIFY.replace("ssdp:alive", "ssdp:byebye"),
            NOTIFY.replace("NTS: ssdp:alive\r\n", ""),
            NOTIFY.replace("NOTIFY *", "M-SEARCH *"),
            RESPONSE.to_owned(),
            // The NTS in the body is not a header.
            "NOTIFY * HTTP/1.1\r\nNT: upnp:rootdevice\r\n\r\nNTS: ssdp:alive\r\n".to_owned(),
            String::new(),
        ] {
            assert_eq!(parse_notify(not.as_bytes(), 0), None, "{not:?}");
        }
        let hostile = format!(
            "NOTIFY * HTTP/1.1\r\nNTS: ssdp:alive\r\nNT: urn:x:device:\x1b[2J\u{202e}{}\r\n\r\n",
            "A".repeat(5000)
        );
        let t = parse_notify(hostile.as_bytes(), 0)
            .unwrap()
            .info
            .unwrap()
            .device_type
            .unwrap();
        assert!(!t.chars().any(char::is_control) && !t.chars().any(crate::text::is_bidi_control));
        assert!(t.chars().count() <= INFO_MAX_CHARS * 8 + 1, "{}", t.len());
    }

    #[test]
    fn only_a_location_on_the_answering_address_is_followed() {
        assert_eq!(
            lan_location("http://192.168.1.64:49152/rootDesc.xml", CAM),
            Some((49152, "/rootDesc.xml".to_owned()))
        );
        assert_eq!(
            lan_location("HTTP://192.168.1.64", CAM),
            Some((80, "/".to_owned()))
        );
        for elsewhere in [
            "http://192.168.1.65:49152/rootDesc.xml",
            "http://198.51.100.7/desc.xml",
            "http://camera.lan/desc.xml",
            "http://192.168.1.64@198.51.100.7/desc.xml",
            "http://user@192.168.1.64/desc.xml",
            "https://192.168.1.64/desc.xml",
            "ftp://192.168.1.64/desc.xml",
            "http://0300.0250.1.64/",
            "http://192.168.1.64:0/",
            "http://192.168.1.64:99999/",
            "http://192.168.1.64:80:81/",
            "http://[::1]/",
            "http://192.168.1.64/a b",
            "http://192.168.1.64/a\r\nHost: evil",
            "http://",
            "",
        ] {
            assert_eq!(lan_location(elsewhere, CAM), None, "{elsewhere:?}");
        }
        let long = format!("http://192.168.1.64/{}", "a".repeat(MAX_PATH));
        assert_eq!(lan_location(&long, CAM), None);
    }

    #[test]
    fn a_description_gives_the_root_devices_maker_model_and_type() {
        let info = parse_description(DESCRIPTION.as_bytes(), 5).unwrap();
        assert_eq!(info.manufacturer.as_deref(), Some("Hikvision"));
        assert_eq!(info.model.as_deref(), Some("IP Camera DS-2CD2143G0-I"));
        assert_eq!(
            info.device_type.as_deref(),
            Some("urn:schemas-upnp-org:device:Basic:1")
        );
        assert_eq!(
            (info.firmware, info.protocol.as_str(), info.at),
            (None, "SSDP", 5)
        );
        // A model number the name already holds is not repeated; entities are decoded.
        let axis = "<root><device><manufacturer>AXIS &amp; Co</manufacturer>\
            <modelName>AXIS M1065-LW</modelName><modelNumber>M1065-LW</modelNumber></device></root>";
        let info = parse_description(axis.as_bytes(), 0).unwrap();
        assert_eq!(info.model.as_deref(), Some("AXIS M1065-LW"));
        assert_eq!(info.manufacturer.as_deref(), Some("AXIS & Co"));
        // Only the embedded device names a maker: that is not the root device's.
        let embedded = "<root><device><deviceType>x</deviceType><deviceList><device>\
            <manufacturer>Other</manufacturer></device></deviceList></device></root>";
        assert_eq!(parse_description(embedded.as_bytes(), 0), None);
    }

    #[test]
    fn hostile_and_malformed_descriptions_are_cleaned_bounded_or_refused() {
        for not in [
            &b""[..],
            b"<root></root>",
            b"<root><device><friendlyName>x</friendlyName></device></root>",
            b"<root><device><modelName>",
            b"<root><device><modelName>   </modelName></device>",
            &[0xff, 0xfe, 0x00, b'<'],
        ] {
            assert_eq!(parse_description(not, 0), None, "{not:?}");
        }
        let hostile = format!(
            "<root><device><manufacturer>\x1b]0;pwned\x07\u{202e}&lt;script&gt;{}</manufacturer>\
             <modelName>Cam</modelName><modelNumber>A\r\nX: 1</modelNumber>\
             <deviceType>{}</deviceType></device></root>",
            "M".repeat(5000),
            "\u{2066}".repeat(300)
        );
        let info = parse_description(hostile.as_bytes(), 0).unwrap();
        let texts = [
            info.manufacturer.unwrap(),
            info.model.unwrap(),
            info.device_type.unwrap(),
        ];
        for t in &texts {
            assert!(!t.chars().any(char::is_control), "{t:?}");
            assert!(!t.chars().any(crate::text::is_bidi_control), "{t:?}");
            // At most INFO_MAX_CHARS characters, each escaped to at most 8.
            assert!(t.chars().count() <= INFO_MAX_CHARS * 8 + 1, "{}", t.len());
        }
        assert!(texts[0].contains("\\x1b") && texts[0].contains("<script>"));
        assert!(texts[1].contains("\\x0d\\x0aX: 1"), "{}", texts[1]);
        // Past MAX_DESCRIPTION nothing is read.
        let mut late = b"<root>".to_vec();
        late.extend(vec![b' '; MAX_DESCRIPTION]);
        late.extend(b"<device><modelName>late</modelName></device>");
        assert_eq!(parse_description(&late, 0), None);
    }
}
