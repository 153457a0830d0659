//! The `camguard` object's methods: argument checking and replies (docs/ubus-api.md).
use serde_json::{json, Value};

use super::State;
use crate::audit::{Context, Severity};
use crate::bus::status;
use crate::views;

/// Answers one call; Err is a ubus status code.
pub(crate) fn handle(state: &mut State, method: &str, args: Value) -> Result<Value, i32> {
    match method {
        "status" => Ok(state.status_reply.clone()),
        "audit" => {
            state.audit();
            Ok(state.status_reply.clone())
        }
        "findings" => {
            let min = match args.get("severity") {
                None => Severity::Info,
                Some(v) => v
                    .as_str()
                    .and_then(Severity::parse)
                    .ok_or(status::INVALID_ARGUMENT)?,
            };
            let findings: Vec<&crate::audit::Finding> = state
                .report
                .findings
                .iter()
                .filter(|f| f.severity >= min)
                .collect();
            Ok(json!({ "findings": findings }))
        }
        "devices" => Ok(views::devices(&Context::new(&state.snapshot))),
        "mappings" => Ok(views::mappings(&Context::new(&state.snapshot))),
        "forwards" => Ok(views::forwards(&Context::new(&state.snapshot))),
        "plan" => Ok(json!({ "actions": [] })),
        "journal" => Ok(json!({ "entries": [] })),
        _ => Err(status::METHOD_NOT_FOUND),
    }
}
