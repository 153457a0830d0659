//! The `camguard` object (docs/ubus-api.md) as one table, like rpcd's `uci.c`: a row per method
//! with its arguments, whether it reads or writes, and its handler. Registration (the signature
//! `ubus -v list` shows), dispatch, argument checking and the session check of writes all read
//! the rows; tests hold docs/ubus-api.md and the LuCI app's ACL file to them.
use super::State;
use crate::apply::{Before, Journal, State as EntryState};
use crate::audit::{Severity, Subject};
use crate::bus::blob::to_blobmsg;
use crate::bus::policy::{check, Arg, ArgError, ArgType, Args, Problem, Signature};
use crate::bus::status;
use crate::encode::json;
use crate::facts::mappings::mappings_iter;
use crate::json::{Map, Value};
use crate::plan::Action;
use crate::ports::Protocol;
use crate::views;
use std::rc::Rc;

use ubus::BlobMsgTable;

/// What a method may do, which decides the rpcd ACL grant (read or write) a LuCI caller needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    /// Changes the router (or the journal): a caller's rpcd session must hold the write grant.
    Write,
}

/// One method of the `camguard` object.
pub struct Method {
    pub name: &'static str,
    /// Its arguments, as rpcd declares them in a `blobmsg_policy`.
    pub args: &'static [Arg],
    pub access: Access,
    handler: Handler,
}

/// An encoded reply, shared: a cached page or the status table goes out without a copy (a
/// page is up to 1 MiB, and every fresh copy of it is page faults on a small router).
pub type Reply = Rc<BlobMsgTable>;

type Handler = fn(&mut State, &Args) -> Result<Reply, Failure>;

impl Method {
    const fn read(name: &'static str, args: &'static [Arg], handler: Handler) -> Method {
        Method {
            name,
            args,
            access: Access::Read,
            handler,
        }
    }

    const fn write(name: &'static str, args: &'static [Arg], handler: Handler) -> Method {
        Method {
            name,
            args,
            access: Access::Write,
            handler,
        }
    }

    /// `args` checked against this method's arguments.
    pub fn check<'a>(&self, args: &'a Map<String, Value>) -> Result<Args<'a>, ArgError> {
        check(self.args, args)
    }
}

// Each method's arguments, as rpcd declares them in its `blobmsg_policy` arrays.
const SEVERITY: Arg = Arg::new("severity", ArgType::String);
const OFFSET: Arg = Arg::new("offset", ArgType::Integer);
const LIMIT: Arg = Arg::new("limit", ArgType::Integer);
const DRY_RUN: Arg = Arg::new("dry_run", ArgType::Boolean);
const FINDING: Arg = Arg::new("finding", ArgType::String);
const SUBJECT: Arg = Arg::new("subject", ArgType::Table);
const PROTO: Arg = Arg::new("proto", ArgType::String);
const EXT_PORT: Arg = Arg::new("ext_port", ArgType::Integer);
const ID: Arg = Arg::new("id", ArgType::String);

/// The methods, in the order `ubus -v list` shows them.
pub static METHODS: &[Method] = &[
    Method::read("status", &[], |state, _| {
        Ok(Rc::clone(&state.audited.status_blob))
    }),
    Method::read("findings", &[SEVERITY, OFFSET, LIMIT], findings),
    Method::read("devices", &[OFFSET, LIMIT], |state, args| {
        list_reply(state, List::Devices, args)
    }),
    Method::read("mappings", &[OFFSET, LIMIT], |state, args| {
        list_reply(state, List::Mappings, args)
    }),
    Method::read("forwards", &[OFFSET, LIMIT], |state, args| {
        list_reply(state, List::Forwards, args)
    }),
    Method::read("plan", &[], |state, _| {
        reply(&json!({ "actions": state.audited.plan }))
    }),
    Method::read("journal", &[], |state, _| reply(&journal(state))),
    Method::write("audit", &[], |state, _| {
        state.audit();
        Ok(Rc::clone(&state.audited.status_blob))
    }),
    Method::write("enforce", &[DRY_RUN, FINDING, SUBJECT], |state, args| {
        reply(&enforce(state, args)?)
    }),
    Method::write("revoke", &[PROTO, EXT_PORT], |state, args| {
        reply(&revoke(state, args)?)
    }),
    Method::write("revert", &[ID], |state, args| reply(&revert(state, args)?)),
];

