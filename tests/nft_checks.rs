//! Checks that need the live ruleset (`nft -j list ruleset`), on rulesets captured from nft and
//! from a real miniupnpd (tests/fixtures/nft, scripts/capture-nft-fixtures).
mod common;

use camguard::audit::Severity;
use common::*;

const MINIUPNPD_LIVE: &[u8] = include_bytes!("fixtures/nft/miniupnpd-live.json");
const LIVE_LEASES: &str = include_str!("fixtures/leases/miniupnpd-live.leases");
const FW4: &[u8] = include_bytes!("fixtures/nft/fw4-openwrt-24.10.json");

fn mapping_ports(report: &camguard::audit::Report) -> Vec<(u64, bool)> {
    let mut v: Vec<(u64, bool)> = with_id(report, "upnp.mapping")
        .iter()
        .map(|f| {
            let e = f.evidence.to_json();
            (
                e["ext_port"].as_u64().unwrap(),
                e["live"].as_bool().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn live_mappings_come_from_the_upnp_chain_and_lease_lines_without_a_rule_are_dormant() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(LIVE_LEASES)
        .nft(MINIUPNPD_LIVE)
        .audit();
    let ports = mapping_ports(&report);
    // Every rule miniupnpd wrote is live, the UDPLITE one included (it matches every port)…
    for port in [10554, 13478, 15004, 18080] {
        assert!(ports.contains(&(port, true)), "{port} live: {ports:?}");
    }
    // …but the CDATA description carrying CR/LF (miniupnpd 2.3.1) marks its line, live as port
    // 19000, and the line it wrote after it: both are forged leases, not ordinary mappings.
    let forged: Vec<(u64, bool, Severity)> = with_id(&report, "upnp.forged_lease")
        .iter()
        .map(|f| {
            let e = f.evidence.to_json();
            (
                e["ext_port"].as_u64().unwrap(),
                e["live"].as_bool().unwrap(),
                f.severity,
            )
        })
        .collect();
    assert_eq!(
        forged,
        [
            (19000, true, Severity::High),
            (2222, false, Severity::Medium)
        ]
    );
    // The injected line maps to the router's own SSH; the shipped "Default deny" refuses it when
    // miniupnpd replays the file (permission rules apply to replayed lines, secure_mode not).
    let injected = with_id(&report, "upnp.forged_lease")
        .into_iter()
        .find(|f| f.evidence.to_json()["ext_port"] == 2222)
        .unwrap();
    assert!(
        injected.detail.contains("Default deny"),
        "{}",
        injected.detail
    );
    assert!(
        !ports.iter().any(|(p, _)| *p == 2222 || *p == 19000),
        "{ports:?}"
    );
}

#[test]
fn udplite_mapping_without_a_port_match_forwards_every_udplite_port() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(LIVE_LEASES)
        .nft(MINIUPNPD_LIVE)
        .audit();
    let f = with_id(&report, "upnp.mapping")
        .into_iter()
        .find(|f| f.evidence.to_json()["proto"] == "UDPLITE")
        .unwrap();
    assert!(f.detail.contains("every UDPLITE port"), "{}", f.detail);
}

#[test]
fn after_a_firewall_reload_the_lease_file_is_not_live() {
    // fw4's reload empties the upnp chains; the lease file still lists the mappings.
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(LIVE_LEASES)
        .nft(FW4)
        .audit();
    let ports = mapping_ports(&report);
    assert!(!ports.is_empty());
    assert!(ports.iter().all(|(_, live)| !live), "{ports:?}");
}

/// The lease lines a running miniupnpd still holds, with no rules behind them after a reload:
/// one finding for the loss, whose fix re-adds every unexpired lease's rules while the policy
/// keeps UPnP on.
#[test]
fn leases_a_firewall_reload_left_without_rules_are_reported_with_their_restore() {
    let router = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(LIVE_LEASES)
        .nft(FW4);
    let report = router.audit();
    let lost = with_id(&report, "upnp.rules_lost");
    assert_eq!(lost.len(), 1, "{:?}", ids(&report));
    // Every line of the fixture's lease file that has not run out at NOW.
    let unexpired = LIVE_LEASES
        .lines()
        .filter(|l| {
            let expiry: u64 = l.split(':').nth(4).unwrap().parse().unwrap();
            expiry == 0 || expiry > NOW
        })
        .count();
    assert_eq!(lost[0].evidence.to_json()["lost"], unexpired);
    assert_eq!(lost[0].severity, Severity::Medium);
    assert!(
        lost[0]
            .detail
            .contains("no rules for them: a firewall reload")
            && !lost[0].detail.contains("  "),
        "one space between words: {:?}",
        lost[0].detail
    );
    let restore: Vec<_> = router
        .clone()
        .config(
            "camguard",
            "config camguard 'main'\n\toption upnp 'allow'\n",
        )
        .plan()
        .into_iter()
        .filter(|a| {
            a.finding
                .as_ref()
                .is_some_and(|f| f.id == "upnp.rules_lost")
        })
        .map(|a| a.step)
        .collect();
    assert_eq!(
        restore,
        vec![camguard::plan::Step::RestoreMappings { lost: unexpired }]
    );
    // Under upnp 'off' nothing is restored: miniupnpd is stopped and its leases emptied.
    let off = router
        .config("camguard", "config camguard 'main'\n\toption upnp 'off'\n")
        .plan();
    assert!(off
        .iter()
        .all(|a| a.finding.as_ref().is_none_or(|f| f.id != "upnp.rules_lost")));
}

/// IPv6 pinholes lose their accept rules in the same reload, and only miniupnpd replays them:
/// with pinholes in its file, the fix restarts miniupnpd rather than re-add the IPv4 rules alone.
#[test]
fn lost_rules_with_ipv6_pinholes_are_restored_by_a_restart() {
    let plan = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(LIVE_LEASES)
        .file(
            "/var/run/miniupnpd.leases6",
            include_bytes!("fixtures/leases/miniupnpd-live.leases6"),
        )
        .nft(FW4)
        .config(
            "camguard",
            "config camguard 'main'\n\toption upnp 'allow'\n",
        )
        .plan();
    let restore: Vec<_> = plan
        .into_iter()
        .filter(|a| {
            a.finding
                .as_ref()
                .is_some_and(|f| f.id == "upnp.rules_lost")
        })
        .map(|a| a.step)
        .collect();
    assert_eq!(
        restore,
        vec![camguard::plan::Step::Service {
            name: "miniupnpd".into(),
            action: "restart".into()
        }]
    );
}

#[test]
fn live_rules_behind_every_lease_are_not_lost() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(
            LIVE_LEASES
                .lines()
                .take(1)
                .map(|l| format!("{l}\n"))
                .collect::<String>()
                .as_str(),
        )
        .nft(MINIUPNPD_LIVE)
        .audit();
    assert!(
        with_id(&report, "upnp.rules_lost").is_empty(),
        "{:?}",
        ids(&report)
    );
}

#[test]
fn upnp_rules_outliving_a_disabled_miniupnpd_are_reported() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("0")))
        .leases(LIVE_LEASES)
        .nft(MINIUPNPD_LIVE)
        .audit();
    let f = with_id(&report, "upnp.rules_without_daemon");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert_eq!(f[0].severity, Severity::High);
    // The live rules themselves are still mappings (the one from a forged line a forged lease):
    // traffic flows through them.
    assert_eq!(mapping_ports(&report).len(), 4);
    assert_eq!(with_id(&report, "upnp.forged_lease").len(), 2);
    let quiet = Router::new()
        .config("upnpd", &upnpd(Some("0")))
        .leases(LIVE_LEASES)
        .nft(FW4)
        .audit();
    assert!(
        with_id(&quiet, "upnp.rules_without_daemon").is_empty(),
        "empty chains are fine"
    );
}

