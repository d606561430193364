//! CloudFormation against a local AWS (moto, with the stack failures and resource events of
//! `scripts/local_aws_server.py`) through the real SDK: nested stacks (create, update through
//! a change set, an update without changes, delete, a lost answer adopted), the fallback for
//! types without a native provider (one managed stack per resource), failures named by their
//! first failing resource, and the stuck states explained.

use aws_sdk_cloudformation::types::{ChangeSetType, Tag};
use infra_aws::cloudformation::fallback::{managed_stack_name, ManagedStacks, STACK_ATTRIBUTE};
use infra_aws::cloudformation::{CloudFormation, CloudFormationProvider, CloudFormationSettings};
use infra_aws::testing::{Account, Fault, FaultProxy, LocalAws};
use infra_aws::waiter::Polling;
use infra_core::provider::events::{self, ProviderEvent};
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Provider, ReadRequest, ResourceContext,
    UpdateRequest, INTENT_TAG,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NESTED: &str = "AWS::CloudFormation::Stack";

fn settings() -> CloudFormationSettings {
    CloudFormationSettings {
        polling: Polling {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(50),
            heartbeat_every: Duration::from_secs(60),
        },
        ..CloudFormationSettings::default()
    }
}

async fn account() -> Account {
    let aws = LocalAws::shared().unwrap_or_else(|e| panic!("failed to start the local AWS: {e}"));
    aws.account().await.unwrap_or_else(|e| panic!("failed to open an account: {e}"))
}

async fn config(account: &Account, via: Option<&FaultProxy>) -> aws_config::SdkConfig {
    match via {
        Some(proxy) => account.sdk_config_via(&proxy.url).await,
        None => account.sdk_config().await,
    }
    .expect("SDK configuration")
}

fn nested(config: &aws_config::SdkConfig) -> CloudFormationProvider {
    CloudFormationProvider::with_settings(config, settings())
}

fn fallback(config: &aws_config::SdkConfig) -> ManagedStacks {
    ManagedStacks::new(CloudFormation::new(config, settings()))
}

