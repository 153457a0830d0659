//! Adding miniupnpd's rules to nf_tables over netlink, in exactly the form miniupnpd writes them
//! (miniupnpd/netfilter_nft: `rule_set_dnat`, `rule_set_filter`). A firewall reload empties the
//! UPnP chains while miniupnpd keeps running; re-adding its rules is instant, where a restart
//! replays the lease file in quadratic time with every mapping dead meanwhile. The nft CLI cannot
//! do it: its parser refuses miniupnpd's DNAT shape (`@nh,72,8 0x6 th dport … dnat ip to …`).
//! The rules carry miniupnpd's registers, expression order and description as userdata, so
//! miniupnpd reads them back as its own (its rule cache is rebuilt from the kernel's listing).
//! Messages: linux/netfilter/nf_tables.h, nfnetlink.h; attribute helpers shared with ctnetlink.
use std::io;
use std::net::Ipv4Addr;

use crate::netlink::{
    error_code, message, messages, put_attr, put_nested, put_str, Socket, NFNL_SUBSYS_NFTABLES,
    NLMSG_ERROR, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST,
};

const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWRULE: u16 = 6;
const NFT_MSG_GETGEN: u16 = 16;

// nf_tables.h numbers the reader of fw4's table (`source::nftables`) uses too.
pub const NFPROTO_INET: u8 = 1;
pub const NFPROTO_IPV4: u32 = 2;
pub const NFTA_RULE_TABLE: u16 = 1;
pub const NFTA_RULE_CHAIN: u16 = 2;
pub const NFTA_RULE_EXPRESSIONS: u16 = 4;
pub const NFTA_RULE_USERDATA: u16 = 7;
pub const NFTA_EXPR_NAME: u16 = 1;
pub const NFTA_EXPR_DATA: u16 = 2;
pub const NFTA_DATA_VALUE: u16 = 1;
pub const NFTA_DATA_VERDICT: u16 = 2;
pub const NFTA_VERDICT_CODE: u16 = 1;
/// The verdict register: an immediate into it is the rule's verdict.
pub const NFT_REG_VERDICT: u32 = 0;
const NFTA_LIST_ELEM: u16 = 1;
const NF_ACCEPT: u32 = 1;
const NFT_REG_1: u32 = 1;
const NFT_REG_2: u32 = 2;
const NFT_META_IIF: u32 = 4;
const NFT_PAYLOAD_NETWORK_HEADER: u32 = 1;
const NFT_PAYLOAD_TRANSPORT_HEADER: u32 = 2;
const NFT_NAT_DNAT: u32 = 1;
/// miniupnpd's `NFTNL_RULE_USERDATA_MAX_LEN`: longer descriptions are cut.
const USERDATA_MAX: usize = 256;

/// IP protocol numbers of the mappings whose rule shape is written here: miniupnpd writes no
/// port match for any other protocol (UDPLITE), a shape left to miniupnpd itself.
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

/// Where miniupnpd keeps its rules (its `upnp_*` config lines) and the external interface's
/// index it matches with `iif`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpnpChains {
    pub table: String,
    pub nat_table: String,
    pub forward_chain: String,
    pub nat_chain: String,
    pub ext_ifindex: u32,
}

/// One port mapping as miniupnpd adds it from a lease line (no remote host: the lease file
/// keeps none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub ip_proto: u8,
    pub ext_port: u16,
    pub int_addr: Ipv4Addr,
    pub int_port: u16,
    pub description: Vec<u8>,
}

/// A rule message's payload (after nfgenmsg), ready for [`Nftables::add_rules`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMsg(Vec<u8>);

/// The DNAT in the NAT chain: `iif`, protocol, external port, then the internal address and
/// port loaded into registers 1 and 2 for the nat expression.
pub fn dnat_rule(chains: &UpnpChains, r: &Redirect) -> Option<RuleMsg> {
    let mut exprs = Vec::new();
    iif(&mut exprs, chains.ext_ifindex);
    payload_eq(&mut exprs, NFT_PAYLOAD_NETWORK_HEADER, 9, &[r.ip_proto]);
    dport_eq(&mut exprs, r.ip_proto, r.ext_port)?;
    immediate(&mut exprs, NFT_REG_1, &r.int_addr.octets());
    immediate(&mut exprs, NFT_REG_2, &r.int_port.to_be_bytes());
    expr(&mut exprs, "nat", |d| {
        put_u32(d, 1, NFT_NAT_DNAT);
        put_u32(d, 2, NFPROTO_IPV4);
        put_u32(d, 3, NFT_REG_1);
        put_u32(d, 4, NFT_REG_1);
        put_u32(d, 5, NFT_REG_2);
        put_u32(d, 6, NFT_REG_2);
    });
    Some(rule(
        &chains.nat_table,
        &chains.nat_chain,
        &r.description,
        &exprs,
    ))
}

