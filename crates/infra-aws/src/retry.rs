//! The retry policy for every AWS call: exponential backoff with full jitter, bounded by total
//! elapsed time, for throttling, 5xx and connection errors, plus caller-supplied windows for
//! eventual consistency (a role that was just created cannot be assumed yet, and so on).
//!
//! The SDK's own retries are switched off (see [`crate::config`]) so its retry quota cannot
//! run dry under sustained throttling and turn a slow apply into a failed one.
//!
//! Two things keep a wrong endpoint from looking like a hang: the first retry of every call is
//! reported to the policy's observer (the binary prints it), and a connection that is refused
//! (or a host that does not resolve) before the endpoint has ever answered fails at once,
//! naming the endpoint. Once it has answered, the same error is a blip and is retried.

use crate::error::{answered, brief, from_sdk, unreachable, Unreachable};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{ErrorKind, ProviderError};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Decides whether an error that is not transient by itself is worth another attempt.
pub type RetryPredicate = Arc<dyn Fn(&ProviderError) -> bool + Send + Sync>;

/// Told the first time a call is retried (once per call, not per attempt).
pub type RetryObserver = Arc<dyn Fn(&RetryNotice) + Send + Sync>;

/// What a [`RetryObserver`] learns: which call is being retried, why, and for how long at most.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryNotice {
    /// The operation, e.g. `CreateRole`.
    pub operation: String,
    /// The error of the attempt that failed.
    pub error: ProviderError,
    /// The same error in a few words, e.g. `connection refused (http://127.0.0.1:5999)` or
    /// `ServiceUnavailable: Service is unavailable`.
    pub cause: String,
    /// The attempt that failed (counting from 1).
    pub attempt: u32,
    /// How long the call is retried at most, counted from its first attempt.
    pub limit: Duration,
}

impl std::fmt::Display for RetryNotice {
    /// `CreateRole: connection refused (http://127.0.0.1:5999); retrying for up to 5m`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; retrying for up to {}", self.operation, self.cause, humantime::format_duration(self.limit))
    }
}

/// An eventual-consistency window: errors matching `matches` are retried, but only while the
/// call has been running for less than `window`.
#[derive(Clone)]
pub struct RetryWhen {
    pub matches: RetryPredicate,
    pub window: Duration,
}

/// The endpoint calls under a policy go to, and whether it has ever answered one. Clones
/// share the flag, so every client made from one SDK configuration with clones of one policy
/// learns together that the endpoint is right.
#[derive(Clone, Default)]
pub struct Endpoint {
    /// The address, for errors and notices; `None` when unknown.
    label: Option<Arc<str>>,
    answered: Arc<AtomicBool>,
}

impl Endpoint {
    /// The address requests go to, when known.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Whether any call under this policy (or a clone) has had an answer from the endpoint.
    pub fn has_answered(&self) -> bool {
        self.answered.load(Ordering::Relaxed)
    }

    fn mark_answered(&self) {
        self.answered.store(true, Ordering::Relaxed);
    }
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
    /// Told about the first retry of every call; providers never print themselves.
    pub observer: Option<RetryObserver>,
    /// Where calls go, and whether that endpoint has answered yet.
    pub endpoint: Endpoint,
}

/// How long a call is retried by default, from its first attempt.
pub const DEFAULT_MAX_ELAPSED: Duration = Duration::from_secs(300);

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_elapsed: DEFAULT_MAX_ELAPSED,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(20),
            when: Vec::new(),
            observer: None,
            endpoint: Endpoint::default(),
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
            .field("observer", &self.observer.is_some())
            .field("endpoint", &self.endpoint.label())
            .field("answered", &self.endpoint.has_answered())
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

    /// Tell `observer` about the first retry of every call.
    pub fn with_observer(mut self, observer: impl Fn(&RetryNotice) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Calls go to `label` (an endpoint URL, or a description of AWS's own endpoints). A
    /// policy that already named another endpoint starts over: that one's answers say nothing
    /// about this one.
    pub fn with_endpoint(mut self, label: &str) -> Self {
        match self.endpoint.label.as_deref() {
            Some(old) if old != label => {
                self.endpoint = Endpoint { label: Some(label.into()), answered: Arc::default() };
            }
            _ => self.endpoint.label = Some(label.into()),
        }
        self
    }

    /// [`with_endpoint`](Self::with_endpoint) with the endpoint of an SDK configuration.
    pub fn for_config(self, config: &aws_types::SdkConfig) -> Self {
        let label = crate::config::endpoint_label(config);
        self.with_endpoint(&label)
    }

    /// How long `err` is retried at most, counted from a call's first attempt.
    pub fn limit_for(&self, err: &ProviderError) -> Duration {
        if err.kind == ErrorKind::Transient {
            return self.max_elapsed;
        }
        let window = self.when.iter().filter(|w| (w.matches)(err)).map(|w| w.window).max().unwrap_or_default();
        window.min(self.max_elapsed)
    }

    /// The error for a call that could not reach an endpoint which has never answered.
    pub fn unreachable_error(&self, operation: &str, why: Unreachable) -> ProviderError {
        let endpoint = self.endpoint.label().unwrap_or("the AWS endpoint");
        ProviderError::new(
            ErrorKind::Invalid,
            operation,
            format!(
                "cannot reach {endpoint}: {why}; it has not answered any call yet, so infra does not wait \
                 for it. Check the environment's `endpoint_url` in infra.toml, AWS_ENDPOINT_URL, and the network"
            ),
        )
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
    retry_create(policy, operation, op).await.0
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
        async move { fut.await.map_err(|e| Failure::of_sdk(policy, operation, &e)) }
    })
    .await;
    (out.result, out.answer_lost)
}