/// A proxy in front of the local AWS that rewrites `from` to `to` in the answers to `actions`.
async fn rewriting(rules: Vec<(&'static str, &'static str, &'static str)>) -> FaultProxy {
    let aws = LocalAws::shared().expect("local AWS");
    FaultProxy::start(aws.endpoint_url(), move |action, _| {
        rules.iter().find(|(a, _, _)| *a == action).map(|(_, from, to)| Fault::Rewrite { from, to })
    })
    .await
    .expect("proxy")
}

fn context(logical_id: &str, resource_type: &str) -> ResourceContext {
    ResourceContext {
        project: "cfn".into(),
        environment: "test".into(),
        layer: "app".into(),
        stack_name: "cfn-test-app".into(),
        logical_id: logical_id.into(),
        resource_type: resource_type.into(),
        metadata: Value::Null,
    }
}

/// A resource created through a provider, with what its later calls need.
struct Made {
    context: ResourceContext,
    properties: Value,
    applied: Applied,
}

async fn create(p: &dyn Provider, logical_id: &str, resource_type: &str, properties: Value, token: &str) -> Made {
    let made = try_create(p, logical_id, resource_type, properties.clone(), token).await;
    match made {
        Ok(m) => m,
        Err(e) => panic!("create {logical_id}: {e}"),
    }
}

async fn try_create(
    p: &dyn Provider,
    logical_id: &str,
    resource_type: &str,
    properties: Value,
    token: &str,
) -> Result<Made, infra_core::provider::ProviderError> {
    let context = context(logical_id, resource_type);
    let physical_name = p.physical_name(&context, &properties);
    let req =
        CreateRequest { context: context.clone(), physical_name, token: token.into(), properties: properties.clone() };
    let applied = p.create(&req).await?;
    Ok(Made { context, properties, applied })
}

impl Made {
    async fn update(&mut self, p: &dyn Provider, properties: Value) -> Result<(), infra_core::provider::ProviderError> {
        let req = UpdateRequest {
            context: self.context.clone(),
            physical_id: self.applied.physical_id.clone(),
            old_properties: self.properties.clone(),
            new_properties: properties.clone(),
            old_attributes: self.applied.attributes.clone(),
        };
        self.applied = p.update(&req).await?;
        self.properties = properties;
        Ok(())
    }

    async fn read(
        &self,
        p: &dyn Provider,
    ) -> Result<Option<infra_core::provider::Observed>, infra_core::provider::ProviderError> {
        p.read(&ReadRequest {
            context: self.context.clone(),
            physical_id: self.applied.physical_id.clone(),
            properties: self.properties.clone(),
            attributes: self.applied.attributes.clone(),
        })
        .await
    }

    async fn delete(&self, p: &dyn Provider) -> Result<(), infra_core::provider::ProviderError> {
        p.delete(&DeleteRequest {
            context: self.context.clone(),
            physical_id: self.applied.physical_id.clone(),
            properties: self.properties.clone(),
            attributes: self.applied.attributes.clone(),
        })
        .await
    }

    fn stack_id(&self) -> String {
        match self.applied.attributes.get(STACK_ATTRIBUTE).and_then(Value::as_str) {
            Some(id) => id.to_string(),
            None => self.applied.physical_id.clone(),
        }
    }
}

/// Names of the stacks of the account that are not deleted.
async fn live_stacks(config: &aws_config::SdkConfig) -> Vec<String> {
    let client = aws_sdk_cloudformation::Client::new(config);
    let out = client.list_stacks().send().await.expect("ListStacks");
    out.stack_summaries()
        .iter()
        .filter(|s| s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE"))
        .map(|s| s.stack_name().unwrap_or_default().to_string())
        .collect()
}

fn child(value: &str, extra_output: bool) -> String {
    let mut text = format!(
        "Parameters:\n  Prefix:\n    Type: String\nResources:\n  Param:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: !Sub \"${{Prefix}}-setting\"\n      Type: String\n      Value: {value}\nOutputs:\n  ParamName:\n    Value: !Ref Param\n"
    );
    if extra_output {
        text.push_str("  Echo:\n    Value: !Ref Prefix\n");
    }
    text
}

#[tokio::test]
async fn nested_stack_create_update_no_change_and_delete() {
    let account = account().await;
    let proxy = rewriting(vec![]).await;
    let cfg = config(&account, Some(&proxy)).await;
    let p = nested(&cfg);
    let props = json!({"TemplateURL": "nested/child.yaml", "TemplateBody": child("one", false), "Parameters": {"Prefix": "app"}});
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let heard = heard.clone();
        move |e: ProviderEvent| heard.lock().unwrap().push(e)
    };
    let mut made = events::scope(sink, create(&p, "Child", NESTED, props, "token-nested")).await;
    let id = made.applied.physical_id.clone();
    assert!(
        id.starts_with("arn:aws:cloudformation:us-east-1:") && id.contains(":stack/cfn-test-app-Child-"),
        "Ref is the stack ID: {id}"
    );
    assert_eq!(made.applied.attributes["Outputs.ParamName"], json!("app-setting"));
    let heard: Vec<String> = heard.lock().unwrap().iter().map(ToString::to_string).collect();
    assert!(
        heard.iter().any(|l| l.contains("Param AWS::SSM::Parameter CREATE_COMPLETE")),
        "stack events are reported while waiting: {heard:?}"
    );
    let observed = made.read(&p).await.expect("read").expect("exists");
    assert_eq!(observed.properties, made.properties, "read back in the template's shape");
    assert_eq!(observed.physical_id, id);

    // The child template changes: an update through a change set, with the new output.
    let edited = json!({"TemplateURL": "nested/child.yaml", "TemplateBody": child("two", true), "Parameters": {"Prefix": "app"}});
    made.update(&p, edited).await.expect("update");
    assert_eq!(proxy.seen("CreateChangeSet"), 1);
    assert_eq!(proxy.seen("ExecuteChangeSet"), 1);
    assert_eq!(made.applied.physical_id, id);
    assert_eq!(made.applied.attributes["Outputs.Echo"], json!("app"));
    assert_eq!(made.read(&p).await.expect("read").expect("exists").properties, made.properties);

    // The same template again: the change set has no changes and is not executed.
    made.update(&p, made.properties.clone()).await.expect("no-change update");
    assert_eq!(proxy.seen("ExecuteChangeSet"), 1, "nothing to execute");
    assert_eq!(made.applied.attributes["Outputs.Echo"], json!("app"));

    made.delete(&p).await.expect("delete");
    assert!(made.read(&p).await.expect("read").is_none(), "gone");
    made.delete(&p).await.expect("deleting what is gone is success");
    assert!(live_stacks(&cfg).await.is_empty());
}

#[tokio::test]
async fn a_nested_stack_create_whose_answer_was_lost_is_adopted() {
    let account = account().await;
    let aws = LocalAws::shared().expect("local AWS");
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, nth| {
        (action == "CreateStack" && nth == 1).then_some(Fault::ForwardThenDrop)
    })
    .await
    .expect("proxy");
    let cfg = config(&account, Some(&proxy)).await;
    let p = nested(&cfg);
    let props = json!({"TemplateURL": "nested/child.yaml", "TemplateBody": child("one", false), "Parameters": {"Prefix": "lost"}});
    let made = create(&p, "Child", NESTED, props, "token-lost").await;
    assert_eq!(proxy.answered("CreateStack"), 2, "the retry met the stack its first attempt made");
    assert_eq!(made.applied.attributes["Outputs.ParamName"], json!("lost-setting"));
    assert_eq!(live_stacks(&cfg).await.len(), 1, "one stack, not two");
    made.delete(&p).await.expect("delete");
}