/// The object's signature for registering it.
pub(crate) fn signature() -> Signature {
    Signature::new(METHODS.iter().map(|m| (m.name, m.args)))
}

/// Why a call got no reply.
pub(crate) enum Failure {
    /// Logged with its reason; the caller sees only the status.
    Argument(ArgError),
    /// No such mapping, journal entry, or finding to enforce.
    NotFound,
    /// The caller's session may not write.
    PermissionDenied,
    /// Enforcement asked of a daemon serving an offline snapshot.
    NotSupported,
    /// A reply that could not be encoded.
    Unknown,
}

impl From<ArgError> for Failure {
    fn from(e: ArgError) -> Failure {
        Failure::Argument(e)
    }
}

impl Failure {
    /// The one place a failure becomes the ubus status the caller gets.
    fn status(self, method: &str) -> i32 {
        match self {
            Failure::Argument(e) => {
                log::warn!("{method}: {e}");
                status::INVALID_ARGUMENT
            }
            Failure::NotFound => status::NOT_FOUND,
            Failure::PermissionDenied => status::PERMISSION_DENIED,
            Failure::NotSupported => status::NOT_SUPPORTED,
            Failure::Unknown => status::UNKNOWN_ERROR,
        }
    }
}

/// Answers one call with the encoded reply; Err is a ubus status code.
pub(crate) fn handle(
    state: &mut State,
    method: &str,
    args: &Map<String, Value>,
) -> Result<Reply, i32> {
    let Some(row) = METHODS.iter().find(|m| m.name == method) else {
        return Err(status::METHOD_NOT_FOUND);
    };
    answer(state, row, args).map_err(|failure| failure.status(row.name))
}

fn answer(state: &mut State, row: &Method, args: &Map<String, Value>) -> Result<Reply, Failure> {
    // The session first: a caller that may not write learns nothing about its arguments.
    if row.access == Access::Write {
        authorize(state, row.name, args)?;
    }
    let args = row.check(args)?;
    (row.handler)(state, &args)
}

/// How many encoded list pages the daemon keeps between audits (LuCI asks for three).
const MAX_CACHED_PAGES: usize = 6;

/// How many bytes of encoded pages the daemon keeps: the page asked last always, more while
/// they are small (issue 14: resident memory at 5,000 mappings).
const MAX_CACHED_BYTES: usize = 512 * 1024;

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

/// The findings of at least `severity`, a page of them.
fn findings(state: &mut State, args: &Args) -> Result<Reply, Failure> {
    let min = match args.text(SEVERITY) {
        None => Severity::Info,
        Some(name) => Severity::parse(name).ok_or_else(|| {
            ArgError::new(SEVERITY, Problem::NotOneOf(&Severity::NAMES_DESCENDING))
        })?,
    };
    let page = Page::from_args(args);
    let matching: Vec<&crate::audit::Finding> = state
        .audited
        .report
        .findings
        .iter()
        .filter(|f| f.severity >= min)
        .collect();
    Paged::new("findings", matching.into_iter(), page)
        .encode()
        .map(Rc::new)
}

/// The list pages already encoded since the audit, and what counting its lists cost: LuCI
/// polls them, and with thousands of mappings the encoding and the join are most of the cost.
pub(crate) struct ListReplies {
    /// By (method, offset, limit). Filled on demand. At most [`MAX_CACHED_PAGES`]: searched
    /// in a Vec, not a hash table.
    pages: Vec<((List, usize, usize), Reply)>,
    /// How many mappings the audit has: counted when the audit is kept (the count joins every
    /// rule with every lease line, a page only those up to its last row), so that the first
    /// page asked for after an audit makes only its own rows.
    mapping_total: usize,
}

impl ListReplies {
    /// No page yet, the mappings of `snap` counted.
    pub fn counted(snap: &crate::snapshot::Snapshot) -> ListReplies {
        ListReplies {
            pages: Vec::new(),
            mapping_total: crate::facts::mappings::mappings_unpaired(snap).count(),
        }
    }
}

