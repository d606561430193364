//! IAM providers against a local AWS through the real SDK: every type's life cycle (create,
//! read back without spurious differences, each in-place update, delete), generated names,
//! managed policy version pruning, error mapping, and retries without duplicate creates.

use infra_aws::iam::IamProvider;
use infra_aws::retry::RetryPolicy;
use infra_aws::testing::{Account, Fault, FaultProxy, LocalAws};
use infra_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, Provider, ReadRequest, ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};

const TRUST_EC2: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn trust(service: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": [service]}, "Action": ["sts:AssumeRole"]}]})
}

fn allow(actions: &[&str]) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
}

/// An account with principals and managed policies for resources to point at.
struct World {
    account: Account,
    provider: IamProvider,
    iam: aws_sdk_iam::Client,
}

async fn world() -> World {
    let aws = LocalAws::shared().expect("local AWS");
    let account = aws.account().await.expect("account");
    let config = account.sdk_config().await.expect("config");
    let iam = aws_sdk_iam::Client::new(&config);
    for role in ["target-a", "target-b"] {
        iam.create_role().role_name(role).assume_role_policy_document(TRUST_EC2).send().await.expect("role");
    }
    iam.create_user().user_name("user-a").send().await.expect("user");
    iam.create_group().group_name("group-a").send().await.expect("group");
    for p in ["boundary", "managed-a", "managed-b"] {
        iam.create_policy()
            .policy_name(p)
            .policy_document(allow(&["s3:GetObject"]).to_string())
            .send()
            .await
            .expect("policy");
    }
    World { provider: IamProvider::new(&config, RetryPolicy::default()), account, iam }
}

impl World {
    fn arn(&self, policy: &str) -> String {
        format!("arn:aws:iam::{}:policy/{policy}", self.account.account_id)
    }

    /// `{account}` in any string becomes the account ID.
    fn fill(&self, v: &Value) -> Value {
        serde_json::from_str(&v.to_string().replace("{account}", &self.account.account_id)).expect("json")
    }

    fn context(&self, resource_type: &str, logical_id: &str) -> ResourceContext {
        ResourceContext {
            project: "mlplatform".into(),
            environment: "dev".into(),
            layer: "identity".into(),
            stack_name: "mlplatform-dev-identity".into(),
            logical_id: logical_id.into(),
            resource_type: resource_type.into(),
            ..Default::default()
        }
    }
}

/// Create `steps[0]`, then update through the other steps; after every step the read-back
/// equals the step exactly. Finally delete, after which the read finds nothing.
async fn check(resource_type: &str, steps: &[Value]) {
    let w = world().await;
    let steps: Vec<Value> = steps.iter().map(|s| w.fill(s)).collect();
    let Some(first) = steps.first() else { return };
    let ctx = w.context(resource_type, "Subject");
    let physical_name = w.provider.physical_name(&ctx, first);
    let created = w
        .provider
        .create(&CreateRequest { context: ctx.clone(), physical_name, token: "t-1".into(), properties: first.clone() })
        .await
        .unwrap_or_else(|e| panic!("create {resource_type} {first}: {e}"));
    let (mut physical_id, mut attributes, mut applied) = (created.physical_id, created.attributes, first.clone());
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            let updated = w
                .provider
                .update(&UpdateRequest {
                    context: ctx.clone(),
                    physical_id: physical_id.clone(),
                    old_properties: applied.clone(),
                    new_properties: step.clone(),
                    old_attributes: attributes.clone(),
                })
                .await
                .unwrap_or_else(|e| panic!("update {resource_type} to step {i} {step}: {e}"));
            (physical_id, attributes, applied) = (updated.physical_id, updated.attributes, step.clone());
        }
        let read = read(&w, &ctx, &physical_id, &applied).await.unwrap_or_else(|| panic!("step {i}: gone"));
        assert_eq!(read.properties, applied, "{resource_type} step {i}: read-back differs");
        assert_eq!(read.physical_id, physical_id);
        assert_eq!(read.attributes.keys().collect::<Vec<_>>(), attributes.keys().collect::<Vec<_>>());
    }
    let delete = DeleteRequest {
        context: ctx.clone(),
        physical_id: physical_id.clone(),
        properties: applied.clone(),
        attributes,
    };
    w.provider.delete(&delete).await.unwrap_or_else(|e| panic!("delete {resource_type}: {e}"));
    assert!(read(&w, &ctx, &physical_id, &applied).await.is_none(), "{resource_type} still there after delete");
    w.provider.delete(&delete).await.unwrap_or_else(|e| panic!("second delete of {resource_type}: {e}"));
}

