//! S3 providers against a local AWS through the real SDK: every sub-configuration of a bucket
//! created, read back without spurious differences, changed and removed in place; generated
//! names; regions; replacement by name; deletes that meet objects (refused, or emptied with
//! the opt-in, versions and delete markers included); lost answers adopted without a second
//! bucket; and bucket policies.

use infra_aws::config::{self, AwsSettings};
use infra_aws::retry::RetryPolicy;
use infra_aws::s3::{S3Provider, S3Settings};
use infra_aws::testing::{Account, Fault, FaultProxy, LocalAws};
use infra_core::provider::events::{self, ProviderEvent};
use infra_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, Observed, Provider, ReadRequest, ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const BUCKET: &str = "AWS::S3::Bucket";
const POLICY: &str = "AWS::S3::BucketPolicy";

/// An account, a provider acting in it, and a client to look at what S3 holds.
struct World {
    account: Account,
    provider: S3Provider,
    s3: aws_sdk_s3::Client,
    region: String,
}

/// A client for the local AWS (path-style, as the provider's).
fn client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

async fn config_in(account: &Account, region: &str, endpoint: &str) -> aws_config::SdkConfig {
    let settings = AwsSettings { region: Some(region.into()), profile: None, endpoint_url: Some(endpoint.to_string()) };
    config::load_with(&settings, Some(&account.credentials)).await.expect("config")
}

async fn world_in(region: &str, page_size: i32) -> World {
    let aws = LocalAws::shared().expect("local AWS");
    let account = aws.account().await.expect("account");
    let config = config_in(&account, region, &account.endpoint_url).await;
    let settings = S3Settings { retry: RetryPolicy::default(), page_size };
    World {
        provider: S3Provider::with_settings(&config, settings),
        s3: client(&config),
        account,
        region: region.to_string(),
    }
}

async fn world() -> World {
    world_in("us-east-1", 1000).await
}

impl World {
    /// A bucket name no other test (in any account: names are global) uses.
    fn name(&self, what: &str) -> String {
        format!("t{}-{what}-{}", self.account.account_id, fastrand::u32(..))
    }

    /// `{bucket}`, `{target}` and `{account}` in any string become their values.
    fn fill(&self, v: &Value, bucket: &str, target: &str) -> Value {
        let text = v
            .to_string()
            .replace("{bucket}", bucket)
            .replace("{target}", target)
            .replace("{account}", &self.account.account_id);
        serde_json::from_str(&text).expect("json")
    }

    fn context(&self, resource_type: &str, logical_id: &str) -> ResourceContext {
        ResourceContext {
            project: "mlplatform".into(),
            environment: "dev".into(),
            layer: "shared".into(),
            stack_name: "mlplatform-dev-shared".into(),
            logical_id: logical_id.into(),
            resource_type: resource_type.into(),
            ..Default::default()
        }
    }

    async fn create(&self, ctx: &ResourceContext, properties: &Value) -> Result<(String, Value), String> {
        let physical_name = self.provider.physical_name(ctx, properties);
        let req =
            CreateRequest { context: ctx.clone(), physical_name, token: "t-1".into(), properties: properties.clone() };
        let applied = self.provider.create(&req).await.map_err(|e| e.to_string())?;
        Ok((applied.physical_id, json!(applied.attributes)))
    }

    async fn read(&self, ctx: &ResourceContext, physical_id: &str, properties: &Value) -> Option<Observed> {
        let req = ReadRequest {
            context: ctx.clone(),
            physical_id: physical_id.into(),
            properties: properties.clone(),
            attributes: Default::default(),
        };
        self.provider.read(&req).await.unwrap_or_else(|e| panic!("read {physical_id}: {e}"))
    }

    async fn update(&self, ctx: &ResourceContext, id: &str, old: &Value, new: &Value) -> Result<(), String> {
        let req = UpdateRequest {
            context: ctx.clone(),
            physical_id: id.into(),
            old_properties: old.clone(),
            new_properties: new.clone(),
            old_attributes: Default::default(),
        };
        self.provider.update(&req).await.map(drop).map_err(|e| e.to_string())
    }

    async fn delete(
        &self,
        ctx: &ResourceContext,
        id: &str,
        properties: &Value,
    ) -> Result<(), infra_core::provider::ProviderError> {
        let req = DeleteRequest {
            context: ctx.clone(),
            physical_id: id.into(),
            properties: properties.clone(),
            attributes: Default::default(),
        };
        self.provider.delete(&req).await
    }

