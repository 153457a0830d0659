//! Behaviour of the audit checks, one rule of firewall4 / miniupnpd / OpenWrt per test.
mod common;

use camguard::audit::Severity;
use common::*;

const NAS: &str = "1795700000 00:11:32:8a:77:01 192.168.1.10 nas *\n";
const HIKVISION: &str = "1795700000 4c:bd:8f:22:10:aa 192.168.1.64 garden-cam *\n";

fn forward_to(dest_ip: &str, extra: &[(&str, &str)]) -> String {
    let mut opts = vec![
        ("name", "Test"),
        ("src", "wan"),
        ("dest", "lan"),
        ("dest_ip", dest_ip),
    ];
    opts.extend_from_slice(extra);
    redirect(&opts)
}

// ---- forwards: what fw4 renders as a WAN port forward --------------------------------------

#[test]
fn plain_wan_forward_is_active_and_low() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.10", &[("src_dport", "32400")]),
        )
        .dhcp_leases(NAS)
        .audit();
    let f = with_id(&report, "forward.active");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Low);
    assert!(
        f[0].detail.contains("nas"),
        "names the device: {}",
        f[0].detail
    );
}

#[test]
fn redirect_target_defaults_to_dnat() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.10", &[("src_dport", "8080")]),
        )
        .audit();
    assert_eq!(with_id(&report, "forward.active").len(), 1);
}

#[test]
fn target_is_a_case_insensitive_prefix() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.10", &[("src_dport", "8080"), ("target", "Dnat")]),
        )
        .audit();
    assert_eq!(with_id(&report, "forward.active").len(), 1);
}

#[test]
fn disabled_redirect_is_not_a_wan_forward() {
    for off in ["0", "no", "off", "false"] {
        let report = Router::new()
            .append(
                "firewall",
                &forward_to("192.168.1.10", &[("src_dport", "8080"), ("enabled", off)]),
            )
            .audit();
        assert!(
            !ids(&report).iter().any(|i| i.starts_with("forward.")),
            "enabled '{off}': {:?}",
            ids(&report)
        );
    }
    for on in ["1", "yes", "on", "true"] {
        let report = Router::new()
            .append(
                "firewall",
                &forward_to("192.168.1.10", &[("src_dport", "8080"), ("enabled", on)]),
            )
            .audit();
        assert_eq!(
            with_id(&report, "forward.active").len(),
            1,
            "enabled '{on}'"
        );
    }
}

#[test]
fn invalid_boolean_makes_fw4_skip_the_redirect() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to(
                "192.168.1.10",
                &[("src_dport", "8080"), ("enabled", "maybe")],
            ),
        )
        .audit();
    assert!(with_id(&report, "forward.active").is_empty());
}

#[test]
fn redirect_from_lan_is_not_a_wan_forward() {
    let r = redirect(&[
        ("name", "dns"),
        ("src", "lan"),
        ("src_dport", "53"),
        ("dest_port", "53"),
        ("target", "DNAT"),
    ]);
    let report = Router::new().append("firewall", &r).audit();
    assert!(
        !ids(&report)
            .iter()
            .any(|i| i.starts_with("forward.") || *i == "router.admin_from_wan"),
        "{:?}",
        ids(&report)
    );
}

#[test]
fn snat_redirect_is_not_a_wan_forward() {
    let r = redirect(&[
        ("src", "wan"),
        ("dest", "lan"),
        ("src_dip", "192.168.1.1"),
        ("dest_ip", "192.168.1.10"),
        ("target", "SNAT"),
    ]);
    let report = Router::new().append("firewall", &r).audit();
    assert!(
        !ids(&report).iter().any(|i| i.starts_with("forward.")),
        "{:?}",
        ids(&report)
    );
}

#[test]
fn redirect_without_src_dport_forwards_every_port() {
    let report = Router::new()
        .append("firewall", &forward_to("192.168.1.10", &[]))
        .audit();
    let f = with_id(&report, "forward.dmz");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Critical);
}

#[test]
fn negated_src_dport_forwards_every_other_port() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.10", &[("src_dport", "!80")]),
        )
        .audit();
    assert_eq!(with_id(&report, "forward.dmz").len(), 1);
}

#[test]
fn icmp_only_forward_without_ports_is_not_a_dmz() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.10", &[("proto", "icmp")]),
        )
        .audit();
    assert!(with_id(&report, "forward.dmz").is_empty());
    assert_eq!(with_id(&report, "forward.active").len(), 1);
}

#[test]
fn list_src_dport_is_invalid_for_fw4_and_skipped() {
    let r = "config redirect\n\toption src 'wan'\n\toption dest_ip '192.168.1.10'\n\tlist src_dport '80'\n\tlist src_dport '443'\n";
    let report = Router::new().append("firewall", r).audit();
    assert!(
        !ids(&report).iter().any(|i| i.starts_with("forward.")),
        "{:?}",
        ids(&report)
    );
    let r = forward_to("192.168.1.10", &[("src_dport", "80 443")]);
    let report = Router::new().append("firewall", &r).audit();
    assert!(
        !ids(&report).iter().any(|i| i.starts_with("forward.")),
        "space-separated: {:?}",
        ids(&report)
    );
}

#[test]
fn forward_to_camera_names_the_camera() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.64", &[("src_dport", "8443")]),
        )
        .dhcp_leases(HIKVISION)
        .audit();
    let f = with_id(&report, "forward.to_camera");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert_eq!(f[0].severity, Severity::High);
    assert!(f[0].detail.contains("Hikvision"), "{}", f[0].detail);
    assert!(f[0].detail.contains("garden-cam"), "{}", f[0].detail);
}

#[test]
fn dmz_to_a_camera_still_says_it_is_a_camera() {
    let report = Router::new()
        .append("firewall", &forward_to("192.168.1.64", &[]))
        .dhcp_leases(HIKVISION)
        .audit();
    let f = with_id(&report, "forward.dmz");
    assert_eq!(f.len(), 1);
    assert!(f[0].detail.contains("camera"), "{}", f[0].detail);
    assert_eq!(f[0].evidence.to_json()["device"]["class"], "camera");
}

#[test]
fn forward_to_ssh_is_a_sensitive_port() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to(
                "192.168.1.10",
                &[("src_dport", "2222"), ("dest_port", "22")],
            ),
        )
        .audit();
    let f = with_id(&report, "forward.sensitive_port");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert!(f[0].title.contains("SSH"));
}

#[test]
fn forward_of_a_range_covering_rtsp_is_sensitive() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.10", &[("src_dport", "500-600")]),
        )
        .audit();
    assert_eq!(with_id(&report, "forward.sensitive_port").len(), 1);
}

#[test]
fn forward_without_dest_ip_to_ssh_exposes_the_router() {
    let r = redirect(&[
        ("src", "wan"),
        ("src_dport", "2222"),
        ("dest_port", "22"),
        ("target", "DNAT"),
    ]);
    let report = Router::new().append("firewall", &r).audit();
    assert_eq!(
        with_id(&report, "router.admin_from_wan").len(),
        1,
        "{:?}",
        ids(&report)
    );
}

// ---- forward policy ---------------------------------------------------------------------------

/// The forward exposure findings with the policy's verdict: one finding per forward.
fn verdicts(report: &camguard::audit::Report) -> Vec<(String, Option<bool>)> {
    report
        .findings
        .iter()
        .filter(|f| f.id.starts_with("forward."))
        .map(|f| (f.title.clone(), f.policy.as_ref().map(|p| p.allowed)))
        .collect()
}

