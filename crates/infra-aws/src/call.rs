//! How the SageMaker and Application Auto Scaling providers invoke the SDK: every call goes
//! through [`call`], which retries what is worth retrying and maps failures to
//! [`ProviderError`] naming the operation, AWS's error code and AWS's message.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{ErrorKind, ProviderError};
use std::future::Future;
use std::time::{Duration, Instant};

/// Backoff for transient failures: exponential with full jitter, bounded by total time.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_elapsed: Duration,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_elapsed: Duration::from_secs(300),
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// The pause before attempt `attempt + 1`: a random point below the exponential bound.
    pub fn delay(&self, attempt: u32) -> Duration {
        let bound = self.base_delay.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(self.max_delay);
        let millis = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(fastrand::u64(0..=millis))
    }
}

/// Errors that mean "not yet" rather than "no": retried for a bounded window on top of the
/// transient ones, such as a role IAM has not finished propagating.
#[derive(Clone, Copy, Debug)]
pub struct EventualConsistency {
    pub applies: fn(&ProviderError) -> bool,
    pub window: Duration,
}

/// SageMaker cannot use a role IAM has only just created: CreateModel answers with a
/// ValidationException until the role propagates.
pub fn role_not_yet_assumable(err: &ProviderError) -> bool {
    let message = err.message.to_ascii_lowercase();
    err.code.as_deref() == Some("ValidationException")
        && (message.contains("could not assume role")
            || message.contains("cannot be assumed")
            || message.contains("unable to assume role"))
}

/// Runs one SDK operation with retries. `consistency` widens what is retried.
pub async fn call<T, E, F, Fut>(
    operation: &str,
    policy: &RetryPolicy,
    consistency: Option<EventualConsistency>,
    mut op: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let start = Instant::now();
    let mut attempt = 0u32;
    loop {
        let err = match op().await {
            Ok(v) => return Ok(v),
            Err(e) => provider_error(operation, e),
        };
        let limit = match consistency {
            Some(c) if (c.applies)(&err) => c.window,
            _ if err.kind == ErrorKind::Transient => policy.max_elapsed,
            _ => return Err(err),
        };
        let delay = policy.delay(attempt);
        if start.elapsed() + delay > limit {
            return Err(err);
        }
        tokio::time::sleep(delay).await;
        attempt = attempt.saturating_add(1);
    }
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "ProvisionedThroughputExceededException",
];

/// Maps an SDK failure to a [`ProviderError`].
pub fn provider_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let e = service.err();
            let code = e.code().map(str::to_string);
            let message = e.message().map(str::to_string).unwrap_or_else(|| e.to_string());
            let kind = error_kind(code.as_deref(), &message, status);
            let mut out = ProviderError::new(kind, operation, message);
            out.code = code;
            out
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            ProviderError::new(ErrorKind::Transient, operation, describe_chain(&err))
        }
        SdkError::ResponseError(ref r) => {
            let status = r.raw().status().as_u16();
            let kind = if status >= 500 { ErrorKind::Transient } else { ErrorKind::Other };
            ProviderError::new(kind, operation, describe_chain(&err))
        }
        other => ProviderError::new(ErrorKind::Other, operation, describe_chain(&other)),
    }
}

fn describe_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn error_kind(code: Option<&str>, message: &str, status: u16) -> ErrorKind {
    let code = code.unwrap_or("");
    if THROTTLING_CODES.contains(&code) || status >= 500 || code == "ConcurrentUpdateException" {
        return ErrorKind::Transient;
    }
    match code {
        "ResourceNotFound" | "ResourceNotFoundException" | "ObjectNotFoundException" | "NoSuchEntity" => {
            ErrorKind::NotFound
        }
        // SageMaker reports a missing resource as a ValidationException with a message.
        "ValidationException" if is_missing_message(message) => ErrorKind::NotFound,
        "ValidationException" | "InvalidParameterValue" | "InvalidParameterCombination" => ErrorKind::Invalid,
        "ResourceInUse" | "ResourceInUseException" | "ConflictException" | "ResourceLimitExceeded"
        | "LimitExceededException" => ErrorKind::Conflict,
        "AccessDeniedException" | "UnrecognizedClientException" => ErrorKind::Invalid,
        _ => ErrorKind::Other,
    }
}

fn is_missing_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("could not find") || m.contains("does not exist") || m.contains("not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(code: Option<&str>, message: &str, status: u16, expected: ErrorKind) {
        assert_eq!(error_kind(code, message, status), expected, "{code:?} {message:?} {status}");
    }

    #[test]
    fn error_kinds() {
        check(Some("ThrottlingException"), "Rate exceeded", 400, ErrorKind::Transient);
        check(Some("InternalFailure"), "", 500, ErrorKind::Transient);
        check(None, "", 503, ErrorKind::Transient);
        check(Some("ValidationException"), "Could not find model \"arn:x\".", 400, ErrorKind::NotFound);
        check(Some("ValidationException"), "ModelPackageGroup g does not exist.", 400, ErrorKind::NotFound);
        check(Some("ValidationException"), "1 validation error detected", 400, ErrorKind::Invalid);
        check(Some("ObjectNotFoundException"), "No scalable target", 400, ErrorKind::NotFound);
        check(Some("ResourceLimitExceeded"), "", 400, ErrorKind::Conflict);
        check(Some("ConcurrentUpdateException"), "", 400, ErrorKind::Transient);
        check(Some("Whatever"), "", 400, ErrorKind::Other);
    }

    fn assume(code: &str, message: &str) -> bool {
        role_not_yet_assumable(&ProviderError::new(ErrorKind::Invalid, "CreateModel", message).with_code(code))
    }

    #[test]
    fn role_propagation_is_recognised() {
        assert!(assume("ValidationException", "Could not assume role arn:aws:iam::1:role/r"));
        assert!(assume("ValidationException", "The role arn:x cannot be assumed by SageMaker"));
        assert!(!assume("ValidationException", "1 validation error detected"));
        assert!(!assume("AccessDenied", "Could not assume role"));
    }

    #[test]
    fn delays_stay_within_bounds() {
        let policy = RetryPolicy { max_elapsed: Duration::from_secs(1), base_delay: Duration::from_millis(100), max_delay: Duration::from_millis(400) };
        for attempt in 0..40 {
            assert!(policy.delay(attempt) <= Duration::from_millis(400));
        }
        assert!(policy.delay(0) <= Duration::from_millis(100));
    }
}