    /// The names of every bucket of the account.
    async fn buckets(&self) -> Vec<String> {
        let out = self.s3.list_buckets().send().await.expect("list buckets");
        out.buckets().iter().filter_map(|b| b.name().map(str::to_string)).collect()
    }

    /// A bucket made outside the provider, for logs and policies to point at.
    async fn make_bucket(&self, name: &str) {
        let mut create = self.s3.create_bucket().bucket(name);
        if self.region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(self.region.as_str()))
                    .build(),
            );
        }
        create.send().await.unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
    }

    async fn put_object(&self, bucket: &str, key: &str, body: &str) {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
    }

    /// How many object versions and delete markers the bucket holds.
    async fn versions(&self, bucket: &str) -> usize {
        let out = self.s3.list_object_versions().bucket(bucket).send().await.expect("list versions");
        out.versions().len() + out.delete_markers().len()
    }
}

/// Create a bucket with `steps[0]`, then update it through the other steps; after every step
/// the read-back equals the step exactly. Finally delete, after which the read finds nothing,
/// and delete again, which succeeds.
async fn check(what: &str, steps: &[Value]) {
    let w = world().await;
    let bucket = w.name("b");
    let target = w.name("logs");
    // Where access logs go: a bucket whose policy lets the logging service write to it.
    w.make_bucket(&target).await;
    let logging_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": ["s3:PutObject"],
        "Resource": format!("arn:aws:s3:::{target}/*")}]});
    w.s3.put_bucket_policy().bucket(&target).policy(logging_policy.to_string()).send().await.expect("policy");

    let steps: Vec<Value> = steps.iter().map(|s| w.fill(s, &bucket, &target)).collect();
    let Some(first) = steps.first() else { return };
    let ctx = w.context(BUCKET, "Artifacts");
    let (id, attributes) = w.create(&ctx, first).await.unwrap_or_else(|e| panic!("{what}: create {first}: {e}"));
    assert_eq!(id, bucket);
    assert_eq!(
        attributes,
        json!({"Arn": format!("arn:aws:s3:::{bucket}"), "DomainName": format!("{bucket}.s3.amazonaws.com"),
            "RegionalDomainName": format!("{bucket}.s3.us-east-1.amazonaws.com"),
            "DualStackDomainName": format!("{bucket}.s3.dualstack.us-east-1.amazonaws.com"),
            "WebsiteURL": format!("http://{bucket}.s3-website-us-east-1.amazonaws.com")})
    );
    let mut applied = first.clone();
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            w.update(&ctx, &id, &applied, step)
                .await
                .unwrap_or_else(|e| panic!("{what}: update to step {i} {step}: {e}"));
            applied = step.clone();
        }
        let read = w.read(&ctx, &id, &applied).await.unwrap_or_else(|| panic!("{what} step {i}: gone"));
        assert_eq!(read.properties, applied, "{what} step {i}: read-back differs");
        assert_eq!(read.physical_id, id);
        assert_eq!(json!(read.attributes), attributes);
    }
    w.delete(&ctx, &id, &applied).await.unwrap_or_else(|e| panic!("{what}: delete: {e}"));
    assert!(w.read(&ctx, &id, &applied).await.is_none(), "{what}: still there after delete");
    assert!(!w.buckets().await.contains(&bucket));
    w.delete(&ctx, &id, &applied).await.unwrap_or_else(|e| panic!("{what}: second delete: {e}"));
}