/// The loop itself, for calls whose errors are already [`ProviderError`]s. An error with an
/// AWS code counts as an answer from the endpoint.
pub async fn retry_mapped<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> (Result<T, ProviderError>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let out = retry_loop(policy, || {
        let fut = op();
        async move { fut.await.map_err(Failure::of_provider) }
    })
    .await;
    (out.result, out.attempts)
}

/// One failed attempt, as the loop sees it.
struct Failure {
    error: ProviderError,
    /// The endpoint answered (with an error).
    answered: bool,
    /// The endpoint could not be reached at all.
    unreachable: Option<Unreachable>,
    /// The error in a few words, for the notice.
    cause: String,
}

impl Failure {
    fn of_sdk<E>(policy: &RetryPolicy, operation: &str, err: &SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        Failure {
            error: from_sdk(operation, err),
            answered: answered(err),
            unreachable: unreachable(err),
            cause: brief(err, policy.endpoint.label()),
        }
    }

    fn of_provider(error: ProviderError) -> Failure {
        let cause = match &error.code {
            Some(code) => format!("{code}: {}", error.message),
            None => error.message.clone(),
        };
        Failure { answered: error.code.is_some(), unreachable: None, cause, error }
    }
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
    Fut: Future<Output = Result<T, Failure>>,
{
    let start = Instant::now();
    let mut attempts = 0u32;
    let mut answer_lost = false;
    loop {
        attempts += 1;
        match op().await {
            Ok(v) => {
                policy.endpoint.mark_answered();
                return Outcome { result: Ok(v), attempts, answer_lost };
            }
            Err(failure) => {
                if failure.answered {
                    policy.endpoint.mark_answered();
                }
                // A wrong endpoint or no network: waiting would only hide it.
                if let Some(why) = failure.unreachable.filter(|_| !policy.endpoint.has_answered()) {
                    let err = policy.unreachable_error(&failure.error.operation, why);
                    return Outcome { result: Err(err), attempts, answer_lost };
                }
                let err = failure.error;
                let elapsed = start.elapsed();
                if !policy.should_retry(&err, elapsed) {
                    return Outcome { result: Err(err), attempts, answer_lost };
                }
                if attempts == 1 {
                    if let Some(observer) = &policy.observer {
                        observer(&RetryNotice {
                            operation: err.operation.clone(),
                            limit: policy.limit_for(&err),
                            cause: failure.cause,
                            attempt: attempts,
                            error: err.clone(),
                        });
                    }
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
                async move { Err(Failure::of_provider(next.unwrap_or_else(exists))) }
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

    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    type Sdk = SdkError<ErrorMetadata, HttpResponse>;

    fn refused() -> Sdk {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        SdkError::dispatch_failure(ConnectorError::io(Box::new(io)))
    }

    fn dropped() -> Sdk {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
        SdkError::dispatch_failure(ConnectorError::io(Box::new(io)))
    }

    fn unavailable() -> Sdk {
        let meta = ErrorMetadata::builder().code("ServiceUnavailable").message("Service is unavailable").build();
        let status = aws_smithy_runtime_api::http::StatusCode::try_from(503).expect("status");
        SdkError::service_error(meta, HttpResponse::new(status, SdkBody::empty()))
    }

    /// A policy whose observer records every notice.
    fn observed(policy: RetryPolicy) -> (RetryPolicy, Arc<Mutex<Vec<RetryNotice>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let policy = policy.with_endpoint("http://127.0.0.1:5999").with_observer(move |n: &RetryNotice| {
            sink.lock().expect("notices").push(n.clone());
        });
        (policy, seen)
    }

    /// An operation that fails with `errors` in turn, then succeeds; counts its attempts.
    fn scripted(errors: Vec<fn() -> Sdk>) -> (impl FnMut() -> std::future::Ready<Result<u32, Sdk>>, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let op = move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            std::future::ready(match errors.get(n) {
                Some(make) => Err(make()),
                None => Ok(7),
            })
        };
        (op, calls)
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_retry_of_a_call_is_noticed_once() {
        let (policy, notices) = observed(RetryPolicy::default().with_max_elapsed(Duration::from_secs(90)));
        policy.endpoint.mark_answered();
        let (op, calls) = scripted(vec![unavailable, dropped, unavailable, unavailable]);
        assert_eq!(retry(&policy, "CreateRole", op).await, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 5);
        {
            let seen = notices.lock().expect("notices");
            assert_eq!(seen.len(), 1, "{seen:?}");
            let n = &seen[0];
            assert_eq!((n.operation.as_str(), n.attempt, n.limit), ("CreateRole", 1, Duration::from_secs(90)));
            assert_eq!(n.error.code.as_deref(), Some("ServiceUnavailable"));
            assert_eq!(
                n.to_string(),
                "CreateRole: ServiceUnavailable: Service is unavailable; retrying for up to 1m 30s"
            );
        }

        // Another call under the same policy gets its own notice, about its own error.
        let (op, _) = scripted(vec![dropped, dropped]);
        assert_eq!(retry(&policy, "TagRole", op).await, Ok(7));
        let seen = notices.lock().expect("notices");
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(
            seen[1].to_string(),
            "TagRole: connection reset by peer (http://127.0.0.1:5999); retrying for up to 1m 30s"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_connection_fails_at_once_before_the_endpoint_has_answered() {
        let (policy, seen) = observed(RetryPolicy::default());
        let (op, calls) = scripted(vec![refused, refused]);
        let start = Instant::now();
        let err = retry(&policy, "GetCallerIdentity", op).await.expect_err("not retried");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(start.elapsed(), Duration::ZERO, "no backoff was slept");
        assert_eq!((err.kind, err.operation.as_str()), (ErrorKind::Invalid, "GetCallerIdentity"));
        assert!(err.message.starts_with("cannot reach http://127.0.0.1:5999: connection refused;"), "{err}");
        assert!(err.message.contains("endpoint_url") && err.message.contains("AWS_ENDPOINT_URL"), "{err}");
        assert!(seen.lock().expect("notices").is_empty());
        assert!(!policy.endpoint.has_answered());
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_connection_is_retried_once_the_endpoint_has_answered() {
        let (policy, seen) = observed(RetryPolicy::default());
        // A success through a clone (another client of the same configuration) is enough.
        let other = policy.clone();
        let (op, _) = scripted(vec![]);
        assert_eq!(retry(&other, "GetCallerIdentity", op).await, Ok(7));
        assert!(policy.endpoint.has_answered());
        let (op, calls) = scripted(vec![refused, refused]);
        assert_eq!(retry(&policy, "CreateRole", op).await, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let seen = seen.lock().expect("notices");
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].to_string(),
            "CreateRole: connection refused (http://127.0.0.1:5999); retrying for up to 5m"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_error_answer_also_proves_the_endpoint() {
        let (policy, _) = observed(RetryPolicy::default());
        let (op, calls) = scripted(vec![unavailable, refused]);
        assert_eq!(retry(&policy, "CreateRole", op).await, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn another_endpoint_starts_unproven() {
        let policy = RetryPolicy::default().with_endpoint("http://127.0.0.1:5999");
        policy.endpoint.mark_answered();
        assert!(policy.clone().with_endpoint("http://127.0.0.1:5999").endpoint.has_answered());
        let moved = policy.with_endpoint("http://127.0.0.1:6000");
        assert!(!moved.endpoint.has_answered());
        let (op, calls) = scripted(vec![refused]);
        let err = retry(&moved, "ListRoles", op).await.expect_err("not retried");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert!(err.message.contains("http://127.0.0.1:6000"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_propagation_window_is_the_noticed_limit() {
        let (policy, seen) = observed(RetryPolicy::default().with_iam_propagation());
        let mut left = 2;
        let (res, _) = retry_mapped(&policy, || {
            left -= 1;
            let fail = left > 0;
            async move {
                if fail {
                    Err(err(ErrorKind::Invalid, "ValidationException", "Could not assume role arn:aws:iam::1:role/x"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert_eq!(res, Ok(()));
        let seen = seen.lock().expect("notices");
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].limit, IAM_PROPAGATION_WINDOW);
    }
}
