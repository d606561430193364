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
    /// `{"infra": …}` from the template's `Metadata` when last applied (provider settings such
    /// as `empty_on_delete`, which a later delete must still see); `Null` when none.
    pub metadata: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputRecord {
    pub value: serde_json::Value,
    pub description: Option<String>,
    /// `Export.Name`, if exported.
    pub export_name: Option<String>,
}

/// Which object of a resource a state entry holds: its current object, or the old object of
/// a create-before-delete replacement, deposed until it is deleted (OpenTofu's deposed
/// objects). A crash between creating the replacement and deleting the old object leaves the
/// deposed one in state, and the next plan destroys it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKey {
    Current(String),
    Deposed(String),
}

impl ObjectKey {
    /// Suffix of a deposed object's key in the state file and the journal. Logical IDs are
    /// alphanumeric, so the key cannot clash with a template resource.
    const DEPOSED_SUFFIX: &'static str = "~deposed";

    /// The key as the state file and the journal write it: `LogicalId` or `LogicalId~deposed`.
    pub fn parse(key: &str) -> Self {
        match key.strip_suffix(Self::DEPOSED_SUFFIX) {
            Some(id) => ObjectKey::Deposed(id.to_string()),
            None => ObjectKey::Current(key.to_string()),
        }
    }

    /// The resource the object belongs to.
    pub fn logical_id(&self) -> &str {
        match self {
            ObjectKey::Current(id) | ObjectKey::Deposed(id) => id,
        }
    }

    pub fn is_deposed(&self) -> bool {
        matches!(self, ObjectKey::Deposed(_))
    }

    /// The key the same resource's deposed object is kept under.
    pub fn deposed(&self) -> Self {
        ObjectKey::Deposed(self.logical_id().to_string())
    }
}

/// The state file's and journal's form, also used in messages and machine-readable output.
impl std::fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ObjectKey::Current(id) => f.write_str(id),
            ObjectKey::Deposed(id) => write!(f, "{id}{}", Self::DEPOSED_SUFFIX),
        }
    }
}

/// Keys sort as their written form, so every order over state keys is the one it always was.
impl Ord for ObjectKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let suffix = |k: &ObjectKey| if k.is_deposed() { Self::DEPOSED_SUFFIX } else { "" };
        self.logical_id()
            .bytes()
            .chain(suffix(self).bytes())
            .cmp(other.logical_id().bytes().chain(suffix(other).bytes()))
    }
}

impl PartialOrd for ObjectKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq<str> for ObjectKey {
    fn eq(&self, other: &str) -> bool {
        match self {
            ObjectKey::Current(id) => id == other,
            ObjectKey::Deposed(id) => other.strip_suffix(Self::DEPOSED_SUFFIX).is_some_and(|o| o == id),
        }
    }
}

impl PartialEq<&str> for ObjectKey {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

impl Serialize for ObjectKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ObjectKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(ObjectKey::parse(&String::deserialize(d)?))
    }
}

/// The state of one layer in one environment.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// Fixed when the state is first created; guards against mixing up state files.
    pub lineage: uuid::Uuid,
    /// Increases on every change.
    pub serial: u64,
    /// Each resource's current object, by logical ID.
    pub resources: BTreeMap<String, ResourceRecord>,
    /// Deposed objects waiting for deletion, by the logical ID they belong to.
    pub deposed: BTreeMap<String, ResourceRecord>,
    pub outputs: BTreeMap<String, OutputRecord>,
}

impl State {
    pub fn new() -> Self {
        State {
            lineage: uuid::Uuid::new_v4(),
            serial: 0,
            resources: BTreeMap::new(),
            deposed: BTreeMap::new(),
            outputs: BTreeMap::new(),
        }
    }

    fn objects_of(&self, key: &ObjectKey) -> &BTreeMap<String, ResourceRecord> {
        if key.is_deposed() {
            &self.deposed
        } else {
            &self.resources
        }
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&ResourceRecord> {
        self.objects_of(key).get(key.logical_id())
    }

    pub fn contains(&self, key: &ObjectKey) -> bool {
        self.get(key).is_some()
    }

    pub fn insert(&mut self, key: ObjectKey, record: ResourceRecord) -> Option<ResourceRecord> {
        match key {
            ObjectKey::Current(id) => self.resources.insert(id, record),
            ObjectKey::Deposed(id) => self.deposed.insert(id, record),
        }
    }

    pub fn remove(&mut self, key: &ObjectKey) -> Option<ResourceRecord> {
        match key {
            ObjectKey::Current(id) => self.resources.remove(id),
            ObjectKey::Deposed(id) => self.deposed.remove(id),
        }
    }

    /// Put `record` under `key`, or take the key out of state (`None`).
    pub fn set(&mut self, key: ObjectKey, record: Option<ResourceRecord>) {
        match record {
            Some(r) => {
                self.insert(key, r);
            }
            None => {
                self.remove(&key);
            }
        }
    }

    /// Every object, current and deposed, in key order.
    pub fn objects(&self) -> Vec<(ObjectKey, &ResourceRecord)> {
        let mut out: Vec<(ObjectKey, &ResourceRecord)> = self
            .resources
            .iter()
            .map(|(id, r)| (ObjectKey::Current(id.clone()), r))
            .chain(self.deposed.iter().map(|(id, r)| (ObjectKey::Deposed(id.clone()), r)))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// How many objects, current and deposed, the state holds.
    pub fn object_count(&self) -> usize {
        self.resources.len() + self.deposed.len()
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
