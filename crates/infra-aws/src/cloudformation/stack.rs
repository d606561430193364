//! `AWS::CloudFormation::Stack`: a nested stack, deployed as a stack of its own. Its template
//! is a file of the project (the engine reads it and hands it over as `TemplateBody`, next to
//! the `TemplateURL` the template names), or an `https://` / `s3://` URL CloudFormation reads.
//! Parameters pass in as strings; Outputs come back as the attributes `Outputs.<Name>`. Ref is
//! the stack ID; the stack's name is chosen before the create
//! (`{stack name}-{LogicalId}-{suffix}`), so a create whose answer was lost is adopted.

use super::stacks::{LiveStack, StackInput, TemplateSource};
use super::CloudFormation;
use crate::kit::props::Props;
use crate::kit::service::ResourceType;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::Value;

/// The property the engine adds with the text of a template file of the project.
pub const TEMPLATE_BODY: &str = "TemplateBody";

/// `AWS::CloudFormation::Stack`.
pub(crate) struct StackType;

/// The stack input the properties describe.
fn input(properties: &Value, operation: &str) -> Result<StackInput, ProviderError> {
    let props = Props::root(properties, operation)?;
    let template = match (props.string(TEMPLATE_BODY)?, props.string("TemplateURL")?) {
        (Some(body), _) => TemplateSource::Body(body),
        (None, Some(url)) => TemplateSource::Url(template_url(&url, operation)?),
        (None, None) => {
            return Err(ProviderError::new(ErrorKind::Invalid, operation, "property TemplateURL is required"));
        }
    };
    let parameters = match props.get("Parameters") {
        None => Vec::new(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                parameter_value(v).map(|v| (k.clone(), v)).ok_or_else(|| {
                    ProviderError::new(
                        ErrorKind::Invalid,
                        operation,
                        format!("property Parameters.{k} must be a string, a number, a boolean or a list of strings"),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ProviderError::new(ErrorKind::Invalid, operation, "property Parameters must be an object"));
        }
    };
    Ok(StackInput {
        template,
        parameters,
        tags: props.tags()?,
        timeout_in_minutes: props.int("TimeoutInMinutes")?,
        notification_arns: props.strings("NotificationARNs")?,
    })
}

/// A parameter's value as CloudFormation takes it: text (lists comma-separated).
fn parameter_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => {
            items.iter().map(|i| i.as_str().map(str::to_string)).collect::<Option<Vec<_>>>().map(|v| v.join(","))
        }
        _ => None,
    }
}

/// A template URL CloudFormation can read: `https://` as given, `s3://bucket/key` as the
/// bucket's HTTPS address. A relative path the engine did not resolve is refused.
fn template_url(url: &str, operation: &str) -> Result<String, ProviderError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(url.to_string());
    }
    if let Some((bucket, key)) = url.strip_prefix("s3://").and_then(|rest| rest.split_once('/')) {
        return Ok(format!("https://{bucket}.s3.amazonaws.com/{key}"));
    }
    Err(ProviderError::new(
        ErrorKind::Invalid,
        operation,
        format!(
            "property TemplateURL `{url}` is neither a template file of the project (a path relative to the \
             layer folder) nor an https:// or s3:// URL"
        ),
    ))
}

/// The stack's ID and its outputs as `Outputs.<Name>`.
fn applied(stack: &LiveStack) -> Applied {
    let mut attributes = Attributes::new();
    for o in &stack.outputs {
        attributes.insert(format!("Outputs.{}", o.key), Value::String(o.value.clone()));
    }
    attributes.insert("StackId".into(), Value::String(stack.id.clone()));
    Applied { physical_id: stack.id.clone(), attributes }
}

