//! `AWS::SageMaker::Model`: immutable apart from its tags. Ref is the model's ARN, as with
//! CloudFormation (templates pass `!GetAtt Model.ModelName` to endpoint configurations);
//! GetAtt `ModelName`.

use super::{create_name, named, recorded_name, require_arn, some_tags, update_tags_only, SageMaker};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::Props;
use crate::kit::readback::{conform, omit_defaults, ObjectBuilder};
use crate::kit::service::ResourceType;
use crate::kit::tags::observed as tags_value;
use aws_sdk_sagemaker::types::{
    ContainerDefinition, ContainerMode, ImageConfig, InferenceExecutionConfig, InferenceExecutionMode,
    ModelAccessConfig, ModelCacheSetting, ModelCompressionType, ModelDataSource, MultiModelConfig,
    RepositoryAccessMode, RepositoryAuthConfig, S3ModelDataSource, S3ModelDataType, VpcConfig,
};
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, Observed, ProviderError, ReadRequest, UpdateRequest,
};
use serde_json::{json, Value};

const OPERATION: &str = "CreateModel";
const NAME: &str = "ModelName";

fn container(c: Props<'_>) -> Result<ContainerDefinition, ProviderError> {
    Ok(ContainerDefinition::builder()
        .set_container_hostname(c.string("ContainerHostname")?)
        .set_image(c.string("Image")?)
        .set_image_config(c.object("ImageConfig", |i| {
            Ok(ImageConfig::builder()
                .set_repository_access_mode(
                    i.string("RepositoryAccessMode")?.map(|m| RepositoryAccessMode::from(m.as_str())),
                )
                .set_repository_auth_config(i.object("RepositoryAuthConfig", |a| {
                    Ok(RepositoryAuthConfig::builder()
                        .set_repository_credentials_provider_arn(a.string("RepositoryCredentialsProviderArn")?)
                        .build())
                })?)
                .build())
        })?)
        .set_mode(c.string("Mode")?.map(|m| ContainerMode::from(m.as_str())))
        .set_model_data_url(c.string("ModelDataUrl")?)
        .set_model_data_source(c.object("ModelDataSource", |s| {
            Ok(ModelDataSource::builder()
                .set_s3_data_source(s.object("S3DataSource", |s3| {
                    Ok(S3ModelDataSource::builder()
                        .set_s3_uri(s3.string("S3Uri")?)
                        .set_s3_data_type(s3.string("S3DataType")?.map(|t| S3ModelDataType::from(t.as_str())))
                        .set_compression_type(
                            s3.string("CompressionType")?.map(|t| ModelCompressionType::from(t.as_str())),
                        )
                        .set_model_access_config(s3.object("ModelAccessConfig", |m| {
                            Ok(ModelAccessConfig::builder().set_accept_eula(m.bool("AcceptEula")?).build())
                        })?)
                        .build())
                })?)
                .build())
        })?)
        .set_environment(c.string_map("Environment")?.map(|pairs| pairs.into_iter().collect()))
        .set_model_package_name(c.string("ModelPackageName")?)
        .set_inference_specification_name(c.string("InferenceSpecificationName")?)
        .set_multi_model_config(c.object("MultiModelConfig", |m| {
            Ok(MultiModelConfig::builder()
                .set_model_cache_setting(m.string("ModelCacheSetting")?.map(|s| ModelCacheSetting::from(s.as_str())))
                .build())
        })?)
        .build())
}

fn vpc_config(v: Props<'_>) -> Result<VpcConfig, ProviderError> {
    Ok(VpcConfig::builder()
        .set_security_group_ids(v.strings("SecurityGroupIds")?)
        .set_subnets(v.strings("Subnets")?)
        .build())
}

