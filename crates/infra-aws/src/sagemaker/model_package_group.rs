//! `AWS::SageMaker::ModelPackageGroup`: a model registry group; its resource policy and tags
//! update in place. Ref is the ARN; GetAtt `ModelPackageGroupArn`, `CreationTime`,
//! `ModelPackageGroupStatus`.

use super::{create_name, ensure_only_changed, recorded_name, require_arn, some_tags, SageMaker};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::Props;
use crate::kit::readback::{conform, ObjectBuilder};
use crate::kit::service::ResourceType;
use crate::kit::tags::observed as tags_value;
use crate::kit::waiter::Waits as _;
use crate::waiter::{Phase, Poll};
use aws_sdk_sagemaker::operation::describe_model_package_group::DescribeModelPackageGroupOutput;
use aws_sdk_sagemaker::types::ModelPackageGroupStatus;
use aws_smithy_types::date_time::Format;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest, UpdateRequest,
};
use serde_json::Value;

const NAME: &str = "ModelPackageGroupName";
const POLICY: &str = "ModelPackageGroupPolicy";

/// The policy as the JSON text SageMaker takes; a template may give an object or a string.
fn policy_text(props: Props<'_>) -> Result<Option<String>, ProviderError> {
    match props.get(POLICY) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v @ Value::Object(_)) => Ok(Some(v.to_string())),
        Some(_) => Err(ProviderError::new(
            ErrorKind::Invalid,
            "PutModelPackageGroupPolicy",
            format!("property {POLICY} must be a JSON object or a string"),
        )),
    }
}

async fn put_policy(p: &SageMaker, name: &str, policy: &str) -> Result<(), ProviderError> {
    p.call("PutModelPackageGroupPolicy", || {
        p.sagemaker.put_model_package_group_policy().model_package_group_name(name).resource_policy(policy).send()
    })
    .await?;
    Ok(())
}

async fn describe(p: &SageMaker, name: &str) -> Result<Option<DescribeModelPackageGroupOutput>, ProviderError> {
    absent_if_missing(
        p.call("DescribeModelPackageGroup", || {
            p.sagemaker.describe_model_package_group().model_package_group_name(name).send()
        })
        .await,
    )
}

fn applied(group: &DescribeModelPackageGroupOutput, name: &str) -> Result<Applied, ProviderError> {
    let arn = require_arn("DescribeModelPackageGroup", group.model_package_group_arn())?;
    let mut attributes = Attributes::new();
    attributes.insert(NAME.into(), Value::String(group.model_package_group_name().unwrap_or(name).to_string()));
    attributes.insert("ModelPackageGroupArn".into(), Value::String(arn.clone()));
    if let Some(time) = group.creation_time().and_then(|t| t.fmt(Format::DateTime).ok()) {
        attributes.insert("CreationTime".into(), Value::String(time));
    }
    if let Some(status) = group.model_package_group_status() {
        attributes.insert("ModelPackageGroupStatus".into(), Value::String(status.as_str().to_string()));
    }
    Ok(Applied { physical_id: arn, attributes })
}

/// The observed policy in the template's representation: the template's own text when the
/// two parse to the same document, so formatting alone is no difference.
fn policy_value(observed: &str, template: Option<&Value>) -> Value {
    let parsed: Value = serde_json::from_str(observed).unwrap_or_else(|_| Value::String(observed.to_string()));
    match template {
        Some(Value::String(text)) if serde_json::from_str::<Value>(text).ok().as_ref() == Some(&parsed) => {
            Value::String(text.clone())
        }
        Some(Value::String(_)) => Value::String(observed.to_string()),
        _ => parsed,
    }
}

/// `AWS::SageMaker::ModelPackageGroup`.
pub(crate) struct ModelPackageGroupType;

