//! Router files camguard edits itself, not through rpcd: the UPnP lease file and files it empties.
use std::path::PathBuf;

use super::{ApplyError, Executor};
use crate::formats::leases::parse_leases;
use crate::ports::Protocol;
use crate::source::RootDir;

impl Executor<'_> {
    pub(super) fn host_path(&self, router_path: &str) -> Option<PathBuf> {
        RootDir::open(&self.root).ok()?.host_path(router_path)
    }

    /// A router file's text; empty when it is missing or unreadable.
    pub(super) fn read_router_file(&self, router_path: &str) -> String {
        self.host_path(router_path)
            .and_then(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The raw lines of the lease file that are this mapping (every field compared).
    pub(super) fn lease_lines_matching(
        &self,
        proto: Protocol,
        ext: u16,
        addr: std::net::IpAddr,
        int: u16,
    ) -> Vec<String> {
        self.read_router_file(&self.lease_file)
            .lines()
            .filter(|line| {
                // Every mapping miniupnpd reads from the line, an overlong line's tail included.
                parse_leases(line.as_bytes()).entries.iter().any(|l| {
                    l.proto == proto
                        && l.ext_port == ext
                        && std::net::IpAddr::V4(l.int_addr) == addr
                        && l.int_port == int
                })
            })
            .map(str::to_owned)
            .collect()
    }

    /// Writes a router file atomically (temporary file in the same directory, then rename).
    pub(super) fn write_file(&self, router_path: &str, bytes: &[u8]) -> Result<(), ApplyError> {
        let path = self
            .host_path(router_path)
            .ok_or_else(|| ApplyError::OutsideRoot {
                path: router_path.to_owned(),
            })?;
        let tmp = path.with_extension("camguard-tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                ApplyError::File {
                    path: router_path.to_owned(),
                    error: e,
                }
            })
    }

    /// Drops the mapping's lines from the lease file. miniupnpd appends to it and rewrites it
    /// through a rename, so the file is re-read right before the replace; lines it added in
    /// between are kept.
    pub(super) fn remove_lease_lines(
        &self,
        proto: Protocol,
        ext: u16,
        addr: std::net::IpAddr,
        int: u16,
    ) -> Result<(), ApplyError> {
        let Some(path) = self.host_path(&self.lease_file) else {
            return Ok(());
        };
        let Ok(bytes) = std::fs::read(&path) else {
            return Ok(());
        };
        let doomed = self.lease_lines_matching(proto, ext, addr, int);
        let text = String::from_utf8_lossy(&bytes);
        let kept: String = text
            .lines()
            .filter(|l| !doomed.iter().any(|d| d == l))
            .map(|l| format!("{l}\n"))
            .collect();
        self.write_file(&self.lease_file.clone(), kept.as_bytes())
    }

    /// Appends revoked lease lines back, each unless the file already has it.
    pub(super) fn restore_lease_lines(
        &self,
        path: &str,
        lines: &[String],
    ) -> Result<(), ApplyError> {
        let mut text = self.read_router_file(path);
        for l in lines {
            if !text.lines().any(|x| x == l) {
                text.push_str(l);
                text.push('\n');
            }
        }
        self.write_file(path, text.as_bytes())
    }
}
