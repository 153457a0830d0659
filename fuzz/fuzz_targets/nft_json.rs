//! The `nft -j list ruleset` reader (`camguard::formats::nft::parse_ruleset`). miniupnpd writes client
//! text into rule comments, so what comes out must be clean.
#![no_main]
use camguard::formats::nft::parse_ruleset;
use camguard::ports::Protocol;
use camguard_fuzz::assert_clean;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(ruleset) = parse_ruleset(data) else {
        return;
    };
    for rule in &ruleset.rules {
        for text in rule.texts() {
            assert_clean(text, "nft text");
        }
        for &(lo, hi) in &rule.dports {
            assert!(lo <= hi, "port range {lo}-{hi}");
        }
        if let Some(iifname) = &rule.iifname {
            assert_eq!(rule.iifnames, std::slice::from_ref(iifname));
        }
        let _ = rule.fw4_name();
        let _ = rule.matches_protocol(Protocol::Tcp);
        let _ = rule.matches_dport(554);
    }
    for redirect in ruleset.upnp_redirects() {
        let _ = (redirect.ext_port(), redirect.covers_ext_port(554));
    }
    let _ = ruleset.fw4_rule_names();
    let _ = ruleset.fw4_rules().count();
});
