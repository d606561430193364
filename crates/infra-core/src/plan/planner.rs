//! The planner: desired stacks and state in, a [`Plan`] out.
//!
//! Per layer, resources are visited in dependency order so that each one's properties can be
//! resolved against what the plan already knows: the state of resources left alone, and
//! "known after apply" for those being created or replaced. The resolved properties are then
//! compared with the recorded ones, by meaning, to pick the action.

use super::compare::{self, Difference};
use super::{Action, ActionReason, LayerPlan, OutputChange, Plan, ReplaceOrder, ResourceChange, PLAN_FORMAT_VERSION};
use crate::graph::{Cycle, Graph};
use crate::provider::Registry;
use crate::state::{DeletionPolicy, ObjectKey, ResourceRecord, State};
use crate::template::{DesiredResource, DesiredStack};
use crate::value::{Resolver, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Which resources and layers a plan covers.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// `--target`: only these resources and what they depend on (for destroy: what depends on them).
    pub targets: Vec<String>,
    /// `--exclude`: leave these and everything that depends on them alone.
    pub excludes: Vec<String>,
    /// `--replace`: replace these even if nothing changed.
    pub replace: Vec<String>,
    /// `--layer`: only these layers (empty: all).
    pub layers: Vec<String>,
    /// Plan the destruction of everything selected.
    pub destroy: bool,
}

pub struct PlanInput<'a> {
    pub project: &'a str,
    pub env: &'a str,
    /// Every layer's desired stack, lowest layer first (also used to find importers).
    pub stacks: &'a [DesiredStack],
    /// Current state by layer; a missing layer has no state yet.
    pub states: &'a BTreeMap<String, State>,
    /// Exports already recorded, by export name.
    pub exports: &'a BTreeMap<String, Value>,
    pub registry: &'a Registry,
    /// The registry schema's create-only property pointers for a type, used when the provider
    /// does not say.
    pub create_only: &'a dyn Fn(&str) -> Option<Vec<String>>,
    pub options: PlanOptions,
    pub fingerprint: String,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanError {
    #[error("layer {layer}: {}", cycle.message("resources"))]
    Cycle { layer: String, cycle: Cycle },
    #[error("no resource `{id}` in the selected layers{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownResource { id: String, suggestion: Option<String> },
    #[error("no layer `{0}` in the project")]
    UnknownLayer(String),
    #[error("no provider for resource type {resource_type} ({layer}.{logical_id})")]
    UnsupportedType { layer: String, logical_id: String, resource_type: String },
    #[error("export `{export}` of layer {layer} is still imported by layer{} {}", if importers.len() == 1 { "" } else { "s" }, importers.join(", "))]
    ExportInUse { layer: String, export: String, importers: Vec<String> },
}

/// Make a plan.
pub fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let all_layers: Vec<&str> = input.stacks.iter().map(|s| s.layer.as_str()).collect();
    for l in &input.options.layers {
        if !all_layers.contains(&l.as_str()) {
            return Err(PlanError::UnknownLayer(l.clone()));
        }
    }
    let selected: Vec<&DesiredStack> = input
        .stacks
        .iter()
        .filter(|s| input.options.layers.is_empty() || input.options.layers.contains(&s.layer))
        .collect();
    check_ids(input, &selected)?;

    let empty = State::new();
    let mut layers = Vec::new();
    for stack in &selected {
        let state = input.states.get(&stack.layer).unwrap_or(&empty);
        let lp =
            if input.options.destroy { plan_destroy(input, stack, state) } else { plan_layer(input, stack, state)? };
        layers.push(lp);
    }
    if input.options.destroy {
        layers.reverse();
    }
    check_exports(input, &layers)?;
    Ok(Plan {
        format_version: PLAN_FORMAT_VERSION,
        project: input.project.to_string(),
        env: input.env.to_string(),
        destroy: input.options.destroy,
        layers,
        fingerprint: input.fingerprint.clone(),
    })
}

