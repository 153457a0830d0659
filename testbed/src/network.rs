//! Stand-in for netifd's `network.interface` object: `dump` and `status {interface}`.
//!
//! When ROOT/var/run/testbed/network.interface.json exists it is the answer to `dump`, verbatim
//! (`{"interface": [ … ]}` in netifd's shape, openwrt-facts §4.7): that is how a test states
//! "the WAN is up with 203.0.113.7 on pppoe-wan". Without it the dump is derived from the
//! committed ROOT/etc/config/network: `static` interfaces are up with their `ipaddr`/`netmask`
//! (and a default route when they have a `gateway`), every other protocol is down, since no DHCP
//! or PPP client runs in the testbed.

use std::fs;

use serde_json::Value as J;

use crate::blob::{from_json, Args, Fields, Ty, V};
use crate::ctx::{bind, Shared};
use crate::provider::{log, Object, Reply, INVALID_ARGUMENT, NOT_FOUND, UNKNOWN_ERROR};

pub const DUMP_FILE: &str = "/var/run/testbed/network.interface.json";

pub fn object(ctx: Shared) -> Object {
    Object::new("network.interface")
        .method("dump", &[], bind(&ctx, |c, _| dump(c)))
        .method("status", &[("interface", Ty::String)], bind(&ctx, status))
}

fn interfaces(ctx: &Shared) -> Result<Vec<V>, i32> {
    let path = ctx.root.join(DUMP_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let parsed: J = serde_json::from_str(&text).map_err(|e| {
                log(&format!("{}: {e}", path.display()));
                UNKNOWN_ERROR
            })?;
            let Some(list) = parsed.get("interface").and_then(J::as_array) else {
                log(&format!("{}: no \"interface\" array", path.display()));
                return Err(UNKNOWN_ERROR);
            };
            Ok(list.iter().map(from_json).collect())
        }
        Err(_) => Ok(derived(ctx)),
    }
}

fn dump(ctx: &Shared) -> Reply {
    match interfaces(ctx) {
        Ok(list) => Reply::data(vec![("interface".into(), V::Array(list))]),
        Err(st) => Reply::status(st),
    }
}

fn status(ctx: &Shared, a: &Args) -> Reply {
    let Some(name) = a.str("interface") else {
        return Reply::status(INVALID_ARGUMENT);
    };
    let list = match interfaces(ctx) {
        Ok(l) => l,
        Err(st) => return Reply::status(st),
    };
    for iface in list {
        if iface.get("interface").and_then(V::as_str) == Some(name) {
            let V::Table(fields) = iface else { continue };
            return Reply::data(
                fields
                    .into_iter()
                    .filter(|(k, _)| k != "interface")
                    .collect(),
            );
        }
    }
    Reply::status(NOT_FOUND)
}

fn prefix_len(netmask: &str) -> Option<i32> {
    let octets: Vec<u8> = netmask
        .split('.')
        .map(|o| o.parse().ok())
        .collect::<Option<_>>()?;
    if octets.len() != 4 {
        return None;
    }
    let n = u32::from_be_bytes([octets[0], octets[1], octets[2], octets[3]]);
    Some(n.count_ones() as i32)
}

fn derived(ctx: &Shared) -> Vec<V> {
    let Some(pkg) = crate::uci::read_package(ctx, "network", false) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for s in pkg.sections.iter().filter(|s| s.stype == "interface") {
        let proto = s.string("proto").unwrap_or("none").to_string();
        let device = s
            .string("device")
            .or_else(|| s.string("ifname"))
            .map(str::to_string);
        let up =
            proto == "static" && s.string("auto") != Some("0") && s.string("disabled") != Some("1");
        let mut f: Fields = vec![
            ("interface".into(), V::str(s.name.clone())),
            ("up".into(), V::Bool(up)),
            ("pending".into(), V::Bool(false)),
            ("available".into(), V::Bool(true)),
            ("autostart".into(), V::Bool(s.string("auto") != Some("0"))),
            ("dynamic".into(), V::Bool(false)),
        ];
        if up {
            f.push(("uptime".into(), V::I32(0)));
            if let Some(d) = &device {
                f.push(("l3_device".into(), V::str(d.clone())));
            }
        }
        f.push(("proto".into(), V::str(proto)));
        if let Some(d) = device {
            f.push(("device".into(), V::str(d)));
        }
        if up {
            let mut addrs = Vec::new();
            for addr in s.words("ipaddr") {
                let (ip, mask) = match addr.split_once('/') {
                    Some((ip, len)) => (ip.to_string(), len.parse().ok()),
                    None => (
                        addr.clone(),
                        s.string("netmask").and_then(prefix_len).or(Some(32)),
                    ),
                };
                if let Some(mask) = mask {
                    addrs.push(V::Table(vec![
                        ("address".into(), V::str(ip)),
                        ("mask".into(), V::I32(mask)),
                    ]));
                }
            }
            let routes = match s.string("gateway") {
                Some(gw) => vec![V::Table(vec![
                    ("target".into(), V::str("0.0.0.0")),
                    ("mask".into(), V::I32(0)),
                    ("nexthop".into(), V::str(gw)),
                    ("source".into(), V::str("0.0.0.0/0")),
                ])],
                None => Vec::new(),
            };
            f.push(("ipv4-address".into(), V::Array(addrs)));
            for key in ["ipv6-address", "ipv6-prefix", "ipv6-prefix-assignment"] {
                f.push((key.into(), V::Array(Vec::new())));
            }
            f.push(("route".into(), V::Array(routes)));
            f.push(("dns-server".into(), V::strs(s.words("dns"))));
            f.push(("dns-search".into(), V::Array(Vec::new())));
            f.push(("neighbors".into(), V::Array(Vec::new())));
        }
        f.push(("data".into(), V::Table(Vec::new())));
        out.push(V::Table(f));
    }
    out
}
