//! `infra plan`, `infra apply` and `infra destroy`, run as a user would: the real binary on an
//! `Infra::Local::*` project in a temporary directory, output compared with snapshots.

use std::path::Path;
use std::process::{Command, Stdio};

const SETTINGS: &str = r#"[project]
name = "demo"
region = "us-east-1"

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
    Type: Infra::Local::Data
    Properties:
      Input: !Ref Greeting
  Config:
    Type: Infra::Local::Data
    Properties:
      Input:
        Seed: !GetAtt Seed.Output
        Policy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Action: s3:GetObject
  Pinned:
    Type: Infra::Local::Data
    Properties:
      TriggersReplace: v1
      Input: pinned
Outputs:
  SeedId:
    Value: !Ref Seed
    Export:
      Name: !Sub "${AWS::StackName}-SeedId"
"#;

const BACKEND: &str = r#"Resources:
  App:
    Type: Infra::Local::Data
    Properties:
      Input: !ImportValue demo-dev-shared-SeedId
"#;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    std::fs::create_dir_all(p.join("stacks/shared")).expect("mkdir");
    std::fs::create_dir_all(p.join("stacks/backend")).expect("mkdir");
    std::fs::write(p.join("infra.toml"), SETTINGS).expect("write");
    std::fs::write(p.join("stacks/shared/data.yaml"), SHARED).expect("write");
    std::fs::write(p.join("stacks/backend/app.yaml"), BACKEND).expect("write");
    dir
}

fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{from} not in {file}");
    std::fs::write(&path, text.replace(from, to)).expect("write");
}

/// Generated IDs and timings differ from run to run.
fn redact(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut l = String::new();
        let mut rest = line;
        while let Some(i) = rest.find(|c: char| c.is_ascii_hexdigit()) {
            let (head, tail) = rest.split_at(i);
            l.push_str(head);
            let candidate: String = tail.chars().take(36).collect();
            let is_uuid = candidate.len() == 36
                && candidate.char_indices().all(|(j, c)| {
                    if [8, 13, 18, 23].contains(&j) {
                        c == '-'
                    } else {
                        c.is_ascii_hexdigit()
                    }
                });
            if is_uuid {
                l.push_str("<id>");
                rest = &tail[36..];
            } else {
                let c = tail.chars().next().unwrap_or(' ');
                l.push(c);
                rest = &tail[c.len_utf8()..];
            }
        }
        l.push_str(rest);
        // "after 0.0s" and "(0.0s)" timings
        let l = l.split(' ').map(|w| if is_timing(w) { "<t>" } else { w }).collect::<Vec<_>>().join(" ");
        out.push_str(&l);
        out.push('\n');
    }
    out
}

fn is_timing(word: &str) -> bool {
    let w = word.trim_start_matches('(').trim_end_matches(['.', ')', ',', ':']).trim_end_matches(')');
    w.ends_with('s')
        && w.len() > 1
        && w[..w.len() - 1].chars().all(|c| c.is_ascii_digit() || c == '.')
        && w.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Runs `infra` in `dir` with no terminal; returns exit code, stdout and stderr as one text.
fn infra(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_infra"))
        .args(args)
        .current_dir(dir)
        .env_remove("INFRA_ENV")
        .env_remove("INFRA_PROJECT_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run infra");
    let mut text = format!("exit: {}\n", out.status.code().unwrap_or(-1));
    for (name, stream) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        if !stream.is_empty() {
            text.push_str(&format!("--- {name}\n{}", String::from_utf8_lossy(stream)));
        }
    }
    redact(&text)
}

#[test]
fn plan_of_a_new_project() {
    let p = project();
    insta::assert_snapshot!("plan_new", infra(p.path(), &["plan"]));
    insta::assert_snapshot!("plan_new_layer", infra(p.path(), &["plan", "--layer", "shared", "--target", "Config"]));
    insta::assert_snapshot!("plan_unknown_target", infra(p.path(), &["plan", "--target", "Confg"]));
    insta::assert_snapshot!(
        "plan_detailed_exitcode",
        infra(p.path(), &["plan", "-detailed-exitcode", "--exclude", "Seed"])
    );
}

