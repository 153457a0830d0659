//! The policy camguard ships must parse, and must enforce nothing on its own.
use camguard::snapshot::policy::Policy;

#[test]
fn shipped_policy_is_valid_and_audit_only() {
    let text = include_bytes!("../files/etc/config/camguard");
    let package = camguard::formats::uci::parse("camguard", text).expect("shipped config parses");
    let policy = Policy::from_uci(&package).expect("shipped config is valid");
    assert!(
        !policy.enforce,
        "installing camguard must change nothing by itself"
    );
    assert_eq!(
        policy,
        Policy::default(),
        "the built-in defaults are the shipped file"
    );
}
