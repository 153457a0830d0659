//! DHCP lease files: dnsmasq's (`parse_dnsmasq_leases`) and odhcpd's state file
//! (`parse_odhcpd_leases`). Hostnames and client ids are chosen by LAN clients.
#![no_main]
use camguard::formats::dhcp::{parse_dnsmasq_leases, parse_odhcpd_leases, DhcpLease};
use camguard::formats::linefile::Parsed;
use camguard_fuzz::{assert_clean, check_parsed};
use libfuzzer_sys::fuzz_target;

fn check(parsed: &Parsed<DhcpLease>, data: &[u8], one_per_line: bool) {
    check_parsed(parsed, data, one_per_line);
    for lease in &parsed.entries {
        for text in lease.hostname.iter().chain(&lease.client_id) {
            assert_clean(text, "DHCP text");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    check(&parse_dnsmasq_leases(data), data, true);
    // odhcpd writes one line per client, with several addresses on it.
    check(&parse_odhcpd_leases(data), data, false);
});
