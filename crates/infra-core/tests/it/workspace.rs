//! The workspace over a project in a temporary directory, with the strict in-memory provider:
//! opening under lock, planning in rounds while exports change, applying, settling what an
//! interrupted apply left open, read-only planning, destroying, and saved plans.

use infra_core::apply::recover::Resolution;
use infra_core::apply::{ApplyReport, Silent};
use infra_core::plan::{saved, Action, Plan, PlanOptions};
use infra_core::project::Project;
use infra_core::provider::local::LocalProvider;
use infra_core::provider::memory::{AfterEffect, CallKind, MemoryProvider};
use infra_core::provider::Registry;
use infra_core::render;
use infra_core::state::journal::{Entry, Intent, IntentAction};
use infra_core::state::LayerStore;
use infra_core::workspace::{
    Access, Notice, OpenOptions, ProviderSource, ScopeError, SourceError, SourceFuture, StateScope, Workspace,
    WorkspaceError,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const THING: &str = "Custom::Thing";

const SETTINGS: &str = r#"[project]
name = "demo"
region = "eu-west-1"
layers = ["shared", "backend"]

[state]
path = "state"

[environments.dev]
[environments.dev.parameters]
Greeting = "hello"
"#;

const SHARED: &str = r#"Parameters:
  Greeting:
    Type: String
Resources:
  Seed:
    Type: Custom::Thing
    Properties:
      Input: !Ref Greeting
Outputs:
  SeedId:
    Value: !Ref Seed
    Export:
      Name: demo-seed
"#;

const BACKEND: &str = r#"Resources:
  App:
    Type: Custom::Thing
    Properties:
      Input: !ImportValue demo-seed
"#;

/// Providers from one in-memory provider (and the engine's own), remembering which resource
/// types each registry was asked for.
struct Source {
    mem: Arc<MemoryProvider>,
    asked: Arc<Mutex<Vec<Vec<String>>>>,
    /// Set: every registry is refused, as when the credentials have expired.
    refuse: Arc<AtomicBool>,
}

impl ProviderSource for Source {
    fn registry<'a>(&'a self, project: &'a Project, types: &'a [&'a str]) -> SourceFuture<'a, Registry> {
        self.asked.lock().expect("asked").push(types.iter().map(|t| t.to_string()).collect());
        Box::pin(async move {
            if self.refuse.load(Ordering::SeqCst) {
                return Err::<Registry, SourceError>(
                    "ExpiredToken: the security token included in the request is expired".into(),
                );
            }
            let mut registry = Registry::new();
            registry
                .register(Arc::new(LocalProvider::for_project(&project.dir, project.local_files_outside())))
                .expect("one provider per type");
            registry.register(self.mem.clone()).expect("one provider per type");
            Ok(registry)
        })
    }

    fn needs_account(&self, _resource_type: &str) -> bool {
        false
    }

    fn account_id(&self) -> SourceFuture<'_, String> {
        Box::pin(async { Err::<String, SourceError>("no account in these tests".into()) })
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    mem: Arc<MemoryProvider>,
    asked: Arc<Mutex<Vec<Vec<String>>>>,
    notices: Arc<Mutex<Vec<String>>>,
    refuse: Arc<AtomicBool>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        std::fs::create_dir_all(p.join("stacks/shared")).expect("mkdir");
        std::fs::create_dir_all(p.join("stacks/backend")).expect("mkdir");
        std::fs::write(p.join("infra.toml"), SETTINGS).expect("write");
        std::fs::write(p.join("stacks/shared/seed.yaml"), SHARED).expect("write");
        std::fs::write(p.join("stacks/backend/app.yaml"), BACKEND).expect("write");
        Fixture {
            dir,
            mem: Arc::new(MemoryProvider::new(&[THING])),
            asked: Arc::default(),
            notices: Arc::default(),
            refuse: Arc::default(),
        }
    }

    fn open(&self, access: Access) -> Result<Workspace, WorkspaceError> {
        self.open_locking(access, &[])
    }

    fn open_locking(&self, access: Access, locked: &[&str]) -> Result<Workspace, WorkspaceError> {
        let (project, diags) = Project::read(self.dir.path());
        assert!(!diags.has_errors(), "{:?}", diags.into_vec());
        let options = OpenOptions {
            region: None,
            locked: locked.iter().map(|l| l.to_string()).collect(),
            operation: "test".to_string(),
            lock_timeout: Duration::ZERO,
            access,
        };
        let (mem, asked, refuse) = (self.mem.clone(), self.asked.clone(), self.refuse.clone());
        let source = move |_: &Project, _: &str| -> Result<Box<dyn ProviderSource>, SourceError> {
            Ok(Box::new(Source { mem, asked, refuse }))
        };
        let notices = self.notices.clone();
        let notify = Box::new(move |n: Notice<'_>| {
            let line = match n {
                Notice::LeftOpenElsewhere { layer } => format!("left open in {layer}"),
                Notice::Recovered(s) => format!("recovered {s}"),
                Notice::SaveFailed { layer, error } => format!("save failed in {layer}: {error}"),
            };
            notices.lock().expect("notices").push(line);
        });
        Workspace::open(project, "dev", &options, source, notify)
    }

    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn store(&self, layer: &str) -> LayerStore {
        LayerStore::new(&self.state_dir(), "dev", layer)
    }

    /// Every file under the state directory with its bytes.
    fn state_files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for e in entries {
                let path = e.expect("entry").path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.insert(path.clone(), std::fs::read(&path).expect("read"));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.state_dir(), &mut out);
        out
    }

    fn notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().expect("notices"))
    }

    fn plan_and_apply(&self, options: PlanOptions) -> (Plan, ApplyReport) {
        let mut ws = self.open(Access::Write).expect("open");
        let (plan, registry) = ws.plan(options).expect("plan");
        let report = ws.apply(&plan, &registry, 4, Arc::new(Silent)).expect("apply");
        (plan, report)
    }
}

