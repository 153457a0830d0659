//! Which addresses camguard may open a connection to: LAN devices only.
//!
//! The probe and the default-password check talk to devices, and a router that sent them to
//! the wrong address would be probing (or guessing passwords on) someone else's machine. So
//! every connection passes this guard first: the address must lie inside one of the router's
//! own LAN prefixes **and** in a private or link-local range. A LAN configured with public
//! addresses is refused as a whole; the router's own address and the subnet's network and
//! broadcast addresses are refused too. Addresses reach the guard from DHCP leases, which a LAN
//! device can influence, so the guard is the check that holds whatever the inventory says.
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One LAN subnet of the router: its address there and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanPrefix {
    /// The router's own address on this LAN (`192.168.1.1` of `192.168.1.1/24`).
    pub router: IpAddr,
    pub len: u8,
}

/// Why a LAN prefix from the network config could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixError {
    /// Not `ADDRESS/LENGTH`.
    NotAddressSlashLength(String),
    NotAnAddress(String),
    NotALength(String),
    TooLong {
        len: u8,
        max: u8,
    },
    /// The `ipaddr` option is no address.
    IpaddrNotAnAddress(String),
    NetmaskNotDotted(String),
    NetmaskNotContiguous(String),
}

impl fmt::Display for PrefixError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrefixError::NotAddressSlashLength(t) => {
                write!(f, "{t:?} is not ADDRESS/LENGTH (e.g. 192.168.1.1/24)")
            }
            PrefixError::NotAnAddress(a) => write!(f, "{a:?} is not an IP address"),
            PrefixError::NotALength(l) => write!(f, "{l:?} is not a prefix length"),
            PrefixError::TooLong { len, max } => {
                write!(f, "prefix length {len} is longer than {max}")
            }
            PrefixError::IpaddrNotAnAddress(a) => write!(f, "ipaddr {a:?} is not an IP address"),
            PrefixError::NetmaskNotDotted(m) => write!(f, "netmask {m:?} is not a dotted netmask"),
            PrefixError::NetmaskNotContiguous(m) => write!(f, "netmask {m} is not contiguous"),
        }
    }
}

impl std::error::Error for PrefixError {}

impl LanPrefix {
    /// `192.168.1.1/24`, `fd12:3456::1/64`. The address before the slash is the router's.
    pub fn parse(text: &str) -> Result<LanPrefix, PrefixError> {
        let (addr, len) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| PrefixError::NotAddressSlashLength(text.to_owned()))?;
        let router: IpAddr = addr
            .parse()
            .map_err(|_| PrefixError::NotAnAddress(addr.to_owned()))?;
        let len: u8 = len
            .parse()
            .map_err(|_| PrefixError::NotALength(len.to_owned()))?;
        LanPrefix::new(router, len)
    }

    pub fn new(router: IpAddr, len: u8) -> Result<LanPrefix, PrefixError> {
        let max = if router.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(PrefixError::TooLong { len, max });
        }
        Ok(LanPrefix { router, len })
    }

    /// From /etc/config/network's `ipaddr` (which may carry `/LEN`) and `netmask`. Without
    /// either, /24: the netmask OpenWrt ships for its LAN. A guess narrower than the real subnet
    /// only refuses some LAN devices; a wider one could reach beyond the LAN, so the guess is
    /// the narrow common one.
    pub fn from_uci(ipaddr: &str, netmask: Option<&str>) -> Result<LanPrefix, PrefixError> {
        if ipaddr.contains('/') {
            return LanPrefix::parse(ipaddr);
        }
        let router: IpAddr = ipaddr
            .trim()
            .parse()
            .map_err(|_| PrefixError::IpaddrNotAnAddress(ipaddr.to_owned()))?;
        let len = match netmask {
            None => 24,
            Some(mask) => {
                let m: Ipv4Addr = mask
                    .trim()
                    .parse()
                    .map_err(|_| PrefixError::NetmaskNotDotted(mask.to_owned()))?;
                let bits = u32::from(m);
                if bits.leading_ones() + bits.trailing_zeros() != 32 {
                    return Err(PrefixError::NetmaskNotContiguous(mask.to_owned()));
                }
                bits.leading_ones() as u8
            }
        };
        LanPrefix::new(router, len)
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.router, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.len)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.len))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// Network or broadcast address of an IPv4 subnet with room for hosts.
    fn is_network_or_broadcast(&self, ip: IpAddr) -> bool {
        let IpAddr::V4(v4) = ip else { return false };
        if self.len > 30 {
            return false;
        }
        let host_bits = 32 - u32::from(self.len);
        let host = u32::from(v4) & ((1u32 << host_bits) - 1);
        host == 0 || host == (1u32 << host_bits) - 1
    }
}

