//! Two renderings of one [`Report`]: a terminal report for people and JSON for programs (the
//! same shape as ubus `camguard status`).
use std::fmt::Write;

use crate::json::Value;

use crate::audit::{Report, Severity};

/// Makes any string safe to print on a terminal: control characters (ESC starts ANSI
/// sequences), and bidirectional overrides that reorder what is shown, become visible escapes.
/// LAN strings were cleaned at ingestion; this also covers config text from a foreign backup.
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || crate::text::is_bidi_control(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

pub fn json(report: &Report) -> String {
    crate::encode::to_string_pretty(report).expect("a report always serialises") + "\n"
}

/// How to draw severities.
pub struct Style {
    pub colour: bool,
}

impl Style {
    fn paint(&self, severity: Severity, text: &str) -> String {
        if !self.colour {
            return text.to_owned();
        }
        let code = match severity {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn bold(&self, text: &str) -> String {
        if self.colour {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

const WIDTH: usize = 100;

/// Word-wraps `text` to the report width with the given indent.
fn wrap(out: &mut String, text: &str, indent: &str) {
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty()
            && indent.len() + line.chars().count() + 1 + word.chars().count() > WIDTH
        {
            let _ = writeln!(out, "{indent}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{indent}{line}");
    }
}

/// The title line and the router the report is about, with the time it stands for.
/// The title, the router and the time, then the snapshot's age and what could not be read;
/// `below` says what leaves the gaps out ("the score below", "this plan").
fn header(out: &mut String, title: &str, report: &Value, style: &Style, below: &str) {
    let router = &report["router"];
    let name = router["hostname"].as_str().unwrap_or("router");
    let release = router["release"]
        .as_str()
        .map_or_else(|| "release unknown".to_owned(), |r| format!("OpenWrt {r}"));
    let _ = writeln!(out, "{}", style.bold(&terminal_safe(title)));
    let when = crate::time::datetime(report["time"].as_u64().unwrap_or(0));
    let _ = writeln!(
        out,
        "{}",
        terminal_safe(&format!("{name} ({release}), as of {when}"))
    );
    if let Some(age) = snapshot_age(report) {
        let _ = writeln!(out, "{}", terminal_safe(&age));
    }
    let gaps = coverage_gaps(report);
    if !gaps.is_empty() {
        let _ = writeln!(out);
        let heading = format!(
            "Incomplete audit: {} — {below} leaves {} out.",
            gaps.join("; "),
            if gaps.len() == 1 { "it" } else { "them" }
        );
        wrap(out, &terminal_safe(&heading), "");
    }
}

/// The report for people. It renders the JSON form, so a report fetched from the daemon over
/// ubus and one computed here look the same.
pub fn terminal(report: &Report, style: &Style) -> String {
    terminal_from_json(&crate::encode::to_value(report).unwrap_or_default(), style)
}

/// Renders a report in its JSON form (`camguard audit --json`, ubus `camguard status`).
pub fn terminal_from_json(report: &Value, style: &Style) -> String {
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let mut out = String::new();
    let title = format!(
        "camguard {} — {}",
        text(report, "camguard"),
        text(report, "origin")
    );
    header(&mut out, &title, report, style, "the score below");
    let gaps = coverage_gaps(report);
    let c = &report["counts"];
    let score = format!("Score {}/100", num(report, "score"));
    let _ = writeln!(
        out,
        "\n{}  {} critical, {} high, {} medium, {} low, {} info\n",
        style.bold(&if gaps.is_empty() {
            score
        } else {
            format!("{score} (incomplete)")
        }),
        num(c, "critical"),
        num(c, "high"),
        num(c, "medium"),
        num(c, "low"),
        num(c, "info")
    );
    let empty = Vec::new();
    let findings = report["findings"].as_array().unwrap_or(&empty);
    if findings.is_empty() && gaps.is_empty() {
        out.push_str("Nothing exposes this network. Keep the router's firmware up to date.\n");
    } else if findings.is_empty() {
        out.push_str("Nothing exposes this network in what camguard could read.\n");
    }
    let unaudited: Vec<&str> = sources(report)
        .filter(|s| s["state"] == "unsupported")
        .filter_map(|s| s["path"].as_str())
        .collect();
    if !unaudited.is_empty() {
        let note = format!("Not audited: {}.", unaudited.join(", "));
        wrap(&mut out, &terminal_safe(&note), "");
        out.push('\n');
    }
    for severity in Severity::ALL_DESCENDING {
        let group: Vec<&Value> = findings
            .iter()
            .filter(|f| f["severity"] == severity.as_str())
            .collect();
        if group.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{}",
            style.paint(severity, &severity.as_str().to_uppercase())
        );
        for f in group {
            let _ = writeln!(
                out,
                "  {}  {}",
                style.paint(severity, &terminal_safe(&text(f, "id"))),
                style.bold(&terminal_safe(&text(f, "title")))
            );
            wrap(&mut out, &terminal_safe(&text(f, "detail")), "      ");
            let remedy = text(f, "remedy");
            if !remedy.is_empty() {
                wrap(&mut out, &terminal_safe(&format!("→ {remedy}")), "      ");
            }
        }
        out.push('\n');
    }
    let problems = report["problems"].as_array().unwrap_or(&empty);
    if !problems.is_empty() {
        let _ = writeln!(out, "Could not read everything:");
        for p in problems {
            let at = p
                .get("line")
                .and_then(Value::as_u64)
                .map(|l| format!(" line {l}"))
                .unwrap_or_default();
            wrap(
                &mut out,
                &terminal_safe(&format!(
                    "{}{at}: {}",
                    text(p, "source"),
                    text(p, "message")
                )),
                "  ",
            );
        }
    }
    out
}

fn sources(report: &Value) -> impl Iterator<Item = &Value> {
    report["coverage"]["sources"]
        .as_array()
        .into_iter()
        .flatten()
}

/// "/etc/config/firewall could not be read (line 41: …)", one per source that leaves a gap.
fn coverage_gaps(report: &Value) -> Vec<String> {
    sources(report)
        .filter_map(|s| {
            let path = s["path"].as_str().unwrap_or_default();
            let detail = s["detail"]
                .as_str()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            match s["state"].as_str()? {
                "unreadable" => Some(format!("{path} could not be read{detail}")),
                "truncated" => Some(format!("{path} was read only in part{detail}")),
                _ => None,
            }
        })
        .collect()
}

/// "Snapshot taken 3 days before the audit's time" when the newest file read is older than a
/// day; runtime files that are stale say so in the coverage too.
fn snapshot_age(report: &Value) -> Option<String> {
    let newest = report["coverage"]["newest_file"].as_u64()?;
    let time = report["time"].as_u64()?;
    let age = time.checked_sub(newest)?;
    (age > crate::snapshot::coverage::STALE_AFTER).then(|| {
        format!(
            "The newest file in this snapshot was written {} ({} before the audit's time).",
            crate::time::datetime(newest),
            crate::time::duration_words(age)
        )
    })
}

/// The plan for people (`camguard plan`): each action in words an owner understands, the
/// findings it fixes, the findings it leaves alone, and how to apply and undo it. Like
/// [`terminal_from_json`] it renders the JSON forms — ubus `plan` (`{actions}`) and the report
/// the plan was made from — so the daemon's plan and one computed here read the same.
pub fn plan_terminal_from_json(plan: &Value, report: &Value, style: &Style) -> String {
    let empty = Vec::new();
    let actions = plan["actions"].as_array().unwrap_or(&empty);
    let findings = report["findings"].as_array().unwrap_or(&empty);
    let fixes = |a: &Value, f: &Value| {
        a["finding"]["id"] == f["id"] && a["finding"]["subject"] == f["subject"]
    };
    let mut out = String::new();
    let title = format!("camguard plan — {}", str_of(report, "origin"));
    header(&mut out, &title, report, style, "this plan");
    out.push('\n');

    // The planner leaves out a config it could not read and plans nothing under an invalid
    // policy (both are `config.invalid`), so an empty plan alone is not a compliant router.
    let unread: Vec<&Value> = findings
        .iter()
        .filter(|f| f["id"] == "config.invalid")
        .collect();
    if actions.is_empty() && unread.is_empty() && coverage_gaps(report).is_empty() {
        out.push_str("Nothing needs changing: the router already follows camguard's policy.\n");
    } else if actions.is_empty() {
        wrap(
            &mut out,
            "No change is planned, but that does not mean the router follows camguard's policy: \
             camguard plans nothing for what it could not read.",
            "",
        );
    } else {
        let n = actions.len();
        let _ = writeln!(
            out,
            "{}",
            style.bold(&format!(
                "{n} change{} would make this router follow camguard's policy:",
                if n == 1 { "" } else { "s" }
            ))
        );
    }
    for (i, a) in actions.iter().enumerate() {
        out.push('\n');
        let fixed = findings.iter().find(|f| fixes(a, f));
        let d = describe_action(a, fixed);
        let mut item = String::new();
        wrap(&mut item, &terminal_safe(&d.what), "     ");
        let _ = write!(out, "{:>3}. ", i + 1);
        // The number takes the first line's indent (an action without words is one blank line).
        out.push_str(item.get(5..).unwrap_or("\n"));
        // The owner's reason: the finding's policy verdict, else the planner's words.
        let why = fixed
            .and_then(|f| f["policy"]["why"].as_str())
            .map(str::to_owned)
            .or(d.why);
        if let Some(why) = why {
            wrap(&mut out, &terminal_safe(&format!("Why: {why}")), "     ");
        }
        if let Some(f) = fixed {
            let severity = severity_of(f);
            let _ = writeln!(
                out,
                "     Fixes: {}  {}  {}",
                style.paint(severity, &severity.as_str().to_uppercase()),
                terminal_safe(&str_of(f, "id")),
                terminal_safe(&str_of(f, "title"))
            );
        }
        if let Some(change) = d.change {
            wrap(
                &mut out,
                &terminal_safe(&format!("Changes: {change}")),
                "     ",
            );
        }
    }
    if !unread.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            style.bold("Not planned, because camguard could not read it:")
        );
        for f in &unread {
            wrap(
                &mut out,
                &terminal_safe(&format!("{}: {}", str_of(f, "title"), str_of(f, "detail"))),
                "  ",
            );
        }
    }

    let left: Vec<&Value> = findings
        .iter()
        .filter(|f| f["id"] != "config.invalid" && !actions.iter().any(|a| fixes(a, f)))
        .collect();
    let (info, decide): (Vec<&Value>, Vec<&Value>) = left
        .iter()
        .partition(|f| f["severity"] == Severity::Info.as_str());
    if !decide.is_empty() || !info.is_empty() {
        out.push('\n');
        let _ = writeln!(
            out,
            "{}",
            style.bold("Left alone (your decision; `camguard audit` gives each one's remedy):")
        );
    }
    for f in &decide {
        let severity = severity_of(f);
        let kept = f["policy"]["why"]
            .as_str()
            .map(|why| format!(" — {why}"))
            .unwrap_or_default();
        let label = severity.as_str().to_uppercase();
        let line = terminal_safe(&format!(
            "{}: {}{kept}",
            str_of(f, "id"),
            str_of(f, "title")
        ));
        // The label hangs in the first line's indent.
        let indent = " ".repeat(label.len() + 4);
        let mut item = String::new();
        wrap(&mut item, &line, &indent);
        let _ = write!(out, "  {}  ", style.paint(severity, &label));
        out.push_str(item.get(indent.len()..).unwrap_or("\n"));
    }
    if !info.is_empty() {
        let n = info.len();
        let _ = writeln!(
            out,
            "  and {n} finding{} for information only.",
            if n == 1 { "" } else { "s" }
        );
    }
    if !actions.is_empty() {
        out.push('\n');
        wrap(
            &mut out,
            "camguard never deletes a section you made: it at most disables it, and it adds, \
             changes and removes only its own (named camguard_…).",
            "",
        );
        wrap(
            &mut out,
            "Apply it on the router: `camguard enforce` (`camguard enforce --finding ID` for one \
             finding's fix), or in LuCI, Services → Camguard → Overview, \"Fix this…\" on a \
             finding. Every change is journaled before it is made.",
            "",
        );
        wrap(
            &mut out,
            "Undo it: `camguard revert` puts back exactly what the newest enforcement changed \
             (`camguard journal` lists them), or Undo in the Overview's journal.",
            "",
        );
    }
    out
}

fn severity_of(finding: &Value) -> Severity {
    finding["severity"]
        .as_str()
        .and_then(Severity::parse)
        .unwrap_or(Severity::Info)
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A value as JSON writes it (a port: "8080"), through camguard's serializer.
fn json_text(v: &Value) -> String {
    crate::encode::to_string(v).unwrap_or_default()
}

/// "tcp/udp 8000-8100", "tcp every port": a forward's ports as LuCI's list shows them.
fn ports_text(protocols: &Value, range: &Value) -> String {
    let protos: Vec<&str> = protocols
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let ports = match (range["lo"].as_u64(), range["hi"].as_u64()) {
        (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
        (Some(lo), Some(hi)) => format!("{lo}-{hi}"),
        _ => "every port".to_owned(),
    };
    let ports = if range["negated"] == true {
        format!("all ports but {ports}")
    } else {
        ports
    };
    if protos.is_empty() {
        ports
    } else {
        format!("{} {ports}", protos.join("/"))
    }
}

/// One action for people.
struct Described {
    /// What changes, in an owner's words.
    what: String,
    /// The planner's reason, where `what` does not already say it.
    why: Option<String>,
    /// The exact change to the router, where `what` does not already say it.
    change: Option<String>,
}

/// Describes one action. `fixed` is the report's finding the action fixes, whose evidence names
/// the forward, the mapping's device or the camera.
fn describe_action(a: &Value, fixed: Option<&Value>) -> Described {
    let evidence = fixed.map_or(&Value::Null, |f| &f["evidence"]);
    let s = |k: &str| str_of(a, k);
    let planner_why = s("why");
    // The planner's `why` opens with what the action does; the reason follows.
    let reason_after = |opening: String| {
        Some(
            planner_why
                .strip_prefix(&opening)
                .unwrap_or(&planner_why)
                .to_owned(),
        )
        .filter(|w| !w.is_empty())
    };
    let own_words = |change: String| Described {
        what: crate::audit::capitalised(&planner_why),
        why: None,
        change: Some(change),
    };
    match s("kind").as_str() {
        "revoke_mapping" => {
            let (proto, ext_port) = (s("proto"), json_text(&a["ext_port"]));
            let to = format!("{}:{}", s("int_addr"), json_text(&a["int_port"]));
            let to = match evidence["device"]["hostname"].as_str() {
                Some(name) => format!("{name} ({to})"),
                None => to,
            };
            Described {
                what: format!(
                    "Close {proto} port {ext_port} to the internet: revoke the UPnP mapping to {to}"
                ),
                why: reason_after(format!(
                    "revoke UPnP mapping {ext_port}/{proto} to {}:{}: ",
                    s("int_addr"),
                    json_text(&a["int_port"])
                )),
                change: Some(format!(
                    "its line in miniupnpd's lease file and its firewall rules are removed \
                     (`camguard revoke {proto} {ext_port}` does this one alone)"
                )),
            }
        }
        // The planner sets a Boolean option only when it does not have that value yet, so the
        // old value is the other one.
        "uci_set" if s("config") == "firewall" && s("option") == "enabled" && s("value") == "0" => {
            let label = a["finding"]["subject"]["label"]
                .as_str()
                .map_or_else(|| s("section"), str::to_owned);
            let route = if evidence["kind"] == "redirect" {
                let dest_port = if evidence["dest_port"].is_null() {
                    String::new()
                } else {
                    format!(":{}", ports_text(&Value::Null, &evidence["dest_port"]))
                };
                let device = evidence["device"]["hostname"]
                    .as_str()
                    .map(|h| format!(" ({h})"))
                    .unwrap_or_default();
                format!(
                    ": {} {} → {}{dest_port}{device}",
                    evidence["src"].as_str().unwrap_or("wan"),
                    ports_text(&evidence["protocols"], &evidence["src_dport"]),
                    evidence["dest_ip"].as_str().unwrap_or("?"),
                )
            } else {
                String::new()
            };
            Described {
                what: format!("Disable port forward \"{label}\"{route}"),
                why: reason_after(format!("disable port forward \"{label}\": ")),
                change: Some(format!(
                    "firewall.{}.enabled 1 → 0; the forward stays in your settings, switched off",
                    s("section")
                )),
            }
        }
        "uci_set" if s("config") == "upnpd" && s("option") == "enabled" && s("value") == "0" => {
            Described {
                what: "Switch UPnP and NAT-PMP off: UPnP on → off".to_owned(),
                why: Some(planner_why.clone()),
                change: Some(format!("upnpd.{}.enabled 1 → 0", s("section"))),
            }
        }
        "uci_set"
            if s("config") == "upnpd" && s("option") == "secure_mode" && s("value") == "1" =>
        {
            Described {
                what: "Turn UPnP secure mode on: a device may then map ports only to itself \
                       (secure mode off → on)"
                    .to_owned(),
                why: None,
                change: Some(format!("upnpd.{}.secure_mode 0 → 1", s("section"))),
            }
        }
        "uci_set" => own_words(format!(
            "{}.{}.{} set to {}",
            s("config"),
            s("section"),
            s("option"),
            json_text(&a["value"])
        )),
        "uci_add" if s("config") == "firewall" && s("type") == "rule" => {
            let values = &a["values"];
            let device = &evidence["device"];
            let who = match (device["hostname"].as_str(), device["ip"].as_str()) {
                (Some(name), Some(ip)) => format!("{name} ({ip})"),
                (Some(name), None) => name.to_owned(),
                _ => str_of(values, "name")
                    .trim_start_matches("camguard: block internet for ")
                    .to_owned(),
            };
            Described {
                what: format!("Block {who} from the internet: it can no longer connect out"),
                why: Some(planner_why.clone()),
                change: Some(format!(
                    "new firewall rule {} rejects everything from {} ({} → {})",
                    s("name"),
                    str_of(values, "src_mac"),
                    str_of(values, "src"),
                    str_of(values, "dest")
                )),
            }
        }
        "uci_add" if s("config") == "upnpd" && s("type") == "perm_rule" => {
            let values = &a["values"];
            let addr = str_of(values, "int_addr");
            let what = if addr == "0.0.0.0/0" {
                "End the UPnP permission rules with a deny-all rule: a mapping no rule allows is \
                 refused"
                    .to_owned()
            } else {
                let who = str_of(values, "comment")
                    .trim_start_matches("camguard: no UPnP for ")
                    .to_owned();
                format!("Deny UPnP to {who} ({addr}): it can no longer open ports to the internet")
            };
            Described {
                what,
                why: None,
                change: Some(format!(
                    "new upnpd permission rule {}: {} ports {} for {addr}, ahead of every allow rule",
                    s("name"),
                    str_of(values, "action"),
                    str_of(values, "ext_ports")
                )),
            }
        }
        "uci_add" => own_words(format!(
            "new {} section {} {}",
            s("config"),
            s("type"),
            s("name")
        )),
        "uci_delete" => {
            let option = a["option"]
                .as_str()
                .map(|o| format!(".{o}"))
                .unwrap_or_default();
            own_words(format!("removes {}.{}{option}", s("config"), s("section")))
        }
        "uci_order" => own_words(format!(
            "reorders the sections of /etc/config/{}",
            s("config")
        )),
        "service" => own_words(format!("/etc/init.d/{} {}", s("name"), s("action"))),
        "truncate_file" => own_words(format!("empties {}", s("path"))),
        kind => Described {
            what: if planner_why.is_empty() {
                kind.to_owned()
            } else {
                crate::audit::capitalised(&planner_why)
            },
            why: None,
            change: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_ansi_and_bidi_overrides() {
        assert_eq!(terminal_safe("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(terminal_safe("cam\u{202e}gpj.exe"), "cam\\u{202e}gpj.exe");
        assert_eq!(terminal_safe("line\nbreak"), "line\\u{a}break");
        assert_eq!(terminal_safe("plain <b>text</b>"), "plain <b>text</b>");
    }

    /// A forward named by a foreign backup, and the finding it fixes.
    fn hostile_plan() -> (Value, Value) {
        let subject = crate::encode::json!({
            "kind": "section", "config": "firewall", "section": "cfg013837",
            "label": "cam\u{1b}[2J\u{202e}"
        });
        let plan = crate::encode::json!({ "actions": [{
            "kind": "uci_set", "config": "firewall", "section": "cfg013837",
            "option": "enabled", "value": "0",
            "why": "disable port forward \"cam\u{1b}[2J\u{202e}\": it is not on camguard's allowlist",
            "finding": { "id": "forward.to_camera", "subject": subject }
        }]});
        let report = crate::encode::json!({
            "origin": "test", "time": 0, "router": {},
            "findings": [{
                "id": "forward.to_camera", "severity": "high", "title": "A port forward exposes a camera",
                "subject": subject,
                "evidence": { "kind": "redirect", "src": "wan", "src_dport": {"lo": 8000, "hi": 8000},
                              "dest_ip": "192.168.1.64", "dest_port": {"lo": 80, "hi": 80},
                              "protocols": ["tcp"], "device": { "hostname": "cam" } }
            }]
        });
        (plan, report)
    }

    #[test]
    fn plan_text_names_the_forward_and_escapes_what_the_config_says() {
        let (plan, report) = hostile_plan();
        let text = plan_terminal_from_json(&plan, &report, &Style { colour: false });
        assert!(
            text.contains("Disable port forward \"cam\\u{1b}[2J\\u{202e}\": wan tcp 8000 → 192.168.1.64:80 (cam)"),
            "{text}"
        );
        assert!(
            text.contains("Why: it is not on camguard's allowlist"),
            "{text}"
        );
        assert!(
            !text.contains('\x1b') && !text.contains('\u{202e}'),
            "{text}"
        );
        let coloured = plan_terminal_from_json(&plan, &report, &Style { colour: true });
        assert!(coloured.contains("\x1b[31mHIGH\x1b[0m"), "{coloured}");
    }

    #[test]
    fn an_action_camguard_does_not_know_is_shown_by_its_words_or_kind() {
        let report = crate::encode::json!({ "findings": [] });
        for (action, shown) in [
            (
                crate::encode::json!({ "kind": "reboot", "why": "restart the router" }),
                "  1. Restart the router",
            ),
            (crate::encode::json!({ "kind": "reboot" }), "  1. reboot"),
            (crate::encode::json!({}), "  1. \n"),
        ] {
            let plan = crate::encode::json!({ "actions": [action] });
            let text = plan_terminal_from_json(&plan, &report, &Style { colour: false });
            assert!(text.contains(shown), "{text}");
        }
    }

    /// Ports and values the plan names are shown as JSON writes them.
    #[test]
    fn values_in_actions_are_shown_as_json_writes_them() {
        let report = crate::encode::json!({ "findings": [] });
        for (action, shown) in [
            (
                crate::encode::json!({ "kind": "uci_set", "config": "x", "section": "s",
                    "option": "o", "value": ["a", "b\"c"], "why": "w" }),
                r#"x.s.o set to ["a","b\"c"]"#,
            ),
            (
                crate::encode::json!({ "kind": "revoke_mapping", "proto": "TCP", "ext_port": 8554,
                    "int_addr": "192.168.1.64", "int_port": 554, "why": "w" }),
                "Close TCP port 8554 to the internet: revoke the UPnP mapping to 192.168.1.64:554",
            ),
        ] {
            let plan = crate::encode::json!({ "actions": [action] });
            let text = plan_terminal_from_json(&plan, &report, &Style { colour: false });
            assert!(text.replace('\n', " ").contains(shown), "{text}");
        }
    }

    #[test]
    fn wraps_long_text_with_indent() {
        let mut out = String::new();
        wrap(&mut out, &"word ".repeat(60), "    ");
        assert!(out
            .lines()
            .all(|l| l.chars().count() <= WIDTH && l.starts_with("    ")));
        assert!(out.lines().count() > 2);
    }
}
