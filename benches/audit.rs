//! Audit time against design.md §9: a typical home router under 1 ms, a large one (2,000
//! redirects, 10,000 UPnP leases, 5,000 hosts) under 50 ms, growing linearly.
//!
//! `cargo bench --bench audit`. A plain harness (no criterion): warm up, then time repeated runs
//! and print the median and 90th percentile, so the figures come without extra dependencies.
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use camguard::audit;
use camguard::snapshot::Snapshot;
use camguard::source::{offline, Archive, ArchiveFiles, RootDir};

const NOW: u64 = 1_795_608_000;

/// A router with `redirects` port forwards, `leases` UPnP mappings and `hosts` DHCP clients,
/// every tenth of them a Hikvision camera.
fn generated(redirects: usize, leases: usize, hosts: usize) -> Snapshot {
    let mut fw = String::from(
        "config defaults\n\toption input 'REJECT'\n\toption forward 'REJECT'\n\n\
         config zone\n\toption name 'lan'\n\tlist network 'lan'\n\toption input 'ACCEPT'\n\toption forward 'ACCEPT'\n\n\
         config zone\n\toption name 'wan'\n\tlist network 'wan'\n\toption input 'REJECT'\n\toption forward 'REJECT'\n\toption masq '1'\n\n\
         config forwarding\n\toption src 'lan'\n\toption dest 'wan'\n\n",
    );
    for i in 0..redirects {
        let port = 10_000 + i;
        let host = host_ip(i % hosts.max(1));
        let dport = if i % 500 == 0 {
            String::new()
        } else {
            format!("\toption src_dport '{port}'\n")
        };
        let _ = write!(
            fw,
            "config redirect\n\toption name 'fwd{i}'\n\toption src 'wan'\n{dport}\toption dest 'lan'\n\toption dest_ip '{host}'\n\toption proto 'tcp'\n\n"
        );
    }
    let mut upnp = String::new();
    for i in 0..leases {
        let _ = writeln!(
            upnp,
            "TCP:{}:{}:{}:0:mapping {i}",
            20_000 + (i % 40_000),
            host_ip(i % hosts.max(1)),
            1024 + (i % 60_000)
        );
    }
    let mut dhcp = String::new();
    for i in 0..hosts {
        let oui = if i % 10 == 0 { "4c:bd:8f" } else { "00:11:32" };
        let _ = writeln!(
            dhcp,
            "1795700000 {oui}:{:02x}:{:02x}:{:02x} {} host{i} *",
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff,
            host_ip(i)
        );
    }
    let mut archive = Archive::default();
    archive
        .files
        .insert("etc/config/firewall".into(), fw.into_bytes());
    archive.files.insert(
        "etc/config/network".into(),
        b"config interface 'wan'\n\toption proto 'dhcp'\n".to_vec(),
    );
    archive.files.insert(
        "etc/config/upnpd".into(),
        b"config upnpd 'config'\n\toption enabled '1'\n".to_vec(),
    );
    archive
        .files
        .insert("var/run/miniupnpd.leases".into(), upnp.into_bytes());
    archive
        .files
        .insert("tmp/dhcp.leases".into(), dhcp.into_bytes());
    offline::read(&ArchiveFiles::new("generated", archive), NOW, None, &[])
}

fn host_ip(i: usize) -> String {
    format!(
        "10.{}.{}.{}",
        (i >> 16) & 0xff,
        (i >> 8) & 0xff,
        (i & 0xff).max(1)
    )
}

/// Median and 90th percentile of repeated runs of `f`.
fn time(mut f: impl FnMut()) -> (Duration, Duration) {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(300) {
        f();
    }
    let mut samples = Vec::new();
    let start = Instant::now();
    while samples.len() < 15 || (start.elapsed() < Duration::from_secs(2) && samples.len() < 2000) {
        let t = Instant::now();
        f();
        samples.push(t.elapsed());
    }
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 9 / 10])
}

fn main() {
    // For profilers (`CAMGUARD_PROFILE=1 perf record <bench binary>`): just the large audit.
    if std::env::var_os("CAMGUARD_PROFILE").is_some() {
        let snap = generated(2000, 10_000, 5000);
        for _ in 0..20 {
            std::hint::black_box(audit::audit(&snap));
        }
        return;
    }
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this binary without it, and a
    // debug-build benchmark would only waste CI time.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/messy-home");
    let typical = offline::read(&RootDir::open(&root).unwrap(), NOW, None, &[]);
    let (median, p90) = time(|| {
        std::hint::black_box(audit::audit(std::hint::black_box(&typical)));
    });
    println!("audit examples/messy-home: median {median:?}, p90 {p90:?} (budget 1 ms)");

    println!(
        "\nscale  redirects  leases  hosts   median       p90          per unit (median / scale)"
    );
    let mut base = None;
    for scale in [1usize, 2, 4, 8] {
        let (r, l, h) = (250 * scale, 1250 * scale, 625 * scale);
        let snap = generated(r, l, h);
        assert!(
            snap.problems.is_empty(),
            "{:?}",
            &snap.problems[..snap.problems.len().min(3)]
        );
        let (median, p90) = time(|| {
            std::hint::black_box(audit::audit(std::hint::black_box(&snap)));
        });
        let per = median / scale as u32;
        base.get_or_insert(per);
        println!(
            "{scale:>5}  {r:>9}  {l:>6}  {h:>5}   {median:>10.3?}   {p90:>10.3?}   {per:>10.3?}"
        );
    }
    println!("\nscale 8 is the design.md §9 large router (budget 50 ms); a flat last column means linear growth.");

    let (read_median, _) = time(|| {
        std::hint::black_box(generated(2000, 10_000, 5000));
    });
    println!("reading + parsing the large snapshot (UCI, leases, DHCP): median {read_median:?}");
}