#[test]
fn allowlisted_forward_is_allowed_and_others_are_not() {
    let report = Router::new()
        .append("firewall", &forward_to("192.168.1.10", &[("src_dport", "32400"), ("name", "Plex")]))
        .append("firewall", &redirect(&[("name", "Other"), ("src", "wan"), ("src_dport", "81"), ("dest_ip", "192.168.1.11")]))
        .config("camguard", "config camguard 'main'\n\toption forwards 'allowlist'\n\nconfig allow_forward\n\toption redirect 'Plex'\n")
        .audit();
    let v = verdicts(&report);
    assert_eq!(
        v.len(),
        2,
        "one finding per forward, the verdict inside: {v:?}"
    );
    assert!(
        v.iter()
            .any(|(t, a)| t.contains("Other") && *a == Some(false)),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|(t, a)| t.contains("Plex") && *a == Some(true)),
        "{v:?}"
    );
    let plex = report
        .findings
        .iter()
        .find(|f| f.title.contains("Plex"))
        .unwrap();
    assert!(
        !plex.remedy.contains("add it to the allowlist"),
        "an allowlisted forward is not told to join the allowlist: {}",
        plex.remedy
    );
}

#[test]
fn forwards_off_makes_every_forward_a_violation_without_raising_its_risk() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.10", &[("src_dport", "32400")]),
        )
        .config(
            "camguard",
            "config camguard 'main'\n\toption forwards 'off'\n",
        )
        .audit();
    let f = &with_id(&report, "forward.active")[0];
    assert_eq!(f.policy.as_ref().map(|p| p.allowed), Some(false));
    assert_eq!(f.severity, Severity::Low, "scored by risk, not by policy");
    assert_eq!(report.score, 99);
}

#[test]
fn no_cameras_policy_only_flags_camera_forwards() {
    let cfg = "config camguard 'main'\n\toption forwards 'no_cameras'\n";
    let plain = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.10", &[("src_dport", "32400")]),
        )
        .config("camguard", cfg)
        .audit();
    assert_eq!(verdicts(&plain)[0].1, Some(true));
    let cam = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.64", &[("src_dport", "554")]),
        )
        .dhcp_leases(HIKVISION)
        .config("camguard", cfg)
        .audit();
    let v = verdicts(&cam);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].1, Some(false));
    assert_eq!(with_id(&cam, "forward.to_camera").len(), 1);
}

#[test]
fn without_a_policy_file_no_finding_claims_a_policy() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.64", &[("src_dport", "554")]),
        )
        .dhcp_leases(HIKVISION)
        .config("upnpd", &upnpd(Some("1")))
        .leases("TCP:10554:192.168.1.64:554:0:cam\n")
        .audit();
    for f in &report.findings {
        assert!(f.policy.is_none(), "{}: {:?}", f.id, f.policy);
        for text in [&f.title, &f.detail, &f.remedy.to_string()] {
            assert!(
                !text.contains("your policy") && !text.contains("your camguard policy"),
                "{}: {text}",
                f.id
            );
        }
    }
}

#[test]
fn an_unnamed_forward_is_allowlisted_by_what_it_does_and_named_by_it() {
    let unnamed = "config redirect\n\toption src 'wan'\n\toption src_dport '8080'\n\toption dest_ip '192.168.1.20'\n\toption dest_port '80'\n\toption proto 'tcp'\n";
    let allow = "config camguard 'main'\n\toption forwards 'allowlist'\n\nconfig allow_forward\n\toption proto 'tcp'\n\toption src_dport '8080'\n\toption dest_ip '192.168.1.20'\n\toption dest_port '80'\n";
    let report = Router::new()
        .append("firewall", unnamed)
        .config("camguard", allow)
        .audit();
    let f = &with_id(&report, "forward.active")[0];
    assert_eq!(f.policy.as_ref().map(|p| p.allowed), Some(true));
    assert!(
        f.title
            .contains("unnamed port forward wan tcp/8080 → 192.168.1.20:80"),
        "{}",
        f.title
    );
    assert!(
        !f.title.contains("cfg"),
        "never the shifting cfg ID: {}",
        f.title
    );
    // Another forward of the same host on another port is not covered by that entry.
    let other = unnamed.replace("8080", "8081");
    let report = Router::new()
        .append("firewall", &other)
        .config("camguard", allow)
        .audit();
    let f = &with_id(&report, "forward.active")[0];
    assert_eq!(f.policy.as_ref().map(|p| p.allowed), Some(false));
    assert!(
        f.remedy.contains("option src_dport '8081'"),
        "suggests a content entry: {}",
        f.remedy
    );
    assert!(!f.remedy.contains("option redirect 'cfg"), "{}", f.remedy);
}

#[test]
fn an_allowlist_entry_naming_a_cfg_id_is_reported_and_never_used() {
    let fw = "config redirect\n\toption src 'wan'\n\toption src_dport '22'\n\toption dest_ip '192.168.1.20'\n";
    let snap = Router::new().append("firewall", fw).snapshot();
    let id = snap.firewall.as_ref().unwrap().redirects[0].section.clone();
    assert!(id.starts_with("cfg"), "{id}");
    let report = Router::new()
        .append("firewall", fw)
        .config(
            "camguard",
            &format!("config camguard 'main'\n\toption forwards 'allowlist'\n\nconfig allow_forward\n\toption redirect '{id}'\n"),
        )
        .audit();
    assert_eq!(
        with_id(&report, "policy.allow_forward_ambiguous").len(),
        1,
        "{:?}",
        ids(&report)
    );
    let f = &with_id(&report, "forward.sensitive_port")[0];
    assert_eq!(
        f.policy.as_ref().map(|p| p.allowed),
        Some(false),
        "the ambiguous entry keeps nothing"
    );
    assert!(
        f.policy.as_ref().unwrap().why.contains("cannot tell"),
        "{:?}",
        f.policy
    );
    let plan = Router::new()
        .append("firewall", fw)
        .config(
            "camguard",
            &format!("config camguard 'main'\n\toption forwards 'allowlist'\n\nconfig allow_forward\n\toption redirect '{id}'\n"),
        )
        .plan();
    assert!(
        plan.is_empty(),
        "an unnamed forward the ID may mean is neither kept nor disabled: {plan:?}"
    );
}

#[test]
fn invalid_policy_value_is_reported_and_not_guessed() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to("192.168.1.10", &[("src_dport", "32400")]),
        )
        .config(
            "camguard",
            "config camguard 'main'\n\toption forwards 'sometimes'\n",
        )
        .audit();
    let f = with_id(&report, "config.invalid");
    assert_eq!(f.len(), 1);
    assert!(
        f[0].detail.contains("no_cameras"),
        "lists allowed values: {}",
        f[0].detail
    );
    assert!(report.findings.iter().all(|f| f.policy.is_none()));
}

// ---- ports with their protocol, rules from the WAN ------------------------------------------

#[test]
fn a_udp_rtp_range_to_a_sip_phone_is_not_a_tcp_camera_sdk() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to(
                "192.168.1.30",
                &[
                    ("name", "SIP RTP"),
                    ("src_dport", "10000-40000"),
                    ("proto", "udp"),
                ],
            ),
        )
        .audit();
    assert!(
        with_id(&report, "forward.sensitive_port").is_empty(),
        "{:?}",
        ids(&report)
    );
    let f = &with_id(&report, "forward.active")[0];
    assert_eq!(f.severity, Severity::Medium, "a 30,001-port range is wide");
    assert!(
        !f.detail.contains("Dahua") && !f.detail.contains("Xiongmai"),
        "{}",
        f.detail
    );
    // The same range over TCP does reach the recorders' SDK ports.
    let tcp = Router::new()
        .append(
            "firewall",
            &forward_to(
                "192.168.1.30",
                &[("src_dport", "10000-40000"), ("proto", "tcp")],
            ),
        )
        .audit();
    assert_eq!(with_id(&tcp, "forward.sensitive_port").len(), 1);
}

