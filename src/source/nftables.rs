//! fw4's table straight from the kernel over nf_tables netlink (a NETLINK_NETFILTER socket),
//! handed on as the items of the `nft -j` JSON array that formats::nft reads, one at a time.
//!
//! Why not `nft -j list table inet fw4`: nft turns every rule's kernel expressions back into its
//! own syntax and then into JSON, ~20–40 µs of CPU a rule; with 5,000 UPnP mappings (two rules
//! each) that is 0.2–0.4 s per read, while the kernel's dump of the same rules takes a few ms.
//! Expressions come out in their raw form (`@nh,72,8`, `@nh,128,32`, `th dport`), the form in
//! which nft lists miniupnpd's own rules anyway. What this reader does not decode becomes an
//! expression formats::nft lists as unmodelled, so a rule never reads narrower than the kernel
//! has it. Named sets are not dumped: a match on one reads as unmodelled too.
//!
//! Constants: linux/netfilter/nf_tables.h, linux/netfilter/nfnetlink.h, libnftnl's udata.h.
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::netlink::{
    attr, attrs, error_code, message, messages, put_str, Socket, NFNL_SUBSYS_NFTABLES, NLMSG_DONE,
    NLMSG_ERROR, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use crate::nftables::{
    NFPROTO_INET, NFPROTO_IPV4, NFTA_DATA_VALUE, NFTA_DATA_VERDICT, NFTA_EXPR_DATA, NFTA_EXPR_NAME,
    NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS, NFTA_RULE_TABLE, NFTA_RULE_USERDATA, NFTA_VERDICT_CODE,
    NFT_REG_VERDICT,
};
use crate::sorted::SortedMap;

const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_GETRULE: u16 = 7;
const NFT_MSG_GETSET: u16 = 10;
const NFT_MSG_GETSETELEM: u16 = 13;

const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_HANDLE: u16 = 2;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_RULE_HANDLE: u16 = 3;
const NFTA_VERDICT_CHAIN: u16 = 2;
const NFTA_SET_TABLE: u16 = 1;
const NFTA_SET_NAME: u16 = 2;
const NFTA_SET_FLAGS: u16 = 3;
const NFTA_SET_KEY_TYPE: u16 = 4;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_FLAGS: u16 = 3;
const NFT_SET_INTERVAL: u32 = 0x4;
const NFT_SET_ELEM_INTERVAL_END: u32 = 0x1;
/// libnftnl's comment in a rule's user data (NFTNL_UDATA_RULE_COMMENT).
const UDATA_RULE_COMMENT: u8 = 0;

/// How often a dump the ruleset changed under (miniupnpd adding a rule) is taken again.
const ATTEMPTS: usize = 3;

/// Starts a dump of `msg` for the inet family, narrowed by `attrs`.
fn dump(sock: &mut Socket, msg: u16, attrs: &[u8]) -> io::Result<u32> {
    let seq = sock.next_seq();
    sock.send(&message(
        (NFNL_SUBSYS_NFTABLES << 8) | msg,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        NFPROTO_INET,
        0,
        attrs,
    ))?;
    Ok(seq)
}

fn text(v: &[u8]) -> String {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

fn be64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?))
}

/// Every message of one dump: the attributes of each, and whether the ruleset changed under it.
fn dump_all(sock: &mut Socket, msg: u16, filter: &[u8]) -> io::Result<(Vec<Vec<u8>>, bool)> {
    let seq = dump(sock, msg, filter)?;
    let mut out = Vec::new();
    let mut interrupted = false;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = sock.receive(&mut buf)?;
        for m in messages(&buf[..n]) {
            if m.seq != seq {
                continue;
            }
            interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
            match m.kind {
                NLMSG_DONE => return Ok((out, interrupted)),
                NLMSG_ERROR => match error_code(m.body) {
                    0 => {}
                    code => return Err(io::Error::from_raw_os_error(-code)),
                },
                _ => out.push(m.body.get(4..).unwrap_or_default().to_vec()),
            }
        }
    }
}

/// The chains of `table` (family inet) in the kernel's order: (name, handle). Empty when there
/// is no such table.
fn chains(sock: &mut Socket, table: &str) -> io::Result<(Vec<(String, u64)>, bool)> {
    let mut filter = Vec::new();
    put_str(&mut filter, NFTA_CHAIN_TABLE, table);
    let (bodies, interrupted) = dump_all(sock, NFT_MSG_GETCHAIN, &filter)?;
    let mut out = Vec::new();
    for body in &bodies {
        let a = attrs(body);
        if attr(&a, NFTA_CHAIN_TABLE).map(text).as_deref() != Some(table) {
            continue;
        }
        if let Some(name) = attr(&a, NFTA_CHAIN_NAME) {
            let handle = attr(&a, NFTA_CHAIN_HANDLE).and_then(be64).unwrap_or(0);
            out.push((text(name), handle));
        }
    }
    Ok((out, interrupted))
}

