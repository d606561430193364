//! The ECR provider against a local AWS through the real SDK: a repository is created with
//! each property, read back equal to its template, updated in place property by property,
//! replaced where ECR cannot change it, and deleted (also when it is already gone); a create
//! whose answer was lost is adopted without a second repository; a repository holding images
//! is deleted only when `EmptyOnDelete` says so, and otherwise refused with the image count.

use infra_aws::ecr::EcrProvider;
use infra_aws::retry::RetryPolicy;
use infra_aws::testing::{Account, Fault, FaultProxy, LocalAws};
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, ErrorKind, Observed, Provider, ProviderError, ReadRequest, ResourceContext,
    UpdateRequest,
};
use serde_json::{json, Value};

const TYPE: &str = "AWS::ECR::Repository";

/// A lifecycle policy as templates write it (indented text), and the same policy compact with
/// its keys in another order: one document by meaning.
const KEEP_30: &str = r#"{
  "rules": [
    {
      "rulePriority": 1,
      "description": "Keep the last 30 images",
      "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
      "action": {"type": "expire"}
    }
  ]
}"#;
const KEEP_30_COMPACT: &str = r#"{"rules":[{"action":{"type":"expire"},"description":"Keep the last 30 images","rulePriority":1,"selection":{"countNumber":30,"countType":"imageCountMoreThan","tagStatus":"any"}}]}"#;
const KEEP_10: &str = r#"{"rules": [{"rulePriority": 1, "description": "Keep the last 10 images", "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 10}, "action": {"type": "expire"}}]}"#;

/// A repository policy letting `{account}` pull, as an object.
fn pull_policy(actions: &[&str]) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Sid": "pull", "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::{account}:root"}, "Action": actions}]})
}

struct World {
    account: Account,
    provider: EcrProvider,
    ecr: aws_sdk_ecr::Client,
}

async fn world() -> World {
    let aws = LocalAws::shared().expect("local AWS");
    let account = aws.account().await.expect("account");
    let config = account.sdk_config().await.expect("config");
    World {
        provider: EcrProvider::new(&config, RetryPolicy::default()),
        ecr: aws_sdk_ecr::Client::new(&config),
        account,
    }
}

fn context(logical_id: &str) -> ResourceContext {
    ResourceContext {
        project: "mlplatform".into(),
        environment: "dev".into(),
        layer: "shared".into(),
        stack_name: "mlplatform-dev-shared".into(),
        logical_id: logical_id.into(),
        resource_type: TYPE.into(),
        ..Default::default()
    }
}

impl World {
    /// `{account}` in any string becomes the account ID.
    fn fill(&self, v: &Value) -> Value {
        serde_json::from_str(&v.to_string().replace("{account}", &self.account.account_id)).expect("json")
    }

    async fn create(&self, logical_id: &str, properties: &Value) -> Result<Applied, ProviderError> {
        let ctx = context(logical_id);
        let physical_name = self.provider.physical_name(&ctx, properties);
        self.provider
            .create(&CreateRequest { context: ctx, physical_name, token: "t-1".into(), properties: properties.clone() })
            .await
    }

    async fn read(&self, logical_id: &str, physical_id: &str, properties: &Value) -> Option<Observed> {
        self.provider
            .read(&ReadRequest {
                context: context(logical_id),
                physical_id: physical_id.into(),
                properties: properties.clone(),
                attributes: Default::default(),
            })
            .await
            .unwrap_or_else(|e| panic!("read {physical_id}: {e}"))
    }

    async fn update(
        &self,
        logical_id: &str,
        applied: &Applied,
        old: &Value,
        new: &Value,
    ) -> Result<Applied, ProviderError> {
        self.provider
            .update(&UpdateRequest {
                context: context(logical_id),
                physical_id: applied.physical_id.clone(),
                old_properties: old.clone(),
                new_properties: new.clone(),
                old_attributes: applied.attributes.clone(),
            })
            .await
    }

    async fn delete(&self, logical_id: &str, applied: &Applied, properties: &Value) -> Result<(), ProviderError> {
        self.provider
            .delete(&DeleteRequest {
                context: context(logical_id),
                physical_id: applied.physical_id.clone(),
                properties: properties.clone(),
                attributes: applied.attributes.clone(),
            })
            .await
    }

