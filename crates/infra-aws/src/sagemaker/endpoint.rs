//! `AWS::SageMaker::Endpoint`: created and updated asynchronously, so every change waits for
//! `InService`; an update switches the endpoint to a new configuration without fighting its
//! autoscaler, and is verified because SageMaker can roll back silently. Ref is the ARN;
//! GetAtt `EndpointName`.

use super::{create_name, ensure_only_changed, named, recorded_name, require_arn, some_tags, SageMaker};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::Props;
use crate::kit::readback::{conform, ObjectBuilder};
use crate::kit::service::ResourceType;
use crate::kit::tags::observed as tags_value;
use crate::kit::waiter::Waits as _;
use crate::waiter::{Phase, Poll};
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use aws_sdk_sagemaker::operation::describe_endpoint::DescribeEndpointOutput;
use aws_sdk_sagemaker::types::{
    Alarm, AutoRollbackConfig, BlueGreenUpdatePolicy, CapacitySize, CapacitySizeType, DeploymentConfig, EndpointStatus,
    RollingUpdatePolicy, TrafficRoutingConfig, TrafficRoutingConfigType, VariantProperty, VariantPropertyType,
};
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest, UpdateRequest,
};

const NAME: &str = "EndpointName";
const CONFIG: &str = "EndpointConfigName";
/// Properties that only steer an update; SageMaker does not report them back.
const UPDATE_OPTIONS: &[&str] =
    &["RetainAllVariantProperties", "ExcludeRetainedVariantProperties", "DeploymentConfig", "RetainDeploymentConfig"];

/// One poll towards `InService`.
async fn in_service(p: &SageMaker, name: &str) -> Result<Poll<DescribeEndpointOutput>, ProviderError> {
    let endpoint = describe(p, name).await?.ok_or_else(|| {
        ProviderError::new(
            ErrorKind::NotFound,
            "DescribeEndpoint",
            format!("endpoint {name} disappeared while waiting for it"),
        )
    })?;
    Ok(match endpoint.endpoint_status() {
        Some(EndpointStatus::InService) => Poll::Ready(endpoint),
        Some(EndpointStatus::Failed) | Some(EndpointStatus::UpdateRollbackFailed) => {
            Poll::Failed(endpoint.failure_reason().unwrap_or("no reason given").to_string())
        }
        Some(status) => Poll::Pending(status.as_str().to_string()),
        None => Poll::Pending("unknown".to_string()),
    })
}

async fn describe(p: &SageMaker, name: &str) -> Result<Option<DescribeEndpointOutput>, ProviderError> {
    absent_if_missing(p.call("DescribeEndpoint", || p.sagemaker.describe_endpoint().endpoint_name(name).send()).await)
}

fn capacity_size(c: Props<'_>) -> Result<CapacitySize, ProviderError> {
    Ok(CapacitySize::builder()
        .set_type(c.string("Type")?.map(|t| CapacitySizeType::from(t.as_str())))
        .set_value(c.int("Value")?)
        .build())
}

fn deployment_config(d: Props<'_>) -> Result<DeploymentConfig, ProviderError> {
    Ok(DeploymentConfig::builder()
        .set_blue_green_update_policy(d.object("BlueGreenUpdatePolicy", |b| {
            Ok(BlueGreenUpdatePolicy::builder()
                .set_traffic_routing_configuration(b.object("TrafficRoutingConfiguration", |t| {
                    Ok(TrafficRoutingConfig::builder()
                        .set_type(t.string("Type")?.map(|s| TrafficRoutingConfigType::from(s.as_str())))
                        .set_wait_interval_in_seconds(t.int("WaitIntervalInSeconds")?)
                        .set_canary_size(t.object("CanarySize", capacity_size)?)
                        .set_linear_step_size(t.object("LinearStepSize", capacity_size)?)
                        .build())
                })?)
                .set_termination_wait_in_seconds(b.int("TerminationWaitInSeconds")?)
                .set_maximum_execution_timeout_in_seconds(b.int("MaximumExecutionTimeoutInSeconds")?)
                .build())
        })?)
        .set_rolling_update_policy(d.object("RollingUpdatePolicy", |r| {
            Ok(RollingUpdatePolicy::builder()
                .set_maximum_batch_size(r.object("MaximumBatchSize", capacity_size)?)
                .set_wait_interval_in_seconds(r.int("WaitIntervalInSeconds")?)
                .set_maximum_execution_timeout_in_seconds(r.int("MaximumExecutionTimeoutInSeconds")?)
                .set_rollback_maximum_batch_size(r.object("RollbackMaximumBatchSize", capacity_size)?)
                .build())
        })?)
        .set_auto_rollback_configuration(d.object("AutoRollbackConfiguration", |a| {
            Ok(AutoRollbackConfig::builder()
                .set_alarms(
                    a.objects("Alarms", |al| Ok(Alarm::builder().set_alarm_name(al.string("AlarmName")?).build()))?,
                )
                .build())
        })?)
        .build())
}