#[test]
fn redirect_disabled_in_uci_but_live_in_nft_is_drift() {
    let fw = format!(
        "{DEFAULT_FIREWALL}\n{}\n{}",
        redirect(&[
            ("name", "Web-Server"),
            ("src", "wan"),
            ("src_dport", "8080"),
            ("dest_ip", "192.168.1.20"),
            ("dest_port", "80"),
            ("enabled", "0")
        ]),
        redirect(&[
            ("name", "Ghost"),
            ("src", "wan"),
            ("src_dport", "6000"),
            ("dest_ip", "192.168.1.60")
        ]),
    );
    let report = Router::new().config("firewall", &fw).nft(FW4).audit();
    let drift = with_id(&report, "forward.drift");
    let labels: Vec<_> = drift
        .iter()
        .map(|f| {
            f.evidence.to_json()["fw4_name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert!(labels.contains(&"Web-Server".into()) && labels.contains(&"Ghost".into()));
    let web = drift
        .iter()
        .find(|f| f.title.contains("Web-Server"))
        .unwrap();
    assert!(
        web.detail.contains("still in the live firewall"),
        "{}",
        web.detail
    );
}

#[test]
fn unnamed_redirects_are_matched_by_fw4s_generated_name() {
    let fw = format!(
        "{DEFAULT_FIREWALL}\n{}",
        redirect(&[
            ("src", "wan"),
            ("src_dport", "7000"),
            ("dest_ip", "192.168.1.70")
        ])
    );
    let report = Router::new().config("firewall", &fw).nft(FW4).audit();
    let drift = with_id(&report, "forward.drift");
    assert_eq!(drift.len(), 1);
    assert_eq!(drift[0].evidence.to_json()["fw4_name"], "@redirect[0]");
}
