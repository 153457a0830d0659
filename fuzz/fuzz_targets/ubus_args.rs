//! ubus method arguments: raw blobmsg as ubusd delivers it → camguard's reader
//! (`camguard::bus::blob::table_to_value`, what the daemon's provider does with every call) →
//! every method's argument check from the method table (`camguard::daemon::METHODS`), and
//! camguard's reply encoder (`camguard::bus::blob::to_blobmsg`) on whatever came in.
//!
//! The handlers need a daemon `State`; what they do with checked arguments is reached here through
//! the same public pieces: `Subject` (enforce's "subject"), `Severity::parse` (findings) and
//! `Protocol::from_name` (revoke).
#![no_main]
use camguard::audit::{Severity, Subject};
use camguard::bus::policy::ArgType;
use camguard::daemon::METHODS;
use camguard::ports::Protocol;
use camguard_fuzz::{as_blobmsg_sees_it, assert_blob_round_trip, assert_clean};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(args) = camguard::bus::blob::table_to_value(data) else {
        return;
    };
    let map = args
        .as_object()
        .unwrap_or_else(|| panic!("table_to_value gave a non-object: {args}"));

    for method in METHODS {
        let checked = match method.check(map) {
            Ok(checked) => checked,
            Err(e) => {
                // A refusal names an argument of this method that the call carries, and its
                // reason goes to syslog as it is.
                assert!(
                    method.args.iter().any(|a| a.name == e.name) && map.contains_key(e.name),
                    "{}: refused an argument it does not declare: {e}",
                    method.name
                );
                assert_clean(&e.to_string(), "argument error");
                continue;
            }
        };
        // Whatever passed the check, the handlers read without a second look.
        for &arg in method.args {
            match arg.kind {
                ArgType::Boolean => {
                    let _ = checked.flag(arg);
                }
                ArgType::Integer => {
                    if map.contains_key(arg.name) {
                        assert!(checked.count(arg).is_some(), "{} {}", method.name, arg.name);
                    }
                }
                ArgType::String => {
                    let Some(text) = checked.text(arg) else {
                        assert!(!map.contains_key(arg.name), "{} {}", method.name, arg.name);
                        continue;
                    };
                    // findings, revoke
                    let _ = Severity::parse(text);
                    let _ = Protocol::from_name(text);
                }
                ArgType::Table => {
                    let Some(v) = checked.table(arg) else {
                        continue;
                    };
                    // enforce
                    if let Ok(subject) = Subject::from_json(v) {
                        // A subject the daemon accepts is one it can hand back (findings carry
                        // it) and that LuCI can send again: it survives JSON and blobmsg both
                        // ways.
                        let json =
                            camguard::encode::to_value(&subject).expect("a subject serialises");
                        let again = Subject::from_json(&json).expect("our own subject decodes");
                        assert_eq!(again, subject);
                        assert_blob_round_trip(&subject);
                    }
                }
            }
        }
    }

    // The reply encoder on any JSON a call can carry: decodes back to the same value, and writes
    // the same bytes as ubus-zero's own JSON encoder wherever that one accepts the value.
    assert_blob_round_trip(&args);
    // Both encoders on one value: ubus-zero's JSON path reads a double through 17-digit text,
    // which may change its last bit, where camguard's reader keeps it exact.
    let Ok(theirs) = ubus::json::blobmsg_to_json(data) else {
        return;
    };
    let same = camguard::encode::to_value(&theirs).expect("a JSON value encodes");
    if let Ok(blob) = ubus::json::json_to_blobmsg(&theirs) {
        let ours = camguard::bus::blob::to_blobmsg(&same).expect("an object encodes");
        assert_eq!(
            ours.contents(),
            blob.contents(),
            "to_blobmsg and ubus-zero encode {} differently",
            as_blobmsg_sees_it(&theirs)
        );
    }
});