#[async_trait::async_trait]
impl ResourceType<SageMaker> for ModelPackageGroupType {
    fn type_name(&self) -> &'static str {
        "AWS::SageMaker::ModelPackageGroup"
    }
    fn physical_name(
        &self,
        context: &infra_core::provider::ResourceContext,
        properties: &serde_json::Value,
    ) -> Option<String> {
        Some(super::chosen_name(context, properties, "ModelPackageGroupName"))
    }

    async fn create(&self, p: &SageMaker, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateModelPackageGroup";
        let name = create_name(req, NAME);
        let props = Props::root(&req.properties, OPERATION)?;
        let description = props.string("ModelPackageGroupDescription")?;
        let tags = some_tags(&props.tags()?);
        p.create_call(OPERATION, false, || {
            p.sagemaker
                .create_model_package_group()
                .model_package_group_name(&name)
                .set_model_package_group_description(description.clone())
                .set_tags(tags.clone())
                .send()
        })
        .await?;
        let subject = format!("model package group {name}");
        p.wait(&req.context, Phase::Create, OPERATION, &subject, "Completed")?
            .until(|| async {
                let group = describe(p, &name).await?.ok_or_else(|| {
                    ProviderError::new(
                        ErrorKind::NotFound,
                        OPERATION,
                        format!("{subject} disappeared while waiting for it"),
                    )
                })?;
                Ok(match group.model_package_group_status() {
                    Some(ModelPackageGroupStatus::Completed) => Poll::Ready(()),
                    Some(ModelPackageGroupStatus::Failed) => Poll::Failed("creation failed".to_string()),
                    status => Poll::Pending(status.map_or("unknown", |s| s.as_str()).to_string()),
                })
            })
            .await?;
        if let Some(policy) = policy_text(props)? {
            put_policy(p, &name, &policy).await?;
        }
        let group = describe(p, &name).await?.ok_or_else(|| {
            ProviderError::new(ErrorKind::NotFound, OPERATION, format!("{subject} disappeared after it was created"))
        })?;
        applied(&group, &name)
    }

    async fn read(&self, p: &SageMaker, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let name = recorded_name(&req.attributes, NAME, &req.physical_id);
        let Some(group) = describe(p, &name).await? else {
            return Ok(None);
        };
        if group.model_package_group_status() == Some(&ModelPackageGroupStatus::Deleting) {
            return Ok(None);
        }
        let template = &req.properties;
        let applied = applied(&group, &name)?;
        let tags = p.list_tags(&applied.physical_id).await?;
        // Only asked for when the template manages a policy: the call fails on groups without
        // one, and some local AWS emulations do not implement it at all.
        let policy = match template.get(POLICY) {
            Some(t) => absent_if_missing(
                p.call("GetModelPackageGroupPolicy", || {
                    p.sagemaker.get_model_package_group_policy().model_package_group_name(&name).send()
                })
                .await,
            )?
            .and_then(|out| out.resource_policy().map(|text| policy_value(text, Some(t)))),
            None => None,
        };
        let observed = ObjectBuilder::new()
            .string("ModelPackageGroupDescription", group.model_package_group_description())
            .put(POLICY, policy)
            .string(NAME, template.get(NAME).and(group.model_package_group_name()))
            .put("Tags", tags_value(tags, template))
            .build();
        Ok(Some(Observed {
            physical_id: applied.physical_id,
            properties: conform(observed, Some(template)),
            attributes: applied.attributes,
            failure: None,
        }))
    }

    async fn update(&self, p: &SageMaker, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        ensure_only_changed(req, &[POLICY, "Tags"])?;
        let name = recorded_name(&req.old_attributes, NAME, &req.physical_id);
        let old = Props::root(&req.old_properties, "UpdateModelPackageGroup")?;
        let new = Props::root(&req.new_properties, "UpdateModelPackageGroup")?;
        if old.get(POLICY) != new.get(POLICY) {
            match policy_text(new)? {
                Some(policy) => put_policy(p, &name, &policy).await?,
                None => {
                    absent_if_missing(
                        p.call("DeleteModelPackageGroupPolicy", || {
                            p.sagemaker.delete_model_package_group_policy().model_package_group_name(&name).send()
                        })
                        .await,
                    )?;
                }
            }
        }
        p.update_tags(&req.physical_id, &old.tags()?, &new.tags()?).await?;
        let group = describe(p, &name).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorKind::NotFound,
                "DescribeModelPackageGroup",
                format!("model package group {name} is gone"),
            )
        })?;
        applied(&group, &name)
    }

    async fn delete(&self, p: &SageMaker, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OPERATION: &str = "DeleteModelPackageGroup";
        let name = recorded_name(&req.attributes, NAME, &req.physical_id);
        if absent_if_missing(
            p.call(OPERATION, || p.sagemaker.delete_model_package_group().model_package_group_name(&name).send()).await,
        )?
        .is_none()
        {
            return Ok(());
        }
        let subject = format!("model package group {name}");
        p.wait(&req.context, Phase::Delete, OPERATION, &subject, "deleted")?
            .until(|| async {
                Ok(match describe(p, &name).await? {
                    None => Poll::Ready(()),
                    Some(g) => match g.model_package_group_status() {
                        Some(ModelPackageGroupStatus::DeleteFailed) => Poll::Failed("deletion failed".to_string()),
                        status => Poll::Pending(status.map_or("unknown", |s| s.as_str()).to_string()),
                    },
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(observed: &str, template: Option<Value>, expected: Value) {
        assert_eq!(policy_value(observed, template.as_ref()), expected);
    }

    #[test]
    fn policies_take_the_template_representation() {
        let text = r#"{"Version":"2012-10-17","Statement":[]}"#;
        check(
            text,
            Some(json!({"Statement": [], "Version": "2012-10-17"})),
            json!({"Version": "2012-10-17", "Statement": []}),
        );
        check(
            text,
            Some(json!("{ \"Version\": \"2012-10-17\", \"Statement\": [] }")),
            json!("{ \"Version\": \"2012-10-17\", \"Statement\": [] }"),
        );
        check(text, Some(json!("{}")), json!(text));
        check("not json", None, json!("not json"));
    }
}
