//! Plans for people, in Terraform's idiom, and as documented JSON for machines.
//!
//! Human form: one block per changed resource with a `+` (create), `~` (update in place),
//! `-/+` or `+/-` (replace, destroy-first or create-first), `-` (destroy) marker; per-property
//! `old → new`; multi-line strings and JSON documents (IAM policies) as a unified diff; values
//! not known until apply as `(known after apply)`; values of `NoEcho` parameters as
//! `(sensitive value)` ([`human_masked`]); and a closing summary line.
//!
//! JSON form ([`json`]): `{"format_version": 1, "project", "env", "destroy", "fingerprint",
//! "summary": {"add", "change", "replace", "destroy", "forget", "outputs_changed"},
//! "layers": [{"layer", "env", "lineage", "serial", "changes": [ResourceChange], "outputs":
//! [OutputChange]}]}` where a `ResourceChange` has `layer`, `logical_id`, `resource_type`,
//! `action` (`no_op`, `create`, `update`, `replace`, `delete`, `forget`), `reason` (an object
//! with `kind`), `replace_order` (for replacements), `provisioned_through` (when the provider
//! does not call the type's own service, e.g. `"CloudFormation"`; absent otherwise), `before` (the state record) and `after`
//! (properties in CloudFormation long form; a remaining `Ref`/`Fn::GetAtt`/... is a value
//! known only after apply). The same document is what `infra plan -out` saves.

use super::Redactor;
use crate::plan::{Action, ActionReason, OutputChange, Plan, ReplaceOrder, ResourceChange, Summary};
use crate::state::ObjectKey;
use crate::value::Value;
use serde_json::Value as J;
use std::collections::BTreeSet;
use std::fmt::Write;

const UNKNOWN: &str = "(known after apply)";
/// Stands in for an unknown value while pretty-printing JSON.
const UNKNOWN_MARK: &str = "\u{1}unknown\u{1}";

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    fn marker(&self, action: &Action) -> String {
        match action {
            Action::Create => self.green("+"),
            Action::Update => self.yellow("~"),
            Action::Replace(ReplaceOrder::CreateBeforeDelete) => format!("{}/{}", self.green("+"), self.red("-")),
            Action::Replace(ReplaceOrder::DeleteBeforeCreate { .. }) => {
                format!("{}/{}", self.red("-"), self.green("+"))
            }
            Action::Delete => self.red("-"),
            Action::Forget => self.yellow("."),
            Action::NoOp => " ".to_string(),
        }
    }
}

/// Stands in for a secret while rendering; shown as `(sensitive value)`.
const SENSITIVE_MARK: &str = "\u{2}sensitive\u{2}";

/// The plan for a terminal or a log, with every string that contains a secret (a value of a
/// `NoEcho` parameter) shown as `(sensitive value)`, unquoted.
pub fn human_masked(plan: &Plan, color: bool, redactor: &Redactor) -> String {
    if redactor.is_empty() {
        return human(plan, color);
    }
    let masked = redactor.plan_with(plan, SENSITIVE_MARK);
    let marker = J::String(SENSITIVE_MARK.to_string()).to_string();
    redactor.text(&human(&masked, color).replace(&marker, super::SENSITIVE))
}

/// The plan for a terminal or a log.
pub fn human(plan: &Plan, color: bool) -> String {
    let st = Style { color };
    let mut out = String::new();
    let changed: Vec<&ResourceChange> =
        plan.layers.iter().flat_map(|l| &l.changes).filter(|c| c.action.is_change()).collect();
    let outputs: Vec<(&str, &OutputChange)> = plan
        .layers
        .iter()
        .flat_map(|l| l.outputs.iter().map(move |o| (l.layer.as_str(), o)))
        .filter(|(_, o)| o.action.is_change())
        .collect();
    if changed.is_empty() && outputs.is_empty() {
        out.push_str(&st.bold("No changes."));
        out.push_str(" Your infrastructure matches the configuration.\n");
        return out;
    }
    if !changed.is_empty() {
        out.push_str("infra will perform the following actions:\n");
        let mut layer = "";
        for c in &changed {
            if c.layer != layer {
                layer = &c.layer;
                let _ = writeln!(out, "\n{}", st.bold(&format!("Layer {} ({}):", c.layer, plan.env)));
            }
            out.push('\n');
            resource(&mut out, &st, c);
        }
    }
    if !outputs.is_empty() {
        let _ = writeln!(out, "\nChanges to Outputs:");
        for (layer, o) in outputs {
            output(&mut out, &st, layer, o);
        }
    }
    let _ = writeln!(out, "\n{}", st.bold(&summary_line(&plan.summary(), plan.destroy)));
    out
}

