//! `AWS::EC2::Subnet`: an address range of a VPC in one Availability Zone. Ref is the subnet
//! ID (EC2 assigns it, so the create carries the intent tag and the subnet can be found by
//! it); GetAtt `SubnetId`, `VpcId`, `AvailabilityZone`, `CidrBlock`,
//! `NetworkAclAssociationId`, `Ipv6CidrBlocks`.
//!
//! The attributes `ModifySubnetAttribute` changes (`MapPublicIpOnLaunch`,
//! `AssignIpv6AddressOnCreation`, `EnableDns64`, `PrivateDnsNameOptionsOnLaunch`) and the tags
//! update in place; the VPC, the ranges and the zone need a new subnet.

use super::{check_template_tags, intent_filter, intent_tag_specification, live_tags, Ec2};
use crate::kit::errors::{absent_if_missing, gone_ok};
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{omit_defaults, ObjectBuilder};
use crate::kit::tags::observed as tags_value;
use crate::kit::waiter::Waits as _;
use crate::waiter::{Phase, Poll};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, HostnameType, ResourceType, Subnet, SubnetCidrBlockStateCode, SubnetState,
};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};
use serde_json::{json, Value};

const TYPE: &str = "AWS::EC2::Subnet";

/// Properties whose change needs a new subnet: the registry schema's create-only properties,
/// and `Ipv6CidrBlock`, which the schema lists as updatable (CloudFormation associates the new
/// range and disassociates the old one); infra does not change a subnet's IPv6 range in
/// place, so a change replaces the subnet instead of being silently ignored.
pub(crate) fn create_only() -> Vec<String> {
    let mut list = crate::kit::schema::create_only(TYPE);
    if !list.iter().any(|p| p == "Ipv6CidrBlock") {
        list.push("Ipv6CidrBlock".to_string());
    }
    list
}

/// Properties infra's EC2 provider does not manage on subnets; a template that sets one is
/// refused rather than half-applied.
const UNSUPPORTED: &[&str] = &[
    "Ipv4IpamPoolId",
    "Ipv4NetmaskLength",
    "Ipv6IpamPoolId",
    "Ipv6NetmaskLength",
    "Ipv6Native",
    "Ipv6CidrBlocks",
    "OutpostArn",
    "EnableLniAtDeviceIndex",
    "BlockPublicAccessStates",
];

const HOSTNAME_TYPES: &[&str] = &["ip-name", "resource-name"];

/// What a new subnet has unless the template says otherwise.
const DNS_OPTION_DEFAULTS: [(&str, &str); 3] = [
    ("HostnameType", "ip-name"),
    ("EnableResourceNameDnsARecord", "false"),
    ("EnableResourceNameDnsAAAARecord", "false"),
];

/// `PrivateDnsNameOptionsOnLaunch`.
#[derive(Clone, Default, PartialEq)]
struct DnsOptions {
    hostname_type: Option<String>,
    a_record: Option<bool>,
    aaaa_record: Option<bool>,
}

/// A subnet's properties, read and checked.
struct Spec {
    vpc_id: Option<String>,
    cidr_block: Option<String>,
    ipv6_cidr_block: Option<String>,
    zone: Option<String>,
    zone_id: Option<String>,
    map_public_ip: Option<bool>,
    assign_ipv6: Option<bool>,
    dns64: Option<bool>,
    dns_options: DnsOptions,
    tags: Vec<(String, String)>,
}

