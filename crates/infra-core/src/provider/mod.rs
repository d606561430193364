//! The provider interface: how the engine creates, reads, updates and deletes real things.
//!
//! The engine knows resources only through this trait. Providers receive fully resolved
//! properties as plain JSON (never an unresolved expression) and return the physical ID and
//! the attributes that `Ref` and `Fn::GetAtt` read. A provider groups resource types that share
//! an API and its rate limits, and says how many operations it can take at once.
//!
//! Crash safety depends on two rules providers keep:
//! - a resource's physical name is chosen by [`Provider::physical_name`] *before* the create
//!   call and recorded as intent, so after a crash the engine can [`Provider::read`] it and
//!   adopt it instead of creating a duplicate;
//! - where a service assigns IDs itself, the create carries [`CreateRequest::token`] (as the
//!   API's client token, or as the [`INTENT_TAG`] tag set in the create call itself), and
//!   [`Provider::find`] finds the resource by it after a crash.
//!
//! A failed call tells the engine what it left behind: [`ProviderError::partial`] when the
//! resource was made but is not usable (recorded as tainted), and
//! [`ProviderError::is_ambiguous`] decides, in this one place, when the outcome is unknown
//! and the operation must stay open for the next run to check.

pub mod local;
#[cfg(feature = "testing")]
pub mod memory;

/// What a provider reports while one of its calls runs (a long wait), for the engine to show
/// with the step it belongs to. Providers never print: they [`report`](events::report), and
/// the engine runs each provider call inside a [`scope`](events::scope) that forwards the
/// reports to its progress reporter.
pub mod events {
    use std::future::Future;
    use std::sync::Arc;
    use std::time::Duration;

    #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum ProviderEvent {
        /// A wait for a long transition is still going on.
        Waiting {
            /// The operation waiting, e.g. `CreateEndpoint`.
            operation: String,
            /// What is waited for, e.g. `endpoint my-endpoint`.
            subject: String,
            /// The status the service reported last.
            status: String,
            /// What the wait is for, e.g. `InService`.
            target: String,
            elapsed: Duration,
        },
        /// One line of progress a service reports during a long operation (a CloudFormation
        /// stack event: `Topic AWS::SNS::Topic CREATE_COMPLETE`).
        Progress {
            /// The operation reporting, e.g. `CreateStack`.
            operation: String,
            /// What progresses, e.g. `stack my-stack`.
            subject: String,
            message: String,
        },
    }

    impl std::fmt::Display for ProviderEvent {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                ProviderEvent::Waiting { subject, status, elapsed, .. } => write!(
                    f,
                    "still waiting for {subject} ({status}, {} elapsed)",
                    humantime::format_duration(Duration::from_secs(elapsed.as_secs()))
                ),
                ProviderEvent::Progress { subject, message, .. } => write!(f, "{subject}: {message}"),
            }
        }
    }

    type Sink = Arc<dyn Fn(ProviderEvent) + Send + Sync>;

    tokio::task_local! {
        static SINK: Sink;
    }

    /// Runs `call` with `sink` hearing every event reported from inside it (on its task).
    pub async fn scope<F: Future>(sink: impl Fn(ProviderEvent) + Send + Sync + 'static, call: F) -> F::Output {
        SINK.scope(Arc::new(sink), call).await
    }

    /// Reports `event` to the step whose call is running; `false` when no step listens (a
    /// call made outside the engine).
    pub fn report(event: ProviderEvent) -> bool {
        SINK.try_with(|sink| sink(event)).is_ok()
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::sync::Mutex;

        fn waiting(secs: u64) -> ProviderEvent {
            ProviderEvent::Waiting {
                operation: "CreateEndpoint".into(),
                subject: "endpoint e".into(),
                status: "Creating".into(),
                target: "InService".into(),
                elapsed: Duration::from_millis(secs * 1000 + 400),
            }
        }

        #[tokio::test]
        async fn reports_reach_the_scope_they_are_made_in() {
            assert!(!report(waiting(1)), "nobody listens outside a scope");
            let heard = Arc::new(Mutex::new(Vec::new()));
            let sink = {
                let heard = heard.clone();
                move |e: ProviderEvent| heard.lock().unwrap().push(e)
            };
            let out = scope(sink, async {
                assert!(report(waiting(70)));
                7
            })
            .await;
            assert_eq!(out, 7);
            assert_eq!(*heard.lock().unwrap(), vec![waiting(70)]);
            assert!(!report(waiting(2)), "the scope ended with its call");
        }

        #[test]
        fn waiting_reads_as_the_waiter_always_said_it() {
            assert_eq!(waiting(70).to_string(), "still waiting for endpoint e (Creating, 1m 10s elapsed)");
            let progress = ProviderEvent::Progress {
                operation: "CreateStack".into(),
                subject: "stack s".into(),
                message: "Topic AWS::SNS::Topic CREATE_COMPLETE".into(),
            };
            assert_eq!(progress.to_string(), "stack s: Topic AWS::SNS::Topic CREATE_COMPLETE");
        }
    }
}

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Who and where a resource belongs to: used for generated names and tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResourceContext {
    pub project: String,
    pub environment: String,
    pub layer: String,
    /// `{project}-{env}-{layer}`, what `AWS::StackName` evaluates to.
    pub stack_name: String,
    pub logical_id: String,
    pub resource_type: String,
    /// The `infra` entry of the resource's template `Metadata`, as `{"infra": {…}}` (`Null`
    /// when the template sets none): per-resource provider settings such as
    /// `infra: { timeout: 30m }`. For a delete, the settings recorded in state.
    pub metadata: serde_json::Value,
}

