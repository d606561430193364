//! The EC2 networking types against a local AWS through the real SDK: subnets, internet
//! gateways and their attachments to VPCs. For each: create, read back equal to what was
//! applied (so a re-plan is a no-op), in-place updates, replacement, delete, and `find` after
//! a lost answer without making a second resource. Also: a VPC delete blocked by a subnet and
//! an attached gateway names both.
//!
//! moto 5.2.5 does not implement `EnableDns64` (ignored by `ModifySubnetAttribute`, never
//! reported by `DescribeSubnets`) nor the hostname type and AAAA record of
//! `PrivateDnsNameOptionsOnLaunch`, so those are not exercised here.

mod ec2_support;

use ec2_support::{create, delete, find, read, settings, update};
use infra_aws::ec2::Ec2Provider;
use infra_aws::testing::{Account, Fault, FaultProxy, LocalAws};
use infra_core::provider::{Applied, ErrorKind, Provider, INTENT_TAG};
use serde_json::{json, Value};

const VPC: &str = "AWS::EC2::VPC";
const SUBNET: &str = "AWS::EC2::Subnet";
const IGW: &str = "AWS::EC2::InternetGateway";
const ATTACHMENT: &str = "AWS::EC2::VPCGatewayAttachment";

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

impl World {
    async fn via(&self, proxy: &FaultProxy) -> Ec2Provider {
        Ec2Provider::with_settings(&self.account.sdk_config_via(&proxy.url).await.expect("config"), settings())
    }

    async fn vpc(&self, cidr: &str) -> String {
        create(&self.provider, VPC, &format!("vpc-{cidr}"), &json!({"CidrBlock": cidr})).await.expect("vpc").physical_id
    }

    /// IDs of the subnets carrying the intent tag `token`, as EC2 itself reports them.
    async fn subnets_carrying(&self, token: &str) -> Vec<String> {
        let filter = aws_sdk_ec2::types::Filter::builder().name(format!("tag:{INTENT_TAG}")).values(token).build();
        let out = self.ec2.describe_subnets().filters(filter).send().await.expect("describe");
        out.subnets().iter().filter_map(|s| s.subnet_id().map(str::to_string)).collect()
    }

    async fn gateways_carrying(&self, token: &str) -> Vec<String> {
        let filter = aws_sdk_ec2::types::Filter::builder().name(format!("tag:{INTENT_TAG}")).values(token).build();
        let out = self.ec2.describe_internet_gateways().filters(filter).send().await.expect("describe");
        out.internet_gateways().iter().filter_map(|g| g.internet_gateway_id().map(str::to_string)).collect()
    }
}

/// Create `steps[0]`, update through the others; after each step the read-back equals the
/// step and the attributes are those applied. Then delete, read nothing, delete again.
async fn life_cycle(w: &World, ty: &str, token: &str, steps: &[Value]) -> Applied {
    let first = &steps[0];
    let mut applied =
        create(&w.provider, ty, token, first).await.unwrap_or_else(|e| panic!("{ty}: create {first}: {e}"));
    let id = applied.physical_id.clone();
    let mut current = first.clone();
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
        let found = find(&w.provider, ty, token, &current).await.expect("find").expect("found");
        assert_eq!(found.physical_id, id, "{ty} step {i}: find");
    }
    let first_applied = applied.clone();
    delete(&w.provider, ty, &id).await.unwrap_or_else(|e| panic!("{ty}: delete: {e}"));
    assert!(read(&w.provider, ty, &id, &current).await.is_none(), "{ty}: still there after delete");
    delete(&w.provider, ty, &id).await.unwrap_or_else(|e| panic!("{ty}: second delete: {e}"));
    first_applied
}

