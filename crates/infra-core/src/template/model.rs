//! The template model: a loaded template's sections (Parameters, Mappings, Conditions, Rules,
//! Resources, Outputs, Transform), checked for shape, with spans kept for diagnostics.
//!
//! [`parse`] never stops at the first problem: it reports everything it finds and returns the
//! parts that made sense, so evaluation can still find further problems in the rest.
//!
//! Codes: E1001 root not a mapping, E1002 unknown section, E1003 format version,
//! E1004 Description, E1005 section shape, E1006 logical ID, E1007 no resources,
//! E1010–E1014 parameters, E1020 mappings, E1030–E1037 resources, E1040–E1044 outputs,
//! E1050–E1051 rules.

use crate::diag::{did_you_mean, Diagnostic, Diagnostics};
use crate::source::Span;
use crate::state::DeletionPolicy;
use crate::template::node::{Key, Node, NodeKind};
use indexmap::IndexMap;

pub const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
];

const PARAMETER_ATTRIBUTES: &[&str] = &[
    "Type",
    "Default",
    "AllowedValues",
    "AllowedPattern",
    "MinLength",
    "MaxLength",
    "MinValue",
    "MaxValue",
    "NoEcho",
    "ConstraintDescription",
    "Description",
];

const RESOURCE_ATTRIBUTES: &[&str] = &[
    "Type",
    "Properties",
    "DependsOn",
    "Condition",
    "DeletionPolicy",
    "UpdateReplacePolicy",
    "Metadata",
    "CreationPolicy",
    "UpdatePolicy",
];

const OUTPUT_ATTRIBUTES: &[&str] = &["Value", "Description", "Condition", "Export"];

/// AWS-specific parameter types, usable alone or inside `List<...>`.
pub const AWS_PARAMETER_TYPES: &[&str] = &[
    "AWS::EC2::AvailabilityZone::Name",
    "AWS::EC2::Image::Id",
    "AWS::EC2::Instance::Id",
    "AWS::EC2::KeyPair::KeyName",
    "AWS::EC2::SecurityGroup::GroupName",
    "AWS::EC2::SecurityGroup::Id",
    "AWS::EC2::Subnet::Id",
    "AWS::EC2::Volume::Id",
    "AWS::EC2::VPC::Id",
    "AWS::Route53::HostedZone::Id",
];

/// A parameter's declared type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamType {
    String,
    Number,
    /// `List<Number>`.
    NumberList,
    CommaDelimitedList,
    /// `AWS::SSM::Parameter::Name`: the name of a parameter, used as a plain string.
    SsmParameterName,
    /// An AWS-specific type such as `AWS::EC2::VPC::Id`, or `List<...>` of one. Its value is an
    /// ID that exists in the account; a default is used as given.
    AwsSpecific {
        name: String,
        list: bool,
    },
    /// `AWS::SSM::Parameter::Value<T>`: the value is read from Parameter Store at deploy time,
    /// which infra cannot do locally.
    SsmValue {
        inner: String,
        list: bool,
    },
}

impl ParamType {
    /// Parse a `Type` value; `None` when it is not a known type.
    pub fn parse(s: &str) -> Option<ParamType> {
        Some(match s {
            "String" => ParamType::String,
            "Number" => ParamType::Number,
            "List<Number>" => ParamType::NumberList,
            "CommaDelimitedList" => ParamType::CommaDelimitedList,
            "AWS::SSM::Parameter::Name" => ParamType::SsmParameterName,
            _ => {
                if let Some(inner) = s.strip_prefix("AWS::SSM::Parameter::Value<").and_then(|r| r.strip_suffix('>')) {
                    let list = match inner {
                        "String" => false,
                        "List<String>" | "CommaDelimitedList" => true,
                        _ => match ParamType::parse(inner)? {
                            ParamType::AwsSpecific { list, .. } => list,
                            _ => return None,
                        },
                    };
                    return Some(ParamType::SsmValue { inner: inner.to_string(), list });
                }
                if let Some(inner) = s.strip_prefix("List<").and_then(|r| r.strip_suffix('>')) {
                    return AWS_PARAMETER_TYPES
                        .contains(&inner)
                        .then(|| ParamType::AwsSpecific { name: s.to_string(), list: true });
                }
                if AWS_PARAMETER_TYPES.contains(&s) {
                    ParamType::AwsSpecific { name: s.to_string(), list: false }
                } else {
                    return None;
                }
            }
        })
    }

    /// Whether a value of this type is a list (`Ref` yields a list).
    pub fn is_list(&self) -> bool {
        match self {
            ParamType::NumberList | ParamType::CommaDelimitedList => true,
            ParamType::AwsSpecific { list, .. } | ParamType::SsmValue { list, .. } => *list,
            _ => false,
        }
    }