/// `Plan: 3 to add, 1 to change, 1 to replace, 2 to destroy.`
pub fn summary_line(s: &Summary, destroy: bool) -> String {
    let mut line = if destroy && s.add + s.change + s.replace == 0 {
        format!("Plan: {} to destroy", s.destroy)
    } else {
        format!("Plan: {} to add, {} to change, {} to replace, {} to destroy", s.add, s.change, s.replace, s.destroy)
    };
    if s.forget > 0 {
        let _ = write!(line, ", {} to forget", s.forget);
    }
    line.push('.');
    line
}

fn heading(c: &ResourceChange) -> String {
    let who = match &c.logical_id {
        ObjectKey::Deposed(id) => format!("{id} (deposed object)"),
        ObjectKey::Current(id) => id.clone(),
    };
    let what = match (&c.action, &c.reason) {
        (Action::Create, _) => "will be created".to_string(),
        (Action::Update, ActionReason::SettingsChanged { settings }) => {
            format!("will be updated in-place (only {} changed; no call to the provider)", settings.join(", "))
        }
        (Action::Update, _) => "will be updated in-place".to_string(),
        (Action::Replace(order), reason) => {
            let order = match order {
                ReplaceOrder::DeleteBeforeCreate { properties } if properties.is_empty() => {
                    "destroy before create: a dependency is replaced destroy-first".to_string()
                }
                ReplaceOrder::DeleteBeforeCreate { properties } => {
                    format!("destroy before create: {} fixes the name", properties.join(", "))
                }
                ReplaceOrder::CreateBeforeDelete => "create before destroy".to_string(),
            };
            let why = match reason {
                ActionReason::ReplaceRequested => ", as requested".to_string(),
                ActionReason::Tainted { reason } => format!(", because it is tainted: {reason}"),
                ActionReason::ReplaceBecauseUnknown { properties } => {
                    format!(", because {} may change (known after apply)", properties.join(", "))
                }
                ActionReason::ReplaceBecause { properties } if properties.iter().any(|p| p == "Type") => {
                    ", because its type changed".to_string()
                }
                _ => String::new(),
            };
            format!("must be replaced ({order}){why}")
        }
        (Action::Delete, ActionReason::RemovedFromTemplate) => {
            "will be destroyed (it is no longer in the template)".to_string()
        }
        (Action::Delete, _) => "will be destroyed".to_string(),
        (Action::Forget, _) if c.logical_id.is_deposed() => {
            "will be removed from state but not destroyed (UpdateReplacePolicy: Retain)".to_string()
        }
        (Action::Forget, _) => "will be removed from state but not destroyed (DeletionPolicy: Retain)".to_string(),
        (Action::NoOp, _) => "is unchanged".to_string(),
    };
    format!("# {who} {what}")
}

fn resource(out: &mut String, st: &Style, c: &ResourceChange) {
    let _ = writeln!(out, "  {}", st.bold(&heading(c)));
    // Right-align the marker by its visible width, which colour codes do not count towards.
    let width = if matches!(c.action, Action::Replace(_)) { 3 } else { 1 };
    let marker = st.marker(&c.action);
    let through = c.provisioned_through.as_deref().map(|t| format!(" (through {t})")).unwrap_or_default();
    let _ = writeln!(out, "{}{marker} {} {}{through}", " ".repeat(5 - width), c.resource_type, c.logical_id);
    let pad = "        ";
    match &c.action {
        Action::Create => {
            if let Some(Value::Map(m)) = &c.after {
                for (k, v) in m {
                    let text = template_file(c, k, v)
                        .map_or_else(|| value_text(v), |(file, lines)| format!("(the text of {file}, {lines} lines)"));
                    property_line(out, pad, &st.green("+"), k, &text, "");
                }
            }
        }
        Action::Update | Action::Replace(_) => {
            let before = c.before.as_ref().map(|b| &b.properties).unwrap_or(&J::Null);
            let after = match &c.after {
                Some(Value::Map(m)) => m.clone(),
                _ => Default::default(),
            };
            let forcing: BTreeSet<&str> =
                c.forcing_properties().iter().map(|p| p.split('/').next().unwrap_or(p.as_str())).collect();
            let mut keys: BTreeSet<&str> = after.keys().map(String::as_str).collect();
            if let Some(o) = before.as_object() {
                keys.extend(o.keys().map(String::as_str));
            }
            let mut hidden = 0;
            for k in keys {
                let old = before.get(k);
                let new = after.get(k);
                let note = if forcing.contains(k) { st.red(" # forces replacement") } else { String::new() };
                match (old, new) {
                    (None, Some(n)) => property_line(out, pad, &st.green("+"), k, &value_text(n), &note),
                    (Some(o), None) => {
                        property_line(out, pad, &st.red("-"), k, &format!("{} → null", json_text(o)), &note)
                    }
                    (Some(o), Some(n)) => {
                        if crate::plan::compare::compare(Some(n), Some(o)) == crate::plan::compare::Difference::Same {
                            hidden += 1;
                            continue;
                        }
                        match (template_file(c, k, n), o.as_str(), n.as_str()) {
                            (Some((file, _)), Some(o), Some(n)) => {
                                let _ =
                                    writeln!(out, "{pad}{} {k} = (the text of {file}, changed){note}", st.yellow("~"));
                                unified_diff(out, st, &format!("{pad}    "), o, n);
                            }
                            _ => changed_property(out, st, pad, k, o, n, &note),
                        }
                    }
                    (None, None) => {}
                }
            }
            if hidden > 0 {
                let _ = writeln!(
                    out,
                    "{pad}  # ({hidden} unchanged propert{} hidden)",
                    if hidden == 1 { "y" } else { "ies" }
                );
            }
            if matches!(c.action, Action::Replace(_)) && c.forcing_properties().is_empty() {
                if let Some(b) = &c.before {
                    let _ = writeln!(out, "{pad}  id = {}", json_text(&J::String(b.physical_id.clone())));
                }
            }
        }
        Action::Delete | Action::Forget => {
            if let Some(b) = &c.before {
                let _ = writeln!(out, "{pad}  id = {}", json_text(&J::String(b.physical_id.clone())));
            }
        }
        Action::NoOp => {}
    }
}

