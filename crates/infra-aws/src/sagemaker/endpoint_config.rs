//! `AWS::SageMaker::EndpointConfig`: immutable apart from its tags; a changed configuration
//! is a new one, which the endpoint then switches to. Ref is the ARN; GetAtt
//! `EndpointConfigName`.

use super::{create_name, named, recorded_name, require_arn, some_tags, update_tags_only, SageMaker};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::Props;
use crate::kit::readback::{conform, omit_defaults, ObjectBuilder};
use crate::kit::service::ResourceType;
use crate::kit::tags::observed as tags_value;
use aws_sdk_sagemaker::types::{
    AsyncInferenceClientConfig, AsyncInferenceConfig, AsyncInferenceNotificationConfig, AsyncInferenceOutputConfig,
    AsyncNotificationTopicTypes, CaptureContentTypeHeader, CaptureMode, CaptureOption, DataCaptureConfig,
    ManagedInstanceScalingStatus, ProductionVariant, ProductionVariantAcceleratorType, ProductionVariantCoreDumpConfig,
    ProductionVariantInferenceAmiVersion, ProductionVariantInstanceType, ProductionVariantManagedInstanceScaling,
    ProductionVariantRoutingConfig, ProductionVariantServerlessConfig, RoutingStrategy,
};
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, Observed, ProviderError, ReadRequest, UpdateRequest,
};
use serde_json::{json, Value};

const OPERATION: &str = "CreateEndpointConfig";
const NAME: &str = "EndpointConfigName";

fn production_variant(v: Props<'_>) -> Result<ProductionVariant, ProviderError> {
    Ok(ProductionVariant::builder()
        .set_variant_name(v.string("VariantName")?)
        .set_model_name(v.string("ModelName")?)
        .set_initial_instance_count(v.int("InitialInstanceCount")?)
        .set_instance_type(v.string("InstanceType")?.map(|t| ProductionVariantInstanceType::from(t.as_str())))
        .set_initial_variant_weight(v.float("InitialVariantWeight")?.map(|f| f as f32))
        .set_accelerator_type(v.string("AcceleratorType")?.map(|t| ProductionVariantAcceleratorType::from(t.as_str())))
        .set_serverless_config(v.object("ServerlessConfig", |s| {
            Ok(ProductionVariantServerlessConfig::builder()
                .set_memory_size_in_mb(s.int("MemorySizeInMB")?)
                .set_max_concurrency(s.int("MaxConcurrency")?)
                .set_provisioned_concurrency(s.int("ProvisionedConcurrency")?)
                .build())
        })?)
        .set_volume_size_in_gb(v.int("VolumeSizeInGB")?)
        .set_model_data_download_timeout_in_seconds(v.int("ModelDataDownloadTimeoutInSeconds")?)
        .set_container_startup_health_check_timeout_in_seconds(v.int("ContainerStartupHealthCheckTimeoutInSeconds")?)
        .set_enable_ssm_access(v.bool("EnableSSMAccess")?)
        .set_managed_instance_scaling(v.object("ManagedInstanceScaling", |m| {
            Ok(ProductionVariantManagedInstanceScaling::builder()
                .set_status(m.string("Status")?.map(|s| ManagedInstanceScalingStatus::from(s.as_str())))
                .set_min_instance_count(m.int("MinInstanceCount")?)
                .set_max_instance_count(m.int("MaxInstanceCount")?)
                .build())
        })?)
        .set_routing_config(v.object("RoutingConfig", |r| {
            Ok(ProductionVariantRoutingConfig::builder()
                .set_routing_strategy(r.string("RoutingStrategy")?.map(|s| RoutingStrategy::from(s.as_str())))
                .build())
        })?)
        .set_inference_ami_version(
            v.string("InferenceAmiVersion")?.map(|s| ProductionVariantInferenceAmiVersion::from(s.as_str())),
        )
        .set_core_dump_config(v.object("CoreDumpConfig", |c| {
            Ok(ProductionVariantCoreDumpConfig::builder()
                .set_destination_s3_uri(c.string("DestinationS3Uri")?)
                .set_kms_key_id(c.string("KmsKeyId")?)
                .build())
        })?)
        .build())
}

fn data_capture_config(d: Props<'_>) -> Result<DataCaptureConfig, ProviderError> {
    Ok(DataCaptureConfig::builder()
        .set_enable_capture(d.bool("EnableCapture")?)
        .set_initial_sampling_percentage(d.int("InitialSamplingPercentage")?)
        .set_destination_s3_uri(d.string("DestinationS3Uri")?)
        .set_kms_key_id(d.string("KmsKeyId")?)
        .set_capture_options(d.objects("CaptureOptions", |o| {
            Ok(CaptureOption::builder()
                .set_capture_mode(o.string("CaptureMode")?.map(|m| CaptureMode::from(m.as_str())))
                .build())
        })?)
        .set_capture_content_type_header(d.object("CaptureContentTypeHeader", |h| {
            Ok(CaptureContentTypeHeader::builder()
                .set_csv_content_types(h.strings("CsvContentTypes")?)
                .set_json_content_types(h.strings("JsonContentTypes")?)
                .build())
        })?)
        .build())
}

