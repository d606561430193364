//! What `plan`, `apply` and `destroy` share: loading the project and its states under lock,
//! settling operations a previous run left open, planning, applying with progress, and
//! committing the states.

use super::providers;
use super::Global;
use anyhow::{bail, Context};
use infra_core::apply::recover::{self, OpenIntent, Settlement};
use infra_core::apply::{ApplyOptions, ApplyReport, Event, Interrupt, JournalRecorder, Placement, Reporter, Walker};
use infra_core::plan::{self, Plan, PlanInput, PlanOptions};
use infra_core::project::Project;
use infra_core::provider::Registry;
use infra_core::render;
use infra_core::state::{LayerStore, LockGuard, State};
use infra_core::template::DesiredStack;
use infra_core::value::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Flags that choose what a plan covers, shared by `plan` and `apply`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Selection {
    /// Only this layer (repeatable)
    #[arg(long = "layer", value_name = "LAYER")]
    pub layers: Vec<String>,
    /// Only this resource and what it depends on (repeatable)
    #[arg(long = "target", value_name = "ID")]
    pub targets: Vec<String>,
    /// Leave this resource and everything that depends on it alone (repeatable)
    #[arg(long = "exclude", value_name = "ID")]
    pub excludes: Vec<String>,
    /// Replace this resource even if nothing changed (repeatable)
    #[arg(long = "replace", value_name = "ID")]
    pub replace: Vec<String>,
}

/// Flags about running, shared by `plan`, `apply` and `destroy`.
#[derive(clap::Args, Debug, Clone)]
pub struct Running {
    /// How long to wait for a layer's lock when another operation holds it
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,
    /// How many operations may run at once
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: u32,
}

/// What a command may do to state: `plan` only reads; `apply` and `destroy` write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Nothing is written: not the state, not the journal, and no mutating call is made.
    /// Operations a previous run left open are assessed by reading, and shown.
    ReadOnly,
    /// Operations a previous run left open are settled, and the states committed, before
    /// anything else happens.
    Write,
}

/// A project opened for planning or applying in one environment, its layers locked.
pub struct Workspace {
    pub project: Project,
    pub env: String,
    /// Every layer of the project, lowest first.
    pub layers: Vec<String>,
    pub stores: BTreeMap<String, LayerStore>,
    pub states: BTreeMap<String, State>,
    /// Layers whose state must be committed (changed in memory since loading).
    pub dirty: Vec<String>,
    _locks: Vec<LockGuard>,
    pub runtime: tokio::runtime::Runtime,
    pub color: bool,
    interrupt: Arc<Interrupt>,
    /// Where AWS calls go; its configuration is resolved on first use only.
    aws: providers::Aws,
    /// The account the credentials act in, asked of STS once.
    account: std::sync::OnceLock<String>,
    /// How operations a previous run left open were (or, read-only, will be) settled.
    pub settlements: Vec<Settlement>,
    /// Locked layers whose leftover journal, if any, holds nothing to recover.
    settled_journals: Vec<String>,
}

