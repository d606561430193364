//! Planner, walker, destroy and recovery against the strict in-memory provider.

use infra_core::apply::recover::{assess, settle, OpenIntent, RecoverError, Resolution, Settlement};
use infra_core::apply::{
    ApplyOptions, ApplyReport, Intent, IntentAction, IntentRequest, Interrupt, MemoryRecorder, Placement,
    RecordedEntry, Silent, Walker,
};
use infra_core::plan::{self, Action, ActionReason, Plan, PlanError, PlanInput, PlanOptions, ReplaceOrder, StalePlan};
use infra_core::provider::local::LocalProvider;
use infra_core::provider::memory::{AfterEffect, CallKind, MemoryProvider, Object};
use infra_core::provider::Registry;
use infra_core::source::Span;
use infra_core::state::{DeletionPolicy, State};
use infra_core::template::{DesiredOutput, DesiredResource, DesiredStack};
use infra_core::value::Value;
use serde_json::{json, Value as J};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const THING: &str = "Test::Thing";
const NAMED: &str = "Test::Named";

/// One resource of a test template: `(logical ID, type, properties)`; references in the
/// properties become dependencies, as template evaluation makes them.
type Res<'a> = (&'a str, &'a str, J);

fn resource(id: &str, ty: &str, props: J) -> DesiredResource {
    let properties = Value::from_json(&props);
    DesiredResource {
        logical_id: id.to_string(),
        resource_type: ty.to_string(),
        depends_on: properties.references(),
        properties,
        deletion_policy: DeletionPolicy::Delete,
        update_replace_policy: DeletionPolicy::Delete,
        metadata: serde_json::Value::Null,
        span: Span::synthetic(),
    }
}

fn stack(layer: &str, resources: &[Res<'_>]) -> DesiredStack {
    let mut s = DesiredStack { layer: layer.to_string(), ..Default::default() };
    for (id, ty, props) in resources {
        s.resources.insert(id.to_string(), resource(id, ty, props.clone()));
    }
    s
}

struct Fixture {
    mem: Arc<MemoryProvider>,
    registry: Registry,
    states: BTreeMap<String, State>,
    exports: BTreeMap<String, Value>,
    recorder: Arc<MemoryRecorder>,
    parallelism: usize,
}

impl Fixture {
    fn new() -> Self {
        Self::with(
            MemoryProvider::new(&[THING, NAMED])
                .with_create_only(THING, &["Kind"])
                .with_create_only(NAMED, &["Name", "Kind"])
                .with_name_property(NAMED, "Name"),
        )
    }

    fn with(mem: MemoryProvider) -> Self {
        let mem = Arc::new(mem);
        let mut registry = Registry::new();
        registry.register(mem.clone()).expect("one provider per type");
        registry.register(Arc::new(LocalProvider::new())).expect("one provider per type");
        Fixture {
            mem,
            registry,
            states: BTreeMap::new(),
            exports: BTreeMap::new(),
            recorder: Arc::new(MemoryRecorder::default()),
            parallelism: 10,
        }
    }

    fn try_plan(&self, stacks: &[DesiredStack], options: PlanOptions) -> Result<Plan, PlanError> {
        let exports = plan::exports_of(self.states.values());
        let no_schema = |_: &str| None;
        let p = plan::plan(&PlanInput {
            project: "proj",
            env: "dev",
            stacks,
            states: &self.states,
            exports: &exports,
            registry: &self.registry,
            create_only: &no_schema,
            options,
            fingerprint: "fp".to_string(),
        })?;
        p.check_providers(&self.registry)?;
        Ok(p)
    }

    fn plan(&self, stacks: &[DesiredStack], options: PlanOptions) -> Plan {
        match self.try_plan(stacks, options) {
            Ok(p) => p,
            Err(e) => panic!("plan failed: {e}"),
        }
    }

    async fn apply(&mut self, plan: &Plan) -> ApplyReport {
        let walker = Walker {
            registry: &self.registry,
            recorder: self.recorder.clone(),
            reporter: Arc::new(Silent),
            interrupt: Arc::new(Interrupt::new()),
            options: ApplyOptions { parallelism: self.parallelism, ..Default::default() },
        };
        self.exports = plan::exports_of(self.states.values());
        walker.apply(plan, &mut self.states, &mut self.exports).await
    }

    /// Assess the open intents (reading only), then settle them.
    async fn recover(&mut self, open: &[OpenIntent]) -> Result<Vec<Settlement>, RecoverError> {
        let settlements = assess(open, "proj", "dev", &Placement::default(), &self.states, &self.registry).await?;
        settle(&settlements, "proj", "dev", &mut self.states, &self.registry, self.recorder.as_ref()).await?;
        Ok(settlements)
    }

    /// Plan and apply everything; the run must succeed.
    async fn converge(&mut self, stacks: &[DesiredStack]) -> Plan {
        let p = self.plan(stacks, PlanOptions::default());
        let r = self.apply(&p).await;
        assert!(r.is_success(), "apply failed: {r:?}");
        p
    }

    fn state(&self, layer: &str) -> &State {
        &self.states[layer]
    }

    fn record_props(&self, layer: &str, id: &str) -> J {
        self.state(layer).resources[id].properties.clone()
    }
}

/// `Id:action` for every planned change, `:detail` for replacements' order.
fn actions(p: &Plan) -> Vec<String> {
    p.layers
        .iter()
        .flat_map(|l| &l.changes)
        .map(|c| {
            let a = match &c.action {
                Action::NoOp => "noop",
                Action::Create => "create",
                Action::Update => "update",
                Action::Replace(ReplaceOrder::DeleteBeforeCreate { .. }) => "replace(delete-first)",
                Action::Replace(ReplaceOrder::CreateBeforeDelete) => "replace",
                Action::Delete => "delete",
                Action::Forget => "forget",
            };
            format!("{}:{a}", c.logical_id)
        })
        .collect()
}

/// Apply `before`, then plan `after` with `options`; compare the planned actions.
fn check(before: &[Res<'_>], after: &[Res<'_>], options: PlanOptions, expected: &[&str]) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut f = Fixture::new();
        f.converge(&[stack("app", before)]).await;
        let p = f.plan(&[stack("app", after)], options);
        assert_eq!(actions(&p), expected, "before {before:?}\nafter {after:?}");
    });
}

fn replace(id: &str) -> PlanOptions {
    PlanOptions { replace: vec![id.to_string()], ..Default::default() }
}

fn target(id: &str) -> PlanOptions {
    PlanOptions { targets: vec![id.to_string()], ..Default::default() }
}

fn exclude(id: &str) -> PlanOptions {
    PlanOptions { excludes: vec![id.to_string()], ..Default::default() }
}

