//! `AWS::EC2::NatGateway`: a subnet's way out, to the internet through an Elastic IP
//! (`public`) or to other networks (`private`). Ref is the gateway ID (EC2 assigns it, so the
//! create carries the intent tag, and the intent's token as its `ClientToken`); GetAtt
//! `NatGatewayId`, `EniId`.
//!
//! A gateway takes minutes to become `available` and to be `deleted`; both are waited for,
//! with progress reported through provider events. A gateway that ends `failed` is an error
//! naming EC2's failure message, and the gateway is recorded as tainted. Only the tags update
//! in place; everything else needs a new gateway. Secondary addresses and regional
//! (`AvailabilityMode`) gateways are not supported.

use super::{check_template_tags, intent_filter, intent_tag_specification, live_tags, Ec2};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{omit_defaults, ObjectBuilder};
use crate::kit::tags::observed as tags_value;
use crate::kit::waiter::Waits as _;
use crate::waiter::{Phase, Poll};
use aws_sdk_ec2::types::{ConnectivityType, NatGateway, NatGatewayState, ResourceType};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest, INTENT_TAG,
};
use serde_json::{json, Value};

const TYPE: &str = "AWS::EC2::NatGateway";

const CONNECTIVITY_TYPES: &[&str] = &["public", "private"];

/// Properties infra's EC2 provider does not manage on NAT gateways; a template that sets one
/// is refused rather than half-applied.
const UNSUPPORTED: &[&str] = &[
    "SecondaryAllocationIds",
    "SecondaryPrivateIpAddresses",
    "SecondaryPrivateIpAddressCount",
    "MaxDrainDurationSeconds",
    "AvailabilityMode",
    "AvailabilityZoneAddresses",
    "VpcId",
];

/// A NAT gateway's properties, read and checked.
struct Spec {
    subnet_id: Option<String>,
    allocation_id: Option<String>,
    connectivity: Option<String>,
    private_ip: Option<String>,
    tags: Vec<(String, String)>,
}

impl Spec {
    fn parse(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        Ok(Spec {
            subnet_id: props.string("SubnetId")?,
            allocation_id: props.string("AllocationId")?,
            connectivity: props.string("ConnectivityType")?,
            private_ip: props.string("PrivateIpAddress")?,
            tags: props.tags()?,
        })
    }

    fn read(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        let invalid = |message: String| ProviderError::new(ErrorKind::Invalid, operation, message);
        if let Some(name) = UNSUPPORTED.iter().find(|name| props.get(name).is_some()) {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                operation,
                format!(
                    "property {name} is not supported by infra's EC2 provider on NAT gateways (secondary addresses \
                     and regional gateways are not); remove it from the template or manage the gateway outside infra"
                ),
            ));
        }
        let spec = Spec::parse(properties, operation)?;
        if spec.subnet_id.is_none() {
            return Err(invalid("property SubnetId is required".into()));
        }
        let connectivity = spec.connectivity.as_deref().unwrap_or("public");
        if !CONNECTIVITY_TYPES.contains(&connectivity) {
            return Err(invalid(format!(
                "property ConnectivityType must be one of {}, not {connectivity:?}",
                CONNECTIVITY_TYPES.join(", ")
            )));
        }
        match (connectivity, &spec.allocation_id) {
            ("public", None) => {
                return Err(invalid(
                    "property AllocationId is required for a public NAT gateway (give it an AWS::EC2::EIP's \
                     AllocationId, or set ConnectivityType: private)"
                        .into(),
                ))
            }
            ("private", Some(_)) => {
                return Err(invalid("property AllocationId cannot be set on a private NAT gateway".into()))
            }
            _ => {}
        }
        check_template_tags(&spec.tags, operation)?;
        Ok(spec)
    }
}

/// The gateway, or `None` when there is none by that ID. `fresh` for a gateway created
/// moments ago, which EC2 may not know everywhere yet.
async fn describe(p: &Ec2, id: &str, fresh: bool) -> Result<Option<NatGateway>, ProviderError> {
    let call = || p.client.describe_nat_gateways().nat_gateway_ids(id).send();
    let out =
        if fresh { p.call_fresh("DescribeNatGateways", call).await } else { p.call("DescribeNatGateways", call).await };
    Ok(absent_if_missing(out)?
        .and_then(|out| out.nat_gateways.unwrap_or_default().into_iter().find(|n| n.nat_gateway_id() == Some(id))))
}

fn carries(gateway: &NatGateway, token: &str) -> bool {
    gateway.tags().iter().any(|t| t.key() == Some(INTENT_TAG) && t.value() == Some(token))
}

/// Every gateway carrying the intent tag `token` that is not deleted. The tag is checked
/// here too: not every EC2 emulation applies tag filters to NAT gateways.
async fn by_token(p: &Ec2, token: &str) -> Result<Vec<NatGateway>, ProviderError> {
    let mut gateways = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = p
            .call("DescribeNatGateways", || {
                p.client.describe_nat_gateways().filter(intent_filter(token)).set_next_token(next.clone()).send()
            })
            .await?;
        gateways.extend(out.nat_gateways.unwrap_or_default().into_iter().filter(|n| {
            carries(n, token) && !matches!(n.state(), Some(NatGatewayState::Deleted | NatGatewayState::Deleting))
        }));
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(gateways),
        }
    }
}

