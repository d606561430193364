//! `AWS::EC2::VPCGatewayAttachment`: an internet gateway (`InternetGatewayId`) or a VPN
//! gateway (`VpnGatewayId`) attached to a VPC (`VpcId`).
//!
//! An attachment has no ID of its own. Its physical ID is CloudFormation's: the kind and the
//! VPC, `IGW|vpc-…` or `VGW|vpc-…`, which is enough to read it back because a VPC has at most
//! one gateway of each kind. The attach call cannot carry a tag, so `find` looks for the
//! template's gateway attached to the template's VPC; after a lost answer the create does the
//! same before attaching again. Delete is detach.
//!
//! Every property needs a new attachment: the VPC is create-only in the registry schema, and
//! the schema's in-place change of the gateway is a detach and an attach all the same (a
//! switch between kinds would even change the physical ID). Since a gateway attaches to one
//! VPC and a VPC takes one gateway of a kind, the three properties are this type's names: a
//! replacement that keeps one of them detaches the old attachment first.

use super::{filter, Ec2};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::{check_in_place, Props};
use crate::kit::waiter::Waits as _;
use crate::waiter::{Phase, Poll};
use aws_sdk_ec2::types::AttachmentStatus;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};
use serde_json::{json, Value};

const TYPE: &str = "AWS::EC2::VPCGatewayAttachment";

const PROPERTIES: [&str; 3] = ["VpcId", "InternetGatewayId", "VpnGatewayId"];

#[derive(Clone, Debug, PartialEq)]
enum Gateway {
    Internet(String),
    Vpn(String),
}

impl Gateway {
    fn prefix(&self) -> &'static str {
        match self {
            Gateway::Internet(_) => "IGW",
            Gateway::Vpn(_) => "VGW",
        }
    }
}

/// An attachment's properties, read and checked.
struct Spec {
    vpc_id: String,
    gateway: Gateway,
}

impl Spec {
    fn read(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        let invalid = |message: &str| ProviderError::new(ErrorKind::Invalid, operation, message);
        let vpc_id = props.required_string("VpcId")?;
        let gateway = match (props.string("InternetGatewayId")?, props.string("VpnGatewayId")?) {
            (Some(igw), None) => Gateway::Internet(igw),
            (None, Some(vgw)) => Gateway::Vpn(vgw),
            (Some(_), Some(_)) => {
                return Err(invalid("properties InternetGatewayId and VpnGatewayId cannot both be set"))
            }
            (None, None) => return Err(invalid("property InternetGatewayId or VpnGatewayId is required")),
        };
        Ok(Spec { vpc_id, gateway })
    }

    fn physical_id(&self) -> String {
        format!("{}|{}", self.gateway.prefix(), self.vpc_id)
    }
}

/// The kind and the VPC a physical ID names.
fn parse_physical_id(id: &str) -> Result<(&str, &str), ProviderError> {
    match id.split_once('|') {
        Some((kind @ ("IGW" | "VGW"), vpc)) if !vpc.is_empty() => Ok((kind, vpc)),
        _ => Err(ProviderError::new(
            ErrorKind::Invalid,
            "DescribeVpcGatewayAttachment",
            format!("{id:?} is not a VPC gateway attachment ID (IGW|vpc-… or VGW|vpc-…)"),
        )),
    }
}

