//! Drift: how the live resources compare with what state recorded.
//!
//! [`detect`] reads every recorded object through its provider ([`Provider::drift`]), bounded
//! by the run's parallelism and each provider's concurrency, and classifies each one as
//! [`Status::InSync`], [`Status::Modified`] (with per-property differences),
//! [`Status::Deleted`] or [`Status::NotChecked`] with the reason. No object is left out.
//! It only reads: no mutating call, no state write.
//!
//! Values are compared by meaning ([`compare`]): policy documents as policies, numbers and
//! numeric strings as numbers, lists whose schema says `insertionOrder: false` as sets, a
//! schema `default` as equal to absent. Write-only properties cannot be read back; they are
//! listed as not checkable, never as drift.

pub mod compare;
pub mod schedule;

use crate::provider::{DriftAnswer, ErrorKind, ReadRequest, Registry, ResourceContext};
use crate::state::{ObjectKey, ResourceRecord, State};
use serde::Serialize;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The version of the JSON report's schema (`drift --format json`).
pub const REPORT_VERSION: u32 = 1;

/// How one resource compares with state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    InSync,
    Modified,
    Deleted,
    NotChecked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InSync => "IN_SYNC",
            Status::Modified => "MODIFIED",
            Status::Deleted => "DELETED",
            Status::NotChecked => "NOT_CHECKED",
        }
    }
}

/// One property whose live value differs from the recorded one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PropertyDrift {
    /// `/`-separated below `Properties`.
    pub path: String,
    /// What state recorded (`null` when it recorded nothing).
    pub recorded: J,
    /// What the service reports now (`null` when it reports nothing).
    pub live: J,
    /// For a list compared as a set: the live items state does not record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<J>,
    /// For a list compared as a set: the recorded items that are gone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<J>,
}

/// A property the project told drift checks to ignore, reported as ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ignored {
    pub path: String,
    pub reason: String,
}

/// One object's result.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceDrift {
    pub layer: String,
    /// `LogicalId`, or `LogicalId~deposed` for the old object of an interrupted replacement.
    pub logical_id: ObjectKey,
    pub resource_type: String,
    pub physical_id: String,
    pub status: Status,
    /// For `MODIFIED`: the properties that differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<PropertyDrift>,
    /// For `NOT_CHECKED`, why; for `MODIFIED` without differences, the service's complaint (an
    /// endpoint in `Failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The read itself failed: the result is unknown, and the run is an error.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub error: bool,
    /// Write-only properties state recorded, which no read returns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_checkable: Vec<String>,
    /// Differences the project ignores.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<Ignored>,
}

/// Counts by status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub in_sync: usize,
    pub modified: usize,
    pub deleted: usize,
    pub not_checked: usize,
    /// Reads that failed (counted among `not_checked` too).
    pub errors: usize,
}

/// A drift run's result: the JSON report `drift --format json` prints and scheduled runs keep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub version: u32,
    /// When the run started, RFC 3339 in UTC.
    pub time: String,
    pub project: String,
    pub env: String,
    /// The layers checked, with the serial of the state each was compared with.
    pub layers: Vec<LayerChecked>,
    pub summary: Summary,
    pub resources: Vec<ResourceDrift>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerChecked {
    pub layer: String,
    pub serial: u64,
}

impl Report {
    /// Whether anything is modified or deleted.
    pub fn has_drift(&self) -> bool {
        self.summary.modified + self.summary.deleted > 0
    }
    /// Whether a read failed, so the run cannot vouch for every resource.
    pub fn has_errors(&self) -> bool {
        self.summary.errors > 0
    }
}

/// A property the project's `[[drift.ignore]]` settings exclude.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnoreRule {
    /// A resource type (`AWS::S3::Bucket`) or a resource (`shared.ModelBucket`).
    pub target: IgnoreTarget,
    /// `/`-separated below `Properties`; the property and everything inside it.
    pub property: String,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IgnoreTarget {
    Type(String),
    Resource { layer: String, logical_id: String },
}

impl IgnoreRule {
    fn covers(&self, layer: &str, record: &ResourceRecord, path: &str) -> bool {
        let target = match &self.target {
            IgnoreTarget::Type(t) => *t == record.resource_type,
            IgnoreTarget::Resource { layer: l, logical_id } => l == layer && *logical_id == record.logical_id,
        };
        target && (path == self.property || path.starts_with(&format!("{}/", self.property)))
    }
}

/// What a drift run looks at and how.
pub struct Options<'a> {
    pub project: &'a str,
    pub env: &'a str,
    /// How many reads run at once, across providers (apply's `--parallelism`).
    pub parallelism: usize,
    pub ignore: &'a [IgnoreRule],
    /// Called after each read with (done, total).
    pub progress: &'a (dyn Fn(usize, usize) + Sync),
}