fn gateway_id(gateway: &NatGateway) -> Result<String, ProviderError> {
    gateway.nat_gateway_id().filter(|id| !id.is_empty()).map(str::to_string).ok_or_else(|| {
        ProviderError::new(ErrorKind::Other, "DescribeNatGateways", "the answer carried a NAT gateway without an ID")
    })
}

impl super::Tagged for NatGateway {
    fn id(&self) -> Option<&str> {
        self.nat_gateway_id()
    }
}

/// The gateway's primary address (the one it was created with).
fn primary(gateway: &NatGateway) -> Option<&aws_sdk_ec2::types::NatGatewayAddress> {
    let addresses = gateway.nat_gateway_addresses();
    addresses.iter().find(|a| a.is_primary() == Some(true)).or_else(|| addresses.first())
}

/// What `Ref` and `Fn::GetAtt` read.
fn applied(id: &str, gateway: Option<&NatGateway>) -> Applied {
    let mut attributes = Attributes::new();
    attributes.insert("NatGatewayId".into(), Value::from(id));
    if let Some(eni) = gateway.and_then(primary).and_then(|a| a.network_interface_id()) {
        attributes.insert("EniId".into(), Value::from(eni));
    }
    Applied { physical_id: id.to_string(), attributes }
}

/// Why a gateway failed, as EC2 says it.
fn failure(gateway: &NatGateway) -> String {
    match (gateway.failure_code(), gateway.failure_message()) {
        (Some(code), Some(message)) => format!("{message} ({code})"),
        (None, Some(message)) => message.to_string(),
        (Some(code), None) => code.to_string(),
        (None, None) => "EC2 gave no reason".to_string(),
    }
}

/// The gateway as it is, in the template's shape. A `failed` gateway is reported with its
/// failure (so it is tainted); a `deleted` one is gone.
fn observe(gateway: NatGateway, template: &Value) -> Result<Option<Observed>, ProviderError> {
    let id = gateway_id(&gateway)?;
    if matches!(gateway.state(), Some(NatGatewayState::Deleted)) {
        return Ok(None);
    }
    let address = primary(&gateway);
    let mut properties = ObjectBuilder::new()
        .string("SubnetId", gateway.subnet_id())
        .string("AllocationId", address.and_then(|a| a.allocation_id()))
        .string("ConnectivityType", gateway.connectivity_type().map(ConnectivityType::as_str))
        .string("PrivateIpAddress", template.get("PrivateIpAddress").and(address.and_then(|a| a.private_ip())))
        .put("Tags", tags_value(live_tags(gateway.tags()), template))
        .build();
    omit_defaults(&mut properties, template, &[("ConnectivityType", json!("public"))]);
    let failed = matches!(gateway.state(), Some(NatGatewayState::Failed))
        .then(|| format!("NAT gateway {id} failed: {}", failure(&gateway)));
    let applied = applied(&id, Some(&gateway));
    Ok(Some(Observed {
        physical_id: applied.physical_id,
        properties: crate::kit::readback::conform(properties, Some(template)),
        attributes: applied.attributes,
        failure: failed,
    }))
}

/// Waits until the new gateway is `available`; `failed` (or deleted meanwhile) is an error
/// with EC2's reason.
async fn wait_available(p: &Ec2, context: &ResourceContext, id: &str) -> Result<Applied, ProviderError> {
    const OPERATION: &str = "CreateNatGateway";
    let subject = format!("NAT gateway {id}");
    let gateway = p
        .wait(context, Phase::Create, OPERATION, &subject, "available")?
        .until(|| async {
            let gateway = describe(p, id, true).await?.ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::NotFound,
                    OPERATION,
                    format!("{subject} disappeared while waiting for it"),
                )
            })?;
            Ok(match gateway.state() {
                Some(NatGatewayState::Available) => Poll::Ready(gateway),
                Some(NatGatewayState::Failed) => Poll::Failed(failure(&gateway)),
                Some(state @ (NatGatewayState::Deleting | NatGatewayState::Deleted)) => {
                    Poll::Failed(format!("it is {} ({})", state.as_str(), failure(&gateway)))
                }
                state => Poll::Pending(state.map_or("unknown", |s| s.as_str()).to_string()),
            })
        })
        .await?;
    Ok(applied(id, Some(&gateway)))
}

