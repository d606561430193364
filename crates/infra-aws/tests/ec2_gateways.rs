//! Elastic IPs, NAT gateways and VPC endpoints against a local AWS through the real SDK. For
//! each: create, read back equal to what was applied (so a re-plan is a no-op), in-place
//! updates, replacement where the schema forces one, delete (and delete of what is gone), and
//! `find` after a lost answer without making a second resource. The NAT gateway's waits: a
//! gateway `pending` for a while, and one that ends `failed` with EC2's message. Deleting a
//! VPC: blocked by a NAT gateway and an endpoint, it names them; while a NAT gateway is still
//! `deleting`, it waits and then succeeds.
//!
//! What the local AWS does and does not show (see `scripts/local_aws_server.py`): moto creates
//! NAT gateways `available` at once, so `pending` and `failed` are the proxy rewriting
//! DescribeNatGateways answers; `deleting` (for two answers after a delete), the VPC's refusal
//! while gateways, endpoints or interfaces remain, private DNS, policy resets and the
//! network interfaces of subnets added to or removed from an interface endpoint are the
//! server's additions. moto reports neither an address's pool nor its border group, so their
//! read-back is not exercised.

mod ec2_support;

use ec2_support::{create, delete, find, read, settings, update};
use infra_aws::ec2::{Ec2Provider, Ec2Settings};
use infra_aws::testing::{Account, Fault, FaultProxy, LocalAws};
use infra_aws::waiter::{Heartbeat, HeartbeatSink, Polling};
use infra_core::provider::events::{self, ProviderEvent};
use infra_core::provider::{Applied, ErrorKind, Provider, INTENT_TAG};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const VPC: &str = "AWS::EC2::VPC";
const SUBNET: &str = "AWS::EC2::Subnet";
const ROUTE_TABLE: &str = "AWS::EC2::RouteTable";
const SECURITY_GROUP: &str = "AWS::EC2::SecurityGroup";
const EIP: &str = "AWS::EC2::EIP";
const NAT: &str = "AWS::EC2::NatGateway";
const ENDPOINT: &str = "AWS::EC2::VPCEndpoint";

const S3: &str = "com.amazonaws.us-east-1.s3";
const SAGEMAKER_RUNTIME: &str = "com.amazonaws.us-east-1.sagemaker.runtime";

struct World {
    account: Account,
    provider: Ec2Provider,
    ec2: aws_sdk_ec2::Client,
}

async fn world() -> World {
    let aws = LocalAws::shared().expect("local AWS");
    let account = aws.account().await.expect("account");
    let config = account.sdk_config().await.expect("config");
    World { provider: Ec2Provider::with_settings(&config, settings()), ec2: aws_sdk_ec2::Client::new(&config), account }
}

/// Settings whose waits report every poll, and what they reported.
fn heard_settings() -> (Ec2Settings, Arc<Mutex<Vec<Heartbeat>>>) {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink: HeartbeatSink = {
        let heard = heard.clone();
        Arc::new(move |h: &Heartbeat| heard.lock().unwrap().push(h.clone()))
    };
    let settings = Ec2Settings {
        polling: Polling {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(50),
            heartbeat_every: Duration::ZERO,
        },
        heartbeats: Some(sink),
        ..settings()
    };
    (settings, heard)
}

impl World {
    async fn via(&self, proxy: &FaultProxy) -> Ec2Provider {
        self.via_with(proxy, settings()).await
    }

    async fn via_with(&self, proxy: &FaultProxy, settings: Ec2Settings) -> Ec2Provider {
        Ec2Provider::with_settings(&self.account.sdk_config_via(&proxy.url).await.expect("config"), settings)
    }

