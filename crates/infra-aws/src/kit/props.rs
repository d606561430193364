//! The one property reader: CloudFormation properties into SDK inputs, with errors that name
//! the property's path (`property Variants.1.Count must be an integer`).
//!
//! Templates are lenient about scalar types (parameters are strings, so `"1"` stands for an
//! integer and `"true"` for a boolean); the reader honours that, and
//! [`readback`](super::readback) honours it on the way back.

use infra_core::provider::{ErrorKind, ProviderError};
use serde_json::{Map, Value};

/// A JSON object of properties, with the path that reached it for messages.
#[derive(Clone, Copy)]
pub struct Props<'a> {
    map: &'a Map<String, Value>,
    path: Path<'a>,
    operation: &'a str,
}

/// Where in the properties we are; kept as a chain so nested access never allocates
/// unless an error is reported.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
}

fn render_path(path: &Path<'_>, key: &str) -> String {
    fn walk(path: &Path<'_>, out: &mut Vec<String>) {
        if let Path::Key(parent, key) = path {
            walk(parent, out);
            out.push((*key).to_string());
        }
    }
    let mut parts = Vec::new();
    walk(path, &mut parts);
    parts.push(key.to_string());
    parts.join(".")
}

impl<'a> Props<'a> {
    /// The resource's properties; `operation` names the call they are for, in errors.
    pub fn root(value: &'a Value, operation: &'a str) -> Result<Props<'a>, ProviderError> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        match value {
            Value::Object(map) => Ok(Props { map, path: Path::Root, operation }),
            Value::Null => Ok(Props { map: EMPTY.get_or_init(Map::new), path: Path::Root, operation }),
            _ => Err(ProviderError::new(ErrorKind::Invalid, operation, "properties must be an object")),
        }
    }

    fn invalid(&self, key: &str, expected: &str) -> ProviderError {
        ProviderError::new(
            ErrorKind::Invalid,
            self.operation,
            format!("property {} must be {expected}", render_path(&self.path, key)),
        )
    }

    /// The raw value, treating `null` as absent.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn string(&self, key: &str) -> Result<Option<String>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => scalar_text(v).map(Some).ok_or_else(|| self.invalid(key, "a string")),
        }
    }

    pub fn required_string(&self, key: &str) -> Result<String, ProviderError> {
        self.string(key)?.ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Invalid,
                self.operation,
                format!("property {} is required", render_path(&self.path, key)),
            )
        })
    }

    /// An integer: a JSON integer, or a string holding one (`3`, `"3"`); never a fraction or
    /// a float's spelling (`3.5`, `3.0`, `"3.0"`), and never outside the 32-bit range.
    pub fn int(&self, key: &str) -> Result<Option<i32>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => integer(v).map(Some).ok_or_else(|| self.invalid(key, "an integer")),
        }
    }

    pub fn float(&self, key: &str) -> Result<Option<f64>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => as_f64(v).map(Some).ok_or_else(|| self.invalid(key, "a number")),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(self.invalid(key, "a boolean")),
        }
    }

    /// Calls `f` with the nested object under `key`, if present.
    pub fn object<T>(
        &self,
        key: &str,
        f: impl FnOnce(Props<'_>) -> Result<T, ProviderError>,
    ) -> Result<Option<T>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => {
                let path = Path::Key(&self.path, key);
                f(Props { map, path, operation: self.operation }).map(Some)
            }
            Some(_) => Err(self.invalid(key, "an object")),
        }
    }

    /// Maps `f` over the list of objects under `key`; `None` when absent.
    pub fn objects<T>(
        &self,
        key: &str,
        mut f: impl FnMut(Props<'_>) -> Result<T, ProviderError>,
    ) -> Result<Option<Vec<T>>, ProviderError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(self.invalid(key, "a list"));
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let index = i.to_string();
            let list_path = Path::Key(&self.path, key);
            let Value::Object(map) = item else {
                return Err(ProviderError::new(
                    ErrorKind::Invalid,
                    self.operation,
                    format!("property {} must be an object", render_path(&list_path, &index)),
                ));
            };
            let path = Path::Key(&list_path, &index);
            out.push(f(Props { map, path, operation: self.operation })?);
        }
        Ok(Some(out))
    }

    pub fn strings(&self, key: &str) -> Result<Option<Vec<String>>, ProviderError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = value else {
            return Err(self.invalid(key, "a list of strings"));
        };
        items
            .iter()
            .map(|v| scalar_text(v).ok_or_else(|| self.invalid(key, "a list of strings")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A map of strings, such as a container's `Environment`.
    pub fn string_map(&self, key: &str) -> Result<Option<Vec<(String, String)>>, ProviderError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let Value::Object(map) = value else {
            return Err(self.invalid(key, "a map of strings"));
        };
        map.iter()
            .map(|(k, v)| scalar_text(v).map(|t| (k.clone(), t)).ok_or_else(|| self.invalid(key, "a map of strings")))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A list of strings; empty when absent.
    pub fn string_list(&self, key: &str) -> Result<Vec<String>, ProviderError> {
        Ok(self.strings(key)?.unwrap_or_default())
    }

    /// A policy document as the JSON text the service takes (an object, or its text).
    pub fn document(&self, key: &str) -> Result<Option<String>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => crate::policy::to_text(v).map(Some).map_err(|e| {
                ProviderError::new(
                    ErrorKind::Invalid,
                    self.operation,
                    format!("property {}: {e}", render_path(&self.path, key)),
                )
            }),
        }
    }

    pub fn required_document(&self, key: &str) -> Result<String, ProviderError> {
        self.document(key)?.ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Invalid,
                self.operation,
                format!("property {} is required", render_path(&self.path, key)),
            )
        })
    }

    /// A string that must be one of `allowed` (an enumeration of the service's).
    pub fn one_of(&self, key: &str, allowed: &[&str]) -> Result<Option<String>, ProviderError> {
        match self.string(key)? {
            Some(v) if !allowed.contains(&v.as_str()) => Err(ProviderError::new(
                ErrorKind::Invalid,
                self.operation,
                format!("property {} must be one of {}, not {v:?}", render_path(&self.path, key), allowed.join(", ")),
            )),
            other => Ok(other),
        }
    }

    /// Refuses every key set here that is not in `supported`, as unsupported by `provider`
    /// (`infra's S3 provider`): a property infra does not implement is never silently ignored.
    pub fn only(&self, supported: &[&str], provider: &str) -> Result<(), ProviderError> {
        match self.map.iter().find(|(k, v)| !v.is_null() && !supported.contains(&k.as_str())) {
            Some((key, _)) => Err(ProviderError::new(
                ErrorKind::Unsupported,
                self.operation,
                format!(
                    "property {} is not supported by {provider}; remove it from the template or manage it \
                     outside infra",
                    render_path(&self.path, key)
                ),
            )),
            None => Ok(()),
        }
    }

    /// `Tags` as key/value pairs (empty when absent).
    pub fn tags(&self) -> Result<Vec<(String, String)>, ProviderError> {
        Ok(self
            .objects("Tags", |t| Ok((t.required_string("Key")?, t.string("Value")?.unwrap_or_default())))?
            .unwrap_or_default())
    }
}