#[tokio::test]
async fn subnet_life_cycle_in_place_changes_and_replacement() {
    let w = world().await;
    let vpc = w.vpc("10.10.0.0/16").await;
    let base = json!({"VpcId": vpc, "CidrBlock": "10.10.1.0/24", "AvailabilityZone": "us-east-1a"});
    let with = |extra: Value| {
        let mut v = base.clone();
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        v
    };
    let applied = life_cycle(
        &w,
        SUBNET,
        "subnet-a",
        &[
            base.clone(),
            with(json!({"MapPublicIpOnLaunch": true})),
            with(json!({"MapPublicIpOnLaunch": "true", "Tags": [{"Key": "tier", "Value": "public"}, {"Key": "n", "Value": 1}]})),
            with(json!({"PrivateDnsNameOptionsOnLaunch": {"EnableResourceNameDnsARecord": true},
                        "Tags": [{"Key": "n", "Value": "2"}]})),
            with(json!({"MapPublicIpOnLaunch": false, "PrivateDnsNameOptionsOnLaunch": {"EnableResourceNameDnsARecord": false}})),
            base.clone(),
        ],
    )
    .await;
    let id = applied.physical_id.clone();
    assert!(id.starts_with("subnet-"), "{id}");
    let attrs = &applied.attributes;
    assert_eq!(attrs.get("SubnetId"), Some(&json!(id)));
    assert_eq!(attrs.get("VpcId"), Some(&json!(vpc)));
    assert_eq!(attrs.get("AvailabilityZone"), Some(&json!("us-east-1a")));
    assert_eq!(attrs.get("CidrBlock"), Some(&json!("10.10.1.0/24")));
    assert_eq!(attrs.get("Ipv6CidrBlocks"), Some(&json!([])));
    let acl = attrs.get("NetworkAclAssociationId").and_then(Value::as_str).unwrap_or_default();
    assert!(acl.starts_with("aclassoc-"), "{attrs:?}");

    // Replacement: a create-only change is refused in place; a new subnet gets a new ID.
    let old = create(&w.provider, SUBNET, "subnet-old", &base).await.expect("create");
    let moved = with(json!({"CidrBlock": "10.10.2.0/24"}));
    let err = update(&w.provider, SUBNET, &old.physical_id, &base, &moved, &old).await.expect_err("create-only");
    assert_eq!(
        (err.kind, err.to_string()),
        (
            ErrorKind::Invalid,
            "ModifySubnetAttribute failed: CidrBlock cannot change without replacing the subnet".into()
        )
    );
    let new = create(&w.provider, SUBNET, "subnet-new", &moved).await.expect("replacement");
    assert_ne!(new.physical_id, old.physical_id);
    delete(&w.provider, SUBNET, &old.physical_id).await.expect("delete old");
    assert!(read(&w.provider, SUBNET, &old.physical_id, &base).await.is_none());
    assert_eq!(read(&w.provider, SUBNET, &new.physical_id, &moved).await.expect("new").properties, moved);
}

/// A subnet without a chosen zone reads back without one: EC2 picked it.
#[tokio::test]
async fn subnet_zone_is_reported_only_when_chosen() {
    let w = world().await;
    let vpc = w.vpc("10.11.0.0/16").await;
    let props = json!({"VpcId": vpc, "CidrBlock": "10.11.1.0/24"});
    let created = create(&w.provider, SUBNET, "subnet-z", &props).await.expect("create");
    assert!(created.attributes.get("AvailabilityZone").and_then(Value::as_str).is_some());
    assert_eq!(read(&w.provider, SUBNET, &created.physical_id, &props).await.expect("exists").properties, props);
}

#[tokio::test]
async fn subnet_lost_answer_makes_one_subnet() {
    let aws = LocalAws::shared().expect("local AWS");
    let w = world().await;
    let vpc = w.vpc("10.12.0.0/16").await;
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, nth| {
        (action == "CreateSubnet" && nth == 1).then_some(Fault::ForwardThenDrop)
    })
    .await
    .expect("proxy");
    let provider = w.via(&proxy).await;
    let props = json!({"VpcId": vpc, "CidrBlock": "10.12.1.0/24", "MapPublicIpOnLaunch": true});
    let created = create(&provider, SUBNET, "subnet-lost", &props).await.expect("create");
    assert_eq!((proxy.seen("CreateSubnet"), proxy.forwarded("CreateSubnet")), (1, 1));
    assert_eq!(w.subnets_carrying("subnet-lost").await, vec![created.physical_id.clone()]);
    let observed = read(&w.provider, SUBNET, &created.physical_id, &props).await.expect("exists");
    assert_eq!(observed.properties, props, "the adopted subnet was finished too");
}

