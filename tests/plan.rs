//! The planner: what enforcing each policy would do, that it touches only what it must, and that
//! it is idempotent (empty right after its own actions are applied).
mod common;

use camguard::plan::{Action, Step};
use common::*;

fn kinds(plan: &[Action]) -> Vec<String> {
    plan.iter()
        .map(|a| match &a.step {
            Step::UciSet {
                config,
                section,
                option,
                value,
            } => format!("set {config}.{section}.{option}={value:?}"),
            Step::UciDelete {
                config,
                section,
                option,
            } => format!("delete {config}.{section}.{option:?}"),
            Step::UciAdd { config, name, .. } => format!("add {config}.{name}"),
            Step::UciOrder { config, .. } => format!("order {config}"),
            Step::Service { name, action } => format!("{action} {name}"),
            Step::TruncateFile { path } => format!("truncate {path}"),
            Step::RevokeMapping {
                proto, ext_port, ..
            } => format!("revoke {}/{ext_port}", proto.as_str()),
            Step::RestoreMappings { lost } => format!("restore {lost} mappings"),
        })
        .collect()
}

fn policy(upnp: &str, forwards: &str, camera_internet: &str) -> String {
    format!(
        "config camguard 'main'\n\toption upnp '{upnp}'\n\toption forwards '{forwards}'\n\toption camera_internet '{camera_internet}'\n"
    )
}

const CAMERA: &str = "1795700000 4c:bd:8f:22:10:aa 192.168.1.64 garden-cam *\n1795700000 7c:ed:8d:44:21:9a 192.168.1.31 XboxOne *\n";

/// Applies the plan, then plans again: a compliant router has nothing left to do.
fn assert_idempotent(mut r: Router) -> Router {
    let first = r.plan();
    r.apply(&first);
    let second = r.plan();
    assert!(
        second.is_empty(),
        "after {:#?}\nstill planned {:#?}",
        kinds(&first),
        kinds(&second)
    );
    r
}

#[test]
fn a_compliant_router_has_an_empty_plan() {
    assert!(Router::new().plan().is_empty());
    assert!(Router::new()
        .config("upnpd", &upnpd(Some("0")))
        .plan()
        .is_empty());
}

#[test]
fn upnp_off_commits_enabled_0_stops_disables_and_empties_the_leases_in_that_order() {
    let r = Router::new()
        .config("upnpd", &upnpd(None))
        .file("/etc/init.d/miniupnpd", b"#!/bin/sh\n")
        .file("/etc/rc.d/S94miniupnpd", b"")
        .leases("TCP:8080:192.168.1.10:8080:0:x\n")
        .config("camguard", &policy("off", "allow", "allow"));
    let plan = r.plan();
    assert_eq!(
        kinds(&plan),
        [
            "set upnpd.config.enabled=Single(\"0\")",
            "stop miniupnpd",
            "disable miniupnpd",
            "truncate /var/run/miniupnpd.leases"
        ]
    );
    assert!(plan[1].why.contains("flushes"), "{}", plan[1].why);
    let after = assert_idempotent(r);
    assert!(!camguard::audit::audit(&after.snapshot())
        .findings
        .iter()
        .any(|f| f.id == "upnp.enabled"));
}

#[test]
fn upnp_restricted_denies_cameras_before_every_allow_rule_and_revokes_their_mappings() {
    let r = Router::new()
        .config(
            "upnpd",
            &upnpd(Some("1")).replace("option secure_mode '1'", "option secure_mode '0'"),
        )
        .dhcp_leases(CAMERA)
        .leases("TCP:18000:192.168.1.64:8000:0:cam\nUDP:3074:192.168.1.31:3074:0:xbox\n")
        .config("camguard", &policy("restricted", "allow", "allow"));
    let plan = r.plan();
    let k = kinds(&plan);
    assert_eq!(
        k[0], "revoke TCP/18000",
        "revoke first, so no restart resurrects it: {k:?}"
    );
    assert!(
        !k.iter().any(|s| s.contains("3074")),
        "the console keeps its mapping: {k:?}"
    );
    assert!(k.contains(&"set upnpd.config.secure_mode=Single(\"1\")".to_owned()));
    assert!(k.contains(&"add upnpd.camguard_deny_192_168_1_64".to_owned()));
    assert!(k.contains(&"order upnpd".to_owned()));
    let after = assert_idempotent(r);
    // The deny rule now sits before the shipped allow rule, and miniupnpd's verdict agrees.
    let snap = after.snapshot();
    let cfg = snap.upnp.config.as_ref().unwrap();
    assert_eq!(cfg.perm_rules[0].section, "camguard_deny_192_168_1_64");
    let rules = &cfg.perm_rules;
    use camguard::snapshot::upnpd::perm_allows;
    assert!(!perm_allows(
        rules,
        18000,
        "192.168.1.64".parse().unwrap(),
        8000
    ));
    assert!(perm_allows(
        rules,
        3074,
        "192.168.1.31".parse().unwrap(),
        3074
    ));
}