fn container_value(c: &ContainerDefinition, template: Option<&Value>) -> Value {
    let environment = c.environment().filter(|e| !e.is_empty()).map(|e| {
        let mut pairs: Vec<_> = e.iter().collect();
        pairs.sort();
        Value::Object(pairs.into_iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
    });
    let mut value = ObjectBuilder::new()
        .string("ContainerHostname", c.container_hostname())
        .string("Image", c.image())
        .object(
            "ImageConfig",
            c.image_config().map(|i| {
                ObjectBuilder::new()
                    .string("RepositoryAccessMode", i.repository_access_mode().map(|m| m.as_str()))
                    .object(
                        "RepositoryAuthConfig",
                        i.repository_auth_config().map(|a| {
                            ObjectBuilder::new()
                                .string("RepositoryCredentialsProviderArn", a.repository_credentials_provider_arn())
                                .build()
                        }),
                    )
                    .build()
            }),
        )
        .string("Mode", c.mode().map(|m| m.as_str()))
        .string("ModelDataUrl", c.model_data_url())
        .object(
            "ModelDataSource",
            c.model_data_source().map(|s| {
                ObjectBuilder::new()
                    .object(
                        "S3DataSource",
                        s.s3_data_source().map(|s3| {
                            ObjectBuilder::new()
                                .string("S3Uri", s3.s3_uri())
                                .string("S3DataType", s3.s3_data_type().map(|t| t.as_str()))
                                .string("CompressionType", s3.compression_type().map(|t| t.as_str()))
                                .object(
                                    "ModelAccessConfig",
                                    s3.model_access_config()
                                        .map(|m| ObjectBuilder::new().bool("AcceptEula", m.accept_eula()).build()),
                                )
                                .build()
                        }),
                    )
                    .build()
            }),
        )
        .object("Environment", environment)
        .string("ModelPackageName", c.model_package_name())
        .string("InferenceSpecificationName", c.inference_specification_name())
        .object(
            "MultiModelConfig",
            c.multi_model_config().map(|m| {
                ObjectBuilder::new().string("ModelCacheSetting", m.model_cache_setting().map(|s| s.as_str())).build()
            }),
        )
        .build();
    omit_defaults(&mut value, template.unwrap_or(&Value::Null), &[("Mode", json!("SingleModel"))]);
    value
}

/// `AWS::SageMaker::Model`.
pub(crate) struct ModelType;

#[async_trait::async_trait]
impl ResourceType<SageMaker> for ModelType {
    fn type_name(&self) -> &'static str {
        "AWS::SageMaker::Model"
    }
    fn physical_name(
        &self,
        context: &infra_core::provider::ResourceContext,
        properties: &serde_json::Value,
    ) -> Option<String> {
        Some(super::chosen_name(context, properties, "ModelName"))
    }

    async fn create(&self, p: &SageMaker, req: &CreateRequest) -> Result<Applied, ProviderError> {
        let name = create_name(req, "ModelName");
        let props = Props::root(&req.properties, OPERATION)?;
        let primary = props.object("PrimaryContainer", container)?;
        let containers = props.objects("Containers", container)?;
        let vpc = props.object("VpcConfig", vpc_config)?;
        let execution = props.object("InferenceExecutionConfig", |e| {
            Ok(InferenceExecutionConfig::builder()
                .set_mode(e.string("Mode")?.map(|m| InferenceExecutionMode::from(m.as_str())))
                .build())
        })?;
        let role = props.string("ExecutionRoleArn")?;
        let isolation = props.bool("EnableNetworkIsolation")?;
        let tags = some_tags(&props.tags()?);
        let out = p
            .create_call(OPERATION, true, || {
                p.sagemaker
                    .create_model()
                    .model_name(&name)
                    .set_primary_container(primary.clone())
                    .set_containers(containers.clone())
                    .set_vpc_config(vpc.clone())
                    .set_inference_execution_config(execution.clone())
                    .set_execution_role_arn(role.clone())
                    .set_enable_network_isolation(isolation)
                    .set_tags(tags.clone())
                    .send()
            })
            .await?;
        let arn = match out {
            Some(out) => require_arn(OPERATION, out.model_arn())?,
            None => {
                let existing =
                    p.call("DescribeModel", || p.sagemaker.describe_model().model_name(&name).send()).await?;
                require_arn(OPERATION, existing.model_arn())?
            }
        };
        Ok(named(NAME, arn, name))
    }

    async fn read(&self, p: &SageMaker, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let name = recorded_name(&req.attributes, NAME, &req.physical_id);
        let Some(model) =
            absent_if_missing(p.call("DescribeModel", || p.sagemaker.describe_model().model_name(&name).send()).await)?
        else {
            return Ok(None);
        };
        let template = &req.properties;
        let arn = require_arn("DescribeModel", model.model_arn())?;
        let tags = p.list_tags(&arn).await?;
        let containers: Vec<Value> = model
            .containers()
            .iter()
            .enumerate()
            .map(|(i, c)| container_value(c, template.get("Containers").and_then(|t| t.get(i))))
            .collect();
        let mut observed = ObjectBuilder::new()
            .object(
                "PrimaryContainer",
                model.primary_container().map(|c| container_value(c, template.get("PrimaryContainer"))),
            )
            .list("Containers", containers)
            .string("ExecutionRoleArn", model.execution_role_arn())
            .object(
                "VpcConfig",
                model.vpc_config().map(|v| {
                    ObjectBuilder::new()
                        .strings("SecurityGroupIds", v.security_group_ids())
                        .strings("Subnets", v.subnets())
                        .build()
                }),
            )
            .bool("EnableNetworkIsolation", model.enable_network_isolation())
            .object(
                "InferenceExecutionConfig",
                model
                    .inference_execution_config()
                    .map(|e| ObjectBuilder::new().string("Mode", e.mode().map(|m| m.as_str())).build()),
            )
            // A generated name is not the template's business.
            .string("ModelName", template.get("ModelName").and(model.model_name()))
            .put("Tags", tags_value(tags, template))
            .build();
        // What SageMaker reports when these were left unset.
        let defaults =
            [("EnableNetworkIsolation", json!(false)), ("InferenceExecutionConfig", json!({"Mode": "Serial"}))];
        omit_defaults(&mut observed, template, &defaults);
        let Applied { physical_id, attributes } = named(NAME, arn, model.model_name().unwrap_or(&name).to_string());
        Ok(Some(Observed { physical_id, properties: conform(observed, Some(template)), attributes, failure: None }))
    }

    async fn update(&self, p: &SageMaker, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        update_tags_only(p, req, NAME).await
    }

    async fn delete(&self, p: &SageMaker, req: &DeleteRequest) -> Result<(), ProviderError> {
        let name = recorded_name(&req.attributes, NAME, &req.physical_id);
        absent_if_missing(p.call("DeleteModel", || p.sagemaker.delete_model().model_name(&name).send()).await)?;
        Ok(())
    }
}
