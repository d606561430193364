//! Crash safety: `infra apply` and `infra destroy` killed with SIGKILL at random moments, then
//! run again, leave no duplicate, no orphan and nothing more to do.
//!
//! The ground truth is `Infra::Local::File`: real files in a temporary directory. Each kill lands
//! at a moment drawn uniformly from a full run's measured duration, so kills hit every phase:
//! start-up, the lock, between a journal intent and its create, in the middle of a journal
//! write, during the final commit. `INFRA_TEST_SEED` replays a run; `INFRA_CRASH_RUNS` sets how
//! many kills (default 54, a third per scenario).

mod file_project;

use file_project::{ended_by, logical_id, median, owner, seed, signal, Graph, Workspace};
use std::collections::BTreeSet;
use std::time::Duration;

const FILES: usize = 30;
const DEFAULT_RUNS: usize = 54;
const APPLY: &[&str] = &["apply", "-auto-approve"];
const DESTROY: &[&str] = &["destroy", "-auto-approve"];

/// What the killed process was doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scenario {
    /// The first apply, creating everything.
    Create,
    /// A second apply that changes a third of the files' contents.
    Update,
    /// Destroying everything.
    Destroy,
}

const SCENARIOS: [Scenario; 3] = [Scenario::Create, Scenario::Update, Scenario::Destroy];

/// A workspace ready for the scenario's command, with the command and what state must hold
/// once it has run to completion.
fn prepare(graph: &Graph, scenario: Scenario) -> (Workspace, &'static [&'static str], BTreeSet<String>) {
    let ws = Workspace::new();
    ws.write_template(graph, 1);
    match scenario {
        Scenario::Create => (ws, APPLY, graph.logical_ids()),
        Scenario::Update => {
            ws.run_ok(APPLY, "first apply before the update");
            ws.write_template(graph, 2);
            (ws, APPLY, graph.logical_ids())
        }
        Scenario::Destroy => {
            ws.run_ok(APPLY, "apply before the destroy");
            (ws, DESTROY, BTreeSet::new())
        }
    }
}

/// How long an uninterrupted run of the scenario's command takes (median of three).
fn measure(graph: &Graph, scenario: Scenario) -> Duration {
    median(3, || {
        let (ws, args, _) = prepare(graph, scenario);
        ws.time(args)
    })
}

/// What one kill hit.
#[derive(Default)]
struct Tally {
    runs: usize,
    /// The process was still running when SIGKILL arrived.
    killed: usize,
    /// The kill left a journal behind (it hit the process between its first intent and commit).
    journal_left: usize,
}

/// Kills the scenario's command after `delay`, runs it again to completion and checks that
/// files and state agree.
fn kill_and_rerun(graph: &Graph, scenario: Scenario, delay: Duration, context: &str, tally: &mut Tally) {
    let (ws, args, expected) = prepare(graph, scenario);
    let mut child = ws.spawn(args);
    std::thread::sleep(delay);
    signal(&child, libc::SIGKILL);
    let status = child.wait().expect("wait for infra");
    tally.runs += 1;
    if ended_by(status, libc::SIGKILL) {
        tally.killed += 1;
    } else {
        assert!(status.success(), "{context}: infra {} failed before the kill: {status}", args.join(" "));
    }
    if ws.journal_exists() {
        tally.journal_left += 1;
    }

    ws.run_ok(args, &format!("{context}: the run after the kill"));
    assert_eq!(ws.check_agreement(context), expected, "{context}: state does not hold exactly the template's resources");
    if scenario == Scenario::Destroy {
        assert_eq!(ws.files(), Vec::<String>::new(), "{context}: destroy left files behind");
    } else {
        ws.check_no_op(context);
    }
}

#[test]
fn kill_9_at_random_moments_then_rerun_converges() {
    let seed = seed("crash");
    let runs = std::env::var("INFRA_CRASH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(DEFAULT_RUNS);
    let mut rng = fastrand::Rng::with_seed(seed);
    let graph = Graph::generate(FILES, &mut rng);

    let windows: Vec<(Scenario, Duration)> = SCENARIOS.iter().map(|&s| (s, measure(&graph, s))).collect();
    eprintln!("crash: full-run durations {windows:?}");

    let mut tallies: Vec<(Scenario, Tally)> = SCENARIOS.iter().map(|&s| (s, Tally::default())).collect();
    for run in 0..runs {
        let (scenario, window) = windows[run % windows.len()];
        let delay = window.mul_f64(rng.f64());
        let context = format!("run {run} (seed {seed}, {scenario:?}, kill after {delay:?})");
        let tally = &mut tallies[run % SCENARIOS.len()].1;
        kill_and_rerun(&graph, scenario, delay, &context, tally);
    }

    for (scenario, t) in &tallies {
        eprintln!(
            "crash: {scenario:?}: {} runs, {} killed mid-run, {} left a journal to recover",
            t.runs, t.killed, t.journal_left
        );
    }
    // Kills drawn from a full run's duration must mostly land while the process runs; if they
    // do not, the test is not testing crashes at all.
    let killed: usize = tallies.iter().map(|(_, t)| t.killed).sum();
    let journals: usize = tallies.iter().map(|(_, t)| t.journal_left).sum();
    assert!(killed * 2 >= runs, "only {killed} of {runs} kills hit a running process");
    assert!(journals > 0, "no kill left a journal behind, so recovery was never exercised");
}

#[test]
fn file_names_map_to_their_logical_id() {
    let check = |name: &str, expected: Option<&str>| assert_eq!(owner(name).as_deref(), expected, "{name}");
    check("fixed-F3.txt", Some("F3"));
    check("crash-dev-backend-F12-a1b2c3", Some("F12"));
    check("crash-dev-backend-F12-", None);
    check("crash-dev-backend-F12", None);
    check("other-dev-backend-F1-abc", None);
    check("fixed-F3", None);
    check(".tmp123", None);
}

#[test]
fn generated_templates_refer_to_earlier_files_both_ways() {
    let graph = Graph::generate(FILES, &mut fastrand::Rng::with_seed(7));
    let text = graph.template(std::path::Path::new("/tmp/files"), 2);
    assert_eq!(text.matches("Type: Infra::Local::File").count(), FILES);
    for needle in ["!Sub", ".Path}", "!GetAtt", "!Ref", "FileName: fixed-", "F0 v2", "F1 v1"] {
        assert!(text.contains(needle), "template lacks {needle}:\n{text}");
    }
    assert_eq!(logical_id(29), "F29");
}
