//! Baseline for `bench/network.sh`: the network layer the benchmark generates (one VPC, N
//! subnets, N security groups with one inline ingress rule each), made and deleted through a
//! plain SDK loop that sends the same calls infra's EC2 provider sends, in the same order and
//! at the same concurrency:
//!
//! - create: `GetCallerIdentity` (infra's account lookup); the VPC first: `CreateVpc` (with
//!   the tag infra's create carries), `DescribeVpcs` (the wait for `available`), then
//!   `DescribeNetworkAcls` and `DescribeSecurityGroups` together (its default ACL and group);
//!   then the subnets and groups, at most `--concurrency` at once: per subnet `CreateSubnet`,
//!   `DescribeSubnets` (the wait), `DescribeSubnets` and `DescribeNetworkAcls` (its attributes);
//!   per group `CreateSecurityGroup`, `DescribeSecurityGroupRules`,
//!   `AuthorizeSecurityGroupIngress`, `DescribeSecurityGroups`;
//! - delete: `GetCallerIdentity`; `DeleteSubnet` and `DeleteSecurityGroup`, at most
//!   `--concurrency` at once; then `DeleteVpc`.
//!
//! `bench/network.sh` counts both sides' calls through `count` and prints them side by side.
//! It is an example of the root package, not of infra-aws, so that its release build shares
//! every dependency with the release `infra` binary (infra-aws's dev-dependencies change
//! tokio's features, which would rebuild the whole AWS SDK).
//!
//! ```text
//! cargo run --release --example network_sdk_loop -- create --ids FILE [--count 50] [--concurrency 10]
//! cargo run --release --example network_sdk_loop -- delete --ids FILE [--concurrency 10]
//! cargo run --release --example network_sdk_loop -- count -- COMMAND [ARGS...]
//! ```
//! `create` writes the IDs it made to FILE, `delete` deletes them; each prints its wall time as
//! JSON. `count` runs COMMAND with `AWS_ENDPOINT_URL` pointing at a counting proxy in front of
//! the real one and prints the calls it made, by action, as JSON (the command's own output
//! goes to standard error). Where requests go and as whom comes from the SDK's usual
//! environment (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...).

use aws_config::BehaviorVersion;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, Tag, TagSpecification};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The tag key infra's creates carry (`infra_core::provider::INTENT_TAG`).
const INTENT_TAG: &str = infra_core::provider::INTENT_TAG;

