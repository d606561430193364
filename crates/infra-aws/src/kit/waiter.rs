//! Waiting for long-running transitions (SageMaker's Creating → InService, Updating →
//! InService, Deleting → gone; EC2's `available`): polling with backoff, a timeout per
//! operation that a resource may override, progress heartbeats reported as engine events
//! ([`infra_core::provider::events`]), and the service's failure reason when it gives up.

use infra_core::provider::events::{self, ProviderEvent};
use infra_core::provider::{ErrorKind, ProviderError, ResourceContext};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long each kind of wait may take before the operation is reported as failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

impl Default for Timeouts {
    /// Endpoints on large instances routinely take 10–20 minutes; an hour leaves headroom
    /// without hanging forever on a stuck deployment.
    fn default() -> Self {
        Timeouts {
            create: Duration::from_secs(60 * 60),
            update: Duration::from_secs(60 * 60),
            delete: Duration::from_secs(30 * 60),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Create,
    Update,
    Delete,
}

impl Timeouts {
    pub fn for_phase(&self, phase: Phase) -> Duration {
        match phase {
            Phase::Create => self.create,
            Phase::Update => self.update,
            Phase::Delete => self.delete,
        }
    }

    /// The timeout for `phase`, honouring the resource's `Metadata`:
    /// `infra: { timeouts: { create: 45m } }` for one phase, or `infra: { timeout: 30m }` for all.
    pub fn resolve(&self, context: &ResourceContext, phase: Phase) -> Result<Duration, ProviderError> {
        Ok(timeout_from_metadata(&context.metadata, phase)?.unwrap_or_else(|| self.for_phase(phase)))
    }
}

impl Phase {
    fn key(self) -> &'static str {
        match self {
            Phase::Create => "create",
            Phase::Update => "update",
            Phase::Delete => "delete",
        }
    }
}

/// Reads the timeout for `phase` from a resource's `Metadata`: `infra.timeouts.<phase>`, else
/// `infra.timeout`; each a duration such as `"30m"` or `"1h 30m"`, or a number of seconds.
pub fn timeout_from_metadata(metadata: &serde_json::Value, phase: Phase) -> Result<Option<Duration>, ProviderError> {
    let Some(infra) = metadata.get("infra") else {
        return Ok(None);
    };
    let per_phase =
        infra.get("timeouts").and_then(|t| t.get(phase.key())).map(|v| (format!("timeouts.{}", phase.key()), v));
    let Some((path, value)) = per_phase.or_else(|| infra.get("timeout").map(|v| ("timeout".to_string(), v))) else {
        return Ok(None);
    };
    let invalid = || {
        ProviderError::new(
            ErrorKind::Invalid,
            "read Metadata",
            format!("Metadata infra.{path} must be a duration such as \"30m\", not {value}"),
        )
    };
    let duration = match value {
        serde_json::Value::String(s) => humantime::parse_duration(s.trim()).map_err(|_| invalid())?,
        serde_json::Value::Number(n) => n.as_u64().map(Duration::from_secs).ok_or_else(invalid)?,
        _ => return Err(invalid()),
    };
    if duration.is_zero() {
        return Err(invalid());
    }
    Ok(Some(duration))
}

/// How often to poll: starting quickly, slowing down towards `max_interval`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Polling {
    pub initial_interval: Duration,
    pub max_interval: Duration,
    /// How often to report that a wait is still going on.
    pub heartbeat_every: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Polling {
            initial_interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(30),
            heartbeat_every: Duration::from_secs(60),
        }
    }
}

impl Polling {
    fn interval(&self, poll: u32) -> Duration {
        // Grow by half each time: 5s, 7.5s, 11s, … up to the cap.
        let factor = 1.5f64.powi(i32::try_from(poll.min(30)).unwrap_or(30));
        self.initial_interval.mul_f64(factor).min(self.max_interval)
    }
}

/// A report that a wait is still in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// What is being waited for, e.g. `endpoint my-endpoint`.
    pub subject: String,
    /// The status the service reported last.
    pub status: String,
    pub elapsed: Duration,
}

/// Also receives heartbeats, besides the engine (tests listen here).
pub type HeartbeatSink = Arc<dyn Fn(&Heartbeat) + Send + Sync>;

