//! `AWS::ApplicationAutoScaling::ScalingPolicy`: target tracking or step scaling, updated in
//! place with PutScalingPolicy. Ref is the policy ARN; GetAtt `Arn`.

use super::{AutoScaling, TargetId};
use crate::kit::errors::absent_if_missing;
use crate::kit::errors::build_error;
use crate::kit::props::Props;
use crate::kit::readback::{conform, float_value, omit_defaults, ObjectBuilder};
use crate::kit::service::ResourceType;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension, MetricStatistic, MetricType,
    PolicyType, PredefinedMetricSpecification, ScalingPolicy, StepAdjustment, StepScalingPolicyConfiguration,
    TargetTrackingMetric, TargetTrackingMetricDataQuery, TargetTrackingMetricDimension, TargetTrackingMetricStat,
    TargetTrackingScalingPolicyConfiguration,
};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest, UpdateRequest,
};
use serde_json::Value;

const PUT: &str = "PutScalingPolicy";

/// The policy's target: `ScalingTargetId`, or the three properties spelled out.
fn target(props: Props<'_>) -> Result<TargetId, ProviderError> {
    if let Some(id) = props.string("ScalingTargetId")? {
        return TargetId::parse(&id, PUT);
    }
    let field = |key: &str| {
        props.string(key)?.ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Invalid,
                PUT,
                format!("property {key} is required when ScalingTargetId is not given"),
            )
        })
    };
    Ok(TargetId {
        resource_id: field("ResourceId")?,
        scalable_dimension: field("ScalableDimension")?,
        service_namespace: field("ServiceNamespace")?,
    })
}

fn dimensions(props: Props<'_>) -> Result<Option<Vec<MetricDimension>>, ProviderError> {
    props.objects("Dimensions", |d| {
        MetricDimension::builder()
            .name(d.required_string("Name")?)
            .value(d.required_string("Value")?)
            .build()
            .map_err(|e| build_error(PUT, e))
    })
}

fn metric_query(q: Props<'_>) -> Result<TargetTrackingMetricDataQuery, ProviderError> {
    let stat = q.object("MetricStat", |s| {
        let metric = s.object("Metric", |m| {
            Ok(TargetTrackingMetric::builder()
                .set_metric_name(m.string("MetricName")?)
                .set_namespace(m.string("Namespace")?)
                .set_dimensions(m.objects("Dimensions", |d| {
                    TargetTrackingMetricDimension::builder()
                        .name(d.required_string("Name")?)
                        .value(d.required_string("Value")?)
                        .build()
                        .map_err(|e| build_error(PUT, e))
                })?)
                .build())
        })?;
        TargetTrackingMetricStat::builder()
            .set_metric(metric)
            .set_stat(s.string("Stat")?)
            .set_unit(s.string("Unit")?)
            .build()
            .map_err(|e| build_error(PUT, e))
    })?;
    TargetTrackingMetricDataQuery::builder()
        .set_id(q.string("Id")?)
        .set_expression(q.string("Expression")?)
        .set_label(q.string("Label")?)
        .set_return_data(q.bool("ReturnData")?)
        .set_metric_stat(stat)
        .build()
        .map_err(|e| build_error(PUT, e))
}

fn target_tracking(t: Props<'_>) -> Result<TargetTrackingScalingPolicyConfiguration, ProviderError> {
    let predefined = t.object("PredefinedMetricSpecification", |m| {
        PredefinedMetricSpecification::builder()
            .set_predefined_metric_type(m.string("PredefinedMetricType")?.map(|s| MetricType::from(s.as_str())))
            .set_resource_label(m.string("ResourceLabel")?)
            .build()
            .map_err(|e| build_error(PUT, e))
    })?;
    let customized = t.object("CustomizedMetricSpecification", |m| {
        Ok(CustomizedMetricSpecification::builder()
            .set_metric_name(m.string("MetricName")?)
            .set_namespace(m.string("Namespace")?)
            .set_dimensions(dimensions(m)?)
            .set_statistic(m.string("Statistic")?.map(|s| MetricStatistic::from(s.as_str())))
            .set_unit(m.string("Unit")?)
            .set_metrics(m.objects("Metrics", metric_query)?)
            .build())
    })?;
    TargetTrackingScalingPolicyConfiguration::builder()
        .set_target_value(t.float("TargetValue")?)
        .set_predefined_metric_specification(predefined)
        .set_customized_metric_specification(customized)
        .set_scale_out_cooldown(t.int("ScaleOutCooldown")?)
        .set_scale_in_cooldown(t.int("ScaleInCooldown")?)
        .set_disable_scale_in(t.bool("DisableScaleIn")?)
        .build()
        .map_err(|e| build_error(PUT, e))
}