#[test]
fn an_ipv6_rule_from_the_wan_to_a_camera_is_a_forward_to_the_camera() {
    let rule = "config rule\n\toption name 'cam6'\n\toption src 'wan'\n\toption dest 'lan'\n\toption family 'ipv6'\n                \toption dest_ip 'fd00::64'\n\toption dest_port '554'\n\toption proto 'tcp'\n\toption target 'ACCEPT'\n";
    let odhcpd = "# br-lan 000300014cbd8f2210aa 1 garden-cam 1795700000 100 128 fd00::64/128\n";
    let report = Router::new()
        .append("firewall", rule)
        .file("/tmp/hosts/odhcpd", odhcpd.as_bytes())
        .audit();
    let f = with_id(&report, "forward.to_camera");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].evidence.to_json()["kind"], "rule");
    assert!(f[0].detail.contains("IPv6"), "{}", f[0].detail);
}

#[test]
fn shipped_ipsec_rules_are_no_camera_exposure() {
    let shipped = "config rule\n\toption name 'Allow-IPSec-ESP'\n\toption src 'wan'\n\toption dest 'lan'\n\toption proto 'esp'\n\toption target 'ACCEPT'\n\n                   config rule\n\toption name 'Allow-ISAKMP'\n\toption src 'wan'\n\toption dest 'lan'\n\toption dest_port '500'\n\toption proto 'udp'\n\toption target 'ACCEPT'\n";
    let report = Router::new().append("firewall", shipped).audit();
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity < Severity::Medium),
        "{:?}",
        ids(&report)
    );
}

// ---- router -----------------------------------------------------------------------------------

#[test]
fn wan_zone_accepting_input_is_critical() {
    let fw = DEFAULT_FIREWALL.replacen(
        "option input 'REJECT'\n\toption output 'ACCEPT'\n\toption forward 'REJECT'\n\toption masq",
        "option input 'ACCEPT'\n\toption output 'ACCEPT'\n\toption forward 'REJECT'\n\toption masq",
        1,
    );
    let report = Router::new().config("firewall", &fw).audit();
    assert_eq!(
        with_id(&report, "router.wan_input_accept").len(),
        1,
        "{:?}",
        ids(&report)
    );
    assert_eq!(
        with_id(&report, "router.wan_input_accept")[0].severity,
        Severity::Critical
    );
}

#[test]
fn zone_without_policy_inherits_the_defaults() {
    let fw = "config defaults\n\toption input 'ACCEPT'\n\toption forward 'accept'\n\n\
              config zone\n\toption name 'wan'\n\tlist network 'wan'\n\toption masq '1'\n";
    let report = Router::new().config("firewall", fw).audit();
    assert_eq!(with_id(&report, "router.wan_input_accept").len(), 1);
    assert_eq!(with_id(&report, "router.wan_forward_accept").len(), 1);
}

#[test]
fn zone_facing_a_wan_interface_is_a_wan_zone_whatever_its_name() {
    let fw = "config defaults\n\toption input 'REJECT'\n\n\
              config zone\n\toption name 'internet'\n\tlist network 'wan'\n\toption input 'ACCEPT'\n";
    let report = Router::new().config("firewall", fw).audit();
    assert_eq!(with_id(&report, "router.wan_input_accept").len(), 1);
}

#[test]
fn ssh_rule_from_wan_is_admin_exposure() {
    let rule = section(
        "rule",
        &[
            ("name", "Allow-SSH-WAN"),
            ("src", "wan"),
            ("proto", "tcp"),
            ("dest_port", "22"),
            ("target", "ACCEPT"),
        ],
    );
    let report = Router::new().append("firewall", &rule).audit();
    let f = with_id(&report, "router.admin_from_wan");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::High);
}

#[test]
fn admin_rule_limited_to_one_source_is_medium() {
    let rule = section(
        "rule",
        &[
            ("src", "wan"),
            ("src_ip", "198.51.100.7"),
            ("dest_port", "22"),
            ("target", "ACCEPT"),
        ],
    );
    let report = Router::new().append("firewall", &rule).audit();
    assert_eq!(
        with_id(&report, "router.admin_from_wan")[0].severity,
        Severity::Medium
    );
}

#[test]
fn dropbear_on_another_port_is_followed() {
    let rule = section(
        "rule",
        &[
            ("src", "wan"),
            ("proto", "tcp"),
            ("dest_port", "2200"),
            ("target", "ACCEPT"),
        ],
    );
    let plain = Router::new().append("firewall", &rule).audit();
    assert!(with_id(&plain, "router.admin_from_wan").is_empty());
    let moved = Router::new()
        .append("firewall", &rule)
        .config("dropbear", "config dropbear\n\toption Port '2200'\n")
        .audit();
    assert_eq!(with_id(&moved, "router.admin_from_wan").len(), 1);
}

#[test]
fn forward_rule_and_icmp_rule_are_not_admin_exposure() {
    let fwd = section(
        "rule",
        &[
            ("src", "wan"),
            ("dest", "lan"),
            ("dest_port", "22"),
            ("target", "ACCEPT"),
        ],
    );
    let ping = section(
        "rule",
        &[("src", "wan"), ("proto", "icmp"), ("target", "ACCEPT")],
    );
    let report = Router::new()
        .append("firewall", &fwd)
        .append("firewall", &ping)
        .audit();
    assert!(
        with_id(&report, "router.admin_from_wan").is_empty(),
        "{:?}",
        ids(&report)
    );
}

#[test]
fn end_of_life_branch_is_flagged_and_current_ones_are_not() {
    assert_eq!(
        with_id(
            &Router::new().release("21.02.3").audit(),
            "router.firmware_eol"
        )
        .len(),
        1
    );
    assert!(with_id(
        &Router::new().release("25.12.0").audit(),
        "router.firmware_eol"
    )
    .is_empty());
    assert!(with_id(
        &Router::new().release("SNAPSHOT").audit(),
        "router.firmware_eol"
    )
    .is_empty());
    assert!(with_id(
        &Router::new().release("27.06.1").audit(),
        "router.firmware_eol"
    )
    .is_empty());
}

#[test]
fn empty_root_password_is_critical() {
    let report = Router::new()
        .file("/etc/shadow", b"root:::0:99999:7:::\n")
        .audit();
    assert_eq!(
        with_id(&report, "router.root_password_empty")[0].severity,
        Severity::Critical
    );
    let set = Router::new()
        .file("/etc/shadow", b"root:$1$x$y:0:99999:7:::\n")
        .audit();
    assert!(with_id(&set, "router.root_password_empty").is_empty());
}

// ---- UPnP -------------------------------------------------------------------------------------

#[test]
fn missing_enabled_option_means_upnp_is_on() {
    let report = Router::new().config("upnpd", &upnpd(None)).audit();
    assert_eq!(with_id(&report, "upnp.enabled").len(), 1);
}