/// One life cycle per sub-configuration: set, changed, spelled differently, removed.
#[tokio::test]
async fn every_sub_configuration_is_applied_changed_and_removed_in_place() {
    let named = |extra: Value| {
        let mut v = json!({"BucketName": "{bucket}"});
        v.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        v
    };
    let cases: Vec<(&str, Vec<Value>)> = vec![
        (
            "versioning",
            vec![
                json!({}),
                json!({"VersioningConfiguration": {"Status": "Enabled"}}),
                json!({"VersioningConfiguration": {"Status": "Suspended"}}),
                json!({"VersioningConfiguration": {"Status": "Enabled"}}),
                json!({}),
            ],
        ),
        (
            "encryption",
            vec![
                json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}),
                json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": "arn:aws:kms:us-east-1:{account}:key/k1"}, "BucketKeyEnabled": true}]}}),
                json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": false}]}}),
                json!({}),
            ],
        ),
        (
            "public access block",
            vec![
                json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true}}),
                json!({"PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true,
                    "IgnorePublicAcls": true, "RestrictPublicBuckets": true}}),
                json!({"PublicAccessBlockConfiguration": {"RestrictPublicBuckets": "true", "BlockPublicAcls": false}}),
                json!({}),
            ],
        ),
        (
            "ownership controls",
            vec![
                json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}}),
                json!({"OwnershipControls": {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}}),
                json!({}),
            ],
        ),
        (
            "lifecycle",
            vec![
                json!({"LifecycleConfiguration": {"Rules": [{"Id": "expire", "Status": "Enabled", "ExpirationInDays": 30}]}}),
                json!({"LifecycleConfiguration": {"Rules": [
                    {"Id": "logs", "Status": "Enabled", "Prefix": "logs/", "ExpirationInDays": "7",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 5},
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
                    {"Id": "archive", "Status": "Disabled", "TagFilters": [{"Key": "class", "Value": "cold"}],
                        "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}]},
                    {"Id": "tmp", "Status": "Enabled", "Prefix": "tmp/",
                        "TagFilters": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                        "ExpiredObjectDeleteMarker": true},
                    {"Id": "older", "Status": "Enabled",
                        "NoncurrentVersionTransitions": [
                            {"StorageClass": "STANDARD_IA", "TransitionInDays": 30, "NewerNoncurrentVersions": 2}],
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 60}}]}}),
                json!({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "ExpirationInDays": 1}]}}),
                json!({}),
            ],
        ),
        (
            "logging",
            vec![
                json!({"LoggingConfiguration": {"DestinationBucketName": "{target}", "LogFilePrefix": "access/"}}),
                json!({"LoggingConfiguration": {"DestinationBucketName": "{target}"}}),
                json!({}),
            ],
        ),
        (
            "cors",
            vec![
                json!({"CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}}),
                json!({"CorsConfiguration": {"CorsRules": [
                    {"Id": "app", "AllowedHeaders": ["*"], "AllowedMethods": ["GET", "PUT"],
                        "AllowedOrigins": ["https://app.example.com"], "ExposedHeaders": ["ETag"], "MaxAge": 3000},
                    {"AllowedMethods": ["HEAD"], "AllowedOrigins": ["*"], "MaxAge": "60"}]}}),
                json!({}),
            ],
        ),
        (
            "website",
            vec![
                json!({"WebsiteConfiguration": {"IndexDocument": "index.html", "ErrorDocument": "error.html"}}),
                json!({"WebsiteConfiguration": {"IndexDocument": "index.html", "RoutingRules": [
                    {"RoutingRuleCondition": {"KeyPrefixEquals": "docs/"},
                        "RedirectRule": {"ReplaceKeyPrefixWith": "documents/"}},
                    {"RoutingRuleCondition": {"HttpErrorCodeReturnedEquals": "404"},
                        "RedirectRule": {"HostName": "example.com", "Protocol": "https", "HttpRedirectCode": "302"}}]}}),
                json!({"WebsiteConfiguration": {"RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "https"}}}),
                json!({}),
            ],
        ),
        (
            "tags",
            vec![
                json!({"Tags": [{"Key": "team", "Value": "ml"}, {"Key": "cost", "Value": 42}]}),
                json!({"Tags": [{"Key": "team", "Value": "platform"}]}),
                json!({"Tags": []}),
                json!({}),
            ],
        ),
        (
            "everything at once",
            vec![
                json!({"VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
                    "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true,
                        "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "LifecycleConfiguration": {"Rules": [{"Id": "x", "Status": "Enabled",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]},
                    "LoggingConfiguration": {"DestinationBucketName": "{target}", "LogFilePrefix": "b/"},
                    "CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]},
                    "WebsiteConfiguration": {"IndexDocument": "index.html"},
                    "Tags": [{"Key": "team", "Value": "ml"}]}),
                json!({}),
            ],
        ),
    ];
    for (what, steps) in cases {
        check(what, &steps.into_iter().map(named).collect::<Vec<_>>()).await;
    }
}

#[tokio::test]
async fn a_generated_name_follows_the_bucket_rules_and_reads_back_without_it() {
    let w = world().await;
    let ctx = w.context(BUCKET, "TrainingData_Bucket");
    let props = json!({"Tags": [{"Key": "team", "Value": "ml"}]});
    let (id, _) = w.create(&ctx, &props).await.expect("create");
    assert!(id.starts_with("mlplatform-dev-shared-trainingdatabucket-"), "{id}");
    assert!(id.len() <= 63 && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{id}");
    assert_eq!(w.buckets().await, vec![id.clone()]);
    assert_eq!(w.read(&ctx, &id, &props).await.expect("exists").properties, props);
    w.delete(&ctx, &id, &props).await.expect("delete");
}

#[tokio::test]
async fn outside_us_east_1_the_bucket_is_made_in_the_region() {
    let w = world_in("eu-west-1", 1000).await;
    let ctx = w.context(BUCKET, "Data");
    let bucket = w.name("eu");
    let props = json!({"BucketName": bucket, "VersioningConfiguration": {"Status": "Enabled"}});
    let (id, attributes) = w.create(&ctx, &props).await.expect("create");
    let location = w.s3.get_bucket_location().bucket(&id).send().await.expect("location");
    assert_eq!(location.location_constraint().map(|l| l.as_str()), Some("eu-west-1"));
    assert_eq!(attributes["RegionalDomainName"], json!(format!("{bucket}.s3.eu-west-1.amazonaws.com")));
    assert_eq!(attributes["WebsiteURL"], json!(format!("http://{bucket}.s3-website-eu-west-1.amazonaws.com")));
    assert_eq!(w.read(&ctx, &id, &props).await.expect("exists").properties, props);
    w.delete(&ctx, &id, &props).await.expect("delete");
}

#[tokio::test]
async fn a_new_bucket_name_replaces_the_bucket() {
    let w = world().await;
    assert!(infra_aws::kit::schema::create_only(BUCKET).contains(&"BucketName".to_string()));
    let ctx = w.context(BUCKET, "Data");
    let (old, new) = (json!({"BucketName": w.name("old")}), json!({"BucketName": w.name("new")}));
    let (old_id, _) = w.create(&ctx, &old).await.expect("create");
    // In place it is refused: the engine replaces instead, the old bucket first (a name).
    let refused = w.update(&ctx, &old_id, &old, &new).await.expect_err("refused in place");
    assert!(refused.contains("BucketName cannot change without replacing the bucket"), "{refused}");
    assert_eq!(w.buckets().await, vec![old_id.clone()]);
    w.delete(&ctx, &old_id, &old).await.expect("delete the old");
    let (new_id, _) = w.create(&ctx, &new).await.expect("create the new");
    assert_eq!(w.buckets().await, vec![new_id.clone()]);
    assert_eq!(w.read(&ctx, &new_id, &new).await.expect("exists").properties, new);
    w.delete(&ctx, &new_id, &new).await.expect("delete");
}

#[tokio::test]
async fn unsupported_and_invalid_properties_are_refused_before_any_bucket_is_made() {
    let w = world().await;
    let ctx = w.context(BUCKET, "Data");
    let cases = [
        (json!({"ObjectLockEnabled": true}), ErrorKind::Unsupported, "property ObjectLockEnabled is not supported"),
        (
            json!({"NotificationConfiguration": {}}),
            ErrorKind::Unsupported,
            "property NotificationConfiguration is not supported",
        ),
        (
            json!({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "Transition": {"StorageClass": "GLACIER"}}]}}),
            ErrorKind::Unsupported,
            "property LifecycleConfiguration.Rules.0.Transition is not supported",
        ),
        (
            json!({"VersioningConfiguration": {"Status": "enabled"}}),
            ErrorKind::Invalid,
            "property VersioningConfiguration.Status must be one of Enabled, Suspended",
        ),
    ];
    for (props, kind, message) in cases {
        let mut props = props;
        props["BucketName"] = json!(w.name("refused"));
        let req = CreateRequest {
            context: ctx.clone(),
            physical_name: w.provider.physical_name(&ctx, &props),
            token: "t".into(),
            properties: props.clone(),
        };
        let err = w.provider.create(&req).await.expect_err("refused");
        assert_eq!(err.kind, kind, "{props}: {err}");
        assert!(err.message.contains(message), "{props}: {}", err.message);
        assert!(err.partial.is_none());
    }
    assert!(w.buckets().await.is_empty(), "nothing was made");
}

#[tokio::test]
async fn a_name_someone_else_holds_or_an_existing_bucket_is_a_clear_error() {
    let (w, other) = (world().await, world().await);
    let ctx = w.context(BUCKET, "Data");
    // Someone else's bucket: names are global.
    let taken = other.name("taken");
    other.make_bucket(&taken).await;
    let err = w.create(&ctx, &json!({"BucketName": taken})).await.expect_err("taken");
    assert!(err.contains("BucketAlreadyExists") && err.contains("belongs to another account"), "{err}");
    // A bucket this account made without infra is not adopted either (us-east-1 would answer
    // its create with success, so the provider asks first), nor in another region.
    for region in ["us-east-1", "eu-west-1"] {
        let w = world_in(region, 1000).await;
        let mine = w.name("mine");
        w.make_bucket(&mine).await;
        let err = w.create(&ctx, &json!({"BucketName": mine})).await.expect_err("exists");
        assert!(err.contains("BucketAlreadyOwnedByYou") && err.contains("infra did not create it"), "{region}: {err}");
    }
}

/// The create's answer is lost (the proxy forwards it, then drops the connection): the retry
/// meets the bucket its first attempt made and adopts it, configures it, and there is one.
#[tokio::test]
async fn a_lost_create_answer_is_adopted_without_a_second_bucket() {
    // (region, which S3 request is the create: us-east-1 asks HeadBucket first)
    for (region, create_is) in [("us-east-1", 2), ("eu-west-1", 1)] {
        let aws = LocalAws::shared().expect("local AWS");
        let account = aws.account().await.expect("account");
        let proxy =
            FaultProxy::start(&account.endpoint_url, move |_, n| (n == create_is).then_some(Fault::ForwardThenDrop))
                .await
                .expect("proxy");
        let via_proxy = config_in(&account, region, &proxy.url).await;
        let direct = config_in(&account, region, &account.endpoint_url).await;
        let provider = S3Provider::with_settings(&via_proxy, S3Settings::default());
        let s3 = client(&direct);
        let name = format!("t{}-lost-{}", account.account_id, fastrand::u32(..));
        let props = json!({"BucketName": name, "Tags": [{"Key": "team", "Value": "ml"}]});
        let ctx = ResourceContext { resource_type: BUCKET.into(), logical_id: "Data".into(), ..Default::default() };
        let req = CreateRequest {
            context: ctx.clone(),
            physical_name: provider.physical_name(&ctx, &props),
            token: "t".into(),
            properties: props.clone(),
        };
        let applied = provider.create(&req).await.unwrap_or_else(|e| panic!("{region}: {e}"));
        assert_eq!(applied.physical_id, name);
        // S3 requests carry no action name; every one of them is counted under "".
        assert!(proxy.forwarded("") > create_is, "{region}: the create was retried");
        let buckets = s3.list_buckets().send().await.expect("list");
        let names: Vec<_> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
        assert_eq!(names, vec![name.as_str()], "{region}");
        let tags = s3.get_bucket_tagging().bucket(&name).send().await.expect("tags");
        assert_eq!(tags.tag_set().len(), 1, "{region}: configured after adopting");
        let read = ReadRequest {
            context: ctx.clone(),
            physical_id: name.clone(),
            properties: props.clone(),
            attributes: Default::default(),
        };
        assert_eq!(provider.read(&read).await.expect("read").expect("exists").properties, props);
        let delete =
            DeleteRequest { context: ctx, physical_id: name, properties: props, attributes: Default::default() };
        provider.delete(&delete).await.expect("delete");
    }
}

/// A bucket with objects, old versions and a delete marker.
async fn filled(w: &World) -> (ResourceContext, String, Value) {
    let ctx = w.context(BUCKET, "Data");
    let bucket = w.name("full");
    let props = json!({"BucketName": bucket, "VersioningConfiguration": {"Status": "Enabled"}});
    w.create(&ctx, &props).await.expect("create");
    for (key, body) in [("a", "1"), ("a", "2"), ("b", "1"), ("c/d", "1"), ("e", "1")] {
        w.put_object(&bucket, key, body).await;
    }
    w.s3.delete_object().bucket(&bucket).key("b").send().await.expect("delete marker");
    assert_eq!(w.versions(&bucket).await, 6, "5 versions and a delete marker");
    (ctx, bucket, props)
}

#[tokio::test]
async fn a_bucket_that_holds_objects_is_not_deleted_and_says_what_to_do() {
    // (page size, what the message counts)
    for (page_size, counted) in [(1000, "still holds 6 objects"), (4, "still holds at least 4 objects")] {
        let w = world_in("us-east-1", page_size).await;
        let (ctx, bucket, props) = filled(&w).await;
        let err = w.delete(&ctx, &bucket, &props).await.expect_err("refused");
        assert_eq!(err.kind, ErrorKind::Conflict);
        assert_eq!(err.code.as_deref(), Some("BucketNotEmpty"));
        assert!(!err.is_ambiguous(), "the refusal changed nothing");
        assert!(err.message.starts_with(&format!("bucket {bucket} {counted} (object versions")), "{}", err.message);
        for way_out in ["Empty the bucket", "empty_on_delete: true", "DeletionPolicy: Retain"] {
            assert!(err.message.contains(way_out), "{}", err.message);
        }
        assert_eq!(w.versions(&bucket).await, 6, "nothing was emptied");
        assert!(w.read(&ctx, &bucket, &props).await.is_some());
    }
}

#[tokio::test]
async fn with_the_opt_in_every_version_and_delete_marker_goes_in_batches_then_the_bucket() {
    let w = world_in("us-east-1", 4).await;
    let (mut ctx, bucket, props) = filled(&w).await;
    ctx.metadata = json!({"infra": {"empty_on_delete": true}});
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let heard = heard.clone();
        move |e: ProviderEvent| heard.lock().expect("lock").push(e)
    };
    events::scope(sink, w.delete(&ctx, &bucket, &props)).await.expect("emptied and deleted");
    assert!(!w.buckets().await.contains(&bucket));
    let statuses: Vec<String> = heard
        .lock()
        .expect("lock")
        .iter()
        .map(|e| match e {
            ProviderEvent::Waiting { subject, status, .. } => {
                assert_eq!(subject, &format!("bucket {bucket} to be emptied"));
                status.clone()
            }
            other => panic!("emptying reports how far it got, not {other:?}"),
        })
        .collect();
    assert_eq!(
        statuses,
        ["4 object versions and delete markers deleted", "6 object versions and delete markers deleted"],
        "one report per batch"
    );
    // An unversioned bucket's objects go the same way.
    let plain = json!({"BucketName": w.name("plain")});
    let (id, _) = w.create(&ctx, &plain).await.expect("create");
    w.put_object(&id, "x", "1").await;
    w.delete(&ctx, &id, &plain).await.expect("emptied and deleted");
    assert!(!w.buckets().await.contains(&id));
    // A wrong opt-in is an error, not a guess.
    ctx.metadata = json!({"infra": {"empty_on_delete": "yes"}});
    let err = w.delete(&ctx, "whatever", &plain).await.expect_err("invalid");
    assert_eq!(err.message, "Metadata infra.empty_on_delete must be true or false, not \"yes\"");
}

