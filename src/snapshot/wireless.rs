//! /etc/config/wireless: radios and the networks they broadcast. Keys are never kept.
use serde::Serialize;

use super::values::shell_bool;
use crate::formats::uci::Package;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WifiIface {
    pub section: String,
    pub device: Option<String>,
    pub mode: String,
    pub ssid: Option<String>,
    /// As configured (`none` when missing, as netifd's wifi scripts assume).
    pub encryption: String,
    /// This interface or its radio is disabled.
    pub disabled: bool,
    pub wps_pushbutton: bool,
    pub wps_label: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Wireless {
    pub ifaces: Vec<WifiIface>,
}

impl Wireless {
    pub fn from_uci(package: &Package) -> Wireless {
        let radio_disabled = |name: Option<&str>| {
            name.and_then(|n| package.section(n))
                .is_some_and(|radio| shell_bool(radio.get_str("disabled"), false))
        };
        let ifaces = package
            .sections_of_type("wifi-iface")
            .map(|s| {
                let device = s.get_str("device").map(str::to_owned);
                WifiIface {
                    section: s.name.clone(),
                    mode: s.get_str("mode").unwrap_or("ap").to_owned(),
                    ssid: s.get_str("ssid").map(str::to_owned),
                    encryption: s.get_str("encryption").unwrap_or("none").to_owned(),
                    disabled: shell_bool(s.get_str("disabled"), false)
                        || radio_disabled(device.as_deref()),
                    wps_pushbutton: shell_bool(s.get_str("wps_pushbutton"), false),
                    wps_label: shell_bool(s.get_str("wps_label"), false),
                    device,
                }
            })
            .collect();
        Wireless { ifaces }
    }
}
