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
fn uci(root: &Path, args: &[&str]) {
    let bin = std::env::var_os("CAMGUARD_UCI")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/uci/bin/uci"));
    assert!(bin.is_file(), "{}: run scripts/setup", bin.display());
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