#[tokio::test]
async fn subnet_bad_input_is_refused_before_any_call() {
    let w = world().await;
    let cases = [
        (json!({"CidrBlock": "10.0.1.0/24"}), ErrorKind::Invalid, "CreateSubnet failed: property VpcId is required"),
        (
            json!({"VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24", "Ipv6Native": true}),
            ErrorKind::Unsupported,
            "CreateSubnet failed: property Ipv6Native is not supported by infra's EC2 provider on subnets; remove \
             it from the template or manage the subnet outside infra",
        ),
    ];
    for (props, kind, expected) in cases {
        let err = create(&w.provider, SUBNET, "bad", &props).await.expect_err("invalid");
        assert_eq!((err.kind, err.to_string()), (kind, expected.to_string()), "{props}");
    }
    assert!(w.subnets_carrying("bad").await.is_empty());
    assert!(read(&w.provider, SUBNET, "subnet-0123456789abcdef0", &json!({})).await.is_none());
    delete(&w.provider, SUBNET, "subnet-0123456789abcdef0").await.expect("gone is done");
}

/// An internet gateway has only tags, so there is no create-only property to replace it by;
/// its tags update in place.
#[tokio::test]
async fn internet_gateway_life_cycle() {
    let w = world().await;
    let applied = life_cycle(
        &w,
        IGW,
        "igw-a",
        &[
            json!({}),
            json!({"Tags": [{"Key": "Name", "Value": "main"}]}),
            json!({"Tags": [{"Key": "Name", "Value": "edge"}, {"Key": "n", "Value": 3}]}),
            json!({"Tags": []}),
        ],
    )
    .await;
    assert!(applied.physical_id.starts_with("igw-"), "{}", applied.physical_id);
    assert_eq!(applied.attributes.get("InternetGatewayId"), Some(&json!(applied.physical_id)));
    // The schema lists no create-only property, and the provider does not override it.
    assert_eq!(w.provider.create_only_properties(IGW), None);
}

#[tokio::test]
async fn internet_gateway_lost_answer_makes_one_gateway() {
    let aws = LocalAws::shared().expect("local AWS");
    let w = world().await;
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, nth| {
        (action == "CreateInternetGateway" && nth == 1).then_some(Fault::ForwardThenDrop)
    })
    .await
    .expect("proxy");
    let provider = w.via(&proxy).await;
    let props = json!({"Tags": [{"Key": "team", "Value": "ml"}]});
    let created = create(&provider, IGW, "igw-lost", &props).await.expect("create");
    assert_eq!((proxy.seen("CreateInternetGateway"), proxy.forwarded("CreateInternetGateway")), (1, 1));
    assert_eq!(w.gateways_carrying("igw-lost").await, vec![created.physical_id.clone()]);
    assert_eq!(read(&w.provider, IGW, &created.physical_id, &props).await.expect("exists").properties, props);
}

/// Attach, read back, find, replace (another VPC: a new physical ID), detach.
#[tokio::test]
async fn gateway_attachment_life_cycle_and_replacement() {
    let w = world().await;
    let (vpc_a, vpc_b) = (w.vpc("10.13.0.0/16").await, w.vpc("10.14.0.0/16").await);
    let igw = create(&w.provider, IGW, "igw-for-attach", &json!({})).await.expect("igw").physical_id;
    let props = json!({"VpcId": vpc_a, "InternetGatewayId": igw});
    let applied = life_cycle(&w, ATTACHMENT, "attach-a", std::slice::from_ref(&props)).await;
    assert_eq!(applied.physical_id, format!("IGW|{vpc_a}"));
    assert_eq!(applied.attributes.get("VpcId"), Some(&json!(vpc_a)));

    // Replacement: the same gateway on another VPC. The gateway is a name property, so the
    // engine detaches first; here, in that order.
    let old = create(&w.provider, ATTACHMENT, "attach-old", &props).await.expect("attach");
    let moved = json!({"VpcId": vpc_b, "InternetGatewayId": igw});
    let err = update(&w.provider, ATTACHMENT, &old.physical_id, &props, &moved, &old).await.expect_err("create-only");
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    delete(&w.provider, ATTACHMENT, &old.physical_id).await.expect("detach");
    let new = create(&w.provider, ATTACHMENT, "attach-new", &moved).await.expect("attach elsewhere");
    assert_eq!(new.physical_id, format!("IGW|{vpc_b}"));
    assert!(read(&w.provider, ATTACHMENT, &old.physical_id, &props).await.is_none());
    assert_eq!(read(&w.provider, ATTACHMENT, &new.physical_id, &moved).await.expect("new").properties, moved);
    // Another gateway's attachment to the VPC is not what this create made.
    assert_eq!(
        find(&w.provider, ATTACHMENT, "t", &json!({"VpcId": vpc_b, "InternetGatewayId": "igw-other"}))
            .await
            .expect("find"),
        None
    );

    let names = w.provider.name_properties(ATTACHMENT).expect("names");
    assert_eq!(names, vec!["VpcId", "InternetGatewayId", "VpnGatewayId"]);
}