    /// The type's name as written in templates.
    pub fn name(&self) -> String {
        match self {
            ParamType::String => "String".into(),
            ParamType::Number => "Number".into(),
            ParamType::NumberList => "List<Number>".into(),
            ParamType::CommaDelimitedList => "CommaDelimitedList".into(),
            ParamType::SsmParameterName => "AWS::SSM::Parameter::Name".into(),
            ParamType::AwsSpecific { name, .. } => name.clone(),
            ParamType::SsmValue { inner, .. } => format!("AWS::SSM::Parameter::Value<{inner}>"),
        }
    }
}

/// A string with the span it was written at.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub key_span: Span,
    /// The declaration as written, to tell a repeated declaration from a conflicting one.
    pub definition: serde_json::Value,
    pub param_type: ParamType,
    pub default: Option<Node>,
    pub allowed_values: Option<Vec<Node>>,
    /// The pattern as written, and its compiled, fully anchored form.
    pub allowed_pattern: Option<(Spanned<String>, regex::Regex)>,
    pub min_length: Option<Spanned<u64>>,
    pub max_length: Option<Spanned<u64>>,
    pub min_value: Option<Spanned<f64>>,
    pub max_value: Option<Spanned<f64>>,
    pub no_echo: bool,
    pub constraint_description: Option<String>,
    pub description: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Assertion {
    pub assert: Node,
    pub description: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub name: String,
    pub key_span: Span,
    /// The declaration as written.
    pub definition: serde_json::Value,
    pub rule_condition: Option<Node>,
    pub assertions: Vec<Assertion>,
}

/// A two-level mapping: top-level key, second-level key, value.
#[derive(Clone, Debug)]
pub struct Mapping {
    pub name: String,
    pub key_span: Span,
    /// The declaration as written.
    pub definition: serde_json::Value,
    pub entries: IndexMap<String, IndexMap<String, Node>>,
}

#[derive(Clone, Debug)]
pub struct Condition {
    pub name: String,
    pub key_span: Span,
    pub body: Node,
}

#[derive(Clone, Debug)]
pub struct Resource {
    pub logical_id: String,
    pub key_span: Span,
    pub resource_type: Spanned<String>,
    pub properties: Option<Node>,
    pub depends_on: Vec<Spanned<String>>,
    pub condition: Option<Spanned<String>>,
    pub deletion_policy: DeletionPolicy,
    pub update_replace_policy: DeletionPolicy,
    /// The `infra` entry of the resource's `Metadata` (its settings for the provider:
    /// `timeout`, `empty_on_delete`, ...), as `{"infra": …}`; `Null` when the template sets
    /// none. The rest of `Metadata` is CloudFormation's and other tools' and is not kept.
    pub metadata: serde_json::Value,
    /// The whole declaration.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub key_span: Span,
    pub value: Node,
    pub description: Option<Node>,
    pub condition: Option<Spanned<String>>,
    pub export_name: Option<Node>,
}

/// A template's sections after shape checks.
#[derive(Clone, Debug, Default)]
pub struct Template {
    pub description: Option<String>,
    pub parameters: IndexMap<String, Parameter>,
    pub rules: IndexMap<String, Rule>,
    pub mappings: IndexMap<String, Mapping>,
    pub conditions: IndexMap<String, Condition>,
    pub resources: IndexMap<String, Resource>,
    pub outputs: IndexMap<String, Output>,
    /// The top-level `Transform` section, if any (handled before [`parse`] by the transform step).
    pub transform: Option<Node>,
}

impl Template {
    /// Add another file's sections to this one (one layer, several files). A name declared in
    /// both is an error naming both places.
    pub fn merge(&mut self, other: Template, diags: &mut Diagnostics) {
        if self.description.is_none() {
            self.description = other.description;
        }
        // Each file of a layer is a template on its own, so files may repeat the same
        // parameter, rule, mapping or condition; they may not declare it differently.
        merge_section(
            &mut self.parameters,
            other.parameters,
            "parameter",
            |p| (p.key_span, Some(p.definition.clone())),
            diags,
        );
        merge_section(&mut self.rules, other.rules, "rule", |p| (p.key_span, Some(p.definition.clone())), diags);
        merge_section(
            &mut self.mappings,
            other.mappings,
            "mapping",
            |p| (p.key_span, Some(p.definition.clone())),
            diags,
        );
        merge_section(
            &mut self.conditions,
            other.conditions,
            "condition",
            |p| (p.key_span, Some(p.body.to_json())),
            diags,
        );
        merge_section(&mut self.resources, other.resources, "resource", |p| (p.key_span, None), diags);
        merge_section(&mut self.outputs, other.outputs, "output", |p| (p.key_span, None), diags);
    }
}

