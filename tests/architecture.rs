//! Architecture invariants that a test can keep true (see ARCHITECTURE.md).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The engine never talks to AWS or parses command lines: it sees only the Provider trait.
#[test]
fn engine_imports_no_aws_sdk_and_no_clap() {
    let manifest = std::fs::read_to_string(root().join("crates/infra-core/Cargo.toml")).expect("manifest");
    for forbidden in ["aws-sdk", "aws-config", "aws-smithy", "clap"] {
        assert!(!manifest.contains(forbidden), "infra-core depends on {forbidden}");
    }
    let mut files = Vec::new();
    rust_files(&root().join("crates/infra-core/src"), &mut files);
    assert!(!files.is_empty());
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        for forbidden in ["aws_sdk_", "aws_config", "clap::"] {
            assert!(!text.contains(forbidden), "{} mentions {forbidden}", f.display());
        }
    }
}

/// Providers know nothing of plans, state files or the command line.
#[test]
fn providers_do_not_reach_into_the_engine() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/infra-aws/src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        for forbidden in ["infra_core::plan", "infra_core::apply", "infra_core::state::store", "clap::"] {
            assert!(!text.contains(forbidden), "{} uses {forbidden}", f.display());
        }
    }
}

/// Providers never print: the engine owns output (waits are provider events, retry notices go
/// to the observer the binary sets). Only the test harness may write to the terminal.
#[test]
fn providers_never_print() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/infra-aws/src"), &mut files);
    for f in files.iter().filter(|f| !f.ends_with("testing.rs")) {
        let text = std::fs::read_to_string(f).expect("source");
        for forbidden in ["println!", "print!(", "eprint", "std::io::stdout", "std::io::stderr", "dbg!("] {
            assert!(!text.contains(forbidden), "{} uses {forbidden}", f.display());
        }
    }
}
