//! Evaluation: parameters, rules, conditions and intrinsics, folding a template into a
//! [`super::DesiredStack`] for one environment.
//!
//! Everything that can be known before apply is folded to plain values; what depends on a
//! resource stays an [`Expr`] ("known after apply"). The functions over values are computed in
//! [`super::intrinsics`], shared with apply-time resolution. Problems are reported with the
//! span of the intrinsic's key, each function with its own code:
//!
//! E1100–E1106 parameter values, E1110 failed rule assertion, E1120 condition cycle or chain too
//! long, E1121 unknown condition, E1122 not a condition, E1130 Ref target, E1131 Ref argument,
//! E1132–E1133 Fn::GetAtt, E1134–E1135 Fn::Sub, E1136 Fn::Join, E1137 Fn::Select, E1138 Fn::Split,
//! E1139–E1140 Fn::FindInMap, E1141 Fn::If, E1142 Fn::Equals, E1143 Fn::And, E1144 Fn::Not,
//! E1145 Condition, E1146 Fn::ImportValue, E1147 Fn::Base64, E1148 Fn::Cidr, E1149 Fn::GetAZs,
//! E1150 unknown function, E1151 Fn::Length, E1152 Fn::ToJsonString, E1153 function or reference
//! not allowed here, E1155 DependsOn, E1156 Properties, E1157 export name, E1158 reference to a
//! resource whose condition is false, E1159 Fn::Contains, E1160 Fn::EachMemberEquals,
//! E1161 Fn::EachMemberIn, E1162 Fn::RefAll, E1163 Fn::ValueOf, E1164 Fn::ValueOfAll, E1165 Fn::Or.

use crate::diag::{did_you_mean, Diagnostic, Diagnostics};
use crate::source::Span;
use crate::template::intrinsics::{self, Intrinsic};
use crate::template::model::{ParamType, Parameter, Spanned, Template};
use crate::template::node::{Key, Node, NodeKind};
use crate::template::{DesiredOutput, DesiredResource, DesiredStack};
use crate::value::{scalar_string, Expr, Value};
use indexmap::IndexMap;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How long a chain of conditions referring to conditions may be (evaluation recurses on it).
const MAX_CONDITION_DEPTH: usize = 64;

/// The account ID `infra validate` evaluates with, where no account is looked up.
pub const PLACEHOLDER_ACCOUNT_ID: &str = "123456789012";

pub const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// The functions unknown names are compared with, in this order.
const FUNCTIONS: &[Intrinsic] = &[
    Intrinsic::Base64,
    Intrinsic::Cidr,
    Intrinsic::FnCondition,
    Intrinsic::FindInMap,
    Intrinsic::GetAZs,
    Intrinsic::GetAtt,
    Intrinsic::If,
    Intrinsic::ImportValue,
    Intrinsic::Join,
    Intrinsic::Length,
    Intrinsic::Select,
    Intrinsic::Split,
    Intrinsic::Sub,
    Intrinsic::ToJsonString,
    Intrinsic::Transform,
    Intrinsic::Equals,
    Intrinsic::And,
    Intrinsic::Or,
    Intrinsic::Not,
    Intrinsic::Contains,
    Intrinsic::EachMemberEquals,
    Intrinsic::EachMemberIn,
    Intrinsic::RefAll,
    Intrinsic::ValueOf,
    Intrinsic::ValueOfAll,
];

/// A parameter value given by the environment (from `infra.toml`).
#[derive(Clone, Debug)]
pub struct ParamInput {
    pub value: String,
    /// Where the value is written, when it comes from a file.
    pub span: Option<Span>,
}

/// Everything evaluation needs besides the template.
#[derive(Clone, Debug)]
pub struct EvalInput<'a> {
    pub project: &'a str,
    pub environment: &'a str,
    pub layer: &'a str,
    pub region: &'a str,
    /// `AWS::AccountId`; the CLI looks it up, validation uses [`PLACEHOLDER_ACCOUNT_ID`].
    pub account_id: &'a str,
    pub parameters: &'a IndexMap<String, ParamInput>,
    /// Values of lower layers' exports known so far (by export name).
    pub exports: &'a BTreeMap<String, Value>,
    /// Leave a parameter with neither value nor default unresolved instead of reporting it
    /// (checking a single file on its own).
    pub allow_unresolved: bool,
}

impl EvalInput<'_> {
    /// `{project}-{env}-{layer}`.
    pub fn stack_name(&self) -> String {
        format!("{}-{}-{}", self.project, self.environment, self.layer)
    }
}

/// The result of evaluating one template.
#[derive(Clone, Debug, Default)]
pub struct Evaluated {
    pub stack: DesiredStack,
    /// Export names this stack imports, each with the span of its `Fn::ImportValue`.
    pub imports: Vec<Spanned<String>>,
    /// Export names this stack declares: (export name, output name, span of `Export.Name`).
    pub exports: Vec<(String, String, Span)>,
}

/// The partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A stable synthetic stack ARN: the same project, environment, layer, region and account
/// always give the same ID.
pub fn stack_id(region: &str, account_id: &str, stack_name: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("{region}/{account_id}/{stack_name}").as_bytes());
    let x = hex::encode(&h[..16]);
    format!(
        "arn:{}:cloudformation:{region}:{account_id}:stack/{stack_name}/{}-{}-{}-{}-{}",
        partition(region),
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// The literal value of a node with no intrinsics (mapping values, defaults).
pub fn literal(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Bool(b) => Value::Bool(*b),
        NodeKind::Number(n) => number_value(n),
        NodeKind::String(s) => Value::String(s.clone()),
        NodeKind::Seq(items) => Value::List(items.iter().map(literal).collect()),
        NodeKind::Map(m) => Value::Map(m.iter().map(|(k, v)| (k.name.clone(), literal(v))).collect()),
    }
}

fn number_value(n: &str) -> Value {
    match n.parse::<serde_json::Number>() {
        Ok(num) => Value::Number(num),
        Err(_) => Value::String(n.to_string()),
    }
}

/// Evaluate a template for one environment and layer.
pub fn evaluate(t: &Template, input: &EvalInput, diags: &mut Diagnostics) -> Evaluated {
    let mut ev = Eval::new(t, input, diags);
    ev.run()
}

/// Why evaluation of a value stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// An error was reported.
    Reported,
    /// The value depends on something not known locally (an unresolved parameter, an account
    /// lookup in a rule); nothing is wrong.
    Unknown,
}

type R<T> = Result<T, Stop>;

/// Where a value is evaluated: which functions and references are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Conditions,
    Rules,
    Resources,
    Outputs,
    /// `Export.Name` and `Fn::ImportValue` arguments: no resource references.
    ExportName,
}

impl Scope {
    fn allows_resources(self) -> bool {
        matches!(self, Scope::Resources | Scope::Outputs)
    }
    fn allows_conditions_functions(self) -> bool {
        matches!(self, Scope::Conditions | Scope::Rules)
    }
}

/// What refers to a resource: a function, or a resource's `DependsOn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Referrer {
    Function(Intrinsic),
    DependsOn,
}