fn step_scaling(s: Props<'_>) -> Result<StepScalingPolicyConfiguration, ProviderError> {
    Ok(StepScalingPolicyConfiguration::builder()
        .set_adjustment_type(s.string("AdjustmentType")?.map(|a| AdjustmentType::from(a.as_str())))
        .set_step_adjustments(s.objects("StepAdjustments", |a| {
            StepAdjustment::builder()
                .set_metric_interval_lower_bound(a.float("MetricIntervalLowerBound")?)
                .set_metric_interval_upper_bound(a.float("MetricIntervalUpperBound")?)
                .set_scaling_adjustment(a.int("ScalingAdjustment")?)
                .build()
                .map_err(|e| build_error(PUT, e))
        })?)
        .set_min_adjustment_magnitude(s.int("MinAdjustmentMagnitude")?)
        .set_cooldown(s.int("Cooldown")?)
        .set_metric_aggregation_type(
            s.string("MetricAggregationType")?.map(|m| MetricAggregationType::from(m.as_str())),
        )
        .build())
}

async fn put(p: &AutoScaling, properties: &Value) -> Result<Applied, ProviderError> {
    let props = Props::root(properties, PUT)?;
    let target = target(props)?;
    let name = props.required_string("PolicyName")?;
    let policy_type = props.required_string("PolicyType")?;
    let tracking = props.object("TargetTrackingScalingPolicyConfiguration", target_tracking)?;
    let step = props.object("StepScalingPolicyConfiguration", step_scaling)?;
    let out = p
        .call(PUT, || {
            p.client
                .put_scaling_policy()
                .policy_name(&name)
                .service_namespace(target.namespace())
                .resource_id(&target.resource_id)
                .scalable_dimension(target.dimension())
                .policy_type(PolicyType::from(policy_type.as_str()))
                .set_target_tracking_scaling_policy_configuration(tracking.clone())
                .set_step_scaling_policy_configuration(step.clone())
                .send()
        })
        .await?;
    let arn = out.policy_arn().to_string();
    let mut attributes = Attributes::new();
    attributes.insert("Arn".into(), Value::String(arn.clone()));
    Ok(Applied { physical_id: arn, attributes })
}

async fn find(p: &AutoScaling, properties: &Value) -> Result<Option<ScalingPolicy>, ProviderError> {
    let props = Props::root(properties, "DescribeScalingPolicies")?;
    let target = target(props)?;
    let name = props.required_string("PolicyName")?;
    let out = p
        .call("DescribeScalingPolicies", || {
            p.client
                .describe_scaling_policies()
                .service_namespace(target.namespace())
                .resource_id(&target.resource_id)
                .scalable_dimension(target.dimension())
                .policy_names(&name)
                .send()
        })
        .await?;
    Ok(out.scaling_policies().iter().find(|s| s.policy_name() == name).cloned())
}

fn dimension_values<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<Value> {
    pairs.map(|(n, v)| serde_json::json!({ "Name": n, "Value": v })).collect()
}

fn target_tracking_value(t: &TargetTrackingScalingPolicyConfiguration) -> Value {
    ObjectBuilder::new()
        .put("TargetValue", float_value(t.target_value()))
        .object(
            "PredefinedMetricSpecification",
            t.predefined_metric_specification().map(|m| {
                ObjectBuilder::new()
                    .string("PredefinedMetricType", Some(m.predefined_metric_type().as_str()))
                    .string("ResourceLabel", m.resource_label())
                    .build()
            }),
        )
        .object(
            "CustomizedMetricSpecification",
            t.customized_metric_specification().map(|m| {
                ObjectBuilder::new()
                    .string("MetricName", m.metric_name())
                    .string("Namespace", m.namespace())
                    .list("Dimensions", dimension_values(m.dimensions().iter().map(|d| (d.name(), d.value()))))
                    .string("Statistic", m.statistic().map(|s| s.as_str()))
                    .string("Unit", m.unit())
                    .list("Metrics", m.metrics().iter().map(metric_query_value).collect())
                    .build()
            }),
        )
        .int("ScaleOutCooldown", t.scale_out_cooldown())
        .int("ScaleInCooldown", t.scale_in_cooldown())
        .bool("DisableScaleIn", t.disable_scale_in())
        .build()
}

fn metric_query_value(q: &TargetTrackingMetricDataQuery) -> Value {
    ObjectBuilder::new()
        .string("Id", Some(q.id()))
        .string("Expression", q.expression())
        .string("Label", q.label())
        .bool("ReturnData", q.return_data())
        .object(
            "MetricStat",
            q.metric_stat().map(|s| {
                ObjectBuilder::new()
                    .object(
                        "Metric",
                        s.metric().map(|m| {
                            ObjectBuilder::new()
                                .string("MetricName", m.metric_name())
                                .string("Namespace", m.namespace())
                                .list(
                                    "Dimensions",
                                    dimension_values(m.dimensions().iter().map(|d| (d.name(), d.value()))),
                                )
                                .build()
                        }),
                    )
                    .string("Stat", Some(s.stat()))
                    .string("Unit", s.unit())
                    .build()
            }),
        )
        .build()
}

