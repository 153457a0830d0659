// System calls go through nix (sys.rs): camguard keeps no code the compiler cannot check.
#![forbid(unsafe_code)]
//! camguard: audits and enforces UPnP, port-forward and camera policy on OpenWrt routers.
//!
//! The pipeline runs one way (ARCHITECTURE.md): **read** a [`snapshot::Snapshot`] of the
//! router (live over ubus or offline from a root directory or backup), derive the **facts**
//! the later stages share, **audit** them into findings, **plan** the actions that make the
//! router comply, **apply** them journaled. Facts, audit and plan are pure. Modules from the
//! ground up:

// Words everything uses, and the data models: no I/O.
pub mod encode;
pub mod json;
pub mod json_read;
pub mod mac;
pub mod passwords;
pub mod ports;
pub mod sorted;
pub mod text;
pub mod time;

pub mod formats;
pub mod lan;
pub mod snapshot;

// The pure core.
pub mod audit;
pub mod facts;
pub mod plan;

// The stages that touch the router, and what they stand on.
pub mod bus;
pub mod conntrack;
pub mod netlink;
pub mod nftables;
pub mod statefile;
pub mod sys;
pub mod syslog;

pub mod apply;
pub mod probe;
pub mod source;

// What people and programs use.
pub mod report;
pub mod views;

pub mod cli;
pub mod daemon;
