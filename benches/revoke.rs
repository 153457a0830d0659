//! Time from a camera's UPnP mapping appearing in miniupnpd's lease file to camguard revoking
//! it, with `enforce '1'` and `upnp 'restricted'`, through the router-in-a-box (crates.io
//! ubusd, the rpcd stand-in over the real uci CLI): with the example's handful of mappings and
//! with 1,000 other live mappings (design.md §9: under 2 s in both).
//!
//! Also, with CAMGUARD_BENCH_REVOKE=live, a whole live audit and `mappings` at 1,000 and 5,000
//! live mappings, and with CAMGUARD_BENCH_REVOKE=churn, the daemon's CPU under 20 lease-file
//! appends a second at 5,000 (issue 14).
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
        LiveRuleset::with_table(live, "miniupnpd-live.nft")
    }

    /// `skeleton`: the fw4 table under tests/fixtures/nft the mappings are added to.
    fn with_table(live: usize, skeleton: &str) -> LiveRuleset {
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
        let skeleton = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/nft")
            .join(skeleton);
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

/// CPU time of the process alone (utime + stime), without the commands it ran.
fn own_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
    after_comm
        .split_whitespace()
        .skip(11)
        .take(2)
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

/// A router-in-a-box in a network namespace whose `inet fw4` table is OpenWrt 24.10's with
/// `live` mappings of the NAS, listed in the lease file too; the daemon reads nft itself.
/// `enforce`: with `enforce '1'`. The daemon has settled (start-up enforcement and the looks
/// at miniupnpd's chains after it) when this returns.
fn live_router(live: usize, enforce: bool) -> (LiveRuleset, Testbed) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/messy-home");
    let ruleset = LiveRuleset::with_table(live, "fw4-openwrt-24.10.nft");
    let mut tb = Testbed::new(&format!("bench-live-{live}-{enforce}"), &example)
        .miniupnpd_running()
        .in_netns(&ruleset.netns);
    if enforce {
        tb = tb.enforcing();
    }
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
    std::thread::sleep(Duration::from_secs(10));
    settle(pid);
    (ruleset, tb)
}

/// A whole live audit (`ubus call camguard audit`: rpcd, lease files, nft) and `mappings`
/// after it, at `live` mappings: wall medians, and the daemon's CPU per audit.
fn live_audit_and_mappings(live: usize) {
    let (_ruleset, tb) = live_router(live, false);
    let pid = tb.daemon_pid().unwrap();
    let socket = tb.socket.to_str().unwrap().to_owned();
    let mut client = camguard::bus::Client::connect(&socket, Duration::from_secs(30)).unwrap();
    let args = camguard::json::Value::Object(Default::default());
    let (mut audit, mut cpu, mut own, mut first, mut again) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let tick = Duration::from_secs(1) / 100; // USER_HZ
    for _ in 0..ROUNDS {
        let (ticks, own_before) = (cpu_ticks(pid), own_ticks(pid));
        let t = Instant::now();
        client.call("camguard", "audit", &args).unwrap();
        audit.push(t.elapsed());
        cpu.push(tick * (cpu_ticks(pid) - ticks) as u32);
        own.push(tick * (own_ticks(pid) - own_before) as u32);
        // As LuCI's poll would come: past the audit's aftermath.
        std::thread::sleep(Duration::from_millis(200));
        let t = Instant::now();
        let reply = client.call_raw("camguard", "mappings", &args).unwrap();
        first.push(t.elapsed());
        assert!(!reply.is_empty());
        let t = Instant::now();
        client.call_raw("camguard", "mappings", &args).unwrap();
        again.push(t.elapsed());
    }
    let listed = client.call("camguard", "mappings", &args).unwrap();
    assert!(
        listed["total"].as_u64().unwrap() >= live as u64,
        "{}",
        listed["total"]
    );
    for v in [&mut audit, &mut cpu, &mut own, &mut first, &mut again] {
        v.sort();
    }
    let median = |v: &Vec<Duration>| v[v.len() / 2];
    println!(
        "  {live} live mappings: audit wall median {:?} (max {:?}); daemon CPU per audit median {:?} with its children, {:?} alone; mappings (raw blobmsg, first page) first call after an audit {:?}, repeat {:?}",
        median(&audit),
        audit[audit.len() - 1],
        median(&cpu),
        median(&own),
        median(&first),
        median(&again)
    );
}

