//! Recorded state of one environment, for the commands that read or edit it without
//! templates or providers (`state list|show|rm`, `output`, `force-unlock`).

use crate::diag::{Diagnostic, Diagnostics};
use crate::project::Project;
use crate::state::{lock, LayerStore, Loaded, LockInfo, ObjectKey, ResourceRecord, StateError};
use std::path::PathBuf;
use std::time::Duration;

/// Why a state command could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("find layer `{layer}`: the project's layers are {known}{hint}")]
    UnknownLayer { layer: String, known: String, hint: String },
    #[error("parse address `{0}`: expected `layer.LogicalId`, for example `backend.Endpoint`")]
    BadAddress(String),
    #[error("find {layer}.{logical_id} in state (env {env}): no such resource{hint}")]
    NotInState { layer: String, logical_id: String, env: String, hint: String },
    /// Rewriting state would drop the journal, and with it the only record of operations that
    /// may or may not have happened.
    #[error("remove resources from layer {layer} (env {env}): an interrupted operation is still in flight for {in_flight}; run `infra apply` for this layer first so it is resolved")]
    InFlight { layer: String, env: String, in_flight: String },
    #[error("force-unlock: no lock with ID {id} in env {env}; nothing was removed")]
    NoSuchLock { id: String, env: String },
    #[error(transparent)]
    State(Box<StateError>),
}

impl From<StateError> for ScopeError {
    fn from(e: StateError) -> Self {
        ScopeError::State(Box::new(e))
    }
}

/// What removing resources from one layer's state did.
#[derive(Debug)]
pub struct Removed {
    /// The records removed, in the order asked for.
    pub records: Vec<ResourceRecord>,
    /// `(resource, dependency)`: resources left in state that depend on a removed one.
    pub dangling: Vec<(String, String)>,
}

/// Where one environment's state lives and the project's layers in order: all the state
/// commands need from the project.
pub struct StateScope {
    state_dir: PathBuf,
    env: String,
    layers: Vec<String>,
}

impl StateScope {
    /// For environment `env` (default: the project's first) of a project read with `diags`.
    /// Only settings problems stop a state command: a broken template must not stand in the
    /// way of inspecting or repairing state. On failure, the diagnostics to show.
    pub fn new(project: &Project, diags: Diagnostics, env: Option<&str>) -> Result<Self, Vec<Diagnostic>> {
        let settings: Vec<Diagnostic> =
            diags.into_vec().into_iter().filter(|d| d.is_error() && d.code.starts_with("E5")).collect();
        if !settings.is_empty() {
            return Err(settings);
        }
        let env = project.select_environment(env).map_err(|d| vec![d])?.name.clone();
        Ok(StateScope { state_dir: project.state_dir(), env, layers: project.layers().map(String::from).collect() })
    }

    pub fn env(&self) -> &str {
        &self.env
    }

    fn store(&self, layer: &str) -> LayerStore {
        LayerStore::new(&self.state_dir, &self.env, layer)
    }

    /// `layer` if given (checked against the project's layers), else every layer in order.
    pub fn selected(&self, layer: Option<&str>) -> Result<Vec<&str>, ScopeError> {
        match layer {
            Some(l) => Ok(vec![self.layer(l)?]),
            None => Ok(self.layers.iter().map(String::as_str).collect()),
        }
    }

    /// The project's layer of this name, or an error suggesting the nearest.
    pub fn layer(&self, name: &str) -> Result<&str, ScopeError> {
        if let Some(l) = self.layers.iter().find(|l| *l == name) {
            return Ok(l);
        }
        let names: Vec<&str> = self.layers.iter().map(String::as_str).collect();
        let hint = crate::diag::did_you_mean(name, names.iter().copied())
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        let known = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        Err(ScopeError::UnknownLayer { layer: name.to_string(), known, hint })
    }