/// `describe` gives an item's span and, for items that files may share, its definition.
fn merge_section<T>(
    into: &mut IndexMap<String, T>,
    from: IndexMap<String, T>,
    what: &str,
    describe: impl Fn(&T) -> (Span, Option<serde_json::Value>),
    diags: &mut Diagnostics,
) {
    for (name, item) in from {
        let Some(first) = into.get(&name) else {
            into.insert(name, item);
            continue;
        };
        let ((span, definition), (first_span, first_definition)) = (describe(&item), describe(first));
        if definition.is_some() && definition == first_definition {
            continue;
        }
        let (message, note) = if definition.is_some() {
            (
                format!("{what} `{name}` is declared differently in two files of the same layer"),
                "Files of a layer may repeat a declaration, but all copies must be identical.",
            )
        } else {
            (
                format!("{what} `{name}` is declared in two files of the same layer"),
                "All files of a layer form one stack, so each logical ID must be unique within the layer.",
            )
        };
        diags.push(
            Diagnostic::error("E3020", message)
                .at(span)
                .label("declared again here")
                .with_secondary(first_span, "first declared here")
                .note(note),
        );
    }
}

/// Whether a logical ID is valid: ASCII letters and digits only.
pub fn is_logical_id(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Check a template's shape and collect its sections.
pub fn parse(root: &Node, diags: &mut Diagnostics) -> Template {
    let mut t = Template::default();
    let Some(entries) = root.as_map() else {
        diags.push(
            Diagnostic::error("E1001", format!("template must be a mapping of sections, found {}", root.kind_name()))
                .at(root.span)
                .label("expected a mapping")
                .note("A template is a mapping with sections such as `Parameters`, `Resources` and `Outputs`."),
        );
        return t;
    };
    for (key, value) in entries {
        match key.name.as_str() {
            "AWSTemplateFormatVersion" => {
                let ok = matches!(&value.kind, NodeKind::String(s) if s == "2010-09-09");
                if !ok {
                    diags.push(
                        Diagnostic::error("E1003", "unsupported AWSTemplateFormatVersion")
                            .at(value.span)
                            .label("expected \"2010-09-09\"")
                            .note("\"2010-09-09\" is the only template format version CloudFormation defines; write it as a quoted string."),
                    );
                }
            }
            "Description" => match value.as_str() {
                Some(s) => t.description = Some(s.to_string()),
                None => diags.push(
                    Diagnostic::error("E1004", format!("Description must be a string, found {}", value.kind_name()))
                        .at(value.span)
                        .label("expected a string"),
                ),
            },
            "Metadata" => {
                section_map(key, value, diags);
            }
            "Transform" => t.transform = Some(value.clone()),
            "Parameters" => {
                for (k, v) in section_entries(key, value, diags) {
                    if let Some(p) = parse_parameter(k, v, diags) {
                        t.parameters.insert(k.name.clone(), p);
                    }
                }
            }
            "Rules" => {
                for (k, v) in section_entries(key, value, diags) {
                    if let Some(r) = parse_rule(k, v, diags) {
                        t.rules.insert(k.name.clone(), r);
                    }
                }
            }
            "Mappings" => {
                for (k, v) in section_entries(key, value, diags) {
                    if let Some(m) = parse_mapping(k, v, diags) {
                        t.mappings.insert(k.name.clone(), m);
                    }
                }
            }
            "Conditions" => {
                for (k, v) in section_entries(key, value, diags) {
                    t.conditions
                        .insert(k.name.clone(), Condition { name: k.name.clone(), key_span: k.span, body: v.clone() });
                }
            }
            "Resources" => {
                for (k, v) in section_entries(key, value, diags) {
                    if let Some(r) = parse_resource(k, v, diags) {
                        t.resources.insert(k.name.clone(), r);
                    }
                }
            }
            "Outputs" => {
                for (k, v) in section_entries(key, value, diags) {
                    if let Some(o) = parse_output(k, v, diags) {
                        t.outputs.insert(k.name.clone(), o);
                    }
                }
            }
            other => diags.push(unknown_key("E1002", "template section", other, key.span, SECTIONS)),
        }
    }
    t
}

/// Whether a template declares at least one resource; reports E1007 when it does not.
pub fn check_has_resources(root: &Node, t: &Template, diags: &mut Diagnostics) {
    if t.resources.is_empty() && root.as_map().is_some() && root.get("Resources").is_none_or(|r| r.as_map().is_some()) {
        let span = root.get_entry("Resources").map(|(k, _)| k.span).unwrap_or(root.span);
        diags.push(
            Diagnostic::error("E1007", "template declares no resources")
                .at(span)
                .note("CloudFormation requires a `Resources` section with at least one resource."),
        );
    }
}

/// An "unknown name" error with a did-you-mean suggestion.
pub fn unknown_key(code: &'static str, what: &str, name: &str, span: Span, known: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::error(code, format!("unknown {what} `{name}`")).at(span).label(format!("unknown {what}"));
    match did_you_mean(name, known.iter().copied()) {
        Some(s) => d = d.help(format!("did you mean `{s}`?")),
        None => d = d.note(format!("Expected one of: {}.", known.join(", "))),
    }
    d
}

fn section_map<'a>(key: &Key, value: &'a Node, diags: &mut Diagnostics) -> Option<&'a [(Key, Node)]> {
    match value.as_map() {
        Some(m) => Some(m),
        None => {
            diags.push(
                Diagnostic::error(
                    "E1005",
                    format!("section `{}` must be a mapping, found {}", key.name, value.kind_name()),
                )
                .at(value.span)
                .label("expected a mapping"),
            );
            None
        }
    }
}

