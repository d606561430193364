//! Settling operations that a crashed, killed or failed run left open, in two steps, so that
//! `plan` can show what `apply` will do without changing anything.
//!
//! An open intent means a provider call may or may not have taken effect. [`assess`] reads,
//! and only reads, each one's resource: by the name chosen before the create, by the ID
//! recorded, or by the token the create carried ([`Provider::find`](crate::provider::Provider::find)).
//! It decides a [`Resolution`] and what the state key holds afterwards, from the request
//! recorded in the intent (never from the templates as they are now). [`settle`] carries the
//! decisions out: it finishes interrupted updates and deletes with the recorded request and
//! writes each intent's `done`. An intent whose settling fails gets no `done`, so it stays open
//! in the journal and the next run tries again.

use super::{delete_record, Intent, IntentAction, Placement, RecordError, Recorder};
use crate::provider::{ErrorKind, FindRequest, Observed, ReadRequest, Registry, ResourceContext, UpdateRequest};
use crate::state::{ObjectKey, ResourceRecord, State};
use std::collections::BTreeMap;
use std::fmt;

/// An intent without its `done` record, found when loading a layer's state.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenIntent {
    pub layer: String,
    pub intent: Intent,
}

/// How an open intent is settled.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resolution {
    /// The create took effect: the resource is adopted into state.
    Adopted { physical_id: String },
    /// The create took effect, but the resource is not usable (an endpoint in `Failed`): it
    /// is adopted as tainted, and the plan replaces it.
    AdoptedTainted { physical_id: String, reason: String },
    /// The create never took effect: the plan creates the resource.
    NotCreated,
    /// The update had not (fully) taken effect: it is finished with the recorded request.
    UpdateFinished,
    /// The update had taken effect: it is recorded.
    UpdateTookEffect,
    /// The resource exists, and the intent (from an older journal) does not say what the
    /// update sent: the plan shows whatever is left to update.
    UpdateLeftToPlan,
    /// The resource no longer exists, so it leaves the state.
    Gone,
    /// The interrupted delete is finished.
    DeleteFinished,
    /// The resource leaves state without being touched, as the interrupted operation meant.
    Forgotten,
}

/// One open intent, assessed: what settling it does and what the state holds afterwards.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Settlement {
    pub layer: String,
    /// The state key (a logical ID, or a deposed key).
    pub logical_id: String,
    pub resource_type: String,
    pub action: IntentAction,
    pub resolution: Resolution,
    /// Objects and what they are once the intent is settled (`None`: removed).
    #[serde(skip)]
    pub writes: Vec<(ObjectKey, Option<ResourceRecord>)>,
    #[serde(skip)]
    intent: Intent,
    /// What was read of the resource, in the template's shape: where an update that is to be
    /// finished starts from (it may have been carried out halfway).
    #[serde(skip)]
    live: Option<serde_json::Value>,
}

impl Settlement {
    /// Puts what the state keys hold once this is settled into `state` (in memory only).
    pub fn apply_to(&self, state: &mut State) {
        for (key, record) in &self.writes {
            state.set(key.clone(), record.clone());
        }
    }
}

impl fmt::Display for Settlement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.resolution {
            Resolution::Adopted { physical_id } => format!("the interrupted create took effect: adopt {physical_id}"),
            Resolution::AdoptedTainted { physical_id, reason } => format!(
                "the interrupted create took effect, but the resource is not usable ({reason}): adopt {physical_id} as tainted, to be replaced"
            ),
            Resolution::NotCreated => "the interrupted create did not take effect: it is planned again".to_string(),
            Resolution::UpdateFinished => "the interrupted update is finished with the properties it sent".to_string(),
            Resolution::UpdateTookEffect => "the interrupted update took effect: record it".to_string(),
            Resolution::UpdateLeftToPlan => "interrupted update: the plan shows what is left".to_string(),
            Resolution::Gone => "the resource no longer exists: remove it from state".to_string(),
            Resolution::DeleteFinished => "the interrupted delete is finished".to_string(),
            Resolution::Forgotten => "removed from state, as the interrupted operation meant".to_string(),
        };
        write!(f, "{}.{}: {what}", self.layer, self.logical_id)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("settle the interrupted {} of {layer}.{logical_id}: {message}; it stays open in the journal, and the next run tries again", action_name(*action))]
    Provider { layer: String, logical_id: String, action: IntentAction, message: String },
    #[error("settle the interrupted {} of {layer}.{logical_id}: it was made in {what} {recorded}, but this run acts in {current}; nothing was changed: run with the credentials and region of the interrupted run", action_name(*action))]
    Placement {
        layer: String,
        logical_id: String,
        action: IntentAction,
        what: &'static str,
        recorded: String,
        current: String,
    },
    #[error("settle the interrupted create of {layer}.{logical_id}: whether it took effect cannot be told ({resource_type} has no name chosen before the create, and {message}); it stays open in the journal: look for the resource by hand, and move the journal aside once it is accounted for")]
    Undecidable { layer: String, logical_id: String, resource_type: String, message: String },
    #[error("write the journal: {0}")]
    Journal(RecordError),
    #[error("{} interrupted operations could not be settled: {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<RecoverError>),
}

