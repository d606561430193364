//! Execution: one step, from its resolved request to its durable result.
//!
//! A step writes its intent, makes the provider call, classifies a failure (refused, tainted,
//! or left open) and records the completion, all here and nowhere else. When it may start and
//! how many run at once is [`super::schedule`]'s business.

use super::schedule::{step_operation, step_resource_type, Node, Step};
use super::{Event, Failure, Intent, IntentAction, IntentRequest, Placement, RecordError, Recorder, Reporter, Subject};
use crate::plan::{compare, Action, LayerPlan, Plan, ResourceChange};
use crate::provider::{
    Applied, CreateRequest, DeleteRequest, Provider, ProviderError, Registry, ResourceContext, UpdateRequest,
};
use crate::state::{DeletionPolicy, ObjectKey, OutputRecord, ResourceRecord, State};
use crate::value::{Resolver, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Resolves references against the state as it is now, during the apply.
struct StateResolver<'a> {
    state: &'a State,
    exports: &'a BTreeMap<String, Value>,
}

impl Resolver for StateResolver<'_> {
    fn attribute(&self, logical_id: &str, attr: Option<&str>) -> Option<Value> {
        self.state.resources.get(logical_id).and_then(|r| crate::plan::planner::record_attribute(r, attr))
    }
    fn export(&self, name: &str) -> Option<Value> {
        self.exports.get(name).cloned()
    }
}

/// Everything a step's task needs, owned.
pub(super) struct Job {
    node: usize,
    step: Step,
    layer: String,
    key: ObjectKey,
    context: ResourceContext,
    provider: Option<Arc<dyn Provider>>,
    /// The object under the key before this step.
    current: Option<ResourceRecord>,
    properties: serde_json::Value,
    depends_on: Vec<String>,
    deletion_policy: DeletionPolicy,
    update_replace_policy: DeletionPolicy,
}

/// A finished step: the state keys it changed, or why it failed.
pub(super) struct JobResult {
    pub(super) node: usize,
    pub(super) writes: Vec<(ObjectKey, Option<ResourceRecord>)>,
    pub(super) counted: Option<Action>,
    pub(super) failure: Option<Failure>,
    /// The journal failed: nothing more may start.
    pub(super) fatal: bool,
}

/// Everything step `index` needs to run, resolved against the state as it is now.
#[allow(clippy::too_many_arguments)]
pub(super) fn prepare(
    registry: &Registry,
    plan: &Plan,
    lp: &LayerPlan,
    node: &Node,
    index: usize,
    state: &State,
    exports: &BTreeMap<String, Value>,
) -> Result<Job, Failure> {
    let c: &ResourceChange = &lp.changes[node.change];
    let current = state.get(&node.key).cloned();
    let resource_type = step_resource_type(lp, node, state);
    let fail = |message: String| Failure {
        layer: lp.layer.clone(),
        logical_id: node.key.to_string(),
        resource_type: resource_type.clone(),
        operation: step_operation(node.step),
        message,
    };
    let provider = registry.for_type(&resource_type).cloned();
    if provider.is_none() && node.step != Step::Forget {
        return Err(fail(format!("no provider for resource type {resource_type}")));
    }
    let properties = match node.step {
        Step::Create | Step::Update | Step::CreateReplacement => {
            let after = c.after.as_ref().unwrap_or(&Value::Null);
            let resolved = after
                .try_resolve(&StateResolver { state, exports })
                .map_err(|e| fail(format!("its properties cannot be resolved: {e}")))?;
            if !resolved.is_known() {
                let missing: Vec<String> = resolved.references().into_iter().collect();
                return Err(fail(format!(
                    "its properties depend on {}, which is not applied",
                    if missing.is_empty() { "an imported value".to_string() } else { missing.join(", ") }
                )));
            }
            resolved.to_json()
        }
        Step::Delete | Step::Forget => {
            if current.is_none() && node.step == Step::Delete {
                return Err(fail(format!("{} is not in state", node.key)));
            }
            current.as_ref().map(|r| r.properties.clone()).unwrap_or(serde_json::Value::Null)
        }
    };
    // A delete runs with the settings the object was recorded with; everything else with the
    // template's.
    let metadata = match (node.step, &current) {
        (Step::Delete, Some(record)) => record.metadata.clone(),
        _ => c.metadata.clone(),
    };
    let context = ResourceContext::new(&plan.project, &plan.env, &lp.layer, &c.logical_id.to_string(), &resource_type)
        .with_metadata(metadata);
    Ok(Job {
        node: index,
        step: node.step,
        layer: lp.layer.clone(),
        key: node.key.clone(),
        context,
        provider,
        current,
        properties,
        depends_on: c.depends_on.clone(),
        deletion_policy: c.deletion_policy,
        update_replace_policy: c.update_replace_policy,
    })
}

