//! Memory against issue 14: peak (VmHWM) and resident (VmRSS) of camguard on routers whose LAN
//! wrote 10 / 1,000 / 5,000 / 10,000 UPnP mappings, each with the matching `nft -j list ruleset`
//! (fw4's own rules from tests/fixtures/nft plus miniupnpd's two rules per mapping), and a device
//! that opened 65,535 mappings on top of 5,000 others.
//!
//! - offline: `camguard audit --root ROOT`, its peak taken from `wait4`'s `ru_maxrss` (the
//!   kernel's VmHWM at exit);
//! - daemon: `camguard daemon --root ROOT` behind the repo's ubusd, after every page of
//!   `mappings`, `devices`, `forwards` and `findings` and a `status` were asked for, VmHWM and
//!   VmRSS read from /proc.
//!
//! `scripts/bench-memory` runs it (`cargo bench --bench memory`); CAMGUARD_BIN picks another
//! binary, CAMGUARD_MEM_SIZES other sizes (`10,1000`), and `--generate DIR N [HOSTILE]` only
//! writes a root, for `farm-bench --vs`.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use camguard::bus::Client;
use serde_json::{json, Value};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// The hosts the mappings are spread over; every tenth is a Hikvision camera.
const HOSTS: usize = 200;

/// ubus arguments as camguard's `Value` (the client's type), from serde_json's `json!`.
fn args(v: serde_json::Value) -> camguard::json::Value {
    camguard::encode::to_value(&v).unwrap()
}

fn host_ip(i: usize) -> String {
    format!("192.168.1.{}", 20 + i % HOSTS)
}

/// A copy of examples/messy-home whose LAN holds `n` UDP mappings over [`HOSTS`] hosts, plus,
/// when `hostile`, one device holding every TCP port (65,535 mappings), and the ruleset fw4 and
/// miniupnpd would have loaded for them at `ROOT/nft-ruleset.json`.
pub fn generate(root: &Path, n: usize, hostile: bool) {
    let _ = std::fs::remove_dir_all(root);
    let status = Command::new("cp")
        .arg("-r")
        .arg(Path::new(REPO).join("examples/messy-home"))
        .arg(root)
        .status()
        .unwrap();
    assert!(status.success());

    let mut dhcp = String::new();
    for i in 0..HOSTS {
        let oui = if i % 10 == 0 { "4c:bd:8f" } else { "00:11:32" };
        let _ = writeln!(
            dhcp,
            "1795700000 {oui}:00:{:02x}:{:02x} {} host{i} *",
            i >> 8,
            i & 0xff,
            host_ip(i)
        );
    }
    let hostile_ip = "192.168.1.250";
    if hostile {
        let _ = writeln!(dhcp, "1795700000 de:ad:be:ef:00:01 {hostile_ip} chatty *");
    }
    std::fs::write(root.join("tmp/dhcp.leases"), dhcp).unwrap();

    // (proto, ext port, internal address, internal port)
    let mut mappings: Vec<(&str, u16, String, u16)> = (0..n)
        .map(|i| {
            let ext = 1024 + (i % 64_000) as u16;
            ("UDP", ext, host_ip(i), 2048 + (i % 60_000) as u16)
        })
        .collect();
    if hostile {
        mappings.extend((1..=65_535u16).map(|p| ("TCP", p, hostile_ip.to_owned(), p)));
    }
    let mut leases = String::new();
    for (i, (proto, ext, ip, int)) in mappings.iter().enumerate() {
        let _ = writeln!(leases, "{proto}:{ext}:{ip}:{int}:0:mapping {i}");
    }
    std::fs::write(root.join("tmp/run/miniupnpd.leases"), leases).unwrap();
    std::fs::write(root.join("nft-ruleset.json"), ruleset(&mappings)).unwrap();
}

