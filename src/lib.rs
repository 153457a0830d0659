//! camguard: audits and enforces UPnP, port-forward and camera policy on OpenWrt routers.
//!
//! The pipeline runs one way: **read** a [`snapshot::Snapshot`] of the router (live over ubus or
//! offline from a root directory or backup), **audit** it into findings (pure), **plan** the
//! actions that make it comply (pure), **apply** them journaled. Modules in that order:

pub mod linefile;
pub mod log;
pub mod mac;
pub mod text;
pub mod time;
pub mod uci;

pub mod dhcp;
pub mod nft;
pub mod upnp;

pub mod bus;
pub mod devices;
pub mod ports;
pub mod sys;

pub mod snapshot;
pub mod source;

pub mod policy;

pub mod apply;

pub mod audit;
pub mod report;
pub mod views;

pub mod cli;
pub mod daemon;