/// For a nested stack's template text read from a file of the project
/// ([`crate::template::nested`]): the file, as the project shows it, and its length in lines.
/// Plans name the file instead of printing its text.
fn template_file(c: &ResourceChange, key: &str, value: &Value) -> Option<(String, usize)> {
    use crate::template::nested::{is_local, STACK_TYPE, TEMPLATE_BODY};
    if c.resource_type != STACK_TYPE || key != TEMPLATE_BODY {
        return None;
    }
    let text = value.as_str()?;
    let url = match &c.after {
        Some(Value::Map(m)) => m.get("TemplateURL").and_then(Value::as_str).filter(|u| is_local(u)),
        _ => None,
    }?;
    Some((format!("stacks/{}/{url}", c.layer), text.lines().count()))
}

fn property_line(out: &mut String, pad: &str, marker: &str, key: &str, text: &str, note: &str) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let _ = writeln!(out, "{pad}{marker} {key} = {first}{}", if text.contains('\n') { "" } else { note });
    let rest: Vec<&str> = lines.collect();
    for (i, l) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        let _ = writeln!(out, "{pad}    {l}{}", if last { note } else { "" });
    }
}

/// A changed property: `old → new` on one line for scalars, a unified diff for documents.
fn changed_property(out: &mut String, st: &Style, pad: &str, key: &str, old: &J, new: &Value, note: &str) {
    let marker = st.yellow("~");
    if !new.is_known() && !matches!(new, Value::Map(_) | Value::List(_)) {
        property_line(out, pad, &marker, key, &format!("{} → {UNKNOWN}", json_text(old)), note);
        return;
    }
    let (old_doc, new_doc) = (document_text(old), document_text_value(new));
    match (old_doc, new_doc) {
        (Some(o), Some(n)) => {
            let _ = writeln!(out, "{pad}{marker} {key} ={note}");
            unified_diff(out, st, &format!("{pad}    "), &o, &n);
        }
        _ => property_line(out, pad, &marker, key, &format!("{} → {}", json_text(old), value_text(new)), note),
    }
}

