//! Recording, just before a change, what it is about to change: the journal entry's `before`.
use super::rpcd::{get_option, get_section, rc_state, section_order};
use super::{ApplyError, Before, Executor};
use crate::plan::{Action, Step, UciValue};
use crate::sorted::SortedSet;

/// Per (config, section): the options from the first one camguard changes to the section's end.
/// Every tail read, in order; the longest per section is kept at the end (`longest_tails`).
type Tails = Vec<((String, String), Vec<(String, UciValue)>)>;

impl Executor<'_> {
    /// What is about to change, read just before changing it. Actions of a config in `skip`
    /// are not run, so nothing of theirs is recorded.
    pub(super) fn record_before(
        &mut self,
        actions: &[Action],
        skip: &SortedSet<String>,
    ) -> Result<Vec<Before>, ApplyError> {
        let mut before = Vec::new();
        let mut tails = Tails::new();
        let mut files = SortedSet::new();
        for a in actions {
            if a.step.config().is_some_and(|c| skip.contains(c)) {
                continue;
            }
            if let Some(b) = self.record_step(&a.step, &before, &mut tails)? {
                before.push(b);
            }
            let changed_file = match &a.step {
                Step::RevokeMapping { .. } => Some((self.lease_file.clone(), None)),
                step => step
                    .config()
                    .map(|c| (format!("/etc/config/{c}"), Some(c.to_owned()))),
            };
            if let Some((path, config)) = changed_file.filter(|f| !files.contains(f)) {
                files.insert((path.clone(), config.clone()));
                before.extend(self.keep_bytes(&path, config));
            }
        }
        before.extend(
            longest_tails(tails)
                .into_iter()
                .map(|((config, section), options)| Before::SectionTail {
                    config,
                    section,
                    options,
                }),
        );
        Ok(before)
    }

    /// What one step is about to change; None when `before` holds it already (a config's
    /// order, a service's state: the first value is the one to restore).
    fn record_step(
        &mut self,
        step: &Step,
        before: &[Before],
        tails: &mut Tails,
    ) -> Result<Option<Before>, ApplyError> {
        let recorded = match step {
            Step::UciSet {
                config,
                section,
                option,
                ..
            }
            | Step::UciDelete {
                config,
                section,
                option: Some(option),
            } => self.record_option(tails, config, section, option)?,
            Step::UciDelete {
                config,
                section,
                option: None,
            } => self.record_section(config, section)?,
            Step::UciAdd { config, name, .. } => Before::AddedSection {
                config: config.clone(),
                section: name.clone(),
            },
            Step::UciOrder { config, .. } if !order_recorded(before, config) => Before::Order {
                config: config.clone(),
                sections: section_order(self.bus, config)
                    .map_err(|e| ApplyError::bus(format!("uci get {config}"), e))?,
            },
            Step::Service { name, .. } if !service_recorded(before, name) => {
                self.record_service(name)
            }
            Step::UciOrder { .. } | Step::Service { .. } => return Ok(None),
            Step::RestoreMappings { .. } => return Ok(None),
            Step::TruncateFile { path } => Before::File {
                path: path.clone(),
                content: self.read_router_file(path),
            },
            Step::RevokeMapping {
                proto,
                ext_port,
                int_addr,
                int_port,
                ..
            } => {
                let (lines, after) =
                    self.lease_lines_in_place(*proto, *ext_port, *int_addr, *int_port);
                Before::LeaseLines {
                    path: self.lease_file.clone(),
                    lines,
                    after,
                }
            }
        };
        Ok(Some(recorded))
    }

    /// An option's value, and the tail of its section when it exists (see `SectionTail`).
    fn record_option(
        &mut self,
        tails: &mut Tails,
        config: &str,
        section: &str,
        option: &str,
    ) -> Result<Before, ApplyError> {
        let value = get_option(self.bus, config, section, option)
            .map_err(|e| ApplyError::bus(format!("uci get {config}.{section}.{option}"), e))?;
        if value.is_some() {
            self.record_tail(tails, config, section, option)?;
        }
        Ok(Before::Option {
            config: config.to_owned(),
            section: section.to_owned(),
            option: option.to_owned(),
            value,
        })
    }

    /// A section about to be deleted: its type and values, to re-add it.
    fn record_section(&mut self, config: &str, section: &str) -> Result<Before, ApplyError> {
        let found = get_section(self.bus, config, section)
            .map_err(|e| ApplyError::bus(format!("uci get {config}.{section}"), e))?;
        Ok(Before::DeletedSection {
            config: config.to_owned(),
            section: section.to_owned(),
            r#type: found.r#type,
            values: found.options,
        })
    }

    /// Remembers the section's options from `option` on (the longest tail wins when several
    /// options of one section change).
    fn record_tail(
        &mut self,
        tails: &mut Tails,
        config: &str,
        section: &str,
        option: &str,
    ) -> Result<(), ApplyError> {
        let options = get_section(self.bus, config, section)
            .map_err(|e| ApplyError::bus(format!("uci get {config}.{section}"), e))?
            .options;
        let Some(start) = options.iter().position(|(k, _)| k == option) else {
            return Ok(());
        };
        let tail = options[start..].to_vec();
        tails.push(((config.to_owned(), section.to_owned()), tail));
        Ok(())
    }

    /// Whether a service is enabled and running, as far as `rc list` says.
    fn record_service(&mut self, name: &str) -> Before {
        let state = rc_state(self.bus, name).ok();
        Before::Service {
            name: name.to_owned(),
            enabled: state.as_ref().and_then(|s| s.enabled),
            running: state.and_then(|s| s.running),
        }
    }
}

/// The longest tail of each section (the first of equally long ones), sorted by section: sorted
/// once rather than searched per option, however many sections change.
fn longest_tails(mut tails: Tails) -> Tails {
    tails.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.len().cmp(&a.1.len())));
    tails.dedup_by(|later, kept| later.0 == kept.0);
    tails
}

fn order_recorded(before: &[Before], config: &str) -> bool {
    before
        .iter()
        .any(|b| matches!(b, Before::Order { config: c, .. } if c == config))
}

fn service_recorded(before: &[Before], name: &str) -> bool {
    before
        .iter()
        .any(|b| matches!(b, Before::Service { name: n, .. } if n == name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_tail_of_a_section_wins_and_the_first_of_equals() {
        let tail = |config: &str, section: &str, options: &[&str]| {
            let options = options.iter().map(|o| (o.to_string(), UciValue::from(*o)));
            ((config.to_owned(), section.to_owned()), options.collect())
        };
        let tails = vec![
            tail("upnpd", "b", &["x"]),
            tail("firewall", "a", &["p", "q"]),
            tail("upnpd", "b", &["y", "z"]),
            tail("firewall", "a", &["r", "s"]),
            tail("upnpd", "b", &["w"]),
        ];
        assert_eq!(
            longest_tails(tails),
            vec![
                tail("firewall", "a", &["p", "q"]),
                tail("upnpd", "b", &["y", "z"]),
            ]
        );
    }
}
