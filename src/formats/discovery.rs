//! Replies of cameras' own discovery protocols, which carry the model and firmware version a
//! camera will not tell without a login: Hikvision's SADP, Dahua's DHIP discovery and ONVIF's
//! WS-Discovery (the model only). SSDP and UPnP descriptions are in [`super::ssdp`].
//!
//! SADP: an XML `<Probe>…<Types>inquiry</Types></Probe>` sent to 239.255.255.250:37020/udp is
//! answered by a `<ProbeMatch>` with `<DeviceDescription>` (the model), `<DeviceSN>`,
//! `<IPv4Address>` (julienblitte/UniversalScanner, Hikvision.cs, @17edc381) and
//! `<SoftwareVersion>` (issue 17; Hikvision's SADP tool shows it as the firmware).
//!
//! Dahua: a 32-byte header (u32 little-endian header size 0x20, the magic "DHIP", the body
//! length at offsets 16 and 24) and a JSON body; the inquiry's method is `DHDiscover.search`,
//! the reply's `client.notifyDevInfo` with `DeviceType` (the model), `SerialNo`, `IPAddress`
//! (UniversalScanner, Dahua2.cs, @08cb1b7f). The firmware as `Version` is UNCONFIRMED: no
//! public capture at hand names that key.
//!
//! WS-Discovery (ONVIF Core Specification, "Scopes"): a `ProbeMatch` whose `Scopes` list holds
//! `onvif://www.onvif.org/hardware/<model>`, percent-encoded; it names no firmware.
//!
//! A reply is written by whatever answers on the LAN: every field is cleaned and bounded like a
//! hostname, and the parser never panics (its module denies the panicking constructs; the
//! `lan_replies` fuzz target runs it).
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

use crate::lan::{DeviceInfo, INFO_MAX_CHARS};
use crate::text::lan_text;

/// Most of a reply read: real SADP replies are about 1.5 KB.
pub const MAX_REPLY: usize = 8192;

/// What a SADP reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SadpReply {
    pub info: DeviceInfo,
    /// The address it gives for itself (the sender's address is the one to trust).
    pub ipv4: Option<Ipv4Addr>,
}

/// A SADP reply received at `at`; None when the datagram is not one (no `<ProbeMatch>`, or
/// neither a model nor a firmware version in it).
pub fn parse_sadp(datagram: &[u8], at: u64) -> Option<SadpReply> {
    let bytes = datagram.get(..MAX_REPLY).unwrap_or(datagram);
    let text = String::from_utf8_lossy(bytes);
    if !text.contains("<ProbeMatch>") {
        return None;
    }
    let model = element(&text, "DeviceDescription").map(bounded);
    let firmware = element(&text, "SoftwareVersion").map(bounded);
    if model.is_none() && firmware.is_none() {
        return None;
    }
    Some(SadpReply {
        info: DeviceInfo {
            model,
            firmware,
            manufacturer: None,
            device_type: None,
            protocol: "SADP".to_owned(),
            at,
            passive: false,
        },
        ipv4: element(&text, "IPv4Address").and_then(|a| a.trim().parse().ok()),
    })
}

/// The DHIP header's magic.
pub const DHIP_MAGIC: &[u8; 4] = b"DHIP";
const DHIP_HEADER: usize = 32;

/// Dahua's discovery inquiry: the DHIP header and `DHDiscover.search`.
pub fn dhip_inquiry() -> Vec<u8> {
    let body: &[u8] =
        b"{ \"method\" : \"DHDiscover.search\", \"params\" : { \"mac\" : \"\", \"uni\" : 1 } }\r\n";
    let len = (body.len() as u32).to_le_bytes();
    let mut out = Vec::with_capacity(DHIP_HEADER + body.len());
    out.extend_from_slice(&0x20u32.to_le_bytes());
    out.extend_from_slice(DHIP_MAGIC);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&len);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&len);
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(body);
    out
}

