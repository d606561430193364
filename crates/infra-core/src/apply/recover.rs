//! Resolving intents left open by a crashed or killed apply.
//!
//! An open intent means a provider call may or may not have happened. Each one is settled by
//! reading the resource with the name or ID recorded in the intent: a create that happened is
//! adopted (so it is not created twice), an update or delete that was cut short is finished,
//! and an operation that never happened is forgotten. Every settled intent gets its `done`
//! record, so the journal is closed before anything is planned.

use super::{delete_record, Intent, IntentAction, RecordError, Recorder};
use crate::plan::{deposed_key, deposed_of};
use crate::provider::{ReadRequest, Registry, ResourceContext, UpdateRequest};
use crate::state::{ResourceRecord, State};
use crate::template::DesiredStack;
use crate::value::{Resolver, Value};
use std::collections::BTreeMap;
use std::fmt;

/// An intent without its `done` record, found when loading a layer's state.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenIntent {
    pub layer: String,
    pub intent: Intent,
}

/// How an open intent was settled.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resolution {
    /// The create happened: the resource is now in state.
    Adopted { physical_id: String },
    /// The create never happened (or cannot be found by name): planning will create it.
    NotCreated,
    /// The update was finished with the properties it was meant to apply.
    UpdateFinished,
    /// The resource exists; the next plan shows whatever is left to update.
    UpdateLeftToPlan,
    /// The resource was gone, so it left the state.
    Gone,
    /// The interrupted delete was finished.
    DeleteFinished,
    /// The resource left state without being touched, as the interrupted operation meant.
    Forgotten,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Recovered {
    pub layer: String,
    pub logical_id: String,
    pub action: IntentAction,
    pub resolution: Resolution,
}

impl fmt::Display for Recovered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.resolution {
            Resolution::Adopted { physical_id } => format!("interrupted create found and adopted (id={physical_id})"),
            Resolution::NotCreated => "interrupted create had not happened; it will be planned again".to_string(),
            Resolution::UpdateFinished => "interrupted update finished".to_string(),
            Resolution::UpdateLeftToPlan => "interrupted update; the plan shows what is left".to_string(),
            Resolution::Gone => "resource no longer exists; removed from state".to_string(),
            Resolution::DeleteFinished => "interrupted delete finished".to_string(),
            Resolution::Forgotten => "removed from state, as the interrupted operation meant".to_string(),
        };
        write!(f, "{}.{}: {what}", self.layer, self.logical_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("failed to recover the interrupted {action:?} of {layer}.{logical_id}: {message}")]
    Provider { layer: String, logical_id: String, action: IntentAction, message: String },
    #[error("failed to write the journal: {0}")]
    Journal(RecordError),
}

struct StateOnly<'a>(&'a State);

impl Resolver for StateOnly<'_> {
    fn attribute(&self, logical_id: &str, attr: Option<&str>) -> Option<Value> {
        self.0.resources.get(logical_id).and_then(|r| crate::plan::planner::record_attribute(r, attr))
    }
}

