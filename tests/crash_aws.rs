//! Crash safety against a local AWS, through the real `infra` binary: `kill -9` during apply,
//! during an update that replaces a role, and during destroy; then, before the run that
//! recovers, a `plan` that must change nothing, and sometimes a recovery that fails (expired
//! credentials, an unreachable endpoint) or is itself killed. After each run the account holds
//! exactly what state says, with no duplicate, and the next plan is a no-op.
//!
//! Most kills are aimed: a fault proxy in front of the local AWS forwards the k-th mutating
//! call and then holds its answer, so the process dies with that call carried out but not
//! recorded, which is the moment recovery exists for. The others land at a random moment of a
//! full run's measured duration. `INFRA_TEST_SEED` replays a run; `INFRA_CRASH_RUNS` sets how
//! many (default 45, a third per scenario).

mod aws_project;

use aws_project::AwsProject;
use infra_aws::testing::{is_read_only, Fault, FaultProxy};
use std::collections::BTreeSet;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEFAULT_RUNS: usize = 45;
const LAYER: &str = "identity";
const APPLY: &[&str] = &["apply", "-auto-approve"];
const DESTROY: &[&str] = &["destroy", "-auto-approve"];

/// Roles, an inline policy, a managed policy and an instance profile, all with generated
/// names. Moving to `version` 2 changes the execution role's `Path` (a replacement, create
/// before delete, which repoints the policy and the profile) and the managed policy's
/// document (an update in place).
fn template(version: u32) -> String {
    format!(
        r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  ExecutionRole:
    Type: AWS::IAM::Role
    Properties:
      Path: /v{version}/
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{ Service: sagemaker.amazonaws.com }}
            Action: sts:AssumeRole
  ReadData:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: read-data
      Roles: [!Ref ExecutionRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: s3:GetObject
            Resource: arn:aws:s3:::models/*
  Metrics:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: cloudwatch:PutMetricData
            Resource: "*"
            Condition: {{ StringEquals: {{ "cloudwatch:namespace": "v{version}" }} }}
  Profile:
    Type: AWS::IAM::InstanceProfile
    Properties:
      Roles: [!Ref ExecutionRole]
  MonitorRole:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns: [!Ref Metrics]
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{ Service: monitoring.rds.amazonaws.com }}
            Action: sts:AssumeRole
"#
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Create,
    /// An update that replaces the execution role and updates the managed policy.
    Replace,
    Destroy,
}

const SCENARIOS: [Scenario; 3] = [Scenario::Create, Scenario::Replace, Scenario::Destroy];

/// How the run after the kill goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rerun {
    /// Straight to completion.
    Direct,
    /// First with expired credentials (every call answers `ExpiredToken`): it must fail and
    /// leave state and journal byte for byte as they were.
    ExpiredFirst,
    /// First against an endpoint nobody listens on: likewise.
    UnreachableFirst,
    /// First killed itself, while it recovers.
    KilledFirst,
}

const RERUNS: [Rerun; 4] = [Rerun::Direct, Rerun::ExpiredFirst, Rerun::UnreachableFirst, Rerun::KilledFirst];

fn seed() -> u64 {
    std::env::var("INFRA_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..))
}

/// A project on a fresh account, ready for the scenario's command.
fn prepare(scenario: Scenario) -> (AwsProject, &'static [&'static str]) {
    let p = AwsProject::new(&[(LAYER, "roles.yaml", &template(1))]);
    match scenario {
        Scenario::Create => (p, APPLY),
        Scenario::Replace => {
            p.expect(0, APPLY);
            p.write(&format!("stacks/{LAYER}/roles.yaml"), &template(2));
            (p, APPLY)
        }
        Scenario::Destroy => {
            p.expect(0, APPLY);
            (p, DESTROY)
        }
    }
}

/// A proxy in front of the project's account that forwards everything, counting calls, and
/// holds the answer of the `hold_at`-th call that `counts` (if any).
struct Aim {
    proxy: FaultProxy,
}

fn aim(p: &AwsProject, hold_at: Option<usize>, counts: fn(&str) -> bool) -> Aim {
    let seen = Arc::new(AtomicUsize::new(0));
    let upstream = p.account.endpoint_url.clone();
    let proxy = p
        .runtime
        .block_on(FaultProxy::start(&upstream, move |action, _| {
            if !counts(action) {
                return None;
            }
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            (Some(n) == hold_at).then_some(Fault::ForwardThenHold)
        }))
        .expect("start the fault proxy");
    Aim { proxy }
}

fn mutating(action: &str) -> bool {
    !is_read_only(action) && action != "AssumeRole"
}

fn any_call(_: &str) -> bool {
    true
}

fn spawn(p: &AwsProject, args: &[&str]) -> Child {
    p.command(aws_project::ENV, &[], args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn infra")
}

/// Waits until the aimed call was carried out with its answer held, or the child exits; true
/// in the first case.
fn wait_for(aim: &Aim, child: &mut Child) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if aim.proxy.held_answered() > 0 {
            return true;
        }
        if child.try_wait().expect("poll infra").is_some() {
            return false;
        }
        assert!(Instant::now() < deadline, "infra neither reached the aimed call nor exited in 2 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills the child; true when it was still running. Returns once every request the child
/// had sent through `aim` has been answered by the server, so none lands later.
fn kill(child: &mut Child, aim: &Aim) -> bool {
    let running = child.try_wait().expect("poll infra").is_none();
    let _ = child.kill();
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(60);
    while aim.proxy.in_flight() > 0 {
        assert!(Instant::now() < deadline, "requests still in flight a minute after the kill");
        std::thread::sleep(Duration::from_millis(5));
    }
    running
}

/// What AWS holds in the account, by type: role names, managed policy ARNs, profile names.
#[derive(Debug, PartialEq, Eq, Default)]
struct Inventory {
    roles: BTreeSet<String>,
    managed_policies: BTreeSet<String>,
    profiles: BTreeSet<String>,
}

fn live(p: &AwsProject) -> Inventory {
    let iam = aws_sdk_iam::Client::new(&p.sdk_config());
    p.runtime.block_on(async {
        let roles = iam.list_roles().send().await.expect("ListRoles").roles;
        let policies = iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .send()
            .await
            .expect("ListPolicies")
            .policies
            .unwrap_or_default();
        let profiles = iam.list_instance_profiles().send().await.expect("ListInstanceProfiles").instance_profiles;
        Inventory {
            roles: roles.into_iter().map(|r| r.role_name).collect(),
            managed_policies: policies.into_iter().filter_map(|p| p.arn).collect(),
            profiles: profiles.into_iter().map(|p| p.instance_profile_name).collect(),
        }
    })
}

fn recorded(p: &AwsProject) -> Inventory {
    let run = p.expect(0, &["--format", "json", "state", "list", "--layer", LAYER]);
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).expect("state list JSON");
    let mut inv = Inventory::default();
    for r in listed.as_array().cloned().unwrap_or_default() {
        let id = r["physical_id"].as_str().unwrap_or_default().to_string();
        match r["type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" => inv.roles.insert(id),
            "AWS::IAM::ManagedPolicy" => inv.managed_policies.insert(id),
            "AWS::IAM::InstanceProfile" => inv.profiles.insert(id),
            _ => false,
        };
    }
    inv
}

/// AWS holds exactly what state says, and every role still has its inline policy.
fn check_agreement(p: &AwsProject, context: &str) -> Inventory {
    let (aws, state) = (live(p), recorded(p));
    assert_eq!(aws, state, "{context}: the account and the state disagree");
    let iam = aws_sdk_iam::Client::new(&p.sdk_config());
    let execution: Vec<String> = state.roles.iter().filter(|r| r.contains("ExecutionRole")).cloned().collect();
    for role in &execution {
        let names = p.runtime.block_on(iam.list_role_policies().role_name(role).send()).expect("ListRolePolicies");
        assert_eq!(names.policy_names, ["read-data"], "{context}: inline policies of {role}");
    }
    state
}

/// `infra plan` after a crash reads only: no mutating call reaches AWS, and state and journal
/// stay byte for byte as they were.
fn check_plan_only_reads(p: &AwsProject, context: &str) {
    let before = p.state_files();
    let a = aim(p, None, any_call);
    p.set_endpoint(&a.proxy.url);
    let run = p.infra(&["plan", "--detailed-exitcode"]);
    p.set_endpoint(&p.account.endpoint_url);
    assert!(run.code == 0 || run.code == 2, "{context}: plan after the crash failed\n{}", run.both());
    assert_eq!(a.proxy.mutating(), Default::default(), "{context}: plan made mutating calls\n{}", run.both());
    assert!(p.state_files() == before, "{context}: plan changed state or journal files\n{}", run.both());
}

/// A run that cannot reach AWS as it should fails and changes no file.
fn check_failing_recovery(p: &AwsProject, rerun: Rerun, args: &[&str], context: &str) {
    let before = p.state_files();
    let (run, proxy) = match rerun {
        Rerun::ExpiredFirst => {
            let expired = Fault::Error {
                status: 403,
                code: "ExpiredToken",
                message: "The security token included in the request is expired",
            };
            let proxy = p
                .runtime
                .block_on(FaultProxy::start(&p.account.endpoint_url, move |_, _| Some(expired)))
                .expect("proxy");
            p.set_endpoint(&proxy.url);
            (p.infra(args), Some(proxy))
        }
        _ => {
            let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            let url = format!("http://{}", closed.local_addr().expect("addr"));
            drop(closed);
            p.set_endpoint(&url);
            (p.infra(args), None)
        }
    };
    p.set_endpoint(&p.account.endpoint_url);
    drop(proxy);
    assert_eq!(run.code, 1, "{context}: {rerun:?} run did not fail\n{}", run.both());
    assert!(p.state_files() == before, "{context}: the failed {rerun:?} run changed state or journal\n{}", run.both());
}

/// How many mutating calls an uninterrupted run of the scenario makes.
fn measure(scenario: Scenario) -> usize {
    let (p, args) = prepare(scenario);
    let a = aim(&p, None, mutating);
    p.set_endpoint(&a.proxy.url);
    p.expect(0, args);
    a.proxy.mutating().into_iter().filter(|(k, _)| mutating(k)).map(|(_, n)| n).sum()
}

#[derive(Default, Debug)]
struct Tally {
    runs: usize,
    killed: usize,
    journal_left: usize,
    killed_in_recovery: usize,
    failed_recoveries: usize,
}

#[test]
fn kill_9_against_aws_then_recover_leaves_exactly_what_state_says() {
    let seed = seed();
    let runs = std::env::var("INFRA_CRASH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(DEFAULT_RUNS);
    let mut rng = fastrand::Rng::with_seed(seed);
    let calls: Vec<usize> = SCENARIOS.iter().map(|&s| measure(s)).collect();
    eprintln!(
        "crash_aws: mutating calls per full run {:?} (seed {seed})",
        SCENARIOS.iter().zip(&calls).collect::<Vec<_>>()
    );
    let mut tally = Tally::default();
    for run in 0..runs {
        let scenario = SCENARIOS[run % SCENARIOS.len()];
        let rerun = RERUNS[(run / SCENARIOS.len()) % RERUNS.len()];
        // Two kills in three are aimed at a mutating call; the others land at a random moment.
        let hold_at = (run % 3 != 2).then(|| rng.usize(1..=calls[run % SCENARIOS.len()]));
        let context = format!("run {run} (seed {seed}, {scenario:?}, rerun {rerun:?}, hold {hold_at:?})");
        let (p, args) = prepare(scenario);
        let a = aim(&p, hold_at, mutating);
        p.set_endpoint(&a.proxy.url);
        let mut child = spawn(&p, args);
        match hold_at {
            Some(_) => {
                assert!(wait_for(&a, &mut child), "{context}: infra exited before the aimed call");
            }
            None => std::thread::sleep(Duration::from_millis(rng.u64(0..1500))),
        }
        let killed = kill(&mut child, &a);
        p.set_endpoint(&p.account.endpoint_url);
        drop(a);
        tally.runs += 1;
        tally.killed += usize::from(killed);
        if p.has_journal() {
            tally.journal_left += 1;
            check_plan_only_reads(&p, &context);
            match rerun {
                Rerun::ExpiredFirst | Rerun::UnreachableFirst => {
                    check_failing_recovery(&p, rerun, args, &context);
                    tally.failed_recoveries += 1;
                }
                Rerun::KilledFirst => {
                    // Hold one of the first calls of the recovering run: its account lookup or
                    // the reads and calls that settle the open intents.
                    let b = aim(&p, Some(rng.usize(1..=3)), any_call);
                    p.set_endpoint(&b.proxy.url);
                    let mut child = spawn(&p, args);
                    if wait_for(&b, &mut child) && kill(&mut child, &b) {
                        tally.killed_in_recovery += 1;
                    }
                    p.set_endpoint(&p.account.endpoint_url);
                }
                Rerun::Direct => {}
            }
        }
        let run = p.infra(args);
        assert_eq!(run.code, 0, "{context}: the run after the kill failed\n{}", run.both());
        let state = check_agreement(&p, &context);
        if scenario == Scenario::Destroy {
            assert_eq!(state, Inventory::default(), "{context}: destroy left resources behind");
        } else {
            assert_eq!((state.roles.len(), state.managed_policies.len(), state.profiles.len()), (2, 1, 1), "{context}");
            let plan = p.infra(&["plan", "--detailed-exitcode"]);
            assert_eq!(plan.code, 0, "{context}: the plan after recovery is not a no-op\n{}", plan.both());
        }
        assert!(!p.has_journal(), "{context}: a journal is left after a successful run");
    }
    eprintln!("crash_aws: {tally:?}");
    let aimed = (0..runs).filter(|r| r % 3 != 2).count();
    assert!(tally.killed >= aimed, "only {} of {aimed} aimed kills hit a running process", tally.killed);
    assert!(tally.journal_left * 2 >= runs, "only {} of {runs} kills left a journal to recover", tally.journal_left);
    if runs >= 24 {
        assert!(tally.failed_recoveries > 0 && tally.killed_in_recovery > 0, "{tally:?}");
    }
}
