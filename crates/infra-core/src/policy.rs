//! IAM policy documents: parsing what AWS returns (URL-encoded JSON text) and a canonical form
//! in which documents that mean the same differ only if their meaning differs.
//!
//! Canonical form: keys sorted; `Statement` always a list, its statements sorted; `Action`,
//! `NotAction`, `Resource`, `NotResource` and every principal and condition value a sorted,
//! de-duplicated list; numbers and booleans inside conditions as strings (IAM compares them as
//! strings); an account ID as an AWS principal equals that account's root ARN, as IAM stores
//! it. Only order, nesting of single values, formatting and IAM's own rewriting are erased.

use serde_json::{Map, Value};

/// A policy document as given in a template (a JSON object, or JSON text) or as returned by
/// IAM (URL-encoded JSON text), parsed.
pub fn parse(document: &Value) -> Result<Value, String> {
    match document {
        Value::String(text) => parse_text(text),
        Value::Object(_) => Ok(document.clone()),
        other => Err(format!("a policy document must be a JSON object, not {}", type_name(other))),
    }
}

/// Parse policy JSON text, URL-decoding it first when it is encoded (as IAM returns it).
pub fn parse_text(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start();
    let decoded;
    let json = if trimmed.starts_with('{') {
        text
    } else {
        decoded = urlencoding::decode(text).map_err(|e| format!("invalid URL encoding in policy document: {e}"))?;
        &decoded
    };
    let value: Value = serde_json::from_str(json).map_err(|e| format!("invalid JSON in policy document: {e}"))?;
    if !value.is_object() {
        return Err(format!("a policy document must be a JSON object, not {}", type_name(&value)));
    }
    Ok(value)
}

/// The JSON text to send to IAM for a template's policy document.
pub fn to_text(document: &Value) -> Result<String, String> {
    match document {
        // Text is sent as written: IAM keeps the author's formatting.
        Value::String(text) => parse_text(text).map(|_| text.clone()),
        Value::Object(_) => serde_json::to_string(document).map_err(|e| e.to_string()),
        other => Err(format!("a policy document must be a JSON object, not {}", type_name(other))),
    }
}

/// The canonical form of a document (see the module docs). Unparseable input is returned as is,
/// so two identical malformed documents still compare equal.
pub fn canonical(document: &Value) -> Value {
    match parse(document) {
        Ok(doc) => canonical_document(&doc),
        Err(_) => document.clone(),
    }
}

/// Whether two documents mean the same.
pub fn equivalent(a: &Value, b: &Value) -> bool {
    canonical(a) == canonical(b)
}

