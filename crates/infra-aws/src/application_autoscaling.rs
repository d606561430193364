//! The Application Auto Scaling provider: scalable targets and scaling policies, for
//! SageMaker endpoint variants and anything else the service can scale.

use crate::retry::{retry, RetryPolicy};
use crate::sagemaker::unsupported;
use crate::{application_autoscaling_scalable_target, application_autoscaling_scaling_policy};
use async_trait::async_trait;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, ErrorKind, Observed, Provider, ProviderError, ReadRequest, ResourceContext,
    UpdateRequest,
};
use std::future::Future;

pub const SCALABLE_TARGET: &str = "AWS::ApplicationAutoScaling::ScalableTarget";
pub const SCALING_POLICY: &str = "AWS::ApplicationAutoScaling::ScalingPolicy";

pub struct ApplicationAutoScalingProvider {
    pub(crate) client: aws_sdk_applicationautoscaling::Client,
    pub(crate) retry: RetryPolicy,
}

impl ApplicationAutoScalingProvider {
    pub fn new(config: &aws_types::SdkConfig, retry: RetryPolicy) -> Self {
        Self::from_client(aws_sdk_applicationautoscaling::Client::new(config), retry.for_config(config))
    }

    pub fn from_client(client: aws_sdk_applicationautoscaling::Client, retry: RetryPolicy) -> Self {
        ApplicationAutoScalingProvider { client, retry }
    }

    pub(crate) async fn call<T, E, F, Fut>(&self, operation: &str, op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        retry(&self.retry, operation, op).await.map_err(|e| crate::sagemaker::missing_as_not_found(operation, e))
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

/// A required field the SDK's builder found missing.
pub(crate) fn build_error(operation: &str, err: aws_smithy_types::error::operation::BuildError) -> ProviderError {
    ProviderError::new(ErrorKind::Invalid, operation, err.to_string())
}

#[async_trait]
impl Provider for ApplicationAutoScalingProvider {
    fn name(&self) -> &str {
        "application-autoscaling"
    }

    fn resource_types(&self) -> &[&'static str] {
        &[SCALABLE_TARGET, SCALING_POLICY]
    }

    fn concurrency(&self) -> usize {
        4
    }

    /// A scalable target's ID follows from its properties, so it is known before the create
    /// and a target registered just before a crash can be read back by it. Policies get
    /// their ARN from the service; re-putting one by name is harmless.
    fn physical_name(&self, context: &ResourceContext, properties: &serde_json::Value) -> Option<String> {
        if context.resource_type != SCALABLE_TARGET {
            return None;
        }
        let field = |key: &str| properties.get(key).and_then(serde_json::Value::as_str).map(str::to_string);
        let target = TargetId {
            resource_id: field("ResourceId")?,
            scalable_dimension: field("ScalableDimension")?,
            service_namespace: field("ServiceNamespace")?,
        };
        Some(target.render())
    }

    async fn create(&self, req: &CreateRequest) -> Result<Applied, ProviderError> {
        match req.context.resource_type.as_str() {
            SCALABLE_TARGET => application_autoscaling_scalable_target::create(self, req).await,
            SCALING_POLICY => application_autoscaling_scaling_policy::create(self, req).await,
            other => Err(unsupported(other)),
        }
    }

    async fn read(&self, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        match req.context.resource_type.as_str() {
            SCALABLE_TARGET => application_autoscaling_scalable_target::read(self, req).await,
            SCALING_POLICY => application_autoscaling_scaling_policy::read(self, req).await,
            other => Err(unsupported(other)),
        }
    }

    async fn update(&self, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        match req.context.resource_type.as_str() {
            SCALABLE_TARGET => application_autoscaling_scalable_target::update(self, req).await,
            SCALING_POLICY => application_autoscaling_scaling_policy::update(self, req).await,
            other => Err(unsupported(other)),
        }
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError> {
        match req.context.resource_type.as_str() {
            SCALABLE_TARGET => application_autoscaling_scalable_target::delete(self, req).await,
            SCALING_POLICY => application_autoscaling_scaling_policy::delete(self, req).await,
            other => Err(unsupported(other)),
        }
    }
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
