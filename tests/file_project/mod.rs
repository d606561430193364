//! A generated project of `Infra::Local::File` resources, the real `infra` binary to run on it,
//! and the check that the files on disk and the state agree: the ground truth of the crash and
//! interrupt tests.
#![allow(dead_code)] // each test binary uses its own part

use infra_core::state::store::LayerStore;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub const PROJECT: &str = "crash";
pub const ENV: &str = "dev";
pub const LAYER: &str = "backend";

/// What `AWS::StackName` evaluates to, and so the prefix of generated file names.
pub const STACK: &str = "crash-dev-backend";

/// One file resource: the earlier files its content refers to, and whether its name is fixed.
#[derive(Clone, Debug)]
struct FileNode {
    dependencies: Vec<usize>,
    fixed_name: bool,
}

/// The dependency graph of the generated files.
#[derive(Clone, Debug)]
pub struct Graph {
    files: Vec<FileNode>,
}

pub fn logical_id(index: usize) -> String {
    format!("F{index}")
}

impl Graph {
    /// Chains with fan-in: most files refer to the one before them (so chains form), a new
    /// chain starts every few files, and some files also refer to one or two random earlier
    /// files. About one in seven has a fixed `FileName`, the rest get a generated one.
    pub fn generate(n: usize, rng: &mut fastrand::Rng) -> Graph {
        let files = (0..n)
            .map(|i| {
                let mut dependencies = BTreeSet::new();
                if i > 0 && i % 6 != 0 {
                    dependencies.insert(i - 1);
                }
                if i > 1 {
                    for _ in 0..rng.usize(0..3) {
                        dependencies.insert(rng.usize(0..i));
                    }
                }
                FileNode { dependencies: dependencies.into_iter().collect(), fixed_name: i % 7 == 3 }
            })
            .collect();
        Graph { files }
    }

    pub fn logical_ids(&self) -> BTreeSet<String> {
        (0..self.files.len()).map(logical_id).collect()
    }

    /// The template writing every file into `directory`. `version` is carried by the content
    /// of every third file, so moving to the next version updates a third of them.
    pub fn template(&self, directory: &Path, version: u32) -> String {
        let directory = quote(&directory.display().to_string());
        let mut t = String::from("AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n");
        for (i, file) in self.files.iter().enumerate() {
            let id = logical_id(i);
            let head = format!("{id} v{}", if i % 3 == 0 { version } else { 1 });
            // Alternate the two ways a template refers to another resource's attributes, so
            // both reach the provider resolved.
            let content = match file.dependencies.as_slice() {
                [] => quote(&head),
                deps if i % 2 == 0 => {
                    let refs: Vec<String> = deps
                        .iter()
                        .enumerate()
                        .map(|(k, d)| if k % 2 == 0 { format!("${{F{d}.Path}}") } else { format!("${{F{d}}}") })
                        .collect();
                    format!("!Sub {}", quote(&format!("{head}: {}", refs.join(" "))))
                }
                deps => {
                    let refs: Vec<String> = deps
                        .iter()
                        .enumerate()
                        .map(|(k, d)| if k % 2 == 0 { format!("!GetAtt F{d}.Path") } else { format!("!Ref F{d}") })
                        .collect();
                    format!("!Join [\"\\n\", [{}, {}]]", quote(&head), refs.join(", "))
                }
            };
            let _ = writeln!(t, "  {id}:\n    Type: Infra::Local::File\n    Properties:");
            let _ = writeln!(t, "      Directory: {directory}");
            if file.fixed_name {
                let _ = writeln!(t, "      FileName: fixed-{id}.txt");
            }
            let _ = writeln!(t, "      Content: {content}");
        }
        t
    }
}

/// A YAML double-quoted scalar: JSON string syntax is a subset of it.
fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A project directory and the directory its files are written into (the "reality").
pub struct Workspace {
    _root: tempfile::TempDir,
    pub project: PathBuf,
    pub reality: PathBuf,
}

impl Workspace {
    pub fn new() -> Workspace {
        let root = tempfile::tempdir().expect("temp dir");
        let project = root.path().join("project");
        let reality = root.path().join("files");
        std::fs::create_dir_all(project.join("stacks").join(LAYER)).expect("stacks dir");
        std::fs::create_dir_all(&reality).expect("files dir");
        std::fs::write(
            project.join("infra.toml"),
            // The files live beside the project, so the project allows that directory.
            format!(
                "[project]\nname = \"{PROJECT}\"\nregion = \"us-east-1\"\nlocal_files_outside = [{}]\n\n[state]\npath = \"state\"\n\n[environments.{ENV}]\n",
                quote(&reality.display().to_string())
            ),
        )
        .expect("infra.toml");
        Workspace { _root: root, project, reality }
    }

    pub fn write_template(&self, graph: &Graph, version: u32) {
        let path = self.project.join("stacks").join(LAYER).join("files.yaml");
        std::fs::write(path, graph.template(&self.reality, version)).expect("template");
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_infra"));
        cmd.arg("--project-dir").arg(&self.project).args(["--env", ENV, "--no-color"]).args(args);
        cmd.env("NO_COLOR", "1").stdin(Stdio::null());
        cmd
    }