/// fw4's ruleset from the fixture with miniupnpd's rules for `mappings` added to its upnp
/// chains, shaped as the real daemon writes them (tests/fixtures/nft/miniupnpd-live.json).
fn ruleset(mappings: &[(&str, u16, String, u16)]) -> String {
    let base: Value = serde_json::from_slice(
        &std::fs::read(Path::new(REPO).join("tests/fixtures/nft/fw4-openwrt-24.10.json")).unwrap(),
    )
    .unwrap();
    let mut out = String::from("{\"nftables\":[");
    let mut handle = 0;
    for item in base["nftables"].as_array().unwrap() {
        handle = handle.max(
            item.as_object().unwrap().values().next().unwrap()["handle"]
                .as_u64()
                .unwrap_or(0),
        );
        out.push_str(&item.to_string());
        out.push(',');
    }
    for (proto, ext, ip, int) in mappings {
        let number = if *proto == "TCP" { 6 } else { 17 };
        let addr: std::net::Ipv4Addr = ip.parse().unwrap();
        handle += 1;
        let _ = write!(
            out,
            r#"{{"rule":{{"family":"inet","table":"fw4","chain":"upnp_forward","handle":{handle},"expr":[{{"match":{{"op":"==","left":{{"meta":{{"key":"iif"}}}},"right":"wan"}}}},{{"match":{{"op":"==","left":{{"payload":{{"protocol":"th","field":"dport"}}}},"right":{int}}}}},{{"match":{{"op":"==","left":{{"payload":{{"base":"nh","offset":128,"len":32}}}},"right":{}}}}},{{"match":{{"op":"==","left":{{"payload":{{"base":"nh","offset":72,"len":8}}}},"right":{number}}}}},{{"accept":null}}]}}}},"#,
            u32::from(addr)
        );
        handle += 1;
        let _ = write!(
            out,
            r#"{{"rule":{{"family":"inet","table":"fw4","chain":"upnp_prerouting","handle":{handle},"expr":[{{"match":{{"op":"==","left":{{"meta":{{"key":"iif"}}}},"right":"wan"}}}},{{"match":{{"op":"==","left":{{"payload":{{"base":"nh","offset":72,"len":8}}}},"right":{number}}}}},{{"match":{{"op":"==","left":{{"payload":{{"protocol":"th","field":"dport"}}}},"right":{ext}}}}},{{"dnat":{{"family":"ip","addr":"{ip}","port":{int}}}}}]}}}},"#,
        );
    }
    out.pop();
    out.push_str("]}\n");
    out
}

fn camguard() -> PathBuf {
    std::env::var_os("CAMGUARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_camguard").into())
}

