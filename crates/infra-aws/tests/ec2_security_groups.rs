//! Security groups against a local AWS through the real SDK: `AWS::EC2::SecurityGroup` with
//! its inline rules reconciled rule by rule (counted at the proxy), the allow-all egress rule
//! as CloudFormation treats it, and the standalone `AWS::EC2::SecurityGroupIngress` and
//! `AWS::EC2::SecurityGroupEgress`: create, read back as applied, in-place update,
//! replacement, delete, and `find` by token after a lost answer.

mod ec2_support;

use ec2_support::settings;
use infra_aws::ec2::Ec2Provider;
use infra_aws::testing::{Account, Fault, FaultProxy, LocalAws};
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Provider, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest, INTENT_TAG,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
const GROUP: &str = "AWS::EC2::SecurityGroup";
const INGRESS: &str = "AWS::EC2::SecurityGroupIngress";
const EGRESS: &str = "AWS::EC2::SecurityGroupEgress";

struct World {
    account: Account,
    provider: Ec2Provider,
    ec2: aws_sdk_ec2::Client,
    vpc: String,
}

/// An account of its own with one VPC in it.
async fn world() -> World {
    let aws = LocalAws::shared().expect("local AWS");
    let account = aws.account().await.expect("account");
    let config = account.sdk_config().await.expect("config");
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.expect("vpc").vpc.and_then(|v| v.vpc_id);
    World { provider: Ec2Provider::with_settings(&config, settings()), ec2, account, vpc: vpc.expect("VPC ID") }
}

impl World {
    async fn via(&self, proxy: &FaultProxy) -> Ec2Provider {
        Ec2Provider::with_settings(&self.account.sdk_config_via(&proxy.url).await.expect("config"), settings())
    }

    /// IDs of the groups carrying the intent tag `token`, as EC2 itself reports them.
    async fn carrying(&self, token: &str) -> Vec<String> {
        let filter = aws_sdk_ec2::types::Filter::builder().name(format!("tag:{INTENT_TAG}")).values(token).build();
        let out = self.ec2.describe_security_groups().filters(filter).send().await.expect("describe");
        out.security_groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect()
    }

    /// The group's rules as EC2 itself reports them: (egress, protocol, from, to, peer).
    async fn rules(&self, group: &str) -> Vec<(bool, String, i32, i32, String)> {
        let filter = aws_sdk_ec2::types::Filter::builder().name("group-id").values(group).build();
        let out = self.ec2.describe_security_group_rules().filters(filter).send().await.expect("rules");
        let mut rules: Vec<_> = out
            .security_group_rules()
            .iter()
            .map(|r| {
                let peer = r
                    .cidr_ipv4()
                    .or(r.cidr_ipv6())
                    .or(r.prefix_list_id())
                    .or(r.referenced_group_info().and_then(|g| g.group_id()))
                    .unwrap_or("?");
                (
                    r.is_egress().unwrap_or(false),
                    r.ip_protocol().unwrap_or("?").to_string(),
                    r.from_port().unwrap_or(-1),
                    r.to_port().unwrap_or(-1),
                    peer.to_string(),
                )
            })
            .collect();
        rules.sort();
        rules
    }
}

fn context(resource_type: &str, logical_id: &str) -> ResourceContext {
    ResourceContext {
        project: "mlplatform".into(),
        environment: "dev".into(),
        layer: "network".into(),
        stack_name: "mlplatform-dev-network".into(),
        logical_id: logical_id.into(),
        resource_type: resource_type.into(),
        ..Default::default()
    }
}

async fn create(p: &Ec2Provider, t: &str, token: &str, properties: &Value) -> Result<Applied, ProviderError> {
    p.create(&CreateRequest {
        context: context(t, "Thing"),
        physical_name: p.physical_name(&context(t, "Thing"), properties),
        token: token.into(),
        properties: properties.clone(),
    })
    .await
}

async fn read(p: &Ec2Provider, t: &str, physical_id: &str, properties: &Value) -> Option<Observed> {
    p.read(&ReadRequest {
        context: context(t, "Thing"),
        physical_id: physical_id.into(),
        properties: properties.clone(),
        attributes: Default::default(),
    })
    .await
    .unwrap_or_else(|e| panic!("read {physical_id}: {e}"))
}

async fn update(
    p: &Ec2Provider,
    t: &str,
    applied: &Applied,
    old: &Value,
    new: &Value,
) -> Result<Applied, ProviderError> {
    p.update(&UpdateRequest {
        context: context(t, "Thing"),
        physical_id: applied.physical_id.clone(),
        old_properties: old.clone(),
        new_properties: new.clone(),
        old_attributes: applied.attributes.clone(),
    })
    .await
}

