//! The SageMaker provider: models, endpoint configurations, endpoints and model package
//! groups, sharing one SageMaker client (and an Application Auto Scaling client, because an
//! endpoint must not be updated or deleted behind its autoscaler's back).

use crate::kit::adopt::{create_or_adopt, Created};
use crate::kit::props::Props;
use crate::kit::service::{ResourceType, Service, ServiceContext};
use crate::retry::{is_iam_propagation, retry, RetryPolicy, IAM_PROPAGATION_WINDOW};
use crate::waiter::{HeartbeatSink, Polling, Timeouts, Waits};
use aws_sdk_sagemaker::types::Tag;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{Applied, CreateRequest, ErrorKind, ProviderError, ResourceContext, UpdateRequest};
use std::time::Duration;

pub mod endpoint;
pub mod endpoint_config;
pub mod model;
pub mod model_package_group;

/// Tunables; the defaults suit real AWS, tests shorten them.
#[derive(Clone)]
pub struct SageMakerSettings {
    pub retry: RetryPolicy,
    /// How long a freshly created execution role may stay unassumable (IAM propagation).
    pub role_propagation: Duration,
    pub timeouts: Timeouts,
    pub polling: Polling,
    pub heartbeats: Option<HeartbeatSink>,
}

impl Default for SageMakerSettings {
    fn default() -> Self {
        SageMakerSettings {
            retry: RetryPolicy::default(),
            role_propagation: IAM_PROPAGATION_WINDOW,
            timeouts: Timeouts::default(),
            polling: Polling::default(),
            heartbeats: None,
        }
    }
}

/// The SageMaker provider: every SageMaker type, dispatched through [`SageMaker`]'s table.
pub type SageMakerProvider = Service<SageMaker>;

/// The clients and settings the SageMaker types share.
pub struct SageMaker {
    pub(crate) sagemaker: aws_sdk_sagemaker::Client,
    pub(crate) autoscaling: aws_sdk_applicationautoscaling::Client,
    pub(crate) settings: SageMakerSettings,
}

impl Service<SageMaker> {
    pub fn new(config: &aws_types::SdkConfig, retry: RetryPolicy) -> Self {
        Self::from_clients(
            aws_sdk_sagemaker::Client::new(config),
            aws_sdk_applicationautoscaling::Client::new(config),
            SageMakerSettings { retry: retry.for_config(config), ..SageMakerSettings::default() },
        )
    }

    pub fn from_clients(
        sagemaker: aws_sdk_sagemaker::Client,
        autoscaling: aws_sdk_applicationautoscaling::Client,
        settings: SageMakerSettings,
    ) -> Self {
        Service::from_context(SageMaker { sagemaker, autoscaling, settings })
    }
}

impl SageMaker {
    /// Runs a SageMaker call with the provider's retry policy.
    pub(crate) async fn call<T, E, F, Fut>(&self, operation: &str, op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        retry(&self.settings.retry, operation, op)
            .await
            .map_err(|e| crate::kit::errors::missing_as_not_found(operation, e))
    }

    /// Runs a create call under the one adoption rule ([`crate::kit::adopt`]): a create
    /// retried after a lost answer can meet its own earlier success ("Cannot create already
    /// existing …"); that is `Ok(None)`, and the caller describes what is there. With
    /// `execution_role`, also rides out IAM propagation of the role SageMaker must assume.
    pub(crate) async fn create_call<T, E, F, Fut>(
        &self,
        operation: &str,
        execution_role: bool,
        op: F,
    ) -> Result<Option<T>, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut policy = self.settings.retry.clone();
        if execution_role {
            policy = policy.retry_when(self.settings.role_propagation, is_iam_propagation);
        }
        match create_or_adopt(&policy, operation, already_exists, op).await? {
            Created::Made(v) => Ok(Some(v)),
            Created::Adopt(_) => Ok(None),
        }
    }

    /// All tags on a SageMaker resource.
    pub(crate) async fn list_tags(&self, arn: &str) -> Result<Vec<(String, String)>, ProviderError> {
        let mut tags = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .call("ListTags", || self.sagemaker.list_tags().resource_arn(arn).set_next_token(next.clone()).send())
                .await?;
            tags.extend(
                page.tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))),
            );
            match page.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(tags),
            }
        }
    }

    /// Brings a resource's tags from `old` to `new` with as few calls as possible.
    pub(crate) async fn update_tags(
        &self,
        arn: &str,
        old: &[(String, String)],
        new: &[(String, String)],
    ) -> Result<(), ProviderError> {
        let (mut removed, added) = crate::kit::tags::changes(old, new);
        // A changed value is removed first: AddTags overwrites on AWS, but emulations append a
        // second tag with the same key, and the extra call costs little.
        removed.extend(added.iter().filter(|(k, _)| old.iter().any(|(o, _)| o == k)).map(|(k, _)| k.clone()));
        if !removed.is_empty() {
            self.call("DeleteTags", || {
                self.sagemaker.delete_tags().resource_arn(arn).set_tag_keys(Some(removed.clone())).send()
            })
            .await?;
        }
        if !added.is_empty() {
            let tags = sdk_tags(&added);
            self.call("AddTags", || self.sagemaker.add_tags().resource_arn(arn).set_tags(Some(tags.clone())).send())
                .await?;
        }
        Ok(())
    }
}

