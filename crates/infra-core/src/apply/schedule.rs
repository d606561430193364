//! Ordering: the step graph of one layer, and the scheduler that decides which steps may start.
//!
//! Each change becomes one or two steps (a replacement is a create and a delete). Edges decide
//! what may start: a step starts only once the steps it waits for have finished and their
//! results are durable. Permits decide how many run: a step takes its provider's permit first
//! and only then one of the global `parallelism` permits, so steps queued behind a saturated
//! provider never hold a global slot that another provider's steps could use.
//!
//! What one step does once started is [`super::execute`]'s business.

use super::execute::{self, Job, JobResult, TaskContext};
use super::{ApplyReport, Event, Failure, Operation, Subject, Walker};
use crate::graph::Graph;
use crate::plan::{Action, LayerPlan, Plan, ReplaceOrder};
use crate::provider::{Provider, Registry};
use crate::state::{DeletionPolicy, ObjectKey, State};
use crate::value::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// Which half of a change a step performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Create,
    Update,
    /// Create the new object of a create-before-delete replacement, deposing the old one.
    CreateReplacement,
    /// Delete the recorded object under the change's key (or its deposed key).
    Delete,
    Forget,
}

pub(super) struct Node {
    pub(super) change: usize,
    pub(super) step: Step,
    /// The object the step works on.
    pub(super) key: ObjectKey,
    /// Steps it still waits for.
    waits_for: usize,
    skipped: bool,
}

/// One layer's steps, and the dependency graph over them (by index): a step depends on the
/// steps that must have finished before it starts.
struct StepGraph {
    nodes: Vec<Node>,
    graph: Graph<usize>,
}

impl StepGraph {
    /// A step for people: `create A`, `delete A~deposed`.
    fn name(&self, i: usize) -> String {
        self.nodes.get(i).map(|n| format!("{} {}", step_operation(n.step), n.key)).unwrap_or_default()
    }
}

