//! What the local AWS cannot show, against a strict fake SageMaker at the SDK boundary:
//! switching an endpoint to a new configuration (UpdateEndpoint, with variant properties
//! retained under an autoscaler), waiting for it, catching silent rollbacks and failures,
//! per-resource timeouts, IAM propagation delays, and the model package group calls.

mod sagemaker_fake;
mod sagemaker_support;

use infra_aws::waiter::{Heartbeat, HeartbeatSink};
use infra_core::provider::{
    CreateRequest, DeleteRequest, ErrorKind, Provider, ProviderError, ReadRequest, UpdateRequest,
};
use sagemaker_fake::{endpoint, endpoint_arn, FakeAws, Reply};
use sagemaker_support::{context, sagemaker, sdk_config, test_settings};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NAME: &str = "churn";
const OLD: &str = "churn-config-old";
const NEW: &str = "churn-config-new";

fn scalable_targets(registered: bool) -> Reply {
    let targets = if registered {
        json!([{
            "ServiceNamespace": "sagemaker",
            "ResourceId": format!("endpoint/{NAME}/variant/AllTraffic"),
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 1,
            "MaxCapacity": 4,
            "RoleARN": "arn:aws:iam::123456789012:role/aws-service-role/autoscaling",
            "CreationTime": 1.7e9
        }])
    } else {
        json!([])
    };
    Reply::Ok(json!({"ScalableTargets": targets}))
}

fn update_request(old: Value, new: Value) -> UpdateRequest {
    let mut attributes = infra_core::provider::Attributes::new();
    attributes.insert("EndpointName".into(), json!(NAME));
    UpdateRequest {
        context: context("AWS::SageMaker::Endpoint", "Endpoint"),
        physical_id: endpoint_arn(NAME),
        old_properties: old,
        new_properties: new,
        old_attributes: attributes,
    }
}