#[test]
fn upnp_disabled_reports_nothing_and_old_leases_are_not_mappings() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("0")))
        .leases("TCP:8080:192.168.1.10:8080:0:old\n")
        .audit();
    assert!(
        !ids(&report).iter().any(|i| i.starts_with("upnp.")),
        "{:?}",
        ids(&report)
    );
}

#[test]
fn disabled_init_script_lowers_but_keeps_the_finding() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .file("/etc/init.d/miniupnpd", b"#!/bin/sh\n")
        .file("/etc/rc.d/S19firewall", b"")
        .audit();
    assert_eq!(
        with_id(&report, "upnp.enabled")[0].severity,
        Severity::Medium
    );
}

#[test]
fn mapping_to_a_camera_is_high_and_to_a_console_medium() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .dhcp_leases(&format!(
            "{HIKVISION}1795700000 7c:ed:8d:44:21:9a 192.168.1.31 XboxOne *\n"
        ))
        .leases("TCP:18000:192.168.1.64:8000:0:cam\nUDP:3074:192.168.1.31:3074:1796203321:Xbox\n")
        .audit();
    let f = with_id(&report, "upnp.mapping");
    assert_eq!(f.len(), 2);
    let cam = f
        .iter()
        .find(|f| f.evidence.to_json()["int_addr"] == "192.168.1.64")
        .unwrap();
    assert_eq!(cam.severity, Severity::High);
    let xbox = f
        .iter()
        .find(|f| f.evidence.to_json()["int_addr"] == "192.168.1.31")
        .unwrap();
    assert_eq!(xbox.severity, Severity::Medium);
}

#[test]
fn mapping_of_a_camera_port_is_high_even_for_an_unknown_device() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases("TCP:8554:192.168.1.99:8554:0:x\n")
        .audit();
    assert_eq!(with_id(&report, "upnp.mapping")[0].severity, Severity::High);
}

#[test]
fn expired_leases_are_listed_as_expired_not_as_open() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(&format!(
            "TCP:5000:192.168.1.5:5000:{}:gone\nTCP:5001:192.168.1.5:5001:0:kept\n",
            NOW - 10
        ))
        .audit();
    let f = with_id(&report, "upnp.mapping");
    assert_eq!(f.len(), 2);
    let gone = f
        .iter()
        .find(|f| f.evidence.to_json()["ext_port"] == 5000)
        .unwrap();
    assert_eq!(gone.evidence.to_json()["expired"], true);
    assert_eq!(gone.severity, Severity::Low);
    assert!(gone.detail.contains("run out"), "{}", gone.detail);
    let kept = f
        .iter()
        .find(|f| f.evidence.to_json()["ext_port"] == 5001)
        .unwrap();
    assert_eq!(kept.severity, Severity::Medium);
}

#[test]
fn hostile_description_is_cleaned_in_the_finding() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases("UDP:40000:192.168.1.77:40000:0:<b>x</b>\x1b[2J\x07end\n")
        .audit();
    // Control characters: no UPnP request writes them, so the line is a forged one.
    let f = &with_id(&report, "upnp.forged_lease")[0];
    assert!(!f.detail.chars().any(char::is_control), "{:?}", f.detail);
    let evidence = f.evidence.to_json();
    let desc = evidence["description"].as_str().unwrap();
    assert!(!desc.chars().any(char::is_control), "{desc:?}");
    assert!(desc.contains("<b>x</b>"), "markup stays text: {desc:?}");
}

#[test]
fn shipped_permission_rules_are_not_permissive_but_a_missing_final_deny_is() {
    let shipped = Router::new().config("upnpd", &upnpd(Some("1"))).audit();
    assert!(with_id(&shipped, "upnp.acl_permissive").is_empty());
    let no_deny = "config upnpd 'config'\n\toption enabled '1'\n\nconfig perm_rule\n\toption action 'allow'\n\
                   \toption ext_ports '1024-65535'\n\toption int_addr '0.0.0.0/0'\n\toption int_ports '1024-65535'\n";
    let report = Router::new().config("upnpd", no_deny).audit();
    assert_eq!(with_id(&report, "upnp.acl_permissive").len(), 1);
    let none = Router::new()
        .config("upnpd", "config upnpd 'config'\n\toption enabled '1'\n")
        .audit();
    assert!(with_id(&none, "upnp.acl_permissive")[0]
        .detail
        .contains("no permission rules"));
}

#[test]
fn allow_rule_after_the_final_deny_is_unreachable_and_harmless() {
    let text = format!(
        "{}\nconfig perm_rule\n\toption action 'allow'\n\toption ext_ports '1-65535'\n",
        upnpd(Some("1"))
    );
    let report = Router::new().config("upnpd", &text).audit();
    assert!(with_id(&report, "upnp.acl_permissive").is_empty());
}

#[test]
fn secure_mode_off_is_reported_and_natpmp_is_part_of_the_one_daemon_finding() {
    let cfg = "config upnpd 'config'\n\toption enabled '1'\n\toption secure_mode '0'\n";
    let report = Router::new().config("upnpd", cfg).audit();
    assert_eq!(with_id(&report, "upnp.secure_mode_off").len(), 1);
    let enabled = with_id(&report, "upnp.enabled");
    assert_eq!(
        enabled.len(),
        1,
        "UPnP and NAT-PMP are one daemon, one finding"
    );
    assert!(
        enabled[0].title.contains("NAT-PMP"),
        "enable_natpmp defaults to on"
    );
    assert_eq!(enabled[0].evidence.to_json()["enable_natpmp"], true);
    assert!(with_id(&report, "upnp.natpmp").is_empty());
}

// ---- Wi-Fi ------------------------------------------------------------------------------------

const RADIO: &str = "config wifi-device 'radio0'\n\toption type 'mac80211'\n\n";

#[test]
fn open_weak_and_wps_networks() {
    let w = format!(
        "{RADIO}config wifi-iface 'a'\n\toption device 'radio0'\n\toption ssid 'Open'\n\toption encryption 'none'\n\n\
         config wifi-iface 'b'\n\toption device 'radio0'\n\toption ssid 'Old'\n\toption encryption 'psk-mixed+tkip+ccmp'\n\
         \toption wps_pushbutton '1'\n\n\
         config wifi-iface 'c'\n\toption device 'radio0'\n\toption ssid 'Good'\n\toption encryption 'sae-mixed'\n"
    );
    let report = Router::new().config("wireless", &w).audit();
    assert_eq!(with_id(&report, "wifi.open").len(), 1);
    assert_eq!(with_id(&report, "wifi.weak").len(), 1);
    assert_eq!(with_id(&report, "wifi.wps").len(), 1);
}

#[test]
fn a_guessable_wifi_password_is_reported_without_showing_it() {
    let w = format!(
        "{RADIO}config wifi-iface 'home'\n\toption device 'radio0'\n\toption ssid 'Home'\n\toption encryption 'psk2'\n\toption key '12345678'\n\n\
         config wifi-iface 'wpa3'\n\toption device 'radio0'\n\toption ssid 'New'\n\toption encryption 'sae'\n\toption key 'password1'\n\n\
         config wifi-iface 'good'\n\toption device 'radio0'\n\toption ssid 'Good'\n\toption encryption 'psk2'\n\toption key 'garden lamp river stone'\n"
    );
    let report = Router::new().config("wireless", &w).audit();
    let f = with_id(&report, "wifi.weak_passphrase");
    assert_eq!(f.len(), 2, "{:?}", ids(&report));
    let home = f.iter().find(|f| f.title.contains("Home")).unwrap();
    assert_eq!(home.severity, Severity::High);
    let wpa3 = f.iter().find(|f| f.title.contains("New")).unwrap();
    assert_eq!(
        wpa3.severity,
        Severity::Medium,
        "SAE resists offline guessing"
    );
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        !json.contains("12345678") && !json.contains("password1"),
        "the key never leaves the config"
    );
}

