//! Applying a plan: walk each layer's dependency graph with bounded parallelism, journal every
//! operation, and keep the in-memory state exact even when some operations fail.
//!
//! Layers run in plan order. Within a layer each change becomes one or two steps (a
//! replacement is a create and a delete); a step starts when the steps it waits for have
//! finished and their results are durable in the journal. Ordering (the edges) is kept apart
//! from throttling (a global semaphore of `parallelism` permits plus one per provider, sized
//! by [`Provider::concurrency`]).
//!
//! Every provider call is bracketed by an [`Intent`] written before it and a `done` record
//! written after it, both through a [`Recorder`]; after a crash, intents without a `done` are
//! resolved by [`recover::recover`] before anything else is planned.

pub mod recover;

use crate::plan::{compare, deposed_key, Action, LayerPlan, Plan, ReplaceOrder, ResourceChange};
use crate::provider::{
    Applied, CreateRequest, DeleteRequest, Provider, ProviderError, Registry, ResourceContext, UpdateRequest,
};
use crate::state::{DeletionPolicy, OutputRecord, ResourceRecord, State};
use crate::value::{Resolver, Value};
use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

/// An error from the journal or state store behind a [`Recorder`].
pub type RecordError = Box<dyn std::error::Error + Send + Sync>;

pub use crate::state::journal::{Intent, IntentAction, IntentRequest};

/// Where the walker records what it does; implemented over the state journal. Each call is
/// durable when it returns.
#[async_trait]
pub trait Recorder: Send + Sync {
    async fn intent(&self, layer: &str, intent: &Intent) -> Result<(), RecordError>;
    /// The state key now holds `record` (`None`: it is gone). Closes an open intent for the key.
    async fn done(&self, layer: &str, key: &str, record: Option<&ResourceRecord>) -> Result<(), RecordError>;
    /// The layer's outputs are now exactly these.
    async fn outputs(&self, layer: &str, outputs: &BTreeMap<String, OutputRecord>) -> Result<(), RecordError>;
}

/// A [`Recorder`] that keeps entries in memory: for tests and dry runs.
#[derive(Default)]
pub struct MemoryRecorder {
    pub entries: Mutex<Vec<RecordedEntry>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RecordedEntry {
    Intent(String, Intent),
    Done(String, String, Option<ResourceRecord>),
    Outputs(String, BTreeMap<String, OutputRecord>),
}

impl MemoryRecorder {
    pub fn entries(&self) -> Vec<RecordedEntry> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }
    fn push(&self, e: RecordedEntry) -> Result<(), RecordError> {
        self.entries.lock().map_err(|_| "recorder lock poisoned")?.push(e);
        Ok(())
    }
}

#[async_trait]
impl Recorder for MemoryRecorder {
    async fn intent(&self, layer: &str, intent: &Intent) -> Result<(), RecordError> {
        self.push(RecordedEntry::Intent(layer.to_string(), intent.clone()))
    }
    async fn done(&self, layer: &str, key: &str, record: Option<&ResourceRecord>) -> Result<(), RecordError> {
        self.push(RecordedEntry::Done(layer.to_string(), key.to_string(), record.cloned()))
    }
    async fn outputs(&self, layer: &str, outputs: &BTreeMap<String, OutputRecord>) -> Result<(), RecordError> {
        self.push(RecordedEntry::Outputs(layer.to_string(), outputs.clone()))
    }
}

/// A [`Recorder`] over the layers' state journals (group-committed, durable on return).
pub struct JournalRecorder {
    journals: BTreeMap<String, crate::state::Journal>,
}

impl JournalRecorder {
    pub fn new(journals: BTreeMap<String, crate::state::Journal>) -> Self {
        JournalRecorder { journals }
    }

    fn journal(&self, layer: &str) -> Result<&crate::state::Journal, RecordError> {
        self.journals.get(layer).ok_or_else(|| format!("no journal open for layer {layer}").into())
    }
}

