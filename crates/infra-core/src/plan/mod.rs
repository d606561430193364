//! Plans: what an apply will do to each resource and output, and why.
//!
//! A [`Plan`] is produced by [`planner::plan`] from the desired stacks and the current state,
//! rendered for people by [`crate::render::plan`], and executed by [`crate::apply`]. [`saved`]
//! writes it to a file (`infra plan -out FILE`) and reads it back (`infra apply FILE`) through
//! its own versioned structs; the state's lineage and serial and a fingerprint of the
//! templates guard against applying a plan that no longer matches.

pub mod compare;
pub mod planner;
pub mod saved;

pub use crate::state::ObjectKey;
use crate::state::{DeletionPolicy, ResourceRecord};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use planner::{plan, PlanError, PlanInput, PlanOptions};

/// Version of the saved plan and `--format json` layout.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// What the apply does to one resource. A replacement carries the order it runs in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    NoOp,
    Create,
    Update,
    Replace(ReplaceOrder),
    Delete,
    /// Leave the resource as it is and drop it from state (`DeletionPolicy: Retain`).
    Forget,
}

impl Action {
    pub fn is_change(&self) -> bool {
        *self != Action::NoOp
    }

    /// The action without its details, as saved plans and JSON name it.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::NoOp => ActionKind::NoOp,
            Action::Create => ActionKind::Create,
            Action::Update => ActionKind::Update,
            Action::Replace(_) => ActionKind::Replace,
            Action::Delete => ActionKind::Delete,
            Action::Forget => ActionKind::Forget,
        }
    }

    /// The action of `kind`; a replacement runs in `order`, create-before-delete when none is
    /// given.
    pub fn from_kind(kind: ActionKind, order: Option<ReplaceOrder>) -> Self {
        match kind {
            ActionKind::NoOp => Action::NoOp,
            ActionKind::Create => Action::Create,
            ActionKind::Update => Action::Update,
            ActionKind::Replace => Action::Replace(order.unwrap_or(ReplaceOrder::CreateBeforeDelete)),
            ActionKind::Delete => Action::Delete,
            ActionKind::Forget => Action::Forget,
        }
    }

    /// The order of a replacement.
    pub fn replace_order(&self) -> Option<&ReplaceOrder> {
        match self {
            Action::Replace(order) => Some(order),
            _ => None,
        }
    }
}

/// The name of an [`Action`] in saved plans and JSON (`"no_op"`, `"create"`, …); a
/// replacement's order is written beside it, as `replace_order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
    Forget,
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.kind().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Action::from_kind(ActionKind::deserialize(d)?, None))
    }
}

/// Why an action was chosen, for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActionReason {
    /// Nothing differs.
    Unchanged,
    /// In the template, not in state.
    New,
    /// These top-level properties differ (or are known only after apply).
    Changed { properties: Vec<String> },
    /// These create-only properties differ.
    ReplaceBecause { properties: Vec<String> },
    /// These create-only properties take a value known only after apply.
    ReplaceBecauseUnknown { properties: Vec<String> },
    /// Only what infra keeps about the resource changed (its `DependsOn`, `DeletionPolicy`,
    /// `UpdateReplacePolicy` or `Metadata.infra`); the apply records it without calling the
    /// provider.
    SettingsChanged { settings: Vec<String> },
    /// `--replace` asked for it.
    ReplaceRequested,
    /// The resource is tainted: it exists, but an operation on it failed after it was made.
    Tainted { reason: String },
    /// In state, not in the template.
    RemovedFromTemplate,
    /// Removed from the template (or destroyed) with `DeletionPolicy: Retain`.
    Retained,
    /// Destroy was asked for.
    DestroyRequested,
    /// The old object of an interrupted replacement.
    Deposed,
}

/// In which order a replacement runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// Create the new resource, repoint dependents, then delete the old one.
    CreateBeforeDelete,
    /// The name is fixed (`properties` are set and unchanged), so two cannot exist at once.
    DeleteBeforeCreate { properties: Vec<String> },
}

/// One resource's planned change.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(into = "ChangeRepr")]
pub struct ResourceChange {
    pub layer: String,
    /// The object changed: a resource's current object, or a deposed one (written
    /// `LogicalId~deposed` in saved plans and JSON).
    pub logical_id: ObjectKey,
    pub resource_type: String,
    pub action: Action,
    pub reason: ActionReason,
    /// The state record before the change.
    pub before: Option<ResourceRecord>,
    /// Properties after the change, resolved as far as the plan can; what is left is known
    /// after apply. `None` for deletes.
    pub after: Option<Value>,
    /// Resources the new side depends on (from the template).
    pub depends_on: Vec<String>,
    pub deletion_policy: DeletionPolicy,
    pub update_replace_policy: DeletionPolicy,
    /// `{"infra": …}` from the template's `Metadata` on the new side (the record's, for a
    /// delete): the provider settings the operation runs with.
    pub metadata: serde_json::Value,
    /// How the change is carried out when its provider does not call the type's own service
    /// ([`crate::provider::Provider::provisioned_through`], e.g. `CloudFormation`); set by the
    /// workspace once it has the providers for the plan. A label for people and plan JSON;
    /// saved plans do not keep it.
    pub provisioned_through: Option<String>,
}

