//! ONVIF's device service, asked without credentials: `GetDeviceInformation` names the maker,
//! the model and the firmware version (ONVIF Core Specification, "Get device information";
//! devicemgmt.wsdl, namespace `http://www.onvif.org/ver10/device/wsdl`, whose
//! `GetDeviceInformationResponse` holds `Manufacturer`, `Model`, `FirmwareVersion`,
//! `SerialNumber`, `HardwareId` — as ZoneMinder's generated
//! `ONVIF::Device::Elements::GetDeviceInformationResponse` lists them). The spec's default
//! access policy puts it in READ_SYSTEM, so many cameras answer 401 or a SOAP fault without a
//! login: camguard sends none, and takes what an open camera gives.
//!
//! The device service's address comes from a WS-Discovery `ProbeMatch`'s `XAddrs` (a list of
//! URLs): only one on the address that answered is used ([`super::ssdp::lan_location`]).
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

use super::discovery::{bounded, prefixed_element, MAX_REPLY};
use super::ssdp::{lan_location, unescaped};
use crate::lan::DeviceInfo;

/// The SOAP 1.2 request (no WS-Security header: no credentials).
const BODY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body>\
<GetDeviceInformation xmlns=\"http://www.onvif.org/ver10/device/wsdl\"/></s:Body></s:Envelope>";

/// The device service a `ProbeMatch` from `from` names on `from` itself: its port and path.
pub fn device_service(datagram: &[u8], from: Ipv4Addr) -> Option<(u16, String)> {
    let bytes = datagram.get(..MAX_REPLY).unwrap_or(datagram);
    let text = String::from_utf8_lossy(bytes);
    if !text.contains("ProbeMatch") {
        return None;
    }
    prefixed_element(&text, "XAddrs")?
        .split_ascii_whitespace()
        .find_map(|url| lan_location(url, from))
}

/// The unauthenticated `GetDeviceInformation` POST.
pub fn device_information_request(host: Ipv4Addr, port: u16, path: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\
         Content-Type: application/soap+xml; charset=utf-8; \
         action=\"http://www.onvif.org/ver10/device/wsdl/GetDeviceInformation\"\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    )
    .into_bytes()
}