/// Refuses an in-place change of a create-only property (the engine replaces instead; this
/// guards against a plan that did not). Values are compared as text, so `16` equals `"16"`.
pub fn check_in_place(
    old: &serde_json::Value,
    new: &serde_json::Value,
    create_only: &[impl AsRef<str>],
    what: &str,
    operation: &str,
) -> Result<(), ProviderError> {
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key).filter(|x| !x.is_null()).map(|x| match x {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    for key in create_only {
        let key = key.as_ref();
        if text(old, key) != text(new, key) {
            return Err(ProviderError::new(
                ErrorKind::Invalid,
                operation,
                format!("{key} cannot change without replacing the {what}"),
            ));
        }
    }
    Ok(())
}

/// The text of a scalar: strings as they are, numbers and booleans as CloudFormation
/// would stringify them.
pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn integer(v: &Value) -> Option<i32> {
    match v {
        Value::Number(n) => n.as_i64().and_then(|i| i32::try_from(i).ok()),
        Value::String(s) => s.trim().parse::<i32>().ok(),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_read(props: Value, key: &str, expected: Result<Option<i32>, &str>) {
        let p = Props::root(&props, "CreateThing").unwrap();
        assert_eq!(p.int(key).map_err(|e| e.message), expected.map_err(str::to_string));
    }

    #[test]
    fn integers_are_read_leniently() {
        check_read(json!({"N": 3}), "N", Ok(Some(3)));
        check_read(json!({"N": "3"}), "N", Ok(Some(3)));
        check_read(json!({"N": null}), "N", Ok(None));
        check_read(json!({}), "N", Ok(None));
        check_read(json!({"N": 3.5}), "N", Err("property N must be an integer"));
        check_read(json!({"N": "x"}), "N", Err("property N must be an integer"));
        check_read(json!({"N": [1]}), "N", Err("property N must be an integer"));
    }

    #[test]
    fn integers_are_whole_and_within_range() {
        check_read(json!({"N": " 7 "}), "N", Ok(Some(7)));
        check_read(json!({"N": -2}), "N", Ok(Some(-2)));
        check_read(json!({"N": 3.0}), "N", Err("property N must be an integer"));
        check_read(json!({"N": "3.0"}), "N", Err("property N must be an integer"));
        check_read(json!({"N": 4_294_967_296_i64}), "N", Err("property N must be an integer"));
        check_read(json!({"N": true}), "N", Err("property N must be an integer"));
    }

    #[test]
    fn nested_errors_name_the_path() {
        let props = json!({"Variants": [{"Count": 1}, {"Count": "many"}]});
        let p = Props::root(&props, "CreateThing").unwrap();
        let err = p.objects("Variants", |v| v.int("Count")).unwrap_err();
        assert_eq!(err.message, "property Variants.1.Count must be an integer");
    }

    #[test]
    fn enumerations_and_unsupported_keys_name_the_path() {
        let props = json!({"Rules": [{"Status": "On", "Extra": 1, "Gone": null}]});
        let p = Props::root(&props, "PutThing").unwrap();
        let status = p.objects("Rules", |r| r.one_of("Status", &["Enabled", "Disabled"])).unwrap_err();
        assert_eq!(status.message, "property Rules.0.Status must be one of Enabled, Disabled, not \"On\"");
        let extra = p.objects("Rules", |r| r.only(&["Status"], "infra's S3 provider")).unwrap_err();
        assert_eq!(extra.kind, ErrorKind::Unsupported);
        assert_eq!(
            extra.message,
            "property Rules.0.Extra is not supported by infra's S3 provider; remove it from the template or manage \
             it outside infra"
        );
        assert!(p.objects("Rules", |r| r.only(&["Status", "Extra"], "x")).is_ok());
    }

    #[test]
    fn documents_are_read_as_text() {
        let props = json!({"Doc": {"Version": "2012-10-17", "Statement": []}, "Bad": 1});
        let p = Props::root(&props, "CreatePolicy").unwrap();
        assert!(p.required_document("Doc").unwrap().contains("2012-10-17"));
        assert_eq!(p.required_document("None").unwrap_err().message, "property None is required");
        assert!(p.document("Bad").unwrap_err().message.starts_with("property Bad: "));
    }
}