fn canonical_document(doc: &Value) -> Value {
    let Value::Object(map) = doc else { return doc.clone() };
    let mut out = Map::new();
    for (k, v) in sorted(map) {
        let v = match k.as_str() {
            "Statement" => {
                let mut statements: Vec<Value> = as_list(v).iter().map(canonical_statement).collect();
                statements.sort_by_cached_key(|s| s.to_string());
                statements.dedup();
                Value::Array(statements)
            }
            _ => sort_keys(v),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

fn canonical_statement(statement: &Value) -> Value {
    let Value::Object(map) = statement else { return sort_keys(statement) };
    let mut out = Map::new();
    for (k, v) in sorted(map) {
        let v = match k.as_str() {
            "Action" | "NotAction" | "Resource" | "NotResource" => string_set(v),
            "Principal" | "NotPrincipal" => match v {
                Value::Object(p) => Value::Object(
                    sorted(p)
                        .map(|(k, v)| {
                            let v = if k == "AWS" { account_principals(v) } else { v.clone() };
                            (k.clone(), string_set(&v))
                        })
                        .collect(),
                ),
                other => other.clone(),
            },
            "Condition" => match v {
                Value::Object(ops) => Value::Object(
                    sorted(ops)
                        .map(|(op, keys)| {
                            let keys = match keys {
                                Value::Object(keys) => {
                                    Value::Object(sorted(keys).map(|(k, v)| (k.clone(), string_set(v))).collect())
                                }
                                other => sort_keys(other),
                            };
                            (op.clone(), keys)
                        })
                        .collect(),
                ),
                other => sort_keys(other),
            },
            _ => sort_keys(v),
        };
        out.insert(k.clone(), v);
    }
    Value::Object(out)
}

/// IAM stores an account ID given as an AWS principal as that account's root ARN
/// (`123456789012` reads back as `arn:aws:iam::123456789012:root`, with the region's
/// partition); both become `account:123456789012`.
fn account_principals(v: &Value) -> Value {
    let is_account = |s: &str| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit());
    let root = |x: &Value| {
        let text = match x {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => return other.clone(),
        };
        let account = match text.split(':').collect::<Vec<_>>().as_slice() {
            [id] if is_account(id) => Some(id.to_string()),
            ["arn", _, "iam", "", id, "root"] if is_account(id) => Some(id.to_string()),
            _ => None,
        };
        match account {
            Some(id) => Value::String(format!("account:{id}")),
            None => x.clone(),
        }
    };
    match v {
        Value::Array(items) => Value::Array(items.iter().map(root).collect()),
        other => root(other),
    }
}

/// A single value or a list of scalars, as a sorted, de-duplicated list of strings.
fn string_set(v: &Value) -> Value {
    let mut items: Vec<Value> = as_list(v)
        .iter()
        .map(|x| match x {
            Value::Number(n) => Value::String(n.to_string()),
            Value::Bool(b) => Value::String(b.to_string()),
            other => sort_keys(other),
        })
        .collect();
    items.sort_by_cached_key(|x| x.to_string());
    items.dedup();
    Value::Array(items)
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}

fn sorted(map: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries.into_iter()
}

/// `v` with every object's keys in sorted order (serde_json keeps insertion order here).
pub fn sort_keys(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(sorted(map).map(|(k, v)| (k.clone(), sort_keys(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(a: Value, b: Value, same: bool) {
        assert_eq!(equivalent(&a, &b), same, "{a} vs {b}");
    }

    #[test]
    fn equivalence() {
        let base = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}]});
        check(base.clone(), base.clone(), true);
        check(
            base.clone(),
            json!({"Statement": {"Resource": ["*"], "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObject"], "Effect": "Allow"}, "Version": "2012-10-17"}),
            true,
        );
        check(base.clone(), Value::String(base.to_string()), true);
        check(base.clone(), Value::String(urlencoding::encode(&base.to_string()).into_owned()), true);
        check(base.clone(), Value::String(serde_json::to_string_pretty(&base).unwrap_or_default()), true);
        check(
            base.clone(),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "*"}]}),
            false,
        );
        check(
            base.clone(),
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}),
            false,
        );
        check(
            json!({"Statement": [{"Sid": "B", "Effect": "Allow", "Action": "a:b", "Resource": "*"}, {"Sid": "A", "Effect": "Allow", "Action": "c:d", "Resource": "*"}]}),
            json!({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "c:d", "Resource": "*"}, {"Sid": "B", "Effect": "Allow", "Action": "a:b", "Resource": "*"}]}),
            true,
        );
        check(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": ["sagemaker.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]}),
            true,
        );
        check(
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}),
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}),
            false,
        );
        check(
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": true}, "NumericLessThan": {"s3:max-keys": 10}}}]}),
            json!({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": ["10"]}, "Bool": {"aws:SecureTransport": "true"}}}]}),
            true,
        );
        check(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["123456789012", "arn:aws:iam::210987654321:role/x"]}, "Action": "sts:AssumeRole"}]}),
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::210987654321:role/x", "arn:aws-cn:iam::123456789012:root"]}, "Action": "sts:AssumeRole"}]}),
            true,
        );
        check(
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}]}),
            json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789013:root"}, "Action": "sts:AssumeRole"}]}),
            false,
        );
        check(json!("{not json"), json!("{not json"), true);
        check(json!("{not json"), json!({}), false);
    }

    #[test]
    fn parsing_errors() {
        assert_eq!(parse(&json!(3)), Err("a policy document must be a JSON object, not a number".to_string()));
        assert!(parse_text("%7Bbad").is_err_and(|e| e.starts_with("invalid JSON")));
        assert_eq!(parse_text("[1]"), Err("a policy document must be a JSON object, not a list".to_string()));
        assert_eq!(to_text(&json!({"A": 1})), Ok("{\"A\":1}".to_string()));
    }
}