impl ResourceContext {
    /// The context of `logical_id` in `layer`, its stack name derived as `AWS::StackName`
    /// evaluates it.
    pub fn new(project: &str, environment: &str, layer: &str, logical_id: &str, resource_type: &str) -> Self {
        ResourceContext {
            project: project.to_string(),
            environment: environment.to_string(),
            layer: layer.to_string(),
            stack_name: format!("{project}-{environment}-{layer}"),
            logical_id: logical_id.to_string(),
            resource_type: resource_type.to_string(),
            metadata: serde_json::Value::Null,
        }
    }

    /// The same context with these `{"infra": …}` settings.
    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = metadata;
        self
    }
}

/// The tag a create carries when the service assigns the resource's ID: its value is the
/// intent's token, so the resource can be found after a crash ([`Provider::find`]).
pub const INTENT_TAG: &str = "infra:intent";

/// Attributes readable with `Fn::GetAtt`. `Ref` reads the physical ID.
pub type Attributes = BTreeMap<String, serde_json::Value>;

#[derive(Clone, Debug)]
pub struct CreateRequest {
    pub context: ResourceContext,
    /// The name chosen before the call (see [`Provider::physical_name`]), if the type has one.
    pub physical_name: Option<String>,
    /// Unique per create intent and recorded in it before the call, so it is the same on every
    /// attempt of the call and after a crash: sent as a client token, or as the
    /// [`INTENT_TAG`] tag, where the service assigns the ID.
    pub token: String,
    pub properties: serde_json::Value,
}

/// Looks for the resource an interrupted create made, by the token it carried.
#[derive(Clone, Debug)]
pub struct FindRequest {
    pub context: ResourceContext,
    pub token: String,
    /// Properties the create sent, so the result can come back in the same shape.
    pub properties: serde_json::Value,
}

#[derive(Clone, Debug)]
pub struct ReadRequest {
    pub context: ResourceContext,
    pub physical_id: String,
    /// Properties as last applied, so the read can return the same shape.
    pub properties: serde_json::Value,
    pub attributes: Attributes,
}

#[derive(Clone, Debug)]
pub struct UpdateRequest {
    pub context: ResourceContext,
    pub physical_id: String,
    pub old_properties: serde_json::Value,
    pub new_properties: serde_json::Value,
    pub old_attributes: Attributes,
}

#[derive(Clone, Debug)]
pub struct DeleteRequest {
    pub context: ResourceContext,
    pub physical_id: String,
    pub properties: serde_json::Value,
    pub attributes: Attributes,
}

/// The result of a create or update.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub physical_id: String,
    pub attributes: Attributes,
}

/// What exists right now, in the template's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub physical_id: String,
    pub properties: serde_json::Value,
    pub attributes: Attributes,
    /// Set when the resource exists but is not usable (an endpoint in `Failed`): why. Such a
    /// resource is recorded as tainted, and the next plan replaces it.
    pub failure: Option<String>,
}

