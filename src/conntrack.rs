//! The kernel's connection tracking table over ctnetlink (a NETLINK_NETFILTER socket): list the
//! IPv4 flows and delete single ones. Blocking a camera or revoking a mapping changes the
//! ruleset, but fw4 accepts established flows before any zone rule and a reload keeps
//! conntrack, so a flow already open would live on; deleting its entry makes its next packet
//! meet the new rules. The router needs no `conntrack` package for this: the messages are
//! small enough to write here (linux/netfilter/nfnetlink_conntrack.h).
use std::io;
use std::net::Ipv4Addr;

use crate::netlink::{
    attrs, error_code, message, messages, put_attr, put_nested, Socket, NFNL_SUBSYS_CTNETLINK,
    NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};

/// One direction of a flow: addresses and, for TCP/UDP/UDPLITE/SCTP, ports (0 otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tuple {
    pub src: Option<Ipv4Addr>,
    pub dst: Option<Ipv4Addr>,
    pub sport: u16,
    pub dport: u16,
}

/// A tracked IPv4 flow: the IP protocol number, the tuple as it arrived and the tuple replies
/// carry (after NAT: a masqueraded flow's reply goes to the router's WAN address, a DNATed
/// one's comes from the internal host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flow {
    pub proto: u8,
    pub orig: Tuple,
    pub reply: Tuple,
    /// The kernel's id of the entry, so a delete never hits a newer flow with the same tuple.
    pub id: Option<u32>,
    pub zone: Option<u16>,
}

impl Flow {
    /// The flow left through source NAT: its replies go to another address than the one that
    /// opened it (how a LAN device's flow to the internet looks behind masquerading).
    pub fn source_nated(&self) -> bool {
        self.reply.dst.is_some() && self.reply.dst != self.orig.src
    }
}

const IPCTNL_MSG_CT_GET: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const AF_INET: u8 = 2;

const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_ID: u16 = 12;
const CTA_ZONE: u16 = 18;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;

/// A netlink socket to the kernel's netfilter subsystem.
pub struct Conntrack {
    socket: Socket,
}

impl Conntrack {
    pub fn open() -> io::Result<Conntrack> {
        Ok(Conntrack {
            socket: Socket::open()?,
        })
    }

    /// Every IPv4 flow the kernel tracks now.
    pub fn flows(&mut self) -> io::Result<Vec<Flow>> {
        let seq = self.request(IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, &[])?;
        let mut flows = Vec::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = self.socket.receive(&mut buf)?;
            for m in messages(&buf[..n]) {
                if m.seq != seq {
                    continue;
                }
                match m.kind {
                    NLMSG_DONE => return Ok(flows),
                    NLMSG_ERROR => match error_code(m.body) {
                        0 => {}
                        code => return Err(io::Error::from_raw_os_error(-code)),
                    },
                    _ => flows.extend(parse_flow(m.body)),
                }
            }
        }
    }

    /// Deletes one flow's entry; false when it was gone already.
    pub fn delete(&mut self, flow: &Flow) -> io::Result<bool> {
        let mut attrs = Vec::new();
        put_nested(&mut attrs, CTA_TUPLE_ORIG, |t| {
            put_tuple(t, flow.proto, &flow.orig)
        });
        if let Some(id) = flow.id {
            put_attr(&mut attrs, CTA_ID, &id.to_be_bytes());
        }
        if let Some(zone) = flow.zone {
            put_attr(&mut attrs, CTA_ZONE, &zone.to_be_bytes());
        }
        let seq = self.request(IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, &attrs)?;
        let mut buf = vec![0u8; 8192];
        loop {
            let n = self.socket.receive(&mut buf)?;
            for m in messages(&buf[..n]) {
                if m.kind == NLMSG_ERROR && m.seq == seq {
                    return match error_code(m.body) {
                        0 => Ok(true),
                        code if -code == libc_enoent() => Ok(false),
                        code => Err(io::Error::from_raw_os_error(-code)),
                    };
                }
            }
        }
    }

    /// Deletes every flow `select` picks; how many went.
    pub fn cut(&mut self, mut select: impl FnMut(&Flow) -> bool) -> io::Result<usize> {
        let doomed: Vec<Flow> = self.flows()?.into_iter().filter(|f| select(f)).collect();
        let mut cut = 0;
        for flow in &doomed {
            cut += usize::from(self.delete(flow)?);
        }
        Ok(cut)
    }

    fn request(&mut self, msg: u16, flags: u16, attrs: &[u8]) -> io::Result<u32> {
        let seq = self.socket.next_seq();
        self.socket.send(&encode(msg, flags, seq, attrs))?;
        Ok(seq)
    }
}

fn libc_enoent() -> i32 {
    nix::errno::Errno::ENOENT as i32
}