/// The accept in the forward chain: `iif`, internal port, internal address, protocol.
pub fn accept_rule(chains: &UpnpChains, r: &Redirect) -> Option<RuleMsg> {
    let mut exprs = Vec::new();
    iif(&mut exprs, chains.ext_ifindex);
    dport_eq(&mut exprs, r.ip_proto, r.int_port)?;
    payload_eq(
        &mut exprs,
        NFT_PAYLOAD_NETWORK_HEADER,
        16,
        &r.int_addr.octets(),
    );
    payload_eq(&mut exprs, NFT_PAYLOAD_NETWORK_HEADER, 9, &[r.ip_proto]);
    expr(&mut exprs, "immediate", |d| {
        put_u32(d, 1, NFT_REG_VERDICT);
        put_nested(d, 2, |data| {
            put_nested(data, NFTA_DATA_VERDICT, |v| {
                put_u32(v, NFTA_VERDICT_CODE, NF_ACCEPT)
            })
        });
    });
    Some(rule(
        &chains.table,
        &chains.forward_chain,
        &r.description,
        &exprs,
    ))
}

fn rule(table: &str, chain: &str, description: &[u8], exprs: &[u8]) -> RuleMsg {
    let mut out = Vec::new();
    put_str(&mut out, NFTA_RULE_TABLE, table);
    put_str(&mut out, NFTA_RULE_CHAIN, chain);
    if !description.is_empty() {
        let len = description.len().min(USERDATA_MAX);
        put_attr(&mut out, NFTA_RULE_USERDATA, &description[..len]);
    }
    put_attr(&mut out, NFTA_RULE_EXPRESSIONS | NESTED, exprs);
    RuleMsg(out)
}

const NESTED: u16 = 0x8000;

fn put_u32(out: &mut Vec<u8>, kind: u16, value: u32) {
    put_attr(out, kind, &value.to_be_bytes());
}

/// One expression: its name, then its attributes.
fn expr(out: &mut Vec<u8>, name: &str, data: impl FnOnce(&mut Vec<u8>)) {
    put_nested(out, NFTA_LIST_ELEM, |e| {
        put_str(e, NFTA_EXPR_NAME, name);
        put_nested(e, NFTA_EXPR_DATA, data);
    });
}

/// `cmp eq reg 1` against `value`.
fn cmp_eq(out: &mut Vec<u8>, value: &[u8]) {
    expr(out, "cmp", |d| {
        put_u32(d, 1, NFT_REG_1);
        put_u32(d, 2, 0);
        put_nested(d, 3, |v| put_attr(v, NFTA_DATA_VALUE, value));
    });
}

/// `meta load iif => reg 1`, compared with the index in host byte order (as the kernel stores it).
fn iif(out: &mut Vec<u8>, ifindex: u32) {
    expr(out, "meta", |d| {
        put_u32(d, 2, NFT_META_IIF);
        put_u32(d, 1, NFT_REG_1);
    });
    cmp_eq(out, &ifindex.to_ne_bytes());
}

fn payload_eq(out: &mut Vec<u8>, base: u32, offset: u32, value: &[u8]) {
    expr(out, "payload", |d| {
        put_u32(d, 1, NFT_REG_1);
        put_u32(d, 2, base);
        put_u32(d, 3, offset);
        put_u32(d, 4, value.len() as u32);
    });
    cmp_eq(out, value);
}

/// The destination port: offset 2 of the TCP and the UDP header alike.
fn dport_eq(out: &mut Vec<u8>, ip_proto: u8, port: u16) -> Option<()> {
    if ip_proto != IPPROTO_TCP && ip_proto != IPPROTO_UDP {
        return None;
    }
    payload_eq(out, NFT_PAYLOAD_TRANSPORT_HEADER, 2, &port.to_be_bytes());
    Some(())
}