fn change<'a>(plan: &'a Plan, layer: &str, id: &str) -> &'a infra_core::plan::ResourceChange {
    let lp = plan.layers.iter().find(|l| l.layer == layer).expect("layer in plan");
    lp.changes.iter().find(|c| c.logical_id == id).expect("resource in plan")
}

#[test]
fn apply_records_every_layer_and_the_next_plan_is_empty() {
    let f = Fixture::new();
    let (plan, report) = f.plan_and_apply(PlanOptions::default());
    assert!(report.is_success(), "{report:?}");
    assert_eq!((report.added, plan.summary().add), (2, 2));
    assert_eq!(f.mem.objects().len(), 2);
    for layer in ["shared", "backend"] {
        let loaded = f.store(layer).load().expect("load");
        assert_eq!(loaded.state.resources.len(), 1, "{layer}");
        assert!(!f.store(layer).paths().journal.exists(), "{layer}: journal left behind");
    }
    // A first plan with the engine's own providers only, then one with the providers of
    // what it changes (asked once per type), which the apply uses too.
    let asked = f.asked.lock().expect("asked").clone();
    assert_eq!(asked, vec![Vec::<String>::new(), vec![THING.to_string()]]);

    let ws = f.open(Access::ReadOnly).expect("open");
    let (again, _) = ws.plan(PlanOptions::default()).expect("plan");
    assert!(!again.has_changes(), "{again:?}");
    assert!(f.notices().is_empty());
}

#[test]
fn a_changing_export_is_planned_again_as_unknown_for_its_importers() {
    let f = Fixture::new();
    f.plan_and_apply(PlanOptions::default());
    let seed = f.store("shared").load().expect("load").state.resources["Seed"].physical_id.clone();

    let ws = f.open(Access::ReadOnly).expect("open");
    let replace = PlanOptions { replace: vec!["Seed".to_string()], ..Default::default() };
    let (plan, _) = ws.plan(replace).expect("plan");
    assert!(matches!(change(&plan, "shared", "Seed").action, Action::Replace(_)), "{plan:?}");
    // The first round saw the recorded export and found nothing to do for App; the second
    // evaluated it with the export unknown.
    let app = change(&plan, "backend", "App");
    assert_eq!(app.action, Action::Update, "{app:?}");
    let after = app.after.as_ref().expect("after");
    assert!(!after.is_known(), "{after:?}");
    assert_ne!(after.to_json()["Input"], serde_json::json!(seed));

    // Without the replacement, one round is enough and App stays as it is.
    let (plain, _) = ws.plan(PlanOptions::default()).expect("plan");
    assert_eq!(change(&plain, "backend", "App").action, Action::NoOp);
}

#[test]
fn a_read_only_workspace_writes_nothing() {
    let f = Fixture::new();
    let ws = f.open(Access::ReadOnly).expect("open");
    let (plan, _) = ws.plan(PlanOptions::default()).expect("plan");
    assert!(plan.has_changes());
    drop(ws);
    assert!(f.state_files().is_empty(), "{:?}", f.state_files().keys().collect::<Vec<_>>());
    assert!(f.mem.mutations().is_empty());
}