/// One observation of the thing being waited for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll<T> {
    /// The wait is over.
    Ready(T),
    /// Still transitioning; the status is reported in heartbeats and timeouts.
    Pending(String),
    /// The service gave up, with its reason.
    Failed(String),
}

/// A service whose resources are waited on. Its timeouts (overridden by a resource's
/// `Metadata`), polling and heartbeats make the waiter for one resource's phase.
pub(crate) trait Waits {
    /// The service's timeouts, polling and heartbeats.
    fn waiting(&self) -> (&Timeouts, &Polling, Option<&HeartbeatSink>);

    /// A waiter for `phase` of `context`'s resource, with the resource's own timeout if set.
    fn wait<'a>(
        &'a self,
        context: &ResourceContext,
        phase: Phase,
        operation: &'a str,
        subject: &'a str,
        target: &'a str,
    ) -> Result<Wait<'a>, ProviderError> {
        let (timeouts, polling, heartbeats) = self.waiting();
        Ok(Wait { operation, subject, target, timeout: timeouts.resolve(context, phase)?, polling, heartbeats })
    }
}

/// Everything a wait needs besides the poll itself.
pub struct Wait<'a> {
    /// The operation reported in errors, e.g. `CreateEndpoint`.
    pub operation: &'a str,
    pub subject: &'a str,
    /// What success looks like, for the timeout message (`InService`, `deleted`).
    pub target: &'a str,
    pub timeout: Duration,
    pub polling: &'a Polling,
    pub heartbeats: Option<&'a HeartbeatSink>,
}

