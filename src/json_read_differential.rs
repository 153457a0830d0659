//! Temporary: the hand readers against the serde derives they replace, over samples and every
//! single mutation of them.
use serde_json::{json, Value};

use crate::apply::journal::Entry;
use crate::json_read::JsonReadError;
use crate::lan::credentials::CredState;
use crate::lan::seen::SeenRecord;

fn entry() -> Value {
    let subject_mapping = json!({"kind":"mapping","proto":"TCP","ext_port":8080,"int_addr":"192.168.1.31","int_port":80});
    let finding = json!({"id":"x","subject":subject_mapping});
    let subjects = [
        json!({"kind":"router"}),
        json!({"kind":"service","name":"m"}),
        json!({"kind":"config","config":"c"}),
        json!({"kind":"section","config":"c","section":"s","label":"l"}),
        subject_mapping.clone(),
        json!({"kind":"pinhole","proto":"UDPLITE","int_client":"fd00::2","int_port":9}),
        json!({"kind":"device","ip":"192.168.1.2","mac":"aa:bb:cc:dd:ee:ff"}),
        json!({"kind":"device"}),
    ];
    let mut actions = vec![
        json!({"kind":"uci_set","config":"c","section":"s","option":"o","value":"v","why":"w","finding":finding}),
        json!({"kind":"uci_set","config":"c","section":"s","option":"o","value":["a","b"],"why":"w"}),
        json!({"kind":"uci_delete","config":"c","section":"s","why":"w"}),
        json!({"kind":"uci_delete","config":"c","section":"s","option":"o","why":"w"}),
        json!({"kind":"uci_add","config":"c","type":"rule","name":"n","values":{"a":"1","b":["x"]},"why":"w"}),
        json!({"kind":"uci_order","config":"c","sections":["a","b"],"why":"w"}),
        json!({"kind":"service","name":"m","action":"stop","why":"w"}),
        json!({"kind":"truncate_file","path":"/p","why":"w"}),
        json!({"kind":"revoke_mapping","proto":"UDP","ext_port":1,"int_addr":"::1","int_port":2,"nft_handles":[["c",7]],"rebuild":true,"why":"w"}),
        json!({"kind":"restore_mappings","lost":3,"why":"w"}),
    ];
    for s in subjects {
        actions.push(json!({"kind":"restore_mappings","lost":0,"why":"","finding":{"id":"i","subject":s}}));
    }
    let before = vec![
        json!({"what":"option","config":"c","section":"s","option":"o","value":"1"}),
        json!({"what":"option","config":"c","section":"s","option":"o"}),
        json!({"what":"section_tail","config":"c","section":"s","options":[["a","1"],["b",["x","y"]]]}),
        json!({"what":"added_section","config":"c","section":"s"}),
        json!({"what":"deleted_section","config":"c","section":"s","type":"rule","values":[["a","1"]]}),
        json!({"what":"order","config":"c","sections":["a"]}),
        json!({"what":"service","name":"m","enabled":true,"running":false}),
        json!({"what":"file","path":"/p","content":"x"}),
        json!({"what":"lease_lines","path":"/p","lines":["l1","l2"],"after":[null,"l1"]}),
        json!({"what":"file_bytes","path":"/p","config":"c","bytes":{"hex":"ff00"},"size":2,"committed":"1:00"}),
        json!({"what":"file_bytes","path":"/p","bytes":{"text":"x"},"size":1}),
    ];
    json!({"id":"i","time":1,"reason":"enforce","state":"partial","actions":actions,"before":before,
        "applied":[0],"failed":[{"action":1,"error":"e"}],"pending":[2],"continued_in":"j","notes":["n"]})
}

fn cred() -> Value {
    json!({"version":1,"devices":{
        "aa:bb:cc:dd:ee:ff":{"attempts":[1,2],"last_run":3,"failures":1,"refused":["r"],
            "lockout":{"at":4,"sign":"s"},
            "works":{"vendor":"v","user":"u","login":"l","protocol":"HTTP","port":80,"first_found":5,"confirmed":6}},
        "ip:1.2.3.4":{}}})
}