impl Spec {
    /// The properties, each read on its own.
    fn parse(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        let dns_options = props
            .object("PrivateDnsNameOptionsOnLaunch", |o| {
                Ok(DnsOptions {
                    hostname_type: o.string("HostnameType")?,
                    a_record: o.bool("EnableResourceNameDnsARecord")?,
                    aaaa_record: o.bool("EnableResourceNameDnsAAAARecord")?,
                })
            })?
            .unwrap_or_default();
        Ok(Spec {
            vpc_id: props.string("VpcId")?,
            cidr_block: props.string("CidrBlock")?,
            ipv6_cidr_block: props.string("Ipv6CidrBlock")?,
            zone: props.string("AvailabilityZone")?,
            zone_id: props.string("AvailabilityZoneId")?,
            map_public_ip: props.bool("MapPublicIpOnLaunch")?,
            assign_ipv6: props.bool("AssignIpv6AddressOnCreation")?,
            dns64: props.bool("EnableDns64")?,
            dns_options,
            tags: props.tags()?,
        })
    }

    /// The properties a subnet is to have, checked together.
    fn read(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        let invalid = |message: String| ProviderError::new(ErrorKind::Invalid, operation, message);
        if let Some(name) = UNSUPPORTED.iter().find(|name| props.get(name).is_some()) {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                operation,
                format!(
                    "property {name} is not supported by infra's EC2 provider on subnets; remove it from the \
                     template or manage the subnet outside infra"
                ),
            ));
        }
        let spec = Spec::parse(properties, operation)?;
        if spec.vpc_id.is_none() {
            return Err(invalid("property VpcId is required".into()));
        }
        if spec.cidr_block.is_none() {
            return Err(invalid("property CidrBlock is required".into()));
        }
        if spec.zone.is_some() && spec.zone_id.is_some() {
            return Err(invalid("properties AvailabilityZone and AvailabilityZoneId cannot both be set".into()));
        }
        if let Some(t) = &spec.dns_options.hostname_type {
            if !HOSTNAME_TYPES.contains(&t.as_str()) {
                return Err(invalid(format!(
                    "property PrivateDnsNameOptionsOnLaunch.HostnameType must be one of {}, not {t:?}",
                    HOSTNAME_TYPES.join(", ")
                )));
            }
        }
        check_template_tags(&spec.tags, operation)?;
        Ok(spec)
    }
}

/// One `ModifySubnetAttribute` change; the API takes one attribute per call.
#[derive(Clone)]
enum Change {
    MapPublicIp(bool),
    AssignIpv6(bool),
    Dns64(bool),
    HostnameType(String),
    ARecord(bool),
    AaaaRecord(bool),
}

/// The changes that bring a subnet from `old` to `new` (each absent value meaning EC2's
/// default).
fn changes(old: &Spec, new: &Spec) -> Vec<Change> {
    let flag =
        |o: Option<bool>, n: Option<bool>| (o.unwrap_or(false) != n.unwrap_or(false)).then_some(n.unwrap_or(false));
    let mut out = Vec::new();
    out.extend(flag(old.map_public_ip, new.map_public_ip).map(Change::MapPublicIp));
    out.extend(flag(old.assign_ipv6, new.assign_ipv6).map(Change::AssignIpv6));
    out.extend(flag(old.dns64, new.dns64).map(Change::Dns64));
    let hostname = |s: &Spec| s.dns_options.hostname_type.clone().unwrap_or_else(|| DNS_OPTION_DEFAULTS[0].1.into());
    if hostname(old) != hostname(new) {
        out.push(Change::HostnameType(hostname(new)));
    }
    out.extend(flag(old.dns_options.a_record, new.dns_options.a_record).map(Change::ARecord));
    out.extend(flag(old.dns_options.aaaa_record, new.dns_options.aaaa_record).map(Change::AaaaRecord));
    out
}

/// The changes a new subnet needs after its create: whatever the template sets away from
/// EC2's defaults.
fn initial_changes(spec: &Spec) -> Vec<Change> {
    let unset = Spec {
        vpc_id: None,
        cidr_block: None,
        ipv6_cidr_block: None,
        zone: None,
        zone_id: None,
        map_public_ip: None,
        assign_ipv6: None,
        dns64: None,
        dns_options: DnsOptions::default(),
        tags: Vec::new(),
    };
    changes(&unset, spec)
}

