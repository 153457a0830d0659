//! The `camguard` object's methods: argument checking and replies (docs/ubus-api.md).
use serde_json::{json, Value};

use super::State;
use crate::apply::{Journal, State as EntryState};
use crate::audit::{Severity, Subject};
use crate::bus::blob::to_blobmsg;
use crate::bus::status;
use crate::facts::mappings::mappings;
use crate::plan::{Action, Step};
use crate::ports::Protocol;
use crate::views;
use ubus::BlobMsgTable;

/// Methods that change the router: callers coming through LuCI must hold the write grant.
const WRITE_METHODS: &[&str] = &["audit", "enforce", "revoke", "revert"];

/// ubus status "not supported": enforcement needs a live router, not a snapshot.
const NOT_SUPPORTED: i32 = 8;

/// Answers one call with the encoded reply; Err is a ubus status code.
pub(crate) fn handle(state: &mut State, method: &str, args: Value) -> Result<BlobMsgTable, i32> {
    if WRITE_METHODS.contains(&method) {
        authorize(state, method, &args)?;
    }
    match method {
        "status" => Ok(state.audited.status_blob.clone()),
        "audit" => {
            state.audit();
            Ok(state.audited.status_blob.clone())
        }
        "findings" => {
            let min = match args.get("severity") {
                None => Severity::Info,
                Some(v) => v
                    .as_str()
                    .and_then(Severity::parse)
                    .ok_or(status::INVALID_ARGUMENT)?,
            };
            let page = Page::from_args(&args)?;
            let matching: Vec<&crate::audit::Finding> = state
                .audited
                .report
                .findings
                .iter()
                .filter(|f| f.severity >= min)
                .collect();
            encode(&Paged::new("findings", matching.into_iter(), page))
        }
        "devices" => list_reply(state, List::Devices, &args),
        "mappings" => list_reply(state, List::Mappings, &args),
        "forwards" => list_reply(state, List::Forwards, &args),
        "plan" => encode(&json!({ "actions": state.audited.plan })),
        "journal" => encode(&journal(state)),
        "enforce" => encode(&enforce(state, &args)?),
        "revoke" => encode(&revoke(state, &args)?),
        "revert" => encode(&revert(state, &args)?),
        _ => Err(status::METHOD_NOT_FOUND),
    }
}

/// How many encoded list pages the daemon keeps between audits (LuCI asks for three).
const MAX_CACHED_PAGES: usize = 6;

/// The paged list replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum List {
    Devices,
    Mappings,
    Forwards,
}

impl List {
    /// The reply's key for the list (and the method's name).
    fn key(self) -> &'static str {
        match self {
            List::Devices => "devices",
            List::Mappings => "mappings",
            List::Forwards => "forwards",
        }
    }
}

/// One page of the devices, mappings or forwards list, encoded once per audit.
fn list_reply(state: &mut State, list: List, args: &Value) -> Result<BlobMsgTable, i32> {
    let page = Page::from_args(args)?;
    let cache_key = (list, page.offset, page.limit);
    if let Some(blob) = state.audited.list_replies.get(&cache_key) {
        return Ok(blob.clone());
    }
    let ctx = state.audited.facts();
    let key = list.key();
    let blob = match list {
        List::Devices => encode(&Paged::new(key, views::devices(&ctx), page)),
        List::Mappings => encode(&Paged::new(key, views::mappings(&ctx), page)),
        List::Forwards => encode(&Paged::new(key, views::forwards(&ctx).into_iter(), page)),
    }?;
    // A caller walking every offset must not make the daemon keep every page.
    if state.audited.list_replies.len() >= MAX_CACHED_PAGES {
        state.audited.list_replies.clear();
    }
    state.audited.list_replies.insert(cache_key, blob.clone());
    Ok(blob)
}

fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<BlobMsgTable, i32> {
    to_blobmsg(value).map_err(|e| {
        log::error!("cannot encode a reply: {e}");
        status::UNKNOWN_ERROR
    })
}

