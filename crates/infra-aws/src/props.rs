//! Reading CloudFormation properties into SDK inputs, and shaping what the service reports
//! back into the template's shape, so that a read after an apply compares equal.
//!
//! Templates are lenient about scalar types (parameters are strings, so `"1"` stands for an
//! integer and `"true"` for a boolean); both directions honour that.

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

    pub fn int(&self, key: &str) -> Result<Option<i32>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => as_f64(v)
                .filter(|f| f.fract() == 0.0 && *f >= f64::from(i32::MIN) && *f <= f64::from(i32::MAX))
                .map(|f| Some(f as i32))
                .ok_or_else(|| self.invalid(key, "an integer")),
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

    /// `Tags` as key/value pairs (empty when absent).
    pub fn tags(&self) -> Result<Vec<(String, String)>, ProviderError> {
        Ok(self
            .objects("Tags", |t| Ok((t.required_string("Key")?, t.string("Value")?.unwrap_or_default())))?
            .unwrap_or_default())
    }
}

/// The text of a scalar: strings as they are, numbers and booleans as CloudFormation
/// would stringify them.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
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

/// Observed tags in the template's shape: the template's order first, then any others by
/// key; tags AWS manages itself (`aws:`) are not the template's business. `None` when there
/// are none and the template had none.
pub fn tags_value(observed: Vec<(String, String)>, template: &Value) -> Option<Value> {
    let mut observed: Vec<(String, String)> = observed.into_iter().filter(|(k, _)| !k.starts_with("aws:")).collect();
    let template_keys: Vec<&str> = template
        .get("Tags")
        .and_then(Value::as_array)
        .map(|tags| tags.iter().filter_map(|t| t.get("Key").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    observed.sort_by(|(a, _), (b, _)| {
        let rank = |k: &str| template_keys.iter().position(|t| *t == k).unwrap_or(usize::MAX);
        rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
    });
    if observed.is_empty() && template.get("Tags").is_none() {
        return None;
    }
    Some(Value::Array(observed.into_iter().map(|(k, v)| serde_json::json!({ "Key": k, "Value": v })).collect()))
}

/// Tag changes between two property sets: keys to remove, and pairs to add or overwrite.
pub fn tag_changes(old: &[(String, String)], new: &[(String, String)]) -> (Vec<String>, Vec<(String, String)>) {
    let removed = old.iter().filter(|(k, _)| !new.iter().any(|(n, _)| n == k)).map(|(k, _)| k.clone()).collect();
    let added = new.iter().filter(|pair| !old.contains(pair)).cloned().collect();
    (removed, added)
}

/// Gives an observed value the template's representation wherever the two mean the same:
/// `"1"` for `1`, `1` for `1.0`, `"true"` for `true`, recursively. Keys the service reports
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

    fn check_tags(observed: &[(&str, &str)], template: Value, expected: Option<Value>) {
        let observed = observed.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(tags_value(observed, &template), expected);
    }

    #[test]
    fn tags_follow_the_template_order() {
        check_tags(&[], json!({}), None);
        check_tags(&[], json!({"Tags": []}), Some(json!([])));
        check_tags(
            &[("a", "1"), ("b", "2")],
            json!({"Tags": [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}]}),
            Some(json!([{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}])),
        );
        check_tags(
            &[("z", "1"), ("aws:cloudformation:x", "y"), ("c", "2")],
            json!({}),
            Some(json!([{"Key": "c", "Value": "2"}, {"Key": "z", "Value": "1"}])),
        );
    }

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
    fn nested_errors_name_the_path() {
        let props = json!({"Variants": [{"Count": 1}, {"Count": "many"}]});
        let p = Props::root(&props, "CreateThing").unwrap();
        let err = p.objects("Variants", |v| v.int("Count")).unwrap_err();
        assert_eq!(err.message, "property Variants.1.Count must be an integer");
    }

    #[test]
    fn defaults_are_omitted_only_when_unset() {
        let mut observed = json!({"A": false, "B": false});
        omit_defaults(&mut observed, &json!({"B": false}), &[("A", json!(false)), ("B", json!(false))]);
        assert_eq!(observed, json!({"B": false}));
    }
}