#[async_trait]
impl Recorder for JournalRecorder {
    async fn intent(&self, layer: &str, intent: &Intent) -> Result<(), RecordError> {
        Ok(self.journal(layer)?.append(crate::state::Entry::Intent(intent.clone())).await?)
    }
    async fn done(&self, layer: &str, key: &str, record: Option<&ResourceRecord>) -> Result<(), RecordError> {
        let entry = crate::state::Entry::Done { logical_id: key.to_string(), record: record.cloned() };
        Ok(self.journal(layer)?.append(entry).await?)
    }
    async fn outputs(&self, layer: &str, outputs: &BTreeMap<String, OutputRecord>) -> Result<(), RecordError> {
        Ok(self.journal(layer)?.append(crate::state::Entry::Outputs(outputs.clone())).await?)
    }
}

/// The operation a progress event or failure is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Create,
    Update,
    Delete,
    Forget,
    Read,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::Forget => "forget",
            Operation::Read => "read",
        })
    }
}

/// Which resource an event is about.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Subject {
    pub layer: String,
    pub logical_id: String,
    pub resource_type: String,
    pub operation: Operation,
}

/// Progress, for the command line's display.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Started {
        subject: Subject,
    },
    /// Sent every heartbeat interval while an operation runs.
    Heartbeat {
        subject: Subject,
        elapsed: Duration,
    },
    Finished {
        subject: Subject,
        elapsed: Duration,
        physical_id: Option<String>,
    },
    Failed {
        subject: Subject,
        elapsed: Duration,
        error: String,
    },
    /// Not attempted because something it depends on failed.
    Skipped {
        subject: Subject,
        because: String,
    },
    /// What the provider reported while the step's call ran.
    Provider {
        subject: Subject,
        report: crate::provider::events::ProviderEvent,
    },
}

pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);
}

/// A reporter that drops everything.
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _event: &Event) {}
}

/// A reporter that keeps events, for tests.
#[derive(Default)]
pub struct CollectEvents(pub Mutex<Vec<Event>>);

impl Reporter for CollectEvents {
    fn event(&self, event: &Event) {
        if let Ok(mut v) = self.0.lock() {
            v.push(event.clone());
        }
    }
}

/// Set on the first SIGINT: no new operations start; those running finish and are recorded.
#[derive(Default)]
pub struct Interrupt {
    set: AtomicBool,
    notify: Notify,
}

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn trigger(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Debug)]
pub struct ApplyOptions {
    /// Operations in flight at once, over all providers.
    pub parallelism: usize,
    /// How often a running operation reports that it is still running.
    pub heartbeat: Duration,
    /// Where the run acts, recorded in every intent.
    pub placement: Placement,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { parallelism: 10, heartbeat: Duration::from_secs(10), placement: Placement::default() }
    }
}

/// The cloud account and region a run acts in (`None` where it does not use one), recorded in
/// every intent so that recovery acts on the same account and region, or refuses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    pub account: Option<String>,
    pub region: Option<String>,
}

/// One operation that failed.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Failure {
    pub layer: String,
    pub logical_id: String,
    pub resource_type: String,
    pub operation: Operation,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}.{} ({}): {}", self.operation, self.layer, self.logical_id, self.resource_type, self.message)
    }
}

/// What an apply did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct ApplyReport {
    pub added: usize,
    pub changed: usize,
    pub destroyed: usize,
    pub forgotten: usize,
    pub failures: Vec<Failure>,
    /// `layer.logical_id` of steps not attempted because a dependency failed.
    pub skipped: Vec<String>,
    /// Stopped early by an interrupt; what ran was recorded.
    pub interrupted: bool,
    /// Layers whose changes were not attempted (a lower layer failed or the run was interrupted).
    pub layers_not_attempted: Vec<String>,
    pub elapsed: Duration,
}

impl ApplyReport {
    pub fn is_success(&self) -> bool {
        self.failures.is_empty() && !self.interrupted && self.skipped.is_empty()
    }
}