async fn modify(p: &Ec2, id: &str, changes: &[Change], fresh: bool) -> Result<(), ProviderError> {
    const OPERATION: &str = "ModifySubnetAttribute";
    for change in changes {
        let b = |v: bool| AttributeBooleanValue::builder().value(v).build();
        let call = || {
            let c = p.client.modify_subnet_attribute().subnet_id(id);
            match change.clone() {
                Change::MapPublicIp(v) => c.map_public_ip_on_launch(b(v)),
                Change::AssignIpv6(v) => c.assign_ipv6_address_on_creation(b(v)),
                Change::Dns64(v) => c.enable_dns64(b(v)),
                Change::HostnameType(t) => c.private_dns_hostname_type_on_launch(HostnameType::from(t.as_str())),
                Change::ARecord(v) => c.enable_resource_name_dns_a_record_on_launch(b(v)),
                Change::AaaaRecord(v) => c.enable_resource_name_dns_aaaa_record_on_launch(b(v)),
            }
            .send()
        };
        if fresh {
            p.call_fresh(OPERATION, call).await?;
        } else {
            p.call(OPERATION, call).await?;
        }
    }
    Ok(())
}

async fn finish_create(p: &Ec2, req: &CreateRequest, spec: &Spec, id: &str) -> Result<Applied, ProviderError> {
    const OPERATION: &str = "CreateSubnet";
    let subject = format!("subnet {id}");
    p.wait(&req.context, Phase::Create, OPERATION, &subject, "available")?
        .until(|| async {
            let subnet = describe(p, id, true).await?.ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::NotFound,
                    OPERATION,
                    format!("{subject} disappeared while waiting for it"),
                )
            })?;
            Ok(match subnet.state() {
                Some(SubnetState::Available) => Poll::Ready(()),
                state => Poll::Pending(state.map_or("unknown", |s| s.as_str()).to_string()),
            })
        })
        .await?;
    modify(p, id, &initial_changes(spec), true).await?;
    applied_now(p, id, true).await
}

/// The subnet's attributes as they are now.
async fn applied_now(p: &Ec2, id: &str, fresh: bool) -> Result<Applied, ProviderError> {
    let subnet = describe(p, id, fresh)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorKind::NotFound, "DescribeSubnets", format!("subnet {id} is gone")))?;
    let acl = network_acl_association(p, id).await?;
    Ok(applied(&subnet, acl))
}

/// The subnet, or `None` when there is none by that ID.
async fn describe(p: &Ec2, id: &str, fresh: bool) -> Result<Option<Subnet>, ProviderError> {
    let call = || p.client.describe_subnets().subnet_ids(id).send();
    let out = if fresh { p.call_fresh("DescribeSubnets", call).await } else { p.call("DescribeSubnets", call).await };
    Ok(absent_if_missing(out)?
        .and_then(|out| out.subnets.unwrap_or_default().into_iter().find(|s| s.subnet_id() == Some(id))))
}

/// Every subnet carrying the intent tag `token`.
async fn by_token(p: &Ec2, token: &str) -> Result<Vec<Subnet>, ProviderError> {
    let mut subnets = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = p
            .call("DescribeSubnets", || {
                p.client.describe_subnets().filters(intent_filter(token)).set_next_token(next.clone()).send()
            })
            .await?;
        subnets.extend(out.subnets.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(subnets),
        }
    }
}

fn subnet_id(subnet: &Subnet, operation: &str) -> Result<String, ProviderError> {
    subnet
        .subnet_id()
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, operation, "the answer carried a subnet without an ID"))
}

impl super::Tagged for Subnet {
    fn id(&self) -> Option<&str> {
        self.subnet_id()
    }
}