/// Every `--target`, `--exclude` and `--replace` ID must name a resource somewhere selected.
fn check_ids(input: &PlanInput<'_>, selected: &[&DesiredStack]) -> Result<(), PlanError> {
    let mut known: BTreeSet<String> = BTreeSet::new();
    for s in selected {
        known.extend(s.resources.keys().cloned());
        if let Some(st) = input.states.get(&s.layer) {
            known.extend(st.objects().into_iter().map(|(k, _)| k.to_string()));
        }
    }
    let o = &input.options;
    for id in o.targets.iter().chain(&o.excludes).chain(&o.replace) {
        if !known.contains(id.as_str()) {
            let suggestion = crate::diag::did_you_mean(id, known.iter().map(String::as_str)).map(str::to_string);
            return Err(PlanError::UnknownResource { id: id.clone(), suggestion });
        }
    }
    Ok(())
}

/// The transitive closure of `start` over `next`.
fn closure(
    start: impl IntoIterator<Item = ObjectKey>,
    next: impl Fn(&ObjectKey) -> Vec<ObjectKey>,
) -> HashSet<ObjectKey> {
    let mut seen: HashSet<ObjectKey> = HashSet::new();
    let mut work: Vec<ObjectKey> = start.into_iter().collect();
    while let Some(id) = work.pop() {
        if !seen.contains(&id) {
            work.extend(next(&id));
            seen.insert(id);
        }
    }
    seen
}

/// Who depends on whom in one layer, from the template and from state.
struct LayerGraph {
    /// The template's resources and their dependencies among themselves.
    desired: Graph,
    /// The state's objects and what each depended on when it was last applied.
    recorded: Graph<ObjectKey>,
}

impl LayerGraph {
    fn new(stack: &DesiredStack, state: &State) -> Self {
        let mut recorded = Graph::new();
        for (key, r) in state.objects() {
            recorded.add_node(key.clone());
            for d in r.depends_on.iter().map(|d| ObjectKey::Current(d.clone())).filter(|d| *d != key) {
                recorded.add_edge(key.clone(), d);
            }
        }
        LayerGraph { desired: Graph::from_stack(stack), recorded }
    }
    /// The template's edges are between current objects only.
    fn desired_of<'a>(&self, key: &'a ObjectKey) -> Option<&'a str> {
        match key {
            ObjectKey::Current(id) => Some(id),
            ObjectKey::Deposed(_) => None,
        }
    }
    fn deps(&self, key: &ObjectKey) -> Vec<ObjectKey> {
        let desired = self.desired_of(key).into_iter().flat_map(|id| self.desired.dependencies(id));
        desired.map(|d| ObjectKey::Current(d.clone())).chain(self.recorded.dependencies(key).cloned()).collect()
    }
    fn dependents(&self, key: &ObjectKey) -> Vec<ObjectKey> {
        let desired = self.desired_of(key).into_iter().flat_map(|id| self.desired.dependents(id));
        desired.map(|d| ObjectKey::Current(d.clone())).chain(self.recorded.dependents(key).cloned()).collect()
    }
}

/// Which IDs of a layer the plan covers, after `--target` and `--exclude`.
fn selection(input: &PlanInput<'_>, g: &LayerGraph, all: &[ObjectKey], forward: bool) -> HashSet<ObjectKey> {
    let o = &input.options;
    let mut chosen: HashSet<ObjectKey> = if o.targets.is_empty() {
        all.iter().cloned().collect()
    } else {
        let targets = all.iter().filter(|id| o.targets.iter().any(|t| *id == t.as_str())).cloned();
        // A planned change needs what it depends on; a destroy takes its dependents with it.
        if forward {
            closure(targets, |id| g.deps(id))
        } else {
            closure(targets, |id| g.dependents(id))
        }
    };
    if !o.excludes.is_empty() {
        let excluded = closure(all.iter().filter(|id| o.excludes.iter().any(|e| *id == e.as_str())).cloned(), |id| {
            g.dependents(id)
        });
        chosen.retain(|id| !excluded.contains(id));
    }
    chosen
}

/// What the plan knows about each resource of the layer, for resolving references.
enum Pending {
    /// Created or replaced: nothing is known yet.
    Unknown,
    /// Updated in place: the ID stays, these attributes may change.
    Updated(Vec<String>),
}

struct PlanResolver<'a> {
    state: &'a State,
    pending: HashMap<String, Pending>,
    exports: &'a BTreeMap<String, Value>,
}

impl Resolver for PlanResolver<'_> {
    fn attribute(&self, logical_id: &str, attr: Option<&str>) -> Option<Value> {
        match (self.pending.get(logical_id), attr) {
            (Some(Pending::Unknown), _) => return None,
            (Some(Pending::Updated(volatile)), Some(a)) if volatile.iter().any(|v| volatile_matches(v, a)) => {
                return None
            }
            _ => {}
        }
        let rec = self.state.resources.get(logical_id)?;
        record_attribute(rec, attr)
    }
    fn export(&self, name: &str) -> Option<Value> {
        self.exports.get(name).cloned()
    }
}

