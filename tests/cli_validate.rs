//! `infra validate` and `infra graph` through the real binary: human and JSON output,
//! exit codes, snapshots.

use std::path::Path;
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Run the binary from the repository root (so displayed paths are stable), without colours.
fn infra(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_infra"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env("NO_COLOR", "1")
        .env_remove("INFRA_ENV")
        .env_remove("INFRA_PROJECT_DIR")
        .output()
        .expect("run infra");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const SEED: &str = "tests/fixtures/seed/sagemaker-endpoint.json";
const GOOD: &str = "crates/infra-core/tests/fixtures/eval/project";
const BAD: &str = "crates/infra-core/tests/fixtures/eval/bad-project";

#[test]
fn seed_template_human() {
    let r = infra(&["validate", SEED]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn seed_template_json() {
    let r = infra(&["validate", "--format", "json", SEED]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    insta::assert_snapshot!(serde_json::to_string_pretty(&doc).unwrap_or_default());
}

#[test]
fn fixed_seed_template_has_no_errors() {
    let r = infra(&["validate", "tests/fixtures/seed/sagemaker-endpoint-fixed.json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
}

#[test]
fn good_project() {
    let r = infra(&["--project-dir", GOOD, "validate"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "validate: 0 errors, 0 warnings (3 layers, 2 environments, 6 resources)\n");
    let r = infra(&["--project-dir", GOOD, "--env", "prod", "validate"]);
    assert_eq!(r.stdout, "validate: 0 errors, 0 warnings (3 layers, 1 environment, 6 resources)\n");
}

#[test]
fn folders_stand_for_their_templates() {
    let r = infra(&["validate", "crates/infra-core/tests/fixtures/eval/project/stacks"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert_eq!(r.stdout, "validate: 0 errors, 0 warnings (3 files, 6 resources)\n");
}

#[test]
fn unknown_environment() {
    let r = infra(&["--project-dir", GOOD, "--env", "prd", "validate"]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn bad_project_human() {
    let r = infra(&["--project-dir", BAD, "validate"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn graph_dot() {
    let r = infra(&["--project-dir", GOOD, "graph"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
    assert_eq!(r.stderr, "graph: 3 layers, 6 resources, 2 dependencies, 3 cross-layer imports (environment dev)\n");
    let r = infra(&["--project-dir", GOOD, "--env", "prod", "graph", "--layer", "backend"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
}

#[test]
fn graph_of_a_broken_project_fails() {
    let r = infra(&["--project-dir", BAD, "graph"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("error[E5003]"), "{}", r.stderr);
}

#[test]
fn help_has_examples() {
    for cmd in ["validate", "graph"] {
        let r = infra(&[cmd, "--help"]);
        assert_eq!(r.code, 0);
        assert!(r.stdout.contains("Examples:"), "{cmd}: {}", r.stdout);
    }
}