#[test]
fn disabled_radio_or_client_mode_is_not_broadcast() {
    let w = "config wifi-device 'radio0'\n\toption disabled '1'\n\n\
             config wifi-iface\n\toption device 'radio0'\n\toption encryption 'none'\n\n\
             config wifi-device 'radio1'\n\n\
             config wifi-iface\n\toption device 'radio1'\n\toption mode 'sta'\n\toption encryption 'none'\n";
    let report = Router::new().config("wireless", w).audit();
    assert!(
        !ids(&report).iter().any(|i| i.starts_with("wifi.")),
        "{:?}",
        ids(&report)
    );
}

// ---- cameras ----------------------------------------------------------------------------------

#[test]
fn camera_is_detected_with_its_reason() {
    let report = Router::new().dhcp_leases(HIKVISION).audit();
    let f = with_id(&report, "camera.detected");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Info);
    assert!(f[0].detail.contains("4C:BD:8F"), "{}", f[0].detail);
}

#[test]
fn owner_class_overrides_the_classifier() {
    let report = Router::new()
        .dhcp_leases(HIKVISION)
        .config(
            "camguard",
            "config device\n\toption mac '4c:bd:8f:22:10:aa'\n\toption class 'other'\n",
        )
        .audit();
    assert!(with_id(&report, "camera.detected").is_empty());
    let report = Router::new()
        .dhcp_leases(NAS)
        .config(
            "camguard",
            "config device\n\toption mac '00:11:32:8a:77:01'\n\toption class 'camera'\n",
        )
        .audit();
    assert_eq!(with_id(&report, "camera.detected").len(), 1);
}

#[test]
fn camera_with_internet_is_low_unless_a_rule_blocks_it() {
    let open = Router::new().dhcp_leases(HIKVISION).audit();
    assert_eq!(with_id(&open, "camera.internet")[0].severity, Severity::Low);
    let block = section(
        "rule",
        &[
            ("name", "camguard-block"),
            ("src", "lan"),
            ("dest", "wan"),
            ("src_mac", "4C:BD:8F:22:10:AA"),
            ("proto", "all"),
            ("target", "REJECT"),
        ],
    );
    let blocked = Router::new()
        .dhcp_leases(HIKVISION)
        .append("firewall", &block)
        .audit();
    assert!(with_id(&blocked, "camera.internet").is_empty());
}

// ---- reading problems -------------------------------------------------------------------------

#[test]
fn firewall_with_a_syntax_error_is_a_finding_not_an_empty_firewall() {
    let report = Router::bare()
        .config(
            "firewall",
            "config zone\n\toption name 'wan\n\toption input 'ACCEPT'\n",
        )
        .audit();
    let f = with_id(&report, "config.invalid");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert_eq!(f[0].severity, Severity::High);
    assert!(!ids(&report).iter().any(|i| i.starts_with("router.wan")));
}

#[test]
fn missing_files_are_normal() {
    let report = Router::bare().audit();
    assert!(report.findings.is_empty(), "{:?}", ids(&report));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.score, 100);
}

#[test]
fn bad_lease_lines_are_problems_with_line_numbers() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases("TCP:1:192.168.1.5:1:0:ok\ngarbage\n")
        .audit();
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].line, Some(2));
    assert_eq!(with_id(&report, "upnp.mapping").len(), 1);
}

#[test]
fn findings_are_sorted_by_severity_and_deterministic() {
    let build = || {
        Router::new()
            .config("upnpd", &upnpd(None))
            .dhcp_leases(HIKVISION)
            .append("firewall", &forward_to("192.168.1.64", &[]))
            .leases("TCP:8554:192.168.1.64:8554:0:x\nUDP:3074:192.168.1.31:3074:0:y\n")
            .audit()
    };
    let a = build();
    assert_eq!(a, build());
    assert!(a
        .findings
        .windows(2)
        .all(|w| w[0].severity >= w[1].severity));
    assert!(a.score < 50);
}

// ---- shapes from real published configs (issue 12's private check) ----------------------

/// A forward of 1–65535 (a NAS on a published nanopi config) is a DMZ, not a "Foscam HTTP"
/// exposure: it is critical like a forward without a port.
#[test]
fn a_range_of_almost_every_port_is_a_dmz() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to(
                "192.168.1.10",
                &[
                    ("proto", "tcp udp"),
                    ("src_dport", "1-65535"),
                    ("dest_port", "1-65535"),
                ],
            ),
        )
        .dhcp_leases(NAS)
        .audit();
    let dmz = with_id(&report, "forward.dmz");
    assert_eq!(dmz.len(), 1, "{:?}", ids(&report));
    assert_eq!(dmz[0].severity, Severity::Critical);
    assert!(!dmz[0].title.contains("Foscam"), "{}", dmz[0].title);
}

/// IPTV rules let multicast in from the WAN (`dest_ip 224.0.0.0/4`): a group, not a host.
#[test]
fn a_multicast_rule_is_not_an_exposure() {
    let rule = "config rule 'multicast_udp_control'\n\toption name 'multicast_udp_control'\n\
                \toption src 'wan'\n\toption proto 'udp'\n\toption dest '*'\n\
                \toption dest_ip '224.0.0.0/4'\n\toption family 'IPv4'\n\toption target 'ACCEPT'\n";
    let report = Router::new().append("firewall", rule).audit();
    assert!(
        !ids(&report).iter().any(|id| id.starts_with("forward.")),
        "{:?}",
        ids(&report)
    );
}

/// fw4 skips a rule whose address it cannot parse (a blog's `2001:db8:home::10`): nothing is
/// open, so nothing is reported as open.
#[test]
fn a_rule_with_an_unparsable_address_is_not_in_effect() {
    let rule = "config rule\n\toption name 'Allow-HTTPS-HomeServer'\n\toption src 'wan'\n\
                \toption dest 'lan'\n\toption dest_ip '2001:db8:home::10'\n\toption dest_port '443'\n\
                \toption proto 'tcp'\n\toption target 'ACCEPT'\n\toption family 'ipv6'\n";
    let report = Router::new().append("firewall", rule).audit();
    assert!(
        !ids(&report).iter().any(|id| id.starts_with("forward.")),
        "{:?}",
        ids(&report)
    );
    let good = rule.replace("2001:db8:home::10", "2001:db8::10");
    let report = Router::new().append("firewall", &good).audit();
    assert_eq!(
        with_id(&report, "forward.active").len(),
        1,
        "{:?}",
        ids(&report)
    );
}

/// A forward to the router's own LAN address reaches the router's web interface, not a device.
#[test]
fn a_forward_to_the_routers_lan_address_exposes_the_router() {
    let report = Router::new()
        .append(
            "firewall",
            &forward_to(
                "192.168.1.1",
                &[
                    ("proto", "tcp"),
                    ("src_dport", "8443"),
                    ("dest_port", "443"),
                ],
            ),
        )
        .audit();
    let admin = with_id(&report, "router.admin_from_wan");
    assert_eq!(admin.len(), 1, "{:?}", ids(&report));
    assert!(
        admin[0].detail.contains("the router's own address"),
        "{}",
        admin[0].detail
    );
    assert!(!ids(&report).iter().any(|id| id.starts_with("forward.")));
}