    /// Starts `infra` with its output discarded, to be signalled or killed.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn infra")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run infra")
    }

    /// Runs `infra` to completion and fails the test, with its output, unless it exits 0.
    pub fn run_ok(&self, args: &[&str], context: &str) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{context}: infra {} exited with {}\n{}",
            args.join(" "),
            out.status,
            output_text(&out)
        );
    }

    /// How long a whole `infra` process takes to run `args`.
    pub fn time(&self, args: &[&str]) -> Duration {
        let started = Instant::now();
        self.run_ok(args, "timing");
        started.elapsed()
    }

    pub fn store(&self) -> LayerStore {
        LayerStore::new(&self.project.join("state"), ENV, LAYER)
    }

    pub fn journal_exists(&self) -> bool {
        self.store().paths().journal.exists()
    }

    /// Files on disk and state agree, and nothing is left in flight: every file in the
    /// directory belongs to exactly one logical ID (no duplicates) and is recorded in state
    /// (no orphans), and every record's file exists with the content state says. Returns the
    /// logical IDs in state.
    pub fn check_agreement(&self, context: &str) -> BTreeSet<String> {
        let loaded = self.store().load().unwrap_or_else(|e| panic!("{context}: failed to load state: {e}"));
        assert!(loaded.in_flight.is_empty(), "{context}: operations still in flight: {:?}", loaded.in_flight);
        assert!(!loaded.recovered, "{context}: a finished run left its journal behind");

        let mut recorded = BTreeMap::new();
        for (id, record) in &loaded.state.resources {
            let path = record.attributes.get("Path").and_then(|p| p.as_str());
            let path =
                PathBuf::from(path.unwrap_or_else(|| panic!("{context}: {id} has no Path attribute: {record:?}")));
            let content = record.properties.get("Content").and_then(|c| c.as_str()).unwrap_or_default();
            let on_disk = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{context}: {id} is in state but {} cannot be read: {e}", path.display()));
            assert_eq!(on_disk, content, "{context}: {id}: {} holds other content than state says", path.display());
            assert_eq!(
                path.parent(),
                Some(self.reality.as_path()),
                "{context}: {id} was written outside the directory"
            );
            recorded.insert(path, id.clone());
        }

        let mut per_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for name in self.files() {
            let id = owner(&name).unwrap_or_else(|| panic!("{context}: unexpected file {name}"));
            per_id.entry(id).or_default().push(name);
        }
        for (id, names) in &per_id {
            assert_eq!(names.len(), 1, "{context}: duplicates for {id}: {names:?}");
            let path = self.reality.join(&names[0]);
            assert_eq!(recorded.get(&path), Some(id), "{context}: orphan {} (not in state)", path.display());
        }

        loaded.state.resources.keys().cloned().collect()
    }

    /// `infra plan --detailed-exitcode` exits 0: applying again would change nothing.
    pub fn check_no_op(&self, context: &str) {
        let out = self.run(&["plan", "--detailed-exitcode"]);
        assert_eq!(out.status.code(), Some(0), "{context}: plan after apply is not a no-op\n{}", output_text(&out));
    }

    /// Names of the files in the reality directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.reality)
            .expect("read files dir")
            .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// The logical ID a file was created for, from its name: `fixed-{id}.txt` or the generated
/// `{stack}-{id}-{random}`.
pub fn owner(file_name: &str) -> Option<String> {
    if let Some(rest) = file_name.strip_prefix("fixed-") {
        return rest.strip_suffix(".txt").map(str::to_string);
    }
    let rest = file_name.strip_prefix(STACK)?.strip_prefix('-')?;
    let (id, random) = rest.split_once('-')?;
    (!random.is_empty()).then(|| id.to_string())
}

pub fn output_text(out: &Output) -> String {
    format!("--- stdout\n{}--- stderr\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Sends `signal` to a child that has not been waited for (so its PID cannot have been reused).
pub fn signal(child: &Child, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: kill(2) has no memory-safety preconditions.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(rc, 0, "kill({pid}, {signal}) failed: {}", std::io::Error::last_os_error());
}

/// Whether the process ended because of `signal` rather than by exiting.
pub fn ended_by(status: ExitStatus, signal: libc::c_int) -> bool {
    use std::os::unix::process::ExitStatusExt;
    status.signal() == Some(signal)
}

/// The shortest of `samples` runs of `measure`: kills drawn from a longer window would more
/// often land after the process has finished.
pub fn fastest(samples: usize, mut measure: impl FnMut() -> Duration) -> Duration {
    (0..samples).map(|_| measure()).min().unwrap_or_default()
}

/// The seed from `INFRA_TEST_SEED`, or a fresh one; printed so a failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var("INFRA_TEST_SEED") {
        Ok(s) => s.parse().expect("INFRA_TEST_SEED must be a number"),
        Err(_) => fastrand::u64(..),
    };
    eprintln!("{test}: seed {seed} (replay with INFRA_TEST_SEED={seed})");
    seed
}