impl fmt::Display for LanPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.router, self.len)
    }
}

/// Why the guard refused an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub ip: IpAddr,
    pub why: Why,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    NotPrivate,
    V6LinkLocal,
    /// Outside every LAN prefix; the prefixes the guard knows.
    OutsideLan(Vec<LanPrefix>),
    TheRouter,
    NetworkOrBroadcast(LanPrefix),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} refused: ", self.ip)?;
        match &self.why {
            Why::NotPrivate => f.write_str(
                "not a private or link-local address, so not a LAN device camguard may contact",
            ),
            // fe80::/10 needs an interface (scope) to be reachable, which a lease does not say;
            // reaching the wrong interface would leave the LAN.
            Why::V6LinkLocal => {
                f.write_str("IPv6 link-local addresses need an interface camguard does not know")
            }
            Why::OutsideLan(prefixes) if prefixes.is_empty() => {
                f.write_str("outside the router's private LAN prefixes (none known)")
            }
            Why::OutsideLan(prefixes) => {
                let list: Vec<String> = prefixes.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "outside the router's private LAN prefixes ({})",
                    list.join(", ")
                )
            }
            Why::TheRouter => f.write_str("that is the router itself"),
            Why::NetworkOrBroadcast(p) => write!(f, "the network or broadcast address of {p}"),
        }
    }
}

/// The router's LAN prefixes, checked before every connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LanGuard {
    prefixes: Vec<LanPrefix>,
}

impl LanGuard {
    /// The guard of a router: its static LAN subnets (non-WAN interfaces), the only addresses
    /// the probe and the password check may contact.
    pub fn for_router(snap: &crate::snapshot::Snapshot) -> LanGuard {
        let prefixes = snap
            .network
            .interfaces
            .iter()
            .filter(|i| !i.is_wan() && i.proto == "static" && i.name != "loopback")
            .filter_map(|i| LanPrefix::from_uci(i.ipaddr.as_deref()?, i.netmask.as_deref()).ok())
            .collect();
        LanGuard::new(prefixes)
    }

    pub fn new(prefixes: Vec<LanPrefix>) -> LanGuard {
        LanGuard { prefixes }
    }

    pub fn prefixes(&self) -> &[LanPrefix] {
        &self.prefixes
    }

    /// Ok when camguard may connect to `ip`; otherwise the reason, for the log.
    pub fn check(&self, ip: IpAddr) -> Result<(), Refused> {
        let ip = canonical(ip);
        let refuse = |why| Err(Refused { ip, why });
        if !is_private_or_link_local(ip) {
            return refuse(Why::NotPrivate);
        }
        if let IpAddr::V6(v6) = ip {
            if is_v6_link_local(v6) {
                return refuse(Why::V6LinkLocal);
            }
        }
        let Some(prefix) = self
            .prefixes
            .iter()
            .filter(|p| is_private_or_link_local(canonical(p.router)))
            .find(|p| p.contains(ip))
        else {
            return refuse(Why::OutsideLan(self.prefixes.clone()));
        };
        if canonical(prefix.router) == ip {
            return refuse(Why::TheRouter);
        }
        if prefix.is_network_or_broadcast(ip) {
            return refuse(Why::NetworkOrBroadcast(*prefix));
        }
        Ok(())
    }
}