/// A `GetDeviceInformationResponse` received at `at`; None for anything else (a SOAP fault,
/// an empty answer).
pub fn parse_device_information(body: &[u8], at: u64) -> Option<DeviceInfo> {
    let bytes = body.get(..MAX_REPLY).unwrap_or(body);
    let text = String::from_utf8_lossy(bytes);
    let start = text.find("GetDeviceInformationResponse")?;
    let response = text.get(start..)?;
    let field = |local: &str| prefixed_element(response, local).map(|v| bounded(&unescaped(v)));
    let (manufacturer, model, firmware) = (
        field("Manufacturer"),
        field("Model"),
        field("FirmwareVersion"),
    );
    if model.is_none() && firmware.is_none() {
        return None;
    }
    Some(DeviceInfo {
        model,
        firmware,
        manufacturer,
        device_type: None,
        protocol: "ONVIF".to_owned(),
        at,
        passive: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAM: Ipv4Addr = Ipv4Addr::new(192, 168, 1, 64);

    /// The answer's shape: SOAP 1.2, the device namespace as `tds`.
    pub const RESPONSE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
        <env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\" \
        xmlns:tds=\"http://www.onvif.org/ver10/device/wsdl\"><env:Body>\
        <tds:GetDeviceInformationResponse><tds:Manufacturer>Dahua</tds:Manufacturer>\
        <tds:Model>IPC-HDW1230S</tds:Model><tds:FirmwareVersion>2.800.0000000.9.R, Build Date 2021-04-23</tds:FirmwareVersion>\
        <tds:SerialNumber>4M0747EPAA1D284</tds:SerialNumber><tds:HardwareId>1.00</tds:HardwareId>\
        </tds:GetDeviceInformationResponse></env:Body></env:Envelope>";

    #[test]
    fn the_device_service_is_taken_only_on_the_answering_address() {
        let m = |xaddrs: &str| {
            format!("<d:ProbeMatches><d:ProbeMatch><d:XAddrs>{xaddrs}</d:XAddrs></d:ProbeMatch>")
        };
        assert_eq!(
            device_service(
                m("http://192.168.1.64/onvif/device_service").as_bytes(),
                CAM
            ),
            Some((80, "/onvif/device_service".to_owned()))
        );
        // The first of several that is on the camera itself.
        let several = m("http://[fe80::1]/onvif http://10.0.0.9/x http://192.168.1.64:8899/onvif/device_service");
        assert_eq!(
            device_service(several.as_bytes(), CAM),
            Some((8899, "/onvif/device_service".to_owned()))
        );
        for elsewhere in [
            m("http://192.168.1.65/onvif/device_service"),
            m("https://192.168.1.64/onvif/device_service"),
            m(""),
            "<d:Probe><d:XAddrs>http://192.168.1.64/</d:XAddrs>".to_owned(),
        ] {
            assert_eq!(
                device_service(elsewhere.as_bytes(), CAM),
                None,
                "{elsewhere}"
            );
        }
    }

    #[test]
    fn the_request_is_a_soap_post_without_credentials() {
        let r = String::from_utf8(device_information_request(CAM, 80, "/onvif/device_service"))
            .unwrap();
        assert!(r.starts_with("POST /onvif/device_service HTTP/1.1\r\nHost: 192.168.1.64:80\r\n"));
        let (head, body) = r.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(body
            .contains("<GetDeviceInformation xmlns=\"http://www.onvif.org/ver10/device/wsdl\"/>"));
        assert!(!r.to_ascii_lowercase().contains("security") && !r.contains("Authorization"));
    }

    #[test]
    fn an_answer_gives_maker_model_and_firmware_and_a_fault_nothing() {
        let info = parse_device_information(RESPONSE.as_bytes(), 4).unwrap();
        assert_eq!(info.manufacturer.as_deref(), Some("Dahua"));
        assert_eq!(info.model.as_deref(), Some("IPC-HDW1230S"));
        assert_eq!(
            info.firmware.as_deref(),
            Some("2.800.0000000.9.R, Build Date 2021-04-23")
        );
        assert_eq!((info.protocol.as_str(), info.at), ("ONVIF", 4));
        let unprefixed =
            "<GetDeviceInformationResponse><Model>M</Model></GetDeviceInformationResponse>";
        assert_eq!(
            parse_device_information(unprefixed.as_bytes(), 0)
                .unwrap()
                .model
                .as_deref(),
            Some("M")
        );
        for not in [
            "<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code></env:Fault>",
            "<tds:GetDeviceInformationResponse><tds:Manufacturer>x</tds:Manufacturer></tds:GetDeviceInformationResponse>",
            // A Model before the response element is not its model.
            "<tds:Model>M</tds:Model><tds:GetDeviceInformationResponse/>",
            "",
        ] {
            assert_eq!(parse_device_information(not.as_bytes(), 0), None, "{not}");
        }
    }

    #[test]
    fn hostile_answers_are_cleaned_and_bounded() {
        let hostile = format!(
            "<tds:GetDeviceInformationResponse><tds:Manufacturer>\u{202e}x</tds:Manufacturer>\
             <tds:Model>\x1b]0;pwned\x07{}</tds:Model><tds:FirmwareVersion>V5.4.0\r\nX: 1</tds:FirmwareVersion>",
            "Z".repeat(4000)
        );
        let info = parse_device_information(hostile.as_bytes(), 0).unwrap();
        for t in [
            info.manufacturer.unwrap(),
            info.model.unwrap(),
            info.firmware.unwrap(),
        ] {
            assert!(!t.chars().any(char::is_control), "{t:?}");
            assert!(!t.chars().any(crate::text::is_bidi_control), "{t:?}");
            assert!(
                t.chars().count() <= crate::lan::INFO_MAX_CHARS * 8,
                "{}",
                t.len()
            );
        }
    }
}