#[test]
fn apply_then_plan_changes() {
    let p = project();
    insta::assert_snapshot!("apply_refused_without_terminal", infra(p.path(), &["apply"]));
    insta::assert_snapshot!("apply_new", infra(p.path(), &["apply", "-auto-approve", "--parallelism", "1"]));
    insta::assert_snapshot!("plan_no_changes", infra(p.path(), &["plan", "--detailed-exitcode"]));

    edit(p.path(), "infra.toml", "hello", "bonjour");
    edit(p.path(), "stacks/shared/data.yaml", "TriggersReplace: v1", "TriggersReplace: v2");
    edit(p.path(), "stacks/shared/data.yaml", "s3:GetObject", "s3:PutObject");
    insta::assert_snapshot!("plan_changes", infra(p.path(), &["plan", "--detailed-exitcode"]));
    insta::assert_snapshot!(
        "plan_replace_requested",
        infra(p.path(), &["plan", "--target", "App", "--replace", "App"])
    );
}

#[test]
fn saved_plans_apply_exactly_once() {
    let p = project();
    let out = infra(p.path(), &["plan", "-out", "plan.json"]);
    assert!(out.contains("infra apply plan.json"), "{out}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path().join("plan.json")).expect("plan file")).expect("json");
    assert_eq!(saved["summary"]["add"], 4);
    assert_eq!(
        saved["layers"][0]["changes"][1]["after"]["Input"]["Seed"],
        serde_json::json!({"Fn::GetAtt": ["Seed", "Output"]})
    );

    let applied = infra(p.path(), &["apply", "plan.json"]);
    assert!(
        applied.starts_with("exit: 0") && applied.contains("Apply complete: 4 added, 0 changed, 0 destroyed"),
        "{applied}"
    );
    insta::assert_snapshot!("saved_plan_stale", infra(p.path(), &["apply", "plan.json"]));

    infra(p.path(), &["plan", "-out=second.json"]);
    edit(p.path(), "infra.toml", "hello", "hi");
    insta::assert_snapshot!("saved_plan_templates_changed", infra(p.path(), &["apply", "second.json"]));
}

#[test]
fn destroy_respects_imports() {
    let p = project();
    infra(p.path(), &["apply", "-auto-approve"]);
    insta::assert_snapshot!(
        "destroy_export_in_use",
        infra(p.path(), &["destroy", "--layer", "shared", "-auto-approve"])
    );
    insta::assert_snapshot!("destroy_refused_without_terminal", infra(p.path(), &["destroy"]));
    insta::assert_snapshot!("destroy_all", infra(p.path(), &["destroy", "-auto-approve", "-parallelism=1"]));
    insta::assert_snapshot!("plan_after_destroy_json_summary", {
        let out = infra(p.path(), &["plan", "--format", "json"]);
        let json = out.split_once("--- stdout\n").map(|(_, j)| j).unwrap_or("");
        let v: serde_json::Value = serde_json::from_str(json).expect("plan json");
        serde_json::to_string_pretty(&v["summary"]).expect("summary")
    });
}

#[test]
fn local_files_are_written_and_removed() {
    let p = project();
    std::fs::write(
        p.path().join("stacks/backend/files.yaml"),
        "Resources:\n  Note:\n    Type: Infra::Local::File\n    Properties:\n      Directory: out\n      FileName: note.txt\n      Content: !Sub \"seed ${AWS::StackName}\"\n",
    )
    .expect("write");
    let out = infra(p.path(), &["apply", "-auto-approve"]);
    assert!(out.starts_with("exit: 0"), "{out}");
    assert_eq!(std::fs::read_to_string(p.path().join("out/note.txt")).expect("note"), "seed demo-dev-backend");
    let out = infra(p.path(), &["destroy", "-auto-approve"]);
    assert!(out.starts_with("exit: 0"), "{out}");
    assert!(!p.path().join("out/note.txt").exists());
}

#[test]
fn terraform_style_flags_are_accepted() {
    let args = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
    let check = |input: &[&str], expected: &[&str]| {
        assert_eq!(infra::cli::terraform_style_flags(args(input)), args(expected), "{input:?}");
    };
    check(&["infra", "apply", "-auto-approve"], &["infra", "apply", "--auto-approve"]);
    check(&["infra", "plan", "-out=p.json"], &["infra", "plan", "--out=p.json"]);
    check(&["infra", "plan", "-out", "p.json"], &["infra", "plan", "--out", "p.json"]);
    check(&["infra", "plan", "--out", "p.json"], &["infra", "plan", "--out", "p.json"]);
    check(&["infra", "plan", "-h"], &["infra", "plan", "-h"]);
    check(&["infra", "apply", "--", "-auto-approve"], &["infra", "apply", "--", "-auto-approve"]);
}

#[test]
fn no_echo_values_are_masked_in_plans() {
    let p = project();
    edit(p.path(), "infra.toml", "Greeting = \"hello\"", "Greeting = \"hello\"\nToken = \"s3cr3t-token\"");
    std::fs::write(
        p.path().join("stacks/backend/secret.yaml"),
        "Parameters:\n  Token:\n    Type: String\n    NoEcho: true\nResources:\n  Client:\n    Type: Infra::Local::Data\n    Properties:\n      Input:\n        Header: !Sub \"Bearer ${Token}\"\n        Plain: visible\n",
    )
    .expect("write");
    let out = infra(p.path(), &["plan", "--target", "Client"]);
    insta::assert_snapshot!("plan_no_echo", out);
    assert!(!out.contains("s3cr3t"), "{out}");
}

#[test]
fn importers_follow_a_changing_export() {
    let p = project();
    infra(p.path(), &["apply", "-auto-approve"]);
    let out = infra(p.path(), &["plan", "--replace", "Seed"]);
    insta::assert_snapshot!("plan_export_changes", out);
    let applied = infra(p.path(), &["apply", "-auto-approve", "--replace", "Seed"]);
    // Config's input turns out unchanged once Seed is known, so it needs no call.
    assert!(applied.contains("Apply complete: 1 added, 1 changed, 1 destroyed"), "{applied}");
    assert!(applied.contains("shared.Seed (deposed): Destruction complete"), "{applied}");
    let again = infra(p.path(), &["plan", "--detailed-exitcode"]);
    assert!(again.starts_with("exit: 0"), "{again}");
}

#[test]
fn a_failed_create_stops_only_its_dependents() {
    let p = project();
    std::fs::write(p.path().join("blocker"), "").expect("write");
    std::fs::write(
        p.path().join("stacks/backend/files.yaml"),
        "Resources:\n  Bad:\n    Type: Infra::Local::File\n    Properties:\n      Directory: blocker/sub\n      FileName: x.txt\n  AfterBad:\n    Type: Infra::Local::Data\n    Properties:\n      Input: !GetAtt Bad.Path\n",
    )
    .expect("write");
    let out = infra(p.path(), &["apply", "-auto-approve", "--parallelism", "1"]);
    let tail =
        out.split_once("Plan: ").map(|(_, t)| t).unwrap_or(&out).replace(&p.path().display().to_string(), "<dir>");
    insta::assert_snapshot!("apply_failure", tail);
    let list = infra(p.path(), &["state", "list"]);
    assert!(list.contains("backend.App") && !list.contains("AfterBad"), "{list}");
}

#[test]
fn apply_reports_as_one_json_document() {
    let p = project();
    let refused = infra(p.path(), &["apply", "--format", "json"]);
    assert!(refused.starts_with("exit: 1") && refused.contains("pass -auto-approve"), "{refused}");
    let out = infra(p.path(), &["apply", "-auto-approve", "--format", "json"]);
    let json = out.split_once("--- stdout\n").map(|(_, j)| j).unwrap_or("");
    let doc: serde_json::Value = serde_json::from_str(json).expect("one JSON document");
    assert_eq!(doc["plan"]["summary"]["add"], 4);
    assert_eq!(doc["report"]["added"], 4);
    assert_eq!(doc["report"]["failures"], serde_json::json!([]));
}
