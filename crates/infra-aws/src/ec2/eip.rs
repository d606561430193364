//! `AWS::EC2::EIP`: an Elastic IP address for use in a VPC. As in CloudFormation, Ref is the
//! public IP address itself (so the physical ID is the address); GetAtt `AllocationId` and
//! `PublicIp`. EC2 assigns both, so the create carries the intent tag and the address can be
//! found by it.
//!
//! Tags update in place. The pool, the network border group and the domain need a new
//! address. Associating the address with an instance or a network interface (`InstanceId`,
//! `NetworkInterfaceId`) is not supported: a NAT gateway takes the address by its
//! `AllocationId` instead.

use super::{check_template_tags, intent_filter, intent_tag_specification, live_tags, Ec2};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{omit_defaults, ObjectBuilder};
use crate::kit::tags::observed as tags_value;
use aws_sdk_ec2::types::{Address, DomainType, ResourceType};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};
use serde_json::{json, Value};

const TYPE: &str = "AWS::EC2::EIP";

/// Properties whose change needs a new address: the registry schema's create-only
/// properties, and `Domain` and `PublicIpv4Pool`, which the schema lists as updatable but
/// which EC2 cannot change on an allocated address (CloudFormation documents both as
/// "Update requires: Replacement").
pub(crate) fn create_only() -> Vec<String> {
    let mut list = crate::kit::schema::create_only(TYPE);
    for extra in ["Domain", "PublicIpv4Pool"] {
        if !list.iter().any(|p| p == extra) {
            list.push(extra.to_string());
        }
    }
    list
}

/// Properties infra's EC2 provider does not manage on Elastic IPs; a template that sets one
/// is refused rather than half-applied.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("InstanceId", "associate the address outside infra, or give its AllocationId to a NAT gateway"),
    ("NetworkInterfaceId", "associate the address outside infra, or give its AllocationId to a NAT gateway"),
    ("TransferAddress", "accept the address transfer outside infra"),
    ("IpamPoolId", "allocate from the default Amazon pool or a PublicIpv4Pool"),
    ("Address", "allocate a new address, or recover the old one outside infra"),
];

/// An Elastic IP's properties, read and checked.
struct Spec {
    domain: Option<String>,
    border_group: Option<String>,
    pool: Option<String>,
    tags: Vec<(String, String)>,
}

impl Spec {
    fn parse(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        Ok(Spec {
            domain: props.string("Domain")?,
            border_group: props.string("NetworkBorderGroup")?,
            pool: props.string("PublicIpv4Pool")?,
            tags: props.tags()?,
        })
    }

    fn read(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        if let Some((name, instead)) = UNSUPPORTED.iter().find(|(name, _)| props.get(name).is_some()) {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                operation,
                format!(
                    "property {name} is not supported by infra's EC2 provider on Elastic IPs; remove it from the \
                     template ({instead})"
                ),
            ));
        }
        let spec = Spec::parse(properties, operation)?;
        if let Some(domain) = spec.domain.as_deref().filter(|d| *d != "vpc") {
            return Err(ProviderError::new(
                ErrorKind::Invalid,
                operation,
                format!("property Domain must be vpc (EC2-Classic addresses are gone), not {domain:?}"),
            ));
        }
        check_template_tags(&spec.tags, operation)?;
        Ok(spec)
    }
}

/// The address with this public IP, or `None` when there is none.
async fn describe(p: &Ec2, public_ip: &str) -> Result<Option<Address>, ProviderError> {
    let out = p.call("DescribeAddresses", || p.client.describe_addresses().public_ips(public_ip).send()).await;
    Ok(absent_if_missing(out)?
        .and_then(|out| out.addresses.unwrap_or_default().into_iter().find(|a| a.public_ip() == Some(public_ip))))
}

/// Every address carrying the intent tag `token` (DescribeAddresses does not page).
async fn by_token(p: &Ec2, token: &str) -> Result<Vec<Address>, ProviderError> {
    let out =
        p.call("DescribeAddresses", || p.client.describe_addresses().filters(intent_filter(token)).send()).await?;
    Ok(out.addresses.unwrap_or_default())
}

impl super::Tagged for Address {
    fn id(&self) -> Option<&str> {
        self.allocation_id()
    }
}