/// Settle every open intent, updating `states` and closing the intents through `recorder`.
pub async fn recover(
    open: &[OpenIntent],
    project: &str,
    env: &str,
    stacks: &[DesiredStack],
    states: &mut BTreeMap<String, State>,
    registry: &Registry,
    recorder: &dyn Recorder,
) -> Result<Vec<Recovered>, RecoverError> {
    let mut out = Vec::new();
    for oi in open {
        let layer = oi.layer.as_str();
        let intent = &oi.intent;
        let key = intent.logical_id.as_str();
        let logical_id = deposed_of(key).unwrap_or(key);
        let state = states.entry(layer.to_string()).or_default();
        let desired = stacks.iter().find(|s| s.layer == layer).and_then(|s| s.resources.get(logical_id));
        let current = state.resources.get(key).cloned();
        let err = |message: String| RecoverError::Provider {
            layer: layer.to_string(),
            logical_id: key.to_string(),
            action: intent.action,
            message,
        };
        if intent.action == IntentAction::Forget {
            recorder.done(layer, key, None).await.map_err(RecoverError::Journal)?;
            state.resources.remove(key);
            out.push(Recovered { layer: layer.to_string(), logical_id: key.to_string(), action: intent.action, resolution: Resolution::Forgotten });
            continue;
        }
        let Some(provider) = registry.for_type(&intent.resource_type) else {
            return Err(err(format!("no provider for resource type {}", intent.resource_type)));
        };
        let context = ResourceContext {
            project: project.to_string(),
            environment: env.to_string(),
            layer: layer.to_string(),
            stack_name: format!("{project}-{env}-{layer}"),
            logical_id: logical_id.to_string(),
            resource_type: intent.resource_type.clone(),
            // Template `Metadata` does not reach the plan yet; providers fall back to their defaults.
            metadata: serde_json::Value::Null,
        };
        // What the interrupted call meant to apply, as far as it can be known now.
        let intended = desired.map(|d| d.properties.resolve(&StateOnly(state)));
        let physical_id = match intent.action {
            IntentAction::Create => intent.physical_id.clone().or_else(|| intent.physical_name.clone()),
            _ => intent.physical_id.clone().or_else(|| current.as_ref().map(|c| c.physical_id.clone())),
        };
        let observed = match &physical_id {
            None => None,
            Some(id) => {
                let (properties, attributes) = match (&current, &intended) {
                    (Some(c), _) if intent.action != IntentAction::Create => (c.properties.clone(), c.attributes.clone()),
                    (_, Some(v)) => (v.to_json(), BTreeMap::new()),
                    _ => (serde_json::Value::Object(Default::default()), BTreeMap::new()),
                };
                let req = ReadRequest { context: context.clone(), physical_id: id.clone(), properties, attributes };
                match provider.read(&req).await {
                    Ok(o) => o,
                    Err(e) if e.kind == crate::provider::ErrorKind::NotFound => None,
                    Err(e) => return Err(err(e.to_string())),
                }
            }
        };
        let (record, resolution): (Option<ResourceRecord>, Resolution) = match (intent.action, observed) {
            (IntentAction::Create, Some(obs)) => {
                // A replacement's create: the object still recorded is the old one, which
                // waits under its deposed key to be deleted by the next plan.
                if let Some(old) = current.as_ref().filter(|c| c.physical_id != obs.physical_id) {
                    let deposed = deposed_key(key);
                    recorder.done(layer, &deposed, Some(old)).await.map_err(RecoverError::Journal)?;
                    state.resources.insert(deposed, old.clone());
                }
                let rec = ResourceRecord {
                    logical_id: logical_id.to_string(),
                    resource_type: intent.resource_type.clone(),
                    physical_id: obs.physical_id.clone(),
                    properties: obs.properties,
                    attributes: obs.attributes,
                    depends_on: desired.map(|d| d.depends_on.iter().cloned().collect()).unwrap_or_default(),
                    deletion_policy: desired.map(|d| d.deletion_policy).unwrap_or_default(),
                    update_replace_policy: desired.map(|d| d.update_replace_policy).unwrap_or_default(),
                };
                (Some(rec), Resolution::Adopted { physical_id: obs.physical_id })
            }
            (IntentAction::Create, None) => (current.clone(), Resolution::NotCreated),
            (IntentAction::Update, Some(obs)) => {
                let Some(cur) = current.clone() else {
                    return Err(err("the resource is not in state".to_string()));
                };
                match intended.filter(Value::is_known).map(|v| v.to_json()) {
                    Some(new_properties) if !crate::plan::compare::same(&new_properties, &obs.properties) => {
                        let req = UpdateRequest {
                            context: context.clone(),
                            physical_id: cur.physical_id.clone(),
                            old_properties: cur.properties.clone(),
                            new_properties: new_properties.clone(),
                            old_attributes: cur.attributes.clone(),
                        };
                        let applied = provider.update(&req).await.map_err(|e| err(e.to_string()))?;
                        let rec = ResourceRecord {
                            physical_id: applied.physical_id,
                            properties: new_properties,
                            attributes: applied.attributes,
                            ..cur
                        };
                        (Some(rec), Resolution::UpdateFinished)
                    }
                    _ => (Some(cur), Resolution::UpdateLeftToPlan),
                }
            }
            (IntentAction::Update | IntentAction::Delete | IntentAction::Forget, None) => (None, Resolution::Gone),
            (IntentAction::Delete | IntentAction::Forget, Some(_)) => {
                let Some(cur) = current.clone() else {
                    return Err(err("the resource is not in state".to_string()));
                };
                delete_record(provider.as_ref(), &context, &cur).await.map_err(|e| err(e.to_string()))?;
                (None, Resolution::DeleteFinished)
            }
        };
        recorder.done(layer, key, record.as_ref()).await.map_err(RecoverError::Journal)?;
        match record {
            Some(r) => {
                state.resources.insert(key.to_string(), r);
            }
            None => {
                state.resources.remove(key);
            }
        }
        out.push(Recovered { layer: layer.to_string(), logical_id: key.to_string(), action: intent.action, resolution });
    }
    Ok(out)
}
