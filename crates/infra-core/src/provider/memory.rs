//! A strict in-memory provider for engine tests: it fails on anything unexpected
//! (a double create, an update or delete of a missing resource), in the spirit of a test
//! backend that is "meant to be strict, in order to catch bugs".
//!
//! It records every call, can be told to fail a logical ID's operation or to delay it, and
//! tracks how many operations ran at once so tests can check the parallelism bounds.

use super::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Provider, ProviderError,
    ReadRequest, ResourceContext, UpdateRequest,
};
use async_trait::async_trait;
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallKind {
    Create,
    Read,
    Update,
    Delete,
}

/// One call the provider received.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub kind: CallKind,
    pub logical_id: String,
    pub physical_id: Option<String>,
    pub properties: J,
    /// The context's `metadata`: the provider settings the call ran with.
    pub metadata: J,
}

/// A resource that exists in memory.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub resource_type: String,
    pub logical_id: String,
    pub properties: J,
    /// The token its create carried, for types whose ID the provider assigns (as a service
    /// keeps a client token or an `infra:intent` tag).
    pub token: Option<String>,
}

/// How a call told to fail after taking effect reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterEffect {
    /// The answer is lost: an ambiguous error ([`ProviderError::is_ambiguous`]).
    AnswerLost,
    /// The resource was made but is not usable: an error with a partial result.
    Unusable,
}

#[derive(Default)]
struct Inner {
    objects: BTreeMap<String, Object>,
    calls: Vec<Call>,
    failures: BTreeMap<(String, CallKind), String>,
    after_effect: BTreeMap<(String, CallKind), AfterEffect>,
    delays: BTreeMap<String, Duration>,
    next_id: u64,
}

pub struct MemoryProvider {
    name: String,
    types: Vec<&'static str>,
    concurrency: usize,
    create_only: BTreeMap<String, Vec<String>>,
    /// Type → the property holding its name; such types get a physical name before create.
    name_property: BTreeMap<String, String>,
    inner: Mutex<Inner>,
    running: AtomicUsize,
    max_running: AtomicUsize,
}

fn strict(op: &str, message: String) -> ProviderError {
    // Not `NotFound`: the engine treats that as success for deletes, and a strict provider
    // wants such a call to show up as the bug it is.
    ProviderError::new(ErrorKind::Other, op, message).with_code("Strict")
}

