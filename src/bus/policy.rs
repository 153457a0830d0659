//! Method argument policies, as libubox's `struct blobmsg_policy` declares them: the signature an
//! object registers with (what `ubus -v list` shows), and the check a call's arguments pass before
//! a handler reads them.
use ubus::BlobBuilder;

use crate::json::{Map, Value};

/// An argument's type, named as the C `ubus -v list` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    /// BLOBMSG_TYPE_BOOL. ubus CLIs and LuCI also send 0 and 1 as integers.
    Boolean,
    /// A count or a port: never negative. Declared as BLOBMSG_TYPE_INT32 like rpcd's integers
    /// (the C CLI names no other width "Integer"); JSON callers send INT64, also accepted.
    Integer,
    String,
    Table,
}

impl ArgType {
    /// The `BLOBMSG_TYPE_*` value libubus puts in an object's signature.
    pub const fn blobmsg_type(self) -> u32 {
        match self {
            ArgType::Table => 2,
            ArgType::String => 3,
            ArgType::Integer => 5,
            ArgType::Boolean => 7,
        }
    }

    /// The C `ubus -v list` name of [`ArgType::blobmsg_type`].
    pub const fn name(self) -> &'static str {
        match self {
            ArgType::Boolean => "Boolean",
            ArgType::Integer => "Integer",
            ArgType::String => "String",
            ArgType::Table => "Table",
        }
    }

    /// Whether `value` (a blobmsg attribute as ubus-zero's JSON shows it) is of this type.
    fn check(self, value: &Value) -> Result<(), Problem> {
        let fits = match (self, value) {
            (ArgType::Boolean, Value::Bool(_) | Value::Number(_)) => true,
            (ArgType::Integer, Value::Number(n)) if n.as_i64().is_some_and(|v| v < 0) => {
                return Err(Problem::Negative(n.as_i64().unwrap_or(-1)))
            }
            (ArgType::Integer, Value::Number(n)) => n.as_u64().is_some(),
            (ArgType::String, Value::String(_)) | (ArgType::Table, Value::Object(_)) => true,
            _ => false,
        };
        if fits {
            Ok(())
        } else {
            Err(Problem::WrongType {
                expected: self,
                got: type_of(value),
            })
        }
    }
}

/// The blobmsg type a caller sent, in the names of [`ArgType::name`].
fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_f64() => "Double",
        Value::Number(_) => "Integer",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Table",
    }
}

/// One argument of a method: its name and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    pub name: &'static str,
    pub kind: ArgType,
}

impl Arg {
    pub const fn new(name: &'static str, kind: ArgType) -> Arg {
        Arg { name, kind }
    }
}

/// An object's methods and their arguments as libubus sends them in ADD_OBJECT: per method a
/// table named after it holding, per argument, an int32 whose value is the blobmsg type.
pub struct Signature(Vec<u8>);

impl Signature {
    pub fn new<'a>(methods: impl IntoIterator<Item = (&'a str, &'a [Arg])>) -> Signature {
        let mut blob = BlobBuilder::new();
        for (method, args) in methods {
            blob.open_table(Some(method));
            for arg in args {
                blob.put_i32(Some(arg.name), arg.kind.blobmsg_type() as i32);
            }
            blob.close_table();
        }
        Signature(blob.finish())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// An argument a call may not carry, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    pub name: &'static str,
    pub problem: Problem,
}

/// What is wrong with an argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Missing,
    WrongType {
        expected: ArgType,
        got: &'static str,
    },
    Negative(i64),
    /// A text that is none of the values the method takes, which it lists.
    NotOneOf(&'static [&'static str]),
    /// A port number over 65535.
    NotAPort(u64),
    /// A table that is not the shape the method takes: what it expected, and the decoder's words
    /// (cleaned: they quote the caller's text).
    Shape {
        expected: &'static str,
        detail: String,
    },
}

impl ArgError {
    pub fn new(arg: Arg, problem: Problem) -> ArgError {
        ArgError {
            name: arg.name,
            problem,
        }
    }

    pub fn missing(arg: Arg) -> ArgError {
        ArgError::new(arg, Problem::Missing)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing => f.write_str("missing"),
            Problem::WrongType { expected, got } => {
                write!(f, "expected {}, got {got}", expected.name())
            }
            Problem::Negative(n) => write!(f, "expected a non-negative Integer, got {n}"),
            Problem::NotOneOf(names) => write!(f, "expected one of {}", names.join(", ")),
            Problem::NotAPort(n) => write!(f, "{n} is not a port"),
            Problem::Shape { expected, detail } => write!(f, "not {expected}: {detail}"),
        }
    }
}

impl std::fmt::Display for ArgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid argument {}: {}", self.name, self.problem)
    }
}

impl std::error::Error for ArgError {}

