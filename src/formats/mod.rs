//! The router's file formats, each parsed purely from bytes into data: UCI configs, the
//! nftables ruleset as `nft -j` prints it, miniupnpd's lease files, DHCP lease files, the
//! kernel's neighbour table and its connection-tracking table. What a LAN device wrote is parsed here and nowhere else, so these
//! are the parsers the fuzz targets cover. No I/O: the read stage ([`crate::source`]) brings the
//! bytes.
pub mod conntrack;
pub mod dhcp;
pub mod discovery;
mod error;
pub mod leases;
pub mod linefile;
pub mod neighbours;
pub mod nft;
pub mod onvif;
pub mod ssdp;
pub mod uci;

pub use error::{Document, Expected, Field, FormatError, LineLayout};