struct Args {
    command: String,
    count: usize,
    concurrency: usize,
    ids: Option<String>,
    rest: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let command = it.next().ok_or("usage: network_sdk_loop create|delete|count ...")?;
    let mut args = Args { command, count: 50, concurrency: 10, ids: None, rest: Vec::new() };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--count" => args.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--concurrency" => args.concurrency = value()?.parse().map_err(|e| format!("--concurrency: {e}"))?,
            "--ids" => args.ids = Some(value()?),
            "--" => {
                args.rest = it.by_ref().collect();
                break;
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.concurrency == 0 {
        return Err("--concurrency must be at least 1".into());
    }
    if args.count > 250 {
        return Err("--count must be at most 250 (one /24 of 10.0.0.0/16 per subnet)".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: network_sdk_loop: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    match args.command.as_str() {
        "create" | "delete" => {
            let ids = args.ids.clone().ok_or("--ids FILE is required")?;
            let config = aws_config::defaults(BehaviorVersion::latest()).load().await;
            let (ec2, sts) = (aws_sdk_ec2::Client::new(&config), aws_sdk_sts::Client::new(&config));
            let start = Instant::now();
            if args.command == "create" {
                let made = create(&ec2, &sts, args.count, args.concurrency).await?;
                std::fs::write(&ids, made.to_json()).map_err(|e| format!("failed to write {ids}: {e}"))?;
            } else {
                let text = std::fs::read_to_string(&ids).map_err(|e| format!("failed to read {ids}: {e}"))?;
                let made = Made::from_json(&text).map_err(|e| format!("{ids}: {e}"))?;
                delete(&ec2, &sts, &made, args.concurrency).await?;
            }
            let seconds = (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
            println!("{}", serde_json::json!({ "operation": args.command, "seconds": seconds }));
            Ok(())
        }
        "count" => count(&args.rest).await,
        other => Err(format!("unknown command {other}: expected create, delete or count")),
    }
}

/// What `create` made, for `delete`.
#[derive(Debug)]
struct Made {
    vpc: String,
    subnets: Vec<String>,
    groups: Vec<String>,
}

impl Made {
    fn to_json(&self) -> String {
        serde_json::json!({ "vpc": self.vpc, "subnets": self.subnets, "groups": self.groups }).to_string()
    }

    fn from_json(text: &str) -> Result<Made, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let list = |key: &str| -> Vec<String> {
            v[key].as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_string)).collect()
        };
        let vpc = v["vpc"].as_str().map(str::to_string).ok_or("no \"vpc\" in the file")?;
        Ok(Made { vpc, subnets: list("subnets"), groups: list("groups") })
    }
}

/// An SDK error as text, with the operation that failed.
fn err<E: std::fmt::Debug>(operation: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{operation}: {e:?}")
}

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The tags infra's creates carry: the intent tag with a token of the same length.
fn intent_tags(kind: ResourceType, i: usize) -> TagSpecification {
    let token = format!("{:08x}-0000-4000-8000-{i:012x}", std::process::id());
    TagSpecification::builder().resource_type(kind).tags(Tag::builder().key(INTENT_TAG).value(token).build()).build()
}

/// Run `op(i)` for every index, at most `concurrency` at once; the first error wins.
async fn run_all<F, Fut, T>(count: usize, concurrency: usize, op: F) -> Result<Vec<T>, String>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T, String>> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    for i in 0..count {
        let permit = permits.clone().acquire_owned().await.map_err(|e| e.to_string())?;
        let fut = op(i);
        tasks.spawn(async move {
            let out = fut.await;
            drop(permit);
            out.map(|v| (i, v))
        });
    }
    let mut out: Vec<Option<T>> = (0..count).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let (i, v) = done.map_err(|e| e.to_string())??;
        out[i] = Some(v);
    }
    Ok(out.into_iter().flatten().collect())
}

/// A subnet or a group: the two kinds made after the VPC, interleaved as infra's walk starts
/// them (the template lists each subnet beside its group).
#[derive(Debug)]
enum Item {
    Subnet(String),
    Group(String),
}

async fn create(
    ec2: &aws_sdk_ec2::Client,
    sts: &aws_sdk_sts::Client,
    count: usize,
    concurrency: usize,
) -> Result<Made, String> {
    sts.get_caller_identity().send().await.map_err(|e| format!("GetCallerIdentity: {e:?}"))?;
    let out = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(intent_tags(ResourceType::Vpc, 0))
        .send()
        .await
        .map_err(err("CreateVpc"))?;
    let vpc = out.vpc.and_then(|v| v.vpc_id).ok_or("CreateVpc answered no VPC ID")?;
    ec2.describe_vpcs().vpc_ids(&vpc).send().await.map_err(err("DescribeVpcs"))?;
    let (acls, groups) = tokio::join!(
        ec2.describe_network_acls().filters(filter("vpc-id", &vpc)).filters(filter("default", "true")).send(),
        ec2.describe_security_groups().filters(filter("vpc-id", &vpc)).filters(filter("group-name", "default")).send(),
    );
    acls.map_err(err("DescribeNetworkAcls"))?;
    groups.map_err(err("DescribeSecurityGroups"))?;

    let items = run_all(2 * count, concurrency, |k| {
        let (ec2, vpc, i) = (ec2.clone(), vpc.clone(), k / 2);
        async move {
            if k % 2 == 0 {
                subnet(&ec2, &vpc, i).await.map(Item::Subnet)
            } else {
                group(&ec2, &vpc, i).await.map(Item::Group)
            }
        }
    })
    .await?;
    let mut made = Made { vpc, subnets: Vec::new(), groups: Vec::new() };
    for item in items {
        match item {
            Item::Subnet(id) => made.subnets.push(id),
            Item::Group(id) => made.groups.push(id),
        }
    }
    Ok(made)
}