/// Applies `plan` to `states` (by layer), recording through `recorder`.
pub struct Walker<'a> {
    pub registry: &'a Registry,
    pub recorder: Arc<dyn Recorder>,
    pub reporter: Arc<dyn Reporter>,
    pub interrupt: Arc<Interrupt>,
    pub options: ApplyOptions,
}

/// Which half of a change a step performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Create,
    Update,
    /// Create the new object of a create-before-delete replacement, deposing the old one.
    CreateReplacement,
    /// Delete the recorded object under the change's key (or its deposed key).
    Delete,
    Forget,
}

struct Node {
    change: usize,
    step: Step,
    /// The state key the step works on.
    key: String,
    waits_for: usize,
    dependents: Vec<usize>,
    skipped: bool,
}

/// Build the step graph for one layer.
fn build_graph(lp: &LayerPlan) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    // new-side and old-side step of each change, by logical ID
    let mut new_side: HashMap<&str, usize> = HashMap::new();
    let mut old_side: HashMap<&str, usize> = HashMap::new();
    let push = |nodes: &mut Vec<Node>, change: usize, step: Step, key: String| {
        nodes.push(Node { change, step, key, waits_for: 0, dependents: Vec::new(), skipped: false });
        nodes.len() - 1
    };
    for (i, c) in lp.changes.iter().enumerate() {
        let id = c.logical_id.as_str();
        match c.action {
            Action::NoOp => {}
            Action::Create => {
                new_side.insert(id, push(&mut nodes, i, Step::Create, id.to_string()));
            }
            Action::Update => {
                new_side.insert(id, push(&mut nodes, i, Step::Update, id.to_string()));
            }
            Action::Delete => {
                old_side.insert(id, push(&mut nodes, i, Step::Delete, id.to_string()));
            }
            Action::Forget => {
                old_side.insert(id, push(&mut nodes, i, Step::Forget, id.to_string()));
            }
            Action::Replace => {
                let retain = c.update_replace_policy == DeletionPolicy::Retain;
                match c.replace_order {
                    Some(ReplaceOrder::DeleteBeforeCreate { .. }) => {
                        let old_step = if retain { Step::Forget } else { Step::Delete };
                        old_side.insert(id, push(&mut nodes, i, old_step, id.to_string()));
                        new_side.insert(id, push(&mut nodes, i, Step::Create, id.to_string()));
                    }
                    _ => {
                        new_side.insert(id, push(&mut nodes, i, Step::CreateReplacement, id.to_string()));
                        if !retain {
                            old_side.insert(id, push(&mut nodes, i, Step::Delete, deposed_key(id)));
                        }
                    }
                }
            }
        }
    }
    // Who referenced each resource when it was last applied.
    let mut recorded_dependents: HashMap<&str, Vec<&str>> = HashMap::new();
    for c in &lp.changes {
        if let Some(b) = &c.before {
            for d in &b.depends_on {
                recorded_dependents.entry(d.as_str()).or_default().push(c.logical_id.as_str());
            }
        }
    }
    let mut edges: Vec<(usize, usize)> = Vec::new(); // (first, then)
    for c in &lp.changes {
        let id = c.logical_id.as_str();
        if let Some(&n) = new_side.get(id) {
            for d in &c.depends_on {
                if let Some(&dn) = new_side.get(d.as_str()) {
                    edges.push((dn, n));
                }
            }
        }
        if let Some(&o) = old_side.get(id) {
            let delete_first = matches!(c.replace_order, Some(ReplaceOrder::DeleteBeforeCreate { .. }));
            if c.action == Action::Replace {
                if let Some(&n) = new_side.get(id) {
                    if delete_first {
                        edges.push((o, n));
                    } else {
                        edges.push((n, o));
                    }
                }
            }
            // The old object goes only when nothing still points at it: dependents are gone,
            // or (when there is no hurry to delete first) repointed by their update.
            for r in recorded_dependents.get(id).into_iter().flatten() {
                if *r == id {
                    continue;
                }
                if let Some(&ro) = old_side.get(r) {
                    edges.push((ro, o));
                } else if !delete_first {
                    if let Some(&rn) = new_side.get(r) {
                        edges.push((rn, o));
                    }
                }
            }
        }
    }
    // An old object still waiting under the deposed key goes before a new replacement
    // deposes another object under the same key.
    for c in &lp.changes {
        if let Some(base) = crate::plan::deposed_of(&c.logical_id) {
            if let (Some(&o), Some(&n)) = (old_side.get(c.logical_id.as_str()), new_side.get(base)) {
                edges.push((o, n));
            }
        }
    }
    for (first, then) in edges {
        if first != then {
            nodes[first].dependents.push(then);
            nodes[then].waits_for += 1;
        }
    }
    nodes
}

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
struct Job {
    node: usize,
    step: Step,
    layer: String,
    key: String,
    context: ResourceContext,
    provider: Option<Arc<dyn Provider>>,
    provider_permits: Option<Arc<Semaphore>>,
    /// The object under the key before this step.
    current: Option<ResourceRecord>,
    properties: serde_json::Value,
    depends_on: Vec<String>,
    deletion_policy: DeletionPolicy,
    update_replace_policy: DeletionPolicy,
}