impl Referrer {
    fn as_str(self) -> &'static str {
        match self {
            Referrer::Function(f) => f.as_str(),
            Referrer::DependsOn => "DependsOn",
        }
    }
}

#[derive(Clone, Debug)]
enum ParamState {
    Resolved(Value),
    Unknown,
    Failed,
}

#[derive(Clone, Copy, Debug)]
enum CondState {
    InProgress,
    Done(Result<bool, Stop>),
}

struct Eval<'a, 'd> {
    t: &'a Template,
    input: &'a EvalInput<'a>,
    diags: &'d mut Diagnostics,
    params: HashMap<String, ParamState>,
    conditions: HashMap<String, CondState>,
    cond_stack: Vec<String>,
    /// Resources whose condition is false, with that condition.
    dropped: HashMap<String, String>,
    /// Resources referenced while evaluating the current resource.
    refs: BTreeSet<String>,
    imports: Vec<Spanned<String>>,
}

fn usage(f: Intrinsic) -> &'static str {
    match f {
        Intrinsic::Ref => {
            "`Ref` takes the logical ID of a parameter or resource, or a pseudo parameter: `{\"Ref\": \"Name\"}`"
        }
        Intrinsic::GetAtt => "`Fn::GetAtt` takes [\"LogicalId\", \"Attribute\"] or \"LogicalId.Attribute\"",
        Intrinsic::Sub => "`Fn::Sub` takes a string, or [string, {Name: value, ...}]",
        Intrinsic::Join => "`Fn::Join` takes [delimiter, [value, ...]]",
        Intrinsic::Select => "`Fn::Select` takes [index, [value, ...]]",
        Intrinsic::Split => "`Fn::Split` takes [delimiter, string]",
        Intrinsic::FindInMap => "`Fn::FindInMap` takes exactly 3 arguments: [MapName, TopLevelKey, SecondLevelKey]",
        Intrinsic::If => "`Fn::If` takes [ConditionName, value_if_true, value_if_false]",
        Intrinsic::Equals => "`Fn::Equals` takes [value, value]",
        Intrinsic::And | Intrinsic::Or => "`Fn::And` and `Fn::Or` take a list of 2 to 10 conditions",
        Intrinsic::Not => "`Fn::Not` takes a list of one condition: [condition]",
        Intrinsic::Condition | Intrinsic::FnCondition => "`Condition` takes the name of a condition",
        Intrinsic::ImportValue => "`Fn::ImportValue` takes the name of an export of a lower layer",
        Intrinsic::Base64 => "`Fn::Base64` takes a string",
        Intrinsic::Cidr => "`Fn::Cidr` takes [ipBlock, count, cidrBits], e.g. [\"10.0.0.0/16\", 4, 8]",
        Intrinsic::GetAZs => "`Fn::GetAZs` takes a region name, or \"\" for the stack's region",
        Intrinsic::Length => "`Fn::Length` takes a list",
        Intrinsic::ToJsonString => "`Fn::ToJsonString` takes a mapping or a list",
        Intrinsic::Contains => "`Fn::Contains` takes [[value, ...], value]",
        Intrinsic::EachMemberEquals => "`Fn::EachMemberEquals` takes [[value, ...], value]",
        Intrinsic::EachMemberIn => "`Fn::EachMemberIn` takes [[value, ...], [value, ...]]",
        Intrinsic::RefAll => "`Fn::RefAll` takes a parameter type, e.g. \"AWS::EC2::VPC::Id\"",
        Intrinsic::ValueOf => "`Fn::ValueOf` takes [ParameterName, Attribute]",
        Intrinsic::ValueOfAll => "`Fn::ValueOfAll` takes [ParameterType, Attribute]",
        Intrinsic::Transform => "see the CloudFormation intrinsic function reference",
    }
}

fn code_of(f: Intrinsic) -> &'static str {
    match f {
        Intrinsic::Ref => "E1131",
        Intrinsic::GetAtt => "E1132",
        Intrinsic::Sub => "E1134",
        Intrinsic::Join => "E1136",
        Intrinsic::Select => "E1137",
        Intrinsic::Split => "E1138",
        Intrinsic::FindInMap => "E1139",
        Intrinsic::If => "E1141",
        Intrinsic::Equals => "E1142",
        Intrinsic::And => "E1143",
        Intrinsic::Not => "E1144",
        Intrinsic::Condition | Intrinsic::FnCondition => "E1145",
        Intrinsic::ImportValue => "E1146",
        Intrinsic::Base64 => "E1147",
        Intrinsic::Cidr => "E1148",
        Intrinsic::GetAZs => "E1149",
        Intrinsic::Length => "E1151",
        Intrinsic::ToJsonString => "E1152",
        Intrinsic::Contains => "E1159",
        Intrinsic::EachMemberEquals => "E1160",
        Intrinsic::EachMemberIn => "E1161",
        Intrinsic::RefAll => "E1162",
        Intrinsic::ValueOf => "E1163",
        Intrinsic::ValueOfAll => "E1164",
        Intrinsic::Or => "E1165",
        Intrinsic::Transform => "E1150",
    }
}

/// Join the error states of several evaluations: an error wins over "unknown".
fn worst(a: Option<Stop>, b: Stop) -> Option<Stop> {
    Some(match (a, b) {
        (Some(Stop::Reported), _) | (_, Stop::Reported) => Stop::Reported,
        _ => Stop::Unknown,
    })
}

impl<'a, 'd> Eval<'a, 'd> {
    fn new(t: &'a Template, input: &'a EvalInput<'a>, diags: &'d mut Diagnostics) -> Self {
        Eval {
            t,
            input,
            diags,
            params: HashMap::new(),
            conditions: HashMap::new(),
            cond_stack: Vec::new(),
            dropped: HashMap::new(),
            refs: BTreeSet::new(),
            imports: Vec::new(),
        }
    }