/// Check every object of `states` (by layer) against its live resource.
pub async fn detect(
    states: &BTreeMap<String, State>,
    layers: &[String],
    registry: &Registry,
    options: &Options<'_>,
    time: String,
) -> Report {
    let global = Arc::new(Semaphore::new(options.parallelism.max(1)));
    let mut per_provider: BTreeMap<String, Arc<Semaphore>> = BTreeMap::new();
    let mut targets = Vec::new();
    for layer in layers {
        let Some(state) = states.get(layer) else { continue };
        for (key, record) in state.objects() {
            targets.push((layer.clone(), key, record.clone()));
        }
    }
    let total = targets.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let checks = targets.into_iter().map(|(layer, key, record)| {
        let provider = registry.for_type(&record.resource_type).cloned();
        let provider_permits = provider.as_ref().map(|p| {
            per_provider
                .entry(p.name().to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(p.concurrency().max(1))))
                .clone()
        });
        let global = global.clone();
        let done = &done;
        async move {
            let answer = match (&provider, provider_permits) {
                (Some(provider), Some(permits)) => {
                    // The provider's permit first, then a global one, as apply takes them.
                    let _p = permits.acquire_owned().await.ok();
                    let _g = global.acquire_owned().await.ok();
                    let context = ResourceContext::new(
                        options.project,
                        options.env,
                        &layer,
                        key.logical_id(),
                        &record.resource_type,
                    )
                    .with_metadata(record.metadata.clone());
                    let req = ReadRequest {
                        context,
                        physical_id: record.physical_id.clone(),
                        properties: record.properties.clone(),
                        attributes: record.attributes.clone(),
                    };
                    Some(provider.drift(&req).await)
                }
                _ => None,
            };
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            (options.progress)(n, total);
            classify(&layer, key, &record, answer, options.ignore)
        }
    });
    let resources: Vec<ResourceDrift> = futures_join_all(checks.collect()).await;
    let mut summary = Summary::default();
    for r in &resources {
        match r.status {
            Status::InSync => summary.in_sync += 1,
            Status::Modified => summary.modified += 1,
            Status::Deleted => summary.deleted += 1,
            Status::NotChecked => summary.not_checked += 1,
        }
        summary.errors += usize::from(r.error);
    }
    let layers = layers
        .iter()
        .filter_map(|l| states.get(l).map(|s| LayerChecked { layer: l.clone(), serial: s.serial }))
        .collect();
    Report {
        version: REPORT_VERSION,
        time,
        project: options.project.to_string(),
        env: options.env.to_string(),
        layers,
        summary,
        resources,
    }
}

/// Runs every future on this task, concurrently, and gives their outputs in order. (Tasks
/// would need `'static` futures; these borrow the states and options.)
async fn futures_join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in pinned.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

fn result(layer: &str, key: ObjectKey, record: &ResourceRecord, status: Status) -> ResourceDrift {
    ResourceDrift {
        layer: layer.to_string(),
        logical_id: key,
        resource_type: record.resource_type.clone(),
        physical_id: record.physical_id.clone(),
        status,
        differences: Vec::new(),
        reason: None,
        error: false,
        not_checkable: Vec::new(),
        ignored: Vec::new(),
    }
}

/// One object's classification from its provider's answer (`None`: no provider takes it).
fn classify(
    layer: &str,
    key: ObjectKey,
    record: &ResourceRecord,
    answer: Option<Result<DriftAnswer, crate::provider::ProviderError>>,
    ignore: &[IgnoreRule],
) -> ResourceDrift {
    let mut out = result(layer, key, record, Status::NotChecked);
    match answer {
        None => out.reason = Some(format!("no provider manages {}", record.resource_type)),
        Some(Err(e)) if e.kind == ErrorKind::Unsupported => out.reason = Some(e.to_string()),
        Some(Err(e)) => {
            out.reason = Some(format!("the read failed: {e}"));
            out.error = true;
        }
        Some(Ok(DriftAnswer::NotCheckable(why))) => out.reason = Some(why),
        Some(Ok(DriftAnswer::Gone)) => out.status = Status::Deleted,
        Some(Ok(DriftAnswer::Compared(differences))) => {
            for d in differences {
                let path = d.path.clone();
                if let Some(rule) = ignore.iter().find(|r| r.covers(layer, record, &path)) {
                    out.ignored.push(Ignored { path, reason: rule.reason.clone() });
                    continue;
                }
                out.differences.push(PropertyDrift {
                    path,
                    recorded: d.expected.unwrap_or(J::Null),
                    live: d.actual.unwrap_or(J::Null),
                    added: Vec::new(),
                    removed: Vec::new(),
                });
            }
            out.status = if out.differences.is_empty() { Status::InSync } else { Status::Modified };
        }
        Some(Ok(DriftAnswer::Observed(observed))) => {
            let schema = crate::schema::get(&record.resource_type);
            let found = compare::differences(schema, &record.properties, &observed.properties);
            for d in found.differences {
                if let Some(rule) = ignore.iter().find(|r| r.covers(layer, record, &d.path)) {
                    out.ignored.push(Ignored { path: d.path, reason: rule.reason.clone() });
                } else {
                    out.differences.push(d);
                }
            }
            out.not_checkable = found.not_checkable;
            out.reason = observed.failure;
            let modified = !out.differences.is_empty() || out.reason.is_some();
            out.status = if modified { Status::Modified } else { Status::InSync };
        }
    }
    out
}

#[cfg(test)]
mod tests;
