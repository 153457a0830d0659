//! Recording, just before a change, what it is about to change: the journal entry's `before`.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::rpcd::{from_value, section_order, uci};
use super::{ApplyError, Before, Executor};
use crate::bus::{status, BusError};
use crate::plan::{Action, Step, UciValue};

impl Executor<'_> {
    /// What is about to change, read just before changing it.
    pub(super) fn record_before(
        &mut self,
        actions: &[Action],
        skip: &BTreeSet<String>,
    ) -> Result<Vec<Before>, ApplyError> {
        let mut before = Vec::new();
        let mut tails: BTreeMap<(String, String), Vec<(String, UciValue)>> = BTreeMap::new();
        let mut services_seen = BTreeSet::new();
        let mut orders_seen = BTreeSet::new();
        for a in actions {
            if a.step.config().is_some_and(|c| skip.contains(c)) {
                continue;
            }
            match &a.step {
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
                } => {
                    let value = match uci(
                        self.bus,
                        "get",
                        json!({ "config": config, "section": section, "option": option }),
                    ) {
                        Ok(v) => from_value(&v["value"]),
                        Err(BusError::Status(status::NOT_FOUND)) => None,
                        Err(e) => {
                            return Err(ApplyError::bus(
                                format!("uci get {config}.{section}.{option}"),
                                e,
                            ))
                        }
                    };
                    if value.is_some() {
                        self.record_tail(&mut tails, config, section, option)?;
                    }
                    before.push(Before::Option {
                        config: config.clone(),
                        section: section.clone(),
                        option: option.clone(),
                        value,
                    });
                }
                Step::UciDelete {
                    config,
                    section,
                    option: None,
                } => {
                    let v = uci(
                        self.bus,
                        "get",
                        json!({ "config": config, "section": section }),
                    )
                    .map_err(|e| ApplyError::bus(format!("uci get {config}.{section}"), e))?;
                    let values = v["values"].as_object().cloned().unwrap_or_default();
                    before.push(Before::DeletedSection {
                        config: config.clone(),
                        section: section.clone(),
                        r#type: values
                            .get(".type")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        values: values
                            .iter()
                            .filter(|(k, _)| !k.starts_with('.'))
                            .filter_map(|(k, v)| Some((k.clone(), from_value(v)?)))
                            .collect(),
                    });
                }
                Step::UciAdd { config, name, .. } => {
                    before.push(Before::AddedSection {
                        config: config.clone(),
                        section: name.clone(),
                    });
                }
                Step::UciOrder { config, .. } => {
                    if orders_seen.insert(config.clone()) {
                        let sections = section_order(self.bus, config)
                            .map_err(|e| ApplyError::bus(format!("uci get {config}"), e))?;
                        before.push(Before::Order {
                            config: config.clone(),
                            sections,
                        });
                    }
                }
                Step::Service { name, .. } => {
                    if services_seen.insert(name.clone()) {
                        let rc = self.bus.call("rc", "list", &json!({ "name": name })).ok();
                        let entry = rc.as_ref().and_then(|r| r.get(name.as_str()));
                        before.push(Before::Service {
                            name: name.clone(),
                            enabled: entry.and_then(|e| e["enabled"].as_bool()),
                            running: entry.and_then(|e| e["running"].as_bool()),
                        });
                    }
                }
                Step::TruncateFile { path } => {
                    let content = self
                        .host_path(path)
                        .and_then(|p| std::fs::read(p).ok())
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default();
                    before.push(Before::File {
                        path: path.clone(),
                        content,
                    });
                }
                Step::RevokeMapping {
                    proto,
                    ext_port,
                    int_addr,
                    int_port,
                    ..
                } => {
                    let lines = self.lease_lines_matching(*proto, *ext_port, *int_addr, *int_port);
                    before.push(Before::LeaseLines {
                        path: self.lease_file.clone(),
                        lines,
                    });
                }
            }
        }
        before.extend(
            tails
                .into_iter()
                .map(|((config, section), options)| Before::SectionTail {
                    config,
                    section,
                    options,
                }),
        );
        Ok(before)
    }

    /// Remembers the section's options from `option` on (the longest tail wins when several
    /// options of one section change).
    pub(super) fn record_tail(
        &mut self,
        tails: &mut BTreeMap<(String, String), Vec<(String, UciValue)>>,
        config: &str,
        section: &str,
        option: &str,
    ) -> Result<(), ApplyError> {
        let v = uci(
            self.bus,
            "get",
            json!({ "config": config, "section": section }),
        )
        .map_err(|e| ApplyError::bus(format!("uci get {config}.{section}"), e))?;
        let options: Vec<(String, UciValue)> = v["values"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| !k.starts_with('.'))
                    .filter_map(|(k, v)| Some((k.clone(), from_value(v)?)))
                    .collect()
            })
            .unwrap_or_default();
        let Some(start) = options.iter().position(|(k, _)| k == option) else {
            return Ok(());
        };
        let tail = options[start..].to_vec();
        let key = (config.to_owned(), section.to_owned());
        if tails.get(&key).is_none_or(|t| t.len() < tail.len()) {
            tails.insert(key, tail);
        }
        Ok(())
    }
}
