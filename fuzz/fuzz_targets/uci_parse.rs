//! The libuci-compatible parser (`camguard::formats::uci::parse`) on arbitrary bytes, then what reads its
//! result: the typed config readers (`Snapshot::set_config`) and the camguard policy.
//!
//! Input: the first byte picks the package name (the configs camguard reads, so each typed
//! reader is reached), the rest is the file.
#![no_main]
use camguard::formats::uci;
use camguard::snapshot::{Snapshot, CONFIGS};
use camguard_fuzz::NOW;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let name = CONFIGS[usize::from(pick) % CONFIGS.len()];
    let package = match uci::parse(name, input) {
        Ok(package) => package,
        Err(e) => {
            let lines = input.split(|&b| b == b'\n').count();
            assert!(e.line <= lines + 1, "error on line {} of {lines}", e.line);
            assert!(!e.message.is_empty());
            return;
        }
    };
    // What libuci exports, libuci reads back as the same package. libuci's export writes
    // section types and option names unquoted (only escaping `'`), so that holds only where
    // they need no quoting; values are always quoted.
    let exported = package.export();
    let plain = |s: &str| !s.contains(|c: char| c.is_whitespace() || "'\"\\#;".contains(c));
    if package.sections.iter().all(|s| {
        plain(&s.section_type) && plain(&s.name) && s.options.iter().all(|o| plain(&o.name))
    }) {
        let again = uci::parse(name, exported.as_bytes())
            .unwrap_or_else(|e| panic!("the export does not parse again: {e}\n{exported}"));
        assert_eq!(
            again, package,
            "export and parse again changed the package:\n{exported}"
        );
    }

    if name == "camguard" {
        let _ = camguard::snapshot::policy::Policy::from_uci(&package);
    }
    let mut snap = Snapshot::new(NOW, "fuzz");
    snap.set_config(package);
    let _ = camguard::facts::wan_zones(&snap);
    let _ = snap.upnp_lease_paths();
    let _ = snap.dhcp_lease_paths();
});
