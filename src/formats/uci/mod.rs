//! UCI configuration files, read the way libuci reads them.
//!
//! On the router camguard reads and writes UCI through rpcd (real libuci does the parsing). This
//! module is for offline snapshots: a read-only parser with libuci's semantics, differentially
//! tested against the real `uci` CLI (tests/uci_differential.rs). Both sources end in the same
//! [`Package`], so everything above this module sees one model.

mod export;
mod parser;
#[cfg(test)]
mod tests;

pub use parser::{parse, ParseError};
#[doc(hidden)]
pub use parser::{parse_with_libuci_position, LibuciPosition};

use crate::formats::FormatError;

/// One UCI config file (`/etc/config/<name>`), sections in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    pub name: String,
    pub sections: Vec<Section>,
}

/// A `config <type> ['<name>']` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section name; for anonymous sections the name libuci generates (`cfgXXYYYY`).
    pub name: String,
    pub section_type: String,
    pub anonymous: bool,
    /// Options in libuci's order: file order, except that an option whose value is replaced (a
    /// different `option` value, `option` after `list`, or `list` after `option`) moves to the end.
    /// A name appears at most once.
    pub options: Vec<UciOption>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UciOption {
    pub name: String,
    pub value: Value,
}

/// An option's value: `option` gives a single string, `list` a list (duplicates kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Single(String),
    List(Vec<String>),
}

impl Value {
    /// The value as libuci's CLI would print it for `uci get`: a list joined by spaces.
    pub fn joined(&self) -> String {
        match self {
            Value::Single(s) => s.clone(),
            Value::List(items) => items.join(" "),
        }
    }

    /// Every item: a single string is one item, a list its items.
    pub fn items(&self) -> Vec<&str> {
        match self {
            Value::Single(s) => vec![s.as_str()],
            Value::List(items) => items.iter().map(String::as_str).collect(),
        }
    }
}

impl Section {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.options
            .iter()
            .find(|o| o.name == name)
            .map(|o| &o.value)
    }

    /// A single-string option. A list where a string is expected yields `None`: callers that
    /// follow fw4 treat that as invalid, callers that follow the shell helpers as unset.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Value::Single(s) => Some(s.as_str()),
            Value::List(_) => None,
        }
    }
}

impl Package {
    pub fn sections_of_type<'a>(
        &'a self,
        section_type: &'a str,
    ) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections
            .iter()
            .filter(move |s| s.section_type == section_type)
    }

    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The package in `uci export` form, byte for byte (the differential tests compare this).
    pub fn export(&self) -> String {
        export::export(self)
    }
}

impl Package {
    /// A package from rpcd's `uci get {"config": name}` reply (`{"values": {"<section>": {".type",
    /// ".name", ".anonymous", ".index", options…}}}`): on the router, real libuci parsed it. Sections
    /// come back in `.index` order; option order within a section is not kept (nothing reads it).
    pub fn from_rpcd(name: &str, reply: &crate::json::Value) -> Result<Package, FormatError> {
        let values = reply
            .get("values")
            .and_then(|v| v.as_object())
            .ok_or_else(|| FormatError::UciReplyWithoutValues {
                config: name.to_owned(),
            })?;
        let mut indexed: Vec<(u64, Section)> = Vec::with_capacity(values.len());
        for (key, section) in values {
            let obj = section
                .as_object()
                .ok_or_else(|| FormatError::UciSectionNotObject {
                    config: name.to_owned(),
                    section: key.clone(),
                })?;
            let section_type = obj
                .get(".type")
                .and_then(|t| t.as_str())
                .unwrap_or_default()
                .to_owned();
            let index = obj
                .get(".index")
                .and_then(|i| i.as_u64())
                .unwrap_or(u64::MAX);
            let options = obj
                .iter()
                .filter(|(k, _)| !k.starts_with('.'))
                .map(|(k, v)| {
                    let value = match v {
                        crate::json::Value::String(s) => Value::Single(s.clone()),
                        crate::json::Value::Array(items) => Value::List(
                            items
                                .iter()
                                .map(|i| i.as_str().map_or_else(|| json_text(i), str::to_owned))
                                .collect(),
                        ),
                        other => Value::Single(json_text(other)),
                    };
                    UciOption {
                        name: k.clone(),
                        value,
                    }
                })
                .collect();
            indexed.push((
                index,
                Section {
                    name: obj
                        .get(".name")
                        .and_then(|n| n.as_str())
                        .unwrap_or(key)
                        .to_owned(),
                    section_type,
                    anonymous: obj
                        .get(".anonymous")
                        .and_then(|a| a.as_bool())
                        .unwrap_or(false),
                    options,
                },
            ));
        }
        indexed.sort_by_key(|(i, _)| *i);
        Ok(Package {
            name: name.to_owned(),
            sections: indexed.into_iter().map(|(_, s)| s).collect(),
        })
    }
}

