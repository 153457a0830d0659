//! What an owner does about a finding, in the two places they can do it: the LuCI page and the
//! exact command over SSH. One place for the wording, so every remedy names the same pages and
//! commands and a command is never offered that would not work.
use crate::ports::Protocol;
use crate::snapshot::firewall::{Redirect, Rule};

/// Applies a firewall config change the way LuCI's Save & Apply does.
pub const RELOAD_FIREWALL: &str = "`/etc/init.d/firewall reload`, or Save & Apply in LuCI";

/// The LuCI page of port forwards.
pub const LUCI_PORT_FORWARDS: &str = "Network → Firewall → Port Forwards";
/// The LuCI page of traffic rules.
pub const LUCI_TRAFFIC_RULES: &str = "Network → Firewall → Traffic Rules";
/// miniupnpd's LuCI page (named "UPnP" before OpenWrt 24.10).
pub const LUCI_UPNP: &str = "Services → UPnP IGD & PCP";

/// Switching one redirect off, by hand.
pub fn disable_redirect(r: &Redirect) -> String {
    format!(
        "To switch it off: in LuCI, {LUCI_PORT_FORWARDS}, untick Enable on \"{}\", Save & Apply; or over \
         SSH, `uci set firewall.{}.enabled='0'; uci commit firewall; /etc/init.d/firewall reload`.",
        r.label(),
        r.section
    )
}

/// Switching one traffic rule off, by hand.
pub fn disable_rule(r: &Rule) -> String {
    format!(
        "To switch it off: in LuCI, {LUCI_TRAFFIC_RULES}, untick Enable on \"{}\", Save & Apply; or over \
         SSH, `uci set firewall.{}.enabled='0'; uci commit firewall; /etc/init.d/firewall reload`.",
        r.label(),
        r.section
    )
}

/// An allowlist entry that keeps this redirect and survives renumbering: its `name`, else what
/// it does. Never an anonymous section's `cfg…` ID.
pub fn allow_entry(r: &Redirect) -> String {
    if let Some(name) = &r.name {
        return format!("`config allow_forward` with `option redirect '{name}'`");
    }
    let mut options = vec![format!("option proto '{}'", r.protocols.join(" "))];
    if let Some(p) = r.src_dport {
        options.push(format!("option src_dport '{p}'"));
    }
    if let Some(ip) = &r.dest_ip {
        options.push(format!("option dest_ip '{ip}'"));
    }
    if let Some(p) = r.internal_ports() {
        options.push(format!("option dest_port '{p}'"));
    }
    if let Some(ip) = &r.src_ip {
        options.push(format!("option src_ip '{ip}'"));
    }
    format!(
        "`config allow_forward` with {} — or give the forward a name in {LUCI_PORT_FORWARDS} and allow it by name",
        options.join(", ")
    )
}

/// Switching miniupnpd off for good: stop flushes its rules, disable keeps it off at boot.
pub fn upnp_off() -> String {
    format!(
        "Switch UPnP off: in LuCI, {LUCI_UPNP}, untick the service, Save & Apply (or camguard's policy \
         upnp 'off' in Services → Camguard → Settings); over SSH, `uci set upnpd.config.enabled='0'; uci commit \
         upnpd; /etc/init.d/miniupnpd stop; /etc/init.d/miniupnpd disable`."
    )
}

/// Removing one mapping: its lease line and its firewall rules.
pub fn revoke(proto: Protocol, ext_port: u16) -> String {
    format!(
        "Revoke it in LuCI (Services → Camguard → Exposure, Revoke) or over SSH with `camguard revoke {} \
         {ext_port}`.",
        proto.as_str()
    )
}
