//! Netlink to the kernel's netfilter subsystems (a NETLINK_NETFILTER socket): the socket, the
//! nfnetlink message frame and attributes, shared by ctnetlink (`conntrack`) and nf_tables
//! (`nftables` writes miniupnpd's rules, `source::nftables` reads fw4's table). The messages
//! are small enough to write here, so the router needs no libmnl (linux/netlink.h,
//! linux/netfilter/nfnetlink.h).
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, recv, send, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};

pub const NFNL_SUBSYS_CTNETLINK: u16 = 1;
pub const NFNL_SUBSYS_NFTABLES: u16 = 10;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_ACK: u16 = 0x4;
pub const NLM_F_DUMP_INTR: u16 = 0x10;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLM_F_CREATE: u16 = 0x400;
pub const NLM_F_APPEND: u16 = 0x800;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// A NETLINK_NETFILTER socket and the sequence numbers of the requests sent on it.
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
}

impl Socket {
    pub fn open() -> io::Result<Socket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkNetFilter,
        )?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0))?;
        Ok(Socket { fd, seq: 0 })
    }

    /// The sequence number for the next request.
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Moves the sequence on past numbers a batch used.
    pub fn skip_seq(&mut self, to: u32) {
        self.seq = to;
    }

    pub fn send(&self, bytes: &[u8]) -> io::Result<()> {
        send(self.fd.as_raw_fd(), bytes, MsgFlags::empty())?;
        Ok(())
    }

    /// One datagram of the kernel's replies.
    pub fn receive(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(recv(self.fd.as_raw_fd(), buf, MsgFlags::empty())?)
    }

    /// Lets one send carry `bytes` (a batch larger than the default buffer). Forcing the size
    /// needs CAP_NET_ADMIN, as writing to nf_tables does; without it the default stays.
    pub fn allow_send_of(&self, bytes: usize) {
        let _ = setsockopt(&self.fd, sockopt::SndBufForce, &(bytes + (1 << 16)));
    }
}

/// nlmsghdr + nfgenmsg (family, version 0, res_id) + payload.
pub fn message(
    kind: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    payload: &[u8],
) -> Vec<u8> {
    let len = 16 + 4 + payload.len();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.push(family);
    out.push(0);
    out.extend_from_slice(&res_id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// One netlink message: type, flags, sequence number, payload after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub body: &'a [u8],
}

/// The messages in one datagram. Stops at the first malformed header rather than reading past
/// it.
pub fn messages(mut buf: &[u8]) -> Vec<Message<'_>> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        out.push(Message {
            kind: u16::from_ne_bytes([buf[4], buf[5]]),
            flags: u16::from_ne_bytes([buf[6], buf[7]]),
            seq: u32::from_ne_bytes([buf[8], buf[9], buf[10], buf[11]]),
            body: &buf[16..len],
        });
        buf = buf.get(align4(len)..).unwrap_or_default();
    }
    out
}

/// An NLMSG_ERROR's code (0: an acknowledgement; negative: -errno; a message too short to
/// carry one reads as EIO).
pub fn error_code(body: &[u8]) -> i32 {
    body.get(..4).map_or(-(nix::errno::Errno::EIO as i32), |b| {
        i32::from_ne_bytes([b[0], b[1], b[2], b[3]])
    })
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

pub fn put_attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(align4(out.len()), 0);
}

pub fn put_nested(out: &mut Vec<u8>, kind: u16, fill: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    fill(&mut inner);
    put_attr(out, kind | NLA_F_NESTED, &inner);
}

/// A string attribute, NUL-terminated as the kernel expects.
pub fn put_str(out: &mut Vec<u8>, kind: u16, s: &str) {
    let mut v = Vec::with_capacity(s.len() + 1);
    v.extend_from_slice(s.as_bytes());
    v.push(0);
    put_attr(out, kind, &v);
}

/// The attributes of a payload: (type without flags, value).
pub fn attrs(mut buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 4 {
        let len = u16::from_ne_bytes([buf[0], buf[1]]) as usize;
        if len < 4 || len > buf.len() {
            break;
        }
        out.push((
            u16::from_ne_bytes([buf[2], buf[3]]) & NLA_TYPE_MASK,
            &buf[4..len],
        ));
        buf = buf.get(align4(len)..).unwrap_or_default();
    }
    out
}

/// The first attribute of `kind` in a list.
pub fn attr<'a>(list: &[(u16, &'a [u8])], kind: u16) -> Option<&'a [u8]> {
    list.iter().find(|(k, _)| *k == kind).map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_read_back() {
        let mut out = Vec::new();
        put_str(&mut out, 1, "fw4");
        put_nested(&mut out, 2, |n| put_attr(n, 3, &[7, 8, 9, 10, 11]));
        assert_eq!(out.len() % 4, 0);
        let list = attrs(&out);
        assert_eq!(attr(&list, 1), Some(&b"fw4\0"[..]));
        let nested = attr(&list, 2).unwrap();
        assert_eq!(attrs(nested), vec![(3, &[7, 8, 9, 10, 11][..])]);
    }

    #[test]
    fn a_truncated_message_ends_the_list() {
        let mut buf = message(NLMSG_DONE, 0, 5, 2, 0, &[1, 2, 3, 4]);
        let whole = buf.len();
        buf.extend(message(NLMSG_ERROR, 0, 6, 2, 0, &[]));
        buf.truncate(whole + 10);
        let list = messages(&buf);
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].kind, list[0].seq), (NLMSG_DONE, 5));
        assert_eq!(error_code(&[]), -(nix::errno::Errno::EIO as i32));
    }
}
