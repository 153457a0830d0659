//! The shipped example routers: what a careful review of each flags, and that every report
//! matches the committed JSON Schema.
mod common;

use std::path::Path;

use camguard::audit::{self, Report, Severity};
use camguard::source::{offline, RootDir};

fn audit_example(name: &str) -> Report {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name);
    audit::audit(&offline::read(
        &RootDir::open(&root).unwrap(),
        common::NOW,
        None,
        &[],
    ))
}

fn has(report: &Report, id: &str, severity: Severity, text: &str) -> bool {
    report.findings.iter().any(|f| {
        f.id == id && f.severity == severity && (f.title.contains(text) || f.detail.contains(text))
    })
}

fn id_set(report: &Report) -> Vec<&str> {
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.id).collect();
    ids.dedup();
    ids
}

#[test]
fn fresh_router_has_nothing_to_report() {
    let r = audit_example("fresh-25.12");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_eq!(r.score, 100);
    assert_eq!(r.router.release.as_deref(), Some("25.12.0"));
}

#[test]
fn messy_home_flags_the_camera_mapping_the_dvr_dmz_and_spares_the_rest() {
    let r = audit_example("messy-home");
    assert!(
        has(&r, "forward.dmz", Severity::Critical, "nvr-garage"),
        "{:?}",
        id_set(&r)
    );
    assert!(has(&r, "upnp.mapping", Severity::High, "reolink-front"));
    assert!(has(&r, "upnp.mapping", Severity::High, "port 554"));
    assert!(has(&r, "upnp.enabled", Severity::High, "UPnP"));
    assert!(has(
        &r,
        "upnp.acl_permissive",
        Severity::Medium,
        "Allow all"
    ));
    assert!(has(&r, "forward.active", Severity::Low, "Plex"));
    let verdict = |id: &str, text: &str| {
        r.findings
            .iter()
            .find(|f| f.id == id && (f.title.contains(text) || f.detail.contains(text)))
            .and_then(|f| f.policy.as_ref())
            .map(|p| p.allowed)
    };
    assert_eq!(verdict("forward.dmz", "DVR remote"), Some(false));
    assert_eq!(
        verdict("forward.active", "Plex"),
        Some(true),
        "Plex is allowlisted"
    );
    // Not WAN forwards: disabled, LAN-side DNS redirect, SNAT.
    for label in ["cam-http-old", "Force-local-DNS", "VPN-SNAT"] {
        assert!(
            !r.findings
                .iter()
                .any(|f| f.title.contains(label) || f.detail.contains(label)),
            "{label} is not a forward"
        );
    }
    let cameras: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.id == "camera.detected")
        .collect();
    assert_eq!(
        cameras.len(),
        3,
        "reolink, hikvision garden-cam, dahua nvr: {:#?}",
        cameras
    );
    // The line miniupnpd skips is reported with its number; the one with port 70000 is not
    // skipped: miniupnpd opens port 4464 for it.
    let lines: Vec<_> = r.problems.iter().filter_map(|p| p.line).collect();
    assert_eq!(lines, vec![5]);
    let forged: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.id == "upnp.forged_lease")
        .map(|f| {
            (
                f.evidence.to_json()["line"].clone(),
                f.evidence.to_json()["ext_port"].clone(),
            )
        })
        .collect();
    assert_eq!(forged.len(), 2, "{forged:?}");
    assert!(forged.contains(&(6.into(), 4464.into())), "{forged:?}");
    assert!(forged.contains(&(7.into(), 40000.into())), "{forged:?}");
}

#[test]
fn old_router_flags_eol_wps_tkip_and_ssh_from_wan() {
    let r = audit_example("old-21.02");
    assert!(has(&r, "router.firmware_eol", Severity::High, "21.02.3"));
    assert!(has(&r, "wifi.weak", Severity::High, "SKY12345"));
    assert!(has(&r, "wifi.wps", Severity::Medium, "SKY12345"));
    assert!(has(
        &r,
        "router.admin_from_wan",
        Severity::High,
        "Allow-SSH-from-work"
    ));
    assert!(has(&r, "forward.to_camera", Severity::High, "front-door"));
    // miniupnpd is installed but off: its remembered lease is not a live mapping.
    assert!(
        !r.findings.iter().any(|f| f.id.starts_with("upnp.")),
        "{:?}",
        id_set(&r)
    );
}

#[test]
fn every_report_matches_the_json_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schema/status.schema.json")).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut reports: Vec<Report> = ["fresh-25.12", "messy-home", "old-21.02"]
        .iter()
        .map(|e| audit_example(e))
        .collect();
    reports.push(
        common::Router::new()
            .config("upnpd", &common::upnpd(Some("1")))
            .file(
                "/var/run/miniupnpd.leases6",
                b"UDP;2001:db8::5;4000;;0;1;0;IGD2 pinhole\n",
            )
            .config("firewall", "config zone\n\toption name 'wan\n")
            .audit(),
    );
    for report in &reports {
        let json = serde_json::to_value(report).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", report.origin);
    }
    // The schema is not vacuous: a wrong severity fails it.
    let mut bad = serde_json::to_value(&reports[1]).unwrap();
    bad["findings"][0]["severity"] = "urgent".into();
    assert!(!validator.is_valid(&bad));
}