#[test]
fn an_interrupted_apply_is_assessed_read_only_and_settled_with_write_access() {
    let f = Fixture::new();
    // The create of App takes effect, but its answer is lost: the intent stays open.
    f.mem.fail_after_effect("App", CallKind::Create, AfterEffect::AnswerLost);
    let (_, report) = f.plan_and_apply(PlanOptions::default());
    assert!(!report.is_success(), "{report:?}");
    f.mem.clear_failures();
    let open = f.store("backend").load().expect("load");
    assert_eq!(open.in_flight.len(), 1, "{open:?}");
    let before = f.state_files();

    // Read-only: assessed by reading, planned as if settled, nothing written.
    let mutations = f.mem.mutations().len();
    let ws = f.open(Access::ReadOnly).expect("open");
    assert_eq!(ws.settlements().len(), 1);
    assert!(matches!(ws.settlements()[0].resolution, Resolution::Adopted { .. }), "{:?}", ws.settlements());
    let (plan, _) = ws.plan(PlanOptions::default()).expect("plan");
    assert!(!plan.has_changes(), "{plan:?}");
    drop(ws);
    assert_eq!(f.state_files(), before, "a read-only workspace changed state");
    assert_eq!(f.mem.mutations().len(), mutations, "a read-only workspace made a mutating call");
    assert!(f.notices().is_empty());

    // A workspace that only locks another layer leaves it alone, and says so.
    let ws = f.open_locking(Access::Write, &["shared"]).expect("open");
    assert!(ws.settlements().is_empty());
    drop(ws);
    assert_eq!(f.notices(), vec!["left open in backend".to_string()]);
    assert_eq!(f.store("backend").load().expect("load").in_flight.len(), 1);

    // With write access it is settled and committed before anything is planned.
    let mut ws = f.open(Access::Write).expect("open");
    assert_eq!(ws.settlements().len(), 1);
    let notices = f.notices();
    assert!(notices.len() == 1 && notices[0].starts_with("recovered "), "{notices:?}");
    let settled = f.store("backend").load().expect("load");
    assert!(settled.in_flight.is_empty() && settled.state.resources.contains_key("App"), "{settled:?}");
    let (plan, _) = ws.plan(PlanOptions::default()).expect("plan");
    assert!(!plan.has_changes(), "{plan:?}");
    assert!(ws.tidy().is_ok());
    assert_eq!(f.mem.objects().len(), 2, "the resource was created twice");
}

