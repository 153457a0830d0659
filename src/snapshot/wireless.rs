//! /etc/config/wireless: radios and the networks they broadcast. Keys are never kept: what the
//! audit needs of a passphrase is judged while reading it ([`Passphrase`]).
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
    /// How guessable the WPA passphrase is; `None` without a passphrase (open, WEP, 802.1X,
    /// a 64-digit raw key).
    pub passphrase: Option<Passphrase>,
}

/// What a WPA-PSK/SAE passphrase is like, judged when the config is read so that the key
/// itself never enters the snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Passphrase {
    /// One of the most common passwords (crate::passwords).
    Common,
    /// The network's own name, or it with a few digits around it.
    LikeTheSsid,
    /// Digits only: at most 10^n guesses, and phone numbers and dates shrink that further.
    DigitsOnly,
    /// One character repeated, or a run like `abcdefgh` or `12345678`.
    Pattern,
    /// Fewer than 12 characters: within reach of an offline attack on a captured handshake.
    Short,
    /// None of the above.
    Ok,
}

impl Passphrase {
    pub fn judge(key: &str, ssid: Option<&str>) -> Passphrase {
        let lower = key.to_lowercase();
        let digits = key.chars().all(|c| c.is_ascii_digit());
        let run = |step: i32| {
            key.as_bytes()
                .windows(2)
                .all(|w| i32::from(w[1]) - i32::from(w[0]) == step)
        };
        let stripped = lower.trim_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_');
        if crate::passwords::is_common(key) {
            Passphrase::Common
        } else if ssid.is_some_and(|s| !s.is_empty() && stripped == s.to_lowercase()) {
            Passphrase::LikeTheSsid
        } else if run(0) || run(1) || run(-1) {
            Passphrase::Pattern
        } else if digits {
            Passphrase::DigitsOnly
        } else if key.chars().count() < 12 {
            Passphrase::Short
        } else {
            Passphrase::Ok
        }
    }
}

/// The passphrase of a WPA-PSK or SAE network; a 64-digit hexadecimal key is a raw PSK.
fn passphrase(encryption: &str, key: Option<&str>, ssid: Option<&str>) -> Option<Passphrase> {
    let base = encryption.split('+').next().unwrap_or(encryption);
    let psk = base.starts_with("psk") || base.starts_with("sae");
    let key = key.filter(|k| psk && !k.is_empty())?;
    let raw = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit());
    (!raw).then(|| Passphrase::judge(key, ssid))
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
                let encryption = s.get_str("encryption").unwrap_or("none");
                WifiIface {
                    passphrase: passphrase(encryption, s.get_str("key"), s.get_str("ssid")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrases_are_judged_without_being_kept() {
        let judge = |k: &str| Passphrase::judge(k, Some("Smith Family"));
        assert_eq!(judge("12345678"), Passphrase::Common);
        assert_eq!(judge("PASSWORD1"), Passphrase::Common);
        assert_eq!(judge("smith family"), Passphrase::LikeTheSsid);
        assert_eq!(judge("Smith Family2024"), Passphrase::LikeTheSsid);
        assert_eq!(judge("aaaaaaaaaaaa"), Passphrase::Pattern);
        assert_eq!(judge("abcdefghijkl"), Passphrase::Pattern);
        assert_eq!(judge("40917325586"), Passphrase::DigitsOnly);
        assert_eq!(judge("kX9#vP2m!q"), Passphrase::Short);
        assert_eq!(judge("garden-lamp-river-7"), Passphrase::Ok);
    }

    #[test]
    fn only_wpa_passphrases_are_judged() {
        assert_eq!(passphrase("none", Some("12345678"), None), None);
        assert_eq!(passphrase("wep-open", Some("12345678"), None), None);
        assert_eq!(
            passphrase("wpa2", Some("12345678"), None),
            None,
            "802.1X has no PSK"
        );
        assert_eq!(
            passphrase("psk2", Some(&"ab".repeat(32)), None),
            None,
            "a raw 64-digit PSK"
        );
        assert_eq!(
            passphrase("sae-mixed+ccmp", Some("12345678"), None),
            Some(Passphrase::Common)
        );
    }
}
