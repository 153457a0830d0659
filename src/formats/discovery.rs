//! Replies of cameras' own discovery protocols, which carry the model and firmware version a
//! camera will not tell without a login. Only Hikvision's SADP so far (issue 17, item 1: Dahua's
//! discovery on UDP 37810, WS-Discovery and SSDP descriptions are to follow).
//!
//! SADP: an XML `<Probe>…<Types>inquiry</Types></Probe>` sent to 239.255.255.250:37020/udp is
//! answered by a `<ProbeMatch>` with `<DeviceDescription>` (the model), `<DeviceSN>`,
//! `<IPv4Address>` (julienblitte/UniversalScanner, Hikvision.cs, @17edc381) and
//! `<SoftwareVersion>` (issue 17; Hikvision's SADP tool shows it as the firmware).
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
            protocol: "SADP".to_owned(),
            at,
        },
        ipv4: element(&text, "IPv4Address").and_then(|a| a.trim().parse().ok()),
    })
}

/// The text of the first `<tag>…</tag>`, trimmed; None when absent or empty.
fn element<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let rest = text.get(start..)?;
    let value = rest.get(..rest.find("</")?)?.trim();
    (!value.is_empty()).then_some(value)
}

/// Cleaned like a hostname and cut to [`INFO_MAX_CHARS`].
fn bounded(raw: &str) -> String {
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
