//! How OpenWrt's consumers read option values. The same text means different things to
//! firewall4 (strict: an invalid value skips the whole section) and to init scripts using the
//! shell helpers (lenient: an invalid value falls back to the default), so each has its reader.
use serde::Serialize;

/// firewall4's `parse_bool`: exactly `1/on/true/yes` or `0/off/false/no`; anything else is
/// invalid, which makes fw4 skip the section (openwrt-facts §3).
pub fn fw4_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "on" | "true" | "yes" => Some(true),
        "0" | "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// `config_get_bool` from /lib/functions.sh: also `enabled`/`disabled`; anything else (and an
/// empty or missing value) is the default (openwrt-facts §6.2).
pub fn shell_bool(value: Option<&str>, default: bool) -> bool {
    match value {
        Some("1" | "on" | "true" | "yes" | "enabled") => true,
        Some("0" | "off" | "false" | "no" | "disabled") => false,
        _ => default,
    }
}

/// firewall4's `parse_enum`: the first choice that starts with the (lower-cased) value, so
/// `DNAT`, `Dnat` and `d` all select `dnat`.
pub fn fw4_enum<'a>(value: &str, choices: &[&'a str]) -> Option<&'a str> {
    if value.is_empty() {
        return None;
    }
    let lower = value.to_ascii_lowercase();
    choices.iter().copied().find(|c| c.starts_with(&lower))
}

/// A port or port range as firewall4 and miniupnpd write them: `N`, `N-M`, `N:M`, and for fw4
/// a leading `!` that negates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub negated: bool,
}

impl PortRange {
    pub const ALL: PortRange = PortRange {
        lo: 0,
        hi: 65535,
        negated: false,
    };

    pub fn single(port: u16) -> PortRange {
        PortRange {
            lo: port,
            hi: port,
            negated: false,
        }
    }

    /// Parses `N`, `N-M`, `N:M` and `!N…`; `None` for anything else or a reversed range.
    pub fn parse(text: &str) -> Option<PortRange> {
        let text = text.trim();
        let (negated, body) = match text.strip_prefix('!') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, text),
        };
        let (lo, hi) = match body.split_once(['-', ':']) {
            Some((a, b)) => (parse_port(a)?, parse_port(b)?),
            None => {
                let p = parse_port(body)?;
                (p, p)
            }
        };
        (lo <= hi).then_some(PortRange { lo, hi, negated })
    }

    /// Whether traffic to `port` matches this range.
    pub fn matches(&self, port: u16) -> bool {
        (self.lo..=self.hi).contains(&port) != self.negated
    }

    /// The ranges of ports that match, resolving negation (`!80` is 0-79 and 81-65535).
    pub fn effective(&self) -> Vec<(u16, u16)> {
        if !self.negated {
            return vec![(self.lo, self.hi)];
        }
        let mut out = Vec::new();
        if self.lo > 0 {
            out.push((0, self.lo - 1));
        }
        if self.hi < 65535 {
            out.push((self.hi + 1, 65535));
        }
        out
    }

    pub fn width(&self) -> u32 {
        self.effective()
            .iter()
            .map(|(a, b)| u32::from(*b) - u32::from(*a) + 1)
            .sum()
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.negated {
            f.write_str("!")?;
        }
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}-{}", self.lo, self.hi)
        }
    }
}

fn parse_port(s: &str) -> Option<u16> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// fw4's `to_array` for list-typed options: a UCI list as is, a string split on whitespace.
pub fn words(value: Option<&crate::formats::uci::Value>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(crate::formats::uci::Value::Single(s)) => {
            s.split_whitespace().map(str::to_owned).collect()
        }
        Some(crate::formats::uci::Value::List(items)) => items
            .iter()
            .flat_map(|i| i.split_whitespace())
            .map(str::to_owned)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fw4_booleans_are_strict() {
        assert_eq!(fw4_bool("yes"), Some(true));
        assert_eq!(fw4_bool("off"), Some(false));
        assert_eq!(fw4_bool("enabled"), None);
        assert_eq!(fw4_bool("Yes"), None);
    }

    #[test]
    fn shell_booleans_fall_back_to_the_default() {
        assert!(shell_bool(Some("enabled"), false));
        assert!(!shell_bool(Some("disabled"), true));
        assert!(shell_bool(Some("bogus"), true));
        assert!(shell_bool(None, true));
        assert!(!shell_bool(Some(""), false));
    }

    #[test]
    fn fw4_enums_match_case_insensitive_prefixes() {
        assert_eq!(fw4_enum("DNAT", &["dnat", "snat"]), Some("dnat"));
        assert_eq!(fw4_enum("s", &["dnat", "snat"]), Some("snat"));
        assert_eq!(
            fw4_enum("ACCEPT", &["accept", "reject", "drop"]),
            Some("accept")
        );
        assert_eq!(fw4_enum("masq", &["dnat", "snat"]), None);
        assert_eq!(fw4_enum("", &["dnat", "snat"]), None);
    }

    #[test]
    fn port_ranges_in_every_spelling() {
        assert_eq!(PortRange::parse("80"), Some(PortRange::single(80)));
        assert_eq!(
            PortRange::parse("1000-2000"),
            Some(PortRange {
                lo: 1000,
                hi: 2000,
                negated: false
            })
        );
        assert_eq!(
            PortRange::parse("1000:2000"),
            Some(PortRange {
                lo: 1000,
                hi: 2000,
                negated: false
            })
        );
        assert!(PortRange::parse("!80").unwrap().negated);
        for bad in ["", "80 443", "2000-1000", "65536", "http", "-5", "1-"] {
            assert_eq!(PortRange::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn negated_range_matches_everything_else() {
        let r = PortRange::parse("!80").unwrap();
        assert!(!r.matches(80));
        assert!(r.matches(22));
        assert_eq!(r.effective(), vec![(0, 79), (81, 65535)]);
        assert_eq!(r.width(), 65535);
    }
}