/// Points the endpoint at `config`, waits for the deployment, and checks it stuck.
async fn switch_config(
    p: &SageMaker,
    req: &UpdateRequest,
    name: &str,
    config: &str,
    props: Props<'_>,
) -> Result<(), ProviderError> {
    const OPERATION: &str = "UpdateEndpoint";
    // With autoscaling in place the variants' instance counts belong to the autoscaler;
    // taking them from the new configuration would undo its work on every apply.
    let autoscaled = !scalable_targets(p, name).await?.is_empty();
    let retain = props.bool("RetainAllVariantProperties")?.unwrap_or(false) || autoscaled;
    let excluded = props.objects("ExcludeRetainedVariantProperties", |v| {
        Ok(VariantProperty::builder()
            .set_variant_property_type(v.string("VariantPropertyType")?.map(|t| VariantPropertyType::from(t.as_str())))
            .build())
    })?;
    let deployment = props.object("DeploymentConfig", deployment_config)?;
    let retain_deployment = props.bool("RetainDeploymentConfig")?;
    let subject = format!("endpoint {name}");
    // SageMaker refuses to update an endpoint mid-change, and the autoscaler changes it on
    // its own schedule: let a change in flight finish first.
    p.wait(&req.context, Phase::Update, OPERATION, &subject, "InService")?.until(|| in_service(p, name)).await?;
    p.call(OPERATION, || {
        p.sagemaker
            .update_endpoint()
            .endpoint_name(name)
            .endpoint_config_name(config)
            .retain_all_variant_properties(retain)
            .set_exclude_retained_variant_properties(excluded.clone())
            .set_deployment_config(deployment.clone())
            .set_retain_deployment_config(retain_deployment)
            .send()
    })
    .await?;
    let endpoint =
        p.wait(&req.context, Phase::Update, OPERATION, &subject, "InService")?.until(|| in_service(p, name)).await?;
    match endpoint.endpoint_config_name() {
        Some(current) if current == config => Ok(()),
        current => {
            let reason = endpoint.failure_reason().map(|r| format!(": {r}")).unwrap_or_default();
            Err(ProviderError::new(
                ErrorKind::Other,
                OPERATION,
                format!(
                    "endpoint {name} rolled back to endpoint configuration {} instead of {config}{reason}",
                    current.unwrap_or("(none)")
                ),
            ))
        }
    }
}

/// The scalable targets (resource ID and dimension) registered for the endpoint's variants.
pub(crate) async fn scalable_targets(
    p: &SageMaker,
    endpoint: &str,
) -> Result<Vec<(String, ScalableDimension)>, ProviderError> {
    let prefix = format!("endpoint/{endpoint}/variant/");
    let mut found = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = p
            .call("DescribeScalableTargets", || {
                p.autoscaling
                    .describe_scalable_targets()
                    .service_namespace(ServiceNamespace::Sagemaker)
                    .set_next_token(next.clone())
                    .send()
            })
            .await?;
        found.extend(
            page.scalable_targets()
                .iter()
                .filter(|t| t.resource_id().starts_with(&prefix))
                .map(|t| (t.resource_id().to_string(), t.scalable_dimension().clone())),
        );
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_string()),
            _ => return Ok(found),
        }
    }
}

/// `AWS::SageMaker::Endpoint`.
pub(crate) struct EndpointType;

