//! The reference project is plain CloudFormation: cfn-lint (installed into `.venv/` by
//! `scripts/test.sh`) finds no error in any of its templates, and reports the seed template's
//! `Fn::FindInMap` bug at the same line and column as `infra validate`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn cfn_lint() -> PathBuf {
    let path = root().join(".venv/bin/cfn-lint");
    assert!(path.exists(), "{} is missing: scripts/test.sh installs cfn-lint into .venv/", path.display());
    path
}

fn templates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for layer in std::fs::read_dir(root().join("stacks")).expect("read stacks/") {
        for file in std::fs::read_dir(layer.expect("layer").path()).expect("read layer") {
            out.push(file.expect("template").path());
        }
    }
    out.sort();
    out
}

#[test]
fn cfn_lint_reports_no_error_in_the_reference_project() {
    let files = templates();
    assert!(files.len() >= 5, "{files:?}");
    // cfn-lint lints every file it is given as a template of its own.
    let out = Command::new(cfn_lint()).arg("--format").arg("parseable").args(&files).output().expect("run cfn-lint");
    let report = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> =
        report.lines().filter(|l| l.split(':').nth(5).is_some_and(|c| c.starts_with('E'))).collect();
    assert!(errors.is_empty(), "cfn-lint errors:\n{}", errors.join("\n"));
}

#[test]
fn infra_and_cfn_lint_place_the_seed_find_in_map_error_alike() {
    let seed = "tests/fixtures/seed/sagemaker-endpoint.json";
    let out = Command::new(cfn_lint())
        .current_dir(root())
        .args(["--format", "parseable", seed])
        .output()
        .expect("run cfn-lint");
    let report = String::from_utf8_lossy(&out.stdout);
    let theirs = report
        .lines()
        .find(|l| l.contains(":E1011:"))
        .map(|l| l.split(':').skip(1).take(2).collect::<Vec<_>>().join(":"))
        .unwrap_or_else(|| panic!("cfn-lint reported no E1011:\n{report}"));

    let out = Command::new(env!("CARGO_BIN_EXE_infra"))
        .current_dir(root())
        .args(["validate", "--format", "json", seed])
        .output()
        .expect("run infra");
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let ours = doc["diagnostics"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["code"] == "E1139"))
        .map(|d| format!("{}:{}", d["line"], d["column"]))
        .unwrap_or_else(|| panic!("infra reported no E1139: {doc}"));
    assert_eq!(ours, theirs);
}

/// A reader that goes away (`infra validate | head`) ends infra quietly, never with a panic.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_infra"))
        .current_dir(root())
        .args(["validate", "--format", "json", "tests/fixtures/seed/sagemaker-endpoint.json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run infra");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for infra");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
