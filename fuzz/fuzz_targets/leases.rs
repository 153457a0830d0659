//! miniupnpd's lease files: IPv4 mappings (`parse_leases`) and IPv6 pinholes (`parse_leases6`).
//! Every LAN host writes into them (the mapping description), so their text must come out clean.
#![no_main]
use camguard::formats::leases::{parse_leases, parse_leases6};
use camguard_fuzz::{assert_clean, check_parsed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Not one entry per line: miniupnpd reads an overlong line as several.
    let v4 = parse_leases(data);
    check_parsed(&v4, data, false);
    for lease in &v4.entries {
        assert_clean(&lease.description, "mapping description");
        for forgery in &lease.forged {
            assert_clean(&forgery.to_string(), "forgery text");
        }
        let _ = lease.is_permanent();
    }
    let v6 = parse_leases6(data);
    check_parsed(&v6, data, true);
    for pinhole in &v6.entries {
        assert_clean(&pinhole.description, "pinhole description");
    }
});