/// A [`ResourceChange`] as `plan --format json` writes it: the action's name, and a
/// replacement's order in a field of its own (saved plans have their own format, `saved.rs`).
#[derive(Clone, Serialize)]
struct ChangeRepr {
    layer: String,
    logical_id: ObjectKey,
    resource_type: String,
    action: ActionKind,
    reason: ActionReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replace_order: Option<ReplaceOrder>,
    #[serde(default, with = "record_serde")]
    before: Option<ResourceRecord>,
    #[serde(default, with = "value_serde")]
    after: Option<Value>,
    depends_on: Vec<String>,
    deletion_policy: DeletionPolicy,
    update_replace_policy: DeletionPolicy,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    metadata: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provisioned_through: Option<String>,
}

impl From<ResourceChange> for ChangeRepr {
    fn from(c: ResourceChange) -> Self {
        ChangeRepr {
            action: c.action.kind(),
            replace_order: c.action.replace_order().cloned(),
            layer: c.layer,
            logical_id: c.logical_id,
            resource_type: c.resource_type,
            reason: c.reason,
            before: c.before,
            after: c.after,
            depends_on: c.depends_on,
            deletion_policy: c.deletion_policy,
            update_replace_policy: c.update_replace_policy,
            metadata: c.metadata,
            provisioned_through: c.provisioned_through,
        }
    }
}

impl ResourceChange {
    /// Create-only properties that force this replacement, for "# forces replacement".
    pub fn forcing_properties(&self) -> &[String] {
        match &self.reason {
            ActionReason::ReplaceBecause { properties } | ActionReason::ReplaceBecauseUnknown { properties } => {
                properties
            }
            _ => &[],
        }
    }
}

/// What happens to one output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    /// The output's value, resolved as far as the plan can.
    #[serde(default, with = "value_serde")]
    pub after: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, with = "value_serde", skip_serializing_if = "Option::is_none")]
    pub export_name: Option<Value>,
}

/// The changes to one layer in one environment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerPlan {
    pub layer: String,
    pub env: String,
    /// The state this plan was made against; a saved plan is refused if either moved on.
    pub lineage: uuid::Uuid,
    pub serial: u64,
    /// Every planned resource, changes and no-ops, in dependency order.
    pub changes: Vec<ResourceChange>,
    pub outputs: Vec<OutputChange>,
}

impl LayerPlan {
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change()) || self.outputs.iter().any(|o| o.action.is_change())
    }
}

/// A whole plan: the layers in the order they are applied.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Plan {
    pub format_version: u32,
    pub project: String,
    pub env: String,
    /// True for a destroy plan (layers in reverse order).
    pub destroy: bool,
    pub layers: Vec<LayerPlan>,
    /// sha256 over template sources, parameters and environment, computed by the caller.
    pub fingerprint: String,
}

