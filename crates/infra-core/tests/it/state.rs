//! Integration tests: state files, atomic writes and backups, locks across processes, the
//! journal and crash recovery.

use infra_core::state::journal::{fold, replay};
use infra_core::state::lock::read_info;
use infra_core::state::{
    force_unlock, DeletionPolicy, Entry, Intent, IntentAction, LayerStore, OutputRecord, ResourceRecord, State,
    StateError,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FIXTURE_LINEAGE: &str = "6f1c2b7e-0d6a-4c1e-9a3b-2f9d8e7c6b5a";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state")
}

fn record(id: &str, physical_id: &str) -> ResourceRecord {
    ResourceRecord {
        logical_id: id.to_string(),
        resource_type: "AWS::S3::Bucket".to_string(),
        physical_id: physical_id.to_string(),
        properties: serde_json::json!({"BucketName": physical_id, "Tags": [{"Value": "ml", "Key": "team"}]}),
        attributes: BTreeMap::from([("Arn".to_string(), serde_json::json!(format!("arn:aws:s3:::{physical_id}")))]),
        depends_on: vec![],
        deletion_policy: DeletionPolicy::Retain,
        update_replace_policy: DeletionPolicy::Delete,
        tainted: None,
        metadata: serde_json::Value::Null,
    }
}

fn sample_state() -> State {
    let mut state = State::new();
    state.resources.insert("Bucket".into(), record("Bucket", "models"));
    let mut role = record("Role", "training");
    role.resource_type = "AWS::IAM::Role".into();
    role.depends_on = vec!["Bucket".into()];
    state.resources.insert("Role".into(), role);
    state.outputs.insert(
        "BucketArn".into(),
        OutputRecord {
            value: serde_json::json!("arn:aws:s3:::models"),
            description: Some("Where models go".into()),
            export_name: Some("p-dev-shared-BucketArn".into()),
        },
    );
    state
}

fn store(dir: &Path) -> LayerStore {
    LayerStore::new(&dir.join("state"), "dev", "shared")
}

// ---------------------------------------------------------------------------------------
// Damaged files: refused, named, never overwritten.

/// Loads fixture `name` as a layer's state file (with its `.backup`, if the fixture has
/// one), expecting error kind `expected` (or success for `"ok"`); then checks that neither
/// load nor commit changed a byte.
fn check(name: &str, expect_lineage: Option<&str>, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let paths = store.paths().clone();
    std::fs::create_dir_all(paths.state.parent().unwrap()).unwrap();
    let original = std::fs::read(fixtures().join(name)).unwrap();
    std::fs::write(&paths.state, &original).unwrap();
    let backup = fixtures().join(format!("{name}.backup"));
    let original_backup = std::fs::read(&backup).ok();
    if let Some(b) = &original_backup {
        std::fs::write(&paths.backup, b).unwrap();
    }

    let loaded = match expect_lineage {
        Some(l) => store.load_expecting(l.parse().unwrap()),
        None => store.load(),
    };
    match (&loaded, expected) {
        (Ok(_), "ok") => {}
        (Ok(_), _) => panic!("{name}: loaded, expected {expected}"),
        (Err(e), _) => {
            assert_eq!(e.kind(), expected, "{name}: {e}");
            let message = e.to_string();
            assert!(message.contains(&paths.state.display().to_string()), "{name}: message names no file: {message}");
            assert!(message.contains("left untouched"), "{name}: {message}");
            if original_backup.is_some() {
                assert!(message.contains(&paths.backup.display().to_string()), "{name}: {message}");
            }
        }
    }
    if expected != "ok" && expected != "lineage-mismatch" {
        let mut fresh = State::new();
        let err = store.commit(&mut fresh).unwrap_err();
        assert_eq!(err.kind(), expected, "{name}: commit over a damaged file: {err}");
        assert!(store.journal().is_err(), "{name}: journal opened on a damaged file");
    }
    assert_eq!(std::fs::read(&paths.state).unwrap(), original, "{name}: state file changed");
    assert_eq!(std::fs::read(&paths.backup).ok(), original_backup, "{name}: backup changed");
}

#[test]
fn valid_fixture_loads() {
    check("valid.json", None, "ok");
    check("valid.json", Some(FIXTURE_LINEAGE), "ok");
}

#[test]
fn truncated_files_are_refused() {
    for at in [1, 10, 100, 595, 1187] {
        check(&format!("truncated_at_{at}.json"), None, "truncated");
    }
}

#[test]
fn bit_flips_are_refused() {
    check("bitflip_open_brace.json", None, "invalid-json");
    check("bitflip_quote.json", None, "invalid-json");
    check("bitflip_colon.json", None, "invalid-json");
    check("bitflip_serial_digit.json", None, "invalid-json");
    check("bitflip_bracket.json", None, "invalid-json");
    check("bitflip_version_key.json", None, "wrong-shape");
    check("bitflip_field_name.json", None, "wrong-shape");
    check("bitflip_policy.json", None, "wrong-shape");
    check("bitflip_version_digit.json", None, "newer-version");
}

#[test]
fn invalid_json_is_refused() {
    check("invalid_json.json", None, "invalid-json");
    check("trailing_garbage.json", None, "invalid-json");
    check("nul_bytes.json", None, "invalid-json");
    check("nul_padded.json", None, "invalid-json");
    check("invalid_utf8.json", None, "invalid-json");
}

