//! The live audit reads fw4's table over nf_tables netlink instead of `nft -j list table inet
//! fw4`: it must see the same facts. A network namespace gets the fw4 fixture ruleset (OpenWrt
//! 24.10's shapes: sets, vmaps, redirects of every kind, MAC blocks) and UPnP mappings written in
//! nft's syntax; the test then reads it both ways and compares rule by rule. (The raw
//! expressions the real miniupnpd writes are compared in tests/e2e_miniupnpd.rs.)
//! Needs root, ip and nft (scripts/setup installs them).
use std::process::Command;

use camguard::facts::mappings::pair_forward_rules;
use camguard::formats::nft::{parse_ruleset, Ruleset};
use camguard::source::nftables::{read_table, Chains};
use serde_json::Value;

/// Set in the copy of this test that runs inside the namespace and prints what it read.
const CHILD: &str = "CAMGUARD_NETLINK_CHILD";

fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// One rule's facts, with `unmodelled` reduced to whether there is any: netlink hands nft's
/// raw form (`@nh,96,32`) where nft prints `ip saddr`, so the text differs, not the meaning.
fn facts(ruleset: &Ruleset) -> Vec<Value> {
    ruleset
        .rules
        .iter()
        .map(|r| {
            let mut v = serde_json::to_value(r).unwrap();
            let narrower = v["unmodelled"].as_array().is_some_and(|u| !u.is_empty());
            v["unmodelled"] = Value::Bool(narrower);
            v
        })
        .collect()
}

fn read(chains: Chains<'_>) -> Option<Ruleset> {
    read_table("fw4", chains, |dump| {
        camguard::formats::nft::parse_ruleset_items(dump)
    })
    .unwrap()
    .map(Result::unwrap)
}

/// Inside the namespace: read the table both ways and compare.
fn compare_in_namespace() {
    let by_nft =
        parse_ruleset(&run(&["nft", "-j", "list", "table", "inet", "fw4"]).stdout).unwrap();
    let by_netlink = read(Chains::All).expect("the fw4 table is there");
    assert_eq!(
        serde_json::to_value(&by_netlink.chains).unwrap(),
        serde_json::to_value(&by_nft.chains).unwrap(),
        "the same chains, handles included"
    );
    let (ours, theirs) = (facts(&by_netlink), facts(&by_nft));
    assert_eq!(ours.len(), theirs.len(), "the same number of rules");
    assert!(ours.len() > 100, "the fixture and the mappings are there");
    let differ: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("netlink {a}\n    nft {b}"))
        .collect();
    assert!(
        differ.is_empty(),
        "rules read over netlink differ from nft's:\n{}",
        differ.join("\n")
    );
    assert_eq!(by_netlink.upnp_redirects(), by_nft.upnp_redirects());
    assert_eq!(
        pair_forward_rules(&by_netlink).collect::<Vec<_>>(),
        pair_forward_rules(&by_nft).collect::<Vec<_>>()
    );
    assert_eq!(by_netlink.fw4_rule_names(), by_nft.fw4_rule_names());
    assert!(by_netlink.upnp_redirects().len() >= 52);

    // Only miniupnpd's chains: their rules, nothing else, paired the same way.
    let upnp = read(Chains::Only(&["upnp_forward", "upnp_prerouting"])).unwrap();
    assert!(upnp.rules.iter().all(|r| r.chain.starts_with("upnp_")));
    assert_eq!(
        pair_forward_rules(&upnp).collect::<Vec<_>>(),
        pair_forward_rules(&by_nft).collect::<Vec<_>>()
    );
    assert!(
        read_table("no_such_table", Chains::All, |_| ())
            .unwrap()
            .is_none(),
        "a missing table reads as none"
    );
}

#[test]
fn netlink_reads_the_same_facts_as_nft() {
    if std::env::var_os(CHILD).is_some() {
        compare_in_namespace();
        return;
    }
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "needs root (CI runs it as root)"
    );
    let ns = Netns(format!("cgnl{}", std::process::id()));
    run(&["ip", "netns", "add", &ns.0]);
    run(&["ip", "-n", &ns.0, "link", "set", "lo", "up"]);
    let repo = env!("CARGO_MANIFEST_DIR");
    let fixture = format!("{repo}/tests/fixtures/nft/fw4-openwrt-24.10.nft");
    run(&["ip", "netns", "exec", &ns.0, "nft", "-f", &fixture]);
    let mut rules = String::new();
    for i in 0..50u16 {
        let port = 20000 + i;
        let host = 10 + i % 3;
        rules.push_str(&format!(
            "add rule inet fw4 upnp_prerouting iif \"lo\" ip protocol udp udp dport {port} dnat ip to 192.168.1.{host}:{port}\n\
             add rule inet fw4 upnp_forward iif \"lo\" ip daddr 192.168.1.{host} udp dport {port} accept\n"
        ));
    }
    // Two mappings to one host and port (identical accept rules), and one with a remote host.
    rules.push_str(
        "add rule inet fw4 upnp_prerouting iif \"lo\" ip protocol tcp tcp dport 30001 dnat ip to 192.168.1.20:80\n\
         add rule inet fw4 upnp_prerouting iif \"lo\" ip protocol tcp tcp dport 30002 dnat ip to 192.168.1.20:80\n\
         add rule inet fw4 upnp_forward iif \"lo\" ip daddr 192.168.1.20 tcp dport 80 accept\n\
         add rule inet fw4 upnp_forward iif \"lo\" ip daddr 192.168.1.20 tcp dport 80 accept\n\
         add rule inet fw4 upnp_forward iif \"lo\" ip saddr 203.0.113.9 ip daddr 192.168.1.21 tcp dport 22 accept comment \"ssh\"\n",
    );
    let file = std::env::temp_dir().join(format!("camguard-nl-{}.nft", std::process::id()));
    std::fs::write(&file, rules).unwrap();
    run(&[
        "ip",
        "netns",
        "exec",
        &ns.0,
        "nft",
        "-f",
        file.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_file(&file);
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "netlink_reads_the_same_facts_as_nft",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
}
