//! Comparing a live resource with its recorded properties, by meaning and by schema.
//!
//! - policy documents (an object with a `Statement`, or its JSON text) as policies
//!   ([`crate::policy::equivalent`]);
//! - numbers and numeric strings as numbers, `"true"` as `true` ([`crate::plan::compare::same`]);
//! - lists whose schema says `insertionOrder: false` as sets;
//! - a property left out as equal to its schema `default`, and to an empty list or object;
//! - write-only properties are not compared (no read returns them) but listed; read-only ones
//!   are the service's, not the template's, and are skipped.

use super::PropertyDrift;
use crate::schema::{PropertySchema, ResourceSchema};
use serde_json::Value as J;

/// What [`differences`] found.
#[derive(Debug, Default, PartialEq)]
pub struct Found {
    pub differences: Vec<PropertyDrift>,
    /// Write-only properties state recorded.
    pub not_checkable: Vec<String>,
}

/// The differences between `recorded` and `live` properties of a resource of `schema`'s type,
/// each at the deepest object key where they part.
pub fn differences(schema: Option<&ResourceSchema>, recorded: &J, live: &J) -> Found {
    let mut found = Found::default();
    let empty = serde_json::Map::new();
    let rec = recorded.as_object().unwrap_or(&empty);
    let liv = live.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = rec.keys().chain(liv.keys()).collect();
    keys.sort();
    keys.dedup();
    let write_only = schema.map(ResourceSchema::write_only_properties).unwrap_or(&[]);
    let read_only = schema.map(ResourceSchema::read_only_properties).unwrap_or(&[]);
    for key in keys {
        if read_only.iter().any(|p| p == key) {
            continue;
        }
        let (mut r, mut l) = (rec.get(key).cloned(), liv.get(key).cloned());
        if write_only.iter().any(|p| p == key) {
            if r.is_some() {
                found.not_checkable.push(key.clone());
            }
            continue;
        }
        // Write-only paths inside the property: taken out of both sides.
        for path in write_only.iter().filter_map(|p| p.strip_prefix(&format!("{key}/"))) {
            if r.as_ref().is_some_and(|v| has_path(v, path)) {
                found.not_checkable.push(format!("{key}/{path}"));
            }
            r = r.map(|v| without(v, path));
            l = l.map(|v| without(v, path));
        }
        let sub = schema.and_then(|s| s.property(key));
        diff(schema, sub, key.clone(), r.as_ref(), l.as_ref(), &mut found.differences);
    }
    found.not_checkable.sort();
    found.not_checkable.dedup();
    found
}

fn diff(
    rs: Option<&ResourceSchema>,
    schema: Option<&PropertySchema>,
    path: String,
    recorded: Option<&J>,
    live: Option<&J>,
    out: &mut Vec<PropertyDrift>,
) {
    if equal(rs, schema, recorded, live) {
        return;
    }
    if let (Some(J::Object(r)), Some(J::Object(l))) = (recorded, live) {
        if !is_policy(recorded.unwrap()) {
            let mut keys: Vec<&String> = r.keys().chain(l.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let sub = child(rs, schema, k);
                diff(rs, sub, format!("{path}/{k}"), r.get(k), l.get(k), out);
            }
            return;
        }
    }
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    if let (Some(J::Array(r)), Some(J::Array(l)), true) = (recorded, live, unordered(rs, schema)) {
        let items = item(rs, schema);
        added = l.iter().filter(|x| !r.iter().any(|y| equal(rs, items, Some(y), Some(x)))).cloned().collect();
        removed = r.iter().filter(|x| !l.iter().any(|y| equal(rs, items, Some(x), Some(y)))).cloned().collect();
    }
    out.push(PropertyDrift {
        path,
        recorded: recorded.cloned().unwrap_or(J::Null),
        live: live.cloned().unwrap_or(J::Null),
        added,
        removed,
    });
}

fn resolve<'a>(rs: Option<&'a ResourceSchema>, s: Option<&'a PropertySchema>) -> Option<&'a PropertySchema> {
    match (rs, s) {
        (Some(rs), Some(s)) => Some(rs.resolve(s)),
        (None, s) => s,
        (_, None) => None,
    }
}