/// One page of a list reply: `{ "<key>": [ … ], "total": n }`.
struct Paged<T> {
    key: &'static str,
    items: Vec<T>,
    total: usize,
}

impl<T> Paged<T> {
    /// Takes only the page's rows from `all`.
    fn new(key: &'static str, all: impl ExactSizeIterator<Item = T>, page: Page) -> Paged<T> {
        let total = all.len();
        Paged {
            key,
            items: all.skip(page.offset).take(page.limit).collect(),
            total,
        }
    }
}

impl<T: serde::Serialize> serde::Serialize for Paged<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry(self.key, &self.items)?;
        m.serialize_entry("total", &self.total)?;
        m.end()
    }
}

/// `offset`/`limit` paging of list replies, which must fit a ubus message (1 MiB).
struct Page {
    offset: usize,
    limit: usize,
}

/// The most entries one list reply carries.
const MAX_PAGE: usize = 1000;

impl Page {
    fn from_args(args: &Value) -> Result<Page, i32> {
        let number = |name: &str, default: usize| match args.get(name) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .map(|n| n as usize)
                .ok_or(status::INVALID_ARGUMENT),
        };
        Ok(Page {
            offset: number("offset", 0)?,
            limit: number("limit", MAX_PAGE)?.min(MAX_PAGE),
        })
    }
}

/// A call that carries a LuCI session (uhttpd adds `ubus_rpc_session`) is checked with rpcd's
/// `session access`: camguard runs as root, and must not lend that to a read-only login
/// (pitfall 8). Local calls without a session are root's own.
fn authorize(state: &mut State, method: &str, args: &Value) -> Result<(), i32> {
    let Some(session) = args.get("ubus_rpc_session") else {
        return Ok(());
    };
    let Some(session) = session.as_str() else {
        return Err(status::INVALID_ARGUMENT);
    };
    let query = json!({ "ubus_rpc_session": session, "scope": "ubus", "object": "camguard", "function": method });
    let allowed = state
        .links
        .client()
        .and_then(|c| c.call("session", "access", &query).ok())
        .and_then(|r| r.get("access").and_then(Value::as_bool))
        .unwrap_or(false);
    if allowed {
        Ok(())
    } else {
        log::warn!("refused {method}: the caller's session may not write");
        Err(status::PERMISSION_DENIED)
    }
}

fn bool_arg(args: &Value, name: &str) -> Result<bool, i32> {
    match args.get(name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        // ubus CLIs and LuCI send booleans as 0/1 integers too.
        Some(Value::Number(n)) => Ok(n.as_u64().unwrap_or(0) != 0),
        Some(_) => Err(status::INVALID_ARGUMENT),
    }
}

fn enforce(state: &mut State, args: &Value) -> Result<Value, i32> {
    let dry_run = bool_arg(args, "dry_run")?;
    let finding = match args.get("finding") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(status::INVALID_ARGUMENT),
    };
    let subject: Option<Subject> = match args.get("subject") {
        None => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|_| status::INVALID_ARGUMENT)?),
    };
    // Always decide on the router as it is now.
    state.audit();
    let actions: Vec<Action> = state
        .audited
        .plan
        .iter()
        .filter(|a| match (&finding, &subject) {
            (None, None) => true,
            (f, s) => a.finding.as_ref().is_some_and(|r| {
                f.as_ref().is_none_or(|f| &r.id == f) && s.as_ref().is_none_or(|s| &r.subject == s)
            }),
        })
        .cloned()
        .collect();
    if !dry_run && !actions.is_empty() && !state.executor_available() {
        return Err(NOT_SUPPORTED);
    }
    // What could not be read is not enforced: say so rather than report a clean nothing.
    let unread: Vec<String> = state
        .audited
        .snapshot
        .problems
        .iter()
        .filter(|p| p.source.starts_with("ubus") && p.config.is_some())
        .map(|p| format!("{}: {}", p.source, p.message))
        .collect();
    let outcome = if state.executor_available() {
        state.enforce(actions, "enforce", dry_run)
    } else {
        crate::apply::Outcome::unchanged(actions, vec![])
    };
    let mut outcome = outcome;
    if !unread.is_empty() {
        outcome.failed.push(crate::apply::Failure::of_run(format!(
            "camguard could not read part of the router over ubus, so it changed nothing there: {}",
            unread.join("; ")
        )));
    }
    if outcome.journal_id.is_some() {
        state.audit();
    }
    serde_json::to_value(outcome).map_err(|_| status::UNKNOWN_ERROR)
}

