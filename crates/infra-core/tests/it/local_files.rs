//! `Infra::Local::File` through a provider made for a project: where it may write, what it
//! refuses, and the modes of what it creates.

use infra_core::provider::local::{LocalProvider, FILE};
use infra_core::provider::{CreateRequest, ErrorKind, Provider, ReadRequest, ResourceContext, UpdateRequest};
use serde_json::{json, Value as J};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn context() -> ResourceContext {
    ResourceContext {
        project: "p".into(),
        environment: "dev".into(),
        layer: "files".into(),
        stack_name: "p-dev-files".into(),
        logical_id: "Note".into(),
        resource_type: FILE.into(),
        ..Default::default()
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// A project directory, a directory beside it that the project allows, and one it does not.
struct Dirs {
    _root: tempfile::TempDir,
    project: PathBuf,
    allowed: PathBuf,
    other: PathBuf,
}

fn dirs() -> Dirs {
    let root = tempfile::tempdir().expect("tempdir");
    let [project, allowed, other] = ["project", "allowed", "other"].map(|d| root.path().join(d));
    for d in [&project, &allowed, &other] {
        std::fs::create_dir(d).expect("mkdir");
    }
    Dirs { _root: root, project, allowed, other }
}

async fn create(provider: &LocalProvider, props: J) -> Result<String, infra_core::provider::ProviderError> {
    let context = context();
    let physical_name = provider.physical_name(&context, &props);
    let req = CreateRequest { context, physical_name, token: "t".into(), properties: props };
    provider.create(&req).await.map(|a| a.physical_id)
}

#[tokio::test]
async fn files_stay_inside_the_project_and_allowed_directories() {
    type Setup = fn(&Dirs) -> String;
    // (case, set-up returning the Directory, Ok(expected mode) or Err(text in the message))
    let cases: Vec<(&str, Setup, Result<u32, &str>)> = vec![
        ("relative, inside", |_| "out/deeper".into(), Ok(0o600)),
        ("absolute, inside", |d| d.project.join("abs").display().to_string(), Ok(0o600)),
        ("allowed outside", |d| d.allowed.join("x").display().to_string(), Ok(0o600)),
        ("dot-dot out", |_| "out/../../other".into(), Err("outside the project directory")),
        ("absolute elsewhere", |d| d.other.display().to_string(), Err("outside the project directory")),
        (
            "symlinked directory leading out",
            |d| {
                std::os::unix::fs::symlink(&d.other, d.project.join("link")).expect("symlink");
                "link/sub".into()
            },
            Err("is a symbolic link to"),
        ),
        (
            "symlinked directory staying inside",
            |d| {
                std::fs::create_dir(d.project.join("real")).expect("mkdir");
                std::os::unix::fs::symlink(d.project.join("real"), d.project.join("alias")).expect("symlink");
                "alias".into()
            },
            Ok(0o600),
        ),
    ];
    for (case, setup, expected) in cases {
        let d = dirs();
        let provider = LocalProvider::for_project(&d.project, &[PathBuf::from("../allowed")]);
        let directory = setup(&d);
        let got = create(&provider, json!({"Directory": directory, "FileName": "note.txt", "Content": "hi"})).await;
        match (got, expected) {
            (Ok(path), Ok(m)) => {
                assert_eq!(std::fs::read_to_string(&path).expect("read"), "hi", "{case}");
                assert_eq!(mode(Path::new(&path)), m, "{case}");
            }
            (Err(e), Err(text)) => {
                assert_eq!(e.kind, ErrorKind::Invalid, "{case}: {e}");
                assert!(e.to_string().contains(text), "{case}: {e}");
                assert_eq!(std::fs::read_dir(&d.other).expect("other").count(), 0, "{case}: wrote outside");
            }
            (got, expected) => panic!("{case}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[tokio::test]
async fn the_file_itself_is_never_opened_through_a_link() {
    let d = dirs();
    let provider = LocalProvider::for_project(&d.project, &[]);
    let target = d.other.join("precious.txt");
    std::fs::write(&target, "keep me").expect("write");
    std::os::unix::fs::symlink(&target, d.project.join("note.txt")).expect("symlink");
    let props = json!({"Directory": ".", "FileName": "note.txt", "Content": "overwritten"});
    assert!(create(&provider, props.clone()).await.is_err());
    let path = d.project.join("note.txt").display().to_string();
    let req = UpdateRequest {
        context: context(),
        physical_id: path.clone(),
        old_properties: props.clone(),
        new_properties: props.clone(),
        old_attributes: Default::default(),
    };
    let err = provider.update(&req).await.expect_err("update through a link");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    let read = ReadRequest { context: context(), physical_id: path, properties: props, attributes: Default::default() };
    assert!(provider.read(&read).await.is_err());
    assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep me");
}

#[tokio::test]
async fn modes_are_set_whatever_the_umask() {
    let d = dirs();
    let provider = LocalProvider::for_project(&d.project, &[]);
    let cases = [
        (json!(null), Ok((0o600, 0o700))),
        (json!("0644"), Ok((0o644, 0o755))),
        (json!("640"), Ok((0o640, 0o750))),
        (json!("0400"), Ok((0o400, 0o700))),
        (json!("0999"), Err("must be a string of octal permission bits")),
        (json!("04755"), Err("must be a string of octal permission bits")),
        (json!(644), Err("quote it")),
    ];
    for (i, (m, expected)) in cases.into_iter().enumerate() {
        let dir = format!("m{i}/sub");
        let mut props = json!({"Directory": dir, "FileName": "f", "Content": "x"});
        if !m.is_null() {
            props["Mode"] = m.clone();
        }
        match (create(&provider, props.clone()).await, expected) {
            (Ok(path), Ok((file_mode, dir_mode))) => {
                assert_eq!(mode(Path::new(&path)), file_mode, "{m}");
                assert_eq!(mode(&d.project.join(format!("m{i}"))), dir_mode, "{m}");
                assert_eq!(mode(&d.project.join(&dir)), dir_mode, "{m}");
                // A changed Mode is an in-place update, and a read reports it as written.
                let mut new = props.clone();
                new["Mode"] = json!("0604");
                let req = UpdateRequest {
                    context: context(),
                    physical_id: path.clone(),
                    old_properties: props.clone(),
                    new_properties: new.clone(),
                    old_attributes: Default::default(),
                };
                provider.update(&req).await.expect("update");
                assert_eq!(mode(Path::new(&path)), 0o604, "{m}");
                let read = ReadRequest {
                    context: context(),
                    physical_id: path,
                    properties: new,
                    attributes: Default::default(),
                };
                let observed = provider.read(&read).await.expect("read").expect("exists");
                assert_eq!(observed.properties["Mode"], json!("0604"), "{m}");
            }
            (Err(e), Err(text)) => assert!(e.to_string().contains(text), "{m}: {e}"),
            (got, expected) => panic!("{m}: got {got:?}, expected {expected:?}"),
        }
    }
}
