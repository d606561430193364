//! The ECR provider: container image repositories. This module holds what the ECR types
//! share: the client and its retry policy, ECR's own error codes, generated repository names
//! and tags. Property reading, tags and read-back shaping come from the [toolkit](crate::kit).

pub mod repository;

use crate::kit::adopt::{code_is, create_or_adopt, Created};
use crate::kit::service::{ResourceType, Service, ServiceContext};
use crate::naming::{self, Charset, NameRules};
use crate::retry::{retry, RetryPolicy};
use aws_config::SdkConfig;
use aws_sdk_ecr::types::Tag;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{ErrorKind, ProviderError, ResourceContext};
use std::future::Future;

/// The ECR provider: every ECR type, dispatched through [`Ecr`]'s table.
pub type EcrProvider = Service<Ecr>;

/// The ECR client and what every ECR call needs, shared by the ECR types.
pub struct Ecr {
    pub(crate) client: aws_sdk_ecr::Client,
    pub(crate) retry: RetryPolicy,
}

impl Service<Ecr> {
    pub fn new(sdk_config: &SdkConfig, retry: RetryPolicy) -> Self {
        Service::from_context(Ecr { client: aws_sdk_ecr::Client::new(sdk_config), retry: retry.for_config(sdk_config) })
    }
}

impl ServiceContext for Ecr {
    const NAME: &'static str = "ecr";
    /// ECR's control-plane calls are rate-limited per account to a few dozen a second; ten at
    /// once stays well inside that.
    const CONCURRENCY: usize = 10;
    const TYPES: &'static [&'static dyn ResourceType<Self>] = &[&repository::RepositoryType];
}

/// ECR's answer to creating a repository whose name is taken.
pub(crate) const ALREADY_EXISTS: &str = "RepositoryAlreadyExistsException";
/// ECR's refusal to delete a repository that still holds images.
pub(crate) const NOT_EMPTY: &str = "RepositoryNotEmptyException";
/// A repository without a lifecycle policy answers GetLifecyclePolicy with this.
pub(crate) const NO_LIFECYCLE_POLICY: &str = "LifecyclePolicyNotFoundException";
/// A repository without a repository policy answers GetRepositoryPolicy with this.
pub(crate) const NO_REPOSITORY_POLICY: &str = "RepositoryPolicyNotFoundException";

/// ECR answers "exists" and "not empty" with HTTP 400, which on its own reads as a bad
/// request: they are conflicts with what is there. A missing repository
/// (`RepositoryNotFoundException`) is already not-found by [`crate::error`]; a missing
/// policy is left as it is, so a read can tell "no policy" from "no repository"
/// ([`unless_code`]).
fn classify(mut err: ProviderError) -> ProviderError {
    if matches!(err.code.as_deref(), Some(ALREADY_EXISTS | NOT_EMPTY)) {
        err.kind = ErrorKind::Conflict;
    }
    err
}

impl Ecr {
    /// Runs an ECR call under the provider's retry policy.
    pub(crate) async fn call<T, E, F, Fut>(&self, operation: &str, op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        retry(&self.retry, operation, op).await.map_err(classify)
    }

    /// Runs a create under the one adoption rule ([`crate::kit::adopt`]): "already exists"
    /// is ours to adopt only after an attempt whose answer was lost.
    pub(crate) async fn create_call<T, E, F, Fut>(&self, operation: &str, op: F) -> Result<Created<T>, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        create_or_adopt(&self.retry, operation, code_is(ALREADY_EXISTS), op).await.map_err(classify)
    }
}

/// `Ok(None)` when the call failed with `code` (a policy the repository does not have);
/// any other failure, a missing repository among them, stays an error.
pub(crate) fn unless_code<T>(result: Result<T, ProviderError>, code: &str) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code.as_deref() == Some(code) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Generated repository names: ECR takes lowercase `[a-z0-9._/-]` up to 256 characters, each
/// separator between letters or digits. Generated names keep to letters, digits and hyphens
/// (naming's [`Charset::AlnumHyphen`]) and are then lowercased, which satisfies that.
pub(crate) const REPOSITORY_NAME: NameRules = NameRules { max_len: 256, charset: Charset::AlnumHyphen };

/// The name a repository gets: the template's `name_property`, else a generated one.
pub(crate) fn chosen_name(context: &ResourceContext, properties: &serde_json::Value, name_property: &str) -> String {
    match properties.get(name_property).and_then(serde_json::Value::as_str) {
        Some(name) => name.to_string(),
        None => naming::generate(context, REPOSITORY_NAME).to_ascii_lowercase(),
    }
}

/// Tags in the SDK's type; ECR requires a value, so an absent one is sent empty.
pub(crate) fn sdk_tags(pairs: &[(String, String)], operation: &str) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::new(ErrorKind::Invalid, operation, format!("invalid tag {k}: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ECR's own pattern for repository names, checked by hand: lowercase letters and digits
    /// in runs, joined by `.`, `_`, `__`, one or more `-`, or `/`.
    fn ecr_accepts(name: &str) -> bool {
        let runs_ok = name
            .split(['.', '_', '-', '/'])
            .all(|run| run.is_empty() || run.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        let first_last = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        (2..=256).contains(&name.len()) && runs_ok && first_last(name.chars().next()) && first_last(name.chars().last())
    }

    #[test]
    fn generated_names_satisfy_ecr() {
        let (long_stack, long_id) = ("S".repeat(300), "L".repeat(300));
        let cases = [
            ("mlplatform-dev-shared", "InferenceRepository", "mlplatform-dev-shared-inferencerepository-"),
            ("-Odd_Stack.Name", "Repo_1", "oddstackname-repo1-"),
            (long_stack.as_str(), long_id.as_str(), "sss"),
        ];
        for (stack, logical_id, prefix) in cases {
            let ctx = ResourceContext {
                stack_name: stack.to_string(),
                logical_id: logical_id.to_string(),
                resource_type: "AWS::ECR::Repository".into(),
                ..Default::default()
            };
            let name = chosen_name(&ctx, &serde_json::json!({}), "RepositoryName");
            assert!(ecr_accepts(&name), "{name}");
            assert!(name.starts_with(prefix), "{name} does not start with {prefix}");
            assert_ne!(name, chosen_name(&ctx, &serde_json::json!({}), "RepositoryName"));
        }
        let named = ResourceContext::default();
        assert_eq!(
            chosen_name(&named, &serde_json::json!({"RepositoryName": "team/app"}), "RepositoryName"),
            "team/app"
        );
    }

    #[test]
    fn the_table_names_each_type_once() {
        assert!(crate::kit::service::duplicate_types::<Ecr>().is_empty());
    }

    #[test]
    fn ecr_codes_are_classified() {
        let err = |code: &str| ProviderError::new(ErrorKind::Invalid, "DeleteRepository", "x").with_code(code);
        assert_eq!(classify(err(NOT_EMPTY)).kind, ErrorKind::Conflict);
        assert_eq!(classify(err(ALREADY_EXISTS)).kind, ErrorKind::Conflict);
        assert_eq!(classify(err("InvalidParameterException")).kind, ErrorKind::Invalid);
        assert_eq!(unless_code::<u8>(Err(err(NO_LIFECYCLE_POLICY)), NO_LIFECYCLE_POLICY), Ok(None));
        assert_eq!(unless_code::<u8>(Err(err("X")), NO_LIFECYCLE_POLICY), Err(err("X")));
        assert_eq!(unless_code(Ok(1), NO_LIFECYCLE_POLICY), Ok(Some(1)));
    }
}
