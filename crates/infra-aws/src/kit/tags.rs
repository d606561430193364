//! Tags, one way for every service. Templates give `Tags: [{Key, Value}]`; what a service
//! reports back is serialised here, with one rule for the tags AWS manages itself: keys under
//! `aws:` are not the template's business (a template cannot set them, and CloudFormation
//! and other services add them), so they are never read back.

use serde_json::Value;

/// Whether AWS manages the tag itself.
pub fn is_aws_managed(key: &str) -> bool {
    key.starts_with("aws:")
}

/// `[{Key, Value}]` from pairs, in their order, without tags AWS manages itself.
pub fn to_value(tags: impl IntoIterator<Item = (String, String)>) -> Value {
    Value::Array(
        tags.into_iter()
            .filter(|(k, _)| !is_aws_managed(k))
            .map(|(k, v)| serde_json::json!({ "Key": k, "Value": v }))
            .collect(),
    )
}

/// Observed tags in the template's shape: the template's order first, then any others by
/// key, without tags AWS manages itself. `None` when there are none and the template had none.
pub fn observed(observed: Vec<(String, String)>, template: &Value) -> Option<Value> {
    let mut observed: Vec<(String, String)> = observed.into_iter().filter(|(k, _)| !is_aws_managed(k)).collect();
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
    Some(to_value(observed))
}

/// Tag changes between two property sets: keys to remove, and pairs to add or overwrite.
pub fn changes(old: &[(String, String)], new: &[(String, String)]) -> (Vec<String>, Vec<(String, String)>) {
    let removed = old.iter().filter(|(k, _)| !new.iter().any(|(n, _)| n == k)).map(|(k, _)| k.clone()).collect();
    let added = new.iter().filter(|pair| !old.contains(pair)).cloned().collect();
    (removed, added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_tags(observed_tags: &[(&str, &str)], template: Value, expected: Option<Value>) {
        let observed_tags = observed_tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(observed(observed_tags, &template), expected);
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

    #[test]
    fn aws_tags_are_never_read_back() {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        assert_eq!(
            to_value(pairs(&[("team", "ml"), ("aws:cloudformation:stack-name", "s")])),
            json!([{"Key": "team", "Value": "ml"}])
        );
    }

    #[test]
    fn changes_remove_and_overwrite() {
        let pairs = |v: &[(&str, &str)]| v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let (removed, added) = changes(&pairs(&[("a", "1"), ("b", "2")]), &pairs(&[("b", "3"), ("c", "4")]));
        assert_eq!(removed, vec!["a".to_string()]);
        assert_eq!(added, pairs(&[("b", "3"), ("c", "4")]));
    }
}