/// SSH forwarded only to one ISP's range is narrower than SSH open to everyone.
#[test]
fn a_forward_limited_to_source_addresses_is_one_step_milder() {
    let ssh = |extra: &[(&str, &str)]| {
        let mut opts = vec![("proto", "tcp"), ("src_dport", "2222"), ("dest_port", "22")];
        opts.extend_from_slice(extra);
        let report = Router::new()
            .append("firewall", &forward_to("192.168.1.10", &opts))
            .audit();
        with_id(&report, "forward.sensitive_port")[0].severity
    };
    assert_eq!(ssh(&[]), Severity::High);
    assert_eq!(ssh(&[("src_ip", "203.0.113.0/24")]), Severity::Medium);
    assert_eq!(ssh(&[("src_ip", "!203.0.113.0/24")]), Severity::High);
}

/// Without /etc/config/camguard a fix is what camguard's defaults would do: it says so.
#[test]
fn fixes_without_a_policy_file_name_the_default_policy() {
    let router = Router::new().append(
        "firewall",
        &forward_to("192.168.1.10", &[("src_dport", "8080")]),
    );
    assert!(with_id(&router.audit(), "forward.active")[0]
        .policy
        .is_none());
    let plan = router.plan();
    assert!(!plan.is_empty());
    for a in &plan {
        assert!(a.why.contains("camguard's default policy"), "{}", a.why);
        assert!(!a.why.contains("your policy"), "{}", a.why);
    }
    // With a policy file the reason is the owner's own.
    let owned = router.config(
        "camguard",
        "config camguard 'main'\n\toption forwards 'allowlist'\n",
    );
    let owned_plan = owned.plan();
    assert_eq!(owned_plan.len(), plan.len());
    assert!(owned_plan.iter().all(|a| !a.why.contains("default policy")));
}

/// One network on two radios with the same weak key is one weak password.
#[test]
fn one_weak_network_on_two_radios_is_one_finding() {
    let iface = |radio: &str| {
        format!(
            "config wifi-iface\n\toption device '{radio}'\n\toption mode 'ap'\n\toption ssid 'Home'\n\
             \toption encryption 'psk2'\n\toption key '12345678'\n"
        )
    };
    let report = Router::new()
        .config("wireless", &(iface("radio0") + "\n" + &iface("radio1")))
        .audit();
    assert_eq!(
        with_id(&report, "wifi.weak_passphrase").len(),
        1,
        "{:?}",
        ids(&report)
    );
}

/// tests/fixtures/leases/forged.leases: one line miniupnpd writes, five it never writes, one it
/// skips. Each forged line is one finding naming the port miniupnpd really opens, high when the
/// shipped permission rules let it through, medium when they refuse it; none is also reported as
/// an ordinary mapping.
#[test]
fn forged_lease_lines_are_findings_naming_the_port_miniupnpd_opens() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(&String::from_utf8_lossy(include_bytes!(
            "fixtures/leases/forged.leases"
        )))
        .audit();
    let mut forged: Vec<(u64, u64, Severity)> = with_id(&report, "upnp.forged_lease")
        .iter()
        .map(|f| {
            let e = f.evidence.to_json();
            (
                e["line"].as_u64().unwrap(),
                e["ext_port"].as_u64().unwrap(),
                f.severity,
            )
        })
        .collect();
    forged.sort();
    assert_eq!(
        forged,
        [
            (2, 4464, Severity::High),
            (3, 0, Severity::Medium),
            (4, 19000, Severity::High),
            (5, 19001, Severity::High),
            (6, 2222, Severity::Medium),
        ]
    );
    let wrapped = with_id(&report, "upnp.forged_lease")
        .into_iter()
        .find(|f| f.evidence.to_json()["line"] == 2)
        .unwrap();
    assert!(wrapped.title.contains("port 4464/TCP"), "{}", wrapped.title);
    assert!(
        wrapped
            .detail
            .contains("written as '70000', which miniupnpd reads as 4464")
            && wrapped
                .detail
                .contains("opens port 4464/TCP to device (192.168.1.100) port 8080"),
        "{}",
        wrapped.detail
    );
    assert!(
        wrapped.remedy.contains("camguard revoke TCP 4464"),
        "{}",
        wrapped.remedy
    );
    let short = with_id(&report, "upnp.forged_lease")
        .into_iter()
        .find(|f| f.evidence.to_json()["line"] == 4)
        .unwrap();
    assert!(short.detail.contains("192.168.0.1"), "{}", short.detail);
    let injected = with_id(&report, "upnp.forged_lease")
        .into_iter()
        .find(|f| f.evidence.to_json()["line"] == 6)
        .unwrap();
    assert!(
        injected.detail.contains("carriage return"),
        "{}",
        injected.detail
    );
    assert!(
        injected.detail.contains("Default deny"),
        "{}",
        injected.detail
    );
    // Only the genuine line is an ordinary mapping; the skipped line is a problem.
    let mappings: Vec<_> = with_id(&report, "upnp.mapping")
        .iter()
        .map(|f| f.evidence.to_json()["ext_port"].as_u64().unwrap())
        .collect();
    assert_eq!(mappings, [18080]);
    let skipped: Vec<_> = report.problems.iter().filter_map(|p| p.line).collect();
    assert_eq!(skipped, [7]);
    assert!(report.problems[0]
        .message
        .contains("miniupnpd skips this line"));
}

#[test]
fn forged_lease_is_medium_while_miniupnpd_is_off() {
    let report = Router::new()
        .config("upnpd", &upnpd(Some("0")))
        .leases("TCP:70000:192.168.1.100:8080:0:wrapped\n")
        .audit();
    let f = with_id(&report, "upnp.forged_lease");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Medium);
    assert!(
        f[0].detail.contains("would open port 4464/TCP"),
        "{}",
        f[0].detail
    );
}

#[test]
fn unnamed_upnpd_section_with_enabled_0_is_reported_on_and_the_plan_adds_the_config_section() {
    let router = Router::new().config("upnpd", "config upnpd\n\toption enabled '0'\n");
    let report = router.audit();
    let f = with_id(&report, "upnp.enabled");
    assert_eq!(f.len(), 1, "{:?}", report.findings);
    assert_eq!(f[0].severity, Severity::High);
    let steps: Vec<String> = router
        .plan()
        .iter()
        .map(|a| serde_json::to_string(&a.step).unwrap())
        .filter(|s| s.contains("upnpd"))
        .collect();
    assert!(
        steps
            .iter()
            .any(|s| s.contains("\"name\":\"config\"") && s.contains("\"enabled\"")),
        "{steps:?}"
    );
}

/// A forward to the router's address on a port of one of its own services (TVHeadend on 9981, a
/// published gargoyle config) exposes the router, not an unknown device, and is not dropped.
#[test]
fn a_forward_to_a_router_service_is_reported_as_the_router() {
    let router = Router::new().append(
        "firewall",
        &forward_to(
            "192.168.1.1",
            &[("proto", "tcp udp"), ("src_dport", "9981")],
        ),
    );
    let report = router.audit();
    let f = with_id(&report, "forward.active");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert!(
        f[0].detail.contains("the router itself (192.168.1.1)"),
        "{}",
        f[0].detail
    );
    // The planner's fix lands on that finding.
    assert!(router
        .plan()
        .iter()
        .any(|a| a.finding.as_ref().is_some_and(|r| r.id == "forward.active")));
}

