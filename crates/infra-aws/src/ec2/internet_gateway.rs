//! `AWS::EC2::InternetGateway`: a VPC's way to the internet, once attached
//! ([`super::gateway_attachment`]). Ref is the gateway ID (EC2 assigns it, so the create
//! carries the intent tag and the gateway can be found by it); GetAtt `InternetGatewayId`.
//!
//! Its only property is `Tags`, which updates in place. A gateway still attached to a VPC
//! cannot be deleted; EC2's error says so.

use super::{check_template_tags, intent_filter, intent_tag_specification, live_tags, Ec2};
use crate::kit::errors::{absent_if_missing, gone_ok};
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::ObjectBuilder;
use crate::kit::tags::observed as tags_value;
use aws_sdk_ec2::types::{InternetGateway, ResourceType};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};
use serde_json::Value;

const TYPE: &str = "AWS::EC2::InternetGateway";

/// The template's tags, checked.
fn tags(properties: &Value, operation: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let tags = Props::root(properties, operation)?.tags()?;
    check_template_tags(&tags, operation)?;
    Ok(tags)
}

/// The gateway, or `None` when there is none by that ID.
async fn describe(p: &Ec2, id: &str) -> Result<Option<InternetGateway>, ProviderError> {
    let out = p
        .call("DescribeInternetGateways", || p.client.describe_internet_gateways().internet_gateway_ids(id).send())
        .await;
    Ok(absent_if_missing(out)?.and_then(|out| {
        out.internet_gateways.unwrap_or_default().into_iter().find(|g| g.internet_gateway_id() == Some(id))
    }))
}

/// Every gateway carrying the intent tag `token`.
async fn by_token(p: &Ec2, token: &str) -> Result<Vec<InternetGateway>, ProviderError> {
    let mut gateways = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = p
            .call("DescribeInternetGateways", || {
                p.client.describe_internet_gateways().filters(intent_filter(token)).set_next_token(next.clone()).send()
            })
            .await?;
        gateways.extend(out.internet_gateways.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(gateways),
        }
    }
}

fn gateway_id(gateway: &InternetGateway) -> Result<String, ProviderError> {
    gateway.internet_gateway_id().filter(|id| !id.is_empty()).map(str::to_string).ok_or_else(|| {
        ProviderError::new(
            ErrorKind::Other,
            "DescribeInternetGateways",
            "the answer carried an internet gateway without an ID",
        )
    })
}

impl super::Tagged for InternetGateway {
    fn id(&self) -> Option<&str> {
        self.internet_gateway_id()
    }
}

/// What `Ref` and `Fn::GetAtt` read.
fn applied(id: &str) -> Applied {
    let mut attributes = Attributes::new();
    attributes.insert("InternetGatewayId".into(), Value::from(id));
    Applied { physical_id: id.to_string(), attributes }
}

fn observe(gateway: InternetGateway, template: &Value) -> Result<Option<Observed>, ProviderError> {
    let id = gateway_id(&gateway)?;
    let properties = ObjectBuilder::new().put("Tags", tags_value(live_tags(gateway.tags()), template)).build();
    let applied = applied(&id);
    Ok(Some(Observed {
        physical_id: applied.physical_id,
        properties: crate::kit::readback::conform(properties, Some(template)),
        attributes: applied.attributes,
        failure: None,
    }))
}

/// `AWS::EC2::InternetGateway`.
pub(crate) struct InternetGatewayType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for InternetGatewayType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateInternetGateway";
        let template_tags = tags(&req.properties, OPERATION)?;
        let tags = intent_tag_specification(ResourceType::InternetGateway, &template_tags, &req.token, OPERATION)?;
        let id = Box::pin(p.create_once(
            OPERATION,
            || async {
                let out = p
                    .client
                    .create_internet_gateway()
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                out.internet_gateway.and_then(|g| g.internet_gateway_id).filter(|id| !id.is_empty()).ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, OPERATION, "the answer carried no internet gateway ID")
                })
            },
            || async {
                let found = super::the_one(
                    by_token(p, &req.token).await?,
                    "DescribeInternetGateways",
                    "internet gateway",
                    &req.token,
                )?;
                found.as_ref().map(gateway_id).transpose()
            },
        ))
        .await?;
        Ok(applied(&id))
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        match describe(p, &req.physical_id).await? {
            Some(gateway) => observe(gateway, &req.properties),
            None => Ok(None),
        }
    }
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        match super::the_one(
            by_token(p, &req.token).await?,
            "DescribeInternetGateways",
            "internet gateway",
            &req.token,
        )? {
            Some(gateway) => observe(gateway, &req.properties),
            None => Ok(None),
        }
    }
    async fn update(&self, p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateTags";
        let old = Props::root(&req.old_properties, OPERATION)?.tags()?;
        let new = tags(&req.new_properties, OPERATION)?;
        check_in_place(
            &req.old_properties,
            &req.new_properties,
            &crate::kit::schema::create_only(TYPE),
            "internet gateway",
            OPERATION,
        )?;
        p.update_tags(&req.physical_id, &old, &new).await?;
        Ok(applied(&req.physical_id))
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        let id = req.physical_id.as_str();
        gone_ok(
            p.call("DeleteInternetGateway", || p.client.delete_internet_gateway().internet_gateway_id(id).send())
                .await
                .map(drop),
        )
    }
}