/// Build the step graph for one layer.
fn build_graph(lp: &LayerPlan) -> StepGraph {
    let mut nodes: Vec<Node> = Vec::new();
    // new-side and old-side step of each change, by the object the change is about
    let mut new_side: HashMap<&ObjectKey, usize> = HashMap::new();
    let mut old_side: HashMap<&ObjectKey, usize> = HashMap::new();
    let push = |nodes: &mut Vec<Node>, change: usize, step: Step, key: ObjectKey| {
        nodes.push(Node { change, step, key, waits_for: 0, skipped: false });
        nodes.len() - 1
    };
    for (i, c) in lp.changes.iter().enumerate() {
        let id = &c.logical_id;
        match &c.action {
            Action::NoOp => {}
            Action::Create => {
                new_side.insert(id, push(&mut nodes, i, Step::Create, id.clone()));
            }
            Action::Update => {
                new_side.insert(id, push(&mut nodes, i, Step::Update, id.clone()));
            }
            Action::Delete => {
                old_side.insert(id, push(&mut nodes, i, Step::Delete, id.clone()));
            }
            Action::Forget => {
                old_side.insert(id, push(&mut nodes, i, Step::Forget, id.clone()));
            }
            Action::Replace(order) => {
                let retain = c.update_replace_policy == DeletionPolicy::Retain;
                match order {
                    ReplaceOrder::DeleteBeforeCreate { .. } => {
                        let old_step = if retain { Step::Forget } else { Step::Delete };
                        old_side.insert(id, push(&mut nodes, i, old_step, id.clone()));
                        new_side.insert(id, push(&mut nodes, i, Step::Create, id.clone()));
                    }
                    ReplaceOrder::CreateBeforeDelete => {
                        new_side.insert(id, push(&mut nodes, i, Step::CreateReplacement, id.clone()));
                        if !retain {
                            old_side.insert(id, push(&mut nodes, i, Step::Delete, id.deposed()));
                        }
                    }
                }
            }
        }
    }
    // Who referenced each resource when it was last applied.
    let mut recorded_dependents: HashMap<ObjectKey, Vec<&ObjectKey>> = HashMap::new();
    for c in &lp.changes {
        if let Some(b) = &c.before {
            for d in &b.depends_on {
                recorded_dependents.entry(ObjectKey::Current(d.clone())).or_default().push(&c.logical_id);
            }
        }
    }
    let mut edges: Vec<(usize, usize)> = Vec::new(); // (first, then)
    for c in &lp.changes {
        let id = &c.logical_id;
        if let Some(&n) = new_side.get(id) {
            for d in &c.depends_on {
                if let Some(&dn) = new_side.get(&ObjectKey::Current(d.clone())) {
                    edges.push((dn, n));
                }
            }
        }
        if let Some(&o) = old_side.get(id) {
            let delete_first = matches!(c.action, Action::Replace(ReplaceOrder::DeleteBeforeCreate { .. }));
            if let Action::Replace(_) = c.action {
                if let Some(&n) = new_side.get(id) {
                    if delete_first {
                        edges.push((o, n));
                    } else {
                        edges.push((n, o));
                    }
                }
            }
            // The old object goes only when nothing still points at it: dependents are gone,
            // or (when there is no hurry to delete first) repointed by their update. What
            // pointed at a deposed object recorded the logical ID it belongs to.
            let pointed_at = ObjectKey::Current(id.logical_id().to_string());
            for r in recorded_dependents.get(&pointed_at).into_iter().flatten() {
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
        if let ObjectKey::Deposed(base) = &c.logical_id {
            let current = ObjectKey::Current(base.clone());
            if let (Some(&o), Some(&n)) = (old_side.get(&c.logical_id), new_side.get(&current)) {
                edges.push((o, n));
            }
        }
    }
    let mut graph = Graph::new();
    for i in 0..nodes.len() {
        graph.add_node(i);
    }
    for (first, then) in edges {
        if first != then {
            graph.add_edge(then, first);
        }
    }
    for (i, n) in nodes.iter_mut().enumerate() {
        n.waits_for = graph.dependencies(&i).count();
    }
    StepGraph { nodes, graph }
}

/// The permits of a walk: the global `parallelism` ones and one semaphore per provider.
pub(super) struct Permits {
    global: Arc<Semaphore>,
    providers: HashMap<usize, Arc<Semaphore>>,
}

/// The permits a running step holds until it finishes.
pub(super) struct Held {
    _provider: Option<OwnedSemaphorePermit>,
    _global: OwnedSemaphorePermit,
}

impl Permits {
    pub(super) fn new(parallelism: usize, registry: &Registry) -> Self {
        let providers = registry
            .providers()
            .iter()
            .map(|p| (provider_key(p), Arc::new(Semaphore::new(p.concurrency().max(1)))))
            .collect();
        Permits { global: Arc::new(Semaphore::new(parallelism.max(1))), providers }
    }

    fn provider(&self, provider: Option<&Arc<dyn Provider>>) -> Option<&Arc<Semaphore>> {
        provider.and_then(|p| self.providers.get(&provider_key(p)))
    }

    /// Both permits if both are free now: the provider's first, then the global one.
    fn try_take(&self, provider: Option<&Arc<dyn Provider>>) -> Result<Held, Busy> {
        let provider = match self.provider(provider) {
            Some(s) => Some(s.clone().try_acquire_owned().map_err(|_| Busy::Provider)?),
            None => None,
        };
        let global = self.global.clone().try_acquire_owned().map_err(|_| Busy::Global)?;
        Ok(Held { _provider: provider, _global: global })
    }

    /// Wait for both permits, in the same order. The semaphores are never closed.
    async fn take(&self, provider: Option<&Arc<dyn Provider>>) -> Option<Held> {
        let provider = match self.provider(provider) {
            Some(s) => Some(s.clone().acquire_owned().await.ok()?),
            None => None,
        };
        let global = self.global.clone().acquire_owned().await.ok()?;
        Some(Held { _provider: provider, _global: global })
    }
}

/// Which permit a step could not have.
enum Busy {
    /// Its provider runs as many operations as it allows; other providers' steps may start.
    Provider,
    /// Every global permit is taken: nothing more may start now.
    Global,
}

fn provider_key(p: &Arc<dyn Provider>) -> usize {
    Arc::as_ptr(p) as *const () as usize
}

pub(super) fn step_operation(step: Step) -> Operation {
    match step {
        Step::Create | Step::CreateReplacement => Operation::Create,
        Step::Update => Operation::Update,
        Step::Delete => Operation::Delete,
        Step::Forget => Operation::Forget,
    }
}

/// The resource type a step works on: the old side of a replacement may be of another type
/// than the new one.
pub(super) fn step_resource_type(lp: &LayerPlan, node: &Node, state: &State) -> String {
    let c = &lp.changes[node.change];
    match (node.step, state.get(&node.key)) {
        (Step::Delete | Step::Forget, Some(r)) => r.resource_type.clone(),
        _ => c.resource_type.clone(),
    }
}

impl Walker<'_> {
    /// Walk one layer's step graph. Returns whether the walk may go on to the next layer.
    pub(super) async fn apply_layer(
        &self,
        plan: &Plan,
        lp: &LayerPlan,
        state: &mut State,
        exports: &mut BTreeMap<String, Value>,
        permits: &Permits,
        report: &mut ApplyReport,
    ) -> bool {
        let mut fatal = false;
        let steps = build_graph(lp);
        if let Some(cycle) = steps.graph.find_cycle() {
            // The planner's orders rule this out; refuse rather than wait forever.
            let first = cycle.0.first().and_then(|i| steps.nodes.get(*i));
            report.failures.push(Failure {
                layer: lp.layer.clone(),
                logical_id: first.map(|n| n.key.to_string()).unwrap_or_default(),
                resource_type: first.map(|n| lp.changes[n.change].resource_type.clone()).unwrap_or_default(),
                operation: first.map(|n| step_operation(n.step)).unwrap_or(Operation::Update),
                message: cycle.map(|i| steps.name(i)).message("steps"),
            });
            return false;
        }
        let graph = &steps.graph;
        let mut nodes = steps.nodes;
        let mut ready: VecDeque<usize> =
            nodes.iter().enumerate().filter(|(_, n)| n.waits_for == 0).map(|(i, _)| i).collect();
        let mut running: JoinSet<JobResult> = JoinSet::new();
        let mut finished = 0usize;
        let mut layer_failed = false;
        loop {
            // Start, in ready order, every ready step whose permits are free. A step whose
            // provider is saturated stays ready, in its place, without holding a global permit.
            let mut blocked: VecDeque<usize> = VecDeque::new();
            while !fatal && !self.interrupt.is_set() {
                let Some(i) = ready.pop_front() else { break };
                if nodes[i].skipped {
                    continue;
                }
                let provider = self.registry.for_type(&step_resource_type(lp, &nodes[i], state)).cloned();
                let held = match permits.try_take(provider.as_ref()) {
                    Ok(held) => held,
                    Err(busy) => {
                        blocked.push_back(i);
                        if matches!(busy, Busy::Global) {
                            break;
                        }
                        continue;
                    }
                };
                if self.start(
                    plan,
                    lp,
                    graph,
                    &mut nodes,
                    i,
                    state,
                    exports,
                    held,
                    &mut running,
                    report,
                    &mut layer_failed,
                ) {
                    finished += 1;
                }
            }
            blocked.append(&mut ready);
            ready = blocked;
            if running.is_empty() && !ready.is_empty() && !fatal && !self.interrupt.is_set() {
                // Nothing of this walk holds a permit, so someone else does: wait for them
                // rather than stop.
                let i = ready.pop_front().unwrap_or_default();
                if !nodes[i].skipped {
                    let provider = self.registry.for_type(&step_resource_type(lp, &nodes[i], state)).cloned();
                    let Some(held) = permits.take(provider.as_ref()).await else { break };
                    if self.start(
                        plan,
                        lp,
                        graph,
                        &mut nodes,
                        i,
                        state,
                        exports,
                        held,
                        &mut running,
                        report,
                        &mut layer_failed,
                    ) {
                        finished += 1;
                    }
                }
                continue;
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
                state.set(key, rec);
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
                self.fail(graph, &mut nodes, result.node, lp, f, report);
                continue;
            }
            for &d in graph.dependents(&result.node) {
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
            if let Err(e) = execute::record_outputs(self.recorder.as_ref(), lp, state, exports).await {
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

    /// Start step `i` with the permits it holds. Returns true if it could not be prepared and
    /// has failed (so it is finished) instead.
    #[allow(clippy::too_many_arguments)]
    fn start(
        &self,
        plan: &Plan,
        lp: &LayerPlan,
        graph: &Graph<usize>,
        nodes: &mut [Node],
        i: usize,
        state: &State,
        exports: &BTreeMap<String, Value>,
        held: Held,
        running: &mut JoinSet<JobResult>,
        report: &mut ApplyReport,
        layer_failed: &mut bool,
    ) -> bool {
        match execute::prepare(self.registry, plan, lp, &nodes[i], i, state, exports) {
            Ok(job) => {
                let ctx = TaskContext {
                    recorder: self.recorder.clone(),
                    reporter: self.reporter.clone(),
                    heartbeat: self.options.heartbeat,
                    placement: self.options.placement.clone(),
                };
                running.spawn(run(job, ctx, held));
                false
            }
            Err(failure) => {
                *layer_failed = true;
                self.fail(graph, nodes, i, lp, failure, report);
                true
            }
        }
    }

    /// Record a failure and skip everything waiting on the failed step, transitively.
    fn fail(
        &self,
        graph: &Graph<usize>,
        nodes: &mut [Node],
        i: usize,
        lp: &LayerPlan,
        failure: Failure,
        report: &mut ApplyReport,
    ) {
        let because = format!("{} of {} failed", failure.operation, failure.logical_id);
        report.failures.push(failure);
        let mut work: Vec<usize> = graph.dependents(&i).copied().collect();
        while let Some(d) = work.pop() {
            if nodes[d].skipped {
                continue;
            }
            nodes[d].skipped = true;
            let c = &lp.changes[nodes[d].change];
            let subject = Subject {
                layer: lp.layer.clone(),
                logical_id: nodes[d].key.to_string(),
                resource_type: c.resource_type.clone(),
                operation: step_operation(nodes[d].step),
            };
            self.reporter.event(&Event::Skipped { subject, because: because.clone() });
            report.skipped.push(format!("{}.{}", lp.layer, nodes[d].key));
            work.extend(graph.dependents(&d).copied());
        }
    }
}

/// One step's task: both permits are held until it is recorded.
async fn run(job: Job, ctx: TaskContext, held: Held) -> JobResult {
    let result = execute::run_job(job, ctx).await;
    drop(held);
    result
}