/// One page of the devices, mappings or forwards list, encoded once per audit.
fn list_reply(state: &mut State, list: List, args: &Args) -> Result<Reply, Failure> {
    let page = Page::from_args(args);
    let cache_key = (list, page.offset, page.limit);
    let pages = &state.audited.list_replies.pages;
    if let Some((_, blob)) = pages.iter().find(|(key, _)| *key == cache_key) {
        return Ok(Rc::clone(blob));
    }
    let ctx = state.audited.facts();
    let key = list.key();
    let blob = Rc::new(match list {
        List::Devices => Paged::new(key, views::devices(&ctx), page).encode(),
        List::Mappings => {
            let rows = views::mappings_page(&ctx, page.offset, page.limit);
            let total = state.audited.list_replies.mapping_total;
            Paged::counted(key, rows.into_iter(), total, page).encode()
        }
        List::Forwards => Paged::new(key, views::forwards(&ctx).into_iter(), page).encode(),
    }?);
    // A caller walking every offset must not make the daemon keep every page: a page may be
    // up to 1 MiB.
    let pages = &mut state.audited.list_replies.pages;
    let cached: usize = pages.iter().map(|(_, b)| b.as_slice().len()).sum();
    if pages.len() >= MAX_CACHED_PAGES || cached + blob.as_slice().len() > MAX_CACHED_BYTES {
        pages.clear();
    }
    // Not there: it was looked up above.
    pages.push((cache_key, Rc::clone(&blob)));
    Ok(blob)
}

/// A method's reply.
fn reply<T: serde::Serialize + ?Sized>(value: &T) -> Result<Reply, Failure> {
    encode(value).map(Rc::new)
}

fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Result<BlobMsgTable, Failure> {
    to_blobmsg(value).map_err(|e| {
        log::error!("cannot encode a reply: {e}");
        Failure::Unknown
    })
}

/// One page of a list reply: `{ "<key>": [ … ], "total": n, "more": m }`, `more` counting
/// the rows after this page.
struct Paged<T> {
    key: &'static str,
    items: Vec<T>,
    offset: usize,
    total: usize,
}

/// The most bytes one encoded reply may take: ubusd refuses a message past 1 MiB (libubus's
/// `UBUS_MAX_MSGLEN`) and wraps the reply in a few headers of its own.
const MAX_REPLY_BYTES: usize = 1024 * 1024 - 4096;

impl<T: serde::Serialize> Paged<T> {
    /// Takes only the page's rows from `all`.
    fn new(key: &'static str, all: impl ExactSizeIterator<Item = T>, page: Page) -> Paged<T> {
        let total = all.len();
        let offset = page.offset;
        Paged::counted(key, all.skip(offset), total, page)
    }

    /// The page's rows from `from_offset`, the rows from the page's offset on, of `total`.
    fn counted(
        key: &'static str,
        from_offset: impl Iterator<Item = T>,
        total: usize,
        page: Page,
    ) -> Paged<T> {
        Paged {
            key,
            items: from_offset.take(page.limit).collect(),
            offset: page.offset,
            total,
        }
    }

    /// The reply, with as many of the page's rows as fit one ubus message (rows differ in size:
    /// a device's classification reasons go with each of its mappings); `more` says what is
    /// left, so a caller walks on from `offset` plus the rows it got.
    fn encode(self) -> Result<BlobMsgTable, Failure> {
        self.encode_within(MAX_REPLY_BYTES)
    }

    fn encode_within(&self, budget: usize) -> Result<BlobMsgTable, Failure> {
        let first = |shown| encode(&Shown { page: self, shown });
        fit_within(budget, self.items.len(), &first)
    }
}

/// The first `rows` of `n` rows, encoded by `first(rows)`, as many as fit `budget`. Not
/// generic: one copy serves every list.
fn fit_within(
    budget: usize,
    n: usize,
    first: &dyn Fn(usize) -> Result<BlobMsgTable, Failure>,
) -> Result<BlobMsgTable, Failure> {
    // Rows are about the same size: a sample of them says how many fit, so that a page far
    // past the bound is never encoded whole only to be thrown away.
    const SAMPLE: usize = 64;
    let mut rows = n;
    if n > SAMPLE {
        let size = first(SAMPLE)?.as_slice().len().max(1);
        let fits = (SAMPLE as u128 * budget as u128 * 9 / 10 / size as u128) as usize;
        rows = fits.clamp(SAMPLE, n);
    }
    loop {
        let blob = first(rows)?;
        let size = blob.as_slice().len();
        if size <= budget || rows <= 1 {
            return Ok(blob);
        }
        // Scale down to fit, at least one row fewer each time.
        let fits = (rows as u128 * budget as u128 / size as u128) as usize;
        rows = fits.min(rows - 1).max(1);
    }
}