/// What a drift check learns of one resource ([`Provider::drift`]).
#[derive(Clone, Debug, PartialEq)]
pub enum DriftAnswer {
    /// The resource as it is now, in the template's shape: the engine compares it with what
    /// state recorded.
    Observed(Observed),
    /// The resource does not exist.
    Gone,
    /// The service compared the resource itself (CloudFormation's drift detection, for a type
    /// deployed through a stack): its differences, none when in sync.
    Compared(Vec<ServiceDifference>),
    /// The resource cannot be checked, and why.
    NotCheckable(String),
}

/// One difference a service's own drift detection found.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceDifference {
    /// `/`-separated below `Properties` (`VersioningConfiguration/Status`).
    pub path: String,
    pub expected: Option<serde_json::Value>,
    pub actual: Option<serde_json::Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The resource does not exist.
    NotFound,
    /// The request itself is wrong; retrying will not help.
    Invalid,
    /// Throttling, 5xx, connection trouble, eventual consistency: worth retrying.
    Transient,
    /// The resource exists already, or is in a state that forbids the call.
    Conflict,
    /// The provider does not support this operation or property.
    Unsupported,
    Other,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// The operation, e.g. `CreateRole`.
    pub operation: String,
    /// The service's error code, e.g. `EntityAlreadyExists`.
    pub code: Option<String>,
    pub message: String,
    /// The operation failed after the service made the resource (an endpoint whose create
    /// succeeded and which then reached `Failed`, or whose waiter timed out; a role whose
    /// policy could not be attached nor the role removed again): it exists under this ID. The
    /// engine records it as tainted, so it is neither leaked nor created twice.
    pub partial: Option<Box<Applied>>,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, operation: impl Into<String>, message: impl Into<String>) -> Self {
        ProviderError { kind, operation: operation.into(), code: None, message: message.into(), partial: None }
    }
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
    /// The resource exists although the operation failed (see [`ProviderError::partial`]).
    pub fn with_partial(mut self, applied: Applied) -> Self {
        self.partial = Some(Box::new(applied));
        self
    }

    /// Whether the failed call may still have taken effect, so that nobody can say whether
    /// the resource was made, changed or deleted: a lost answer, a timeout, a 5xx, anything
    /// unclassified. The engine then keeps the operation's intent open, and the next run reads
    /// the resource to settle it. A refusal (invalid, conflict, not found, unsupported)
    /// changed nothing, and a [`partial`](Self::partial) result is known exactly.
    pub fn is_ambiguous(&self) -> bool {
        self.partial.is_none() && matches!(self.kind, ErrorKind::Transient | ErrorKind::Other)
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{} failed: {}: {}", self.operation, c, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl std::error::Error for ProviderError {}

#[async_trait]
pub trait Provider: Send + Sync {
    /// A short name for messages (`iam`, `sagemaker`, `local`).
    fn name(&self) -> &str;

    /// The resource types this provider manages.
    fn resource_types(&self) -> &[&'static str];

    /// Whether this provider takes `resource_type`: by default, whether it is one of its
    /// [`resource_types`](Provider::resource_types). A [fallback](Registry::set_fallback)
    /// provider says here which of the types nobody else claims it can manage.
    fn accepts(&self, resource_type: &str) -> bool {
        self.resource_types().contains(&resource_type)
    }

    /// How many operations the engine may run on this provider at once.
    fn concurrency(&self) -> usize {
        10
    }

    /// How this provider provisions `resource_type` when it does not call the type's own
    /// service directly: a short label plans show beside the type (`through CloudFormation`).
    /// `None`, the default, for providers that manage the type themselves.
    fn provisioned_through(&self, _resource_type: &str) -> Option<&str> {
        None
    }

    /// Choose the physical name for a new resource before it is created; `None` when the
    /// service assigns the ID. Called once per create intent and recorded before the create.
    fn physical_name(&self, _context: &ResourceContext, _properties: &serde_json::Value) -> Option<String> {
        None
    }

    /// Properties whose change forces replacement, where the registry schema does not say
    /// (engine-local types); `None` means "use the schema's `createOnlyProperties`".
    fn create_only_properties(&self, _resource_type: &str) -> Option<Vec<String>> {
        None
    }

    /// Properties that name the resource, where two resources of the type cannot share a name
    /// (`RoleName`, `FileName`); `None` means "the create-only properties whose name ends in
    /// `Name`". A replacement that keeps the name must delete the old resource first.
    fn name_properties(&self, _resource_type: &str) -> Option<Vec<String>> {
        None
    }

    /// Attributes whose value may change on an in-place update (shown as known after apply);
    /// the others are taken as stable, as `Arn` and `Ref` are. A name ending in `*` stands
    /// for every attribute it begins (`Outputs.*`).
    fn volatile_attributes(&self, _resource_type: &str) -> Vec<String> {
        Vec::new()
    }

    async fn create(&self, req: &CreateRequest) -> Result<Applied, ProviderError>;

    /// `Ok(None)` when the resource does not exist.
    async fn read(&self, req: &ReadRequest) -> Result<Option<Observed>, ProviderError>;

    /// The resource a create carrying `req.token` made, for types whose ID the service
    /// assigns (no [`physical_name`](Provider::physical_name)); `Ok(None)` when there is
    /// none. Types that cannot be found this way answer [`ErrorKind::Unsupported`], and an
    /// interrupted create of theirs is left for the user to settle rather than guessed at.
    async fn find(&self, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        Err(ProviderError::new(
            ErrorKind::Unsupported,
            "find",
            format!("{} cannot be found by the token its create carried", req.context.resource_type),
        ))
    }

    /// Drift detection's look at a resource: by default a [`read`](Provider::read), which the
    /// engine compares with state. A provider whose service compares resources itself answers
    /// [`DriftAnswer::Compared`]; one that cannot check a resource says why. Like `read`, it
    /// never changes anything.
    async fn drift(&self, req: &ReadRequest) -> Result<DriftAnswer, ProviderError> {
        Ok(match self.read(req).await? {
            Some(observed) => DriftAnswer::Observed(observed),
            None => DriftAnswer::Gone,
        })
    }

    async fn update(&self, req: &UpdateRequest) -> Result<Applied, ProviderError>;

    /// Deleting something that is already gone is success.
    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError>;
}

/// Two providers claimed one resource type: the registry keeps the first and refuses the
/// second whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryError {
    pub resource_type: String,
    /// The provider that already manages the type.
    pub registered: String,
    /// The provider that was refused.
    pub refused: String,
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "two providers claim resource type {}: {} (registered) and {} (refused)",
            self.resource_type, self.registered, self.refused
        )
    }
}