/// A call's arguments that passed [`check`]: each declared one present has its type. Arguments
/// the policy does not name are ignored, as rpcd's `blobmsg_parse` ignores them.
#[derive(Debug)]
pub struct Args<'a> {
    values: &'a Map<String, Value>,
    policy: &'a [Arg],
}

/// Checks `values` against `policy`.
pub fn check<'a>(policy: &'a [Arg], values: &'a Map<String, Value>) -> Result<Args<'a>, ArgError> {
    for arg in policy {
        if let Some(value) = values.get(arg.name) {
            arg.kind
                .check(value)
                .map_err(|problem| ArgError::new(*arg, problem))?;
        }
    }
    Ok(Args { values, policy })
}

impl<'a> Args<'a> {
    /// A Boolean argument; absent is false.
    pub fn flag(&self, arg: Arg) -> bool {
        match self.get(arg, ArgType::Boolean) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0) != 0,
            _ => false,
        }
    }

    pub fn text(&self, arg: Arg) -> Option<&'a str> {
        self.get(arg, ArgType::String).and_then(Value::as_str)
    }

    pub fn count(&self, arg: Arg) -> Option<u64> {
        self.get(arg, ArgType::Integer).and_then(Value::as_u64)
    }

    pub fn table(&self, arg: Arg) -> Option<&'a Value> {
        self.get(arg, ArgType::Table)
    }

    fn get(&self, arg: Arg, kind: ArgType) -> Option<&'a Value> {
        // An argument read but not declared would go unchecked and missing from the signature.
        debug_assert!(
            arg.kind == kind && self.policy.contains(&arg),
            "{arg:?} is not a declared {kind:?} argument"
        );
        self.values.get(arg.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::json;

    const DRY_RUN: Arg = Arg::new("dry_run", ArgType::Boolean);
    const OFFSET: Arg = Arg::new("offset", ArgType::Integer);
    const ID: Arg = Arg::new("id", ArgType::String);
    const SUBJECT: Arg = Arg::new("subject", ArgType::Table);
    const POLICY: &[Arg] = &[DRY_RUN, OFFSET, ID, SUBJECT];

    fn reason(values: Value) -> Option<String> {
        let values = values.as_object().unwrap().clone();
        check(POLICY, &values).err().map(|e| e.to_string())
    }

    #[test]
    fn a_wrong_type_is_named_with_what_came_instead() {
        assert_eq!(
            reason(json!({"dry_run": "yes"})).as_deref(),
            Some("invalid argument dry_run: expected Boolean, got String")
        );
        assert_eq!(
            reason(json!({"offset": 1.5})).as_deref(),
            Some("invalid argument offset: expected Integer, got Double")
        );
        assert_eq!(
            reason(json!({"offset": -1})).as_deref(),
            Some("invalid argument offset: expected a non-negative Integer, got -1")
        );
        assert_eq!(
            reason(json!({"id": null})).as_deref(),
            Some("invalid argument id: expected String, got null")
        );
        assert_eq!(
            reason(json!({"subject": ["router"]})).as_deref(),
            Some("invalid argument subject: expected Table, got Array")
        );
    }

    /// ubus CLIs and LuCI send booleans as 0/1 integers; undeclared arguments (LuCI's
    /// `ubus_rpc_session`) pass unchecked.
    #[test]
    fn integers_are_booleans_and_undeclared_arguments_pass() {
        let values = json!({"dry_run": 1, "offset": 3, "ubus_rpc_session": 5, "extra": []});
        let values = values.as_object().unwrap();
        let args = check(POLICY, values).unwrap();
        assert!(args.flag(DRY_RUN));
        assert_eq!(args.count(OFFSET), Some(3));
        assert_eq!(args.text(ID), None);
        let no = json!({"dry_run": 0});
        assert!(!check(POLICY, no.as_object().unwrap())
            .unwrap()
            .flag(DRY_RUN));
    }

    /// The bytes libubus's `ubus_push_method_data` writes: a table per method, an int32 per
    /// argument holding its blobmsg type.
    #[test]
    fn the_signature_holds_each_arguments_blobmsg_type() {
        let signature = Signature::new([("enforce", POLICY), ("status", &[][..])]);
        let json = ubus::json::blobmsg_to_json(signature.as_bytes()).unwrap();
        assert_eq!(
            json,
            json!({"enforce": {"dry_run": 7, "offset": 5, "id": 3, "subject": 2}, "status": {}})
        );
        let mut attrs = ubus::BlobIter::new(signature.as_bytes());
        let enforce = attrs.try_next().unwrap().unwrap();
        let ubus::BlobValue::Table(args) = enforce.value().unwrap() else {
            panic!("a method is a table");
        };
        let mut args = ubus::BlobIter::new(args);
        let dry_run = args.try_next().unwrap().unwrap();
        assert_eq!(dry_run.value().unwrap(), ubus::BlobValue::Int32(7));
    }
}
