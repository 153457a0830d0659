//! Stand-in for rpcd's ubus objects (placeholder until the testbed lands).
fn main() {}