#[tokio::test]
async fn gateway_attachment_lost_answer_attaches_once() {
    let aws = LocalAws::shared().expect("local AWS");
    let w = world().await;
    let vpc = w.vpc("10.15.0.0/16").await;
    let igw = create(&w.provider, IGW, "igw-lost-attach", &json!({})).await.expect("igw").physical_id;
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, nth| {
        (action == "AttachInternetGateway" && nth == 1).then_some(Fault::ForwardThenDrop)
    })
    .await
    .expect("proxy");
    let provider = w.via(&proxy).await;
    let props = json!({"VpcId": vpc, "InternetGatewayId": igw});
    // A second attach would be refused (Resource.AlreadyAssociated): the create adopts instead.
    let created = create(&provider, ATTACHMENT, "attach-lost", &props).await.expect("attach");
    assert_eq!((proxy.seen("AttachInternetGateway"), proxy.forwarded("AttachInternetGateway")), (1, 1));
    assert_eq!(created.physical_id, format!("IGW|{vpc}"));
    assert_eq!(read(&w.provider, ATTACHMENT, &created.physical_id, &props).await.expect("attached").properties, props);
}

/// A VPN gateway attaches the same way, as `VGW|vpc-…`.
#[tokio::test]
async fn vpn_gateway_attachment() {
    let w = world().await;
    let vpc = w.vpc("10.16.0.0/16").await;
    let vgw = w
        .ec2
        .create_vpn_gateway()
        .r#type(aws_sdk_ec2::types::GatewayType::Ipsec1)
        .send()
        .await
        .expect("vgw")
        .vpn_gateway
        .and_then(|g| g.vpn_gateway_id)
        .expect("vgw ID");
    let applied = life_cycle(&w, ATTACHMENT, "attach-vgw", &[json!({"VpcId": vpc, "VpnGatewayId": vgw})]).await;
    assert_eq!(applied.physical_id, format!("VGW|{vpc}"));
}

/// A VPC delete blocked by a subnet and an attached internet gateway names both; once they
/// are gone the VPC goes too.
#[tokio::test]
async fn a_vpc_delete_names_its_subnet_and_attached_gateway() {
    let w = world().await;
    let vpc = w.vpc("10.17.0.0/16").await;
    let subnet = create(&w.provider, SUBNET, "blocking-subnet", &json!({"VpcId": vpc, "CidrBlock": "10.17.1.0/24"}))
        .await
        .expect("subnet")
        .physical_id;
    let igw = create(&w.provider, IGW, "blocking-igw", &json!({})).await.expect("igw").physical_id;
    let attachment =
        create(&w.provider, ATTACHMENT, "blocking-attach", &json!({"VpcId": vpc, "InternetGatewayId": igw}))
            .await
            .expect("attach")
            .physical_id;
    let err = delete(&w.provider, VPC, &vpc).await.expect_err("blocked");
    assert_eq!((err.kind, err.code.as_deref()), (ErrorKind::Conflict, Some("DependencyViolation")), "{err}");
    assert!(err.message.contains(&format!("subnet {subnet} (10.17.1.0/24)")), "{}", err.message);
    assert!(err.message.contains(&format!("internet gateway {igw} (attached)")), "{}", err.message);
    // An attached gateway cannot be deleted either; EC2 says why.
    let err = delete(&w.provider, IGW, &igw).await.expect_err("attached");
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    delete(&w.provider, ATTACHMENT, &attachment).await.expect("detach");
    delete(&w.provider, IGW, &igw).await.expect("igw");
    delete(&w.provider, SUBNET, &subnet).await.expect("subnet");
    delete(&w.provider, VPC, &vpc).await.expect("vpc");
}