/// The sets of `table`, anonymous ones (`{ tcp, udp }` in a rule) included, each as nft's JSON
/// `set` item with its elements, so that a rule's lookup reads as the values it matches.
fn sets(
    sock: &mut Socket,
    table: &str,
    ifnames: &SortedMap<u32, String>,
) -> io::Result<(Vec<String>, bool)> {
    let mut filter = Vec::new();
    put_str(&mut filter, NFTA_SET_TABLE, table);
    let (bodies, mut interrupted) = dump_all(sock, NFT_MSG_GETSET, &filter)?;
    let mut out = Vec::new();
    for body in &bodies {
        let a = attrs(body);
        let Some(name) = attr(&a, NFTA_SET_NAME).map(text) else {
            continue;
        };
        if attr(&a, NFTA_SET_TABLE).map(text).as_deref() != Some(table) {
            continue;
        }
        let flags = attr(&a, NFTA_SET_FLAGS).and_then(be32).unwrap_or(0);
        let enc = key_encoding(attr(&a, NFTA_SET_KEY_TYPE).and_then(be32).unwrap_or(0));
        let mut filter = Vec::new();
        put_str(&mut filter, NFTA_SET_ELEM_LIST_TABLE, table);
        put_str(&mut filter, NFTA_SET_ELEM_LIST_SET, &name);
        let (elem_bodies, changed) = dump_all(sock, NFT_MSG_GETSETELEM, &filter)?;
        interrupted |= changed;
        // (key, closes an interval)
        let mut keys: Vec<(Vec<u8>, bool)> = Vec::new();
        for body in &elem_bodies {
            let list = attrs(body);
            for (_, elem) in attrs(attr(&list, NFTA_SET_ELEM_LIST_ELEMENTS).unwrap_or_default()) {
                let e = attrs(elem);
                let key = attr(&e, NFTA_SET_ELEM_KEY)
                    .map(data_value)
                    .unwrap_or_default();
                let end = attr(&e, NFTA_SET_ELEM_FLAGS)
                    .and_then(be32)
                    .is_some_and(|f| f & NFT_SET_ELEM_INTERVAL_END != 0);
                keys.push((key, end));
            }
        }
        let elems = if flags & NFT_SET_INTERVAL != 0 {
            intervals(keys, enc, ifnames)
        } else {
            // In key order, as nft lists them (a hash set dumps in bucket order).
            keys.sort();
            keys.iter().map(|(k, _)| encode(k, enc, ifnames)).collect()
        };
        out.push(format!(
            r#"{{"set":{{"family":"inet","table":{},"name":{},"elem":[{}]}}}}"#,
            quote(table),
            quote(&name),
            elems.join(",")
        ));
    }
    Ok((out, interrupted))
}

/// An interval set's elements: the kernel keeps each range as its start and, flagged, the key
/// after its end. Single values come out as values, ranges as nft's `{"range": [lo, hi]}`.
fn intervals(
    mut keys: Vec<(Vec<u8>, bool)>,
    enc: Encoding,
    ifnames: &SortedMap<u32, String>,
) -> Vec<String> {
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < keys.len() {
        let (start, is_end) = &keys[i];
        i += 1;
        if *is_end {
            continue;
        }
        let last = match keys.get(i) {
            Some((next, true)) => {
                i += 1;
                decrement(next)
            }
            _ => vec![0xff; start.len()],
        };
        if &last == start {
            out.push(encode(start, enc, ifnames));
        } else {
            out.push(format!(
                r#"{{"range":[{},{}]}}"#,
                encode(start, enc, ifnames),
                encode(&last, enc, ifnames)
            ));
        }
    }
    out
}

/// A big-endian key minus one.
fn decrement(key: &[u8]) -> Vec<u8> {
    let mut out = key.to_vec();
    for b in out.iter_mut().rev() {
        let (v, borrow) = b.overflowing_sub(1);
        *b = v;
        if !borrow {
            break;
        }
    }
    out
}

/// How a set's keys read, by nft's datatype number (nftables' include/datatype.h).
fn key_encoding(key_type: u32) -> Encoding {
    match key_type {
        7 => Encoding::Ipv4,
        8 => Encoding::Ipv6,
        9 => Encoding::Mac,
        12 | 13 => Encoding::BigEndian,
        19 => Encoding::Host32,
        20 => Encoding::Interface,
        41 => Encoding::Name,
        _ => Encoding::Bytes,
    }
}

/// Which chains of the table to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chains<'a> {
    All,
    /// Only these (the kernel filters the dump per chain).
    Only(&'a [&'a str]),
}