/// A finished step: the state keys it changed, or why it failed.
struct JobResult {
    node: usize,
    writes: Vec<(String, Option<ResourceRecord>)>,
    counted: Option<Action>,
    failure: Option<Failure>,
    /// The journal failed: nothing more may start.
    fatal: bool,
}

impl Walker<'_> {
    /// Apply `plan` to `states`, which must be the states the plan was made against (the caller
    /// checks lineage and serial). `exports` are those recorded by layers outside the plan.
    /// The states are updated in memory as steps finish; the caller commits them afterwards,
    /// whatever the outcome.
    pub async fn apply(
        &self,
        plan: &Plan,
        states: &mut BTreeMap<String, State>,
        exports: &mut BTreeMap<String, Value>,
    ) -> ApplyReport {
        let started = Instant::now();
        let mut report = ApplyReport::default();
        let global = Arc::new(Semaphore::new(self.options.parallelism.max(1)));
        let mut provider_permits: HashMap<usize, Arc<Semaphore>> = HashMap::new();
        for p in self.registry.providers() {
            provider_permits.insert(provider_key(p), Arc::new(Semaphore::new(p.concurrency().max(1))));
        }
        let mut stop = false;
        for lp in &plan.layers {
            if stop {
                report.layers_not_attempted.push(lp.layer.clone());
                continue;
            }
            let state = states.entry(lp.layer.clone()).or_default();
            let ok = self.apply_layer(plan, lp, state, exports, &global, &provider_permits, &mut report).await;
            if !ok {
                stop = true;
            }
        }
        report.elapsed = started.elapsed();
        report
    }

    #[allow(clippy::too_many_arguments)]
    async fn apply_layer(
        &self,
        plan: &Plan,
        lp: &LayerPlan,
        state: &mut State,
        exports: &mut BTreeMap<String, Value>,
        global: &Arc<Semaphore>,
        provider_permits: &HashMap<usize, Arc<Semaphore>>,
        report: &mut ApplyReport,
    ) -> bool {
        let mut fatal = false;
        let mut nodes = build_graph(lp);
        let mut ready: VecDeque<usize> =
            nodes.iter().enumerate().filter(|(_, n)| n.waits_for == 0).map(|(i, _)| i).collect();
        let mut running: JoinSet<JobResult> = JoinSet::new();
        let mut finished = 0usize;
        let mut layer_failed = false;
        loop {
            while !fatal && !self.interrupt.is_set() {
                let Some(i) = ready.pop_front() else { break };
                if nodes[i].skipped {
                    continue;
                }
                // Taking the global permit here, in ready order, keeps starts in a stable order
                // and avoids a task per waiting step. The semaphore is never closed.
                let Ok(permit) = global.clone().acquire_owned().await else { break };
                if self.interrupt.is_set() {
                    break;
                }
                match self.prepare(plan, lp, &nodes[i], i, state, exports, provider_permits) {
                    Ok(job) => {
                        let ctx = TaskContext {
                            recorder: self.recorder.clone(),
                            reporter: self.reporter.clone(),
                            heartbeat: self.options.heartbeat,
                            placement: self.options.placement.clone(),
                        };
                        running.spawn(run_job(job, ctx, permit));
                    }
                    Err(failure) => {
                        layer_failed = true;
                        self.fail(&mut nodes, i, lp, failure, report);
                        finished += 1;
                    }
                }
            }
            let Some(joined) = running.join_next().await else { break };
            finished += 1;
            let result = match joined {
                Ok(r) => r,
                Err(e) => {
                    // A panicking task is a bug; stop rather than guess what it did.
                    fatal = true;
                    report.failures.push(Failure {
                        layer: lp.layer.clone(),
                        logical_id: String::new(),
                        resource_type: String::new(),
                        operation: Operation::Update,
                        message: format!("internal error: {e}"),
                    });
                    continue;
                }
            };
            for (key, rec) in result.writes {
                match rec {
                    Some(r) => {
                        state.resources.insert(key, r);
                    }
                    None => {
                        state.resources.remove(&key);
                    }
                }
            }
            match result.counted {
                Some(Action::Create) => report.added += 1,
                Some(Action::Update) => report.changed += 1,
                Some(Action::Delete) => report.destroyed += 1,
                Some(Action::Forget) => report.forgotten += 1,
                _ => {}
            }
            fatal |= result.fatal;
            if let Some(f) = result.failure {
                layer_failed = true;
                self.fail(&mut nodes, result.node, lp, f, report);
                continue;
            }
            let dependents = std::mem::take(&mut nodes[result.node].dependents);
            for d in dependents {
                nodes[d].waits_for -= 1;
                if nodes[d].waits_for == 0 {
                    ready.push_back(d);
                }
            }
        }
        let skipped = nodes.iter().filter(|n| n.skipped).count();
        if finished + skipped < nodes.len() {
            report.interrupted = true;
        }
        if !fatal {
            if let Err(e) = self.record_outputs(lp, state, exports).await {
                report.failures.push(Failure {
                    layer: lp.layer.clone(),
                    logical_id: "(outputs)".to_string(),
                    resource_type: String::new(),
                    operation: Operation::Update,
                    message: format!("record outputs: {e}"),
                });
                return false;
            }
        }
        !fatal && !layer_failed && !report.interrupted
    }

    /// Record a failure and skip everything waiting on the failed step, transitively.
    fn fail(&self, nodes: &mut [Node], i: usize, lp: &LayerPlan, failure: Failure, report: &mut ApplyReport) {
        let because = format!("{} of {} failed", failure.operation, failure.logical_id);
        report.failures.push(failure);
        let mut work = std::mem::take(&mut nodes[i].dependents);
        while let Some(d) = work.pop() {
            if nodes[d].skipped {
                continue;
            }
            nodes[d].skipped = true;
            let c = &lp.changes[nodes[d].change];
            let subject = Subject {
                layer: lp.layer.clone(),
                logical_id: nodes[d].key.clone(),
                resource_type: c.resource_type.clone(),
                operation: step_operation(nodes[d].step),
            };
            self.reporter.event(&Event::Skipped { subject, because: because.clone() });
            report.skipped.push(format!("{}.{}", lp.layer, nodes[d].key));
            work.extend(std::mem::take(&mut nodes[d].dependents));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn prepare(
        &self,
        plan: &Plan,
        lp: &LayerPlan,
        node: &Node,
        index: usize,
        state: &State,
        exports: &BTreeMap<String, Value>,
        provider_permits: &HashMap<usize, Arc<Semaphore>>,
    ) -> Result<Job, Failure> {
        let c: &ResourceChange = &lp.changes[node.change];
        let current = state.resources.get(&node.key).cloned();
        // The old side of a replacement may be of another type than the new one.
        let resource_type = match (node.step, &current) {
            (Step::Delete | Step::Forget, Some(r)) => r.resource_type.clone(),
            _ => c.resource_type.clone(),
        };
        let fail = |message: String| Failure {
            layer: lp.layer.clone(),
            logical_id: node.key.clone(),
            resource_type: resource_type.clone(),
            operation: step_operation(node.step),
            message,
        };
        let provider = self.registry.for_type(&resource_type).cloned();
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
        let context = ResourceContext {
            project: plan.project.clone(),
            environment: plan.env.clone(),
            layer: lp.layer.clone(),
            stack_name: format!("{}-{}-{}", plan.project, plan.env, lp.layer),
            logical_id: c.logical_id.clone(),
            resource_type: resource_type.clone(),
            // Template `Metadata` does not reach the plan yet; providers fall back to their defaults.
            metadata: serde_json::Value::Null,
        };
        let provider_permits = provider.as_ref().and_then(|p| provider_permits.get(&provider_key(p)).cloned());
        Ok(Job {
            node: index,
            step: node.step,
            layer: lp.layer.clone(),
            key: node.key.clone(),
            context,
            provider,
            provider_permits,
            current,
            properties,
            depends_on: c.depends_on.clone(),
            deletion_policy: c.deletion_policy,
            update_replace_policy: c.update_replace_policy,
        })
    }

    /// Resolve the layer's outputs against the state as applied and record them. Outputs that
    /// are still unknown (something failed) keep their previous value.
    async fn record_outputs(
        &self,
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
            self.recorder.outputs(&lp.layer, &outputs).await?;
            for o in outputs.values() {
                if let Some(name) = &o.export_name {
                    exports.insert(name.clone(), Value::from_json(&o.value));
                }
            }
            state.outputs = outputs;
        }
        Ok(())
    }
}

