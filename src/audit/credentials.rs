//! `camera.default_credentials`: a camera that accepted its maker's factory login at the
//! default-password check's last run. The check runs in the daemon's background worker
//! ([`crate::probe`]); the audit reports what its state file remembers, without touching the
//! network.
use std::sync::Arc;

use super::{finding, DeviceRef, Finding, Severity, Subject};
use crate::encode::json;
use crate::facts::Inventory;
use crate::lan::credentials::{device_key, login_words, CredState, WorkingLogin};
use crate::lan::Device;

/// The same findings from the state file alone, for audits between checks (pure, cheap): each
/// camera-like device of the inventory whose factory login worked at the last check.
pub fn remembered_findings(inventory: &Inventory, state: &CredState) -> Vec<Finding> {
    inventory
        .cameras()
        .filter_map(|d| {
            let ip = d
                .ips
                .iter()
                .find(|ip| ip.is_ipv4())
                .or(d.ips.first())
                .copied()?;
            let rec = state.devices.get(&device_key(d, ip))?;
            if rec.lockout.is_some() {
                return None;
            }
            rec.works.as_ref().map(|w| default_credentials(d, w))
        })
        .collect()
}

/// The finding for one device and the factory login it accepts.
pub fn default_credentials(d: &Arc<Device>, w: &WorkingLogin) -> Finding {
    let label = d.classification.class.label();
    let words = login_words(&w.user, &w.vendor);
    finding(
        "camera.default_credentials",
        Severity::Critical,
        Subject::Device {
            ip: d.ips.first().copied(),
            mac: d.mac,
        },
        format!(
            "The {label} {} accepts its factory password",
            d.display_name()
        ),
        format!(
            "{} accepts the login {words} ({} on port {}; first found {}, last confirmed {}). \
             Anyone on your network, or malware on any device in it, can watch its video and \
             change its settings, and if a port forward or UPnP mapping exposes it, so can \
             anyone on the internet.",
            d.describe(),
            w.protocol,
            w.port,
            crate::time::datetime(w.first_found),
            crate::time::datetime(w.confirmed),
        ),
    )
    .evidence(json!({
        "device": DeviceRef(d.clone()),
        "user": w.user,
        "matched": format!("{}'s factory password", w.vendor),
        "vendor": w.vendor,
        "protocol": w.protocol,
        "port": w.port,
        "first_found": w.first_found,
        "confirmed": w.confirmed,
    }))
    .remedy(format!(
        "Change the password of the {} account on the {label} (in its web page or app) to a long \
         one you use nowhere else, and update its firmware: current firmware does not accept \
         factory passwords. camguard checks again within a day and clears this finding once the \
         factory login no longer works.",
        w.user
    ))
}
