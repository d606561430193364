//! The fallback provider: every resource type of the vendored registry schemas that no native
//! provider claims is deployed through CloudFormation, ONE MANAGED STACK PER RESOURCE.
//!
//! - The stack's name is derived from the resource's context and its create's intent token
//!   (`{stack name}-{LogicalId}-{hash of the token}`), so [`Provider::find`] finds it after a
//!   crash, and a replacement (a new intent) is a new stack, deleted old one after.
//! - Its template holds the one resource with its resolved properties and
//!   `DeletionPolicy: Delete`, and Outputs: `Ref` (the resource's real physical ID, which
//!   becomes the state's physical ID) and one per read-only attribute of the type's schema
//!   (the output's Description names the attribute). An attribute CloudFormation refuses in
//!   `Fn::GetAtt` ("does not support attribute type …") is dropped and the stack submitted
//!   again without it: `Fn::GetAtt` of it then fails at apply time as an unknown attribute.
//! - The stack's ID is recorded as the attribute [`STACK_ATTRIBUTE`], so updates (a change
//!   set on the stack) and deletes (of the stack) find it.
//!
//! Cloud Control is the natural second route (types with a Cloud Control handler, no stack
//! per resource); [`Route`] is where it would be chosen. It is not implemented.

use super::stacks::{LiveStack, StackInput, TemplateSource};
use super::CloudFormation;
use crate::kit::service::ServiceContext;
use async_trait::async_trait;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, DriftAnswer, ErrorKind, FindRequest, Observed, Provider,
    ProviderError, ReadRequest, ResourceContext, UpdateRequest,
};
use serde_json::{json, Map, Value};

/// The attribute that records the managed stack's ID (never a real attribute name: those
/// have no colon).
pub const STACK_ATTRIBUTE: &str = "infra:StackId";

/// The output holding the resource's `Ref`.
const REF_OUTPUT: &str = "Ref";

/// How the fallback provisions types nobody else claims. Only CloudFormation exists; AWS
/// Cloud Control API would be a second variant (`CloudControl`), chosen per type where it
/// has a handler, behind the same [`Provider`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// One managed CloudFormation stack per resource.
    CloudFormation,
}

impl Route {
    /// The label plans show (`through CloudFormation`).
    pub fn label(self) -> &'static str {
        match self {
            Route::CloudFormation => "CloudFormation",
        }
    }
}

/// The fallback [`Provider`] (see the module documentation).
pub struct ManagedStacks {
    cfn: CloudFormation,
    route: Route,
}

impl ManagedStacks {
    pub fn new(cfn: CloudFormation) -> Self {
        ManagedStacks { cfn, route: Route::CloudFormation }
    }

