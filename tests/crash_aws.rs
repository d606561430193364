//! Crash safety against a local AWS, through the real `infra` binary, over two layers: an IAM
//! layer (roles, policies, an instance profile) and a network layer (a VPC, two subnets, an
//! internet gateway and its attachment, a route table with a default route and two subnet
//! associations, a security group with inline rules). For each, `kill -9` during apply, during
//! an update that replaces something and changes something in place, and during destroy; then,
//! before the run that recovers, a `plan` that must change nothing, and sometimes a recovery
//! that fails (expired credentials, an unreachable endpoint) or is itself killed. After each
//! run the account holds exactly what state says, with no duplicate (counted by the account's
//! own List and Describe calls), and the next plan is a no-op.
//!
//! Most kills are aimed: a fault proxy in front of the local AWS forwards the k-th mutating
//! call and then holds its answer, so the process dies with that call carried out but not
//! recorded, which is the moment recovery exists for. The others land at a random moment of a
//! full run's measured duration. The three scenarios follow each other on one project (apply
//! version 1, apply version 2, destroy), each starting from what the one before left once it
//! was recovered and checked. `INFRA_TEST_SEED` replays a run; `INFRA_CRASH_RUNS` sets how
//! many per layer (default: [`Layer::runs`], a third per scenario).

mod aws_project;

use aws_project::AwsProject;
use infra_aws::testing::{is_read_only, Fault, FaultProxy};
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const APPLY: &[&str] = &["apply", "-auto-approve"];
const DESTROY: &[&str] = &["destroy", "-auto-approve"];

/// What the account holds (or state records) of a layer, by resource type: physical IDs.
type Inventory = BTreeMap<&'static str, BTreeSet<String>>;

/// A layer the crash runs work on.
struct Layer {
    name: &'static str,
    file: &'static str,
    /// The template; version 2 replaces something and updates something in place.
    template: fn(u32) -> String,
    /// The resource types compared between the account and state, with how many of each a
    /// fully applied template (either version) makes.
    kinds: &'static [(&'static str, usize)],
    /// What the account holds of `kinds`, by its own List and Describe calls.
    live: fn(&AwsProject) -> Inventory,
    /// Checks beyond the IDs, of the account against the version applied (`None` after a
    /// destroy) and the state's inventory.
    check: fn(&AwsProject, Option<u32>, &Inventory, &str),
    /// Kills in a default run.
    runs: usize,
}

const IDENTITY: Layer = Layer {
    name: "identity",
    file: "roles.yaml",
    template: identity_template,
    kinds: &[("AWS::IAM::Role", 2), ("AWS::IAM::ManagedPolicy", 1), ("AWS::IAM::InstanceProfile", 1)],
    live: identity_live,
    check: identity_check,
    runs: 45,
};

const NETWORK: Layer = Layer {
    name: "network",
    file: "vpc.yaml",
    template: network_template,
    kinds: &[
        ("AWS::EC2::VPC", 1),
        ("AWS::EC2::Subnet", 2),
        ("AWS::EC2::InternetGateway", 1),
        ("AWS::EC2::VPCGatewayAttachment", 1),
        ("AWS::EC2::RouteTable", 1),
        ("AWS::EC2::Route", 1),
        ("AWS::EC2::SubnetRouteTableAssociation", 2),
        ("AWS::EC2::SecurityGroup", 1),
    ],
    live: network_live,
    check: network_check,
    runs: 36,
};

/// Roles, an inline policy, a managed policy and an instance profile, all with generated
/// names. Moving to `version` 2 changes the execution role's `Path` (a replacement, create
/// before delete, which repoints the policy and the profile) and the managed policy's
/// document (an update in place).
fn identity_template(version: u32) -> String {
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

fn identity_live(p: &AwsProject) -> Inventory {
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
        Inventory::from([
            ("AWS::IAM::Role", roles.into_iter().map(|r| r.role_name).collect()),
            ("AWS::IAM::ManagedPolicy", policies.into_iter().filter_map(|p| p.arn).collect()),
            ("AWS::IAM::InstanceProfile", profiles.into_iter().map(|p| p.instance_profile_name).collect()),
        ])
    })
}

