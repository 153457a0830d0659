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
