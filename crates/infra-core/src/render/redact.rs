//! Hiding secrets in everything infra shows: one [`Redactor`], built from the values of
//! `NoEcho` parameters ([`crate::project::Project::secrets`]), masks them in evaluated
//! values, in JSON documents and in plain text (progress lines, error messages, diagnostics).
//!
//! A string that contains a secret is shown whole as [`SENSITIVE`], as Terraform does, so a
//! secret cannot be pieced together from its surroundings; in plain text each occurrence is
//! replaced. Text is searched for a secret both as it is and as it looks inside a JSON
//! string (quotes and backslashes escaped), so a message quoting a JSON document leaks
//! nothing either. Saved plans and state files are not output: they keep the real values.

use crate::plan::Plan;
use crate::value::{Expr, Value};
use serde_json::Value as J;

/// What a secret is shown as.
pub const SENSITIVE: &str = "(sensitive value)";

/// Masks a fixed set of secret strings. The default masks nothing (`--show-sensitive`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Redactor {
    /// The secrets, longest first so that one containing another is masked whole.
    secrets: Vec<String>,
    /// What to look for in text: each secret, and its JSON-escaped form where that differs.
    needles: Vec<String>,
}

impl Redactor {
    /// A redactor for these secrets; empty strings are ignored (they would match anything).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let mut secrets: Vec<String> =
            secrets.into_iter().map(|s| s.as_ref().to_string()).filter(|s| !s.is_empty()).collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        let mut needles = secrets.clone();
        for s in &secrets {
            let quoted = J::String(s.clone()).to_string();
            let escaped = &quoted[1..quoted.len() - 1];
            if escaped != s {
                needles.push(escaped.to_string());
            }
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Redactor { secrets, needles }
    }

    /// A redactor that masks nothing.
    pub fn none() -> Self {
        Redactor::default()
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Whether `s` contains a secret.
    pub fn reveals(&self, s: &str) -> bool {
        self.needles.iter().any(|n| s.contains(n.as_str()))
    }

    /// `text` with every occurrence of a secret replaced by [`SENSITIVE`].
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), SENSITIVE);
            }
        }
        out
    }

    /// `v` with every string that contains a secret replaced by [`SENSITIVE`], and secrets in
    /// object keys replaced in place.
    pub fn json(&self, v: &J) -> J {
        if self.is_empty() {
            return v.clone();
        }
        self.json_with(v, SENSITIVE)
    }

    fn json_with(&self, v: &J, mask: &str) -> J {
        match v {
            J::String(s) if self.reveals(s) => J::String(mask.to_string()),
            J::Array(items) => J::Array(items.iter().map(|x| self.json_with(x, mask)).collect()),
            J::Object(m) => J::Object(m.iter().map(|(k, x)| (self.text(k), self.json_with(x, mask))).collect()),
            other => other.clone(),
        }
    }

    /// `v` with every string that contains a secret replaced by `mask`.
    pub fn value_with(&self, v: &Value, mask: &str) -> Value {
        let s = |x: &Value| self.value_with(x, mask);
        match v {
            Value::String(text) if self.reveals(text) => Value::String(mask.to_string()),
            Value::List(items) => Value::List(items.iter().map(s).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, x)| (self.text(k), s(x))).collect()),
            Value::Expr(e) => Value::Expr(Box::new(match e.as_ref() {
                Expr::Ref(_) | Expr::GetAtt(..) => e.as_ref().clone(),
                Expr::Join(sep, list) => Expr::Join(self.text(sep), s(list)),
                Expr::Select(i, x) => Expr::Select(*i, s(x)),
                Expr::Split(sep, x) => Expr::Split(self.text(sep), s(x)),
                Expr::Base64(x) => Expr::Base64(s(x)),
                Expr::Cidr(a, b, c) => Expr::Cidr(s(a), s(b), s(c)),
                Expr::ImportValue(x) => Expr::ImportValue(s(x)),
            })),
            other => other.clone(),
        }
    }

    /// `v` with every string that contains a secret replaced by [`SENSITIVE`].
    pub fn value(&self, v: &Value) -> Value {
        self.value_with(v, SENSITIVE)
    }

    /// A copy of `plan` to show: planned and recorded properties and outputs masked, with
    /// `mask` standing in for each secret.
    pub fn plan_with(&self, plan: &Plan, mask: &str) -> Plan {
        let mut masked = plan.clone();
        if self.is_empty() {
            return masked;
        }
        for lp in &mut masked.layers {
            for c in &mut lp.changes {
                if let Some(after) = &mut c.after {
                    *after = self.value_with(after, mask);
                }
                if let Some(before) = &mut c.before {
                    before.physical_id = self.text(&before.physical_id);
                    before.properties = self.json_with(&before.properties, mask);
                    for a in before.attributes.values_mut() {
                        *a = self.json_with(a, mask);
                    }
                }
            }
            for o in &mut lp.outputs {
                o.after = o.after.as_ref().map(|v| self.value_with(v, mask));
                o.before = o.before.as_ref().map(|v| self.json_with(v, mask));
            }
        }
        masked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_text_json_and_values() {
        let r = Redactor::new(["hunter2", "", "a\"b", "hunter2"]);
        let cases = [
            ("password hunter2 rejected", "password (sensitive value) rejected"),
            ("json {\"p\":\"a\\\"b\"}", "json {\"p\":\"(sensitive value)\"}"),
            ("raw a\"b", "raw (sensitive value)"),
            ("nothing here", "nothing here"),
        ];
        for (text, expected) in cases {
            assert_eq!(r.text(text), expected, "{text}");
        }
        assert_eq!(
            r.json(&json!({"A": "x-hunter2-y", "B": ["ok", 3, "hunter2"], "hunter2": true})),
            json!({"A": SENSITIVE, "B": ["ok", 3, SENSITIVE], "(sensitive value)": true})
        );
        let v = Value::from_json(&json!({"K": ["x", "hunter2!"], "N": 1}));
        assert_eq!(r.value(&v).to_json(), json!({"K": ["x", SENSITIVE], "N": 1}));
        let none = Redactor::none();
        assert!(none.is_empty());
        assert_eq!(none.text("hunter2"), "hunter2");
    }

    #[test]
    fn a_longer_secret_is_masked_whole() {
        let r = Redactor::new(["abc", "abcdef"]);
        assert_eq!(r.text("abcdef and abc"), "(sensitive value) and (sensitive value)");
    }
}