/// `AWS::EC2::NatGateway`.
pub(crate) struct NatGatewayType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for NatGatewayType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateNatGateway";
        let spec = Spec::read(&req.properties, OPERATION)?;
        let tags = intent_tag_specification(ResourceType::Natgateway, &spec.tags, &req.token, OPERATION)?;
        let id = Box::pin(p.create_once(
            OPERATION,
            || async {
                let out = p
                    .client
                    .create_nat_gateway()
                    .set_subnet_id(spec.subnet_id.clone())
                    .set_allocation_id(spec.allocation_id.clone())
                    .set_connectivity_type(spec.connectivity.as_deref().map(ConnectivityType::from))
                    .set_private_ip_address(spec.private_ip.clone())
                    .client_token(&req.token)
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                out.nat_gateway.and_then(|n| n.nat_gateway_id).filter(|id| !id.is_empty()).ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, OPERATION, "the answer carried no NAT gateway ID")
                })
            },
            || async {
                match super::the_one(by_token(p, &req.token).await?, "DescribeNatGateways", "NAT gateway", &req.token)?
                    .as_ref()
                {
                    None => Ok(None),
                    Some(one) => Ok(Some(gateway_id(one)?)),
                }
            },
        ))
        .await?;
        // The gateway exists from here on: whatever fails now, the engine must learn its ID.
        Box::pin(wait_available(p, &req.context, &id)).await.map_err(|e| e.with_partial(applied(&id, None)))
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        match describe(p, &req.physical_id, false).await? {
            Some(gateway) => observe(gateway, &req.properties),
            None => Ok(None),
        }
    }
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        match super::the_one(by_token(p, &req.token).await?, "DescribeNatGateways", "NAT gateway", &req.token)? {
            Some(gateway) => observe(gateway, &req.properties),
            None => Ok(None),
        }
    }
    async fn update(&self, p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateTags";
        let old = Spec::parse(&req.old_properties, OPERATION)?;
        let new = Spec::read(&req.new_properties, OPERATION)?;
        check_in_place(
            &req.old_properties,
            &req.new_properties,
            &crate::kit::schema::create_only(TYPE),
            "NAT gateway",
            OPERATION,
        )?;
        let id = req.physical_id.as_str();
        p.update_tags(id, &old.tags, &new.tags).await?;
        let gateway = describe(p, id, false).await?;
        Ok(applied(id, gateway.as_ref()))
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OPERATION: &str = "DeleteNatGateway";
        let id = req.physical_id.as_str();
        match describe(p, id, false).await? {
            None => return Ok(()),
            Some(g) if matches!(g.state(), Some(NatGatewayState::Deleted)) => return Ok(()),
            Some(_) => {}
        }
        match p.call(OPERATION, || p.client.delete_nat_gateway().nat_gateway_id(id).send()).await {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        // Its network interface and address are freed only once it is deleted; what depends on
        // them (the subnet, the Elastic IP, the VPC) must not be deleted before.
        let subject = format!("NAT gateway {id}");
        p.wait(&req.context, Phase::Delete, OPERATION, &subject, "deleted")?
            .until(|| async {
                Ok(match describe(p, id, false).await? {
                    None => Poll::Ready(()),
                    Some(g) => match g.state() {
                        Some(NatGatewayState::Deleted | NatGatewayState::Failed) => Poll::Ready(()),
                        state => Poll::Pending(state.map_or("unknown", |s| s.as_str()).to_string()),
                    },
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(properties: Value, expected: Result<(), &str>) {
        let got = Spec::read(&properties, "CreateNatGateway").map(drop).map_err(|e| e.message);
        assert_eq!(got, expected.map_err(str::to_string), "{properties}");
    }

    #[test]
    fn properties_are_checked_with_their_path() {
        check(json!({"SubnetId": "subnet-1", "AllocationId": "eipalloc-1"}), Ok(()));
        check(json!({"SubnetId": "subnet-1", "ConnectivityType": "private"}), Ok(()));
        check(json!({"AllocationId": "eipalloc-1"}), Err("property SubnetId is required"));
        check(
            json!({"SubnetId": "subnet-1"}),
            Err("property AllocationId is required for a public NAT gateway (give it an AWS::EC2::EIP's \
                 AllocationId, or set ConnectivityType: private)"),
        );
        check(
            json!({"SubnetId": "subnet-1", "ConnectivityType": "private", "AllocationId": "eipalloc-1"}),
            Err("property AllocationId cannot be set on a private NAT gateway"),
        );
        check(
            json!({"SubnetId": "subnet-1", "ConnectivityType": "Public"}),
            Err("property ConnectivityType must be one of public, private, not \"Public\""),
        );
        check(
            json!({"SubnetId": "subnet-1", "ConnectivityType": "private", "SecondaryPrivateIpAddressCount": 2}),
            Err("property SecondaryPrivateIpAddressCount is not supported by infra's EC2 provider on NAT gateways \
                 (secondary addresses and regional gateways are not); remove it from the template or manage the \
                 gateway outside infra"),
        );
    }

    #[test]
    fn failures_carry_the_reason() {
        let g =
            NatGateway::builder().failure_code("InsufficientFreeAddressesInSubnet").failure_message("no room").build();
        assert_eq!(failure(&g), "no room (InsufficientFreeAddressesInSubnet)");
        assert_eq!(failure(&NatGateway::builder().build()), "EC2 gave no reason");
    }
}