#[test]
fn wrong_shapes_are_refused() {
    check("not_an_object.json", None, "wrong-shape");
    check("version_zero.json", None, "wrong-shape");
    check("version_string.json", None, "wrong-shape");
    check("missing_version.json", None, "wrong-shape");
    check("missing_lineage.json", None, "wrong-shape");
    check("missing_resources.json", None, "wrong-shape");
    check("bad_lineage.json", None, "wrong-shape");
    check("serial_string.json", None, "wrong-shape");
    check("serial_negative.json", None, "wrong-shape");
    check("depends_on_string.json", None, "wrong-shape");
    check("resource_missing_type.json", None, "wrong-shape");
    check("unknown_field.json", None, "wrong-shape");
    check("resources_array.json", None, "wrong-shape");
    check("duplicate_logical_id.json", None, "duplicate-logical-id");
}

#[test]
fn future_versions_and_other_lineages_are_refused() {
    check("future_version.json", None, "newer-version");
    check("wrong_lineage.json", Some("00000000-0000-4000-8000-000000000000"), "lineage-mismatch");
}

#[test]
fn empty_files_are_not_missing_state() {
    check("empty_with_backup.json", None, "empty");
    check("empty_without_backup.json", None, "empty");
    check("whitespace_only.json", None, "empty");
}

#[test]
fn missing_file_with_a_backup_is_not_empty_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    store.commit(&mut state).unwrap();
    std::fs::remove_file(&store.paths().state).unwrap();
    let err = store.load().unwrap_err();
    assert_eq!(err.kind(), "missing");
    assert!(err.to_string().contains(&store.paths().backup.display().to_string()), "{err}");
    assert_eq!(store.commit(&mut State::new()).unwrap_err().kind(), "missing");
    assert!(!store.paths().state.exists());
}

#[test]
fn damage_messages_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    std::fs::create_dir_all(store.paths().state.parent().unwrap()).unwrap();
    std::fs::write(&store.paths().state, "").unwrap();
    let message = store.load().unwrap_err().to_string();
    assert!(message.contains("only a missing file is"), "{message}");
    std::fs::write(&store.paths().backup, "{}").unwrap();
    let message = store.load().unwrap_err().to_string();
    assert!(message.contains("copy it over the state file"), "{message}");
    std::fs::write(&store.paths().state, std::fs::read(fixtures().join("future_version.json")).unwrap()).unwrap();
    let message = store.load().unwrap_err().to_string();
    assert!(message.contains("written by a newer infra"), "{message}");
}

// ---------------------------------------------------------------------------------------
// Writing.

#[test]
fn missing_file_is_empty_state() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = store(dir.path()).load().unwrap();
    assert!(loaded.state.resources.is_empty() && !loaded.recovered && loaded.in_flight.is_empty());
    assert_eq!(loaded.state.serial, 0);
}

#[test]
fn commit_round_trips_and_bumps_serial() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    assert_eq!(state.serial, 1);
    let loaded = store.load().unwrap();
    assert_eq!(loaded.state, state);
    assert!(!loaded.recovered);

    let mut next = loaded.state;
    next.resources.remove("Role");
    store.commit(&mut next).unwrap();
    assert_eq!(next.serial, 2);
    assert_eq!(store.load().unwrap().state, next);
    assert_eq!(store.load_expecting(state.lineage).unwrap().state.lineage, state.lineage);
    let other = store.load_expecting(uuid::Uuid::new_v4()).unwrap_err();
    assert_eq!(other.kind(), "lineage-mismatch");
}

#[test]
fn file_is_deterministic_sorted_and_ends_in_newline() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    state.lineage = FIXTURE_LINEAGE.parse().unwrap();
    store.commit(&mut state).unwrap();
    let text = std::fs::read_to_string(&store.paths().state).unwrap();
    assert!(text.ends_with("}\n"));
    let keys = ["\"lineage\"", "\"outputs\"", "\"resources\"", "\"serial\"", "\"version\""];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "top-level keys not sorted: {text}");
    // Property keys are sorted too, whatever order they were recorded in.
    assert!(text.find("\"Key\": \"team\"").unwrap() < text.find("\"Value\": \"ml\"").unwrap());
    // Same state, same bytes.
    let again = tempfile::tempdir().unwrap();
    let mut copy = sample_state();
    copy.lineage = state.lineage;
    crate::state::store(again.path()).commit(&mut copy).unwrap();
    assert_eq!(std::fs::read_to_string(crate::state::store(again.path()).paths().state.clone()).unwrap(), text);
}

#[cfg(unix)]
#[test]
fn commit_is_private_and_keeps_a_backup() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    // umask is process-wide; a permissive one shows the mode is set explicitly.
    let old = unsafe { libc::umask(0) };
    let mut state = sample_state();
    let first = store.commit(&mut state);
    let first_bytes = std::fs::read(&store.paths().state).unwrap();
    state.resources.remove("Bucket");
    let second = store.commit(&mut state);
    unsafe { libc::umask(old) };
    first.unwrap();
    second.unwrap();
    for path in [&store.paths().state, &store.paths().backup] {
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    assert_eq!(std::fs::read(&store.paths().backup).unwrap(), first_bytes);
    assert_eq!(store.load().unwrap().state.serial, 2);
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(store.paths().state.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn commit_refuses_stale_or_foreign_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    let before = std::fs::read(&store.paths().state).unwrap();

    let mut stale = state.clone();
    stale.serial = 0;
    assert_eq!(store.commit(&mut stale).unwrap_err().kind(), "serial-conflict");
    let mut foreign = State::new();
    foreign.serial = 1;
    assert_eq!(store.commit(&mut foreign).unwrap_err().kind(), "lineage-mismatch");
    assert_eq!(std::fs::read(&store.paths().state).unwrap(), before);
}

#[test]
fn serial_at_its_maximum_is_refused_not_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    std::fs::create_dir_all(store.paths().state.parent().unwrap()).unwrap();
    let text = std::fs::read_to_string(fixtures().join("valid.json")).unwrap();
    let text = text.replace("\"serial\": 4", &format!("\"serial\": {}", u64::MAX));
    std::fs::write(&store.paths().state, &text).unwrap();
    let mut state = store.load().unwrap().state;
    assert_eq!(store.commit(&mut state).unwrap_err().kind(), "wrong-shape");
    assert_eq!(std::fs::read_to_string(&store.paths().state).unwrap(), text);
}