fn provider_key(p: &Arc<dyn Provider>) -> usize {
    Arc::as_ptr(p) as *const () as usize
}

fn step_operation(step: Step) -> Operation {
    match step {
        Step::Create | Step::CreateReplacement => Operation::Create,
        Step::Update => Operation::Update,
        Step::Delete => Operation::Delete,
        Step::Forget => Operation::Forget,
    }
}

struct TaskContext {
    recorder: Arc<dyn Recorder>,
    reporter: Arc<dyn Reporter>,
    heartbeat: Duration,
    placement: Placement,
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

async fn run_job(job: Job, ctx: TaskContext, permit: tokio::sync::OwnedSemaphorePermit) -> JobResult {
    // Both permits are held for the whole step.
    let _global = permit;
    let _provider = match &job.provider_permits {
        Some(s) => s.clone().acquire_owned().await.ok(),
        None => None,
    };
    let subject = Subject {
        layer: job.layer.clone(),
        logical_id: job.key.clone(),
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
                logical_id: job.key.clone(),
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
    let key = job.key.as_str();
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
    };
    let request = |properties: &serde_json::Value| {
        Some(IntentRequest {
            properties: properties.clone(),
            account: ctx.placement.account.clone(),
            region: ctx.placement.region.clone(),
            depends_on: job.depends_on.clone(),
            deletion_policy: job.deletion_policy,
            update_replace_policy: job.update_replace_policy,
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
            result.writes.push((key.to_string(), None));
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
                        let deposed = deposed_key(key);
                        journal!(rec.done(layer, &deposed, Some(old)));
                        result.writes.push((deposed, Some(old.clone())));
                    }
                }
            }
            journal!(rec.done(layer, key, Some(&record)));
            let id = record.physical_id.clone();
            result.writes.push((key.to_string(), Some(record)));
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
                if &record != current {
                    journal!(rec.done(layer, key, Some(&record)));
                    result.writes.push((key.to_string(), Some(record)));
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
                    result.writes.push((key.to_string(), Some(record)));
                    result.counted = Some(Action::Update);
                    Ok(Some(id))
                }
                Err(e) => match e.partial.clone() {
                    Some(applied) => {
                        let record = record_for(*applied, Some(e.to_string()));
                        journal!(rec.done(layer, key, Some(&record)));
                        result.writes.push((key.to_string(), Some(record)));
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
                    result.writes.push((key.to_string(), None));
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