type Status = (&'static str, &'static str, Option<&'static str>);

/// Runs an endpoint update from OLD to NEW against a fake whose DescribeEndpoint answers
/// follow `before` until UpdateEndpoint arrives and `after` from then on (status, current
/// config, failure reason), the last of each repeating.
async fn update_endpoint_from(
    autoscaled: bool,
    before: Vec<Status>,
    after: Vec<Status>,
) -> (FakeAws, Result<(), ProviderError>) {
    let seen_before = AtomicUsize::new(0);
    let seen_after = AtomicUsize::new(0);
    let updated = AtomicBool::new(false);
    let fake = FakeAws::start(move |operation, _body, nth| match operation {
        "DescribeScalableTargets" => Some(scalable_targets(autoscaled)),
        "UpdateEndpoint" if nth == 1 => {
            updated.store(true, Ordering::SeqCst);
            Some(Reply::Ok(json!({"EndpointArn": endpoint_arn(NAME)})))
        }
        "DescribeEndpoint" => {
            let (script, seen) =
                if updated.load(Ordering::SeqCst) { (&after, &seen_after) } else { (&before, &seen_before) };
            let k = seen.fetch_add(1, Ordering::SeqCst);
            let (status, config, reason) = script[k.min(script.len() - 1)];
            Some(Reply::Ok(endpoint(NAME, config, status, reason)))
        }
        _ => None,
    })
    .await;
    let p = sagemaker(&sdk_config(&fake.url));
    let result = p
        .update(&update_request(json!({"EndpointConfigName": OLD}), json!({"EndpointConfigName": NEW})))
        .await
        .map(|applied| {
            assert_eq!(applied.physical_id, endpoint_arn(NAME));
            assert_eq!(applied.attributes["EndpointName"], json!(NAME));
        });
    fake.assert_nothing_unexpected();
    (fake, result)
}

/// [`update_endpoint_from`] an endpoint that is in service.
async fn update_endpoint(autoscaled: bool, after: Vec<Status>) -> (FakeAws, Result<(), ProviderError>) {
    update_endpoint_from(autoscaled, vec![("InService", OLD, None)], after).await
}

#[tokio::test]
async fn update_retains_variant_properties_under_an_autoscaler() {
    let (fake, result) =
        update_endpoint(true, vec![("Updating", OLD, None), ("Updating", OLD, None), ("InService", NEW, None)]).await;
    result.expect("update succeeds");
    assert_eq!(
        fake.operations(),
        [
            "DescribeScalableTargets",
            "DescribeEndpoint",
            "UpdateEndpoint",
            "DescribeEndpoint",
            "DescribeEndpoint",
            "DescribeEndpoint"
        ]
    );
    assert_eq!(
        fake.bodies("UpdateEndpoint"),
        [json!({"EndpointName": NAME, "EndpointConfigName": NEW, "RetainAllVariantProperties": true})]
    );
    assert_eq!(fake.bodies("DescribeScalableTargets")[0]["ServiceNamespace"], json!("sagemaker"));
}

#[tokio::test]
async fn update_without_an_autoscaler_takes_the_new_variant_properties() {
    let (fake, result) = update_endpoint(false, vec![("Updating", OLD, None), ("InService", NEW, None)]).await;
    result.expect("update succeeds");
    assert_eq!(fake.bodies("UpdateEndpoint")[0]["RetainAllVariantProperties"], json!(false));
}

#[tokio::test]
async fn a_silent_rollback_is_an_error_with_the_reason() {
    let reason = "Variant AllTraffic failed its health check";
    let (_, result) = update_endpoint(
        true,
        vec![("Updating", OLD, None), ("RollingBack", OLD, Some(reason)), ("InService", OLD, Some(reason))],
    )
    .await;
    let err = result.expect_err("a rollback is not success");
    assert_eq!(err.operation, "UpdateEndpoint");
    assert_eq!(
        err.message,
        format!("endpoint {NAME} rolled back to endpoint configuration {OLD} instead of {NEW}: {reason}")
    );
}

#[tokio::test]
async fn a_rollback_without_a_reason_is_still_an_error() {
    let (_, result) = update_endpoint(false, vec![("Updating", OLD, None), ("InService", OLD, None)]).await;
    let err = result.expect_err("a rollback is not success");
    assert_eq!(err.message, format!("endpoint {NAME} rolled back to endpoint configuration {OLD} instead of {NEW}"));
}

#[tokio::test]
async fn a_failed_update_surfaces_the_failure_reason() {
    let (_, result) =
        update_endpoint(false, vec![("Updating", OLD, None), ("Failed", OLD, Some("Image pull failed"))]).await;
    let err = result.expect_err("failed");
    assert_eq!(err.message, format!("endpoint {NAME} failed: Image pull failed"));
}

#[tokio::test]
async fn tag_only_updates_do_not_redeploy() {
    let fake = FakeAws::start(|operation, _, _| match operation {
        "AddTags" => Some(Reply::Ok(json!({"Tags": []}))),
        _ => None,
    })
    .await;
    let p = sagemaker(&sdk_config(&fake.url));
    p.update(&update_request(
        json!({"EndpointConfigName": OLD}),
        json!({"EndpointConfigName": OLD, "Tags": [{"Key": "team", "Value": "ml"}]}),
    ))
    .await
    .expect("tags update");
    assert_eq!(fake.operations(), ["AddTags"]);
    assert_eq!(
        fake.bodies("AddTags")[0],
        json!({"ResourceArn": endpoint_arn(NAME), "Tags": [{"Key": "team", "Value": "ml"}]})
    );
    fake.assert_nothing_unexpected();
}

fn create_endpoint_request(metadata: Value) -> CreateRequest {
    let mut context = context("AWS::SageMaker::Endpoint", "Endpoint");
    context.metadata = metadata;
    CreateRequest {
        context,
        physical_name: Some(NAME.into()),
        token: "t".into(),
        properties: json!({"EndpointConfigName": NEW}),
    }
}

#[tokio::test]
async fn a_failed_create_surfaces_the_failure_reason() {
    let fake = FakeAws::start(|operation, _, nth| match operation {
        "CreateEndpoint" => Some(Reply::Ok(json!({"EndpointArn": endpoint_arn(NAME)}))),
        "DescribeEndpoint" if nth < 3 => Some(Reply::Ok(endpoint(NAME, NEW, "Creating", None))),
        "DescribeEndpoint" => Some(Reply::Ok(endpoint(
            NAME,
            NEW,
            "Failed",
            Some("The primary container for production variant AllTraffic did not pass the ping health check"),
        ))),
        _ => None,
    })
    .await;
    let p = sagemaker(&sdk_config(&fake.url));
    let err = p.create(&create_endpoint_request(Value::Null)).await.expect_err("failed");
    assert_eq!(err.operation, "CreateEndpoint");
    assert_eq!(
        err.message,
        format!("endpoint {NAME} failed: The primary container for production variant AllTraffic did not pass the ping health check")
    );
    assert_eq!(fake.bodies("CreateEndpoint"), [json!({"EndpointName": NAME, "EndpointConfigName": NEW})]);
    fake.assert_nothing_unexpected();
}

#[tokio::test]
async fn waits_time_out_per_resource_metadata_with_heartbeats() {
    let fake = FakeAws::start(|operation, _, _| match operation {
        "CreateEndpoint" => Some(Reply::Ok(json!({"EndpointArn": endpoint_arn(NAME)}))),
        "DescribeEndpoint" => Some(Reply::Ok(endpoint(NAME, NEW, "Creating", None))),
        _ => None,
    })
    .await;
    let beats: Arc<Mutex<Vec<Heartbeat>>> = Arc::default();
    let sink: HeartbeatSink = {
        let beats = beats.clone();
        Arc::new(move |h: &Heartbeat| beats.lock().expect("beats").push(h.clone()))
    };
    let mut settings = test_settings();
    settings.heartbeats = Some(sink);
    settings.polling.heartbeat_every = Duration::from_millis(200);
    let config = sdk_config(&fake.url);
    let p = infra_aws::SageMakerProvider::from_clients(
        aws_sdk_sagemaker::Client::new(&config),
        aws_sdk_applicationautoscaling::Client::new(&config),
        settings,
    );
    let err = p.create(&create_endpoint_request(json!({"infra": {"timeout": "1s"}}))).await.expect_err("times out");
    // The message names the timeout that ended the wait: the metadata's 1s, not the provider's 10s.
    assert_eq!(
        err.message,
        format!("timed out after 1s waiting for endpoint {NAME} to be InService (last status Creating)")
    );
    let beats = beats.lock().expect("beats").clone();
    assert!(!beats.is_empty(), "heartbeats while waiting");
    assert!(beats.iter().all(|b| b.subject == format!("endpoint {NAME}") && b.status == "Creating"), "{beats:?}");

    let bad =
        p.create(&create_endpoint_request(json!({"infra": {"timeout": "soon"}}))).await.expect_err("bad metadata");
    assert_eq!(bad.kind, ErrorKind::Invalid);
    fake.assert_nothing_unexpected();
}

fn model_request() -> CreateRequest {
    CreateRequest {
        context: context("AWS::SageMaker::Model", "Model"),
        physical_name: Some("churn-model".into()),
        token: "t".into(),
        properties: json!({
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/just-created",
            "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/inference:1"},
            "EnableNetworkIsolation": true,
            "InferenceExecutionConfig": {"Mode": "Serial"}
        }),
    }
}

