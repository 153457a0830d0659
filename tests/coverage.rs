//! Coverage: an audit says what it could not read, and never calls that clean. Each test builds
//! the broken router a user actually sent or could send (an empty root, a symbolic-link loop, a
//! backup without configs, a FIFO, an oversized lease file, a firewall with a syntax error) and
//! runs the binary on it as the user would.
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

const NOW: &str = "1795608000";

fn camguard(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_camguard"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("camguard starts");
    let pid = child.id();
    // A hang is the failure some of these tests look for: bound it instead of hanging CI.
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    match result.recv_timeout(Duration::from_secs(30)) {
        Ok(output) => output.expect("output"),
        Err(_) => {
            // SAFETY: kill(2) on the child this test started.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("camguard {args:?} did not finish within 30 s");
        }
    }
}

/// A fresh directory under the target dir, empty.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("coverage-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(root: &Path, path: &str, text: &[u8]) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// OpenWrt 24.10's shipped configs (the corpus), copied into `root`.
fn shipped_24_10(root: &Path) {
    copy_corpus(root);
    // The packaged miniupnpd ships `enabled 0`; these routers run it.
    let upnpd = root.join("etc/config/upnpd");
    let text = std::fs::read_to_string(&upnpd).unwrap();
    std::fs::write(
        &upnpd,
        text.replacen("option enabled\t\t0", "option enabled\t\t1", 1),
    )
    .unwrap();
}

fn copy_corpus(root: &Path) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/openwrt-24.10");
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", corpus.display()))
        .arg(root)
        .status()
        .unwrap();
    assert!(status.success(), "copy {}", corpus.display());
}

fn audit_json(root: &Path) -> (Value, Option<i32>) {
    let out = camguard(&[
        "audit",
        "--root",
        root.to_str().unwrap(),
        "--json",
        "--now",
        NOW,
    ]);
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (report, out.status.code())
}

fn audit_text(root: &Path) -> String {
    let out = camguard(&["audit", "--root", root.to_str().unwrap(), "--now", NOW]);
    String::from_utf8(out.stdout).unwrap()
}

fn fail_on_critical(root: &Path) -> Option<i32> {
    camguard(&[
        "audit",
        "--root",
        root.to_str().unwrap(),
        "--fail-on",
        "critical",
        "--now",
        NOW,
    ])
    .status
    .code()
}

fn source<'a>(report: &'a Value, path: &str) -> &'a Value {
    report["coverage"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["path"] == path)
        .unwrap_or_else(|| panic!("no coverage entry for {path}: {:#}", report["coverage"]))
}

/// What every incomplete audit must do: say so first, and never read as clean.
fn assert_incomplete(root: &Path, gap: &str) {
    let (report, _) = audit_json(root);
    assert_eq!(
        report["coverage"]["complete"], false,
        "{:#}",
        report["coverage"]
    );
    let text = audit_text(root);
    let opening: String = text.lines().skip(2).take(6).collect::<Vec<_>>().join(" ");
    assert!(
        opening.contains("Incomplete audit:") && opening.contains(gap),
        "the report must open with the gap ({gap}):\n{text}"
    );
    assert!(text.contains("(incomplete)"), "{text}");
    assert!(!text.contains("Nothing exposes this network."), "{text}");
    assert_eq!(
        fail_on_critical(root),
        Some(1),
        "--fail-on critical on an incomplete audit"
    );
}

#[test]
fn a_root_without_configs_is_incomplete_not_a_hundred() {
    let root = scratch("empty");
    std::fs::create_dir(root.join("etc")).unwrap();
    assert_incomplete(&root, "/etc/config/firewall could not be read");
}

#[test]
fn a_symlink_loop_for_etc_config_is_incomplete() {
    let root = scratch("loop");
    std::fs::create_dir(root.join("etc")).unwrap();
    std::os::unix::fs::symlink("config", root.join("etc/config")).unwrap();
    let (report, _) = audit_json(&root);
    let firewall = source(&report, "/etc/config/firewall");
    assert_eq!(firewall["state"], "unreadable");
    assert!(
        firewall["detail"].as_str().unwrap().contains("loop"),
        "{firewall:#}"
    );
    assert_incomplete(&root, "/etc/config/firewall could not be read");
}