impl Workspace {
    /// Load the project and every layer's state, locking the `locked` layers (all when empty),
    /// and settle (or, read-only, assess) what a previous run left open.
    pub fn open(
        global: &Global,
        env: Option<&str>,
        locked: &[String],
        operation: &str,
        lock_timeout: Duration,
        access: Access,
    ) -> anyhow::Result<Self> {
        let color = global.color();
        let (mut project, diags) = Project::read(&global.project_dir);
        super::hide_secrets_of(global, &project, env);
        if diags.has_errors() {
            err!("{}", render::diag::human(&diags.into_vec(), &project.sources, color));
            bail!("load the project in {}", global.project_dir.display());
        }
        let env = match project.select_environment(env.or(global.env.as_deref())) {
            Ok(e) => e.name.clone(),
            Err(d) => {
                err!("{}", render::diag::human(&[d], &project.sources, color));
                bail!("choose an environment");
            }
        };
        if let Some(region) = &global.region {
            project.override_region(&env, region);
        }
        let layers: Vec<String> = project.layers().map(str::to_string).collect();
        for l in locked {
            if !layers.contains(l) {
                let hint = infra_core::diag::did_you_mean(l, layers.iter().map(String::as_str))
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                bail!("find layer `{l}`: the project's layers are {}{hint}", layers.join(", "));
            }
        }
        let aws = providers::Aws::new(&project, &env, global.profile.as_deref())?;
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("start the runtime")?;
        let mut ws = Workspace {
            env,
            layers,
            stores: BTreeMap::new(),
            states: BTreeMap::new(),
            dirty: Vec::new(),
            _locks: Vec::new(),
            runtime,
            color,
            interrupt: Arc::new(Interrupt::new()),
            aws,
            account: std::sync::OnceLock::new(),
            settlements: Vec::new(),
            settled_journals: Vec::new(),
            project,
        };
        let state_dir = ws.project.state_dir();
        let mut open = Vec::new();
        let mut tidy = Vec::new();
        for layer in ws.layers.clone() {
            let store = LayerStore::new(&state_dir, &ws.env, &layer);
            let lock_it = locked.is_empty() || locked.contains(&layer);
            if lock_it {
                ws._locks.push(store.lock(operation, lock_timeout)?);
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
                eprintln!(
                    "warning: layer {layer} has operations left open by an interrupted run; plan or apply it to settle them"
                );
            }
            ws.states.insert(layer.clone(), loaded.state);
            ws.stores.insert(layer, store);
        }
        match access {
            Access::ReadOnly => {
                ws.dirty.clear();
                if !open.is_empty() {
                    ws.preview(&open)?;
                }
            }
            Access::Write if open.is_empty() => ws.commit_dirty()?,
            Access::Write => ws.settle(&open)?,
        }
        ws.settled_journals = tidy;
        Ok(ws)
    }

    fn region(&self) -> &str {
        self.project.region(&self.env)
    }

    fn endpoint_url(&self) -> Option<&str> {
        self.project.endpoint_url(&self.env)
    }