    fn run(&mut self) -> Evaluated {
        for p in self.t.parameters.values() {
            let state = self.resolve_parameter(p);
            self.params.insert(p.name.clone(), state);
        }
        for rule in self.t.rules.values() {
            self.check_rule(rule);
        }
        for (name, c) in &self.t.conditions {
            let _ = self.condition(name, c.key_span);
        }
        let mut out = Evaluated {
            stack: DesiredStack { layer: self.input.layer.to_string(), ..Default::default() },
            ..Default::default()
        };
        // Conditions first, so a reference to a dropped resource is reported wherever it is.
        for r in self.t.resources.values() {
            if let Some(c) = &r.condition {
                if let Ok(false) = self.condition(&c.value, c.span) {
                    self.dropped.insert(r.logical_id.clone(), c.value.clone());
                }
            }
        }
        for r in self.t.resources.values() {
            if self.dropped.contains_key(&r.logical_id) {
                continue;
            }
            self.refs.clear();
            let mut properties = self.properties(r.properties.as_ref(), &r.logical_id);
            // Parameters are strings; the service gets what the property's schema asks for.
            if let Some(schema) = crate::schema::get(&r.resource_type.value) {
                crate::schema::type_values(schema, &mut properties);
            }
            let mut depends_on = std::mem::take(&mut self.refs);
            for d in &r.depends_on {
                if self.resource_reference(&d.value, d.span, Scope::Resources, "E1155", Referrer::DependsOn).is_ok() {
                    depends_on.insert(d.value.clone());
                }
            }
            out.stack.resources.insert(
                r.logical_id.clone(),
                DesiredResource {
                    logical_id: r.logical_id.clone(),
                    resource_type: r.resource_type.value.clone(),
                    properties,
                    depends_on,
                    deletion_policy: r.deletion_policy,
                    update_replace_policy: r.update_replace_policy,
                    metadata: r.metadata.clone(),
                    span: r.key_span,
                },
            );
        }
        for o in self.t.outputs.values() {
            if let Some(c) = &o.condition {
                if !matches!(self.condition(&c.value, c.span), Ok(true)) {
                    continue;
                }
            }
            let value = match self.eval(&o.value, Scope::Outputs) {
                Ok(Some(v)) => v,
                _ => Value::Null,
            };
            let description = match &o.description {
                Some(d) => match self.eval(d, Scope::Outputs) {
                    Ok(Some(v)) => scalar_string(&v),
                    _ => None,
                },
                None => None,
            };
            let export_name = match &o.export_name {
                Some(n) => match self.eval(n, Scope::ExportName) {
                    Ok(Some(Value::String(s))) if !is_export_name(&s) => {
                        let d =
                            Diagnostic::error("E1157", format!("invalid export name \"{s}\" of output `{}`", o.name))
                                .at(n.span)
                                .label("not a valid export name")
                                .note("Export names are 1 to 255 characters: letters, digits, `-` and `:`.");
                        self.report(d);
                        None
                    }
                    Ok(Some(Value::String(s))) => {
                        out.exports.push((s.clone(), o.name.clone(), n.span));
                        Some(Value::String(s))
                    }
                    Ok(Some(v)) => {
                        self.diags.push(
                            Diagnostic::error(
                                "E1157",
                                format!("export name of output `{}` must be a string, found {}", o.name, v.kind()),
                            )
                            .at(n.span)
                            .label("expected a string"),
                        );
                        None
                    }
                    _ => None,
                },
                None => None,
            };
            out.stack.outputs.insert(o.name.clone(), DesiredOutput { value, description, export_name });
        }
        out.stack.imports = self.imports.iter().map(|i| i.value.clone()).collect();
        out.imports = std::mem::take(&mut self.imports);
        out
    }

    fn report(&mut self, d: Diagnostic) -> Stop {
        self.diags.push(d);
        Stop::Reported
    }

    /// A misuse of a function: wrong arity or argument types.
    fn misuse(&mut self, f: &Key, message: impl Into<String>) -> Stop {
        let (code, usage) = match f.intrinsic() {
            Some(i) => (code_of(i), usage(i)),
            None => ("E1150", "see the CloudFormation intrinsic function reference"),
        };
        let d = Diagnostic::error(code, message)
            .at(f.span)
            .label(format!("invalid `{}`", f.name))
            .note(format!("{usage}."));
        self.report(d)
    }

    // ---------------------------------------------------------------- parameters

    fn resolve_parameter(&mut self, p: &Parameter) -> ParamState {
        let given = self.input.parameters.get(&p.name);
        let (raw, span, from_env) = match (given, &p.default) {
            (Some(g), _) => (g.value.clone(), g.span.unwrap_or(p.key_span), true),
            (None, Some(d)) => match &d.kind {
                NodeKind::Seq(items) => (
                    items.iter().filter_map(|i| scalar_string(&literal(i))).collect::<Vec<_>>().join(","),
                    d.span,
                    false,
                ),
                _ => (scalar_string(&literal(d)).unwrap_or_default(), d.span, false),
            },
            (None, None) => {
                if self.input.allow_unresolved {
                    return ParamState::Unknown;
                }
                let d = if matches!(p.param_type, ParamType::AwsSpecific { .. } | ParamType::SsmValue { .. }) {
                    self.unresolvable(p)
                } else {
                    Diagnostic::error(
                        "E1100",
                        format!("parameter `{}` has no value in environment `{}`", p.name, self.input.environment),
                    )
                    .at(p.key_span)
                    .label("no value and no Default")
                    .help(format!(
                        "set it in infra.toml under [environments.{}.parameters], or give the parameter a Default",
                        self.input.environment
                    ))
                };
                self.diags.push(d);
                return ParamState::Failed;
            }
        };
        if matches!(p.param_type, ParamType::SsmValue { .. }) && !from_env {
            if self.input.allow_unresolved {
                return ParamState::Unknown;
            }
            let d = self.unresolvable(p);
            self.diags.push(d);
            return ParamState::Failed;
        }
        let secondary =
            |d: Diagnostic| if from_env { d.with_secondary(p.key_span, "parameter declared here") } else { d };
        let what = if p.no_echo { "the value (hidden: NoEcho)".to_string() } else { format!("value \"{raw}\"") };
        let mut problems = Vec::new();
        let items: Vec<String> = if p.param_type.is_list() {
            if raw.is_empty() {
                Vec::new()
            } else {
                raw.split(',').map(|s| s.trim().to_string()).collect()
            }
        } else {
            vec![raw.clone()]
        };
        let numeric = matches!(p.param_type, ParamType::Number | ParamType::NumberList);
        for item in &items {
            let number = item.trim().parse::<f64>().ok().filter(|f| f.is_finite());
            if numeric && number.is_none() {
                problems.push(("E1101", format!("{what} of parameter `{}` is not a number", p.name)));
                continue;
            }
            if let Some(allowed) = &p.allowed_values {
                let found = allowed.iter().any(|a| {
                    let a = scalar_string(&literal(a)).unwrap_or_default();
                    match (numeric, a.trim().parse::<f64>(), number) {
                        (true, Ok(x), Some(y)) => x == y,
                        _ => &a == item,
                    }
                });
                if !found {
                    let list: Vec<String> = allowed.iter().filter_map(|a| scalar_string(&literal(a))).collect();
                    let listed = if p.no_echo { String::new() } else { format!(" (allowed: {})", list.join(", ")) };
                    problems.push((
                        "E1102",
                        format!("{what} of parameter `{}` is not one of its AllowedValues{listed}", p.name),
                    ));
                }
            }
            if let Some((pat, re)) = &p.allowed_pattern {
                if !re.is_match(item) {
                    problems.push((
                        "E1103",
                        format!("{what} of parameter `{}` does not match AllowedPattern `{}`", p.name, pat.value),
                    ));
                }
            }
            if let (Some(n), true) = (number, numeric) {
                if let Some(min) = &p.min_value {
                    if n < min.value {
                        problems.push((
                            "E1105",
                            format!("{what} of parameter `{}` is less than MinValue {}", p.name, min.value),
                        ));
                    }
                }
                if let Some(max) = &p.max_value {
                    if n > max.value {
                        problems.push((
                            "E1105",
                            format!("{what} of parameter `{}` is greater than MaxValue {}", p.name, max.value),
                        ));
                    }
                }
            }
        }
        let len = raw.chars().count() as u64;
        if let Some(min) = &p.min_length {
            if len < min.value {
                problems.push((
                    "E1104",
                    format!("{what} of parameter `{}` is shorter than MinLength {}", p.name, min.value),
                ));
            }
        }
        if let Some(max) = &p.max_length {
            if len > max.value {
                problems.push((
                    "E1104",
                    format!("{what} of parameter `{}` is longer than MaxLength {}", p.name, max.value),
                ));
            }
        }
        if problems.is_empty() {
            let v = if p.param_type.is_list() {
                Value::List(items.into_iter().map(Value::String).collect())
            } else {
                Value::String(raw)
            };
            return ParamState::Resolved(v);
        }
        for (code, message) in problems {
            let mut d = Diagnostic::error(code, message).at(span).label(if from_env {
                format!("value for environment `{}`", self.input.environment)
            } else {
                "Default".to_string()
            });
            if let Some(cd) = &p.constraint_description {
                d = d.note(cd.clone());
            }
            self.diags.push(secondary(d));
        }
        ParamState::Failed
    }

