//! CloudFormation: the nested-stack type (`AWS::CloudFormation::Stack`, in [`stack`]) and the
//! fallback provider for every type no native provider claims ([`fallback`]), both built on
//! one stack toolkit ([`stacks`]): create, update through a change set, delete, waits that
//! report stack events, the first failing resource on failure, and stuck states explained.
//!
//! The fallback deploys ONE MANAGED STACK PER RESOURCE (see ARCHITECTURE.md for why): its
//! stack name is derived from the resource's context and its intent token, so a create whose
//! answer was lost is found again by name.

pub mod fallback;
pub mod stack;
pub mod stacks;

use crate::kit::service::{ResourceType, Service, ServiceContext};
use crate::retry::{retry, RetryPolicy};
use crate::waiter::{HeartbeatSink, Polling, Timeouts, Waits};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{ErrorKind, ProviderError};
use std::future::Future;
use std::time::Duration;

/// Tunables; the defaults suit real AWS, tests shorten them.
#[derive(Clone)]
pub struct CloudFormationSettings {
    pub retry: RetryPolicy,
    /// How long a stack operation may take; a resource's `Metadata` (`infra: { timeout: 2h }`)
    /// overrides them.
    pub timeouts: Timeouts,
    pub polling: Polling,
    pub heartbeats: Option<HeartbeatSink>,
}

impl Default for CloudFormationSettings {
    fn default() -> Self {
        CloudFormationSettings {
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            polling: Polling {
                initial_interval: Duration::from_secs(2),
                max_interval: Duration::from_secs(15),
                heartbeat_every: Duration::from_secs(60),
            },
            heartbeats: None,
        }
    }
}

/// The provider of `AWS::CloudFormation::Stack`, dispatched through [`CloudFormation`]'s table.
pub type CloudFormationProvider = Service<CloudFormation>;

/// The CloudFormation client and settings the nested-stack type and the fallback share.
pub struct CloudFormation {
    pub(crate) client: aws_sdk_cloudformation::Client,
    pub(crate) settings: CloudFormationSettings,
}

impl CloudFormation {
    pub fn new(config: &aws_types::SdkConfig, settings: CloudFormationSettings) -> Self {
        CloudFormation { client: aws_sdk_cloudformation::Client::new(config), settings }
    }

    /// Runs a CloudFormation call under the provider's retry policy. CloudFormation answers a
    /// missing stack with a `ValidationError` ("Stack with id X does not exist"), which is
    /// NotFound here.
    pub(crate) async fn call<T, E, F, Fut>(&self, operation: &str, op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        retry(&self.settings.retry, operation, op).await.map_err(missing_stack_as_not_found)
    }
}

/// `ValidationError: Stack with id X does not exist` means the stack is not there.
fn missing_stack_as_not_found(mut err: ProviderError) -> ProviderError {
    if err.code.as_deref() == Some("ValidationError") && err.message.contains("does not exist") {
        err.kind = ErrorKind::NotFound;
    }
    err
}

impl Service<CloudFormation> {
    pub fn new(config: &aws_types::SdkConfig, retry: RetryPolicy) -> Self {
        Self::with_settings(config, CloudFormationSettings { retry, ..CloudFormationSettings::default() })
    }

    pub fn with_settings(config: &aws_types::SdkConfig, settings: CloudFormationSettings) -> Self {
        Service::from_context(CloudFormation::new(config, settings))
    }
}

impl ServiceContext for CloudFormation {
    const NAME: &'static str = "cloudformation";
    /// CloudFormation throttles its control plane per account; stack operations are long, so
    /// a handful at once keeps the describe calls of their waits within its limits.
    const CONCURRENCY: usize = 8;
    const TYPES: &'static [&'static dyn ResourceType<Self>] = &[&stack::StackType];
}

impl Waits for CloudFormation {
    fn waiting(&self) -> (&Timeouts, &Polling, Option<&HeartbeatSink>) {
        (&self.settings.timeouts, &self.settings.polling, self.settings.heartbeats.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_stack_is_not_found() {
        let missing = ProviderError::new(ErrorKind::Invalid, "DescribeStacks", "Stack with id s does not exist")
            .with_code("ValidationError");
        assert_eq!(missing_stack_as_not_found(missing).kind, ErrorKind::NotFound);
        let bad =
            ProviderError::new(ErrorKind::Invalid, "CreateStack", "Template format error").with_code("ValidationError");
        assert_eq!(missing_stack_as_not_found(bad).kind, ErrorKind::Invalid);
    }
}