#[test]
fn a_final_deny_is_added_when_the_rules_lack_one() {
    let cfg = "config upnpd 'config'\n\toption enabled '1'\n\nconfig perm_rule 'high'\n\toption action 'allow'\n\toption ext_ports '1024-65535'\n\toption int_addr '0.0.0.0/0'\n\toption int_ports '1024-65535'\n";
    let r = Router::new()
        .config("upnpd", cfg)
        .config("camguard", &policy("restricted", "allow", "allow"));
    assert!(kinds(&r.plan()).contains(&"add upnpd.camguard_final_deny".to_owned()));
    let after = assert_idempotent(r);
    let snap = after.snapshot();
    assert!(snap
        .upnp
        .config
        .as_ref()
        .unwrap()
        .perm_rules
        .last()
        .unwrap()
        .is_catch_all_deny());
}

#[test]
fn violating_forwards_are_disabled_never_deleted() {
    let fw = format!(
        "{DEFAULT_FIREWALL}\n{}\n{}",
        redirect(&[
            ("name", "Plex"),
            ("src", "wan"),
            ("src_dport", "32400"),
            ("dest_ip", "192.168.1.10")
        ]),
        redirect(&[
            ("name", "DVR"),
            ("src", "wan"),
            ("dest_ip", "192.168.1.108")
        ]),
    );
    let camguard = format!(
        "{}\nconfig allow_forward\n\toption redirect 'Plex'\n",
        policy("allow", "allowlist", "allow")
    );
    let r = Router::new()
        .config("firewall", &fw)
        .config("camguard", &camguard);
    let plan = r.plan();
    assert_eq!(plan.len(), 1, "{:?}", kinds(&plan));
    assert!(
        matches!(&plan[0].step, Step::UciSet { option, value, .. } if option == "enabled" && *value == "0".into())
    );
    let after = assert_idempotent(r);
    let text = String::from_utf8(after.read_file("/etc/config/firewall").unwrap()).unwrap();
    assert!(
        text.contains("option name 'DVR'"),
        "the section is still there"
    );
}

#[test]
fn camera_internet_block_adds_camguards_own_rule_and_revert_of_policy_removes_it() {
    let r = Router::new()
        .dhcp_leases(CAMERA)
        .config("camguard", &policy("allow", "allow", "block"));
    let plan = r.plan();
    assert_eq!(kinds(&plan), ["add firewall.camguard_block_4cbd8f2210aa"]);
    let Step::UciAdd { values, .. } = &plan[0].step else {
        unreachable!()
    };
    assert_eq!(values["src_mac"], "4C:BD:8F:22:10:AA".into());
    assert_eq!(values["target"], "REJECT".into());
    let mut after = assert_idempotent(r);
    assert!(
        after
            .audit()
            .findings
            .iter()
            .all(|f| f.id != "camera.internet"),
        "the block rule is recognised"
    );
    // The owner allows internet again: camguard removes its own rule, and only that.
    after = after.config("camguard", &policy("allow", "allow", "allow"));
    assert_eq!(
        kinds(&after.plan()),
        ["delete firewall.camguard_block_4cbd8f2210aa.None"]
    );
}

#[test]
fn device_sections_override_the_class_based_policy() {
    let devices = "config device\n\toption mac '7c:ed:8d:44:21:9a'\n\toption upnp 'deny'\n\toption internet 'block'\n";
    let r = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .dhcp_leases(CAMERA)
        .config(
            "camguard",
            &format!("{}\n{devices}", policy("restricted", "allow", "allow")),
        );
    let k = kinds(&r.plan());
    assert!(
        k.contains(&"add upnpd.camguard_deny_192_168_1_31".to_owned()),
        "{k:?}"
    );
    assert!(
        k.contains(&"add firewall.camguard_block_7ced8d44219a".to_owned()),
        "{k:?}"
    );
    assert_idempotent(r);
}

