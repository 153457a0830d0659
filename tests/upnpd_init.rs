//! /etc/config/upnpd as miniupnpd's init script (openwrt/packages net/miniupnpd/files/
//! miniupnpd.init) reads it: options from the section named `config` only, one instance per
//! `upnpd`-type section. Checked on the upnpd configs OpenWrt ships (../shared/corpus) and on
//! hand-made variants.
use camguard::formats::uci;
use camguard::snapshot::UpnpConfig;

fn read(text: &str) -> Option<UpnpConfig> {
    UpnpConfig::from_uci(&uci::parse("upnpd", text.as_bytes()).expect("valid UCI"))
}

#[test]
fn every_shipped_upnpd_config_is_off_with_secure_mode_and_the_default_deny() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(&corpus).expect("../shared/corpus") {
        let path = entry.unwrap().path().join("etc/config/upnpd");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        seen += 1;
        let cfg = read(&text).unwrap_or_else(|| panic!("{}", path.display()));
        let at = path.display();
        assert!(cfg.has_settings_section, "{at}");
        assert!(!cfg.enabled, "{at}: shipped with enabled 0");
        assert_eq!(cfg.instances, 0, "{at}");
        assert!(
            cfg.secure_mode && cfg.enable_upnp && cfg.enable_natpmp,
            "{at}"
        );
        assert_eq!(
            cfg.lease_file.as_deref(),
            Some("/var/run/miniupnpd.leases"),
            "{at}"
        );
        assert_eq!(cfg.internal_iface, ["lan"], "{at}");
        assert_eq!(cfg.perm_rules.len(), 2, "{at}");
        assert!(cfg.perm_rules[1].is_catch_all_deny(), "{at}");
    }
    assert!(seen >= 5, "only {seen} shipped upnpd configs found");
}

#[test]
fn shipped_config_switched_on_starts_one_instance() {
    let cfg = read("config upnpd config\n\toption enabled 1\n").unwrap();
    assert!(cfg.enabled);
    assert_eq!(cfg.instances, 1);
}

#[test]
fn unnamed_upnpd_section_with_enabled_0_does_not_switch_it_off() {
    // `config_get_bool enabled config enabled 1`: no section named `config`, so the default 1.
    let cfg = read(
        "config upnpd\n\toption enabled '0'\n\toption secure_mode '0'\n\
                    \toption upnp_lease_file '/tmp/upnp.leases'\n",
    )
    .unwrap();
    assert!(!cfg.has_settings_section);
    assert!(
        cfg.enabled,
        "the init script starts miniupnpd with its defaults"
    );
    assert_eq!(cfg.instances, 1);
    assert!(
        cfg.secure_mode,
        "secure_mode '0' is in a section the init never reads"
    );
    assert!(cfg.enable_upnp && cfg.enable_natpmp);
    assert_eq!(
        cfg.lease_file, None,
        "no lease file without upnpd.config.upnp_lease_file"
    );
    assert_eq!(cfg.internal_iface, ["lan"]);
}

#[test]
fn named_section_other_than_config_is_read_as_defaults_too() {
    let cfg = read("config upnpd 'settings'\n\toption enabled '0'\n").unwrap();
    assert!(cfg.enabled);
    assert_eq!(cfg.instances, 1);
}

#[test]
fn every_upnpd_section_starts_an_instance_reading_the_same_settings() {
    let cfg =
        read("config upnpd 'config'\n\toption enabled '1'\n\nconfig upnpd\n\toption enabled '0'\n")
            .unwrap();
    assert!(cfg.enabled);
    assert_eq!(cfg.instances, 2);
    let off =
        read("config upnpd 'config'\n\toption enabled '0'\n\nconfig upnpd\n\toption enabled '1'\n")
            .unwrap();
    assert!(!off.enabled);
    assert_eq!(off.instances, 0, "every call reads enabled from `config`");
}

#[test]
fn config_section_of_another_type_gives_the_options_but_starts_nothing() {
    // config_get reads by name whatever the type; config_foreach only calls for type upnpd.
    let cfg = read("config settings 'config'\n\toption enabled '1'\n").unwrap();
    assert!(!cfg.enabled);
    assert_eq!(cfg.instances, 0);
    let cfg = read("config settings 'config'\n\toption secure_mode '0'\n\nconfig upnpd\n").unwrap();
    assert!(cfg.enabled && !cfg.secure_mode);
    assert_eq!(cfg.instances, 1);
}

#[test]
fn no_upnpd_section_at_all_is_nothing_to_start() {
    assert_eq!(read("config perm_rule\n\toption action 'deny'\n"), None);
}

#[test]
fn shell_bool_values_and_empty_options_take_the_init_defaults() {
    let cfg = read(
        "config upnpd 'config'\n\toption enabled 'maybe'\n\toption secure_mode 'off'\n\
                    \toption enable_natpmp 'disabled'\n\toption internal_iface ''\n",
    )
    .unwrap();
    assert!(cfg.enabled, "an unreadable boolean is the default, 1");
    assert!(!cfg.secure_mode && !cfg.enable_natpmp);
    assert_eq!(cfg.internal_iface, ["lan"]);
}