fn async_inference_config(a: Props<'_>) -> Result<AsyncInferenceConfig, ProviderError> {
    Ok(AsyncInferenceConfig::builder()
        .set_client_config(a.object("ClientConfig", |c| {
            Ok(AsyncInferenceClientConfig::builder()
                .set_max_concurrent_invocations_per_instance(c.int("MaxConcurrentInvocationsPerInstance")?)
                .build())
        })?)
        .set_output_config(a.object("OutputConfig", |o| {
            Ok(AsyncInferenceOutputConfig::builder()
                .set_kms_key_id(o.string("KmsKeyId")?)
                .set_s3_output_path(o.string("S3OutputPath")?)
                .set_s3_failure_path(o.string("S3FailurePath")?)
                .set_notification_config(o.object("NotificationConfig", |n| {
                    Ok(AsyncInferenceNotificationConfig::builder()
                        .set_success_topic(n.string("SuccessTopic")?)
                        .set_error_topic(n.string("ErrorTopic")?)
                        .set_include_inference_response_in(
                            n.strings("IncludeInferenceResponseIn")?
                                .map(|l| l.iter().map(|s| AsyncNotificationTopicTypes::from(s.as_str())).collect()),
                        )
                        .build())
                })?)
                .build())
        })?)
        .build())
}

fn variant_value(v: &ProductionVariant, template: Option<&Value>) -> Value {
    let mut value = ObjectBuilder::new()
        .string("VariantName", v.variant_name())
        .string("ModelName", v.model_name())
        .int("InitialInstanceCount", v.initial_instance_count())
        .string("InstanceType", v.instance_type().map(|t| t.as_str()))
        .float32("InitialVariantWeight", v.initial_variant_weight())
        .string("AcceleratorType", v.accelerator_type().map(|t| t.as_str()))
        .object(
            "ServerlessConfig",
            v.serverless_config().map(|s| {
                ObjectBuilder::new()
                    .int("MemorySizeInMB", s.memory_size_in_mb())
                    .int("MaxConcurrency", s.max_concurrency())
                    .int("ProvisionedConcurrency", s.provisioned_concurrency())
                    .build()
            }),
        )
        .int("VolumeSizeInGB", v.volume_size_in_gb())
        .int("ModelDataDownloadTimeoutInSeconds", v.model_data_download_timeout_in_seconds())
        .int("ContainerStartupHealthCheckTimeoutInSeconds", v.container_startup_health_check_timeout_in_seconds())
        .bool("EnableSSMAccess", v.enable_ssm_access())
        .object(
            "ManagedInstanceScaling",
            v.managed_instance_scaling().map(|m| {
                ObjectBuilder::new()
                    .string("Status", m.status().map(|s| s.as_str()))
                    .int("MinInstanceCount", m.min_instance_count())
                    .int("MaxInstanceCount", m.max_instance_count())
                    .build()
            }),
        )
        .object(
            "RoutingConfig",
            v.routing_config().map(|r| {
                ObjectBuilder::new().string("RoutingStrategy", r.routing_strategy().map(|s| s.as_str())).build()
            }),
        )
        .string("InferenceAmiVersion", v.inference_ami_version().map(|s| s.as_str()))
        .object(
            "CoreDumpConfig",
            v.core_dump_config().map(|c| {
                ObjectBuilder::new()
                    .string("DestinationS3Uri", c.destination_s3_uri())
                    .string("KmsKeyId", c.kms_key_id())
                    .build()
            }),
        )
        .build();
    // SageMaker fills in an equal weight when none was given.
    omit_defaults(&mut value, template.unwrap_or(&Value::Null), &[("InitialVariantWeight", json!(1))]);
    value
}

fn data_capture_value(d: &DataCaptureConfig) -> Value {
    ObjectBuilder::new()
        .bool("EnableCapture", d.enable_capture())
        .int("InitialSamplingPercentage", d.initial_sampling_percentage())
        .string("DestinationS3Uri", d.destination_s3_uri())
        .string("KmsKeyId", d.kms_key_id())
        .list(
            "CaptureOptions",
            d.capture_options()
                .iter()
                .map(|o| ObjectBuilder::new().string("CaptureMode", o.capture_mode().map(|m| m.as_str())).build())
                .collect(),
        )
        .object(
            "CaptureContentTypeHeader",
            d.capture_content_type_header().map(|h| {
                ObjectBuilder::new()
                    .strings("CsvContentTypes", h.csv_content_types())
                    .strings("JsonContentTypes", h.json_content_types())
                    .build()
            }),
        )
        .build()
}

