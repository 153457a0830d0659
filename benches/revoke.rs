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

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
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