#[tokio::test]
async fn fallback_dashboard_updates_in_place_and_a_topic_is_replaced_by_a_new_stack() {
    let account = account().await;
    let cfg = config(&account, None).await;
    let p = fallback(&cfg);
    assert!(p.accepts("AWS::CloudWatch::Dashboard") && p.accepts("AWS::SNS::Topic"));
    assert!(!p.accepts(NESTED) && !p.accepts("Custom::Thing") && !p.accepts("AWS::No::Such"));
    assert_eq!(p.provisioned_through("AWS::SNS::Topic"), Some("CloudFormation"));

    let body = |title: &str| json!({"widgets": [{"type": "text", "properties": {"markdown": title}}]}).to_string();
    let mut dashboard = create(
        &p,
        "Dashboard",
        "AWS::CloudWatch::Dashboard",
        json!({"DashboardName": "ops", "DashboardBody": body("one")}),
        "tok-dash",
    )
    .await;
    assert_eq!(dashboard.applied.physical_id, "ops", "Ref is the dashboard's name, not the stack's");
    let stack = dashboard.stack_id();
    assert!(stack.contains(&managed_stack_name(&dashboard.context, "tok-dash")), "{stack}");
    dashboard.update(&p, json!({"DashboardName": "ops", "DashboardBody": body("two")})).await.expect("update in place");
    assert_eq!((dashboard.applied.physical_id.as_str(), dashboard.stack_id()), ("ops", stack.clone()));
    let observed = dashboard.read(&p).await.expect("read").expect("exists");
    assert_eq!(observed.properties, dashboard.properties, "the applied properties, from the stack's template");

    // A queue gives its attributes through the stack's outputs.
    let queue = create(&p, "Queue", "AWS::SQS::Queue", json!({"QueueName": "jobs"}), "tok-queue").await;
    assert!(queue.applied.physical_id.ends_with("/jobs"), "Ref is the queue URL: {}", queue.applied.physical_id);
    assert_eq!(queue.applied.attributes["Arn"], json!(format!("arn:aws:sqs:us-east-1:{}:jobs", account.account_id)));

    // A topic: TopicName is create-only, so the engine replaces it: a new stack (a new
    // intent), then the old one deleted. moto cannot give TopicArn through Fn::GetAtt, so the
    // output is dropped and the attribute is not recorded.
    assert!(infra_aws::kit::schema::create_only("AWS::SNS::Topic").contains(&"TopicName".to_string()));
    let old = create(&p, "Topic", "AWS::SNS::Topic", json!({"TopicName": "alerts"}), "tok-topic-1").await;
    assert!(old.applied.physical_id.ends_with(":alerts"), "Ref is the topic ARN: {}", old.applied.physical_id);
    assert!(!old.applied.attributes.contains_key("TopicArn"));
    let new = create(&p, "Topic", "AWS::SNS::Topic", json!({"TopicName": "alerts-v2"}), "tok-topic-2").await;
    assert_ne!(old.stack_id(), new.stack_id());
    old.delete(&p).await.expect("delete the replaced topic's stack");
    assert!(old.read(&p).await.expect("read").is_none());
    assert!(new.read(&p).await.expect("read").is_some());

    // After a crash, the create is found by its token; another token finds nothing.
    let find = |token: &str| FindRequest {
        context: new.context.clone(),
        token: token.into(),
        properties: new.properties.clone(),
    };
    let found = p.find(&find("tok-topic-2")).await.expect("find").expect("found by its token");
    assert_eq!(found.physical_id, new.applied.physical_id);
    assert!(p.find(&find("tok-never")).await.expect("find").is_none());

    for made in [&dashboard, &queue, &new] {
        made.delete(&p).await.expect("delete");
    }
    assert!(live_stacks(&cfg).await.is_empty());
}