#[test]
fn a_journal_of_completed_operations_is_written_into_state_only_by_a_command_that_goes_through() {
    let f = Fixture::new();
    let (_, report) = f.plan_and_apply(PlanOptions::default());
    assert!(report.is_success(), "{report:?}");
    // A destroy of App completed and was journaled, and the process died before its commit.
    let store = f.store("backend");
    let loaded = store.load().expect("load");
    let journal = store.journal_for(&loaded.state).expect("journal");
    let app = &loaded.state.resources["App"];
    let intent = Intent {
        logical_id: "App".to_string(),
        resource_type: THING.to_string(),
        action: IntentAction::Delete,
        physical_name: None,
        physical_id: Some(app.physical_id.clone()),
        token: "token-App".to_string(),
        request: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    runtime.block_on(journal.append(Entry::Intent(intent))).expect("intent");
    runtime.block_on(journal.append(Entry::Done { logical_id: "App".to_string(), record: None })).expect("done");
    drop(journal);
    let before = f.state_files();

    // With the credentials expired, the command fails, and every file is as it was.
    f.refuse.store(true, Ordering::SeqCst);
    let ws = f.open(Access::Write).expect("open");
    let Err(err) = ws.plan(PlanOptions::default()) else { panic!("the registry is refused") };
    let text = format!("{err:#}");
    assert!(text.contains("ExpiredToken") || format!("{err:?}").contains("ExpiredToken"), "{text}");
    drop(ws);
    assert_eq!(f.state_files(), before, "a failed command changed state or journal");

    // A command that goes through (here with nothing to do but re-create App) writes the
    // journal into the state file first, and leaves no journal behind.
    f.refuse.store(false, Ordering::SeqCst);
    let (plan, report) = f.plan_and_apply(PlanOptions::default());
    assert!(report.is_success(), "{report:?}");
    assert_eq!(change(&plan, "backend", "App").action, Action::Create, "{plan:?}");
    assert!(!store.paths().journal.exists());
    assert!(store.load().expect("load").state.resources.contains_key("App"));
}

#[test]
fn a_locked_layer_is_refused_to_a_second_workspace() {
    let f = Fixture::new();
    let _first = f.open(Access::Write).expect("open");
    let second = f.open(Access::ReadOnly);
    assert!(matches!(second, Err(WorkspaceError::State(_))), "{:?}", second.err());
    let unknown = f.open_locking(Access::ReadOnly, &["frontend"]);
    let message = unknown.err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(message, "find layer `frontend`: the project's layers are shared, backend");
}

#[test]
fn destroy_removes_every_resource_highest_layer_first() {
    let f = Fixture::new();
    f.plan_and_apply(PlanOptions::default());
    let (plan, report) = f.plan_and_apply(PlanOptions { destroy: true, ..Default::default() });
    assert!(report.is_success(), "{report:?}");
    assert!(plan.destroy);
    let order: Vec<&str> = plan.layers.iter().map(|l| l.layer.as_str()).collect();
    assert_eq!(order, ["backend", "shared"]);
    assert_eq!(report.destroyed, 2);
    assert!(f.mem.objects().is_empty());
    for layer in ["shared", "backend"] {
        assert!(f.store(layer).load().expect("load").state.resources.is_empty(), "{layer}");
    }
}

#[test]
fn templates_that_do_not_evaluate_are_reported_with_their_diagnostics() {
    let f = Fixture::new();
    std::fs::write(f.dir.path().join("stacks/backend/app.yaml"), BACKEND.replace("demo-seed", "nobody-exports-this"))
        .expect("write");
    let ws = f.open(Access::ReadOnly).expect("open");
    match ws.plan(PlanOptions::default()) {
        Err(WorkspaceError::Evaluate { env, diagnostics }) => {
            assert_eq!(env, "dev");
            assert!(!diagnostics.is_empty());
        }
        other => panic!("expected diagnostics, got {:?}", other.map(|(p, _)| p)),
    }
}

#[test]
fn a_saved_plan_is_the_json_plan_and_reads_back_exactly() {
    let f = Fixture::new();
    f.plan_and_apply(PlanOptions::default());
    let mut ws = f.open(Access::Write).expect("open");
    let replace = PlanOptions { replace: vec!["Seed".to_string()], ..Default::default() };
    let (plan, registry) = ws.plan(replace).expect("plan");

    // The file is what `--format json` prints, so files saved by earlier builds still read.
    let text = saved::encode(&plan);
    let json = serde_json::to_string_pretty(&render::plan::json(&plan)).expect("json") + "\n";
    assert_eq!(text, json);
    let path = f.dir.path().join("plan.json");
    saved::write(&path, &plan).expect("write");
    let back = saved::read(&path).expect("read");
    assert_eq!(back, plan);

    // It applies while nothing has moved on, and only once.
    ws.adopt(&back).expect("fresh");
    let report = ws.apply(&back, &registry, 4, Arc::new(Silent)).expect("apply");
    assert!(report.is_success(), "{report:?}");
    drop(ws);
    let mut ws = f.open(Access::Write).expect("open");
    let stale = ws.adopt(&back);
    assert!(stale.is_err(), "a saved plan applied twice");
}

#[test]
fn a_saved_plan_of_another_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plan.json");
    std::fs::write(&path, r#"{"format_version": 7, "project": "demo"}"#).expect("write");
    let err = saved::read(&path).expect_err("version 7");
    assert!(matches!(err, saved::SavedPlanError::Version { version: 7, .. }), "{err:?}");
    std::fs::write(&path, "not json").expect("write");
    let err = saved::read(&path).expect_err("not json");
    assert!(matches!(err, saved::SavedPlanError::NotAPlan { .. }), "{err:?}");
    let err = saved::read(&dir.path().join("missing.json")).expect_err("missing");
    assert!(matches!(err, saved::SavedPlanError::Read { .. }), "{err:?}");
}

#[test]
fn a_state_scope_forgets_resources_without_touching_them() {
    let f = Fixture::new();
    f.plan_and_apply(PlanOptions::default());
    let (project, diags) = Project::read(f.dir.path());
    let scope = StateScope::new(&project, diags, None).expect("scope");
    assert_eq!(scope.env(), "dev");
    assert_eq!(scope.selected(None).expect("layers"), ["shared", "backend"]);
    let unknown = scope.parse_address("frontnd.App").expect_err("unknown layer").to_string();
    assert_eq!(unknown, "find layer `frontnd`: the project's layers are shared, backend");
    assert!(matches!(scope.parse_address("App"), Err(ScopeError::BadAddress(_))));

    let (layer, id) = scope.parse_address("backend.Ap").expect("address");
    let loaded = scope.load(layer).expect("load");
    let typo = scope.find(layer, id, &loaded).expect_err("typo").to_string();
    assert_eq!(typo, "find backend.Ap in state (env dev): no such resource; did you mean backend.App?");

    let serial = loaded.state.serial;
    let removed = scope.remove("backend", &["App"], Duration::ZERO).expect("remove");
    assert_eq!(removed.records.len(), 1);
    assert!(removed.dangling.is_empty());
    let after = scope.load("backend").expect("load");
    assert!(after.state.resources.is_empty());
    assert_eq!(after.state.serial, serial + 1);
    assert_eq!(f.mem.objects().len(), 2, "forgetting deleted a resource");

    // A held lock is found by its ID and removed only by it.
    let _held = f.store("shared").lock("test", Duration::ZERO).expect("lock");
    assert!(matches!(scope.find_lock("no-such-id"), Err(ScopeError::NoSuchLock { .. })));
    assert!(matches!(scope.remove("shared", &["Seed"], Duration::ZERO), Err(ScopeError::State(_))));
}