/// What `Ref` (the public IP) and `Fn::GetAtt` read.
fn applied(public_ip: &str, allocation_id: &str) -> Applied {
    let mut attributes = Attributes::new();
    attributes.insert("AllocationId".into(), Value::from(allocation_id));
    attributes.insert("PublicIp".into(), Value::from(public_ip));
    Applied { physical_id: public_ip.to_string(), attributes }
}

fn address_applied(address: &Address, operation: &str) -> Result<Applied, ProviderError> {
    match (address.public_ip().filter(|s| !s.is_empty()), address.allocation_id().filter(|s| !s.is_empty())) {
        (Some(ip), Some(allocation)) => Ok(applied(ip, allocation)),
        _ => Err(ProviderError::new(
            ErrorKind::Other,
            operation,
            "the answer carried an Elastic IP without its public IP or allocation ID",
        )),
    }
}

/// The address as it is, in the template's shape: the domain, pool and border group only
/// when the template chose them (EC2 picks them otherwise; where an answer leaves one out,
/// as not every EC2 emulation reports them, it is as applied: both are create-only, so they
/// cannot have drifted), tags without the intent tag.
fn observe(address: Address, template: &Value) -> Result<Option<Observed>, ProviderError> {
    let applied = address_applied(&address, "DescribeAddresses")?;
    let chosen = |key: &str, live: Option<&str>| {
        template.get(key).filter(|v| !v.is_null()).map(|given| live.map(Value::from).unwrap_or_else(|| given.clone()))
    };
    let mut properties = ObjectBuilder::new()
        .string("Domain", address.domain().map(DomainType::as_str))
        .put("NetworkBorderGroup", chosen("NetworkBorderGroup", address.network_border_group()))
        .put("PublicIpv4Pool", chosen("PublicIpv4Pool", address.public_ipv4_pool()))
        .put("Tags", tags_value(live_tags(address.tags()), template))
        .build();
    omit_defaults(&mut properties, template, &[("Domain", json!("vpc"))]);
    Ok(Some(Observed {
        physical_id: applied.physical_id,
        properties: crate::kit::readback::conform(properties, Some(template)),
        attributes: applied.attributes,
        failure: None,
    }))
}

/// The address recorded as `public_ip`, if it is still the one allocated then: an address
/// released and allocated again (to this account) has another allocation ID.
async fn recorded(p: &Ec2, public_ip: &str, attributes: &Attributes) -> Result<Option<Address>, ProviderError> {
    let allocation = attributes.get("AllocationId").and_then(Value::as_str);
    Ok(describe(p, public_ip).await?.filter(|a| allocation.is_none() || a.allocation_id() == allocation))
}

