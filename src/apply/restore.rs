//! Restoring the rules of UPnP mappings a firewall reload emptied: every unexpired lease whose
//! rules are missing when the step runs (after the plan's revokes removed their lines) gets them
//! back over nf_tables netlink exactly as miniupnpd writes them ([`crate::nftables`]), from
//! miniupnpd's own config (table, chains, external interface) and its lease file (each mapping's
//! description, its rules' userdata). Derived when it runs, so the journal keeps no list of
//! thousands of mappings on flash. Whatever stands in the way — nft not in use, netlink refused,
//! a line or a shape this cannot write as miniupnpd would — falls back to restarting miniupnpd,
//! which replays its lease file (in quadratic time), and the outcome says so.
use std::net::IpAddr;

use super::{Check, Executor};
use crate::formats::leases::{parse_leases, Lease, LINE_BUFFER};
use crate::nftables::{
    accept_rule, dnat_rule, Nftables, Redirect, UpnpChains, IPPROTO_TCP, IPPROTO_UDP,
};
use crate::ports::Protocol;

/// The config OpenWrt's init script generates for miniupnpd: its `ext_ifname` is the device the
/// init resolved from `external_iface` (or the WAN holding the default route), the one
/// miniupnpd's rules match by index.
const MINIUPNPD_CONF: &str = "/var/etc/miniupnpd.conf";

impl Executor<'_> {
    /// Re-adds the missing rules of the lease file's mappings; on any obstacle sets `restart`
    /// so that miniupnpd replays its lease file instead. The check says which way it went.
    pub(super) fn restore_mappings(&mut self, restart: &mut bool) -> Check {
        let detail = match self.readd_rules(crate::time::unix_now()) {
            Ok((rules, mappings)) => format!(
                "{rules} rules of {mappings} mappings re-added over nf_tables netlink in one \
                 transaction, as miniupnpd writes them"
            ),
            Err(why) => {
                log::warn!("cannot re-add the UPnP rules ({why}); restarting miniupnpd instead");
                *restart = true;
                format!("{why}; miniupnpd is restarted to replay its lease file instead")
            }
        };
        // Either way is a restore; whether it worked is `UPnP mappings restored`'s to say.
        Check {
            check: "UPnP rules re-added".into(),
            ok: true,
            detail,
        }
    }

    /// (rules added, mappings they belong to), or why they could not be.
    fn readd_rules(&self, now: u64) -> Result<(usize, usize), String> {
        if !self.nft {
            return Err("nft is not in use here".into());
        }
        let conf = self.read_router_file(MINIUPNPD_CONF);
        let chains = upnp_chains(&conf)?;
        let file = self
            .host_path(&self.lease_file)
            .and_then(|p| std::fs::read(p).ok())
            .ok_or_else(|| format!("cannot read {}", self.lease_file))?;
        let lines: Vec<&[u8]> = file.split(|&b| b == b'\n').collect();
        // A firewall reload left the chains nearly empty, so this listing is quick; whatever
        // miniupnpd re-created meanwhile (a client renewing) is not added twice.
        let live = super::nft::live_mappings().ok_or("cannot list the live ruleset")?;
        // What each mapping needs (its DNAT too, or only its accept rule), checked before a
        // byte is sent; the rules themselves are encoded straight into the batch.
        let mut wanted: Vec<(Redirect, bool)> = Vec::new();
        for l in parse_leases(&file).entries {
            if l.expires != 0 && l.expires <= now {
                continue;
            }
            let key = (l.proto, l.ext_port, IpAddr::V4(l.int_addr), l.int_port);
            let have = live.iter().find(|(k, _)| *k == key);
            if have.is_some_and(|(_, accept)| *accept) {
                continue;
            }
            let ip_proto = match l.proto {
                Protocol::Tcp => IPPROTO_TCP,
                Protocol::Udp => IPPROTO_UDP,
                Protocol::UdpLite => {
                    return Err("miniupnpd's rules for UDPLITE carry no port".into());
                }
            };
            let description = raw_description(&lines, &l).ok_or_else(|| {
                format!(
                    "lease line {} ({}/{}) is not one miniupnpd wrote",
                    l.line,
                    l.ext_port,
                    l.proto.as_str()
                )
            })?;
            let redirect = Redirect {
                ip_proto,
                ext_port: l.ext_port,
                int_addr: l.int_addr,
                int_port: l.int_port,
                description,
            };
            wanted.push((redirect, have.is_none()));
        }
        let rules = wanted.iter().flat_map(|(r, dnat)| {
            let dnat = dnat.then(|| dnat_rule(&chains, r)).flatten();
            dnat.into_iter().chain(accept_rule(&chains, r))
        });
        let added = Nftables::open()
            .and_then(|mut nft| nft.add_rules(rules))
            .map_err(|e| format!("nf_tables netlink refused the rules: {e}"))?;
        Ok((added as usize, wanted.len()))
    }
}

