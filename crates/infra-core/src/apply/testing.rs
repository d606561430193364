//! Test doubles for apply (feature `testing`): a recorder that keeps entries in memory and a
//! reporter that keeps events.

use super::{Event, Intent, RecordError, Recorder, Reporter};
use crate::state::{ObjectKey, OutputRecord, ResourceRecord};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A [`Recorder`] that keeps entries in memory: for engine tests.
#[derive(Default)]
pub struct MemoryRecorder {
    pub entries: Mutex<Vec<RecordedEntry>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum RecordedEntry {
    Intent(String, Intent),
    Done(String, ObjectKey, Option<ResourceRecord>),
    Outputs(String, BTreeMap<String, OutputRecord>),
}

impl MemoryRecorder {
    pub fn entries(&self) -> Vec<RecordedEntry> {
        self.entries.lock().map(|e| e.clone()).unwrap_or_default()
    }
    fn push(&self, e: RecordedEntry) -> Result<(), RecordError> {
        self.entries.lock().map_err(|_| "recorder lock poisoned")?.push(e);
        Ok(())
    }
}

#[async_trait]
impl Recorder for MemoryRecorder {
    async fn intent(&self, layer: &str, intent: &Intent) -> Result<(), RecordError> {
        self.push(RecordedEntry::Intent(layer.to_string(), intent.clone()))
    }
    async fn done(&self, layer: &str, key: &ObjectKey, record: Option<&ResourceRecord>) -> Result<(), RecordError> {
        self.push(RecordedEntry::Done(layer.to_string(), key.clone(), record.cloned()))
    }
    async fn outputs(&self, layer: &str, outputs: &BTreeMap<String, OutputRecord>) -> Result<(), RecordError> {
        self.push(RecordedEntry::Outputs(layer.to_string(), outputs.clone()))
    }
}

/// A reporter that keeps events, for tests.
#[derive(Default)]
pub struct CollectEvents(pub Mutex<Vec<Event>>);

impl Reporter for CollectEvents {
    fn event(&self, event: &Event) {
        if let Ok(mut v) = self.0.lock() {
            v.push(event.clone());
        }
    }
}
