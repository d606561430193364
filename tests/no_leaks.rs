//! Nothing leaks: a unique canary planted in a `NoEcho` parameter, used in properties, in an
//! output and in a path that cannot be created, never shows in what `infra` prints, whatever
//! the command and format; `--show-sensitive` shows it. The real binary on an
//! `Infra::Local::*` project in a temporary directory, so no AWS is needed.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Unique enough never to appear by accident; `"` and `\` check the JSON-escaped form too.
const CANARY: &str = "cAnArY-5f1e\"9b\\04d7";

fn settings() -> String {
    let value = toml::Value::String(CANARY.to_string());
    format!(
        "[project]\nname = \"leak\"\nregion = \"us-east-1\"\n\n[state]\npath = \"state\"\n\n[environments.dev.parameters]\nPassword = {value}\n"
    )
}

const TEMPLATE: &str = r#"Parameters:
  Password:
    Type: String
    NoEcho: true
Resources:
  Client:
    Type: Infra::Local::Data
    Properties:
      Input:
        Header: !Sub "Bearer ${Password}"
        Plain: visible
  Secret:
    Type: Infra::Local::File
    Properties:
      Directory: out
      FileName: secret.txt
      Content: !Sub "password=${Password}"
Outputs:
  Header:
    Value: !GetAtt Client.Output
  Token:
    Value: !Sub "token-${Password}"
"#;

/// A resource whose Directory holds the canary and cannot be created (`blocker` is a file),
/// so the provider's error message carries the value.
const BROKEN: &str = r#"  Broken:
    Type: Infra::Local::File
    Properties:
      Directory: !Sub "blocker/${Password}"
      FileName: x.txt
"#;

fn with_broken() -> String {
    TEMPLATE.replace("Outputs:\n", &format!("{BROKEN}Outputs:\n"))
}

/// One step of the run.
enum Step {
    /// Run infra with these arguments; it must exit with this code.
    Run(&'static [&'static str], i32),
    /// Replace the layer's template.
    Template(fn() -> String),
    /// Check files on disk.
    Check(fn(&Path)),
}

fn infra(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_infra"))
        .arg("--project-dir")
        .arg(dir)
        .args(["--no-color"])
        .args(args)
        .current_dir(dir)
        .env_remove("INFRA_ENV")
        .env_remove("INFRA_PROJECT_DIR")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run infra")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn saved_plan_is_private(dir: &Path) {
    let path = dir.join("plan.json");
    let mode = std::fs::metadata(&path).expect("saved plan").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "saved plan mode");
    // The saved plan is not output: it keeps the real values apply needs.
    let saved = std::fs::read_to_string(&path).expect("read the saved plan");
    let escaped = serde_json::Value::String(CANARY.into()).to_string();
    assert!(saved.contains(escaped.trim_matches('"')), "the saved plan lost the real value");
}

fn secret_file_written(dir: &Path) {
    let content = std::fs::read_to_string(dir.join("out/secret.txt")).expect("the local file");
    assert_eq!(content, format!("password={CANARY}"));
}

#[test]
fn no_echo_values_never_show_in_any_output() {
    use Step::{Check, Run, Template};
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    std::fs::create_dir_all(p.join("stacks/backend")).expect("mkdir");
    std::fs::write(p.join("infra.toml"), settings()).expect("write");
    std::fs::write(p.join("blocker"), "").expect("write");
    let template = p.join("stacks/backend/app.yaml");
    let steps = [
        Template(|| TEMPLATE.to_string()),
        Run(&["validate"], 0),
        Run(&["validate", "--format", "json"], 0),
        Run(&["plan"], 0),
        Run(&["plan", "--format", "json"], 0),
        Run(&["plan", "-out", "plan.json"], 0),
        Check(saved_plan_is_private),
        Run(&["apply", "plan.json"], 0),
        Check(secret_file_written),
        Run(&["state", "list"], 0),
        Run(&["state", "list", "--format", "json"], 0),
        Run(&["state", "show", "backend.Client"], 0),
        Run(&["state", "show", "backend.Client", "--format", "json"], 0),
        Run(&["state", "show", "backend.Secret"], 0),
        Run(&["state", "show", "backend.Secret", "--format", "json"], 0),
        Run(&["output"], 0),
        Run(&["output", "--format", "json"], 0),
        Run(&["output", "backend", "Token"], 0),
        Run(&["output", "backend", "Header", "--format", "json"], 0),
        Template(with_broken),
        Run(&["apply", "-auto-approve"], 1),
        Run(&["apply", "-auto-approve", "--format", "json"], 1),
        Template(|| TEMPLATE.to_string()),
        Run(&["apply", "-auto-approve", "--format", "json"], 0),
        Run(&["destroy", "-auto-approve", "--target", "Secret", "--format", "json"], 0),
        Run(&["destroy", "-auto-approve"], 0),
    ];
    let mut masked = 0;
    for step in steps {
        match step {
            Template(t) => std::fs::write(&template, t()).expect("write template"),
            Check(check) => check(p),
            Run(args, code) => {
                let out = infra(p, args);
                let shown = text(&out);
                assert_eq!(out.status.code(), Some(code), "infra {}:\n{shown}", args.join(" "));
                for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                    let s = String::from_utf8_lossy(bytes);
                    for needle in ["cAnArY", "5f1e"] {
                        assert!(!s.contains(needle), "infra {}: the canary is in {stream}:\n{shown}", args.join(" "));
                    }
                    if args.contains(&"--format") && stream == "stdout" && !s.is_empty() {
                        serde_json::from_str::<serde_json::Value>(&s)
                            .unwrap_or_else(|e| panic!("infra {}: stdout is not JSON ({e}):\n{shown}", args.join(" ")));
                    }
                }
                masked += shown.matches("(sensitive value)").count();
            }
        }
    }
    assert!(masked > 10, "the masked values were not shown as (sensitive value) ({masked} times)");
}

#[test]
fn show_sensitive_shows_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    std::fs::create_dir_all(p.join("stacks/backend")).expect("mkdir");
    std::fs::write(p.join("infra.toml"), settings()).expect("write");
    std::fs::write(p.join("stacks/backend/app.yaml"), TEMPLATE).expect("write");
    let out = infra(p, &["apply", "-auto-approve", "--show-sensitive"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Bearer cAnArY-5f1e"), "{}", text(&out));
    let out = infra(p, &["output", "backend", "Token", "--show-sensitive"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("token-{CANARY}\n"));
    let out = infra(p, &["output", "backend", "Token"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "(sensitive value)\n");
}