/// Counts for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
    pub forget: usize,
    pub outputs_changed: usize,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.layers.iter().any(LayerPlan::has_changes)
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in self.layers.iter().flat_map(|l| &l.changes) {
            match c.action {
                Action::NoOp => {}
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace(_) => s.replace += 1,
                Action::Delete => s.destroy += 1,
                Action::Forget => s.forget += 1,
            }
        }
        s.outputs_changed = self.layers.iter().flat_map(|l| &l.outputs).filter(|o| o.action.is_change()).count();
        s
    }

    /// Every change that calls a provider needs one in `registry`; say so before anything is
    /// done. Kept apart from planning so that providers are set up only for what a plan changes.
    /// Marks each change whose provider provisions it indirectly with how
    /// ([`ResourceChange::provisioned_through`]).
    pub fn label_provisioning(&mut self, registry: &crate::provider::Registry) {
        for c in self.layers.iter_mut().flat_map(|l| &mut l.changes) {
            c.provisioned_through = registry
                .for_type(&c.resource_type)
                .and_then(|p| p.provisioned_through(&c.resource_type))
                .map(str::to_string);
        }
    }

    pub fn check_providers(&self, registry: &crate::provider::Registry) -> Result<(), PlanError> {
        let missing = self
            .layers
            .iter()
            .flat_map(|l| &l.changes)
            .find(|c| !matches!(c.action, Action::NoOp | Action::Forget) && !registry.supports(&c.resource_type));
        match missing {
            Some(c) => Err(PlanError::UnsupportedType {
                layer: c.layer.clone(),
                logical_id: c.logical_id.to_string(),
                resource_type: c.resource_type.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Export names whose value this plan changes (or removes, or cannot know yet), given the
    /// states it was made against. Importers evaluated with the old values must be planned
    /// again with these left unknown.
    pub fn changing_exports(&self, states: &BTreeMap<String, crate::state::State>) -> Vec<String> {
        let mut out = Vec::new();
        for lp in &self.layers {
            let Some(state) = states.get(&lp.layer) else { continue };
            for oc in &lp.outputs {
                let Some(old) = state.outputs.get(&oc.name) else { continue };
                let Some(name) = &old.export_name else { continue };
                let renamed = oc.export_name.as_ref().and_then(Value::as_str) != Some(name.as_str());
                let value_changes = compare::compare(oc.after.as_ref(), Some(&old.value)) != compare::Difference::Same;
                if oc.action == Action::Delete || renamed || value_changes {
                    out.push(name.clone());
                }
            }
        }
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// `Option<Value>` as CloudFormation long-form JSON.
mod value_serde {
    use crate::value::Value;
    use serde::{Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref().map(Value::to_json).serialize(s)
    }
}

/// `Option<ResourceRecord>` through a serializable mirror (for `--format json`), so the state
/// model stays free of any output format.
mod record_serde {
    use crate::state::{DeletionPolicy, ResourceRecord};
    use serde::{Serialize, Serializer};
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Repr {
        logical_id: String,
        resource_type: String,
        physical_id: String,
        properties: serde_json::Value,
        attributes: BTreeMap<String, serde_json::Value>,
        depends_on: Vec<String>,
        deletion_policy: DeletionPolicy,
        update_replace_policy: DeletionPolicy,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tainted: Option<String>,
    }

    pub fn serialize<S: Serializer>(v: &Option<ResourceRecord>, s: S) -> Result<S::Ok, S::Error> {
        v.as_ref()
            .map(|r| Repr {
                logical_id: r.logical_id.clone(),
                resource_type: r.resource_type.clone(),
                physical_id: r.physical_id.clone(),
                properties: r.properties.clone(),
                attributes: r.attributes.clone(),
                depends_on: r.depends_on.clone(),
                deletion_policy: r.deletion_policy,
                update_replace_policy: r.update_replace_policy,
                tainted: r.tainted.clone(),
            })
            .serialize(s)
    }
}

/// Exports (`Export.Name` → value) recorded in the given states.
pub fn exports_of<'a>(states: impl IntoIterator<Item = &'a crate::state::State>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for st in states {
        for o in st.outputs.values() {
            if let Some(name) = &o.export_name {
                out.insert(name.clone(), Value::from_json(&o.value));
            }
        }
    }
    out
}

/// Why a saved plan can no longer be applied.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StalePlan {
    #[error("the templates, parameters or environment changed since the plan was made")]
    Fingerprint,
    #[error("the state of layer {layer} is a different state (lineage {found}, plan made against {expected})")]
    Lineage { layer: String, expected: uuid::Uuid, found: uuid::Uuid },
    #[error(
        "the state of layer {layer} changed since the plan was made (serial {found}, plan made against {expected})"
    )]
    Serial { layer: String, expected: u64, found: u64 },
    #[error("the plan is for environment {expected}, not {found}")]
    Environment { expected: String, found: String },
}

impl Plan {
    /// Refuse a saved plan whose templates or states have moved on since it was made.
    pub fn check_fresh(
        &self,
        env: &str,
        fingerprint: &str,
        states: &BTreeMap<String, crate::state::State>,
    ) -> Result<(), StalePlan> {
        if self.env != env {
            return Err(StalePlan::Environment { expected: self.env.clone(), found: env.to_string() });
        }
        if self.fingerprint != fingerprint {
            return Err(StalePlan::Fingerprint);
        }
        for lp in &self.layers {
            let (lineage, serial) = match states.get(&lp.layer) {
                Some(s) => (s.lineage, s.serial),
                None => (lp.lineage, 0),
            };
            // A state never written has no lineage worth comparing: any fresh one will do.
            let never_written = serial == 0 && lp.serial == 0;
            if lineage != lp.lineage && !never_written {
                return Err(StalePlan::Lineage { layer: lp.layer.clone(), expected: lp.lineage, found: lineage });
            }
            if serial != lp.serial {
                return Err(StalePlan::Serial { layer: lp.layer.clone(), expected: lp.serial, found: serial });
            }
        }
        Ok(())
    }

    /// Give layers that have never been written the lineage the plan was made with, so the
    /// state a saved plan creates is recognisably the one it planned.
    pub fn adopt_lineage(&self, states: &mut BTreeMap<String, crate::state::State>) {
        for lp in &self.layers {
            let state = states.entry(lp.layer.clone()).or_default();
            if state.serial == 0 && lp.serial == 0 {
                state.lineage = lp.lineage;
            }
        }
    }
}
