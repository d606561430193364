//! The provider registry for a run: engine-local types always, AWS ones only when needed.
//!
//! This is the one place that decides which providers exist, so that AWS is wired in here
//! and nowhere else, and AWS configuration is never loaded for a project (or a plan) that
//! has no `AWS::` resource.

use infra_core::provider::local::LocalProvider;
use infra_core::provider::Registry;
use std::sync::Arc;

/// Whether any of these resource types needs the AWS providers.
pub fn needs_aws<'a>(mut types: impl Iterator<Item = &'a str>) -> bool {
    types.any(|t| t.starts_with("AWS::"))
}

/// Providers for a run touching `types`.
pub async fn registry<'a>(types: impl Iterator<Item = &'a str>, region: &str, endpoint_url: Option<&str>) -> anyhow::Result<Registry> {
    let mut registry = Registry::new();
    registry.register(Arc::new(LocalProvider::new()));
    if needs_aws(types) {
        register_aws(&mut registry, region, endpoint_url).await?;
    }
    Ok(registry)
}

/// The account ID `AWS::AccountId` evaluates to: asked of AWS only when AWS is in play.
pub async fn account_id(aws: bool, region: &str, endpoint_url: Option<&str>) -> anyhow::Result<String> {
    if aws {
        let _ = (region, endpoint_url);
        anyhow::bail!("look up the AWS account: this build has no AWS providers yet")
    }
    Ok(infra_core::template::eval::PLACEHOLDER_ACCOUNT_ID.to_string())
}

async fn register_aws(_registry: &mut Registry, region: &str, endpoint_url: Option<&str>) -> anyhow::Result<()> {
    let _ = endpoint_url;
    anyhow::bail!(
        "set up AWS providers for region {region}: this build has no AWS providers yet; \
         only Infra::Local::* resources can be planned and applied"
    )
}