    async fn repository_names(&self) -> Vec<String> {
        let out = self.ecr.describe_repositories().send().await.expect("describe repositories");
        out.repositories().iter().filter_map(|r| r.repository_name().map(str::to_string)).collect()
    }

    /// Pushes `count` distinct images (a manifest each, as `docker push` would) into `repository`.
    async fn push_images(&self, repository: &str, count: usize) {
        for i in 0..count {
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100 + i,
                           "digest": format!("sha256:{:064x}", i + 1)},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1000 + i,
                            "digest": format!("sha256:{:064x}", i + 1000)}]
            });
            self.ecr
                .put_image()
                .repository_name(repository)
                .image_manifest(manifest.to_string())
                .image_tag(format!("v{i}"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("put image {i}: {e:?}"));
        }
    }
}

/// Create `steps[0]`, then update through the other steps; after every step the read-back
/// equals the step exactly and the attributes are CloudFormation's. Then delete, after which
/// the read finds nothing and a second delete succeeds.
async fn check(label: &str, steps: &[Value]) {
    let w = world().await;
    let steps: Vec<Value> = steps.iter().map(|s| w.fill(s)).collect();
    let Some(first) = steps.first() else { return };
    let mut applied = w.create("Subject", first).await.unwrap_or_else(|e| panic!("{label}: create {first}: {e}"));
    let name = applied.physical_id.clone();
    let mut current = first.clone();
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            applied = w
                .update("Subject", &applied, &current, step)
                .await
                .unwrap_or_else(|e| panic!("{label}: update to step {i} {step}: {e}"));
            current = step.clone();
        }
        assert_eq!(applied.physical_id, name, "{label} step {i}: the Ref is the repository name");
        let read = w.read("Subject", &name, &current).await.unwrap_or_else(|| panic!("{label} step {i}: gone"));
        assert_eq!(read.properties, current, "{label} step {i}: read-back differs");
        assert_eq!(read.physical_id, name);
        assert_eq!(read.attributes, applied.attributes, "{label} step {i}: attributes");
        let (region, account) = ("us-east-1", &w.account.account_id);
        assert_eq!(read.attributes["Arn"], json!(format!("arn:aws:ecr:{region}:{account}:repository/{name}")));
        assert_eq!(read.attributes["RepositoryUri"], json!(format!("{account}.dkr.ecr.{region}.amazonaws.com/{name}")));
    }
    assert_eq!(w.repository_names().await, vec![name.clone()], "{label}: one repository");
    w.delete("Subject", &applied, &current).await.unwrap_or_else(|e| panic!("{label}: delete: {e}"));
    assert!(w.read("Subject", &name, &current).await.is_none(), "{label}: still there after delete");
    w.delete("Subject", &applied, &current).await.unwrap_or_else(|e| panic!("{label}: delete when gone: {e}"));
    assert!(w.repository_names().await.is_empty(), "{label}");
}

