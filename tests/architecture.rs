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

/// The CLI is thin: planning, the journal, recovery, state files and saved-plan files are the
/// engine's (`infra_core::workspace`, `infra_core::plan::saved`); the CLI parses flags, builds
/// providers, calls the engine and prints.
#[test]
fn the_cli_holds_no_engine_logic() {
    let mut files = Vec::new();
    rust_files(&root().join("src/cli"), &mut files);
    assert!(!files.is_empty());
    let forbidden = [
        // Planning and its rounds.
        "infra_core::plan::planner",
        "planner::",
        "PlanInput",
        "plan::plan(",
        "changing_exports",
        "exports_of",
        // The journal and applying through it.
        "state::journal",
        "Journal",
        "Walker",
        "ApplyOptions",
        // Settling what an interrupted run left open.
        "apply::recover",
        "recover::",
        "OpenIntent",
        // State files, locks and edits to state.
        "LayerStore",
        "read_info",
        // Saved plans and their freshness.
        "check_fresh",
        "adopt_lineage",
        "write_private_file",
        "PLAN_FORMAT_VERSION",
        "Sha256",
    ];
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        for word in forbidden {
            assert!(!text.contains(word), "{} uses {word}, which is the engine's", f.display());
        }
    }
}

/// Library crates print nothing: the binary owns the terminal, and everything a library has to
/// say (progress, waits, retries) reaches it as an event or a return value. Only the local AWS
/// test harness, which is not part of the product, may print.
#[test]
fn library_crates_print_nothing() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/infra-core/src"), &mut files);
    rust_files(&root().join("crates/infra-aws/src"), &mut files);
    let harness = root().join("crates/infra-aws/src/testing.rs");
    let mut found = Vec::new();
    for f in files.iter().filter(|f| **f != harness) {
        let text = std::fs::read_to_string(f).expect("source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for forbidden in ["println!", "print!(", "eprint!(", "dbg!(", "io::stdout(", "io::stderr("] {
                if code.contains(forbidden) {
                    found.push(format!("{}:{}: {forbidden}", f.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "library code writes to the terminal:\n{}", found.join("\n"));
}

/// The resource type is the unit of infra-aws: every service folder lists its types in one
/// table (`TYPES` in its `mod.rs`), each entry `&module::Type` is implemented in that folder's
/// `module.rs`, and no file implements two types.
#[test]
fn every_type_in_a_service_table_has_its_own_file() {
    let src = root().join("crates/infra-aws/src");
    let entry = table_entries();
    let mut services = 0;
    for dir in std::fs::read_dir(&src).expect("read infra-aws/src").flatten() {
        let path = dir.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if !path.is_dir() || name == "kit" {
            continue;
        }
        services += 1;
        let service = std::fs::read_to_string(path.join("mod.rs")).expect("service mod.rs");
        let table = service
            .split("const TYPES")
            .nth(1)
            .and_then(|rest| rest.split("];").next())
            .unwrap_or_else(|| panic!("{name}/mod.rs has no TYPES table"));
        let entries: Vec<(String, String)> = entry(table);
        assert!(!entries.is_empty(), "{name}/mod.rs lists no types");
        for (module, ty) in &entries {
            let file = path.join(format!("{module}.rs"));
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{name}: the table lists {module}::{ty}, but {}: {e}", file.display()));
            assert!(
                text.lines().any(|l| l.starts_with("impl ")
                    && l.contains("ResourceType<")
                    && l.contains(&format!("for {ty} {{"))),
                "{} does not implement ResourceType for {ty}",
                file.display()
            );
        }
        let mut files = Vec::new();
        rust_files(&path, &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).expect("source");
            let impls = text.lines().filter(|l| l.starts_with("impl ") && l.contains("ResourceType<")).count();
            assert!(impls <= 1, "{} implements {impls} resource types; one type per file", f.display());
        }
    }
    assert!(services >= 4, "found only {services} service folders under {}", src.display());
}

/// `&module::Type` entries of a table, in order.
fn table_entries() -> impl Fn(&str) -> Vec<(String, String)> {
    |table: &str| {
        table
            .split('&')
            .skip(1)
            .filter_map(|item| {
                let item: String = item.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
                let (module, ty) = item.split_once("::")?;
                Some((module.to_string(), ty.to_string()))
            })
            .collect()
    }
}
