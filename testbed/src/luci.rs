//! Stand-in for rpcd-mod-luci's `luci-rpc` object: `getHostHints` and `getDHCPLeases`.
//!
//! Both read what the plugin reads on the router, under ROOT: the dnsmasq lease file named by
//! `dhcp.@dnsmasq[0].leasefile` (default /tmp/dhcp.leases), the odhcpd one
//! (`dhcp.odhcpd.leasefile`, default /tmp/hosts/odhcpd), `dhcp` host sections (with staged
//! changes, as libuci loads by default) and /etc/ethers. Host hints have the current shape
//! (`ipaddrs`/`ip6addrs` arrays and `name`, keyed by upper-case MAC); the neighbour table,
//! local interfaces and reverse DNS that the plugin also consults do not exist in the testbed.

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::blob::{Args, Fields, Ty, V};
use crate::ctx::{bind, Shared};
use crate::provider::{Object, Reply, INVALID_ARGUMENT};
use crate::uci::{read_package, Opt};

pub fn object(ctx: Shared) -> Object {
    Object::new("luci-rpc")
        .method("getHostHints", &[], bind(&ctx, |c, _| host_hints(c)))
        .method(
            "getDHCPLeases",
            &[("family", Ty::Int32)],
            bind(&ctx, dhcp_leases),
        )
}

struct Lease {
    v6: bool,
    /// Seconds left; `None` for an infinite lease (shown as `false`).
    expires: Option<i32>,
    mac: Option<[u8; 6]>,
    hostname: Option<String>,
    duid: Option<String>,
    addrs: Vec<IpAddr>,
}