#[tokio::test]
async fn each_property_created_read_back_and_updated_in_place() {
    let tags = json!([{"Key": "project", "Value": "mlplatform"}, {"Key": "cost", "Value": "42"}]);
    let cases: Vec<(&str, Vec<Value>)> = vec![
        (
            "minimal, then each property in place",
            vec![
                json!({}),
                json!({"ImageTagMutability": "IMMUTABLE"}),
                json!({"ImageTagMutability": "IMMUTABLE", "ImageScanningConfiguration": {"ScanOnPush": true}}),
                json!({"ImageScanningConfiguration": {"ScanOnPush": "true"}, "LifecyclePolicy": {"LifecyclePolicyText": KEEP_30}}),
                json!({"LifecyclePolicy": {"LifecyclePolicyText": KEEP_10}}),
                json!({"LifecyclePolicy": {"LifecyclePolicyText": KEEP_10, "RegistryId": "{account}"}}),
                json!({"RepositoryPolicyText": pull_policy(&["ecr:BatchGetImage"])}),
                json!({"RepositoryPolicyText": pull_policy(&["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]).to_string()}),
                json!({"RepositoryPolicyText": pull_policy(&["ecr:BatchGetImage"]), "Tags": tags}),
                json!({"Tags": [{"Key": "project", "Value": "platform"}, {"Key": "team", "Value": "ml"}]}),
                json!({"EmptyOnDelete": true}),
                json!({}),
            ],
        ),
        (
            "every property at create, as the shared layer writes them",
            vec![
                json!({"RepositoryName": "mlplatform-dev-inference", "ImageTagMutability": "IMMUTABLE",
                       "ImageScanningConfiguration": {"ScanOnPush": true},
                       "EncryptionConfiguration": {"EncryptionType": "AES256"},
                       "LifecyclePolicy": {"LifecyclePolicyText": KEEP_30},
                       "RepositoryPolicyText": pull_policy(&["ecr:BatchGetImage"]),
                       "EmptyOnDelete": false, "Tags": tags}),
                // The same policy written another way changes nothing and reads back as written.
                json!({"RepositoryName": "mlplatform-dev-inference", "ImageTagMutability": "IMMUTABLE",
                       "ImageScanningConfiguration": {"ScanOnPush": true},
                       "EncryptionConfiguration": {"EncryptionType": "AES256"},
                       "LifecyclePolicy": {"LifecyclePolicyText": KEEP_30_COMPACT},
                       "RepositoryPolicyText": pull_policy(&["ecr:BatchGetImage"]).to_string(),
                       "EmptyOnDelete": "false", "Tags": tags}),
                // ECR's defaults spelled out read back as written.
                json!({"RepositoryName": "mlplatform-dev-inference", "ImageTagMutability": "MUTABLE",
                       "ImageScanningConfiguration": {"ScanOnPush": false},
                       "EncryptionConfiguration": {"EncryptionType": "AES256"}, "Tags": []}),
                json!({"RepositoryName": "mlplatform-dev-inference", "ImageScanningConfiguration": {},
                       "EncryptionConfiguration": {"EncryptionType": "AES256"}}),
            ],
        ),
        (
            "KMS encryption with the key ECR chooses",
            vec![
                json!({"RepositoryName": "team/models.v2_x", "EncryptionConfiguration": {"EncryptionType": "KMS"}}),
                json!({"RepositoryName": "team/models.v2_x", "EncryptionConfiguration": {"EncryptionType": "KMS"},
                       "ImageTagMutability": "IMMUTABLE"}),
            ],
        ),
    ];
    for (label, steps) in cases {
        check(label, &steps).await;
    }
}

/// Changes made outside infra show in the read-back: it reports what ECR holds, not the
/// template.
#[tokio::test]
async fn changes_made_outside_show_in_the_read_back() {
    let w = world().await;
    let applied_props = w
        .fill(&json!({"RepositoryName": "drifting", "LifecyclePolicy": {"LifecyclePolicyText": KEEP_30},
        "RepositoryPolicyText": pull_policy(&["ecr:BatchGetImage"]), "Tags": [{"Key": "team", "Value": "ml"}]}));
    let applied = w.create("Drifting", &applied_props).await.expect("create");
    let arn = applied.attributes["Arn"].as_str().expect("arn");
    w.ecr.delete_lifecycle_policy().repository_name("drifting").send().await.expect("delete lifecycle policy");
    let other_policy = w.fill(&pull_policy(&["ecr:BatchGetImage", "ecr:PutImage"])).to_string();
    w.ecr.set_repository_policy().repository_name("drifting").policy_text(&other_policy).send().await.expect("policy");
    w.ecr
        .put_image_tag_mutability()
        .repository_name("drifting")
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .send()
        .await
        .expect("mutability");
    let scanning = aws_sdk_ecr::types::ImageScanningConfiguration::builder().scan_on_push(true).build();
    w.ecr
        .put_image_scanning_configuration()
        .repository_name("drifting")
        .image_scanning_configuration(scanning)
        .send()
        .await
        .expect("scanning");
    let tag = aws_sdk_ecr::types::Tag::builder().key("owner").value("someone").build().expect("tag");
    w.ecr.tag_resource().resource_arn(arn).tags(tag).send().await.expect("tag");
    let read = w.read("Drifting", "drifting", &applied_props).await.expect("exists");
    let policy: Value = serde_json::from_str(&other_policy).expect("json");
    assert_eq!(
        read.properties,
        json!({"RepositoryName": "drifting", "ImageTagMutability": "IMMUTABLE",
               "ImageScanningConfiguration": {"ScanOnPush": true}, "RepositoryPolicyText": policy,
               "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "owner", "Value": "someone"}]})
    );
}

#[tokio::test]
async fn generated_names_are_lowercase_and_fit_ecr() {
    let w = world().await;
    let applied = w.create("InferenceRepository", &json!({})).await.expect("create");
    let name = &applied.physical_id;
    assert!(name.starts_with("mlplatform-dev-shared-inferencerepository-"), "{name}");
    assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{name}");
    assert_eq!(w.repository_names().await, vec![name.clone()]);
}

/// RepositoryName and EncryptionConfiguration are create-only: an in-place update of either is
/// refused and changes nothing; the planner replaces instead, which is a create of the new
/// repository and a delete of the old one.
#[tokio::test]
async fn replacement_of_what_ecr_cannot_change() {
    let schema = infra_aws::kit::schema::create_only(TYPE);
    for property in ["RepositoryName", "EncryptionConfiguration"] {
        assert!(schema.iter().any(|p| p == property), "{property} is create-only: {schema:?}");
    }
    let w = world().await;
    let old = json!({"RepositoryName": "models", "ImageTagMutability": "IMMUTABLE"});
    let applied = w.create("Models", &old).await.expect("create");
    for (property, new) in [
        ("RepositoryName", json!({"RepositoryName": "models-v2", "ImageTagMutability": "IMMUTABLE"})),
        (
            "EncryptionConfiguration",
            json!({"RepositoryName": "models", "ImageTagMutability": "MUTABLE",
                   "EncryptionConfiguration": {"EncryptionType": "KMS"}}),
        ),
    ] {
        let err = w.update("Models", &applied, &old, &new).await.expect_err("create-only");
        assert_eq!(err.kind, ErrorKind::Invalid, "{property}");
        assert_eq!(err.message, format!("{property} cannot change without replacing the repository"));
        let read = w.read("Models", "models", &old).await.expect("untouched");
        assert_eq!(read.properties, old, "{property}: nothing changed");
    }
    let new = json!({"RepositoryName": "models-v2", "EncryptionConfiguration": {"EncryptionType": "KMS"}});
    let replacement = w.create("Models", &new).await.expect("create the replacement");
    w.delete("Models", &applied, &old).await.expect("delete the old repository");
    assert_eq!(w.repository_names().await, vec!["models-v2".to_string()]);
    let read = w.read("Models", &replacement.physical_id, &new).await.expect("replacement");
    assert_eq!(read.properties, new);
}

/// The create's answer is lost after ECR carried it out: the retry meets "already exists" and
/// adopts the repository its first attempt made, and the policies still follow. Faults that
/// ECR refused before doing anything are retried without adopting anything.
#[tokio::test]
async fn a_lost_answer_is_adopted_without_a_second_repository() {
    let aws = LocalAws::shared().expect("local AWS");
    for (label, faults, forwarded) in [
        ("throttled, unavailable, dropped", vec![Fault::Throttle, Fault::Unavailable, Fault::Drop], 1),
        ("answer lost", vec![Fault::ForwardThenDrop], 2),
    ] {
        let w = world().await;
        let plan = faults.clone();
        let proxy = FaultProxy::start(aws.endpoint_url(), move |action, nth| {
            if action == "CreateRepository" {
                plan.get(nth - 1).copied()
            } else {
                None
            }
        })
        .await
        .expect("proxy");
        let config = w.account.sdk_config_via(&proxy.url).await.expect("config");
        let provider = EcrProvider::new(&config, RetryPolicy::default());
        let ctx = context("Flaky");
        let props =
            w.fill(&json!({"ImageTagMutability": "IMMUTABLE", "LifecyclePolicy": {"LifecyclePolicyText": KEEP_30},
                                   "RepositoryPolicyText": pull_policy(&["ecr:BatchGetImage"]),
                                   "Tags": [{"Key": "team", "Value": "ml"}]}));
        let name = provider.physical_name(&ctx, &props);
        let created = provider
            .create(&CreateRequest {
                context: ctx,
                physical_name: name.clone(),
                token: "t".into(),
                properties: props.clone(),
            })
            .await
            .unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(Some(&created.physical_id), name.as_ref(), "{label}");
        assert_eq!(proxy.seen("CreateRepository"), faults.len() + 1, "{label}");
        assert_eq!(proxy.forwarded("CreateRepository"), forwarded, "{label}");
        assert_eq!(w.repository_names().await, vec![created.physical_id.clone()], "{label}: one repository");
        let read = w.read("Flaky", &created.physical_id, &props).await.expect("exists");
        assert_eq!(read.properties, props, "{label}");
        assert_eq!(read.attributes, created.attributes, "{label}");
    }
}

/// Without a lost answer, "already exists" is someone else's repository: refused, not adopted.
#[tokio::test]
async fn an_existing_repository_is_not_adopted() {
    let w = world().await;
    w.ecr.create_repository().repository_name("taken").send().await.expect("someone else's repository");
    let err = w
        .create("Taken", &json!({"RepositoryName": "taken", "ImageTagMutability": "IMMUTABLE"}))
        .await
        .expect_err("exists");
    assert_eq!((err.kind, err.code.as_deref()), (ErrorKind::Conflict, Some("RepositoryAlreadyExistsException")));
    let theirs = w.read("Taken", "taken", &json!({"RepositoryName": "taken"})).await.expect("still there");
    assert_eq!(theirs.properties, json!({"RepositoryName": "taken"}), "left as it was");
}

/// A repository holding images is deleted only when `EmptyOnDelete` says so; otherwise the
/// delete is refused with the image count and the images stay.
#[tokio::test]
async fn images_are_deleted_only_with_empty_on_delete() {
    let w = world().await;
    for (images, message) in [
        (3, "repository full holds 3 images; set EmptyOnDelete: true to delete them with the repository, or delete them first"),
        (1, "repository full holds 1 image; set EmptyOnDelete: true to delete them with the repository, or delete them first"),
    ] {
        let keep = json!({"RepositoryName": "full"});
        let applied = w.create("Full", &keep).await.expect("create");
        w.push_images("full", images).await;
        let err = w.delete("Full", &applied, &keep).await.expect_err("holds images");
        assert_eq!((err.kind, err.message.as_str()), (ErrorKind::Conflict, message));
        assert_eq!(err.code.as_deref(), Some("RepositoryNotEmptyException"));
        let left = w.ecr.describe_images().repository_name("full").send().await.expect("images");
        assert_eq!(left.image_details().len(), images, "the images stay");

        // Turning EmptyOnDelete on is an update that calls nothing; the delete then takes the
        // images with the repository.
        let empty = json!({"RepositoryName": "full", "EmptyOnDelete": true});
        let applied = w.update("Full", &applied, &keep, &empty).await.expect("update");
        assert_eq!(w.read("Full", "full", &empty).await.expect("exists").properties, empty);
        w.delete("Full", &applied, &empty).await.expect("delete with its images");
        assert!(w.repository_names().await.is_empty());
    }
}

/// What the provider does not implement is refused before anything is made.
#[tokio::test]
async fn unsupported_properties_are_refused() {
    let w = world().await;
    let props = json!({"ImageTagMutability": "IMMUTABLE_WITH_EXCLUSION", "ImageTagMutabilityExclusionFilters": [
        {"ImageTagMutabilityExclusionFilterType": "WILDCARD", "ImageTagMutabilityExclusionFilterValue": "latest"}]});
    let err = w.create("Filters", &props).await.expect_err("unsupported");
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(err.message.contains("ImageTagMutabilityExclusionFilters"), "{}", err.message);
    assert!(w.repository_names().await.is_empty());

    let applied = w.create("Filters", &json!({"RepositoryName": "plain"})).await.expect("create");
    let err = w
        .update(
            "Filters",
            &applied,
            &json!({"RepositoryName": "plain"}),
            &json!({"RepositoryName": "plain", "ImageScanningConfiguration": {"ScanFrequency": "DAILY"}}),
        )
        .await
        .expect_err("unsupported");
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(err.message.contains("ImageScanningConfiguration.ScanFrequency"), "{}", err.message);
}

#[tokio::test]
async fn providers_include_ecr() {
    let w = world().await;
    let providers = w.account.providers().await.expect("providers");
    let ecr: Vec<_> = providers.iter().filter(|p| p.resource_types().contains(&TYPE)).collect();
    assert_eq!(ecr.len(), 1);
    assert_eq!(ecr[0].name(), "ecr");
}
