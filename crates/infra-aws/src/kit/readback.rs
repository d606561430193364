//! Read-back shaping, one system for every service: what a service reports is put into the
//! shape of what was applied, so that a resource nobody touched reads back exactly as
//! applied and a re-plan is quiet, while real drift still shows.
//!
//! It works in two layers, each usable alone:
//! - [`shape_like`] takes live properties one by one, each with how it compares
//!   ([`Compare`]: scalars by text, policy documents by meaning, sets, tags, inline policies)
//!   and the service's default, and returns the applied value wherever live means the same;
//! - [`ObjectBuilder`] builds a whole observed object from an API's answer, [`omit_defaults`]
//!   drops the defaults a template left out, and [`conform`] gives every value the template's
//!   representation (`"1"` for `1`, `1` for `1.0`) wherever the two mean the same.

use super::props::scalar_text;
use crate::policy as document;
use serde_json::{Map, Value};

/// Builds an observed JSON object, leaving out what the service did not report.
#[derive(Default)]
pub struct ObjectBuilder(Map<String, Value>);

impl ObjectBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn put(mut self, key: &str, value: impl Into<Option<Value>>) -> Self {
        if let Some(v) = value.into() {
            if !v.is_null() {
                self.0.insert(key.to_string(), v);
            }
        }
        self
    }
    pub fn string(self, key: &str, value: Option<&str>) -> Self {
        self.put(key, value.map(|s| Value::String(s.to_string())))
    }
    pub fn int(self, key: &str, value: Option<i32>) -> Self {
        self.put(key, value.map(Value::from))
    }
    pub fn float(self, key: &str, value: Option<f64>) -> Self {
        self.put(key, value.and_then(float_value))
    }
    /// A single-precision float from an API, as the decimal a template would have written.
    pub fn float32(self, key: &str, value: Option<f32>) -> Self {
        self.float(key, value.and_then(|f| f.to_string().parse::<f64>().ok()))
    }
    pub fn bool(self, key: &str, value: Option<bool>) -> Self {
        self.put(key, value.map(Value::Bool))
    }
    pub fn strings(self, key: &str, value: &[String]) -> Self {
        self.put(key, (!value.is_empty()).then(|| Value::from(value.to_vec())))
    }
    pub fn object(self, key: &str, value: Option<Value>) -> Self {
        self.put(key, value.filter(|v| v.as_object().is_none_or(|m| !m.is_empty())))
    }
    pub fn list(self, key: &str, value: Vec<Value>) -> Self {
        self.put(key, (!value.is_empty()).then_some(Value::Array(value)))
    }
    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// A float as JSON, integral values as integers so `1.0` from an API meets `1` in a template.
pub fn float_value(f: f64) -> Option<Value> {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Some(Value::from(f as i64))
    } else {
        serde_json::Number::from_f64(f).map(Value::Number)
    }
}

/// Gives an observed value the template's representation wherever the two mean the same:
/// `"1"` for `1`, `1` for `1.0`, `"true"` for `true`, and the other way round for services
/// that report text (`42` for `"42"`), recursively. Keys the service reports
/// but the template omits are kept, so real additions still show up as drift; defaults are
/// dealt with by [`omit_defaults`].
pub fn conform(observed: Value, template: Option<&Value>) -> Value {
    let Some(template) = template else {
        return observed;
    };
    match (observed, template) {
        (Value::Object(obs), Value::Object(tpl)) => Value::Object(
            obs.into_iter()
                .map(|(k, v)| {
                    let t = tpl.get(&k);
                    (k, conform(v, t))
                })
                .collect(),
        ),
        (Value::Array(obs), Value::Array(tpl)) if obs.len() == tpl.len() => {
            Value::Array(obs.into_iter().zip(tpl).map(|(o, t)| conform(o, Some(t))).collect())
        }
        (Value::Number(n), Value::String(s)) if s.trim().parse::<f64>().ok() == n.as_f64() => Value::String(s.clone()),
        (Value::Number(n), Value::Number(t)) if n.as_f64() == t.as_f64() => Value::Number(t.clone()),
        (Value::Bool(b), Value::String(s)) if s.eq_ignore_ascii_case(&b.to_string()) => Value::String(s.clone()),
        // Services that report everything as text (EC2's attributes, tag values).
        (Value::String(s), Value::Number(n)) if s == n.to_string() => Value::Number(n.clone()),
        (Value::String(s), Value::Bool(b)) if s == b.to_string() => Value::Bool(*b),
        (observed, _) => observed,
    }
}

