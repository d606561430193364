//! Checking a template's resources against their schemas (`E2xxx`).
//!
//! Works on the raw spanned [`Node`] tree so that every problem points at the exact key or
//! value, before (and independently of) evaluation. Values produced by intrinsic functions are
//! unknown here and skipped, except that both branches of `Fn::If` are checked and
//! `Fn::GetAtt` attribute names are checked against the target's type.

use super::model::{AdditionalProperties, PropertySchema, ResourceSchema, TypeSet};
use super::{all_types, get, is_custom};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics};
use crate::source::Span;
use crate::template::intrinsics::Intrinsic;
use crate::template::node::{Key, Node, NodeKind};
use regex::bytes::{Regex, RegexBuilder};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Stable codes of the schema checks.
pub mod codes {
    pub const UNKNOWN_TYPE: &str = "E2001";
    pub const UNKNOWN_PROPERTY: &str = "E2002";
    pub const WRONG_TYPE: &str = "E2003";
    pub const MISSING_REQUIRED: &str = "E2004";
    pub const NOT_IN_ENUM: &str = "E2005";
    pub const PATTERN_MISMATCH: &str = "E2006";
    pub const LENGTH_OUT_OF_RANGE: &str = "E2007";
    pub const ITEM_COUNT_OUT_OF_RANGE: &str = "E2008";
    pub const UNKNOWN_ATTRIBUTE: &str = "E2009";
    pub const NUMBER_OUT_OF_RANGE: &str = "E2010";
}

/// Check every resource under the template's `Resources` against its type's schema, and every
/// `Fn::GetAtt` against the attributes of the resource it names.
pub fn check_template(root: &Node, diags: &mut Diagnostics) {
    // A missing or malformed `Resources` section is a structural error reported elsewhere.
    let Some(resources) = root.get("Resources").and_then(Node::as_map) else { return };
    // A transform rewrites resources into types of its own (`AWS::Serverless::*`) before
    // CloudFormation sees them; those are not in the registry.
    let transformed = root.get("Transform").is_some();
    for (logical_id, resource) in resources {
        check_resource(logical_id, resource, transformed, diags);
    }
    for section in ["Resources", "Outputs"] {
        if let Some(node) = root.get(section) {
            visit_get_atts(node, resources, diags);
        }
    }
}

fn check_resource(logical_id: &Key, resource: &Node, transformed: bool, diags: &mut Diagnostics) {
    let Some(type_node) = resource.get("Type") else { return };
    let Some(type_name) = type_node.as_str() else { return };
    if is_custom(type_name) || (transformed && type_name.starts_with("AWS::Serverless::")) {
        return;
    }
    let Some(schema) = get(type_name) else {
        let mut d = Diagnostic::error(codes::UNKNOWN_TYPE, format!("unknown resource type `{type_name}`"))
            .at(type_node.span)
            .label("not a known resource type");
        d = match suggest(type_name, all_types()) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.note("Custom resources are named `Custom::<Name>` or use `AWS::CloudFormation::CustomResource`."),
        };
        diags.push(d);
        return;
    };
    let mut v = Validator { schema, diags, path: String::new() };
    match resource.get_entry("Properties") {
        // `Properties:` with nothing after it is no properties, as CloudFormation reads it.
        Some((key, props)) if matches!(props.kind, NodeKind::Null) => v.check_required(&[], schema.root(), key.span),
        Some((key, props)) => v.check(props, schema.root(), key.span),
        None => v.check_required(&[], schema.root(), logical_id.span),
    }
}

struct Validator<'a> {
    schema: &'static ResourceSchema,
    diags: &'a mut Diagnostics,
    /// Where we are below `Properties`, for messages: `ProductionVariants[0].InstanceType`.
    path: String,
}