#[test]
fn a_device_holding_every_port_is_one_finding_with_the_count() {
    // 65,535 mappings from one device, and two from a console that stay one finding each.
    let mut leases: String = (1..=65_535u32)
        .map(|p| format!("TCP:{p}:192.168.1.66:{p}:0:x\n"))
        .collect();
    leases.push_str("UDP:3074:192.168.1.31:3074:0:Xbox\nUDP:3075:192.168.1.31:3075:0:Xbox\n");
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(&leases)
        .audit();
    assert_eq!(with_id(&report, "upnp.mapping").len(), 2);
    let many = with_id(&report, "upnp.device_mappings");
    assert_eq!(many.len(), 1);
    let evidence = many[0].evidence.to_json();
    assert_eq!(evidence["mappings"], 65_535);
    assert_eq!(evidence["sample"].as_array().unwrap().len(), 16);
    // Port 554 and friends are among them: as severe as its worst mapping.
    assert_eq!(many[0].severity, Severity::High);
    assert!(
        many[0].title.contains("65535 UPnP mappings"),
        "{}",
        many[0].title
    );
}

#[test]
fn sixteen_mappings_of_one_device_are_still_listed_one_by_one() {
    let leases: String = (0..16u32)
        .map(|i| format!("TCP:{}:192.168.1.66:{}:0:x\n", 20_000 + i, 20_000 + i))
        .collect();
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(&leases)
        .audit();
    assert_eq!(with_id(&report, "upnp.mapping").len(), 16);
    assert!(with_id(&report, "upnp.device_mappings").is_empty());
}

#[test]
fn many_devices_under_the_per_device_bound_are_counted_past_the_routers_bound() {
    // 40 devices with 16 mappings each: every one under the per-device bound, 640 in all. The
    // camera, at the highest address, is listed one by one all the same.
    let mut leases = String::new();
    for host in 100..140u32 {
        for i in 0..16u32 {
            let port = 20_000 + host * 16 + i;
            leases.push_str(&format!("TCP:{port}:192.168.1.{host}:{port}:0:x\n"));
        }
    }
    for i in 0..16u32 {
        leases.push_str(&format!("TCP:{}:192.168.1.64:554:0:cam\n", 40_000 + i));
    }
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .leases(&leases)
        .dhcp_leases(HIKVISION)
        .audit();
    let one_by_one = with_id(&report, "upnp.mapping");
    let counted = with_id(&report, "upnp.device_mappings");
    assert_eq!(one_by_one.len(), 256, "{} listed", one_by_one.len());
    // Whole devices either way: 16 listed devices, the other 25 counted, nothing lost.
    assert_eq!(counted.len(), 25);
    let in_counted: u64 = counted
        .iter()
        .map(|f| f.evidence.to_json()["mappings"].as_u64().unwrap())
        .sum();
    assert_eq!(one_by_one.len() as u64 + in_counted, 656);
    assert!(
        one_by_one
            .iter()
            .filter(|f| f.detail.contains("garden-cam"))
            .count()
            == 16
    );
    assert!(
        counted[0]
            .detail
            .contains("more UPnP mappings than camguard lists one by one"),
        "{}",
        counted[0].detail
    );
    assert!(
        counted[0]
            .title
            .ends_with("holds 16 UPnP mappings to the internet"),
        "{}",
        counted[0].title
    );
}

#[test]
fn a_camera_the_password_check_will_not_try_says_why_in_its_evidence() {
    // A "camera-laptop": the RTSP port says camera, the Apple OUI and the hostname say laptop.
    let lease = "1900000000 3c:22:fb:00:00:01 192.168.1.50 camera-laptop *\n";
    let owner = "config device\n\toption mac '3c:22:fb:00:00:01'\n\toption class 'camera'\n";
    let checking = "config camguard 'main'\n\toption credential_check '1'\n";
    let report = Router::new()
        .dhcp_leases(lease)
        .config("camguard", &format!("{checking}{owner}"))
        .audit();
    // The owner's class wins: no contradiction, nothing to say.
    let f = with_id(&report, "camera.detected");
    assert_eq!(f.len(), 1);
    assert!(f[0].evidence.to_json().get("password_check").is_none());

    let report = Router::new()
        .dhcp_leases(lease)
        .config("camguard", checking)
        .file(
            "/etc/camguard/seen.json",
            br#"{"version":1,"devices":[],"probes":[{"ip":"192.168.1.50","at":1899999000,
                "services":[{"port":554,"kind":"rtsp"},{"port":37777,"kind":"tcp"}]}]}"#,
        )
        .audit();
    let f = with_id(&report, "camera.detected");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    let evidence = f[0].evidence.to_json();
    let why = evidence["password_check"].as_str().unwrap_or_default();
    assert!(why.contains("contradicts"), "{evidence}");
    assert!(why.contains("laptop") && why.contains("Apple"), "{why}");
    assert!(
        evidence["device"]["contradictions"].is_array(),
        "{evidence}"
    );

    // Without the check there is nothing to explain.
    let report = Router::new()
        .dhcp_leases(lease)
        .file(
            "/etc/camguard/seen.json",
            br#"{"version":1,"devices":[],"probes":[{"ip":"192.168.1.50","at":1899999000,
                "services":[{"port":554,"kind":"rtsp"},{"port":37777,"kind":"tcp"}]}]}"#,
        )
        .audit();
    let f = with_id(&report, "camera.detected");
    assert!(f[0].evidence.to_json().get("password_check").is_none());
}

// ---- remote viewing (conntrack) ----------------------------------------------------------------

trait WithFixes {
    fn report_with_fixes(&self) -> camguard::audit::Report;
}

impl WithFixes for Router {
    /// The report as every caller shows it: each finding with its fix.
    fn report_with_fixes(&self) -> camguard::audit::Report {
        let snap = self.snapshot();
        let inventory = camguard::facts::Inventory::build(&snap);
        camguard::plan::report_and_plan(&camguard::facts::Facts::new(&snap, &inventory)).0
    }
}

/// The router's connection tracking in the kernel's format: the camera's PPPP relay connection,
/// the NAS making the same connection, and the camera's ordinary HTTPS.
const CONNTRACK: &str = "\
ipv4     2 udp      17 175 src=192.168.1.64 dst=198.51.100.9 sport=40001 dport=32100 src=198.51.100.9 dst=203.0.113.2 sport=32100 dport=40001 [ASSURED] mark=0 zone=0 use=2
ipv4     2 udp      17 29 src=192.168.1.10 dst=198.51.100.9 sport=40001 dport=32100 [UNREPLIED] src=198.51.100.9 dst=203.0.113.2 sport=32100 dport=40001 mark=0 zone=0 use=2
ipv4     2 tcp      6 431999 ESTABLISHED src=192.168.1.64 dst=140.82.121.4 sport=51000 dport=443 src=140.82.121.4 dst=203.0.113.2 sport=443 dport=51000 [ASSURED] mark=0 zone=0 use=2
";

