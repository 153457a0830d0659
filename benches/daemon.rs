//! The daemon's figures against design.md §9: `ubus call camguard status` latency through the
//! broker (median, p99), RSS at rest and after 10,000 calls, and `mappings` on a router with
//! 5,000 UPnP mappings (budget: under 10 ms, where luci-app-upnp's get_status takes 35 s).
//!
//! `cargo bench --bench daemon` (needs scripts/install-ubus-tools). CAMGUARD_BIN picks another
//! camguard binary, e.g. the x86_64 musl build from scripts/package, for the router's RSS.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use camguard::bus::Client;
use serde_json::json;

/// ubus arguments as camguard's `Value` (the client's type), from serde_json's `json!`.
fn args(v: serde_json::Value) -> camguard::json::Value {
    camguard::encode::to_value(&v).unwrap()
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn start(dir: &Path, root: &Path) -> (Proc, Proc, String) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let socket = dir.join("ubus.sock");
    let ubusd = Proc(
        Command::new(repo.join(".tools/bin/ubusd"))
            .arg(format!("--socket={}", socket.display()))
            .stderr(Stdio::null())
            .spawn()
            .expect("run scripts/install-ubus-tools first"),
    );
    while !socket.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    let bin = std::env::var_os("CAMGUARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_camguard").into());
    let daemon = Proc(
        Command::new(bin)
            .args(["daemon", "--socket"])
            .arg(&socket)
            .arg("--root")
            .arg(root)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let socket = socket.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut c) = Client::connect(&socket, Duration::from_secs(1)) {
            if c.call("camguard", "status", &args(json!({}))).is_ok() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "daemon did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    (ubusd, daemon, socket)
}

/// A router root with `n` UPnP mappings to `n / 2` hosts.
fn large_root(dir: &Path, n: usize) -> PathBuf {
    let root = dir.join(format!("root-{n}"));
    std::fs::create_dir_all(root.join("etc/config")).unwrap();
    std::fs::create_dir_all(root.join("var/run")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::write(
        root.join("etc/config/upnpd"),
        "config upnpd 'config'\n\toption enabled '1'\n",
    )
    .unwrap();
    let mut leases = String::new();
    let mut dhcp = String::new();
    for i in 0..n {
        let host = i / 2;
        let ip = format!(
            "10.{}.{}.{}",
            (host >> 16) & 0xff,
            (host >> 8) & 0xff,
            (host & 0xff).max(1)
        );
        leases.push_str(&format!(
            "TCP:{}:{ip}:{}:0:mapping {i}\n",
            1024 + i,
            2048 + (i % 60000)
        ));
        if i % 2 == 0 {
            dhcp.push_str(&format!(
                "0 00:11:32:{:02x}:{:02x}:{:02x} {ip} host{host} *\n",
                (host >> 16) & 0xff,
                (host >> 8) & 0xff,
                host & 0xff
            ));
        }
    }
    std::fs::write(root.join("var/run/miniupnpd.leases"), leases).unwrap();
    std::fs::write(root.join("tmp/dhcp.leases"), dhcp).unwrap();
    root
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("camguard-bench-daemon-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/messy-home");

    let (_ubusd, daemon, socket) = start(&dir, &example);
    let pid = daemon.0.id();
    std::thread::sleep(Duration::from_millis(500));
    let at_rest = rss_kib(pid);
    let mut client = Client::connect(&socket, Duration::from_secs(2)).unwrap();
    let mut samples = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let t = Instant::now();
        client.call("camguard", "status", &args(json!({}))).unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    let after = rss_kib(pid);
    println!("status through the broker, 10,000 calls (examples/messy-home):");
    println!(
        "  median {:?}, p99 {:?}, max {:?} (budget: median under 1 ms)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );
    println!("  daemon RSS: {at_rest} KiB at rest, {after} KiB after 10,000 calls (budget: under 2 MB at rest on x86_64 musl; flat)");
    drop(daemon);

    for n in [500usize, 1000, 5000] {
        let root = large_root(&dir, n);
        let (_u, d, socket) = start(&dir.join(format!("s{n}")).tap_mkdir(), &root);
        let mut client = Client::connect(&socket, Duration::from_secs(10)).unwrap();
        let mut samples: Vec<Duration> = (0..20)
            .map(|_| {
                let t = Instant::now();
                let reply = client
                    .call("camguard", "mappings", &args(json!({})))
                    .unwrap();
                assert_eq!(reply["total"].as_u64(), Some(n as u64));
                assert_eq!(
                    reply["mappings"].as_array().map(Vec::len),
                    Some(n.min(1000)),
                    "one page of at most 1,000"
                );
                t.elapsed()
            })
            .collect();
        samples.sort();
        // `mappings` as raw blobmsg, `rounds` times, each after `before`; sorted times.
        let mut raw_mappings = |rounds: usize, before: &dyn Fn(&mut Client)| {
            let mut times: Vec<Duration> = (0..rounds)
                .map(|_| {
                    before(&mut client);
                    let t = Instant::now();
                    let bytes = client
                        .call_raw("camguard", "mappings", &args(json!({})))
                        .unwrap();
                    assert!(!bytes.is_empty());
                    t.elapsed()
                })
                .collect();
            times.sort();
            times
        };
        let raw = raw_mappings(20, &|_| {});
        // The first call after an audit builds and encodes the page; later ones reuse it.
        let fresh = raw_mappings(10, &|client| {
            client.call("camguard", "audit", &args(json!({}))).unwrap();
            // Past the audit's own aftermath (its events, the LAN worker's turn).
            std::thread::sleep(Duration::from_millis(200));
        });
        println!(
            "mappings with {n} live mappings: {:?} median through the broker as raw blobmsg (what rpcd/uhttpd receive; budget at 5,000: under 10 ms); the first call after an audit: {:?}",
            percentile(&raw, 0.5),
            percentile(&fresh, 0.5)
        );
        println!(
            "mappings with {n} live mappings (first page of up to 1,000, total {n}): median {:?} through the broker, client decoding included (budget at 5,000: under 10 ms), daemon RSS {} KiB",
            percentile(&samples, 0.5),
            rss_kib(d.0.id())
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