/// The gateway of `kind` attached to `vpc_id`, if any. A VPN gateway counts while it is
/// attaching or attached.
async fn attached(p: &Ec2, kind: &str, vpc_id: &str) -> Result<Option<Gateway>, ProviderError> {
    if kind == "IGW" {
        let out = p
            .call("DescribeInternetGateways", || {
                p.client.describe_internet_gateways().filters(filter("attachment.vpc-id", vpc_id)).send()
            })
            .await?;
        return Ok(out
            .internet_gateways()
            .iter()
            .find(|g| {
                g.attachments().iter().any(|a| {
                    a.vpc_id() == Some(vpc_id)
                        && !matches!(a.state(), Some(AttachmentStatus::Detached | AttachmentStatus::Detaching))
                })
            })
            .and_then(|g| g.internet_gateway_id().map(|id| Gateway::Internet(id.to_string()))));
    }
    let out = p
        .call("DescribeVpnGateways", || {
            p.client.describe_vpn_gateways().filters(filter("attachment.vpc-id", vpc_id)).send()
        })
        .await?;
    Ok(out
        .vpn_gateways()
        .iter()
        .find(|g| {
            g.vpc_attachments().iter().any(|a| {
                a.vpc_id() == Some(vpc_id) && matches!(a.state().map(|s| s.as_str()), Some("attached" | "attaching"))
            })
        })
        .and_then(|g| g.vpn_gateway_id().map(|id| Gateway::Vpn(id.to_string()))))
}

fn applied(physical_id: &str, spec: &Spec) -> Applied {
    let mut attributes = Attributes::new();
    attributes.insert("VpcId".into(), Value::from(spec.vpc_id.as_str()));
    Applied { physical_id: physical_id.to_string(), attributes }
}

fn observed(kind: &str, vpc_id: &str, gateway: Gateway) -> Observed {
    let properties = match &gateway {
        Gateway::Internet(id) => json!({"VpcId": vpc_id, "InternetGatewayId": id}),
        Gateway::Vpn(id) => json!({"VpcId": vpc_id, "VpnGatewayId": id}),
    };
    let physical_id = format!("{kind}|{vpc_id}");
    let mut attributes = Attributes::new();
    attributes.insert("VpcId".into(), Value::from(vpc_id));
    Observed { physical_id, properties, attributes, failure: None }
}

async fn observe(p: &Ec2, physical_id: &str) -> Result<Option<Observed>, ProviderError> {
    let (kind, vpc_id) = parse_physical_id(physical_id)?;
    Ok(absent_if_missing(attached(p, kind, vpc_id).await)?.flatten().map(|g| observed(kind, vpc_id, g)))
}