    fn stack_id<'a>(&self, attributes: &'a Attributes, operation: &str) -> Result<&'a str, ProviderError> {
        attributes.get(STACK_ATTRIBUTE).and_then(Value::as_str).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Invalid,
                operation,
                format!("the state records no managed stack for this resource (attribute {STACK_ATTRIBUTE})"),
            )
        })
    }

    /// Submits the stack (through `submit`), dropping attribute outputs CloudFormation
    /// refuses in `Fn::GetAtt`, one at a time.
    async fn with_attributes<F, Fut>(
        &self,
        context: &ResourceContext,
        properties: &Value,
        submit: F,
    ) -> Result<LiveStack, ProviderError>
    where
        F: Fn(StackInput) -> Fut,
        Fut: std::future::Future<Output = Result<LiveStack, ProviderError>>,
    {
        let mut attributes = attribute_names(&context.resource_type);
        loop {
            let input = StackInput {
                template: TemplateSource::Body(template(context, properties, &attributes)?),
                parameters: Vec::new(),
                tags: Vec::new(),
                timeout_in_minutes: None,
                notification_arns: None,
            };
            match submit(input).await {
                Err(e) => match refused_attribute(&e.message).filter(|a| attributes.contains(a)) {
                    Some(a) => attributes.retain(|x| *x != a),
                    None => return Err(e),
                },
                ok => return ok,
            }
        }
    }

    /// What a live managed stack holds: the resource's ID and attributes.
    fn applied(&self, context: &ResourceContext, stack: &LiveStack, operation: &str) -> Result<Applied, ProviderError> {
        let physical_id = stack.output(REF_OUTPUT).filter(|v| !v.is_empty()).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Other,
                operation,
                format!("stack {} reports no physical ID for {} (its Ref output)", stack.name, context.logical_id),
            )
        })?;
        let mut attributes = Attributes::new();
        for o in stack.outputs.iter().filter(|o| o.key != REF_OUTPUT) {
            if let Some(name) = &o.description {
                attributes.insert(name.clone(), Value::String(o.value.clone()));
            }
        }
        attributes.insert(STACK_ATTRIBUTE.to_string(), Value::String(stack.id.clone()));
        Ok(Applied { physical_id: physical_id.to_string(), attributes })
    }

    /// The resource's properties as the stack's template holds them.
    async fn template_properties(&self, stack: &LiveStack, logical_id: &str) -> Result<Value, ProviderError> {
        let out = self.cfn.call("GetTemplate", || self.cfn.client.get_template().stack_name(&stack.id).send()).await?;
        let body = out.template_body().unwrap_or_default();
        let template: Value = serde_json::from_str(body).map_err(|e| {
            ProviderError::new(
                ErrorKind::Other,
                "GetTemplate",
                format!("stack {} has a template infra did not write: {e}", stack.name),
            )
        })?;
        Ok(template["Resources"][logical_id]["Properties"].clone())
    }

    /// The observed resource of a live managed stack.
    async fn observe(&self, context: &ResourceContext, stack: &LiveStack) -> Result<Observed, ProviderError> {
        let properties = self.template_properties(stack, &context.logical_id).await?;
        if super::stacks::failed_create(&stack.status) {
            let reason = match self.cfn.first_failure(stack, 0).await {
                Ok(Some(f)) => f.to_string(),
                _ => stack.reason.clone().unwrap_or_else(|| "no reason given".to_string()),
            };
            return Ok(Observed {
                physical_id: stack.output(REF_OUTPUT).unwrap_or(&stack.id).to_string(),
                properties,
                attributes: [(STACK_ATTRIBUTE.to_string(), Value::String(stack.id.clone()))].into_iter().collect(),
                failure: Some(format!("its managed stack {} is {}: {reason}", stack.name, stack.status)),
            });
        }
        let Applied { physical_id, attributes } = self.applied(context, stack, "DescribeStacks")?;
        Ok(Observed { physical_id, properties, attributes, failure: None })
    }

    /// A stack that cannot be read as settled: still in progress, or stuck.
    async fn refuse_unsettled(&self, stack: &LiveStack, operation: &str) -> Result<(), ProviderError> {
        if let Some(why) = self.cfn.explain_stuck(stack).await? {
            return Err(ProviderError::new(ErrorKind::Conflict, operation, why));
        }
        if super::stacks::in_progress(&stack.status) {
            return Err(ProviderError::new(
                ErrorKind::Conflict,
                operation,
                format!("stack {} is still {}; run infra again once it has finished", stack.name, stack.status),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl Provider for ManagedStacks {
    fn name(&self) -> &str {
        "cloudformation-fallback"
    }

    fn resource_types(&self) -> &[&'static str] {
        &[]
    }

    /// Every `AWS::` type with a vendored registry schema (those are CloudFormation's types)
    /// but the nested stack, which has a provider of its own.
    fn accepts(&self, resource_type: &str) -> bool {
        resource_type.starts_with("AWS::")
            && resource_type != "AWS::CloudFormation::Stack"
            && infra_core::schema::get(resource_type).is_some()
    }

    fn concurrency(&self) -> usize {
        CloudFormation::CONCURRENCY
    }

    fn provisioned_through(&self, _resource_type: &str) -> Option<&str> {
        Some(self.route.label())
    }

    async fn create(&self, req: &CreateRequest) -> Result<Applied, ProviderError> {
        let name = managed_stack_name(&req.context, &req.token);
        let stack = self
            .with_attributes(&req.context, &req.properties, |input| {
                let name = name.clone();
                async move { self.cfn.create_stack(&req.context, &name, &req.token, &input).await }
            })
            .await?;
        self.applied(&req.context, &stack, "CreateStack")
    }

    async fn read(&self, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let id = self.stack_id(&req.attributes, "DescribeStacks")?;
        let Some(stack) = self.cfn.describe_stack(id).await? else { return Ok(None) };
        self.refuse_unsettled(&stack, "DescribeStacks").await?;
        self.observe(&req.context, &stack).await.map(Some)
    }

    /// Through CloudFormation's own drift detection of the one resource in its managed stack:
    /// the stack's template says only what infra deployed, not what is live.
    async fn drift(&self, req: &ReadRequest) -> Result<DriftAnswer, ProviderError> {
        const OPERATION: &str = "DetectStackResourceDrift";
        let id = self.stack_id(&req.attributes, "DescribeStacks")?;
        let Some(stack) = self.cfn.describe_stack(id).await? else { return Ok(DriftAnswer::Gone) };
        self.refuse_unsettled(&stack, "DescribeStacks").await?;
        let logical_id = &req.context.logical_id;
        let answer = self
            .cfn
            .call(OPERATION, || {
                self.cfn
                    .client
                    .detect_stack_resource_drift()
                    .stack_name(&stack.id)
                    .logical_resource_id(logical_id)
                    .send()
            })
            .await;
        let out = match answer {
            Ok(out) => out,
            Err(e) if !e.is_ambiguous() => {
                return Ok(DriftAnswer::NotCheckable(format!(
                    "deployed through CloudFormation, whose drift detection is not available for it: {e}"
                )))
            }
            Err(e) => return Err(e),
        };
        Ok(super::stacks::drift_answer(out.stack_resource_drift()))
    }

    async fn find(&self, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        let name = managed_stack_name(&req.context, &req.token);
        let Some(stack) = self.cfn.describe_stack(&name).await? else { return Ok(None) };
        if stack.intent() != Some(req.token.as_str()) {
            return Err(ProviderError::new(
                ErrorKind::Conflict,
                "DescribeStacks",
                format!(
                    "stack {name} exists but its {} tag is not this create's token; infra cannot tell whether it \
                     made it: delete it, or import what it holds",
                    infra_core::provider::INTENT_TAG
                ),
            ));
        }
        // A change set that was never executed made nothing: the create is still to do (and
        // removes that stack first).
        if stack.status == "REVIEW_IN_PROGRESS" {
            return Ok(None);
        }
        self.refuse_unsettled(&stack, "DescribeStacks").await?;
        self.observe(&req.context, &stack).await.map(Some)
    }

    async fn update(&self, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        let id = self.stack_id(&req.old_attributes, "UpdateStack")?.to_string();
        let stack = self
            .with_attributes(&req.context, &req.new_properties, |input| {
                let id = id.clone();
                async move { self.cfn.update_stack(&req.context, &id, &input).await }
            })
            .await?;
        self.applied(&req.context, &stack, "UpdateStack")
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError> {
        let id = self.stack_id(&req.attributes, "DeleteStack")?;
        match self.cfn.describe_stack(id).await? {
            None => Ok(()),
            Some(stack) => self.cfn.delete_stack(&req.context, &stack).await,
        }
    }
}

/// The managed stack's name: `{stack name}-{LogicalId}-{13 characters of the token's hash}`.
pub fn managed_stack_name(context: &ResourceContext, token: &str) -> String {
    let stack_name = if context.stack_name.is_empty() {
        format!("{}-{}-{}", context.project, context.environment, context.layer)
    } else {
        context.stack_name.clone()
    };
    crate::naming::fit(&[&stack_name, &context.logical_id], &token_suffix(token), crate::naming::CLOUDFORMATION_STACK)
}

/// 13 upper-case letters and digits from a 64-bit FNV-1a hash of the token: stable across
/// runs and builds, as the name must be found again after a crash.
fn token_suffix(token: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in token.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (0..crate::naming::SUFFIX_LEN)
        .map(|_| {
            let c = ALPHABET[(hash % 36) as usize];
            hash /= 36;
            char::from(c)
        })
        .collect()
}

/// The type's read-only properties (`readOnlyProperties`, `/properties/Endpoint/Address` as
/// `Endpoint.Address`) that `Fn::GetAtt` serves: what only the service knows after a create.
/// The other attributes are properties the template sets itself.
fn attribute_names(resource_type: &str) -> Vec<String> {
    let Some(schema) = infra_core::schema::get(resource_type) else { return Vec::new() };
    schema
        .read_only_properties()
        .iter()
        .map(|p| p.strip_prefix("/properties/").unwrap_or(p).replace('/', "."))
        .filter(|a| !a.contains('*') && schema.has_attribute(a))
        .collect()
}

/// The attribute named by CloudFormation's "does not support attribute type X in Fn::GetAtt".
fn refused_attribute(message: &str) -> Option<String> {
    let rest = message.split("does not support attribute type ").nth(1)?;
    Some(rest.split(" in Fn::GetAtt").next()?.trim().to_string())
}

/// An output key for an attribute: letters and digits only, as CloudFormation requires.
fn output_key(attribute: &str) -> String {
    format!("Att{}", attribute.chars().filter(char::is_ascii_alphanumeric).collect::<String>())
}

/// The managed stack's template: the one resource, `DeletionPolicy: Delete`, and its outputs.
fn template(context: &ResourceContext, properties: &Value, attributes: &[String]) -> Result<String, ProviderError> {
    let id = &context.logical_id;
    let mut resource = Map::new();
    resource.insert("Type".into(), Value::String(context.resource_type.clone()));
    if properties.as_object().is_some_and(|p| !p.is_empty()) {
        resource.insert("Properties".into(), properties.clone());
    }
    resource.insert("DeletionPolicy".into(), json!("Delete"));
    resource.insert("UpdateReplacePolicy".into(), json!("Delete"));
    let mut outputs = Map::new();
    outputs.insert(REF_OUTPUT.into(), json!({"Value": {"Ref": id}}));
    for a in attributes {
        outputs.insert(output_key(a), json!({"Value": {"Fn::GetAtt": [id, a]}, "Description": a}));
    }
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("infra: {} ({}) of layer {}", id, context.resource_type, context.layer),
        "Resources": {id.as_str(): resource},
        "Outputs": outputs,
    });
    serde_json::to_string(&template).map_err(|e| {
        ProviderError::new(ErrorKind::Invalid, "CreateStack", format!("the template cannot be written: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> ResourceContext {
        ResourceContext {
            project: "p".into(),
            environment: "dev".into(),
            layer: "app".into(),
            stack_name: "p-dev-app".into(),
            logical_id: "Topic".into(),
            resource_type: "AWS::SNS::Topic".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_stack_name_follows_from_the_token() {
        let a = managed_stack_name(&context(), "token-1");
        assert!(a.starts_with("p-dev-app-Topic-"), "{a}");
        assert_eq!(a, managed_stack_name(&context(), "token-1"));
        assert_ne!(a, managed_stack_name(&context(), "token-2"));
        assert_eq!(a.len(), "p-dev-app-Topic-".len() + crate::naming::SUFFIX_LEN);
    }

    #[test]
    fn the_template_holds_one_resource_and_its_outputs() {
        let text = template(&context(), &json!({"TopicName": "t"}), &["TopicArn".to_string()]).expect("template");
        let t: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(t["Resources"]["Topic"]["Properties"], json!({"TopicName": "t"}));
        assert_eq!(t["Resources"]["Topic"]["DeletionPolicy"], "Delete");
        assert_eq!(t["Outputs"]["Ref"]["Value"], json!({"Ref": "Topic"}));
        assert_eq!(
            t["Outputs"]["AttTopicArn"],
            json!({"Value": {"Fn::GetAtt": ["Topic", "TopicArn"]}, "Description": "TopicArn"})
        );
        assert_eq!(attribute_names("AWS::SNS::Topic"), vec!["TopicArn".to_string()]);
        assert_eq!(attribute_names("AWS::SQS::Queue"), vec!["QueueUrl".to_string(), "Arn".to_string()]);
        assert!(attribute_names("AWS::CloudWatch::Dashboard").is_empty());
    }

    #[test]
    fn refused_attributes_are_named() {
        let m = "Template error: resource Topic does not support attribute type TopicArn in Fn::GetAtt";
        assert_eq!(refused_attribute(m).as_deref(), Some("TopicArn"));
        assert_eq!(refused_attribute("Template format error"), None);
        assert_eq!(output_key("Endpoint.Address"), "AttEndpointAddress");
    }
}
