//! ubus method arguments: raw blobmsg as ubusd delivers it → ubus-zero's `blobmsg_to_json` (what
//! the daemon's provider does with every call) → the argument decoding of the `camguard` object's
//! methods, and camguard's reply encoder (`camguard::bus::blob::to_blobmsg`) on whatever came in.
//!
//! The method handlers (src/daemon/methods.rs) are private and need a daemon `State`; what they
//! do with `args` is reached here through the same public pieces, in the same way: `Subject`
//! (enforce's "subject"), `Severity::parse` (findings), `Protocol::from_name` (revoke), and the
//! number and boolean reads of paging, `ext_port` and `dry_run`.
#![no_main]
use camguard::audit::{Severity, Subject};
use camguard::ports::Protocol;
use camguard_fuzz::{as_blobmsg_sees_it, assert_blob_round_trip};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(args) = ubus::json::blobmsg_to_json(data) else {
        return;
    };
    assert!(args.is_object(), "blobmsg_to_json gave a non-object: {args}");

    // findings
    let _ = args.get("severity").and_then(Value::as_str).and_then(Severity::parse);
    // paging of findings, devices, mappings, forwards
    for name in ["offset", "limit"] {
        let _ = args.get(name).and_then(Value::as_u64).map(|n| n as usize);
    }
    // enforce
    let _ = match args.get("dry_run") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) != 0,
        Some(v) => v.as_bool().unwrap_or(false),
        None => false,
    };
    let _ = args.get("finding").and_then(Value::as_str);
    if let Some(v) = args.get("subject") {
        if let Ok(subject) = serde_json::from_value::<Subject>(v.clone()) {
            // A subject the daemon accepts is one it can hand back (findings carry it) and that
            // LuCI can send again: it survives JSON and blobmsg both ways.
            let json = serde_json::to_value(&subject).expect("a subject serialises");
            let again: Subject = serde_json::from_value(json).expect("our own subject decodes");
            assert_eq!(again, subject);
            assert_blob_round_trip(&subject);
        }
    }
    // revoke
    let _ = args
        .get("proto")
        .and_then(Value::as_str)
        .and_then(|p| Protocol::from_name(&p.to_ascii_uppercase()));
    let _ = args.get("ext_port").and_then(Value::as_u64).filter(|p| *p <= 65535);
    // rpcd session check on write methods
    let _ = args.get("ubus_rpc_session").map(Value::as_str);

    // The reply encoder on any JSON a call can carry: decodes back to the same value, and writes
    // the same bytes as ubus-zero's own JSON encoder wherever that one accepts the value.
    assert_blob_round_trip(&args);
    if let Ok(theirs) = ubus::json::json_to_blobmsg(&args) {
        let ours = camguard::bus::blob::to_blobmsg(&args).expect("an object encodes");
        assert_eq!(
            ours.contents(),
            theirs.contents(),
            "to_blobmsg and ubus-zero encode {} differently",
            as_blobmsg_sees_it(&args)
        );
    }
});