impl std::error::Error for RegistryError {}

/// Providers by resource type: at most one per type, and optionally a fallback for the types
/// no provider claims that the fallback [accepts](Provider::accepts).
#[derive(Clone, Default)]
pub struct Registry {
    by_type: BTreeMap<String, Arc<dyn Provider>>,
    providers: Vec<Arc<dyn Provider>>,
    fallback: Option<Arc<dyn Provider>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `p` for each of its [`resource_types`](Provider::resource_types). A type another
    /// provider already manages refuses `p` whole, and nothing of it is registered.
    pub fn register(&mut self, p: Arc<dyn Provider>) -> Result<(), RegistryError> {
        let mut seen = std::collections::BTreeSet::new();
        for t in p.resource_types() {
            let registered = match self.by_type.get(*t) {
                Some(existing) => existing.name().to_string(),
                None if !seen.insert(*t) => p.name().to_string(),
                None => continue,
            };
            return Err(RegistryError { resource_type: (*t).to_string(), registered, refused: p.name().to_string() });
        }
        for t in p.resource_types() {
            self.by_type.insert((*t).to_string(), p.clone());
        }
        self.providers.push(p);
        Ok(())
    }

    /// The provider for types no registered provider claims, used where it
    /// [accepts](Provider::accepts) the type. A second call replaces the first fallback.
    pub fn set_fallback(&mut self, p: Arc<dyn Provider>) {
        if let Some(old) = self.fallback.take() {
            self.providers.retain(|q| !Arc::ptr_eq(q, &old));
        }
        self.providers.push(p.clone());
        self.fallback = Some(p);
    }

