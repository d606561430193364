//! The EC2 provider against a local AWS through the real SDK: the VPC's life cycle (create,
//! read back without spurious differences, each in-place update, delete), the intent tag its
//! create carries and `find` by it, deletes blocked by what is still in the VPC, and faults
//! around the create: a lost answer never makes a second VPC, and a failure after the create
//! reports the VPC it made.

mod ec2_support;

use ec2_support::settings;
use infra_aws::ec2::Ec2Provider;
use infra_aws::testing::{Account, Fault, FaultProxy, LocalAws};
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Provider, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest, INTENT_TAG,
};
use serde_json::{json, Value};

const VPC: &str = "AWS::EC2::VPC";

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
    /// The provider, talking to EC2 through `proxy`.
    async fn via(&self, proxy: &FaultProxy) -> Ec2Provider {
        Ec2Provider::with_settings(&self.account.sdk_config_via(&proxy.url).await.expect("config"), settings())
    }

    /// IDs of the VPCs carrying the intent tag `token`, as EC2 itself reports them.
    async fn carrying(&self, token: &str) -> Vec<String> {
        let filter = aws_sdk_ec2::types::Filter::builder().name(format!("tag:{INTENT_TAG}")).values(token).build();
        let out = self.ec2.describe_vpcs().filters(filter).send().await.expect("describe");
        out.vpcs().iter().filter_map(|v| v.vpc_id().map(str::to_string)).collect()
    }

    /// The live tags of a VPC, as EC2 itself reports them.
    async fn tags(&self, vpc_id: &str) -> Vec<(String, String)> {
        let out = self.ec2.describe_vpcs().vpc_ids(vpc_id).send().await.expect("describe");
        let mut tags: Vec<(String, String)> = out
            .vpcs()
            .iter()
            .flat_map(|v| v.tags())
            .map(|t| (t.key().unwrap_or("").to_string(), t.value().unwrap_or("").to_string()))
            .collect();
        tags.sort();
        tags
    }
}

fn context(logical_id: &str) -> ResourceContext {
    ResourceContext {
        project: "mlplatform".into(),
        environment: "dev".into(),
        layer: "network".into(),
        stack_name: "mlplatform-dev-network".into(),
        logical_id: logical_id.into(),
        resource_type: VPC.into(),
        ..Default::default()
    }
}

async fn create(p: &Ec2Provider, token: &str, properties: &Value) -> Result<Applied, ProviderError> {
    p.create(&CreateRequest {
        context: context("Vpc"),
        physical_name: p.physical_name(&context("Vpc"), properties),
        token: token.into(),
        properties: properties.clone(),
    })
    .await
}

async fn read(p: &Ec2Provider, physical_id: &str, properties: &Value) -> Option<Observed> {
    p.read(&ReadRequest {
        context: context("Vpc"),
        physical_id: physical_id.into(),
        properties: properties.clone(),
        attributes: Default::default(),
    })
    .await
    .unwrap_or_else(|e| panic!("read {physical_id}: {e}"))
}

async fn find(p: &Ec2Provider, token: &str, properties: &Value) -> Result<Option<Observed>, ProviderError> {
    p.find(&FindRequest { context: context("Vpc"), token: token.into(), properties: properties.clone() }).await
}

async fn delete(p: &Ec2Provider, physical_id: &str) -> Result<(), ProviderError> {
    p.delete(&DeleteRequest {
        context: context("Vpc"),
        physical_id: physical_id.into(),
        properties: Value::Null,
        attributes: Default::default(),
    })
    .await
}