const NOT_YET: &str = "Could not assume role arn:aws:iam::123456789012:role/just-created. Please ensure that the role exists and allows principal 'sagemaker.amazonaws.com' to assume the role.";

#[tokio::test]
async fn create_model_waits_out_iam_propagation() {
    let fake = FakeAws::start(|operation, body, nth| match operation {
        "CreateModel" if nth <= 3 => Some(Reply::validation(NOT_YET)),
        "CreateModel" => Some(Reply::Ok(json!({"ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/churn-model"}))),
        // Read back what was created: the fields the local AWS drops come back here.
        "DescribeModel" => Some(Reply::Ok(json!({
            "ModelName": "churn-model",
            "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/churn-model",
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/just-created",
            "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/inference:1", "Mode": "SingleModel"},
            "EnableNetworkIsolation": true,
            "InferenceExecutionConfig": {"Mode": "Serial"},
            "CreationTime": 1.7e9
        }))),
        "ListTags" => Some(Reply::Ok(json!({"Tags": [{"Key": "aws:cloudformation:stack-name", "Value": "x"}]}))),
        _ => {
            let _ = body;
            None
        }
    })
    .await;
    let p = sagemaker(&sdk_config(&fake.url));
    let req = model_request();
    let applied = p.create(&req).await.expect("created once the role propagates");
    assert_eq!(applied.physical_id, "arn:aws:sagemaker:us-east-1:123456789012:model/churn-model");
    assert_eq!(applied.attributes["ModelName"], json!("churn-model"));
    assert_eq!(fake.bodies("CreateModel").len(), 4);
    assert_eq!(fake.bodies("CreateModel")[3]["EnableNetworkIsolation"], json!(true));
    let read = p
        .read(&ReadRequest {
            context: req.context.clone(),
            physical_id: applied.physical_id,
            properties: req.properties.clone(),
            attributes: applied.attributes,
        })
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(read.properties, req.properties, "defaults and AWS-owned tags are no difference");
    fake.assert_nothing_unexpected();
}