fn child<'a>(rs: Option<&'a ResourceSchema>, s: Option<&'a PropertySchema>, key: &str) -> Option<&'a PropertySchema> {
    resolve(rs, resolve(rs, s).and_then(|s| s.properties.get(key)))
}

fn item<'a>(rs: Option<&'a ResourceSchema>, s: Option<&'a PropertySchema>) -> Option<&'a PropertySchema> {
    resolve(rs, resolve(rs, s).and_then(|s| s.items.as_deref()))
}

fn unordered(rs: Option<&ResourceSchema>, s: Option<&PropertySchema>) -> bool {
    resolve(rs, s).is_some_and(|s| s.insertion_order == Some(false))
}

/// Absent, `null`, `[]` and `{}` all mean "not set".
fn is_unset(v: Option<&J>) -> bool {
    match v {
        None | Some(J::Null) => true,
        Some(J::Array(a)) => a.is_empty(),
        Some(J::Object(o)) => o.values().all(J::is_null),
        _ => false,
    }
}

/// A policy document, as an object or as its JSON text.
fn is_policy(v: &J) -> bool {
    match v {
        J::Object(o) => o.contains_key("Statement"),
        J::String(s) => s.trim_start().starts_with('{') && s.contains("\"Statement\""),
        _ => false,
    }
}

/// Whether two values mean the same, under `schema`.
pub fn equal(rs: Option<&ResourceSchema>, schema: Option<&PropertySchema>, a: Option<&J>, b: Option<&J>) -> bool {
    let schema = resolve(rs, schema);
    let default = schema.and_then(|s| s.default.as_ref());
    match (is_unset(a), is_unset(b)) {
        (true, true) => return true,
        (true, false) => return default.is_some_and(|d| crate::plan::compare::same(d, b.unwrap())),
        (false, true) => return default.is_some_and(|d| crate::plan::compare::same(d, a.unwrap())),
        (false, false) => {}
    }
    let (a, b) = (a.unwrap(), b.unwrap());
    if is_policy(a) && is_policy(b) {
        if let (Ok(x), Ok(y)) = (crate::policy::parse(a), crate::policy::parse(b)) {
            return crate::policy::equivalent(&x, &y);
        }
    }
    match (a, b) {
        (J::Array(x), J::Array(y)) => {
            let items = item(rs, schema);
            if x.len() != y.len() {
                return false;
            }
            if unordered(rs, schema) {
                // A multiset match: every item pairs with a distinct equal item.
                let mut used = vec![false; y.len()];
                x.iter().all(|p| {
                    let hit = y.iter().enumerate().find(|(i, q)| !used[*i] && equal(rs, items, Some(p), Some(q)));
                    hit.map(|(i, _)| used[i] = true).is_some()
                })
            } else {
                x.iter().zip(y).all(|(p, q)| equal(rs, items, Some(p), Some(q)))
            }
        }
        (J::Object(x), J::Object(y)) => {
            let keys = x.keys().chain(y.keys());
            keys.into_iter().all(|k| equal(rs, child(rs, schema, k), x.get(k), y.get(k)))
        }
        _ => crate::plan::compare::same(a, b),
    }
}

fn has_path(v: &J, path: &str) -> bool {
    let (head, rest) = path.split_once('/').unwrap_or((path, ""));
    match (v, head) {
        (J::Array(items), "*") => items.iter().any(|i| rest.is_empty() || has_path(i, rest)),
        (J::Object(o), k) => o.get(k).is_some_and(|c| rest.is_empty() || has_path(c, rest)),
        _ => false,
    }
}

/// `v` without what `path` (`*` for every list item) names.
fn without(mut v: J, path: &str) -> J {
    let (head, rest) = path.split_once('/').unwrap_or((path, ""));
    match (&mut v, head) {
        (J::Array(items), "*") if !rest.is_empty() => {
            for i in items.iter_mut() {
                *i = without(std::mem::take(i), rest);
            }
        }
        (J::Object(o), k) if rest.is_empty() => {
            o.remove(k);
        }
        (J::Object(o), k) => {
            if let Some(c) = o.get_mut(k) {
                *c = without(std::mem::take(c), rest);
            }
        }
        _ => {}
    }
    v
}