    /// Where this run acts, for intents and for checking open ones: the account and region
    /// when any of `types` is an AWS type or an open intent was made in an account.
    fn placement<'a>(&self, types: impl Iterator<Item = &'a str>, open: &[OpenIntent]) -> anyhow::Result<Placement> {
        let recorded = open.iter().filter_map(|o| o.intent.request.as_ref()).any(|r| r.account.is_some());
        if !recorded && !providers::needs_aws(types) {
            return Ok(Placement::default());
        }
        Ok(Placement { account: Some(self.account()?), region: Some(self.region().to_string()) })
    }

    fn account(&self) -> anyhow::Result<String> {
        if let Some(a) = self.account.get() {
            return Ok(a.clone());
        }
        let account = self.runtime.block_on(providers::account_id(true, &self.aws))?;
        Ok(self.account.get_or_init(|| account).clone())
    }

    /// Decide by reading only how the open intents will be settled.
    fn assess(&self, open: &[OpenIntent], registry: &Registry) -> anyhow::Result<Vec<Settlement>> {
        let placement = self.placement(open.iter().map(|o| o.intent.resource_type.as_str()), open)?;
        let assessed = self.runtime.block_on(recover::assess(
            open,
            &self.project.name,
            &self.env,
            &placement,
            &self.states,
            registry,
        ));
        assessed.context("check the operations an interrupted run left open (nothing was changed)")
    }

    /// Read-only: show what apply will settle, and plan on top of it, in memory only.
    fn preview(&mut self, open: &[OpenIntent]) -> anyhow::Result<()> {
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
    fn settle(&mut self, open: &[OpenIntent]) -> anyhow::Result<()> {
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
        result.context("settle the operations an interrupted run left open")?;
        committed?;
        for s in &settlements {
            errln!("recovered {s}");
        }
        self.settlements = settlements;
        Ok(())
    }

    fn recorder(&self, layers: &[String]) -> anyhow::Result<JournalRecorder> {
        let mut journals = BTreeMap::new();
        for layer in layers {
            let (Some(store), Some(state)) = (self.stores.get(layer), self.states.get(layer)) else { continue };
            journals.insert(layer.clone(), store.journal_for(state)?);
        }
        Ok(JournalRecorder::new(journals))
    }

    /// Write every changed layer's state (compacting its journal).
    pub fn commit_dirty(&mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        for layer in std::mem::take(&mut self.dirty) {
            let (Some(store), Some(state)) = (self.stores.get(&layer), self.states.get_mut(&layer)) else { continue };
            if let Err(e) = store.commit(state) {
                errln!("error: failed to save the state of layer {layer}: {e}");
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(anyhow::Error::new(e).context("save state (the journal is kept; the next run recovers it)")),
            None => Ok(()),
        }
    }

    /// At the end of a writing command that went through: remove leftover journals that hold
    /// nothing to recover (one a commit had compacted but was stopped before removing, or one
    /// that never got a record), so a failed command never touches them.
    pub fn tidy(&mut self) -> anyhow::Result<()> {
        for layer in std::mem::take(&mut self.settled_journals) {
            if let Some(store) = self.stores.get(&layer) {
                store.remove_settled_journal()?;
            }
        }
        Ok(())
    }

    /// Exports recorded by every layer.
    pub fn exports(&self) -> BTreeMap<String, Value> {
        plan::exports_of(self.states.values())
    }

    /// Evaluate every layer's templates for this environment, with these exports known.
    pub fn stacks(&self, account: &str, exports: &BTreeMap<String, Value>) -> anyhow::Result<Vec<DesiredStack>> {
        match infra_core::validate::load_stacks(&self.project, &self.env, account, exports) {
            Ok(s) => Ok(s),
            Err(d) => {
                err!("{}", render::diag::human(&d.into_vec(), &self.project.sources, self.color));
                bail!("evaluate the templates of environment {}", self.env)
            }
        }
    }

    /// Evaluate with the placeholder account, then with the real one if anything needs AWS.
    fn account_and_stacks(&self) -> anyhow::Result<(String, Vec<DesiredStack>)> {
        let placeholder = infra_core::template::eval::PLACEHOLDER_ACCOUNT_ID.to_string();
        let stacks = self.stacks(&placeholder, &self.exports())?;
        if !providers::needs_aws(self.types(&stacks).into_iter()) {
            return Ok((placeholder, stacks));
        }
        let account = self.account()?;
        let stacks = self.stacks(&account, &self.exports())?;
        Ok((account, stacks))
    }

    /// Plan every selected layer. Templates are evaluated with the recorded exports; when the
    /// plan changes an export, the layers are evaluated and planned again with that export
    /// unknown, so importers show "(known after apply)" instead of the old value.
    pub fn plan(&self, registry: &Registry, options: PlanOptions) -> anyhow::Result<Plan> {
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
        bail!("plan: exports kept changing between rounds of planning")
    }

    fn types<'a>(&'a self, stacks: &'a [DesiredStack]) -> Vec<&'a str> {
        let desired = stacks.iter().flat_map(|s| s.resources.values().map(|r| r.resource_type.as_str()));
        let recorded = self.states.values().flat_map(|s| s.resources.values().map(|r| r.resource_type.as_str()));
        desired.chain(recorded).collect()
    }

    /// Providers for these resource types (the engine's own always).
    pub fn registry_for_types<'a>(&self, types: impl Iterator<Item = &'a str>) -> anyhow::Result<Registry> {
        self.runtime.block_on(providers::registry(types, &self.project, &self.aws))
    }

    /// Providers for the types a plan changes.
    pub fn registry_for_plan(&self, plan: &Plan) -> anyhow::Result<Registry> {
        let changed = plan.layers.iter().flat_map(|l| &l.changes).filter(|c| c.action.is_change());
        self.registry_for_types(changed.map(|c| c.resource_type.as_str()))
    }

    /// sha256 over every source file (settings and templates), the environment and its
    /// region, so a saved plan can tell that nothing it was made from has changed.
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

    fn plan_stacks(
        &self,
        stacks: &[DesiredStack],
        registry: &Registry,
        options: PlanOptions,
        exports: &BTreeMap<String, Value>,
    ) -> anyhow::Result<Plan> {
        let schema = |ty: &str| infra_core::schema::get(ty).map(|s| s.create_only_properties().to_vec());
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
        plan::plan(&input).map_err(|e| anyhow::anyhow!("plan: {e}"))
    }

    /// Apply a plan, showing progress, and commit every layer it touched, whatever happened.
    pub fn apply(
        &mut self,
        plan: &Plan,
        registry: &Registry,
        parallelism: u32,
        progress: bool,
    ) -> anyhow::Result<ApplyReport> {
        let layers: Vec<String> = plan.layers.iter().filter(|l| l.has_changes()).map(|l| l.layer.clone()).collect();
        let changed = plan.layers.iter().flat_map(|l| &l.changes).filter(|c| c.action.is_change());
        let placement = self.placement(changed.map(|c| c.resource_type.as_str()), &[])?;
        let recorder = Arc::new(self.recorder(&layers)?);
        self.dirty.extend(layers);
        let reporter: Arc<dyn Reporter> = Arc::new(Progress::new(progress));
        self.watch_interrupts();
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

    /// First Ctrl-C: start nothing new and finish what runs; second: exit at once (the
    /// journal is intact and the next run recovers).
    fn watch_interrupts(&self) {
        let interrupt = self.interrupt.clone();
        // One listener, registered before the walk starts and kept from the first Ctrl-C to
        // the second, so a second one pressed right after the first is never missed.
        let listener = {
            let _runtime = self.runtime.enter();
            ctrl_c_listener()
        };
        let Ok(mut ctrl_c) = listener else { return };
        self.runtime.spawn(async move {
            if ctrl_c.recv().await.is_none() {
                return;
            }
            eprintln!("\nInterrupt received: waiting for running operations to finish (press Ctrl-C again to exit at once)...");
            interrupt.trigger();
            if ctrl_c.recv().await.is_some() {
                eprintln!("Exiting at once; the next run recovers from the journal.");
                std::process::exit(130);
            }
        });
    }
}

#[cfg(unix)]
fn ctrl_c_listener() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

#[cfg(windows)]
fn ctrl_c_listener() -> std::io::Result<tokio::signal::windows::CtrlC> {
    tokio::signal::windows::ctrl_c()
}

/// Ask for approval on a terminal; refuse without one.
pub fn approve(question: &str, detail: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("get approval: stdin is not a terminal; pass -auto-approve to run without a prompt");
    }
    println!("{question}\n  {detail}\n  Only 'yes' will be accepted to approve.\n");
    print!("  Enter a value: ");
    use std::io::Write;
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).context("read the answer")?;
    println!();
    Ok(answer.trim() == "yes")
}

