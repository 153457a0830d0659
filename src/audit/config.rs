//! Configs that exist but could not be read: a finding, never a silent "absent".
use super::{finding, Facts, Finding, Severity, Subject};
use crate::encode::json;

pub fn check(ctx: &Facts, out: &mut Vec<Finding>) {
    let problems: Vec<_> = ctx
        .snap
        .problems
        .iter()
        .filter(|p| p.config.is_some())
        .cloned()
        .collect();
    for p in problems {
        let config = p.config.unwrap_or_default();
        let at = p.line.map(|l| format!(" (line {l})")).unwrap_or_default();
        // A firewall camguard cannot read is a firewall nobody has checked.
        let severity = if config == "firewall" || config == "upnpd" {
            Severity::High
        } else {
            Severity::Medium
        };
        out.push(
            finding(
                "config.invalid",
                severity,
                Subject::Config { config: config.clone() },
                format!("The {config} configuration could not be read"),
                format!("{}{at}: {}", p.source, p.message),
            )
            .evidence(json!({ "source": p.source, "line": p.line, "message": p.message }))
            .remedy(format!(
                "Fix the syntax error in {} (run `uci show {config}` on the router to see where libuci stops). \
                 Until then camguard does not audit or change it.",
                p.source
            )),
        );
    }
    if let Err(e) = ctx.policy {
        out.push(
            finding(
                "config.invalid",
                Severity::Medium,
                Subject::Config {
                    config: "camguard".into(),
                },
                "camguard's own policy has an invalid value".into(),
                e.to_string(),
            )
            .evidence(crate::encode::to_value(e).unwrap_or_default())
            .remedy(format!(
                "Set option {} to one of: {}. camguard enforces nothing until then.",
                e.option, e.allowed
            )),
        );
    }
}