/// Every execution role still has its inline policy.
fn identity_check(p: &AwsProject, _version: Option<u32>, state: &Inventory, context: &str) {
    let iam = aws_sdk_iam::Client::new(&p.sdk_config());
    let execution = state["AWS::IAM::Role"].iter().filter(|r| r.contains("ExecutionRole"));
    for role in execution {
        let names = p.runtime.block_on(iam.list_role_policies().role_name(role).send()).expect("ListRolePolicies");
        assert_eq!(names.policy_names, ["read-data"], "{context}: inline policies of {role}");
    }
}

/// The second subnet's range in each version: version 2 replaces the subnet.
fn subnet_b_cidr(version: u32) -> &'static str {
    if version == 1 {
        "10.0.2.0/24"
    } else {
        "10.0.3.0/24"
    }
}

/// The security group's ingress rules in each version (protocol, ports, source): version 2
/// changes them in place.
fn ingress_rules(version: u32) -> Vec<(&'static str, i32, &'static str)> {
    let web = if version == 1 { 80 } else { 8080 };
    vec![("tcp", 443, "10.0.0.0/16"), ("tcp", web, "10.0.0.0/16"), ("tcp", 22, "10.9.0.0/16")]
}

/// A VPC with two subnets, an internet gateway attached to it, a route table with a default
/// route through the gateway that both subnets use, and a security group with inline rules.
/// Moving to `version` 2 changes the second subnet's range (a replacement, create before
/// delete, which replaces its association too) and, in place, the VPC's tags and one of the
/// group's ingress rules.
fn network_template(version: u32) -> String {
    let rules: String = ingress_rules(version)
        .into_iter()
        .map(|(protocol, port, cidr)| {
            format!("        - {{ IpProtocol: {protocol}, FromPort: {port}, ToPort: {port}, CidrIp: {cidr} }}\n")
        })
        .collect();
    format!(
        r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
      Tags:
        - Key: version
          Value: v{version}
  SubnetA:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.0.1.0/24
      AvailabilityZone: us-east-1a
  SubnetB:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: {subnet_b}
      AvailabilityZone: us-east-1b
  InternetGateway:
    Type: AWS::EC2::InternetGateway
  GatewayAttachment:
    Type: AWS::EC2::VPCGatewayAttachment
    Properties:
      VpcId: !Ref Vpc
      InternetGatewayId: !Ref InternetGateway
  RouteTable:
    Type: AWS::EC2::RouteTable
    Properties:
      VpcId: !Ref Vpc
  DefaultRoute:
    Type: AWS::EC2::Route
    DependsOn: GatewayAttachment
    Properties:
      RouteTableId: !Ref RouteTable
      DestinationCidrBlock: 0.0.0.0/0
      GatewayId: !Ref InternetGateway
  SubnetARouteTable:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties:
      SubnetId: !Ref SubnetA
      RouteTableId: !Ref RouteTable
  SubnetBRouteTable:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties:
      SubnetId: !Ref SubnetB
      RouteTableId: !Ref RouteTable
  Endpoints:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: Inference endpoints
      VpcId: !Ref Vpc
      SecurityGroupIngress:
{rules}      SecurityGroupEgress:
        - {{ IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 0.0.0.0/0 }}
"#,
        subnet_b = subnet_b_cidr(version),
    )
}