async fn find(p: &Ec2Provider, t: &str, token: &str, properties: &Value) -> Result<Option<Observed>, ProviderError> {
    p.find(&FindRequest { context: context(t, "Thing"), token: token.into(), properties: properties.clone() }).await
}

async fn delete(p: &Ec2Provider, t: &str, physical_id: &str) -> Result<(), ProviderError> {
    p.delete(&DeleteRequest {
        context: context(t, "Thing"),
        physical_id: physical_id.into(),
        properties: Value::Null,
        attributes: Default::default(),
    })
    .await
}

/// Reads back exactly as applied, with the attributes of the create.
async fn assert_reads_back(p: &Ec2Provider, t: &str, applied: &Applied, properties: &Value, label: &str) {
    let observed = read(p, t, &applied.physical_id, properties).await.unwrap_or_else(|| panic!("{label}: gone"));
    assert_eq!(observed.properties, *properties, "{label}: read-back differs");
    assert_eq!(observed.physical_id, applied.physical_id, "{label}");
    assert_eq!(observed.attributes, applied.attributes, "{label}: attributes differ");
}

fn tcp(port: i32, cidr: &str) -> Value {
    json!({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": cidr})
}

fn allow_all(egress: bool) -> (bool, String, i32, i32, String) {
    (egress, "-1".into(), -1, -1, "0.0.0.0/0".into())
}

/// Create, read back, update through every kind of in-place change (rules added, removed,
/// re-described, egress listed and emptied again, tags), delete.
#[tokio::test]
async fn group_life_cycle_with_inline_rules() {
    let w = world().await;
    let base = json!({"GroupDescription": "web servers", "VpcId": w.vpc});
    let with = |extra: Value| {
        let mut v = base.clone();
        v.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        v
    };
    let created = create(&w.provider, GROUP, "token-life", &base).await.expect("create");
    let id = created.physical_id.clone();
    assert!(id.starts_with("sg-"), "{id}");
    assert_eq!(created.attributes.get("GroupId"), Some(&json!(id)));
    assert_eq!(created.attributes.get("VpcId"), Some(&json!(w.vpc)));
    // No egress listed: the allow-all rule EC2 gives a VPC group stays, and reads back as unset.
    assert_eq!(w.rules(&id).await, vec![allow_all(true)]);
    assert_reads_back(&w.provider, GROUP, &created, &base, "created").await;

    let steps = [
        // Protocol numbers and names, strings for integers, descriptions.
        with(json!({"SecurityGroupIngress": [
            tcp(443, "0.0.0.0/0"),
            {"IpProtocol": "6", "FromPort": "22", "ToPort": "22", "CidrIp": "10.0.0.0/8", "Description": "ssh"},
            {"IpProtocol": "-1", "SourceSecurityGroupId": id.clone()},
            {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "CidrIpv6": "2001:DB8::/32"},
        ]})),
        // One rule re-described, one removed, one added; tags.
        with(json!({"SecurityGroupIngress": [
            tcp(443, "0.0.0.0/0"),
            {"IpProtocol": "6", "FromPort": "22", "ToPort": "22", "CidrIp": "10.0.0.0/8", "Description": "admin ssh"},
            {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "CidrIp": "10.1.0.0/16"},
        ], "Tags": [{"Key": "team", "Value": "ml"}]})),
        // Egress listed: the allow-all rule goes.
        with(json!({"SecurityGroupIngress": [tcp(443, "0.0.0.0/0")],
                    "SecurityGroupEgress": [tcp(443, "0.0.0.0/0"), {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "DestinationSecurityGroupId": id.clone()}],
                    "Tags": [{"Key": "team", "Value": "data"}]})),
        // Egress emptied: the allow-all rule comes back.
        with(json!({"SecurityGroupEgress": []})),
        base.clone(),
    ];
    let (mut applied, mut old) = (created, base.clone());
    for (i, step) in steps.iter().enumerate() {
        applied = update(&w.provider, GROUP, &applied, &old, step).await.unwrap_or_else(|e| panic!("step {i}: {e}"));
        assert_eq!(applied.physical_id, id);
        old = step.clone();
        assert_reads_back(&w.provider, GROUP, &applied, step, &format!("step {i}")).await;
    }
    let live = w.rules(&id).await;
    assert_eq!(live, vec![allow_all(true)], "back to the start");

    delete(&w.provider, GROUP, &id).await.expect("delete");
    assert!(read(&w.provider, GROUP, &id, &base).await.is_none());
    delete(&w.provider, GROUP, &id).await.expect("second delete");
}

/// The egress rules EC2 has after each step, as the template lists them.
#[tokio::test]
async fn egress_rules_follow_cloudformation() {
    let w = world().await;
    let props = json!({"GroupDescription": "db", "VpcId": w.vpc, "SecurityGroupEgress": [tcp(443, "10.0.0.0/8")]});
    let created = create(&w.provider, GROUP, "token-egress", &props).await.expect("create");
    // Listed at create: the allow-all rule is gone right away.
    assert_eq!(w.rules(&created.physical_id).await, vec![(true, "tcp".into(), 443, 443, "10.0.0.0/8".into())]);
    assert_reads_back(&w.provider, GROUP, &created, &props, "created").await;
    // Someone revokes the rule outside infra: the read shows it, so a plan would restore it.
    let observed = {
        let rules = w
            .ec2
            .describe_security_group_rules()
            .filters(aws_sdk_ec2::types::Filter::builder().name("group-id").values(&created.physical_id).build())
            .send()
            .await
            .expect("rules");
        let ids: Vec<String> = rules
            .security_group_rules()
            .iter()
            .filter_map(|r| r.security_group_rule_id().map(str::to_string))
            .collect();
        w.ec2
            .revoke_security_group_egress()
            .group_id(&created.physical_id)
            .set_security_group_rule_ids(Some(ids))
            .send()
            .await
            .expect("revoke");
        read(&w.provider, GROUP, &created.physical_id, &props).await.expect("exists")
    };
    assert_eq!(observed.properties["SecurityGroupEgress"], json!([]));
}

/// Adding one rule to a group that has five makes exactly one authorize call and no revoke,
/// counted at the proxy.
#[tokio::test]
async fn adding_one_rule_to_five_makes_one_authorize_call() {
    let w = world().await;
    let five: Vec<Value> = (0..5).map(|i| tcp(8000 + i, "10.0.0.0/8")).collect();
    let old = json!({"GroupDescription": "five", "VpcId": w.vpc, "SecurityGroupIngress": five});
    let created = create(&w.provider, GROUP, "token-five", &old).await.expect("create");
    let mut six = five.clone();
    six.insert(2, tcp(9000, "192.168.0.0/16"));
    let new = json!({"GroupDescription": "five", "VpcId": w.vpc, "SecurityGroupIngress": six});
    let proxy =
        FaultProxy::start(LocalAws::shared().expect("local AWS").endpoint_url(), |_, _| None).await.expect("proxy");
    let provider = w.via(&proxy).await;
    let updated = update(&provider, GROUP, &created, &old, &new).await.expect("update");
    assert_eq!(proxy.mutating(), BTreeMap::from([("AuthorizeSecurityGroupIngress".to_string(), 1)]));
    assert_eq!(w.rules(&created.physical_id).await.len(), 7, "six ingress and the allow-all egress");
    assert_reads_back(&w.provider, GROUP, &updated, &new, "six").await;
    // A re-apply of the same template changes nothing at all.
    let again =
        FaultProxy::start(LocalAws::shared().expect("local AWS").endpoint_url(), |_, _| None).await.expect("proxy");
    update(&w.via(&again).await, GROUP, &updated, &new, &new).await.expect("no-op update");
    assert_eq!(again.mutating(), BTreeMap::new());
}

/// A create-only property needs a new group: the update refuses it in place; the new group
/// has a new ID and the old one, once deleted, is gone.
#[tokio::test]
async fn replacement_makes_a_new_group() {
    let w = world().await;
    let old = json!({"GroupDescription": "v1", "GroupName": "web", "VpcId": w.vpc, "SecurityGroupIngress": [tcp(80, "0.0.0.0/0")]});
    let first = create(&w.provider, GROUP, "token-v1", &old).await.expect("create");
    assert_reads_back(&w.provider, GROUP, &first, &old, "v1").await;
    let create_only = w.provider.create_only_properties(GROUP).unwrap_or_else(|| {
        infra_core::schema::get(GROUP).map(|s| s.create_only_properties().to_vec()).unwrap_or_default()
    });
    for p in ["GroupDescription", "GroupName", "VpcId"] {
        assert!(create_only.iter().any(|c| c == p), "{p} in {create_only:?}");
    }
    let new = json!({"GroupDescription": "v2", "GroupName": "web-2", "VpcId": w.vpc, "SecurityGroupIngress": [tcp(80, "0.0.0.0/0")]});
    let err = update(&w.provider, GROUP, &first, &old, &new).await.expect_err("create-only");
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    assert!(err.message.contains("cannot change without replacing the security group"), "{err}");
    let second = create(&w.provider, GROUP, "token-v2", &new).await.expect("replacement");
    assert_ne!(second.physical_id, first.physical_id);
    assert_reads_back(&w.provider, GROUP, &second, &new, "v2").await;
    delete(&w.provider, GROUP, &first.physical_id).await.expect("delete old");
    assert!(read(&w.provider, GROUP, &first.physical_id, &old).await.is_none());
    assert!(read(&w.provider, GROUP, &second.physical_id, &new).await.is_some());
}

/// The create carries the intent tag; when its answer is lost, the retry finds the group by
/// it instead of making a second one, and finishes it (its rules are there).
#[tokio::test]
async fn a_lost_create_answer_never_makes_a_second_group() {
    let w = world().await;
    let proxy = FaultProxy::start(LocalAws::shared().expect("local AWS").endpoint_url(), |action, nth| {
        (action == "CreateSecurityGroup" && nth == 1).then_some(Fault::ForwardThenDrop)
    })
    .await
    .expect("proxy");
    let provider = w.via(&proxy).await;
    let props = json!({"GroupDescription": "lost", "VpcId": w.vpc, "SecurityGroupIngress": [tcp(22, "10.0.0.0/8")],
                       "Tags": [{"Key": "team", "Value": "ml"}]});
    let created = create(&provider, GROUP, "token-lost", &props).await.expect("create");
    assert_eq!((proxy.seen("CreateSecurityGroup"), proxy.forwarded("CreateSecurityGroup")), (1, 1));
    assert_eq!(w.carrying("token-lost").await, vec![created.physical_id.clone()]);
    assert_reads_back(&w.provider, GROUP, &created, &props, "adopted").await;
    let found = find(&w.provider, GROUP, "token-lost", &props).await.expect("find").expect("found");
    assert_eq!((found.physical_id, found.properties), (created.physical_id.clone(), props.clone()));
    assert_eq!(find(&w.provider, GROUP, "token-other", &props).await.expect("find"), None);
}

#[tokio::test]
async fn bad_rules_are_refused_naming_the_property() {
    let w = world().await;
    let cases = [
        (json!({"VpcId": w.vpc}), ErrorKind::Invalid, "property GroupDescription is required"),
        (
            json!({"GroupDescription": "d", "SecurityGroupIngress": [tcp(1, "0.0.0.0/0"), {"FromPort": 1}]}),
            ErrorKind::Invalid,
            "property SecurityGroupIngress.1.IpProtocol is required",
        ),
        (
            json!({"GroupDescription": "d", "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 1, "ToPort": 1}]}),
            ErrorKind::Invalid,
            "property SecurityGroupIngress.0: exactly one of CidrIp, CidrIpv6, SourceSecurityGroupId, \
             SourcePrefixListId must be set, not 0",
        ),
        (
            json!({"GroupDescription": "d", "SecurityGroupEgress": [{"IpProtocol": "udp", "CidrIp": "0.0.0.0/0"}]}),
            ErrorKind::Invalid,
            "property SecurityGroupEgress.0.FromPort is required for protocol udp",
        ),
        (
            json!({"GroupDescription": "d", "SecurityGroupIngress": [tcp(1, "0.0.0.0/0"), {"IpProtocol": "6", "FromPort": "1", "ToPort": 1, "CidrIp": "0.0.0.0/0"}]}),
            ErrorKind::Invalid,
            "property SecurityGroupIngress.1 is the same rule as SecurityGroupIngress.0",
        ),
        (
            json!({"GroupDescription": "d", "SecurityGroupIngress": [{"IpProtocol": "-1", "SourceSecurityGroupName": "other"}]}),
            ErrorKind::Unsupported,
            "property SecurityGroupIngress.0.SourceSecurityGroupName is not supported by infra's EC2 provider: \
             name the group by SourceSecurityGroupId",
        ),
    ];
    for (props, kind, expected) in cases {
        let err = create(&w.provider, GROUP, "bad", &props).await.expect_err("invalid");
        assert_eq!((err.kind, err.message.as_str()), (kind, expected), "{props}");
    }
    assert!(w.carrying("bad").await.is_empty());
}

/// The standalone rule types: create (the physical ID is the rule ID), read back as applied,
/// the description in place, a new rule for a new port, delete; the group's own read-back
/// leaves them out, and a lost answer never authorizes twice.
#[tokio::test]
async fn standalone_rules_life_cycle() {
    let w = world().await;
    let group_props =
        json!({"GroupDescription": "app", "VpcId": w.vpc, "SecurityGroupIngress": [tcp(443, "0.0.0.0/0")]});
    let group = create(&w.provider, GROUP, "token-app", &group_props).await.expect("group");
    let gid = group.physical_id.clone();
    // Peers are CIDR ranges here: moto 5.2.5 matches a rule whose peer is a group by the
    // whole pair, description included, so it ignores description updates of such rules.
    // The group test above covers group peers.
    for t in [INGRESS, EGRESS] {
        let v1 =
            json!({"GroupId": gid, "IpProtocol": "tcp", "FromPort": 8080, "ToPort": "8080", "CidrIp": "10.2.0.0/16"});
        let created = create(&w.provider, t, &format!("token-{t}"), &v1).await.unwrap_or_else(|e| panic!("{t}: {e}"));
        assert!(created.physical_id.starts_with("sgr-"), "{t}: {}", created.physical_id);
        assert_eq!(created.attributes.get("Id"), Some(&json!(created.physical_id)));
        assert_reads_back(&w.provider, t, &created, &v1, t).await;
        // The group's read-back is not disturbed by a rule another resource manages.
        assert_reads_back(&w.provider, GROUP, &group, &group_props, &format!("group with {t}")).await;

        let mut v2 = v1.clone();
        v2["Description"] = json!("from the app");
        let updated = update(&w.provider, t, &created, &v1, &v2).await.unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(updated.physical_id, created.physical_id);
        assert_reads_back(&w.provider, t, &updated, &v2, &format!("{t} described")).await;

        let mut v3 = v2.clone();
        v3["FromPort"] = json!(9090);
        v3["ToPort"] = json!(9090);
        let err = update(&w.provider, t, &updated, &v2, &v3).await.expect_err("create-only");
        assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
        let replaced = create(&w.provider, t, &format!("token-{t}-2"), &v3).await.expect("replacement");
        assert_ne!(replaced.physical_id, created.physical_id);
        delete(&w.provider, t, &created.physical_id).await.expect("delete old");
        assert!(read(&w.provider, t, &created.physical_id, &v2).await.is_none(), "{t}: old one gone");
        assert_reads_back(&w.provider, t, &replaced, &v3, &format!("{t} replaced")).await;
        delete(&w.provider, t, &replaced.physical_id).await.expect("delete");
        assert!(read(&w.provider, t, &replaced.physical_id, &v3).await.is_none());
        delete(&w.provider, t, &replaced.physical_id).await.expect("second delete");
    }
    // Only the group's own rules are left.
    assert_eq!(w.rules(&gid).await, vec![(false, "tcp".into(), 443, 443, "0.0.0.0/0".into()), allow_all(true)]);
}

#[tokio::test]
async fn a_lost_authorize_answer_never_makes_a_second_rule() {
    let w = world().await;
    let group_props = json!({"GroupDescription": "app", "VpcId": w.vpc});
    let gid = create(&w.provider, GROUP, "token-g", &group_props).await.expect("group").physical_id;
    for (t, action) in [(INGRESS, "AuthorizeSecurityGroupIngress"), (EGRESS, "AuthorizeSecurityGroupEgress")] {
        let proxy = FaultProxy::start(LocalAws::shared().expect("local AWS").endpoint_url(), move |a, nth| {
            (a == action && nth == 1).then_some(Fault::ForwardThenDrop)
        })
        .await
        .expect("proxy");
        let provider = w.via(&proxy).await;
        let props = json!({"GroupId": gid, "IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "CidrIp": "10.9.0.0/16"});
        let token = format!("lost-{t}");
        let created = create(&provider, t, &token, &props).await.unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!((proxy.seen(action), proxy.forwarded(action)), (1, 1), "{t}: no second authorize");
        let found = find(&w.provider, t, &token, &props).await.expect("find").expect("found");
        assert_eq!((found.physical_id.as_str(), &found.properties), (created.physical_id.as_str(), &props), "{t}");
        assert_eq!(find(&w.provider, t, "other", &props).await.expect("find"), None);
    }
    let rules = w.rules(&gid).await;
    assert_eq!(rules.iter().filter(|r| r.1 == "udp").count(), 2, "{rules:?}");
}
