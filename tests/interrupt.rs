//! Ctrl-C during `infra apply`: one SIGINT stops cleanly (no new operations, the ones in flight
//! finish, state is saved, the lock released, a non-zero exit); a second SIGINT exits at once and
//! leaves the journal for the next run to recover from.
//!
//! Whether a signal lands "while an operation is in flight" is not left to timing: the apply
//! creates a chain of IAM roles through a fault proxy that holds the second `CreateRole`,
//! unanswered, until the test releases it. Every signal is sent while that call is provably
//! outstanding, on a machine of any speed.

mod aws_project;
mod file_project;

use aws_project::{AwsProject, ENV};
use file_project::signal;
use infra_aws::testing::{Fault, FaultProxy};
use infra_core::state::journal::IntentAction;
use infra_core::state::store::{LayerStore, Loaded};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStderr, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const LAYER: &str = "identity";
const APPLY: &[&str] = &["apply", "-auto-approve", "--parallelism", "1"];

/// Four roles, each depending on the one before, so they are created one after another and
/// the second `CreateRole` the proxy sees is always `Second`'s.
const ROLES: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  First:
    Type: AWS::IAM::Role
    Properties:
      RoleName: interrupt-first
      AssumeRolePolicyDocument: &trust
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: { Service: sagemaker.amazonaws.com }
            Action: sts:AssumeRole
  Second:
    Type: AWS::IAM::Role
    DependsOn: First
    Properties:
      RoleName: interrupt-second
      AssumeRolePolicyDocument: *trust
  Third:
    Type: AWS::IAM::Role
    DependsOn: Second
    Properties:
      RoleName: interrupt-third
      AssumeRolePolicyDocument: *trust
  Fourth:
    Type: AWS::IAM::Role
    DependsOn: Third
    Properties:
      RoleName: interrupt-fourth
      AssumeRolePolicyDocument: *trust
"#;

/// The logical IDs of `ROLES`.
fn all_roles() -> BTreeSet<String> {
    ["First", "Second", "Third", "Fourth"].into_iter().map(String::from).collect()
}

/// An apply running through a proxy that holds `Second`'s create, caught with that call held
/// and the first SIGINT acknowledged.
struct Interrupted {
    project: AwsProject,
    proxy: FaultProxy,
    child: Child,
    stderr: BufReader<ChildStderr>,
    /// What infra printed on stderr so far.
    said: String,
}

impl Interrupted {
    fn start() -> Interrupted {
        let project = AwsProject::new(&[(LAYER, "roles.yaml", ROLES)]);
        let proxy = project
            .runtime
            .block_on(FaultProxy::start(&project.account.endpoint_url, |action, nth| {
                (action == "CreateRole" && nth == 2).then_some(Fault::Hold)
            }))
            .expect("proxy");
        project.set_endpoint(&proxy.url);
        let mut child =
            project.command(ENV, &[], APPLY).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn infra");
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let mut run = Interrupted { project, proxy, child, stderr, said: String::new() };

        // Waiting for a condition, not for time: the deadline only turns a hang into a failure.
        let deadline = Instant::now() + Duration::from_secs(60);
        while run.proxy.held("CreateRole") == 0 {
            if let Some(status) = run.child.try_wait().expect("poll infra") {
                panic!("infra exited with {status} before its second create was held:\n{}", run.rest_of_stderr());
            }
            assert!(Instant::now() < deadline, "the second CreateRole was not held within a minute");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(run.proxy.seen("CreateRole"), 2, "one create done, one held");

        signal(&run.child, libc::SIGINT);
        while !run.said.contains("Interrupt received") {
            let read = run.stderr.read_line(&mut run.said).expect("read infra's stderr");
            assert!(read > 0, "infra did not acknowledge the first signal:\n{}", run.said);
        }
        // The held call cannot finish, so a clean stop that waits for it cannot have ended.
        assert!(run.child.try_wait().expect("poll infra").is_none(), "infra did not wait for the call in flight");
        run
    }

    /// Waits for infra to exit; `limit` only turns a hang into a failure.
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll infra") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("infra had not exited {limit:?} after it should have:\n{}", self.rest_of_stderr());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn rest_of_stderr(&mut self) -> String {
        let mut rest = String::new();
        let _ = self.stderr.read_to_string(&mut rest);
        self.said.push_str(&rest);
        self.said.clone()
    }

    fn store(&self) -> LayerStore {
        LayerStore::new(&self.project.path().join("state"), ENV, LAYER)
    }

