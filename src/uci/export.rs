//! `uci export` rendering (libuci's `uci_export`), used by the differential tests.
use super::{Package, Value};

pub fn export(_package: &Package) -> String {
    unimplemented!("filled in by the UCI parser work")
}

#[allow(dead_code)]
fn _unused(_v: &Value) {}
