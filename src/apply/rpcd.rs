//! The calls camguard makes to rpcd (`uci` and `rc`) and the JSON shape of UCI values.
use crate::json::Value;

use super::ApplyError;
use crate::bus::{status, Bus, BusError};
use crate::encode::json;
use crate::plan::UciValue;

pub(super) fn uci(bus: &mut dyn Bus, method: &str, args: Value) -> Result<Value, BusError> {
    bus.call("uci", method, &args)
}

pub(super) fn set(
    bus: &mut dyn Bus,
    config: &str,
    section: &str,
    option: &str,
    value: &UciValue,
) -> Result<Value, BusError> {
    let args =
        json!({ "config": config, "section": section, "values": { option: to_value(value) } });
    uci(bus, "set", args)
}

/// Deletes an option, or the whole section when `option` is None.
pub(super) fn delete(
    bus: &mut dyn Bus,
    config: &str,
    section: &str,
    option: Option<&str>,
) -> Result<Value, BusError> {
    let mut args = json!({ "config": config, "section": section });
    if let Some(o) = option {
        args["option"] = json!(o);
    }
    uci(bus, "delete", args)
}

/// Adds a section named `name` with `values`.
pub(super) fn add<'v>(
    bus: &mut dyn Bus,
    config: &str,
    r#type: &str,
    name: &str,
    values: impl IntoIterator<Item = (&'v String, &'v UciValue)>,
) -> Result<Value, BusError> {
    let values: crate::json::Map<String, Value> = values
        .into_iter()
        .map(|(k, v)| (k.clone(), to_value(v)))
        .collect();
    uci(
        bus,
        "add",
        json!({ "config": config, "type": r#type, "name": name, "values": values }),
    )
}

pub(super) fn order(
    bus: &mut dyn Bus,
    config: &str,
    sections: &[impl AsRef<str>],
) -> Result<Value, BusError> {
    let sections: Vec<&str> = sections.iter().map(AsRef::as_ref).collect();
    uci(
        bus,
        "order",
        json!({ "config": config, "sections": sections }),
    )
}

pub(super) fn commit(bus: &mut dyn Bus, config: &str) -> Result<Value, BusError> {
    uci(bus, "commit", json!({ "config": config }))
}

pub(super) fn revert(bus: &mut dyn Bus, config: &str) -> Result<Value, BusError> {
    uci(bus, "revert", json!({ "config": config }))
}

/// Tells procd that `config` changed, as rpcd's commit does (`service event config.change`):
/// the services with a reload trigger on it reload.
pub(super) fn config_changed(bus: &mut dyn Bus, config: &str) -> Result<Value, BusError> {
    let args = json!({ "type": "config.change", "data": { "package": config } });
    bus.call("service", "event", &args)
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

/// `rc init`, then `rc list` to see that it took: rpcd answers 0 whatever the init script's
/// exit status, so a start or reload that failed would otherwise pass for applied. `stop` is
/// checked by `verify` (procd may still be ending the process).
pub(super) fn rc_init_checked(
    bus: &mut dyn Bus,
    name: &str,
    action: &str,
) -> Result<(), ApplyError> {
    rc_init(bus, name, action).map_err(ApplyError::Step)?;
    let found = match action {
        "start" | "restart" | "reload" => {
            rc_state(bus, name).map(|s| (s.running == Some(false)).then_some("not running"))
        }
        "enable" => {
            rc_state(bus, name).map(|s| (s.enabled == Some(false)).then_some("not enabled"))
        }
        "disable" => {
            rc_state(bus, name).map(|s| (s.enabled == Some(true)).then_some("still enabled"))
        }
        _ => Ok(None),
    };
    match found {
        Ok(None) => Ok(()),
        Ok(Some(found)) => Err(ApplyError::ServiceState {
            name: name.to_owned(),
            action: action.to_owned(),
            found: found.to_owned(),
        }),
        Err(e) if e.interrupts() => Err(ApplyError::Step(e)),
        Err(e) => Err(ApplyError::bus(format!("rc list {name}"), e)),
    }
}

/// A service as `rc list` shows it: whether it is enabled, and running (None: not listed, or
/// not a procd service).
pub(super) struct ServiceState {
    pub enabled: Option<bool>,
    pub running: Option<bool>,
}

pub(super) fn rc_state(bus: &mut dyn Bus, name: &str) -> Result<ServiceState, BusError> {
    let rc = bus.call("rc", "list", &json!({ "name": name }))?;
    let entry = rc.get(name);
    Ok(ServiceState {
        enabled: entry.and_then(|e| e["enabled"].as_bool()),
        running: entry.and_then(|e| e["running"].as_bool()),
    })
}

fn to_value(v: &UciValue) -> Value {
    match v {
        UciValue::Single(s) => json!(s),
        UciValue::List(l) => json!(l),
    }
}

fn from_value(v: &Value) -> Option<UciValue> {
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

/// An option's value; None when it does not exist.
pub(super) fn get_option(
    bus: &mut dyn Bus,
    config: &str,
    section: &str,
    option: &str,
) -> Result<Option<UciValue>, BusError> {
    let args = json!({ "config": config, "section": section, "option": option });
    match uci(bus, "get", args) {
        Ok(v) => Ok(from_value(&v["value"])),
        Err(BusError::Status(status::NOT_FOUND)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A section as `uci get` answers it: its type and its options in libuci's order.
pub(super) struct Section {
    pub r#type: String,
    pub options: Vec<(String, UciValue)>,
}

pub(super) fn get_section(
    bus: &mut dyn Bus,
    config: &str,
    section: &str,
) -> Result<Section, BusError> {
    let reply = uci(bus, "get", json!({ "config": config, "section": section }))?;
    let values = reply["values"].as_object();
    Ok(Section {
        r#type: values
            .and_then(|v| v.get(".type"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        options: values
            .into_iter()
            .flatten()
            .filter(|(k, _)| !k.starts_with('.'))
            .filter_map(|(k, v)| Some((k.clone(), from_value(v)?)))
            .collect(),
    })
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