    fn load(&self) -> Loaded {
        self.store().load().unwrap_or_else(|e| panic!("failed to load state: {e}"))
    }

    /// The roles IAM holds in the project's account.
    fn roles_in_iam(&self) -> BTreeSet<String> {
        let iam = aws_sdk_iam::Client::new(&self.project.sdk_config());
        let roles = self.project.runtime.block_on(iam.list_roles().send()).expect("list roles").roles;
        roles.into_iter().map(|r| r.role_name).collect()
    }

    /// The next apply completes, and IAM, state and the templates agree.
    fn check_rerun_completes(&self, context: &str) {
        let run = self.project.infra(APPLY);
        assert_eq!(run.code, 0, "{context}\n{}", run.both());
        let loaded = self.load();
        assert!(loaded.in_flight.is_empty() && !loaded.recovered, "{context}: the re-run left its journal");
        assert_eq!(loaded.state.resources.keys().cloned().collect::<BTreeSet<_>>(), all_roles(), "{context}");
        let names: BTreeSet<String> =
            ["first", "second", "third", "fourth"].iter().map(|n| format!("interrupt-{n}")).collect();
        assert_eq!(self.roles_in_iam(), names, "{context}: no duplicate, no orphan");
        let plan = self.project.infra(&["plan", "--detailed-exitcode"]);
        assert_eq!(plan.code, 0, "{context}: the plan after the re-run is not empty\n{}", plan.both());
    }
}

#[test]
fn one_sigint_stops_cleanly_and_saves_what_completed() {
    let mut run = Interrupted::start();
    run.proxy.release();
    let status = run.wait(Duration::from_secs(60));
    let said = run.rest_of_stderr();
    let context = format!("one sigint\n{said}");

    assert!(status.code().is_some_and(|c| c != 0), "{context}\nexpected a non-zero exit, got {status}");
    assert!(!run.store().paths().journal.exists(), "{context}\nthe journal was not compacted into state");
    if let Err(e) = run.store().lock("test", Duration::ZERO) {
        panic!("{context}\nthe lock was not released: {e}");
    }
    let loaded = run.load();
    assert!(loaded.in_flight.is_empty() && !loaded.recovered, "{context}");
    // The call in flight finished and was recorded; nothing started after the signal.
    let done: BTreeSet<String> = loaded.state.resources.keys().cloned().collect();
    assert_eq!(done, ["First", "Second"].into_iter().map(String::from).collect(), "{context}");
    assert_eq!(run.proxy.seen("CreateRole"), 2, "{context}\na create started after the interrupt");
    let in_iam = run.roles_in_iam();
    assert_eq!(in_iam, ["interrupt-first", "interrupt-second"].into_iter().map(String::from).collect(), "{context}");

    run.check_rerun_completes("the apply after one sigint");
}

#[test]
fn two_sigints_exit_at_once_and_the_next_apply_recovers() {
    let mut run = Interrupted::start();
    signal(&run.child, libc::SIGINT);
    // The held call never finishes while the proxy holds it, so any exit at all is one that did
    // not wait for it; the limit only bounds a hang.
    let status = run.wait(Duration::from_secs(10));
    let said = run.rest_of_stderr();
    let context = format!("two sigints\n{said}");

    assert_eq!(status.code(), Some(130), "{context}\nexpected exit code 130, got {status}");
    assert!(said.contains("Exiting at once"), "{context}");
    // Structural proof that the exit was abrupt: the call is still held, never forwarded.
    assert_eq!(run.proxy.held("CreateRole"), 1, "{context}\nthe held call was let go");
    assert_eq!(run.proxy.forwarded("CreateRole"), 1, "{context}\nonly the first create reached IAM");
    assert!(run.store().paths().journal.exists(), "{context}\nno journal left behind");
    let loaded = run.load();
    assert!(loaded.recovered, "{context}\nthe journal left behind was not replayed");
    let open: Vec<(&str, &IntentAction)> =
        loaded.in_flight.iter().map(|i| (i.logical_id.as_str(), &i.action)).collect();
    assert_eq!(open, vec![("Second", &IntentAction::Create)], "{context}");
    assert_eq!(loaded.state.resources.keys().cloned().collect::<Vec<_>>(), vec!["First".to_string()], "{context}");

    // The held request stays held, never reaching IAM: the interrupted create did not happen,
    // and the next run has to find that out. Only the second CreateRole is held, so the next
    // run's creates go through.
    run.check_rerun_completes("the apply after two sigints");
}