#[test]
fn names_cannot_escape_the_state_directory() {
    let dir = tempfile::tempdir().unwrap();
    for (env, layer) in [("../x", "shared"), ("dev", "a/b"), ("", "shared"), ("dev", "..")] {
        let store = LayerStore::new(dir.path(), env, layer);
        assert_eq!(store.load().unwrap_err().kind(), "invalid-name", "{env} {layer}");
        assert_eq!(store.lock("apply", Duration::ZERO).unwrap_err().kind(), "invalid-name");
    }
}

// ---------------------------------------------------------------------------------------
// Locks.

#[test]
fn lock_is_exclusive_and_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let guard = store.lock("apply", Duration::ZERO).unwrap();
    let info = read_info(&store.paths().lock).unwrap().unwrap();
    assert_eq!(&info, guard.info());
    assert_eq!(info.pid, std::process::id());
    assert_eq!(info.operation, "apply");

    let err = store.lock("destroy", Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), "locked");
    let message = err.to_string();
    for part in ["layer shared (env dev)", &format!("pid {}", info.pid), "for apply", &info.id, "infra force-unlock"] {
        assert!(message.contains(part), "{part:?} missing from {message}");
    }
    let started = Instant::now();
    assert!(store.lock("destroy", Duration::from_millis(300)).is_err());
    assert!(started.elapsed() >= Duration::from_millis(300));

    drop(guard);
    assert!(!store.paths().lock.exists(), "lock info left behind");
    drop(store.lock("destroy", Duration::ZERO).unwrap());
}

#[test]
fn force_unlock_needs_the_recorded_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    assert_eq!(force_unlock(store.paths(), "anything").unwrap_err().kind(), "not-locked");
    let guard = store.lock("apply", Duration::ZERO).unwrap();
    let id = guard.info().id.clone();

    let err = store.force_unlock("not-the-id").unwrap_err();
    assert_eq!(err.kind(), "lock-id-mismatch");
    assert!(err.to_string().contains(&id));
    assert!(store.paths().lock.exists());

    // The holder (this process) is running on this host: refused.
    let err = store.force_unlock(&id).unwrap_err();
    assert_eq!(err.kind(), "holder-alive");
    assert!(err.to_string().contains(&format!("pid {}", std::process::id())), "{err}");
    assert!(store.paths().lock.exists());

    // Recorded as held on another host, which cannot be checked from here: removed.
    let mut info = read_info(&store.paths().lock).unwrap().unwrap();
    info.host = "another-host.invalid".into();
    std::fs::write(&store.paths().lock, serde_json::to_vec(&info).unwrap()).unwrap();
    let removed = store.force_unlock(&id).unwrap();
    assert_eq!(removed.id, id);
    assert!(!store.paths().lock.exists());
    // The lock is free for others now, and the old holder's release leaves theirs alone.
    let newer = store.lock("apply", Duration::ZERO).unwrap();
    drop(guard);
    assert_eq!(read_info(&store.paths().lock).unwrap().unwrap().id, newer.info().id);
}

/// What a lock path may be made to point at, and what locking or reading it then does:
/// nothing is followed, nothing is overwritten, the error names the path.
#[test]
fn lock_paths_that_are_not_regular_files_are_refused() {
    use std::os::unix::fs::symlink;
    type Plant = fn(&Path, &Path);
    let cases: [(&str, Plant, &str); 3] = [
        ("symlink to a file", |lock, target| symlink(target, lock).unwrap(), "a symbolic link"),
        ("dangling symlink", |lock, _| symlink("/nonexistent/infra-lock", lock).unwrap(), "a symbolic link"),
        ("directory", |lock, _| std::fs::create_dir(lock).unwrap(), "not a regular file"),
    ];
    for (what, plant, found) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        std::fs::create_dir_all(store.paths().lock.parent().unwrap()).unwrap();
        let target = dir.path().join("precious.txt");
        std::fs::write(&target, "keep me").unwrap();
        plant(&store.paths().lock, &target);

        let err = store.lock("apply", Duration::ZERO).unwrap_err();
        assert_eq!(err.kind(), "not-regular-file", "{what}: {err}");
        let message = err.to_string();
        assert!(message.contains(&store.paths().lock.display().to_string()), "{what}: {message}");
        assert!(message.contains(found), "{what}: {message}");
        let err = read_info(&store.paths().lock).unwrap_err();
        assert_eq!(err.kind(), "not-regular-file", "{what}: {err}");
        assert_eq!(store.force_unlock("any").unwrap_err().kind(), "not-regular-file", "{what}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me", "{what}");
        assert!(std::fs::symlink_metadata(&store.paths().lock).is_ok(), "{what}: removed");
    }
}

