//! What the EC2 tests share: provider settings for a local AWS, and the provider's calls with
//! the context of a network layer.
#![allow(dead_code)] // each test binary uses its own part

use infra_aws::ec2::{Ec2Provider, Ec2Settings};
use infra_aws::waiter::Polling;
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, FindRequest, Observed, Provider, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::Value;
use std::time::Duration;

/// Settings for a local AWS: short waits, no heartbeats.
pub fn settings() -> Ec2Settings {
    Ec2Settings {
        consistency_window: Duration::from_secs(1),
        polling: Polling {
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(50),
            heartbeat_every: Duration::from_secs(60),
        },
        heartbeats: None,
        ..Ec2Settings::default()
    }
}

/// The context of a resource named `Thing` in the network layer of `mlplatform-dev`.
pub fn context(resource_type: &str) -> ResourceContext {
    ResourceContext {
        project: "mlplatform".into(),
        environment: "dev".into(),
        layer: "network".into(),
        stack_name: "mlplatform-dev-network".into(),
        logical_id: "Thing".into(),
        resource_type: resource_type.into(),
        ..Default::default()
    }
}

pub async fn create(p: &Ec2Provider, ty: &str, token: &str, properties: &Value) -> Result<Applied, ProviderError> {
    p.create(&CreateRequest {
        context: context(ty),
        physical_name: p.physical_name(&context(ty), properties),
        token: token.into(),
        properties: properties.clone(),
    })
    .await
}

pub async fn read(p: &Ec2Provider, ty: &str, physical_id: &str, properties: &Value) -> Option<Observed> {
    p.read(&ReadRequest {
        context: context(ty),
        physical_id: physical_id.into(),
        properties: properties.clone(),
        attributes: Default::default(),
    })
    .await
    .unwrap_or_else(|e| panic!("read {physical_id}: {e}"))
}

pub async fn find(
    p: &Ec2Provider,
    ty: &str,
    token: &str,
    properties: &Value,
) -> Result<Option<Observed>, ProviderError> {
    p.find(&FindRequest { context: context(ty), token: token.into(), properties: properties.clone() }).await
}

pub async fn update(
    p: &Ec2Provider,
    ty: &str,
    id: &str,
    old: &Value,
    new: &Value,
    applied: &Applied,
) -> Result<Applied, ProviderError> {
    p.update(&UpdateRequest {
        context: context(ty),
        physical_id: id.into(),
        old_properties: old.clone(),
        new_properties: new.clone(),
        old_attributes: applied.attributes.clone(),
    })
    .await
}

pub async fn delete(p: &Ec2Provider, ty: &str, physical_id: &str) -> Result<(), ProviderError> {
    p.delete(&DeleteRequest {
        context: context(ty),
        physical_id: physical_id.into(),
        properties: Value::Null,
        attributes: Default::default(),
    })
    .await
}