    async fn make(&self, ty: &str, properties: Value) -> Applied {
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let token = format!("made-{}", MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
        create(&self.provider, ty, &token, &properties).await.unwrap_or_else(|e| panic!("{ty} {properties}: {e}"))
    }

    /// A VPC and a subnet in it.
    async fn network(&self, cidr: &str, subnet: &str) -> (String, String) {
        let vpc = self.make(VPC, json!({"CidrBlock": cidr})).await.physical_id;
        let subnet = self.make(SUBNET, json!({"VpcId": vpc, "CidrBlock": subnet})).await.physical_id;
        (vpc, subnet)
    }

    async fn addresses_carrying(&self, token: &str) -> Vec<String> {
        let out = self.ec2.describe_addresses().filters(tag_filter(token)).send().await.expect("describe");
        out.addresses().iter().filter_map(|a| a.allocation_id().map(str::to_string)).collect()
    }

    /// NAT gateways carrying the tag, not deleted (checked here: moto ignores the tag filter).
    async fn nat_gateways_carrying(&self, token: &str) -> Vec<String> {
        let out = self.ec2.describe_nat_gateways().filter(tag_filter(token)).send().await.expect("describe");
        out.nat_gateways()
            .iter()
            .filter(|n| n.tags().iter().any(|t| t.key() == Some(INTENT_TAG) && t.value() == Some(token)))
            .filter(|n| n.state().map(|s| s.as_str()) != Some("deleted"))
            .filter_map(|n| n.nat_gateway_id().map(str::to_string))
            .collect()
    }

    async fn endpoints_carrying(&self, token: &str) -> Vec<String> {
        let out = self.ec2.describe_vpc_endpoints().filters(tag_filter(token)).send().await.expect("describe");
        out.vpc_endpoints().iter().filter_map(|e| e.vpc_endpoint_id().map(str::to_string)).collect()
    }
}

fn tag_filter(token: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder().name(format!("tag:{INTENT_TAG}")).values(token).build()
}

/// Create `steps[0]`, update through the others; after each step the read-back equals the
/// step, the attributes are those applied, and `find` finds it. Then delete, read nothing,
/// delete again. Returns what each step applied.
async fn life_cycle(w: &World, ty: &str, token: &str, steps: &[Value]) -> Vec<Applied> {
    let first = &steps[0];
    let mut applied =
        create(&w.provider, ty, token, first).await.unwrap_or_else(|e| panic!("{ty}: create {first}: {e}"));
    let id = applied.physical_id.clone();
    let mut current = first.clone();
    let mut all = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            let updated = update(&w.provider, ty, &id, &current, step, &applied)
                .await
                .unwrap_or_else(|e| panic!("{ty}: update to step {i} {step}: {e}"));
            assert_eq!(updated.physical_id, id, "{ty}");
            (applied, current) = (updated, step.clone());
        }
        let observed = read(&w.provider, ty, &id, &current).await.unwrap_or_else(|| panic!("{ty} step {i}: gone"));
        assert_eq!(observed.properties, current, "{ty} step {i}: read-back differs");
        assert_eq!(observed.physical_id, id, "{ty} step {i}");
        assert_eq!(observed.attributes, applied.attributes, "{ty} step {i}: attributes differ");
        assert_eq!(observed.failure, None, "{ty} step {i}");
        let found = find(&w.provider, ty, token, &current).await.expect("find").expect("found");
        assert_eq!(found.physical_id, id, "{ty} step {i}: find");
        all.push(applied.clone());
    }
    delete(&w.provider, ty, &id).await.unwrap_or_else(|e| panic!("{ty}: delete: {e}"));
    assert!(read(&w.provider, ty, &id, &current).await.is_none(), "{ty}: still there after delete");
    assert_eq!(find(&w.provider, ty, token, &current).await.expect("find"), None, "{ty}: found after delete");
    delete(&w.provider, ty, &id).await.unwrap_or_else(|e| panic!("{ty}: second delete: {e}"));
    all
}

/// A create-only change is refused in place; the replacement is a new resource, and the old
/// one is deleted.
async fn replacement(w: &World, ty: &str, old_props: &Value, new_props: &Value, expected: &str) {
    let old = create(&w.provider, ty, &format!("{ty}-old"), old_props).await.expect("create");
    let err = update(&w.provider, ty, &old.physical_id, old_props, new_props, &old).await.expect_err("create-only");
    assert_eq!((err.kind, err.to_string()), (ErrorKind::Invalid, expected.to_string()), "{ty}");
    let new = create(&w.provider, ty, &format!("{ty}-new"), new_props).await.expect("replacement");
    assert_ne!(new.physical_id, old.physical_id, "{ty}");
    delete(&w.provider, ty, &old.physical_id).await.expect("delete old");
    assert!(read(&w.provider, ty, &old.physical_id, old_props).await.is_none(), "{ty}: old one still there");
    let observed = read(&w.provider, ty, &new.physical_id, new_props).await.expect("new one");
    assert_eq!(observed.properties, *new_props, "{ty}: replacement read-back");
    delete(&w.provider, ty, &new.physical_id).await.expect("delete new");
}