/// A state file or journal replaced by a symbolic link is refused, not read through.
#[test]
fn state_and_journal_links_are_refused() {
    type Path_ = fn(&infra_core::state::StatePaths) -> &Path;
    let cases: [(&str, Path_); 2] = [("state file", |p| &p.state), ("journal", |p| &p.journal)];
    for (what, path) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        std::fs::create_dir_all(store.paths().state.parent().unwrap()).unwrap();
        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, "{}").unwrap();
        std::os::unix::fs::symlink(&elsewhere, path(store.paths())).unwrap();
        let err = store.load().unwrap_err();
        assert_eq!(err.kind(), "not-regular-file", "{what}: {err}");
        assert!(err.to_string().contains("a symbolic link"), "{what}: {err}");
    }
}

/// Directories infra creates for state are owner-only, whatever the umask of the process
/// (the binary's test under `umask 000` covers that part); existing ones are left alone.
#[test]
fn state_directories_are_created_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = State::new();
    store.commit(&mut state).unwrap();
    for d in [dir.path().join("state"), dir.path().join("state/dev")] {
        let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", d.display());
    }
    let mode = std::fs::metadata(&store.paths().state).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// `write_private_file`, the store's atomic owner-only write offered to other files (saved
/// plans): replaces a file whole, replaces a symbolic link rather than writing through it.
#[test]
fn private_files_are_written_atomically_and_owner_only() {
    use infra_core::state::store::write_private_file;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plan.json");
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_private_file(&path, b"new").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);

    let target = dir.path().join("elsewhere.txt");
    std::fs::write(&target, "keep me").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    write_private_file(&link, b"plan").unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_file());
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 3, "temporary files left behind: {names:?}");
}

/// The other process of the cross-process lock tests. A no-op unless the parent test
/// re-invokes this binary with `INFRA_TEST_LOCK_HOLDER` set to a state directory: then it
/// takes the lock, signals `ready`, waits for `release`, and exits releasing it normally or,
/// with `INFRA_TEST_LOCK_CRASH`, without any cleanup (as a killed process would).
#[test]
fn lock_holder_child() {
    let Some(dir) = std::env::var_os("INFRA_TEST_LOCK_HOLDER") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let store = LayerStore::new(&dir, "dev", "shared");
    let guard = store.lock("apply", Duration::ZERO).unwrap();
    std::fs::write(dir.join("ready"), guard.info().id.as_bytes()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !dir.join("release").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if std::env::var_os("INFRA_TEST_LOCK_CRASH").is_some() {
        std::process::exit(0);
    }
    drop(guard);
}

fn spawn_holder(dir: &Path, crash: bool) -> (std::process::Child, String) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "state::lock_holder_child", "--test-threads=1"]).env("INFRA_TEST_LOCK_HOLDER", dir);
    if crash {
        cmd.env("INFRA_TEST_LOCK_CRASH", "1");
    }
    let mut child = cmd.stdout(std::process::Stdio::null()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(id) = std::fs::read_to_string(dir.join("ready")) {
            return (child, id);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("lock holder never became ready");
}

#[test]
fn lock_held_by_another_process_waits_with_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let (mut child, id) = spawn_holder(&state_dir, false);
    let store = LayerStore::new(&state_dir, "dev", "shared");

    let err = store.lock("state rm", Duration::ZERO).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&format!("pid {}", child.id())), "{message}");
    assert!(message.contains(&format!("lock ID {id}")), "{message}");

    // The holder is told to let go a little later; however late that is, the lock can only
    // be taken after it. The pause just gives the waiter time to be waiting.
    let release = state_dir.join("release");
    let told = release.clone();
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        std::fs::write(told, "").unwrap();
    });
    let guard = store.lock("state rm", Duration::from_secs(20)).unwrap();
    assert!(release.exists(), "the lock was taken before its holder was told to let go");
    assert_ne!(guard.info().id, id);
    releaser.join().unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn lock_of_a_crashed_process_is_released_but_readable() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let (mut child, id) = spawn_holder(&state_dir, true);
    std::fs::write(state_dir.join("release"), "").unwrap();
    assert!(child.wait().unwrap().success());

    let store = LayerStore::new(&state_dir, "dev", "shared");
    let stale = read_info(&store.paths().lock).unwrap().unwrap();
    assert_eq!(stale.id, id);
    let guard = store.lock("apply", Duration::ZERO).unwrap();
    assert_ne!(guard.info().id, id);
}

// ---------------------------------------------------------------------------------------
// Journal.

fn intent(id: &str, action: IntentAction) -> Intent {
    Intent {
        logical_id: id.to_string(),
        resource_type: "AWS::S3::Bucket".to_string(),
        action,
        physical_name: Some(format!("p-dev-{id}")),
        physical_id: None,
        token: format!("token-{id}"),
        request: None,
    }
}

