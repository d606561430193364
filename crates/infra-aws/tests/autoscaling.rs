//! Application Auto Scaling providers against a local AWS (moto) through the real SDK:
//! scalable targets (with scheduled actions and suspension) and scaling policies are created,
//! read back equal to their templates, updated in place, and deleted; deleting an endpoint
//! deregisters the scalable targets of its variants first.

mod sagemaker_support;

use infra_core::provider::Provider;
use sagemaker_support::{autoscaling, create, local_aws, sagemaker, Created};
use serde_json::{json, Value};

const RESOURCE: &str = "endpoint/churn/variant/AllTraffic";
const DIMENSION: &str = "sagemaker:variant:DesiredInstanceCount";
const TARGET_ID: &str = "endpoint/churn/variant/AllTraffic|sagemaker:variant:DesiredInstanceCount|sagemaker";

fn target(extra: Value) -> Value {
    let mut v = json!({
        "ServiceNamespace": "sagemaker",
        "ResourceId": RESOURCE,
        "ScalableDimension": DIMENSION,
        "MinCapacity": 1,
        "MaxCapacity": 4
    });
    if let (Some(map), Value::Object(extra)) = (v.as_object_mut(), extra) {
        map.extend(extra);
    }
    v
}

async fn lifecycle(p: &dyn Provider, resource_type: &str, properties: Value, updates: Vec<Value>) -> Created {
    let mut created = create(p, resource_type, "Thing", properties).await;
    created.assert_matches_template(p).await;
    for update in updates {
        created.update(p, update).await.unwrap_or_else(|e| panic!("update {resource_type}: {e}"));
        created.assert_matches_template(p).await;
    }
    created
}

#[tokio::test]
async fn scalable_target_lifecycle() {
    let aws = local_aws().await;
    let p = autoscaling(&aws);
    let created = lifecycle(
        &p,
        "AWS::ApplicationAutoScaling::ScalableTarget",
        // Parameters arrive as strings; the read keeps their spelling.
        target(json!({"MinCapacity": "1", "MaxCapacity": "2"})),
        vec![
            target(json!({"MinCapacity": 2, "MaxCapacity": 6})),
            target(json!({
                "ScheduledActions": [
                    {"ScheduledActionName": "night", "Schedule": "cron(0 22 * * ? *)", "ScalableTargetAction": {"MinCapacity": 1, "MaxCapacity": 2}},
                    {"ScheduledActionName": "morning", "Schedule": "cron(0 6 * * ? *)", "ScalableTargetAction": {"MinCapacity": 2, "MaxCapacity": 4}}
                ]
            })),
            target(json!({
                "ScheduledActions": [
                    {"ScheduledActionName": "morning", "Schedule": "cron(0 7 * * ? *)", "Timezone": "Europe/Berlin",
                     "StartTime": "2030-01-01T00:00:00Z", "EndTime": "2031-06-30T12:30:00Z",
                     "ScalableTargetAction": {"MinCapacity": 3, "MaxCapacity": 4}}
                ]
            })),
            target(json!({"SuspendedState": {"DynamicScalingInSuspended": true}})),
        ],
    )
    .await;
    assert_eq!(created.applied.physical_id, TARGET_ID);
    assert_eq!(
        p.physical_name(&created.context, &created.properties).as_deref(),
        Some(TARGET_ID),
        "known before the create, so a crash in between can be recovered"
    );
    assert_eq!(created.applied.attributes["Id"], json!(TARGET_ID));
    created.delete(&p).await;
}

fn policy(configuration: Value) -> Value {
    let mut v = json!({"PolicyName": "invocations", "ScalingTargetId": TARGET_ID});
    if let (Some(map), Value::Object(extra)) = (v.as_object_mut(), configuration) {
        map.extend(extra);
    }
    v
}

