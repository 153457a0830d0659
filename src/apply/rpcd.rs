//! The calls camguard makes to rpcd (`uci` and `rc`) and the JSON shape of UCI values.
use serde_json::{json, Value};

use crate::bus::{Bus, BusError};
use crate::plan::UciValue;

pub(super) fn uci(bus: &mut dyn Bus, method: &str, args: Value) -> Result<Value, BusError> {
    bus.call("uci", method, &args)
}

/// How long an init script may take: rpcd answers `rc init` only when the script exits, and
/// starting miniupnpd on a busy router takes longer than an ordinary call's deadline.
const INIT_SCRIPT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// `rc init {name, action}`.
pub(super) fn rc_init(bus: &mut dyn Bus, name: &str, action: &str) -> Result<Value, BusError> {
    bus.call_within(
        "rc",
        "init",
        &json!({ "name": name, "action": action }),
        INIT_SCRIPT_DEADLINE,
    )
}

pub(super) fn to_value(v: &UciValue) -> Value {
    match v {
        UciValue::Single(s) => json!(s),
        UciValue::List(l) => json!(l),
    }
}

pub(super) fn from_value(v: &Value) -> Option<UciValue> {
    match v {
        Value::String(s) => Some(UciValue::Single(s.clone())),
        Value::Array(a) => Some(UciValue::List(
            a.iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
        )),
        _ => None,
    }
}

/// A config's sections in order (`uci get` answers with `.index`).
pub(super) fn section_order(bus: &mut dyn Bus, config: &str) -> Result<Vec<String>, BusError> {
    let reply = uci(bus, "get", json!({ "config": config }))?;
    let mut sections: Vec<(u64, String)> = reply["values"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (v[".index"].as_u64().unwrap_or(u64::MAX), k.clone()))
                .collect()
        })
        .unwrap_or_default();
    sections.sort();
    Ok(sections.into_iter().map(|(_, n)| n).collect())
}