/// Whether attribute `attr` is one a provider calls volatile: by name, or by a prefix ending in
/// `*` (`Outputs.*`, every output of a nested stack).
fn volatile_matches(volatile: &str, attr: &str) -> bool {
    match volatile.strip_suffix('*') {
        Some(prefix) => attr.starts_with(prefix),
        None => volatile == attr,
    }
}

/// `Ref` (attr `None`) or `Fn::GetAtt` of a recorded resource.
pub(crate) fn record_attribute(rec: &ResourceRecord, attr: Option<&str>) -> Option<Value> {
    match attr {
        None => Some(Value::String(rec.physical_id.clone())),
        Some(a) => rec.attributes.get(a).map(Value::from_json),
    }
}

fn plan_layer(input: &PlanInput<'_>, stack: &DesiredStack, state: &State) -> Result<LayerPlan, PlanError> {
    let g = LayerGraph::new(stack, state);
    // Ties keep the template's order, so plans read like the template.
    let order = g
        .desired
        .topo_order_by(|id| stack.resources.get_index_of(id.as_str()))
        .map_err(|cycle| PlanError::Cycle { layer: stack.layer.clone(), cycle })?;
    let in_template = |k: &ObjectKey| matches!(k, ObjectKey::Current(id) if stack.resources.contains_key(id));
    let mut all: Vec<ObjectKey> = stack.resources.keys().map(|id| ObjectKey::Current(id.clone())).collect();
    all.extend(state.objects().into_iter().map(|(k, _)| k).filter(|k| !in_template(k)));
    let chosen = selection(input, &g, &all, true);

    let mut resolver = PlanResolver { state, pending: HashMap::new(), exports: input.exports };
    let mut changes: Vec<ResourceChange> = Vec::new();
    for id in order.iter().map(String::as_str) {
        let Some(desired) = stack.resources.get(id) else { continue };
        if !chosen.contains(&ObjectKey::Current(id.to_string())) {
            continue;
        }
        let change = plan_resource(input, &stack.layer, desired, state.resources.get(id), &resolver)?;
        match change.action {
            Action::Create | Action::Replace(_) => {
                resolver.pending.insert(id.to_string(), Pending::Unknown);
            }
            Action::Update => {
                let volatile = input
                    .registry
                    .for_type(&change.resource_type)
                    .map(|p| p.volatile_attributes(&change.resource_type))
                    .unwrap_or_default();
                resolver.pending.insert(id.to_string(), Pending::Updated(volatile));
            }
            _ => {}
        }
        changes.push(change);
    }
    propagate_delete_first(&mut changes, &g);

    // Resources gone from the template go last, dependents before their dependencies.
    let removed: Vec<ObjectKey> = state.objects().into_iter().map(|(k, _)| k).filter(|k| !in_template(k)).collect();
    let removed_order = reverse_state_order(&removed, &g, &stack.layer)?;
    for key in removed_order {
        if !chosen.contains(&key) {
            continue;
        }
        if let Some(rec) = state.get(&key) {
            changes.push(removal(&stack.layer, &key, rec, false));
        }
    }

    let mut outputs = plan_outputs(stack, state, &resolver);
    if !input.options.targets.is_empty() || !input.options.excludes.is_empty() {
        // An output that waits on a resource left out of this run cannot be recorded by it.
        outputs.retain(|o| {
            o.after.as_ref().is_none_or(|v| {
                v.is_known() || v.references().iter().all(|r| chosen.contains(&ObjectKey::Current(r.clone())))
            })
        });
    }
    Ok(LayerPlan {
        layer: stack.layer.clone(),
        env: input.env.to_string(),
        lineage: state.lineage,
        serial: state.serial,
        changes,
        outputs,
    })
}

/// State keys in deletion order: each after every one that depended on it.
fn reverse_state_order(ids: &[ObjectKey], g: &LayerGraph, layer: &str) -> Result<Vec<ObjectKey>, PlanError> {
    let keep: HashSet<&ObjectKey> = ids.iter().collect();
    let mut order = g
        .recorded
        .subgraph(|k| keep.contains(k))
        .topo_order()
        .map_err(|cycle| PlanError::Cycle { layer: layer.to_string(), cycle: cycle.map(|k| k.to_string()) })?;
    order.reverse();
    Ok(order)
}