#[test]
fn an_unreadable_config_is_never_enforced() {
    let r = Router::bare()
        .config("firewall", "config zone\n\toption name 'wan\n")
        .config("upnpd", &upnpd(Some("1")))
        .config("camguard", &policy("off", "off", "block"));
    assert!(kinds(&r.plan()).iter().all(|k| !k.contains("firewall")));
    let r = Router::new()
        .config(
            "camguard",
            "config camguard 'main'\n\toption upnp 'sometimes'\n",
        )
        .config("upnpd", &upnpd(Some("1")));
    assert!(r.plan().is_empty(), "an invalid policy enforces nothing");
}

#[test]
fn findings_carry_the_actions_that_fix_them() {
    let r = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .config("camguard", &policy("off", "allow", "allow"));
    let snap = r.snapshot();
    let inventory = camguard::facts::Inventory::build(&snap);
    let ctx = camguard::facts::Facts::new(&snap, &inventory);
    let mut report = camguard::audit::audit_with(&ctx);
    camguard::plan::attach_fixes(&mut report.findings, &camguard::plan::plan(&ctx));
    let enabled = report
        .findings
        .iter()
        .find(|f| f.id == "upnp.enabled")
        .unwrap();
    let fix = enabled.fix.as_ref().expect("a fix");
    assert_eq!(fix["actions"][0]["kind"], "uci_set");
}

/// Property: for generated routers (random mixes of UPnP config, perm rules, forwards, cameras,
/// leases and policies), applying the plan leaves nothing to plan.
#[test]
fn plan_is_idempotent_on_generated_routers() {
    let mut rng = Rng(0xc0ffee);
    for round in 0..300 {
        let mut fw = DEFAULT_FIREWALL.to_owned();
        for i in 0..rng.below(5) {
            let dport = if rng.chance(20) {
                String::new()
            } else {
                format!("\toption src_dport '{}'\n", 1000 + rng.below(60000))
            };
            fw.push_str(&format!(
                "\nconfig redirect 'r{i}'\n\toption name 'fwd{i}'\n\toption src 'wan'\n{dport}\toption dest_ip '192.168.1.{}'\n{}",
                10 + rng.below(100),
                if rng.chance(30) { "\toption enabled '0'\n" } else { "" }
            ));
        }
        let mut dhcp = String::new();
        let mut leases = String::new();
        for i in 0..rng.below(8) {
            let oui = *rng.pick(&["4c:bd:8f", "ec:71:db", "00:11:32", "7c:ed:8d", "a2:5b:93"]);
            let ip = format!("192.168.1.{}", 10 + i * 7);
            dhcp.push_str(&format!("1795700000 {oui}:00:00:{i:02x} {ip} host{i} *\n"));
            if rng.chance(60) {
                let p = 1024 + rng.below(50000);
                leases.push_str(&format!(
                    "{}:{p}:{ip}:{p}:0:m{i}\n",
                    rng.pick(&["TCP", "UDP"])
                ));
            }
        }
        let upnp = *rng.pick(&["off", "restricted", "allow"]);
        let forwards = *rng.pick(&["off", "allowlist", "no_cameras", "allow"]);
        let internet = *rng.pick(&["allow", "block"]);
        let mut cfg = upnpd(if rng.chance(50) { Some("1") } else { None });
        if rng.chance(30) {
            cfg = cfg.replace("option secure_mode '1'", "option secure_mode '0'");
        }
        if rng.chance(30) {
            cfg = cfg.replace("\toption action 'deny'", "\toption action 'allow'");
        }
        let r = Router::new()
            .config("firewall", &fw)
            .config("upnpd", &cfg)
            .dhcp_leases(&dhcp)
            .leases(&leases)
            .config(
                "camguard",
                &format!(
                    "{}\nconfig allow_forward\n\toption redirect 'fwd1'\n",
                    policy(upnp, forwards, internet)
                ),
            );
        let first = r.plan();
        let mut applied = r.clone();
        applied.apply(&first);
        let second = applied.plan();
        assert!(
            second.is_empty(),
            "round {round} ({upnp}/{forwards}/{internet}): still planned {:?}",
            kinds(&second)
        );
    }
}
