//! `uci export` rendering, byte for byte as libuci's `uci_export_package` prints it with the
//! package header. The differential tests compare it with the real CLI, so it is the observable
//! proof that parsing matched.
use super::{Package, Value};
use std::fmt::Write;

/// libuci's `uci_escape`: every `'` becomes `'\''`. It is applied to names and types too, even
/// where they are printed without surrounding quotes.
fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\'') {
        s.replace('\'', r"'\''").into()
    } else {
        s.into()
    }
}

pub fn export(package: &Package) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(out, "package {}", escape(&package.name));
    for s in &package.sections {
        let _ = write!(out, "\nconfig {}", escape(&s.section_type));
        // Anonymous sections are exported without their generated name (no `-n` flag).
        if !s.anonymous {
            let _ = write!(out, " '{}'", escape(&s.name));
        }
        out.push('\n');
        for o in &s.options {
            match &o.value {
                Value::Single(v) => {
                    let _ = writeln!(out, "\toption {} '{}'", escape(&o.name), escape(v));
                }
                Value::List(items) => {
                    for item in items {
                        let _ = writeln!(out, "\tlist {} '{}'", escape(&o.name), escape(item));
                    }
                }
            }
        }
    }
    out.push('\n');
    out
}
