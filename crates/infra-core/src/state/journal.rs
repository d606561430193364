//! The write-ahead journal: progress of an operation, durable record by record, so a run
//! that dies halfway can be recovered instead of leaking resources.
//!
//! `<layer>.journal` holds JSON lines, each prefixed by a checksum: `<16 hex> <json>\n`. The
//! first line names the state the journal continues (lineage and serial). A torn last line
//! is expected after a crash and ignored; any other damage is refused.
//!
//! Appends from many tasks share writes: whoever finds no flush running starts one on a
//! blocking thread, and that flush keeps writing and fsyncing whatever has queued up until
//! the queue is empty (group commit), so concurrent appends cost far fewer fsyncs than
//! records.

use super::file::{OutputV1, ResourceV1};
use super::store::{open_private, write_atomic};
use super::{DeletionPolicy, ObjectKey, OutputRecord, ResourceRecord, State, StateError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// The journal format version this build writes (and the newest it reads). Version 2 added
/// the resolved request to intents; version 1 journals are still read.
const JOURNAL_VERSION: u64 = 2;

/// What is about to happen to one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntentAction {
    Create,
    Update,
    Delete,
    /// Leave state without touching the cloud (Retain, `state rm`).
    Forget,
}

/// A resource operation that is about to start. Names and tokens are chosen before the call
/// so that, after a crash, the resource can be found (or the call safely repeated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The state key of the object, as written: see [`Intent::key`].
    pub logical_id: String,
    pub resource_type: String,
    pub action: IntentAction,
    pub physical_name: Option<String>,
    pub physical_id: Option<String>,
    /// Sent with the create as a client token or the `infra:intent` tag, so a resource whose
    /// ID the service assigns can be found by it after a crash.
    pub token: String,
    /// What the call was asked to do, resolved, so that recovery finishes exactly what was
    /// planned (absent in journals of format version 1, and for forgets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<IntentRequest>,
}

impl Intent {
    /// The object the operation is about.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::parse(&self.logical_id)
    }
}

/// The resolved request behind an [`Intent`]: everything needed to record the resource as the
/// interrupted operation would have, without evaluating any template again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentRequest {
    /// The properties as sent to the provider (for a delete: as recorded).
    pub properties: serde_json::Value,
    /// The account the run acted in (from STS), when it used AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region the run acted in, when it used AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    #[serde(default)]
    pub update_replace_policy: DeletionPolicy,
    /// `{"infra": …}` from the template's `Metadata`: the provider settings the call ran with.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub metadata: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// A resource operation is about to start. Names and tokens are chosen before the call.
    Intent(Intent),
    /// A resource operation finished: the record now in state, or None when it left state.
    Done {
        /// The state key of the object, as written ([`ObjectKey`]'s `Display` form).
        logical_id: String,
        record: Option<ResourceRecord>,
    },
    Outputs(BTreeMap<String, OutputRecord>),
}

/// The state a journal was started on top of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct JournalHeader {
    pub lineage: uuid::Uuid,
    pub serial: u64,
}

/// One line's JSON, as written. Private so the on-disk shape can evolve apart from [`Entry`].
#[derive(Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case", deny_unknown_fields)]
enum RecordV1 {
    Begin { journal: u64, lineage: uuid::Uuid, serial: u64 },
    Intent(Intent),
    Done { logical_id: String, resource: Option<ResourceV1> },
    Outputs { outputs: BTreeMap<String, OutputV1> },
}

impl RecordV1 {
    fn from_entry(entry: &Entry) -> Self {
        match entry {
            Entry::Intent(i) => RecordV1::Intent(i.clone()),
            Entry::Done { logical_id, record } => RecordV1::Done {
                logical_id: logical_id.clone(),
                resource: record.as_ref().map(ResourceV1::from_record),
            },
            Entry::Outputs(outputs) => RecordV1::Outputs {
                outputs: outputs.iter().map(|(k, v)| (k.clone(), OutputV1::from_record(v))).collect(),
            },
        }
    }
}

fn checksum(json: &[u8]) -> String {
    hex::encode(&Sha256::digest(json)[..8])
}

fn encode_line(record: &RecordV1) -> Result<Vec<u8>, serde_json::Error> {
    let json = serde_json::to_vec(record)?;
    let mut line = Vec::with_capacity(json.len() + 18);
    line.extend_from_slice(checksum(&json).as_bytes());
    line.push(b' ');
    line.extend_from_slice(&json);
    line.push(b'\n');
    Ok(line)
}

