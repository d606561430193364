//! AWS providers for infra: one resource type per file, each behind
//! [`infra_core::provider::Provider`]. Nothing here knows about plans, state or the CLI.

pub mod config;
pub mod error;
pub mod iam;
pub mod naming;
pub mod policy;
pub mod retry;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::AwsSettings;
pub use retry::{retry, RetryPolicy};

use aws_config::SdkConfig;
use infra_core::provider::{Provider, ProviderError};
use std::sync::Arc;

/// Every AWS provider, configured from `settings` (what the CLI calls).
pub async fn providers(settings: &AwsSettings) -> Result<Vec<Arc<dyn Provider>>, ProviderError> {
    let config = config::load(settings).await?;
    Ok(providers_for(&config, &RetryPolicy::default()))
}

/// Every AWS provider on an already resolved SDK configuration.
pub fn providers_for(config: &SdkConfig, retry: &RetryPolicy) -> Vec<Arc<dyn Provider>> {
    vec![Arc::new(iam::IamProvider::new(config, retry.clone()))]
}