    fn unresolvable(&self, p: &Parameter) -> Diagnostic {
        Diagnostic::error(
            "E1106",
            format!("parameter `{}` of type {} cannot be resolved locally", p.name, p.param_type.name()),
        )
        .at(p.key_span)
        .label("needs a value from the environment")
        .note("infra does not read Parameter Store or look up account resources while evaluating templates.")
        .help(format!("give the value in infra.toml under [environments.{}.parameters]", self.input.environment))
    }

    // ---------------------------------------------------------------- rules and conditions

    fn check_rule(&mut self, rule: &crate::template::model::Rule) {
        if let Some(c) = &rule.rule_condition {
            match self.eval_bool(c, Scope::Rules) {
                Ok(true) => {}
                _ => return,
            }
        }
        for a in &rule.assertions {
            if let Ok(false) = self.eval_bool(&a.assert, Scope::Rules) {
                let span = a.assert.as_intrinsic().map(|(k, _)| k.span).unwrap_or(a.assert.span);
                let mut d = Diagnostic::error(
                    "E1110",
                    match &a.description {
                        Some(desc) => format!("rule `{}` failed: {desc}", rule.name),
                        None => format!("rule `{}` failed", rule.name),
                    },
                )
                .at(span)
                .label("this assertion is false")
                .with_secondary(rule.key_span, "rule declared here");
                if a.description.is_none() {
                    d = d.help("add an AssertDescription so this error explains itself");
                }
                self.diags.push(d);
            }
        }
    }

    /// Evaluate a named condition (memoised; cycles are errors).
    fn condition(&mut self, name: &str, span: Span) -> R<bool> {
        match self.conditions.get(name) {
            Some(CondState::Done(r)) => return *r,
            Some(CondState::InProgress) => {
                let start = self.cond_stack.iter().position(|c| c == name).unwrap_or(0);
                let mut path: Vec<String> = self.cond_stack.get(start..).unwrap_or(&[]).to_vec();
                path.push(name.to_string());
                let at = self.t.conditions.get(name).map(|c| c.key_span).unwrap_or(span);
                let d = Diagnostic::error("E1120", format!("conditions form a cycle: {}", path.join(" -> ")))
                    .at(at)
                    .label("this condition depends on itself")
                    .note("A condition may refer to other conditions, but not in a circle.");
                return Err(self.report(d));
            }
            None => {}
        }
        let Some(c) = self.t.conditions.get(name) else {
            let known: Vec<&str> = self.t.conditions.keys().map(String::as_str).collect();
            let mut d = Diagnostic::error("E1121", format!("unknown condition `{name}`"))
                .at(span)
                .label("not declared in Conditions");
            if let Some(m) = did_you_mean(name, known) {
                d = d.help(format!("did you mean `{m}`?"));
            }
            return Err(self.report(d));
        };
        if self.cond_stack.len() >= MAX_CONDITION_DEPTH {
            let d = Diagnostic::error("E1120", format!("conditions nest more than {MAX_CONDITION_DEPTH} deep"))
                .at(c.key_span)
                .label("condition chain too long")
                .note("Each condition here refers to the next; shorten the chain.");
            return Err(self.report(d));
        }
        self.conditions.insert(name.to_string(), CondState::InProgress);
        self.cond_stack.push(name.to_string());
        let r = self.eval_bool(&c.body, Scope::Conditions);
        self.cond_stack.pop();
        self.conditions.insert(name.to_string(), CondState::Done(r));
        r
    }

    fn eval_bool(&mut self, node: &Node, scope: Scope) -> R<bool> {
        match self.eval(node, scope)? {
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            other => {
                let found = other.as_ref().map(Value::kind).unwrap_or("AWS::NoValue");
                let span = node.as_intrinsic().map(|(k, _)| k.span).unwrap_or(node.span);
                let d = Diagnostic::error("E1122", format!("expected a condition, found {found}"))
                    .at(span)
                    .label("not a condition")
                    .note("A condition is built from Fn::Equals, Fn::And, Fn::Or, Fn::Not and {\"Condition\": Name}.");
                Err(self.report(d))
            }
        }
    }

    // ---------------------------------------------------------------- resources

    fn properties(&mut self, props: Option<&Node>, id: &str) -> Value {
        let Some(props) = props else { return Value::Map(BTreeMap::new()) };
        if let Some(entries) = props.as_map().filter(|_| props.as_intrinsic().is_none()) {
            // One property at a time, so an unresolved one does not hide the rest.
            let mut out = BTreeMap::new();
            for (k, v) in entries {
                match self.eval(v, Scope::Resources) {
                    Ok(Some(v)) => {
                        out.insert(k.name.clone(), v);
                    }
                    Ok(None) => {}
                    Err(_) => {
                        out.insert(k.name.clone(), Value::Null);
                    }
                }
            }
            return Value::Map(out);
        }
        match self.eval(props, Scope::Resources) {
            Ok(Some(v @ Value::Map(_))) => v,
            Ok(None) | Ok(Some(Value::Null)) | Err(_) => Value::Map(BTreeMap::new()),
            Ok(Some(v)) => {
                let d = Diagnostic::error(
                    "E1156",
                    format!("`Properties` of resource `{id}` must be a mapping, found {}", v.kind()),
                )
                .at(props.span)
                .label("expected a mapping");
                self.report(d);
                Value::Map(BTreeMap::new())
            }
        }
    }