#[tokio::test]
async fn bucket_policies_are_put_changed_compared_by_meaning_and_removed() {
    let w = world().await;
    let bucket = w.name("policy");
    w.make_bucket(&bucket).await;
    let doc = |actions: &[&str]| {
        json!({"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{}:root", w.account.account_id)},
            "Action": actions, "Resource": format!("arn:aws:s3:::{bucket}/*")}]})
    };
    let ctx = w.context(POLICY, "Policy");
    let steps = [
        json!({"Bucket": bucket, "PolicyDocument": doc(&["s3:GetObject"])}),
        json!({"Bucket": bucket, "PolicyDocument": doc(&["s3:GetObject", "s3:PutObject"]).to_string()}),
        json!({"Bucket": bucket, "PolicyDocument": doc(&["s3:PutObject"])}),
    ];
    let (id, _) = w.create(&ctx, &steps[0]).await.expect("create");
    assert_eq!(id, bucket, "Ref is the bucket name");
    let mut applied = steps[0].clone();
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            w.update(&ctx, &id, &applied, step).await.unwrap_or_else(|e| panic!("step {i}: {e}"));
            applied = step.clone();
        }
        assert_eq!(w.read(&ctx, &id, &applied).await.expect("exists").properties, applied, "step {i}");
    }
    // Another bucket is a replacement, never an in-place change.
    let moved = json!({"Bucket": w.name("elsewhere"), "PolicyDocument": doc(&["s3:PutObject"])});
    assert!(w.update(&ctx, &id, &applied, &moved).await.expect_err("refused").contains("Bucket cannot change"));
    w.delete(&ctx, &id, &applied).await.expect("delete");
    assert!(w.read(&ctx, &id, &applied).await.is_none());
    assert!(w.s3.get_bucket_policy().bucket(&bucket).send().await.is_err(), "the policy is gone");
    w.delete(&ctx, &id, &applied).await.expect("deleting a deleted policy");
    w.s3.delete_bucket().bucket(&bucket).send().await.expect("delete bucket");
    w.delete(&ctx, &id, &applied).await.expect("a policy whose bucket is gone is gone");
    assert!(w.read(&ctx, &id, &applied).await.is_none());
}