impl MemoryProvider {
    pub fn new(types: &[&'static str]) -> Self {
        MemoryProvider {
            name: "memory".to_string(),
            types: types.to_vec(),
            concurrency: 10,
            create_only: BTreeMap::new(),
            name_property: BTreeMap::new(),
            inner: Mutex::new(Inner::default()),
            running: AtomicUsize::new(0),
            max_running: AtomicUsize::new(0),
        }
    }

    pub fn with_name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Changing any of these properties of `resource_type` forces replacement.
    pub fn with_create_only(mut self, resource_type: &str, properties: &[&str]) -> Self {
        self.create_only.insert(resource_type.to_string(), properties.iter().map(|p| p.to_string()).collect());
        self
    }

    /// `property` names resources of `resource_type`; a generated name is used when it is unset.
    pub fn with_name_property(mut self, resource_type: &str, property: &str) -> Self {
        self.name_property.insert(resource_type.to_string(), property.to_string());
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A test that panicked while holding the lock has failed already; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Make `kind` calls for `logical_id` fail with `message`.
    pub fn fail(&self, logical_id: &str, kind: CallKind, message: &str) {
        self.lock().failures.insert((logical_id.to_string(), kind), message.to_string());
    }

    /// Make `kind` calls for `logical_id` take effect and then fail as `how` says.
    pub fn fail_after_effect(&self, logical_id: &str, kind: CallKind, how: AfterEffect) {
        self.lock().after_effect.insert((logical_id.to_string(), kind), how);
    }

    pub fn clear_failures(&self) {
        let mut inner = self.lock();
        inner.failures.clear();
        inner.after_effect.clear();
    }

    /// The error a call told to fail after taking effect returns.
    fn after_effect(&self, kind: CallKind, logical_id: &str, applied: Option<Applied>) -> Result<(), ProviderError> {
        let how = self.lock().after_effect.get(&(logical_id.to_string(), kind)).copied();
        let op = format!("{kind:?}");
        match (how, applied) {
            (None, _) => Ok(()),
            (Some(AfterEffect::Unusable), Some(applied)) => {
                Err(ProviderError::new(ErrorKind::Other, op, "it reached a failed state").with_partial(applied))
            }
            (Some(_), _) => Err(ProviderError::new(ErrorKind::Transient, op, "the connection closed before an answer")),
        }
    }

    /// Make every call for `logical_id` take `delay`.
    pub fn delay(&self, logical_id: &str, delay: Duration) {
        self.lock().delays.insert(logical_id.to_string(), delay);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Calls other than reads, as `(kind, logical_id)`, in order.
    pub fn mutations(&self) -> Vec<(CallKind, String)> {
        self.lock().calls.iter().filter(|c| c.kind != CallKind::Read).map(|c| (c.kind, c.logical_id.clone())).collect()
    }

    pub fn objects(&self) -> BTreeMap<String, Object> {
        self.lock().objects.clone()
    }

    /// Put an object in place directly, as if created outside the engine (or before a crash).
    pub fn insert(&self, physical_id: &str, object: Object) {
        self.lock().objects.insert(physical_id.to_string(), object);
    }

    /// The most operations that ran at once.
    pub fn max_concurrent(&self) -> usize {
        self.max_running.load(Ordering::SeqCst)
    }

    fn attributes(resource_type: &str, id: &str, props: &J) -> Attributes {
        let mut a = Attributes::new();
        if let Some(o) = props.as_object() {
            for (k, v) in o {
                a.insert(k.clone(), v.clone());
            }
        }
        a.insert("Arn".to_string(), J::String(format!("arn:memory:{resource_type}:{id}")));
        a.insert("Id".to_string(), J::String(id.to_string()));
        a
    }

    /// Record the call, wait the configured delay, and fail if told to.
    async fn enter(
        &self,
        kind: CallKind,
        ctx: &ResourceContext,
        physical_id: Option<&str>,
        props: &J,
    ) -> Result<Running<'_>, ProviderError> {
        let logical_id = ctx.logical_id.as_str();
        let (delay, failure) = {
            let mut inner = self.lock();
            inner.calls.push(Call {
                kind,
                logical_id: logical_id.to_string(),
                physical_id: physical_id.map(str::to_string),
                properties: props.clone(),
                metadata: ctx.metadata.clone(),
            });
            (inner.delays.get(logical_id).copied(), inner.failures.get(&(logical_id.to_string(), kind)).cloned())
        };
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        let guard = Running(&self.running);
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        if let Some(message) = failure {
            return Err(ProviderError::new(ErrorKind::Invalid, format!("{kind:?}"), message).with_code("Injected"));
        }
        Ok(guard)
    }
}

struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Provider for MemoryProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn resource_types(&self) -> &[&'static str] {
        &self.types
    }

    fn concurrency(&self) -> usize {
        self.concurrency
    }

    fn physical_name(&self, ctx: &ResourceContext, props: &J) -> Option<String> {
        let prop = self.name_property.get(&ctx.resource_type)?;
        Some(match props.get(prop).and_then(J::as_str) {
            Some(n) => n.to_string(),
            None => format!("{}-{}-{:06x}", ctx.stack_name, ctx.logical_id, fastrand::u32(..0xffffff)),
        })
    }

    fn create_only_properties(&self, resource_type: &str) -> Option<Vec<String>> {
        self.create_only.get(resource_type).cloned()
    }

    fn name_properties(&self, resource_type: &str) -> Option<Vec<String>> {
        Some(self.name_property.get(resource_type).into_iter().cloned().collect())
    }

    async fn create(&self, req: &CreateRequest) -> Result<Applied, ProviderError> {
        let ctx = &req.context;
        let _running = self.enter(CallKind::Create, ctx, req.physical_name.as_deref(), &req.properties).await?;
        let applied = {
            let mut inner = self.lock();
            let id = match &req.physical_name {
                Some(n) => n.clone(),
                None => {
                    inner.next_id += 1;
                    format!("mem-{}", inner.next_id)
                }
            };
            if inner.objects.contains_key(&id) {
                return Err(strict("Create", format!("{id} already exists")).with_code("AlreadyExists"));
            }
            inner.objects.insert(
                id.clone(),
                Object {
                    resource_type: ctx.resource_type.clone(),
                    logical_id: ctx.logical_id.clone(),
                    properties: req.properties.clone(),
                    token: req.physical_name.is_none().then(|| req.token.clone()),
                },
            );
            Applied { attributes: Self::attributes(&ctx.resource_type, &id, &req.properties), physical_id: id }
        };
        self.after_effect(CallKind::Create, &ctx.logical_id, Some(applied.clone()))?;
        Ok(applied)
    }

    async fn find(&self, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        let ctx = &req.context;
        if self.name_property.contains_key(&ctx.resource_type) {
            return Err(ProviderError::new(ErrorKind::Unsupported, "Find", "named types are read by their name"));
        }
        let _running = self.enter(CallKind::Read, ctx, None, &req.properties).await?;
        let inner = self.lock();
        let found: Vec<(&String, &Object)> = inner
            .objects
            .iter()
            .filter(|(_, o)| o.resource_type == ctx.resource_type && o.token.as_deref() == Some(req.token.as_str()))
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [(id, o)] => Ok(Some(Observed {
                physical_id: (*id).clone(),
                properties: o.properties.clone(),
                attributes: Self::attributes(&o.resource_type, id, &o.properties),
                failure: None,
            })),
            _ => Err(strict("Find", format!("{} objects carry token {}", found.len(), req.token))),
        }
    }

    async fn read(&self, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let ctx = &req.context;
        let _running = self.enter(CallKind::Read, ctx, Some(&req.physical_id), &req.properties).await?;
        let inner = self.lock();
        Ok(inner.objects.get(&req.physical_id).map(|o| Observed {
            physical_id: req.physical_id.clone(),
            properties: o.properties.clone(),
            attributes: Self::attributes(&o.resource_type, &req.physical_id, &o.properties),
            failure: None,
        }))
    }

    async fn update(&self, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        let ctx = &req.context;
        let _running = self.enter(CallKind::Update, ctx, Some(&req.physical_id), &req.new_properties).await?;
        let mut inner = self.lock();
        let Some(o) = inner.objects.get_mut(&req.physical_id) else {
            return Err(strict("Update", format!("{} does not exist", req.physical_id)));
        };
        o.properties = req.new_properties.clone();
        drop(inner);
        let applied = Applied {
            physical_id: req.physical_id.clone(),
            attributes: Self::attributes(&ctx.resource_type, &req.physical_id, &req.new_properties),
        };
        self.after_effect(CallKind::Update, &ctx.logical_id, Some(applied.clone()))?;
        Ok(applied)
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError> {
        let ctx = &req.context;
        let _running = self.enter(CallKind::Delete, ctx, Some(&req.physical_id), &req.properties).await?;
        let mut inner = self.lock();
        if inner.objects.remove(&req.physical_id).is_none() {
            return Err(strict("Delete", format!("{} does not exist", req.physical_id)));
        }
        drop(inner);
        self.after_effect(CallKind::Delete, &ctx.logical_id, None)
    }
}
