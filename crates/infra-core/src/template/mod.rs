//! CloudFormation templates: loading (JSON and YAML with spans), the template model, and
//! evaluation into a [`DesiredStack`] the engine can plan against.

pub mod eval;
pub mod include;
pub mod intrinsics;
pub mod load;
pub mod model;
pub mod nested;
pub mod node;

use crate::source::Span;
use crate::state::DeletionPolicy;
use crate::value::Value;
use indexmap::IndexMap;
use std::collections::BTreeSet;

/// One layer's evaluated stack for one environment: what should exist.
///
/// This is the contract between template evaluation and the engine. Conditions, parameters,
/// mappings and pseudo parameters are already folded; resource properties may still hold
/// [`crate::value::Expr`] references to other resources, resolved by the engine as it goes.
#[derive(Clone, Debug, Default)]
pub struct DesiredStack {
    pub layer: String,
    pub resources: IndexMap<String, DesiredResource>,
    pub outputs: IndexMap<String, DesiredOutput>,
    /// Export names of lower layers this stack imports (`Fn::ImportValue`).
    pub imports: BTreeSet<String>,
}

#[derive(Clone, Debug)]
pub struct DesiredResource {
    pub logical_id: String,
    pub resource_type: String,
    /// A `Value::Map` of properties (possibly empty).
    pub properties: Value,
    /// Every resource this one depends on: `Ref`, `Fn::GetAtt`, `Fn::Sub` references and `DependsOn`.
    pub depends_on: BTreeSet<String>,
    pub deletion_policy: DeletionPolicy,
    pub update_replace_policy: DeletionPolicy,
    /// `{"infra": …}` from the resource's `Metadata` (settings for its provider); `Null` when
    /// the template sets none.
    pub metadata: serde_json::Value,
    /// Where the resource is declared, for messages.
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct DesiredOutput {
    pub value: Value,
    pub description: Option<String>,
    /// `Export.Name`, evaluated.
    pub export_name: Option<Value>,
}
