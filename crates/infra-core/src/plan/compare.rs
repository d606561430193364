//! Semantic comparison of property values: what counts as "unchanged".
//!
//! CloudFormation is lenient about shapes: a policy document may be given as a JSON string or
//! as an object, and numbers and booleans are often written as strings. Comparing text would
//! report changes nobody made, so values are compared by meaning.

use crate::value::Value;
use serde_json::Value as J;

/// Whether two property values mean the same.
pub fn same(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Object(x), J::Object(y)) => {
            // A key set to null is the same as a key left out.
            let keys = x.keys().chain(y.keys());
            keys.into_iter().all(|k| same(x.get(k).unwrap_or(&J::Null), y.get(k).unwrap_or(&J::Null)))
        }
        (J::Array(x), J::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (J::Number(x), J::Number(y)) => x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q),
        (J::String(s), other @ (J::Object(_) | J::Array(_))) | (other @ (J::Object(_) | J::Array(_)), J::String(s)) => {
            serde_json::from_str::<J>(s).is_ok_and(|parsed| same(&parsed, other))
        }
        (J::String(s), J::Number(n)) | (J::Number(n), J::String(s)) => {
            s.parse::<f64>().ok().zip(n.as_f64()).is_some_and(|(p, q)| p == q)
        }
        (J::String(s), J::Bool(v)) | (J::Bool(v), J::String(s)) => s == if *v { "true" } else { "false" },
        (J::Object(o), J::Null) | (J::Null, J::Object(o)) => o.values().all(J::is_null),
        _ => a == b,
    }
}

/// How a desired property value compares with the recorded one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Difference {
    Same,
    Differs,
    /// The desired value is known only after apply.
    Unknown,
}

/// Compare a desired value (possibly holding unknowns) with a recorded one.
pub fn compare(desired: Option<&Value>, recorded: Option<&J>) -> Difference {
    match desired {
        Some(v) if !v.is_known() => Difference::Unknown,
        _ => {
            let d = desired.map(Value::to_json).unwrap_or(J::Null);
            if same(&d, recorded.unwrap_or(&J::Null)) {
                Difference::Same
            } else {
                Difference::Differs
            }
        }
    }
}

/// The value at a `/`-separated property path (`VpcConfig/Subnets`), as schemas name nested
/// properties. Stops at an unknown value and returns it, so that callers see "unknown".
pub fn value_at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur = match cur {
            Value::Map(m) => m.get(part)?,
            Value::Expr(_) => return Some(cur),
            _ => return None,
        };
    }
    Some(cur)
}

/// [`value_at`] for recorded JSON.
pub fn json_at<'a>(v: &'a J, path: &str) -> Option<&'a J> {
    let mut cur = v;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur = cur.as_object()?.get(part)?;
    }
    Some(cur)
}

/// A schema property pointer (`/properties/RoleName`) as a property path (`RoleName`).
pub fn property_path(pointer: &str) -> &str {
    pointer.strip_prefix("/properties/").unwrap_or(pointer).trim_start_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(a: J, b: J, expected: bool) {
        assert_eq!(same(&a, &b), expected, "{a} vs {b}");
        assert_eq!(same(&b, &a), expected, "{b} vs {a}");
    }

    #[test]
    fn semantic_equality() {
        check(json!(1), json!(1), true);
        check(json!(1), json!(1.0), true);
        check(json!("1"), json!(1), true);
        check(json!("x"), json!(1), false);
        check(json!("true"), json!(true), true);
        check(json!("false"), json!(true), false);
        check(json!({"a": 1}), json!({"a": 1, "b": null}), true);
        check(json!({"a": 1}), json!({"a": 2}), false);
        check(json!([1, 2]), json!([2, 1]), false);
        check(json!("{\"Version\": \"2012-10-17\"}"), json!({"Version": "2012-10-17"}), true);
        check(json!("{\"Version\": \"2012-10-17\"}"), json!({"Version": "2008-10-17"}), false);
        check(json!("not json"), json!({"a": 1}), false);
        check(json!(null), json!({}), true);
        check(json!(null), json!(""), false);
    }

    #[test]
    fn paths() {
        let v = Value::from_json(&json!({"A": {"B": 1}, "C": {"Ref": "X"}}));
        assert_eq!(value_at(&v, "A/B").map(Value::to_json), Some(json!(1)));
        assert_eq!(value_at(&v, "C/D").map(Value::to_json), Some(json!({"Ref": "X"})));
        assert_eq!(value_at(&v, "Z"), None);
        assert_eq!(property_path("/properties/RoleName"), "RoleName");
        assert_eq!(json_at(&json!({"A": {"B": 2}}), "A/B"), Some(&json!(2)));
    }
}
