//! SageMaker providers against a local AWS (moto) through the real SDK: every type is created,
//! read back equal to its template, updated in place where SageMaker allows it, and deleted.

mod sagemaker_support;

use infra_core::provider::{ErrorKind, Provider};
use sagemaker_support::{create, local_aws, sagemaker, Created};
use serde_json::{json, Value};

const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker-execution";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/inference:1";

/// Creates `properties` as `resource_type` (next to a model named `churn-model` for it to
/// use), checks the read matches, applies each update in turn (checking the read again), and
/// deletes.
async fn check_lifecycle(resource_type: &str, properties: Value, updates: Vec<Value>) -> Created {
    let aws = local_aws().await;
    let p = sagemaker(&aws);
    let created = create_and_update(&p, resource_type, properties, updates).await;
    created.delete(&p).await;
    created
}

async fn create_and_update(p: &dyn Provider, resource_type: &str, properties: Value, updates: Vec<Value>) -> Created {
    let model = json!({"ModelName": "churn-model", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": IMAGE}});
    create(p, "AWS::SageMaker::Model", "ChurnModel", model).await;
    let mut created = create(p, resource_type, "Thing", properties).await;
    created.assert_matches_template(p).await;
    for update in updates {
        created.update(p, update).await.unwrap_or_else(|e| panic!("update {resource_type}: {e}"));
        created.assert_matches_template(p).await;
    }
    created
}

fn with(base: &Value, key: &str, value: Value) -> Value {
    let mut v = base.clone();
    v[key] = value;
    v
}

fn without(base: &Value, key: &str) -> Value {
    let mut v = base.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove(key);
    }
    v
}

#[tokio::test]
async fn model_minimal() {
    let created = check_lifecycle(
        "AWS::SageMaker::Model",
        json!({"ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": IMAGE}}),
        vec![],
    )
    .await;
    let name = created.applied.attributes["ModelName"].as_str().unwrap();
    assert!(name.starts_with("mlplatform-dev-backend-Thing-") && name.len() <= 63, "{name}");
    let arn = &created.applied.physical_id;
    assert!(
        arn.starts_with("arn:aws:sagemaker:us-east-1:") && arn.ends_with(&format!(":model/{name}")),
        "Ref is the ARN: {arn}"
    );
}

#[tokio::test]
async fn model_full_with_tag_updates() {
    let base = json!({
        "ModelName": "churn-model",
        "ExecutionRoleArn": ROLE,
        "PrimaryContainer": {
            "Image": IMAGE,
            "ModelDataUrl": "s3://models/churn/model.tar.gz",
            "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "THREADS": "4"},
            "Mode": "SingleModel",
            "ImageConfig": {"RepositoryAccessMode": "Platform"}
        },
        "VpcConfig": {"SecurityGroupIds": ["sg-12345678"], "Subnets": ["subnet-1", "subnet-2"]},
        "Tags": [{"Key": "team", "Value": "ml"}, {"Key": "cost", "Value": "42"}]
    });
    let created = check_lifecycle(
        "AWS::SageMaker::Model",
        base.clone(),
        vec![
            with(&base, "Tags", json!([{"Key": "team", "Value": "ml-platform"}, {"Key": "tier", "Value": "gold"}])),
            without(&base, "Tags"),
        ],
    )
    .await;
    assert_eq!(created.applied.attributes["ModelName"], json!("churn-model"));
}

#[tokio::test]
async fn model_with_containers() {
    check_lifecycle(
        "AWS::SageMaker::Model",
        json!({
            "ExecutionRoleArn": ROLE,
            "Containers": [
                {"ContainerHostname": "pre", "Image": IMAGE, "Environment": {"STAGE": "pre"}},
                {"ContainerHostname": "main", "Image": IMAGE, "ModelDataUrl": "s3://models/m.tar.gz"}
            ]
        }),
        vec![],
    )
    .await;
}

#[tokio::test]
async fn model_refuses_in_place_changes_beyond_tags() {
    let aws = local_aws().await;
    let p = sagemaker(&aws);
    let props = json!({"ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": IMAGE}});
    let mut created = create(&p, "AWS::SageMaker::Model", "Model", props.clone()).await;
    let err = created.update(&p, with(&props, "PrimaryContainer", json!({"Image": "other:2"}))).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported);
    assert!(err.message.contains("PrimaryContainer"), "{}", err.message);
    created.delete(&p).await;
}