fn done(id: &str, physical_id: Option<&str>) -> Entry {
    Entry::Done { logical_id: id.to_string(), record: physical_id.map(|p| record(id, p)) }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn fold_applies_entries_and_reports_in_flight() {
    let mut base = State::new();
    base.resources.insert("Old".into(), record("Old", "old"));
    let outputs = BTreeMap::from([(
        "Arn".to_string(),
        OutputRecord { value: serde_json::json!("x"), description: None, export_name: None },
    )]);
    let entries = vec![
        Entry::Intent(intent("A", IntentAction::Create)),
        Entry::Intent(intent("B", IntentAction::Create)),
        done("A", Some("a")),
        Entry::Intent(intent("Old", IntentAction::Delete)),
        done("Old", None),
        Entry::Intent(intent("C", IntentAction::Update)),
        Entry::Outputs(outputs.clone()),
    ];
    let (state, in_flight) = fold(base, entries);
    assert_eq!(state.resources.keys().collect::<Vec<_>>(), ["A"]);
    assert_eq!(state.outputs, outputs);
    let pending: Vec<(&str, IntentAction)> = in_flight.iter().map(|i| (i.logical_id.as_str(), i.action)).collect();
    assert_eq!(pending, [("B", IntentAction::Create), ("C", IntentAction::Update)]);
}

#[test]
fn journal_replays_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();

    let journal = store.journal_for(&state).unwrap();
    rt().block_on(async {
        journal.append(Entry::Intent(intent("New", IntentAction::Create))).await.unwrap();
        journal.append(done("New", Some("new-bucket"))).await.unwrap();
        journal.append(Entry::Intent(intent("Role", IntentAction::Delete))).await.unwrap();
    });
    drop(journal);
    assert_eq!(replay(&store.paths().journal).unwrap().len(), 3);

    // The process "dies" here; the next load sees the journal.
    let loaded = store.load().unwrap();
    assert!(loaded.recovered);
    assert_eq!(loaded.state.serial, state.serial);
    assert_eq!(loaded.state.resources["New"].physical_id, "new-bucket");
    assert!(loaded.state.resources.contains_key("Role"));
    assert_eq!(loaded.in_flight, [intent("Role", IntentAction::Delete)]);

    // Continuing keeps the earlier entries, so the in-flight delete stays visible.
    let journal = store.journal_for(&loaded.state).unwrap();
    rt().block_on(journal.append(done("Role", None))).unwrap();
    let loaded = store.load().unwrap();
    assert!(loaded.in_flight.is_empty());
    assert!(!loaded.state.resources.contains_key("Role"));

    let mut compacted = loaded.state;
    store.commit(&mut compacted).unwrap();
    assert!(!store.paths().journal.exists());
    let after = store.load().unwrap();
    assert!(!after.recovered);
    assert_eq!(after.state, compacted);
}

#[test]
fn journal_on_fresh_layer_keeps_its_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let state = State::new();
    let journal = store.journal_for(&state).unwrap();
    rt().block_on(journal.append(done("A", Some("a")))).unwrap();
    let loaded = store.load().unwrap();
    assert!(loaded.recovered);
    assert_eq!(loaded.state.lineage, state.lineage);
    assert!(store.load_expecting(state.lineage).is_ok());
    // Reopening after the crash continues the same journal.
    let journal = store.journal().unwrap();
    rt().block_on(journal.append(done("B", Some("b")))).unwrap();
    let mut loaded = store.load().unwrap();
    assert_eq!(loaded.state.resources.keys().collect::<Vec<_>>(), ["A", "B"]);
    store.commit(&mut loaded.state).unwrap();
    assert_eq!(store.load().unwrap().state.lineage, state.lineage);
}

#[test]
fn journal_already_committed_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    let journal = store.journal_for(&state).unwrap();
    rt().block_on(journal.append(done("Extra", Some("extra")))).unwrap();
    let saved = std::fs::read(&store.paths().journal).unwrap();
    let mut next = store.load().unwrap().state;
    store.commit(&mut next).unwrap();
    // A commit that stopped between writing state and removing the journal.
    std::fs::write(&store.paths().journal, saved).unwrap();
    let loaded = store.load().unwrap();
    assert!(!loaded.recovered);
    assert_eq!(loaded.state, next);
    // A new journal replaces the stale one.
    let journal = store.journal_for(&loaded.state).unwrap();
    drop(journal);
    assert!(replay(&store.paths().journal).unwrap().is_empty());
}

/// A commit compacts what is settled and keeps what is not: whatever the caller did (a failed
/// settle, a journal write that failed after a provider call, a task that panicked), an intent
/// without its `done` survives every commit, until a `done` closes it.
#[test]
fn commit_never_drops_an_open_intent() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    let journal = store.journal_for(&state).unwrap();
    rt().block_on(async {
        journal.append(Entry::Intent(intent("New", IntentAction::Create))).await.unwrap();
        journal.append(done("New", Some("new-bucket"))).await.unwrap();
        journal.append(Entry::Intent(intent("Open", IntentAction::Create))).await.unwrap();
        journal.append(Entry::Intent(intent("Role", IntentAction::Delete))).await.unwrap();
    });
    drop(journal);
    let mut loaded = store.load().unwrap();
    assert_eq!(loaded.in_flight, [intent("Open", IntentAction::Create), intent("Role", IntentAction::Delete)]);
    // The caller commits without settling anything (as after a failed recovery).
    store.commit(&mut loaded.state).unwrap();
    let again = store.load().unwrap();
    assert_eq!(again.in_flight, loaded.in_flight, "the open intents survive the commit");
    assert_eq!(again.state.resources["New"].physical_id, "new-bucket", "what was done is in the state file");
    assert_eq!(replay(&store.paths().journal).unwrap().len(), 2, "only the open intents are carried");
    // A second commit, still unsettled, carries them again.
    let mut state = again.state;
    store.commit(&mut state).unwrap();
    assert_eq!(store.load().unwrap().in_flight, loaded.in_flight);
    // Settle one; the other stays.
    let journal = store.journal_for(&state).unwrap();
    rt().block_on(journal.append(done("Open", Some("found")))).unwrap();
    drop(journal);
    let mut loaded = store.load().unwrap();
    assert_eq!(loaded.in_flight, [intent("Role", IntentAction::Delete)]);
    store.commit(&mut loaded.state).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.in_flight, [intent("Role", IntentAction::Delete)]);
    assert_eq!(loaded.state.resources["Open"].physical_id, "found");
    // Settle the last: only now does the journal go.
    let journal = store.journal_for(&loaded.state).unwrap();
    rt().block_on(journal.append(done("Role", None))).unwrap();
    drop(journal);
    let mut loaded = store.load().unwrap();
    store.commit(&mut loaded.state).unwrap();
    assert!(!store.paths().journal.exists());
}

