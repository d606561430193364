//! `infra explain`: the explanation of a code, the list of codes, and a clear error for a
//! code that does not exist.

use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn infra(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_infra")).args(args).env("NO_COLOR", "1").output().expect("run infra");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn explain_prints_the_explanation_with_a_wrong_and_a_fixed_example() {
    let r = infra(&["explain", "E1139"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!(r.stdout);
    // Codes are case-insensitive.
    assert_eq!(infra(&["explain", "e1139"]).stdout, r.stdout);
}

#[test]
fn explain_without_a_code_lists_every_code() {
    let r = infra(&["explain"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), infra_core::diag::explain::EXPLANATIONS.len());
    assert!(lines.contains(&"E1139  Fn::FindInMap takes three arguments"), "{}", r.stdout);
    assert!(lines.contains(&"W4001  a policy statement allows every action on every resource"), "{}", r.stdout);
}

#[test]
fn explain_as_json() {
    let r = infra(&["--format", "json", "explain", "W4003"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(doc["code"], "W4003");
    assert!(doc["wrong"].as_str().is_some_and(|w| w.contains("Default: hunter2")), "{doc}");
    assert!(doc["fixed"].as_str().is_some_and(|f| !f.contains("Default")), "{doc}");
}

#[test]
fn an_unknown_code_is_an_error_with_a_suggestion() {
    let r = infra(&["explain", "E1193"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    assert_eq!(r.stderr, "error: no diagnostic has the code `E1193`; did you mean `E1139`?\n");
    let r = infra(&["explain", "nonsense"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stderr, "error: no diagnostic has the code `nonsense`; `infra explain` lists every code\n");
}

#[test]
fn every_code_in_the_cli_snapshots_is_explained() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("read snapshots").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read snapshot");
        for code in codes_shown(&text) {
            seen += 1;
            let r = infra(&["explain", &code]);
            assert_eq!(r.code, 0, "{code} in {}: {}", entry.path().display(), r.stderr);
        }
    }
    assert!(seen > 0, "no diagnostic found in the snapshots");
}

/// The codes of the diagnostics in `text`: what follows `error[` or `warning[`.
fn codes_shown(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for prefix in ["error[", "warning["] {
        for (i, _) in text.match_indices(prefix) {
            let code: String = text[i + prefix.len()..].chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            if text[i + prefix.len() + code.len()..].starts_with(']') {
                out.push(code);
            }
        }
    }
    out
}