/// The first `shown` rows of a page, as the reply carries them.
struct Shown<'p, T> {
    page: &'p Paged<T>,
    shown: usize,
}

impl<T: serde::Serialize> serde::Serialize for Shown<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let page = self.page;
        let shown = self.shown.min(page.items.len());
        let after = page.offset.saturating_add(shown);
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry(page.key, &page.items[..shown])?;
        m.serialize_entry("total", &page.total)?;
        m.serialize_entry("more", &page.total.saturating_sub(after))?;
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
    fn from_args(args: &Args) -> Page {
        Page {
            offset: args.count(OFFSET).map_or(0, |n| n as usize),
            limit: args
                .count(LIMIT)
                .map_or(MAX_PAGE, |n| n as usize)
                .min(MAX_PAGE),
        }
    }
}

/// uhttpd adds the caller's rpcd session to every call from LuCI; the methods do not declare it.
const SESSION: Arg = Arg::new("ubus_rpc_session", ArgType::String);

/// A call that carries a LuCI session (uhttpd adds `ubus_rpc_session`) is checked with rpcd's
/// `session access`: camguard runs as root, and must not lend that to a read-only login
/// (pitfall 8). Local calls without a session are root's own.
fn authorize(state: &mut State, method: &str, args: &Map<String, Value>) -> Result<(), Failure> {
    let Some(session) = check(&[SESSION], args)?.text(SESSION) else {
        return Ok(());
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
        Err(Failure::PermissionDenied)
    }
}

fn enforce(state: &mut State, args: &Args) -> Result<Value, Failure> {
    let dry_run = args.flag(DRY_RUN);
    let finding = args.text(FINDING).map(str::to_owned);
    let subject: Option<Subject> = match args.table(SUBJECT) {
        None => None,
        Some(v) => Some(Subject::from_json(v).map_err(|e| {
            // An unknown kind is quoted: the caller's text, cleaned for the log.
            let detail = crate::text::lan_text(e.to_string().as_bytes());
            ArgError::new(
                SUBJECT,
                Problem::Shape {
                    expected: "the subject of a finding",
                    detail,
                },
            )
        })?),
    };
    // Always decide on the router as it is now.
    state.audit();
    // A finding or subject the audit does not report is a caller's mistake (a stale id, a
    // typo), not "nothing to do": answer NOT_FOUND so it can tell the two apart.
    if (finding.is_some() || subject.is_some())
        && !state.audited.report.findings.iter().any(|f| {
            finding.as_ref().is_none_or(|id| f.id == *id)
                && subject.as_ref().is_none_or(|s| &f.subject == s)
        })
    {
        return Err(Failure::NotFound);
    }
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
        return Err(Failure::NotSupported);
    }
    // What could not be read is not enforced: say so rather than report a clean nothing.
    let unread: Vec<String> = state
        .audited
        .snapshot
        .sources
        .iter()
        .filter(|s| s.state.leaves_a_gap() && s.path.starts_with("/etc/config/"))
        .map(|s| {
            format!(
                "{} could not be read: {}",
                s.path,
                s.detail.as_deref().unwrap_or("?")
            )
        })
        .collect();
    let outcome = if state.executor_available() {
        state.enforce(actions, "enforce", dry_run)
    } else {
        crate::apply::Outcome::unchanged(actions, vec![])
    };
    let mut outcome = outcome;
    if !unread.is_empty() {
        outcome.failed.push(crate::apply::Failure::of_run(format!(
            "camguard could not read part of the router, so it changed nothing there: {}",
            unread.join("; ")
        )));
    }
    if outcome.journal_id.is_some() {
        state.audit();
    }
    crate::encode::to_value(&outcome).map_err(|_| Failure::Unknown)
}