fn revoke(state: &mut State, args: &Value) -> Result<Value, i32> {
    let proto = args
        .get("proto")
        .and_then(Value::as_str)
        .and_then(|p| Protocol::from_name(&p.to_ascii_uppercase()))
        .ok_or(status::INVALID_ARGUMENT)?;
    let ext_port = args
        .get("ext_port")
        .and_then(Value::as_u64)
        .filter(|p| *p <= 65535)
        .ok_or(status::INVALID_ARGUMENT)? as u16;
    if !state.executor_available() {
        return Err(NOT_SUPPORTED);
    }
    state.audit();
    let facts = state.audited.facts();
    let mapping = mappings(facts.snap)
        .into_iter()
        .find(|m| m.proto == proto && m.ext_port == ext_port)
        .ok_or(status::NOT_FOUND)?;
    let handles = crate::plan::mapping_handles(&facts, &mapping);
    let action = Action {
        step: Step::RevokeMapping {
            proto,
            ext_port,
            int_addr: mapping.int_addr,
            int_port: mapping.int_port,
            nft_handles: handles,
        },
        why: format!(
            "revoke UPnP mapping {ext_port}/{} at the owner's request",
            proto.as_str()
        ),
        finding: None,
    };
    let outcome = state.enforce(vec![action], "revoke", false);
    state.audit();
    serde_json::to_value(outcome).map_err(|_| status::UNKNOWN_ERROR)
}

fn revert(state: &mut State, args: &Value) -> Result<Value, i32> {
    let id = match args.get("id") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(status::INVALID_ARGUMENT),
    };
    if !state.executor_available() {
        return Err(NOT_SUPPORTED);
    }
    let result = state
        .executor()
        .ok_or(status::UNKNOWN_ERROR)?
        .revert(id.as_deref());
    let reply = match result {
        Ok(r) => serde_json::to_value(r).map_err(|_| status::UNKNOWN_ERROR)?,
        Err(e) if e.is_not_found() => {
            log::warn!("revert: {e}");
            return Err(status::NOT_FOUND);
        }
        // Foreign staged changes or a pending LuCI apply: say why instead of a bare status.
        Err(e) => {
            json!({ "journal_id": id, "reverted": 0, "failed": [e.to_string()] })
        }
    };
    state.audit();
    Ok(reply)
}

fn journal(state: &State) -> Value {
    let root = state.opts.local_root().to_path_buf();
    let entries: Vec<Value> = Journal::new(&root)
        .entries()
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id,
                "time": e.time,
                "reason": e.reason,
                "state": e.state,
                "reverted": e.state == EntryState::Reverted,
                "actions": e.actions,
                "changes": e.before,
                "applied": e.applied,
                "failed": e.failed,
                "pending": e.pending,
            })
        })
        .collect();
    json!({ "entries": entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page takes `limit` rows from `offset` on, and never more than are there.
    #[test]
    fn a_page_takes_its_rows_and_counts_them_all() {
        let page = |offset, limit| Page { offset, limit };
        let p = Paged::new("n", 0..10, page(3, 4));
        assert_eq!((p.items, p.total), (vec![3, 4, 5, 6], 10));
        let p = Paged::new("n", 0..10, page(8, 1000));
        assert_eq!((p.items, p.total), (vec![8, 9], 10));
        let p = Paged::new("n", 0..10, page(usize::MAX, 5));
        assert_eq!((p.items, p.total), (vec![], 10));
    }
}