fn decode_line(line: &[u8]) -> Result<RecordV1, String> {
    let (sum, json) = match (line.get(..16), line.get(16), line.get(17..)) {
        (Some(sum), Some(b' '), Some(json)) => (sum, json),
        _ => return Err("no checksum prefix".into()),
    };
    if sum != checksum(json).as_bytes() {
        return Err("checksum mismatch".into());
    }
    serde_json::from_slice(json).map_err(|e| format!("unreadable record: {e}"))
}

/// A journal as read back: the state it continues and the entries after it.
pub(crate) struct Replayed {
    pub header: JournalHeader,
    pub entries: Vec<Entry>,
    /// Bytes up to the end of the last intact line; anything after is a torn tail.
    pub valid_len: u64,
}

/// Reads the journal at `path`; `None` when there is none.
pub(crate) fn read(path: &Path) -> Result<Option<Replayed>, StateError> {
    let bytes = match super::store::read_nofollow(path) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(super::store::open_error("read journal", path, source)),
    };
    let corrupt = |line: usize, detail: String| StateError::JournalCorrupt { path: path.to_path_buf(), line, detail };
    // Only newline-terminated lines were ever acknowledged; an unterminated tail is torn.
    let terminated = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let lines: Vec<&[u8]> = bytes.get(..terminated).unwrap_or_default().split_inclusive(|&b| b == b'\n').collect();
    let mut header = None;
    let mut entries = Vec::new();
    let mut valid_len = 0u64;
    for (index, raw) in lines.iter().enumerate() {
        let number = index + 1;
        let content = raw.strip_suffix(b"\n").unwrap_or(raw);
        let record = match decode_line(content) {
            Ok(r) => r,
            // The final line may have been torn by a crash even though its newline landed.
            Err(_) if number == lines.len() && header.is_some() => break,
            Err(detail) => return Err(corrupt(number, detail)),
        };
        match (record, header.is_some()) {
            (RecordV1::Begin { journal, .. }, false) if journal > JOURNAL_VERSION => {
                return Err(StateError::NewerVersion { path: path.to_path_buf(), version: journal });
            }
            (RecordV1::Begin { lineage, serial, .. }, false) => header = Some(JournalHeader { lineage, serial }),
            (_, false) => return Err(corrupt(number, "the journal does not start with its header".into())),
            (RecordV1::Begin { .. }, true) => return Err(corrupt(number, "a second header".into())),
            (RecordV1::Intent(i), true) => entries.push(Entry::Intent(i)),
            (RecordV1::Done { logical_id, resource }, true) => {
                let record = resource.map(|r| r.into_record(logical_id.clone()));
                entries.push(Entry::Done { logical_id, record });
            }
            (RecordV1::Outputs { outputs }, true) => {
                entries.push(Entry::Outputs(outputs.into_iter().map(|(k, v)| (k, v.into_record())).collect()));
            }
        }
        valid_len += raw.len() as u64;
    }
    match header {
        Some(header) => Ok(Some(Replayed { header, entries, valid_len })),
        None => Err(corrupt(1, "the journal has no header".into())),
    }
}

/// The entries of the journal at `path` (none when there is no journal).
pub fn replay(path: &Path) -> Result<Vec<Entry>, StateError> {
    Ok(read(path)?.map(|r| r.entries).unwrap_or_default())
}

/// Applies `entries` to `state`; returns it with the intents that never got their `Done`
/// (in flight when the process stopped), oldest first.
pub fn fold(mut state: State, entries: Vec<Entry>) -> (State, Vec<Intent>) {
    let mut pending: Vec<Intent> = Vec::new();
    for entry in entries {
        match entry {
            Entry::Intent(intent) => pending.push(intent),
            Entry::Done { logical_id, record } => {
                // One operation at a time per resource, so a Done settles the oldest intent.
                if let Some(pos) = pending.iter().position(|i| i.logical_id == logical_id) {
                    pending.remove(pos);
                }
                let key = ObjectKey::parse(&logical_id);
                match record {
                    Some(mut record) => {
                        record.logical_id = logical_id;
                        state.insert(key, record);
                    }
                    None => {
                        state.remove(&key);
                    }
                }
            }
            Entry::Outputs(outputs) => state.outputs = outputs,
        }
    }
    (state, pending)
}

/// An open journal. Cheap to clone; every clone appends to the same file.
#[derive(Clone)]
pub struct Journal {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    file: File,
    queue: Mutex<Queue>,
    progress: watch::Sender<Progress>,
    fsyncs: AtomicU64,
}

#[derive(Default)]
struct Queue {
    /// Encoded lines not yet handed to a flush.
    buf: Vec<u8>,
    /// Sequence number of the last line queued.
    queued: u64,
    flushing: bool,
}

