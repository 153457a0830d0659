//! Time from a camera's UPnP mapping appearing in miniupnpd's lease file to camguard revoking
//! it, with `enforce '1'` and `upnp 'restricted'`, through the router-in-a-box (crates.io
//! ubusd, the rpcd stand-in over the real uci CLI): with the example's handful of mappings and
//! with 1,000 other live mappings (design.md §9: under 2 s in both).
//!
//! Needs root and what `scripts/setup` installs; run with `cargo bench --bench revoke`.
#[path = "../tests/support/testbed.rs"]
mod testbed;

use std::path::Path;
use std::time::{Duration, Instant};

use testbed::{wait_until, Testbed};

const ROUNDS: u16 = 15;
const CAMERA: &str = "192.168.1.64";

fn measure(others: usize) -> Vec<Duration> {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/messy-home");
    let tb = Testbed::new(&format!("bench-revoke-{others}"), &example)
        .miniupnpd_running()
        .enforcing();
    let policy = std::fs::read_to_string(tb.root.join("etc/config/camguard")).unwrap();
    assert!(
        policy.contains("option upnp 'restricted'"),
        "messy-home's policy restricts UPnP"
    );
    let lease = tb.root.join("tmp/run/miniupnpd.leases");
    let mut leases = std::fs::read_to_string(&lease).unwrap();
    for i in 0..others {
        // Allowed mappings of the NAS (no camera): they stay, and each audit reads them all.
        leases.push_str(&format!(
            "UDP:{}:192.168.1.10:{}:0:other {i}\n",
            20000 + i,
            20000 + i
        ));
    }
    std::fs::write(&lease, leases).unwrap();
    let tb = tb.up();
    assert!(
        wait_until(Duration::from_secs(30), || tb.call("plan", "{}")["actions"]
            == serde_json::json!([])),
        "the daemon enforces the policy at start"
    );

    let mut samples = Vec::new();
    for round in 0..ROUNDS {
        let port = 8600 + round;
        let mut text = std::fs::read_to_string(&lease).unwrap();
        text.push_str(&format!("TCP:{port}:{CAMERA}:554:0:camera {round}\n"));
        let needle = format!("TCP:{port}:");
        let appended = Instant::now();
        std::fs::write(&lease, text).unwrap();
        let mut gone = None;
        while appended.elapsed() < Duration::from_secs(10) {
            if !std::fs::read_to_string(&lease).unwrap().contains(&needle) {
                gone = Some(appended.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        samples.push(gone.unwrap_or_else(|| panic!("mapping {port} not revoked within 10 s")));
        // Let the daemon settle (the audits its own edit and miniupnpd's restart cause) before
        // the next mapping, so each one is caught by the debounced inotify path.
        std::thread::sleep(Duration::from_millis(2000));
    }
    let others_left = std::fs::read_to_string(&lease)
        .unwrap()
        .lines()
        .filter(|l| l.contains(":other "))
        .count();
    assert_eq!(
        others_left, others,
        "only the camera's mappings were revoked"
    );
    samples.sort();
    samples
}

/// A network namespace with fw4's table and `live` mappings of one host in miniupnpd's two
/// chains (a DNAT and an accept rule each, written in nft's own syntax: miniupnpd's raw payload
/// shapes cannot be loaded by nft), removed again on drop.
struct LiveRuleset {
    netns: String,
}

impl LiveRuleset {
    fn new(live: usize) -> LiveRuleset {
        let netns = format!("cgbench{}", std::process::id());
        let run = |args: &[&str]| {
            let out = std::process::Command::new("ip")
                .args(args)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&["netns", "add", &netns]);
        run(&["-n", &netns, "link", "set", "lo", "up"]);
        let skeleton =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nft/miniupnpd-live.nft");
        run(&[
            "netns",
            "exec",
            &netns,
            "nft",
            "-f",
            skeleton.to_str().unwrap(),
        ]);
        let mut rules = String::new();
        for i in 0..live {
            let port = 20000 + i;
            rules.push_str(&format!(
                "add rule inet fw4 upnp_prerouting iif \"lo\" ip protocol udp udp dport {port} dnat ip to 192.168.1.10:{port}\n\
                 add rule inet fw4 upnp_forward iif \"lo\" ip daddr 192.168.1.10 udp dport {port} accept\n"
            ));
        }
        let file = std::env::temp_dir().join(format!("camguard-bench-{}.nft", std::process::id()));
        std::fs::write(&file, rules).unwrap();
        run(&["netns", "exec", &netns, "nft", "-f", file.to_str().unwrap()]);
        let _ = std::fs::remove_file(file);
        LiveRuleset { netns }
    }
}

impl Drop for LiveRuleset {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.netns])
            .output();
    }
}