async fn read(
    w: &World,
    ctx: &ResourceContext,
    physical_id: &str,
    properties: &Value,
) -> Option<infra_core::provider::Observed> {
    w.provider
        .read(&ReadRequest {
            context: ctx.clone(),
            physical_id: physical_id.into(),
            properties: properties.clone(),
            attributes: Default::default(),
        })
        .await
        .unwrap_or_else(|e| panic!("read: {e}"))
}

const BOUNDARY: &str = "arn:aws:iam::{account}:policy/boundary";
const MANAGED_A: &str = "arn:aws:iam::{account}:policy/managed-a";
const MANAGED_B: &str = "arn:aws:iam::{account}:policy/managed-b";

#[tokio::test]
async fn role_minimal_then_every_property() {
    let t = trust("ec2.amazonaws.com");
    check(
        "AWS::IAM::Role",
        &[
            json!({"AssumeRolePolicyDocument": t}),
            json!({"AssumeRolePolicyDocument": t, "Description": "training jobs"}),
            json!({"AssumeRolePolicyDocument": t, "Description": "training jobs", "MaxSessionDuration": "7200"}),
            json!({"AssumeRolePolicyDocument": trust("sagemaker.amazonaws.com"), "MaxSessionDuration": 7200}),
            json!({"AssumeRolePolicyDocument": t, "Policies": [{"PolicyName": "s3", "PolicyDocument": allow(&["s3:GetObject"])}]}),
            json!({"AssumeRolePolicyDocument": t, "Policies": [
                {"PolicyName": "s3", "PolicyDocument": allow(&["s3:GetObject", "s3:PutObject"])},
                {"PolicyName": "ecr", "PolicyDocument": allow(&["ecr:GetAuthorizationToken"]).to_string()}]}),
            json!({"AssumeRolePolicyDocument": t, "Policies": [{"PolicyName": "ecr", "PolicyDocument": allow(&["ecr:GetAuthorizationToken"])}]}),
            json!({"AssumeRolePolicyDocument": t, "ManagedPolicyArns": [MANAGED_A]}),
            json!({"AssumeRolePolicyDocument": t, "ManagedPolicyArns": [MANAGED_B, MANAGED_A]}),
            json!({"AssumeRolePolicyDocument": t, "ManagedPolicyArns": [MANAGED_B]}),
            json!({"AssumeRolePolicyDocument": t, "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "cost", "Value": "42"}]}),
            json!({"AssumeRolePolicyDocument": t, "Tags": [{"Key": "team", "Value": "platform"}]}),
            json!({"AssumeRolePolicyDocument": t, "PermissionsBoundary": BOUNDARY}),
            json!({"AssumeRolePolicyDocument": t, "Description": ""}),
            json!({"AssumeRolePolicyDocument": t}),
        ],
    )
    .await;
}

#[tokio::test]
async fn role_with_name_path_and_defaults_spelled_out() {
    check(
        "AWS::IAM::Role",
        &[
            json!({"RoleName": "named-role", "Path": "/ml/", "AssumeRolePolicyDocument": TRUST_EC2, "MaxSessionDuration": 3600,
                   "Description": "d", "PermissionsBoundary": BOUNDARY, "ManagedPolicyArns": [MANAGED_A],
                   "Policies": [{"PolicyName": "p", "PolicyDocument": allow(&["s3:*"])}], "Tags": [{"Key": "k", "Value": "v"}]}),
            json!({"RoleName": "named-role", "Path": "/ml/", "AssumeRolePolicyDocument": TRUST_EC2, "MaxSessionDuration": 3600,
                   "Policies": [], "ManagedPolicyArns": [], "Tags": []}),
        ],
    )
    .await;
}

#[tokio::test]
async fn managed_policy_documents_and_attachments() {
    let mut steps = vec![json!({"PolicyDocument": allow(&["s3:GetObject"]), "Roles": ["target-a"]})];
    // More updates than IAM keeps versions: the oldest non-default versions are pruned.
    for i in 0..7 {
        steps.push(json!({"PolicyDocument": allow(&[&format!("s3:Action{i}")]), "Roles": ["target-a"]}));
    }
    steps.push(json!({"PolicyDocument": allow(&["s3:GetObject"]), "Roles": ["target-b"], "Users": ["user-a"], "Groups": ["group-a"]}));
    steps.push(json!({"PolicyDocument": allow(&["s3:GetObject"])}));
    check("AWS::IAM::ManagedPolicy", &steps).await;
}

#[tokio::test]
async fn managed_policy_named_with_path_and_description() {
    check(
        "AWS::IAM::ManagedPolicy",
        &[
            json!({"ManagedPolicyName": "named-policy", "Path": "/ml/", "Description": "read models",
                   "PolicyDocument": allow(&["s3:GetObject"]).to_string(), "Groups": ["group-a"]}),
            json!({"ManagedPolicyName": "named-policy", "Path": "/ml/", "Description": "read models",
                   "PolicyDocument": allow(&["s3:GetObject", "s3:ListBucket"]), "Users": ["user-a"]}),
        ],
    )
    .await;
}

#[tokio::test]
async fn inline_policy_targets_documents_and_rename() {
    check(
        "AWS::IAM::Policy",
        &[
            json!({"PolicyName": "inline", "PolicyDocument": allow(&["s3:GetObject"]), "Roles": ["target-a"]}),
            json!({"PolicyName": "inline", "PolicyDocument": allow(&["s3:PutObject"]), "Roles": ["target-a"]}),
            json!({"PolicyName": "inline", "PolicyDocument": allow(&["s3:PutObject"]), "Roles": ["target-a", "target-b"], "Users": ["user-a"]}),
            json!({"PolicyName": "renamed", "PolicyDocument": allow(&["s3:PutObject"]), "Roles": ["target-b"], "Groups": ["group-a"]}),
        ],
    )
    .await;
}

#[tokio::test]
async fn instance_profile_roles() {
    check(
        "AWS::IAM::InstanceProfile",
        &[json!({"Roles": ["target-a"]}), json!({"Roles": ["target-b"]}), json!({"Roles": []})],
    )
    .await;
    check(
        "AWS::IAM::InstanceProfile",
        &[json!({"InstanceProfileName": "named-profile", "Path": "/ml/", "Roles": ["target-a"]})],
    )
    .await;
}

#[tokio::test]
async fn generated_names_fit_and_name_properties_win() {
    let w = world().await;
    let long = "ExecutionRoleForTheTrainingJobsOfTheRecommendationModelsInProduction";
    let cases = [
        ("AWS::IAM::Role", json!({}), 64),
        ("AWS::IAM::ManagedPolicy", json!({}), 128),
        ("AWS::IAM::InstanceProfile", json!({}), 128),
        ("AWS::IAM::Policy", json!({"PolicyName": "x"}), 128),
    ];
    for (resource_type, props, limit) in cases {
        let name = w.provider.physical_name(&w.context(resource_type, long), &props).expect("a name");
        assert!(
            name.len() <= limit && name.starts_with("mlplatform-dev-identity-ExecutionRole"),
            "{resource_type}: {name}"
        );
    }
    let named = [
        ("AWS::IAM::Role", json!({"RoleName": "mine"})),
        ("AWS::IAM::ManagedPolicy", json!({"ManagedPolicyName": "mine"})),
        ("AWS::IAM::InstanceProfile", json!({"InstanceProfileName": "mine"})),
    ];
    for (resource_type, props) in named {
        assert_eq!(w.provider.physical_name(&w.context(resource_type, long), &props).as_deref(), Some("mine"));
    }
    // A generated role name works against IAM itself.
    let ctx = w.context("AWS::IAM::Role", long);
    let props = json!({"AssumeRolePolicyDocument": trust("ec2.amazonaws.com")});
    let name = w.provider.physical_name(&ctx, &props);
    let created = w
        .provider
        .create(&CreateRequest { context: ctx, physical_name: name.clone(), token: "t".into(), properties: props })
        .await
        .expect("create");
    assert_eq!(Some(created.physical_id), name);
    assert!(created.attributes["Arn"].as_str().is_some_and(|a| a.ends_with(name.as_deref().unwrap_or("?"))));
}

#[tokio::test]
async fn managed_policy_keeps_at_most_five_versions() {
    let w = world().await;
    let ctx = w.context("AWS::IAM::ManagedPolicy", "Versions");
    let mut props = json!({"PolicyDocument": allow(&["s3:A0"])});
    let name = w.provider.physical_name(&ctx, &props);
    let created = w
        .provider
        .create(&CreateRequest {
            context: ctx.clone(),
            physical_name: name,
            token: "t".into(),
            properties: props.clone(),
        })
        .await
        .expect("create");
    for i in 1..=8 {
        let next = json!({"PolicyDocument": allow(&[&format!("s3:A{i}")])});
        w.provider
            .update(&UpdateRequest {
                context: ctx.clone(),
                physical_id: created.physical_id.clone(),
                old_properties: props.clone(),
                new_properties: next.clone(),
                old_attributes: created.attributes.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("update {i}: {e}"));
        props = next;
    }
    let versions = w.iam.list_policy_versions().policy_arn(&created.physical_id).send().await.expect("versions");
    let versions = versions.versions.unwrap_or_default();
    assert_eq!(versions.len(), 5);
    let default: Vec<_> = versions.iter().filter(|v| v.is_default_version).filter_map(|v| v.version_id()).collect();
    assert_eq!(default, vec!["v9"]);
    let observed = read(&w, &ctx, &created.physical_id, &props).await.expect("exists");
    assert_eq!(observed.properties, props);

    // After a crash between the create and its record, only the chosen name is known.
    let name = created.physical_id.rsplit('/').next().unwrap_or_default().to_string();
    let adopted = read(&w, &ctx, &name, &props).await.expect("found by name");
    assert_eq!((adopted.physical_id, adopted.properties), (created.physical_id.clone(), props));
}

#[tokio::test]
async fn drift_made_outside_shows_in_the_read() {
    let w = world().await;
    let ctx = w.context("AWS::IAM::Role", "Drifting");
    let props = json!({"AssumeRolePolicyDocument": trust("ec2.amazonaws.com"), "Description": "before"});
    let name = w.provider.physical_name(&ctx, &props);
    let created = w
        .provider
        .create(&CreateRequest {
            context: ctx.clone(),
            physical_name: name,
            token: "t".into(),
            properties: props.clone(),
        })
        .await
        .expect("create");
    let role = created.physical_id.as_str();
    w.iam.attach_role_policy().role_name(role).policy_arn(w.arn("managed-a")).send().await.expect("attach");
    w.iam.update_role().role_name(role).description("after").max_session_duration(7200).send().await.expect("update");
    let observed = read(&w, &ctx, role, &props).await.expect("exists");
    assert_eq!(
        observed.properties,
        json!({"AssumeRolePolicyDocument": trust("ec2.amazonaws.com"), "Description": "after", "MaxSessionDuration": 7200,
               "ManagedPolicyArns": [w.arn("managed-a")]})
    );

    // What was attached outside infra, and an instance profile holding the role, do not block the delete.
    w.iam.create_instance_profile().instance_profile_name("holder").send().await.expect("profile");
    w.iam.add_role_to_instance_profile().instance_profile_name("holder").role_name(role).send().await.expect("add");
    w.iam
        .put_role_policy()
        .role_name(role)
        .policy_name("extra")
        .policy_document(allow(&["s3:*"]).to_string())
        .send()
        .await
        .expect("put");
    let delete = DeleteRequest {
        context: ctx.clone(),
        physical_id: role.into(),
        properties: props.clone(),
        attributes: created.attributes,
    };
    w.provider.delete(&delete).await.expect("delete");
    assert!(read(&w, &ctx, role, &props).await.is_none());
}

#[tokio::test]
async fn aws_errors_keep_their_code_and_message() {
    let w = world().await;
    let ctx = w.context("AWS::IAM::ManagedPolicy", "Bad");
    let props =
        json!({"PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}});
    let err = w
        .provider
        .create(&CreateRequest {
            context: ctx.clone(),
            physical_name: Some("bad".into()),
            token: "t".into(),
            properties: props,
        })
        .await
        .expect_err("malformed");
    assert_eq!(
        (err.kind, err.operation.as_str(), err.code.as_deref()),
        (ErrorKind::Invalid, "CreatePolicy", Some("MalformedPolicyDocument"))
    );
    assert_eq!(err.to_string(), "CreatePolicy failed: MalformedPolicyDocument: Policy statement must contain actions.");

    // A role whose inline policy is rejected is not left behind half made.
    let ctx = w.context("AWS::IAM::Role", "HalfMade");
    let props = json!({"AssumeRolePolicyDocument": trust("ec2.amazonaws.com"),
                       "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow"}]}}]});
    let err = w
        .provider
        .create(&CreateRequest {
            context: ctx.clone(),
            physical_name: Some("half-made".into()),
            token: "t".into(),
            properties: props.clone(),
        })
        .await
        .expect_err("malformed inline policy");
    assert_eq!((err.operation.as_str(), err.code.as_deref()), ("PutRolePolicy", Some("MalformedPolicyDocument")));
    assert!(read(&w, &ctx, "half-made", &props).await.is_none());

    let err = w
        .provider
        .create(&CreateRequest {
            context: w.context("AWS::IAM::Role", "NoTrust"),
            physical_name: Some("no-trust".into()),
            token: "t".into(),
            properties: json!({"AssumeRolePolicyDocument": 7}),
        })
        .await
        .expect_err("not a document");
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(
        err.to_string(),
        "CreateRole failed: property AssumeRolePolicyDocument: a policy document must be a JSON object, not a number"
    );

    let err = w
        .provider
        .create(&CreateRequest {
            context: w.context("AWS::IAM::Role", "Twice"),
            physical_name: Some("target-a".into()),
            token: "t".into(),
            properties: json!({"AssumeRolePolicyDocument": TRUST_EC2}),
        })
        .await
        .expect_err("exists");
    assert_eq!((err.kind, err.code.as_deref()), (ErrorKind::Conflict, Some("EntityAlreadyExists")));
}