/// A number, boolean or null rpcd sent for an option, as JSON writes it ("1", "true"), through
/// camguard's serializer.
fn json_text(v: &crate::json::Value) -> String {
    crate::encode::to_string(v).unwrap_or_default()
}

#[cfg(test)]
mod rpcd_tests {
    use super::*;

    #[test]
    fn rpcd_reply_becomes_the_same_package_as_the_file() {
        // The shape of rpcd-transcripts/05-uci-get-firewall-redirect.json.
        let reply: crate::json::Value = crate::json::from_str(
            r#"{"values":{"cfg0c3837":{".anonymous":true,".type":"redirect",".name":"cfg0c3837",".index":11,
                "name":"Web-Server","proto":["tcp","udp"],"src_dport":"8080"},
              "cfg0b3837":{".anonymous":true,".type":"redirect",".name":"cfg0b3837",".index":10,"name":"SSH"}}}"#,
        )
        .unwrap();
        let p = Package::from_rpcd("firewall", &reply).unwrap();
        assert_eq!(p.sections[0].name, "cfg0b3837", "sorted by .index");
        let web = &p.sections[1];
        assert!(web.anonymous);
        assert_eq!(
            web.get("proto"),
            Some(&Value::List(vec!["tcp".into(), "udp".into()]))
        );
        assert_eq!(web.get_str("src_dport"), Some("8080"));
        assert!(Package::from_rpcd("x", &crate::encode::json!({"nope": 1})).is_err());
    }

    /// rpcd sends strings; anything else is read as the JSON text it is.
    #[test]
    fn rpcd_numbers_and_booleans_become_their_text() {
        let reply = crate::encode::json!({"values": {"s": {".type": "rule", "port": 8080,
            "on": true, "ratio": 0.5, "list": [1, "a", null, -2]}}});
        let p = Package::from_rpcd("x", &reply).unwrap();
        let s = &p.sections[0];
        assert_eq!(s.get_str("port"), Some("8080"));
        assert_eq!(s.get_str("on"), Some("true"));
        assert_eq!(s.get_str("ratio"), Some("0.5"));
        assert_eq!(
            s.get("list"),
            Some(&Value::List(vec![
                "1".into(),
                "a".into(),
                "null".into(),
                "-2".into()
            ]))
        );
    }

    #[test]
    fn rpcd_reply_of_another_shape_names_the_config_and_section() {
        let err = Package::from_rpcd("x", &crate::encode::json!({"nope": 1})).unwrap_err();
        assert_eq!(err.to_string(), "uci get x: reply has no \"values\" object");
        let err =
            Package::from_rpcd("x", &crate::encode::json!({"values": {"s1": 5}})).unwrap_err();
        assert_eq!(
            err,
            FormatError::UciSectionNotObject {
                config: "x".into(),
                section: "s1".into()
            }
        );
        assert_eq!(err.to_string(), "uci get x: section s1 is not an object");
    }
}