/// SageMaker's answer to creating something that exists ("Cannot create already existing
/// model …"): a ValidationException with no code of its own, so only its text tells. It is
/// asked only after an answer was lost ([`crate::kit::adopt`]).
fn already_exists(err: &ProviderError) -> bool {
    let message = err.message.to_ascii_lowercase();
    message.contains("already existing") || message.contains("already exists")
}

/// The ARN a response must carry: it becomes the resource's physical ID.
/// What a create or update records for types whose Ref is the ARN and whose one attribute is
/// the name (`name_attribute`, e.g. `ModelName`).
pub(crate) fn named(name_attribute: &str, arn: String, name: String) -> Applied {
    let mut attributes = infra_core::provider::Attributes::new();
    attributes.insert(name_attribute.into(), serde_json::Value::String(name));
    Applied { physical_id: arn, attributes }
}

/// Update of a type that is immutable but for its tags (models, endpoint configurations): any
/// other change is refused, so the planner replaces instead.
pub(crate) async fn update_tags_only(
    p: &SageMaker,
    req: &UpdateRequest,
    name_attribute: &str,
) -> Result<Applied, ProviderError> {
    ensure_only_changed(req, &["Tags"])?;
    let old = Props::root(&req.old_properties, "AddTags")?.tags()?;
    let new = Props::root(&req.new_properties, "AddTags")?.tags()?;
    p.update_tags(&req.physical_id, &old, &new).await?;
    Ok(named(
        name_attribute,
        req.physical_id.clone(),
        recorded_name(&req.old_attributes, name_attribute, &req.physical_id),
    ))
}

pub(crate) fn require_arn(operation: &str, arn: Option<&str>) -> Result<String, ProviderError> {
    match arn {
        Some(arn) if !arn.is_empty() => Ok(arn.to_string()),
        _ => Err(ProviderError::new(ErrorKind::Other, operation, "the response carried no ARN")),
    }
}

/// Tags in the SDK's type.
pub(crate) fn sdk_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// Tags for a create request; `None` when there are none, so requests stay minimal.
pub(crate) fn some_tags(tags: &[(String, String)]) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| sdk_tags(tags))
}

/// The resource name inside a SageMaker ARN (`arn:…:endpoint/NAME`), or the ID itself when
/// it is not an ARN.
pub(crate) fn name_from_id(physical_id: &str) -> &str {
    if physical_id.starts_with("arn:") {
        physical_id.rsplit_once('/').map_or(physical_id, |(_, name)| name)
    } else {
        physical_id
    }
}

/// The name a resource was created with: recorded in its attributes, else taken from its ID.
/// SageMaker ARNs lower-case the name, so the attribute is preferred.
pub(crate) fn recorded_name(attributes: &infra_core::provider::Attributes, key: &str, physical_id: &str) -> String {
    attributes
        .get(key)
        .and_then(serde_json::Value::as_str)
        .map_or_else(|| name_from_id(physical_id).to_string(), str::to_string)
}

/// The name for a new resource: the template's, else a generated one.
pub(crate) fn chosen_name(context: &ResourceContext, properties: &serde_json::Value, name_property: &str) -> String {
    match properties.get(name_property).and_then(serde_json::Value::as_str) {
        Some(name) => name.to_string(),
        None => crate::naming::generate(context, crate::naming::SAGEMAKER),
    }
}

/// The name a create uses: the one chosen before the call, else chosen now.
pub(crate) fn create_name(req: &CreateRequest, name_property: &str) -> String {
    req.physical_name.clone().unwrap_or_else(|| chosen_name(&req.context, &req.properties, name_property))
}

/// Refuses an in-place update of anything but `updatable` properties: SageMaker models and
/// endpoint configurations are immutable, so such a change needs a replacement.
pub(crate) fn ensure_only_changed(req: &UpdateRequest, updatable: &[&str]) -> Result<(), ProviderError> {
    let empty = serde_json::Map::new();
    let old = req.old_properties.as_object().unwrap_or(&empty);
    let new = req.new_properties.as_object().unwrap_or(&empty);
    let changed: std::collections::BTreeSet<&str> = old
        .keys()
        .chain(new.keys())
        .filter(|k| !updatable.contains(&k.as_str()) && old.get(*k) != new.get(*k))
        .map(String::as_str)
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    Err(ProviderError::new(
        ErrorKind::Unsupported,
        "update",
        format!(
            "{} cannot change {} in place; it must be replaced",
            req.context.resource_type,
            changed.into_iter().collect::<Vec<_>>().join(", ")
        ),
    ))
}

impl ServiceContext for SageMaker {
    const NAME: &'static str = "sagemaker";
    /// SageMaker's control-plane limits are low (a few calls per second per operation).
    const CONCURRENCY: usize = 4;
    const TYPES: &'static [&'static dyn ResourceType<Self>] = &[
        &model::ModelType,
        &endpoint_config::EndpointConfigType,
        &endpoint::EndpointType,
        &model_package_group::ModelPackageGroupType,
    ];
}

impl Waits for SageMaker {
    fn waiting(&self) -> (&Timeouts, &Polling, Option<&HeartbeatSink>) {
        (&self.settings.timeouts, &self.settings.polling, self.settings.heartbeats.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_name(id: &str, expected: &str) {
        assert_eq!(name_from_id(id), expected);
    }

    #[test]
    fn names_from_ids() {
        check_name("arn:aws:sagemaker:us-east-1:123456789012:endpoint/my-ep", "my-ep");
        check_name("arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/c1", "c1");
        check_name("plain-name", "plain-name");
    }
}
