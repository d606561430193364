//! The retry policy for every AWS call: exponential backoff with full jitter, bounded by total
//! elapsed time, for throttling, 5xx and connection errors, plus caller-supplied windows for
//! eventual consistency (a role that was just created cannot be assumed yet, and so on).
//!
//! The SDK's own retries are switched off (see [`crate::config`]) so its retry quota cannot
//! run dry under sustained throttling and turn a slow apply into a failed one.

use crate::error::from_sdk;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{ErrorKind, ProviderError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Decides whether an error that is not transient by itself is worth another attempt.
pub type RetryPredicate = Arc<dyn Fn(&ProviderError) -> bool + Send + Sync>;

/// An eventual-consistency window: errors matching `matches` are retried, but only while the
/// call has been running for less than `window`.
#[derive(Clone)]
pub struct RetryWhen {
    pub matches: RetryPredicate,
    pub window: Duration,
}

#[derive(Clone)]
pub struct RetryPolicy {
    /// Give up once this much time has passed since the first attempt.
    pub max_elapsed: Duration,
    /// The cap of the first backoff; doubles on every attempt.
    pub base_delay: Duration,
    /// The largest backoff cap.
    pub max_delay: Duration,
    pub when: Vec<RetryWhen>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_elapsed: Duration::from_secs(300),
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
            when: Vec::new(),
        }
    }
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_elapsed", &self.max_elapsed)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("when", &self.when.len())
            .finish()
    }
}

/// IAM changes take a while to reach other services: right after a role is created or its
/// trust policy changes, services that assume it (SageMaker, Lambda, ...) answer with a
/// ValidationException such as "Could not assume role" or "... cannot be assumed by ...".
pub fn is_iam_propagation(err: &ProviderError) -> bool {
    let code_fits = matches!(
        err.code.as_deref(),
        Some("ValidationException" | "ValidationError" | "InvalidParameterValueException" | "AccessDeniedException")
    );
    let msg = err.message.to_ascii_lowercase();
    code_fits
        && (msg.contains("could not assume role")
            || msg.contains("cannot be assumed")
            || msg.contains("unable to assume role")
            || msg.contains("not authorized to perform: sts:assumerole")
            || msg.contains("role defined for the function cannot be assumed"))
}

/// How long AWS documents IAM propagation can take in practice.
pub const IAM_PROPAGATION_WINDOW: Duration = Duration::from_secs(120);

impl RetryPolicy {
    /// Also retry errors matching `matches` during the first `window` of a call.
    pub fn retry_when(
        mut self,
        window: Duration,
        matches: impl Fn(&ProviderError) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.when.push(RetryWhen { matches: Arc::new(matches), window });
        self
    }

    /// Also wait out IAM propagation ([`is_iam_propagation`]) for up to two minutes.
    pub fn with_iam_propagation(self) -> Self {
        self.retry_when(IAM_PROPAGATION_WINDOW, is_iam_propagation)
    }

    pub fn with_max_elapsed(mut self, max_elapsed: Duration) -> Self {
        self.max_elapsed = max_elapsed;
        self
    }

    /// Whether `err`, seen `elapsed` after the first attempt, deserves another attempt.
    pub fn should_retry(&self, err: &ProviderError, elapsed: Duration) -> bool {
        if elapsed >= self.max_elapsed {
            return false;
        }
        err.kind == ErrorKind::Transient || self.when.iter().any(|w| elapsed < w.window && (w.matches)(err))
    }

    /// The backoff before attempt `attempt + 1` (attempts count from 1): a uniformly random
    /// duration up to `min(max_delay, base_delay * 2^(attempt-1))` ("full jitter"), so many
    /// throttled callers spread out instead of retrying in lock step.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let cap = self.base_delay.saturating_mul(1u32 << exp).min(self.max_delay);
        let cap_ms = cap.as_millis().min(u128::from(u64::MAX)) as u64;
        Duration::from_millis(fastrand::u64(0..=cap_ms))
    }
}

/// Run an AWS call under `policy`, mapping its errors with [`from_sdk`].
///
/// ```ignore
/// let out = retry(&policy, "CreateRole", || client.create_role().role_name(&name).send()).await?;
/// ```
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, operation: &str, op: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    retry_counted(policy, operation, op).await.0
}

/// Like [`retry`], also returning how many attempts were made. To tell whether a create that
/// meets "already exists" may have met its own earlier success, use [`retry_create`].
pub async fn retry_counted<T, E, F, Fut>(
    policy: &RetryPolicy,
    operation: &str,
    mut op: F,
) -> (Result<T, ProviderError>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    retry_mapped(policy, || {
        let fut = op();
        async move { fut.await.map_err(|e| from_sdk(operation, &e)) }
    })
    .await
}

/// Run a create call under `policy`. Besides the result, says whether an earlier attempt may
/// have been carried out although its answer never arrived (the connection failed or timed
/// out, so no AWS error code came back). Only then is an "already exists" on a later attempt
/// the caller's own earlier success rather than someone else's resource.
pub async fn retry_create<T, E, F, Fut>(
    policy: &RetryPolicy,
    operation: &str,
    mut op: F,
) -> (Result<T, ProviderError>, bool)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let out = retry_loop(policy, || {
        let fut = op();
        async move { fut.await.map_err(|e| from_sdk(operation, &e)) }
    })
    .await;
    (out.result, out.answer_lost)
}