/// One device opening a mapping 20 times a second for 10 s at `live` mappings, as miniupnpd
/// records it (its two nft rules, then a lease line appended): the
/// daemon's CPU (utime + stime from /proc, alone and with its children) and the audits it ran;
/// then a camera's mapping appended in the middle of such a burst, and how long until it is
/// revoked (`enforce '1'`, `upnp 'restricted'`).
fn churn(live: usize) {
    use std::io::Write;
    let (ruleset, tb) = live_router(live, true);
    let pid = tb.daemon_pid().unwrap();
    let lease = tb.root.join("tmp/run/miniupnpd.leases");
    // What miniupnpd does for a new mapping: its DNAT and accept rule, then the lease line.
    let map = |proto: &str, port: u32, host: &str, int_port: u32, description: String| {
        let l4 = proto.to_ascii_lowercase();
        let rules = format!(
            "add rule inet fw4 upnp_prerouting iif \"lo\" ip protocol {l4} {l4} dport {port} dnat ip to {host}:{int_port}\n\
             add rule inet fw4 upnp_forward iif \"lo\" ip daddr {host} {l4} dport {int_port} accept\n"
        );
        let mut nft = std::process::Command::new("ip")
            .args(["netns", "exec", &ruleset.netns, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        nft.stdin
            .take()
            .unwrap()
            .write_all(rules.as_bytes())
            .unwrap();
        assert!(nft.wait().unwrap().success());
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&lease)
            .unwrap();
        f.write_all(format!("{proto}:{port}:{host}:{int_port}:0:{description}\n").as_bytes())
            .unwrap();
    };
    let (all, own) = (cpu_ticks(pid), own_ticks(pid));
    let started = Instant::now();
    for i in 0..200u32 {
        map(
            "UDP",
            40000 + i,
            "192.168.1.10",
            40000 + i,
            format!("churn {i}"),
        );
        let next = Duration::from_millis(50) * (i + 1);
        std::thread::sleep(next.saturating_sub(started.elapsed()));
    }
    // The coalesced audit of the last appends falls within the window's tail: wait for it.
    std::thread::sleep(Duration::from_secs(6));
    settle(pid);
    let window = started.elapsed();
    let (all, own) = (cpu_ticks(pid) - all, own_ticks(pid) - own);
    let share = |ticks: u64| 100.0 * ticks as f64 / 100.0 / 10.0;
    println!(
        "  {live} mappings, 200 appends over 10 s: daemon CPU {own} ticks alone ({:.1} % of one core over the 10 s), {all} ticks with its children ({:.1} %); measured over {:?} to include the coalesced audit",
        share(own),
        share(all),
        window
    );
    let mut latencies = Vec::new();
    for round in 0..5u32 {
        let started = Instant::now();
        let mut camera_at = None;
        let mut gone = None;
        let port = 8600 + round;
        let needle = format!("TCP:{port}:");
        for i in 0..60u32 {
            if i == 20 {
                map("TCP", port, "192.168.1.64", 554, format!("camera {round}"));
                camera_at = Some(Instant::now());
            } else {
                let p = 45000 + round * 100 + i;
                map("UDP", p, "192.168.1.10", p, format!("churn {round} {i}"));
            }
            let next = Duration::from_millis(50) * (i + 1);
            while started.elapsed() < next {
                std::thread::sleep(Duration::from_millis(2));
                if let (Some(at), None) = (camera_at, gone) {
                    if !std::fs::read_to_string(&lease).unwrap().contains(&needle) {
                        gone = Some(at.elapsed());
                    }
                }
            }
        }
        let at = camera_at.unwrap();
        while gone.is_none() && at.elapsed() < Duration::from_secs(10) {
            if !std::fs::read_to_string(&lease).unwrap().contains(&needle) {
                gone = Some(at.elapsed());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        latencies
            .push(gone.unwrap_or_else(|| panic!("camera mapping {port} not revoked within 10 s")));
        std::thread::sleep(Duration::from_secs(6));
        settle(pid);
    }
    latencies.sort();
    println!(
        "  a camera's mapping appended in the middle of 20 appends a second: revoked after median {:?}, max {:?} over {} rounds (budget 2 s)",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        latencies.len()
    );
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // CAMGUARD_BENCH_REVOKE=calls, appends, live or churn: only that measurement.
    let only = std::env::var("CAMGUARD_BENCH_REVOKE").unwrap_or_default();
    if only == "live" {
        println!("a whole live audit and `mappings` after it (OpenWrt 24.10's fw4 table in a namespace; budgets at 5,000: audit < 250 ms, mappings < 6 ms first, < 3 ms repeat):");
        for live in [1000, 5000] {
            live_audit_and_mappings(live);
        }
        return;
    }
    if only == "churn" {
        println!("20 lease-file appends a second at 5,000 live mappings (budget: < 5 % of a core; a camera's mapping revoked < 2 s):");
        churn(5000);
        return;
    }
    if only.is_empty() || only == "calls" {
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