/// What the account holds of the network layer's kinds, leaving out the default VPC and what
/// EC2 makes with every VPC (its main route table, its `local` routes, its `default` group).
fn network_live(p: &AwsProject) -> Inventory {
    let ec2 = aws_sdk_ec2::Client::new(&p.sdk_config());
    p.runtime.block_on(async {
        let vpcs = ec2.describe_vpcs().send().await.expect("DescribeVpcs").vpcs.unwrap_or_default();
        let default: BTreeSet<String> =
            vpcs.iter().filter(|v| v.is_default == Some(true)).filter_map(|v| v.vpc_id.clone()).collect();
        let ours = |vpc: Option<&str>| vpc.is_some_and(|v| !default.contains(v));
        let subnets = ec2.describe_subnets().send().await.expect("DescribeSubnets").subnets.unwrap_or_default();
        let gateways = ec2.describe_internet_gateways().send().await.expect("DescribeInternetGateways");
        let tables = ec2.describe_route_tables().send().await.expect("DescribeRouteTables");
        let groups = ec2.describe_security_groups().send().await.expect("DescribeSecurityGroups");
        let mut inv = Inventory::new();
        let mut put = |kind: &'static str, id: String| {
            inv.entry(kind).or_default().insert(id);
        };
        for vpc in vpcs.iter().filter(|v| ours(v.vpc_id())) {
            put("AWS::EC2::VPC", vpc.vpc_id().unwrap_or_default().to_string());
        }
        for subnet in subnets.iter().filter(|s| ours(s.vpc_id())) {
            put("AWS::EC2::Subnet", subnet.subnet_id().unwrap_or_default().to_string());
        }
        for gateway in gateways.internet_gateways() {
            let attached: Vec<&str> = gateway.attachments().iter().filter_map(|a| a.vpc_id()).collect();
            if attached.iter().any(|v| default.contains(*v)) {
                continue;
            }
            put("AWS::EC2::InternetGateway", gateway.internet_gateway_id().unwrap_or_default().to_string());
            for vpc in attached {
                put("AWS::EC2::VPCGatewayAttachment", format!("IGW|{vpc}"));
            }
        }
        for table in tables.route_tables().iter().filter(|t| ours(t.vpc_id())) {
            if table.associations().iter().any(|a| a.main() == Some(true)) {
                continue;
            }
            let id = table.route_table_id().unwrap_or_default();
            put("AWS::EC2::RouteTable", id.to_string());
            for route in table.routes().iter().filter(|r| r.gateway_id() != Some("local")) {
                put("AWS::EC2::Route", format!("{id}|{}", route.destination_cidr_block().unwrap_or("?")));
            }
            for association in table.associations() {
                put(
                    "AWS::EC2::SubnetRouteTableAssociation",
                    association.route_table_association_id().unwrap_or_default().to_string(),
                );
            }
        }
        for group in groups.security_groups().iter().filter(|g| ours(g.vpc_id()) && g.group_name() != Some("default")) {
            put("AWS::EC2::SecurityGroup", group.group_id().unwrap_or_default().to_string());
        }
        inv
    })
}