#[test]
fn a_cameras_relay_connection_is_remote_viewing_and_a_nas_one_is_not() {
    let report = Router::new()
        .dhcp_leases(&format!("{HIKVISION}{NAS}"))
        .file("/proc/net/nf_conntrack", CONNTRACK.as_bytes())
        .report_with_fixes();
    let f = with_id(&report, "camera.remote_viewing");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert_eq!(f[0].severity, Severity::Medium);
    assert!(
        f[0].detail.contains("PPPP") && f[0].detail.contains("32100"),
        "{}",
        f[0].detail
    );
    assert!(f[0].detail.contains("192.168.1.64"), "{}", f[0].detail);
    let evidence = f[0].evidence.to_json();
    assert_eq!(evidence["device"]["ip"], "192.168.1.64");
    assert_eq!(evidence["count"], 1, "the HTTPS connection is no relay");
    assert_eq!(evidence["confirmed"], true);
    assert!(evidence["source"].as_str().unwrap().contains("Marrapese"));
    // The fix: the device's internet 'block' in the policy, then the firewall rule.
    let fix = serde_json::to_string(&f[0].fix).unwrap();
    assert!(
        fix.contains("\"camguard\"") && fix.contains("REJECT"),
        "{fix}"
    );
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn remote_viewing_under_a_blocking_policy_takes_the_planned_block_as_its_fix() {
    let report = Router::new()
        .dhcp_leases(HIKVISION)
        .config(
            "camguard",
            "config camguard 'main'\n\toption camera_internet 'block'\n",
        )
        .file("/proc/net/nf_conntrack", CONNTRACK.as_bytes())
        .report_with_fixes();
    let f = with_id(&report, "camera.remote_viewing");
    assert_eq!(f.len(), 1);
    let fix = serde_json::to_string(&f[0].fix).unwrap();
    assert!(fix.contains("REJECT"), "{fix}");
    assert!(
        !fix.contains("\"camguard\""),
        "no policy change needed: {fix}"
    );
}

#[test]
fn no_conntrack_table_no_remote_viewing_and_a_bad_one_is_a_problem() {
    let report = Router::new().dhcp_leases(HIKVISION).audit();
    assert!(with_id(&report, "camera.remote_viewing").is_empty());
    let report = Router::new()
        .dhcp_leases(HIKVISION)
        .file("/proc/net/nf_conntrack", b"ipv4 2 udp 17 src=<script>\n")
        .audit();
    assert!(with_id(&report, "camera.remote_viewing").is_empty());
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.message.contains("not in the kernel's format")),
        "{:?}",
        report.problems
    );
}

// ---- firmware known to be exploited ------------------------------------------------------------

fn seen_with_sadp(model: &str, firmware: &str) -> Vec<u8> {
    format!(
        r#"{{"version":1,"devices":[],"probes":[{{"ip":"192.168.1.64","at":1795600000,"services":[],
            "info":{{"model":"{model}","firmware":"{firmware}","protocol":"SADP","at":1795600000}}}}]}}"#
    )
    .into_bytes()
}

#[test]
fn exploited_firmware_is_critical_with_its_cves_fix_and_sources() {
    let report = Router::new()
        .dhcp_leases(HIKVISION)
        .file(
            "/etc/camguard/seen.json",
            &seen_with_sadp("DS-2CD2142FWD-I", "V5.4.0 build 160530"),
        )
        .report_with_fixes();
    let f = with_id(&report, "camera.firmware_vulnerable");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert_eq!(f[0].severity, Severity::Critical);
    assert!(f[0].title.contains("CVE-2017-7921") && f[0].title.contains("CVE-2021-36260"));
    assert!(
        f[0].detail.contains("V5.4.0 build 160530"),
        "{}",
        f[0].detail
    );
    assert!(f[0].remedy.contains("5.4.41"), "{}", f[0].remedy);
    let evidence = f[0].evidence.to_json();
    assert_eq!(evidence["vulnerabilities"][0]["cve"], "CVE-2017-7921");
    assert!(evidence["vulnerabilities"][0]["advisory"]
        .as_str()
        .unwrap()
        .contains("KEV"));
    let fix = serde_json::to_string(&f[0].fix).unwrap();
    assert!(fix.contains("REJECT"), "{fix}");
    // Its model and firmware are known: no "could not learn" line.
    let detected = with_id(&report, "camera.detected");
    assert!(!detected[0].remedy.contains("could not learn"));
}

#[test]
fn onvif_device_information_names_the_maker_for_the_firmware_check() {
    // A Hikvision camera behind a MAC the OUI table does not know: ONVIF's answer names the
    // maker in capitals, as Hikvision's firmware writes it.
    let lease = "1795700000 02:1a:11:22:10:aa 192.168.1.64 garden-cam *\n";
    let seen = br#"{"version":1,"devices":[],"probes":[{"ip":"192.168.1.64","at":1795600000,"services":[],
        "info":{"model":"DS-2CD2142FWD-I","firmware":"V5.4.0 build 160530","manufacturer":"HIKVISION",
        "protocol":"ONVIF","at":1795600000}}]}"#;
    let report = Router::new()
        .dhcp_leases(lease)
        .file("/etc/camguard/seen.json", seen)
        .audit();
    let f = with_id(&report, "camera.firmware_vulnerable");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert!(
        f[0].detail.contains("from its ONVIF reply"),
        "{}",
        f[0].detail
    );
    // Another maker's name matches no Hikvision row.
    let other = String::from_utf8_lossy(seen).replace("HIKVISION", "Acme");
    let report = Router::new()
        .dhcp_leases(lease)
        .file("/etc/camguard/seen.json", other.as_bytes())
        .audit();
    assert!(with_id(&report, "camera.firmware_vulnerable").is_empty());
}

#[test]
fn a_discovery_reply_makes_a_device_a_camera_and_says_so() {
    // A device with a randomised MAC and a neutral name: only its SADP reply says what it is.
    let lease = "1795700000 02:1a:11:22:10:80 192.168.1.80 widget *\n";
    let seen = br#"{"version":1,"devices":[],"probes":[{"ip":"192.168.1.80","at":1795600000,"services":[],
        "info":{"model":"DS-7608NI-K2","firmware":"V4.30.085 build 200916","protocol":"SADP","at":1795600000}}]}"#;
    let without = Router::new().dhcp_leases(lease).audit();
    assert!(with_id(&without, "camera.detected").is_empty());
    let report = Router::new()
        .dhcp_leases(lease)
        .file("/etc/camguard/seen.json", seen)
        .audit();
    let f = with_id(&report, "camera.detected");
    assert_eq!(f.len(), 1, "{:?}", ids(&report));
    assert!(
        f[0].detail
            .contains("answers Hikvision's SADP discovery as \"DS-7608NI-K2\""),
        "{}",
        f[0].detail
    );
    assert!(f[0].title.contains("NVR"), "{}", f[0].title);
}

#[test]
fn fixed_or_unknown_firmware_is_no_finding_and_unknown_firmware_is_a_remedy_line() {
    let fixed = Router::new()
        .dhcp_leases(HIKVISION)
        .file(
            "/etc/camguard/seen.json",
            &seen_with_sadp("DS-2CD2143G0-I", "V5.5.800build 210628"),
        )
        .audit();
    assert!(with_id(&fixed, "camera.firmware_vulnerable").is_empty());
    let unknown = Router::new().dhcp_leases(HIKVISION).audit();
    assert!(with_id(&unknown, "camera.firmware_vulnerable").is_empty());
    let detected = with_id(&unknown, "camera.detected");
    assert!(
        detected[0].remedy.contains("could not learn its firmware"),
        "{}",
        detected[0].remedy
    );
    // A hostile "firmware" string matches nothing and is not echoed raw.
    let hostile = Router::new()
        .dhcp_leases(HIKVISION)
        .file(
            "/etc/camguard/seen.json",
            &seen_with_sadp("DS-2CD2142FWD-I", "<script>V5.4.0"),
        )
        .audit();
    assert!(with_id(&hostile, "camera.firmware_vulnerable").is_empty());
}