/// CPU time of a process and its reaped children (the nft and uci commands it ran), in clock
/// ticks: unlike wall time, it does not grow with what else the machine runs.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    // Fields 14-17 of stat(5): utime, stime, cutime, cstime; after_comm starts at field 3.
    after_comm
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|t| t.parse::<u64>().unwrap())
        .sum()
}

/// Waits until the daemon uses no CPU for half a second (the audits a revoke leaves behind are
/// done), so that they are not counted as the next revoke's.
fn settle(pid: u32) {
    let mut last = cpu_ticks(pid);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let now = cpu_ticks(pid);
        if now == last {
            return;
        }
        last = now;
    }
}

/// `revoke` calls with `live` mappings in the lease file and in the live ruleset (the daemon
/// reads nft itself, deletes by handle and verifies every other mapping): each call's wall time
/// and the daemon's CPU time for it (with its nft and uci children). CAMGUARD_BIN: another
/// build's daemon, to compare.
fn revoke_calls(live: usize) -> (Vec<Duration>, Vec<Duration>) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/messy-home");
    let ruleset = LiveRuleset::new(live);
    let mut tb = Testbed::new(&format!("bench-revoke-call-{live}"), &example)
        .miniupnpd_running()
        .in_netns(&ruleset.netns);
    let lease = tb.root.join("tmp/run/miniupnpd.leases");
    let mut leases = String::new();
    for i in 0..live {
        leases.push_str(&format!(
            "UDP:{}:192.168.1.10:{}:0:other {i}\n",
            20000 + i,
            20000 + i
        ));
    }
    std::fs::write(&lease, leases).unwrap();
    tb = tb.up_without_daemon();
    tb.start_daemon(&["--nft", "command"]);
    let pid = tb.daemon_pid().unwrap();
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let tick = Duration::from_secs(1) / 100; // USER_HZ
    for round in 0..ROUNDS as usize {
        settle(pid);
        let port = 20000 + round * (live / ROUNDS as usize);
        let args = format!(r#"{{"proto":"UDP","ext_port":{port}}}"#);
        let ticks = cpu_ticks(pid);
        let started = Instant::now();
        let outcome = tb.call("revoke", &args);
        wall.push(started.elapsed());
        cpu.push(tick * (cpu_ticks(pid) - ticks) as u32);
        assert_eq!(outcome["failed"], serde_json::json!([]), "{outcome:#}");
        assert!(
            outcome["verified"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["ok"] == true),
            "{outcome:#}"
        );
    }
    drop(tb);
    wall.sort();
    cpu.sort();
    (wall, cpu)
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // CAMGUARD_BENCH_REVOKE=calls or appends: only one of the two measurements.
    let only = std::env::var("CAMGUARD_BENCH_REVOKE").unwrap_or_default();
    if only != "appends" {
        println!("`ubus call camguard revoke` with live mappings in nft and the lease file (budget 1 s):");
        for live in [1000, 5000] {
            let (wall, cpu) = revoke_calls(live);
            println!(
                "  {live:>5} live mappings: wall median {:?}, max {:?}; daemon CPU (with nft, uci) median {:?}, max {:?}; {} revokes",
                wall[wall.len() / 2],
                wall[wall.len() - 1],
                cpu[cpu.len() / 2],
                cpu[cpu.len() - 1],
                wall.len()
            );
        }
    }
    if only == "calls" {
        return;
    }
    println!("lease file append → mapping revoked (enforce '1', upnp 'restricted'; budget 2 s):");
    for others in [0, 1000] {
        let samples = measure(others);
        println!(
            "  {others:>5} other live mappings: median {:?}, max {:?} over {} mappings",
            samples[samples.len() / 2],
            samples[samples.len() - 1],
            samples.len()
        );
    }
}