/// Multi-line text for diffing: pretty JSON for objects and arrays (and strings holding them),
/// the string itself for multi-line strings; `None` for one-line scalars.
fn document_text(v: &J) -> Option<String> {
    match v {
        J::Object(_) | J::Array(_) => Some(pretty(v)),
        J::String(s) => match serde_json::from_str::<J>(s) {
            Ok(parsed @ (J::Object(_) | J::Array(_))) => Some(pretty(&parsed)),
            _ if s.contains('\n') => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn document_text_value(v: &Value) -> Option<String> {
    match v {
        Value::Map(_) | Value::List(_) => Some(value_text(v)),
        Value::String(_) => document_text(&v.to_json()),
        _ => None,
    }
}

fn unified_diff(out: &mut String, st: &Style, pad: &str, old: &str, new: &str) {
    let diff = similar::TextDiff::from_lines(old, new);
    for (g, group) in diff.grouped_ops(3).iter().enumerate() {
        if g > 0 {
            let _ = writeln!(out, "{pad}  ...");
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let line = change.value().trim_end_matches('\n');
                let text = match change.tag() {
                    similar::ChangeTag::Delete => st.red(&format!("- {line}")),
                    similar::ChangeTag::Insert => st.green(&format!("+ {line}")),
                    similar::ChangeTag::Equal => format!("  {line}"),
                };
                let _ = writeln!(out, "{pad}{text}");
            }
        }
    }
}

fn output(out: &mut String, st: &Style, layer: &str, o: &OutputChange) {
    let name = format!("{layer}.{}", o.name);
    let old = o.before.as_ref().map(json_text).unwrap_or_else(|| "null".to_string());
    match o.action {
        Action::Create => {
            property_line(out, "  ", &st.green("+"), &name, &o.after.as_ref().map(value_text).unwrap_or_default(), "")
        }
        Action::Delete | Action::Forget => property_line(out, "  ", &st.red("-"), &name, &format!("{old} → null"), ""),
        _ => {
            let new = o.after.as_ref().map(value_text).unwrap_or_else(|| "null".to_string());
            property_line(out, "  ", &st.yellow("~"), &name, &format!("{old} → {new}"), "")
        }
    }
}

/// Compact JSON for one-line values, pretty JSON for structures.
fn json_text(v: &J) -> String {
    match v {
        J::Object(_) | J::Array(_) => pretty(v),
        other => other.to_string(),
    }
}

fn pretty(v: &J) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// A value with its unknown parts shown as `(known after apply)`.
pub fn value_text(v: &Value) -> String {
    if let Value::Expr(_) = v {
        return UNKNOWN.to_string();
    }
    let marked = mark_unknowns(v);
    let marker = J::String(UNKNOWN_MARK.to_string()).to_string();
    json_text(&marked).replace(&marker, UNKNOWN)
}

fn mark_unknowns(v: &Value) -> J {
    match v {
        Value::Expr(_) => J::String(UNKNOWN_MARK.to_string()),
        Value::List(items) => J::Array(items.iter().map(mark_unknowns).collect()),
        Value::Map(m) => J::Object(m.iter().map(|(k, x)| (k.clone(), mark_unknowns(x))).collect()),
        other => other.to_json(),
    }
}

/// The plan as the documented JSON form (see the module documentation).
pub fn json(plan: &Plan) -> J {
    let mut j = plan.to_json();
    if let Some(o) = j.as_object_mut() {
        o.insert("summary".to_string(), serde_json::to_value(plan.summary()).unwrap_or(J::Null));
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_lines() {
        let check = |s: Summary, destroy: bool, expected: &str| assert_eq!(summary_line(&s, destroy), expected);
        let s = |add, change, replace, destroy, forget| Summary {
            add,
            change,
            replace,
            destroy,
            forget,
            outputs_changed: 0,
        };
        check(s(3, 1, 1, 2, 0), false, "Plan: 3 to add, 1 to change, 1 to replace, 2 to destroy.");
        check(s(0, 0, 0, 2, 1), true, "Plan: 2 to destroy, 1 to forget.");
        check(s(0, 0, 0, 0, 1), false, "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy, 1 to forget.");
    }

    #[test]
    fn values() {
        let check = |j: serde_json::Value, expected: &str| assert_eq!(value_text(&Value::from_json(&j)), expected);
        check(json!("x"), "\"x\"");
        check(json!(3), "3");
        check(json!({"Ref": "A"}), UNKNOWN);
        check(json!(["a", {"Fn::GetAtt": ["A", "Arn"]}]), "[\n  \"a\",\n  (known after apply)\n]");
    }

    #[test]
    fn documents_diff_by_line() {
        let mut out = String::new();
        let st = Style { color: false };
        let old = json!({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]});
        let new = Value::from_json(&json!("{\"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"s3:PutObject\"}]}"));
        changed_property(&mut out, &st, "", "Policy", &old, &new, "");
        assert!(out.starts_with("~ Policy =\n"), "{out}");
        assert!(out.contains("    -       \"Action\": \"s3:GetObject\"\n"), "{out}");
        assert!(out.contains("    +       \"Action\": \"s3:PutObject\"\n"), "{out}");
        let mut out = String::new();
        changed_property(&mut out, &st, "", "Name", &json!("a"), &Value::String("b".into()), " # forces replacement");
        assert_eq!(out, "~ Name = \"a\" → \"b\" # forces replacement\n");
    }
}