    pub fn for_type(&self, resource_type: &str) -> Option<&Arc<dyn Provider>> {
        self.by_type.get(resource_type).or_else(|| self.fallback.as_ref().filter(|f| f.accepts(resource_type)))
    }

    /// Every provider, the fallback included.
    pub fn providers(&self) -> &[Arc<dyn Provider>] {
        &self.providers
    }

    pub fn supports(&self, resource_type: &str) -> bool {
        self.for_type(resource_type).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that only has a name and types.
    struct Named {
        name: &'static str,
        types: Vec<&'static str>,
        prefix: Option<&'static str>,
    }

    fn named(name: &'static str, types: &[&'static str]) -> Arc<dyn Provider> {
        Arc::new(Named { name, types: types.to_vec(), prefix: None })
    }

    #[async_trait]
    impl Provider for Named {
        fn name(&self) -> &str {
            self.name
        }
        fn resource_types(&self) -> &[&'static str] {
            &self.types
        }
        fn accepts(&self, resource_type: &str) -> bool {
            match self.prefix {
                Some(prefix) => resource_type.starts_with(prefix),
                None => self.resource_types().contains(&resource_type),
            }
        }
        async fn create(&self, _: &CreateRequest) -> Result<Applied, ProviderError> {
            Err(ProviderError::new(ErrorKind::Unsupported, "Create", "no"))
        }
        async fn read(&self, _: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(None)
        }
        async fn update(&self, _: &UpdateRequest) -> Result<Applied, ProviderError> {
            Err(ProviderError::new(ErrorKind::Unsupported, "Update", "no"))
        }
        async fn delete(&self, _: &DeleteRequest) -> Result<(), ProviderError> {
            Ok(())
        }
    }

    fn owner<'a>(registry: &'a Registry, resource_type: &str) -> Option<&'a str> {
        registry.for_type(resource_type).map(|p| p.name())
    }

    #[test]
    fn two_providers_for_one_type_are_refused() {
        let mut registry = Registry::new();
        registry.register(named("iam", &["AWS::IAM::Role", "AWS::IAM::Policy"])).expect("first");
        let err = registry.register(named("other", &["AWS::S3::Bucket", "AWS::IAM::Role"])).expect_err("clash");
        assert_eq!(
            err,
            RegistryError { resource_type: "AWS::IAM::Role".into(), registered: "iam".into(), refused: "other".into() }
        );
        assert_eq!(
            err.to_string(),
            "two providers claim resource type AWS::IAM::Role: iam (registered) and other (refused)"
        );
        // Refused whole: none of its types, and it is not among the providers.
        assert_eq!(owner(&registry, "AWS::IAM::Role"), Some("iam"));
        assert_eq!(owner(&registry, "AWS::S3::Bucket"), None);
        assert_eq!(registry.providers().len(), 1);
        let err = registry.register(named("twice", &["A::B::C", "A::B::C"])).expect_err("listed twice");
        assert_eq!(err.registered, "twice");
        registry.register(named("s3", &["AWS::S3::Bucket"])).expect("no clash");
        assert_eq!(owner(&registry, "AWS::S3::Bucket"), Some("s3"));
    }

    #[test]
    fn the_fallback_takes_only_unclaimed_types_it_accepts() {
        let mut registry = Registry::new();
        registry.register(named("iam", &["AWS::IAM::Role"])).expect("first");
        assert!(!registry.supports("AWS::SQS::Queue"));
        registry.set_fallback(Arc::new(Named { name: "cloudformation", types: vec![], prefix: Some("AWS::") }));
        assert_eq!(owner(&registry, "AWS::IAM::Role"), Some("iam"));
        assert_eq!(owner(&registry, "AWS::SQS::Queue"), Some("cloudformation"));
        assert!(registry.supports("AWS::SQS::Queue"));
        assert_eq!(owner(&registry, "Custom::Thing"), None);
        assert_eq!(registry.providers().len(), 2, "the fallback gets its own concurrency");
        registry.set_fallback(Arc::new(Named { name: "custom", types: vec![], prefix: Some("Custom::") }));
        assert_eq!(owner(&registry, "AWS::SQS::Queue"), None);
        assert_eq!(owner(&registry, "Custom::Thing"), Some("custom"));
        assert_eq!(registry.providers().len(), 2, "a replaced fallback is gone");
    }
}