fn action_name(action: IntentAction) -> &'static str {
    match action {
        IntentAction::Create => "create",
        IntentAction::Update => "update",
        IntentAction::Delete => "delete",
        IntentAction::Forget => "forget",
    }
}

/// The context an open intent is settled in: its settings are those the interrupted call ran
/// with (as recorded in its request), else the resource's recorded ones.
fn context_for(
    project: &str,
    env: &str,
    layer: &str,
    logical_id: &str,
    intent: &Intent,
    current: Option<&ResourceRecord>,
) -> ResourceContext {
    let metadata = match &intent.request {
        Some(request) if !request.metadata.is_null() => request.metadata.clone(),
        _ => current.map(|c| c.metadata.clone()).unwrap_or(serde_json::Value::Null),
    };
    ResourceContext::new(project, env, layer, logical_id, &intent.resource_type).with_metadata(metadata)
}

/// Decide, by reading only, how each open intent is settled. `states` are the layers' states
/// as loaded; `placement` is where this run acts. Nothing is written and no provider call
/// other than a read is made, so `plan` can call it.
pub async fn assess(
    open: &[OpenIntent],
    project: &str,
    env: &str,
    placement: &Placement,
    states: &BTreeMap<String, State>,
    registry: &Registry,
) -> Result<Vec<Settlement>, RecoverError> {
    // Each settlement sees the ones before it, as the journal will.
    let mut working: BTreeMap<String, State> = BTreeMap::new();
    let mut out = Vec::new();
    for oi in open {
        let layer = oi.layer.as_str();
        let state = working.entry(layer.to_string()).or_insert_with(|| states.get(layer).cloned().unwrap_or_default());
        let settlement = assess_one(oi, project, env, placement, state, registry).await?;
        settlement.apply_to(state);
        out.push(settlement);
    }
    Ok(out)
}