    /// Check a reference to a resource (Ref, GetAtt, Sub, DependsOn) and record it.
    fn resource_reference(&mut self, id: &str, span: Span, scope: Scope, code: &'static str, by: Referrer) -> R<()> {
        let what = by.as_str();
        if !self.t.resources.contains_key(id) {
            let mut names: Vec<&str> = self.t.resources.keys().map(String::as_str).collect();
            if matches!(by, Referrer::Function(Intrinsic::Ref | Intrinsic::Sub)) {
                names.extend(self.t.parameters.keys().map(String::as_str));
                names.extend(PSEUDO_PARAMETERS.iter().copied());
            }
            let message = if self.t.parameters.contains_key(id) {
                format!("`{what}` target `{id}` is a parameter, not a resource")
            } else if id.starts_with("AWS::") && by != Referrer::DependsOn {
                format!("unknown pseudo parameter `{id}`")
            } else if by == Referrer::Function(Intrinsic::Ref) {
                format!("`Ref` refers to unknown parameter or resource `{id}`")
            } else {
                format!("`{what}` refers to unknown resource `{id}`")
            };
            let mut d = Diagnostic::error(code, message).at(span).label("not declared in this layer");
            if let Some(m) = did_you_mean(id, names) {
                d = d.help(format!("did you mean `{m}`?"));
            } else if by != Referrer::DependsOn {
                d = d.note(
                    "Resources of other layers are reached through their Outputs' Export.Name and Fn::ImportValue.",
                );
            }
            return Err(self.report(d));
        }
        if !scope.allows_resources() {
            let d = Diagnostic::error("E1153", format!("`{what}` cannot refer to resource `{id}` here"))
                .at(span)
                .label("resource reference not allowed")
                .note(match scope {
                    Scope::Conditions => "Conditions are evaluated before any resource exists; they may use parameters, pseudo parameters and mappings only.",
                    Scope::Rules => "Rules are evaluated before any resource exists; they may use parameters only.",
                    _ => "Export names and Fn::ImportValue arguments are evaluated before any resource exists.",
                });
            return Err(self.report(d));
        }
        if let Some(cond) = self.dropped.get(id) {
            let d = Diagnostic::error(
                "E1158",
                format!(
                    "`{what}` refers to resource `{id}`, which is not created in environment `{}`",
                    self.input.environment
                ),
            )
            .at(span)
            .label(format!("condition `{cond}` is false"))
            .help(format!(
                "guard this reference with `Fn::If: [{cond}, ..., !Ref AWS::NoValue]` or give it the same Condition"
            ));
            return Err(self.report(d));
        }
        self.refs.insert(id.to_string());
        Ok(())
    }

    // ---------------------------------------------------------------- values

    /// Evaluate a node. `Ok(None)` is `AWS::NoValue`: the enclosing property or item goes away.
    fn eval(&mut self, node: &Node, scope: Scope) -> R<Option<Value>> {
        match &node.kind {
            NodeKind::Null => Ok(Some(Value::Null)),
            NodeKind::Bool(b) => Ok(Some(Value::Bool(*b))),
            NodeKind::Number(n) => Ok(Some(number_value(n))),
            NodeKind::String(s) => Ok(Some(Value::String(s.clone()))),
            NodeKind::Seq(items) => {
                let mut out = Vec::new();
                let mut stop = None;
                for i in items {
                    match self.eval(i, scope) {
                        Ok(Some(v)) => out.push(v),
                        Ok(None) => {}
                        Err(s) => stop = worst(stop, s),
                    }
                }
                match stop {
                    Some(s) => Err(s),
                    None => Ok(Some(Value::List(out))),
                }
            }
            NodeKind::Map(entries) => {
                if let Some((k, arg)) = node.as_intrinsic() {
                    if k.intrinsic() != Some(Intrinsic::Condition) || scope.allows_conditions_functions() {
                        return self.intrinsic(k, arg, scope);
                    }
                }
                let mut out = BTreeMap::new();
                let mut stop = None;
                for (k, v) in entries {
                    if Intrinsic::is_function_name(&k.name) && entries.len() > 1 {
                        let d = Diagnostic::error("E1153", format!("`{}` must be the only key of its mapping", k.name))
                            .at(k.span)
                            .label("intrinsic function next to other keys")
                            .note("An intrinsic function is written as a mapping with exactly one key.");
                        stop = worst(stop, self.report(d));
                        continue;
                    }
                    match self.eval(v, scope) {
                        Ok(Some(v)) => {
                            out.insert(k.name.clone(), v);
                        }
                        Ok(None) => {}
                        Err(s) => stop = worst(stop, s),
                    }
                }
                match stop {
                    Some(s) => Err(s),
                    None => Ok(Some(Value::Map(out))),
                }
            }
        }
    }

    /// Evaluate an argument that must produce a value (NoValue is not allowed there).
    fn eval_value(&mut self, node: &Node, scope: Scope, f: &Key) -> R<Value> {
        match self.eval(node, scope)? {
            Some(v) => Ok(v),
            None => Err(self.misuse(f, format!("`{}` argument cannot be AWS::NoValue", f.name))),
        }
    }

    fn eval_string(&mut self, node: &Node, scope: Scope, f: &Key, what: &str) -> R<String> {
        match self.eval_value(node, scope, f)? {
            Value::String(s) => Ok(s),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(self.misuse(f, format!("{what} of `{}` must be a string, found {}", f.name, other.kind()))),
        }
    }