impl Validator<'_> {
    /// Check `node` against `schema`. `anchor` is where "missing property" problems point: the
    /// key that holds the node, or the list item itself.
    fn check(&mut self, node: &Node, schema: &PropertySchema, anchor: Span) {
        let schema = self.schema.resolve(schema);
        if let Some((name, arg)) = intrinsic(node) {
            if name == Some(Intrinsic::If) {
                if let Some([_, then, otherwise]) = arg.as_seq() {
                    for branch in [then, otherwise] {
                        if !is_no_value(branch) {
                            self.check(branch, schema, anchor);
                        }
                    }
                }
            }
            return;
        }
        for branch in &schema.all_of {
            self.check(node, branch, anchor);
        }
        if !type_matches(node, schema.types) {
            self.push(
                Diagnostic::error(
                    codes::WRONG_TYPE,
                    format!(
                        "wrong type for {}: expected {}, found {}",
                        self.subject(),
                        schema.types.describe(),
                        node.kind_name()
                    ),
                )
                .at(node.span)
                .label(format!("expected {}", schema.types.describe())),
            );
            return;
        }
        let before = self.diags.len();
        match &node.kind {
            NodeKind::Map(entries) => self.check_object(entries, schema, anchor),
            NodeKind::Seq(items) => self.check_list(node, items, schema),
            NodeKind::Null => {}
            NodeKind::String(_) | NodeKind::Number(_) | NodeKind::Bool(_) => self.check_scalar(node, schema),
        }
        // The branches only narrow what the schema itself allows: once that fails, their
        // problems would repeat it.
        if !schema.any_of.is_empty() && self.diags.len() == before {
            self.check_any_of(node, schema, anchor);
        }
    }

    /// Accept the value if any branch accepts it; otherwise report the problems of the branch
    /// that came closest, which is the one the author most likely meant.
    fn check_any_of(&mut self, node: &Node, schema: &PropertySchema, anchor: Span) {
        let mut closest: Option<Diagnostics> = None;
        for branch in &schema.any_of {
            let mut scratch = Diagnostics::new();
            Validator { schema: self.schema, diags: &mut scratch, path: self.path.clone() }.check(node, branch, anchor);
            if !scratch.has_errors() {
                return;
            }
            if closest.as_ref().is_none_or(|c| scratch.error_count() < c.error_count()) {
                closest = Some(scratch);
            }
        }
        if let Some(found) = closest {
            self.diags.extend(found);
        }
    }

    fn check_object(&mut self, entries: &[(Key, Node)], schema: &PropertySchema, anchor: Span) {
        self.check_required(entries, schema, anchor);
        // A closed schema whose properties all live in anyOf branches leaves key checks to them.
        let closed = matches!(schema.additional_properties, AdditionalProperties::Forbidden)
            && !(schema.properties.is_empty() && schema.pattern_properties.is_empty() && !schema.any_of.is_empty());
        for (key, value) in entries {
            let saved = self.path.len();
            if !self.path.is_empty() {
                self.path.push('.');
            }
            self.path.push_str(&key.name);
            if let Some(p) = schema.properties.get(&key.name) {
                self.check(value, p, key.span);
            } else if let Some(p) = matching_pattern_property(schema, &key.name) {
                self.check(value, p, key.span);
            } else {
                match &schema.additional_properties {
                    AdditionalProperties::Schema(p) => self.check(value, p, key.span),
                    AdditionalProperties::Forbidden if closed => {
                        self.path.truncate(saved);
                        self.unknown_property(key, schema);
                    }
                    _ => {}
                }
            }
            self.path.truncate(saved);
        }
    }

    fn unknown_property(&mut self, key: &Key, schema: &PropertySchema) {
        let owner =
            if self.path.is_empty() { format!("`{}`", self.schema.type_name()) } else { format!("`{}`", self.path) };
        let mut d = Diagnostic::error(codes::UNKNOWN_PROPERTY, format!("unknown property `{}` in {owner}", key.name))
            .at(key.span)
            .label("unknown property");
        if let Some(s) = suggest(&key.name, schema.properties.keys().map(String::as_str)) {
            d = d.help(format!("did you mean `{s}`?"));
        } else if !schema.properties.is_empty() {
            d = d.note(format!("Known properties: {}.", list_names(schema.properties.keys().map(String::as_str))));
        }
        self.push(d);
    }

    fn check_required(&mut self, entries: &[(Key, Node)], schema: &PropertySchema, anchor: Span) {
        for name in &schema.required {
            if entries.iter().any(|(k, _)| &k.name == name) {
                continue;
            }
            let message = if self.path.is_empty() {
                format!("missing required property `{name}` of `{}`", self.schema.type_name())
            } else {
                format!("missing required property `{name}` in `{}`", self.path)
            };
            self.push(
                Diagnostic::error(codes::MISSING_REQUIRED, message)
                    .at(anchor)
                    .label(format!("`{name}` is required here")),
            );
        }
    }

    fn check_list(&mut self, node: &Node, items: &[Node], schema: &PropertySchema) {
        // `Fn::If` items may vanish (`AWS::NoValue`), so the count is only known without them.
        let countable = !items.iter().any(|i| intrinsic(i).is_some_and(|(name, _)| name == Some(Intrinsic::If)));
        if countable {
            if let Some(problem) = out_of_range(items.len() as f64, schema.min_items, schema.max_items) {
                self.push(
                    Diagnostic::error(
                        codes::ITEM_COUNT_OUT_OF_RANGE,
                        format!(
                            "{} has {} item{}, {problem}",
                            self.subject(),
                            items.len(),
                            if items.len() == 1 { "" } else { "s" }
                        ),
                    )
                    .at(node.span)
                    .label(problem),
                );
            }
        }
        let Some(item_schema) = schema.items.as_deref() else { return };
        for (i, item) in items.iter().enumerate() {
            let saved = self.path.len();
            self.path.push_str(&format!("[{i}]"));
            self.check(item, item_schema, item.span);
            self.path.truncate(saved);
        }
    }

    fn check_scalar(&mut self, node: &Node, schema: &PropertySchema) {
        let text = scalar_text(node);
        let exact = schema.allowed.iter().chain(schema.constant.as_ref());
        let any_case = schema.enum_case_insensitive.iter();
        let restricted = exact.clone().next().is_some() || any_case.clone().next().is_some();
        let accepted = exact.clone().any(|a| scalar_equals(a, &text, false))
            || any_case.clone().any(|a| scalar_equals(a, &text, true));
        if restricted && !accepted {
            let names: Vec<String> = exact.chain(any_case).map(json_text).collect();
            let mut d = Diagnostic::error(
                codes::NOT_IN_ENUM,
                format!("`{text}` is not an allowed value for {}", self.subject()),
            )
            .at(node.span)
            .label("not an allowed value");
            if let Some(s) = suggest(&text, names.iter().map(String::as_str)) {
                d = d.help(format!("did you mean `{s}`?"));
            }
            d = d.note(format!("Allowed values: {}.", list_names(names.iter().map(String::as_str))));
            self.push(d);
        }
        if let NodeKind::String(s) = &node.kind {
            if let Some(pattern) = schema.pattern.as_deref() {
                if compiled(pattern).is_some_and(|re| !re.is_match(s.as_bytes())) {
                    self.push(
                        Diagnostic::error(
                            codes::PATTERN_MISMATCH,
                            format!("`{s}` does not match the pattern of {}", self.subject()),
                        )
                        .at(node.span)
                        .label(format!("does not match `{pattern}`")),
                    );
                }
            }
            let len = s.chars().count();
            if let Some(problem) = out_of_range(len as f64, schema.min_length, schema.max_length) {
                self.push(
                    Diagnostic::error(
                        codes::LENGTH_OUT_OF_RANGE,
                        format!(
                            "{} is {len} character{} long, {problem}",
                            self.subject(),
                            if len == 1 { "" } else { "s" }
                        ),
                    )
                    .at(node.span)
                    .label(problem),
                );
            }
        }
        let numeric = schema.types.contains(TypeSet::NUMBER) || schema.types.contains(TypeSet::INTEGER);
        if numeric && (schema.minimum.is_some() || schema.maximum.is_some()) {
            if let Ok(n) = text.trim().parse::<f64>() {
                if let Some(problem) = out_of_range_f64(n, schema.minimum, schema.maximum) {
                    self.push(
                        Diagnostic::error(
                            codes::NUMBER_OUT_OF_RANGE,
                            format!("`{text}` is out of range for {}", self.subject()),
                        )
                        .at(node.span)
                        .label(problem),
                    );
                }
            }
        }
    }

    /// "`InstanceType`" or "`AWS::S3::Bucket` properties" when at the top.
    fn subject(&self) -> String {
        if self.path.is_empty() {
            format!("`{}` properties", self.schema.type_name())
        } else {
            format!("`{}`", self.path)
        }
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
}