/// The ID of the association between the subnet and its network ACL (every subnet has one).
async fn network_acl_association(p: &Ec2, id: &str) -> Result<Option<String>, ProviderError> {
    let out = p
        .call("DescribeNetworkAcls", || {
            p.client.describe_network_acls().filters(super::filter("association.subnet-id", id)).send()
        })
        .await?;
    Ok(out
        .network_acls()
        .iter()
        .flat_map(|a| a.associations())
        .find(|a| a.subnet_id() == Some(id))
        .and_then(|a| a.network_acl_association_id().map(str::to_string)))
}

/// What `Ref` and `Fn::GetAtt` read.
fn applied(subnet: &Subnet, acl_association: Option<String>) -> Applied {
    let id = subnet.subnet_id().unwrap_or_default().to_string();
    let ipv6: Vec<Value> = subnet
        .ipv6_cidr_block_association_set()
        .iter()
        .filter(|a| {
            matches!(
                a.ipv6_cidr_block_state().and_then(|s| s.state()),
                Some(SubnetCidrBlockStateCode::Associated | SubnetCidrBlockStateCode::Associating)
            )
        })
        .filter_map(|a| a.ipv6_cidr_block().map(Value::from))
        .collect();
    let mut attributes = Attributes::new();
    attributes.insert("SubnetId".into(), Value::String(id.clone()));
    for (key, value) in [
        ("VpcId", subnet.vpc_id()),
        ("AvailabilityZone", subnet.availability_zone()),
        ("CidrBlock", subnet.cidr_block()),
        ("NetworkAclAssociationId", acl_association.as_deref()),
    ] {
        if let Some(v) = value {
            attributes.insert(key.into(), Value::from(v));
        }
    }
    attributes.insert("Ipv6CidrBlocks".into(), Value::Array(ipv6));
    Applied { physical_id: id, attributes }
}

/// The subnet as it is, in the template's shape: the properties the template set (and any
/// attribute that differs from EC2's default), tags without the intent tag and `aws:` tags.
/// The zone is reported in the form the template chose it (name or ID), and only then: EC2
/// picks one otherwise.
async fn observe(p: &Ec2, subnet: Subnet, template: &Value) -> Result<Option<Observed>, ProviderError> {
    let id = subnet_id(&subnet, "DescribeSubnets")?;
    let Some(acl) = absent_if_missing(network_acl_association(p, &id).await)? else {
        return Ok(None);
    };
    let dns = subnet.private_dns_name_options_on_launch();
    let mut dns_options = ObjectBuilder::new()
        .string("HostnameType", Some(dns.and_then(|d| d.hostname_type()).map_or("ip-name", |h| h.as_str())))
        .bool(
            "EnableResourceNameDnsARecord",
            Some(dns.and_then(|d| d.enable_resource_name_dns_a_record()).unwrap_or(false)),
        )
        .bool(
            "EnableResourceNameDnsAAAARecord",
            Some(dns.and_then(|d| d.enable_resource_name_dns_aaaa_record()).unwrap_or(false)),
        )
        .build();
    let dns_template = template.get("PrivateDnsNameOptionsOnLaunch").cloned().unwrap_or(json!({}));
    omit_defaults(
        &mut dns_options,
        &dns_template,
        &[
            ("HostnameType", json!(DNS_OPTION_DEFAULTS[0].1)),
            ("EnableResourceNameDnsARecord", json!(false)),
            ("EnableResourceNameDnsAAAARecord", json!(false)),
        ],
    );
    let dns_options = match template.get("PrivateDnsNameOptionsOnLaunch") {
        Some(_) => Some(dns_options),
        None => Some(dns_options).filter(|o| o.as_object().is_some_and(|m| !m.is_empty())),
    };
    let ipv6 = subnet
        .ipv6_cidr_block_association_set()
        .iter()
        .find(|a| {
            matches!(
                a.ipv6_cidr_block_state().and_then(|s| s.state()),
                Some(SubnetCidrBlockStateCode::Associated | SubnetCidrBlockStateCode::Associating)
            )
        })
        .and_then(|a| a.ipv6_cidr_block());
    let mut properties = ObjectBuilder::new()
        .string("VpcId", subnet.vpc_id())
        .string("CidrBlock", subnet.cidr_block())
        .string("Ipv6CidrBlock", ipv6)
        .string("AvailabilityZone", template.get("AvailabilityZone").and(subnet.availability_zone()))
        .string("AvailabilityZoneId", template.get("AvailabilityZoneId").and(subnet.availability_zone_id()))
        .bool("MapPublicIpOnLaunch", Some(subnet.map_public_ip_on_launch().unwrap_or(false)))
        .bool("AssignIpv6AddressOnCreation", Some(subnet.assign_ipv6_address_on_creation().unwrap_or(false)))
        .bool("EnableDns64", Some(subnet.enable_dns64().unwrap_or(false)))
        .put("PrivateDnsNameOptionsOnLaunch", dns_options)
        .put("Tags", tags_value(live_tags(subnet.tags()), template))
        .build();
    omit_defaults(
        &mut properties,
        template,
        &[
            ("MapPublicIpOnLaunch", json!(false)),
            ("AssignIpv6AddressOnCreation", json!(false)),
            ("EnableDns64", json!(false)),
        ],
    );
    let applied = applied(&subnet, acl);
    Ok(Some(Observed {
        physical_id: applied.physical_id,
        properties: crate::kit::readback::conform(properties, Some(template)),
        attributes: applied.attributes,
        failure: None,
    }))
}

