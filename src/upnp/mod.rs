//! miniupnpd's on-disk state: the IPv4 lease file and the IPv6 pinhole file.
pub mod leases;

pub use leases::{parse_leases, parse_leases6, Lease, Pinhole, Protocol};
