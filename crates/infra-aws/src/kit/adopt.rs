//! The one rule for a create whose answer was lost.
//!
//! A create is retried like any call. If an earlier attempt may have been carried out although
//! its answer never arrived (the connection failed or timed out, or the service failed on its
//! side, so no refusal came back), a later attempt can meet that attempt's own success as
//! "already exists". Only then is the existing resource ours to adopt. An "already exists"
//! on the first attempt, or after attempts that were all refused (throttled), is someone
//! else's resource and an error; so is one met after any other retry. Whether an answer was
//! lost is decided by the retry loop ([`crate::retry::retry_create`]), never by message text.

use crate::retry::{retry_create, RetryPolicy};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::ProviderError;
use std::future::Future;

/// What a create came to.
#[derive(Debug)]
pub enum Created<T> {
    /// The create answered.
    Made(T),
    /// An earlier attempt's answer was lost and a later one met "already exists": the
    /// resource is the one that attempt made. The caller describes it; if it is not there
    /// after all, the error stands.
    Adopt(ProviderError),
}

/// Runs a create under `policy` and applies the rule above; `already_exists` recognises the
/// service's answer to creating something that exists.
pub async fn create_or_adopt<T, E, F, Fut>(
    policy: &RetryPolicy,
    operation: &str,
    already_exists: impl Fn(&ProviderError) -> bool,
    op: F,
) -> Result<Created<T>, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (result, answer_lost) = retry_create(policy, operation, op).await;
    decide(result, answer_lost, already_exists)
}

fn decide<T>(
    result: Result<T, ProviderError>,
    answer_lost: bool,
    already_exists: impl Fn(&ProviderError) -> bool,
) -> Result<Created<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Created::Made(v)),
        Err(e) if answer_lost && already_exists(&e) => Ok(Created::Adopt(e)),
        Err(e) => Err(e),
    }
}

/// The `EntityAlreadyExists`-style answer of services that give it a code.
pub fn code_is(code: &'static str) -> impl Fn(&ProviderError) -> bool {
    move |e| e.code.as_deref() == Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_core::provider::ErrorKind;

    fn exists() -> ProviderError {
        ProviderError::new(ErrorKind::Conflict, "CreateRole", "exists").with_code("EntityAlreadyExists")
    }

    #[test]
    fn adopts_only_after_a_lost_answer() {
        let rule = code_is("EntityAlreadyExists");
        assert!(matches!(decide(Ok(1), false, &rule), Ok(Created::Made(1))));
        assert!(matches!(decide::<u8>(Err(exists()), true, &rule), Ok(Created::Adopt(_))));
        assert_eq!(decide::<u8>(Err(exists()), false, &rule).unwrap_err(), exists());
        let other = ProviderError::new(ErrorKind::Invalid, "CreateRole", "bad").with_code("MalformedPolicyDocument");
        assert_eq!(decide::<u8>(Err(other.clone()), true, &rule).unwrap_err(), other);
    }
}