#[test]
fn a_backup_without_etc_config_is_incomplete() {
    let dir = scratch("backup");
    write(&dir, "tree/etc/passwd", b"root:x:0:0:root:/root:/bin/ash\n");
    let archive = dir.join("backup-router.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.join("tree"))
        .arg("etc")
        .status()
        .unwrap();
    assert!(status.success());
    let out = camguard(&[
        "audit",
        "--backup",
        archive.to_str().unwrap(),
        "--json",
        "--now",
        NOW,
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["coverage"]["complete"], false);
    assert_eq!(
        source(&report, "/etc/config/firewall")["state"],
        "unreadable"
    );
    let out = camguard(&[
        "audit",
        "--backup",
        archive.to_str().unwrap(),
        "--fail-on",
        "critical",
    ]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_firewall_with_a_syntax_error_is_named_with_its_line_and_fails_the_gate() {
    let root = scratch("syntax");
    shipped_24_10(&root);
    let firewall = root.join("etc/config/firewall");
    let mut text = std::fs::read_to_string(&firewall).unwrap();
    text.push_str("\nconfig redirect\n\toption name 'cam\n");
    std::fs::write(&firewall, text).unwrap();
    let (report, _) = audit_json(&root);
    let entry = source(&report, "/etc/config/firewall");
    assert_eq!(entry["state"], "unreadable");
    // libuci reads a quoted value across lines, so it fails at the end of the file.
    let detail = entry["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("line ") && detail.contains("unterminated"),
        "{entry:#}"
    );
    assert_incomplete(&root, "/etc/config/firewall could not be read (line");
}

/// The case: the firewall cannot be parsed, but the lease file still says what
/// miniupnpd opened, and that is still audited.
#[test]
fn an_unparsable_upnpd_config_still_lets_the_lease_file_be_audited() {
    let root = scratch("upnpd-broken");
    shipped_24_10(&root);
    write(
        &root,
        "/etc/config/upnpd",
        b"config upnpd 'config'\n\toption enabled '1\n",
    );
    write(
        &root,
        "/var/run/miniupnpd.leases",
        b"TCP:8554:192.168.1.50:554:1795600000:camera rtsp\n",
    );
    let (report, _) = audit_json(&root);
    assert_eq!(source(&report, "/etc/config/upnpd")["state"], "unreadable");
    let mappings: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "upnp.mapping")
        .collect();
    assert_eq!(mappings.len(), 1, "{:#}", report["findings"]);
    assert_eq!(mappings[0]["evidence"]["ext_port"], 8554);
}

#[test]
fn a_fifo_for_a_lease_file_is_refused_without_blocking() {
    let root = scratch("fifo");
    shipped_24_10(&root);
    std::fs::create_dir_all(root.join("var/run")).unwrap();
    let fifo = root.join("var/run/miniupnpd.leases");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
    // camguard() panics if the audit does not finish: a FIFO nobody writes blocks open(2).
    let (report, _) = audit_json(&root);
    let entry = source(&report, "/var/run/miniupnpd.leases");
    assert_eq!(entry["state"], "unreadable", "{entry:#}");
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("not a regular file"),
        "{entry:#}"
    );
    assert_eq!(report["coverage"]["complete"], false);
}

#[test]
fn an_oversized_lease_file_is_read_up_to_the_bound_and_marked_truncated() {
    let root = scratch("big-leases");
    shipped_24_10(&root);
    // The camera's mapping is the first line; a flood of lines follows it.
    let mut leases = b"TCP:8554:192.168.1.50:554:0:camera rtsp\n".to_vec();
    // Long descriptions keep the line count (and the test's time) small; the bytes are what
    // the bound is about.
    let filler = format!("UDP:40000:192.168.1.77:40000:0:{}\n", "g".repeat(8000));
    while leases.len() as u64 <= camguard::source::MAX_FILE {
        leases.extend_from_slice(filler.as_bytes());
    }
    write(&root, "/var/run/miniupnpd.leases", &leases);
    let (report, _) = audit_json(&root);
    let entry = source(&report, "/var/run/miniupnpd.leases");
    assert_eq!(entry["state"], "truncated", "{entry:#}");
    assert_eq!(report["coverage"]["complete"], false);
    let camera = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "upnp.mapping" && f["evidence"]["ext_port"] == 8554);
    assert!(camera, "the first line's mapping must survive the cut");
    assert_incomplete(&root, "/var/run/miniupnpd.leases was read only in part");
}

#[test]
fn an_old_lease_file_is_stale_and_the_report_states_the_snapshot_age() {
    let root = scratch("stale");
    shipped_24_10(&root);
    write(
        &root,
        "/var/run/miniupnpd.leases",
        b"TCP:8080:192.168.1.60:80:0:web\n",
    );
    let three_days = 1_795_608_000 - 3 * 86_400;
    let status = Command::new("find")
        .arg(&root)
        .args(["-type", "f", "-exec", "touch", "-d"])
        .arg(format!("@{three_days}"))
        .args(["{}", "+"])
        .status()
        .unwrap();
    assert!(status.success());
    let (report, _) = audit_json(&root);
    assert_eq!(
        source(&report, "/var/run/miniupnpd.leases")["state"],
        "stale"
    );
    // Stale is a warning about time, not a gap in what was read.
    assert_eq!(report["coverage"]["complete"], true);
    let text = audit_text(&root);
    assert!(text.contains("3 days before the audit's time"), "{text}");
}

#[test]
fn include_scripts_with_rules_are_listed_as_not_audited() {
    let root = scratch("include");
    shipped_24_10(&root);
    write(
        &root,
        "/etc/nftables.d/20-camera.nft",
        b"chain user_pre_forward {\n\ttype filter hook forward priority -1;\n\tip daddr 192.168.1.50 accept\n}\n",
    );
    let (report, _) = audit_json(&root);
    let entry = source(&report, "/etc/nftables.d/20-camera.nft");
    assert_eq!(entry["state"], "unsupported");
    // The shipped snippet is comments only: it opens nothing and is not listed.
    let shipped = report["coverage"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["path"] == "/etc/nftables.d/10-custom-filter-chains.nft");
    assert!(!shipped);
    assert!(audit_text(&root).contains("Not audited: /etc/nftables.d/20-camera.nft"));
}

#[test]
fn an_oversized_neighbour_table_is_read_up_to_the_bound_and_marked_truncated() {
    use camguard::formats::neighbours::MAX_PROC_NET_ARP_BYTES;
    let root = scratch("big-arp");
    shipped_24_10(&root);
    // The corpus has no network config: the LAN on br-lan, so that the table's entries count.
    write(
        &root,
        "/etc/config/network",
        b"config interface 'lan'\n\toption device 'br-lan'\n\toption proto 'static'\n\
          \toption ipaddr '192.168.1.1'\n\toption netmask '255.255.255.0'\n",
    );
    // A Hikvision camera first, then a flood of entries (a LAN host cycling addresses).
    let mut arp =
        b"IP address       HW type     Flags       HW address            Mask     Device\n\
        192.168.1.64     0x1         0x2         4c:bd:8f:10:20:30     *        br-lan\n"
            .to_vec();
    let mut i = 0u32;
    while arp.len() <= MAX_PROC_NET_ARP_BYTES {
        let [_, _, a, b] = (0x0a00_0000 + i).to_be_bytes();
        arp.extend_from_slice(
            format!("10.0.{a}.{b}       0x1         0x2         02:00:00:00:{a:02x}:{b:02x}     *        br-lan\n")
                .as_bytes(),
        );
        i += 1;
    }
    write(&root, "/proc/net/arp", &arp);
    let (report, _) = audit_json(&root);
    let entry = source(&report, "/proc/net/arp");
    assert_eq!(entry["state"], "truncated", "{entry:#}");
    assert_eq!(report["coverage"]["complete"], false);
    let camera = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["id"] == "camera.detected" && f.to_string().contains("192.168.1.64"));
    assert!(camera, "the first entry's camera must survive the cut");
    // Within the bound the table is read whole.
    arp.truncate(MAX_PROC_NET_ARP_BYTES / 2);
    let whole = arp.iter().rposition(|b| *b == b'\n').unwrap() + 1;
    arp.truncate(whole);
    write(&root, "/proc/net/arp", &arp);
    let (report, _) = audit_json(&root);
    assert_eq!(source(&report, "/proc/net/arp")["state"], "read");
}
