//! Firmware known to be exploited (NCSC step 2): a camera whose discovery reply names a model
//! and firmware in [`super::kev::KNOWN_EXPLOITED`]'s affected range.
//!
//! Versions are compared as the vendors write them: Hikvision's "V5.5.800build 210628" is the
//! numbers 5.5.800 and the build date 210628 (yymmdd). A version camguard cannot read matches
//! nothing: no finding rather than a guessed one.
use super::kev::{KnownExploited, KNOWN_EXPLOITED};
use crate::lan::DeviceInfo;

/// A firmware version: its dotted numbers and, when given, its build date (yymmdd).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub numbers: Vec<u32>,
    pub build: Option<u32>,
}

/// "V5.5.800build 210628", "V5.4.5 build 170123", "5.4.41": None when no dotted number leads.
pub fn parse_version(text: &str) -> Option<Version> {
    let lower = text.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix('v').unwrap_or(&lower);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let numbers: Vec<u32> = rest
        .get(..end)?
        .split('.')
        .map(|n| n.parse::<u32>().ok())
        .collect::<Option<Vec<u32>>>()?;
    if numbers.len() < 2 {
        return None;
    }
    let build = lower.find("build").and_then(|i| {
        let digits: String = lower
            .get(i + "build".len()..)?
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (digits.len() == 6).then(|| digits.parse().ok()).flatten()
    });
    Some(Version { numbers, build })
}

/// `a < b`, numbers compared one by one, a missing one counting as 0 (5.4 == 5.4.0).
fn less(a: &[u32], b: &[u32]) -> bool {
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).unwrap_or(&0), b.get(i).unwrap_or(&0));
        if x != y {
            return x < y;
        }
    }
    false
}

/// Whether the row covers this firmware.
pub fn affects(row: &KnownExploited, v: &Version) -> bool {
    if !row.from.is_empty() && less(&v.numbers, row.from) {
        return false;
    }
    let by_version = !row.below.is_empty() && less(&v.numbers, row.below);
    let by_build = match (row.below_build, v.build) {
        (Some(limit), Some(build)) => build < limit,
        _ => false,
    };
    by_version || by_build
}

/// The known-exploited vulnerabilities of this vendor's device with this model and firmware
/// (the vendor as the table or the device writes it: "Hikvision", "HIKVISION").
pub fn known_exploited(vendor: &str, info: &DeviceInfo) -> Vec<&'static KnownExploited> {
    let (Some(model), Some(firmware)) = (&info.model, &info.firmware) else {
        return Vec::new();
    };
    let Some(version) = parse_version(firmware) else {
        return Vec::new();
    };
    let model = model.to_ascii_uppercase();
    KNOWN_EXPLOITED
        .iter()
        .filter(|row| {
            row.vendor.eq_ignore_ascii_case(vendor.trim())
                && row.models.iter().any(|m| model.starts_with(m))
                && affects(row, &version)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(model: &str, firmware: &str) -> DeviceInfo {
        DeviceInfo {
            model: Some(model.into()),
            firmware: Some(firmware.into()),
            manufacturer: None,
            device_type: None,
            protocol: "SADP".into(),
            at: 0,
        }
    }

    fn cves(model: &str, firmware: &str) -> Vec<&'static str> {
        known_exploited("Hikvision", &info(model, firmware))
            .iter()
            .map(|r| r.cve)
            .collect()
    }

    #[test]
    fn versions_are_read_as_hikvision_writes_them() {
        let v = parse_version("V5.5.800build 210628").unwrap();
        assert_eq!((v.numbers, v.build), (vec![5, 5, 800], Some(210628)));
        let v = parse_version("V5.4.5 build 170123").unwrap();
        assert_eq!((v.numbers, v.build), (vec![5, 4, 5], Some(170123)));
        assert_eq!(parse_version("5.4.41").unwrap().build, None);
        for bad in ["", "V", "build 210628", "5", "V5.x", "\\x1b5.4"] {
            assert_eq!(parse_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn affected_firmware_is_found_and_fixed_firmware_is_not() {
        assert_eq!(
            cves("DS-2CD2142FWD-I", "V5.4.0 build 160530"),
            ["CVE-2017-7921", "CVE-2021-36260"]
        );
        assert_eq!(
            cves("DS-2CD2142FWD-I", "V5.3.0 build 150513"),
            ["CVE-2017-7921"]
        );
        assert_eq!(
            cves("DS-2CD2143G0-I", "V5.5.800build 210628"),
            Vec::<&str>::new()
        );
        assert_eq!(
            cves("DS-2CD2143G0-I", "V5.5.53build 190114"),
            ["CVE-2021-36260"]
        );
        assert_eq!(
            cves("ds-7608ni-k2", "V4.22.005 build 191104"),
            Vec::<&str>::new()
        );
        assert_eq!(
            cves("DS-7608NI-K2", "V4.22.005 build 191104"),
            Vec::<&str>::new(),
            "below 5.4.0"
        );
        assert_eq!(
            cves("DS-7608NI-K2", "V5.4.0 build 191104"),
            ["CVE-2021-36260"]
        );
        assert!(known_exploited("Dahua", &info("DS-2CD2142FWD-I", "V5.3.0")).is_empty());
        assert!(
            cves("DS-2CD2142FWD-I", "unknown").is_empty(),
            "unreadable: no guess"
        );
    }
}