#[tokio::test]
async fn errors_carry_aws_code_and_message() {
    let aws = local_aws().await;
    let p = sagemaker(&aws);
    let req = infra_core::provider::CreateRequest {
        context: sagemaker_support::context("AWS::SageMaker::EndpointConfig", "Config"),
        physical_name: Some("config".into()),
        token: "t".into(),
        properties: json!({"ProductionVariants": [{"VariantName": VARIANT, "ModelName": "no-such-model", "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}]}),
    };
    let err = p.create(&req).await.unwrap_err();
    assert_eq!(err.operation, "CreateEndpointConfig");
    assert_eq!(err.code.as_deref(), Some("ValidationException"));
    assert_eq!(err.kind, ErrorKind::Invalid, "a create naming a missing model is a bad request");
    assert!(err.message.contains("Could not find model") && err.message.contains("no-such-model"), "{err}");
}

#[tokio::test]
async fn model_input_errors_name_the_property() {
    let aws = local_aws().await;
    let p = sagemaker(&aws);
    let context = sagemaker_support::context("AWS::SageMaker::Model", "Model");
    let req = infra_core::provider::CreateRequest {
        context,
        physical_name: Some("bad".into()),
        token: "t".into(),
        properties: json!({"PrimaryContainer": {"Image": IMAGE, "Environment": {"A": [1]}}}),
    };
    let err = p.create(&req).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.message, "property PrimaryContainer.Environment must be a map of strings");
}

const VARIANT: &str = "AllTraffic";

#[tokio::test]
async fn endpoint_config_instance_variant() {
    let base = json!({
        "ProductionVariants": [{
            "VariantName": VARIANT,
            "ModelName": "churn-model",
            // Parameters arrive as strings; the read keeps their spelling.
            "InitialInstanceCount": "1",
            "InstanceType": "ml.t2.medium",
            "InitialVariantWeight": 1
        }],
        "Tags": [{"Key": "team", "Value": "ml"}]
    });
    let created = check_lifecycle(
        "AWS::SageMaker::EndpointConfig",
        base.clone(),
        vec![with(&base, "Tags", json!([{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "dev"}]))],
    )
    .await;
    assert!(created.applied.physical_id.starts_with("arn:aws:sagemaker:us-east-1:"), "Ref is the ARN");
    let name = created.applied.attributes["EndpointConfigName"].as_str().unwrap();
    assert!(name.starts_with("mlplatform-dev-backend-Thing-"), "{name}");
}

#[tokio::test]
async fn endpoint_config_serverless_with_capture_and_async() {
    check_lifecycle(
        "AWS::SageMaker::EndpointConfig",
        json!({
            "EndpointConfigName": "churn-serverless",
            "ProductionVariants": [{
                "VariantName": VARIANT,
                "ModelName": "churn-model",
                "ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
            }],
            "DataCaptureConfig": {
                "EnableCapture": true,
                "InitialSamplingPercentage": 50,
                "DestinationS3Uri": "s3://capture/churn",
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
                "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"]}
            },
            "AsyncInferenceConfig": {
                "ClientConfig": {"MaxConcurrentInvocationsPerInstance": 4},
                "OutputConfig": {"S3OutputPath": "s3://async/out", "S3FailurePath": "s3://async/failed"}
            },
            "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/abcd"
        }),
        vec![],
    )
    .await;
}

#[tokio::test]
async fn endpoint_lifecycle() {
    let aws = local_aws().await;
    let p = sagemaker(&aws);
    create(
        &p,
        "AWS::SageMaker::Model",
        "Model",
        json!({"ModelName": "m", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": IMAGE}}),
    )
    .await;
    let config = create(
        &p,
        "AWS::SageMaker::EndpointConfig",
        "Config",
        json!({"ProductionVariants": [{"VariantName": VARIANT, "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}]}),
    )
    .await;
    let config_name = config.applied.attributes["EndpointConfigName"].clone();
    let base = json!({"EndpointConfigName": config_name, "Tags": [{"Key": "team", "Value": "ml"}]});
    let mut endpoint = create(&p, "AWS::SageMaker::Endpoint", "Endpoint", base.clone()).await;
    assert!(endpoint.applied.physical_id.contains(":endpoint/"), "Ref is the ARN: {}", endpoint.applied.physical_id);
    endpoint.assert_matches_template(&p).await;
    endpoint.update(&p, with(&base, "Tags", json!([{"Key": "team", "Value": "platform"}]))).await.unwrap();
    endpoint.assert_matches_template(&p).await;
    endpoint.delete(&p).await;
    config.delete(&p).await;
}

#[tokio::test]
async fn model_package_group_lifecycle() {
    let base = json!({
        "ModelPackageGroupName": "churn-models",
        "ModelPackageGroupDescription": "Churn model versions",
        "Tags": [{"Key": "team", "Value": "ml"}]
    });
    // The local AWS has no DeleteModelPackageGroup; deletion is covered against the fake
    // SageMaker in sagemaker_fake_api.rs.
    let aws = local_aws().await;
    let p = sagemaker(&aws);
    let created = create_and_update(
        &p,
        "AWS::SageMaker::ModelPackageGroup",
        base.clone(),
        vec![with(&base, "Tags", json!([{"Key": "team", "Value": "ml"}, {"Key": "stage", "Value": "prod"}]))],
    )
    .await;
    let arn = &created.applied.physical_id;
    assert!(arn.ends_with(":model-package-group/churn-models"), "{arn}");
    assert_eq!(created.applied.attributes["ModelPackageGroupArn"], json!(arn));
    assert_eq!(created.applied.attributes["ModelPackageGroupStatus"], json!("Completed"));
    assert!(created.applied.attributes["CreationTime"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[tokio::test]
async fn reading_what_is_gone_is_none() {
    let aws = local_aws().await;
    let p = sagemaker(&aws);
    for (resource_type, id) in [
        ("AWS::SageMaker::Model", "missing"),
        ("AWS::SageMaker::EndpointConfig", "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/missing"),
        ("AWS::SageMaker::Endpoint", "arn:aws:sagemaker:us-east-1:123456789012:endpoint/missing"),
        ("AWS::SageMaker::ModelPackageGroup", "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/missing"),
    ] {
        let req = infra_core::provider::ReadRequest {
            context: sagemaker_support::context(resource_type, "Gone"),
            physical_id: id.into(),
            properties: json!({}),
            attributes: Default::default(),
        };
        assert_eq!(p.read(&req).await.unwrap_or_else(|e| panic!("{resource_type}: {e}")), None, "{resource_type}");
    }
}

#[tokio::test]
async fn every_type_is_registered() {
    let aws = local_aws().await;
    let mut registry = infra_core::provider::Registry::new();
    for provider in infra_aws::providers_for(&aws, &infra_aws::RetryPolicy::default()) {
        registry.register(provider).expect("one provider per type");
    }
    for resource_type in [
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::ApplicationAutoScaling::ScalingPolicy",
    ] {
        assert!(registry.supports(resource_type), "{resource_type}");
    }
}

/// After a crash between create and state write, the engine knows only the name chosen
/// before the create; a read by that name finds the resource and reports its real ID.
#[tokio::test]
async fn resources_can_be_adopted_by_their_chosen_name() {
    let aws = local_aws().await;
    let p = sagemaker(&aws);
    let model = json!({"ModelName": "churn-model", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": IMAGE}});
    create(&p, "AWS::SageMaker::Model", "Model", model).await;
    let config = json!({"ProductionVariants": [{"VariantName": VARIANT, "ModelName": "churn-model", "InitialInstanceCount": 1, "InstanceType": "ml.t2.medium"}]});
    let created = create(&p, "AWS::SageMaker::EndpointConfig", "Config", config.clone()).await;
    let name = created.applied.attributes["EndpointConfigName"].as_str().unwrap().to_string();
    let observed = p
        .read(&infra_core::provider::ReadRequest {
            context: created.context.clone(),
            physical_id: name.clone(),
            properties: config.clone(),
            attributes: Default::default(),
        })
        .await
        .expect("read")
        .expect("found by name");
    assert_eq!(observed.physical_id, created.applied.physical_id);
    assert_eq!(observed.attributes["EndpointConfigName"], json!(name));
    assert_eq!(observed.properties, config);
}

/// IAM propagation against the local AWS: a fault proxy answers the first CreateModel calls
/// with SageMaker's "could not assume role" ValidationException, then lets them through.
#[tokio::test]
async fn create_model_rides_out_iam_propagation_against_the_local_aws() {
    use infra_aws::testing::{Fault, FaultProxy, LocalAws};
    let aws = LocalAws::shared().expect("local AWS");
    let account = aws.account().await.expect("account");
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, nth| match action {
        "CreateModel" if nth <= 2 => Some(Fault::Error {
            status: 400,
            code: "ValidationException",
            message: "Could not assume role arn:aws:iam::123456789012:role/sagemaker-execution.",
        }),
        _ => None,
    })
    .await
    .expect("proxy");
    let config = account.sdk_config_via(&proxy.url).await.expect("config");
    let p = sagemaker(&config);
    let properties =
        json!({"ModelName": "after-propagation", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": IMAGE}});
    let created = create(&p, "AWS::SageMaker::Model", "Model", properties).await;
    assert_eq!((proxy.seen("CreateModel"), proxy.forwarded("CreateModel")), (3, 1));
    created.assert_matches_template(&p).await;
}

#[tokio::test]
async fn endpoint_config_with_fractional_weights() {
    check_lifecycle(
        "AWS::SageMaker::EndpointConfig",
        json!({
            "ProductionVariants": [
                {"VariantName": "A", "ModelName": "churn-model", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large", "InitialVariantWeight": 0.7},
                {"VariantName": "B", "ModelName": "churn-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large", "InitialVariantWeight": "0.3"}
            ]
        }),
        vec![],
    )
    .await;
}