/// Runs `camguard audit --root root` and returns its peak RSS in KiB (`ru_maxrss`).
///
/// Through a fresh copy of this bench (`--offline-peak ROOT`): the kernel counts into a child's
/// `ru_maxrss` the peak of the process it was spawned from (exec takes the larger of the two),
/// and this process grows with the rulesets and replies it handles, which would be read as
/// camguard's.
fn offline_peak_kib(root: &Path) -> (i64, Duration) {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--offline-peak")
        .arg(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut fields = text.split_whitespace().map(|f| f.parse::<i64>().unwrap());
    let (kib, micros) = (fields.next().unwrap(), fields.next().unwrap());
    (kib, Duration::from_micros(micros as u64))
}

/// `--offline-peak ROOT`: what [`offline_peak_kib`] runs, printing "KiB microseconds".
#[allow(clippy::zombie_processes)] // waited for by wait4, which also gives the peak
fn offline_peak_here(root: &Path) -> (i64, Duration) {
    let started = Instant::now();
    let child = Command::new(camguard())
        .args(["audit", "--root"])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child with valid pointers to locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    (usage.ru_maxrss, started.elapsed())
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// VmHWM and VmRSS of a process, KiB.
fn hwm_rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Starts ubusd and the daemon on `root`, asks for every page of every list, and returns the
/// daemon's (VmHWM, VmRSS) in KiB.
fn daemon_after_pages(dir: &Path, root: &Path) -> (u64, u64, Vec<String>) {
    std::fs::create_dir_all(dir).unwrap();
    let socket = dir.join("ubus.sock");
    let _ = std::fs::remove_file(&socket);
    let _ubusd = Proc(
        Command::new(Path::new(REPO).join(".tools/bin/ubusd"))
            .arg(format!("--socket={}", socket.display()))
            .stderr(Stdio::null())
            .spawn()
            .expect("run scripts/install-ubus-tools first"),
    );
    while !socket.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let daemon = Proc(
        Command::new(camguard())
            .args(["daemon", "--socket"])
            .arg(&socket)
            .arg("--root")
            .arg(root)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let socket = socket.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut client = loop {
        if let Ok(mut c) = Client::connect(&socket, Duration::from_secs(30)) {
            if c.call("camguard", "status", &args(json!({}))).is_ok() {
                break c;
            }
        }
        assert!(Instant::now() < deadline, "daemon did not come up");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Every page, walked as docs/ubus-api.md says: on from the rows received while `more`. A
    // page that cannot be had (a reply past ubus's 1 MiB) is noted, not fatal: builds from
    // before issue 14 fail there.
    let mut failed = Vec::new();
    for method in ["mappings", "devices", "forwards", "findings"] {
        let mut offset = 0u64;
        loop {
            let reply = match client.call("camguard", method, &args(json!({ "offset": offset }))) {
                Ok(reply) => reply,
                Err(e) => {
                    failed.push(format!("{method} at {offset}: {e}"));
                    break;
                }
            };
            let page = reply[method].as_array().map_or(0, Vec::len) as u64;
            offset += page;
            if page == 0 || reply["more"].as_u64().unwrap_or(0) == 0 {
                break;
            }
        }
    }
    client.call("camguard", "status", &args(json!({}))).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (hwm, rss) = hwm_rss_kib(daemon.0.id());
    (hwm, rss, failed)
}

fn mb(kib: impl Into<i128>) -> String {
    format!("{:.1} MB", kib.into() as f64 * 1024.0 / 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--offline-peak") {
        let (kib, took) = offline_peak_here(Path::new(&args[at + 1]));
        println!("{kib} {}", took.as_micros());
        return;
    }
    if let Some(at) = args.iter().position(|a| a == "--generate") {
        let dir = PathBuf::from(&args[at + 1]);
        let n = args[at + 2].parse().unwrap();
        generate(&dir, n, args.get(at + 3).is_some_and(|h| h == "hostile"));
        return;
    }
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("CAMGUARD_MEM_SIZES")
        .ok()
        .map(|s| s.split(',').map(|n| n.trim().parse().unwrap()).collect())
        .unwrap_or_else(|| vec![10, 1_000, 5_000, 10_000]);
    let dir = std::env::temp_dir().join(format!("camguard-bench-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("| mappings | nft JSON | offline audit peak | offline audit time | daemon peak (VmHWM) | daemon resident (VmRSS) | pages answered |");
    println!("|---|---|---|---|---|---|---|");
    let mut cases: Vec<(String, usize, bool)> =
        sizes.iter().map(|&n| (format!("{n}"), n, false)).collect();
    if std::env::var_os("CAMGUARD_MEM_NO_HOSTILE").is_none() {
        cases.push(("5,000 + one device with 65,535".into(), 5_000, true));
    }
    for (label, n, hostile) in cases {
        let root = dir.join(format!("root-{n}-{hostile}"));
        generate(&root, n, hostile);
        let json_bytes = std::fs::metadata(root.join("nft-ruleset.json"))
            .unwrap()
            .len();
        let (peak, took) = offline_peak_kib(&root);
        let (hwm, rss, failed) = daemon_after_pages(&dir.join(format!("d-{n}-{hostile}")), &root);
        println!(
            "| {label} | {:.1} MB | {} | {:.0} ms | {} | {} | {} |",
            json_bytes as f64 / 1e6,
            mb(peak),
            took.as_secs_f64() * 1e3,
            mb(hwm),
            mb(rss),
            if failed.is_empty() {
                "all".to_owned()
            } else {
                format!("failed: {}", failed.join("; "))
            }
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