/// `AWS::EC2::EIP`.
pub(crate) struct EipType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for EipType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn create_only_override(&self) -> Option<Vec<String>> {
        Some(create_only())
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "AllocateAddress";
        let spec = Spec::read(&req.properties, OPERATION)?;
        let tags = intent_tag_specification(ResourceType::ElasticIp, &spec.tags, &req.token, OPERATION)?;
        let public_ip = Box::pin(p.create_once(
            OPERATION,
            || async {
                let out = p
                    .client
                    .allocate_address()
                    .domain(DomainType::Vpc)
                    .set_network_border_group(spec.border_group.clone())
                    .set_public_ipv4_pool(spec.pool.clone())
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                out.public_ip
                    .filter(|ip| !ip.is_empty())
                    .ok_or_else(|| ProviderError::new(ErrorKind::Other, OPERATION, "the answer carried no public IP"))
            },
            || async {
                match super::the_one(by_token(p, &req.token).await?, "DescribeAddresses", "Elastic IP", &req.token)?
                    .as_ref()
                {
                    None => Ok(None),
                    Some(one) => Ok(Some(address_applied(one, "DescribeAddresses")?.physical_id)),
                }
            },
        ))
        .await?;
        // The allocation ID: from the address as EC2 reports it, whichever attempt made it.
        let address = p
            .call_fresh("DescribeAddresses", || p.client.describe_addresses().public_ips(&public_ip).send())
            .await
            .map_err(|e| {
                let partial = Applied { physical_id: public_ip.clone(), attributes: Attributes::new() };
                e.with_partial(partial)
            })?
            .addresses
            .unwrap_or_default()
            .into_iter()
            .find(|a| a.public_ip() == Some(public_ip.as_str()));
        match address {
            Some(address) => address_applied(&address, "DescribeAddresses"),
            None => Err(ProviderError::new(
                ErrorKind::Other,
                "DescribeAddresses",
                format!("the Elastic IP {public_ip} just allocated is not listed"),
            )
            .with_partial(Applied { physical_id: public_ip.clone(), attributes: Attributes::new() })),
        }
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        match recorded(p, &req.physical_id, &req.attributes).await? {
            Some(address) => observe(address, &req.properties),
            None => Ok(None),
        }
    }
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        match super::the_one(by_token(p, &req.token).await?, "DescribeAddresses", "Elastic IP", &req.token)? {
            Some(address) => observe(address, &req.properties),
            None => Ok(None),
        }
    }
    async fn update(&self, p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateTags";
        let old = Spec::parse(&req.old_properties, OPERATION)?;
        let new = Spec::read(&req.new_properties, OPERATION)?;
        check_in_place(&req.old_properties, &req.new_properties, &create_only(), "Elastic IP", OPERATION)?;
        let address = recorded(p, &req.physical_id, &req.old_attributes).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorKind::NotFound,
                "DescribeAddresses",
                format!("Elastic IP {} is gone", req.physical_id),
            )
        })?;
        let applied = address_applied(&address, "DescribeAddresses")?;
        let allocation = applied.attributes.get("AllocationId").and_then(Value::as_str).unwrap_or_default();
        // EC2 tags an address by its allocation ID.
        p.update_tags(allocation, &old.tags, &new.tags).await?;
        Ok(applied)
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OPERATION: &str = "ReleaseAddress";
        let Some(address) = recorded(p, &req.physical_id, &req.attributes).await? else {
            return Ok(());
        };
        let Some(allocation) = address.allocation_id() else {
            return Err(ProviderError::new(
                ErrorKind::Other,
                "DescribeAddresses",
                format!("Elastic IP {} has no allocation ID to release it by", req.physical_id),
            ));
        };
        let result = p
            .call(OPERATION, || {
                p.client
                    .release_address()
                    .allocation_id(allocation)
                    .set_network_border_group(address.network_border_group().map(str::to_string))
                    .send()
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(match address.association_id() {
                Some(association) => ProviderError {
                    message: format!(
                        "{} (the address is still associated, association {association}{}; delete what uses it \
                         first, such as a NAT gateway)",
                        e.message,
                        address.network_interface_id().map(|n| format!(" with {n}")).unwrap_or_default()
                    ),
                    ..e
                },
                None => e,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(properties: Value, expected: Result<(), &str>) {
        let got = Spec::read(&properties, "AllocateAddress").map(drop).map_err(|e| e.message);
        assert_eq!(got, expected.map_err(str::to_string), "{properties}");
    }

    #[test]
    fn properties_are_checked_with_their_path() {
        check(json!({}), Ok(()));
        check(json!({"Domain": "vpc", "Tags": [{"Key": "a", "Value": "b"}]}), Ok(()));
        check(
            json!({"Domain": "standard"}),
            Err("property Domain must be vpc (EC2-Classic addresses are gone), not \"standard\""),
        );
        check(
            json!({"InstanceId": "i-1"}),
            Err("property InstanceId is not supported by infra's EC2 provider on Elastic IPs; remove it from the \
                 template (associate the address outside infra, or give its AllocationId to a NAT gateway)"),
        );
        check(
            json!({"Tags": [{"Key": "infra:intent", "Value": "x"}]}),
            Err("property Tags.0.Key: the tag infra:intent is reserved for infra's own bookkeeping"),
        );
        check(json!({"PublicIpv4Pool": ["p"]}), Err("property PublicIpv4Pool must be a string"));
    }

    #[test]
    fn the_pool_and_domain_replace_the_address() {
        let list = create_only();
        for p in ["Domain", "PublicIpv4Pool", "NetworkBorderGroup"] {
            assert!(list.iter().any(|x| x == p), "{p} in {list:?}");
        }
    }
}