#[async_trait::async_trait]
impl ResourceType<CloudFormation> for StackType {
    fn type_name(&self) -> &'static str {
        "AWS::CloudFormation::Stack"
    }

    fn physical_name(&self, context: &ResourceContext, _properties: &Value) -> Option<String> {
        Some(crate::naming::generate(context, crate::naming::CLOUDFORMATION_STACK))
    }

    /// Outputs may change with every update of the child template.
    fn volatile_attributes(&self) -> Vec<String> {
        vec!["Outputs.*".to_string()]
    }

    async fn create(&self, cfn: &CloudFormation, req: &CreateRequest) -> Result<Applied, ProviderError> {
        let input = input(&req.properties, "CreateStack")?;
        let name = req
            .physical_name
            .clone()
            .unwrap_or_else(|| crate::naming::generate(&req.context, crate::naming::CLOUDFORMATION_STACK));
        let stack = cfn.create_stack(&req.context, &name, &req.token, &input).await?;
        Ok(applied(&stack))
    }

    async fn read(&self, cfn: &CloudFormation, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let Some(stack) = cfn.describe_stack(&req.physical_id).await? else { return Ok(None) };
        // A change set that was never executed made nothing.
        if stack.status == "REVIEW_IN_PROGRESS" {
            return Ok(None);
        }
        if let Some(why) = cfn.explain_stuck(&stack).await? {
            return Err(ProviderError::new(ErrorKind::Conflict, "DescribeStacks", why));
        }
        let template = &req.properties;
        let mut observed = template.as_object().cloned().unwrap_or_default();
        if template.get(TEMPLATE_BODY).is_some() {
            let out = cfn.call("GetTemplate", || cfn.client.get_template().stack_name(&stack.id).send()).await?;
            observed.insert(TEMPLATE_BODY.into(), Value::String(out.template_body().unwrap_or_default().to_string()));
        }
        if template.get("Parameters").is_some() || !stack.parameters.is_empty() {
            let live: serde_json::Map<String, Value> =
                stack.parameters.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            // Given as numbers or lists in the template, they read back as the text sent.
            let shaped = match template.get("Parameters").and_then(Value::as_object) {
                Some(given) => live
                    .into_iter()
                    .map(|(k, v)| match given.get(&k) {
                        Some(g) if parameter_value(g).as_deref() == v.as_str() => (k, g.clone()),
                        _ => (k, v),
                    })
                    .collect(),
                None => live,
            };
            observed.insert("Parameters".into(), Value::Object(shaped));
        }
        match crate::kit::tags::observed(stack.template_tags(), template) {
            Some(tags) => observed.insert("Tags".into(), tags),
            None => observed.remove("Tags"),
        };
        let failure = super::stacks::failed_create(&stack.status)
            .then(|| format!("stack {} is {}: {}", stack.name, stack.status, stack.reason.clone().unwrap_or_default()));
        let Applied { physical_id, attributes } = applied(&stack);
        Ok(Some(Observed { physical_id, properties: Value::Object(observed), attributes, failure }))
    }

    async fn update(&self, cfn: &CloudFormation, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        let input = input(&req.new_properties, "UpdateStack")?;
        let stack = cfn.update_stack(&req.context, &req.physical_id, &input).await?;
        Ok(applied(&stack))
    }

    async fn delete(&self, cfn: &CloudFormation, req: &DeleteRequest) -> Result<(), ProviderError> {
        match cfn.describe_stack(&req.physical_id).await? {
            None => Ok(()),
            Some(stack) => cfn.delete_stack(&req.context, &stack).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inputs() {
        let i = input(
            &json!({"TemplateURL": "child.yaml", "TemplateBody": "Resources: {}", "Parameters": {"A": "x", "N": 3, "L": ["a", "b"]}}),
            "CreateStack",
        )
        .expect("input");
        assert_eq!(i.template, TemplateSource::Body("Resources: {}".into()));
        assert_eq!(i.parameters, vec![("A".into(), "x".into()), ("N".into(), "3".into()), ("L".into(), "a,b".into())]);
        let url = input(&json!({"TemplateURL": "s3://b/k/t.yaml"}), "CreateStack").expect("s3");
        assert_eq!(url.template, TemplateSource::Url("https://b.s3.amazonaws.com/k/t.yaml".into()));
        let err = input(&json!({"TemplateURL": "child.yaml"}), "CreateStack").expect_err("unresolved path");
        assert!(err.message.contains("neither a template file of the project"), "{}", err.message);
        let err =
            input(&json!({"TemplateBody": "x", "Parameters": {"A": {"B": 1}}}), "CreateStack").expect_err("object");
        assert!(err.message.contains("Parameters.A"), "{}", err.message);
    }
}
