//! `infra state list|show|rm`, `infra output` and `infra force-unlock`, run as a user would:
//! the real binary on a project in a temporary directory, output compared with snapshots.

use infra_core::state::{DeletionPolicy, LayerStore, OutputRecord, ResourceRecord, State};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const SETTINGS: &str = r#"[project]
name = "mlplatform"
region = "us-east-1"

[state]
path = "state"

[environments.dev]
[environments.prod]
"#;

fn resource(id: &str, resource_type: &str, physical_id: &str, depends_on: &[&str]) -> ResourceRecord {
    ResourceRecord {
        logical_id: id.to_string(),
        resource_type: resource_type.to_string(),
        physical_id: physical_id.to_string(),
        properties: serde_json::json!({ "Name": physical_id }),
        attributes: BTreeMap::from([("Arn".to_string(), serde_json::json!(format!("arn:aws:::{physical_id}")))]),
        depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
        deletion_policy: DeletionPolicy::Delete,
        update_replace_policy: DeletionPolicy::Retain,
        tainted: None,
        metadata: serde_json::Value::Null,
    }
}

fn output(value: &str, export: Option<&str>) -> OutputRecord {
    OutputRecord {
        value: serde_json::json!(value),
        description: Some("for the next layer".into()),
        export_name: export.map(String::from),
    }
}

/// A project with state for the shared and backend layers of env dev.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("infra.toml"), SETTINGS).unwrap();
    let mut shared = State::new();
    for r in [
        resource("ModelBucket", "AWS::S3::Bucket", "mlplatform-dev-models", &[]),
        resource("ModelRepository", "AWS::ECR::Repository", "mlplatform-dev-models", &[]),
    ] {
        shared.resources.insert(r.logical_id.clone(), r);
    }
    shared
        .outputs
        .insert("BucketName".into(), output("mlplatform-dev-models", Some("mlplatform-dev-shared-BucketName")));
    LayerStore::new(&dir.path().join("state"), "dev", "shared").commit(&mut shared).unwrap();

    let mut backend = State::new();
    for r in [
        resource("ExecutionRole", "AWS::IAM::Role", "mlplatform-dev-exec", &[]),
        resource("Model", "AWS::SageMaker::Model", "mlplatform-dev-model", &["ExecutionRole"]),
        resource("Endpoint", "AWS::SageMaker::Endpoint", "mlplatform-dev-endpoint", &["Model"]),
    ] {
        backend.resources.insert(r.logical_id.clone(), r);
    }
    backend.outputs.insert("EndpointName".into(), output("mlplatform-dev-endpoint", None));
    LayerStore::new(&dir.path().join("state"), "dev", "backend").commit(&mut backend).unwrap();
    dir
}

fn store(dir: &Path, layer: &str) -> LayerStore {
    LayerStore::new(&dir.join("state"), "dev", layer)
}

/// Runs `infra` in `dir`; returns exit code, stdout and stderr as one text to snapshot.
fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_infra"));
    command.args(args).current_dir(dir).env_remove("INFRA_ENV").env_remove("INFRA_PROJECT_DIR");
    command
}

fn infra(dir: &Path, args: &[&str]) -> String {
    describe(command(dir, args).output().unwrap())
}

/// The exit code and both streams of a run, for snapshots.
fn describe(out: std::process::Output) -> String {
    let mut text = format!("exit: {}\n", out.status.code().unwrap_or(-1));
    for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if !stream.is_empty() {
            text.push_str(&format!("--- {name}\n{}", String::from_utf8_lossy(stream)));
        }
    }
    text
}

#[test]
fn list() {
    let p = project();
    insta::assert_snapshot!("list", infra(p.path(), &["state", "list"]));
    insta::assert_snapshot!(
        "list_layer_json",
        infra(p.path(), &["state", "list", "--layer", "shared", "--format", "json"])
    );
    insta::assert_snapshot!("list_other_env", infra(p.path(), &["state", "list", "--env", "prod"]));
    insta::assert_snapshot!("list_unknown_layer", infra(p.path(), &["state", "list", "--layer", "bakend"]));
    insta::assert_snapshot!("list_unknown_env", infra(p.path(), &["state", "list", "--env", "prd"]));
}

#[test]
fn show() {
    let p = project();
    insta::assert_snapshot!("show", infra(p.path(), &["state", "show", "backend.Model"]));
    insta::assert_snapshot!("show_json", infra(p.path(), &["state", "show", "backend.Model", "--format", "json"]));
    insta::assert_snapshot!("show_typo", infra(p.path(), &["state", "show", "backend.Modle"]));
    insta::assert_snapshot!("show_bad_address", infra(p.path(), &["state", "show", "Model"]));
}