    fn args<'n>(&mut self, f: &Key, arg: &'n Node, count: std::ops::RangeInclusive<usize>) -> R<&'n [Node]> {
        match arg.as_seq() {
            Some(items) if count.contains(&items.len()) => Ok(items),
            Some(items) => {
                let expected = if count.start() == count.end() {
                    format!("{}", count.start())
                } else {
                    format!("{} to {}", count.start(), count.end())
                };
                Err(self.misuse(f, format!("`{}` takes {expected} arguments, found {}", f.name, items.len())))
            }
            None => Err(self.misuse(f, format!("`{}` takes a list of arguments, found {}", f.name, arg.kind_name()))),
        }
    }

    fn literal_name<'n>(&mut self, f: &Key, node: &'n Node, what: &str) -> R<&'n str> {
        match node.as_str() {
            Some(s) => Ok(s),
            None => {
                Err(self
                    .misuse(f, format!("{what} of `{}` must be a literal string, found {}", f.name, node.kind_name())))
            }
        }
    }

    fn scope_error(&mut self, f: &Key, allowed: &str) -> Stop {
        let d = Diagnostic::error("E1153", format!("`{}` cannot be used here", f.name))
            .at(f.span)
            .label("not allowed in this section")
            .note(format!("`{}` can only be used {allowed}.", f.name));
        self.report(d)
    }

    /// A function's result, or its error reported at the function's key.
    fn applied<T>(&mut self, f: &Key, result: intrinsics::Result<T>) -> R<T> {
        result.map_err(|e| self.misuse(f, e.message))
    }

    fn intrinsic(&mut self, f: &Key, arg: &Node, scope: Scope) -> R<Option<Value>> {
        let name = f.name.as_str();
        let Some(function) = f.intrinsic() else {
            let mut d = Diagnostic::error("E1150", format!("unknown intrinsic function `{name}`"))
                .at(f.span)
                .label("unknown function");
            match did_you_mean(name, FUNCTIONS.iter().map(|i| i.as_str())) {
                Some(m) => d = d.help(format!("did you mean `{m}`?")),
                None => d = d.note("Supported functions: Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::FindInMap, Fn::If, Fn::ImportValue, Fn::Base64, Fn::Cidr, Fn::GetAZs, Fn::Length, Fn::ToJsonString, and the condition and rule functions."),
            }
            return Err(self.report(d));
        };
        match function {
            Intrinsic::Ref => self.reference(f, arg, scope),
            Intrinsic::GetAtt => self.get_att(f, arg, scope).map(Some),
            Intrinsic::Sub => self.sub(f, arg, scope).map(Some),
            Intrinsic::Join => self.join(f, arg, scope).map(Some),
            Intrinsic::Select => self.select(f, arg, scope).map(Some),
            Intrinsic::Split => self.split(f, arg, scope).map(Some),
            Intrinsic::FindInMap => self.find_in_map(f, arg, scope).map(Some),
            Intrinsic::If => {
                if !matches!(scope, Scope::Resources | Scope::Outputs) {
                    return Err(self.scope_error(f, "in Resources and Outputs"));
                }
                let args = self.args(f, arg, 3..=3)?;
                let [c, yes, no] = args else { return Err(Stop::Reported) };
                let cname = self.literal_name(f, c, "the condition name")?;
                match self.condition(cname, c.span) {
                    Ok(true) => self.eval(yes, scope),
                    Ok(false) => self.eval(no, scope),
                    Err(Stop::Unknown) => {
                        // Both branches may be taken somewhere; check both.
                        let a = self.eval(yes, scope).err();
                        let b = self.eval(no, scope).err();
                        Err(if a == Some(Stop::Reported) || b == Some(Stop::Reported) {
                            Stop::Reported
                        } else {
                            Stop::Unknown
                        })
                    }
                    Err(Stop::Reported) => Err(Stop::Reported),
                }
            }
            Intrinsic::Equals => {
                if !scope.allows_conditions_functions() {
                    return Err(self.scope_error(f, "in Conditions and Rules"));
                }
                let args = self.args(f, arg, 2..=2)?;
                let [a, b] = args else { return Err(Stop::Reported) };
                let a = self.eval_value(a, scope, f);
                let b = self.eval_value(b, scope, f);
                let (a, b) = (a?, b?);
                Ok(Some(Value::Bool(equal(&a, &b))))
            }
            Intrinsic::And | Intrinsic::Or => {
                if !scope.allows_conditions_functions() {
                    return Err(self.scope_error(f, "in Conditions and Rules"));
                }
                let args = self.args(f, arg, 2..=10)?;
                let mut stop = None;
                let mut values = Vec::new();
                for a in args {
                    match self.eval_bool(a, scope) {
                        Ok(b) => values.push(b),
                        Err(s) => stop = worst(stop, s),
                    }
                }
                if let Some(s) = stop {
                    return Err(s);
                }
                let r = if function == Intrinsic::And { values.iter().all(|b| *b) } else { values.iter().any(|b| *b) };
                Ok(Some(Value::Bool(r)))
            }
            Intrinsic::Not => {
                if !scope.allows_conditions_functions() {
                    return Err(self.scope_error(f, "in Conditions and Rules"));
                }
                let args = self.args(f, arg, 1..=1)?;
                let [a] = args else { return Err(Stop::Reported) };
                Ok(Some(Value::Bool(!self.eval_bool(a, scope)?)))
            }
            Intrinsic::Condition | Intrinsic::FnCondition => {
                if !scope.allows_conditions_functions() {
                    return Err(self.scope_error(f, "in Conditions and Rules"));
                }
                let cname = self.literal_name(f, arg, "the argument")?;
                Ok(Some(Value::Bool(self.condition(cname, arg.span)?)))
            }
            Intrinsic::ImportValue => {
                if !matches!(scope, Scope::Resources | Scope::Outputs) {
                    return Err(self.scope_error(f, "in Resources and Outputs"));
                }
                let export = self.eval_string(arg, Scope::ExportName, f, "the export name")?;
                self.imports.push(Spanned { value: export.clone(), span: f.span });
                let exports = self.input.exports;
                Ok(Some(intrinsics::import_value(&Value::String(export), |name| exports.get(name).cloned())))
            }
            Intrinsic::Base64 => {
                let v = self.eval_value(arg, scope, f)?;
                self.applied(f, intrinsics::base64(&v)).map(Some)
            }
            Intrinsic::Cidr => {
                let args = self.args(f, arg, 3..=3)?;
                let [a, b, c] = args else { return Err(Stop::Reported) };
                let a = self.eval_value(a, scope, f);
                let b = self.eval_value(b, scope, f);
                let c = self.eval_value(c, scope, f);
                let (a, b, c) = (a?, b?, c?);
                self.applied(f, intrinsics::cidr(&a, &b, &c)).map(Some)
            }
            Intrinsic::GetAZs => {
                let region = match self.eval_value(arg, scope, f)? {
                    Value::String(s) if s.is_empty() => self.input.region.to_string(),
                    Value::String(s) => s,
                    other => {
                        return Err(self.misuse(f, format!("`Fn::GetAZs` takes a region name, found {}", other.kind())))
                    }
                };
                Ok(Some(Value::List(["a", "b", "c"].iter().map(|z| Value::String(format!("{region}{z}"))).collect())))
            }
            Intrinsic::Length => match self.eval_value(arg, scope, f)? {
                Value::List(items) => Ok(Some(Value::Number(items.len().into()))),
                other => {
                    Err(self.misuse(f, format!("`Fn::Length` takes a list known before apply, found {}", other.kind())))
                }
            },
            Intrinsic::ToJsonString => {
                let v = self.eval_value(arg, scope, f)?;
                if !v.is_known() || !matches!(v, Value::List(_) | Value::Map(_)) {
                    return Err(self.misuse(
                        f,
                        format!("`Fn::ToJsonString` takes a mapping or a list known before apply, found {}", v.kind()),
                    ));
                }
                Ok(Some(Value::String(v.to_json().to_string())))
            }
            Intrinsic::Transform => {
                let name = arg.get("Name").and_then(Node::as_str).unwrap_or("");
                Err(self.report(crate::template::include::unsupported_transform(name, f.span)))
            }
            Intrinsic::Contains
            | Intrinsic::EachMemberEquals
            | Intrinsic::EachMemberIn
            | Intrinsic::RefAll
            | Intrinsic::ValueOf
            | Intrinsic::ValueOfAll => {
                if scope != Scope::Rules {
                    return Err(self.scope_error(f, "in the Assertions and RuleCondition of Rules"));
                }
                self.rule_function(f, function, arg, scope).map(Some)
            }
        }
    }

    fn rule_function(&mut self, f: &Key, function: Intrinsic, arg: &Node, scope: Scope) -> R<Value> {
        match function {
            Intrinsic::RefAll => {
                self.literal_name(f, arg, "the parameter type")?;
                // Lists every ID of that type in the account: not known locally.
                Err(Stop::Unknown)
            }
            Intrinsic::ValueOf | Intrinsic::ValueOfAll => {
                let args = self.args(f, arg, 2..=2)?;
                let [p, _] = args else { return Err(Stop::Reported) };
                if function == Intrinsic::ValueOf {
                    let pname = self.literal_name(f, p, "the parameter name")?;
                    if !self.t.parameters.contains_key(pname) {
                        let known: Vec<&str> = self.t.parameters.keys().map(String::as_str).collect();
                        let mut d =
                            Diagnostic::error("E1163", format!("`Fn::ValueOf` refers to unknown parameter `{pname}`"))
                                .at(p.span)
                                .label("not a parameter");
                        if let Some(m) = did_you_mean(pname, known) {
                            d = d.help(format!("did you mean `{m}`?"));
                        }
                        return Err(self.report(d));
                    }
                }
                // Attribute values come from the account: not known locally.
                Err(Stop::Unknown)
            }
            _ => {
                let args = self.args(f, arg, 2..=2)?;
                let [a, b] = args else { return Err(Stop::Reported) };
                let a = self.eval_value(a, scope, f);
                let b = self.eval_value(b, scope, f);
                let (a, b) = (a?, b?);
                let Value::List(members) = a else {
                    return Err(self
                        .misuse(f, format!("the first argument of `{}` must be a list, found {}", f.name, a.kind())));
                };
                Ok(Value::Bool(match function {
                    Intrinsic::Contains => members.iter().any(|m| equal(m, &b)),
                    Intrinsic::EachMemberEquals => members.iter().all(|m| equal(m, &b)),
                    _ => {
                        let Value::List(allowed) = b else {
                            return Err(self.misuse(
                                f,
                                format!("the second argument of `Fn::EachMemberIn` must be a list, found {}", b.kind()),
                            ));
                        };
                        members.iter().all(|m| allowed.iter().any(|x| equal(m, x)))
                    }
                }))
            }
        }
    }

    fn reference(&mut self, f: &Key, arg: &Node, scope: Scope) -> R<Option<Value>> {
        let Some(name) = arg.as_str() else {
            return Err(
                self.misuse(f, format!("`Ref` takes a logical ID as a literal string, found {}", arg.kind_name()))
            );
        };
        if let Some(state) = self.params.get(name) {
            return match state {
                ParamState::Resolved(v) => Ok(Some(v.clone())),
                ParamState::Unknown => Err(Stop::Unknown),
                ParamState::Failed => Err(Stop::Reported),
            };
        }
        if let Some(v) = self.pseudo(name) {
            if scope == Scope::Rules && name == "AWS::NoValue" {
                return Err(self.scope_error(f, "in Resources and Outputs"));
            }
            return Ok(v);
        }
        self.resource_reference(name, f.span, scope, "E1130", Referrer::Function(Intrinsic::Ref))?;
        Ok(Some(Value::Expr(Box::new(Expr::Ref(name.to_string())))))
    }

    /// A pseudo parameter's value: `None` when `name` is not one, `Some(None)` for NoValue.
    fn pseudo(&self, name: &str) -> Option<Option<Value>> {
        let i = self.input;
        let s = |v: String| Some(Some(Value::String(v)));
        match name {
            "AWS::Region" => s(i.region.to_string()),
            "AWS::AccountId" => s(i.account_id.to_string()),
            "AWS::Partition" => s(partition(i.region).to_string()),
            "AWS::URLSuffix" => {
                s(if partition(i.region) == "aws-cn" { "amazonaws.com.cn" } else { "amazonaws.com" }.to_string())
            }
            "AWS::StackName" => s(i.stack_name()),
            "AWS::StackId" => s(stack_id(i.region, i.account_id, &i.stack_name())),
            "AWS::NotificationARNs" => Some(Some(Value::List(Vec::new()))),
            "AWS::NoValue" => Some(None),
            _ => None,
        }
    }

    fn get_att(&mut self, f: &Key, arg: &Node, scope: Scope) -> R<Value> {
        let (id, attr) = match &arg.kind {
            NodeKind::String(s) => match s.split_once('.') {
                Some((id, attr)) if !id.is_empty() && !attr.is_empty() => (id.to_string(), attr.to_string()),
                _ => {
                    return Err(self
                        .misuse(f, format!("`Fn::GetAtt` string form must be \"LogicalId.Attribute\", found \"{s}\"")))
                }
            },
            NodeKind::Seq(_) => {
                let args = self.args(f, arg, 2..=2)?;
                let [id, attr] = args else { return Err(Stop::Reported) };
                let id = self.literal_name(f, id, "the logical ID")?.to_string();
                let attr = self.eval_string(attr, scope, f, "the attribute name")?;
                (id, attr)
            }
            _ => {
                return Err(self.misuse(
                    f,
                    format!("`Fn::GetAtt` takes [\"LogicalId\", \"Attribute\"], found {}", arg.kind_name()),
                ))
            }
        };
        self.resource_reference(&id, f.span, scope, "E1133", Referrer::Function(Intrinsic::GetAtt))?;
        Ok(Value::Expr(Box::new(Expr::GetAtt(id, attr))))
    }

    fn sub(&mut self, f: &Key, arg: &Node, scope: Scope) -> R<Value> {
        let (text, vars_node) = match &arg.kind {
            NodeKind::String(s) => (s.as_str(), None),
            NodeKind::Seq(_) => {
                let args = self.args(f, arg, 2..=2)?;
                let [s, vars] = args else { return Err(Stop::Reported) };
                let s = self.literal_name(f, s, "the first argument")?;
                if vars.as_map().is_none() || vars.as_intrinsic().is_some() {
                    return Err(self.misuse(
                        f,
                        format!(
                            "the second argument of `Fn::Sub` must be a mapping of variables, found {}",
                            vars.kind_name()
                        ),
                    ));
                }
                (s, Some(vars))
            }
            _ => {
                return Err(self.misuse(
                    f,
                    format!("`Fn::Sub` takes a string or [string, {{variables}}], found {}", arg.kind_name()),
                ))
            }
        };
        let mut vars: HashMap<&str, R<Value>> = HashMap::new();
        for (k, v) in vars_node.and_then(Node::as_map).unwrap_or(&[]) {
            let r = self.eval_value(v, scope, f);
            vars.insert(k.name.as_str(), r);
        }
        let mut parts: Vec<Value> = Vec::new();
        let mut literal = String::new();
        let mut stop = None;
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            literal.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(self.misuse(f, "`Fn::Sub` string has a `${` with no closing `}`"));
            };
            let var = &after[..end];
            rest = &after[end + 1..];
            if let Some(lit) = var.strip_prefix('!') {
                literal.push_str("${");
                literal.push_str(lit);
                literal.push('}');
                continue;
            }
            let var = var.trim();
            let value = match vars.get(var) {
                Some(r) => r.clone(),
                None => self.sub_variable(f, var, scope),
            };
            match value {
                Ok(v) => match scalar_string(&v) {
                    Some(s) => literal.push_str(&s),
                    None if matches!(v, Value::Expr(_)) => {
                        if !literal.is_empty() {
                            parts.push(Value::String(std::mem::take(&mut literal)));
                        }
                        parts.push(v);
                    }
                    None => {
                        let s = self.misuse(f, format!("`${{{var}}}` in `Fn::Sub` is {}, not a string", v.kind()));
                        stop = worst(stop, s);
                    }
                },
                Err(s) => stop = worst(stop, s),
            }
        }
        literal.push_str(rest);
        if let Some(s) = stop {
            return Err(s);
        }
        if parts.is_empty() {
            return Ok(Value::String(literal));
        }
        if !literal.is_empty() {
            parts.push(Value::String(literal));
        }
        Ok(Value::Expr(Box::new(Expr::Join(String::new(), Value::List(parts)))))
    }

    fn sub_variable(&mut self, f: &Key, var: &str, scope: Scope) -> R<Value> {
        if let Some(state) = self.params.get(var) {
            return match state {
                ParamState::Resolved(v) => Ok(v.clone()),
                ParamState::Unknown => Err(Stop::Unknown),
                ParamState::Failed => Err(Stop::Reported),
            };
        }
        if let Some(v) = self.pseudo(var) {
            return Ok(v.unwrap_or(Value::String(String::new())));
        }
        if self.t.resources.contains_key(var) {
            self.resource_reference(var, f.span, scope, "E1135", Referrer::Function(Intrinsic::Sub))?;
            return Ok(Value::Expr(Box::new(Expr::Ref(var.to_string()))));
        }
        if let Some((id, attr)) = var.split_once('.') {
            if self.t.resources.contains_key(id) {
                self.resource_reference(id, f.span, scope, "E1135", Referrer::Function(Intrinsic::Sub))?;
                return Ok(Value::Expr(Box::new(Expr::GetAtt(id.to_string(), attr.to_string()))));
            }
        }
        let mut names: Vec<&str> = self.t.parameters.keys().map(String::as_str).collect();
        names.extend(self.t.resources.keys().map(String::as_str));
        names.extend(PSEUDO_PARAMETERS.iter().copied());
        let mut d = Diagnostic::error("E1135", format!("unknown variable `${{{var}}}` in `Fn::Sub`"))
            .at(f.span)
            .label("not a parameter, resource, pseudo parameter or Fn::Sub variable");
        if let Some(m) = did_you_mean(var, names) {
            d = d.help(format!("did you mean `${{{m}}}`?"));
        } else {
            d = d.help(format!("write `${{!{var}}}` for a literal `${{{var}}}`"));
        }
        Err(self.report(d))
    }

    fn join(&mut self, f: &Key, arg: &Node, scope: Scope) -> R<Value> {
        let args = self.args(f, arg, 2..=2)?;
        let [sep, list] = args else { return Err(Stop::Reported) };
        let sep = self.literal_name(f, sep, "the delimiter")?.to_string();
        let list = self.eval_value(list, scope, f)?;
        self.applied(f, intrinsics::join(&sep, &list))
    }

    fn select(&mut self, f: &Key, arg: &Node, scope: Scope) -> R<Value> {
        let args = self.args(f, arg, 2..=2)?;
        let [index, list] = args else { return Err(Stop::Reported) };
        let index_v = self.eval_value(index, scope, f);
        let list_v = self.eval_value(list, scope, f);
        let (index_v, list_v) = (index_v?, list_v?);
        let index = self.applied(f, intrinsics::select_index(&index_v))?;
        self.applied(f, intrinsics::select(index, &list_v))
    }

    fn split(&mut self, f: &Key, arg: &Node, scope: Scope) -> R<Value> {
        let args = self.args(f, arg, 2..=2)?;
        let [sep, source] = args else { return Err(Stop::Reported) };
        let sep = self.literal_name(f, sep, "the delimiter")?.to_string();
        self.applied(f, intrinsics::split_delimiter(&sep))?;
        let source = self.eval_value(source, scope, f)?;
        self.applied(f, intrinsics::split(&sep, &source))
    }

    fn find_in_map(&mut self, f: &Key, arg: &Node, scope: Scope) -> R<Value> {
        let Some(items) = arg.as_seq() else {
            return Err(self.misuse(
                f,
                format!("`Fn::FindInMap` takes [MapName, TopLevelKey, SecondLevelKey], found {}", arg.kind_name()),
            ));
        };
        if items.len() != 3 {
            let map = if self.t.mappings.len() == 1 {
                self.t.mappings.keys().next().cloned().unwrap_or_default()
            } else {
                "MapName".to_string()
            };
            let mut d = Diagnostic::error(
                "E1139",
                format!(
                    "`Fn::FindInMap` takes exactly 3 arguments [MapName, TopLevelKey, SecondLevelKey], found {}",
                    items.len()
                ),
            )
            .at(f.span)
            .label("wrong number of arguments");
            d = match items {
                [first, second] if first.as_str().is_some_and(|s| PSEUDO_PARAMETERS.contains(&s)) => {
                    let pseudo = first.as_str().unwrap_or_default();
                    let key = second.as_str().map(|s| format!("\"{s}\"")).unwrap_or_else(|| "\"SecondLevelKey\"".into());
                    d.note(format!("The first argument names the mapping; \"{pseudo}\" here is a literal string, not the pseudo parameter."))
                        .help(format!("the correct form is [\"{map}\", {{\"Ref\": \"{pseudo}\"}}, {key}]"))
                }
                _ => d.help(format!("the correct form is [\"{map}\", \"TopLevelKey\", \"SecondLevelKey\"], e.g. [\"RegionMap\", {{\"Ref\": \"AWS::Region\"}}, \"NullTransformer\"]")),
            };
            return Err(self.report(d));
        }
        let mut keys = Vec::new();
        let mut stop = None;
        for (i, item) in items.iter().enumerate() {
            let what =
                ["the map name", "the top-level key", "the second-level key"].get(i).copied().unwrap_or("an argument");
            match self.eval_string(item, scope, f, what) {
                Ok(s) => keys.push(s),
                Err(s) => stop = worst(stop, s),
            }
        }
        if let Some(s) = stop {
            return Err(s);
        }
        let [map_name, top, second] = keys.as_slice() else { return Err(Stop::Reported) };
        let Some(map) = self.t.mappings.get(map_name) else {
            let known: Vec<&str> = self.t.mappings.keys().map(String::as_str).collect();
            let mut d = Diagnostic::error("E1140", format!("`Fn::FindInMap` refers to unknown mapping `{map_name}`"))
                .at(f.span)
                .label("not declared in Mappings");
            if let Some(m) = did_you_mean(map_name, known) {
                d = d.help(format!("did you mean `{m}`?"));
            }
            return Err(self.report(d));
        };
        let Some(level) = map.entries.get(top) else {
            let known: Vec<&str> = map.entries.keys().map(String::as_str).collect();
            let mut d = Diagnostic::error("E1140", format!("mapping `{map_name}` has no top-level key `{top}`"))
                .at(f.span)
                .label("key not found")
                .with_secondary(map.key_span, "mapping declared here");
            if let Some(m) = did_you_mean(top, known.clone()) {
                d = d.help(format!("did you mean `{m}`?"));
            } else if !known.is_empty() {
                d = d.note(format!("Top-level keys: {}.", known.join(", ")));
            }
            return Err(self.report(d));
        };
        let Some(v) = level.get(second) else {
            let known: Vec<&str> = level.keys().map(String::as_str).collect();
            let mut d = Diagnostic::error("E1140", format!("mapping `{map_name}` has no key `{second}` under `{top}`"))
                .at(f.span)
                .label("key not found")
                .with_secondary(map.key_span, "mapping declared here");
            if let Some(m) = did_you_mean(second, known) {
                d = d.help(format!("did you mean `{m}`?"));
            }
            return Err(self.report(d));
        };
        Ok(literal(v))
    }
}

/// What CloudFormation accepts as an export name.
fn is_export_name(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':')
}

/// CloudFormation compares values as strings (`"1"` equals `1`).
fn equal(a: &Value, b: &Value) -> bool {
    match (scalar_string(a), scalar_string(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