/// Progress on a terminal (a spinner per running operation) or as plain lines.
pub struct Progress {
    bars: Option<(indicatif::MultiProgress, Mutex<HashMap<String, indicatif::ProgressBar>>)>,
    quiet: bool,
}

impl Progress {
    /// `show`: print progress at all (off for `--format json`).
    pub fn new(show: bool) -> Self {
        let tty = show && std::io::stdout().is_terminal();
        let bars = tty.then(|| (indicatif::MultiProgress::new(), Mutex::new(HashMap::new())));
        Progress { bars, quiet: !show }
    }
}

fn subject_key(e: &Event) -> String {
    let s = match e {
        Event::Started { subject }
        | Event::Heartbeat { subject, .. }
        | Event::Finished { subject, .. }
        | Event::Failed { subject, .. }
        | Event::Skipped { subject, .. }
        | Event::Provider { subject, .. } => subject,
    };
    format!("{}.{}.{}", s.layer, s.logical_id, s.operation)
}

impl Reporter for Progress {
    fn event(&self, e: &Event) {
        if self.quiet {
            return;
        }
        let line = super::redact_text(&render::progress::event_line(e));
        let Some((multi, bars)) = &self.bars else {
            outln!("{line}");
            return;
        };
        let Ok(mut bars) = bars.lock() else { return };
        let key = subject_key(e);
        match e {
            Event::Started { .. } => {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message(line);
                bars.insert(key, bar);
            }
            Event::Heartbeat { .. } | Event::Provider { .. } => {
                if let Some(bar) = bars.get(&key) {
                    bar.set_message(line);
                }
            }
            Event::Finished { .. } | Event::Failed { .. } | Event::Skipped { .. } => {
                if let Some(bar) = bars.remove(&key) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                let _ = multi.println(line);
            }
        }
    }
}

/// Print failures and the summary (with `--format json`: one document holding the plan and
/// the report); the exit code for the outcome.
pub fn finish(plan: &Plan, report: &ApplyReport, json: bool) -> std::process::ExitCode {
    let destroy = plan.destroy;
    if json {
        let doc = serde_json::json!({ "plan": render::plan::json(plan), "report": report });
        super::print_json(&doc);
    } else {
        for f in &report.failures {
            errln!("error: failed to {f}");
        }
        if !report.skipped.is_empty() {
            errln!("not attempted (a dependency failed): {}", report.skipped.join(", "));
        }
        if !report.layers_not_attempted.is_empty() {
            errln!("layers not attempted: {}", report.layers_not_attempted.join(", "));
        }
        outln!("\n{}", render::progress::summary(report, destroy));
    }
    if report.is_success() {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::from(1)
    }
}
