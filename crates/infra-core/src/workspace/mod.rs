//! A project opened for one environment: what `plan`, `apply` and `destroy` share.
//!
//! [`Workspace::open`] locks the layers a command works on, loads every layer's state and
//! settles (or, read-only, assesses) the operations a previous run left open. On top of it the
//! engine plans (in rounds while exports change), applies a plan through the journal, commits
//! the states and tidies settled journals. Nothing here prints: what a person should hear of
//! on the way is handed to the caller's [`Notice`] callback, and failures are
//! [`WorkspaceError`]s. Which providers exist is the caller's choice, through a
//! [`ProviderSource`], so that cloud configuration is only loaded when a run needs it.
//!
//! [`StateScope`] is the recorded state of an environment for the commands that only read or
//! edit state.

mod scope;

pub use scope::{in_flight_list, Removed, ScopeError, StateScope};

use crate::apply::recover::{self, OpenIntent, RecoverError, Settlement};
use crate::apply::{ApplyOptions, ApplyReport, Interrupt, JournalRecorder, Placement, Reporter, Walker};
use crate::diag::Diagnostic;
use crate::drift;
use crate::plan::{self, Plan, PlanError, PlanInput, PlanOptions, StalePlan};
use crate::project::Project;
use crate::provider::Registry;
use crate::state::{LayerStore, LockGuard, State, StateError};
use crate::template::DesiredStack;
use crate::value::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// An error from a [`ProviderSource`], shown with its chain of causes.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`ProviderSource`] answers with, later.
pub type SourceFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, SourceError>> + 'a>>;

/// Where a workspace gets its providers and the account it acts in. The engine asks only for
/// the resource types a step touches, so a source can set up a cloud's providers (and ask who
/// the credentials are) only when one of its types is in play.
pub trait ProviderSource {
    /// Providers for a run touching `types` (the engine's own always).
    fn registry<'a>(&'a self, project: &'a Project, types: &'a [&'a str]) -> SourceFuture<'a, Registry>;
    /// Whether resources of this type act in a cloud account, so that the account (and the
    /// region) are looked up, passed to templates and recorded in intents.
    fn needs_account(&self, resource_type: &str) -> bool;
    /// The account the credentials act in; asked at most once per workspace.
    fn account_id(&self) -> SourceFuture<'_, String>;
}

/// What a command may do to state: `plan` only reads; `apply` and `destroy` write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Nothing is written: not the state, not the journal, and no mutating call is made.
    /// Operations a previous run left open are assessed by reading, and shown.
    ReadOnly,
    /// Operations a previous run left open are settled, and the states committed, before
    /// anything else happens. A leftover journal that holds only completed records is
    /// written into its state file when the command first writes, or when it goes through
    /// with nothing to do: a command that fails before that (expired credentials, say)
    /// leaves every file as it found it.
    Write,
    /// As `ReadOnly`, and no layer is locked: a drift check neither waits for an apply nor
    /// holds one up. State files are only ever replaced whole, so each layer is read as one
    /// version of its state; the report names the serial it compared with.
    Observe,
}