/// IPv4-mapped IPv6 (`::ffff:192.168.1.5`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn is_v6_link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

/// RFC 1918, 169.254/16; IPv6 unique local fc00::/7 and link-local fe80::/10. Not loopback,
/// not multicast, not CGNAT 100.64/10 (that is the ISP's network, not the home's).
fn is_private_or_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.segments()[0] & 0xfe00 == 0xfc00 || is_v6_link_local(v6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(prefixes: &[&str]) -> LanGuard {
        LanGuard::new(
            prefixes
                .iter()
                .map(|p| LanPrefix::parse(p).unwrap())
                .collect(),
        )
    }

    fn ok(g: &LanGuard, ip: &str) -> bool {
        g.check(ip.parse().unwrap()).is_ok()
    }

    #[test]
    fn lan_devices_pass_and_everything_else_is_refused() {
        let g = guard(&["192.168.1.1/24", "fd00:1::1/64"]);
        assert!(ok(&g, "192.168.1.64"));
        assert!(ok(&g, "::ffff:192.168.1.64"));
        assert!(ok(&g, "fd00:1::64"));
        for bad in [
            "192.168.2.64",  // private, but another subnet (maybe the WAN side)
            "8.8.8.8",       // public
            "198.51.100.2",  // documentation range: not private
            "100.64.0.5",    // CGNAT: the ISP's
            "127.0.0.1",     // the router itself
            "192.168.1.1",   // the router's LAN address
            "192.168.1.0",   // network
            "192.168.1.255", // broadcast
            "224.0.0.1",     // multicast
            "0.0.0.0",
            "fe80::1",        // link-local without a scope
            "2001:db8::5",    // global IPv6, even if the LAN uses it
            "fd00:2::5",      // ULA of another prefix
            "::ffff:8.8.8.8", // mapped public
        ] {
            assert!(!ok(&g, bad), "{bad} should be refused");
        }
    }

    #[test]
    fn a_lan_with_public_addresses_is_refused_whole() {
        let g = guard(&["45.77.0.1/24"]);
        assert!(!ok(&g, "45.77.0.5"));
        let e = g.check("45.77.0.5".parse().unwrap()).unwrap_err();
        assert!(e.to_string().contains("not a private"), "{e}");
    }

    #[test]
    fn no_prefixes_refuses_everything() {
        let g = LanGuard::default();
        let e = g.check("192.168.1.5".parse().unwrap()).unwrap_err();
        assert!(e.to_string().contains("none known"), "{e}");
    }

    #[test]
    fn prefixes_from_uci() {
        let p = LanPrefix::from_uci("192.168.1.1", Some("255.255.0.0")).unwrap();
        assert_eq!(p.to_string(), "192.168.1.1/16");
        assert_eq!(
            LanPrefix::from_uci("10.0.0.1/8", None).unwrap().to_string(),
            "10.0.0.1/8"
        );
        assert_eq!(
            LanPrefix::from_uci("192.168.1.1", None).unwrap().len,
            24,
            "OpenWrt's shipped netmask"
        );
        assert!(LanPrefix::from_uci("192.168.1.1", Some("255.0.255.0")).is_err());
        assert!(LanPrefix::parse("192.168.1.1/33").is_err());
        assert!(LanPrefix::parse("192.168.1.1").is_err());
    }

    #[test]
    fn point_to_point_prefixes_have_no_network_address() {
        let g = guard(&["10.0.0.1/31"]);
        assert!(ok(&g, "10.0.0.0"));
        let g = guard(&["10.0.0.1/32"]);
        assert!(!ok(&g, "10.0.0.1"));
    }
}
