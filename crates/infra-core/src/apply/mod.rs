//! Applying a plan: walk each layer's dependency graph with bounded parallelism, journal every
//! operation, and keep the in-memory state exact even when some operations fail.
//!
//! Layers run in plan order. Within a layer each change becomes one or two steps (a
//! replacement is a create and a delete). Ordering lives in `schedule`: the step graph, whose
//! edges decide what may start (a step starts when the steps it waits for have finished and
//! their results are durable in the journal), and the permits that decide how many run (one
//! semaphore per provider, sized by [`Provider::concurrency`](crate::provider::Provider::concurrency),
//! taken first, then a global one of `parallelism` permits). Execution lives in `execute`:
//! one step's intent, provider call, failure classification and completion record.
//!
//! Every provider call is bracketed by an [`Intent`] written before it and a `done` record
//! written after it, both through a [`Recorder`]; after a crash, intents without a `done` are
//! resolved by [`recover::recover`] before anything else is planned.

mod execute;
pub mod recover;
#[cfg(feature = "testing")]
mod testing;
#[cfg(feature = "testing")]
pub use testing::{CollectEvents, MemoryRecorder, RecordedEntry};
mod schedule;

pub(crate) use execute::delete_record;

use crate::plan::Plan;
use crate::provider::Registry;
use crate::state::{ObjectKey, OutputRecord, ResourceRecord, State};
use crate::value::Value;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// An error from the journal or state store behind a [`Recorder`].
pub type RecordError = Box<dyn std::error::Error + Send + Sync>;

pub use crate::state::journal::{Intent, IntentAction, IntentRequest};

/// Where the walker records what it does; implemented over the state journal. Each call is
/// durable when it returns.
#[async_trait]
pub trait Recorder: Send + Sync {
    async fn intent(&self, layer: &str, intent: &Intent) -> Result<(), RecordError>;
    /// The object under `key` is now `record` (`None`: it is gone). Closes an open intent for
    /// the key.
    async fn done(&self, layer: &str, key: &ObjectKey, record: Option<&ResourceRecord>) -> Result<(), RecordError>;
    /// The layer's outputs are now exactly these.
    async fn outputs(&self, layer: &str, outputs: &BTreeMap<String, OutputRecord>) -> Result<(), RecordError>;
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
    async fn done(&self, layer: &str, key: &ObjectKey, record: Option<&ResourceRecord>) -> Result<(), RecordError> {
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
        let permits = schedule::Permits::new(self.options.parallelism, self.registry);
        let mut stop = false;
        for lp in &plan.layers {
            if stop {
                report.layers_not_attempted.push(lp.layer.clone());
                continue;
            }
            let state = states.entry(lp.layer.clone()).or_default();
            let ok = self.apply_layer(plan, lp, state, exports, &permits, &mut report).await;
            if !ok {
                stop = true;
            }
        }
        report.elapsed = started.elapsed();
        report
    }
}
