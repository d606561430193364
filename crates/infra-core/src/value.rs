//! Evaluated values: plain data, plus the references that are only known after apply.
//!
//! Template evaluation folds everything it can (parameters, mappings, conditions, pseudo
//! parameters, string functions on known inputs). What is left depends on a resource that the
//! engine has not created yet: `Ref` or `Fn::GetAtt` of a resource, or a string function over
//! one. Those stay as [`Expr`] nodes inside the value until [`Value::resolve`] is given the
//! resource's attributes; it computes each function with [`crate::template::intrinsics`], as
//! evaluation does. The plan shows an unresolved value as "(known after apply)".
//!
//! A `Value` round-trips through JSON: an `Expr` is written in CloudFormation's long form
//! (`{"Ref": "X"}`, `{"Fn::GetAtt": ["X", "Arn"]}`), which is how saved plans carry it.

use crate::template::intrinsics::{self, Intrinsic, IntrinsicError};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// A value that depends on a resource attribute not known yet.
    Expr(Box<Expr>),
}

/// The closed set of intrinsics that can survive template evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `Ref` of a resource: its physical ID.
    Ref(String),
    /// `Fn::GetAtt` of a resource attribute.
    GetAtt(String, String),
    /// `Fn::Join [delimiter, list]` (and `Fn::Sub`, rewritten as a join of literal and
    /// referenced parts). The list is a `Value::List` of parts, or a value known after apply
    /// that will be a list (`!Join [",", !GetAtt Vpc.CidrBlockAssociations]`).
    Join(String, Value),
    Select(usize, Value),
    Split(String, Value),
    Base64(Value),
    /// `Fn::Cidr [ipBlock, count, cidrBits]`.
    Cidr(Value, Value, Value),
    /// `Fn::ImportValue` of an export that a lower layer has not produced yet.
    ImportValue(Value),
}

/// Looks up a resource attribute (`attr == None` for `Ref`) or an export, at plan or apply time.
pub trait Resolver {
    fn attribute(&self, logical_id: &str, attr: Option<&str>) -> Option<Value>;
    fn export(&self, _name: &str) -> Option<Value> {
        None
    }
}

impl Value {
    pub fn is_known(&self) -> bool {
        match self {
            Value::Expr(_) => false,
            Value::List(v) => v.iter().all(Value::is_known),
            Value::Map(m) => m.values().all(Value::is_known),
            _ => true,
        }
    }

    /// What kind of value this is, for messages ("must be a list, found a string").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
            Value::Expr(_) => "a value known only after apply",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Logical IDs this value refers to (through `Ref` and `Fn::GetAtt`).
    pub fn references(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs(&self, out: &mut BTreeSet<String>) {
        match self {
            Value::List(v) => v.iter().for_each(|x| x.collect_refs(out)),
            Value::Map(m) => m.values().for_each(|x| x.collect_refs(out)),
            Value::Expr(e) => match e.as_ref() {
                Expr::Ref(id) | Expr::GetAtt(id, _) => {
                    out.insert(id.clone());
                }
                Expr::Join(_, v) | Expr::Select(_, v) | Expr::Split(_, v) | Expr::Base64(v) | Expr::ImportValue(v) => {
                    v.collect_refs(out)
                }
                Expr::Cidr(a, b, c) => [a, b, c].iter().for_each(|x| x.collect_refs(out)),
            },
            _ => {}
        }
    }

    /// Replace every expression whose inputs the resolver knows by its value. What cannot be
    /// resolved stays an expression (known after apply).
    pub fn resolve(&self, r: &dyn Resolver) -> Value {
        self.resolve_noting(r, &mut None)
    }

    /// As [`Value::resolve`], but a function that refuses its resolved arguments (an index out
    /// of range, a list where a string belongs) is an error rather than a value left unknown.
    pub fn try_resolve(&self, r: &dyn Resolver) -> Result<Value, IntrinsicError> {
        let mut refused = None;
        let v = self.resolve_noting(r, &mut refused);
        match refused {
            Some(e) => Err(e),
            None => Ok(v),
        }
    }

    /// Resolve, keeping the first refusal in `refused`.
    fn resolve_noting(&self, r: &dyn Resolver, refused: &mut Option<IntrinsicError>) -> Value {
        match self {
            Value::List(v) => Value::List(v.iter().map(|x| x.resolve_noting(r, refused)).collect()),
            Value::Map(m) => Value::Map(m.iter().map(|(k, x)| (k.clone(), x.resolve_noting(r, refused))).collect()),
            Value::Expr(e) => e.resolve(r, refused),
            other => other.clone(),
        }
    }

    /// Plain JSON, with expressions in CloudFormation's long form.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Value as J};
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => J::Number(n.clone()),
            Value::String(s) => J::String(s.clone()),
            Value::List(v) => J::Array(v.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Expr(e) => {
                let arg = match e.as_ref() {
                    Expr::Ref(id) => json!(id),
                    Expr::GetAtt(id, a) => json!([id, a]),
                    Expr::Join(sep, list) => json!([sep, list.to_json()]),
                    Expr::Select(i, v) => json!([i, v.to_json()]),
                    Expr::Split(sep, v) => json!([sep, v.to_json()]),
                    Expr::Base64(v) | Expr::ImportValue(v) => v.to_json(),
                    Expr::Cidr(a, b, c) => json!([a.to_json(), b.to_json(), c.to_json()]),
                };
                J::Object([(e.intrinsic().as_str().to_string(), arg)].into_iter().collect())
            }
        }
    }