fn step_scaling_value(s: &StepScalingPolicyConfiguration) -> Value {
    ObjectBuilder::new()
        .string("AdjustmentType", s.adjustment_type().map(|a| a.as_str()))
        .list(
            "StepAdjustments",
            s.step_adjustments()
                .iter()
                .map(|a| {
                    ObjectBuilder::new()
                        .float("MetricIntervalLowerBound", a.metric_interval_lower_bound())
                        .float("MetricIntervalUpperBound", a.metric_interval_upper_bound())
                        .int("ScalingAdjustment", Some(a.scaling_adjustment()))
                        .build()
                })
                .collect(),
        )
        .int("MinAdjustmentMagnitude", s.min_adjustment_magnitude())
        .int("Cooldown", s.cooldown())
        .string("MetricAggregationType", s.metric_aggregation_type().map(|m| m.as_str()))
        .build()
}

/// `AWS::ApplicationAutoScaling::ScalingPolicy`. Policies get their ARN from the service; re-putting one by name is harmless.
pub(crate) struct ScalingPolicyType;

#[async_trait::async_trait]
impl ResourceType<AutoScaling> for ScalingPolicyType {
    fn type_name(&self) -> &'static str {
        "AWS::ApplicationAutoScaling::ScalingPolicy"
    }

    async fn create(&self, p: &AutoScaling, req: &CreateRequest) -> Result<Applied, ProviderError> {
        put(p, &req.properties).await
    }

    async fn read(&self, p: &AutoScaling, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let Some(policy) = find(p, &req.properties).await? else {
            return Ok(None);
        };
        let template = &req.properties;
        let live_target = TargetId {
            resource_id: policy.resource_id().to_string(),
            scalable_dimension: policy.scalable_dimension().as_str().to_string(),
            service_namespace: policy.service_namespace().as_str().to_string(),
        };
        // The target is reported the way the template names it.
        let mut observed = ObjectBuilder::new();
        if template.get("ScalingTargetId").is_some() {
            observed = observed.string("ScalingTargetId", Some(&live_target.render()));
        } else {
            observed = observed
                .string("ResourceId", Some(&live_target.resource_id))
                .string("ScalableDimension", Some(&live_target.scalable_dimension))
                .string("ServiceNamespace", Some(&live_target.service_namespace));
        }
        let mut observed = observed
            .string("PolicyName", Some(policy.policy_name()))
            .string("PolicyType", Some(policy.policy_type().as_str()))
            .object(
                "TargetTrackingScalingPolicyConfiguration",
                policy.target_tracking_scaling_policy_configuration().map(target_tracking_value),
            )
            .object(
                "StepScalingPolicyConfiguration",
                policy.step_scaling_policy_configuration().map(step_scaling_value),
            )
            .build();
        // Scale-in is on unless disabled; AWS may report the default explicitly.
        if let Some(tracking) = observed.get_mut("TargetTrackingScalingPolicyConfiguration") {
            let template_tracking = template.get("TargetTrackingScalingPolicyConfiguration").unwrap_or(&Value::Null);
            omit_defaults(tracking, template_tracking, &[("DisableScaleIn", Value::Bool(false))]);
        }
        let mut attributes = Attributes::new();
        attributes.insert("Arn".into(), Value::String(policy.policy_arn().to_string()));
        Ok(Some(Observed {
            physical_id: policy.policy_arn().to_string(),
            properties: conform(observed, Some(template)),
            attributes,
            failure: None,
        }))
    }

    async fn update(&self, p: &AutoScaling, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        let old = Props::root(&req.old_properties, PUT)?;
        let new = Props::root(&req.new_properties, PUT)?;
        if old.string("PolicyName")? != new.string("PolicyName")? || target(old)? != target(new)? {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                PUT,
                "a scaling policy's name and target cannot change in place",
            ));
        }
        put(p, &req.new_properties).await
    }

    async fn delete(&self, p: &AutoScaling, req: &DeleteRequest) -> Result<(), ProviderError> {
        let props = Props::root(&req.properties, "DeleteScalingPolicy")?;
        let target = target(props)?;
        let name = props.required_string("PolicyName")?;
        absent_if_missing(
            p.call("DeleteScalingPolicy", || {
                p.client
                    .delete_scaling_policy()
                    .policy_name(&name)
                    .service_namespace(target.namespace())
                    .resource_id(&target.resource_id)
                    .scalable_dimension(target.dimension())
                    .send()
            })
            .await,
        )?;
        Ok(())
    }
}