async fn assess_one(
    oi: &OpenIntent,
    project: &str,
    env: &str,
    placement: &Placement,
    state: &State,
    registry: &Registry,
) -> Result<Settlement, RecoverError> {
    let layer = oi.layer.as_str();
    let intent = &oi.intent;
    let key = intent.logical_id.as_str();
    let object = intent.key();
    let logical_id = object.logical_id();
    let current = state.get(&object).cloned();
    let settlement = |resolution: Resolution, writes: Vec<(ObjectKey, Option<ResourceRecord>)>| Settlement {
        layer: layer.to_string(),
        logical_id: key.to_string(),
        resource_type: intent.resource_type.clone(),
        action: intent.action,
        resolution,
        writes,
        intent: intent.clone(),
        live: None,
    };
    if intent.action == IntentAction::Forget {
        return Ok(settlement(Resolution::Forgotten, vec![(object.clone(), None)]));
    }
    check_placement(oi, placement)?;
    let err = |message: String| RecoverError::Provider {
        layer: layer.to_string(),
        logical_id: key.to_string(),
        action: intent.action,
        message,
    };
    let Some(provider) = registry.for_type(&intent.resource_type) else {
        return Err(err(format!("no provider for resource type {}", intent.resource_type)));
    };
    let context = context_for(project, env, layer, logical_id, intent, current.as_ref());
    let requested = intent.request.as_ref().map(|r| r.properties.clone());
    let shape = requested
        .clone()
        .or_else(|| current.as_ref().map(|c| c.properties.clone()))
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    let read = |physical_id: String| {
        let attributes = current.as_ref().map(|c| c.attributes.clone()).unwrap_or_default();
        let req = ReadRequest { context: context.clone(), physical_id, properties: shape.clone(), attributes };
        async move {
            match provider.read(&req).await {
                Ok(o) => Ok(o),
                Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(err(e.to_string())),
            }
        }
    };
    match intent.action {
        IntentAction::Forget => unreachable!("handled above"),
        IntentAction::Create => {
            let observed = match (&intent.physical_id, &intent.physical_name) {
                (Some(id), _) | (None, Some(id)) => read(id.clone()).await?,
                (None, None) => {
                    let req = FindRequest {
                        context: context.clone(),
                        token: intent.token.clone(),
                        properties: shape.clone(),
                    };
                    match provider.find(&req).await {
                        Ok(o) => o,
                        Err(e) if e.kind == ErrorKind::Unsupported => {
                            return Err(RecoverError::Undecidable {
                                layer: layer.to_string(),
                                logical_id: key.to_string(),
                                resource_type: intent.resource_type.clone(),
                                message: e.message,
                            })
                        }
                        Err(e) => return Err(err(e.to_string())),
                    }
                }
            };
            let Some(obs) = observed else {
                return Ok(settlement(Resolution::NotCreated, Vec::new()));
            };
            let mut writes = Vec::new();
            // A replacement's create: the object still recorded is the old one, which waits
            // under its deposed key to be deleted by the next plan.
            if let Some(old) = current.as_ref().filter(|c| c.physical_id != obs.physical_id) {
                writes.push((object.deposed(), Some(old.clone())));
            }
            let resolution = match &obs.failure {
                Some(reason) => {
                    Resolution::AdoptedTainted { physical_id: obs.physical_id.clone(), reason: reason.clone() }
                }
                None => Resolution::Adopted { physical_id: obs.physical_id.clone() },
            };
            writes.push((object.clone(), Some(adopted(intent, logical_id, obs))));
            Ok(settlement(resolution, writes))
        }
        IntentAction::Update => {
            let Some(cur) = current.clone() else {
                return Err(err("the resource is not in state".to_string()));
            };
            let Some(obs) = read(intent.physical_id.clone().unwrap_or_else(|| cur.physical_id.clone())).await? else {
                return Ok(settlement(Resolution::Gone, vec![(object.clone(), None)]));
            };
            let Some(request) = &intent.request else {
                return Ok(settlement(Resolution::UpdateLeftToPlan, vec![(object.clone(), Some(cur))]));
            };
            let took_effect = crate::plan::compare::same(&request.properties, &obs.properties);
            let record = ResourceRecord {
                physical_id: obs.physical_id.clone(),
                properties: request.properties.clone(),
                attributes: if took_effect { obs.attributes.clone() } else { cur.attributes.clone() },
                depends_on: request.depends_on.clone(),
                deletion_policy: request.deletion_policy,
                update_replace_policy: request.update_replace_policy,
                tainted: obs.failure.clone(),
                metadata: request.metadata.clone(),
                ..cur
            };
            let resolution = if took_effect { Resolution::UpdateTookEffect } else { Resolution::UpdateFinished };
            Ok(Settlement {
                live: Some(obs.properties),
                ..settlement(resolution, vec![(object.clone(), Some(record))])
            })
        }
        IntentAction::Delete => {
            let Some(cur) = current.clone() else {
                return Err(err("the resource is not in state".to_string()));
            };
            match read(intent.physical_id.clone().unwrap_or_else(|| cur.physical_id.clone())).await? {
                None => Ok(settlement(Resolution::Gone, vec![(object.clone(), None)])),
                Some(_) => Ok(settlement(Resolution::DeleteFinished, vec![(object.clone(), None)])),
            }
        }
    }
}

/// The record of a resource an interrupted create made, as the create would have recorded it.
fn adopted(intent: &Intent, logical_id: &str, obs: Observed) -> ResourceRecord {
    let request = intent.request.as_ref();
    ResourceRecord {
        logical_id: logical_id.to_string(),
        resource_type: intent.resource_type.clone(),
        physical_id: obs.physical_id,
        // What was sent is what a finished create records, when that is what is there. A create
        // cut short halfway (a file made but not yet written) records what was read instead,
        // so the next plan shows, for review, what is left to change; so do intents of older
        // journals, which did not record the request.
        properties: match request {
            Some(r) if crate::plan::compare::same(&r.properties, &obs.properties) => r.properties.clone(),
            _ => obs.properties,
        },
        attributes: obs.attributes,
        depends_on: request.map(|r| r.depends_on.clone()).unwrap_or_default(),
        deletion_policy: request.map(|r| r.deletion_policy).unwrap_or_default(),
        update_replace_policy: request.map(|r| r.update_replace_policy).unwrap_or_default(),
        tainted: obs.failure,
        metadata: request.map(|r| r.metadata.clone()).unwrap_or_default(),
    }
}

