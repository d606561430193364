//! Shared pieces of the SageMaker and Application Auto Scaling tests: a local AWS (moto) per
//! test, providers tuned for tests, and the create → read → delete round trip.

#![allow(dead_code)]

use aws_sdk_sagemaker::config::{BehaviorVersion, Credentials, Region};
use infra_aws::retry::RetryPolicy;
use infra_aws::testing::LocalAws;
use infra_aws::waiter::{Polling, Timeouts};
use infra_aws::{ApplicationAutoScalingProvider, SageMakerProvider, SageMakerSettings};
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, Provider, ReadRequest, ResourceContext, UpdateRequest,
};
use serde_json::Value;
use std::time::Duration;

/// A fresh, empty AWS account on the process's local AWS (moto).
pub async fn local_aws() -> aws_types::SdkConfig {
    let aws = LocalAws::shared().unwrap_or_else(|e| panic!("failed to start the local AWS: {e}"));
    let account = aws.account().await.unwrap_or_else(|e| panic!("failed to create an account: {e}"));
    account.sdk_config().await.unwrap_or_else(|e| panic!("failed to configure the SDK: {e}"))
}

/// An SDK configuration for a fake endpoint, with dummy credentials and no SDK retries.
pub fn sdk_config(url: &str) -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_sagemaker::config::SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "tests",
        )))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build()
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_elapsed: Duration::from_secs(5),
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    }
}

pub fn test_settings() -> SageMakerSettings {
    SageMakerSettings {
        retry: fast_retry(),
        role_propagation: Duration::from_secs(5),
        timeouts: Timeouts {
            create: Duration::from_secs(10),
            update: Duration::from_secs(10),
            delete: Duration::from_secs(10),
        },
        polling: Polling {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(50),
            heartbeat_every: Duration::from_secs(60),
        },
        heartbeats: None,
    }
}

pub fn sagemaker(config: &aws_types::SdkConfig) -> SageMakerProvider {
    SageMakerProvider::from_clients(
        aws_sdk_sagemaker::Client::new(config),
        aws_sdk_applicationautoscaling::Client::new(config),
        test_settings(),
    )
}

pub fn autoscaling(config: &aws_types::SdkConfig) -> ApplicationAutoScalingProvider {
    ApplicationAutoScalingProvider::from_client(aws_sdk_applicationautoscaling::Client::new(config), fast_retry())
}

pub fn context(resource_type: &str, logical_id: &str) -> ResourceContext {
    ResourceContext {
        project: "mlplatform".into(),
        environment: "dev".into(),
        layer: "backend".into(),
        stack_name: "mlplatform-dev-backend".into(),
        logical_id: logical_id.into(),
        resource_type: resource_type.into(),
        metadata: Value::Null,
    }
}

/// A resource created through a provider, remembered for reads, updates and deletes.
pub struct Created {
    pub context: ResourceContext,
    pub properties: Value,
    pub applied: Applied,
}

pub async fn create(p: &dyn Provider, resource_type: &str, logical_id: &str, properties: Value) -> Created {
    let context = context(resource_type, logical_id);
    let physical_name = p.physical_name(&context, &properties);
    let req = CreateRequest {
        context: context.clone(),
        physical_name,
        token: "token".into(),
        properties: properties.clone(),
    };
    let applied = p.create(&req).await.unwrap_or_else(|e| panic!("create {logical_id}: {e}"));
    Created { context, properties, applied }
}

impl Created {
    pub async fn read(&self, p: &dyn Provider) -> Option<Value> {
        let req = ReadRequest {
            context: self.context.clone(),
            physical_id: self.applied.physical_id.clone(),
            properties: self.properties.clone(),
            attributes: self.applied.attributes.clone(),
        };
        p.read(&req).await.unwrap_or_else(|e| panic!("read {}: {e}", self.context.logical_id)).map(|o| {
            assert_eq!(o.physical_id, self.applied.physical_id, "physical ID stays the same");
            o.properties
        })
    }

    /// Reads and asserts the live properties equal the template's.
    pub async fn assert_matches_template(&self, p: &dyn Provider) {
        let live = self.read(p).await.unwrap_or_else(|| panic!("{} exists", self.context.logical_id));
        assert_eq!(live, self.properties, "live {} differs from the template", self.context.logical_id);
    }

    pub async fn update(
        &mut self,
        p: &dyn Provider,
        properties: Value,
    ) -> Result<(), infra_core::provider::ProviderError> {
        let req = UpdateRequest {
            context: self.context.clone(),
            physical_id: self.applied.physical_id.clone(),
            old_properties: self.properties.clone(),
            new_properties: properties.clone(),
            old_attributes: self.applied.attributes.clone(),
        };
        self.applied = p.update(&req).await?;
        self.properties = properties;
        Ok(())
    }

    pub async fn delete(&self, p: &dyn Provider) {
        let req = DeleteRequest {
            context: self.context.clone(),
            physical_id: self.applied.physical_id.clone(),
            properties: self.properties.clone(),
            attributes: self.applied.attributes.clone(),
        };
        p.delete(&req).await.unwrap_or_else(|e| panic!("delete {}: {e}", self.context.logical_id));
        assert_eq!(self.read(p).await, None, "{} is gone after delete", self.context.logical_id);
        // Deleting again is still success.
        p.delete(&req).await.unwrap_or_else(|e| panic!("second delete {}: {e}", self.context.logical_id));
    }
}
