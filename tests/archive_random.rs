//! The backup reader and the whole offline pipeline never panic, whatever the bytes.
mod common;

use camguard::audit;
use camguard::source::archive::{gunzip, read_backup, read_tar};
use common::Rng;

fn valid_backup() -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/old-21.02");
    let out = std::process::Command::new("tar")
        .args(["-cz", "-C"])
        .arg(&root)
        .arg("etc")
        .output()
        .expect("tar runs");
    assert!(out.status.success());
    out.stdout
}

#[test]
fn random_bytes_never_panic_the_archive_reader() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let bytes = rng.bytes(2048);
        let _ = read_backup(&bytes);
        let _ = read_tar(&bytes);
        let mut gz = vec![0x1f, 0x8b, 8];
        gz.extend_from_slice(&bytes);
        let _ = gunzip(&gz);
    }
}

#[test]
fn mutated_backups_never_panic_and_audit_whatever_survives() {
    let good = valid_backup();
    let tar = gunzip(&good).unwrap();
    assert!(read_backup(&good)
        .unwrap()
        .files
        .contains_key("etc/config/firewall"));
    let mut rng = Rng(42);
    for round in 0..3000 {
        let mut t = tar.clone();
        for _ in 0..(1 + rng.next() % 8) {
            let i = (rng.next() as usize) % t.len();
            t[i] = rng.next() as u8;
        }
        if round % 3 == 0 {
            t.truncate((rng.next() as usize) % t.len());
        }
        if let Ok(archive) = read_tar(&t) {
            let files = camguard::source::ArchiveFiles::new("mutated", archive);
            let snap = camguard::source::offline::read(&files, common::NOW, None, &[]);
            let report = audit::audit(&snap);
            assert!(report.score <= 100);
        }
    }
}

#[test]
fn random_config_and_lease_bytes_never_panic_the_pipeline() {
    let mut rng = Rng(7);
    let names = [
        "firewall", "upnpd", "dhcp", "network", "wireless", "dropbear", "uhttpd", "camguard",
        "system",
    ];
    for _ in 0..2000 {
        let mut r = common::Router::bare();
        for name in names {
            if rng.next() % 2 == 0 {
                // Mostly-printable bytes reach deeper into the parsers than pure noise.
                let text: Vec<u8> = rng
                    .bytes(400)
                    .into_iter()
                    .map(|b| {
                        if b < 200 {
                            b"config option list '\"\n\t abcdefg_01 #\\"[(b as usize) % 31]
                        } else {
                            b
                        }
                    })
                    .collect();
                r = r.config(name, &String::from_utf8_lossy(&text));
            }
        }
        r = r
            .leases(&String::from_utf8_lossy(&rng.bytes(300)))
            .dhcp_leases(&String::from_utf8_lossy(&rng.bytes(300)));
        let report = r.audit();
        assert!(report.score <= 100);
    }
}