/// A ctnetlink request for IPv4 flows.
fn encode(msg: u16, flags: u16, seq: u32, attrs: &[u8]) -> Vec<u8> {
    message(
        (NFNL_SUBSYS_CTNETLINK << 8) | msg,
        flags,
        seq,
        AF_INET,
        0,
        attrs,
    )
}

fn put_tuple(out: &mut Vec<u8>, proto: u8, t: &Tuple) {
    put_nested(out, CTA_TUPLE_IP, |ip| {
        if let Some(src) = t.src {
            put_attr(ip, CTA_IP_V4_SRC, &src.octets());
        }
        if let Some(dst) = t.dst {
            put_attr(ip, CTA_IP_V4_DST, &dst.octets());
        }
    });
    put_nested(out, CTA_TUPLE_PROTO, |p| {
        put_attr(p, CTA_PROTO_NUM, &[proto]);
        if t.sport != 0 || t.dport != 0 {
            put_attr(p, CTA_PROTO_SRC_PORT, &t.sport.to_be_bytes());
            put_attr(p, CTA_PROTO_DST_PORT, &t.dport.to_be_bytes());
        }
    });
}

fn be16(v: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(v.get(..2)?.try_into().ok()?))
}

fn v4(v: &[u8]) -> Option<Ipv4Addr> {
    let b: [u8; 4] = v.get(..4)?.try_into().ok()?;
    Some(Ipv4Addr::from(b))
}

/// One conntrack message (after nfgenmsg) as a flow; None for anything but IPv4.
fn parse_flow(body: &[u8]) -> Option<Flow> {
    if body.first() != Some(&AF_INET) {
        return None;
    }
    let mut flow = Flow::default();
    for (kind, value) in attrs(body.get(4..)?) {
        match kind {
            CTA_TUPLE_ORIG => flow.orig = parse_tuple(value, &mut flow.proto),
            CTA_TUPLE_REPLY => flow.reply = parse_tuple(value, &mut 0),
            CTA_ID => {
                flow.id = value
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map(u32::from_be_bytes)
            }
            CTA_ZONE => flow.zone = be16(value),
            _ => {}
        }
    }
    flow.orig.src.is_some().then_some(flow)
}

fn parse_tuple(value: &[u8], proto: &mut u8) -> Tuple {
    let mut t = Tuple::default();
    for (kind, inner) in attrs(value) {
        match kind {
            CTA_TUPLE_IP => {
                for (k, v) in attrs(inner) {
                    match k {
                        CTA_IP_V4_SRC => t.src = v4(v),
                        CTA_IP_V4_DST => t.dst = v4(v),
                        _ => {}
                    }
                }
            }
            CTA_TUPLE_PROTO => {
                for (k, v) in attrs(inner) {
                    match k {
                        CTA_PROTO_NUM => *proto = v.first().copied().unwrap_or(0),
                        CTA_PROTO_SRC_PORT => t.sport = be16(v).unwrap_or(0),
                        CTA_PROTO_DST_PORT => t.dport = be16(v).unwrap_or(0),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Tuple {
        Tuple {
            src: Some(src.into()),
            dst: Some(dst.into()),
            sport,
            dport,
        }
    }

    /// A conntrack message as the kernel sends it (nfgenmsg, then the tuples) reads back as
    /// the flow it was built from; the delete request carries the same tuple encoding.
    #[test]
    fn a_flow_survives_encoding_and_parsing() {
        let flow = Flow {
            proto: 6,
            orig: tuple([192, 168, 1, 64], [45, 77, 0, 1], 40000, 9000),
            reply: tuple([45, 77, 0, 1], [45, 77, 0, 2], 9000, 40000),
            id: Some(0xdead_beef),
            zone: None,
        };
        let mut attrs = Vec::new();
        put_nested(&mut attrs, CTA_TUPLE_ORIG, |t| put_tuple(t, 6, &flow.orig));
        put_nested(&mut attrs, CTA_TUPLE_REPLY, |t| {
            put_tuple(t, 6, &flow.reply)
        });
        put_attr(&mut attrs, CTA_ID, &0xdead_beef_u32.to_be_bytes());
        let msg = encode(0, 0, 7, &attrs);
        let parsed: Vec<_> = messages(&msg);
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].seq, 7);
        assert_eq!(parse_flow(parsed[0].body), Some(flow));
        assert!(flow.source_nated());
    }

    #[test]
    fn truncated_messages_are_dropped_not_read_past() {
        let mut attrs = Vec::new();
        put_nested(&mut attrs, CTA_TUPLE_ORIG, |t| {
            put_tuple(t, 17, &tuple([10, 0, 0, 1], [10, 0, 0, 2], 1, 2))
        });
        let msg = encode(0, 0, 1, &attrs);
        for cut in 0..msg.len() {
            for m in messages(&msg[..cut]) {
                let _ = parse_flow(m.body);
            }
            let _ = attrs_of_any(&msg[..cut]);
        }
    }

    fn attrs_of_any(b: &[u8]) -> usize {
        attrs(b).len()
    }
}