    /// Splits `layer.LogicalId`.
    pub fn parse_address<'a>(&self, address: &'a str) -> Result<(&str, &'a str), ScopeError> {
        match address.split_once('.') {
            Some((layer, id)) if !layer.is_empty() && !id.is_empty() => Ok((self.layer(layer)?, id)),
            _ => Err(ScopeError::BadAddress(address.to_string())),
        }
    }

    /// A layer's state, with any leftover journal applied (see [`Loaded::recovered`]).
    pub fn load(&self, layer: &str) -> Result<Loaded, ScopeError> {
        Ok(self.store(layer).load()?)
    }

    /// Where a layer's journal is.
    pub fn journal_path(&self, layer: &str) -> PathBuf {
        self.store(layer).paths().journal.clone()
    }

    /// The record of `logical_id` in a layer's loaded state, or an error suggesting the nearest.
    pub fn find<'a>(
        &self,
        layer: &str,
        logical_id: &str,
        loaded: &'a Loaded,
    ) -> Result<&'a ResourceRecord, ScopeError> {
        if let Some(record) = loaded.state.get(&ObjectKey::parse(logical_id)) {
            return Ok(record);
        }
        let known: Vec<String> = loaded.state.objects().into_iter().map(|(k, _)| k.to_string()).collect();
        let hint = if let Some(near) = crate::diag::did_you_mean(logical_id, known.iter().map(String::as_str)) {
            format!("; did you mean {layer}.{near}?")
        } else if loaded.state.object_count() == 0 {
            format!("; layer {layer} has no resources in state")
        } else {
            String::new()
        };
        Err(ScopeError::NotInState {
            layer: layer.to_string(),
            logical_id: logical_id.to_string(),
            env: self.env.clone(),
            hint,
        })
    }

    /// Refuse to rewrite a layer's state while a previous run's operations are in flight.
    pub fn refuse_in_flight(&self, layer: &str, loaded: &Loaded) -> Result<(), ScopeError> {
        if loaded.in_flight.is_empty() {
            return Ok(());
        }
        Err(ScopeError::InFlight { layer: layer.to_string(), env: self.env.clone(), in_flight: in_flight_list(loaded) })
    }

    /// Forget `ids` in `layer` without touching the resources: under the layer's lock, checked
    /// again against the state as it is then, committed (the serial increases, a backup is
    /// kept).
    pub fn remove(&self, layer: &str, ids: &[&str], lock_timeout: Duration) -> Result<Removed, ScopeError> {
        let store = self.store(layer);
        let _lock = store.lock("state rm", lock_timeout)?;
        // Again under the lock: another operation may have run since the caller checked.
        let mut loaded = store.load()?;
        self.refuse_in_flight(layer, &loaded)?;
        let mut records = Vec::new();
        for id in ids {
            self.find(layer, id, &loaded)?;
            if let Some(record) = loaded.state.remove(&ObjectKey::parse(id)) {
                records.push(record);
            }
        }
        store.commit(&mut loaded.state)?;
        let mut dangling = Vec::new();
        for (_, record) in loaded.state.objects() {
            for dep in record.depends_on.iter().filter(|d| records.iter().any(|g| &g.logical_id == *d)) {
                dangling.push((record.logical_id.clone(), dep.clone()));
            }
        }
        Ok(Removed { records, dangling })
    }

    /// The layer holding the lock with this ID.
    pub fn find_lock(&self, id: &str) -> Result<&str, ScopeError> {
        for layer in &self.layers {
            if lock::read_info(&self.store(layer).paths().lock)?.is_some_and(|i| i.id == id.trim()) {
                return Ok(layer);
            }
        }
        Err(ScopeError::NoSuchLock { id: id.to_string(), env: self.env.clone() })
    }

    /// Remove the lock with exactly this ID from `layer` (see [`crate::state::force_unlock`]).
    pub fn force_unlock(&self, layer: &str, id: &str) -> Result<LockInfo, ScopeError> {
        Ok(self.store(layer).force_unlock(id)?)
    }
}

/// The operations in flight in a loaded state, as `LogicalId (action)`.
pub fn in_flight_list(loaded: &Loaded) -> String {
    let items: Vec<String> = loaded
        .in_flight
        .iter()
        .map(|i| format!("{} ({})", i.logical_id, format!("{:?}", i.action).to_lowercase()))
        .collect();
    items.join(", ")
}