/// `AWS::EC2::Subnet`.
pub(crate) struct SubnetType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for SubnetType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn create_only_override(&self) -> Option<Vec<String>> {
        Some(create_only())
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateSubnet";
        let spec = Spec::read(&req.properties, OPERATION)?;
        let tags = intent_tag_specification(ResourceType::Subnet, &spec.tags, &req.token, OPERATION)?;
        let subnet_id = Box::pin(p.create_once(
            OPERATION,
            || async {
                let out = p
                    .client
                    .create_subnet()
                    .set_vpc_id(spec.vpc_id.clone())
                    .set_cidr_block(spec.cidr_block.clone())
                    .set_ipv6_cidr_block(spec.ipv6_cidr_block.clone())
                    .set_availability_zone(spec.zone.clone())
                    .set_availability_zone_id(spec.zone_id.clone())
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                out.subnet
                    .and_then(|s| s.subnet_id)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| ProviderError::new(ErrorKind::Other, OPERATION, "the answer carried no subnet ID"))
            },
            || async {
                match super::the_one(by_token(p, &req.token).await?, "DescribeSubnets", "subnet", &req.token)?.as_ref()
                {
                    None => Ok(None),
                    Some(one) => Ok(Some(subnet_id(one, "DescribeSubnets")?)),
                }
            },
        ))
        .await?;
        // The subnet exists from here on: whatever fails now, the engine must learn its ID.
        Box::pin(finish_create(p, req, &spec, &subnet_id)).await.map_err(|e| {
            let mut attributes = Attributes::new();
            attributes.insert("SubnetId".into(), Value::String(subnet_id.clone()));
            e.with_partial(Applied { physical_id: subnet_id.clone(), attributes })
        })
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        match describe(p, &req.physical_id, false).await? {
            Some(subnet) => observe(p, subnet, &req.properties).await,
            None => Ok(None),
        }
    }
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        match super::the_one(by_token(p, &req.token).await?, "DescribeSubnets", "subnet", &req.token)? {
            Some(subnet) => observe(p, subnet, &req.properties).await,
            None => Ok(None),
        }
    }
    async fn update(&self, p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "ModifySubnetAttribute";
        let old = Spec::parse(&req.old_properties, OPERATION)?;
        let new = Spec::read(&req.new_properties, OPERATION)?;
        check_in_place(&req.old_properties, &req.new_properties, &create_only(), "subnet", OPERATION)?;
        let id = req.physical_id.as_str();
        modify(p, id, &changes(&old, &new), false).await?;
        p.update_tags(id, &old.tags, &new.tags).await?;
        applied_now(p, id, false).await
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        let id = req.physical_id.as_str();
        gone_ok(p.call("DeleteSubnet", || p.client.delete_subnet().subnet_id(id).send()).await.map(drop))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(properties: Value, expected: Result<(), &str>) {
        let got = Spec::read(&properties, "CreateSubnet").map(drop).map_err(|e| e.message);
        assert_eq!(got, expected.map_err(str::to_string), "{properties}");
    }

    #[test]
    fn properties_are_checked_with_their_path() {
        let base = |extra: Value| {
            let mut v = json!({"VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            v
        };
        check(base(json!({})), Ok(()));
        check(base(json!({"MapPublicIpOnLaunch": "true", "AvailabilityZone": "us-east-1a"})), Ok(()));
        check(json!({"CidrBlock": "10.0.1.0/24"}), Err("property VpcId is required"));
        check(json!({"VpcId": "vpc-1"}), Err("property CidrBlock is required"));
        check(base(json!({"MapPublicIpOnLaunch": "yes"})), Err("property MapPublicIpOnLaunch must be a boolean"));
        check(
            base(json!({"AvailabilityZone": "us-east-1a", "AvailabilityZoneId": "use1-az1"})),
            Err("properties AvailabilityZone and AvailabilityZoneId cannot both be set"),
        );
        check(
            base(json!({"PrivateDnsNameOptionsOnLaunch": {"EnableResourceNameDnsARecord": 3}})),
            Err("property PrivateDnsNameOptionsOnLaunch.EnableResourceNameDnsARecord must be a boolean"),
        );
        check(
            base(json!({"PrivateDnsNameOptionsOnLaunch": {"HostnameType": "fqdn"}})),
            Err("property PrivateDnsNameOptionsOnLaunch.HostnameType must be one of ip-name, resource-name, not \"fqdn\""),
        );
        check(
            base(json!({"Ipv4IpamPoolId": "ipam-pool-1"})),
            Err("property Ipv4IpamPoolId is not supported by infra's EC2 provider on subnets; remove it from the \
                 template or manage the subnet outside infra"),
        );
        check(
            base(json!({"Tags": [{"Key": "infra:intent", "Value": "x"}]})),
            Err("property Tags.0.Key: the tag infra:intent is reserved for infra's own bookkeeping"),
        );
    }

    #[test]
    fn only_what_differs_is_modified() {
        let spec = |v: Value| Spec::parse(&v, "ModifySubnetAttribute").expect("valid");
        let names = |c: Vec<Change>| {
            c.iter()
                .map(|c| match c {
                    Change::MapPublicIp(v) => format!("map={v}"),
                    Change::AssignIpv6(v) => format!("ipv6={v}"),
                    Change::Dns64(v) => format!("dns64={v}"),
                    Change::HostnameType(t) => format!("hostname={t}"),
                    Change::ARecord(v) => format!("a={v}"),
                    Change::AaaaRecord(v) => format!("aaaa={v}"),
                })
                .collect::<Vec<_>>()
        };
        assert!(names(initial_changes(&spec(json!({"MapPublicIpOnLaunch": false})))).is_empty());
        assert_eq!(
            names(initial_changes(&spec(json!({"MapPublicIpOnLaunch": "true",
                "PrivateDnsNameOptionsOnLaunch": {"HostnameType": "resource-name"}})))),
            vec!["map=true", "hostname=resource-name"]
        );
        assert_eq!(
            names(changes(
                &spec(json!({"MapPublicIpOnLaunch": true, "EnableDns64": true})),
                &spec(json!({"PrivateDnsNameOptionsOnLaunch": {"EnableResourceNameDnsARecord": true}}))
            )),
            vec!["map=false", "dns64=false", "a=true"]
        );
    }
}