#[tokio::test]
async fn iam_propagation_has_a_limit() {
    let fake = FakeAws::start(|operation, _, _| match operation {
        "CreateModel" => Some(Reply::validation(NOT_YET)),
        _ => None,
    })
    .await;
    let mut settings = test_settings();
    settings.role_propagation = Duration::from_millis(300);
    let config = sdk_config(&fake.url);
    let p = infra_aws::SageMakerProvider::from_clients(
        aws_sdk_sagemaker::Client::new(&config),
        aws_sdk_applicationautoscaling::Client::new(&config),
        settings,
    );
    let err = p.create(&model_request()).await.expect_err("the role never becomes assumable");
    assert_eq!((err.operation.as_str(), err.code.as_deref()), ("CreateModel", Some("ValidationException")));
    assert_eq!(err.message, NOT_YET);
    assert!(fake.bodies("CreateModel").len() > 1, "retried within the window");
    fake.assert_nothing_unexpected();
}

const GROUP: &str = "churn-models";

fn group(status: &str) -> Reply {
    Reply::Ok(json!({
        "ModelPackageGroupName": GROUP,
        "ModelPackageGroupArn": format!("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/{GROUP}"),
        "ModelPackageGroupDescription": "Churn models",
        "CreationTime": 1.7e9,
        "ModelPackageGroupStatus": status,
        "CreatedBy": {}
    }))
}

#[tokio::test]
async fn model_package_group_policy_and_delete() {
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sagemaker:DescribeModelPackageGroup", "Resource": "*"}]});
    let stored = Arc::new(Mutex::new(None::<String>));
    let fake = {
        let stored = stored.clone();
        FakeAws::start(move |operation, body, nth| match operation {
            "CreateModelPackageGroup" => Some(Reply::Ok(json!({"ModelPackageGroupArn": format!("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/{GROUP}")}))),
            "DescribeModelPackageGroup" if *stored.lock().ok()? == Some("deleted".into()) => {
                if nth % 2 == 0 { Some(group("Deleting")) } else { Some(Reply::validation(format!("ModelPackageGroup {GROUP} does not exist."))) }
            }
            "DescribeModelPackageGroup" if nth == 1 => Some(group("Pending")),
            "DescribeModelPackageGroup" => Some(group("Completed")),
            "PutModelPackageGroupPolicy" => {
                *stored.lock().ok()? = body["ResourcePolicy"].as_str().map(str::to_string);
                Some(Reply::Ok(json!({"ModelPackageGroupArn": "x"})))
            }
            "GetModelPackageGroupPolicy" => Some(Reply::Ok(json!({"ResourcePolicy": stored.lock().ok()?.clone()?}))),
            "DeleteModelPackageGroupPolicy" => {
                *stored.lock().ok()? = None;
                Some(Reply::Ok(json!({})))
            }
            "DeleteModelPackageGroup" => {
                *stored.lock().ok()? = Some("deleted".into());
                Some(Reply::Ok(json!({})))
            }
            "ListTags" => Some(Reply::Ok(json!({"Tags": []}))),
            _ => None,
        })
        .await
    };
    let p = sagemaker(&sdk_config(&fake.url));
    let context = context("AWS::SageMaker::ModelPackageGroup", "Group");
    let properties = json!({"ModelPackageGroupName": GROUP, "ModelPackageGroupDescription": "Churn models", "ModelPackageGroupPolicy": policy});
    let applied = p
        .create(&CreateRequest {
            context: context.clone(),
            physical_name: Some(GROUP.into()),
            token: "t".into(),
            properties: properties.clone(),
        })
        .await
        .expect("created");
    assert_eq!(applied.attributes["ModelPackageGroupStatus"], json!("Completed"));
    let sent: Value =
        serde_json::from_str(fake.bodies("PutModelPackageGroupPolicy")[0]["ResourcePolicy"].as_str().unwrap()).unwrap();
    assert_eq!(sent, policy);
    let read = |properties: Value| {
        let req = ReadRequest {
            context: context.clone(),
            physical_id: applied.physical_id.clone(),
            properties,
            attributes: applied.attributes.clone(),
        };
        let p = &p;
        async move { p.read(&req).await.expect("read").map(|o| o.properties) }
    };
    assert_eq!(read(properties.clone()).await, Some(properties.clone()));

    // Removing the policy from the template deletes it in place.
    let without_policy = json!({"ModelPackageGroupName": GROUP, "ModelPackageGroupDescription": "Churn models"});
    p.update(&UpdateRequest {
        context: context.clone(),
        physical_id: applied.physical_id.clone(),
        old_properties: properties.clone(),
        new_properties: without_policy.clone(),
        old_attributes: applied.attributes.clone(),
    })
    .await
    .expect("policy removed");
    assert_eq!(fake.bodies("DeleteModelPackageGroupPolicy"), [json!({"ModelPackageGroupName": GROUP})]);
    assert_eq!(read(without_policy.clone()).await, Some(without_policy.clone()));

    p.delete(&DeleteRequest {
        context: context.clone(),
        physical_id: applied.physical_id.clone(),
        properties: without_policy.clone(),
        attributes: applied.attributes.clone(),
    })
    .await
    .expect("deleted");
    assert_eq!(read(without_policy).await, None);
    fake.assert_nothing_unexpected();
}