/// A template whose queue moto refuses (its name has a space).
const BAD_QUEUE: &str = "Resources:\n  Fine:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: fine-param\n      Type: String\n      Value: v\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: not a valid name\n";

#[tokio::test]
async fn a_failed_create_names_the_first_failing_resource_inside_nested_stacks() {
    let account = account().await;
    let cfg = config(&account, None).await;
    let p = nested(&cfg);
    // Directly in the stack.
    let err =
        try_create(&p, "Direct", NESTED, json!({"TemplateURL": "x.yaml", "TemplateBody": BAD_QUEUE}), "tok-direct")
            .await
            .err()
            .expect("the create fails");
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(err.message.contains("failed to create (ROLLBACK_COMPLETE)"), "{}", err.message);
    assert!(
        err.message.contains("Queue (AWS::SQS::Queue) CREATE_FAILED: Can only include alphanumeric"),
        "{}",
        err.message
    );

    // Inside a nested stack of the child template (its template in S3, as CloudFormation needs).
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&cfg).force_path_style(true).build());
    s3.create_bucket().bucket("templates").send().await.expect("CreateBucket");
    s3.put_object()
        .bucket("templates")
        .key("inner.yaml")
        .body(BAD_QUEUE.as_bytes().to_vec().into())
        .send()
        .await
        .expect("PutObject");
    let parent = "Resources:\n  Inner:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://s3.amazonaws.com/templates/inner.yaml\n";
    let err =
        try_create(&p, "Outer", NESTED, json!({"TemplateURL": "outer.yaml", "TemplateBody": parent}), "tok-outer")
            .await
            .err()
            .expect("the create fails");
    assert!(
        err.message
            .contains("Queue (AWS::SQS::Queue, in nested stack Inner) CREATE_FAILED: Can only include alphanumeric"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("Embedded stack"), "{}", err.message);
    let live = live_stacks(&cfg).await;
    assert!(!live.iter().any(|s| s.starts_with("cfn-test-app-")), "the failed stacks were deleted: {live:?}");
}