/// Makes `action` lose its first answer (the call takes effect, the client never hears).
async fn losing(action: &'static str) -> FaultProxy {
    let aws = LocalAws::shared().expect("local AWS");
    FaultProxy::start(aws.endpoint_url(), move |a, nth| (a == action && nth == 1).then_some(Fault::ForwardThenDrop))
        .await
        .expect("proxy")
}

#[tokio::test]
async fn eip_life_cycle_and_replacement() {
    let w = world().await;
    let steps = life_cycle(
        &w,
        EIP,
        "eip-a",
        &[
            json!({"Domain": "vpc"}),
            json!({"Domain": "vpc", "Tags": [{"Key": "Name", "Value": "nat"}, {"Key": "n", "Value": 1}]}),
            json!({"Domain": "vpc", "Tags": [{"Key": "n", "Value": "2"}]}),
            json!({"Domain": "vpc"}),
        ],
    )
    .await;
    // Ref is the address itself, as CloudFormation's.
    let first = &steps[0];
    let ip: std::net::Ipv4Addr = first.physical_id.parse().expect("an IPv4 address");
    assert_eq!(first.attributes.get("PublicIp"), Some(&json!(ip.to_string())));
    let allocation = first.attributes.get("AllocationId").and_then(Value::as_str).unwrap_or_default();
    assert!(allocation.starts_with("eipalloc-"), "{:?}", first.attributes);
    assert!(steps.iter().all(|s| s == first), "tags change no attribute");

    // Without Domain it reads back without one.
    let bare = w.make(EIP, json!({})).await;
    assert_eq!(read(&w.provider, EIP, &bare.physical_id, &json!({})).await.expect("exists").properties, json!({}));

    replacement(
        &w,
        EIP,
        &json!({"Domain": "vpc"}),
        &json!({"Domain": "vpc", "NetworkBorderGroup": "us-east-1"}),
        "CreateTags failed: NetworkBorderGroup cannot change without replacing the Elastic IP",
    )
    .await;
    let create_only = w.provider.create_only_properties(EIP).expect("overridden");
    assert!(["Domain", "PublicIpv4Pool", "NetworkBorderGroup"].iter().all(|p| create_only.iter().any(|c| c == p)));
}

#[tokio::test]
async fn eip_lost_answer_makes_one_address_and_bad_input_is_refused() {
    let w = world().await;
    let proxy = losing("AllocateAddress").await;
    let provider = w.via(&proxy).await;
    let props = json!({"Tags": [{"Key": "team", "Value": "ml"}]});
    let created = create(&provider, EIP, "eip-lost", &props).await.expect("create");
    assert_eq!((proxy.seen("AllocateAddress"), proxy.forwarded("AllocateAddress")), (1, 1));
    let allocation = created.attributes.get("AllocationId").and_then(Value::as_str).expect("allocation").to_string();
    assert_eq!(w.addresses_carrying("eip-lost").await, vec![allocation]);
    assert_eq!(read(&w.provider, EIP, &created.physical_id, &props).await.expect("exists").properties, props);

    let cases = [
        (
            json!({"InstanceId": "i-1"}),
            ErrorKind::Unsupported,
            "AllocateAddress failed: property InstanceId is not supported by infra's EC2 provider on Elastic IPs; \
             remove it from the template (associate the address outside infra, or give its AllocationId to a NAT \
             gateway)",
        ),
        (
            json!({"Domain": "standard"}),
            ErrorKind::Invalid,
            "AllocateAddress failed: property Domain must be vpc (EC2-Classic addresses are gone), not \"standard\"",
        ),
    ];
    for (props, kind, expected) in cases {
        let err = create(&w.provider, EIP, "eip-bad", &props).await.expect_err("refused");
        assert_eq!((err.kind, err.to_string()), (kind, expected.to_string()), "{props}");
    }
    assert!(w.addresses_carrying("eip-bad").await.is_empty());
    assert!(read(&w.provider, EIP, "203.0.113.9", &json!({})).await.is_none());
    delete(&w.provider, EIP, "203.0.113.9").await.expect("gone is done");
}