/// A Delete or Forget for a recorded resource that is leaving.
fn removal(layer: &str, key: &ObjectKey, rec: &ResourceRecord, destroy: bool) -> ResourceChange {
    let deposed = key.is_deposed();
    // A deposed object is the old side of a replacement, so its UpdateReplacePolicy rules.
    let policy = if deposed { rec.update_replace_policy } else { rec.deletion_policy };
    let (action, reason) = if policy == DeletionPolicy::Retain {
        (Action::Forget, ActionReason::Retained)
    } else if deposed {
        (Action::Delete, ActionReason::Deposed)
    } else if destroy {
        (Action::Delete, ActionReason::DestroyRequested)
    } else {
        (Action::Delete, ActionReason::RemovedFromTemplate)
    };
    ResourceChange {
        layer: layer.to_string(),
        logical_id: key.clone(),
        resource_type: rec.resource_type.clone(),
        action,
        reason,
        before: Some(rec.clone()),
        after: None,
        depends_on: rec.depends_on.clone(),
        deletion_policy: rec.deletion_policy,
        update_replace_policy: rec.update_replace_policy,
        metadata: rec.metadata.clone(),
        provisioned_through: None,
    }
}

fn plan_resource(
    input: &PlanInput<'_>,
    layer: &str,
    desired: &DesiredResource,
    recorded: Option<&ResourceRecord>,
    resolver: &PlanResolver<'_>,
) -> Result<ResourceChange, PlanError> {
    let ty = desired.resource_type.as_str();
    let provider = input.registry.for_type(ty);
    let after = desired.properties.resolve(resolver);
    let mut change = ResourceChange {
        layer: layer.to_string(),
        logical_id: ObjectKey::Current(desired.logical_id.clone()),
        resource_type: ty.to_string(),
        action: Action::NoOp,
        reason: ActionReason::Unchanged,
        before: recorded.cloned(),
        after: Some(after),
        depends_on: desired.depends_on.iter().cloned().collect(),
        deletion_policy: desired.deletion_policy,
        update_replace_policy: desired.update_replace_policy,
        metadata: desired.metadata.clone(),
        provisioned_through: None,
    };
    let after = change.after.as_ref().unwrap_or(&Value::Null);

    let Some(rec) = recorded else {
        change.action = Action::Create;
        change.reason = ActionReason::New;
        return Ok(change);
    };

    let changed = changed_properties(after, &rec.properties);
    let create_only: Vec<String> = provider
        .and_then(|p| p.create_only_properties(ty))
        .or_else(|| (input.create_only)(ty))
        .unwrap_or_default()
        .iter()
        .map(|p| compare::property_path(p).to_string())
        .collect();
    let mut forcing = Vec::new();
    let mut forcing_unknown = Vec::new();
    for path in &create_only {
        match compare::compare(compare::value_at(after, path), compare::json_at(&rec.properties, path)) {
            Difference::Same => {}
            Difference::Differs => forcing.push(path.clone()),
            Difference::Unknown => forcing_unknown.push(path.clone()),
        }
    }

    let requested = input.options.replace.iter().any(|r| r == &desired.logical_id);
    // Which order a replacement runs in is worked out below, once it is known to be one.
    let replace = || Action::Replace(ReplaceOrder::CreateBeforeDelete);
    let (action, reason) = if rec.resource_type != ty {
        (replace(), ActionReason::ReplaceBecause { properties: vec!["Type".to_string()] })
    } else if requested {
        (replace(), ActionReason::ReplaceRequested)
    } else if let Some(reason) = &rec.tainted {
        (replace(), ActionReason::Tainted { reason: reason.clone() })
    } else if !forcing.is_empty() {
        (replace(), ActionReason::ReplaceBecause { properties: forcing })
    } else if !forcing_unknown.is_empty() {
        (replace(), ActionReason::ReplaceBecauseUnknown { properties: forcing_unknown })
    } else if !changed.is_empty() {
        (Action::Update, ActionReason::Changed { properties: changed })
    } else {
        let settings = changed_settings(desired, rec);
        if settings.is_empty() {
            (Action::NoOp, ActionReason::Unchanged)
        } else {
            (Action::Update, ActionReason::SettingsChanged { settings })
        }
    };
    change.action = action;
    change.reason = reason;
    if let Action::Replace(order) = &mut change.action {
        let names: Vec<String> = provider.and_then(|p| p.name_properties(ty)).unwrap_or_else(|| {
            create_only
                .iter()
                .filter(|p| p.rsplit('/').next().is_some_and(|last| last.ends_with("Name")))
                .cloned()
                .collect()
        });
        let fixed: Vec<String> = names
            .into_iter()
            .filter(|path| {
                let new = compare::value_at(after, path);
                new.is_some_and(|v| !matches!(v, Value::Null))
                    && compare::compare(new, compare::json_at(&rec.properties, path)) == Difference::Same
            })
            .collect();
        *order = if fixed.is_empty() {
            ReplaceOrder::CreateBeforeDelete
        } else {
            ReplaceOrder::DeleteBeforeCreate { properties: fixed }
        };
    }
    Ok(change)
}

