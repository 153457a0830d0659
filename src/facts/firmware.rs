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

/// "V5.5.800build 210628", "V5.4.5 build 170123", "5.4.41", and Dahua's
/// "2.800.0000000.9.R, Build Date 2021-04-23" (a build date written out becomes yymmdd):
/// None when no dotted number leads.
pub fn parse_version(text: &str) -> Option<Version> {
    let lower = text.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix('v').unwrap_or(&lower);
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    // "2.800.0000000.9.R": the dot before the release letter ends the numbers.
    let dotted = rest.get(..end)?;
    let numbers: Vec<u32> = dotted
        .strip_suffix('.')
        .unwrap_or(dotted)
        .split('.')
        .map(|n| n.parse::<u32>().ok())
        .collect::<Option<Vec<u32>>>()?;
    if numbers.len() < 2 {
        return None;
    }
    let build = lower
        .find("build")
        .and_then(|i| build_date(lower.get(i + "build".len()..)?));
    Some(Version { numbers, build })
}

/// What follows "build": "210628", " date 2021-04-23", ": 2021-04-23" as yymmdd.
fn build_date(after: &str) -> Option<u32> {
    let after = after.trim_start();
    let after = after.strip_prefix("date").unwrap_or(after);
    let after = after.trim_start_matches([' ', ':']);
    let digits = |s: &str| -> String { s.chars().take_while(char::is_ascii_digit).collect() };
    let first = digits(after);
    match first.len() {
        6 => first.parse().ok(),
        // yyyy-mm-dd
        4 => {
            let rest = after.get(5..)?;
            let (month, day) = (digits(rest), digits(rest.get(3..)?));
            let dashes = after.get(4..5)? == "-" && rest.get(2..3)? == "-";
            if !dashes || month.len() != 2 || day.len() != 2 {
                return None;
            }
            let year: u32 = first.parse().ok()?;
            format!("{:02}{month}{day}", year % 100).parse().ok()
        }
        _ => None,
    }
}

/// Whether a model starts with a row's pattern, `#` standing for any one digit
/// ("DS-2CD2##2F-I" covers DS-2CD2142F-I, not DS-2CD2142FWD-I).
fn model_matches(model: &str, pattern: &str) -> bool {
    model.len() >= pattern.len()
        && model
            .bytes()
            .zip(pattern.bytes())
            .all(|(m, p)| m == p || (p == b'#' && m.is_ascii_digit()))
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
    let upper = model.trim().to_ascii_uppercase();
    // Dahua writes its brand before some models ("DH-IPC-HDW3849H", "DHI-NVR4104HS").
    let model = ["DH-", "DHI-"]
        .iter()
        .find_map(|brand| upper.strip_prefix(brand))
        .unwrap_or(&upper);
    KNOWN_EXPLOITED
        .iter()
        .filter(|row| {
            row.vendor.eq_ignore_ascii_case(vendor.trim())
                && row.models.iter().any(|m| model_matches(model, m))
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
            passive: false,
        }
    }

    fn cves(model: &str, firmware: &str) -> Vec<&'static str> {
        known_exploited("Hikvision", &info(model, firmware))
            .iter()
            .map(|r| r.cve)
            .collect()
    }

    #[test]
    fn dahua_rows_go_by_the_build_date_and_the_model_family() {
        let dahua = |model: &str, firmware: &str| -> Vec<&str> {
            known_exploited("Dahua", &info(model, firmware))
                .iter()
                .map(|r| r.cve)
                .collect()
        };
        assert_eq!(
            dahua(
                "IPC-HDW3849H-AS-PV",
                "2.800.0000000.9.R, Build Date 2020-04-23"
            ),
            ["CVE-2021-33044", "CVE-2021-33045"]
        );
        assert_eq!(
            dahua(
                "DH-IPC-HDW3849H-AS-PV",
                "2.800.0000000.9.R, Build Date 2021-04-23"
            ),
            ["CVE-2021-33044"]
        );
        assert!(dahua(
            "IPC-HDW3849H-AS-PV",
            "2.800.0000000.9.R, Build Date 2021-06-01"
        )
        .is_empty());
        assert_eq!(
            dahua("DHI-NVR5216-4KS2", "4.001.0000000.1, Build Date 2019-11-05"),
            ["CVE-2021-33045"]
        );
        assert!(dahua("DHI-NVR5216-4KS2", "4.001.0000000.1, Build Date 2019-12-05").is_empty());
        // Not a listed family; no build date: no guess.
        assert!(dahua("IPC-HFW1230S", "2.800.0000000.9.R, Build Date 2020-04-23").is_empty());
        assert!(dahua("IPC-HDW3849H-AS-PV", "2.800.0000000.9.R").is_empty());
    }

    #[test]
    fn model_patterns_take_any_digit_for_hash() {
        assert!(model_matches("DS-2CD2142F-I", "DS-2CD2##2F-I"));
        assert!(!model_matches("DS-2CD2142FWD-I", "DS-2CD2##2F-I"));
        assert!(!model_matches("DS-2CD2A42F-I", "DS-2CD2##2F-I"));
        assert!(!model_matches("DS-2CD2", "DS-2CD2##2F-I"));
        assert!(model_matches("DS-2CD4025FWD-A", "DS-2CD4#2#FWD"));
    }

    #[test]
    fn versions_are_read_as_hikvision_writes_them() {
        let v = parse_version("V5.5.800build 210628").unwrap();
        assert_eq!((v.numbers, v.build), (vec![5, 5, 800], Some(210628)));
        let v = parse_version("V5.4.5 build 170123").unwrap();
        assert_eq!((v.numbers, v.build), (vec![5, 4, 5], Some(170123)));
        assert_eq!(parse_version("5.4.41").unwrap().build, None);
        // Dahua: a release letter after the numbers and a build date written out.
        let v = parse_version("2.800.0000000.9.R, Build Date 2021-04-23").unwrap();
        assert_eq!((v.numbers, v.build), (vec![2, 800, 0, 9], Some(210423)));
        assert_eq!(
            parse_version("V2.622.0 build: 2018-06-27").unwrap().build,
            Some(180627)
        );
        for odd in [
            "2.8 Build Date 2021-4-23",
            "2.8 build 2021/04/23",
            "2.8 build 21062",
            "2.8 build date",
        ] {
            assert_eq!(parse_version(odd).unwrap().build, None, "{odd}");
        }
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
        // ICSA-17-124-01's FWD range starts at V5.3.1: V5.3.0 is before it.
        assert_eq!(
            cves("DS-2CD2142FWD-I", "V5.3.5 build 151106"),
            ["CVE-2017-7921"]
        );
        assert!(cves("DS-2CD2142FWD-I", "V5.3.0 build 150513").is_empty());
        // The F-I series' last affected build is 160530; the FWD series' 161125.
        assert_eq!(
            cves("DS-2CD2142F-I", "V5.4.1 build 160603"),
            ["CVE-2021-36260"]
        );
        assert_eq!(
            cves("DS-2CD2142FWD-I", "V5.4.1 build 160603"),
            ["CVE-2017-7921", "CVE-2021-36260"]
        );
        assert_eq!(
            cves("DS-2DF8236IX-AEL", "V5.4.5 build 160928"),
            ["CVE-2017-7921", "CVE-2021-36260"]
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
