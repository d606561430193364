//! State: what infra has created, per layer and environment.
//!
//! The in-memory model here never touches JSON directly; the versioned on-disk format, the
//! lock and the journal live in the submodules.

pub mod file;
pub mod journal;
pub mod lock;
pub mod store;

pub use file::Damage;
pub use journal::{Entry, Intent, IntentAction, IntentRequest, Journal};
pub use lock::{force_unlock, LockGuard, LockInfo};
pub use store::{LayerStore, Loaded, StatePaths};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What to do with a resource when it leaves the template (or is replaced).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeletionPolicy {
    #[default]
    Delete,
    Retain,
    Snapshot,
}

/// One managed resource as last applied.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceRecord {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: String,
    /// Properties as applied (fully resolved).
    pub properties: serde_json::Value,
    /// Attributes for `Fn::GetAtt`.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Logical IDs this resource depends on (destroy runs in reverse).
    pub depends_on: Vec<String>,
    pub deletion_policy: DeletionPolicy,
    pub update_replace_policy: DeletionPolicy,
    /// Set when the resource exists but an operation on it failed after the service made it
    /// (an endpoint that reached `Failed`, a create whose waiter timed out): why. Like
    /// Terraform's tainted resources, the next plan replaces it.
    pub tainted: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputRecord {
    pub value: serde_json::Value,
    pub description: Option<String>,
    /// `Export.Name`, if exported.
    pub export_name: Option<String>,
}

/// The state of one layer in one environment.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Fixed when the state is first created; guards against mixing up state files.
    pub lineage: uuid::Uuid,
    /// Increases on every change.
    pub serial: u64,
    pub resources: BTreeMap<String, ResourceRecord>,
    pub outputs: BTreeMap<String, OutputRecord>,
}

impl State {
    pub fn new() -> Self {
        State { lineage: uuid::Uuid::new_v4(), serial: 0, resources: BTreeMap::new(), outputs: BTreeMap::new() }
    }
}

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything that can go wrong reading, writing or locking state. Each message names the
/// file involved and, where there is one, the way out.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{action} {}: {source}", path.display())]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },

    #[error("{}", damaged_message(path, *damage, detail, backup.as_deref()))]
    Damaged { path: PathBuf, damage: Damage, detail: String, backup: Option<PathBuf> },

    #[error("read {}: it was written by a newer infra (format version {version}, this build reads up to {}); upgrade infra; the file was left untouched", path.display(), file::CURRENT_VERSION)]
    NewerVersion { path: PathBuf, version: u64 },

    #[error("use {}: its lineage is {found}, expected {expected}; it belongs to a different state (another project, environment or layer, or a state created anew); the file was left untouched", path.display())]
    LineageMismatch { path: PathBuf, expected: uuid::Uuid, found: uuid::Uuid },

    #[error("write state file {}: it changed since it was read (serial {found} on disk, {expected} read); run the command again", path.display())]
    SerialConflict { path: PathBuf, expected: u64, found: u64 },

    #[error("replay journal {}: {detail}; the journal was left untouched: if the state file was restored on purpose, move the journal aside", path.display())]
    JournalMismatch { path: PathBuf, detail: String },

    #[error("read journal {}: line {line} is corrupt ({detail}); only a torn last line is expected after a crash; the journal was left untouched, inspect it and move it aside to continue", path.display())]
    JournalCorrupt { path: PathBuf, line: usize, detail: String },

    #[error("append to journal {}: an earlier write failed ({detail}); the operation cannot record more progress", path.display())]
    JournalFailed { path: PathBuf, detail: String },

    #[error("{}", locked_message(layer, env, info.as_deref(), path))]
    Locked { layer: String, env: String, info: Option<Box<LockInfo>>, path: PathBuf },

    #[error("force-unlock {}: the lock ID is {recorded}, not {given}; nothing was removed", path.display())]
    LockIdMismatch { path: PathBuf, given: String, recorded: String },

    #[error("force-unlock {}: no lock is recorded there", path.display())]
    NotLocked { path: PathBuf },

    #[error("encode state for {}: {source}", path.display())]
    Encode { path: PathBuf, source: serde_json::Error },

    #[error("open {}: it is {found}; infra does not follow symbolic links or use other kinds of files there; remove it (after checking what put it there) and run the command again", path.display())]
    NotRegularFile { path: PathBuf, found: &'static str },

    #[error("force-unlock {}: the lock is held by pid {pid} on this host ({host}), which is still running; stop that process first (or wait for it to finish); nothing was removed", path.display())]
    HolderAlive { path: PathBuf, pid: u32, host: String },

    #[error("use {what} `{name}` in a state path: only letters, digits, `-`, `_` and `.` are allowed")]
    InvalidName { what: &'static str, name: String },
}

impl StateError {
    /// A short stable name for the kind of failure, for tests and JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            StateError::Io { .. } => "io",
            StateError::Damaged { damage, .. } => match damage {
                Damage::Empty => "empty",
                Damage::Truncated => "truncated",
                Damage::InvalidJson => "invalid-json",
                Damage::WrongShape => "wrong-shape",
                Damage::DuplicateLogicalId => "duplicate-logical-id",
                Damage::Missing => "missing",
            },
            StateError::NewerVersion { .. } => "newer-version",
            StateError::LineageMismatch { .. } => "lineage-mismatch",
            StateError::SerialConflict { .. } => "serial-conflict",
            StateError::JournalMismatch { .. } => "journal-mismatch",
            StateError::JournalCorrupt { .. } => "journal-corrupt",
            StateError::JournalFailed { .. } => "journal-failed",
            StateError::Locked { .. } => "locked",
            StateError::LockIdMismatch { .. } => "lock-id-mismatch",
            StateError::NotLocked { .. } => "not-locked",
            StateError::Encode { .. } => "encode",
            StateError::InvalidName { .. } => "invalid-name",
            StateError::NotRegularFile { .. } => "not-regular-file",
            StateError::HolderAlive { .. } => "holder-alive",
        }
    }
}

