//! MAC addresses as they appear in DHCP leases, UCI and host hints.
use std::fmt;
use std::str::FromStr;

/// A 48-bit MAC address. Displays as lower-case `aa:bb:cc:dd:ee:ff` (dnsmasq's form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// The 24-bit organisationally unique identifier.
    pub fn oui(&self) -> [u8; 3] {
        [self.0[0], self.0[1], self.0[2]]
    }

    /// Locally administered (U/L bit set): randomised Wi-Fi addresses and virtual NICs. Their
    /// first three octets say nothing about the vendor.
    pub fn is_locally_administered(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// The first `bits` bits as a number (24, 28 or 36 for the IEEE MA-L, MA-M and MA-S blocks).
    pub fn prefix(&self, bits: u32) -> u64 {
        let v = self
            .0
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        v >> (48 - bits)
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacParseError;

impl fmt::Display for MacParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a MAC address (expected six hex octets separated by ':' or '-')")
    }
}

impl FromStr for Mac {
    type Err = MacParseError;

    /// Accepts `aa:bb:cc:dd:ee:ff` and `AA-BB-CC-DD-EE-FF`, either case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for slot in out.iter_mut() {
            let part = parts.next().ok_or(MacParseError)?;
            if part.len() != 2 {
                return Err(MacParseError);
            }
            *slot = u8::from_str_radix(part, 16).map_err(|_| MacParseError)?;
        }
        if parts.next().is_some() {
            return Err(MacParseError);
        }
        Ok(Mac(out))
    }
}

impl serde::Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_separators_and_cases() {
        let a: Mac = "4C:BD:8F:01:02:03".parse().unwrap();
        let b: Mac = "4c-bd-8f-01-02-03".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "4c:bd:8f:01:02:03");
        assert_eq!(a.oui(), [0x4c, 0xbd, 0x8f]);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "4c:bd:8f:01:02",
            "4c:bd:8f:01:02:03:04",
            "4c:bd:8f:01:02:zz",
            "4cbd8f010203",
            "4c:bd:8f:1:2:3",
        ] {
            assert!(bad.parse::<Mac>().is_err(), "{bad}");
        }
    }

    #[test]
    fn locally_administered_bit() {
        assert!("26:5a:4c:00:00:01"
            .parse::<Mac>()
            .unwrap()
            .is_locally_administered());
        assert!(!"ec:71:db:00:00:01"
            .parse::<Mac>()
            .unwrap()
            .is_locally_administered());
    }

    #[test]
    fn prefixes_for_ieee_block_sizes() {
        let m: Mac = "34:46:63:2a:bc:de".parse().unwrap();
        assert_eq!(m.prefix(24), 0x344663);
        assert_eq!(m.prefix(28), 0x3446632);
        assert_eq!(m.prefix(36), 0x3446632ab);
    }
}