#[tokio::test]
async fn update_rollback_failed_is_explained_before_any_change() {
    let account = account().await;
    let direct = config(&account, None).await;
    let props = json!({"TemplateURL": "c.yaml", "TemplateBody": child("one", false), "Parameters": {"Prefix": "urf"}});
    let mut made = create(&nested(&direct), "Child", NESTED, props, "tok-urf").await;
    let proxy = rewriting(vec![
        ("DescribeStacks", "CREATE_COMPLETE", "UPDATE_ROLLBACK_FAILED"),
        ("ListStackResources", "CREATE_COMPLETE", "UPDATE_FAILED"),
    ])
    .await;
    let p = nested(&config(&account, Some(&proxy)).await);
    let name = made.applied.physical_id.split('/').nth(1).expect("stack name in the ID").to_string();
    let err = made
        .update(
            &p,
            json!({"TemplateURL": "c.yaml", "TemplateBody": child("two", false), "Parameters": {"Prefix": "urf"}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.message.contains(&format!("stack {name} is UPDATE_ROLLBACK_FAILED")), "{}", err.message);
    assert!(err.message.contains("Param (AWS::SSM::Parameter)"), "{}", err.message);
    assert!(
        err.message.contains(&format!(
            "aws cloudformation continue-update-rollback --stack-name {name} [--resources-to-skip Param]"
        )),
        "{}",
        err.message
    );
    assert_eq!(proxy.seen("CreateChangeSet"), 0, "nothing was attempted");
    let err = made.read(&p).await.unwrap_err();
    assert!(err.message.contains("continue-update-rollback"), "a read explains it too: {}", err.message);
    made.delete(&nested(&direct)).await.expect("delete");
}

#[tokio::test]
async fn delete_failed_is_explained_before_an_update_and_after_a_failed_delete() {
    let account = account().await;
    let direct = config(&account, None).await;
    let p = fallback(&direct);
    let mut made = create(&p, "Queue", "AWS::SQS::Queue", json!({"QueueName": "held"}), "tok-df").await;
    let stuck = rewriting(vec![
        ("DescribeStacks", "CREATE_COMPLETE", "DELETE_FAILED"),
        ("ListStackResources", "CREATE_COMPLETE", "DELETE_FAILED"),
    ])
    .await;
    let via = fallback(&config(&account, Some(&stuck)).await);
    let err = made.update(&via, json!({"QueueName": "held", "DelaySeconds": 5})).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(
        err.message.contains("is DELETE_FAILED: resources that could not be deleted: Queue (AWS::SQS::Queue)"),
        "{}",
        err.message
    );
    assert!(err.message.contains("--retain-resources Queue"), "{}", err.message);
    assert_eq!(stuck.seen("CreateChangeSet"), 0);

    // The delete is sent, and the stack ends DELETE_FAILED (as moto reports it here).
    let failing = rewriting(vec![("DescribeStacks", "DELETE_COMPLETE", "DELETE_FAILED")]).await;
    let via = fallback(&config(&account, Some(&failing)).await);
    let err = made.delete(&via).await.unwrap_err();
    assert_eq!(failing.seen("DeleteStack"), 1);
    assert!(err.message.contains("is DELETE_FAILED"), "{}", err.message);
    assert!(err.message.contains("aws cloudformation delete-stack --stack-name"), "{}", err.message);
}

/// A stack left by a change set nobody executed, carrying `token` as its intent.
async fn review_stack(cfg: &aws_config::SdkConfig, name: &str, token: &str) {
    let client = aws_sdk_cloudformation::Client::new(cfg);
    client
        .create_change_set()
        .stack_name(name)
        .change_set_name("never-executed")
        .change_set_type(ChangeSetType::Create)
        .template_body(child("one", false))
        .tags(Tag::builder().key(INTENT_TAG).value(token).build())
        .send()
        .await
        .expect("CreateChangeSet");
}

#[tokio::test]
async fn review_in_progress_is_recreated_when_ours_and_explained_otherwise() {
    let account = account().await;
    let cfg = config(&account, None).await;
    let p = nested(&cfg);
    let props = json!({"TemplateURL": "c.yaml", "TemplateBody": child("one", false), "Parameters": {"Prefix": "rev"}});
    let ctx = context("Child", NESTED);

    // Ours: a create that met its own stack in REVIEW_IN_PROGRESS deletes it and creates it.
    review_stack(&cfg, "cfn-test-app-Child-OURS", "tok-review").await;
    let req = CreateRequest {
        context: ctx.clone(),
        physical_name: Some("cfn-test-app-Child-OURS".into()),
        token: "tok-review".into(),
        properties: props.clone(),
    };
    let applied = p.create(&req).await.expect("created over its own unexecuted change set");
    assert_eq!(applied.attributes["Outputs.ParamName"], json!("rev-setting"));

    // Someone else's: explained, and left alone.
    review_stack(&cfg, "cfn-test-app-Child-THEIRS", "tok-other").await;
    let req =
        CreateRequest { physical_name: Some("cfn-test-app-Child-THEIRS".into()), token: "tok-mine".into(), ..req };
    let err = p.create(&req).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(
        err.message.contains("is REVIEW_IN_PROGRESS: it was created by a change set that was never executed"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("aws cloudformation delete-stack --stack-name cfn-test-app-Child-THEIRS"),
        "{}",
        err.message
    );

    // The fallback's crash recovery: a stack in review made nothing, so find says so.
    let f = fallback(&cfg);
    let topic = context("Topic", "AWS::SNS::Topic");
    review_stack(&cfg, &managed_stack_name(&topic, "tok-topic"), "tok-topic").await;
    let find = FindRequest { context: topic.clone(), token: "tok-topic".into(), properties: json!({}) };
    assert!(f.find(&find).await.expect("find").is_none());
    let made = create(&f, "Topic", "AWS::SNS::Topic", json!({}), "tok-topic").await;
    assert!(made.applied.physical_id.starts_with("arn:aws:sns:"), "{}", made.applied.physical_id);
}