/// Leaves out top-level properties the template did not set whose observed value is the
/// service's default, so an unset property and its default compare equal.
pub fn omit_defaults(observed: &mut Value, template: &Value, defaults: &[(&str, Value)]) {
    let Value::Object(map) = observed else { return };
    for (key, default) in defaults {
        if template.get(*key).is_none() && map.get(*key) == Some(default) {
            map.remove(*key);
        }
    }
}

/// How a property's values are compared when deciding whether live equals applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Scalars by their text (`"3600"` equals `3600`).
    Scalar,
    /// A policy document, by meaning ([`document::canonical`]).
    Document,
    /// A list of names or ARNs, as a set.
    Set,
    /// `[{Key, Value}]`, as a map.
    Tags,
    /// `[{PolicyName, PolicyDocument}]`, by name, documents by meaning.
    InlinePolicies,
}

/// One property as it is live: `None` when the resource has none. `default` is what the
/// service assumes when a template leaves the property out.
pub struct LiveProperty {
    pub name: &'static str,
    pub value: Option<Value>,
    pub compare: Compare,
    pub default: Option<Value>,
}

impl LiveProperty {
    pub fn new(name: &'static str, compare: Compare, value: Option<Value>) -> Self {
        LiveProperty { name, value, compare, default: None }
    }
    /// A name property: compared when the template set it; a generated name is not reported.
    pub fn name(name: &'static str, live: &str) -> Self {
        LiveProperty::new(name, Compare::Scalar, Some(Value::from(live))).with_default(Value::from(live))
    }

    pub fn with_default(mut self, default: Value) -> Self {
        self.default = Some(default);
        self
    }
}

pub fn canonical(compare: Compare, v: &Value) -> Value {
    match compare {
        Compare::Scalar => scalar_text(v).map(Value::String).unwrap_or_else(|| document::sort_keys(v)),
        Compare::Document => document::canonical(v),
        Compare::Set => {
            let mut items: Vec<String> = match v {
                Value::Array(a) => a.iter().map(|x| scalar_text(x).unwrap_or_else(|| x.to_string())).collect(),
                other => vec![scalar_text(other).unwrap_or_else(|| other.to_string())],
            };
            items.sort();
            items.dedup();
            Value::from(items)
        }
        Compare::Tags => {
            let tags: std::collections::BTreeMap<String, Value> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    Some((t.get("Key").and_then(scalar_text)?, Value::from(t.get("Value").and_then(scalar_text)?)))
                })
                .collect();
            Value::Object(tags.into_iter().collect())
        }
        Compare::InlinePolicies => {
            let mut entries: Vec<(String, Value)> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let name = p.get("PolicyName").and_then(scalar_text).unwrap_or_default();
                    let doc = p.get("PolicyDocument").map(document::canonical).unwrap_or(Value::Null);
                    (name, doc)
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Array(
                entries.into_iter().map(|(n, d)| serde_json::json!({"PolicyName": n, "PolicyDocument": d})).collect(),
            )
        }
    }
}