/// A section's entries, with logical IDs checked.
fn section_entries<'a>(key: &Key, value: &'a Node, diags: &mut Diagnostics) -> &'a [(Key, Node)] {
    let entries = section_map(key, value, diags).unwrap_or(&[]);
    for (k, _) in entries {
        if !is_logical_id(&k.name) {
            diags.push(
                Diagnostic::error("E1006", format!("invalid logical ID `{}`", k.name))
                    .at(k.span)
                    .label("only letters A-Z, a-z and digits 0-9 are allowed")
                    .note("CloudFormation logical IDs are alphanumeric and unique within a template."),
            );
        }
    }
    entries
}

fn expect_map<'a>(
    code: &'static str,
    what: &str,
    key: &Key,
    value: &'a Node,
    diags: &mut Diagnostics,
) -> Option<&'a [(Key, Node)]> {
    let m = value.as_map();
    if m.is_none() {
        diags.push(
            Diagnostic::error(code, format!("{what} `{}` must be a mapping, found {}", key.name, value.kind_name()))
                .at(value.span)
                .label("expected a mapping"),
        );
    }
    m
}

fn string_attr(code: &'static str, owner: &str, attr: &Key, value: &Node, diags: &mut Diagnostics) -> Option<String> {
    match value.as_str() {
        Some(s) => Some(s.to_string()),
        None => {
            diags.push(
                Diagnostic::error(
                    code,
                    format!("`{}` of `{owner}` must be a string, found {}", attr.name, value.kind_name()),
                )
                .at(value.span)
                .label("expected a string"),
            );
            None
        }
    }
}

