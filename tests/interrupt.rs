//! Ctrl-C during `infra apply`: one SIGINT stops cleanly (no new operations, the ones in flight
//! finish, state is saved, the lock released, a non-zero exit); a second SIGINT exits at once and
//! leaves the journal for the next run to recover from.
//!
//! The engine-local types have nothing slow to wait for, so the apply is made long enough to
//! interrupt by many `Infra::Local::File` resources at `--parallelism 1`.

mod file_project;

use file_project::{output_text, seed, signal, Graph, Workspace};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const FILES: usize = 200;
const APPLY: &[&str] = &["apply", "-auto-approve", "--parallelism", "1"];

/// A graph, and a workspace holding its template.
fn prepared(test: &str) -> (Graph, Workspace) {
    let graph = Graph::generate(FILES, &mut fastrand::Rng::with_seed(seed(test)));
    let ws = Workspace::new();
    ws.write_template(&graph, 1);
    (graph, ws)
}

/// Waits until the apply has written a tenth of the files, so a signal lands mid-apply however
/// fast or loaded the machine is.
fn wait_until_under_way(ws: &Workspace, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while ws.files().len() < FILES / 10 {
        assert!(child.try_wait().expect("poll infra").is_none(), "infra exited before it was under way");
        assert!(Instant::now() < deadline, "infra wrote no files within a minute");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// After an interrupted apply, the next one completes and leaves nothing to do.
fn check_rerun_completes(ws: &Workspace, graph: &Graph, context: &str) {
    ws.run_ok(APPLY, context);
    assert_eq!(ws.check_agreement(context), graph.logical_ids(), "{context}: the re-run did not create everything");
    ws.check_no_op(context);
}

#[test]
fn one_sigint_stops_cleanly_and_saves_what_completed() {
    let (graph, ws) = prepared("one sigint");
    let mut command = ws.command(APPLY);
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn infra");
    wait_until_under_way(&ws, &mut child);
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().expect("wait for infra");
    let context = format!("one sigint\n{}", output_text(&out));

    assert!(out.status.code().is_some_and(|c| c != 0), "{context}\nexpected a non-zero exit, got {}", out.status);
    assert!(!ws.journal_exists(), "{context}\nthe journal was not compacted into state");
    if let Err(e) = ws.store().lock("test", Duration::ZERO) {
        panic!("{context}\nthe lock was not released: {e}");
    }
    let done = ws.check_agreement(&context);
    assert!(
        !done.is_empty() && done.len() < FILES,
        "{context}\nthe interrupt did not land mid-apply: {} of {FILES} done",
        done.len()
    );
    eprintln!("one sigint: stopped after {} of {FILES} files", done.len());

    check_rerun_completes(&ws, &graph, "the apply after one sigint");
}

#[test]
fn two_sigints_exit_at_once_and_the_next_apply_recovers() {
    let (graph, ws) = prepared("two sigints");
    let mut command = ws.command(APPLY);
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn infra");
    wait_until_under_way(&ws, &mut child);
    signal(&child, libc::SIGINT);
    // The second signal goes as soon as the first is acknowledged: before the operation in
    // flight finishes, and after the handler listens for a second one.
    let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
    let mut said = String::new();
    while !said.contains("Interrupt received") {
        let read = stderr.read_line(&mut said).expect("read infra's stderr");
        assert!(read > 0, "two sigints: infra did not acknowledge the first signal:\n{said}");
    }
    signal(&child, libc::SIGINT);
    let second = Instant::now();
    let status = child.wait().expect("wait for infra");
    let exit_took = second.elapsed();

    assert!(!status.success(), "two sigints: expected a failure exit, got {status}");
    assert!(exit_took < Duration::from_millis(500), "two sigints: took {exit_took:?} to exit after the second");
    eprintln!("two sigints: exited {exit_took:?} after the second");
    assert!(ws.files().len() < FILES, "two sigints: the interrupt did not land mid-apply");
    assert!(ws.journal_exists(), "two sigints: no journal left behind, so the exit was not abrupt");
    let loaded = ws.store().load().unwrap_or_else(|e| panic!("two sigints: failed to load state: {e}"));
    assert!(loaded.recovered, "two sigints: the journal left behind was not replayed");

    check_rerun_completes(&ws, &graph, "the apply after two sigints");
}
