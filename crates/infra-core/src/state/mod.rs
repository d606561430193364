//! State: what infra has created, per layer and environment.
//!
//! The in-memory model here never touches JSON directly; the versioned on-disk format, the
//! lock and the journal live in the submodules.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What to do with a resource when it leaves the template (or is replaced).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeletionPolicy {
    #[default]
    Delete,
    Retain,
    Snapshot,
}

/// One managed resource as last applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceRecord {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// Properties as applied (fully resolved).
    pub properties: serde_json::Value,
    /// Attributes for `Fn::GetAtt`.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Logical IDs this resource depends on (destroy runs in reverse).
    pub depends_on: Vec<String>,
    pub deletion_policy: DeletionPolicy,
    pub update_replace_policy: DeletionPolicy,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputRecord {
    pub value: serde_json::Value,
    pub description: Option<String>,
    /// `Export.Name`, if exported.
    pub export_name: Option<String>,
}

/// The state of one layer in one environment.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Fixed when the state is first created; guards against mixing up state files.
    pub lineage: uuid::Uuid,
    /// Increases on every change.
    pub serial: u64,
    pub resources: BTreeMap<String, ResourceRecord>,
    pub outputs: BTreeMap<String, OutputRecord>,
}

impl State {
    pub fn new() -> Self {
        State { lineage: uuid::Uuid::new_v4(), serial: 0, resources: BTreeMap::new(), outputs: BTreeMap::new() }
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}