#[tokio::test]
async fn the_fake_refuses_and_records_what_it_does_not_expect() {
    let fake = FakeAws::start(|_, _, _| None).await;
    let p = sagemaker(&sdk_config(&fake.url));
    let err = p
        .delete(&DeleteRequest {
            context: context("AWS::SageMaker::Model", "Model"),
            physical_id: "m".into(),
            properties: json!({}),
            attributes: Default::default(),
        })
        .await
        .expect_err("nothing is expected");
    assert_eq!(err.code.as_deref(), Some("UnexpectedRequest"));
    let unexpected = fake.unexpected();
    assert_eq!(unexpected.len(), 1);
    assert_eq!(unexpected[0].operation, "DeleteModel");
    assert_eq!(unexpected[0].body, json!({"ModelName": "m"}));
}

#[tokio::test]
async fn update_sends_the_deployment_settings() {
    let fake = FakeAws::start(|operation, _, _| match operation {
        "DescribeScalableTargets" => Some(scalable_targets(false)),
        "UpdateEndpoint" => Some(Reply::Ok(json!({"EndpointArn": endpoint_arn(NAME)}))),
        "DescribeEndpoint" => Some(Reply::Ok(endpoint(NAME, NEW, "InService", None))),
        _ => None,
    })
    .await;
    let p = sagemaker(&sdk_config(&fake.url));
    let deployment = json!({
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 300, "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10}},
            "TerminationWaitInSeconds": 120,
            "MaximumExecutionTimeoutInSeconds": 1800
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "churn-5xx"}]}
    });
    let new = json!({
        "EndpointConfigName": NEW,
        "RetainAllVariantProperties": "true",
        "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DesiredInstanceCount"}],
        "RetainDeploymentConfig": false,
        "DeploymentConfig": deployment
    });
    p.update(&update_request(json!({"EndpointConfigName": OLD}), new)).await.expect("updated");
    assert_eq!(
        fake.bodies("UpdateEndpoint"),
        [json!({
            "EndpointName": NAME,
            "EndpointConfigName": NEW,
            "RetainAllVariantProperties": true,
            "ExcludeRetainedVariantProperties": [{"VariantPropertyType": "DesiredInstanceCount"}],
            "DeploymentConfig": deployment,
            "RetainDeploymentConfig": false
        })]
    );
    fake.assert_nothing_unexpected();
}

const CONFIG_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/churn-config";