/// A Dahua `client.notifyDevInfo` reply received at `at`; None for anything else.
pub fn parse_dhip(datagram: &[u8], at: u64) -> Option<DeviceInfo> {
    let header = datagram.get(..DHIP_HEADER)?;
    if header.get(..4)? != [0x20, 0, 0, 0] || header.get(4..8)? != DHIP_MAGIC {
        return None;
    }
    let size = |at: usize| -> Option<usize> {
        let b: [u8; 4] = header.get(at..at + 4)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    };
    let body = datagram.get(DHIP_HEADER..)?;
    // The sizes must agree with each other and with what arrived (as Dahua2.cs checks).
    if size(16)? != size(24)? || size(16)? != body.len() || body.len() > MAX_REPLY {
        return None;
    }
    let json: crate::json::Value = crate::json::from_slice(body).ok()?;
    if json.get("method")?.as_str()? != "client.notifyDevInfo" {
        return None;
    }
    let info = json.get("params")?.get("deviceInfo")?;
    let text = |key: &str| {
        info.get(key)
            .and_then(crate::json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(bounded)
    };
    let (model, firmware) = (text("DeviceType"), text("Version"));
    if model.is_none() && firmware.is_none() {
        return None;
    }
    Some(DeviceInfo {
        model,
        firmware,
        manufacturer: None,
        device_type: None,
        protocol: "Dahua discovery".to_owned(),
        at,
        passive: false,
    })
}

/// The model an ONVIF `ProbeMatch` names in its scopes; None for anything else.
pub fn parse_ws_discovery(datagram: &[u8], at: u64) -> Option<DeviceInfo> {
    let bytes = datagram.get(..MAX_REPLY).unwrap_or(datagram);
    let text = String::from_utf8_lossy(bytes);
    if !text.contains("ProbeMatch") {
        return None;
    }
    scopes_model(&text, at)
}

/// The model an ONVIF `Hello` names in its scopes: the announcement a device multicasts to
/// 239.255.255.250:3702 when it joins a network (WS-Discovery 1.1, OASIS 2009, §4.1 "Hello":
/// `<d:Hello>` with `<a:EndpointReference>`, `<d:Types>`, `<d:Scopes>`, `<d:XAddrs>`,
/// `<d:MetadataVersion>`, the same children a `ProbeMatch` has). None for anything else, a
/// `Bye` or a `Probe` included.
pub fn parse_ws_hello(datagram: &[u8], at: u64) -> Option<DeviceInfo> {
    let bytes = datagram.get(..MAX_REPLY).unwrap_or(datagram);
    let text = String::from_utf8_lossy(bytes);
    let hello = text.match_indices("Hello>").any(|(i, _)| {
        let before = text.get(..i).unwrap_or_default();
        before.ends_with('<') || before.rsplit_once('<').is_some_and(|(_, n)| is_prefix(n))
    });
    if !hello {
        return None;
    }
    scopes_model(&text, at)
}

/// `d:` in `<d:Hello>`: a namespace prefix and its colon.
fn is_prefix(name: &str) -> bool {
    name.strip_suffix(':')
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The `onvif://www.onvif.org/hardware/<model>` scope of a ProbeMatch or Hello, and its Types.
fn scopes_model(text: &str, at: u64) -> Option<DeviceInfo> {
    // `<d:Scopes>` or `<Scopes MatchBy="…">`, whatever the namespace prefix.
    let start = text.find(":Scopes").or_else(|| text.find("<Scopes"))?;
    let rest = text.get(start..)?;
    let open_end = rest.find('>')? + 1;
    let body = rest.get(open_end..)?;
    let scopes = body.get(..body.find('<')?)?;
    let model = scopes
        .split_ascii_whitespace()
        .find_map(|s| s.strip_prefix("onvif://www.onvif.org/hardware/"))
        .map(percent_decoded)
        .filter(|m| !m.trim().is_empty())
        .map(|m| bounded(m.trim()))?;
    let device_type = prefixed_element(text, "Types").map(bounded);
    Some(DeviceInfo {
        model: Some(model),
        firmware: None,
        manufacturer: None,
        device_type,
        protocol: "WS-Discovery".to_owned(),
        at,
        passive: false,
    })
}

/// `%20` and the like decoded (invalid escapes kept as they are; invalid UTF-8 replaced).
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The text of the first `<tag>…</tag>`, trimmed; None when absent or empty.
pub(crate) fn element<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let rest = text.get(start..)?;
    let value = rest.get(..rest.find("</")?)?.trim();
    (!value.is_empty()).then_some(value)
}

/// The text of the first `<Local>…<` or `<prefix:Local>…<` (whatever the namespace prefix),
/// trimmed; None when absent or empty.
pub(crate) fn prefixed_element<'a>(text: &'a str, local: &str) -> Option<&'a str> {
    let close = format!("{local}>");
    text.match_indices(&close).find_map(|(i, _)| {
        let before = text.get(..i)?;
        let open = before.rfind('<')?;
        let name = before.get(open + 1..)?;
        let prefix_ok = name.is_empty()
            || name
                .strip_suffix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
        if !prefix_ok {
            return None;
        }
        let rest = text.get(i + close.len()..)?;
        let value = rest.get(..rest.find('<')?)?.trim();
        (!value.is_empty()).then_some(value)
    })
}