/// `Ref` and `Fn::*` one-key mappings, with the function when it is a known one. Unlike
/// [`Node::as_intrinsic`], `Condition` is not one here: inside properties it is an ordinary key
/// (IAM policy statements have one).
fn intrinsic(node: &Node) -> Option<(Option<Intrinsic>, &Node)> {
    match node.as_map()? {
        [(k, v)] if k.intrinsic() == Some(Intrinsic::Ref) || Intrinsic::is_function_name(&k.name) => {
            Some((k.intrinsic(), v))
        }
        _ => None,
    }
}

fn is_no_value(node: &Node) -> bool {
    matches!(intrinsic(node), Some((Some(Intrinsic::Ref), arg)) if arg.as_str() == Some("AWS::NoValue"))
}

/// CloudFormation passes every scalar as a string, so a number or boolean is a fine string,
/// and a string is a fine number or boolean when it reads as one. Lists and mappings must match.
fn type_matches(node: &Node, types: TypeSet) -> bool {
    if types.is_any() {
        return true;
    }
    let has = |t| types.contains(t);
    match &node.kind {
        NodeKind::String(s) => {
            has(TypeSet::STRING)
                || (has(TypeSet::NUMBER) && s.trim().parse::<f64>().is_ok_and(f64::is_finite))
                || (has(TypeSet::INTEGER) && is_integer(s))
                || (has(TypeSet::BOOLEAN) && (s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false")))
        }
        NodeKind::Number(n) => has(TypeSet::STRING) || has(TypeSet::NUMBER) || (has(TypeSet::INTEGER) && is_integer(n)),
        NodeKind::Bool(_) => has(TypeSet::BOOLEAN) || has(TypeSet::STRING),
        NodeKind::Seq(_) => has(TypeSet::ARRAY),
        NodeKind::Map(_) => has(TypeSet::OBJECT),
        NodeKind::Null => has(TypeSet::NULL),
    }
}

fn is_integer(text: &str) -> bool {
    let t = text.trim();
    t.parse::<i64>().is_ok() || t.parse::<f64>().is_ok_and(|f| f.is_finite() && f.fract() == 0.0 && !t.contains('.'))
}

fn scalar_text(node: &Node) -> String {
    match &node.kind {
        NodeKind::String(s) | NodeKind::Number(s) => s.clone(),
        NodeKind::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn scalar_equals(allowed: &serde_json::Value, text: &str, case_insensitive: bool) -> bool {
    match allowed {
        serde_json::Value::String(s) if case_insensitive => s.eq_ignore_ascii_case(text),
        serde_json::Value::String(s) => s == text,
        serde_json::Value::Number(n) => n.as_f64().zip(text.trim().parse::<f64>().ok()).is_some_and(|(a, b)| a == b),
        serde_json::Value::Bool(b) => text.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

fn out_of_range(n: f64, min: Option<u64>, max: Option<u64>) -> Option<String> {
    out_of_range_f64(n, min.map(|m| m as f64), max.map(|m| m as f64))
}

fn out_of_range_f64(n: f64, min: Option<f64>, max: Option<f64>) -> Option<String> {
    match (min, max) {
        (Some(lo), Some(hi)) if n < lo || n > hi => Some(format!("expected between {lo} and {hi}")),
        (Some(lo), None) if n < lo => Some(format!("expected at least {lo}")),
        (None, Some(hi)) if n > hi => Some(format!("expected at most {hi}")),
        _ => None,
    }
}

/// [`did_you_mean`], and for short names (attributes such as `Arn`, `Id`) where one edit is
/// already a large share of the name, the candidate one edit away.
fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str> + Clone) -> Option<&'a str> {
    did_you_mean(name, candidates.clone()).or_else(|| {
        candidates
            .filter(|c| c.len() <= 6 && strsim::levenshtein(&name.to_ascii_lowercase(), &c.to_ascii_lowercase()) == 1)
            .min_by_key(|c| c.len())
    })
}

fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    const SHOWN: usize = 12;
    let all: Vec<&str> = names.collect();
    let mut text = all.iter().take(SHOWN).map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if all.len() > SHOWN {
        text.push_str(&format!(" and {} more", all.len() - SHOWN));
    }
    text
}

fn matching_pattern_property<'s>(schema: &'s PropertySchema, key: &str) -> Option<&'s PropertySchema> {
    // A pattern the regex engine cannot compile is taken to match: better to miss a problem
    // than to call a valid key unknown.
    schema
        .pattern_properties
        .iter()
        .find(|(p, _)| compiled(p).is_none_or(|re| re.is_match(key.as_bytes())))
        .map(|(_, s)| s)
}

/// Registry patterns are ECMAScript regular expressions without the `u` flag, where `\w`,
/// `\d` and `\b` are ASCII-only: so they are compiled without Unicode classes first (which
/// is also far cheaper to build), and with them only when the pattern needs them (`\p{L}`,
/// non-ASCII literals). Patterns neither way compiles (look-around, backreferences) are
/// skipped rather than guessed at.
fn compiled(pattern: &str) -> Option<Regex> {
    static CACHE: OnceLock<Mutex<HashMap<String, Option<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    cache
        .entry(pattern.to_string())
        .or_insert_with(|| {
            let build = |unicode| RegexBuilder::new(pattern).unicode(unicode).build();
            build(false).or_else(|_| build(true)).ok()
        })
        .clone()
}

fn visit_get_atts(node: &Node, resources: &[(Key, Node)], diags: &mut Diagnostics) {
    match &node.kind {
        NodeKind::Map(entries) => {
            if let [(key, arg)] = entries.as_slice() {
                if key.intrinsic() == Some(Intrinsic::GetAtt) {
                    check_get_att(arg, resources, diags);
                }
            }
            for (_, value) in entries {
                visit_get_atts(value, resources, diags);
            }
        }
        NodeKind::Seq(items) => {
            for item in items {
                visit_get_atts(item, resources, diags);
            }
        }
        _ => {}
    }
}

fn check_get_att(arg: &Node, resources: &[(Key, Node)], diags: &mut Diagnostics) {
    // Malformed arguments are the evaluator's to report; an attribute chosen by `Ref` is
    // only known at evaluation.
    let (logical_id, attribute, span) = match &arg.kind {
        NodeKind::Seq(items) => match items.as_slice() {
            [id, attr_node] => match (id.as_str(), attr_node.as_str()) {
                (Some(id), Some(attr)) => (id, attr, attr_node.span),
                _ => return,
            },
            _ => return,
        },
        NodeKind::String(s) => match s.split_once('.') {
            Some((id, attr)) => (id, attr, arg.span),
            None => return,
        },
        _ => return,
    };
    let Some((_, resource)) = resources.iter().find(|(k, _)| k.name == logical_id) else { return };
    let Some(type_name) = resource.get("Type").and_then(Node::as_str) else { return };
    if is_custom(type_name) {
        return;
    }
    let Some(schema) = get(type_name) else { return };
    if schema.has_attribute(attribute) {
        return;
    }
    let names = || schema.read_only_attributes().iter().map(String::as_str).filter(|a| !a.contains('*'));
    let mut d = Diagnostic::error(
        codes::UNKNOWN_ATTRIBUTE,
        format!("unknown attribute `{attribute}` of `{logical_id}` ({type_name})"),
    )
    .at(span)
    .label("not an attribute of this resource type");
    if let Some(s) = suggest(attribute, names()) {
        d = d.help(format!("did you mean `{s}`?"));
    }
    if names().next().is_some() {
        d = d.note(format!("`{type_name}` has the attributes {}.", list_names(names())));
    } else {
        d = d.note(format!("`{type_name}` has no attributes for `Fn::GetAtt`; use `Ref` instead."));
    }
    diags.push(d);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Codes reported for a template given as JSON (no spans; the integration tests check lines).
    fn codes(template: serde_json::Value) -> Vec<&'static str> {
        let mut diags = Diagnostics::new();
        check_template(&Node::from_json(&template), &mut diags);
        diags.iter().map(|d| d.code).collect()
    }

    fn resource(type_name: &str, properties: serde_json::Value) -> serde_json::Value {
        json!({"Resources": {"R": {"Type": type_name, "Properties": properties}}})
    }

    fn check(type_name: &str, properties: serde_json::Value, expected: &[&str]) {
        assert_eq!(codes(resource(type_name, properties.clone())), expected, "{type_name} {properties}");
    }

    #[test]
    fn property_values() {
        check("AWS::S3::Bucket", json!({}), &[]);
        check("AWS::S3::Bucket", json!({"BucketName": "ok-name"}), &[]);
        check("AWS::S3::Bucket", json!({"BucketNam": "x"}), &[codes::UNKNOWN_PROPERTY]);
        check("AWS::S3::Bucket", json!({"BucketName": ["x"]}), &[codes::WRONG_TYPE]);
        check("AWS::S3::Bucket", json!({"BucketName": null}), &[codes::WRONG_TYPE]);
        check("AWS::S3::Bucket", json!({"BucketName": {"Ref": "Name"}}), &[]);
        check("AWS::S3::Bucket", json!({"VersioningConfiguration": {"Status": "Enabled"}}), &[]);
        check("AWS::S3::Bucket", json!({"VersioningConfiguration": {"Status": "On"}}), &[codes::NOT_IN_ENUM]);
        check("AWS::S3::Bucket", json!({"VersioningConfiguration": {}}), &[codes::MISSING_REQUIRED]);
        check("AWS::IAM::Role", json!({}), &[codes::MISSING_REQUIRED]);
        check("AWS::IAM::Role", json!({"AssumeRolePolicyDocument": {}, "MaxSessionDuration": "3600"}), &[]);
        check(
            "AWS::IAM::Role",
            json!({"AssumeRolePolicyDocument": {}, "MaxSessionDuration": 60}),
            &[codes::NUMBER_OUT_OF_RANGE],
        );
        check(
            "AWS::IAM::Role",
            json!({"AssumeRolePolicyDocument": {}, "MaxSessionDuration": "soon"}),
            &[codes::WRONG_TYPE],
        );
        check(
            "AWS::IAM::Role",
            json!({"AssumeRolePolicyDocument": {}, "RoleName": "has space"}),
            &[codes::PATTERN_MISMATCH],
        );
        check(
            "AWS::IAM::Role",
            json!({"AssumeRolePolicyDocument": {}, "RoleName": "r".repeat(65)}),
            &[codes::LENGTH_OUT_OF_RANGE],
        );
        check(
            "AWS::IAM::Role",
            json!({"AssumeRolePolicyDocument": {}, "RoleName": ""}),
            &[codes::PATTERN_MISMATCH, codes::LENGTH_OUT_OF_RANGE],
        );
        check("AWS::EC2::VPC", json!({"EnableDnsSupport": "true", "CidrBlock": 10}), &[]);
        check("AWS::EC2::VPC", json!({"EnableDnsSupport": "maybe"}), &[codes::WRONG_TYPE]);
        check("AWS::EC2::VPC", json!({"CidrBlock": {"Fn::If": ["C", "10.0.0.0/16", ["bad"]]}}), &[codes::WRONG_TYPE]);
        check("Custom::Anything", json!({"Whatever": [1]}), &[]);
        check("AWS::CloudFormation::CustomResource", json!({"ServiceToken": "x", "Extra": 1}), &[]);
    }

    #[test]
    fn any_of_reports_the_closest_branch() {
        let line = r#"{"typeName":"Test::Any::Of","properties":{"P":{"anyOf":[{"type":"string","enum":["A","B"]},{"type":"array","items":{"type":"integer"}}]}},"additionalProperties":false}"#;
        let schema: &'static ResourceSchema = Box::leak(Box::new(ResourceSchema::parse(line).unwrap()));
        let check = |value: serde_json::Value, expected: &[&str]| {
            let mut diags = Diagnostics::new();
            let node = Node::from_json(&json!({ "P": value }));
            Validator { schema, diags: &mut diags, path: String::new() }.check(&node, schema.root(), Span::synthetic());
            let got: Vec<&str> = diags.iter().map(|d| d.code).collect();
            assert_eq!(got, expected, "{value}");
        };
        check(json!("A"), &[]);
        check(json!([1, 2]), &[]);
        check(json!("C"), &[codes::NOT_IN_ENUM]);
        check(json!([1, "x"]), &[codes::WRONG_TYPE]);
        check(json!({"k": 1}), &[codes::WRONG_TYPE]);
    }

    #[test]
    fn unknown_types() {
        assert_eq!(codes(json!({"Resources": {"R": {"Type": "AWS::S3::Buckit"}}})), [codes::UNKNOWN_TYPE]);
        assert_eq!(codes(json!({"Resources": {"R": {"Type": "Infra::Local::Data"}}})), Vec::<&str>::new());
        let file = json!({"Resources": {"R": {"Type": "Infra::Local::File", "Properties": {"Directory": "/tmp"}}}});
        assert_eq!(codes(file), Vec::<&str>::new());
    }

    #[test]
    fn get_att_attributes() {
        let template = |attr: serde_json::Value| {
            json!({
                "Resources": {
                    "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
                    "Custom": {"Type": "Custom::Thing"},
                },
                "Outputs": {"O": {"Value": {"Fn::GetAtt": attr}}}
            })
        };
        assert_eq!(codes(template(json!(["Role", "Arn"]))), Vec::<&str>::new());
        assert_eq!(codes(template(json!("Role.RoleId"))), Vec::<&str>::new());
        assert_eq!(codes(template(json!(["Role", "Arnn"]))), [codes::UNKNOWN_ATTRIBUTE]);
        assert_eq!(codes(template(json!("Role.Name"))), [codes::UNKNOWN_ATTRIBUTE]);
        assert_eq!(codes(template(json!(["Custom", "Anything"]))), Vec::<&str>::new());
        assert_eq!(codes(template(json!(["Missing", "Arn"]))), Vec::<&str>::new());
        assert_eq!(codes(template(json!(["Role", {"Ref": "Attr"}]))), Vec::<&str>::new());
    }

    #[test]
    fn seed_templates() {
        for file in ["sagemaker-endpoint.json", "sagemaker-endpoint-fixed.json"] {
            let path = format!("{}/../../tests/fixtures/seed/{file}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(codes(value), Vec::<&str>::new(), "{file}");
        }
    }
}
