//! Where AWS calls go and as whom: region, profile, endpoint and credentials, resolved once
//! through the SDK's default chain and shared by every client.

use crate::retry::{retry, RetryPolicy};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;
use infra_core::provider::{ErrorKind, ProviderError};
use std::time::Duration;

/// What the command line and the project settings say about AWS. Everything left `None` comes
/// from the SDK's default chain (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, shared
/// config files, instance metadata, ...).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AwsSettings {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// Send every request here instead of AWS (a local AWS, a proxy).
    pub endpoint_url: Option<String>,
}

/// Static credentials, for a local AWS only; real accounts go through the default chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

/// Resolve `settings` into an SDK configuration through the default chain.
pub async fn load(settings: &AwsSettings) -> Result<SdkConfig, ProviderError> {
    load_with(settings, None).await
}

/// [`load`], with credentials fixed instead of taken from the default chain.
pub async fn load_with(
    settings: &AwsSettings,
    credentials: Option<&StaticCredentials>,
) -> Result<SdkConfig, ProviderError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        // Retries belong to crate::retry, which has no quota that throttling can drain.
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(c) = credentials {
        loader = loader.credentials_provider(Credentials::new(
            &c.access_key_id,
            &c.secret_access_key,
            c.session_token.clone(),
            None,
            "infra-static",
        ));
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(ProviderError::new(
            ErrorKind::Invalid,
            "LoadAwsConfig",
            "no AWS region configured: set `region` in infra.toml, pass --region, or set AWS_REGION",
        ));
    }
    Ok(config)
}

/// The account the credentials belong to (STS GetCallerIdentity).
pub async fn account_id(config: &SdkConfig, policy: &RetryPolicy) -> Result<String, ProviderError> {
    let sts = aws_sdk_sts::Client::new(config);
    let policy = policy.clone().for_config(config);
    let out = retry(&policy, "GetCallerIdentity", || sts.get_caller_identity().send()).await?;
    out.account
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, "GetCallerIdentity", "the response names no account"))
}

/// Where the clients of `config` send requests, as errors and notices name it: the endpoint
/// URL when one is set (an environment's `endpoint_url`, `AWS_ENDPOINT_URL`), else AWS's own
/// endpoints of the region.
pub fn endpoint_label(config: &SdkConfig) -> String {
    match (config.endpoint_url(), config.region()) {
        (Some(url), _) => url.to_string(),
        (None, Some(region)) => format!("the AWS endpoints of region {region}"),
        (None, None) => "the AWS endpoints".to_string(),
    }
}

/// The ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`, ...).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else {
        "aws"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(region: &str, expected: &str) {
        assert_eq!(partition(region), expected, "{region}");
    }

    #[test]
    fn partitions() {
        check("us-east-1", "aws");
        check("eu-west-1", "aws");
        check("cn-north-1", "aws-cn");
        check("us-gov-west-1", "aws-us-gov");
        check("us-iso-east-1", "aws-iso");
        check("us-isob-east-1", "aws-iso-b");
    }

    #[tokio::test]
    async fn explicit_settings_win() {
        let settings = AwsSettings {
            region: Some("eu-central-1".into()),
            profile: None,
            endpoint_url: Some("http://127.0.0.1:1".into()),
        };
        let config = load(&settings).await.expect("config");
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-central-1"));
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:1"));
        assert_eq!(config.retry_config().map(|r| r.max_attempts()), Some(1));
    }
}
