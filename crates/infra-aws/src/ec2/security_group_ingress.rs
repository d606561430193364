//! `AWS::EC2::SecurityGroupIngress`: one ingress rule of a security group, as its own resource. Its model, and
//! what it shares with the other direction and with a group's inline rules, is in
//! [`super::sg_rule`].

use super::sg_rule::{self, Direction};
use super::Ec2;
use crate::kit::service::ResourceType;
use infra_core::provider::{
    Applied, CreateRequest, DeleteRequest, FindRequest, Observed, ProviderError, ReadRequest, UpdateRequest,
};

/// `AWS::EC2::SecurityGroupIngress`.
pub(crate) struct SecurityGroupIngressType;

#[async_trait::async_trait]
impl ResourceType<Ec2> for SecurityGroupIngressType {
    fn type_name(&self) -> &'static str {
        "AWS::EC2::SecurityGroupIngress"
    }
    async fn create(&self, ec2: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        sg_rule::create(ec2, req, Direction::Ingress).await
    }
    async fn read(&self, ec2: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        sg_rule::read(ec2, req, Direction::Ingress).await
    }
    async fn find(&self, ec2: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        sg_rule::find(ec2, req, Direction::Ingress).await
    }
    async fn update(&self, ec2: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        sg_rule::update(ec2, req, Direction::Ingress, &self.create_only_properties()).await
    }
    async fn delete(&self, ec2: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        sg_rule::delete(ec2, req, Direction::Ingress).await
    }
}