fn async_inference_value(a: &AsyncInferenceConfig) -> Value {
    ObjectBuilder::new()
        .object(
            "ClientConfig",
            a.client_config().map(|c| {
                ObjectBuilder::new()
                    .int("MaxConcurrentInvocationsPerInstance", c.max_concurrent_invocations_per_instance())
                    .build()
            }),
        )
        .object(
            "OutputConfig",
            a.output_config().map(|o| {
                ObjectBuilder::new()
                    .string("KmsKeyId", o.kms_key_id())
                    .string("S3OutputPath", o.s3_output_path())
                    .string("S3FailurePath", o.s3_failure_path())
                    .object(
                        "NotificationConfig",
                        o.notification_config().map(|n| {
                            let include: Vec<String> =
                                n.include_inference_response_in().iter().map(|t| t.as_str().to_string()).collect();
                            ObjectBuilder::new()
                                .string("SuccessTopic", n.success_topic())
                                .string("ErrorTopic", n.error_topic())
                                .strings("IncludeInferenceResponseIn", &include)
                                .build()
                        }),
                    )
                    .build()
            }),
        )
        .build()
}

fn variants_value(variants: &[ProductionVariant], template: Option<&Value>) -> Vec<Value> {
    variants.iter().enumerate().map(|(i, v)| variant_value(v, template.and_then(|t| t.get(i)))).collect()
}

/// `AWS::SageMaker::EndpointConfig`.
pub(crate) struct EndpointConfigType;

#[async_trait::async_trait]
impl ResourceType<SageMaker> for EndpointConfigType {
    fn type_name(&self) -> &'static str {
        "AWS::SageMaker::EndpointConfig"
    }
    fn physical_name(
        &self,
        context: &infra_core::provider::ResourceContext,
        properties: &serde_json::Value,
    ) -> Option<String> {
        Some(super::chosen_name(context, properties, "EndpointConfigName"))
    }

    async fn create(&self, p: &SageMaker, req: &CreateRequest) -> Result<Applied, ProviderError> {
        let name = create_name(req, NAME);
        let props = Props::root(&req.properties, OPERATION)?;
        let variants = props.objects("ProductionVariants", production_variant)?;
        let shadows = props.objects("ShadowProductionVariants", production_variant)?;
        let capture = props.object("DataCaptureConfig", data_capture_config)?;
        let async_inference = props.object("AsyncInferenceConfig", async_inference_config)?;
        let kms = props.string("KmsKeyId")?;
        let tags = some_tags(&props.tags()?);
        let out = p
            .create_call(OPERATION, false, || {
                p.sagemaker
                    .create_endpoint_config()
                    .endpoint_config_name(&name)
                    .set_production_variants(variants.clone())
                    .set_shadow_production_variants(shadows.clone())
                    .set_data_capture_config(capture.clone())
                    .set_async_inference_config(async_inference.clone())
                    .set_kms_key_id(kms.clone())
                    .set_tags(tags.clone())
                    .send()
            })
            .await?;
        let arn = match out {
            Some(out) => require_arn(OPERATION, out.endpoint_config_arn())?,
            None => {
                let existing = p
                    .call("DescribeEndpointConfig", || {
                        p.sagemaker.describe_endpoint_config().endpoint_config_name(&name).send()
                    })
                    .await?;
                require_arn(OPERATION, existing.endpoint_config_arn())?
            }
        };
        Ok(named(NAME, arn, name))
    }

    async fn read(&self, p: &SageMaker, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let name = recorded_name(&req.attributes, NAME, &req.physical_id);
        let Some(config) = absent_if_missing(
            p.call("DescribeEndpointConfig", || {
                p.sagemaker.describe_endpoint_config().endpoint_config_name(&name).send()
            })
            .await,
        )?
        else {
            return Ok(None);
        };
        let template = &req.properties;
        let arn = config.endpoint_config_arn().unwrap_or(&req.physical_id).to_string();
        let tags = p.list_tags(&arn).await?;
        let observed = ObjectBuilder::new()
            .list(
                "ProductionVariants",
                variants_value(config.production_variants(), template.get("ProductionVariants")),
            )
            .list(
                "ShadowProductionVariants",
                variants_value(config.shadow_production_variants(), template.get("ShadowProductionVariants")),
            )
            .object("DataCaptureConfig", config.data_capture_config().map(data_capture_value))
            .object("AsyncInferenceConfig", config.async_inference_config().map(async_inference_value))
            .string("KmsKeyId", config.kms_key_id())
            .string(NAME, template.get(NAME).and(config.endpoint_config_name()))
            .put("Tags", tags_value(tags, template))
            .build();
        let Applied { physical_id, attributes } =
            named(NAME, arn, config.endpoint_config_name().unwrap_or(&name).to_string());
        Ok(Some(Observed { physical_id, properties: conform(observed, Some(template)), attributes, failure: None }))
    }

    async fn update(&self, p: &SageMaker, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        update_tags_only(p, req, NAME).await
    }

    async fn delete(&self, p: &SageMaker, req: &DeleteRequest) -> Result<(), ProviderError> {
        let name = recorded_name(&req.attributes, NAME, &req.physical_id);
        absent_if_missing(
            p.call("DeleteEndpointConfig", || p.sagemaker.delete_endpoint_config().endpoint_config_name(&name).send())
                .await,
        )?;
        Ok(())
    }
}
