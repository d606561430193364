//! The resource type is the unit: each type implements [`ResourceType`] in its own file, and a
//! service lists its types in one table ([`ServiceContext::TYPES`]). [`Service`] turns the
//! table into an [`infra_core::provider::Provider`], so adding a type is one file and one line
//! in its service's table, and there is no hand-written dispatch to forget an arm in.

use async_trait::async_trait;
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Provider, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};

/// One resource type of a service whose shared context (clients and settings) is `S`.
#[async_trait]
pub trait ResourceType<S: Send + Sync + 'static>: Send + Sync {
    /// The CloudFormation type name, e.g. `AWS::IAM::Role`.
    fn type_name(&self) -> &'static str;

    /// The name chosen for a new resource before its create ([`Provider::physical_name`]);
    /// `None` when the service assigns the ID.
    fn physical_name(&self, _context: &ResourceContext, _properties: &serde_json::Value) -> Option<String> {
        None
    }

    /// Where the registry schema's `createOnlyProperties` is wrong for this type: the list
    /// that really forces replacement ([`Provider::create_only_properties`]). `None`, the
    /// default, takes the schema's.
    fn create_only_override(&self) -> Option<Vec<String>> {
        None
    }

    /// The properties whose change replaces the resource: the override where there is one,
    /// else the schema's. What an update checks before it changes anything in place.
    fn create_only_properties(&self) -> Vec<String> {
        self.create_only_override().unwrap_or_else(|| super::schema::create_only(self.type_name()))
    }

    /// The properties that name the resource ([`Provider::name_properties`]).
    fn name_properties(&self) -> Option<Vec<String>> {
        None
    }

    /// Attributes an in-place update may change ([`Provider::volatile_attributes`]).
    fn volatile_attributes(&self) -> Vec<String> {
        Vec::new()
    }

    async fn create(&self, service: &S, req: &CreateRequest) -> Result<Applied, ProviderError>;

    async fn read(&self, service: &S, req: &ReadRequest) -> Result<Option<Observed>, ProviderError>;

    /// The resource a create carrying `req.token` made ([`Provider::find`]); by default the
    /// type cannot be found that way.
    async fn find(&self, _service: &S, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        Err(ProviderError::new(
            ErrorKind::Unsupported,
            "find",
            format!("{} cannot be found by the token its create carried", req.context.resource_type),
        ))
    }

    async fn update(&self, service: &S, req: &UpdateRequest) -> Result<Applied, ProviderError>;

    async fn delete(&self, service: &S, req: &DeleteRequest) -> Result<(), ProviderError>;
}

/// What a service shares between its types, and its table of types.
pub trait ServiceContext: Send + Sync + Sized + 'static {
    /// The provider's short name for messages (`iam`, `sagemaker`).
    const NAME: &'static str;
    /// How many operations the engine may run on the service at once.
    const CONCURRENCY: usize;
    /// Every type the service manages, one line each.
    const TYPES: &'static [&'static dyn ResourceType<Self>];
}

/// A service's provider: dispatches each call to its type through the table.
pub struct Service<S: ServiceContext> {
    context: S,
    type_names: Vec<&'static str>,
}

impl<S: ServiceContext> Service<S> {
    pub fn from_context(context: S) -> Self {
        let type_names = S::TYPES.iter().map(|t| t.type_name()).collect();
        Service { context, type_names }
    }

    /// The clients and settings the service's types share.
    pub fn context(&self) -> &S {
        &self.context
    }

    fn kind(&self, resource_type: &str, operation: &str) -> Result<&'static dyn ResourceType<S>, ProviderError> {
        lookup::<S>(resource_type).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Unsupported,
                operation,
                format!("the {} provider does not manage {resource_type}", S::NAME),
            )
        })
    }
}

fn lookup<S: ServiceContext>(resource_type: &str) -> Option<&'static dyn ResourceType<S>> {
    S::TYPES.iter().copied().find(|t| t.type_name() == resource_type)
}

/// Type names listed more than once in a service's table (empty when the table is sound).
pub fn duplicate_types<S: ServiceContext>() -> Vec<&'static str> {
    let mut seen = std::collections::BTreeSet::new();
    S::TYPES.iter().map(|t| t.type_name()).filter(|name| !seen.insert(*name)).collect()
}

#[async_trait]
impl<S: ServiceContext> Provider for Service<S> {
    fn name(&self) -> &str {
        S::NAME
    }

    fn resource_types(&self) -> &[&'static str] {
        &self.type_names
    }

    fn concurrency(&self) -> usize {
        S::CONCURRENCY
    }