/// Faults on the way to IAM: the create completes through retries, and IAM sees exactly one
/// CreateRole, including when the first one succeeded but its answer was lost.
#[tokio::test]
async fn retries_never_duplicate_a_create() {
    let aws = LocalAws::shared().expect("local AWS");
    // When the answer is lost, the retry reaches IAM too and is refused as existing; the
    // provider adopts the role its first attempt made.
    for (label, faults, forwarded) in [
        ("throttled, unavailable, dropped", vec![Fault::Throttle, Fault::Unavailable, Fault::Drop, Fault::Throttle], 1),
        ("answer lost", vec![Fault::ForwardThenDrop], 2),
    ] {
        let w = world().await;
        let plan = faults.clone();
        let proxy = FaultProxy::start(aws.endpoint_url(), move |action, nth| {
            if action == "CreateRole" || action == "PutRolePolicy" {
                plan.get(nth - 1).copied()
            } else {
                None
            }
        })
        .await
        .expect("proxy");
        let config = w.account.sdk_config_via(&proxy.url).await.expect("config");
        let provider = IamProvider::new(&config, RetryPolicy::default());
        let ctx = w.context("AWS::IAM::Role", "Flaky");
        let props = json!({"AssumeRolePolicyDocument": trust("ec2.amazonaws.com"),
                           "Policies": [{"PolicyName": "p", "PolicyDocument": allow(&["s3:GetObject"])}]});
        let name = provider.physical_name(&ctx, &props);
        let created = provider
            .create(&CreateRequest {
                context: ctx.clone(),
                physical_name: name,
                token: "t".into(),
                properties: props.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(proxy.forwarded("CreateRole"), forwarded, "{label}");
        assert_eq!(proxy.seen("CreateRole"), faults.len() + 1, "{label}");
        let read = read(&w, &ctx, &created.physical_id, &props).await.expect("exists");
        assert_eq!(read.properties, props, "{label}");
        let roles = w.iam.list_roles().send().await.expect("list").roles;
        assert_eq!(roles.len(), 3, "{label}: two targets and the new role");
    }
}

/// IAM is eventually consistent: a role just created can be NoSuchEntity for a moment to the
/// next call. Calls that name another entity wait that out instead of failing the create.
#[tokio::test]
async fn waits_out_iam_propagation() {
    let aws = LocalAws::shared().expect("local AWS");
    let w = world().await;
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, nth| match (action, nth) {
        ("PutRolePolicy" | "AttachRolePolicy" | "AddRoleToInstanceProfile", 1) => {
            Some(Fault::Error { status: 404, code: "NoSuchEntity", message: "The role cannot be found." })
        }
        _ => None,
    })
    .await
    .expect("proxy");
    let config = w.account.sdk_config_via(&proxy.url).await.expect("config");
    let provider = IamProvider::new(&config, RetryPolicy::default());
    let cases = [
        (
            "AWS::IAM::Role",
            json!({"AssumeRolePolicyDocument": trust("ec2.amazonaws.com"),
            "Policies": [{"PolicyName": "p", "PolicyDocument": allow(&["s3:GetObject"])}], "ManagedPolicyArns": [w.arn("managed-a")]}),
        ),
        ("AWS::IAM::InstanceProfile", json!({"Roles": ["target-a"]})),
    ];
    for (resource_type, props) in cases {
        let ctx = w.context(resource_type, "Fresh");
        let name = provider.physical_name(&ctx, &props);
        let req =
            CreateRequest { context: ctx.clone(), physical_name: name, token: "t".into(), properties: props.clone() };
        let created = provider.create(&req).await.unwrap_or_else(|e| panic!("{resource_type}: {e}"));
        let observed = read(&w, &ctx, &created.physical_id, &props).await.expect("exists");
        assert_eq!(observed.properties, props);
    }
    assert_eq!(proxy.seen("PutRolePolicy"), 2);
    assert_eq!(proxy.seen("AttachRolePolicy"), 2);
    assert_eq!(proxy.seen("AddRoleToInstanceProfile"), 2);
}

#[tokio::test]
async fn providers_cover_the_iam_types() {
    let aws = LocalAws::shared().expect("local AWS");
    let providers = aws.account().await.expect("account").providers().await.expect("providers");
    let mut registry = infra_core::provider::Registry::new();
    providers.into_iter().for_each(|p| registry.register(p).expect("one provider per type"));
    for t in ["AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile"] {
        assert_eq!(registry.for_type(t).map(|p| p.name()), Some("iam"), "{t}");
    }
    let iam = registry.for_type("AWS::IAM::Role").expect("iam");
    assert_eq!(create_only(iam.as_ref(), "AWS::IAM::Role"), ["Path", "RoleName"]);
    assert_eq!(create_only(iam.as_ref(), "AWS::IAM::Policy"), Vec::<String>::new());
}

/// What forces a replacement as the planner sees it: the provider's override, else the
/// registry schema's `createOnlyProperties`; sorted.
fn create_only(provider: &dyn infra_core::provider::Provider, resource_type: &str) -> Vec<String> {
    let mut list = provider
        .create_only_properties(resource_type)
        .or_else(|| infra_core::schema::get(resource_type).map(|s| s.create_only_properties().to_vec()))
        .unwrap_or_default();
    list.sort();
    list
}

/// Renaming an inline policy or moving it leaves no old copy behind.
#[tokio::test]
async fn inline_policy_leaves_no_old_copies() {
    let w = world().await;
    let ctx = w.context("AWS::IAM::Policy", "Moving");
    let first =
        json!({"PolicyName": "old", "PolicyDocument": allow(&["s3:GetObject"]), "Roles": ["target-a", "target-b"]});
    let second = json!({"PolicyName": "new", "PolicyDocument": allow(&["s3:GetObject"]), "Roles": ["target-b"]});
    let name = w.provider.physical_name(&ctx, &first);
    let created = w
        .provider
        .create(&CreateRequest {
            context: ctx.clone(),
            physical_name: name,
            token: "t".into(),
            properties: first.clone(),
        })
        .await
        .expect("create");
    w.provider
        .update(&UpdateRequest {
            context: ctx.clone(),
            physical_id: created.physical_id.clone(),
            old_properties: first,
            new_properties: second,
            old_attributes: created.attributes,
        })
        .await
        .expect("update");
    for (role, expected) in [("target-a", vec![]), ("target-b", vec!["new".to_string()])] {
        let names = w.iam.list_role_policies().role_name(role).send().await.expect("list").policy_names;
        assert_eq!(names, expected, "{role}");
    }
}

/// "Already exists" after attempts that were refused outright (throttled) is someone else's
/// role: the create fails instead of adopting it.
#[tokio::test]
async fn never_adopts_what_it_did_not_create() {
    let aws = LocalAws::shared().expect("local AWS");
    let w = world().await;
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, nth| {
        (action == "CreateRole" && nth == 1).then_some(Fault::Throttle)
    })
    .await
    .expect("proxy");
    let provider =
        IamProvider::new(&w.account.sdk_config_via(&proxy.url).await.expect("config"), RetryPolicy::default());
    let err = provider
        .create(&CreateRequest {
            context: w.context("AWS::IAM::Role", "Taken"),
            physical_name: Some("target-a".into()),
            token: "t".into(),
            properties: json!({"AssumeRolePolicyDocument": TRUST_EC2}),
        })
        .await
        .expect_err("the name is taken");
    assert_eq!((err.kind, err.code.as_deref()), (ErrorKind::Conflict, Some("EntityAlreadyExists")));
    assert_eq!(proxy.seen("CreateRole"), 2);
}

/// Create-only properties never change in place: the engine replaces the resource instead.
#[tokio::test]
async fn create_only_changes_are_refused_in_place() {
    let w = world().await;
    let cases = [
        (
            "AWS::IAM::Role",
            "target-a",
            json!({"AssumeRolePolicyDocument": TRUST_EC2}),
            json!({"AssumeRolePolicyDocument": TRUST_EC2, "Path": "/x/"}),
            "UpdateRole failed: Path cannot change without replacing the role",
        ),
        (
            "AWS::IAM::InstanceProfile",
            "p",
            json!({"Roles": []}),
            json!({"InstanceProfileName": "q", "Roles": []}),
            "AddRoleToInstanceProfile failed: InstanceProfileName cannot change without replacing the instance profile",
        ),
    ];
    for (resource_type, physical_id, old, new, expected) in cases {
        let err = w
            .provider
            .update(&UpdateRequest {
                context: w.context(resource_type, "Fixed"),
                physical_id: physical_id.into(),
                old_properties: old,
                new_properties: new,
                old_attributes: Default::default(),
            })
            .await
            .expect_err("create-only");
        assert_eq!((err.kind, err.to_string()), (ErrorKind::Invalid, expected.to_string()));
    }
}