/// The resource attributes infra keeps in state, besides properties, that differ.
fn changed_settings(desired: &DesiredResource, rec: &ResourceRecord) -> Vec<String> {
    let mut out = Vec::new();
    let deps: Vec<&String> = desired.depends_on.iter().collect();
    let mut recorded: Vec<&String> = rec.depends_on.iter().collect();
    recorded.sort();
    if deps != recorded {
        out.push("DependsOn".to_string());
    }
    if desired.deletion_policy != rec.deletion_policy {
        out.push("DeletionPolicy".to_string());
    }
    if desired.update_replace_policy != rec.update_replace_policy {
        out.push("UpdateReplacePolicy".to_string());
    }
    if desired.metadata != rec.metadata {
        out.push("Metadata.infra".to_string());
    }
    out
}

/// Top-level properties whose desired value differs from (or is unknown against) the record.
pub(crate) fn changed_properties(after: &Value, recorded: &serde_json::Value) -> Vec<String> {
    let desired = match after {
        Value::Map(m) => Some(m),
        _ => None,
    };
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    if let Some(m) = desired {
        keys.extend(m.keys().map(String::as_str));
    }
    if let Some(o) = recorded.as_object() {
        keys.extend(o.keys().map(String::as_str));
    }
    keys.into_iter()
        .filter(|k| compare::compare(desired.and_then(|m| m.get(*k)), recorded.get(*k)) != Difference::Same)
        .map(str::to_string)
        .collect()
}

/// A replacement that must delete first forces its replaced dependents to delete first too:
/// the old dependent still points at the old resource, so it must be gone before that one is
/// deleted, which is before the new dependency (and so the new dependent) exists.
fn propagate_delete_first(changes: &mut [ResourceChange], g: &LayerGraph) {
    let index: HashMap<ObjectKey, usize> = changes.iter().enumerate().map(|(i, c)| (c.logical_id.clone(), i)).collect();
    let mut work: Vec<usize> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.action, Action::Replace(ReplaceOrder::DeleteBeforeCreate { .. })))
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = work.pop() {
        let id = changes[i].logical_id.clone();
        for dependent in g.recorded.dependents(&id) {
            let Some(&j) = index.get(dependent) else { continue };
            let c = &mut changes[j];
            if c.action == Action::Replace(ReplaceOrder::CreateBeforeDelete) {
                c.action = Action::Replace(ReplaceOrder::DeleteBeforeCreate { properties: Vec::new() });
                work.push(j);
            }
        }
    }
}

fn plan_outputs(stack: &DesiredStack, state: &State, resolver: &dyn Resolver) -> Vec<OutputChange> {
    let mut out = Vec::new();
    for (name, o) in &stack.outputs {
        let after = o.value.resolve(resolver);
        let export_name = o.export_name.as_ref().map(|e| e.resolve(resolver));
        let before = state.outputs.get(name);
        let action = match before {
            None => Action::Create,
            Some(b) => {
                let value_same = compare::compare(Some(&after), Some(&b.value)) == Difference::Same;
                let export_same = match (&export_name, &b.export_name) {
                    (None, None) => true,
                    (Some(n), Some(m)) => n.as_str() == Some(m.as_str()),
                    _ => false,
                };
                if value_same && export_same && o.description == b.description {
                    Action::NoOp
                } else {
                    Action::Update
                }
            }
        };
        out.push(OutputChange {
            name: name.clone(),
            action,
            before: before.map(|b| b.value.clone()),
            after: Some(after),
            description: o.description.clone(),
            export_name,
        });
    }
    for (name, b) in &state.outputs {
        if !stack.outputs.contains_key(name) {
            out.push(output_removal(name, b));
        }
    }
    out
}