/// Resolve the layer's outputs against the state as applied and record them. Outputs that
/// are still unknown (something failed) keep their previous value.
pub(super) async fn record_outputs(
    recorder: &dyn Recorder,
    lp: &LayerPlan,
    state: &mut State,
    exports: &mut BTreeMap<String, Value>,
) -> Result<(), RecordError> {
    let mut outputs = state.outputs.clone();
    for oc in &lp.outputs {
        match oc.action {
            Action::Delete | Action::Forget => {
                if let Some(old) = outputs.remove(&oc.name) {
                    if let Some(name) = old.export_name {
                        exports.remove(&name);
                    }
                }
            }
            _ => {
                let resolver = StateResolver { state, exports };
                let value = oc.after.as_ref().map(|v| v.resolve(&resolver));
                let export_name = oc.export_name.as_ref().map(|v| v.resolve(&resolver));
                let (Some(value), true) = (value, export_name.as_ref().is_none_or(Value::is_known)) else {
                    continue;
                };
                if !value.is_known() {
                    continue;
                }
                let record = OutputRecord {
                    value: value.to_json(),
                    description: oc.description.clone(),
                    export_name: export_name.as_ref().and_then(|v| v.as_str().map(str::to_string)),
                };
                outputs.insert(oc.name.clone(), record);
            }
        }
    }
    if outputs != state.outputs {
        recorder.outputs(&lp.layer, &outputs).await?;
        for o in outputs.values() {
            if let Some(name) = &o.export_name {
                exports.insert(name.clone(), Value::from_json(&o.value));
            }
        }
        state.outputs = outputs;
    }
    Ok(())
}

pub(super) struct TaskContext {
    pub(super) recorder: Arc<dyn Recorder>,
    pub(super) reporter: Arc<dyn Reporter>,
    pub(super) heartbeat: Duration,
    pub(super) placement: Placement,
}

/// Run `fut`, reporting a heartbeat while it takes long.
async fn with_heartbeat<T>(
    fut: impl std::future::Future<Output = T>,
    reporter: &dyn Reporter,
    subject: &Subject,
    started: Instant,
    every: Duration,
) -> T {
    tokio::pin!(fut);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        tokio::select! {
            out = &mut fut => return out,
            _ = ticker.tick() => reporter.event(&Event::Heartbeat { subject: subject.clone(), elapsed: started.elapsed() }),
        }
    }
}

/// Run one step and report its progress. The caller holds its permits throughout.
pub(super) async fn run_job(job: Job, ctx: TaskContext) -> JobResult {
    let subject = Subject {
        layer: job.layer.clone(),
        logical_id: job.key.to_string(),
        resource_type: job.context.resource_type.clone(),
        operation: step_operation(job.step),
    };
    let started = Instant::now();
    ctx.reporter.event(&Event::Started { subject: subject.clone() });
    let mut result = JobResult { node: job.node, writes: Vec::new(), counted: None, failure: None, fatal: false };
    let (reporter, about) = (ctx.reporter.clone(), subject.clone());
    let forward = move |report| reporter.event(&Event::Provider { subject: about.clone(), report });
    let call = crate::provider::events::scope(forward, perform(&job, &ctx, &mut result));
    let outcome = with_heartbeat(call, ctx.reporter.as_ref(), &subject, started, ctx.heartbeat).await;
    match outcome {
        Ok(physical_id) => {
            ctx.reporter.event(&Event::Finished { subject, elapsed: started.elapsed(), physical_id });
        }
        Err(message) => {
            ctx.reporter.event(&Event::Failed {
                subject: subject.clone(),
                elapsed: started.elapsed(),
                error: message.clone(),
            });
            result.failure = Some(Failure {
                layer: job.layer.clone(),
                logical_id: job.key.to_string(),
                resource_type: job.context.resource_type.clone(),
                operation: subject.operation,
                message,
            });
        }
    }
    result
}