#[test]
fn outputs() {
    let p = project();
    insta::assert_snapshot!("output", infra(p.path(), &["output"]));
    insta::assert_snapshot!("output_json", infra(p.path(), &["output", "--format", "json"]));
    insta::assert_snapshot!("output_layer_json", infra(p.path(), &["output", "shared", "--format", "json"]));
    insta::assert_snapshot!("output_value", infra(p.path(), &["output", "shared", "BucketName"]));
    insta::assert_snapshot!("output_missing", infra(p.path(), &["output", "shared", "BucketNam"]));
    insta::assert_snapshot!("output_empty_layer", infra(p.path(), &["output", "network"]));
}

#[test]
fn rm_forgets_through_the_store() {
    let p = project();
    let before = std::fs::read(&store(p.path(), "backend").paths().state).unwrap();
    insta::assert_snapshot!("rm", infra(p.path(), &["state", "rm", "backend.Model", "backend.Model"]));
    let loaded = store(p.path(), "backend").load().unwrap();
    assert_eq!(loaded.state.serial, 2);
    assert!(!loaded.state.resources.contains_key("Model"));
    assert_eq!(std::fs::read(&store(p.path(), "backend").paths().backup).unwrap(), before);
    assert!(!store(p.path(), "backend").paths().lock.exists());

    insta::assert_snapshot!("rm_json", infra(p.path(), &["state", "rm", "shared.ModelBucket", "--format", "json"]));
    // A typo in any address changes nothing.
    let before = std::fs::read(&store(p.path(), "backend").paths().state).unwrap();
    insta::assert_snapshot!("rm_typo", infra(p.path(), &["state", "rm", "backend.Endpoint", "backend.Endpont"]));
    assert_eq!(std::fs::read(&store(p.path(), "backend").paths().state).unwrap(), before);
}

/// Replaces the details of `guard`'s lock (they differ per run) with placeholders.
fn redact(text: &str, info: &infra_core::state::LockInfo) -> String {
    text.replace(&info.id, "<lock-id>")
        .replace(&format!("{}@{}", info.user, info.host), "<user>@<host>")
        .replace(&format!("pid {}", info.pid), "pid <pid>")
        .replace(&format!("({})", info.host), "(<host>)")
        .replace(&info.created, "<time>")
}