/// A scalar written as a number or a string holding a number.
fn number_of(node: &Node) -> Option<f64> {
    match &node.kind {
        NodeKind::Number(s) | NodeKind::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

fn parse_parameter(key: &Key, value: &Node, diags: &mut Diagnostics) -> Option<Parameter> {
    let entries = expect_map("E1010", "parameter", key, value, diags)?;
    let name = &key.name;
    let mut p = Parameter {
        name: name.clone(),
        key_span: key.span,
        definition: value.to_json(),
        param_type: ParamType::String,
        default: None,
        allowed_values: None,
        allowed_pattern: None,
        min_length: None,
        max_length: None,
        min_value: None,
        max_value: None,
        no_echo: false,
        constraint_description: None,
        description: None,
    };
    let mut has_type = false;
    let mut ok = true;
    let bad = |attr: &Key, v: &Node, expected: &str| {
        Diagnostic::error("E1014", format!("`{}` of parameter `{name}` must be {expected}", attr.name))
            .at(v.span)
            .label(format!("found {}", v.kind_name()))
    };
    for (k, v) in entries {
        match k.name.as_str() {
            "Type" => {
                has_type = true;
                match v.as_str() {
                    Some(s) => match ParamType::parse(s) {
                        Some(t) => p.param_type = t,
                        None => {
                            ok = false;
                            let mut known: Vec<String> =
                                ["String", "Number", "List<Number>", "CommaDelimitedList", "AWS::SSM::Parameter::Name"]
                                    .iter()
                                    .map(|s| s.to_string())
                                    .collect();
                            known.extend(AWS_PARAMETER_TYPES.iter().map(|s| s.to_string()));
                            known.extend(AWS_PARAMETER_TYPES.iter().map(|s| format!("List<{s}>")));
                            known.push("AWS::SSM::Parameter::Value<String>".into());
                            let mut d = Diagnostic::error("E1012", format!("unknown parameter type `{s}`"))
                                .at(v.span)
                                .label("unknown type");
                            if let Some(m) = did_you_mean(s, known.iter().map(String::as_str)) {
                                d = d.help(format!("did you mean `{m}`?"));
                            } else {
                                d = d.note("Parameter types are String, Number, List<Number>, CommaDelimitedList, AWS-specific types such as AWS::EC2::VPC::Id, and AWS::SSM::Parameter::Value<...>.");
                            }
                            diags.push(d);
                        }
                    },
                    None => {
                        ok = false;
                        diags.push(bad(k, v, "a string"));
                    }
                }
            }
            "Default" => match &v.kind {
                NodeKind::String(_) | NodeKind::Number(_) | NodeKind::Bool(_) => p.default = Some(v.clone()),
                NodeKind::Seq(items)
                    if items.iter().all(|i| matches!(i.kind, NodeKind::String(_) | NodeKind::Number(_))) =>
                {
                    p.default = Some(v.clone())
                }
                _ => diags.push(bad(k, v, "a string or a number")),
            },
            "AllowedValues" => match v.as_seq() {
                Some(items) => {
                    for i in items {
                        if !matches!(i.kind, NodeKind::String(_) | NodeKind::Number(_) | NodeKind::Bool(_)) {
                            diags.push(bad(k, i, "a list of strings or numbers"));
                        }
                    }
                    p.allowed_values = Some(items.to_vec());
                }
                None => diags.push(bad(k, v, "a list")),
            },
            "AllowedPattern" => match v.as_str() {
                Some(s) => match regex::Regex::new(&format!("^(?:{s})$")) {
                    Ok(re) => p.allowed_pattern = Some((Spanned { value: s.to_string(), span: v.span }, re)),
                    Err(e) => diags.push(
                        Diagnostic::error(
                            "E1014",
                            format!("`AllowedPattern` of parameter `{name}` is not a valid regular expression"),
                        )
                        .at(v.span)
                        .label("invalid pattern")
                        .note(e.to_string()),
                    ),
                },
                None => diags.push(bad(k, v, "a string")),
            },
            "MinLength" | "MaxLength" => match number_of(v).filter(|f| *f >= 0.0 && f.fract() == 0.0) {
                Some(n) => {
                    let s = Some(Spanned { value: n as u64, span: v.span });
                    if k.name == "MinLength" {
                        p.min_length = s
                    } else {
                        p.max_length = s
                    }
                }
                None => diags.push(bad(k, v, "a non-negative integer")),
            },
            "MinValue" | "MaxValue" => match number_of(v) {
                Some(n) => {
                    let s = Some(Spanned { value: n, span: v.span });
                    if k.name == "MinValue" {
                        p.min_value = s
                    } else {
                        p.max_value = s
                    }
                }
                None => diags.push(bad(k, v, "a number")),
            },
            "NoEcho" => match &v.kind {
                NodeKind::Bool(b) => p.no_echo = *b,
                NodeKind::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {
                    p.no_echo = s.eq_ignore_ascii_case("true")
                }
                _ => diags.push(bad(k, v, "true or false")),
            },
            "ConstraintDescription" => p.constraint_description = string_attr("E1014", name, k, v, diags),
            "Description" => p.description = string_attr("E1014", name, k, v, diags),
            other => diags.push(unknown_key("E1013", "parameter attribute", other, k.span, PARAMETER_ATTRIBUTES)),
        }
    }
    if !has_type {
        ok = false;
        diags.push(
            Diagnostic::error("E1011", format!("parameter `{name}` has no `Type`"))
                .at(key.span)
                .label("missing `Type`")
                .help("add `Type: String` (or Number, CommaDelimitedList, ...)"),
        );
    }
    let length_ok =
        matches!(p.param_type, ParamType::String | ParamType::CommaDelimitedList | ParamType::SsmParameterName);
    for (attr, s) in
        [("MinLength", p.min_length.as_ref().map(|s| s.span)), ("MaxLength", p.max_length.as_ref().map(|s| s.span))]
    {
        if let (Some(span), false) = (s, length_ok) {
            diags.push(
                Diagnostic::error(
                    "E1014",
                    format!("`{attr}` does not apply to parameter `{name}` of type {}", p.param_type.name()),
                )
                .at(span)
                .note("MinLength and MaxLength apply to String parameters; use MinValue and MaxValue for numbers."),
            );
        }
    }
    let numeric = matches!(p.param_type, ParamType::Number | ParamType::NumberList);
    for (attr, s) in
        [("MinValue", p.min_value.as_ref().map(|s| s.span)), ("MaxValue", p.max_value.as_ref().map(|s| s.span))]
    {
        if let (Some(span), false) = (s, numeric) {
            diags.push(
                Diagnostic::error("E1014", format!("`{attr}` does not apply to parameter `{name}` of type {}", p.param_type.name()))
                    .at(span)
                    .note("MinValue and MaxValue apply to Number and List<Number> parameters; use MinLength and MaxLength for strings."),
            );
        }
    }
    ok.then_some(p)
}

fn parse_rule(key: &Key, value: &Node, diags: &mut Diagnostics) -> Option<Rule> {
    let entries = expect_map("E1050", "rule", key, value, diags)?;
    let mut rule = Rule {
        name: key.name.clone(),
        key_span: key.span,
        definition: value.to_json(),
        rule_condition: None,
        assertions: Vec::new(),
    };
    let mut has_assertions = false;
    for (k, v) in entries {
        match k.name.as_str() {
            "RuleCondition" => rule.rule_condition = Some(v.clone()),
            "Assertions" => {
                has_assertions = true;
                let Some(items) = v.as_seq() else {
                    diags.push(
                        Diagnostic::error(
                            "E1051",
                            format!("`Assertions` of rule `{}` must be a list, found {}", key.name, v.kind_name()),
                        )
                        .at(v.span)
                        .label("expected a list of {Assert, AssertDescription}"),
                    );
                    continue;
                };
                for item in items {
                    let Some(fields) = item.as_map() else {
                        diags.push(
                            Diagnostic::error(
                                "E1051",
                                format!("an assertion must be a mapping, found {}", item.kind_name()),
                            )
                            .at(item.span)
                            .label("expected {Assert, AssertDescription}"),
                        );
                        continue;
                    };
                    let mut assert = None;
                    let mut description = None;
                    for (fk, fv) in fields {
                        match fk.name.as_str() {
                            "Assert" => assert = Some(fv.clone()),
                            "AssertDescription" => description = string_attr("E1051", &key.name, fk, fv, diags),
                            other => diags.push(unknown_key(
                                "E1051",
                                "assertion attribute",
                                other,
                                fk.span,
                                &["Assert", "AssertDescription"],
                            )),
                        }
                    }
                    match assert {
                        Some(assert) => rule.assertions.push(Assertion { assert, description }),
                        None => diags.push(
                            Diagnostic::error("E1051", format!("an assertion of rule `{}` has no `Assert`", key.name))
                                .at(item.span)
                                .label("missing `Assert`"),
                        ),
                    }
                }
            }
            other => {
                diags.push(unknown_key("E1050", "rule attribute", other, k.span, &["RuleCondition", "Assertions"]))
            }
        }
    }
    if !has_assertions {
        diags.push(
            Diagnostic::error("E1051", format!("rule `{}` has no `Assertions`", key.name))
                .at(key.span)
                .label("missing `Assertions`"),
        );
    }
    Some(rule)
}

fn parse_mapping(key: &Key, value: &Node, diags: &mut Diagnostics) -> Option<Mapping> {
    let Some(top) = value.as_map() else {
        diags.push(
            Diagnostic::error(
                "E1020",
                format!("mapping `{}` must be a mapping of mappings, found {}", key.name, value.kind_name()),
            )
            .at(value.span)
            .label("expected a mapping"),
        );
        return None;
    };
    let mut m =
        Mapping { name: key.name.clone(), key_span: key.span, definition: value.to_json(), entries: IndexMap::new() };
    for (k1, v1) in top {
        let Some(second) = v1.as_map() else {
            diags.push(
                Diagnostic::error(
                    "E1020",
                    format!(
                        "`{}` in mapping `{}` must be a mapping of keys to values, found {}",
                        k1.name,
                        key.name,
                        v1.kind_name()
                    ),
                )
                .at(v1.span)
                .label("expected a second-level mapping")
                .note("Mappings have exactly two levels of keys: `Map: {TopLevelKey: {SecondLevelKey: value}}`."),
            );
            continue;
        };
        let mut inner = IndexMap::new();
        for (k2, v2) in second {
            let plain = match &v2.kind {
                NodeKind::String(_) | NodeKind::Number(_) | NodeKind::Bool(_) => true,
                NodeKind::Seq(items) => items
                    .iter()
                    .all(|i| matches!(i.kind, NodeKind::String(_) | NodeKind::Number(_) | NodeKind::Bool(_))),
                _ => false,
            };
            if !plain {
                diags.push(
                    Diagnostic::error(
                        "E1020",
                        format!(
                            "value of `{}.{}` in mapping `{}` must be a string, a number or a list of them",
                            k1.name, k2.name, key.name
                        ),
                    )
                    .at(v2.span)
                    .label(format!("found {}", v2.kind_name()))
                    .note("Mapping values are literals; intrinsic functions and nested mappings are not allowed."),
                );
                continue;
            }
            inner.insert(k2.name.clone(), v2.clone());
        }
        m.entries.insert(k1.name.clone(), inner);
    }
    Some(m)
}

fn policy(
    code: &'static str,
    owner: &str,
    k: &Key,
    v: &Node,
    allow_snapshot: bool,
    diags: &mut Diagnostics,
) -> DeletionPolicy {
    match v.as_str() {
        Some("Delete") => DeletionPolicy::Delete,
        Some("Retain") | Some("RetainExceptOnCreate") => DeletionPolicy::Retain,
        Some("Snapshot") if allow_snapshot => DeletionPolicy::Snapshot,
        _ => {
            let shown = v.as_str().map(|s| format!("`{s}`")).unwrap_or_else(|| v.kind_name().to_string());
            let mut d = Diagnostic::error(code, format!("invalid {} {shown} for `{owner}`", k.name))
                .at(v.span)
                .label("expected Delete, Retain, RetainExceptOnCreate or Snapshot");
            if let Some(m) =
                v.as_str().and_then(|s| did_you_mean(s, ["Delete", "Retain", "RetainExceptOnCreate", "Snapshot"]))
            {
                d = d.help(format!("did you mean `{m}`?"));
            }
            diags.push(d);
            DeletionPolicy::Delete
        }
    }
}

fn condition_name(
    owner: &str,
    k: &Key,
    v: &Node,
    code: &'static str,
    diags: &mut Diagnostics,
) -> Option<Spanned<String>> {
    match v.as_str() {
        Some(s) => Some(Spanned { value: s.to_string(), span: v.span }),
        None => {
            diags.push(
                Diagnostic::error(
                    code,
                    format!("`{}` of `{owner}` must be the name of a condition, found {}", k.name, v.kind_name()),
                )
                .at(v.span)
                .label("expected a condition name"),
            );
            None
        }
    }
}

fn parse_resource(key: &Key, value: &Node, diags: &mut Diagnostics) -> Option<Resource> {
    let entries = expect_map("E1030", "resource", key, value, diags)?;
    let id = &key.name;
    let mut resource_type = None;
    let mut r = Resource {
        logical_id: id.clone(),
        key_span: key.span,
        resource_type: Spanned { value: String::new(), span: key.span },
        properties: None,
        depends_on: Vec::new(),
        condition: None,
        deletion_policy: DeletionPolicy::Delete,
        update_replace_policy: DeletionPolicy::Delete,
        metadata: serde_json::Value::Null,
        span: value.span,
    };
    for (k, v) in entries {
        match k.name.as_str() {
            "Type" => match v.as_str() {
                Some(s) => resource_type = Some(Spanned { value: s.to_string(), span: v.span }),
                None => diags.push(
                    Diagnostic::error(
                        "E1032",
                        format!("`Type` of resource `{id}` must be a string, found {}", v.kind_name()),
                    )
                    .at(v.span)
                    .label("expected a resource type such as AWS::S3::Bucket"),
                ),
            },
            "Properties" => {
                if v.as_map().is_some() || v.as_intrinsic().is_some() {
                    r.properties = Some(v.clone());
                } else if !matches!(v.kind, NodeKind::Null) {
                    diags.push(
                        Diagnostic::error(
                            "E1036",
                            format!("`Properties` of resource `{id}` must be a mapping, found {}", v.kind_name()),
                        )
                        .at(v.span)
                        .label("expected a mapping"),
                    );
                }
            }
            "DependsOn" => match &v.kind {
                NodeKind::String(s) => r.depends_on.push(Spanned { value: s.clone(), span: v.span }),
                NodeKind::Seq(items) => {
                    for i in items {
                        match i.as_str() {
                            Some(s) => r.depends_on.push(Spanned { value: s.to_string(), span: i.span }),
                            None => diags.push(
                                Diagnostic::error(
                                    "E1034",
                                    format!("`DependsOn` of `{id}` must list logical IDs, found {}", i.kind_name()),
                                )
                                .at(i.span)
                                .label("expected a logical ID"),
                            ),
                        }
                    }
                }
                _ => diags.push(
                    Diagnostic::error(
                        "E1034",
                        format!(
                            "`DependsOn` of `{id}` must be a logical ID or a list of them, found {}",
                            v.kind_name()
                        ),
                    )
                    .at(v.span)
                    .label("expected a string or a list of strings"),
                ),
            },
            "Condition" => r.condition = condition_name(id, k, v, "E1037", diags),
            "DeletionPolicy" => r.deletion_policy = policy("E1035", id, k, v, true, diags),
            "UpdateReplacePolicy" => r.update_replace_policy = policy("E1035", id, k, v, true, diags),
            "Metadata" => {
                if let Some(entries) = v.as_map() {
                    if let Some((_, infra)) = entries.iter().find(|(k, _)| k.name == "infra") {
                        r.metadata = serde_json::json!({ "infra": infra.to_json() });
                    }
                }
            }
            "CreationPolicy" | "UpdatePolicy" => {}
            other => diags.push(unknown_key("E1033", "resource attribute", other, k.span, RESOURCE_ATTRIBUTES)),
        }
    }
    match resource_type {
        Some(t) => r.resource_type = t,
        None => {
            if entries.iter().all(|(k, _)| k.name != "Type") {
                diags.push(
                    Diagnostic::error("E1031", format!("resource `{id}` has no `Type`"))
                        .at(key.span)
                        .label("missing `Type`")
                        .help("add a resource type, for example `Type: AWS::S3::Bucket`"),
                );
            }
            return None;
        }
    }
    Some(r)
}

fn parse_output(key: &Key, value: &Node, diags: &mut Diagnostics) -> Option<Output> {
    let entries = expect_map("E1040", "output", key, value, diags)?;
    let name = &key.name;
    let mut out_value = None;
    let mut o = Output {
        name: name.clone(),
        key_span: key.span,
        value: Node::new(NodeKind::Null, key.span),
        description: None,
        condition: None,
        export_name: None,
    };
    for (k, v) in entries {
        match k.name.as_str() {
            "Value" => out_value = Some(v.clone()),
            "Description" => {
                if matches!(v.kind, NodeKind::Map(_) | NodeKind::Seq(_)) && v.as_intrinsic().is_none() {
                    diags.push(
                        Diagnostic::error(
                            "E1044",
                            format!("`Description` of output `{name}` must be a string, found {}", v.kind_name()),
                        )
                        .at(v.span)
                        .label("expected a string"),
                    );
                } else {
                    o.description = Some(v.clone());
                }
            }
            "Condition" => o.condition = condition_name(name, k, v, "E1044", diags),
            "Export" => {
                let Some(fields) = v.as_map() else {
                    diags.push(
                        Diagnostic::error(
                            "E1043",
                            format!(
                                "`Export` of output `{name}` must be a mapping with `Name`, found {}",
                                v.kind_name()
                            ),
                        )
                        .at(v.span)
                        .label("expected `Export: {Name: ...}`"),
                    );
                    continue;
                };
                for (fk, fv) in fields {
                    if fk.name == "Name" {
                        o.export_name = Some(fv.clone());
                    } else {
                        diags.push(unknown_key("E1043", "Export attribute", &fk.name, fk.span, &["Name"]));
                    }
                }
                if o.export_name.is_none() && fields.iter().all(|(fk, _)| fk.name != "Name") {
                    diags.push(
                        Diagnostic::error("E1043", format!("`Export` of output `{name}` has no `Name`"))
                            .at(v.span)
                            .label("missing `Name`"),
                    );
                }
            }
            other => diags.push(unknown_key("E1042", "output attribute", other, k.span, OUTPUT_ATTRIBUTES)),
        }
    }
    match out_value {
        Some(v) => o.value = v,
        None => {
            diags.push(
                Diagnostic::error("E1041", format!("output `{name}` has no `Value`"))
                    .at(key.span)
                    .label("missing `Value`"),
            );
            return None;
        }
    }
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected`: whether the type parses, and then whether `Ref` gives a list.
    fn check(input: &str, expected: Option<bool>) {
        let got = ParamType::parse(input);
        assert_eq!(got.as_ref().map(ParamType::is_list), expected, "{input}");
        if let Some(t) = got {
            assert_eq!(t.name(), input);
        }
    }

    #[test]
    fn parameter_types() {
        check("String", Some(false));
        check("Number", Some(false));
        check("List<Number>", Some(true));
        check("CommaDelimitedList", Some(true));
        check("AWS::EC2::VPC::Id", Some(false));
        check("List<AWS::EC2::Subnet::Id>", Some(true));
        check("AWS::SSM::Parameter::Name", Some(false));
        check("AWS::SSM::Parameter::Value<String>", Some(false));
        check("AWS::SSM::Parameter::Value<List<String>>", Some(true));
        check("AWS::SSM::Parameter::Value<CommaDelimitedList>", Some(true));
        check("AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", Some(false));
        check("AWS::SSM::Parameter::Value<List<AWS::EC2::SecurityGroup::Id>>", Some(true));
        check("string", None);
        check("List<String>", None);
        check("AWS::EC2::Bucket::Id", None);
        check("AWS::SSM::Parameter::Value<Number>", None);
        check("AWS::SSM::Parameter::Value<", None);
    }

    #[test]
    fn logical_ids() {
        for (id, ok) in [("Bucket1", true), ("", false), ("my-bucket", false), ("a_b", false), ("Ünï", false)] {
            assert_eq!(is_logical_id(id), ok, "{id}");
        }
    }
}