/// Do the step: intent, provider call, done. Returns the physical ID touched.
///
/// How a failed call is recorded is decided here, once for every step: a refusal closes the
/// intent with the resource as it was; a [`ProviderError::partial`] result records the
/// resource as tainted; an ambiguous failure ([`ProviderError::is_ambiguous`]) writes
/// nothing, so the intent stays open and the next run reads the resource to settle it.
async fn perform(job: &Job, ctx: &TaskContext, result: &mut JobResult) -> Result<Option<String>, String> {
    let rec = ctx.recorder.as_ref();
    let layer = job.layer.as_str();
    let key = &job.key;
    // Journal writes: a failure here means the state on disk can no longer be trusted to
    // match what was done, so the walk stops.
    macro_rules! journal {
        ($e:expr) => {
            if let Err(e) = $e.await {
                result.fatal = true;
                return Err(format!("write the journal: {e}"));
            }
        };
    }
    let record_for = |applied: Applied, tainted: Option<String>| ResourceRecord {
        logical_id: job.context.logical_id.clone(),
        resource_type: job.context.resource_type.clone(),
        physical_id: applied.physical_id,
        properties: job.properties.clone(),
        attributes: applied.attributes,
        depends_on: job.depends_on.clone(),
        deletion_policy: job.deletion_policy,
        update_replace_policy: job.update_replace_policy,
        tainted,
        metadata: job.context.metadata.clone(),
    };
    let request = |properties: &serde_json::Value| {
        Some(IntentRequest {
            properties: properties.clone(),
            account: ctx.placement.account.clone(),
            region: ctx.placement.region.clone(),
            depends_on: job.depends_on.clone(),
            deletion_policy: job.deletion_policy,
            update_replace_policy: job.update_replace_policy,
            metadata: job.context.metadata.clone(),
        })
    };
    let intent = |action: IntentAction, physical_name: Option<String>, physical_id: Option<String>| Intent {
        logical_id: key.to_string(),
        resource_type: job.context.resource_type.clone(),
        action,
        physical_name,
        physical_id,
        token: uuid::Uuid::new_v4().to_string(),
        request: request(&job.properties),
    };
    match job.step {
        Step::Forget => {
            journal!(rec.done(layer, key, None));
            result.writes.push((key.clone(), None));
            result.counted = Some(Action::Forget);
            Ok(job.current.as_ref().map(|r| r.physical_id.clone()))
        }
        Step::Create | Step::CreateReplacement => {
            let Some(provider) = &job.provider else { return Err("no provider".to_string()) };
            let physical_name = provider.physical_name(&job.context, &job.properties);
            let intent = intent(IntentAction::Create, physical_name.clone(), None);
            journal!(rec.intent(layer, &intent));
            let req = CreateRequest {
                context: job.context.clone(),
                physical_name,
                token: intent.token.clone(),
                properties: job.properties.clone(),
            };
            let (applied, failure) = match provider.create(&req).await {
                Ok(applied) => (applied, None),
                Err(e) => match e.partial.clone() {
                    Some(applied) => (*applied, Some(e)),
                    None if e.is_ambiguous() => return Err(left_open(&e)),
                    None => {
                        journal!(rec.done(layer, key, job.current.as_ref()));
                        return Err(e.to_string());
                    }
                },
            };
            let record = record_for(applied, failure.as_ref().map(ProviderError::to_string));
            if job.step == Step::CreateReplacement {
                // The old object waits under its deposed key until it is deleted; with
                // UpdateReplacePolicy Retain it is simply let go.
                if let Some(old) = &job.current {
                    if job.update_replace_policy != DeletionPolicy::Retain {
                        let deposed = key.deposed();
                        journal!(rec.done(layer, &deposed, Some(old)));
                        result.writes.push((deposed, Some(old.clone())));
                    }
                }
            }
            journal!(rec.done(layer, key, Some(&record)));
            let id = record.physical_id.clone();
            result.writes.push((key.clone(), Some(record)));
            result.counted = Some(Action::Create);
            match failure {
                Some(e) => {
                    Err(format!("{e} (the resource {id} exists and is recorded as tainted: the next plan replaces it)"))
                }
                None => Ok(Some(id)),
            }
        }
        Step::Update => {
            let Some(provider) = &job.provider else { return Err("no provider".to_string()) };
            let Some(current) = &job.current else {
                return Err(format!("{key} is not in state"));
            };
            if compare::same(&job.properties, &current.properties) && current.tainted.is_none() {
                // Known-after-apply values turned out unchanged: nothing to call.
                let mut record = current.clone();
                record.depends_on = job.depends_on.clone();
                record.deletion_policy = job.deletion_policy;
                record.update_replace_policy = job.update_replace_policy;
                record.metadata = job.context.metadata.clone();
                if &record != current {
                    journal!(rec.done(layer, key, Some(&record)));
                    result.writes.push((key.clone(), Some(record)));
                    result.counted = Some(Action::Update);
                }
                return Ok(Some(current.physical_id.clone()));
            }
            let intent = intent(IntentAction::Update, None, Some(current.physical_id.clone()));
            journal!(rec.intent(layer, &intent));
            let req = UpdateRequest {
                context: job.context.clone(),
                physical_id: current.physical_id.clone(),
                old_properties: current.properties.clone(),
                new_properties: job.properties.clone(),
                old_attributes: current.attributes.clone(),
            };
            match provider.update(&req).await {
                Ok(applied) => {
                    let record = record_for(applied, None);
                    journal!(rec.done(layer, key, Some(&record)));
                    let id = record.physical_id.clone();
                    result.writes.push((key.clone(), Some(record)));
                    result.counted = Some(Action::Update);
                    Ok(Some(id))
                }
                Err(e) => match e.partial.clone() {
                    Some(applied) => {
                        let record = record_for(*applied, Some(e.to_string()));
                        journal!(rec.done(layer, key, Some(&record)));
                        result.writes.push((key.clone(), Some(record)));
                        Err(format!("{e} (recorded as tainted: the next plan replaces it)"))
                    }
                    None if e.is_ambiguous() => Err(left_open(&e)),
                    None => {
                        journal!(rec.done(layer, key, Some(current)));
                        Err(e.to_string())
                    }
                },
            }
        }
        Step::Delete => {
            let Some(provider) = &job.provider else { return Err("no provider".to_string()) };
            let Some(current) = &job.current else {
                return Err(format!("{key} is not in state"));
            };
            let mut intent = intent(IntentAction::Delete, None, Some(current.physical_id.clone()));
            intent.resource_type = current.resource_type.clone();
            intent.request = request(&current.properties);
            journal!(rec.intent(layer, &intent));
            match delete_record(provider.as_ref(), &job.context, current).await {
                Ok(()) => {
                    journal!(rec.done(layer, key, None));
                    result.writes.push((key.clone(), None));
                    result.counted = Some(Action::Delete);
                    Ok(Some(current.physical_id.clone()))
                }
                Err(e) if e.is_ambiguous() => Err(left_open(&e)),
                Err(e) => {
                    journal!(rec.done(layer, key, Some(current)));
                    Err(e.to_string())
                }
            }
        }
    }
}

/// The failure message of a call whose outcome is unknown, so its intent stays open.
fn left_open(e: &ProviderError) -> String {
    format!("{e} (whether it took effect is unknown: the operation stays open in the journal, and the next run checks and settles it)")
}

/// Delete a recorded resource; already gone counts as deleted.
pub(crate) async fn delete_record(
    provider: &dyn Provider,
    context: &ResourceContext,
    current: &ResourceRecord,
) -> Result<(), ProviderError> {
    let req = DeleteRequest {
        context: context.clone(),
        physical_id: current.physical_id.clone(),
        properties: current.properties.clone(),
        attributes: current.attributes.clone(),
    };
    match provider.delete(&req).await {
        Err(e) if e.kind == crate::provider::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}