/// The dump of one `inet` table as the items of `nft -j`'s array (sets, chains, then rules),
/// produced while it is read: memory holds one netlink datagram and the JSON of the rules in
/// it, never the whole document.
pub struct TableDump {
    sock: Socket,
    table: String,
    /// Chains whose rules are still to be dumped, one dump each.
    queue: std::collections::VecDeque<String>,
    /// The dump under way: its sequence number.
    current: Option<u32>,
    /// Items made and not yet handed out.
    pending: std::collections::VecDeque<String>,
    buf: Vec<u8>,
    done: bool,
    ifnames: SortedMap<u32, String>,
    /// The ruleset changed during the dump (the kernel flags it): what was read may mix
    /// before and after.
    interrupted: bool,
}

impl TableDump {
    /// Starts reading `table` of the inet family; None when the kernel has no such table (or
    /// one without chains: nothing fw4 rendered).
    pub fn open(table: &str, which: Chains<'_>) -> io::Result<Option<TableDump>> {
        let mut sock = Socket::open()?;
        let (all, interrupted) = chains(&mut sock, table)?;
        if all.is_empty() {
            return Ok(None);
        }
        let listed: Vec<&(String, u64)> = all
            .iter()
            .filter(|(name, _)| match which {
                Chains::All => true,
                Chains::Only(names) => names.contains(&name.as_str()),
            })
            .collect();
        let ifnames = interface_names();
        let (sets, sets_changed) = match which {
            Chains::All => sets(&mut sock, table, &ifnames)?,
            // miniupnpd's chains use no sets.
            Chains::Only(_) => (Vec::new(), false),
        };
        let chain_items = listed.iter().map(|(name, handle)| {
            format!(
                r#"{{"chain":{{"family":"inet","table":{},"name":{},"handle":{handle}}}}}"#,
                quote(table),
                quote(name)
            )
        });
        let pending = sets.into_iter().chain(chain_items).collect();
        // One dump per chain: the kernel resumes a dump by walking it again from its start up
        // to where the last datagram ended, so a table-wide dump walks every chain before
        // miniupnpd's for each datagram of them.
        let queue = listed.iter().map(|(name, _)| name.clone()).collect();
        Ok(Some(TableDump {
            sock,
            table: table.to_owned(),
            queue,
            current: None,
            pending,
            buf: vec![0u8; 1 << 16],
            done: false,
            ifnames,
            interrupted: interrupted || sets_changed,
        }))
    }

    /// Whether the ruleset changed while it was read (take it again).
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Receives the next datagram of the dump under way, or starts the next dump.
    fn fill(&mut self) -> io::Result<()> {
        let Some(seq) = self.current else {
            match self.queue.pop_front() {
                Some(chain) => {
                    let mut filter = Vec::new();
                    put_str(&mut filter, NFTA_RULE_TABLE, &self.table);
                    put_str(&mut filter, NFTA_RULE_CHAIN, &chain);
                    self.current = Some(dump(&mut self.sock, NFT_MSG_GETRULE, &filter)?);
                }
                None => self.done = true,
            }
            return Ok(());
        };
        let n = self.sock.receive(&mut self.buf)?;
        let buf = std::mem::take(&mut self.buf);
        let result = self.take(&buf[..n], seq);
        self.buf = buf;
        result
    }

    fn take(&mut self, datagram: &[u8], seq: u32) -> io::Result<()> {
        for m in messages(datagram) {
            if m.seq != seq {
                continue;
            }
            self.interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
            match m.kind {
                NLMSG_DONE => self.current = None,
                NLMSG_ERROR => match error_code(m.body) {
                    0 => {}
                    code => return Err(io::Error::from_raw_os_error(-code)),
                },
                _ => {
                    let a = attrs(m.body.get(4..).unwrap_or_default());
                    if attr(&a, NFTA_RULE_TABLE).map(text).as_deref() != Some(&self.table) {
                        continue;
                    }
                    self.pending
                        .push_back(rule_json(&self.table, &a, &self.ifnames));
                }
            }
        }
        Ok(())
    }
}

/// The items in order, each one JSON object; an error ends them.
impl Iterator for TableDump {
    type Item = io::Result<String>;

    fn next(&mut self) -> Option<io::Result<String>> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}

/// Reads `table` with `read` (a parser over the items), again when the ruleset changed during
/// the dump; None when the table is not there.
pub fn read_table<T>(
    table: &str,
    which: Chains<'_>,
    mut read: impl FnMut(&mut TableDump) -> T,
) -> io::Result<Option<T>> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let Some(mut dump) = TableDump::open(table, which)? else {
            return Ok(None);
        };
        let result = read(&mut dump);
        // Whatever the parser left unread is drained, so the interruption flag is complete.
        for item in &mut dump {
            item?;
        }
        if !dump.interrupted() || attempt == ATTEMPTS {
            return Ok(Some(result));
        }
    }
}