/// A commit that wrote the state file and was killed before it rewrote the journal leaves a
/// stale journal: its records are in the state, its open intents are still open, and the next
/// journal carries them on.
#[test]
fn a_stale_journal_keeps_its_open_intents() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    let journal = store.journal_for(&state).unwrap();
    rt().block_on(async {
        journal.append(done("Extra", Some("extra"))).await.unwrap();
        journal.append(Entry::Intent(intent("Open", IntentAction::Create))).await.unwrap();
    });
    drop(journal);
    let saved = std::fs::read(&store.paths().journal).unwrap();
    let mut next = store.load().unwrap().state;
    store.commit(&mut next).unwrap();
    // Killed between the state write and the journal's replacement.
    std::fs::write(&store.paths().journal, &saved).unwrap();
    let loaded = store.load().unwrap();
    assert_eq!(loaded.state, next);
    assert_eq!(loaded.in_flight, [intent("Open", IntentAction::Create)]);
    // Opening a journal on top of it carries the open intent over.
    drop(store.journal_for(&loaded.state).unwrap());
    assert_eq!(store.load().unwrap().in_flight, [intent("Open", IntentAction::Create)]);
    assert_eq!(replay(&store.paths().journal).unwrap(), [Entry::Intent(intent("Open", IntentAction::Create))]);
}

/// A journal with nothing to recover (stale and settled, or never written to) is removed; one
/// with an open intent or with records the state lacks is not.
#[test]
fn only_a_journal_with_nothing_to_recover_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    // Never written to.
    drop(store.journal_for(&state).unwrap());
    assert!(store.remove_settled_journal().unwrap());
    assert!(!store.paths().journal.exists());
    // Records the state lacks.
    let journal = store.journal_for(&state).unwrap();
    rt().block_on(journal.append(done("Extra", Some("extra")))).unwrap();
    drop(journal);
    assert!(!store.remove_settled_journal().unwrap());
    // Stale and settled: a commit stopped before removing it.
    let saved = std::fs::read(&store.paths().journal).unwrap();
    let mut next = store.load().unwrap().state;
    store.commit(&mut next).unwrap();
    std::fs::write(&store.paths().journal, &saved).unwrap();
    assert!(store.remove_settled_journal().unwrap());
    assert_eq!(store.load().unwrap().state, next);
    // An open intent keeps it.
    let journal = store.journal_for(&next).unwrap();
    rt().block_on(journal.append(Entry::Intent(intent("Open", IntentAction::Create)))).unwrap();
    drop(journal);
    assert!(!store.remove_settled_journal().unwrap());
    assert!(store.paths().journal.exists());
}

/// Intents record the resolved request; a version 1 journal (without it) is still read.
#[test]
fn intents_carry_their_request_and_old_journals_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    let mut with_request = intent("New", IntentAction::Create);
    with_request.request = Some(infra_core::state::IntentRequest {
        properties: serde_json::json!({"BucketName": "b", "Secret": "s3cr3t"}),
        account: Some("123456789012".to_string()),
        region: Some("eu-west-1".to_string()),
        depends_on: vec!["Role".to_string()],
        deletion_policy: DeletionPolicy::Retain,
        update_replace_policy: DeletionPolicy::Delete,
        metadata: serde_json::json!({"infra": {"empty_on_delete": true}}),
    });
    let journal = store.journal_for(&state).unwrap();
    rt().block_on(journal.append(Entry::Intent(with_request.clone()))).unwrap();
    drop(journal);
    assert_eq!(store.load().unwrap().in_flight, [with_request]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&store.paths().journal).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the journal holds resolved properties");
    }
    // A version 1 journal, as older builds wrote it.
    let v1 =
        format!("{{\"record\":\"begin\",\"journal\":1,\"lineage\":\"{}\",\"serial\":{}}}", state.lineage, state.serial);
    let old_intent = r#"{"record":"intent","logical_id":"Old","resource_type":"AWS::S3::Bucket","action":"create","physical_name":"p-dev-Old","physical_id":null,"token":"token-Old"}"#;
    let line = |json: &str| {
        use sha2::Digest;
        format!("{} {json}\n", hex::encode(&sha2::Sha256::digest(json.as_bytes())[..8]))
    };
    std::fs::write(&store.paths().journal, line(&v1) + &line(old_intent)).unwrap();
    assert_eq!(store.load().unwrap().in_flight, [intent("Old", IntentAction::Create)]);
}