fn seen() -> Value {
    json!({"mac":"aa:bb:cc:dd:ee:ff","first_seen":1,"last_seen":2})
}

/// Every value the sample holds, with its path (as a list of steps), replaced or removed.
fn mutations(v: &Value) -> Vec<(String, Value)> {
    let replacements = [
        json!(null),
        json!(0),
        json!(70000),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!("TCP"),
        json!("applied"),
        json!("192.168.1.1"),
        json!("aa:bb:cc:dd:ee:ff"),
        json!(true),
        json!([]),
        json!(["a"]),
        json!(["a", 1]),
        json!([null]),
        json!({}),
        json!({"text": "x"}),
        json!({"hex": "f"}),
        json!({"hex": "zz"}),
        json!({"hex": "ff", "text": "x"}),
        json!({"kind": "router"}),
        json!({"id": "x", "subject": {"kind": "router"}}),
    ];
    let mut out = Vec::new();
    fn walk(v: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
        out.push(path.clone());
        match v {
            Value::Object(m) => {
                for (k, c) in m {
                    path.push(json!(k));
                    walk(c, path, out);
                    path.pop();
                }
            }
            Value::Array(a) => {
                for (i, c) in a.iter().enumerate() {
                    path.push(json!(i));
                    walk(c, path, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
    let mut paths = Vec::new();
    walk(v, &mut Vec::new(), &mut paths);
    fn at<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
        path.iter().fold(v, |v, step| match step {
            Value::String(k) => &mut v[k.as_str()],
            Value::Number(n) => &mut v[n.as_u64().unwrap() as usize],
            _ => unreachable!(),
        })
    }
    for path in &paths {
        for r in &replacements {
            let mut m = v.clone();
            *at(&mut m, path) = r.clone();
            out.push((format!("{path:?} = {r}"), m));
        }
        if let Some((last, parent)) = path.split_last() {
            let mut m = v.clone();
            match (at(&mut m, parent), last) {
                (Value::Object(o), Value::String(k)) => {
                    o.shift_remove(k);
                }
                (Value::Array(a), Value::Number(n)) => {
                    a.remove(n.as_u64().unwrap() as usize);
                }
                _ => unreachable!(),
            }
            out.push((format!("{path:?} removed"), m));
        }
        // Known field names added where they do not belong, and an unknown one.
        for key in ["zzz", "kind", "what", "option", "finding", "after", "nft_handles", "ip"] {
            for r in [json!(1), json!(null), json!("x")] {
                let mut m = v.clone();
                if let Value::Object(o) = at(&mut m, path) {
                    if !o.contains_key(key) {
                        o.insert(key.into(), r.clone());
                        out.push((format!("{path:?} + {key}: {r}"), m));
                    }
                }
            }
        }
    }
    out
}

fn differ<T>(name: &str, sample: Value, hand: fn(&Value) -> Result<T, JsonReadError>) -> usize
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let mut cases = mutations(&sample);
    cases.push(("sample".into(), sample));
    let mut differences = 0;
    for (what, case) in &cases {
        let old = serde_json::from_value::<T>(case.clone());
        let new = hand(case);
        let same = match (&old, &new) {
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        // Known and intended: a field that only another kind or variant has is ignored like
        // any unknown field (the derive's flat helper structs typed it), and a struct written as
        // a list (serde's sequence form) is refused.
        let other_kinds_field = what.contains("] + ") && new.is_ok();
        let struct_as_list = what.ends_with("= []") && old.is_ok();
        if !same && !other_kinds_field && !struct_as_list {
            differences += 1;
            eprintln!(
                "{name}: {what}\n  derive: {:?}\n  hand:   {:?}",
                old.map(|_| "ok").map_err(|e| e.to_string()),
                new.map(|_| "ok").map_err(|e| e.to_string())
            );
        }
    }
    eprintln!("{name}: {} cases, {differences} differ", cases.len());
    differences
}

#[test]
fn hand_readers_read_what_the_derives_read() {
    let d = differ("entry", entry(), Entry::from_json)
        + differ("cred", cred(), CredState::from_json)
        + differ("seen", seen(), SeenRecord::from_json);
    assert_eq!(d, 0);
}