/// Something a person running the command should hear of while the workspace works.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A layer that is not locked by this command has operations a previous run left open.
    LeftOpenElsewhere { layer: &'a str },
    /// An operation a previous run left open was settled.
    Recovered(&'a Settlement),
    /// A layer's state could not be saved (the journal is kept).
    SaveFailed { layer: &'a str, error: &'a StateError },
}

/// Receives [`Notice`]s, in the order they happen.
pub type Notify = Box<dyn Fn(Notice<'_>)>;

/// How to open a workspace.
#[derive(Clone, Debug)]
pub struct OpenOptions {
    /// The region to act in instead of the environment's own.
    pub region: Option<String>,
    /// The layers to lock (all when empty); the others are only read.
    pub locked: Vec<String>,
    /// What the locks say they are held for (`plan`, `apply`, …).
    pub operation: String,
    /// How long to wait for a lock another operation holds.
    pub lock_timeout: Duration,
    pub access: Access,
}

/// Why a workspace could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("find layer `{layer}`: the project's layers are {known}{hint}")]
    UnknownLayer { layer: String, known: String, hint: String },
    #[error("start the runtime")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    State(Box<StateError>),
    /// Setting up providers or asking for the account failed.
    #[error(transparent)]
    Providers(SourceError),
    #[error("check the operations an interrupted run left open (nothing was changed)")]
    Assess(#[source] Box<RecoverError>),
    #[error("settle the operations an interrupted run left open")]
    Settle(#[source] Box<RecoverError>),
    #[error("save state (the journal is kept; the next run recovers it)")]
    Save(#[source] Box<StateError>),
    /// The templates do not evaluate; `diagnostics` say why (against the project's sources).
    #[error("evaluate the templates of environment {env}")]
    Evaluate { env: String, diagnostics: Vec<Diagnostic> },
    #[error("plan: {0}")]
    Plan(PlanError),
    #[error("plan: exports kept changing between rounds of planning")]
    ExportsUnsettled,
}

impl From<StateError> for WorkspaceError {
    fn from(e: StateError) -> Self {
        WorkspaceError::State(Box::new(e))
    }
}

/// A project opened for planning or applying in one environment, its layers locked.
pub struct Workspace {
    project: Project,
    env: String,
    /// Every layer of the project, lowest first.
    layers: Vec<String>,
    stores: BTreeMap<String, LayerStore>,
    states: BTreeMap<String, State>,
    /// Layers whose state must be committed (changed in memory since loading).
    dirty: Vec<String>,
    _locks: Vec<LockGuard>,
    runtime: tokio::runtime::Runtime,
    interrupt: Arc<Interrupt>,
    providers: Box<dyn ProviderSource>,
    notify: Notify,
    /// The account the credentials act in, asked once.
    account: OnceLock<String>,
    /// How operations a previous run left open were (or, read-only, will be) settled.
    settlements: Vec<Settlement>,
    /// Locked layers whose leftover journal, if any, holds nothing to recover.
    settled_journals: Vec<String>,
}

impl Workspace {
    /// Open `project` in environment `env`: lock the chosen layers, load every layer's state,
    /// and settle (or, read-only, assess) what a previous run left open. `providers` is made
    /// for the project and environment once the region is final.
    pub fn open(
        mut project: Project,
        env: &str,
        options: &OpenOptions,
        providers: impl FnOnce(&Project, &str) -> Result<Box<dyn ProviderSource>, SourceError>,
        notify: Notify,
    ) -> Result<Self, WorkspaceError> {
        let env = env.to_string();
        if let Some(region) = &options.region {
            project.override_region(&env, region);
        }
        let layers: Vec<String> = project.layers().map(str::to_string).collect();
        for l in &options.locked {
            if !layers.contains(l) {
                let hint = crate::diag::did_you_mean(l, layers.iter().map(String::as_str))
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(WorkspaceError::UnknownLayer { layer: l.clone(), known: layers.join(", "), hint });
            }
        }
        let providers = providers(&project, &env).map_err(WorkspaceError::Providers)?;
        let runtime =
            tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(WorkspaceError::Runtime)?;
        let mut ws = Workspace {
            env,
            layers,
            stores: BTreeMap::new(),
            states: BTreeMap::new(),
            dirty: Vec::new(),
            _locks: Vec::new(),
            runtime,
            interrupt: Arc::new(Interrupt::new()),
            providers,
            notify,
            account: OnceLock::new(),
            settlements: Vec::new(),
            settled_journals: Vec::new(),
            project,
        };
        let state_dir = ws.project.state_dir();
        let locked = &options.locked;
        let mut open = Vec::new();
        let mut tidy = Vec::new();
        for layer in ws.layers.clone() {
            let store = LayerStore::new(&state_dir, &ws.env, &layer);
            let lock_it = options.access != Access::Observe && (locked.is_empty() || locked.contains(&layer));
            if lock_it {
                ws._locks.push(store.lock(&options.operation, options.lock_timeout)?);
            }
            let loaded = store.load()?;
            if lock_it && !loaded.recovered && loaded.in_flight.is_empty() {
                tidy.push(layer.clone());
            }
            if lock_it {
                if loaded.recovered || !loaded.in_flight.is_empty() {
                    ws.dirty.push(layer.clone());
                }
                open.extend(loaded.in_flight.into_iter().map(|intent| OpenIntent { layer: layer.clone(), intent }));
            } else if !loaded.in_flight.is_empty() {
                (ws.notify)(Notice::LeftOpenElsewhere { layer: &layer });
            }
            ws.states.insert(layer.clone(), loaded.state);
            ws.stores.insert(layer, store);
        }
        match options.access {
            Access::ReadOnly | Access::Observe => {
                ws.dirty.clear();
                if !open.is_empty() {
                    ws.preview(&open)?;
                }
            }
            Access::Write if open.is_empty() => {}
            Access::Write => ws.settle(&open)?,
        }
        ws.settled_journals = tidy;
        Ok(ws)
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The environment the workspace is open in.
    pub fn env(&self) -> &str {
        &self.env
    }

    /// Every layer of the project, lowest first.
    pub fn layers(&self) -> &[String] {
        &self.layers
    }

    /// Every layer's state as the workspace holds it now.
    pub fn states(&self) -> &BTreeMap<String, State> {
        &self.states
    }

    /// How operations a previous run left open were settled (with write access), or will be
    /// settled by a writing command (read-only; the states are planned as if they were).
    pub fn settlements(&self) -> &[Settlement] {
        &self.settlements
    }

    /// The runtime provider calls run on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// Triggering it stops an apply from starting anything new; what runs finishes and is
    /// recorded.
    pub fn interrupt(&self) -> Arc<Interrupt> {
        self.interrupt.clone()
    }

    fn region(&self) -> &str {
        self.project.region(&self.env)
    }

    fn endpoint_url(&self) -> Option<&str> {
        self.project.endpoint_url(&self.env)
    }

    fn needs_account<'a>(&self, mut types: impl Iterator<Item = &'a str>) -> bool {
        types.any(|t| self.providers.needs_account(t))
    }

    /// Where this run acts, for intents and for checking open ones: the account and region
    /// when any of `types` acts in an account or an open intent was made in an account.
    fn placement<'a>(
        &self,
        types: impl Iterator<Item = &'a str>,
        open: &[OpenIntent],
    ) -> Result<Placement, WorkspaceError> {
        let recorded = open.iter().filter_map(|o| o.intent.request.as_ref()).any(|r| r.account.is_some());
        if !recorded && !self.needs_account(types) {
            return Ok(Placement::default());
        }
        Ok(Placement { account: Some(self.account()?), region: Some(self.region().to_string()) })
    }

    fn account(&self) -> Result<String, WorkspaceError> {
        if let Some(a) = self.account.get() {
            return Ok(a.clone());
        }
        let account = self.runtime.block_on(self.providers.account_id()).map_err(WorkspaceError::Providers)?;
        Ok(self.account.get_or_init(|| account).clone())
    }

    /// Decide by reading only how the open intents will be settled.
    fn assess(&self, open: &[OpenIntent], registry: &Registry) -> Result<Vec<Settlement>, WorkspaceError> {
        let placement = self.placement(open.iter().map(|o| o.intent.resource_type.as_str()), open)?;
        let assessed = self.runtime.block_on(recover::assess(
            open,
            &self.project.name,
            &self.env,
            &placement,
            &self.states,
            registry,
        ));
        assessed.map_err(|e| WorkspaceError::Assess(Box::new(e)))
    }

    /// Read-only: find what apply will settle, and plan on top of it, in memory only.
    fn preview(&mut self, open: &[OpenIntent]) -> Result<(), WorkspaceError> {
        let registry = self.registry_for_types(open.iter().map(|o| o.intent.resource_type.as_str()))?;
        let settlements = self.assess(open, &registry)?;
        for s in &settlements {
            s.apply_to(self.states.entry(s.layer.clone()).or_default());
        }
        self.settlements = settlements;
        Ok(())
    }

    /// Settle operations a previous run left open, before anything is planned. Whatever
    /// happens, what was settled is committed; what was not stays open in the journal.
    fn settle(&mut self, open: &[OpenIntent]) -> Result<(), WorkspaceError> {
        let registry = self.registry_for_types(open.iter().map(|o| o.intent.resource_type.as_str()))?;
        let settlements = self.assess(open, &registry)?;
        let layers: Vec<String> = self.dirty.clone();
        let recorder = self.recorder(&layers)?;
        let (project, env) = (self.project.name.clone(), self.env.clone());
        let result = self.runtime.block_on(recover::settle(
            &settlements,
            &project,
            &env,
            &mut self.states,
            &registry,
            &recorder,
        ));
        drop(recorder);
        let committed = self.commit_dirty();
        result.map_err(|e| WorkspaceError::Settle(Box::new(e)))?;
        committed?;
        for s in &settlements {
            (self.notify)(Notice::Recovered(s));
        }
        self.settlements = settlements;
        Ok(())
    }

    fn recorder(&self, layers: &[String]) -> Result<JournalRecorder, WorkspaceError> {
        let mut journals = BTreeMap::new();
        for layer in layers {
            let (Some(store), Some(state)) = (self.stores.get(layer), self.states.get(layer)) else { continue };
            journals.insert(layer.clone(), store.journal_for(state)?);
        }
        Ok(JournalRecorder::new(journals))
    }

    /// Write every changed layer's state (compacting its journal).
    fn commit_dirty(&mut self) -> Result<(), WorkspaceError> {
        let mut first_error = None;
        for layer in std::mem::take(&mut self.dirty) {
            let (Some(store), Some(state)) = (self.stores.get(&layer), self.states.get_mut(&layer)) else { continue };
            if let Err(e) = store.commit(state) {
                (self.notify)(Notice::SaveFailed { layer: &layer, error: &e });
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(WorkspaceError::Save(Box::new(e))),
            None => Ok(()),
        }
    }

    /// At the end of a writing command that went through: write what leftover journals
    /// recorded into their state files, and remove leftover journals that hold nothing to
    /// recover (one a commit had compacted but was stopped before removing, or one that never
    /// got a record), so a failed command never touches them.
    pub fn tidy(&mut self) -> Result<(), WorkspaceError> {
        self.commit_dirty()?;
        for layer in std::mem::take(&mut self.settled_journals) {
            if let Some(store) = self.stores.get(&layer) {
                store.remove_settled_journal()?;
            }
        }
        Ok(())
    }

    /// Exports recorded by every layer.
    fn exports(&self) -> BTreeMap<String, Value> {
        plan::exports_of(self.states.values())
    }

    /// Evaluate every layer's templates for this environment, with these exports known.
    fn stacks(&self, account: &str, exports: &BTreeMap<String, Value>) -> Result<Vec<DesiredStack>, WorkspaceError> {
        crate::validate::load_stacks(&self.project, &self.env, account, exports)
            .map_err(|d| WorkspaceError::Evaluate { env: self.env.clone(), diagnostics: d.into_vec() })
    }

    /// Evaluate with the placeholder account, then with the real one if anything needs it.
    fn account_and_stacks(&self) -> Result<(String, Vec<DesiredStack>), WorkspaceError> {
        let placeholder = crate::template::eval::PLACEHOLDER_ACCOUNT_ID.to_string();
        let stacks = self.stacks(&placeholder, &self.exports())?;
        if !self.needs_account(self.types(&stacks).into_iter()) {
            return Ok((placeholder, stacks));
        }
        let account = self.account()?;
        let stacks = self.stacks(&account, &self.exports())?;
        Ok((account, stacks))
    }

    /// Plan every selected layer, and set up the providers for what the plan changes (checking
    /// that there is one for every change).
    ///
    /// A first plan is made with the engine's own providers only, so that a plan without
    /// changes configures no cloud. When it changes something, it is made again with the
    /// providers of the types it changes, since what they know changes plans: the attributes
    /// an in-place update may change (so their dependents see "known after apply"), the
    /// properties that name a resource (so a replacement deletes first), overrides of the
    /// schema's create-only properties. That again until the changed types settle.
    ///
    /// Templates are evaluated with the recorded exports; when the plan changes an export, the
    /// layers are evaluated and planned again with that export unknown, so importers show
    /// "(known after apply)" instead of the old value.
    pub fn plan(&self, options: PlanOptions) -> Result<(Plan, Registry), WorkspaceError> {
        let mut plan = self.plan_rounds(&self.registry_for_types(std::iter::empty())?, options.clone())?;
        let mut registry = self.registry_for_plan(&plan)?;
        // Every round plans with the providers of at least one more type, so this ends.
        let mut planned_with = changed_types(&plan);
        while !planned_with.is_empty() {
            plan = self.plan_rounds(&registry, options.clone())?;
            let changed = changed_types(&plan);
            if changed.is_subset(&planned_with) {
                break;
            }
            planned_with.extend(changed);
            registry = self.registry_for_types(planned_with.iter().map(String::as_str))?;
        }
        plan.check_providers(&registry).map_err(WorkspaceError::Plan)?;
        plan.label_provisioning(&registry);
        Ok((plan, registry))
    }

    fn plan_rounds(&self, registry: &Registry, options: PlanOptions) -> Result<Plan, WorkspaceError> {
        let (account, mut stacks) = self.account_and_stacks()?;
        let mut exports = self.exports();
        // Each round settles at least one more layer, so this ends.
        for _ in 0..=self.layers.len() {
            let plan = self.plan_stacks(&stacks, registry, options.clone(), &exports)?;
            let before = exports.len();
            for name in plan.changing_exports(&self.states) {
                exports.remove(&name);
            }
            if exports.len() == before {
                return Ok(plan);
            }
            stacks = self.stacks(&account, &exports)?;
        }
        Err(WorkspaceError::ExportsUnsettled)
    }

    fn types<'a>(&'a self, stacks: &'a [DesiredStack]) -> Vec<&'a str> {
        let desired = stacks.iter().flat_map(|s| s.resources.values().map(|r| r.resource_type.as_str()));
        let recorded =
            self.states.values().flat_map(|s| s.objects().into_iter().map(|(_, r)| r.resource_type.as_str()));
        desired.chain(recorded).collect()
    }

    /// Providers for these resource types (the engine's own always).
    fn registry_for_types<'a>(&self, types: impl Iterator<Item = &'a str>) -> Result<Registry, WorkspaceError> {
        let types: Vec<&str> = types.collect();
        self.runtime.block_on(self.providers.registry(&self.project, &types)).map_err(WorkspaceError::Providers)
    }

    /// Providers for the types a plan changes.
    pub fn registry_for_plan(&self, plan: &Plan) -> Result<Registry, WorkspaceError> {
        let changed = changed_types(plan);
        self.registry_for_types(changed.iter().map(String::as_str))
    }

    /// sha256 over every source file (settings and templates), the environment, its region
    /// and endpoint, so a saved plan can tell that nothing it was made from has changed.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for (_, f) in self.project.sources.files() {
            h.update(f.display.as_bytes());
            h.update([0]);
            h.update(f.text.as_bytes());
            h.update([0]);
        }
        h.update(self.env.as_bytes());
        h.update([0]);
        h.update(self.region().as_bytes());
        h.update([0]);
        h.update(self.endpoint_url().unwrap_or("").as_bytes());
        hex::encode(h.finalize())
    }

    /// Take a saved plan for applying here: refuse it if the templates or states have moved on
    /// since it was made, and give layers never written the lineage it was made with.
    pub fn adopt(&mut self, plan: &Plan) -> Result<(), StalePlan> {
        plan.check_fresh(&self.env, &self.fingerprint(), &self.states)?;
        plan.adopt_lineage(&mut self.states);
        Ok(())
    }

    fn plan_stacks(
        &self,
        stacks: &[DesiredStack],
        registry: &Registry,
        options: PlanOptions,
        exports: &BTreeMap<String, Value>,
    ) -> Result<Plan, WorkspaceError> {
        let schema = |ty: &str| crate::schema::get(ty).map(|s| s.create_only_properties().to_vec());
        let input = PlanInput {
            project: &self.project.name,
            env: &self.env,
            stacks,
            states: &self.states,
            exports,
            registry,
            create_only: &schema,
            options,
            fingerprint: self.fingerprint(),
        };
        plan::plan(&input).map_err(WorkspaceError::Plan)
    }

    /// Apply a plan (a destroy plan destroys), telling `reporter` how it goes, and commit every
    /// layer it touched, whatever happened. When everything went through, settled journals are
    /// tidied away.
    pub fn apply(
        &mut self,
        plan: &Plan,
        registry: &Registry,
        parallelism: u32,
        reporter: Arc<dyn Reporter>,
    ) -> Result<ApplyReport, WorkspaceError> {
        let layers: Vec<String> = plan.layers.iter().filter(|l| l.has_changes()).map(|l| l.layer.clone()).collect();
        let changed = plan.layers.iter().flat_map(|l| &l.changes).filter(|c| c.action.is_change());
        let placement = self.placement(changed.map(|c| c.resource_type.as_str()), &[])?;
        // A new journal starts from the state file, so what a leftover journal recorded goes
        // into it first.
        self.commit_dirty()?;
        let recorder = Arc::new(self.recorder(&layers)?);
        self.dirty.extend(layers);
        let walker = Walker {
            registry,
            recorder: recorder.clone(),
            reporter,
            interrupt: self.interrupt.clone(),
            options: ApplyOptions { parallelism: parallelism as usize, heartbeat: Duration::from_secs(10), placement },
        };
        let mut exports = self.exports();
        let mut states = std::mem::take(&mut self.states);
        let report = self.runtime.block_on(walker.apply(plan, &mut states, &mut exports));
        self.states = states;
        drop(walker);
        drop(recorder);
        self.commit_dirty()?;
        if report.is_success() {
            self.tidy()?;
        }
        Ok(report)
    }
}

impl Workspace {
    /// Compare the live resources of `layers` (all when empty) with their recorded state,
    /// reading through the providers of the recorded types, at most `parallelism` at once.
    /// Reads only: no mutating call, no state write.
    pub fn drift(
        &self,
        layers: &[String],
        parallelism: usize,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<drift::Report, WorkspaceError> {
        let layers: Vec<String> =
            self.layers.iter().filter(|l| layers.is_empty() || layers.contains(l)).cloned().collect();
        let recorded = layers.iter().filter_map(|l| self.states.get(l));
        let types: Vec<&str> =
            recorded.flat_map(|s| s.objects().into_iter().map(|(_, r)| r.resource_type.as_str())).collect();
        let registry = self.registry_for_types(types.into_iter())?;
        let options = drift::Options {
            project: &self.project.name,
            env: &self.env,
            parallelism,
            ignore: self.project.drift_ignore(),
            progress,
        };
        let time = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        Ok(self.runtime.block_on(drift::detect(&self.states, &layers, &registry, &options, time)))
    }
}

/// The resource types a plan changes.
fn changed_types(plan: &Plan) -> std::collections::BTreeSet<String> {
    let changed = plan.layers.iter().flat_map(|l| &l.changes).filter(|c| c.action.is_change());
    changed.map(|c| c.resource_type.clone()).collect()
}