    /// Inverse of [`Value::to_json`]: one-key maps in intrinsic form become expressions.
    pub fn from_json(j: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match j {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Number(n.clone()),
            J::String(s) => Value::String(s.clone()),
            J::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            J::Object(o) => {
                if o.len() == 1 {
                    let (k, v) = o.iter().next().expect("one entry");
                    if let Some(e) = Expr::from_json(k, v) {
                        return Value::Expr(Box::new(e));
                    }
                }
                Value::Map(o.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }
}

impl From<&serde_json::Value> for Value {
    fn from(j: &serde_json::Value) -> Self {
        Value::from_json(j)
    }
}

impl Expr {
    /// The function this expression applies.
    pub fn intrinsic(&self) -> Intrinsic {
        match self {
            Expr::Ref(_) => Intrinsic::Ref,
            Expr::GetAtt(..) => Intrinsic::GetAtt,
            Expr::Join(..) => Intrinsic::Join,
            Expr::Select(..) => Intrinsic::Select,
            Expr::Split(..) => Intrinsic::Split,
            Expr::Base64(_) => Intrinsic::Base64,
            Expr::Cidr(..) => Intrinsic::Cidr,
            Expr::ImportValue(_) => Intrinsic::ImportValue,
        }
    }

    fn from_json(k: &str, v: &serde_json::Value) -> Option<Expr> {
        let arr = v.as_array();
        let at = |i: usize| arr.and_then(|a| a.get(i));
        Some(match Intrinsic::parse(k)? {
            Intrinsic::Ref => Expr::Ref(v.as_str()?.to_string()),
            Intrinsic::GetAtt => Expr::GetAtt(at(0)?.as_str()?.to_string(), at(1)?.as_str()?.to_string()),
            Intrinsic::Join => match Value::from_json(at(1)?) {
                list @ (Value::List(_) | Value::Expr(_)) => Expr::Join(at(0)?.as_str()?.to_string(), list),
                _ => return None,
            },
            Intrinsic::Select => Expr::Select(at(0)?.as_u64()? as usize, Value::from_json(at(1)?)),
            Intrinsic::Split => Expr::Split(at(0)?.as_str()?.to_string(), Value::from_json(at(1)?)),
            Intrinsic::Base64 => Expr::Base64(Value::from_json(v)),
            Intrinsic::Cidr => Expr::Cidr(Value::from_json(at(0)?), Value::from_json(at(1)?), Value::from_json(at(2)?)),
            Intrinsic::ImportValue => Expr::ImportValue(Value::from_json(v)),
            _ => return None,
        })
    }

    /// Resolve the arguments, then apply the function to them through
    /// [`crate::template::intrinsics`], as evaluation does. An argument that is still unknown,
    /// or one the function refuses (noted in `refused`), leaves the expression, over the
    /// arguments resolved so far.
    fn resolve(&self, r: &dyn Resolver, refused: &mut Option<IntrinsicError>) -> Value {
        let keep = |e: Expr| Value::Expr(Box::new(e));
        let mut arg = |v: &Value| v.resolve_noting(r, refused);
        let (result, unresolved) = match self {
            Expr::Ref(id) => return r.attribute(id, None).unwrap_or_else(|| keep(self.clone())),
            Expr::GetAtt(id, a) => return r.attribute(id, Some(a)).unwrap_or_else(|| keep(self.clone())),
            Expr::ImportValue(v) => return intrinsics::import_value(&arg(v), |name| r.export(name)),
            Expr::Join(sep, list) => {
                let list = arg(list);
                (intrinsics::join(sep, &list), Expr::Join(sep.clone(), list))
            }
            Expr::Select(i, list) => {
                let list = arg(list);
                (intrinsics::select(*i, &list), Expr::Select(*i, list))
            }
            Expr::Split(sep, v) => {
                let v = arg(v);
                (intrinsics::split(sep, &v), Expr::Split(sep.clone(), v))
            }
            Expr::Base64(v) => {
                let v = arg(v);
                (intrinsics::base64(&v), Expr::Base64(v))
            }
            Expr::Cidr(a, b, c) => {
                let (a, b, c) = (arg(a), arg(b), arg(c));
                (intrinsics::cidr(&a, &b, &c), Expr::Cidr(a, b, c))
            }
        };
        result.unwrap_or_else(|error| {
            refused.get_or_insert(error);
            keep(unresolved)
        })
    }
}

/// The string form of a known scalar, as `Fn::Join` and `Fn::Sub` render it.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Attrs;
    impl Resolver for Attrs {
        fn attribute(&self, id: &str, attr: Option<&str>) -> Option<Value> {
            match (id, attr) {
                ("Role", None) => Some(Value::String("role-1".into())),
                ("Role", Some("Arn")) => Some(Value::String("arn:aws:iam::1:role/role-1".into())),
                _ => None,
            }
        }
    }

    #[test]
    fn resolve_and_round_trip() {
        let j = json!({"A": {"Fn::Join": ["/", [{"Ref": "Role"}, {"Fn::GetAtt": ["Other", "Arn"]}]]}, "B": {"Fn::GetAtt": ["Role", "Arn"]}});
        let v = Value::from_json(&j);
        assert_eq!(v.to_json(), j);
        assert_eq!(v.references().into_iter().collect::<Vec<_>>(), vec!["Other", "Role"]);
        let r = v.resolve(&Attrs);
        assert!(!r.is_known());
        assert_eq!(r.to_json()["B"], json!("arn:aws:iam::1:role/role-1"));
        assert_eq!(r.to_json()["A"], json!({"Fn::Join": ["/", ["role-1", {"Fn::GetAtt": ["Other", "Arn"]}]]}));
    }
}