#[test]
fn journal_ahead_of_a_restored_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    store.commit(&mut state).unwrap();
    let journal = store.journal_for(&state).unwrap();
    rt().block_on(journal.append(done("Extra", Some("extra")))).unwrap();
    // The user restores the older backup.
    std::fs::copy(&store.paths().backup, &store.paths().state).unwrap();
    let err = store.load().unwrap_err();
    assert_eq!(err.kind(), "journal-mismatch");
    assert!(err.to_string().contains("move the journal aside"), "{err}");
}

fn journal_with_lines(dir: &Path) -> (LayerStore, Vec<u8>) {
    let store = store(dir);
    let state = State::new();
    let journal = store.journal_for(&state).unwrap();
    rt().block_on(async {
        for id in ["A", "B", "C"] {
            journal.append(done(id, Some(id))).await.unwrap();
        }
    });
    let bytes = std::fs::read(&store.paths().journal).unwrap();
    (store, bytes)
}

#[test]
fn torn_last_line_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let (store, bytes) = journal_with_lines(dir.path());
    let last_start = bytes[..bytes.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    // Cut inside the last line, and a last line whose end landed but middle did not.
    let cut = bytes[..last_start + 20].to_vec();
    let mut zeroed = bytes.clone();
    zeroed[last_start + 30..bytes.len() - 1].fill(0);
    let mut garbage = bytes.clone();
    garbage.extend_from_slice(&[0u8; 100]);
    for torn in [cut, zeroed, garbage] {
        std::fs::write(&store.paths().journal, &torn).unwrap();
        let ids: usize = replay(&store.paths().journal).unwrap().len();
        assert!(ids == 2 || ids == 3, "{ids}");
        let loaded = store.load().unwrap();
        assert!(loaded.state.resources.contains_key("B"));
        // Continuing drops the torn tail before appending.
        let journal = store.journal_for(&loaded.state).unwrap();
        rt().block_on(journal.append(done("D", Some("d")))).unwrap();
        let loaded = store.load().unwrap();
        assert!(loaded.state.resources.contains_key("D"));
    }
}

#[test]
fn corrupt_middle_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, bytes) = journal_with_lines(dir.path());
    let second_line = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
    for offset in [0, 5, 17, 40] {
        let mut corrupt = bytes.clone();
        corrupt[second_line + offset] ^= 0x04;
        std::fs::write(&store.paths().journal, &corrupt).unwrap();
        let err = replay(&store.paths().journal).unwrap_err();
        assert_eq!(err.kind(), "journal-corrupt", "offset {offset}");
        assert!(err.to_string().contains("line 2"), "{err}");
        assert_eq!(store.load().unwrap_err().kind(), "journal-corrupt");
        assert!(store.journal_for(&State::new()).is_err());
        assert_eq!(std::fs::read(&store.paths().journal).unwrap(), corrupt, "journal changed");
    }
}

/// Appends queued while a flush cannot run yet all go out in one write and one fsync. The
/// runtime has one blocking thread, held by the test, so the journal's flush waits until every
/// append has queued its line: the sharing does not depend on how fast the disk is.
#[test]
fn group_commit_shares_fsyncs() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    const APPENDS: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let journal = store.journal_for(&State::new()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().max_blocking_threads(1).enable_all().build().unwrap();
    rt.block_on(async {
        let (hold, held) = std::sync::mpsc::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let blocker = tokio::task::spawn_blocking(move || {
            hold.send(()).unwrap();
            released.recv().unwrap();
        });
        held.recv().unwrap();
        // Poll every append once: each queues its line and waits for the flush.
        let mut appends: Vec<_> =
            (0..APPENDS).map(|i| Box::pin(journal.append(done(&format!("R{i}"), Some("p"))))).collect();
        let mut cx = Context::from_waker(Waker::noop());
        for append in &mut appends {
            assert!(matches!(append.as_mut().poll(&mut cx), Poll::Pending), "durable before any fsync");
        }
        assert_eq!(journal.fsync_count(), 0);
        release.send(()).unwrap();
        for append in appends {
            append.await.unwrap();
        }
        blocker.await.unwrap();
    });
    assert_eq!(journal.fsync_count(), 1, "{APPENDS} queued appends, one fsync");
    let entries = replay(&store.paths().journal).unwrap();
    let ids: Vec<String> = entries
        .iter()
        .map(|e| match e {
            Entry::Done { logical_id, .. } => logical_id.clone(),
            other => panic!("unexpected entry {other:?}"),
        })
        .collect();
    assert_eq!(ids, (0..APPENDS).map(|i| format!("R{i}")).collect::<Vec<_>>(), "in the order appended");
}

