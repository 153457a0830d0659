//! `sysupgrade -b` backups (`read_backup`, `gunzip`, `read_tar`) from arbitrary bytes, and the
//! archive file view (`ArchiveFiles`, symlinks resolved inside the archive) the offline source
//! reads a router through.
#![no_main]
use camguard::source::archive::{gunzip, read_backup, read_tar, MAX_UNCOMPRESSED};
use camguard::source::{ArchiveFiles, RouterFiles};
use libfuzzer_sys::fuzz_target;

fn check(archive: camguard::source::Archive) {
    for path in archive.files.keys().chain(archive.symlinks.keys()) {
        assert!(
            !path.starts_with('/') && !path.starts_with("./"),
            "archive path {path:?} keeps its leading / or ./"
        );
    }
    let paths: Vec<String> = archive.files.keys().take(16).cloned().collect();
    let files = ArchiveFiles::new("fuzz", archive);
    for path in paths.iter().map(|p| format!("/{p}")).chain(
        [
            "/etc/config/firewall",
            "/var/run/miniupnpd.leases",
            "/etc/rc.d",
        ]
        .map(String::from),
    ) {
        let _ = files.read(&path);
        let _ = files.exists(&path);
        let _ = files.list(&path);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(archive) = read_backup(data) {
        check(archive);
    }
    if let Ok(archive) = read_tar(data) {
        check(archive);
    }
    // gunzip gets past the magic bytes more often with them in front.
    let mut gz = vec![0x1f, 0x8b, 8];
    gz.extend_from_slice(data);
    for input in [data, &gz[..]] {
        if let Ok(out) = gunzip(input) {
            assert!(out.len() <= MAX_UNCOMPRESSED);
        }
    }
});
