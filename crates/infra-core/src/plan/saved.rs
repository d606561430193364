//! Saved plans (`infra plan -out FILE`, `infra apply FILE`): the versioned file format.
//!
//! Like the state file, the public [`Plan`] types are never read or written as the file
//! directly. Each format version has its own private serde structs (`PlanV1` and the structs
//! beneath it), converted to and from the public types here and nowhere else, so that the
//! plan model can change without changing the file and an older file can still be read. The
//! version is read first; a file of a version this build does not know is refused.
//!
//! Version 1 is the layout `infra plan --format json` prints: the plan and its `summary`
//! (which reading ignores). The file holds resolved values, so it is written like state:
//! owner-only and atomically.

use super::{Action, ActionKind, ActionReason, LayerPlan, OutputChange, Plan, ReplaceOrder, ResourceChange, Summary};
use crate::state::{DeletionPolicy, ObjectKey, ResourceRecord, StateError};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The format version this build writes, and the newest it reads.
pub const CURRENT_VERSION: u64 = 1;

/// Why a saved plan could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("read the plan {}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("read the plan {}: not a plan saved by `infra plan -out`", path.display())]
    NotAPlan { path: PathBuf, source: serde_json::Error },
    /// A version this build does not read (a newer build wrote it, or it was edited).
    #[error("read the plan {}: plan format version {version} is not supported by this build", path.display())]
    Version { path: PathBuf, version: u64 },
}

/// Read a saved plan.
pub fn read(path: &Path) -> Result<Plan, SavedPlanError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| SavedPlanError::Read { path: path.to_path_buf(), source })?;
    decode(&text, path)
}

/// Parse a saved plan's text; `path` only names the file in errors.
pub fn decode(text: &str, path: &Path) -> Result<Plan, SavedPlanError> {
    let not_a_plan = |source| SavedPlanError::NotAPlan { path: path.to_path_buf(), source };
    let probe: Probe = serde_json::from_str(text).map_err(not_a_plan)?;
    match probe.format_version {
        CURRENT_VERSION => {
            let v1: PlanV1 = serde_json::from_str(text).map_err(not_a_plan)?;
            Ok(v1.into())
        }
        version => Err(SavedPlanError::Version { path: path.to_path_buf(), version }),
    }
}

/// The text of a saved plan, in the current format.
pub fn encode(plan: &Plan) -> String {
    let v1 = PlanV1::from(plan);
    // Serialising plain structs of strings, numbers and JSON values cannot fail.
    serde_json::to_string_pretty(&v1).unwrap_or_default() + "\n"
}

/// Save a plan to `path`: owner-only and atomically, as state is written.
pub fn write(path: &Path, plan: &Plan) -> Result<(), StateError> {
    crate::state::store::write_private_file(path, encode(plan).as_bytes())
}

/// Just the version, read before anything else.
#[derive(Deserialize)]
struct Probe {
    format_version: u64,
}

#[derive(Serialize, Deserialize)]
struct PlanV1 {
    format_version: u64,
    project: String,
    env: String,
    destroy: bool,
    layers: Vec<LayerV1>,
    fingerprint: String,
    /// Written for people and scripts; ignored when read (it follows from the changes).
    #[serde(default, skip_deserializing)]
    summary: Option<SummaryV1>,
}

#[derive(Serialize)]
struct SummaryV1 {
    add: usize,
    change: usize,
    replace: usize,
    destroy: usize,
    forget: usize,
    outputs_changed: usize,
}

#[derive(Serialize, Deserialize)]
struct LayerV1 {
    layer: String,
    env: String,
    lineage: uuid::Uuid,
    serial: u64,
    changes: Vec<ChangeV1>,
    outputs: Vec<OutputV1>,
}

