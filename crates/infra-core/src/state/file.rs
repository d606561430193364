//! The versioned on-disk state format: decoding with precise damage reports, and encoding.
//!
//! The in-memory [`State`] is never serialised directly. Each format version has its own
//! private serde structs (`StateV1`), so a later version can be added next to it and older
//! files still read.

use super::{DeletionPolicy, ObjectKey, OutputRecord, ResourceRecord, State, StateError};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

/// The format version this build writes, and the newest it reads.
pub const CURRENT_VERSION: u64 = 1;

/// Why a state file could not be used; the stable part of a [`StateError::Damaged`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Damage {
    /// Zero bytes (or only whitespace): a crash mid-write on another tool, or a bad restore.
    Empty,
    /// The JSON text stops before it is complete.
    Truncated,
    /// Not JSON at all, or JSON with a syntax error.
    InvalidJson,
    /// Valid JSON, but not a state file of the version it claims.
    WrongShape,
    /// The same logical ID appears twice.
    DuplicateLogicalId,
    /// No file, but a backup beside it: infra never deletes a state file, so it was lost.
    Missing,
}

impl Damage {
    pub fn describe(self) -> &'static str {
        match self {
            Damage::Empty => "empty",
            Damage::Truncated => "truncated",
            Damage::InvalidJson => "not valid JSON",
            Damage::WrongShape => "not a state file",
            Damage::DuplicateLogicalId => "ambiguous",
            Damage::Missing => "missing",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateV1 {
    version: u64,
    lineage: uuid::Uuid,
    serial: u64,
    resources: Entries<ResourceV1>,
    outputs: Entries<OutputV1>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourceV1 {
    #[serde(rename = "type")]
    resource_type: String,
    physical_id: String,
    properties: serde_json::Value,
    attributes: BTreeMap<String, serde_json::Value>,
    depends_on: Vec<String>,
    deletion_policy: DeletionPolicy,
    update_replace_policy: DeletionPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tainted: Option<String>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    metadata: serde_json::Value,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputV1 {
    value: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    export_name: Option<String>,
}

impl ResourceV1 {
    pub(crate) fn from_record(r: &ResourceRecord) -> Self {
        ResourceV1 {
            resource_type: r.resource_type.clone(),
            physical_id: r.physical_id.clone(),
            properties: r.properties.clone(),
            attributes: r.attributes.clone(),
            depends_on: r.depends_on.clone(),
            deletion_policy: r.deletion_policy,
            update_replace_policy: r.update_replace_policy,
            tainted: r.tainted.clone(),
            metadata: r.metadata.clone(),
        }
    }

    pub(crate) fn into_record(self, logical_id: String) -> ResourceRecord {
        ResourceRecord {
            logical_id,
            resource_type: self.resource_type,
            physical_id: self.physical_id,
            properties: self.properties,
            attributes: self.attributes,
            depends_on: self.depends_on,
            deletion_policy: self.deletion_policy,
            update_replace_policy: self.update_replace_policy,
            tainted: self.tainted,
            metadata: self.metadata,
        }
    }
}

impl OutputV1 {
    pub(crate) fn from_record(o: &OutputRecord) -> Self {
        OutputV1 { value: o.value.clone(), description: o.description.clone(), export_name: o.export_name.clone() }
    }

    pub(crate) fn into_record(self) -> OutputRecord {
        OutputRecord { value: self.value, description: self.description, export_name: self.export_name }
    }
}

/// A JSON object read with every entry kept, so a repeated key is seen instead of silently
/// replacing the earlier one (as a map type would).
struct Entries<T>(Vec<(String, T)>);

impl<T: Serialize> Serialize for Entries<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for EntriesVisitor<T> {
            type Value = Entries<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object keyed by logical ID")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, T>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

/// Reads a state file's bytes. `path` and `backup` only name files in error messages.
pub fn decode(bytes: &[u8], path: &Path, backup: Option<&Path>) -> Result<State, StateError> {
    let damaged = |damage: Damage, detail: String| StateError::Damaged {
        path: path.to_path_buf(),
        damage,
        detail,
        backup: backup.map(Path::to_path_buf),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(damaged(Damage::Empty, "the file has no content".into()));
    }
    let classify = |e: serde_json::Error| {
        let damage = match e.classify() {
            serde_json::error::Category::Eof => Damage::Truncated,
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => Damage::InvalidJson,
            serde_json::error::Category::Data => Damage::WrongShape,
        };
        damaged(damage, e.to_string())
    };
    // Syntax first, then the version, and only then the shape that version has.
    let document: serde_json::Value = serde_json::from_slice(bytes).map_err(classify)?;
    let Some(top) = document.as_object() else {
        return Err(damaged(Damage::WrongShape, "the top level is not an object".into()));
    };
    match top.get("version").map(|v| (v, v.as_u64())) {
        None => Err(damaged(Damage::WrongShape, "missing field `version`".into())),
        Some((_, Some(CURRENT_VERSION))) => {
            let v1: StateV1 = serde_json::from_slice(bytes).map_err(classify)?;
            from_v1(v1).map_err(|(damage, detail)| damaged(damage, detail))
        }
        Some((_, Some(version))) if version > CURRENT_VERSION => {
            Err(StateError::NewerVersion { path: path.to_path_buf(), version })
        }
        Some((v, _)) => Err(damaged(Damage::WrongShape, format!("unknown format version {v}"))),
    }
}

fn from_v1(v1: StateV1) -> Result<State, (Damage, String)> {
    let mut state = State { lineage: v1.lineage, serial: v1.serial, ..State::new() };
    for (logical_id, r) in v1.resources.0 {
        if logical_id.is_empty() {
            return Err((Damage::WrongShape, "a resource has an empty logical ID".into()));
        }
        // Deposed objects are written under `LogicalId~deposed`.
        let key = ObjectKey::parse(&logical_id);
        if state.contains(&key) {
            return Err((Damage::DuplicateLogicalId, format!("logical ID `{logical_id}` appears more than once")));
        }
        let record = r.into_record(logical_id);
        state.insert(key, record);
    }
    for (name, o) in v1.outputs.0 {
        if state.outputs.contains_key(&name) {
            return Err((Damage::WrongShape, format!("output `{name}` appears more than once")));
        }
        state.outputs.insert(name, o.into_record());
    }
    Ok(state)
}

/// The file's bytes for `state`: pretty-printed JSON with every object's keys sorted, ending
/// in a newline, so the same state always gives the same bytes (and readable diffs).
pub fn encode(state: &State) -> Result<Vec<u8>, serde_json::Error> {
    let v1 = StateV1 {
        version: CURRENT_VERSION,
        lineage: state.lineage,
        serial: state.serial,
        resources: Entries(
            state.objects().into_iter().map(|(key, r)| (key.to_string(), ResourceV1::from_record(r))).collect(),
        ),
        outputs: Entries(state.outputs.iter().map(|(name, o)| (name.clone(), OutputV1::from_record(o))).collect()),
    };
    let mut out = serde_json::to_vec_pretty(&sort_keys(serde_json::to_value(&v1)?))?;
    out.push(b'\n');
    Ok(out)
}

/// Recursively orders object keys; serde_json keeps insertion order in this workspace.
fn sort_keys(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sort_keys(v))).collect())
        }
        serde_json::Value::Array(items) => serde_json::Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}
