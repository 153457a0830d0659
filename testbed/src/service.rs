//! Stand-in for procd's `service` object: `list`, `delete` and `event`.
//!
//! The testbed runs no daemons, so procd's service table lives in files: ROOT/var/run/testbed/
//! service/<name>.json holds exactly what `service list` would dump for that service, e.g.
//!
//! ```json
//! { "instances": { "instance1": { "running": true, "pid": 2345,
//!     "command": ["/usr/sbin/miniupnpd", "-f", "/var/etc/miniupnpd.conf"], "term_timeout": 5 } },
//!   "triggers": [ ["config.change", ["if", ["eq", "package", "upnpd"],
//!                  ["run_script", "/etc/init.d/miniupnpd", "reload"]], 1000] ] }
//! ```
//!
//! Testbed init scripts write these files through the rc.common helper (see `rc.rs`); a test
//! may also write one directly to stage "miniupnpd is running". Numbers go on the wire as INT32
//! when they fit (as libblobmsg_json converts them), booleans as INT8. `triggers` is shown only
//! with `verbose`, like procd.
//!
//! `event` runs matching triggers the way procd does (after their delay, debounced, so a
//! `config.change` for upnpd makes `/etc/init.d/miniupnpd reload` run a second later) and, for
//! `config.change`, broadcasts the ubus event `config.change {"config": <package>}`.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::Value as J;

use crate::blob::{from_json, Args, Fields, Ty, V};
use crate::ctx::{Shared, SERVICE_DIR};
use crate::provider::{log, Object, Reply, INVALID_ARGUMENT, NOT_FOUND};
use crate::util;

/// procd's PROCD_RELOAD_DELAY, the default trigger delay.
const DEFAULT_DELAY_MS: u64 = 1000;

pub fn object(ctx: Shared) -> Object {
    let (c1, c2, c3) = (ctx.clone(), ctx.clone(), ctx);
    Object::new("service")
        .method(
            "list",
            &[("name", Ty::String), ("verbose", Ty::Bool)],
            move |a| list(&c1, a),
        )
        .method(
            "delete",
            &[("name", Ty::String), ("instance", Ty::String)],
            move |a| delete(&c2, a),
        )
        .method(
            "event",
            &[("type", Ty::String), ("data", Ty::Table)],
            move |a| {
                let (Some(ty), Some(data)) = (a.str("type"), a.table("data")) else {
                    return Reply::status(INVALID_ARGUMENT);
                };
                event(&c3, ty, data);
                Reply::ok()
            },
        )
}

/// What rpcd's `uci commit` sets off: `service event config.change {package}`.
pub fn config_change(ctx: &Shared, package: &str) {
    event(
        ctx,
        "config.change",
        &vec![("package".to_string(), V::str(package))],
    );
}

fn event(ctx: &Shared, ty: &str, data: &Fields) {
    run_triggers(ctx, ty, data);
    if ty == "config.change" {
        if let Some(pkg) = data
            .iter()
            .rev()
            .find(|(k, _)| k == "package")
            .and_then(|(_, v)| v.as_str())
        {
            ctx.events
                .send("config.change", &vec![("config".to_string(), V::str(pkg))]);
        }
    }
}

fn state_dir(ctx: &Shared) -> PathBuf {
    ctx.root.join(SERVICE_DIR)
}