#[derive(Serialize, Deserialize)]
struct ChangeV1 {
    layer: String,
    logical_id: String,
    resource_type: String,
    action: ActionV1,
    reason: ReasonV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replace_order: Option<ReplaceOrderV1>,
    #[serde(default)]
    before: Option<RecordV1>,
    /// CloudFormation long-form JSON; what is unknown is an intrinsic.
    #[serde(default)]
    after: Option<serde_json::Value>,
    depends_on: Vec<String>,
    deletion_policy: DeletionPolicy,
    update_replace_policy: DeletionPolicy,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    metadata: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
struct OutputV1 {
    name: String,
    action: ActionV1,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<serde_json::Value>,
    #[serde(default)]
    after: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    export_name: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
struct RecordV1 {
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
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    metadata: serde_json::Value,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ActionV1 {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
    Forget,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ReasonV1 {
    Unchanged,
    New,
    Changed { properties: Vec<String> },
    ReplaceBecause { properties: Vec<String> },
    ReplaceBecauseUnknown { properties: Vec<String> },
    SettingsChanged { settings: Vec<String> },
    ReplaceRequested,
    Tainted { reason: String },
    RemovedFromTemplate,
    Retained,
    DestroyRequested,
    Deposed,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ReplaceOrderV1 {
    CreateBeforeDelete,
    DeleteBeforeCreate { properties: Vec<String> },
}

// Conversions between the public plan types and version 1. Every field of the plan model is
// named here, so a change to the model fails to compile until the file format follows it.

impl From<&Plan> for PlanV1 {
    fn from(p: &Plan) -> Self {
        let Summary { add, change, replace, destroy, forget, outputs_changed } = p.summary();
        PlanV1 {
            format_version: CURRENT_VERSION,
            project: p.project.clone(),
            env: p.env.clone(),
            destroy: p.destroy,
            layers: p.layers.iter().map(LayerV1::from).collect(),
            fingerprint: p.fingerprint.clone(),
            summary: Some(SummaryV1 { add, change, replace, destroy, forget, outputs_changed }),
        }
    }
}

impl From<PlanV1> for Plan {
    fn from(p: PlanV1) -> Self {
        Plan {
            format_version: super::PLAN_FORMAT_VERSION,
            project: p.project,
            env: p.env,
            destroy: p.destroy,
            layers: p.layers.into_iter().map(LayerPlan::from).collect(),
            fingerprint: p.fingerprint,
        }
    }
}

impl From<&LayerPlan> for LayerV1 {
    fn from(l: &LayerPlan) -> Self {
        LayerV1 {
            layer: l.layer.clone(),
            env: l.env.clone(),
            lineage: l.lineage,
            serial: l.serial,
            changes: l.changes.iter().map(ChangeV1::from).collect(),
            outputs: l.outputs.iter().map(OutputV1::from).collect(),
        }
    }
}

impl From<LayerV1> for LayerPlan {
    fn from(l: LayerV1) -> Self {
        LayerPlan {
            layer: l.layer,
            env: l.env,
            lineage: l.lineage,
            serial: l.serial,
            changes: l.changes.into_iter().map(ResourceChange::from).collect(),
            outputs: l.outputs.into_iter().map(OutputChange::from).collect(),
        }
    }
}

impl From<&ResourceChange> for ChangeV1 {
    fn from(c: &ResourceChange) -> Self {
        let ResourceChange {
            layer,
            logical_id,
            resource_type,
            action,
            reason,
            before,
            after,
            depends_on,
            deletion_policy,
            update_replace_policy,
            metadata,
            provisioned_through: _,
        } = c;
        ChangeV1 {
            layer: layer.clone(),
            logical_id: logical_id.to_string(),
            resource_type: resource_type.clone(),
            action: action.kind().into(),
            reason: reason.into(),
            replace_order: action.replace_order().map(ReplaceOrderV1::from),
            before: before.as_ref().map(RecordV1::from),
            after: after.as_ref().map(Value::to_json),
            depends_on: depends_on.clone(),
            deletion_policy: *deletion_policy,
            update_replace_policy: *update_replace_policy,
            metadata: metadata.clone(),
        }
    }
}

impl From<ChangeV1> for ResourceChange {
    fn from(c: ChangeV1) -> Self {
        ResourceChange {
            layer: c.layer,
            logical_id: ObjectKey::parse(&c.logical_id),
            resource_type: c.resource_type,
            action: Action::from_kind(c.action.into(), c.replace_order.map(ReplaceOrder::from)),
            reason: c.reason.into(),
            before: c.before.map(ResourceRecord::from),
            after: c.after.as_ref().map(Value::from_json),
            depends_on: c.depends_on,
            deletion_policy: c.deletion_policy,
            update_replace_policy: c.update_replace_policy,
            metadata: c.metadata,
            provisioned_through: None,
        }
    }
}

impl From<&OutputChange> for OutputV1 {
    fn from(o: &OutputChange) -> Self {
        let OutputChange { name, action, before, after, description, export_name } = o;
        OutputV1 {
            name: name.clone(),
            action: action.kind().into(),
            before: before.clone(),
            after: after.as_ref().map(Value::to_json),
            description: description.clone(),
            export_name: export_name.as_ref().map(Value::to_json),
        }
    }
}

impl From<OutputV1> for OutputChange {
    fn from(o: OutputV1) -> Self {
        OutputChange {
            name: o.name,
            action: Action::from_kind(o.action.into(), None),
            before: o.before,
            after: o.after.as_ref().map(Value::from_json),
            description: o.description,
            export_name: o.export_name.as_ref().map(Value::from_json),
        }
    }
}

impl From<&ResourceRecord> for RecordV1 {
    fn from(r: &ResourceRecord) -> Self {
        let ResourceRecord {
            logical_id,
            resource_type,
            physical_id,
            properties,
            attributes,
            depends_on,
            deletion_policy,
            update_replace_policy,
            tainted,
            metadata,
        } = r;
        RecordV1 {
            logical_id: logical_id.clone(),
            resource_type: resource_type.clone(),
            physical_id: physical_id.clone(),
            properties: properties.clone(),
            attributes: attributes.clone(),
            depends_on: depends_on.clone(),
            deletion_policy: *deletion_policy,
            update_replace_policy: *update_replace_policy,
            tainted: tainted.clone(),
            metadata: metadata.clone(),
        }
    }
}

impl From<RecordV1> for ResourceRecord {
    fn from(r: RecordV1) -> Self {
        ResourceRecord {
            logical_id: r.logical_id,
            resource_type: r.resource_type,
            physical_id: r.physical_id,
            properties: r.properties,
            attributes: r.attributes,
            depends_on: r.depends_on,
            deletion_policy: r.deletion_policy,
            update_replace_policy: r.update_replace_policy,
            tainted: r.tainted,
            metadata: r.metadata,
        }
    }
}

impl From<ActionKind> for ActionV1 {
    fn from(a: ActionKind) -> Self {
        match a {
            ActionKind::NoOp => ActionV1::NoOp,
            ActionKind::Create => ActionV1::Create,
            ActionKind::Update => ActionV1::Update,
            ActionKind::Replace => ActionV1::Replace,
            ActionKind::Delete => ActionV1::Delete,
            ActionKind::Forget => ActionV1::Forget,
        }
    }
}

impl From<ActionV1> for ActionKind {
    fn from(a: ActionV1) -> Self {
        match a {
            ActionV1::NoOp => ActionKind::NoOp,
            ActionV1::Create => ActionKind::Create,
            ActionV1::Update => ActionKind::Update,
            ActionV1::Replace => ActionKind::Replace,
            ActionV1::Delete => ActionKind::Delete,
            ActionV1::Forget => ActionKind::Forget,
        }
    }
}

impl From<&ActionReason> for ReasonV1 {
    fn from(r: &ActionReason) -> Self {
        match r.clone() {
            ActionReason::Unchanged => ReasonV1::Unchanged,
            ActionReason::New => ReasonV1::New,
            ActionReason::Changed { properties } => ReasonV1::Changed { properties },
            ActionReason::ReplaceBecause { properties } => ReasonV1::ReplaceBecause { properties },
            ActionReason::ReplaceBecauseUnknown { properties } => ReasonV1::ReplaceBecauseUnknown { properties },
            ActionReason::SettingsChanged { settings } => ReasonV1::SettingsChanged { settings },
            ActionReason::ReplaceRequested => ReasonV1::ReplaceRequested,
            ActionReason::Tainted { reason } => ReasonV1::Tainted { reason },
            ActionReason::RemovedFromTemplate => ReasonV1::RemovedFromTemplate,
            ActionReason::Retained => ReasonV1::Retained,
            ActionReason::DestroyRequested => ReasonV1::DestroyRequested,
            ActionReason::Deposed => ReasonV1::Deposed,
        }
    }
}

impl From<ReasonV1> for ActionReason {
    fn from(r: ReasonV1) -> Self {
        match r {
            ReasonV1::Unchanged => ActionReason::Unchanged,
            ReasonV1::New => ActionReason::New,
            ReasonV1::Changed { properties } => ActionReason::Changed { properties },
            ReasonV1::ReplaceBecause { properties } => ActionReason::ReplaceBecause { properties },
            ReasonV1::ReplaceBecauseUnknown { properties } => ActionReason::ReplaceBecauseUnknown { properties },
            ReasonV1::SettingsChanged { settings } => ActionReason::SettingsChanged { settings },
            ReasonV1::ReplaceRequested => ActionReason::ReplaceRequested,
            ReasonV1::Tainted { reason } => ActionReason::Tainted { reason },
            ReasonV1::RemovedFromTemplate => ActionReason::RemovedFromTemplate,
            ReasonV1::Retained => ActionReason::Retained,
            ReasonV1::DestroyRequested => ActionReason::DestroyRequested,
            ReasonV1::Deposed => ActionReason::Deposed,
        }
    }
}

impl From<&ReplaceOrder> for ReplaceOrderV1 {
    fn from(o: &ReplaceOrder) -> Self {
        match o.clone() {
            ReplaceOrder::CreateBeforeDelete => ReplaceOrderV1::CreateBeforeDelete,
            ReplaceOrder::DeleteBeforeCreate { properties } => ReplaceOrderV1::DeleteBeforeCreate { properties },
        }
    }
}

impl From<ReplaceOrderV1> for ReplaceOrder {
    fn from(o: ReplaceOrderV1) -> Self {
        match o {
            ReplaceOrderV1::CreateBeforeDelete => ReplaceOrder::CreateBeforeDelete,
            ReplaceOrderV1::DeleteBeforeCreate { properties } => ReplaceOrder::DeleteBeforeCreate { properties },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> &'static Path {
        Path::new("plan.json")
    }

    #[test]
    fn unknown_versions_are_refused_before_the_shape_is_read() {
        for (text, version) in [(r#"{"format_version": 2}"#, 2), (r#"{"format_version": 0, "layers": 3}"#, 0)] {
            match decode(text, path()) {
                Err(SavedPlanError::Version { version: v, .. }) => assert_eq!(v, version),
                other => panic!("{text}: expected a version error, got {other:?}"),
            }
        }
    }

    #[test]
    fn what_is_not_a_plan_is_refused() {
        for text in ["", "[]", r#"{"format_version": "1"}"#, r#"{"format_version": 1, "layers": []}"#] {
            let err = decode(text, path()).expect_err(text);
            assert!(matches!(err, SavedPlanError::NotAPlan { .. }), "{text}: {err:?}");
            assert!(err.to_string().starts_with("read the plan plan.json: not a plan saved by"), "{err}");
        }
    }
}