#[async_trait::async_trait]
impl ResourceType<SageMaker> for EndpointType {
    fn type_name(&self) -> &'static str {
        "AWS::SageMaker::Endpoint"
    }
    fn physical_name(
        &self,
        context: &infra_core::provider::ResourceContext,
        properties: &serde_json::Value,
    ) -> Option<String> {
        Some(super::chosen_name(context, properties, "EndpointName"))
    }

    async fn create(&self, p: &SageMaker, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateEndpoint";
        let name = create_name(req, NAME);
        let props = Props::root(&req.properties, OPERATION)?;
        let config = props.required_string(CONFIG)?;
        let deployment = props.object("DeploymentConfig", deployment_config)?;
        let tags = some_tags(&props.tags()?);
        let out = p
            .create_call(OPERATION, false, || {
                p.sagemaker
                    .create_endpoint()
                    .endpoint_name(&name)
                    .endpoint_config_name(&config)
                    .set_deployment_config(deployment.clone())
                    .set_tags(tags.clone())
                    .send()
            })
            .await?;
        let subject = format!("endpoint {name}");
        let created_arn = out.as_ref().and_then(|o| o.endpoint_arn()).map(str::to_string);
        let waited =
            p.wait(&req.context, Phase::Create, OPERATION, &subject, "InService")?.until(|| in_service(p, &name)).await;
        let endpoint = match waited {
            Ok(endpoint) => endpoint,
            // The endpoint exists (and may bill ML instances) although it never became usable:
            // it reached `Failed`, or the wait timed out. It is handed back to be recorded as
            // tainted, so the next plan replaces it instead of leaking it.
            Err(e) if e.kind != ErrorKind::NotFound => {
                let arn = match created_arn {
                    Some(arn) => Some(arn),
                    None => describe(p, &name).await.ok().flatten().and_then(|d| d.endpoint_arn().map(str::to_string)),
                };
                return Err(match arn {
                    Some(arn) => e.with_partial(named(NAME, arn, name)),
                    // Without its ARN the endpoint cannot be recorded: leave the outcome open, so
                    // the next run finds it by name.
                    None => ProviderError { kind: ErrorKind::Other, ..e },
                });
            }
            Err(e) => return Err(e),
        };
        let arn = require_arn(OPERATION, endpoint.endpoint_arn().or(created_arn.as_deref()))?;
        Ok(named(NAME, arn, name))
    }

    async fn read(&self, p: &SageMaker, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let name = recorded_name(&req.attributes, NAME, &req.physical_id);
        let Some(endpoint) = describe(p, &name).await? else {
            return Ok(None);
        };
        let template = &req.properties;
        let arn = endpoint.endpoint_arn().unwrap_or(&req.physical_id).to_string();
        let tags = p.list_tags(&arn).await?;
        let mut observed = ObjectBuilder::new()
            .string(CONFIG, endpoint.endpoint_config_name())
            .string(NAME, template.get(NAME).and(endpoint.endpoint_name()))
            .put("Tags", tags_value(tags, template));
        for option in UPDATE_OPTIONS {
            observed = observed.put(option, template.get(*option).cloned());
        }
        let Applied { physical_id, attributes } =
            named(NAME, arn, endpoint.endpoint_name().unwrap_or(&name).to_string());
        let failure = match endpoint.endpoint_status() {
            Some(status @ (EndpointStatus::Failed | EndpointStatus::UpdateRollbackFailed)) => Some(format!(
                "endpoint {name} is {}: {}",
                status.as_str(),
                endpoint.failure_reason().unwrap_or("no reason given")
            )),
            _ => None,
        };
        Ok(Some(Observed { physical_id, properties: conform(observed.build(), Some(template)), attributes, failure }))
    }

    async fn update(&self, p: &SageMaker, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "UpdateEndpoint";
        let mut updatable = vec![CONFIG, "Tags"];
        updatable.extend_from_slice(UPDATE_OPTIONS);
        ensure_only_changed(req, &updatable)?;
        let name = recorded_name(&req.old_attributes, NAME, &req.physical_id);
        let new = Props::root(&req.new_properties, OPERATION)?;
        let old = Props::root(&req.old_properties, OPERATION)?;
        let config = new.required_string(CONFIG)?;
        if old.string(CONFIG)?.as_deref() != Some(config.as_str()) {
            switch_config(p, req, &name, &config, new).await?;
        }
        p.update_tags(&req.physical_id, &old.tags()?, &new.tags()?).await?;
        Ok(named(NAME, req.physical_id.clone(), name))
    }

    async fn delete(&self, p: &SageMaker, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OPERATION: &str = "DeleteEndpoint";
        let name = recorded_name(&req.attributes, NAME, &req.physical_id);
        // Scalable targets outlive the endpoint otherwise, and keep trying to scale it.
        for (resource_id, dimension) in scalable_targets(p, &name).await? {
            absent_if_missing(
                p.call("DeregisterScalableTarget", || {
                    p.autoscaling
                        .deregister_scalable_target()
                        .service_namespace(ServiceNamespace::Sagemaker)
                        .resource_id(&resource_id)
                        .scalable_dimension(dimension.clone())
                        .send()
                })
                .await,
            )?;
        }
        if absent_if_missing(p.call(OPERATION, || p.sagemaker.delete_endpoint().endpoint_name(&name).send()).await)?
            .is_none()
        {
            return Ok(());
        }
        let subject = format!("endpoint {name}");
        p.wait(&req.context, Phase::Delete, OPERATION, &subject, "deleted")?
            .until(|| async {
                Ok(match describe(p, &name).await? {
                    None => Poll::Ready(()),
                    Some(e) if e.endpoint_status() == Some(&EndpointStatus::Failed) => {
                        Poll::Failed(e.failure_reason().unwrap_or("no reason given").to_string())
                    }
                    Some(e) => Poll::Pending(e.endpoint_status().map_or("unknown", |s| s.as_str()).to_string()),
                })
            })
            .await
    }
}