/// Create `steps[0]`, then update through the other steps; after every step the read-back
/// equals the step exactly and the attributes keep their keys. Finally delete, after which
/// the read finds nothing and a second delete still succeeds.
async fn check(label: &str, steps: &[Value]) {
    let w = world().await;
    let Some(first) = steps.first() else { return };
    let token = format!("token-{label}");
    let created = create(&w.provider, &token, first).await.unwrap_or_else(|e| panic!("{label}: create {first}: {e}"));
    let id = created.physical_id.clone();
    assert!(id.starts_with("vpc-"), "{label}: {id}");
    assert_eq!(created.attributes.get("VpcId"), Some(&json!(id)), "{label}");
    for (key, prefix) in [("DefaultSecurityGroup", "sg-"), ("DefaultNetworkAcl", "acl-")] {
        let value = created.attributes.get(key).and_then(Value::as_str).unwrap_or_default();
        assert!(value.starts_with(prefix), "{label}: {key} = {value:?}");
    }
    let associations = created.attributes.get("CidrBlockAssociations").and_then(Value::as_array);
    assert_eq!(associations.map(Vec::len), Some(1), "{label}: {:?}", created.attributes);
    assert_eq!(created.attributes.get("Ipv6CidrBlocks"), Some(&json!([])), "{label}");
    let (mut attributes, mut applied) = (created.attributes, first.clone());
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            let updated = w
                .provider
                .update(&UpdateRequest {
                    context: context("Vpc"),
                    physical_id: id.clone(),
                    old_properties: applied.clone(),
                    new_properties: step.clone(),
                    old_attributes: attributes.clone(),
                })
                .await
                .unwrap_or_else(|e| panic!("{label}: update to step {i} {step}: {e}"));
            assert_eq!(updated.physical_id, id, "{label}");
            (attributes, applied) = (updated.attributes, step.clone());
        }
        let observed = read(&w.provider, &id, &applied).await.unwrap_or_else(|| panic!("{label} step {i}: gone"));
        assert_eq!(observed.properties, applied, "{label} step {i}: read-back differs");
        assert_eq!(observed.physical_id, id);
        assert_eq!(observed.attributes, attributes, "{label} step {i}: attributes differ");
        assert_eq!(observed.failure, None);
        // Updates never touch the intent tag.
        let tags = w.tags(&id).await;
        assert!(tags.contains(&(INTENT_TAG.to_string(), token.clone())), "{label} step {i}: {tags:?}");
    }
    delete(&w.provider, &id).await.unwrap_or_else(|e| panic!("{label}: delete: {e}"));
    assert!(read(&w.provider, &id, &applied).await.is_none(), "{label}: still there after delete");
    delete(&w.provider, &id).await.unwrap_or_else(|e| panic!("{label}: second delete: {e}"));
}

