//! Two renderings of one [`Report`]: a terminal report for people and JSON for programs (the
//! same shape as ubus `camguard status`).
use std::fmt::Write;

use serde_json::Value;

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
    serde_json::to_string_pretty(report).expect("a report always serialises") + "\n"
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

/// The report for people. It renders the JSON form, so a report fetched from the daemon over
/// ubus and one computed here look the same.
pub fn terminal(report: &Report, style: &Style) -> String {
    terminal_from_json(&serde_json::to_value(report).unwrap_or_default(), style)
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
    let router = &report["router"];
    let name = router["hostname"].as_str().unwrap_or("router");
    let release = router["release"]
        .as_str()
        .map_or_else(|| "release unknown".to_owned(), |r| format!("OpenWrt {r}"));
    let title = format!(
        "camguard {} — {}",
        text(report, "camguard"),
        text(report, "origin")
    );
    let _ = writeln!(out, "{}", style.bold(&terminal_safe(&title)));
    let when = crate::time::datetime(num(report, "time"));
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
            "Incomplete audit: {} — the score below leaves {} out.",
            gaps.join("; "),
            if gaps.len() == 1 { "it" } else { "them" }
        );
        wrap(&mut out, &terminal_safe(&heading), "");
    }
    let c = &report["counts"];
    let score = format!("Score {}/100", num(report, "score"));
    let _ = writeln!(
        out,
        "\n{}  {} critical, {} high, {} medium, {} low, {} info\n",
        style.bold(&if gaps.is_empty() { score } else { format!("{score} (incomplete)") }),
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
    report["coverage"]["sources"].as_array().into_iter().flatten()
}

/// "/etc/config/firewall could not be read (line 41: …)", one per source that leaves a gap.
fn coverage_gaps(report: &Value) -> Vec<String> {
    sources(report)
        .filter_map(|s| {
            let path = s["path"].as_str().unwrap_or_default();
            let detail = s["detail"].as_str().map(|d| format!(" ({d})")).unwrap_or_default();
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
