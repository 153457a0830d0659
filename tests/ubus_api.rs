//! The method table (`camguard::daemon::METHODS`) is the contract of the `camguard` ubus object:
//! docs/ubus-api.md, the rpcd ACL the LuCI app ships and the type names must agree with it.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use camguard::bus::policy::{Arg, ArgType};
use camguard::daemon::{Access, METHODS};
use serde_json::Value;

const API_DOC: &str = "docs/ubus-api.md";
const ACL_FILE: &str =
    "openwrt-package/luci-app-camguard/root/usr/share/rpcd/acl.d/luci-app-camguard.json";

fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn names(access: Access) -> BTreeSet<&'static str> {
    METHODS
        .iter()
        .filter(|m| m.access == access)
        .map(|m| m.name)
        .collect()
}

/// The rows of the markdown table under `heading`: method name → its `args` cell.
fn doc_table(doc: &str, heading: &str) -> Vec<(String, String)> {
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("{API_DOC} has no section {heading:?}"));
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            // Cells are split at `|`, except where a reply shows it escaped as `\|`.
            let cells: Vec<String> = line
                .replace("\\|", "\u{0}")
                .split('|')
                .map(|c| c.trim().replace('\u{0}', "|"))
                .collect();
            (cells[1].trim_matches('`').to_owned(), cells[2].clone())
        })
        .collect()
}

/// The arguments an `args` cell documents: each is written `` `name` (Type…``.
fn documented_args(method: &str, cell: &str) -> Vec<(String, String)> {
    let mut args = Vec::new();
    let parts: Vec<&str> = cell.split('`').collect();
    for pair in parts[1..].chunks(2) {
        let [name, after] = pair else { continue };
        let Some(rest) = after.strip_prefix(" (") else {
            continue;
        };
        let kind: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        assert!(
            ["Boolean", "Integer", "String", "Table", "Array"].contains(&kind.as_str()),
            "{API_DOC}: {method}'s argument `{name}` is documented without its type \
             (write it `{name}` (Type…)"
        );
        args.push((name.to_string(), kind));
    }
    args
}

fn every_type() -> [ArgType; 4] {
    // A new type fails to compile here until it is added to the list.
    match ArgType::Boolean {
        ArgType::Boolean | ArgType::Integer | ArgType::String | ArgType::Table => {}
    }
    [
        ArgType::Boolean,
        ArgType::Integer,
        ArgType::String,
        ArgType::Table,
    ]
}

fn table_args(args: &[Arg]) -> Vec<(String, String)> {
    args.iter()
        .map(|a| (a.name.to_owned(), a.kind.name().to_owned()))
        .collect()
}

#[test]
fn the_api_doc_lists_each_method_where_the_table_puts_it_with_its_arguments() {
    let doc = read(API_DOC);
    for (heading, access) in [
        ("Read methods", Access::Read),
        ("Write methods", Access::Write),
    ] {
        let rows = doc_table(&doc, heading);
        let documented: Vec<&str> = rows.iter().map(|(m, _)| m.as_str()).collect();
        let table: Vec<&str> = METHODS
            .iter()
            .filter(|m| m.access == access)
            .map(|m| m.name)
            .collect();
        assert_eq!(
            documented, table,
            "{API_DOC}, {heading}: methods and their order"
        );
        for (method, cell) in &rows {
            let row = METHODS.iter().find(|m| m.name == method).unwrap();
            assert_eq!(
                documented_args(method, cell),
                table_args(row.args),
                "{API_DOC}: the arguments of {method}"
            );
            assert_eq!(
                row.args.is_empty(),
                cell == "–",
                "{API_DOC}: {method} with no arguments shows –"
            );
        }
    }
}

/// A LuCI user with only the read grant must reach every read method and no write method.
#[test]
fn the_luci_acl_grants_reads_and_writes_as_the_table_marks_them() {
    let acl: Value = serde_json::from_str(&read(ACL_FILE)).expect("the ACL file is JSON");
    let acl = &acl["luci-app-camguard"];
    for (grant, access) in [("read", Access::Read), ("write", Access::Write)] {
        let granted: BTreeSet<&str> = acl[grant]["ubus"]["camguard"]
            .as_array()
            .unwrap_or_else(|| panic!("{ACL_FILE}: no {grant} grant for camguard"))
            .iter()
            .map(|m| m.as_str().expect("a method name"))
            .collect();
        assert_eq!(granted, names(access), "{ACL_FILE}: the {grant} grant");
    }
}

/// The C `ubus -v list` of rpcd's objects (tests/fixtures/ubus) names each blobmsg type that
/// `ubus-client list` shows as a number for the same objects (tests/fixtures/testbed/
/// transcripts): our arguments' codes must be the ones rpcd uses for those names.
#[test]
fn argument_types_are_registered_with_the_codes_rpcd_uses_for_their_names() {
    let mut named: BTreeMap<(String, String, String), String> = BTreeMap::new();
    let mut object = String::new();
    for line in read("tests/fixtures/ubus/rpcd-list-verbose.c-cli.txt").lines() {
        if let Some(method) = line.strip_prefix('\t') {
            let method: BTreeMap<String, BTreeMap<String, String>> =
                serde_json::from_str(&format!("{{{method}}}")).unwrap();
            for (method, args) in method {
                for (arg, kind) in args {
                    named.insert((object.clone(), method.clone(), arg), kind);
                }
            }
        } else {
            object = line.split('\'').nth(1).unwrap().to_owned();
        }
    }
    let listed: Value =
        serde_json::from_str(&read("tests/fixtures/testbed/transcripts/01-list.json")).unwrap();
    let mut names_of_code: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for object in listed.as_array().unwrap() {
        let path = object["path"].as_str().unwrap();
        for (method, args) in object["methods"].as_object().unwrap() {
            for (arg, code) in args.as_object().unwrap() {
                let key = (path.to_owned(), method.clone(), arg.clone());
                if let Some(name) = named.get(&key) {
                    names_of_code
                        .entry(code.as_u64().unwrap())
                        .or_default()
                        .insert(name.clone());
                }
            }
        }
    }
    for kind in every_type() {
        let code = u64::from(kind.blobmsg_type());
        assert_eq!(
            names_of_code.get(&code),
            Some(&BTreeSet::from([kind.name().to_owned()])),
            "what rpcd's blobmsg type {code} is called"
        );
    }
}
