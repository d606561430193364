//! The provider registry for a run: engine-local types always, AWS ones only when needed.
//!
//! This is the one place that decides which providers exist, so that AWS is wired in here
//! and nowhere else, and AWS configuration is never loaded for a project (or a plan) that
//! has no `AWS::` resource.

use anyhow::Context;
use infra_aws::config::AwsSettings;
use infra_aws::retry::RetryNotice;
use infra_aws::{RetryPolicy, SdkConfig};
use infra_core::project::Project;
use infra_core::provider::local::LocalProvider;
use infra_core::provider::Registry;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Overrides every environment's `retry_timeout`.
pub const RETRY_TIMEOUT_VAR: &str = "INFRA_RETRY_TIMEOUT";

/// Whether any of these resource types needs the AWS providers.
pub fn needs_aws<'a>(mut types: impl Iterator<Item = &'a str>) -> bool {
    types.any(|t| t.starts_with("AWS::"))
}

/// Where AWS calls go and as whom, resolved through the SDK's default chain the first time a
/// run needs AWS, and then shared by the account lookup and every provider. So is the retry
/// policy: one endpoint, one record of whether it has answered yet.
pub struct Aws {
    settings: AwsSettings,
    retry_timeout: Duration,
    config: OnceCell<(SdkConfig, RetryPolicy)>,
}

impl Aws {
    /// For environment `env` of `project`: its region (after `--region`), its `endpoint_url`
    /// (without one the SDK honours `AWS_ENDPOINT_URL`) and its `retry_timeout` (which
    /// `INFRA_RETRY_TIMEOUT` overrides); `profile` is `--profile`.
    pub fn new(project: &Project, env: &str, profile: Option<&str>) -> anyhow::Result<Self> {
        let settings = AwsSettings {
            region: Some(project.region(env).to_string()),
            profile: profile.map(str::to_string),
            endpoint_url: project.endpoint_url(env).map(str::to_string),
        };
        let from_env = std::env::var_os(RETRY_TIMEOUT_VAR);
        let retry_timeout = retry_timeout(from_env.as_deref(), project.retry_timeout(env))?;
        Ok(Aws { settings, retry_timeout, config: OnceCell::new() })
    }

    async fn config(&self) -> anyhow::Result<(&SdkConfig, &RetryPolicy)> {
        let (config, policy) = self
            .config
            .get_or_try_init(|| async {
                let config = infra_aws::config::load(&self.settings).await?;
                let policy = RetryPolicy::default()
                    .with_max_elapsed(self.retry_timeout)
                    .with_observer(print_notice)
                    .for_config(&config);
                Ok::<_, infra_core::provider::ProviderError>((config, policy))
            })
            .await
            .context("load the AWS configuration")?;
        Ok((config, policy))
    }
}

/// The first retry of every AWS call, on stderr, so a slow or unreachable endpoint never
/// looks like a hang.
fn print_notice(notice: &RetryNotice) {
    eprintln!("note: {notice}");
}

/// How long one AWS call is retried: `INFRA_RETRY_TIMEOUT` if set, else the environment's
/// `retry_timeout`, else the default.
fn retry_timeout(from_env: Option<&std::ffi::OsStr>, configured: Option<Duration>) -> anyhow::Result<Duration> {
    let Some(raw) = from_env else {
        return Ok(configured.unwrap_or(infra_aws::retry::DEFAULT_MAX_ELAPSED));
    };
    let text = raw.to_str().with_context(|| format!("read {RETRY_TIMEOUT_VAR}: it is not valid UTF-8"))?;
    infra_core::project::parse_duration(text).map_err(|why| {
        anyhow::anyhow!("read {RETRY_TIMEOUT_VAR}: `{text}` is not a duration ({why}); write e.g. 90s, 5m or 1h 30m")
    })
}

/// Providers for a run touching `types`.
pub async fn registry<'a>(
    types: impl Iterator<Item = &'a str>,
    project: &Project,
    aws: &Aws,
) -> anyhow::Result<Registry> {
    let mut registry = Registry::new();
    registry.register(Arc::new(LocalProvider::for_project(&project.dir, project.local_files_outside())))?;
    if needs_aws(types) {
        let (config, policy) = aws.config().await?;
        for provider in infra_aws::providers_for(config, policy) {
            registry.register(provider)?;
        }
        // Every other AWS type of the registry schemas goes through CloudFormation.
        registry.set_fallback(infra_aws::fallback_for(config, policy));
    }
    Ok(registry)
}

/// The account ID `AWS::AccountId` evaluates to: asked of STS only when AWS is in play.
pub async fn account_id(lookup: bool, aws: &Aws) -> anyhow::Result<String> {
    if !lookup {
        return Ok(infra_core::template::eval::PLACEHOLDER_ACCOUNT_ID.to_string());
    }
    let (config, policy) = aws.config().await?;
    infra_aws::config::account_id(config, policy).await.context("look up the AWS account (STS GetCallerIdentity)")
}