fn output_removal(name: &str, b: &crate::state::OutputRecord) -> OutputChange {
    OutputChange {
        name: name.to_string(),
        action: Action::Delete,
        before: Some(b.value.clone()),
        after: None,
        description: b.description.clone(),
        export_name: b.export_name.as_ref().map(|n| Value::String(n.clone())),
    }
}

fn plan_destroy(input: &PlanInput<'_>, stack: &DesiredStack, state: &State) -> LayerPlan {
    let g = LayerGraph::new(stack, state);
    let ids: Vec<ObjectKey> = state.objects().into_iter().map(|(k, _)| k).collect();
    let chosen = selection(input, &g, &ids, false);
    // State was written in dependency order, so a cycle cannot be recorded; fall back to key
    // order rather than refuse to destroy.
    let order = reverse_state_order(&ids, &g, &stack.layer).unwrap_or(ids.clone());
    let changes: Vec<ResourceChange> = order
        .into_iter()
        .filter(|k| chosen.contains(k))
        .filter_map(|k| state.get(&k).map(|rec| removal(&stack.layer, &k, rec, true)))
        .collect();
    let whole_layer = input.options.targets.is_empty() && input.options.excludes.is_empty();
    let destroyed: HashSet<&ObjectKey> = changes.iter().map(|c| &c.logical_id).collect();
    let outputs = state
        .outputs
        .iter()
        .filter(|(name, _)| {
            // A targeted destroy removes only the outputs that read a destroyed resource.
            whole_layer
                || stack.outputs.get(*name).is_some_and(|o| {
                    o.value.references().iter().any(|r| destroyed.contains(&ObjectKey::Current(r.clone())))
                })
        })
        .map(|(name, b)| output_removal(name, b))
        .collect();
    LayerPlan {
        layer: stack.layer.clone(),
        env: input.env.to_string(),
        lineage: state.lineage,
        serial: state.serial,
        changes,
        outputs,
    }
}

/// Refuse to remove or rename an export another deployed layer still imports.
fn check_exports(input: &PlanInput<'_>, layers: &[LayerPlan]) -> Result<(), PlanError> {
    // Layers emptied by this plan no longer import anything.
    let emptied: HashSet<&str> = layers
        .iter()
        .filter(|lp| {
            let st = input.states.get(&lp.layer);
            let removed = lp.changes.iter().filter(|c| matches!(c.action, Action::Delete | Action::Forget)).count();
            input.options.destroy && st.is_some_and(|s| s.object_count() == removed)
        })
        .map(|lp| lp.layer.as_str())
        .collect();
    for lp in layers {
        let Some(state) = input.states.get(&lp.layer) else { continue };
        for oc in &lp.outputs {
            let Some(old) = state.outputs.get(&oc.name).and_then(|o| o.export_name.as_ref()) else { continue };
            let kept =
                oc.action != Action::Delete && oc.export_name.as_ref().and_then(Value::as_str) == Some(old.as_str());
            if kept {
                continue;
            }
            let importers: Vec<String> = input
                .stacks
                .iter()
                .filter(|s| s.layer != lp.layer && !emptied.contains(s.layer.as_str()))
                .filter(|s| s.imports.contains(old))
                .filter(|s| input.states.get(&s.layer).is_some_and(|st| st.object_count() > 0))
                .map(|s| s.layer.clone())
                .collect();
            if !importers.is_empty() {
                return Err(PlanError::ExportInUse { layer: lp.layer.clone(), export: old.clone(), importers });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::volatile_matches;

    #[test]
    fn volatile_attributes_match_by_name_or_by_a_prefix_ending_in_a_star() {
        for (volatile, attr, matches) in [
            ("DnsEntries", "DnsEntries", true),
            ("DnsEntries", "DnsEntriesX", false),
            ("Outputs.*", "Outputs.QueueArn", true),
            ("Outputs.*", "Outputs", false),
            ("Outputs.*", "StackId", false),
        ] {
            assert_eq!(volatile_matches(volatile, attr), matches, "{volatile} against {attr}");
        }
    }
}
