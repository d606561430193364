//! Ctrl-C during `infra apply`: one SIGINT stops cleanly (no new operations, the ones in flight
//! finish, state is saved, the lock released, a non-zero exit); a second SIGINT exits at once and
//! leaves the journal for the next run to recover from.
//!
//! The engine-local types have nothing slow to wait for, so the apply is made long enough to
//! interrupt by many `Infra::Local::File` resources at `--parallelism 1`.

mod file_project;

use file_project::{median, output_text, seed, signal, Graph, Workspace};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FILES: usize = 200;
const APPLY: &[&str] = &["apply", "-auto-approve", "--parallelism", "1"];

/// The tests time processes against a calibrated duration, so they must not share the CPU.
static SERIAL: Mutex<()> = Mutex::new(());

/// A graph and the duration of its uninterrupted apply.
fn calibrated(test: &str) -> (Graph, Duration) {
    let graph = Graph::generate(FILES, &mut fastrand::Rng::with_seed(seed(test)));
    let full = median(3, || {
        let ws = Workspace::new();
        ws.write_template(&graph, 1);
        ws.time(APPLY)
    });
    eprintln!("{test}: an uninterrupted apply of {FILES} files takes {full:?}");
    (graph, full)
}

/// After an interrupted apply, the next one completes and leaves nothing to do.
fn check_rerun_completes(ws: &Workspace, graph: &Graph, context: &str) {
    ws.run_ok(APPLY, context);
    assert_eq!(ws.check_agreement(context), graph.logical_ids(), "{context}: the re-run did not create everything");
    ws.check_no_op(context);
}

#[test]
fn one_sigint_stops_cleanly_and_saves_what_completed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (graph, full) = calibrated("one sigint");
    let ws = Workspace::new();
    ws.write_template(&graph, 1);

    let mut command = ws.command(APPLY);
    let child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn infra");
    std::thread::sleep(full.mul_f64(0.4));
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().expect("wait for infra");
    let context = format!("one sigint\n{}", output_text(&out));

    assert!(out.status.code().is_some_and(|c| c != 0), "{context}\nexpected a non-zero exit, got {}", out.status);
    assert!(!ws.journal_exists(), "{context}\nthe journal was not compacted into state");
    if let Err(e) = ws.store().lock("test", Duration::ZERO) {
        panic!("{context}\nthe lock was not released: {e}");
    }
    let done = ws.check_agreement(&context);
    assert!(!done.is_empty() && done.len() < FILES, "{context}\nthe interrupt did not land mid-apply: {} of {FILES} done", done.len());
    eprintln!("one sigint: stopped after {} of {FILES} files", done.len());

    check_rerun_completes(&ws, &graph, "the apply after one sigint");
}

#[test]
fn two_sigints_exit_at_once_and_the_next_apply_recovers() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (graph, full) = calibrated("two sigints");
    let ws = Workspace::new();
    ws.write_template(&graph, 1);

    let mut child = ws.spawn(APPLY);
    std::thread::sleep(full.mul_f64(0.4));
    signal(&child, libc::SIGINT);
    // Soon enough that the operation in flight at the first signal has not finished.
    std::thread::sleep(Duration::from_micros(200));
    signal(&child, libc::SIGINT);
    let second = Instant::now();
    let status = child.wait().expect("wait for infra");
    let exit_took = second.elapsed();

    assert!(!status.success(), "two sigints: expected a failure exit, got {status}");
    assert!(exit_took < Duration::from_millis(500), "two sigints: took {exit_took:?} to exit after the second");
    let left = ws.journal_exists();
    eprintln!("two sigints: exited {exit_took:?} after the second, journal left behind: {left}");
    assert!(ws.files().len() < FILES, "two sigints: the interrupt did not land mid-apply");
    if left {
        let loaded = ws.store().load().unwrap_or_else(|e| panic!("two sigints: failed to load state: {e}"));
        assert!(loaded.recovered, "two sigints: the journal left behind was not replayed");
    }

    check_rerun_completes(&ws, &graph, "the apply after two sigints");
}