/// miniupnpd's table and chain names and its external interface's index, from its config.
fn upnp_chains(conf: &str) -> Result<UpnpChains, String> {
    let get = |key: &str| {
        conf.lines()
            .filter_map(|l| l.trim().split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{MINIUPNPD_CONF} has no {key}"))
    };
    let device = get("ext_ifname")?;
    Ok(UpnpChains {
        table: get("upnp_table_name")?,
        nat_table: get("upnp_nat_table_name")?,
        forward_chain: get("upnp_forward_chain")?,
        nat_chain: get("upnp_nat_chain")?,
        ext_ifindex: ifindex(&device)?,
    })
}

/// A network device's index, as miniupnpd's `if_nametoindex` reads it.
fn ifindex(device: &str) -> Result<u32, String> {
    if device.contains('/') || device == "." || device == ".." {
        return Err(format!("{device:?} is not a network device name"));
    }
    std::fs::read_to_string(format!("/sys/class/net/{device}/ifindex"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| format!("no network device {device}"))
}

/// The description miniupnpd puts in a mapping's rules: its lease line's last field, trimmed
/// as miniupnpd trims it. None unless miniupnpd could have written the line (no forged field,
/// not longer than its read buffer, no NUL).
fn raw_description(lines: &[&[u8]], lease: &Lease) -> Option<Vec<u8>> {
    if !lease.forged.is_empty() {
        return None;
    }
    let line = *lines.get((lease.line as usize).checked_sub(1)?)?;
    // fgets takes the line and its newline in LINE_BUFFER - 1 bytes, or splits it.
    if line.len() + 1 >= LINE_BUFFER || line.contains(&0) {
        return None;
    }
    let description = line.splitn(6, |&b| b == b':').nth(5)?;
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let start = description
        .iter()
        .position(|b| !is_space(b))
        .unwrap_or(description.len());
    let end = description
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |i| i + 1);
    Some(description[start..end].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{Bus, BusError};
    use crate::encode::json;
    use crate::json::Value;
    use crate::plan::{Action, FindingRef, Step};

    /// rpcd that accepts every call and remembers it.
    #[derive(Default)]
    struct Rpcd(Vec<(String, String, Value)>);

    impl Bus for Rpcd {
        fn call(&mut self, object: &str, method: &str, args: &Value) -> Result<Value, BusError> {
            self.0.push((object.into(), method.into(), args.clone()));
            Ok(json!({}))
        }
    }

    /// Where the rules cannot be re-added (here: nft is not in use), miniupnpd is restarted to
    /// replay its lease file, and the outcome says so.
    #[test]
    fn without_netlink_the_restore_restarts_miniupnpd_and_says_so() {
        let root = std::env::temp_dir().join(format!("camguard-restore-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let mut rpcd = Rpcd::default();
        let action = Action {
            step: Step::RestoreMappings { lost: 1 },
            why: "test".into(),
            finding: Some(FindingRef {
                id: "upnp.rules_lost".into(),
                subject: crate::audit::Subject::Service {
                    name: "miniupnpd".into(),
                },
            }),
        };
        let outcome = Executor {
            bus: &mut rpcd,
            root: root.clone(),
            nft: false,
            lease_file: "/var/run/miniupnpd.leases".into(),
            upnp_before: None,
        }
        .enforce(vec![action], "restore-upnp", 1_795_608_000, false);
        assert_eq!(outcome.applied, 1, "{outcome:?}");
        let how = outcome
            .verified
            .iter()
            .find(|c| c.check == "UPnP rules re-added")
            .unwrap();
        assert_eq!(
            how.detail,
            "nft is not in use here; miniupnpd is restarted to replay its lease file instead"
        );
        assert!(rpcd.0.iter().any(|(o, m, a)| o == "rc"
            && m == "init"
            && a == &json!({"name": "miniupnpd", "action": "restart"})));
        let _ = std::fs::remove_dir_all(&root);
    }

    /// The description of every mapping of `file`, as the restore would put it in the rules.
    fn descriptions(file: &[u8]) -> Vec<(u16, Option<Vec<u8>>)> {
        let lines: Vec<&[u8]> = file.split(|&b| b == b'\n').collect();
        parse_leases(file)
            .entries
            .iter()
            .map(|l| (l.ext_port, raw_description(&lines, l)))
            .collect()
    }

    #[test]
    fn the_description_is_the_lease_lines_own_bytes_trimmed_like_miniupnpd() {
        let file = b"TCP:18080:192.168.1.31:8080:0:  game \\ <b>x</b>:y  \n\
                     UDP:15353:192.168.1.31:5353:1796232238:\n";
        assert_eq!(
            descriptions(file),
            [
                (18080, Some(b"game \\ <b>x</b>:y".to_vec())),
                (15353, Some(Vec::new()))
            ]
        );
    }

    #[test]
    fn lines_miniupnpd_could_not_have_written_are_left_to_miniupnpd() {
        // A wrapped port and an overlong line: replayed by a restart, never guessed at here.
        let file = format!(
            "TCP:70000:192.168.1.31:8080:0:x\nTCP:1000:192.168.1.31:80:0:{}\n",
            "d".repeat(400)
        );
        assert!(descriptions(file.as_bytes())
            .iter()
            .all(|(_, d)| d.is_none()));
    }

    #[test]
    fn the_chains_and_device_come_from_miniupnpds_config() {
        let conf = "ext_ifname=lo\nlistening_ip=br-lan\nupnp_table_name=fw4\n\
                    upnp_nat_table_name=fw4\nupnp_forward_chain=upnp_forward\n\
                    upnp_nat_chain=upnp_prerouting\n";
        let chains = upnp_chains(conf).unwrap();
        assert_eq!(chains.nat_chain, "upnp_prerouting");
        assert_eq!(chains.forward_chain, "upnp_forward");
        assert_eq!(chains.ext_ifindex, 1, "lo is always index 1");
        assert!(upnp_chains("upnp_table_name=fw4\n")
            .unwrap_err()
            .contains("ext_ifname"));
        assert!(upnp_chains(&conf.replace("=lo", "=../x")).is_err());
    }
}