    fn physical_name(&self, context: &ResourceContext, properties: &serde_json::Value) -> Option<String> {
        lookup::<S>(&context.resource_type)?.physical_name(context, properties)
    }

    fn create_only_properties(&self, resource_type: &str) -> Option<Vec<String>> {
        lookup::<S>(resource_type)?.create_only_override()
    }

    fn name_properties(&self, resource_type: &str) -> Option<Vec<String>> {
        lookup::<S>(resource_type)?.name_properties()
    }

    fn volatile_attributes(&self, resource_type: &str) -> Vec<String> {
        lookup::<S>(resource_type).map(|t| t.volatile_attributes()).unwrap_or_default()
    }

    async fn create(&self, req: &CreateRequest) -> Result<Applied, ProviderError> {
        self.kind(&req.context.resource_type, "Create")?.create(&self.context, req).await
    }

    async fn read(&self, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        self.kind(&req.context.resource_type, "Read")?.read(&self.context, req).await
    }

    async fn find(&self, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        self.kind(&req.context.resource_type, "Find")?.find(&self.context, req).await
    }

    async fn update(&self, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        self.kind(&req.context.resource_type, "Update")?.update(&self.context, req).await
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError> {
        self.kind(&req.context.resource_type, "Delete")?.delete(&self.context, req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fake;
    struct Thing;

    #[async_trait]
    impl ResourceType<Fake> for Thing {
        fn type_name(&self) -> &'static str {
            "Test::Fake::Thing"
        }
        fn physical_name(&self, context: &ResourceContext, _properties: &serde_json::Value) -> Option<String> {
            Some(format!("thing-{}", context.logical_id))
        }
        async fn create(&self, _: &Fake, req: &CreateRequest) -> Result<Applied, ProviderError> {
            Ok(Applied { physical_id: req.physical_name.clone().unwrap_or_default(), attributes: Default::default() })
        }
        async fn read(&self, _: &Fake, _: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
            Ok(None)
        }
        async fn update(&self, _: &Fake, _: &UpdateRequest) -> Result<Applied, ProviderError> {
            Err(ProviderError::new(ErrorKind::Unsupported, "Update", "no"))
        }
        async fn delete(&self, _: &Fake, _: &DeleteRequest) -> Result<(), ProviderError> {
            Ok(())
        }
    }

    impl ServiceContext for Fake {
        const NAME: &'static str = "fake";
        const CONCURRENCY: usize = 3;
        const TYPES: &'static [&'static dyn ResourceType<Self>] = &[&Thing];
    }

    fn context(resource_type: &str) -> ResourceContext {
        ResourceContext { resource_type: resource_type.into(), logical_id: "A".into(), ..Default::default() }
    }

    #[tokio::test]
    async fn calls_go_to_the_type_in_the_table() {
        let service = Service::from_context(Fake);
        assert_eq!(service.name(), "fake");
        assert_eq!(service.concurrency(), 3);
        assert_eq!(service.resource_types(), &["Test::Fake::Thing"]);
        assert_eq!(service.physical_name(&context("Test::Fake::Thing"), &json!({})).as_deref(), Some("thing-A"));
        assert_eq!(service.physical_name(&context("Test::Fake::Other"), &json!({})), None);
        let req = |t: &str| CreateRequest {
            context: context(t),
            physical_name: Some("n".into()),
            token: "t".into(),
            properties: json!({}),
        };
        assert_eq!(service.create(&req("Test::Fake::Thing")).await.expect("created").physical_id, "n");
        let err = service.create(&req("Test::Fake::Other")).await.expect_err("not in the table");
        assert_eq!(err.kind, ErrorKind::Unsupported);
        assert_eq!(err.message, "the fake provider does not manage Test::Fake::Other");
        let find = FindRequest { context: context("Test::Fake::Thing"), token: "t".into(), properties: json!({}) };
        assert_eq!(service.find(&find).await.expect_err("default").kind, ErrorKind::Unsupported);
    }

    #[test]
    fn every_table_names_each_type_once() {
        assert!(duplicate_types::<Fake>().is_empty());
        assert!(duplicate_types::<crate::iam::Iam>().is_empty());
        assert!(duplicate_types::<crate::sagemaker::SageMaker>().is_empty());
        assert!(duplicate_types::<crate::application_autoscaling::AutoScaling>().is_empty());
        assert!(duplicate_types::<crate::ec2::Ec2>().is_empty());
        assert!(duplicate_types::<crate::cloudformation::CloudFormation>().is_empty());
    }
}