#[test]
fn rm_waits_for_a_lock_held_by_another_process() {
    let p = project();
    let backend = store(p.path(), "backend");
    let guard = backend.lock("apply", Duration::ZERO).unwrap();
    let info = guard.info().clone();
    let before = std::fs::read(&backend.paths().state).unwrap();
    insta::assert_snapshot!("rm_locked", redact(&infra(p.path(), &["state", "rm", "backend.Endpoint"]), &info));
    assert_eq!(std::fs::read(&backend.paths().state).unwrap(), before);

    let mut waiting = command(p.path(), &["state", "rm", "backend.Endpoint", "--lock-timeout", "20s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While the lock is held infra cannot finish, however long it has had; the pause only
    // gives it time to be waiting rather than still starting.
    std::thread::sleep(Duration::from_millis(500));
    assert!(waiting.try_wait().unwrap().is_none(), "infra finished while another process held the lock");
    assert_eq!(std::fs::read(&backend.paths().state).unwrap(), before, "state changed under the lock");
    drop(guard);
    let text = describe(waiting.wait_with_output().unwrap());
    insta::assert_snapshot!("rm_after_wait", text);
}

#[test]
fn force_unlock() {
    let p = project();
    let backend = store(p.path(), "backend");
    let guard = backend.lock("apply", Duration::ZERO).unwrap();
    let info = guard.info().clone();
    let wrong = "00000000-0000-4000-8000-000000000000";
    insta::assert_snapshot!("force_unlock_unknown_id", infra(p.path(), &["force-unlock", wrong]));
    insta::assert_snapshot!(
        "force_unlock_wrong_id",
        redact(&infra(p.path(), &["force-unlock", wrong, "--layer", "backend"]), &info)
    );
    assert!(backend.paths().lock.exists());
    // This test process holds the lock and is running: refused.
    let refused = infra(p.path(), &["force-unlock", &info.id]);
    assert!(refused.starts_with("exit: 1") && refused.contains(&format!("pid {}", std::process::id())), "{refused}");
    assert!(backend.paths().lock.exists());
    drop(guard);
}

/// Records `info` as the holder of `store`'s lock, as a process that took it would have.
fn record_holder(store: &LayerStore, info: &infra_core::state::LockInfo) {
    std::fs::write(&store.paths().lock, serde_json::to_vec_pretty(info).unwrap()).unwrap();
}

/// Whose lock force-unlock removes: the holder is a real second process, running or gone,
/// recorded on this host or another.
#[test]
fn force_unlock_refuses_while_the_holder_runs_here() {
    // (case, holder still running, recorded on this host, removed)
    let cases = [
        ("running here", true, true, false),
        ("gone", false, true, true),
        ("running on another host", true, false, true),
    ];
    for (case, running, here, removed) in cases {
        let p = project();
        let backend = store(p.path(), "backend");
        let mut holder = Command::new("sleep").arg("60").spawn().unwrap();
        if !running {
            holder.kill().unwrap();
            holder.wait().unwrap();
        }
        let mut info = backend.lock("apply", Duration::ZERO).unwrap().info().clone();
        info.pid = holder.id();
        if !here {
            info.host = "build-server.invalid".into();
        }
        record_holder(&backend, &info);
        let out = redact(&infra(p.path(), &["force-unlock", &info.id]), &info);
        // (A no-op for a holder already gone.)
        holder.kill().unwrap();
        holder.wait().unwrap();
        assert_eq!(!backend.paths().lock.exists(), removed, "{case}: {out}");
        if removed {
            assert!(out.starts_with("exit: 0"), "{case}: {out}");
            insta::assert_snapshot!("force_unlock", out.replace("build-server.invalid", "<host>"));
            assert!(infra(p.path(), &["state", "rm", "backend.Endpoint"]).starts_with("exit: 0"), "{case}");
        } else {
            insta::assert_snapshot!("force_unlock_holder_running", out);
        }
    }
}

#[test]
fn damaged_state_is_reported_and_left_alone() {
    let p = project();
    let shared = store(p.path(), "shared");
    let mut bytes = std::fs::read(&shared.paths().state).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&shared.paths().state, &bytes).unwrap();
    insta::assert_snapshot!("damaged_list", infra(p.path(), &["state", "list"]));
    insta::assert_snapshot!("damaged_rm", infra(p.path(), &["state", "rm", "shared.ModelBucket"]));
    assert_eq!(std::fs::read(&shared.paths().state).unwrap(), bytes);
}

#[test]
fn only_settings_problems_stop_state_commands() {
    let p = project();
    std::fs::create_dir_all(p.path().join("stacks/shared")).unwrap();
    std::fs::write(p.path().join("stacks/shared/broken.yaml"), "Resources: [unclosed\n").unwrap();
    assert!(infra(p.path(), &["state", "list"]).starts_with("exit: 0"));
    std::fs::write(p.path().join("infra.toml"), SETTINGS.replace("[state]", "[state]\nbogus = 1")).unwrap();
    insta::assert_snapshot!("settings_error", infra(p.path(), &["state", "list"]));
}

#[test]
fn interrupted_run_is_shown_and_blocks_rm() {
    use infra_core::state::{Entry, Intent, IntentAction};
    let p = project();
    let backend = store(p.path(), "backend");
    let journal = backend.journal().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(async {
        let created = resource("Alarm", "AWS::CloudWatch::Alarm", "mlplatform-dev-alarm", &["Endpoint"]);
        journal.append(Entry::Done { logical_id: "Alarm".into(), record: Some(created) }).await.unwrap();
        let intent = Intent {
            logical_id: "Endpoint".into(),
            resource_type: "AWS::SageMaker::Endpoint".into(),
            action: IntentAction::Update,
            physical_name: None,
            physical_id: Some("mlplatform-dev-endpoint".into()),
            token: "token-1".into(),
            request: None,
        };
        journal.append(Entry::Intent(intent)).await.unwrap();
    });
    insta::assert_snapshot!("interrupted_list", infra(p.path(), &["state", "list", "--layer", "backend"]));
    let before = std::fs::read(&backend.paths().state).unwrap();
    insta::assert_snapshot!("interrupted_rm", infra(p.path(), &["state", "rm", "backend.Alarm"]));
    assert_eq!(std::fs::read(&backend.paths().state).unwrap(), before);
    assert!(backend.paths().journal.exists());
}