/// Live properties in the shape of the applied ones, so that a resource nobody touched reads
/// back exactly as applied: where live and applied mean the same, the applied value is
/// returned verbatim; where they differ, the live value. Properties the template left out are
/// reported only when live differs from the service default (drift made outside infra).
pub fn shape_like(applied: &Value, live: Vec<LiveProperty>) -> Value {
    let applied = applied.as_object();
    let mut out = Map::new();
    for p in live {
        let given = applied.and_then(|m| m.get(p.name)).filter(|v| !v.is_null());
        let value = match (given, p.value) {
            (Some(given), Some(live)) => {
                if canonical(p.compare, given) == canonical(p.compare, &live) {
                    given.clone()
                } else {
                    live
                }
            }
            (Some(given), None) => match &p.default {
                // A template that spells out the default reads back as written.
                Some(d) if canonical(p.compare, given) == canonical(p.compare, d) => given.clone(),
                _ => continue,
            },
            (None, Some(live)) => {
                let is_default = match &p.default {
                    Some(d) => canonical(p.compare, d) == canonical(p.compare, &live),
                    None => false,
                };
                if is_default {
                    continue;
                }
                live
            }
            (None, None) => continue,
        };
        out.insert(p.name.to_string(), value);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_conform(observed: Value, template: Value, expected: Value) {
        assert_eq!(conform(observed, Some(&template)), expected);
    }

    #[test]
    fn conform_takes_the_template_representation() {
        check_conform(json!(1), json!("1"), json!("1"));
        check_conform(json!(1.0), json!(1), json!(1));
        check_conform(json!(true), json!("true"), json!("true"));
        check_conform(json!(2), json!("1"), json!(2));
        check_conform(json!({"A": 1, "B": 2}), json!({"A": "1"}), json!({"A": "1", "B": 2}));
        check_conform(json!([1, 2]), json!(["1", "2"]), json!(["1", "2"]));
        check_conform(json!([1, 2]), json!(["1"]), json!([1, 2]));
        check_conform(json!("x"), json!(1), json!("x"));
    }

    fn check(applied: Value, live: Vec<LiveProperty>, expected: Value) {
        assert_eq!(shape_like(&applied, live), expected);
    }

    fn path(v: Option<&str>) -> LiveProperty {
        LiveProperty::new("Path", Compare::Scalar, v.map(Value::from)).with_default(json!("/"))
    }

    #[test]
    fn shaping() {
        check(json!({}), vec![path(Some("/"))], json!({}));
        check(json!({"Path": "/"}), vec![path(Some("/"))], json!({"Path": "/"}));
        check(json!({}), vec![path(Some("/x/"))], json!({"Path": "/x/"}));
        check(json!({"Path": "/"}), vec![path(None)], json!({"Path": "/"}));
        check(json!({"Path": "/a/"}), vec![path(None)], json!({}));
        let dur =
            |v: Option<Value>| LiveProperty::new("MaxSessionDuration", Compare::Scalar, v).with_default(json!(3600));
        check(
            json!({"MaxSessionDuration": "7200"}),
            vec![dur(Some(json!(7200)))],
            json!({"MaxSessionDuration": "7200"}),
        );
        check(json!({"MaxSessionDuration": "7200"}), vec![dur(Some(json!(3600)))], json!({"MaxSessionDuration": 3600}));
        check(json!({}), vec![dur(Some(json!(3600)))], json!({}));
        let arns = |v: Value| LiveProperty::new("ManagedPolicyArns", Compare::Set, Some(v)).with_default(json!([]));
        check(
            json!({"ManagedPolicyArns": ["b", "a"]}),
            vec![arns(json!(["a", "b"]))],
            json!({"ManagedPolicyArns": ["b", "a"]}),
        );
        check(json!({}), vec![arns(json!([]))], json!({}));
        check(json!({}), vec![arns(json!(["x"]))], json!({"ManagedPolicyArns": ["x"]}));
        let tags = |v: Value| LiveProperty::new("Tags", Compare::Tags, Some(v)).with_default(json!([]));
        check(
            json!({"Tags": [{"Key": "b", "Value": 1}, {"Key": "a", "Value": "x"}]}),
            vec![tags(json!([{"Key": "a", "Value": "x"}, {"Key": "b", "Value": "1"}]))],
            json!({"Tags": [{"Key": "b", "Value": 1}, {"Key": "a", "Value": "x"}]}),
        );
        let doc =
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        let pols = |v: Value| LiveProperty::new("Policies", Compare::InlinePolicies, Some(v)).with_default(json!([]));
        check(
            json!({"Policies": [{"PolicyName": "p", "PolicyDocument": doc.to_string()}]}),
            vec![pols(
                json!([{"PolicyName": "p", "PolicyDocument": {"Statement": {"Resource": ["*"], "Action": ["s3:*"], "Effect": "Allow"}, "Version": "2012-10-17"}}]),
            )],
            json!({"Policies": [{"PolicyName": "p", "PolicyDocument": doc.to_string()}]}),
        );
    }

    #[test]
    fn defaults_are_omitted_only_when_unset() {
        let mut observed = json!({"A": false, "B": false});
        omit_defaults(&mut observed, &json!({"B": false}), &[("A", json!(false)), ("B", json!(false))]);
        assert_eq!(observed, json!({"B": false}));
    }
}