/// An intent recorded with an account or region is settled only in that account and region.
fn check_placement(oi: &OpenIntent, placement: &Placement) -> Result<(), RecoverError> {
    let Some(request) = &oi.intent.request else { return Ok(()) };
    let checks = [("account", &request.account, &placement.account), ("region", &request.region, &placement.region)];
    for (what, recorded, current) in checks {
        if let Some(recorded) = recorded {
            if current.as_ref() != Some(recorded) {
                return Err(RecoverError::Placement {
                    layer: oi.layer.clone(),
                    logical_id: oi.intent.logical_id.clone(),
                    action: oi.intent.action,
                    what,
                    recorded: recorded.clone(),
                    current: current.clone().map_or_else(|| format!("no {what}"), |c| format!("{what} {c}")),
                });
            }
        }
    }
    Ok(())
}

/// Carry out assessed settlements: finish interrupted updates and deletes, then record each
/// one's `done` and apply it to `states`. A settlement that fails is left open in the journal
/// (no `done`) and the others still go ahead; the error names every one that failed.
pub async fn settle(
    settlements: &[Settlement],
    project: &str,
    env: &str,
    states: &mut BTreeMap<String, State>,
    registry: &Registry,
    recorder: &dyn Recorder,
) -> Result<(), RecoverError> {
    let mut failed = Vec::new();
    for s in settlements {
        let layer = s.layer.as_str();
        let key = s.logical_id.as_str();
        let object = ObjectKey::parse(key);
        let state = states.entry(layer.to_string()).or_default();
        let current = state.get(&object).cloned();
        let err = |message: String| RecoverError::Provider {
            layer: layer.to_string(),
            logical_id: key.to_string(),
            action: s.action,
            message,
        };
        let provider = registry.for_type(&s.resource_type);
        let context = context_for(project, env, layer, object.logical_id(), &s.intent, current.as_ref());
        let mut settled = s.clone();
        let writes = &mut settled.writes;
        let outcome = match (&s.resolution, provider, &current) {
            (Resolution::UpdateFinished, Some(provider), Some(cur)) => {
                let new = s.intent.request.as_ref().map(|r| r.properties.clone()).unwrap_or(serde_json::Value::Null);
                let req = UpdateRequest {
                    context,
                    physical_id: cur.physical_id.clone(),
                    // From what is there now, which the interrupted update may have changed
                    // halfway, not from what was recorded before it.
                    old_properties: s.live.clone().unwrap_or_else(|| cur.properties.clone()),
                    new_properties: new,
                    old_attributes: cur.attributes.clone(),
                };
                match provider.update(&req).await {
                    Ok(applied) => {
                        for (_, record) in writes.iter_mut() {
                            if let Some(r) = record {
                                r.physical_id = applied.physical_id.clone();
                                r.attributes = applied.attributes.clone();
                            }
                        }
                        Ok(())
                    }
                    Err(e) => Err(err(e.to_string())),
                }
            }
            (Resolution::DeleteFinished, Some(provider), Some(cur)) => {
                delete_record(provider.as_ref(), &context, cur).await.map_err(|e| err(e.to_string()))
            }
            (Resolution::UpdateFinished | Resolution::DeleteFinished, None, _) => {
                Err(err(format!("no provider for resource type {}", s.resource_type)))
            }
            (Resolution::UpdateFinished | Resolution::DeleteFinished, _, None) => {
                Err(err("the resource is not in state".to_string()))
            }
            _ => Ok(()),
        };
        if let Err(e) = outcome {
            failed.push(e);
            continue;
        }
        // The deposed key first: once the key's own `done` lands, the intent is closed.
        for (write_key, record) in
            writes.iter().filter(|(k, _)| *k != object).chain(writes.iter().filter(|(k, _)| *k == object))
        {
            recorder.done(layer, write_key, record.as_ref()).await.map_err(RecoverError::Journal)?;
        }
        if !writes.iter().any(|(k, _)| *k == object) {
            // Nothing to record for the key (a create that never happened): close the intent
            // with the key as it is.
            recorder.done(layer, &object, current.as_ref()).await.map_err(RecoverError::Journal)?;
        }
        settled.apply_to(state);
    }
    match failed.len() {
        0 => Ok(()),
        1 => Err(failed.remove(0)),
        _ => Err(RecoverError::Several(failed)),
    }
}