#[test]
fn planned_actions() {
    let none = PlanOptions::default;
    let a = |p: J| ("A", THING, p);
    check(&[], &[a(json!({"V": 1}))], none(), &["A:create"]);
    check(&[a(json!({"V": 1}))], &[a(json!({"V": 1}))], none(), &["A:noop"]);
    check(&[a(json!({"V": 1}))], &[a(json!({"V": 2}))], none(), &["A:update"]);
    check(&[a(json!({"V": 1}))], &[a(json!({}))], none(), &["A:update"]);
    check(&[a(json!({"V": 1}))], &[a(json!({"V": "1"}))], none(), &["A:noop"]);
    check(&[a(json!({"Kind": "x"}))], &[a(json!({"Kind": "y"}))], none(), &["A:replace"]);
    check(&[a(json!({"V": 1}))], &[a(json!({"V": 1}))], replace("A"), &["A:replace"]);
    check(&[a(json!({"V": 1}))], &[], none(), &["A:delete"]);
    // A policy document as a string is the same as the object.
    check(
        &[a(json!({"Doc": {"Version": "2012-10-17", "Statement": []}}))],
        &[a(json!({"Doc": "{\"Statement\": [], \"Version\": \"2012-10-17\"}"}))],
        none(),
        &["A:noop"],
    );
    // A fixed name that stays the same cannot exist twice: delete first.
    let n = |p: J| ("N", NAMED, p);
    check(
        &[n(json!({"Name": "n1", "Kind": "a"}))],
        &[n(json!({"Name": "n1", "Kind": "b"}))],
        none(),
        &["N:replace(delete-first)"],
    );
    check(&[n(json!({"Name": "n1", "Kind": "a"}))], &[n(json!({"Name": "n2", "Kind": "a"}))], none(), &["N:replace"]);
    // Unknown input into a create-only property replaces; into another property updates.
    check(
        &[("P", THING, json!({"V": 1})), ("C", THING, json!({"Kind": {"Ref": "P"}}))],
        &[("P", THING, json!({"Kind": "new"})), ("C", THING, json!({"Kind": {"Ref": "P"}}))],
        none(),
        &["P:replace", "C:replace"],
    );
    check(
        &[("P", THING, json!({"V": 1})), ("C", THING, json!({"V": {"Ref": "P"}}))],
        &[("P", THING, json!({"Kind": "new"})), ("C", THING, json!({"V": {"Ref": "P"}}))],
        none(),
        &["P:replace", "C:update"],
    );
    // An in-place update keeps Ref known, so dependents stay unchanged.
    check(
        &[("P", THING, json!({"V": 1})), ("C", THING, json!({"V": {"Ref": "P"}}))],
        &[("P", THING, json!({"V": 2})), ("C", THING, json!({"V": {"Ref": "P"}}))],
        none(),
        &["P:update", "C:noop"],
    );
    // Selection: --target takes dependencies along, --exclude takes dependents along.
    let three =
        [("A", THING, json!({"V": 1})), ("B", THING, json!({"V": {"Ref": "A"}})), ("C", THING, json!({"V": 3}))];
    check(&[], &three, target("B"), &["A:create", "B:create"]);
    check(&[], &three, target("A"), &["A:create"]);
    check(&[], &three, exclude("A"), &["C:create"]);
    check(&three, &[], target("C"), &["C:delete"]);
}

#[test]
fn retain_policies() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut f = Fixture::new();
        let mut s = stack("app", &[("A", THING, json!({"Kind": "a"})), ("K", THING, json!({"V": 1}))]);
        s.resources["A"].update_replace_policy = DeletionPolicy::Retain;
        s.resources["K"].deletion_policy = DeletionPolicy::Retain;
        f.converge(&[s.clone()]).await;
        let old_a = f.state("app").resources["A"].physical_id.clone();

        // Replacing A keeps the old object; removing K only forgets it.
        s.resources.shift_remove("K");
        s.resources["A"] = {
            let mut r = resource("A", THING, json!({"Kind": "b"}));
            r.update_replace_policy = DeletionPolicy::Retain;
            r
        };
        let p = f.plan(&[s], PlanOptions::default());
        assert_eq!(actions(&p), ["A:replace", "K:forget"]);
        assert_eq!(p.layers[0].changes[1].reason, ActionReason::Retained);
        let r = f.apply(&p).await;
        assert!(r.is_success(), "{r:?}");
        assert_eq!(f.mem.objects().len(), 3, "old A and K stay in the provider");
        assert!(f.mem.objects().contains_key(&old_a));
        assert_eq!(f.state("app").resources.keys().collect::<Vec<_>>(), ["A"]);
        assert_eq!((r.added, r.destroyed, r.forgotten), (1, 0, 1));
        assert!(!f.mem.mutations().iter().any(|(k, _)| *k == CallKind::Delete));
    });
}