#[derive(Clone, Default)]
struct Progress {
    /// Every line up to this sequence number is on disk.
    durable: u64,
    /// A write failed: the file may end in a partial line, so nothing more is accepted.
    failed: Option<String>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal").field("path", &self.shared.path).finish_non_exhaustive()
    }
}

impl Journal {
    /// Starts a new journal (replacing any stale one, atomically) on top of the state in
    /// `header`, holding the intents still `open` from the one it replaces.
    pub(crate) fn create(path: &Path, header: &JournalHeader, open: &[Intent]) -> Result<Journal, StateError> {
        let encode = |record: &RecordV1| {
            encode_line(record).map_err(|source| StateError::Encode { path: path.to_path_buf(), source })
        };
        let mut bytes =
            encode(&RecordV1::Begin { journal: JOURNAL_VERSION, lineage: header.lineage, serial: header.serial })?;
        for intent in open {
            bytes.extend(encode(&RecordV1::Intent(intent.clone()))?);
        }
        write_atomic(path, &bytes)?;
        Self::open(path, None)
    }

    /// Reopens a journal to append to it, dropping a torn tail past `valid_len`.
    pub(crate) fn continue_existing(path: &Path, valid_len: u64) -> Result<Journal, StateError> {
        Self::open(path, Some(valid_len))
    }

    fn open(path: &Path, truncate_to: Option<u64>) -> Result<Journal, StateError> {
        let io = |source| StateError::Io { action: "open journal", path: path.to_path_buf(), source };
        let file = open_private(path, OpenOptions::new().append(true)).map_err(io)?;
        if let Some(len) = truncate_to {
            if file.metadata().map_err(io)?.len() != len {
                file.set_len(len).and_then(|()| file.sync_all()).map_err(io)?;
            }
        }
        let shared = Shared {
            path: path.to_path_buf(),
            file,
            queue: Mutex::new(Queue::default()),
            progress: watch::Sender::new(Progress::default()),
            fsyncs: AtomicU64::new(0),
        };
        Ok(Journal { shared: Arc::new(shared) })
    }

    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// How many times this journal has been fsynced (one per group of appends).
    pub fn fsync_count(&self) -> u64 {
        self.shared.fsyncs.load(Ordering::Relaxed)
    }

    /// Durable when it returns: concurrent appends share one write + fsync (group commit).
    pub async fn append(&self, entry: Entry) -> Result<(), StateError> {
        let line = encode_line(&RecordV1::from_entry(&entry))
            .map_err(|source| StateError::Encode { path: self.shared.path.clone(), source })?;
        let mut progress = self.shared.progress.subscribe();
        let (seq, start_flush) = {
            let mut queue = self.shared.lock_queue();
            if let Some(detail) = &progress.borrow().failed {
                return Err(self.shared.failed(detail));
            }
            queue.buf.extend_from_slice(&line);
            queue.queued += 1;
            let start = !queue.flushing;
            queue.flushing = true;
            (queue.queued, start)
        };
        if start_flush {
            let shared = Arc::clone(&self.shared);
            tokio::task::spawn_blocking(move || shared.flush_queue());
        }
        let outcome = progress.wait_for(|p| p.durable >= seq || p.failed.is_some()).await.map(|p| p.clone());
        match outcome {
            Ok(p) if p.durable >= seq => Ok(()),
            Ok(Progress { failed: Some(detail), .. }) => Err(self.shared.failed(&detail)),
            _ => Err(self.shared.failed("the journal writer stopped")),
        }
    }
}

impl Shared {
    fn lock_queue(&self) -> MutexGuard<'_, Queue> {
        // The queue holds plain bytes and counters, consistent even if a holder panicked.
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn failed(&self, detail: &str) -> StateError {
        StateError::JournalFailed { path: self.path.clone(), detail: detail.to_string() }
    }

    /// Writes and fsyncs batches until nothing is queued. Runs on a blocking thread.
    fn flush_queue(&self) {
        loop {
            let (batch, upto) = {
                let mut queue = self.lock_queue();
                if queue.buf.is_empty() {
                    queue.flushing = false;
                    return;
                }
                (std::mem::take(&mut queue.buf), queue.queued)
            };
            let written = (&self.file).write_all(&batch).and_then(|()| self.file.sync_data());
            self.fsyncs.fetch_add(1, Ordering::Relaxed);
            match written {
                Ok(()) => {
                    self.progress.send_modify(|p| p.durable = upto);
                }
                Err(e) => {
                    // Leave `flushing` set: nothing may be written after a partial line.
                    self.progress.send_modify(|p| p.failed = Some(e.to_string()));
                    return;
                }
            }
        }
    }
}
