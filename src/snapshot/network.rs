//! Interfaces (/etc/config/network) and DHCP server settings and static hosts (/etc/config/dhcp).
use serde::Serialize;

use super::values::words;
use crate::formats::uci::Package;
use crate::mac::Mac;

/// netifd protocols that take an upstream address: an interface using one is a WAN.
const WAN_PROTOS: &[&str] = &[
    "dhcp",
    "dhcpv6",
    "pppoe",
    "pppoa",
    "pptp",
    "l2tp",
    "3g",
    "qmi",
    "ncm",
    "mbim",
    "modemmanager",
    "wwan",
    "directip",
    "6in4",
    "6to4",
    "6rd",
    "dslite",
    "map",
    "464xlat",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    pub name: String,
    pub proto: String,
    pub device: Option<String>,
    pub ipaddr: Option<String>,
    pub netmask: Option<String>,
    pub gateway: Option<String>,
}

impl Interface {
    /// Takes its address from upstream, or routes to a gateway.
    pub fn is_wan(&self) -> bool {
        WAN_PROTOS.contains(&self.proto.as_str())
            || (self.proto == "static" && self.gateway.is_some())
    }
}

/// What the live router says about its WAN (netifd's default-route interface).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WanStatus {
    pub interface: String,
    pub device: Option<String>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Network {
    pub interfaces: Vec<Interface>,
    /// Only from a live router; offline, WAN-ness comes from the protocols.
    pub wan: Option<WanStatus>,
}

impl Network {
    pub fn from_uci(package: &Package) -> Network {
        let interfaces = package
            .sections_of_type("interface")
            .map(|s| Interface {
                name: s.name.clone(),
                proto: s.get_str("proto").unwrap_or("none").to_owned(),
                device: s
                    .get_str("device")
                    .or_else(|| s.get_str("ifname"))
                    .map(str::to_owned),
                ipaddr: s.get_str("ipaddr").map(str::to_owned),
                netmask: s.get_str("netmask").map(str::to_owned),
                gateway: s.get_str("gateway").map(str::to_owned),
            })
            .collect();
        Network {
            interfaces,
            wan: None,
        }
    }

    /// Names of the logical interfaces that face the internet.
    pub fn wan_interfaces(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self
            .interfaces
            .iter()
            .filter(|i| i.is_wan())
            .map(|i| i.name.as_str())
            .collect();
        if let Some(w) = &self.wan {
            if !out.contains(&w.interface.as_str()) {
                out.push(&w.interface);
            }
        }
        out
    }
}

/// A `config host` static lease: the owner named this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticHost {
    pub section: String,
    pub name: Option<String>,
    pub macs: Vec<Mac>,
    pub ip: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DhcpConfig {
    pub hosts: Vec<StaticHost>,
    /// dnsmasq's lease file (`dhcp.@dnsmasq[0].leasefile`).
    pub dnsmasq_leasefile: Option<String>,
    /// odhcpd's state file (`dhcp.odhcpd.leasefile`).
    pub odhcpd_leasefile: Option<String>,
}

impl DhcpConfig {
    pub fn from_uci(package: &Package) -> DhcpConfig {
        let hosts = package
            .sections_of_type("host")
            .map(|s| StaticHost {
                section: s.name.clone(),
                name: s.get_str("name").map(str::to_owned),
                macs: words(s.get("mac"))
                    .iter()
                    .filter_map(|m| m.parse().ok())
                    .collect(),
                ip: s.get_str("ip").map(str::to_owned),
            })
            .collect();
        DhcpConfig {
            hosts,
            dnsmasq_leasefile: package
                .sections_of_type("dnsmasq")
                .next()
                .and_then(|s| s.get_str("leasefile"))
                .map(str::to_owned),
            odhcpd_leasefile: package
                .sections_of_type("odhcpd")
                .next()
                .and_then(|s| s.get_str("leasefile"))
                .map(str::to_owned),
        }
    }
}
