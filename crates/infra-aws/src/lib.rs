//! AWS providers for infra: one resource type per file, each behind
//! [`infra_core::provider::Provider`]. Nothing here knows about plans, state or the CLI.

pub mod application_autoscaling;
pub mod cloudformation;
pub mod config;
pub mod ec2;
pub mod ecr;
pub mod error;
pub mod iam;
pub mod kit;
pub mod naming;
/// Policy documents compared by meaning: the engine's, which drift detection also uses.
pub use infra_core::policy;
pub mod retry;
pub mod s3;
pub mod sagemaker;
#[cfg(feature = "testing")]
pub mod testing;

pub use application_autoscaling::ApplicationAutoScalingProvider;
/// The resolved SDK configuration [`config::load`] returns, for callers that keep it.
pub use aws_config::SdkConfig;
pub use cloudformation::{CloudFormationProvider, CloudFormationSettings};
pub use config::AwsSettings;
pub use ec2::{Ec2Provider, Ec2Settings};
pub use ecr::EcrProvider;
/// The waiters, where callers have always found them.
pub use kit::waiter;
pub use retry::{retry, RetryPolicy};
pub use s3::{S3Provider, S3Settings};
pub use sagemaker::{SageMakerProvider, SageMakerSettings};

use infra_core::provider::{Provider, ProviderError};
use std::sync::Arc;

/// Every AWS provider, configured from `settings` (what the CLI calls).
pub async fn providers(settings: &AwsSettings) -> Result<Vec<Arc<dyn Provider>>, ProviderError> {
    let config = config::load(settings).await?;
    Ok(providers_for(&config, &RetryPolicy::default()))
}

/// Every AWS provider on an already resolved SDK configuration.
pub fn providers_for(config: &SdkConfig, retry: &RetryPolicy) -> Vec<Arc<dyn Provider>> {
    vec![
        Arc::new(iam::IamProvider::new(config, retry.clone())),
        Arc::new(SageMakerProvider::new(config, retry.clone())),
        Arc::new(ApplicationAutoScalingProvider::new(config, retry.clone())),
        Arc::new(Ec2Provider::new(config, retry.clone())),
        Arc::new(EcrProvider::new(config, retry.clone())),
        Arc::new(S3Provider::new(config, retry.clone())),
        Arc::new(CloudFormationProvider::new(config, retry.clone())),
    ]
}

/// The provider for the AWS types no provider of [`providers_for`] claims: each deployed as a
/// managed CloudFormation stack of its own ([`cloudformation::fallback`]), for
/// `Registry::set_fallback`.
pub fn fallback_for(config: &SdkConfig, retry: &RetryPolicy) -> Arc<dyn Provider> {
    let settings = CloudFormationSettings { retry: retry.clone(), ..CloudFormationSettings::default() };
    Arc::new(cloudformation::fallback::ManagedStacks::new(cloudformation::CloudFormation::new(config, settings)))
}
