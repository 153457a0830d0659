//! How the router's own admin services listen: dropbear (SSH) and uhttpd (LuCI).
use serde::Serialize;

use super::values::shell_bool;
use crate::formats::uci::Package;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropbear {
    pub section: String,
    pub enabled: bool,
    pub port: u16,
    /// Bound to this logical interface only, when set.
    pub interface: Option<String>,
    pub password_auth: bool,
    pub root_password_auth: bool,
}

pub fn dropbear_from_uci(package: &Package) -> Vec<Dropbear> {
    package
        .sections_of_type("dropbear")
        .map(|s| Dropbear {
            section: s.name.clone(),
            enabled: shell_bool(s.get_str("enable"), true),
            port: s
                .get_str("Port")
                .and_then(|p| p.trim().parse().ok())
                .unwrap_or(22),
            interface: s
                .get_str("Interface")
                .filter(|i| !i.is_empty())
                .map(str::to_owned),
            password_auth: shell_bool(s.get_str("PasswordAuth"), true),
            root_password_auth: shell_bool(s.get_str("RootPasswordAuth"), true),
        })
        .collect()
}

/// The TCP ports uhttpd listens on (`listen_http`/`listen_https` entries like `0.0.0.0:80`).
pub fn uhttpd_ports(package: &Package) -> Vec<u16> {
    let mut ports: Vec<u16> = package
        .sections_of_type("uhttpd")
        .flat_map(|s| {
            ["listen_http", "listen_https"]
                .into_iter()
                .filter_map(|o| s.get(o))
                .flat_map(|v| v.items().into_iter().map(str::to_owned).collect::<Vec<_>>())
        })
        .filter_map(|listen| {
            listen
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse().ok())
                .or_else(|| listen.parse().ok())
        })
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}