#[tokio::test]
async fn nat_gateway_life_cycle_and_replacement() {
    let w = world().await;
    let (_, subnet) = w.network("10.40.0.0/16", "10.40.1.0/24").await;
    let eip = w.make(EIP, json!({"Domain": "vpc"})).await;
    let allocation = eip.attributes.get("AllocationId").cloned().expect("allocation");
    let base = json!({"SubnetId": subnet, "AllocationId": allocation});
    let with = |extra: Value| {
        let mut v = base.clone();
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    let steps = life_cycle(
        &w,
        NAT,
        "nat-a",
        &[
            base.clone(),
            with(json!({"Tags": [{"Key": "Name", "Value": "egress"}]})),
            with(json!({"Tags": [{"Key": "Name", "Value": "out"}, {"Key": "n", "Value": 2}]})),
            base.clone(),
        ],
    )
    .await;
    let first = &steps[0];
    assert!(first.physical_id.starts_with("nat-"), "{}", first.physical_id);
    assert_eq!(first.attributes.get("NatGatewayId"), Some(&json!(first.physical_id)));
    let eni = first.attributes.get("EniId").and_then(Value::as_str).unwrap_or_default();
    assert!(eni.starts_with("eni-"), "{:?}", first.attributes);

    // A private gateway in the same subnet replaces a public one.
    replacement(
        &w,
        NAT,
        &base,
        &json!({"SubnetId": subnet, "ConnectivityType": "private"}),
        "CreateTags failed: ConnectivityType cannot change without replacing the NAT gateway",
    )
    .await;

    assert!(read(&w.provider, NAT, "nat-0123456789abcdef0", &json!({})).await.is_none());
    delete(&w.provider, NAT, "nat-0123456789abcdef0").await.expect("gone is done");
    let err = create(&w.provider, NAT, "nat-bad", &json!({"SubnetId": subnet})).await.expect_err("no address");
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    assert!(w.nat_gateways_carrying("nat-bad").await.is_empty());
}

#[tokio::test]
async fn nat_gateway_lost_answer_makes_one_gateway() {
    let w = world().await;
    let (_, subnet) = w.network("10.41.0.0/16", "10.41.1.0/24").await;
    let proxy = losing("CreateNatGateway").await;
    let provider = w.via(&proxy).await;
    let props = json!({"SubnetId": subnet, "ConnectivityType": "private", "Tags": [{"Key": "a", "Value": "b"}]});
    let created = create(&provider, NAT, "nat-lost", &props).await.expect("create");
    assert_eq!((proxy.seen("CreateNatGateway"), proxy.forwarded("CreateNatGateway")), (1, 1));
    assert_eq!(w.nat_gateways_carrying("nat-lost").await, vec![created.physical_id.clone()]);
    assert_eq!(read(&w.provider, NAT, &created.physical_id, &props).await.expect("exists").properties, props);
}

/// A gateway `pending` for three answers: the create waits through them, reporting each as a
/// provider event, and returns once it is `available`.
#[tokio::test]
async fn nat_gateway_create_waits_while_pending() {
    let aws = LocalAws::shared().expect("local AWS");
    let w = world().await;
    let (_, subnet) = w.network("10.42.0.0/16", "10.42.1.0/24").await;
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, nth| {
        (action == "DescribeNatGateways" && nth <= 3)
            .then_some(Fault::Rewrite { from: "<state>available</state>", to: "<state>pending</state>" })
    })
    .await
    .expect("proxy");
    let (settings, heard) = heard_settings();
    let provider = w.via_with(&proxy, settings).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = events.clone();
        move |e: ProviderEvent| events.lock().unwrap().push(e)
    };
    let props = json!({"SubnetId": subnet, "ConnectivityType": "private"});
    let created = events::scope(sink, create(&provider, NAT, "nat-pending", &props)).await.expect("create");
    assert_eq!(proxy.seen("DescribeNatGateways"), 4, "three pending answers, then available");
    let statuses: Vec<String> = heard.lock().unwrap().iter().map(|h| h.status.clone()).collect();
    assert_eq!(statuses, vec!["pending"; 3]);
    let events = events.lock().unwrap();
    let Some(ProviderEvent::Waiting { operation, subject, status, target, .. }) = events.first() else {
        panic!("the wait is reported as waiting: {:?}", events.first());
    };
    assert_eq!(
        (operation.as_str(), subject.as_str(), status.as_str(), target.as_str()),
        ("CreateNatGateway", format!("NAT gateway {}", created.physical_id).as_str(), "pending", "available")
    );
}

