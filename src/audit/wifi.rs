//! Wi-Fi networks the router broadcasts: open, weakly encrypted, or with WPS on.

use super::{finding, Facts, Finding, Severity, Subject};
use crate::encode::json;
use crate::snapshot::wireless::{Passphrase, WifiIface};

/// WEP, WPA1 (`psk`, `wpa`), WPA1/2 mixed modes and any TKIP cipher are broken or obsolete.
pub fn weak_encryption(encryption: &str) -> Option<&'static str> {
    let (base, ciphers) = encryption.split_once('+').unwrap_or((encryption, ""));
    if base.starts_with("wep") {
        return Some("WEP can be cracked in minutes");
    }
    if matches!(base, "psk" | "wpa" | "psk-mixed" | "wpa-mixed") {
        return Some("WPA1 (and WPA/WPA2 mixed mode) is obsolete and allows TKIP");
    }
    if ciphers.contains("tkip") {
        return Some("the TKIP cipher is broken");
    }
    None
}

/// Why a passphrase is weak, in words after "The passphrase …", and how bad that is.
fn passphrase_weakness(p: Passphrase) -> Option<(&'static str, Severity)> {
    Some(match p {
        Passphrase::Common => ("is one of the most common passwords", Severity::High),
        Passphrase::LikeTheSsid => ("is the network's own name", Severity::High),
        Passphrase::DigitsOnly => ("is digits only", Severity::High),
        Passphrase::Pattern => ("is a repeated or sequential pattern", Severity::High),
        Passphrase::Short => ("is shorter than 12 characters", Severity::Medium),
        Passphrase::Ok => return None,
    })
}

pub fn check(ctx: &Facts, out: &mut Vec<Finding>) {
    let Some(wireless) = &ctx.snap.wireless else {
        return;
    };
    // One network on two radios (same name, same kind of weak key) is one weak password.
    let mut weak_seen: Vec<(Option<&str>, Passphrase)> = Vec::new();
    for w in wireless
        .ifaces
        .iter()
        .filter(|w| !w.disabled && w.mode == "ap")
    {
        let ssid = w.ssid.clone().unwrap_or_else(|| "(no name)".into());
        let subject = || Subject::Section {
            config: "wireless".into(),
            section: w.section.clone(),
            label: ssid.clone(),
        };
        let evidence = |w: &WifiIface| json!({ "section": w.section, "ssid": w.ssid, "encryption": w.encryption, "device": w.device });
        if w.encryption == "none" || w.encryption.is_empty() {
            out.push(
                finding(
                    "wifi.open",
                    Severity::High,
                    subject(),
                    format!("Wi-Fi network \"{ssid}\" has no password"),
                    format!("Anyone nearby can join \"{ssid}\" and reach every device on it, cameras included."),
                )
                .evidence(evidence(w))
                .remedy("Set encryption to WPA2-PSK (psk2) or WPA3 (sae) with a long passphrase; for a guest network use OWE."),
            );
        } else if let Some(why) = weak_encryption(&w.encryption) {
            out.push(
                finding(
                    "wifi.weak",
                    Severity::High,
                    subject(),
                    format!("Wi-Fi network \"{ssid}\" uses weak encryption"),
                    format!("\"{ssid}\" uses encryption '{}': {why}.", w.encryption),
                )
                .evidence(evidence(w))
                .remedy("Switch to WPA2-PSK with CCMP (psk2) or WPA2/WPA3 mixed (sae-mixed)."),
            );
        }
        let first_of_network = w.passphrase.is_some_and(|p| {
            let key = (w.ssid.as_deref(), p);
            let first = !weak_seen.contains(&key);
            weak_seen.push(key);
            first
        });
        if let Some(weak) = w
            .passphrase
            .filter(|_| first_of_network)
            .and_then(passphrase_weakness)
        {
            // SAE (WPA3) resists offline guessing from a captured handshake; only guessing
            // online, one try per join, is left.
            let sae_only =
                w.encryption.starts_with("sae") && !w.encryption.starts_with("sae-mixed");
            let severity = match (weak.1, sae_only) {
                (Severity::High, true) => Severity::Medium,
                (Severity::Medium, true) => Severity::Low,
                (s, _) => s,
            };
            out.push(
                finding(
                    "wifi.weak_passphrase",
                    severity,
                    subject(),
                    format!("The Wi-Fi password of \"{ssid}\" is easy to guess"),
                    format!(
                        "The passphrase of \"{ssid}\" {}. Anyone in range who records one device joining can try \
                         guesses offline at millions a second, then join and reach every device on it, cameras \
                         included.",
                        weak.0
                    ),
                )
                .evidence(json!({ "section": w.section, "ssid": w.ssid, "encryption": w.encryption, "passphrase": w.passphrase }))
                .remedy(format!(
                    "Choose a new passphrase of three or more random words (NCSC advice), at least 12 characters: in \
                     LuCI, Network → Wireless, Edit \"{ssid}\", Wireless Security, Key, Save & Apply; or `uci set \
                     wireless.{}.key='…'; uci commit wireless; wifi reload` (and on every other radio that broadcasts it). \
                     Then rejoin every device.",
                    w.section
                )),
            );
        }
        if w.wps_pushbutton || w.wps_label {
            let how = match (w.wps_pushbutton, w.wps_label) {
                (true, true) => "push-button and PIN",
                (false, true) => "PIN",
                _ => "push-button",
            };
            out.push(
                finding(
                    "wifi.wps",
                    Severity::Medium,
                    subject(),
                    format!("WPS is switched on for \"{ssid}\""),
                    format!("WPS ({how}) lets devices join \"{ssid}\" without the passphrase; the PIN method can be brute-forced."),
                )
                .evidence(json!({ "section": w.section, "ssid": w.ssid, "wps_pushbutton": w.wps_pushbutton, "wps_label": w.wps_label }))
                .remedy("Set wps_pushbutton '0' and wps_label '0' on this network."),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::weak_encryption;

    #[test]
    fn modern_modes_are_not_weak() {
        for ok in [
            "psk2",
            "psk2+ccmp",
            "psk2+aes",
            "sae",
            "sae-mixed",
            "wpa2",
            "wpa3",
            "owe",
            "wpa2+ccmp",
        ] {
            assert_eq!(weak_encryption(ok), None, "{ok}");
        }
    }

    #[test]
    fn wep_wpa1_mixed_and_tkip_are_weak() {
        for weak in [
            "wep-open",
            "wep-shared",
            "psk",
            "psk+tkip",
            "psk-mixed",
            "psk-mixed+ccmp",
            "wpa",
            "psk2+tkip",
            "psk2+tkip+ccmp",
        ] {
            assert!(weak_encryption(weak).is_some(), "{weak}");
        }
    }
}
