//! What a LAN device can make camguard hold: a device that opens every port gets one counted
//! finding, and a plan revokes its mappings a bounded number at a time (issue 14). Memory and
//! time are measured by scripts/bench-memory, not here.
mod common;

use camguard::plan::{Step, MAX_REVOKES_PER_PLAN};
use common::*;

const HOSTILE: &str = "192.168.1.250";

/// `count` TCP mappings from port 1 up, all to one address.
fn every_port(addr: &str, count: u16) -> String {
    (1..=count)
        .map(|p| format!("TCP:{p}:{addr}:{p}:0:mapping {p}\n"))
        .collect()
}

fn revoked_ports(plan: &[camguard::plan::Action]) -> Vec<u16> {
    plan.iter()
        .filter_map(|a| match &a.step {
            Step::RevokeMapping { ext_port, .. } => Some(*ext_port),
            _ => None,
        })
        .collect()
}

#[test]
fn a_device_holding_every_port_gets_one_finding_that_counts_them() {
    let leases = every_port(HOSTILE, 65_535)
        + "UDP:3074:192.168.1.31:3074:0:xbox\nUDP:3075:192.168.1.31:3075:0:xbox\n";
    let report = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .dhcp_leases("1795700000 de:ad:be:ef:00:01 192.168.1.250 chatty *\n")
        .leases(&leases)
        .audit();
    let counted = with_id(&report, "upnp.device_mappings");
    assert_eq!(counted.len(), 1, "{:?}", ids(&report));
    let evidence = counted[0].evidence.to_json();
    assert_eq!(evidence["int_addr"], HOSTILE);
    assert_eq!(evidence["mappings"], 65_535);
    assert!(evidence["sample"].as_array().unwrap().len() <= 16);
    assert!(counted[0].title.contains("65535"), "{}", counted[0].title);
    // The console's two mappings are still listed one by one; none of the device's are.
    let single = with_id(&report, "upnp.mapping");
    assert_eq!(single.len(), 2);
    assert!(single
        .iter()
        .all(|f| f.evidence.to_json()["int_addr"] == "192.168.1.31"));
    let json = serde_json::to_vec(&report).unwrap();
    assert!(json.len() < 256 * 1024, "{} bytes", json.len());
}

#[test]
fn a_plan_revokes_a_bounded_number_of_mappings_and_the_next_plan_goes_on() {
    let total = 2 * MAX_REVOKES_PER_PLAN as u16 + 500;
    let mut r = Router::new()
        .config("upnpd", &upnpd(Some("1")))
        .dhcp_leases("1795700000 4c:bd:8f:22:10:aa 192.168.1.250 cam *\n")
        .leases(&every_port(HOSTILE, total))
        .config(
            "camguard",
            "config camguard 'main'\n\toption upnp 'restricted'\n",
        );
    let mut revoked = Vec::new();
    for round in 0.. {
        let plan = r.plan();
        let ports = revoked_ports(&plan);
        if ports.is_empty() {
            break;
        }
        assert!(
            ports.len() <= MAX_REVOKES_PER_PLAN,
            "round {round}: {}",
            ports.len()
        );
        if round == 0 {
            assert!(plan.iter().any(|a| matches!(&a.step,
                Step::UciAdd { name, .. } if name == "camguard_deny_192_168_1_250")));
        }
        revoked.extend(ports);
        r.apply(&plan);
        assert!(round < 5, "no progress");
    }
    revoked.sort_unstable();
    assert_eq!(revoked, (1..=total).collect::<Vec<_>>());
}