fn immediate(out: &mut Vec<u8>, reg: u32, value: &[u8]) {
    expr(out, "immediate", |d| {
        put_u32(d, 1, reg);
        put_nested(d, 2, |v| put_attr(v, NFTA_DATA_VALUE, value));
    });
}

/// A NEWRULE message as miniupnpd sends it (appended, inet family) but for the
/// acknowledgement it asks for (see [`Nftables::add_rules`]).
fn newrule(seq: u32, rule: &RuleMsg) -> Vec<u8> {
    message(
        (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
        NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND,
        seq,
        NFPROTO_INET,
        0,
        &rule.0,
    )
}

/// Every rule between BATCH_BEGIN and BATCH_END: one transaction, all or nothing. Each rule is
/// encoded straight into the batch, so only the batch is held (about 1 KB per mapping); the
/// number of rules comes back with it.
fn batch(first_seq: u32, rules: impl IntoIterator<Item = RuleMsg>) -> (Vec<u8>, u32) {
    let mut out = message(
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        first_seq,
        0,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    let mut seq = first_seq;
    for rule in rules {
        seq = seq.wrapping_add(1);
        out.extend(newrule(seq, &rule));
    }
    out.extend(message(
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        seq.wrapping_add(1),
        0,
        NFNL_SUBSYS_NFTABLES,
        &[],
    ));
    (out, seq.wrapping_sub(first_seq))
}

/// A netlink socket to nf_tables.
pub struct Nftables {
    socket: Socket,
}

impl Nftables {
    pub fn open() -> io::Result<Nftables> {
        Ok(Nftables {
            socket: Socket::open()?,
        })
    }

    /// Adds `rules` in one transaction: when the kernel refuses one, none is added. The rules
    /// ask for no acknowledgement (at thousands of rules the kernel would queue one socket buffer
    /// each); the kernel reports every refusal, and the acknowledged generation request sent
    /// after the batch marks the end of its replies.
    /// Returns how many rules were added.
    pub fn add_rules(&mut self, rules: impl IntoIterator<Item = RuleMsg>) -> io::Result<u32> {
        let first = self.socket.next_seq();
        let (bytes, count) = batch(first, rules);
        if count == 0 {
            return Ok(0);
        }
        let fence = first.wrapping_add(count + 2);
        self.socket.skip_seq(fence);
        // The batch goes in one send, larger than the default socket buffer from a few hundred
        // rules on.
        self.socket.allow_send_of(bytes.len());
        self.socket.send(&bytes)?;
        drop(bytes);
        let generation = message(
            (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN,
            NLM_F_REQUEST | NLM_F_ACK,
            fence,
            0,
            0,
            &[],
        );
        self.socket.send(&generation)?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = self.socket.receive(&mut buf)?;
            for m in messages(&buf[..n]) {
                if m.kind != NLMSG_ERROR {
                    continue;
                }
                match error_code(m.body) {
                    0 if m.seq == fence => return Ok(count),
                    0 => {}
                    code => return Err(io::Error::from_raw_os_error(-code)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batches the real miniupnpd sent (tests/fixtures/nft/miniupnpd-newrule-batches.txt,
    /// captured with strace; its header says how): DNAT and accept of a TCP and a UDP mapping.
    fn captured() -> Vec<Vec<u8>> {
        include_str!("../tests/fixtures/nft/miniupnpd-newrule-batches.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                (0..l.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                    .collect()
            })
            .collect()
    }

    /// libmnl leaves an attribute's padding as the buffer held it; the kernel ignores it.
    fn zero_padding(buf: &mut [u8]) {
        let mut at = 0;
        while at + 4 <= buf.len() {
            let len = u16::from_ne_bytes([buf[at], buf[at + 1]]) as usize;
            let kind = u16::from_ne_bytes([buf[at + 2], buf[at + 3]]);
            if len < 4 || at + len > buf.len() {
                return;
            }
            if kind & NESTED != 0 {
                zero_padding(&mut buf[at + 4..at + len]);
            }
            let end = ((at + len + 3) & !3).min(buf.len());
            buf[at + len..end].fill(0);
            at = end;
        }
    }

    fn chains() -> UpnpChains {
        UpnpChains {
            table: "fw4".into(),
            nat_table: "fw4".into(),
            forward_chain: "upnp_forward".into(),
            nat_chain: "upnp_prerouting".into(),
            ext_ifindex: 2,
        }
    }

    /// The NEWRULE message inside a captured batch (between BATCH_BEGIN and BATCH_END), with its
    /// sequence number.
    fn newrule_of(batch: &[u8]) -> (u32, Vec<u8>) {
        let msgs = messages(batch);
        assert_eq!(msgs.len(), 3);
        let seq = msgs[1].seq;
        let len = u32::from_ne_bytes(batch[20..24].try_into().unwrap()) as usize;
        let mut rule = batch[20..20 + len].to_vec();
        zero_padding(&mut rule[20..]);
        // miniupnpd asks for an acknowledgement of its one rule; a batch of thousands does not.
        assert_eq!(rule[6] & NLM_F_ACK as u8, NLM_F_ACK as u8);
        rule[6] &= !(NLM_F_ACK as u8);
        (seq, rule)
    }

    #[test]
    fn rules_are_byte_for_byte_what_miniupnpd_sends() {
        let batches = captured();
        assert_eq!(batches.len(), 4);
        let tcp = Redirect {
            ip_proto: IPPROTO_TCP,
            ext_port: 10009,
            int_addr: Ipv4Addr::new(192, 168, 1, 31),
            int_port: 20009,
            description: b"cam desc".to_vec(),
        };
        let udp = Redirect {
            ip_proto: IPPROTO_UDP,
            ext_port: 15353,
            int_port: 5353,
            description: b"u".to_vec(),
            ..tcp.clone()
        };
        let ours = [
            dnat_rule(&chains(), &tcp),
            accept_rule(&chains(), &tcp),
            dnat_rule(&chains(), &udp),
            accept_rule(&chains(), &udp),
        ];
        for (theirs, ours) in batches.iter().zip(ours) {
            let (seq, theirs) = newrule_of(theirs);
            assert_eq!(newrule(seq, &ours.unwrap()), theirs);
        }
    }

    #[test]
    fn a_batch_wraps_the_rules_in_begin_and_end_for_nftables() {
        let tcp = Redirect {
            ip_proto: IPPROTO_TCP,
            ext_port: 1,
            int_addr: Ipv4Addr::new(10, 0, 0, 1),
            int_port: 2,
            description: Vec::new(),
        };
        let rules = [
            dnat_rule(&chains(), &tcp).unwrap(),
            accept_rule(&chains(), &tcp).unwrap(),
        ];
        let (bytes, count) = batch(7, rules);
        assert_eq!(count, 2);
        let msgs = messages(&bytes);
        let kinds: Vec<(u16, u32)> = msgs.iter().map(|m| (m.kind, m.seq)).collect();
        assert_eq!(kinds, [(0x10, 7), (0xa06, 8), (0xa06, 9), (0x11, 10)]);
        // Begin and end name the nf_tables subsystem (res_id, network byte order).
        assert_eq!(&msgs[0].body[2..4], &[0, 10]);
        assert_eq!(&msgs[3].body[2..4], &[0, 10]);
        // No description, no userdata attribute.
        assert!(!crate::netlink::attrs(&msgs[1].body[4..])
            .iter()
            .any(|(k, _)| *k == NFTA_RULE_USERDATA));
    }

    #[test]
    fn shapes_miniupnpd_writes_without_a_port_are_refused() {
        let udplite = Redirect {
            ip_proto: 136,
            ext_port: 1,
            int_addr: Ipv4Addr::new(10, 0, 0, 1),
            int_port: 2,
            description: b"x".to_vec(),
        };
        assert_eq!(dnat_rule(&chains(), &udplite), None);
        assert_eq!(accept_rule(&chains(), &udplite), None);
    }

    #[test]
    fn a_long_description_is_cut_at_miniupnpds_limit() {
        let long = vec![b'a'; 300];
        let r = Redirect {
            ip_proto: IPPROTO_UDP,
            ext_port: 1,
            int_addr: Ipv4Addr::new(10, 0, 0, 1),
            int_port: 2,
            description: long,
        };
        let rule = dnat_rule(&chains(), &r).unwrap();
        let userdata = crate::netlink::attrs(&rule.0)
            .into_iter()
            .find(|(k, _)| *k == NFTA_RULE_USERDATA)
            .unwrap()
            .1
            .len();
        assert_eq!(userdata, USERDATA_MAX);
    }
}
