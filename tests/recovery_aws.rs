//! Recovery's own failure paths, through the real `infra` binary against a local AWS:
//! - a crash, then expired credentials, then an unreachable endpoint: every failing run leaves
//!   state and journals byte for byte as they were, and the next good apply ends with exactly
//!   one of each resource;
//! - an endpoint whose create was carried out, killed while waiting for it, which then reaches
//!   `Failed`: plan shows it adopted as tainted and replaced, apply does exactly that;
//! - a VPC, whose ID EC2 assigns, killed between its create call and the record of it, over
//!   and over: it is found by the token its create carried, never created twice.

mod aws_project;

use aws_project::{AwsProject, ENV, TRUST};
use infra_aws::testing::{Fault, FaultProxy};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn identity() -> String {
    format!(
        r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  ExecutionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:{TRUST}
      Policies:
        - PolicyName: read-models
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: s3:GetObject
                Resource: arn:aws:s3:::models/*
Outputs:
  RoleArn:
    Value: !GetAtt ExecutionRole.Arn
    Export:
      Name: !Sub "${{AWS::StackName}}-RoleArn"
"#
    )
}

fn backend(endpoint: bool) -> String {
    let mut t = String::from(
        r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Model:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !ImportValue e2e-test-identity-RoleArn
      PrimaryContainer:
        Image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1
"#,
    );
    if endpoint {
        t.push_str(
            r#"  EndpointConfig:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          ModelName: !GetAtt Model.ModelName
          InstanceType: ml.t2.medium
          InitialInstanceCount: 1
          InitialVariantWeight: 1
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !GetAtt EndpointConfig.EndpointConfigName
"#,
        );
    }
    t
}

/// A proxy in front of the project's account that answers the way `fault` says.
fn proxy(p: &AwsProject, fault: impl Fn(&str, usize) -> Option<Fault> + Send + Sync + 'static) -> FaultProxy {
    p.runtime.block_on(FaultProxy::start(&p.account.endpoint_url, fault)).expect("start the fault proxy")
}

fn spawn(p: &AwsProject, args: &[&str]) -> Child {
    p.command(ENV, &[], args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn infra")
}

/// Waits until `ready()` or the child exits (which fails the test).
fn wait_until(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        assert!(child.try_wait().expect("poll infra").is_none(), "infra exited before {what}");
        assert!(Instant::now() < deadline, "infra did not reach {what} in 2 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn kill(mut child: Child) {
    assert!(child.try_wait().expect("poll infra").is_none(), "infra was no longer running");
    child.kill().expect("kill infra");
    let _ = child.wait();
}

fn role_names(p: &AwsProject) -> Vec<String> {
    let iam = aws_sdk_iam::Client::new(&p.sdk_config());
    let roles = p.runtime.block_on(iam.list_roles().send()).expect("ListRoles").roles;
    roles.into_iter().map(|r| r.role_name).collect()
}

fn model_names(p: &AwsProject) -> Vec<String> {
    let sm = aws_sdk_sagemaker::Client::new(&p.sdk_config());
    let models = p.runtime.block_on(sm.list_models().send()).expect("ListModels").models.unwrap_or_default();
    models.into_iter().filter_map(|m| m.model_name).collect()
}

#[test]
fn expired_credentials_and_an_unreachable_endpoint_after_a_crash_lose_nothing() {
    // The kill lands with the role's create carried out (first case) or the model's (second),
    // its answer held, so a journal holds an open create.
    for held in ["CreateRole", "CreateModel"] {
        let p = AwsProject::new(&[("identity", "role.yaml", &identity()), ("backend", "model.yaml", &backend(false))]);
        let aim = proxy(&p, move |action, _| (action == held).then_some(Fault::ForwardThenHold));
        p.set_endpoint(&aim.url);
        let mut child = spawn(&p, &["apply", "-auto-approve"]);
        wait_until(&mut child, held, || aim.held_answered() > 0);
        kill(child);
        drop(aim);
        assert!(p.has_journal(), "{held}: the kill left no journal");
        let files = p.state_files();

        let expired = Fault::Error {
            status: 403,
            code: "ExpiredToken",
            message: "The security token included in the request is expired",
        };
        let refusing = proxy(&p, move |_, _| Some(expired));
        p.set_endpoint(&refusing.url);
        for args in [&["plan"][..], &["apply", "-auto-approve"], &["destroy", "-auto-approve"]] {
            let run = p.infra(args);
            assert_eq!(run.code, 1, "{held}: {args:?} with expired credentials\n{}", run.both());
            assert!(run.stderr.contains("ExpiredToken"), "{held}: {args:?} does not say why\n{}", run.both());
            assert!(p.state_files() == files, "{held}: {args:?} with expired credentials changed state files");
        }
        assert!(refusing.mutating().is_empty(), "{held}: {:?}", refusing.mutating());

        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = closed.local_addr().expect("address").to_string();
        drop(closed);
        p.set_endpoint(&format!("http://{address}"));
        for args in [&["plan"][..], &["apply", "-auto-approve"]] {
            let started = Instant::now();
            let run = p.infra(args);
            assert_eq!(run.code, 1, "{held}: {args:?} against a closed port\n{}", run.both());
            assert!(started.elapsed() < Duration::from_secs(10), "{held}: {args:?} took {:?}", started.elapsed());
            assert!(run.stderr.contains(&address), "{held}: {args:?} does not name {address}\n{}", run.both());
            assert!(p.state_files() == files, "{held}: {args:?} against a closed port changed state files");
        }

        p.set_endpoint(&p.account.endpoint_url);
        let run = p.expect(0, &["apply", "-auto-approve"]);
        assert!(run.stderr.contains("recovered "), "{held}: the apply did not settle the crash\n{}", run.both());
        assert_eq!(role_names(&p).len(), 1, "{held}: roles {:?}", role_names(&p));
        assert_eq!(model_names(&p).len(), 1, "{held}: models {:?}", model_names(&p));
        p.expect(0, &["plan", "--detailed-exitcode"]);
        assert!(!p.has_journal());
    }
}

#[test]
fn an_endpoint_killed_while_creating_that_then_fails_is_recorded_tainted_and_replaced() {
    let p = AwsProject::new(&[("identity", "role.yaml", &identity()), ("backend", "model.yaml", &backend(true))]);
    // Phase 0: the endpoint is still creating. Phase 1: the next `failed` descriptions say it
    // has failed (one per run: the read that assesses the interrupted create), and the ones
    // after that (the replacement's waiter) are the service's own.
    let phase = Arc::new(AtomicU8::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let waiting = Arc::new(AtomicBool::new(false));
    let (ph, left, flag) = (phase.clone(), failed.clone(), waiting.clone());
    let service = proxy(&p, move |action, _| match (action, ph.load(Ordering::SeqCst)) {
        ("DescribeEndpoint", 0) => {
            flag.store(true, Ordering::SeqCst);
            Some(Fault::Rewrite { from: "\"InService\"", to: "\"Creating\"" })
        }
        ("DescribeEndpoint", 1)
            if left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() =>
        {
            Some(Fault::Rewrite {
                from: "\"InService\"",
                to: "\"Failed\", \"FailureReason\": \"CapacityError: no ml.t2.medium capacity\"",
            })
        }
        _ => None,
    });
    p.set_endpoint(&service.url);
    let mut child = spawn(&p, &["apply", "-auto-approve"]);
    wait_until(&mut child, "the endpoint's waiter", || waiting.load(Ordering::SeqCst));
    kill(child);
    let sm = aws_sdk_sagemaker::Client::new(&p.sdk_config());
    let endpoints = || -> Vec<String> {
        let out = p.runtime.block_on(sm.list_endpoints().send()).expect("ListEndpoints");
        out.endpoints.unwrap_or_default().into_iter().filter_map(|e| e.endpoint_name).collect()
    };
    let first = endpoints();
    assert_eq!(first.len(), 1, "{first:?}");

    phase.store(1, Ordering::SeqCst);
    failed.store(1, Ordering::SeqCst);
    let files = p.state_files();
    let calls = service.mutating();
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    assert!(plan.stdout.contains("adopt") && plan.stdout.contains("as tainted"), "{}", plan.both());
    assert!(plan.stdout.contains("CapacityError"), "{}", plan.both());
    assert!(plan.stdout.contains("because it is tainted"), "{}", plan.both());
    assert_eq!(service.mutating(), calls, "plan made mutating calls");
    assert!(p.state_files() == files, "plan changed state files");

    failed.store(1, Ordering::SeqCst);
    let run = p.expect(0, &["apply", "-auto-approve"]);
    assert_eq!(failed.load(Ordering::SeqCst), 0, "apply read the endpoint once before replacing it");
    assert!(run.stderr.contains("as tainted"), "{}", run.both());
    let now = endpoints();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_ne!(now, first, "the failed endpoint was replaced");
    assert_eq!(p.attribute("backend", "Endpoint", "EndpointName"), now[0]);
    p.expect(0, &["plan", "--detailed-exitcode"]);
}

const VPC_RUNS: usize = 30;

/// Two VPCs: EC2 assigns their IDs, so only the token their create carried finds them.
fn network() -> String {
    r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
      EnableDnsHostnames: true
      Tags:
        - Key: team
          Value: ml
  Inference:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.1.0.0/16
"#
    .to_string()
}

#[test]
fn a_vpc_killed_between_its_create_and_its_record_is_adopted_by_its_token() {
    let seed = std::env::var("INFRA_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    for run in 0..VPC_RUNS {
        let p = AwsProject::new(&[("network", "vpc.yaml", &network())]);
        // Hold the first or the second CreateVpc: the VPC exists, the run is killed before it
        // records it.
        let nth = rng.usize(1..=2);
        let aim = proxy(&p, move |action, n| (action == "CreateVpc" && n == nth).then_some(Fault::ForwardThenHold));
        p.set_endpoint(&aim.url);
        let mut child = spawn(&p, &["apply", "-auto-approve", "--parallelism", "1"]);
        wait_until(&mut child, "the aimed CreateVpc", || aim.held_answered() > 0);
        kill(child);
        p.set_endpoint(&p.account.endpoint_url);
        let context = format!("run {run} (seed {seed}, CreateVpc #{nth} held)");
        assert!(p.has_journal(), "{context}: no journal");
        let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
        assert!(plan.stdout.contains("the interrupted create took effect: adopt vpc-"), "{context}\n{}", plan.both());
        p.expect(0, &["apply", "-auto-approve"]);

        let ec2 = aws_sdk_ec2::Client::new(&p.sdk_config());
        let vpcs = p.runtime.block_on(ec2.describe_vpcs().send()).expect("DescribeVpcs").vpcs.unwrap_or_default();
        let ours: Vec<String> =
            vpcs.iter().filter(|v| v.is_default != Some(true)).filter_map(|v| v.vpc_id.clone()).collect();
        let mut recorded = vec![p.attribute("network", "Vpc", "VpcId"), p.attribute("network", "Inference", "VpcId")];
        recorded.sort();
        let mut live = ours.clone();
        live.sort();
        assert_eq!(live, recorded, "{context}: the account's VPCs and the state disagree (a duplicate?)");
        p.expect(0, &["plan", "--detailed-exitcode"]);
    }
}
