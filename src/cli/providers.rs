//! The provider registry for a run: engine-local types always, AWS ones only when needed.
//!
//! This is the one place that decides which providers exist, so that AWS is wired in here
//! and nowhere else, and AWS configuration is never loaded for a project (or a plan) that
//! has no `AWS::` resource.

use anyhow::Context;
use infra_aws::config::AwsSettings;
use infra_aws::{RetryPolicy, SdkConfig};
use infra_core::project::Project;
use infra_core::provider::local::LocalProvider;
use infra_core::provider::Registry;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Whether any of these resource types needs the AWS providers.
pub fn needs_aws<'a>(mut types: impl Iterator<Item = &'a str>) -> bool {
    types.any(|t| t.starts_with("AWS::"))
}

/// Where AWS calls go and as whom, resolved through the SDK's default chain the first time a
/// run needs AWS, and then shared by the account lookup and every provider.
pub struct Aws {
    settings: AwsSettings,
    config: OnceCell<SdkConfig>,
}

impl Aws {
    /// `region`: the environment's (or `--region`); `profile`: `--profile`; `endpoint_url`:
    /// the environment's `endpoint_url` — without one the SDK honours `AWS_ENDPOINT_URL`.
    pub fn new(region: &str, profile: Option<&str>, endpoint_url: Option<&str>) -> Self {
        let settings = AwsSettings {
            region: Some(region.to_string()),
            profile: profile.map(str::to_string),
            endpoint_url: endpoint_url.map(str::to_string),
        };
        Aws { settings, config: OnceCell::new() }
    }

    async fn config(&self) -> anyhow::Result<&SdkConfig> {
        self.config
            .get_or_try_init(|| infra_aws::config::load(&self.settings))
            .await
            .context("load the AWS configuration")
    }
}

/// Providers for a run touching `types`.
pub async fn registry<'a>(
    types: impl Iterator<Item = &'a str>,
    project: &Project,
    aws: &Aws,
) -> anyhow::Result<Registry> {
    let mut registry = Registry::new();
    registry.register(Arc::new(LocalProvider::for_project(&project.dir, project.local_files_outside())));
    if needs_aws(types) {
        for provider in infra_aws::providers_for(aws.config().await?, &RetryPolicy::default()) {
            registry.register(provider);
        }
    }
    Ok(registry)
}

/// The account ID `AWS::AccountId` evaluates to: asked of STS only when AWS is in play.
pub async fn account_id(lookup: bool, aws: &Aws) -> anyhow::Result<String> {
    if !lookup {
        return Ok(infra_core::template::eval::PLACEHOLDER_ACCOUNT_ID.to_string());
    }
    infra_aws::config::account_id(aws.config().await?, &RetryPolicy::default())
        .await
        .context("look up the AWS account (STS GetCallerIdentity)")
}