#[tokio::test]
async fn vpc_minimal_then_every_in_place_change() {
    let cidr = "10.0.0.0/16";
    check(
        "minimal",
        &[
            json!({"CidrBlock": cidr}),
            json!({"CidrBlock": cidr, "EnableDnsHostnames": true}),
            json!({"CidrBlock": cidr, "EnableDnsHostnames": "true", "EnableDnsSupport": "true"}),
            json!({"CidrBlock": cidr, "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "cost", "Value": 42}]}),
            json!({"CidrBlock": cidr, "Tags": [{"Key": "cost", "Value": "43"}, {"Key": "env", "Value": "dev"}]}),
            json!({"CidrBlock": cidr, "EnableDnsSupport": false, "Tags": []}),
            json!({"CidrBlock": cidr}),
        ],
    )
    .await;
}

#[tokio::test]
async fn vpc_with_every_property_spelled_out() {
    check(
        "every-property",
        &[
            json!({"CidrBlock": "10.1.0.0/16", "EnableDnsSupport": true, "EnableDnsHostnames": true,
                   "InstanceTenancy": "default", "Tags": [{"Key": "Name", "Value": "main"}]}),
            json!({"CidrBlock": "10.1.0.0/16", "EnableDnsSupport": false, "EnableDnsHostnames": false,
                   "InstanceTenancy": "default"}),
        ],
    )
    .await;
}

/// The create carries the template's tags and the intent tag in the create call itself, and
/// `find` finds exactly that VPC by its token, in the template's shape; another token finds
/// nothing.
#[tokio::test]
async fn the_create_carries_its_token_and_find_uses_it() {
    let w = world().await;
    let props =
        json!({"CidrBlock": "10.2.0.0/16", "EnableDnsHostnames": true, "Tags": [{"Key": "team", "Value": "ml"}]});
    let proxy =
        FaultProxy::start(LocalAws::shared().expect("local AWS").endpoint_url(), |_, _| None).await.expect("proxy");
    let provider = w.via(&proxy).await;
    let created = create(&provider, "token-a", &props).await.expect("create");
    // One call made the VPC and its tags: nothing was tagged afterwards.
    assert_eq!((proxy.seen("CreateVpc"), proxy.seen("CreateTags")), (1, 0));
    let tags = w.tags(&created.physical_id).await;
    assert_eq!(tags, vec![(INTENT_TAG.to_string(), "token-a".to_string()), ("team".to_string(), "ml".to_string())]);
    let found = find(&provider, "token-a", &props).await.expect("find").expect("found");
    assert_eq!(found.physical_id, created.physical_id);
    assert_eq!(found.properties, props);
    assert_eq!(found.attributes, created.attributes);
    assert_eq!(find(&provider, "token-b", &props).await.expect("find"), None);
}

/// Two VPCs carrying one token: `find` names both rather than picking one.
#[tokio::test]
async fn two_vpcs_with_one_token_are_an_error() {
    let w = world().await;
    let props = json!({"CidrBlock": "10.3.0.0/16"});
    let a = create(&w.provider, "shared-token", &props).await.expect("first").physical_id;
    let b = create(&w.provider, "shared-token", &props).await.expect("second").physical_id;
    let err = find(&w.provider, "shared-token", &props).await.expect_err("ambiguous");
    assert_eq!(err.kind, ErrorKind::Conflict, "{err}");
    assert!(err.message.starts_with("2 VPCs carry the tag infra:intent = shared-token"), "{err}");
    assert!(err.message.contains(&a) && err.message.contains(&b), "{err}");
}

/// A VPC with a subnet in it cannot be deleted: the error names the subnet, and once the
/// subnet is gone the delete succeeds.
#[tokio::test]
async fn a_delete_blocked_by_a_subnet_names_it() {
    let w = world().await;
    let vpc = create(&w.provider, "blocked", &json!({"CidrBlock": "10.4.0.0/16"})).await.expect("create").physical_id;
    let subnet = w
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.4.1.0/24")
        .send()
        .await
        .expect("subnet")
        .subnet
        .and_then(|s| s.subnet_id)
        .expect("subnet ID");
    let err = delete(&w.provider, &vpc).await.expect_err("blocked");
    assert_eq!(
        (err.kind, err.code.as_deref(), err.operation.as_str()),
        (ErrorKind::Conflict, Some("DependencyViolation"), "DeleteVpc")
    );
    assert_eq!(
        err.message,
        format!(
            "VPC {vpc} cannot be deleted while it still holds: subnet {subnet} (10.4.1.0/24); delete or detach them \
             first. Those not in this stack's state were not created by infra: delete them where they were made, or \
             import them"
        )
    );
    assert!(!err.is_ambiguous());
    w.ec2.delete_subnet().subnet_id(&subnet).send().await.expect("delete subnet");
    delete(&w.provider, &vpc).await.expect("delete");
    assert!(read(&w.provider, &vpc, &json!({"CidrBlock": "10.4.0.0/16"})).await.is_none());
}

/// Faults on `CreateVpc`: the create completes, and exactly one VPC carries its token. When
/// an answer was lost, the next attempt first looks for the VPC by its token, and adopts it.
#[tokio::test]
async fn lost_answers_never_make_a_second_vpc() {
    let aws = LocalAws::shared().expect("local AWS");
    // (label, faults on the first CreateVpc attempts, CreateVpc requests seen, forwarded)
    let cases = [
        ("answer lost", vec![Fault::ForwardThenDrop], 1, 1),
        ("throttled, then the answer lost", vec![Fault::Throttle, Fault::ForwardThenDrop], 2, 1),
        ("dropped before arriving", vec![Fault::Drop], 2, 1),
        ("throttled, then unavailable", vec![Fault::Throttle, Fault::Unavailable], 3, 1),
    ];
    for (label, faults, seen, forwarded) in cases {
        let w = world().await;
        let plan = faults.clone();
        let proxy = FaultProxy::start(aws.endpoint_url(), move |action, nth| {
            if action == "CreateVpc" {
                plan.get(nth - 1).copied()
            } else {
                None
            }
        })
        .await
        .expect("proxy");
        let provider = w.via(&proxy).await;
        let props = json!({"CidrBlock": "10.5.0.0/16", "EnableDnsHostnames": true});
        let token = format!("token-{}", label.replace(' ', "-"));
        let created = create(&provider, &token, &props).await.unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!((proxy.seen("CreateVpc"), proxy.forwarded("CreateVpc")), (seen, forwarded), "{label}");
        assert_eq!(w.carrying(&token).await, vec![created.physical_id.clone()], "{label}");
        let observed = read(&w.provider, &created.physical_id, &props).await.expect("exists");
        assert_eq!(observed.properties, props, "{label}: the adopted VPC was finished too");
    }
}

/// A failure after `CreateVpc` leaves a VPC behind: the error says which, so the engine
/// records it (tainted) instead of leaking it.
#[tokio::test]
async fn a_failure_after_the_create_reports_the_vpc() {
    let aws = LocalAws::shared().expect("local AWS");
    let w = world().await;
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, _| {
        (action == "ModifyVpcAttribute").then_some(Fault::Error {
            status: 400,
            code: "InvalidParameterValue",
            message: "enableDnsHostnames cannot be set",
        })
    })
    .await
    .expect("proxy");
    let provider = w.via(&proxy).await;
    let err = create(&provider, "partial", &json!({"CidrBlock": "10.6.0.0/16", "EnableDnsHostnames": true}))
        .await
        .expect_err("ModifyVpcAttribute fails");
    assert_eq!(
        (err.kind, err.code.as_deref(), err.operation.as_str()),
        (ErrorKind::Invalid, Some("InvalidParameterValue"), "ModifyVpcAttribute")
    );
    let partial = err.partial.as_deref().expect("partial");
    assert_eq!(w.carrying("partial").await, vec![partial.physical_id.clone()]);
    assert_eq!(partial.attributes.get("VpcId"), Some(&json!(partial.physical_id)));
    assert!(!err.is_ambiguous(), "the outcome is known exactly");
}

/// Bad input is refused before any call, naming the property; create-only changes are
/// refused in place; missing VPCs read as absent and delete as done.
#[tokio::test]
async fn bad_input_create_only_changes_and_missing_vpcs() {
    let w = world().await;
    let cases = [
        (
            json!({}),
            ErrorKind::Invalid,
            "CreateVpc failed: property CidrBlock is required unless Ipv4IpamPoolId is set",
        ),
        (
            json!({"CidrBlock": "10.7.0.0/16", "EnableDnsSupport": "maybe"}),
            ErrorKind::Invalid,
            "CreateVpc failed: property EnableDnsSupport must be a boolean",
        ),
        (
            json!({"CidrBlock": "10.7.0.0/16", "Tags": [{"Key": "a", "Value": "b"}, {"Value": "c"}]}),
            ErrorKind::Invalid,
            "CreateVpc failed: property Tags.1.Key is required",
        ),
        (
            json!({"CidrBlock": "10.7.0.0/16", "Tags": [{"Key": INTENT_TAG, "Value": "mine"}]}),
            ErrorKind::Invalid,
            "CreateVpc failed: property Tags.0.Key: the tag infra:intent is reserved for infra's own bookkeeping",
        ),
        (
            json!({"CidrBlock": "10.7.0.0/16", "VpcEncryptionControl": {"Mode": "monitor"}}),
            ErrorKind::Unsupported,
            "CreateVpc failed: property VpcEncryptionControl is not supported by infra's EC2 provider; remove it \
             from the template or manage encryption control outside infra",
        ),
    ];
    for (props, kind, expected) in cases {
        let err = create(&w.provider, "bad", &props).await.expect_err("invalid");
        assert_eq!((err.kind, err.to_string()), (kind, expected.to_string()), "{props}");
    }
    // EC2's own refusal of a range it does not allow, mapped with its code.
    let err = create(&w.provider, "bad", &json!({"CidrBlock": "10.0.0.0/8"})).await.expect_err("range");
    assert_eq!(err.kind, ErrorKind::Invalid, "{err}");
    assert!(err.partial.is_none());
    assert!(w.carrying("bad").await.is_empty());

    let props = json!({"CidrBlock": "10.8.0.0/16"});
    let vpc = create(&w.provider, "fixed", &props).await.expect("create");
    for (key, value) in [("CidrBlock", json!("10.9.0.0/16")), ("InstanceTenancy", json!("dedicated"))] {
        let mut new = props.clone();
        new[key] = value;
        let err = w
            .provider
            .update(&UpdateRequest {
                context: context("Vpc"),
                physical_id: vpc.physical_id.clone(),
                old_properties: props.clone(),
                new_properties: new,
                old_attributes: vpc.attributes.clone(),
            })
            .await
            .expect_err("create-only");
        assert_eq!(
            (err.kind, err.to_string()),
            (ErrorKind::Invalid, format!("ModifyVpcAttribute failed: {key} cannot change without replacing the VPC"))
        );
    }

    assert!(read(&w.provider, "vpc-0123456789abcdef0", &props).await.is_none());
    delete(&w.provider, "vpc-0123456789abcdef0").await.expect("gone is done");
}

#[tokio::test]
async fn providers_cover_the_vpc() {
    let aws = LocalAws::shared().expect("local AWS");
    let providers = aws.account().await.expect("account").providers().await.expect("providers");
    let mut registry = infra_core::provider::Registry::new();
    providers.into_iter().for_each(|p| registry.register(p).expect("one provider per type"));
    let ec2 = registry.for_type(VPC).expect("ec2");
    assert_eq!(ec2.name(), "ec2");
    assert_eq!(ec2.physical_name(&context("Vpc"), &json!({"CidrBlock": "10.0.0.0/16"})), None);
    let create_only = ec2.create_only_properties(VPC).expect("listed");
    for p in ["CidrBlock", "InstanceTenancy", "Ipv4IpamPoolId", "Ipv4NetmaskLength", "VpcEncryptionControl"] {
        assert!(create_only.iter().any(|c| c == p), "{p}");
    }
}