/// The loop itself, for calls whose errors are already [`ProviderError`]s.
pub async fn retry_mapped<T, F, Fut>(policy: &RetryPolicy, op: F) -> (Result<T, ProviderError>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let out = retry_loop(policy, op).await;
    (out.result, out.attempts)
}

struct Outcome<T> {
    result: Result<T, ProviderError>,
    attempts: u32,
    /// A failed attempt got no answer from AWS (see [`retry_create`]).
    answer_lost: bool,
}

async fn retry_loop<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> Outcome<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let start = Instant::now();
    let mut attempts = 0u32;
    let mut answer_lost = false;
    loop {
        attempts += 1;
        match op().await {
            Ok(v) => return Outcome { result: Ok(v), attempts, answer_lost },
            Err(err) => {
                let elapsed = start.elapsed();
                if !policy.should_retry(&err, elapsed) {
                    return Outcome { result: Err(err), attempts, answer_lost };
                }
                // No answer, or a server error: the attempt may have been carried out. A
                // throttled attempt was refused before it ran.
                answer_lost |= err.kind == ErrorKind::Transient
                    && err.code.as_deref().is_none_or(|c| !crate::error::is_throttling(c));
                // Never sleep past the deadline: one last attempt right at it is still useful.
                let remaining = policy.max_elapsed.saturating_sub(elapsed);
                tokio::time::sleep(policy.backoff(attempts).min(remaining)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind, code: &str, message: &str) -> ProviderError {
        ProviderError::new(kind, "CreateModel", message).with_code(code)
    }

    fn check(policy: &RetryPolicy, e: ProviderError, elapsed_s: u64, expected: bool) {
        assert_eq!(policy.should_retry(&e, Duration::from_secs(elapsed_s)), expected, "{e} at {elapsed_s}s");
    }

    #[test]
    fn decisions() {
        let p = RetryPolicy::default().with_iam_propagation();
        check(&p, err(ErrorKind::Transient, "Throttling", "rate exceeded"), 0, true);
        check(&p, err(ErrorKind::Transient, "Throttling", "rate exceeded"), 299, true);
        check(&p, err(ErrorKind::Transient, "Throttling", "rate exceeded"), 300, false);
        check(&p, err(ErrorKind::Invalid, "MalformedPolicyDocument", "bad"), 0, false);
        check(
            &p,
            err(ErrorKind::Invalid, "ValidationException", "Could not assume role arn:aws:iam::1:role/x"),
            5,
            true,
        );
        check(
            &p,
            err(ErrorKind::Invalid, "ValidationException", "Could not assume role arn:aws:iam::1:role/x"),
            121,
            false,
        );
        check(&p, err(ErrorKind::Invalid, "ValidationException", "The role cannot be assumed by sagemaker"), 1, true);
        check(&p, err(ErrorKind::Invalid, "ValidationException", "instance type not supported"), 1, false);
        check(
            &RetryPolicy::default(),
            err(ErrorKind::Invalid, "ValidationException", "Could not assume role"),
            1,
            false,
        );
    }

    #[test]
    fn backoff_is_bounded() {
        let p = RetryPolicy::default();
        for _ in 0..100 {
            assert!(p.backoff(1) <= p.base_delay);
            assert!(p.backoff(3) <= p.base_delay * 4);
            assert!(p.backoff(500) <= p.max_delay);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_deadline() {
        let p = RetryPolicy::default().with_max_elapsed(Duration::from_secs(10));
        let start = tokio::time::Instant::now();
        let (res, attempts): (Result<(), _>, _) =
            retry_mapped(&p, || async { Err(err(ErrorKind::Transient, "Throttling", "rate exceeded")) }).await;
        assert!(res.is_err());
        assert!(attempts > 3);
        assert!(start.elapsed() <= Duration::from_secs(11));
    }

    #[tokio::test(start_paused = true)]
    async fn knows_when_an_answer_was_lost() {
        use std::cell::RefCell;
        let exists = || err(ErrorKind::Conflict, "EntityAlreadyExists", "Role x already exists");
        let lost = || ProviderError::new(ErrorKind::Transient, "CreateRole", "connection closed");
        let throttled = || err(ErrorKind::Transient, "Throttling", "Rate exceeded");
        let cases: Vec<(Vec<ProviderError>, bool)> = vec![
            (vec![exists()], false),
            (vec![throttled(), exists()], false),
            (vec![lost(), exists()], true),
            (vec![throttled(), lost(), throttled(), exists()], true),
            // A coded 5xx may have been carried out before the server failed.
            (vec![err(ErrorKind::Transient, "InternalFailure", "oops"), exists()], true),
        ];
        for (errors, expected) in cases {
            let queue = RefCell::new(errors.clone().into_iter());
            let out: Outcome<()> = retry_loop(&RetryPolicy::default(), || {
                let next = queue.borrow_mut().next();
                async move { Err(next.unwrap_or_else(exists)) }
            })
            .await;
            assert_eq!(out.answer_lost, expected, "{errors:?}");
            assert_eq!(out.attempts as usize, errors.len());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stops_on_success() {
        let mut left = 3;
        let (res, attempts) = retry_mapped(&RetryPolicy::default(), || {
            left -= 1;
            let fail = left > 0;
            async move {
                if fail {
                    Err(err(ErrorKind::Transient, "ServiceUnavailable", "try again"))
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!(res, Ok(7));
        assert_eq!(attempts, 3);
    }
}