#[tokio::test]
async fn known_after_apply_is_resolved_during_apply() {
    let mut f = Fixture::new();
    let s = stack(
        "app",
        &[
            ("Role", NAMED, json!({"Name": "role-1"})),
            (
                "Fn",
                THING,
                json!({"RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "Label": {"Fn::Join": ["-", [{"Ref": "Role"}, "x"]]}}),
            ),
        ],
    );
    let p = f.plan(std::slice::from_ref(&s), PlanOptions::default());
    let text = infra_core::render::plan::human(&p, false);
    assert!(text.contains("RoleArn = (known after apply)"), "{text}");
    let r = f.apply(&p).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(f.record_props("app", "Fn"), json!({"RoleArn": "arn:memory:Test::Named:role-1", "Label": "role-1-x"}));
    // Everything is now known and unchanged.
    let again = f.plan(&[s], PlanOptions::default());
    assert!(!again.has_changes(), "{:?}", actions(&again));
}

#[tokio::test]
async fn lists_known_after_apply_are_resolved_during_apply() {
    // The memory provider reports a resource's properties as its attributes.
    let template = "\
Parameters:
  Env: {Type: String, Default: dev}
Conditions:
  IsDev: !Equals [!Ref Env, dev]
Resources:
  Net:
    Type: Test::Thing
    Properties:
      Cidrs: [10.0.0.0/16, 10.1.0.0/16]
      Csv: a,b,c
  Fn:
    Type: Test::Thing
    Properties:
      Joined: !Join [\",\", !GetAtt Net.Cidrs]
      Parts: !Join [\"-\", !Split [\",\", !GetAtt Net.Csv]]
      First: !Select [0, !GetAtt Net.Cidrs]
      Label: !Sub [\"${Head}@${AWS::Region}\", {Head: !Join [\"+\", !If [IsDev, !GetAtt Net.Cidrs, []]]}]
";
    let (ev, diags) = crate::eval::eval_yaml(template, &[]);
    assert!(diags.is_empty(), "{diags:?}");
    let s = ev.stack;
    let mut f = Fixture::new();
    let p = f.plan(std::slice::from_ref(&s), PlanOptions::default());
    let text = infra_core::render::plan::human(&p, false);
    for key in ["Joined", "Parts", "First", "Label"] {
        assert!(text.contains(&format!("{key} = (known after apply)")), "{key}: {text}");
    }
    let r = f.apply(&p).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(
        f.record_props("backend", "Fn"),
        json!({
            "Joined": "10.0.0.0/16,10.1.0.0/16",
            "Parts": "a-b-c",
            "First": "10.0.0.0/16",
            "Label": "10.0.0.0/16+10.1.0.0/16@eu-west-1"
        })
    );
    let again = f.plan(&[s], PlanOptions::default());
    assert!(!again.has_changes(), "{:?}", actions(&again));
}

#[tokio::test]
async fn a_function_refusing_values_known_after_apply_fails_its_resource() {
    let template = "\
Resources:
  Net:
    Type: Test::Thing
    Properties:
      Cidrs: [10.0.0.0/16, 10.1.0.0/16]
  Fn:
    Type: Test::Thing
    Properties:
      Third: !Select [2, !GetAtt Net.Cidrs]
";
    let (ev, diags) = crate::eval::eval_yaml(template, &[]);
    assert!(diags.is_empty(), "{diags:?}");
    let mut f = Fixture::new();
    let p = f.plan(&[ev.stack], PlanOptions::default());
    let text = infra_core::render::plan::human(&p, false);
    assert!(text.contains("Third = (known after apply)"), "{text}");
    let r = f.apply(&p).await;
    assert_eq!(r.added, 1, "{r:?}");
    assert_eq!(r.failures.len(), 1, "{r:?}");
    assert_eq!(r.failures[0].logical_id, "Fn");
    assert_eq!(
        r.failures[0].message,
        "its properties cannot be resolved: index 2 of `Fn::Select` is out of range for a list of 2 items"
    );
    assert_eq!(f.state("backend").resources.keys().collect::<Vec<_>>(), ["Net"]);
}

#[tokio::test]
async fn create_before_delete_repoints_dependents_first() {
    let mut f = Fixture::new();
    let before = [("P", THING, json!({"Kind": "a"})), ("C", THING, json!({"V": {"Ref": "P"}}))];
    f.converge(&[stack("app", &before)]).await;
    let old_p = f.state("app").resources["P"].physical_id.clone();
    let after = [("P", THING, json!({"Kind": "b"})), ("C", THING, json!({"V": {"Ref": "P"}}))];
    let p = f.plan(&[stack("app", &after)], PlanOptions::default());
    assert_eq!(p.layers[0].changes[0].reason, ActionReason::ReplaceBecause { properties: vec!["Kind".to_string()] });
    let mem_before = f.mem.mutations().len();
    let r = f.apply(&p).await;
    assert!(r.is_success(), "{r:?}");
    let calls: Vec<(CallKind, String)> = f.mem.mutations().split_off(mem_before);
    assert_eq!(
        calls,
        [(CallKind::Create, "P".to_string()), (CallKind::Update, "C".to_string()), (CallKind::Delete, "P".to_string())]
    );
    assert!(!f.mem.objects().contains_key(&old_p));
    let new_p = f.state("app").resources["P"].physical_id.clone();
    assert_eq!(f.record_props("app", "C"), json!({"V": new_p}));
    assert_eq!(f.state("app").resources.len(), 2, "no deposed record is left");
}

#[tokio::test]
async fn fixed_name_replacement_deletes_first() {
    let mut f = Fixture::new();
    f.converge(&[stack("app", &[("N", NAMED, json!({"Name": "n1", "Kind": "a"}))])]).await;
    let p = f.plan(&[stack("app", &[("N", NAMED, json!({"Name": "n1", "Kind": "b"}))])], PlanOptions::default());
    assert_eq!(
        p.layers[0].changes[0].action,
        Action::Replace(ReplaceOrder::DeleteBeforeCreate { properties: vec!["Name".to_string()] })
    );
    let text = infra_core::render::plan::human(&p, false);
    assert!(text.contains("# N must be replaced (destroy before create: Name fixes the name)"), "{text}");
    assert!(text.contains("Kind = \"a\" → \"b\" # forces replacement"), "{text}");
    let r = f.apply(&p).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(f.mem.mutations()[1..], [(CallKind::Delete, "N".to_string()), (CallKind::Create, "N".to_string())]);
    assert_eq!(f.mem.objects()["n1"].properties, json!({"Name": "n1", "Kind": "b"}));
}

/// Saved plans and `plan --format json` name the action and write a replacement's order
/// beside it, as they always have; a replacement saved without an order runs create-first.
#[tokio::test]
async fn a_replacement_is_written_with_its_order_beside_the_action() {
    let mut f = Fixture::new();
    f.converge(&[stack("app", &[("N", NAMED, json!({"Name": "n1", "Kind": "a"})), ("T", THING, json!({"V": 1}))])])
        .await;
    let p = f.plan(
        &[stack("app", &[("N", NAMED, json!({"Name": "n1", "Kind": "b"})), ("T", THING, json!({"V": 2}))])],
        PlanOptions::default(),
    );
    let json = p.to_json();
    let changes = &json["layers"][0]["changes"];
    assert_eq!(changes[0]["action"], json!("replace"));
    assert_eq!(changes[0]["replace_order"], json!({"kind": "delete_before_create", "properties": ["Name"]}));
    assert_eq!(changes[1]["action"], json!("update"));
    assert!(changes[1].get("replace_order").is_none(), "{changes}");
    // A saved plan written before replacements carried their order reads as create-before-delete.
    let mut old = json.clone();
    if let Some(o) = old["layers"][0]["changes"][0].as_object_mut() {
        o.remove("replace_order");
    }
    let back =
        plan::saved::decode(&old.to_string(), std::path::Path::new("plan.json")).expect("a change without an order");
    assert_eq!(back.layers[0].changes[0].action, Action::Replace(ReplaceOrder::CreateBeforeDelete));
}

#[tokio::test]
async fn failure_skips_dependents_and_keeps_independent_work() {
    let mut f = Fixture::new();
    f.mem.fail("A", CallKind::Create, "quota exceeded");
    let s = stack(
        "app",
        &[
            ("A", THING, json!({"V": 1})),
            ("B", THING, json!({"V": {"Ref": "A"}})),
            ("D", THING, json!({"V": {"Ref": "B"}})),
            ("C", THING, json!({"V": 3})),
        ],
    );
    let p = f.plan(std::slice::from_ref(&s), PlanOptions::default());
    let r = f.apply(&p).await;
    assert!(!r.is_success());
    assert_eq!(r.failures.len(), 1);
    let failure = r.failures[0].to_string();
    assert!(failure.contains("create app.A") && failure.contains("quota exceeded"), "{failure}");
    assert_eq!(r.skipped, ["app.B", "app.D"]);
    assert_eq!(r.added, 1);
    assert_eq!(f.state("app").resources.keys().collect::<Vec<_>>(), ["C"]);
    // Every intent is closed by a done record.
    let entries = f.recorder.entries();
    let intents = entries.iter().filter(|e| matches!(e, RecordedEntry::Intent(..))).count();
    let dones = entries.iter().filter(|e| matches!(e, RecordedEntry::Done(..))).count();
    assert_eq!((intents, dones), (2, 2));

    // The next run picks up where this one stopped.
    f.mem.clear_failures();
    let p = f.plan(&[s], PlanOptions::default());
    assert_eq!(actions(&p), ["A:create", "B:create", "D:create", "C:noop"]);
    assert!(f.apply(&p).await.is_success());
}

#[tokio::test]
async fn destroy_runs_in_reverse_and_honours_retain() {
    let mut f = Fixture::new();
    let mut s = stack(
        "app",
        &[
            ("A", THING, json!({"V": 1})),
            ("B", THING, json!({"V": {"Ref": "A"}})),
            ("C", THING, json!({"V": {"Ref": "B"}})),
            ("K", THING, json!({})),
        ],
    );
    s.resources["K"].deletion_policy = DeletionPolicy::Retain;
    f.converge(&[s.clone()]).await;
    let p = f.plan(&[s], PlanOptions { destroy: true, ..Default::default() });
    let text = infra_core::render::plan::human(&p, false);
    assert!(text.contains("Plan: 3 to destroy, 1 to forget."), "{text}");
    let r = f.apply(&p).await;
    assert!(r.is_success(), "{r:?}");
    let deletes: Vec<String> =
        f.mem.mutations().into_iter().filter(|(k, _)| *k == CallKind::Delete).map(|(_, id)| id).collect();
    assert_eq!(deletes, ["C", "B", "A"]);
    assert!(f.state("app").resources.is_empty());
    assert_eq!(f.mem.objects().len(), 1, "K is retained");
}

#[tokio::test]
async fn destroy_refuses_while_an_export_is_imported() {
    let mut f = Fixture::new();
    let mut network = stack("network", &[("Vpc", THING, json!({"Cidr": "10.0.0.0/16"}))]);
    network.outputs.insert(
        "VpcId".to_string(),
        DesiredOutput {
            value: Value::from_json(&json!({"Ref": "Vpc"})),
            description: None,
            export_name: Some(Value::String("net-VpcId".to_string())),
        },
    );
    let mut backend = stack("backend", &[("Svc", THING, json!({"Vpc": {"Fn::ImportValue": "net-VpcId"}}))]);
    backend.imports.insert("net-VpcId".to_string());
    let stacks = [network, backend];
    f.converge(&stacks).await;
    let vpc = f.state("network").resources["Vpc"].physical_id.clone();
    assert_eq!(f.record_props("backend", "Svc"), json!({"Vpc": vpc}), "the import resolved during apply");

    let err =
        f.try_plan(&stacks, PlanOptions { destroy: true, layers: vec!["network".to_string()], ..Default::default() });
    match err {
        Err(e @ PlanError::ExportInUse { .. }) => {
            assert_eq!(e.to_string(), "export `net-VpcId` of layer network is still imported by layer backend")
        }
        other => panic!("expected export in use, got {other:?}"),
    }
    // Destroying both works, backend first.
    let p = f.plan(&stacks, PlanOptions { destroy: true, ..Default::default() });
    assert_eq!(p.layers.iter().map(|l| l.layer.as_str()).collect::<Vec<_>>(), ["backend", "network"]);
    assert!(f.apply(&p).await.is_success());
    assert!(f.mem.objects().is_empty());
}

#[tokio::test]
async fn resume_settles_open_intents() {
    let mut f = Fixture::new();
    // A crashed run left: a create that happened (N1), one that did not (N2), and a delete
    // that did not finish (T).
    f.converge(&[stack("app", &[("T", THING, json!({"V": 1}))])]).await;
    let t_id = f.state("app").resources["T"].physical_id.clone();
    f.mem.insert(
        "n1",
        Object {
            resource_type: NAMED.to_string(),
            logical_id: "N1".to_string(),
            properties: json!({"Name": "n1"}),
            token: None,
        },
    );
    let intent = |id: &str, action, name: Option<&str>, pid: Option<&str>| OpenIntent {
        layer: "app".to_string(),
        intent: Intent {
            logical_id: id.to_string(),
            resource_type: if id == "T" { THING } else { NAMED }.to_string(),
            action,
            physical_name: name.map(str::to_string),
            physical_id: pid.map(str::to_string),
            token: "t".to_string(),
            request: Some(request(json!({"Name": id.to_lowercase()}))),
        },
    };
    let open = [
        intent("N1", IntentAction::Create, Some("n1"), None),
        intent("N2", IntentAction::Create, Some("n2"), None),
        intent("T", IntentAction::Delete, None, Some(&t_id)),
    ];
    let stacks = [stack("app", &[("N1", NAMED, json!({"Name": "n1"})), ("N2", NAMED, json!({"Name": "n2"}))])];
    let recovered = f.recover(&open).await.expect("recover");
    let resolutions: Vec<Resolution> = recovered.into_iter().map(|r| r.resolution).collect();
    assert_eq!(
        resolutions,
        [Resolution::Adopted { physical_id: "n1".to_string() }, Resolution::NotCreated, Resolution::DeleteFinished]
    );
    assert_eq!(f.state("app").resources.keys().collect::<Vec<_>>(), ["N1"]);
    assert!(!f.mem.objects().contains_key(&t_id));
    // Every intent got its done record.
    let dones = f.recorder.entries().iter().filter(|e| matches!(e, RecordedEntry::Done(..))).count();
    assert_eq!(dones, 1 + 3, "one from the first apply, one per settled intent");
    // Planning now creates only what never happened: no double create for the strict provider.
    let p = f.converge(&stacks).await;
    assert_eq!(actions(&p), ["N1:noop", "N2:create"]);
}

/// What an intent of the walker records about its request, for hand-made intents.
fn request(properties: J) -> IntentRequest {
    IntentRequest {
        properties,
        account: None,
        region: None,
        depends_on: Vec::new(),
        deletion_policy: DeletionPolicy::Delete,
        update_replace_policy: DeletionPolicy::Delete,
        metadata: serde_json::Value::Null,
    }
}

#[tokio::test]
async fn saved_plan_is_refused_when_stale() {
    let mut f = Fixture::new();
    let s = [stack("app", &[("A", THING, json!({"V": 1}))])];
    let p = f.plan(&s, PlanOptions::default());
    assert_eq!(p.check_fresh("dev", "fp", &f.states), Ok(()));
    assert_eq!(p.check_fresh("dev", "other", &f.states), Err(StalePlan::Fingerprint));
    assert!(matches!(p.check_fresh("prod", "fp", &f.states), Err(StalePlan::Environment { .. })));
    f.converge(&s).await;
    // The store bumps the serial when it commits; a plan made before that is stale.
    let bump = |f: &mut Fixture| f.states.get_mut("app").into_iter().for_each(|st| st.serial += 1);
    bump(&mut f);
    assert!(matches!(p.check_fresh("dev", "fp", &f.states), Err(StalePlan::Lineage { .. })));
    let p = f.plan(&[stack("app", &[("A", THING, json!({"V": 2}))])], PlanOptions::default());
    assert_eq!(p.check_fresh("dev", "fp", &f.states), Ok(()));
    bump(&mut f);
    assert!(matches!(p.check_fresh("dev", "fp", &f.states), Err(StalePlan::Serial { expected: 1, found: 2, .. })));
    f.states.insert("app".to_string(), State::new());
    assert!(matches!(p.check_fresh("dev", "fp", &f.states), Err(StalePlan::Lineage { .. })));

    // A saved plan survives a JSON round trip exactly.
    let text = plan::saved::encode(&p);
    let back: Plan = plan::saved::decode(&text, std::path::Path::new("plan.json")).expect("deserialize");
    assert_eq!(back, p);
}

/// On paused time: the delays end only once every operation that can start has started, so
/// the most that ran at once is the bound itself, however fast the machine.
#[tokio::test(start_paused = true)]
async fn parallelism_is_bounded_globally_and_per_provider() {
    for (global, per_provider, expected_max) in [(3, 10, 3), (10, 2, 2)] {
        let mem = MemoryProvider::new(&[THING]).with_concurrency(per_provider);
        let mut f = Fixture::with(mem);
        f.parallelism = global;
        let ids: Vec<String> = (0..12).map(|i| format!("R{i}")).collect();
        for id in &ids {
            f.mem.delay(id, Duration::from_millis(20));
        }
        let res: Vec<Res<'_>> = ids.iter().map(|id| (id.as_str(), THING, json!({}))).collect();
        f.converge(&[stack("app", &res)]).await;
        assert_eq!(f.mem.max_concurrent(), expected_max);
    }
}

/// Head of line: a slow provider that runs one operation at a time has many steps ready first,
/// a fast one has as many after them, and two operations may run at once overall. Steps
/// waiting for the slow provider hold no global permit, so the fast ones run beside the slow
/// one and all finish before it. On paused time, so the order is fixed whatever the machine.
#[tokio::test(start_paused = true)]
async fn steps_waiting_on_a_saturated_provider_do_not_hold_up_the_others() {
    const SLOW: &str = "Test::Slow";
    const FAST: &str = "Test::Fast";
    let slow = Arc::new(MemoryProvider::new(&[SLOW]).with_name("slow").with_concurrency(1));
    let fast = Arc::new(MemoryProvider::new(&[FAST]).with_name("fast").with_concurrency(10));
    let mut registry = Registry::new();
    registry.register(slow.clone()).expect("one provider per type");
    registry.register(fast.clone()).expect("one provider per type");
    // Planned in logical-ID order: every slow step (A…) is ready before every fast one (B…).
    let slow_ids: Vec<String> = (0..6).map(|i| format!("A{i}")).collect();
    let fast_ids: Vec<String> = (0..6).map(|i| format!("B{i}")).collect();
    for id in &slow_ids {
        slow.delay(id, Duration::from_millis(100));
    }
    for id in &fast_ids {
        fast.delay(id, Duration::from_millis(10));
    }
    let mut res: Vec<Res<'_>> = slow_ids.iter().map(|id| (id.as_str(), SLOW, json!({}))).collect();
    res.extend(fast_ids.iter().map(|id| (id.as_str(), FAST, json!({}))));
    let stacks = [stack("app", &res)];
    let no_schema = |_: &str| None;
    let states = BTreeMap::new();
    let exports = BTreeMap::new();
    let p = plan::plan(&PlanInput {
        project: "proj",
        env: "dev",
        stacks: &stacks,
        states: &states,
        exports: &exports,
        registry: &registry,
        create_only: &no_schema,
        options: PlanOptions::default(),
        fingerprint: "fp".to_string(),
    })
    .expect("plan");
    let events = Arc::new(infra_core::apply::CollectEvents::default());
    let walker = Walker {
        registry: &registry,
        recorder: Arc::new(MemoryRecorder::default()),
        reporter: events.clone(),
        interrupt: Arc::new(Interrupt::new()),
        options: ApplyOptions { parallelism: 2, ..Default::default() },
    };
    let (mut states, mut exports) = (states, exports);
    let r = walker.apply(&p, &mut states, &mut exports).await;
    assert!(r.is_success() && r.added == 12, "{r:?}");
    assert_eq!(slow.max_concurrent(), 1);
    let finished: Vec<String> = events
        .0
        .lock()
        .expect("events")
        .iter()
        .filter_map(|e| match e {
            infra_core::apply::Event::Finished { subject, .. } => Some(subject.logical_id.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = fast_ids.iter().chain(&slow_ids).cloned().collect();
    assert_eq!(finished, expected, "every fast step finishes before the slow ones");
}

/// The walker refuses a plan whose steps wait for each other, naming the cycle the way every
/// dependency cycle is named, instead of waiting forever.
#[tokio::test]
async fn a_plan_whose_steps_form_a_cycle_is_refused_with_its_path() {
    let mut f = Fixture::new();
    let mut p = f.plan(&[stack("app", &[("A", THING, json!({})), ("B", THING, json!({}))])], PlanOptions::default());
    p.layers[0].changes[0].depends_on = vec!["B".to_string()];
    p.layers[0].changes[1].depends_on = vec!["A".to_string()];
    let r = f.apply(&p).await;
    assert!(!r.is_success() && r.added == 0, "{r:?}");
    assert_eq!(r.failures.len(), 1, "{r:?}");
    assert_eq!(r.failures[0].message, "steps form a dependency cycle: create A -> create B -> create A");
    assert!(f.mem.calls().is_empty());
}

/// A deposed object left by an interrupted replacement is deleted only once what pointed at
/// it has been repointed by its update. On paused time: the update takes 50 ms, the delete
/// none, so only the ordering can make the update finish first.
#[tokio::test(start_paused = true)]
async fn a_deposed_object_is_deleted_after_its_dependents_are_repointed() {
    let mut f = Fixture::new();
    f.converge(&[stack("app", &[("X", THING, json!({})), ("D", THING, json!({"V": {"Ref": "X"}}))])]).await;
    let state = f.states.get_mut("app").expect("state");
    let old = state.resources["X"].clone();
    state.deposed.insert("X".to_string(), old);
    state.resources.get_mut("X").expect("X").physical_id = "x-new".to_string();
    let p = f.plan(
        &[stack("app", &[("X", THING, json!({})), ("D", THING, json!({"V": {"Ref": "X"}}))])],
        PlanOptions::default(),
    );
    assert_eq!(actions(&p), ["X:noop", "D:update", "X~deposed:delete"]);
    f.mem.delay("D", Duration::from_millis(50));
    let events = Arc::new(infra_core::apply::CollectEvents::default());
    let walker = Walker {
        registry: &f.registry,
        recorder: f.recorder.clone(),
        reporter: events.clone(),
        interrupt: Arc::new(Interrupt::new()),
        options: ApplyOptions::default(),
    };
    let mut exports = BTreeMap::new();
    let r = walker.apply(&p, &mut f.states, &mut exports).await;
    assert!(r.is_success(), "{r:?}");
    let finished: Vec<String> = events
        .0
        .lock()
        .expect("events")
        .iter()
        .filter_map(|e| match e {
            infra_core::apply::Event::Finished { subject, .. } => Some(subject.logical_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(finished, ["D", "X~deposed"]);
    assert!(f.state("app").deposed.is_empty());
}

#[tokio::test]
async fn local_resources_work_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display().to_string();
    let other = tempfile::tempdir().expect("tempdir");
    let o = other.path().display().to_string();
    let mut f = Fixture::new();
    let files = |content: &str| {
        [stack(
            "app",
            &[
                ("Data", "Infra::Local::Data", json!({"Input": {"Greeting": content}})),
                (
                    "Named",
                    "Infra::Local::File",
                    json!({"Directory": o, "FileName": "hello.txt", "Content": {"Fn::GetAtt": ["Data", "Output.Greeting"]}}),
                ),
                ("Generated", "Infra::Local::File", json!({"Directory": o, "Content": "fixed"})),
            ],
        )]
    };
    // `Output.Greeting` is not an attribute: it stays unknown and the apply says so.
    let p = f.plan(&files("hi"), PlanOptions::default());
    let r = f.apply(&p).await;
    assert_eq!(r.failures.len(), 1, "{r:?}");
    assert!(r.failures[0].message.contains("depend on Data, which is not applied"), "{}", r.failures[0].message);

    let mut f = Fixture::new();
    let stacks = |content: &str| {
        [stack(
            "app",
            &[
                ("Data", "Infra::Local::Data", json!({"Input": content})),
                (
                    "Named",
                    "Infra::Local::File",
                    json!({"Directory": d, "FileName": "hello.txt", "Content": {"Fn::GetAtt": ["Data", "Output"]}}),
                ),
                ("Generated", "Infra::Local::File", json!({"Directory": d, "Content": "fixed"})),
            ],
        )]
    };
    f.converge(&stacks("hi")).await;
    assert_eq!(std::fs::read_to_string(dir.path().join("hello.txt")).expect("file"), "hi");
    let generated = f.state("app").resources["Generated"].physical_id.clone();
    assert!(generated.contains("proj-dev-app-Generated-"), "{generated}");
    // Changing Data's input updates it, and its Output flows into the file.
    let p = f.plan(&stacks("bye"), PlanOptions::default());
    assert_eq!(actions(&p), ["Data:update", "Named:update", "Generated:noop"]);
    f.apply(&p).await;
    assert_eq!(std::fs::read_to_string(dir.path().join("hello.txt")).expect("file"), "bye");
    let p = f.plan(&stacks("bye"), PlanOptions { destroy: true, ..Default::default() });
    assert!(f.apply(&p).await.is_success());
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[tokio::test]
async fn settings_only_changes_are_recorded_without_provider_calls() {
    let mut f = Fixture::new();
    let s = stack("app", &[("A", THING, json!({"V": 1})), ("B", THING, json!({"V": 2}))]);
    f.converge(std::slice::from_ref(&s)).await;
    let mut changed = s.clone();
    changed.resources["B"].depends_on.insert("A".to_string());
    changed.resources["A"].deletion_policy = DeletionPolicy::Retain;
    let p = f.plan(&[changed.clone()], PlanOptions::default());
    assert_eq!(actions(&p), ["A:update", "B:update"]);
    assert_eq!(
        p.layers[0].changes[0].reason,
        ActionReason::SettingsChanged { settings: vec!["DeletionPolicy".to_string()] }
    );
    let calls = f.mem.mutations().len();
    let r = f.apply(&p).await;
    assert!(r.is_success(), "{r:?}");
    assert_eq!(f.mem.mutations().len(), calls, "no provider call");
    assert_eq!(f.state("app").resources["B"].depends_on, ["A"]);
    assert_eq!(f.state("app").resources["A"].deletion_policy, DeletionPolicy::Retain);
    assert!(!f.plan(&[changed], PlanOptions::default()).has_changes());
}

/// `Metadata.infra` reaches the provider with every call: the template's on create and update,
/// a change of it alone is recorded without a call, and a delete (here of a resource gone from
/// the template) runs with what state recorded.
#[tokio::test]
async fn provider_settings_from_metadata_reach_every_call_and_deletes_use_the_recorded_ones() {
    let mut f = Fixture::new();
    let with = |settings: J| {
        let mut s = stack("app", &[("A", THING, json!({"V": 1})), ("B", THING, json!({"V": 2}))]);
        s.resources["A"].metadata = json!({ "infra": settings });
        s
    };
    f.converge(&[with(json!({"timeout": "5m"}))]).await;
    let metadata_of = |f: &Fixture, kind: CallKind, id: &str| -> Vec<J> {
        f.mem.calls().into_iter().filter(|c| c.kind == kind && c.logical_id == id).map(|c| c.metadata).collect()
    };
    assert_eq!(metadata_of(&f, CallKind::Create, "A"), [json!({"infra": {"timeout": "5m"}})]);
    assert_eq!(metadata_of(&f, CallKind::Create, "B"), [J::Null]);

    let p = f.plan(&[with(json!({"timeout": "5m", "empty_on_delete": true}))], PlanOptions::default());
    assert_eq!(actions(&p), ["A:update", "B:noop"]);
    assert_eq!(
        p.layers[0].changes[0].reason,
        ActionReason::SettingsChanged { settings: vec!["Metadata.infra".to_string()] }
    );
    let calls = f.mem.mutations().len();
    assert!(f.apply(&p).await.is_success());
    assert_eq!(f.mem.mutations().len(), calls, "a settings change makes no provider call");
    assert_eq!(f.state("app").resources["A"].metadata, json!({"infra": {"timeout": "5m", "empty_on_delete": true}}));

    // Removed from the template, A is deleted with the settings state recorded for it.
    let p = f.plan(&[stack("app", &[("B", THING, json!({"V": 2}))])], PlanOptions::default());
    assert_eq!(actions(&p), ["B:noop", "A:delete"]);
    assert!(f.apply(&p).await.is_success());
    assert_eq!(metadata_of(&f, CallKind::Delete, "A"), [json!({"infra": {"timeout": "5m", "empty_on_delete": true}})]);
}

/// On paused time, so the order is fixed whatever the machine's speed: A's create starts at
/// once and runs 120 ms, heartbeats come at 30, 60 and 90 ms, and the interrupt at 40 ms,
/// while A is still running.
#[tokio::test(start_paused = true)]
async fn interrupt_stops_new_operations_and_heartbeats_report_progress() {
    let mut f = Fixture::new();
    f.mem.delay("A", Duration::from_millis(120));
    let s = stack("app", &[("A", THING, json!({})), ("B", THING, json!({"V": {"Ref": "A"}}))]);
    let p = f.plan(&[s], PlanOptions::default());
    let events = Arc::new(infra_core::apply::CollectEvents::default());
    let interrupt = Arc::new(Interrupt::new());
    let walker = Walker {
        registry: &f.registry,
        recorder: f.recorder.clone(),
        reporter: events.clone(),
        interrupt: interrupt.clone(),
        options: ApplyOptions { parallelism: 4, heartbeat: Duration::from_millis(30), ..Default::default() },
    };
    let trigger = interrupt.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(40)).await;
        trigger.trigger();
    });
    let mut exports = BTreeMap::new();
    let r = walker.apply(&p, &mut f.states, &mut exports).await;
    assert!(r.interrupted && !r.is_success(), "{r:?}");
    assert_eq!(r.added, 1, "the running create finished and was recorded");
    assert_eq!(f.state("app").resources.keys().collect::<Vec<_>>(), ["A"]);
    assert_eq!(f.mem.mutations(), [(CallKind::Create, "A".to_string())]);
    let events = events.0.lock().expect("events").clone();
    let heartbeat = events.iter().find_map(|e| match e {
        infra_core::apply::Event::Heartbeat { .. } => Some(infra_core::render::progress::event_line(e)),
        _ => None,
    });
    assert!(heartbeat.is_some_and(|l| l.starts_with("app.A: Still creating... (")), "{events:?}");
    let summary = infra_core::render::progress::summary(&r, false);
    assert!(summary.starts_with("Apply interrupted: 1 added, 0 changed, 0 destroyed ("), "{summary}");
}

#[tokio::test]
async fn resume_of_interrupted_updates_and_replacements() {
    let mut f = Fixture::new();
    f.converge(&[stack("app", &[("U", NAMED, json!({"Name": "u", "V": 1})), ("R", THING, json!({"Kind": "a"}))])])
        .await;
    let old_r = f.state("app").resources["R"].physical_id.clone();
    // A crash left: an update of U that never reached the provider, and a replacement of R
    // whose new object was created but not recorded.
    // The provider assigns THING's IDs: the create carried its intent's token, which is how
    // recovery finds it.
    f.mem.insert(
        "mem-new",
        Object {
            resource_type: THING.to_string(),
            logical_id: "R".to_string(),
            properties: json!({"Kind": "b"}),
            token: Some("t2".to_string()),
        },
    );
    let stacks = [stack("app", &[("U", NAMED, json!({"Name": "u", "V": 2})), ("R", THING, json!({"Kind": "b"}))])];
    let open = [
        OpenIntent {
            layer: "app".to_string(),
            intent: Intent {
                logical_id: "U".to_string(),
                resource_type: NAMED.to_string(),
                action: IntentAction::Update,
                physical_name: None,
                physical_id: Some("u".to_string()),
                token: "t1".to_string(),
                request: Some(request(json!({"Name": "u", "V": 2}))),
            },
        },
        OpenIntent {
            layer: "app".to_string(),
            intent: Intent {
                logical_id: "R".to_string(),
                resource_type: THING.to_string(),
                action: IntentAction::Create,
                physical_name: None,
                physical_id: None,
                token: "t2".to_string(),
                request: Some(request(json!({"Kind": "b"}))),
            },
        },
    ];
    // The templates now say something else: recovery finishes what was sent, not this.
    let changed = [stack("app", &[("U", NAMED, json!({"Name": "u", "V": 3})), ("R", THING, json!({"Kind": "b"}))])];
    let recovered = f.recover(&open).await.expect("recover");
    let resolutions: Vec<Resolution> = recovered.into_iter().map(|r| r.resolution).collect();
    assert_eq!(resolutions, [Resolution::UpdateFinished, Resolution::Adopted { physical_id: "mem-new".to_string() }]);
    assert_eq!(f.mem.objects()["u"].properties, json!({"Name": "u", "V": 2}));
    // The old R waits under its deposed key; the next plan destroys it.
    assert_eq!(f.state("app").deposed["R"].physical_id, old_r);
    let p = f.plan(&stacks, PlanOptions::default());
    assert_eq!(actions(&p), ["U:noop", "R:noop", "R~deposed:delete"]);
    let text = infra_core::render::plan::human(&p, false);
    assert!(text.contains("# R (deposed object) will be destroyed"), "{text}");
    assert_eq!(actions(&f.plan(&changed, PlanOptions::default())), ["U:update", "R:noop", "R~deposed:delete"]);
    assert!(f.apply(&p).await.is_success());
    assert!(!f.mem.objects().contains_key(&old_r));
}

#[tokio::test]
async fn a_create_the_walker_cannot_confirm_stays_open_and_is_adopted_by_its_token() {
    let mut f = Fixture::new();
    // THING's IDs are assigned by the provider: no name is chosen before the create.
    f.mem.fail_after_effect("A", CallKind::Create, AfterEffect::AnswerLost);
    let s = [stack("app", &[("A", THING, json!({"V": 1}))])];
    let r = f.apply(&f.plan(&s, PlanOptions::default())).await;
    assert_eq!(r.failures.len(), 1, "{r:?}");
    assert!(r.failures[0].message.contains("stays open in the journal"), "{}", r.failures[0].message);
    assert!(f.state("app").resources.is_empty());
    let entries = f.recorder.entries();
    let Some(RecordedEntry::Intent(_, intent)) = entries.last() else { panic!("no open intent last: {entries:?}") };
    assert_eq!(intent.physical_name, None);
    assert_eq!(intent.request.as_ref().map(|r| &r.properties), Some(&json!({"V": 1})));
    let open = [OpenIntent { layer: "app".to_string(), intent: intent.clone() }];

    // Assessing only reads.
    let calls = f.mem.mutations();
    let assessed = assess(&open, "proj", "dev", &Placement::default(), &f.states, &f.registry).await.expect("assess");
    assert_eq!(f.mem.mutations(), calls);
    assert_eq!(f.recorder.entries().len(), entries.len());
    let id = f.mem.objects().keys().next().cloned().expect("the create took effect");
    assert_eq!(assessed[0].resolution, Resolution::Adopted { physical_id: id.clone() });

    f.mem.clear_failures();
    f.recover(&open).await.expect("recover");
    assert_eq!(f.state("app").resources["A"].physical_id, id);
    let p = f.converge(&s).await;
    assert_eq!(actions(&p), ["A:noop"]);
    assert_eq!(f.mem.objects().len(), 1, "no second create");
}

#[tokio::test]
async fn a_create_cut_short_halfway_is_adopted_as_it_is_and_the_plan_shows_the_rest() {
    let mut f = Fixture::new();
    // The create made the object, but not with everything it sent (a file created, its
    // content not yet written, when the process died).
    f.mem.insert(
        "mem-half",
        Object {
            resource_type: THING.to_string(),
            logical_id: "A".to_string(),
            properties: json!({"V": 0}),
            token: Some("t".to_string()),
        },
    );
    let open = [OpenIntent {
        layer: "app".to_string(),
        intent: Intent {
            logical_id: "A".to_string(),
            resource_type: THING.to_string(),
            action: IntentAction::Create,
            physical_name: None,
            physical_id: None,
            token: "t".to_string(),
            request: Some(request(json!({"V": 1}))),
        },
    }];
    f.recover(&open).await.expect("recover");
    assert_eq!(f.state("app").resources["A"].properties, json!({"V": 0}), "what is there, not what was sent");
    let s = [stack("app", &[("A", THING, json!({"V": 1}))])];
    let p = f.converge(&s).await;
    assert_eq!(actions(&p), ["A:update"]);
    assert_eq!(f.mem.objects()["mem-half"].properties, json!({"V": 1}));
}

#[tokio::test]
async fn ambiguous_updates_and_deletes_stay_open_and_refusals_close() {
    let mut f = Fixture::new();
    let s = [stack("app", &[("A", THING, json!({"V": 1})), ("B", THING, json!({"V": 1}))])];
    f.converge(&s).await;
    f.mem.fail_after_effect("A", CallKind::Update, AfterEffect::AnswerLost);
    f.mem.fail("B", CallKind::Update, "refused");
    let before = f.recorder.entries().len();
    let r = f
        .apply(&f.plan(
            &[stack("app", &[("A", THING, json!({"V": 2})), ("B", THING, json!({"V": 2}))])],
            PlanOptions::default(),
        ))
        .await;
    assert_eq!(r.failures.len(), 2, "{r:?}");
    let new: Vec<RecordedEntry> = f.recorder.entries()[before..].to_vec();
    let done_for = |id: &str| new.iter().any(|e| matches!(e, RecordedEntry::Done(_, k, _) if k == id));
    assert!(!done_for("A"), "the ambiguous update of A stays open: {new:?}");
    assert!(done_for("B"), "the refused update of B is closed: {new:?}");

    f.mem.clear_failures();
    f.mem.fail_after_effect("A", CallKind::Delete, AfterEffect::AnswerLost);
    let before = f.recorder.entries().len();
    let r = f.apply(&f.plan(&[stack("app", &[("B", THING, json!({"V": 1}))])], PlanOptions::default())).await;
    assert_eq!(r.failures.len(), 1, "{r:?}");
    let new: Vec<RecordedEntry> = f.recorder.entries()[before..].to_vec();
    assert!(!new.iter().any(|e| matches!(e, RecordedEntry::Done(_, k, _) if k == "A")), "{new:?}");
    assert!(f.state("app").resources.contains_key("A"), "still recorded until settled");
}

#[tokio::test]
async fn a_resource_made_but_unusable_is_recorded_tainted_and_replaced() {
    let mut f = Fixture::new();
    f.mem.fail_after_effect("E", CallKind::Create, AfterEffect::Unusable);
    let s = [stack("app", &[("E", THING, json!({"V": 1})), ("D", THING, json!({"V": {"Ref": "E"}}))])];
    let r = f.apply(&f.plan(&s, PlanOptions::default())).await;
    assert_eq!(r.failures.len(), 1, "{r:?}");
    assert!(r.failures[0].message.contains("recorded as tainted"), "{}", r.failures[0].message);
    assert_eq!(r.skipped, ["app.D"], "dependents of a tainted resource wait");
    let tainted = f.state("app").resources["E"].clone();
    assert!(tainted.tainted.as_deref().is_some_and(|t| t.contains("failed state")), "{tainted:?}");
    assert_eq!(f.mem.objects().len(), 1);

    f.mem.clear_failures();
    let p = f.plan(&s, PlanOptions::default());
    assert_eq!(actions(&p), ["E:replace", "D:create"]);
    assert!(
        matches!(&p.layers[0].changes[0].reason, ActionReason::Tainted { reason } if reason.contains("failed state"))
    );
    let text = infra_core::render::plan::human(&p, false);
    assert!(text.contains("must be replaced (create before destroy), because it is tainted: "), "{text}");
    assert!(f.apply(&p).await.is_success());
    assert!(!f.mem.objects().contains_key(&tainted.physical_id), "the tainted object was deleted");
    assert_eq!(f.mem.objects().len(), 2);
    assert_eq!(f.state("app").resources["E"].tainted, None);
}

#[tokio::test]
async fn recovery_refuses_another_account_or_region_and_leaves_everything_alone() {
    let mut f = Fixture::new();
    let mut req = request(json!({"Name": "n"}));
    req.account = Some("111111111111".to_string());
    req.region = Some("us-east-1".to_string());
    let open = [OpenIntent {
        layer: "app".to_string(),
        intent: Intent {
            logical_id: "N".to_string(),
            resource_type: NAMED.to_string(),
            action: IntentAction::Create,
            physical_name: Some("n".to_string()),
            physical_id: None,
            token: "t".to_string(),
            request: Some(req),
        },
    }];
    let cases = [
        (
            Placement { account: Some("222222222222".into()), region: Some("us-east-1".into()) },
            "account 111111111111, but this run acts in account 222222222222",
        ),
        (
            Placement { account: Some("111111111111".into()), region: Some("eu-west-1".into()) },
            "region us-east-1, but this run acts in region eu-west-1",
        ),
        (Placement::default(), "account 111111111111, but this run acts in no account"),
    ];
    for (placement, expected) in cases {
        match assess(&open, "proj", "dev", &placement, &f.states, &f.registry).await {
            Err(e) => assert!(e.to_string().contains(expected), "{e}"),
            Ok(s) => panic!("expected a refusal, got {s:?}"),
        }
    }
    assert!(f.mem.calls().is_empty(), "not even a read");
    let ok = Placement { account: Some("111111111111".into()), region: Some("us-east-1".into()) };
    let s = assess(&open, "proj", "dev", &ok, &f.states, &f.registry).await.expect("same account");
    assert_eq!(s[0].resolution, Resolution::NotCreated);
    f.states.clear();
}

#[test]
fn plan_errors_name_the_problem() {
    let f = Fixture::new();
    let check = |stacks: &[DesiredStack], options: PlanOptions, expected: &str| match f.try_plan(stacks, options) {
        Err(e) => assert_eq!(e.to_string(), expected),
        Ok(p) => panic!("expected an error, got {:?}", actions(&p)),
    };
    check(
        &[stack("app", &[("X", "Nope::Thing", json!({}))])],
        PlanOptions::default(),
        "no provider for resource type Nope::Thing (app.X)",
    );
    check(
        &[stack("app", &[("Alpha", THING, json!({}))])],
        target("Alpah"),
        "no resource `Alpah` in the selected layers (did you mean `Alpha`?)",
    );
    check(
        &[stack("app", &[])],
        PlanOptions { layers: vec!["nope".to_string()], ..Default::default() },
        "no layer `nope` in the project",
    );
    let mut cyclic =
        stack("app", &[("A", THING, json!({"V": {"Ref": "B"}})), ("B", THING, json!({"V": {"Ref": "A"}}))]);
    cyclic.resources["A"].depends_on.insert("B".to_string());
    check(&[cyclic], PlanOptions::default(), "layer app: resources form a dependency cycle: A -> B -> A");
}

#[tokio::test]
async fn a_type_change_replaces_and_deletes_with_the_old_type() {
    let mut f = Fixture::new();
    f.converge(&[stack("app", &[("A", THING, json!({"V": 1}))])]).await;
    let p = f.plan(&[stack("app", &[("A", "Infra::Local::Data", json!({"Input": 1}))])], PlanOptions::default());
    assert_eq!(p.layers[0].changes[0].reason, ActionReason::ReplaceBecause { properties: vec!["Type".to_string()] });
    let r = f.apply(&p).await;
    assert!(r.is_success(), "{r:?}");
    assert!(f.mem.objects().is_empty(), "the old Test::Thing was deleted by its own provider");
    assert_eq!(f.state("app").resources["A"].resource_type, "Infra::Local::Data");
}

/// A provider that reports a wait from inside its create, as the AWS waiters do.
struct ReportsWaits(Arc<MemoryProvider>);

#[async_trait::async_trait]
impl infra_core::provider::Provider for ReportsWaits {
    fn name(&self) -> &str {
        "waits"
    }
    fn resource_types(&self) -> &[&'static str] {
        self.0.resource_types()
    }
    async fn create(
        &self,
        req: &infra_core::provider::CreateRequest,
    ) -> Result<infra_core::provider::Applied, infra_core::provider::ProviderError> {
        let heard = infra_core::provider::events::report(infra_core::provider::events::ProviderEvent::Waiting {
            operation: "CreateThing".into(),
            subject: format!("thing {}", req.context.logical_id),
            status: "Creating".into(),
            target: "Ready".into(),
            elapsed: Duration::from_secs(61),
        });
        assert!(heard, "the engine listens while its call runs");
        self.0.create(req).await
    }
    async fn read(
        &self,
        req: &infra_core::provider::ReadRequest,
    ) -> Result<Option<infra_core::provider::Observed>, infra_core::provider::ProviderError> {
        self.0.read(req).await
    }
    async fn update(
        &self,
        req: &infra_core::provider::UpdateRequest,
    ) -> Result<infra_core::provider::Applied, infra_core::provider::ProviderError> {
        self.0.update(req).await
    }
    async fn delete(
        &self,
        req: &infra_core::provider::DeleteRequest,
    ) -> Result<(), infra_core::provider::ProviderError> {
        self.0.delete(req).await
    }
}

#[tokio::test]
async fn what_a_provider_reports_arrives_with_its_step() {
    let mut f = Fixture::new();
    f.registry = Registry::new();
    f.registry.register(Arc::new(ReportsWaits(f.mem.clone()))).expect("one provider per type");
    let p = f.plan(&[stack("app", &[("A", THING, json!({}))])], PlanOptions::default());
    let events = Arc::new(infra_core::apply::CollectEvents::default());
    let walker = Walker {
        registry: &f.registry,
        recorder: f.recorder.clone(),
        reporter: events.clone(),
        interrupt: Arc::new(Interrupt::new()),
        options: ApplyOptions::default(),
    };
    let mut exports = BTreeMap::new();
    let r = walker.apply(&p, &mut f.states, &mut exports).await;
    assert!(r.is_success(), "{r:?}");
    let events = events.0.lock().expect("events").clone();
    let reported: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            infra_core::apply::Event::Provider { subject, .. } => {
                Some((subject.logical_id.clone(), infra_core::render::progress::event_line(e)))
            }
            _ => None,
        })
        .collect();
    assert_eq!(reported, [("A".to_string(), "still waiting for thing A (Creating, 1m 1s elapsed)".to_string())]);
}