/// `AWS::EC2::VPCGatewayAttachment`.
pub(crate) struct GatewayAttachmentType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for GatewayAttachmentType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    /// The schema lists only `VpcId`; see the module's notes for why the gateway is one too.
    fn create_only_override(&self) -> Option<Vec<String>> {
        Some(PROPERTIES.iter().map(|p| p.to_string()).collect())
    }
    fn name_properties(&self) -> Option<Vec<String>> {
        Some(PROPERTIES.iter().map(|p| p.to_string()).collect())
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        let spec = Spec::read(&req.properties, "AttachGateway")?;
        let (operation, physical_id) = match &spec.gateway {
            Gateway::Internet(_) => ("AttachInternetGateway", spec.physical_id()),
            Gateway::Vpn(_) => ("AttachVpnGateway", spec.physical_id()),
        };
        Box::pin(p.create_once(
            operation,
            || async {
                match &spec.gateway {
                    Gateway::Internet(igw) => p
                        .client
                        .attach_internet_gateway()
                        .internet_gateway_id(igw)
                        .vpc_id(&spec.vpc_id)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| crate::error::from_sdk(operation, &e))?,
                    Gateway::Vpn(vgw) => p
                        .client
                        .attach_vpn_gateway()
                        .vpn_gateway_id(vgw)
                        .vpc_id(&spec.vpc_id)
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| crate::error::from_sdk(operation, &e))?,
                }
                Ok(physical_id.clone())
            },
            // The attach carries no tag: what it made is this gateway attached to this VPC.
            || async {
                let found = attached(p, spec.gateway.prefix(), &spec.vpc_id).await?;
                Ok((found.as_ref() == Some(&spec.gateway)).then(|| physical_id.clone()))
            },
        ))
        .await?;
        Ok(applied(&physical_id, &spec))
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        observe(p, &req.physical_id).await
    }
    /// The template's gateway attached to the template's VPC; another gateway attached there is
    /// not what this create made.
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        let spec = Spec::read(&req.properties, "AttachGateway")?;
        let found = observe(p, &spec.physical_id()).await?;
        let mine = |o: &Observed| {
            let key = match spec.gateway {
                Gateway::Internet(_) => "InternetGatewayId",
                Gateway::Vpn(_) => "VpnGatewayId",
            };
            let id = match &spec.gateway {
                Gateway::Internet(id) | Gateway::Vpn(id) => id,
            };
            o.properties.get(key).and_then(Value::as_str) == Some(id.as_str())
        };
        Ok(found.filter(mine))
    }
    /// Nothing changes in place (see the module's notes); this only refuses what would need a
    /// new attachment and reports the attachment as it is.
    async fn update(&self, _p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "AttachGateway";
        let spec = Spec::read(&req.new_properties, OPERATION)?;
        check_in_place(&req.old_properties, &req.new_properties, &PROPERTIES, "VPC gateway attachment", OPERATION)?;
        Ok(applied(&req.physical_id, &spec))
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        let (kind, vpc_id) = parse_physical_id(&req.physical_id)?;
        let gateway = match absent_if_missing(attached(p, kind, vpc_id).await)?.flatten() {
            Some(g) => g,
            None => return Ok(()),
        };
        let result = match &gateway {
            Gateway::Internet(igw) => p
                .call("DetachInternetGateway", || {
                    p.client.detach_internet_gateway().internet_gateway_id(igw).vpc_id(vpc_id).send()
                })
                .await
                .map(drop),
            Gateway::Vpn(vgw) => p
                .call("DetachVpnGateway", || p.client.detach_vpn_gateway().vpn_gateway_id(vgw).vpc_id(vpc_id).send())
                .await
                .map(drop),
        };
        match result {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::NotFound || e.code.as_deref() == Some("Gateway.NotAttached") => {
                return Ok(())
            }
            Err(e) => return Err(e),
        }
        // A VPN gateway detaches in the background; the VPC cannot be deleted until it has.
        if let Gateway::Vpn(vgw) = &gateway {
            let subject = format!("VPN gateway {vgw}");
            p.wait(&req.context, Phase::Delete, "DetachVpnGateway", &subject, "detached")?
                .until(|| async {
                    Ok(match attached(p, kind, vpc_id).await? {
                        Some(g) if g == gateway => Poll::Pending("detaching".to_string()),
                        _ => Poll::Ready(()),
                    })
                })
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_and_physical_ids() {
        let spec = Spec::read(&json!({"VpcId": "vpc-1", "InternetGatewayId": "igw-1"}), "AttachGateway").unwrap();
        assert_eq!(spec.physical_id(), "IGW|vpc-1");
        let spec = Spec::read(&json!({"VpcId": "vpc-1", "VpnGatewayId": "vgw-1"}), "AttachGateway").unwrap();
        assert_eq!(spec.physical_id(), "VGW|vpc-1");
        let err = |v: Value| Spec::read(&v, "AttachGateway").err().map(|e| e.message);
        assert_eq!(err(json!({"InternetGatewayId": "igw-1"})).as_deref(), Some("property VpcId is required"));
        assert_eq!(
            err(json!({"VpcId": "vpc-1"})).as_deref(),
            Some("property InternetGatewayId or VpnGatewayId is required")
        );
        assert_eq!(
            err(json!({"VpcId": "vpc-1", "InternetGatewayId": "igw-1", "VpnGatewayId": "vgw-1"})).as_deref(),
            Some("properties InternetGatewayId and VpnGatewayId cannot both be set")
        );
        assert_eq!(parse_physical_id("IGW|vpc-1").unwrap(), ("IGW", "vpc-1"));
        assert!(parse_physical_id("vpc-1").is_err());
        assert!(parse_physical_id("XGW|vpc-1").is_err());
    }
}