fn mac_str(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// glibc's ether_aton: six `:`-separated groups of one or two hex digits.
fn ether_aton(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(parts) {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}

/// rpcd-mod-luci's `duid2ea`: the MAC inside a DUID-LL or a bare 12-digit address. For a
/// DUID-LLT it starts 8 digits in, like the plugin, which reads the time field as the MAC.
fn duid2ea(duid: &str) -> Option<[u8; 6]> {
    if !duid.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let hex = match duid.len() {
        28 if duid.starts_with("00010001") => &duid[8..],
        20 if duid.starts_with("00030001") => &duid[8..],
        12 => duid,
        _ => return None,
    };
    let mut out = [0u8; 6];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn strtol(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let n: i64 = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |acc, d| {
            acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

fn leasefile(ctx: &Shared, stype: &str, default: &str) -> String {
    read_package(ctx, "dhcp", true)
        .and_then(|p| {
            p.sections
                .iter()
                .filter(|s| s.stype == stype)
                .find_map(|s| s.string("leasefile").map(str::to_string))
        })
        .unwrap_or_else(|| default.to_string())
}

fn read_router_file(ctx: &Shared, path: &str) -> String {
    ctx.root
        .resolve(path, true)
        .ok()
        .and_then(|p| fs::read(p).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// Every lease, dnsmasq's file first, then odhcpd's, parsed like rpcd-mod-luci's `lease_next`.
fn leases(ctx: &Shared) -> Vec<Lease> {
    let now = now();
    let mut out = Vec::new();
    let dnsmasq = read_router_file(ctx, &leasefile(ctx, "dnsmasq", "/tmp/dhcp.leases"));
    for line in dnsmasq.lines() {
        let mut t = line.split([' ', '\t']).filter(|s| !s.is_empty());
        let Some(first) = t.next() else { continue };
        // The plugin keeps the expiry in an int: times past 2038 wrap, as there.
        let n = i64::from(strtol(first) as i32);
        let expires = if n > now {
            Some((n - now) as i32)
        } else if n > 0 {
            Some(0)
        } else {
            None
        };
        let Some(mac_tok) = t.next() else { continue };
        let mut mac = ether_aton(mac_tok);
        let Some(addr) = t.next().and_then(|a| {
            a.parse::<Ipv6Addr>()
                .map(IpAddr::V6)
                .or_else(|_| a.parse::<Ipv4Addr>().map(IpAddr::V4))
                .ok()
        }) else {
            continue;
        };
        let v6 = addr.is_ipv6();
        if mac.is_none() && !v6 {
            continue;
        }
        let (Some(hostname), Some(duid)) = (t.next(), t.next()) else {
            continue;
        };
        let hostname = (hostname != "*").then(|| hostname.to_string());
        let duid = (duid != "*").then(|| duid.to_string());
        if mac.is_none() {
            mac = duid.as_deref().and_then(duid2ea);
        }
        out.push(Lease {
            v6,
            expires,
            mac,
            hostname,
            duid,
            addrs: vec![addr],
        });
    }
    let odhcpd = read_router_file(ctx, &leasefile(ctx, "odhcpd", "/tmp/hosts/odhcpd"));
    for line in odhcpd.lines() {
        let mut t = line.split([' ', '\t']).filter(|s| !s.is_empty());
        let (_hash, _iface) = (t.next(), t.next());
        let Some(duid) = t.next() else { continue };
        let Some(iaid) = t.next() else { continue };
        let v6 = iaid != "ipv4";
        let Some(hostname) = t.next() else { continue };
        let Some(ts) = t.next() else { continue };
        let n = i64::from(strtol(ts) as i32);
        let expires = if n > now {
            Some((n - now) as i32)
        } else if n >= 0 {
            Some(0)
        } else {
            None
        };
        let (_id, _len) = (t.next(), t.next());
        let addrs: Vec<IpAddr> = t
            .flat_map(|tok| tok.split('/'))
            .filter_map(|a| {
                if v6 {
                    a.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
                } else {
                    a.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
                }
            })
            .take(10)
            .collect();
        out.push(Lease {
            v6,
            expires,
            mac: duid2ea(duid),
            hostname: (hostname != "-").then(|| hostname.to_string()),
            duid: (duid != "-").then(|| duid.to_string()),
            addrs,
        });
    }
    out
}

fn dhcp_leases(ctx: &Shared, a: &Args) -> Reply {
    let families: &[bool] = match a.i32("family").unwrap_or(0) {
        0 => &[false, true],
        4 => &[false],
        6 => &[true],
        _ => return Reply::status(INVALID_ARGUMENT),
    };
    let mut out = Vec::new();
    for &v6 in families {
        let mut list = Vec::new();
        for lease in leases(ctx).into_iter().filter(|l| l.v6 == v6) {
            let mut f: Fields = vec![(
                "expires".into(),
                match lease.expires {
                    Some(n) => V::I32(n),
                    None => V::Bool(false),
                },
            )];
            if let Some(h) = lease.hostname {
                f.push(("hostname".into(), V::str(h)));
            }
            if let Some(m) = lease.mac.filter(|m| *m != [0; 6]) {
                f.push(("macaddr".into(), V::str(mac_str(&m))));
            }
            if let Some(d) = lease.duid {
                f.push(("duid".into(), V::str(d)));
            }
            let first = lease.addrs.first().map_or_else(
                || if v6 { "::".into() } else { "0.0.0.0".into() },
                IpAddr::to_string,
            );
            f.push((
                (if v6 { "ip6addr" } else { "ipaddr" }).into(),
                V::str(first),
            ));
            if v6 {
                f.push((
                    "ip6addrs".into(),
                    V::strs(lease.addrs.iter().map(IpAddr::to_string)),
                ));
            }
            list.push(V::Table(f));
        }
        out.push((
            (if v6 { "dhcp6_leases" } else { "dhcp_leases" }).into(),
            V::Array(list),
        ));
    }
    Reply::data(out)
}

#[derive(Default)]
struct Hint {
    ipaddrs: Vec<String>,
    ip6addrs: Vec<String>,
    name: Option<String>,
}

impl Hint {
    fn add(&mut self, addr: IpAddr) {
        let (list, s) = match addr {
            IpAddr::V4(a) => (&mut self.ipaddrs, a.to_string()),
            IpAddr::V6(a) => (&mut self.ip6addrs, a.to_string()),
        };
        if !list.contains(&s) {
            list.push(s);
        }
    }
}

fn host_hints(ctx: &Shared) -> Reply {
    let mut hints: BTreeMap<String, Hint> = BTreeMap::new();
    if let Some(dhcp) = read_package(ctx, "dhcp", true) {
        for s in dhcp.sections.iter().filter(|s| s.stype == "host") {
            let ip = s.string("ip").and_then(|i| i.parse::<Ipv4Addr>().ok());
            let name = s.string("name");
            let macs = match s.opt("mac") {
                Some(Opt::Str(m)) => m.split([' ', '\t']).map(str::to_string).collect(),
                Some(Opt::List(items)) => items.clone(),
                None => continue,
            };
            for mac in macs.iter().filter_map(|m| ether_aton(m)) {
                let hint = hints.entry(mac_str(&mac)).or_default();
                if let Some(ip) = ip {
                    hint.add(IpAddr::V4(ip));
                }
                if hint.name.is_none() {
                    hint.name = name.map(str::to_string);
                }
            }
        }
    }
    for lease in leases(ctx) {
        let Some(mac) = lease.mac.filter(|m| *m != [0; 6]) else {
            continue;
        };
        let hint = hints.entry(mac_str(&mac)).or_default();
        for addr in lease.addrs {
            hint.add(addr);
        }
        if hint.name.is_none() {
            hint.name = lease.hostname;
        }
    }
    for line in read_router_file(ctx, "/etc/ethers").lines() {
        let mut t = line.split([' ', '\t']).filter(|s| !s.is_empty());
        let Some(mac) = t.next().and_then(ether_aton) else {
            continue;
        };
        let Some(second) = t.next() else { continue };
        let hint = hints.entry(mac_str(&mac)).or_default();
        match second.parse::<Ipv4Addr>() {
            Ok(ip) => hint.add(IpAddr::V4(ip)),
            Err(_) if hint.name.is_none() => hint.name = Some(second.to_string()),
            Err(_) => {}
        }
    }
    let fields = hints
        .into_iter()
        .map(|(mac, h)| {
            let mut f: Fields = vec![
                ("ipaddrs".into(), V::strs(h.ipaddrs)),
                ("ip6addrs".into(), V::strs(h.ip6addrs)),
            ];
            if let Some(n) = h.name {
                f.push(("name".into(), V::str(n)));
            }
            (mac, V::Table(f))
        })
        .collect();
    Reply::data(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(
            ether_aton("52:54:0:12:34:56"),
            Some([0x52, 0x54, 0, 0x12, 0x34, 0x56])
        );
        assert_eq!(ether_aton("52:54:00:12:34"), None);
        assert_eq!(
            duid2ea("000100012c3e3a1b525400123456"),
            Some([0x2c, 0x3e, 0x3a, 0x1b, 0x52, 0x54])
        );
        assert_eq!(
            duid2ea("00030001525400123456"),
            Some([0x52, 0x54, 0, 0x12, 0x34, 0x56])
        );
    }
}