/// Cleaned like a hostname and cut to [`INFO_MAX_CHARS`].
pub(crate) fn bounded(raw: &str) -> String {
    let cut: String = raw.chars().take(INFO_MAX_CHARS).collect();
    lan_text(cut.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SADP reply as Hikvision cameras send it (fields as UniversalScanner reads them, plus
    /// the firmware fields the SADP tool shows).
    pub const REPLY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ProbeMatch>\
        <Uuid>7F1C0A34-2B4E-4C7D-9A11-3C2D4E5F6A7B</Uuid><Types>inquiry</Types>\
        <DeviceType>138153</DeviceType><DeviceDescription>DS-2CD2143G0-I</DeviceDescription>\
        <DeviceSN>DS-2CD2143G0-I20190101AAWRD12345678</DeviceSN><CommandPort>8000</CommandPort>\
        <HttpPort>80</HttpPort><MAC>4c-bd-8f-22-10-aa</MAC><IPv4Address>192.168.1.65</IPv4Address>\
        <SoftwareVersion>V5.5.800build 210628</SoftwareVersion><DSPVersion>V7.3 build 210628</DSPVersion>\
        <Activated>true</Activated></ProbeMatch>";

    #[test]
    fn a_sadp_reply_gives_model_and_firmware() {
        let r = parse_sadp(REPLY.as_bytes(), 7).unwrap();
        assert_eq!(r.info.model.as_deref(), Some("DS-2CD2143G0-I"));
        assert_eq!(r.info.firmware.as_deref(), Some("V5.5.800build 210628"));
        assert_eq!((r.info.protocol.as_str(), r.info.at), ("SADP", 7));
        assert_eq!(r.ipv4, Some(Ipv4Addr::new(192, 168, 1, 65)));
    }

    #[test]
    fn an_onvif_probe_match_gives_the_model_its_scopes_name() {
        let reply = "<?xml version=\"1.0\"?><SOAP-ENV:Envelope><SOAP-ENV:Body><d:ProbeMatches>\
            <d:ProbeMatch><d:Types>dn:NetworkVideoTransmitter</d:Types>\
            <d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/hardware/DS-2CD2143G0%2DI \
            onvif://www.onvif.org/name/HIKVISION%20CAM</d:Scopes>\
            <d:XAddrs>http://192.168.1.64/onvif/device_service</d:XAddrs></d:ProbeMatch></d:ProbeMatches>\
            </SOAP-ENV:Body></SOAP-ENV:Envelope>";
        let info = parse_ws_discovery(reply.as_bytes(), 3).unwrap();
        assert_eq!(info.model.as_deref(), Some("DS-2CD2143G0-I"));
        assert_eq!(
            (info.firmware, info.protocol.as_str()),
            (None, "WS-Discovery")
        );
        assert_eq!(
            info.device_type.as_deref(),
            Some("dn:NetworkVideoTransmitter")
        );
        assert_eq!(prefixed_element("<Types>x</Types>", "Types"), Some("x"));
        assert_eq!(prefixed_element("</d:Types><a:b:Types>x<", "Types"), None);
        assert_eq!(
            prefixed_element("<d:Types/><wsdd:Types> y </wsdd:Types>", "Types"),
            Some("y")
        );
        for bad in [
            "<d:ProbeMatch><d:Scopes>onvif://www.onvif.org/name/x</d:Scopes>",
            "<d:ProbeMatch><d:Scopes>onvif://www.onvif.org/hardware/",
            "<d:Probe><d:Scopes>onvif://www.onvif.org/hardware/X</d:Scopes>",
            "<d:ProbeMatch><d:Scopes>onvif://www.onvif.org/hardware/%20%20</d:Scopes>",
        ] {
            assert_eq!(parse_ws_discovery(bad.as_bytes(), 0), None, "{bad}");
        }
        let hostile = "<ProbeMatch><Scopes>onvif://www.onvif.org/hardware/%1b%5d0%3bx%07%E2%80%AE%ff%zz</Scopes>";
        let model = parse_ws_discovery(hostile.as_bytes(), 0)
            .unwrap()
            .model
            .unwrap();
        assert!(!model.chars().any(char::is_control), "{model}");
        assert!(
            model.contains("\\x1b") && model.contains("\\u{202e}") && model.ends_with("%zz"),
            "{model}"
        );
    }

    #[test]
    fn an_onvif_hello_gives_the_model_and_a_bye_or_probe_nothing() {
        // A Hello as ONVIF devices multicast it (WS-Discovery 1.1 §4.1, the 2005/04 namespace
        // ONVIF Core §7.3 uses).
        let hello = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
            <s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" \
            xmlns:a=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
            xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" \
            xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\"><s:Header>\
            <a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</a:Action>\
            <a:MessageID>uuid:0e2a5a3c-1b7e-4c1a-9d7e-5a1b2c3d4e5f</a:MessageID>\
            <a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header><s:Body>\
            <d:Hello><a:EndpointReference><a:Address>urn:uuid:0e2a5a3c-1b7e</a:Address></a:EndpointReference>\
            <d:Types>dn:NetworkVideoTransmitter</d:Types>\
            <d:Scopes>onvif://www.onvif.org/type/video_encoder onvif://www.onvif.org/hardware/IPC-HDW1230S</d:Scopes>\
            <d:XAddrs>http://192.168.1.108/onvif/device_service</d:XAddrs>\
            <d:MetadataVersion>1</d:MetadataVersion></d:Hello></s:Body></s:Envelope>";
        let info = parse_ws_hello(hello.as_bytes(), 2).unwrap();
        assert_eq!(info.model.as_deref(), Some("IPC-HDW1230S"));
        assert_eq!(
            info.device_type.as_deref(),
            Some("dn:NetworkVideoTransmitter")
        );
        assert_eq!((info.protocol.as_str(), info.at), ("WS-Discovery", 2));
        assert!(parse_ws_hello(hello.replace("d:Hello", "Hello").as_bytes(), 0).is_some());
        for not in [
            hello.replace("d:Hello>", "d:Bye>"),
            hello.replace("d:Hello>", "d:Probe>"),
            hello
                .replace("<d:Hello>", "<x:y:Hello>")
                .replace("</d:Hello>", ""),
            hello.replace("hardware/IPC-HDW1230S", "name/x"),
        ] {
            assert_eq!(parse_ws_hello(not.as_bytes(), 0), None, "{not}");
        }
        // A Hello is not a ProbeMatch, nor the other way round.
        assert_eq!(parse_ws_discovery(hello.as_bytes(), 0), None);
    }

    fn dhip(body: &[u8], sizes: (u32, u32)) -> Vec<u8> {
        let mut out = dhip_inquiry();
        out.truncate(DHIP_HEADER);
        out[16..20].copy_from_slice(&sizes.0.to_le_bytes());
        out[24..28].copy_from_slice(&sizes.1.to_le_bytes());
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn the_dahua_inquiry_has_the_header_dahua2_cs_builds() {
        let q = dhip_inquiry();
        assert_eq!(&q[..8], b"\x20\0\0\0DHIP");
        let len = q.len() as u32 - 32;
        assert_eq!(q[16..20], len.to_le_bytes());
        assert_eq!(q[24..28], len.to_le_bytes());
        assert!(q.ends_with(b"} }\r\n"));
    }

    #[test]
    fn a_dahua_reply_gives_model_and_firmware_and_bad_frames_nothing() {
        let body = br#"{"method":"client.notifyDevInfo","params":{"deviceInfo":{"DeviceType":"IPC-HDW1230S","SerialNo":"4M0747EPAA1D284","IPAddress":"192.168.1.108","Version":"2.800.0000000.9.R, Build Date 2021-04-23"}}}"#;
        let n = body.len() as u32;
        let info = parse_dhip(&dhip(body, (n, n)), 9).unwrap();
        assert_eq!(info.model.as_deref(), Some("IPC-HDW1230S"));
        assert_eq!(
            info.firmware.as_deref(),
            Some("2.800.0000000.9.R, Build Date 2021-04-23")
        );
        assert_eq!(info.protocol, "Dahua discovery");
        // Sizes that disagree, a wrong magic, a short header, another method, no JSON.
        assert_eq!(parse_dhip(&dhip(body, (n, n + 1)), 0), None);
        assert_eq!(parse_dhip(&dhip(body, (n + 1, n + 1)), 0), None);
        let mut wrong = dhip(body, (n, n));
        wrong[4] = b'X';
        assert_eq!(parse_dhip(&wrong, 0), None);
        assert_eq!(parse_dhip(b"\x20\0\0\0DHIP", 0), None);
        let other = br#"{"method":"DHDiscover.search","params":{}}"#;
        assert_eq!(
            parse_dhip(&dhip(other, (other.len() as u32, other.len() as u32)), 0),
            None
        );
        assert_eq!(parse_dhip(&dhip(b"\xff\x00", (2, 2)), 0), None);
        // Hostile strings are cleaned and bounded.
        let hostile = format!(
            r#"{{"method":"client.notifyDevInfo","params":{{"deviceInfo":{{"DeviceType":"\u001b]0;x\u0007{}","Version":"\u202e1.0"}}}}}}"#,
            "B".repeat(5000)
        );
        let h = hostile.len() as u32;
        let info = parse_dhip(&dhip(hostile.as_bytes(), (h, h)), 0).unwrap();
        let model = info.model.unwrap();
        assert!(
            !model.chars().any(char::is_control) && model.chars().count() <= 4 * INFO_MAX_CHARS
        );
        assert!(info.firmware.unwrap().contains("\\u{202e}"));
    }

    #[test]
    fn hostile_and_malformed_replies_are_cleaned_bounded_or_refused() {
        for not_sadp in [
            &b""[..],
            b"<Probe><Types>inquiry</Types></Probe>",
            b"<ProbeMatch></ProbeMatch>",
            b"<ProbeMatch><DeviceDescription>",
            b"<ProbeMatch><DeviceDescription>   </DeviceDescription>",
            &[0xff, 0xfe, 0x00],
        ] {
            assert_eq!(parse_sadp(not_sadp, 0), None, "{not_sadp:?}");
        }
        let hostile = format!(
            "<ProbeMatch><DeviceDescription>\x1b]0;pwned\x07<img src=x>\u{202e}{}</DeviceDescription>\
             <SoftwareVersion>V5.4.0build 160530\r\nX-Injected: 1</SoftwareVersion>\
             <IPv4Address>300.1.1.1</IPv4Address></ProbeMatch>",
            "A".repeat(2_000)
        );
        let r = parse_sadp(hostile.as_bytes(), 0).unwrap();
        let model = r.info.model.unwrap();
        assert!(!model.chars().any(char::is_control), "{model}");
        assert!(
            model.contains("\\x1b") && model.contains("\\u{202e}"),
            "{model}"
        );
        assert!(model.chars().count() <= INFO_MAX_CHARS * 10);
        let firmware = r.info.firmware.unwrap();
        assert!(
            !firmware.contains('\n') && firmware.contains("\\x0d"),
            "{firmware}"
        );
        assert_eq!(r.ipv4, None);
        // A reply past MAX_REPLY is read no further.
        let mut long = b"<ProbeMatch>".to_vec();
        long.extend(vec![b' '; MAX_REPLY]);
        long.extend(b"<DeviceDescription>late</DeviceDescription>");
        assert_eq!(parse_sadp(&long, 0), None);
    }
}