async fn subnet(ec2: &aws_sdk_ec2::Client, vpc: &str, i: usize) -> Result<String, String> {
    let out = ec2
        .create_subnet()
        .vpc_id(vpc)
        .cidr_block(format!("10.0.{i}.0/24"))
        .tag_specifications(intent_tags(ResourceType::Subnet, i))
        .send()
        .await
        .map_err(err("CreateSubnet"))?;
    let id = out.subnet.and_then(|s| s.subnet_id).ok_or("CreateSubnet answered no subnet ID")?;
    // The wait for `available`, then the attributes infra records.
    ec2.describe_subnets().subnet_ids(&id).send().await.map_err(err("DescribeSubnets"))?;
    ec2.describe_subnets().subnet_ids(&id).send().await.map_err(err("DescribeSubnets"))?;
    ec2.describe_network_acls()
        .filters(filter("association.subnet-id", &id))
        .send()
        .await
        .map_err(err("DescribeNetworkAcls"))?;
    Ok(id)
}

async fn group(ec2: &aws_sdk_ec2::Client, vpc: &str, i: usize) -> Result<String, String> {
    let out = ec2
        .create_security_group()
        .group_name(format!("bench-network-Group{i}-{:012X}", i))
        .description(format!("bench group {i}"))
        .vpc_id(vpc)
        .tag_specifications(intent_tags(ResourceType::SecurityGroup, i))
        .send()
        .await
        .map_err(err("CreateSecurityGroup"))?;
    let id = out.group_id.ok_or("CreateSecurityGroup answered no group ID")?;
    ec2.describe_security_group_rules()
        .filters(filter("group-id", &id))
        .send()
        .await
        .map_err(err("DescribeSecurityGroupRules"))?;
    let port = i32::try_from(8000 + i).map_err(|e| e.to_string())?;
    let rule = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port)
        .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/16").build())
        .build();
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(rule)
        .send()
        .await
        .map_err(err("AuthorizeSecurityGroupIngress"))?;
    ec2.describe_security_groups().group_ids(&id).send().await.map_err(err("DescribeSecurityGroups"))?;
    Ok(id)
}

async fn delete(
    ec2: &aws_sdk_ec2::Client,
    sts: &aws_sdk_sts::Client,
    made: &Made,
    concurrency: usize,
) -> Result<(), String> {
    sts.get_caller_identity().send().await.map_err(|e| format!("GetCallerIdentity: {e:?}"))?;
    let items: Vec<Item> = made
        .subnets
        .iter()
        .zip(&made.groups)
        .flat_map(|(s, g)| [Item::Subnet(s.clone()), Item::Group(g.clone())])
        .collect();
    let items = Arc::new(items);
    run_all(items.len(), concurrency, |k| {
        let (ec2, items) = (ec2.clone(), items.clone());
        async move {
            match &items[k] {
                Item::Subnet(id) => {
                    ec2.delete_subnet().subnet_id(id).send().await.map(drop).map_err(err("DeleteSubnet"))
                }
                Item::Group(id) => {
                    ec2.delete_security_group().group_id(id).send().await.map(drop).map_err(err("DeleteSecurityGroup"))
                }
            }
        }
    })
    .await?;
    ec2.delete_vpc().vpc_id(&made.vpc).send().await.map_err(err("DeleteVpc"))?;
    Ok(())
}

/// Runs `command` through a counting proxy in front of `AWS_ENDPOINT_URL` and prints its calls
/// by action.
async fn count(command: &[String]) -> Result<(), String> {
    let (program, args) = command.split_first().ok_or("count needs a command after --")?;
    let upstream = std::env::var("AWS_ENDPOINT_URL").map_err(|_| "count needs AWS_ENDPOINT_URL")?;
    let proxy = infra_aws::testing::FaultProxy::start(&upstream, |_, _| None).await?;
    let out = tokio::process::Command::new(program)
        .args(args)
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .output()
        .await
        .map_err(|e| format!("failed to run {program}: {e}"))?;
    eprint!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("{program} {} failed ({})", args.join(" "), out.status));
    }
    println!("{}", serde_json::to_string(&proxy.actions()).map_err(|e| e.to_string())?);
    Ok(())
}
