//! S3 resource types behind one provider: buckets and bucket policies. Each type lives in its
//! own file; this module holds what they share: the client (path-style addressing when an
//! endpoint override is set, as a local AWS on loopback needs), the retry policy, the region
//! and the answers that mean "that configuration is not set". The bucket's sub-configurations
//! (versioning, encryption, lifecycle, …) are translated in [`configuration`].

pub mod bucket;
pub mod bucket_policy;
pub mod configuration;

use crate::kit::service::{ResourceType, Service, ServiceContext};
use crate::retry::{retry, RetryPolicy};
use aws_config::SdkConfig;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{ErrorKind, ProviderError};
use std::future::Future;

/// Tunables; the defaults suit real AWS, tests shorten them.
#[derive(Clone)]
pub struct S3Settings {
    pub retry: RetryPolicy,
    /// How many object versions one `ListObjectVersions` page (and so one `DeleteObjects`
    /// batch) holds when a bucket is counted or emptied; S3 allows at most 1000.
    pub page_size: i32,
}

impl Default for S3Settings {
    fn default() -> Self {
        S3Settings { retry: RetryPolicy::default(), page_size: 1000 }
    }
}

/// The S3 provider: every S3 type, dispatched through [`S3`]'s table.
pub type S3Provider = Service<S3>;

/// The S3 client and what every S3 call needs, shared by the S3 types.
pub struct S3 {
    pub(crate) client: aws_sdk_s3::Client,
    pub(crate) settings: S3Settings,
    /// The region buckets are created in (the configuration's).
    pub(crate) region: String,
}

impl Service<S3> {
    pub fn new(config: &SdkConfig, retry: RetryPolicy) -> Self {
        Self::with_settings(config, S3Settings { retry, ..S3Settings::default() })
    }

    pub fn with_settings(config: &SdkConfig, settings: S3Settings) -> Self {
        let mut builder = aws_sdk_s3::config::Builder::from(config);
        // Virtual-hosted addressing puts the bucket in the host name, which an endpoint
        // override on an address (a local AWS, a proxy) cannot resolve.
        if config.endpoint_url().is_some() {
            builder = builder.force_path_style(true);
        }
        let settings = S3Settings { retry: settings.retry.for_config(config), ..settings };
        Service::from_context(S3 {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            settings,
            region: config.region().map(|r| r.as_ref().to_string()).unwrap_or_else(|| "us-east-1".to_string()),
        })
    }
}

impl S3 {
    /// Runs an S3 call under the provider's retry policy.
    pub(crate) async fn call<T, E, F, Fut>(&self, operation: &str, op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        retry(&self.settings.retry, operation, op).await
    }

    pub(crate) fn partition(&self) -> &'static str {
        crate::config::partition(&self.region)
    }

    /// Whether the bucket exists and this account can use it: `Ok(false)` when there is no
    /// such bucket; an error (naming the bucket) when it belongs to someone else.
    pub(crate) async fn bucket_exists(&self, bucket: &str) -> Result<bool, ProviderError> {
        match self.call("HeadBucket", || self.client.head_bucket().bucket(bucket).send()).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(false),
            Err(e) if matches!(e.code.as_deref(), Some("Forbidden" | "AccessDenied")) || e.message.contains("403") => {
                Err(owned_elsewhere("HeadBucket", bucket))
            }
            Err(e) => Err(e),
        }
    }

    /// Whether this account owns the bucket: it is among the account's own buckets. (A bucket
    /// of another account that lets this one in answers `HeadBucket` all the same.)
    pub(crate) async fn owns_bucket(&self, bucket: &str) -> Result<bool, ProviderError> {
        let c = &self.client;
        let mut token: Option<String> = None;
        loop {
            let out = self
                .call("ListBuckets", || c.list_buckets().prefix(bucket).set_continuation_token(token.clone()).send())
                .await?;
            if out.buckets().iter().any(|b| b.name() == Some(bucket)) {
                return Ok(true);
            }
            match out.continuation_token() {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => token = Some(next.to_string()),
                _ => return Ok(false),
            }
        }
    }
}

/// The error for a bucket name someone else holds (S3 bucket names are global).
pub(crate) fn owned_elsewhere(operation: &str, bucket: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Conflict,
        operation,
        format!(
            "bucket {bucket} already exists and belongs to another account (bucket names are global across \
             all of AWS); choose another BucketName, or leave BucketName out to have a unique name generated"
        ),
    )
    .with_code("BucketAlreadyExists")
}

/// The answers of a `GetBucket…` call that mean "the bucket has no such configuration", as
/// opposed to "the bucket is not there" (`NoSuchBucket`).
const NOT_SET_CODES: &[&str] = &[
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
    "OwnershipControlsNotFoundError",
    "NoSuchLifecycleConfiguration",
    "NoSuchCORSConfiguration",
    "NoSuchWebsiteConfiguration",
    "NoSuchTagSet",
    "NoSuchBucketPolicy",
];

/// `Ok(None)` when the bucket has no such configuration; a missing bucket stays an error.
pub(crate) fn unset<T>(result: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code.as_deref().is_some_and(|c| NOT_SET_CODES.contains(&c)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether an error says the bucket itself is gone.
pub(crate) fn no_such_bucket(err: &ProviderError) -> bool {
    err.code.as_deref() == Some("NoSuchBucket")
}

impl ServiceContext for S3 {
    const NAME: &'static str = "s3";
    /// S3's bucket-level calls are rate limited per account, and bucket creation is slow to
    /// propagate; a handful at once keeps out of SlowDown answers.
    const CONCURRENCY: usize = 10;
    const TYPES: &'static [&'static dyn ResourceType<Self>] = &[
        // One line per type, each in its own file.
        &bucket::BucketType,
        &bucket_policy::BucketPolicyType,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_configurations_are_not_missing_buckets() {
        let err = |code: &str| ProviderError::new(ErrorKind::NotFound, "GetBucketCors", "x").with_code(code);
        assert_eq!(unset::<u8>(Err(err("NoSuchCORSConfiguration"))), Ok(None));
        assert_eq!(unset::<u8>(Err(err("NoSuchTagSet"))), Ok(None));
        assert_eq!(unset::<u8>(Err(err("NoSuchBucket"))), Err(err("NoSuchBucket")));
        assert_eq!(unset(Ok(1)), Ok(Some(1)));
        assert!(no_such_bucket(&err("NoSuchBucket")));
        assert!(crate::kit::service::duplicate_types::<S3>().is_empty());
    }
}