fn create_config_request() -> CreateRequest {
    CreateRequest {
        context: context("AWS::SageMaker::EndpointConfig", "Config"),
        physical_name: Some("churn-config".into()),
        token: "t".into(),
        properties: json!({"ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 2}}]}),
    }
}

const EXISTS: &str = "Cannot create already existing endpoint configuration \"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/churn-config\".";

#[tokio::test]
async fn a_create_whose_response_was_lost_adopts_what_it_created() {
    let fake = FakeAws::start(|operation, _, nth| match operation {
        // The first attempt succeeds on the server but its answer never arrives intact.
        "CreateEndpointConfig" if nth == 1 => {
            Some(Reply::Error { status: 500, code: "InternalFailure", message: "internal error".into() })
        }
        "CreateEndpointConfig" => Some(Reply::validation(EXISTS)),
        "DescribeEndpointConfig" => Some(Reply::Ok(json!({
            "EndpointConfigName": "churn-config",
            "EndpointConfigArn": CONFIG_ARN,
            "ProductionVariants": [],
            "CreationTime": 1.7e9
        }))),
        _ => None,
    })
    .await;
    let p = sagemaker(&sdk_config(&fake.url));
    let applied = p.create(&create_config_request()).await.expect("adopted");
    assert_eq!(applied.physical_id, CONFIG_ARN);
    assert_eq!(applied.attributes["EndpointConfigName"], json!("churn-config"));
    assert_eq!(fake.operations(), ["CreateEndpointConfig", "CreateEndpointConfig", "DescribeEndpointConfig"]);
    fake.assert_nothing_unexpected();
}

#[tokio::test]
async fn a_name_clash_on_the_first_attempt_is_an_error() {
    let fake = FakeAws::start(|operation, _, _| match operation {
        "CreateEndpointConfig" => Some(Reply::validation(EXISTS)),
        _ => None,
    })
    .await;
    let p = sagemaker(&sdk_config(&fake.url));
    let err = p.create(&create_config_request()).await.expect_err("someone else's configuration");
    assert_eq!(err.message, EXISTS);
    fake.assert_nothing_unexpected();
}

#[tokio::test]
async fn an_update_waits_for_a_change_in_flight() {
    let (fake, result) = update_endpoint_from(
        true,
        vec![("Updating", OLD, None), ("Updating", OLD, None), ("InService", OLD, None)],
        vec![("Updating", OLD, None), ("InService", NEW, None)],
    )
    .await;
    result.expect("update succeeds once the autoscaler's change is done");
    let operations = fake.operations();
    let update_at = operations.iter().position(|o| o == "UpdateEndpoint").expect("updated");
    assert_eq!(operations[..update_at].iter().filter(|o| *o == "DescribeEndpoint").count(), 3);
}

#[tokio::test]
async fn delete_deregisters_scalable_targets_then_waits_until_gone() {
    let fake = FakeAws::start(|operation, body, nth| match operation {
        "DescribeScalableTargets" => Some(scalable_targets(true)),
        "DeregisterScalableTarget" => {
            assert_eq!(body["ResourceId"], json!(format!("endpoint/{NAME}/variant/AllTraffic")));
            Some(Reply::Ok(json!({})))
        }
        "DeleteEndpoint" => Some(Reply::Ok(json!({}))),
        "DescribeEndpoint" if nth < 3 => Some(Reply::Ok(endpoint(NAME, OLD, "Deleting", None))),
        "DescribeEndpoint" => Some(Reply::validation(format!("Could not find endpoint \"{}\".", endpoint_arn(NAME)))),
        _ => None,
    })
    .await;
    let p = sagemaker(&sdk_config(&fake.url));
    let mut attributes = infra_core::provider::Attributes::new();
    attributes.insert("EndpointName".into(), json!(NAME));
    p.delete(&DeleteRequest {
        context: context("AWS::SageMaker::Endpoint", "Endpoint"),
        physical_id: endpoint_arn(NAME),
        properties: json!({"EndpointConfigName": OLD}),
        attributes,
    })
    .await
    .expect("deleted");
    assert_eq!(
        fake.operations(),
        [
            "DescribeScalableTargets",
            "DeregisterScalableTarget",
            "DeleteEndpoint",
            "DescribeEndpoint",
            "DescribeEndpoint",
            "DescribeEndpoint"
        ]
    );
    fake.assert_nothing_unexpected();
}

/// The local AWS does not report shadow variants; SageMaker does, with single-precision
/// weights that must still read back as the template's decimals.
#[tokio::test]
async fn endpoint_config_reads_shadow_variants() {
    let fake = FakeAws::start(|operation, _, _| match operation {
        "DescribeEndpointConfig" => Some(Reply::Ok(json!({
            "EndpointConfigName": "churn-config",
            "EndpointConfigArn": CONFIG_ARN,
            "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}],
            "ShadowProductionVariants": [{"VariantName": "Shadow", "ModelName": "m2", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large", "InitialVariantWeight": 0.1}],
            "CreationTime": 1.7e9
        }))),
        "ListTags" => Some(Reply::Ok(json!({"Tags": []}))),
        _ => None,
    })
    .await;
    let p = sagemaker(&sdk_config(&fake.url));
    let properties = json!({
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": "2", "InstanceType": "ml.m5.large"}],
        "ShadowProductionVariants": [{"VariantName": "Shadow", "ModelName": "m2", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large", "InitialVariantWeight": 0.1}]
    });
    let mut attributes = infra_core::provider::Attributes::new();
    attributes.insert("EndpointConfigName".into(), json!("churn-config"));
    let observed = p
        .read(&ReadRequest {
            context: context("AWS::SageMaker::EndpointConfig", "Config"),
            physical_id: CONFIG_ARN.into(),
            properties: properties.clone(),
            attributes,
        })
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(observed.properties, properties);
    fake.assert_nothing_unexpected();
}