fn damaged_message(path: &std::path::Path, damage: Damage, detail: &str, backup: Option<&std::path::Path>) -> String {
    if let (Damage::Missing, Some(b)) = (damage, backup) {
        return format!(
            "read state file {}: it is missing, but its backup {} exists; infra never deletes a state file, so copy the backup over it (inspect it first), or delete the backup if this layer really has nothing deployed",
            path.display(),
            b.display()
        );
    }
    let mut msg = format!(
        "read state file {}: it is {} ({detail}); the file was left untouched",
        path.display(),
        damage.describe()
    );
    match (damage, backup) {
        (Damage::Empty, Some(b)) => msg.push_str(&format!(
            "; an empty file is not \"no state\": the previous version is in {}, inspect it and copy it over the state file",
            b.display()
        )),
        (Damage::Empty, None) => msg.push_str(
            "; an empty file is not \"no state\" (only a missing file is): restore it from version control or your own backups, or delete it if this layer really has nothing deployed",
        ),
        (_, Some(b)) => msg.push_str(&format!(
            "; the previous version is in {}: inspect it and copy it over the state file, or repair the file by hand",
            b.display()
        )),
        (_, None) => msg.push_str("; repair it by hand or restore it from version control or your own backups"),
    }
    msg
}

fn locked_message(layer: &str, env: &str, info: Option<&LockInfo>, path: &std::path::Path) -> String {
    match info {
        Some(i) => format!(
            "lock state: state for layer {layer} (env {env}) is locked by {}@{} pid {} for {} since {} (lock ID {}); wait for it to finish (see --lock-timeout), or, once that process has stopped for good (stop it first if it is stuck), run `infra force-unlock {} --layer {layer} --env {env}`",
            i.user, i.host, i.pid, i.operation, i.created, i.id, i.id
        ),
        None => format!(
            "lock state: state for layer {layer} (env {env}) is locked by another process (no lock details in {} yet); try again shortly",
            path.display()
        ),
    }
}