/// ifindex → name, for `meta iif` (the kernel compares the index; nft prints the name).
fn interface_names() -> SortedMap<u32, String> {
    let Ok(dir) = std::fs::read_dir("/sys/class/net") else {
        return SortedMap::new();
    };
    // A few interfaces: a sorted Vec, not a hash table.
    dir.flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let index = std::fs::read_to_string(entry.path().join("ifindex")).ok()?;
            Some((index.trim().parse().ok()?, name))
        })
        .collect()
}

/// What a register holds while a rule's expressions are read.
#[derive(Clone)]
enum Reg {
    /// A packet or metadata field as nft's JSON names it (JSON text), how its bytes read, and
    /// the metadata key when it is one.
    Load(String, Encoding, Option<&'static str>),
    /// Constant data (the address and port a NAT statement translates to).
    Data(Vec<u8>),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    /// Network byte order: a number (a hex string past 64 bits).
    BigEndian,
    /// Host byte order, 32 bits (marks, interface indexes).
    Host32,
    Interface,
    Name,
    Ipv4,
    Ipv6,
    Mac,
    /// The result of a mask or a load nft would print differently: hex bytes.
    Bytes,
}

/// One statement of a rule as JSON text, and when it is `meta KEY == VALUE`, the key and
/// value: nft leaves some of these out as dependencies of the header match after them.
struct Expr {
    json: String,
    meta_match: Option<(&'static str, Option<u64>)>,
}

impl Expr {
    fn plain(json: String) -> Option<Expr> {
        Some(Expr {
            json,
            meta_match: None,
        })
    }
}

/// A dependency match waiting for its header match: its place among the expressions, and the
/// transport protocol it names.
type Dependency = Option<(usize, Option<&'static str>)>;

/// A JSON string.
fn quote(s: &str) -> String {
    crate::encode::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// One rule as nft's JSON lists it (`{"rule": …}`), built from its netlink attributes.
fn rule_json(table: &str, a: &[(u16, &[u8])], ifnames: &SortedMap<u32, String>) -> String {
    let chain = attr(a, NFTA_RULE_CHAIN).map(text).unwrap_or_default();
    let handle = attr(a, NFTA_RULE_HANDLE).and_then(be64).unwrap_or(0);
    let mut out = format!(
        r#"{{"rule":{{"family":"inet","table":{},"chain":{},"handle":{handle}"#,
        quote(table),
        quote(&chain)
    );
    if let Some(comment) = attr(a, NFTA_RULE_USERDATA).and_then(comment) {
        out.push_str(r#","comment":"#);
        out.push_str(&quote(&comment));
    }
    let mut exprs: Vec<Option<String>> = Vec::new();
    // A rule uses a few registers: a sorted Vec, not a hash table.
    let mut regs: SortedMap<u32, Reg> = SortedMap::new();
    let (mut nfproto_match, mut iiftype_match, mut l4proto_match): (
        Dependency,
        Dependency,
        Dependency,
    ) = (None, None, None);
    for (_, elem) in attrs(attr(a, NFTA_RULE_EXPRESSIONS).unwrap_or_default()) {
        let e = attrs(elem);
        let name = attr(&e, NFTA_EXPR_NAME).map(text).unwrap_or_default();
        let data = attrs(attr(&e, NFTA_EXPR_DATA).unwrap_or_default());
        // The dependencies nft adds to a header match in an inet table and leaves out of its
        // listing: `meta nfproto ipv4` before an `ip` field, `meta iiftype ether` before an
        // `ether` field, `meta l4proto tcp` before `tcp dport` (which it names after the
        // protocol). Without a header match after them, they stay.
        let mut th_protocol = None;
        if name == "payload" && attr(&data, 5).is_none() {
            let pending = match reg(&data, 2) {
                Some(0) => &mut iiftype_match,
                Some(1) => &mut nfproto_match,
                _ => &mut l4proto_match,
            };
            if let Some((at, protocol)) = pending.take() {
                exprs[at] = None;
                th_protocol = protocol;
            }
        }
        if let Some(expr) = expression(&name, &data, &mut regs, ifnames, th_protocol) {
            let at = exprs.len();
            match expr.meta_match {
                Some(("nfproto", _)) => nfproto_match = Some((at, None)),
                Some(("iiftype", _)) => iiftype_match = Some((at, None)),
                Some(("l4proto", value)) => {
                    l4proto_match = value.and_then(header_name).map(|p| (at, Some(p)));
                }
                _ => {}
            }
            exprs.push(Some(expr.json));
        }
    }
    out.push_str(r#","expr":["#);
    for (i, expr) in exprs.iter().flatten().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(expr);
    }
    out.push_str("]}}");
    out
}

/// The comment in a rule's user data (type-length-value records).
fn comment(mut udata: &[u8]) -> Option<String> {
    while let [kind, len, rest @ ..] = udata {
        let value = rest.get(..usize::from(*len))?;
        if *kind == UDATA_RULE_COMMENT {
            return Some(text(value));
        }
        udata = &rest[usize::from(*len)..];
    }
    None
}

fn reg(data: &[(u16, &[u8])], kind: u16) -> Option<u32> {
    attr(data, kind).and_then(be32)
}

/// The transport headers nft names a `th` field after when `meta l4proto` selects one.
fn header_name(l4proto: u64) -> Option<&'static str> {
    Some(match l4proto {
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        132 => "sctp",
        136 => "udplite",
        _ => return None,
    })
}

fn field(protocol: &str, field: &str) -> String {
    format!(
        r#"{{"payload":{{"protocol":{},"field":{}}}}}"#,
        quote(protocol),
        quote(field)
    )
}

/// One expression as nft's JSON statement; loads only fill `regs` (None). `th_protocol`: the
/// transport protocol a preceding `meta l4proto` selected, which names a `th` field.
fn expression(
    name: &str,
    data: &[(u16, &[u8])],
    regs: &mut SortedMap<u32, Reg>,
    ifnames: &SortedMap<u32, String>,
    th_protocol: Option<&str>,
) -> Option<Expr> {
    let load = |regs: &SortedMap<u32, Reg>, sreg: u32| match regs.get(&sreg) {
        Some(Reg::Load(sel, enc, key)) => (sel.clone(), *enc, *key),
        _ => (r#""?""#.to_owned(), Encoding::Bytes, None),
    };
    match name {
        "payload" => {
            // NFTA_PAYLOAD_SREG: a write into the packet, not a match.
            if attr(data, 5).is_some() {
                return Expr::plain(r#"{"mangle":null}"#.into());
            }
            let (dreg, base, offset, len) =
                (reg(data, 1)?, reg(data, 2)?, reg(data, 3)?, reg(data, 4)?);
            let base_name = match base {
                0 => "ll",
                1 => "nh",
                2 => "th",
                _ => "ih",
            };
            let th = th_protocol.unwrap_or("th");
            let (selector, encoding) = match (base_name, offset, len) {
                ("th", 0, 2) => (field(th, "sport"), Encoding::BigEndian),
                ("th", 2, 2) => (field(th, "dport"), Encoding::BigEndian),
                ("ll", 0, 6) => (field("ether", "daddr"), Encoding::Mac),
                ("ll", 6, 6) => (field("ether", "saddr"), Encoding::Mac),
                _ if th_protocol.is_some() => (
                    field(th, &format!("@th,{},{}", offset * 8, len * 8)),
                    Encoding::BigEndian,
                ),
                _ => (
                    format!(
                        r#"{{"payload":{{"base":"{base_name}","offset":{},"len":{}}}}}"#,
                        offset * 8,
                        len * 8
                    ),
                    Encoding::BigEndian,
                ),
            };
            regs.insert(dreg, Reg::Load(selector, encoding, None));
            None
        }
        "meta" => {
            let Some(dreg) = reg(data, 1) else {
                return Expr::plain(r#"{"meta set":null}"#.into());
            };
            let key = reg(data, 2)?;
            let (name, encoding) = match key {
                1 => ("protocol", Encoding::BigEndian),
                3 => ("mark", Encoding::Host32),
                4 => ("iif", Encoding::Interface),
                5 => ("oif", Encoding::Interface),
                6 => ("iifname", Encoding::Name),
                7 => ("oifname", Encoding::Name),
                8 => ("iiftype", Encoding::Bytes),
                15 => ("nfproto", Encoding::BigEndian),
                16 => ("l4proto", Encoding::BigEndian),
                19 => ("pkttype", Encoding::BigEndian),
                _ => ("other", Encoding::Bytes),
            };
            let key_name = if name == "other" {
                format!("meta key {key}")
            } else {
                name.to_owned()
            };
            let selector = format!(r#"{{"meta":{{"key":{}}}}}"#, quote(&key_name));
            regs.insert(dreg, Reg::Load(selector, encoding, Some(name)));
            None
        }
        "ct" => {
            let Some(dreg) = reg(data, 1) else {
                return Expr::plain(r#"{"ct set":null}"#.into());
            };
            let key = match reg(data, 2)? {
                0 => "state".to_owned(),
                1 => "direction".to_owned(),
                2 => "status".to_owned(),
                3 => "mark".to_owned(),
                other => format!("ct key {other}"),
            };
            let selector = format!(r#"{{"ct":{{"key":{}}}}}"#, quote(&key));
            regs.insert(dreg, Reg::Load(selector, Encoding::Bytes, None));
            None
        }
        "bitwise" => {
            let (sreg, dreg) = (reg(data, 1)?, reg(data, 2)?);
            let mask = attr(data, 4).map(data_value).unwrap_or_default();
            let (sel, _, _) = load(regs, sreg);
            let masked = format!(r#"{{"&":[{sel},{}]}}"#, hex(&mask));
            regs.insert(dreg, Reg::Load(masked, Encoding::Bytes, None));
            None
        }
        "immediate" => {
            let dreg = reg(data, 1)?;
            let value = attrs(attr(data, 2)?);
            if dreg == NFT_REG_VERDICT {
                let verdict = attrs(attr(&value, NFTA_DATA_VERDICT)?);
                let code = attr(&verdict, NFTA_VERDICT_CODE).and_then(be32)? as i32;
                let target = || attr(&verdict, NFTA_VERDICT_CHAIN).map(text);
                return match code {
                    1 => Expr::plain(r#"{"accept":null}"#.into()),
                    0 => Expr::plain(r#"{"drop":null}"#.into()),
                    -5 => Expr::plain(r#"{"return":null}"#.into()),
                    -3 => Expr::plain(format!(r#"{{"jump":{{"target":{}}}}}"#, quote(&target()?))),
                    -4 => Expr::plain(format!(r#"{{"goto":{{"target":{}}}}}"#, quote(&target()?))),
                    // continue, break: nothing decided.
                    _ => None,
                };
            }
            regs.insert(dreg, Reg::Data(attr(&value, NFTA_DATA_VALUE)?.to_vec()));
            None
        }
        "cmp" => {
            let sreg = reg(data, 1)?;
            let op = match reg(data, 2)? {
                0 => "==",
                1 => "!=",
                2 => "<",
                3 => "<=",
                4 => ">",
                _ => ">=",
            };
            let value = attr(data, 3).map(data_value).unwrap_or_default();
            let (left, enc, key) = load(regs, sreg);
            let meta_match = key.filter(|_| op == "==").map(|k| {
                let number =
                    (enc == Encoding::BigEndian && value.len() <= 8).then(|| be_number(&value));
                (k, number)
            });
            Some(Expr {
                json: format!(
                    r#"{{"match":{{"op":"{op}","left":{left},"right":{}}}}}"#,
                    encode(&value, enc, ifnames)
                ),
                meta_match,
            })
        }
        "range" => {
            let sreg = reg(data, 1)?;
            let op = if reg(data, 2)? == 0 { "==" } else { "!=" };
            let from = attr(data, 3).map(data_value).unwrap_or_default();
            let to = attr(data, 4).map(data_value).unwrap_or_default();
            let (left, enc, _) = load(regs, sreg);
            Expr::plain(format!(
                r#"{{"match":{{"op":"{op}","left":{left},"right":{{"range":[{},{}]}}}}}}"#,
                encode(&from, enc, ifnames),
                encode(&to, enc, ifnames)
            ))
        }
        "lookup" => {
            let set = attr(data, 1).map(text).unwrap_or_default();
            let sreg = reg(data, 2)?;
            let (left, _, _) = load(regs, sreg);
            match reg(data, 3) {
                // A map: the verdict (or value) depends on the packet.
                Some(NFT_REG_VERDICT) => Expr::plain(format!(r#"{{"vmap":{{"key":{left}}}}}"#)),
                Some(_) => Expr::plain(r#"{"map":null}"#.into()),
                None => {
                    let inverted = reg(data, 5).is_some_and(|f| f & 1 != 0);
                    let op = if inverted { "!=" } else { "==" };
                    Expr::plain(format!(
                        r#"{{"match":{{"op":"{op}","left":{left},"right":{}}}}}"#,
                        quote(&format!("@{set}"))
                    ))
                }
            }
        }
        "nat" => {
            let kind = if reg(data, 1)? == 1 { "dnat" } else { "snat" };
            let family = reg(data, 2).unwrap_or(NFPROTO_IPV4);
            let family_name = if family == NFPROTO_IPV4 { "ip" } else { "ip6" };
            let data_in = |kind: u16| match reg(data, kind).and_then(|r| regs.get(&r)) {
                Some(Reg::Data(d)) => Some(d.clone()),
                _ => None,
            };
            let mut body = format!(r#""family":"{family_name}""#);
            let (addr_min, addr_max) = (data_in(3), data_in(4));
            if let Some(min) = &addr_min {
                let addr = address(min, family);
                match addr_max.as_ref().filter(|max| *max != min) {
                    Some(max) => body.push_str(&format!(
                        r#","addr":{{"range":[{addr},{}]}}"#,
                        address(max, family)
                    )),
                    None => body.push_str(&format!(r#","addr":{addr}"#)),
                }
            }
            let (port_min, port_max) = (data_in(5), data_in(6));
            if let Some(min) = &port_min {
                let first = port(min);
                match port_max.as_ref().filter(|max| *max != min) {
                    Some(max) => {
                        body.push_str(&format!(r#","port":{{"range":[{first},{}]}}"#, port(max)))
                    }
                    None => body.push_str(&format!(r#","port":{first}"#)),
                }
            }
            Expr::plain(format!(r#"{{"{kind}":{{{body}}}}}"#))
        }
        "redir" => match reg(data, 1).and_then(|r| regs.get(&r)) {
            Some(Reg::Data(d)) => Expr::plain(format!(r#"{{"redirect":{{"port":{}}}}}"#, port(d))),
            _ => Expr::plain(r#"{"redirect":null}"#.into()),
        },
        "masq" => Expr::plain(r#"{"masquerade":null}"#.into()),
        "reject" => Expr::plain(r#"{"reject":null}"#.into()),
        other => Expr::plain(format!(r#"{{{}:null}}"#, quote(other))),
    }
}

/// The bytes of an NFTA_*_DATA attribute (NFTA_DATA_VALUE inside).
fn data_value(nested: &[u8]) -> Vec<u8> {
    attr(&attrs(nested), NFTA_DATA_VALUE)
        .unwrap_or_default()
        .to_vec()
}

fn be_number(value: &[u8]) -> u64 {
    value.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b))
}

/// A value as nft's JSON prints it for a field read with `enc` (JSON text).
fn encode(value: &[u8], enc: Encoding, ifnames: &SortedMap<u32, String>) -> String {
    let host32 = || {
        value
            .get(..4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    match enc {
        Encoding::BigEndian if value.len() <= 8 => be_number(value).to_string(),
        Encoding::Host32 if value.len() == 4 => host32().unwrap_or(0).to_string(),
        Encoding::Interface if value.len() == 4 => {
            let index = host32().unwrap_or(0);
            ifnames
                .get(&index)
                .map_or_else(|| index.to_string(), |n| quote(n))
        }
        Encoding::Name => quote(&text(value)),
        Encoding::Ipv4 => address(value, NFPROTO_IPV4),
        Encoding::Ipv6 => address(value, 10),
        Encoding::Mac if value.len() == 6 => quote(
            &value
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        ),
        _ => hex(value),
    }
}

/// Bytes as nft prints a value past 64 bits: a JSON string `"0x…"`.
fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(4 + 2 * bytes.len());
    s.push_str("\"0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s.push('"');
    s
}

fn address(bytes: &[u8], family: u32) -> String {
    if family == NFPROTO_IPV4 {
        match <[u8; 4]>::try_from(bytes.get(..4).unwrap_or_default()) {
            Ok(b) => quote(&Ipv4Addr::from(b).to_string()),
            Err(_) => hex(bytes),
        }
    } else {
        match <[u8; 16]>::try_from(bytes.get(..16).unwrap_or_default()) {
            Ok(b) => quote(&Ipv6Addr::from(b).to_string()),
            Err(_) => hex(bytes),
        }
    }
}

fn port(bytes: &[u8]) -> String {
    bytes.get(..2).map_or_else(
        || "null".to_owned(),
        |b| u16::from_be_bytes([b[0], b[1]]).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{put_attr, NLA_F_NESTED};

    fn nested(kind: u16, fill: impl FnOnce(&mut Vec<u8>)) -> (u16, Vec<u8>) {
        let mut inner = Vec::new();
        fill(&mut inner);
        (kind | NLA_F_NESTED, inner)
    }

    fn expr(name: &str, fill: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut e = Vec::new();
        put_str(&mut e, NFTA_EXPR_NAME, name);
        let (k, data) = nested(NFTA_EXPR_DATA, fill);
        put_attr(&mut e, k, &data);
        let mut elem = Vec::new();
        put_attr(&mut elem, 1 | NLA_F_NESTED, &e);
        elem
    }

    fn u32a(out: &mut Vec<u8>, kind: u16, v: u32) {
        put_attr(out, kind, &v.to_be_bytes());
    }

    fn value(out: &mut Vec<u8>, kind: u16, bytes: &[u8]) {
        let mut inner = Vec::new();
        put_attr(&mut inner, NFTA_DATA_VALUE, bytes);
        put_attr(out, kind | NLA_F_NESTED, &inner);
    }

    /// miniupnpd's DNAT as the kernel holds it (netfilter_nft/nftnlrdr_misc.c: raw loads, then
    /// immediates into registers for the NAT statement) reads back as nft lists it, and
    /// formats::nft finds the mapping in it.
    #[test]
    fn a_miniupnpd_dnat_reads_back_as_the_mapping() {
        let mut exprs = Vec::new();
        exprs.extend(expr("meta", |d| {
            u32a(d, 2, 4);
            u32a(d, 1, 1);
        }));
        exprs.extend(expr("cmp", |d| {
            u32a(d, 1, 1);
            u32a(d, 2, 0);
            value(d, 3, &7u32.to_ne_bytes());
        }));
        exprs.extend(expr("payload", |d| {
            u32a(d, 1, 1);
            u32a(d, 2, 1);
            u32a(d, 3, 9);
            u32a(d, 4, 1);
        }));
        exprs.extend(expr("cmp", |d| {
            u32a(d, 1, 1);
            u32a(d, 2, 0);
            value(d, 3, &[6]);
        }));
        exprs.extend(expr("payload", |d| {
            u32a(d, 1, 1);
            u32a(d, 2, 2);
            u32a(d, 3, 2);
            u32a(d, 4, 2);
        }));
        exprs.extend(expr("cmp", |d| {
            u32a(d, 1, 1);
            u32a(d, 2, 0);
            value(d, 3, &18080u16.to_be_bytes());
        }));
        exprs.extend(expr("immediate", |d| {
            u32a(d, 1, 1);
            value(d, 2, &[192, 168, 1, 100]);
        }));
        exprs.extend(expr("immediate", |d| {
            u32a(d, 1, 2);
            value(d, 2, &8080u16.to_be_bytes());
        }));
        exprs.extend(expr("nat", |d| {
            u32a(d, 1, 1);
            u32a(d, 2, 2);
            u32a(d, 3, 1);
            u32a(d, 5, 2);
        }));
        let mut msg = Vec::new();
        put_str(&mut msg, NFTA_RULE_TABLE, "fw4");
        put_str(&mut msg, NFTA_RULE_CHAIN, "upnp_prerouting");
        put_attr(&mut msg, NFTA_RULE_HANDLE, &42u64.to_be_bytes());
        put_attr(&mut msg, NFTA_RULE_EXPRESSIONS | NLA_F_NESTED, &exprs);
        put_attr(&mut msg, NFTA_RULE_USERDATA, &[0, 4, b'c', b'a', b'm', 0]);
        let ifnames = SortedMap::from([(7, "wan".to_owned())]);
        let rule = rule_json("fw4", &attrs(&msg), &ifnames);
        let doc = format!(
            r#"{{"nftables":[{{"chain":{{"family":"inet","table":"fw4","name":"upnp_prerouting","handle":1}}}},{rule}]}}"#
        );
        let ruleset = crate::formats::nft::parse_ruleset(doc.as_bytes()).unwrap();
        let r = ruleset.rules.get(0).to_rule();
        assert_eq!(r.handle, 42);
        assert_eq!(r.comment.as_deref(), Some("cam"));
        assert_eq!(r.iifnames, vec!["wan".to_owned()]);
        assert!(r.unmodelled.is_empty(), "{:?}", r.unmodelled);
        let redirects = ruleset.upnp_redirects();
        assert_eq!(redirects.len(), 1);
        assert_eq!(redirects[0].proto, Some(crate::ports::Protocol::Tcp));
        assert_eq!(redirects[0].ext_port(), Some(18080));
        assert_eq!(redirects[0].int_addr.to_string(), "192.168.1.100");
        assert_eq!(redirects[0].int_port, Some(8080));
    }

    /// What the reader cannot decode stays in the rule as something narrower than modelled.
    #[test]
    fn an_unknown_expression_is_kept_as_unmodelled() {
        let mut exprs = Vec::new();
        exprs.extend(expr("limit", |d| u32a(d, 1, 10)));
        exprs.extend(expr("immediate", |d| {
            u32a(d, 1, 0);
            let mut verdict = Vec::new();
            u32a(&mut verdict, NFTA_VERDICT_CODE, 1);
            let mut data = Vec::new();
            put_attr(&mut data, NFTA_DATA_VERDICT | NLA_F_NESTED, &verdict);
            put_attr(d, 2 | NLA_F_NESTED, &data);
        }));
        let mut msg = Vec::new();
        put_str(&mut msg, NFTA_RULE_TABLE, "fw4");
        put_str(&mut msg, NFTA_RULE_CHAIN, "input");
        put_attr(&mut msg, NFTA_RULE_EXPRESSIONS | NLA_F_NESTED, &exprs);
        let rule = rule_json("fw4", &attrs(&msg), &SortedMap::new());
        let doc = format!(r#"{{"nftables":[{rule}]}}"#);
        let ruleset = crate::formats::nft::parse_ruleset(doc.as_bytes()).unwrap();
        let r = ruleset.rules.get(0).to_rule();
        assert_eq!(r.unmodelled, vec!["limit".to_owned()]);
        assert_eq!(r.verdict, Some(crate::formats::nft::Verdict::Accept));
    }

    #[test]
    fn truncated_messages_are_dropped_not_read_past() {
        let mut msg = Vec::new();
        put_str(&mut msg, NFTA_RULE_TABLE, "fw4");
        put_attr(
            &mut msg,
            NFTA_RULE_EXPRESSIONS | NLA_F_NESTED,
            &expr("counter", |_| {}),
        );
        for cut in 0..msg.len() {
            let _ = rule_json("fw4", &attrs(&msg[..cut]), &SortedMap::new());
            let _ = messages(&msg[..cut]);
        }
    }
}