fn revoke(state: &mut State, args: &Args) -> Result<Value, Failure> {
    let proto = args.text(PROTO).ok_or_else(|| ArgError::missing(PROTO))?;
    let proto = Protocol::from_name(proto)
        .ok_or_else(|| ArgError::new(PROTO, Problem::NotOneOf(&["TCP", "UDP", "UDPLITE"])))?;
    let ext_port = args
        .count(EXT_PORT)
        .ok_or_else(|| ArgError::missing(EXT_PORT))?;
    let ext_port = u16::try_from(ext_port)
        .map_err(|_| ArgError::new(EXT_PORT, Problem::NotAPort(ext_port)))?;
    if !state.executor_available() {
        return Err(Failure::NotSupported);
    }
    state.audit();
    let facts = state.audited.facts();
    let mapping = mappings_iter(facts.snap)
        .find(|m| m.proto == proto && m.ext_port == ext_port)
        .ok_or(Failure::NotFound)?;
    let action = Action {
        step: crate::plan::revoke_step(&mapping),
        why: format!(
            "revoke UPnP mapping {ext_port}/{} at the owner's request",
            proto.as_str()
        ),
        finding: None,
    };
    let outcome = state.enforce(vec![action], "revoke", false);
    // The status catches up right after the reply: at thousands of mappings an audit (it lists
    // the nft ruleset) would double the revoke's time.
    state.audit_after_reply();
    crate::encode::to_value(&outcome).map_err(|_| Failure::Unknown)
}

fn revert(state: &mut State, args: &Args) -> Result<Value, Failure> {
    let id = args.text(ID).map(str::to_owned);
    if !state.executor_available() {
        return Err(Failure::NotSupported);
    }
    let result = state
        .executor()
        .ok_or(Failure::Unknown)?
        .revert(id.as_deref());
    let reply = match result {
        Ok(r) => {
            state.reverted();
            crate::encode::to_value(&r).map_err(|_| Failure::Unknown)?
        }
        Err(e) if e.is_not_found() => {
            log::warn!("revert: {e}");
            return Err(Failure::NotFound);
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
        .newest_first()
        .map(|e| {
            json!({
                "id": e.id,
                "time": e.time,
                "reason": e.reason,
                "state": e.state,
                "reverted": e.state == EntryState::Reverted,
                "actions": e.actions,
                "changes": e.before.iter().map(Before::listed).collect::<Vec<_>>(),
                "applied": e.applied,
                "failed": e.failed,
                "pending": e.pending,
                "continued_in": e.continued_in,
                "notes": e.notes,
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

    /// Rows of 2 KB each: a page of 1,000 would be 2 MB, twice what ubusd carries.
    fn big_rows() -> impl ExactSizeIterator<Item = String> {
        (0..3000).map(|i| format!("{i:>2048}"))
    }

    fn decoded(blob: &BlobMsgTable) -> Value {
        crate::json::from_serde(&ubus::json::blobmsg_to_json(blob.contents()).unwrap())
    }

    #[test]
    fn a_page_of_large_rows_fits_one_ubus_message_and_says_how_many_remain() {
        let blob = Paged::new(
            "n",
            big_rows(),
            Page {
                offset: 0,
                limit: MAX_PAGE,
            },
        )
        .encode()
        .ok()
        .unwrap();
        assert!(
            blob.as_slice().len() <= MAX_REPLY_BYTES,
            "{}",
            blob.as_slice().len()
        );
        let reply = decoded(&blob);
        let rows = reply["n"].as_array().unwrap().len();
        assert!((400..1000).contains(&rows), "{rows} rows");
        assert_eq!(reply["total"], 3000);
        assert_eq!(reply["more"], 3000 - rows);
    }

    #[test]
    fn walking_on_from_the_rows_received_gives_every_row_once() {
        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let page = Paged::new("n", big_rows(), Page { offset, limit: 100 });
            let reply = decoded(&page.encode_within(64 * 1024).ok().unwrap());
            let rows = reply["n"].as_array().unwrap();
            assert!(!rows.is_empty() && rows.len() < 100, "{} rows", rows.len());
            seen.extend(
                rows.iter()
                    .map(|r| r.as_str().unwrap().trim().parse::<usize>().ok().unwrap()),
            );
            offset += rows.len();
            assert_eq!(reply["more"], 3000 - offset);
            if reply["more"] == 0 {
                break;
            }
        }
        assert_eq!(seen, (0..3000).collect::<Vec<_>>());
    }

    #[test]
    fn a_single_row_past_the_bound_is_still_answered() {
        let page = Paged::new(
            "n",
            big_rows(),
            Page {
                offset: 5,
                limit: 10,
            },
        );
        let reply = decoded(&page.encode_within(100).ok().unwrap());
        assert_eq!(reply["n"].as_array().unwrap().len(), 1);
        assert_eq!(reply["more"], 3000 - 6);
    }
}
