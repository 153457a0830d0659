//! Every router root in ../shared/corpus — OpenWrt's own shipped defaults for 21.02 … 25.12 and
//! main, byte for byte (see its PROVENANCE.md) — audited as a reviewer would judge it: the
//! shipped configs are read whole and expose nothing; the owner switching the packaged
//! miniupnpd on, or forwarding a camera, is flagged.
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const NOW: &str = "1795608000";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// The branch roots: every corpus directory with an etc/config in it.
fn roots() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("../shared/corpus is there (CI has it too)")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("etc/config/firewall").is_file())
        .collect();
    roots.sort();
    assert!(roots.len() >= 6, "21.02 … 25.12 and main: {roots:?}");
    roots
}

fn audit(root: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_camguard"))
        .args([
            "audit",
            "--root",
            root.to_str().unwrap(),
            "--json",
            "--now",
            NOW,
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn ids(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A copy of a corpus root the test may change.
fn copy(root: &Path, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("corpus-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ok = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", root.display()))
        .arg(&dir)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    dir
}

/// The real uci CLI (scripts/build-uci), run on a copied root's configs.
fn uci_bin() -> PathBuf {
    let bin = std::env::var_os("CAMGUARD_UCI")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/uci/bin/uci"));
    assert!(bin.is_file(), "{}: run scripts/setup", bin.display());
    bin
}

fn uci(root: &Path, args: &[&str]) {
    let bin = uci_bin();
    // Changes are staged next to the copy, not in the host's shared /tmp/.uci.
    let save = root.join("tmp/.uci");
    std::fs::create_dir_all(&save).unwrap();
    let out = Command::new(bin)
        .arg("-c")
        .arg(root.join("etc/config"))
        .arg("-t")
        .arg(&save)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "uci {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shipped_defaults_are_read_whole_and_expose_nothing() {
    for root in roots() {
        let report = audit(&root);
        let name = root.file_name().unwrap().to_string_lossy();
        assert_eq!(
            report["coverage"]["complete"], true,
            "{name}: {:#}",
            report["coverage"]
        );
        let read: Vec<&str> = report["coverage"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["state"] == "read")
            .filter_map(|s| s["path"].as_str())
            .collect();
        for config in ["firewall", "dhcp", "dropbear", "upnpd", "uhttpd"] {
            assert!(
                read.contains(&format!("/etc/config/{config}").as_str()),
                "{name}: {config} not read: {read:?}"
            );
        }
        // Shipped: WAN input rejected, IPsec/DHCPv6/ICMP rules only, miniupnpd installed but
        // `enabled 0`, dropbear and uhttpd on the LAN side. Nothing a reviewer would raise.
        let serious: Vec<_> = ids(&report)
            .into_iter()
            .filter(|(_, s)| s == "critical" || s == "high" || s == "medium")
            .collect();
        assert!(serious.is_empty(), "{name}: {serious:?}");
        assert!(
            !ids(&report)
                .iter()
                .any(|(id, _)| id.starts_with("forward.")),
            "{name}: a shipped rule was taken for an exposure: {:?}",
            ids(&report)
        );
        // The release files are base-files' templates (%V): not a version to judge.
        assert_eq!(report["router"]["release"], Value::Null, "{name}");
        // The nft snippet fw4 ships holds only comments: not an include worth listing.
        assert!(report["coverage"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["state"] != "unsupported"));
    }
}

#[test]
fn switching_the_packaged_miniupnpd_on_is_flagged_on_every_release() {
    for root in roots() {
        let name = root.file_name().unwrap().to_string_lossy().into_owned();
        let copy = copy(&root, &format!("upnp-{name}"));
        uci(&copy, &["set", "upnpd.config.enabled=1"]);
        uci(&copy, &["commit", "upnpd"]);
        let report = audit(&copy);
        let upnp: Vec<&Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"] == "upnp.enabled")
            .collect();
        assert_eq!(upnp.len(), 1, "{name}: {:?}", ids(&report));
        // The package ships UPnP and NAT-PMP on in one daemon: one finding with both.
        assert_eq!(upnp[0]["evidence"]["enable_upnp"], true, "{name}");
        assert_eq!(upnp[0]["evidence"]["enable_natpmp"], true, "{name}");
        // Shipped secure_mode 1 and the deny-all last perm rule: no extra ACL finding.
        assert!(
            !ids(&report)
                .iter()
                .any(|(id, _)| id == "upnp.secure_mode_off"),
            "{name}"
        );
        // No policy file in a shipped root: no policy verdicts.
        assert!(upnp[0].get("policy").is_none(), "{name}: {:#}", upnp[0]);
    }
}

#[test]
fn a_camera_forward_added_with_uci_is_the_one_exposure() {
    for root in roots() {
        let name = root.file_name().unwrap().to_string_lossy().into_owned();
        let copy = copy(&root, &format!("fwd-{name}"));
        for set in [
            "firewall.cam=redirect",
            "firewall.cam.name=Camera RTSP",
            "firewall.cam.src=wan",
            "firewall.cam.dest=lan",
            "firewall.cam.proto=tcp",
            "firewall.cam.src_dport=554",
            "firewall.cam.dest_ip=192.168.1.64",
            "firewall.cam.dest_port=554",
            "firewall.cam.target=DNAT",
        ] {
            uci(&copy, &["set", set]);
        }
        uci(&copy, &["commit", "firewall"]);
        let report = audit(&copy);
        let forwards: Vec<_> = ids(&report)
            .into_iter()
            .filter(|(id, _)| id.starts_with("forward."))
            .collect();
        assert_eq!(
            forwards.len(),
            1,
            "{name}: one finding per exposure: {forwards:?}"
        );
        assert!(
            forwards[0].1 == "high" || forwards[0].1 == "critical",
            "{name}: RTSP to the internet: {forwards:?}"
        );
    }
}

/// The allowlist's identity of a forward survives renumbering (issue 13, item 4): on each
/// shipped firewall config, unnamed forwards are added with uci, an earlier one is deleted (the
/// later sections' `cfg…` IDs shift), and the plan still disables only what the owner did not
/// keep; an entry naming a shifting ID makes camguard leave every unnamed forward alone.
#[test]
fn an_allowlist_survives_renumbering_on_the_shipped_firewall() {
    let plan = |root: &Path| -> Vec<Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_camguard"))
            .args(["plan", "--root", root.to_str().unwrap(), "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
        plan["actions"].as_array().cloned().unwrap_or_default()
    };
    // The src_dport of every redirect the plan disables: what it does, not its shifting ID.
    let disabled_ports = |root: &Path, actions: &[Value]| -> Vec<String> {
        let sections = redirect_ports(root);
        let mut ports: Vec<String> = actions
            .iter()
            .filter(|a| a["config"] == "firewall" && a["option"] == "enabled")
            .map(|a| {
                let id = a["section"].as_str().unwrap();
                sections
                    .iter()
                    .find(|(s, _)| s == id)
                    .map(|(_, port)| port.clone())
                    .unwrap_or_else(|| panic!("{id} is not a redirect: {sections:?}"))
            })
            .collect();
        ports.sort();
        ports
    };
    for root in roots() {
        let name = root.file_name().unwrap().to_string_lossy().into_owned();
        let copy = copy(&root, &format!("renumber-{name}"));
        for (port, host) in [("2001", "10"), ("2002", "20"), ("2003", "30")] {
            uci(&copy, &["add", "firewall", "redirect"]);
            for (option, value) in [
                ("src", "wan"),
                ("dest", "lan"),
                ("proto", "tcp"),
                ("src_dport", port),
                ("dest_ip", &format!("192.168.1.{host}")),
                ("dest_port", "80"),
                ("target", "DNAT"),
            ] {
                uci(
                    &copy,
                    &["set", &format!("firewall.@redirect[-1].{option}={value}")],
                );
            }
        }
        for set in [
            "firewall.old=redirect",
            "firewall.old.name=Old game",
            "firewall.old.src=wan",
            "firewall.old.proto=udp",
            "firewall.old.src_dport=2004",
            "firewall.old.dest_ip=192.168.1.40",
            "firewall.old.target=DNAT",
        ] {
            uci(&copy, &["set", set]);
        }
        uci(&copy, &["commit", "firewall"]);
        let by_content = "\nconfig camguard 'main'\n\toption forwards 'allowlist'\n\n\
                          config allow_forward\n\toption proto 'tcp'\n\toption src_dport '2002'\n\
                          \toption dest_ip '192.168.1.20'\n\toption dest_port '80'\n";
        std::fs::write(copy.join("etc/config/camguard"), by_content).unwrap();
        assert_eq!(
            disabled_ports(&copy, &plan(&copy)),
            ["2001", "2003", "2004"],
            "{name}: the kept forward is the one on 2002"
        );
        // The owner deletes an unrelated earlier forward: every later cfg ID shifts.
        uci(&copy, &["delete", "firewall.@redirect[0]"]);
        uci(&copy, &["commit", "firewall"]);
        assert_eq!(
            disabled_ports(&copy, &plan(&copy)),
            ["2003", "2004"],
            "{name}: after renumbering, still not the forward on 2002"
        );
        // An entry naming today's ID of the 2003 forward: reported, and no unnamed forward is
        // disabled, since camguard cannot tell which one it meant; the named one still is.
        let id = redirect_ports(&copy)
            .into_iter()
            .find(|(_, port)| port == "2003")
            .unwrap()
            .0;
        std::fs::write(
            copy.join("etc/config/camguard"),
            format!("{by_content}\nconfig allow_forward\n\toption redirect '{id}'\n"),
        )
        .unwrap();
        assert_eq!(disabled_ports(&copy, &plan(&copy)), ["2004"], "{name}");
        let report = audit(&copy);
        assert!(
            ids(&report)
                .iter()
                .any(|(f, _)| f == "policy.allow_forward_ambiguous"),
            "{name}: {:?}",
            ids(&report)
        );
    }
}

/// (section ID, src_dport) of every redirect, with the IDs libuci gives anonymous sections,
/// read with the real uci CLI (`-X show`).
fn redirect_ports(root: &Path) -> Vec<(String, String)> {
    let out = Command::new(uci_bin())
        .arg("-c")
        .arg(root.join("etc/config"))
        .arg("-t")
        .arg(root.join("tmp/.uci"))
        .args(["-X", "show", "firewall"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .filter_map(|l| l.strip_suffix("=redirect")?.strip_prefix("firewall."))
        .map(|id| {
            let key = format!("firewall.{id}.src_dport='");
            let port = text
                .lines()
                .find_map(|l| l.strip_prefix(&key)?.strip_suffix('\''))
                .unwrap_or_default();
            (id.to_owned(), port.to_owned())
        })
        .collect()
}