/// A gateway that ends `failed`: the create fails with EC2's reason, and says the gateway
/// exists (so it is recorded tainted); a read reports the failure.
#[tokio::test]
async fn a_failed_nat_gateway_is_an_error_with_its_reason() {
    let aws = LocalAws::shared().expect("local AWS");
    let w = world().await;
    let (_, subnet) = w.network("10.43.0.0/16", "10.43.1.0/24").await;
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, _| {
        (action == "DescribeNatGateways").then_some(Fault::Rewrite {
            from: "<state>available</state>",
            to: "<state>failed</state><failureCode>InsufficientFreeAddressesInSubnet</failureCode>\
                 <failureMessage>Subnet has insufficient free addresses</failureMessage>",
        })
    })
    .await
    .expect("proxy");
    let provider = w.via(&proxy).await;
    let props = json!({"SubnetId": subnet, "ConnectivityType": "private"});
    let err = create(&provider, NAT, "nat-failed", &props).await.expect_err("failed");
    let partial = err.partial.clone().expect("the gateway exists");
    assert!(partial.physical_id.starts_with("nat-"), "{partial:?}");
    assert_eq!(
        (err.kind, err.operation.as_str(), err.message.as_str()),
        (
            ErrorKind::Other,
            "CreateNatGateway",
            format!(
                "NAT gateway {} failed: Subnet has insufficient free addresses (InsufficientFreeAddressesInSubnet)",
                partial.physical_id
            )
            .as_str()
        )
    );
    let observed = read(&provider, NAT, &partial.physical_id, &props).await.expect("exists");
    assert_eq!(
        observed.failure.as_deref(),
        Some(
            format!(
                "NAT gateway {} failed: Subnet has insufficient free addresses (InsufficientFreeAddressesInSubnet)",
                partial.physical_id
            )
            .as_str()
        )
    );
    delete(&w.provider, NAT, &partial.physical_id).await.expect("delete");
}