/// Every readable state file, sorted by service name (procd keeps services in an AVL tree).
fn services(ctx: &Shared) -> Vec<(String, serde_json::Map<String, J>)> {
    let Ok(entries) = fs::read_dir(state_dir(ctx)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Some(name) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .map(str::to_string)
        else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        match fs::read_to_string(&path).map(|t| serde_json::from_str::<J>(&t)) {
            Ok(Ok(J::Object(map))) => out.push((name, map)),
            Ok(Ok(_)) => log(&format!("{}: not a JSON object; skipped", path.display())),
            Ok(Err(e)) => log(&format!("{}: {e}; skipped", path.display())),
            Err(e) => log(&format!("{}: {e}; skipped", path.display())),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn list(ctx: &Shared, a: &Args) -> Reply {
    let verbose = a.bool("verbose").unwrap_or(false);
    let name = a.str("name");
    let mut fields = Vec::new();
    for (svc, mut map) in services(ctx) {
        if name.is_some_and(|n| n != svc) {
            continue;
        }
        if !verbose {
            map.remove("triggers");
            map.remove("validate");
        }
        fields.push((svc, from_json(&J::Object(map))));
    }
    Reply::data(fields)
}

fn delete(ctx: &Shared, a: &Args) -> Reply {
    let Some(name) = a.str("name") else {
        return Reply::status(NOT_FOUND);
    };
    let Some((_, mut map)) = services(ctx).into_iter().find(|(n, _)| n == name) else {
        return Reply::status(NOT_FOUND);
    };
    let path = state_dir(ctx).join(format!("{name}.json"));
    match a.str("instance") {
        None => {
            if let Err(e) = fs::remove_file(&path) {
                log(&format!("{}: {e}", path.display()));
            }
        }
        Some(instance) => {
            let removed = map
                .get_mut("instances")
                .and_then(J::as_object_mut)
                .and_then(|i| i.remove(instance));
            if removed.is_none() {
                return Reply::status(NOT_FOUND);
            }
            if map
                .get("instances")
                .and_then(J::as_object)
                .is_some_and(|i| i.is_empty())
            {
                map.remove("instances");
            }
            let tmp = path.with_extension("json.tmp");
            let text = serde_json::to_string_pretty(&J::Object(map)).unwrap_or_default();
            if let Err(e) = fs::write(&tmp, text).and_then(|()| fs::rename(&tmp, &path)) {
                log(&format!("{}: {e}", path.display()));
            }
        }
    }
    Reply::ok()
}

/// A trigger as procd stores it: `[event, ["if", ["eq", key, value], action] | action, delay]`
/// with `action = ["run_script", script, args…]`. Returns the command when it fires for `data`.
fn trigger_command(trigger: &J, ty: &str, data: &Fields) -> Option<(Vec<String>, u64)> {
    let t = trigger.as_array()?;
    let pattern = t.first()?.as_str()?;
    if !event_matches(pattern, ty) {
        return None;
    }
    let delay = t.get(2).and_then(J::as_u64).unwrap_or(DEFAULT_DELAY_MS);
    let mut rule = t.get(1)?.as_array()?;
    if rule.first()?.as_str()? == "if" {
        let cond = rule.get(1)?.as_array()?;
        if cond.first()?.as_str()? != "eq" {
            return None;
        }
        let key = cond.get(1)?.as_str()?;
        let have = data.iter().rev().find(|(k, _)| k == key)?.1.as_str()?;
        let hit = match cond.get(2)? {
            J::String(s) => s == have,
            J::Array(options) => options.iter().any(|o| o.as_str() == Some(have)),
            _ => false,
        };
        if !hit {
            return None;
        }
        rule = rule.get(2)?.as_array()?;
    }
    if rule.first()?.as_str()? != "run_script" {
        return None;
    }
    let cmd: Option<Vec<String>> = rule[1..]
        .iter()
        .map(|a| a.as_str().map(str::to_string))
        .collect();
    cmd.filter(|c| !c.is_empty()).map(|c| (c, delay))
}

/// procd matches event names with fnmatch; a trailing `*` is what init scripts use.
fn event_matches(pattern: &str, ty: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => ty.starts_with(prefix),
        None => pattern == ty,
    }
}

fn run_triggers(ctx: &Shared, ty: &str, data: &Fields) {
    for (svc, map) in services(ctx) {
        let Some(triggers) = map.get("triggers").and_then(J::as_array) else {
            continue;
        };
        for trigger in triggers {
            let Some((cmd, delay)) = trigger_command(trigger, ty, data) else {
                continue;
            };
            let generation = {
                let mut pending = ctx
                    .triggers
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let g = pending.entry(cmd.clone()).or_insert(0);
                *g += 1;
                *g
            };
            let ctx = Arc::clone(ctx);
            let svc = svc.clone();
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(delay));
                let current = ctx
                    .triggers
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&cmd)
                    .copied();
                if current == Some(generation) {
                    run_script(&ctx, &svc, &cmd);
                }
            });
        }
    }
}

fn run_script(ctx: &Shared, svc: &str, cmd: &[String]) {
    let script = match ctx.root.resolve(&cmd[0], true) {
        Ok(p) => p,
        Err(e) => {
            log(&format!("trigger of {svc}: {}: {e}", cmd[0]));
            return;
        }
    };
    let mut command = Command::new(&script);
    command.args(&cmd[1..]);
    ctx.script_env(&mut command);
    match util::run_quiet(command, Duration::from_secs(60)) {
        Ok((_, true)) => log(&format!("trigger of {svc}: {} timed out", cmd.join(" "))),
        Ok(_) => {}
        Err(e) => log(&format!("trigger of {svc}: {}: {e}", cmd.join(" "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reload_trigger_fires_for_its_package_only() {
        let t: J = serde_json::from_str(
            r#"["config.change", ["if", ["eq", "package", "upnpd"],
                ["run_script", "/etc/init.d/miniupnpd", "reload"]], 1000]"#,
        )
        .unwrap();
        let upnpd = vec![("package".to_string(), V::str("upnpd"))];
        let fw = vec![("package".to_string(), V::str("firewall"))];
        assert_eq!(
            trigger_command(&t, "config.change", &upnpd),
            Some((vec!["/etc/init.d/miniupnpd".into(), "reload".into()], 1000))
        );
        assert_eq!(trigger_command(&t, "config.change", &fw), None);
        assert_eq!(trigger_command(&t, "interface.update", &upnpd), None);
    }
}