/// The network as the version says: the subnets' ranges, the default route through the
/// gateway, both subnets associated with the table, the group's ingress rules.
fn network_check(p: &AwsProject, version: Option<u32>, state: &Inventory, context: &str) {
    let Some(version) = version else { return };
    let ec2 = aws_sdk_ec2::Client::new(&p.sdk_config());
    let one = |kind: &str| state[kind].iter().next().cloned().unwrap_or_default();
    let (table, gateway, group) =
        (one("AWS::EC2::RouteTable"), one("AWS::EC2::InternetGateway"), one("AWS::EC2::SecurityGroup"));
    p.runtime.block_on(async {
        let subnet_ids: Vec<String> = state["AWS::EC2::Subnet"].iter().cloned().collect();
        let subnets = ec2.describe_subnets().set_subnet_ids(Some(subnet_ids)).send().await.expect("DescribeSubnets");
        let cidrs: BTreeSet<&str> = subnets.subnets().iter().filter_map(|s| s.cidr_block()).collect();
        assert_eq!(cidrs, BTreeSet::from(["10.0.1.0/24", subnet_b_cidr(version)]), "{context}: subnet ranges");

        let tables = ec2.describe_route_tables().route_table_ids(&table).send().await.expect("DescribeRouteTables");
        let table = tables.route_tables().first().unwrap_or_else(|| panic!("{context}: route table {table} is gone"));
        let targets: Vec<Option<&str>> = table
            .routes()
            .iter()
            .filter(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .map(|r| r.gateway_id())
            .collect();
        assert_eq!(targets, [Some(gateway.as_str())], "{context}: the default route's target");
        let associated: BTreeSet<String> =
            table.associations().iter().filter_map(|a| a.subnet_id().map(str::to_string)).collect();
        assert_eq!(associated, state["AWS::EC2::Subnet"], "{context}: the subnets using the route table");

        let rules = ec2
            .describe_security_group_rules()
            .filters(aws_sdk_ec2::types::Filter::builder().name("group-id").values(&group).build())
            .send()
            .await
            .expect("DescribeSecurityGroupRules");
        let ingress: BTreeSet<(String, i32, String)> = rules
            .security_group_rules()
            .iter()
            .filter(|r| r.is_egress() == Some(false))
            .map(|r| {
                let protocol = r.ip_protocol().unwrap_or_default().to_string();
                (protocol, r.from_port().unwrap_or(-1), r.cidr_ipv4().unwrap_or_default().to_string())
            })
            .collect();
        let expected: BTreeSet<(String, i32, String)> =
            ingress_rules(version).into_iter().map(|(p, port, c)| (p.to_string(), port, c.to_string())).collect();
        assert_eq!(ingress, expected, "{context}: the group's ingress rules");
    });
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// Version 1 from nothing, on a fresh account.
    Create,
    /// Version 2 over version 1: a replacement and an update in place.
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

/// Readies the scenario's command: a new project on a fresh account for `Create` (and for a
/// scenario with no project before it, brought to version 1 first), else the project as the
/// scenario before left it, its template moved to version 2 for `Replace`.
fn prepare(layer: &Layer, project: Option<AwsProject>, scenario: Scenario) -> (AwsProject, &'static [&'static str]) {
    let p = match project {
        Some(p) if scenario != Scenario::Create => p,
        _ => {
            let p = AwsProject::new(&[(layer.name, layer.file, &(layer.template)(1))]);
            if scenario != Scenario::Create {
                p.expect(0, APPLY);
            }
            p
        }
    };
    match scenario {
        Scenario::Create => (p, APPLY),
        Scenario::Replace => {
            p.write(&format!("stacks/{}/{}", layer.name, layer.file), &(layer.template)(2));
            (p, APPLY)
        }
        Scenario::Destroy => (p, DESTROY),
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

/// What state records of the layer's kinds.
fn recorded(p: &AwsProject, layer: &Layer) -> Inventory {
    let run = p.expect(0, &["--format", "json", "state", "list", "--layer", layer.name]);
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).expect("state list JSON");
    let mut inv: Inventory = layer.kinds.iter().map(|(kind, _)| (*kind, BTreeSet::new())).collect();
    for r in listed.as_array().cloned().unwrap_or_default() {
        let kind = r["type"].as_str().unwrap_or_default();
        if let Some(ids) = inv.iter_mut().find(|(k, _)| **k == kind).map(|(_, ids)| ids) {
            ids.insert(r["physical_id"].as_str().unwrap_or_default().to_string());
        }
    }
    inv
}

/// AWS holds exactly what state says (so nothing twice, and nothing state does not know),
/// and the layer's own checks hold.
fn check_agreement(p: &AwsProject, layer: &Layer, version: Option<u32>, context: &str) -> Inventory {
    let mut aws = (layer.live)(p);
    for (kind, _) in layer.kinds {
        aws.entry(kind).or_default();
    }
    let state = recorded(p, layer);
    assert_eq!(aws, state, "{context}: the account and the state disagree");
    (layer.check)(p, version, &state, context);
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

/// How many mutating calls an uninterrupted run of each scenario makes, and how long it takes.
fn measure(layer: &Layer) -> Vec<(usize, Duration)> {
    let mut project = None;
    let mut out = Vec::new();
    for scenario in SCENARIOS {
        let (p, args) = prepare(layer, project.take(), scenario);
        let a = aim(&p, None, mutating);
        p.set_endpoint(&a.proxy.url);
        let started = Instant::now();
        p.expect(0, args);
        let took = started.elapsed();
        p.set_endpoint(&p.account.endpoint_url);
        out.push((a.proxy.mutating().into_iter().filter(|(k, _)| mutating(k)).map(|(_, n)| n).sum(), took));
        project = Some(p);
    }
    out
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[derive(Default, Debug)]
struct Tally {
    runs: usize,
    killed: usize,
    journal_left: usize,
    killed_in_recovery: usize,
    failed_recoveries: usize,
}

/// The crash runs over one layer: scenario after scenario, each killed once, recovered and
/// checked.
fn crash_runs(layer: &Layer) {
    let seed = seed();
    let runs = std::env::var("INFRA_CRASH_RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(layer.runs);
    let mut rng = fastrand::Rng::with_seed(seed);
    let full = measure(layer);
    eprintln!(
        "crash_aws {}: mutating calls and duration per full run {:?} (seed {seed})",
        layer.name,
        SCENARIOS.iter().zip(&full).collect::<Vec<_>>()
    );
    let mut tally = Tally::default();
    let mut project = None;
    for run in 0..runs {
        let scenario = SCENARIOS[run % SCENARIOS.len()];
        let (calls, duration) = full[run % SCENARIOS.len()];
        let rerun = RERUNS[(run / SCENARIOS.len()) % RERUNS.len()];
        // Two kills in three are aimed at a mutating call; the others land at a random moment.
        let hold_at = (run % 3 != 2).then(|| rng.usize(1..=calls));
        let context =
            format!("{} run {run} (seed {seed}, {scenario:?}, rerun {rerun:?}, hold {hold_at:?})", layer.name);
        let (p, args) = prepare(layer, project.take(), scenario);
        let a = aim(&p, hold_at, mutating);
        p.set_endpoint(&a.proxy.url);
        let mut child = spawn(&p, args);
        match hold_at {
            Some(_) => {
                assert!(wait_for(&a, &mut child), "{context}: infra exited before the aimed call");
            }
            None => std::thread::sleep(Duration::from_millis(rng.u64(0..=millis(duration)))),
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
        let version = match scenario {
            Scenario::Create => Some(1),
            Scenario::Replace => Some(2),
            Scenario::Destroy => None,
        };
        let state = check_agreement(&p, layer, version, &context);
        let counts: BTreeMap<&str, usize> = state.iter().map(|(kind, ids)| (*kind, ids.len())).collect();
        if scenario == Scenario::Destroy {
            assert!(counts.values().all(|n| *n == 0), "{context}: destroy left resources behind: {state:?}");
        } else {
            let expected: BTreeMap<&str, usize> = layer.kinds.iter().copied().collect();
            assert_eq!(counts, expected, "{context}: resources by type");
            let plan = p.infra(&["plan", "--detailed-exitcode"]);
            assert_eq!(plan.code, 0, "{context}: the plan after recovery is not a no-op\n{}", plan.both());
        }
        assert!(!p.has_journal(), "{context}: a journal is left after a successful run");
        project = Some(p);
    }
    eprintln!("crash_aws {}: {tally:?}", layer.name);
    let aimed = (0..runs).filter(|r| r % 3 != 2).count();
    assert!(
        tally.killed >= aimed,
        "{}: only {} of {aimed} aimed kills hit a running process",
        layer.name,
        tally.killed
    );
    assert!(
        tally.journal_left * 2 >= runs,
        "{}: only {} of {runs} kills left a journal to recover",
        layer.name,
        tally.journal_left
    );
    if runs >= 24 {
        assert!(tally.failed_recoveries > 0 && tally.killed_in_recovery > 0, "{}: {tally:?}", layer.name);
    }
}

#[test]
fn kill_9_during_the_iam_layer_then_recover_leaves_exactly_what_state_says() {
    crash_runs(&IDENTITY);
}

#[test]
fn kill_9_during_the_network_layer_then_recover_leaves_exactly_what_state_says() {
    crash_runs(&NETWORK);
}