#[tokio::test]
async fn gateway_endpoint_life_cycle_and_replacement() {
    let w = world().await;
    let vpc = w.make(VPC, json!({"CidrBlock": "10.44.0.0/16"})).await.physical_id;
    let rt1 = w.make(ROUTE_TABLE, json!({"VpcId": vpc, "Tags": [{"Key": "n", "Value": "1"}]})).await.physical_id;
    let rt2 = w.make(ROUTE_TABLE, json!({"VpcId": vpc, "Tags": [{"Key": "n", "Value": "2"}]})).await.physical_id;
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::models/*"}]});
    let base = json!({"VpcId": vpc, "ServiceName": S3, "RouteTableIds": [rt1]});
    let steps = life_cycle(
        &w,
        ENDPOINT,
        "vpce-gw",
        &[
            base.clone(),
            json!({"VpcId": vpc, "ServiceName": S3, "RouteTableIds": [rt2, rt1],
                   "PolicyDocument": policy, "Tags": [{"Key": "Name", "Value": "s3"}]}),
            json!({"VpcId": vpc, "ServiceName": S3, "RouteTableIds": [rt2], "PolicyDocument": policy.to_string()}),
            json!({"VpcId": vpc, "ServiceName": S3, "RouteTableIds": [rt1, rt2]}),
        ],
    )
    .await;
    let first = &steps[0];
    assert!(first.physical_id.starts_with("vpce-"), "{}", first.physical_id);
    assert_eq!(first.attributes.get("Id"), Some(&json!(first.physical_id)));
    assert_eq!(first.attributes.get("DnsEntries"), Some(&json!([])));
    assert_eq!(first.attributes.get("NetworkInterfaceIds"), Some(&json!([])));
    let created = first.attributes.get("CreationTimestamp").and_then(Value::as_str).unwrap_or_default();
    assert!(created.len() >= 20 && created.ends_with('Z'), "{created}");

    let vpc2 = w.make(VPC, json!({"CidrBlock": "10.45.0.0/16"})).await.physical_id;
    replacement(
        &w,
        ENDPOINT,
        &base,
        &json!({"VpcId": vpc2, "ServiceName": S3}),
        "ModifyVpcEndpoint failed: VpcId cannot change without replacing the VPC endpoint",
    )
    .await;
    assert!(read(&w.provider, ENDPOINT, "vpce-0123456789abcdef0", &json!({})).await.is_none());
    delete(&w.provider, ENDPOINT, "vpce-0123456789abcdef0").await.expect("gone is done");
}

#[tokio::test]
async fn interface_endpoint_life_cycle_and_replacement() {
    let w = world().await;
    let (vpc, s1) = w.network("10.46.0.0/16", "10.46.1.0/24").await;
    let s2 = w.make(SUBNET, json!({"VpcId": vpc, "CidrBlock": "10.46.2.0/24"})).await.physical_id;
    let group = |name: &str| json!({"GroupName": name, "GroupDescription": "endpoint", "VpcId": vpc});
    let sg1 = w.make(SECURITY_GROUP, group("vpce-1")).await.physical_id;
    let sg2 = w.make(SECURITY_GROUP, group("vpce-2")).await.physical_id;
    let base = json!({"VpcId": vpc, "ServiceName": SAGEMAKER_RUNTIME, "VpcEndpointType": "Interface",
                      "SubnetIds": [s1], "SecurityGroupIds": [sg1]});
    let steps = life_cycle(
        &w,
        ENDPOINT,
        "vpce-if",
        &[
            base.clone(),
            json!({"VpcId": vpc, "ServiceName": SAGEMAKER_RUNTIME, "VpcEndpointType": "Interface",
                   "SubnetIds": [s2, s1], "SecurityGroupIds": [sg1], "PrivateDnsEnabled": true}),
            json!({"VpcId": vpc, "ServiceName": SAGEMAKER_RUNTIME, "VpcEndpointType": "Interface",
                   "SubnetIds": [s2], "SecurityGroupIds": [sg2, sg1], "PrivateDnsEnabled": "false",
                   "Tags": [{"Key": "Name", "Value": "inference"}]}),
            json!({"VpcId": vpc, "ServiceName": SAGEMAKER_RUNTIME, "VpcEndpointType": "Interface",
                   "SubnetIds": [s1], "SecurityGroupIds": [sg2],
                   "PolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sagemaker:InvokeEndpoint", "Resource": "*"}]}}),
        ],
    )
    .await;
    let interfaces =
        |a: &Applied| a.attributes.get("NetworkInterfaceIds").and_then(Value::as_array).map_or(0, Vec::len);
    assert_eq!(steps.iter().map(interfaces).collect::<Vec<_>>(), vec![1, 2, 1, 1], "one interface per subnet");
    let dns = steps[0].attributes.get("DnsEntries").and_then(Value::as_array).cloned().unwrap_or_default();
    assert!(!dns.is_empty() && dns.iter().all(|d| d.as_str().is_some_and(|d| d.contains(':'))), "{dns:?}");
    assert_eq!(w.provider.volatile_attributes(ENDPOINT), vec!["NetworkInterfaceIds", "DnsEntries"]);

    replacement(
        &w,
        ENDPOINT,
        &base,
        &json!({"VpcId": vpc, "ServiceName": "com.amazonaws.us-east-1.sagemaker.api", "VpcEndpointType": "Interface",
                "SubnetIds": [s1], "SecurityGroupIds": [sg1]}),
        "ModifyVpcEndpoint failed: ServiceName cannot change without replacing the VPC endpoint",
    )
    .await;
}

#[tokio::test]
async fn endpoint_lost_answer_makes_one_endpoint() {
    let w = world().await;
    let vpc = w.make(VPC, json!({"CidrBlock": "10.47.0.0/16"})).await.physical_id;
    let proxy = losing("CreateVpcEndpoint").await;
    let provider = w.via(&proxy).await;
    let props = json!({"VpcId": vpc, "ServiceName": S3, "Tags": [{"Key": "a", "Value": "b"}]});
    let created = create(&provider, ENDPOINT, "vpce-lost", &props).await.expect("create");
    assert_eq!((proxy.seen("CreateVpcEndpoint"), proxy.forwarded("CreateVpcEndpoint")), (1, 1));
    assert_eq!(w.endpoints_carrying("vpce-lost").await, vec![created.physical_id.clone()]);
    assert_eq!(read(&w.provider, ENDPOINT, &created.physical_id, &props).await.expect("exists").properties, props);
}

/// A VPC delete blocked by a NAT gateway and an endpoint names them, with the gateway's
/// network interface and what else is left; once only a gateway still `deleting` is in the
/// way, the delete waits for it (reporting as it waits) and succeeds.
#[tokio::test]
async fn a_vpc_delete_names_gateways_and_endpoints_and_waits_for_a_deleting_gateway() {
    let aws = LocalAws::shared().expect("local AWS");
    let w = world().await;
    let (vpc, subnet) = w.network("10.48.0.0/16", "10.48.1.0/24").await;
    let eip = w.make(EIP, json!({})).await;
    let nat =
        w.make(NAT, json!({"SubnetId": subnet, "AllocationId": eip.attributes.get("AllocationId").cloned()})).await;
    let table = w.make(ROUTE_TABLE, json!({"VpcId": vpc})).await.physical_id;
    let endpoint = w.make(ENDPOINT, json!({"VpcId": vpc, "ServiceName": S3, "RouteTableIds": [table]})).await;

    let err = delete(&w.provider, VPC, &vpc).await.expect_err("blocked");
    assert_eq!((err.kind, err.code.as_deref()), (ErrorKind::Conflict, Some("DependencyViolation")), "{err}");
    let eni = nat.attributes.get("EniId").and_then(Value::as_str).expect("eni");
    for named in [
        format!("NAT gateway {} (available)", nat.physical_id),
        format!("VPC endpoint {} ({S3}, available)", endpoint.physical_id),
        format!("network interface {eni} (Interface for NAT Gateway {}", nat.physical_id),
        format!("subnet {subnet} (10.48.1.0/24)"),
        format!("route table {table}"),
        "Those not in this stack's state were not created by infra".to_string(),
    ] {
        assert!(err.message.contains(&named), "{named:?} in {}", err.message);
    }

    delete(&w.provider, ENDPOINT, &endpoint.physical_id).await.expect("endpoint");
    // Deleted behind infra's back and not waited for: the gateway is still `deleting`.
    w.ec2.delete_nat_gateway().nat_gateway_id(&nat.physical_id).send().await.expect("delete NAT gateway");
    delete(&w.provider, SUBNET, &subnet).await.expect("subnet");
    delete(&w.provider, ROUTE_TABLE, &table).await.expect("route table");

    let proxy = FaultProxy::start(aws.endpoint_url(), |_, _| None).await.expect("proxy");
    let (settings, heard) = heard_settings();
    let provider = w.via_with(&proxy, settings).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let events = events.clone();
        move |e: ProviderEvent| events.lock().unwrap().push(e)
    };
    events::scope(sink, delete(&provider, VPC, &vpc)).await.expect("the VPC goes once the gateway has");
    assert_eq!(proxy.seen("DeleteVpc"), 2, "refused while the gateway was deleting, then deleted");
    let waiting = format!("waiting for NAT gateway {} (deleting)", nat.physical_id);
    assert!(heard.lock().unwrap().iter().any(|h| h.status == waiting), "{:?}", heard.lock().unwrap());
    assert!(
        events.lock().unwrap().iter().any(|e| matches!(e, ProviderEvent::Waiting { subject, operation, .. }
            if *subject == format!("VPC {vpc}") && operation == "DeleteVpc")),
        "{:?}",
        events.lock().unwrap()
    );
    assert!(read(&w.provider, VPC, &vpc, &json!({"CidrBlock": "10.48.0.0/16"})).await.is_none());
    // The address the gateway held is free again.
    delete(&w.provider, EIP, &eip.physical_id).await.expect("address");
}