impl Wait<'_> {
    /// Polls until `poll` is ready, has failed, or the timeout passes.
    pub async fn until<T, F, Fut>(&self, mut poll: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>, ProviderError>>,
    {
        let start = Instant::now();
        let mut last_heartbeat = Duration::ZERO;
        let mut polls = 0u32;
        loop {
            let status = match poll().await? {
                Poll::Ready(v) => return Ok(v),
                Poll::Failed(reason) => {
                    return Err(ProviderError::new(
                        ErrorKind::Other,
                        self.operation,
                        format!("{} failed: {}", self.subject, reason),
                    ))
                }
                Poll::Pending(status) => status,
            };
            let elapsed = start.elapsed();
            if elapsed >= self.timeout {
                return Err(ProviderError::new(
                    ErrorKind::Other,
                    self.operation,
                    format!(
                        "timed out after {} waiting for {} to be {} (last status {status})",
                        humantime::format_duration(Duration::from_secs(self.timeout.as_secs().max(1))),
                        self.subject,
                        self.target
                    ),
                ));
            }
            if elapsed.saturating_sub(last_heartbeat) >= self.polling.heartbeat_every {
                last_heartbeat = elapsed;
                // The engine shows it with the step it belongs to; providers never print.
                events::report(ProviderEvent::Waiting {
                    operation: self.operation.to_string(),
                    subject: self.subject.to_string(),
                    status: status.clone(),
                    target: self.target.to_string(),
                    elapsed,
                });
                if let Some(sink) = self.heartbeats {
                    sink(&Heartbeat { subject: self.subject.to_string(), status, elapsed });
                }
            }
            let remaining = self.timeout.saturating_sub(elapsed);
            tokio::time::sleep(self.polling.interval(polls).min(remaining.max(Duration::from_millis(1)))).await;
            polls = polls.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    fn check_metadata(metadata: serde_json::Value, expected: Result<Option<u64>, ()>) {
        check_phase(metadata, Phase::Create, expected);
    }

    fn check_phase(metadata: serde_json::Value, phase: Phase, expected: Result<Option<u64>, ()>) {
        let got = timeout_from_metadata(&metadata, phase).map(|d| d.map(|d| d.as_secs())).map_err(|_| ());
        assert_eq!(got, expected, "{metadata}");
    }

    #[test]
    fn metadata_timeouts() {
        check_metadata(json!(null), Ok(None));
        check_metadata(json!({"other": 1}), Ok(None));
        check_metadata(json!({"infra": {}}), Ok(None));
        check_metadata(json!({"infra": {"timeout": "30m"}}), Ok(Some(1800)));
        check_metadata(json!({"infra": {"timeout": "1h 30m"}}), Ok(Some(5400)));
        check_metadata(json!({"infra": {"timeout": 90}}), Ok(Some(90)));
        check_metadata(json!({"infra": {"timeout": "soon"}}), Err(()));
        check_metadata(json!({"infra": {"timeout": "0s"}}), Err(()));
        check_metadata(json!({"infra": {"timeout": -1}}), Err(()));
        check_metadata(json!({"infra": {"timeout": [1]}}), Err(()));
        let both = json!({"infra": {"timeout": "10m", "timeouts": {"create": "45m", "delete": "bad"}}});
        check_phase(both.clone(), Phase::Create, Ok(Some(2700)));
        check_phase(both.clone(), Phase::Update, Ok(Some(600)));
        check_phase(both, Phase::Delete, Err(()));
        check_phase(json!({"infra": {"timeouts": {"update": "2h"}}}), Phase::Update, Ok(Some(7200)));
        check_phase(json!({"infra": {"timeouts": {"update": "2h"}}}), Phase::Create, Ok(None));
    }

    #[test]
    fn intervals_grow_to_the_cap() {
        let p = Polling::default();
        assert_eq!(p.interval(0), Duration::from_secs(5));
        assert!(p.interval(1) > p.interval(0));
        assert_eq!(p.interval(100), Duration::from_secs(30));
    }

    fn fast() -> Polling {
        Polling {
            initial_interval: Duration::from_millis(1),
            max_interval: Duration::from_millis(2),
            heartbeat_every: Duration::ZERO,
        }
    }

    async fn run(script: Vec<Poll<u8>>, timeout: Duration) -> (Result<u8, ProviderError>, Vec<String>) {
        let beats = Arc::new(Mutex::new(Vec::new()));
        let sink: HeartbeatSink = {
            let beats = beats.clone();
            Arc::new(move |h: &Heartbeat| beats.lock().unwrap().push(h.status.clone()))
        };
        let polling = fast();
        let wait = Wait {
            operation: "CreateEndpoint",
            subject: "endpoint e",
            target: "InService",
            timeout,
            polling: &polling,
            heartbeats: Some(&sink),
        };
        let script = Mutex::new(script.into_iter());
        let result = wait
            .until(|| {
                let next = script.lock().unwrap().next().unwrap_or(Poll::Pending("Creating".into()));
                async move { Ok(next) }
            })
            .await;
        let beats = beats.lock().unwrap().clone();
        (result, beats)
    }

    #[tokio::test]
    async fn waits_until_ready_with_heartbeats() {
        let (result, beats) = run(
            vec![Poll::Pending("Creating".into()), Poll::Pending("Creating".into()), Poll::Ready(7)],
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(result, Ok(7));
        assert_eq!(beats, vec!["Creating", "Creating"]);
    }

    #[tokio::test]
    async fn heartbeats_are_engine_events() {
        let heard = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let heard = heard.clone();
            move |e: ProviderEvent| heard.lock().unwrap().push(e)
        };
        let script = vec![Poll::Pending("Creating".into()), Poll::Ready(7)];
        let (result, _) = events::scope(sink, run(script, Duration::from_secs(5))).await;
        assert_eq!(result, Ok(7));
        let heard = heard.lock().unwrap();
        assert!(!heard.is_empty(), "heartbeats reach the engine");
        let ProviderEvent::Waiting { operation, subject, status, target, .. } = &heard[0] else {
            panic!("a heartbeat is a Waiting event: {:?}", heard[0]);
        };
        assert_eq!(
            (operation.as_str(), subject.as_str(), status.as_str(), target.as_str()),
            ("CreateEndpoint", "endpoint e", "Creating", "InService")
        );
    }

    #[tokio::test]
    async fn failure_carries_the_reason() {
        let (result, _) =
            run(vec![Poll::Pending("Creating".into()), Poll::Failed("image not found".into())], Duration::from_secs(5))
                .await;
        let err = result.unwrap_err();
        assert_eq!(err.message, "endpoint e failed: image not found");
        assert_eq!(err.operation, "CreateEndpoint");
    }

    #[tokio::test]
    async fn times_out_with_the_last_status() {
        let (result, _) = run(vec![], Duration::from_millis(20)).await;
        let err = result.unwrap_err();
        assert!(
            err.message.starts_with("timed out after 1s waiting for endpoint e to be InService (last status Creating)"),
            "{}",
            err.message
        );
    }
}
