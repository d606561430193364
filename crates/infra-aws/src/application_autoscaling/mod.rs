//! The Application Auto Scaling provider: scalable targets and scaling policies, for
//! SageMaker endpoint variants and anything else the service can scale.

use crate::kit::service::{ResourceType, Service, ServiceContext};
use crate::retry::{retry, RetryPolicy};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{ErrorKind, ProviderError};
use std::future::Future;

pub mod scalable_target;
pub mod scaling_policy;

/// The Application Auto Scaling provider: its types, dispatched through [`AutoScaling`]'s
/// table.
pub type ApplicationAutoScalingProvider = Service<AutoScaling>;

/// The client and retry policy the Application Auto Scaling types share.
pub struct AutoScaling {
    pub(crate) client: aws_sdk_applicationautoscaling::Client,
    pub(crate) retry: RetryPolicy,
}

impl Service<AutoScaling> {
    pub fn new(config: &aws_types::SdkConfig, retry: RetryPolicy) -> Self {
        Self::from_client(aws_sdk_applicationautoscaling::Client::new(config), retry.for_config(config))
    }

    pub fn from_client(client: aws_sdk_applicationautoscaling::Client, retry: RetryPolicy) -> Self {
        Service::from_context(AutoScaling { client, retry })
    }
}

impl AutoScaling {
    pub(crate) async fn call<T, E, F, Fut>(&self, operation: &str, op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        retry(&self.retry, operation, op).await.map_err(|e| crate::kit::errors::missing_as_not_found(operation, e))
    }
}

/// The three coordinates of a scalable target; its CloudFormation Ref joins them with `|`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TargetId {
    pub resource_id: String,
    pub scalable_dimension: String,
    pub service_namespace: String,
}

impl TargetId {
    pub(crate) fn parse(id: &str, operation: &str) -> Result<TargetId, ProviderError> {
        let mut parts = id.splitn(3, '|');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(r), Some(d), Some(n)) if !r.is_empty() && !d.is_empty() && !n.is_empty() => Ok(TargetId {
                resource_id: r.to_string(),
                scalable_dimension: d.to_string(),
                service_namespace: n.to_string(),
            }),
            _ => Err(ProviderError::new(
                ErrorKind::Invalid,
                operation,
                format!("scalable target ID {id:?} must look like ResourceId|ScalableDimension|ServiceNamespace"),
            )),
        }
    }

    pub(crate) fn render(&self) -> String {
        format!("{}|{}|{}", self.resource_id, self.scalable_dimension, self.service_namespace)
    }

    pub(crate) fn namespace(&self) -> aws_sdk_applicationautoscaling::types::ServiceNamespace {
        self.service_namespace.as_str().into()
    }

    pub(crate) fn dimension(&self) -> aws_sdk_applicationautoscaling::types::ScalableDimension {
        self.scalable_dimension.as_str().into()
    }
}

impl ServiceContext for AutoScaling {
    const NAME: &'static str = "application-autoscaling";
    const CONCURRENCY: usize = 4;
    const TYPES: &'static [&'static dyn ResourceType<Self>] =
        &[&scalable_target::ScalableTargetType, &scaling_policy::ScalingPolicyType];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, expected: Option<(&str, &str, &str)>) {
        let parsed = TargetId::parse(id, "op").ok();
        let expected = expected.map(|(r, d, n)| TargetId {
            resource_id: r.into(),
            scalable_dimension: d.into(),
            service_namespace: n.into(),
        });
        assert_eq!(parsed, expected, "{id}");
        if let Some(t) = &expected {
            assert_eq!(t.render(), id);
        }
    }

    #[test]
    fn target_ids() {
        check(
            "endpoint/e/variant/AllTraffic|sagemaker:variant:DesiredInstanceCount|sagemaker",
            Some(("endpoint/e/variant/AllTraffic", "sagemaker:variant:DesiredInstanceCount", "sagemaker")),
        );
        check("a|b", None);
        check("a||c", None);
        check("", None);
    }
}