#[tokio::test]
async fn scaling_policy_lifecycle() {
    let aws = local_aws().await;
    let p = autoscaling(&aws);
    let target = create(&p, "AWS::ApplicationAutoScaling::ScalableTarget", "Target", target(json!({}))).await;
    let predefined = policy(json!({
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 70,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": "60"
        }
    }));
    let customized = policy(json!({
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 0.75,
            "DisableScaleIn": true,
            "CustomizedMetricSpecification": {
                "MetricName": "CPUUtilization",
                "Namespace": "/aws/sagemaker/Endpoints",
                "Dimensions": [{"Name": "EndpointName", "Value": "churn"}, {"Name": "VariantName", "Value": "AllTraffic"}],
                "Statistic": "Average",
                "Unit": "Percent"
            }
        }
    }));
    let metric_math = policy(json!({
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 100,
            "CustomizedMetricSpecification": {
                "Metrics": [
                    {"Id": "invocations", "ReturnData": false, "MetricStat": {
                        "Metric": {"MetricName": "Invocations", "Namespace": "AWS/SageMaker",
                                   "Dimensions": [{"Name": "EndpointName", "Value": "churn"}]},
                        "Stat": "Sum"}},
                    {"Id": "per_minute", "Expression": "invocations / 60", "Label": "per minute", "ReturnData": true}
                ]
            }
        }
    }));
    let created =
        lifecycle(&p, "AWS::ApplicationAutoScaling::ScalingPolicy", predefined, vec![customized, metric_math]).await;
    assert!(created.applied.physical_id.contains(":scalingPolicy:"), "{}", created.applied.physical_id);
    assert_eq!(created.applied.attributes["Arn"], json!(created.applied.physical_id));
    created.delete(&p).await;
    target.delete(&p).await;
}

#[tokio::test]
async fn step_scaling_policy_with_explicit_target() {
    let aws = local_aws().await;
    let p = autoscaling(&aws);
    let target = create(&p, "AWS::ApplicationAutoScaling::ScalableTarget", "Target", target(json!({}))).await;
    let step = json!({
        "PolicyName": "steps",
        "PolicyType": "StepScaling",
        "ServiceNamespace": "sagemaker",
        "ResourceId": RESOURCE,
        "ScalableDimension": DIMENSION,
        "StepScalingPolicyConfiguration": {
            "AdjustmentType": "ChangeInCapacity",
            "Cooldown": 120,
            "MetricAggregationType": "Average",
            "StepAdjustments": [
                {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10.5, "ScalingAdjustment": 1},
                {"MetricIntervalLowerBound": 10.5, "ScalingAdjustment": 2}
            ]
        }
    });
    let mut changed = step.clone();
    changed["StepScalingPolicyConfiguration"]["Cooldown"] = json!(30);
    let created = lifecycle(&p, "AWS::ApplicationAutoScaling::ScalingPolicy", step, vec![changed]).await;
    created.delete(&p).await;
    target.delete(&p).await;
}

#[tokio::test]
async fn deleting_an_endpoint_deregisters_its_scalable_targets_first() {
    let aws = local_aws().await;
    let sm = sagemaker(&aws);
    let aas = autoscaling(&aws);
    create(
        &sm,
        "AWS::SageMaker::Model",
        "Model",
        json!({"ModelName": "m", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/r", "PrimaryContainer": {"Image": "i:1"}}),
    )
    .await;
    create(
        &sm,
        "AWS::SageMaker::EndpointConfig",
        "Config",
        json!({"EndpointConfigName": "c", "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}]}),
    )
    .await;
    let endpoint = create(
        &sm,
        "AWS::SageMaker::Endpoint",
        "Endpoint",
        json!({"EndpointName": "churn", "EndpointConfigName": "c"}),
    )
    .await;
    let target = create(&aas, "AWS::ApplicationAutoScaling::ScalableTarget", "Target", target(json!({}))).await;
    // Another endpoint's target must survive.
    let other = create(
        &aas,
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "Other",
        json!({"ServiceNamespace": "sagemaker", "ResourceId": "endpoint/churn-v2/variant/AllTraffic", "ScalableDimension": DIMENSION, "MinCapacity": 1, "MaxCapacity": 2}),
    )
    .await;
    assert!(target.read(&aas).await.is_some());
    endpoint.delete(&sm).await;
    assert_eq!(target.read(&aas).await, None, "the endpoint's scalable target was deregistered");
    assert!(other.read(&aas).await.is_some(), "other endpoints' targets are untouched");
    // The engine deletes the target afterwards; it is already gone, which is success.
    target.delete(&aas).await;
}
