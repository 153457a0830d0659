//! Cutting the flows of what camguard just closed: fw4 accepts established flows before any
//! zone rule and neither a rule nor a reload clears conntrack, so a blocked camera's open cloud
//! connection, or a connection through a revoked mapping, would live on. Deleting their entries
//! (ctnetlink, src/conntrack.rs) makes the next packet meet the new rules.
use std::net::{IpAddr, Ipv4Addr};

use super::Check;
use crate::conntrack::{Conntrack, Flow};
use crate::ports::Protocol;

/// A flow through a mapping: to its external port from outside, DNATed to its internal host.
fn through_mapping(
    f: &Flow,
    proto: Protocol,
    ext_port: u16,
    int_addr: IpAddr,
    int_port: u16,
) -> bool {
    f.proto == proto.number()
        && f.orig.dport == ext_port
        && f.reply.src.map(IpAddr::V4) == Some(int_addr)
        && f.reply.sport == int_port
}

/// A flow a device opened to the internet: from one of its addresses, source-NATed on the way
/// out (behind fw4's masquerading, the one mark of a flow to the WAN conntrack carries).
fn to_internet(f: &Flow, sources: &[Ipv4Addr]) -> bool {
    f.orig.src.is_some_and(|s| sources.contains(&s)) && f.source_nated()
}

/// Deletes the flows through a revoked mapping; how many (None: conntrack cannot be reached).
pub(super) fn cut_mapping_flows(
    proto: Protocol,
    ext_port: u16,
    int_addr: IpAddr,
    int_port: u16,
) -> Option<usize> {
    let mut ct = Conntrack::open()
        .inspect_err(|e| log::warn!("conntrack: {e}"))
        .ok()?;
    ct.cut(|f| through_mapping(f, proto, ext_port, int_addr, int_port))
        .inspect_err(|e| log::warn!("conntrack: {e}"))
        .ok()
}

/// No flow through the mapping is left.
pub(super) fn check_mapping_flows_cut(
    proto: Protocol,
    ext_port: u16,
    int_addr: IpAddr,
    int_port: u16,
) -> Option<Check> {
    let left = Conntrack::open()
        .and_then(|mut ct| ct.flows())
        .ok()?
        .iter()
        .filter(|f| through_mapping(f, proto, ext_port, int_addr, int_port))
        .count();
    Some(Check {
        check: format!(
            "mapping {}/{ext_port} has no open connection",
            proto.as_str()
        ),
        ok: left == 0,
        detail: format!("{left} connections through it left in conntrack"),
    })
}

/// Cuts the devices' flows to the internet and checks that none is left.
pub fn cut_flows_to_internet(sources: &[Ipv4Addr]) -> Check {
    let check = "no connection to the internet left".to_owned();
    let result = Conntrack::open().and_then(|mut ct| {
        let cut = ct.cut(|f| to_internet(f, sources))?;
        let left = ct
            .flows()?
            .iter()
            .filter(|f| to_internet(f, sources))
            .count();
        Ok((cut, left))
    });
    match result {
        Ok((cut, left)) => Check {
            check,
            ok: left == 0,
            detail: format!("{cut} cut, {left} left"),
        },
        Err(e) => Check {
            check,
            ok: false,
            detail: format!("conntrack could not be read: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::Tuple;

    fn v4(s: &str) -> Option<Ipv4Addr> {
        Some(s.parse().unwrap())
    }

    fn flow(orig: (&str, &str, u16, u16), reply: (&str, &str, u16, u16)) -> Flow {
        Flow {
            proto: 6,
            orig: Tuple {
                src: v4(orig.0),
                dst: v4(orig.1),
                sport: orig.2,
                dport: orig.3,
            },
            reply: Tuple {
                src: v4(reply.0),
                dst: v4(reply.1),
                sport: reply.2,
                dport: reply.3,
            },
            id: None,
            zone: None,
        }
    }

    #[test]
    fn a_cameras_masqueraded_flow_is_to_the_internet_its_lan_flow_is_not() {
        let cam = [Ipv4Addr::new(192, 168, 1, 64)];
        let out = flow(
            ("192.168.1.64", "45.77.0.1", 40000, 9000),
            ("45.77.0.1", "45.77.0.2", 9000, 40000),
        );
        let lan = flow(
            ("192.168.1.64", "192.168.1.10", 40001, 554),
            ("192.168.1.10", "192.168.1.64", 554, 40001),
        );
        assert!(to_internet(&out, &cam));
        assert!(
            !to_internet(&lan, &cam),
            "a flow to the NVR on the LAN stays"
        );
    }

    #[test]
    fn a_flow_through_a_mapping_is_matched_by_its_dnat() {
        let pc: IpAddr = "192.168.1.31".parse().unwrap();
        let through = flow(
            ("45.77.0.1", "45.77.0.2", 50000, 18081),
            ("192.168.1.31", "45.77.0.1", 8080, 50000),
        );
        let neighbour = flow(
            ("45.77.0.1", "45.77.0.2", 50001, 18080),
            ("192.168.1.31", "45.77.0.1", 8080, 50001),
        );
        assert!(through_mapping(&through, Protocol::Tcp, 18081, pc, 8080));
        assert!(
            !through_mapping(&neighbour, Protocol::Tcp, 18081, pc, 8080),
            "the neighbour's flow stays"
        );
    }
}