/// Many tasks appending at once: every entry lands, each task's in its own order, and the
/// fsyncs stay within what group commit allows whatever the disk's speed. No task has more
/// than one append outstanding, so one fsync covers at most one line per task; and there is
/// never more than one fsync per append.
#[test]
fn concurrent_appends_all_land_in_order() {
    const TASKS: usize = 10;
    const PER_TASK: usize = 1000;
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let journal = store.journal_for(&State::new()).unwrap();
    let started = Instant::now();
    rt().block_on(async {
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let journal = journal.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..PER_TASK {
                    journal.append(done(&format!("T{t}R{i}"), Some("p"))).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    let fsyncs = journal.fsync_count();
    eprintln!(
        "group commit: {} appends from {TASKS} tasks, {fsyncs} fsyncs, {:?}",
        TASKS * PER_TASK,
        started.elapsed()
    );
    assert!((PER_TASK as u64..=(TASKS * PER_TASK) as u64).contains(&fsyncs), "{fsyncs} fsyncs");
    let entries = replay(&store.paths().journal).unwrap();
    assert_eq!(entries.len(), TASKS * PER_TASK);
    for t in 0..TASKS {
        let prefix = format!("T{t}R");
        let order: Vec<String> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Done { logical_id, .. } if logical_id.starts_with(&prefix) => Some(logical_id.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(order, (0..PER_TASK).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>());
    }
}

#[test]
fn appends_are_durable_on_return() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let journal = store.journal_for(&State::new()).unwrap();
    rt().block_on(async {
        for i in 0..20 {
            journal.append(done(&format!("R{i}"), Some("p"))).await.unwrap();
            assert_eq!(replay(&store.paths().journal).unwrap().len(), i + 1);
        }
    });
}

#[test]
fn journal_errors_match_state_errors() {
    // A journal never opens on top of a state it does not continue.
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    let mut state = sample_state();
    store.commit(&mut state).unwrap();
    let err: StateError = store.journal_for(&State::new()).unwrap_err();
    assert_eq!(err.kind(), "lineage-mismatch");
    let mut stale = state.clone();
    stale.serial = 0;
    assert_eq!(store.journal_for(&stale).unwrap_err().kind(), "serial-conflict");
    assert!(store.journal().is_ok());
}

#[test]
fn journal_is_shareable_across_tasks() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<infra_core::state::Journal>();
}

/// Writes `lines` (each already a full journal line) as a layer's journal and replays it.
fn check_journal(lines: &[&str], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let store = store(dir.path());
    std::fs::create_dir_all(store.paths().journal.parent().unwrap()).unwrap();
    let text = lines.concat();
    std::fs::write(&store.paths().journal, &text).unwrap();
    match (replay(&store.paths().journal), expected) {
        (Ok(entries), _) => assert_eq!(format!("{} entries", entries.len()), expected, "{text}"),
        (Err(e), _) => assert_eq!(e.kind(), expected, "{text}: {e}"),
    }
    assert_eq!(std::fs::read_to_string(&store.paths().journal).unwrap(), text, "journal changed");
}

/// One checksummed journal line around `json`.
fn line(json: &str) -> String {
    use sha2::Digest;
    let sum = sha2::Sha256::digest(json.as_bytes());
    format!("{} {json}\n", sum[..8].iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[test]
fn journal_lines_are_checked() {
    let begin = line(r#"{"record":"begin","journal":1,"lineage":"6f1c2b7e-0d6a-4c1e-9a3b-2f9d8e7c6b5a","serial":0}"#);
    let newer = line(r#"{"record":"begin","journal":3,"lineage":"6f1c2b7e-0d6a-4c1e-9a3b-2f9d8e7c6b5a","serial":0}"#);
    let gone = line(r#"{"record":"done","logical_id":"A","resource":null}"#);
    let unknown = line(r#"{"record":"mystery"}"#);
    let no_sum = "{\"record\":\"done\",\"logical_id\":\"A\",\"resource\":null}\n";
    check_journal(&[&begin], "0 entries");
    check_journal(&[&begin, &gone, &gone], "2 entries");
    check_journal(&[&begin, &gone, "0123"], "1 entries");
    check_journal(&[&begin, &gone, no_sum], "1 entries");
    check_journal(&[&begin, no_sum, &gone], "journal-corrupt");
    check_journal(&[&begin, &unknown, &gone], "journal-corrupt");
    check_journal(&[&begin, &begin, &gone], "journal-corrupt");
    check_journal(&[&gone, &gone], "journal-corrupt");
    check_journal(&[""], "journal-corrupt");
    check_journal(&[&newer, &gone], "newer-version");
}

/// A deposed object is written `LogicalId~deposed`, as it always was: such a file loads into
/// the state's deposed objects and encodes back to the same bytes, and a journal's `Done`
/// under that key lands there too.
#[test]
fn deposed_objects_keep_their_written_form() {
    use infra_core::state::{file, ObjectKey};
    let mut state = sample_state();
    state.deposed.insert("Role".into(), record("Role~deposed", "old-training"));
    let bytes = file::encode(&state).expect("encode");
    let text = String::from_utf8(bytes.clone()).expect("utf-8");
    assert!(text.contains("\"Role~deposed\": {"), "{text}");
    let back = file::decode(&bytes, Path::new("state.json"), None).expect("decode");
    assert_eq!(back, state);
    assert_eq!(back.get(&ObjectKey::parse("Role~deposed")).map(|r| r.physical_id.as_str()), Some("old-training"));
    assert_eq!(back.get(&ObjectKey::Current("Role".into())).map(|r| r.physical_id.as_str()), Some("training"));
    assert_eq!(file::encode(&back).expect("encode"), bytes);
    let keys: Vec<String> = back.objects().into_iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(keys, ["Bucket", "Role", "Role~deposed"]);

    let (folded, open) = fold(sample_state(), vec![done("Role~deposed", Some("old-training")), done("Bucket", None)]);
    assert!(open.is_empty());
    assert_eq!(folded.deposed["Role"].physical_id, "old-training");
    assert!(!folded.resources.contains_key("Bucket") && folded.resources.contains_key("Role"));
    let (folded, _) = fold(folded, vec![done("Role~deposed", None)]);
    assert!(folded.deposed.is_empty());
}
