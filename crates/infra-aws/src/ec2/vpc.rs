//! `AWS::EC2::VPC`: a virtual network. Ref is the VPC ID (EC2 assigns it, so the create
//! carries the intent tag and the VPC can be found by it); GetAtt `VpcId`, `CidrBlock`,
//! `CidrBlockAssociations`, `DefaultNetworkAcl`, `DefaultSecurityGroup`, `Ipv6CidrBlocks`.
//!
//! The DNS attributes and the tags update in place; the address range and the tenancy need a
//! new VPC. A VPC that still holds subnets, gateways, endpoints, interfaces, security groups
//! or route tables cannot be deleted, and the error names them (with what owns each network
//! interface), saying that those not in the stack's state were not made by infra. What EC2 is
//! deleting already (NAT gateways and endpoints `deleting`, and the interfaces they hold) is
//! waited for instead, within the delete timeout, with progress reported as provider events.

use super::{check_template_tags, filter, intent_filter, intent_tag_specification, live_tags, Ec2};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::check_in_place;
use crate::kit::props::Props;
use crate::kit::readback::{omit_defaults, ObjectBuilder};
use crate::kit::tags::observed as tags_value;
use crate::kit::waiter::Waits as _;
use crate::waiter::{Phase, Poll};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, ResourceType, Tenancy, Vpc, VpcAttributeName, VpcCidrBlockStateCode, VpcState,
};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};
use std::time::Duration;

const TYPE: &str = "AWS::EC2::VPC";

/// Properties whose change needs a new VPC: the registry schema's create-only properties,
/// and `InstanceTenancy`, which EC2 can change in place only from `dedicated` to `default`
/// (a change the engine cannot tell from the others, so every change replaces). The schema
/// lists it as updatable; that is where it is wrong for infra.
pub(crate) fn create_only() -> Vec<String> {
    let mut list = crate::kit::schema::create_only(TYPE);
    if !list.iter().any(|p| p == "InstanceTenancy") {
        list.push("InstanceTenancy".to_string());
    }
    list
}

const TENANCIES: &[&str] = &["default", "dedicated", "host"];

/// What a new VPC has unless the template says otherwise.
const DNS_SUPPORT_DEFAULT: bool = true;
const DNS_HOSTNAMES_DEFAULT: bool = false;

/// A VPC's properties, read and checked.
struct Spec {
    cidr_block: Option<String>,
    tenancy: Option<String>,
    ipam_pool: Option<String>,
    netmask_length: Option<i32>,
    dns_support: Option<bool>,
    dns_hostnames: Option<bool>,
    tags: Vec<(String, String)>,
}

impl Spec {
    /// The properties, each read on its own.
    fn parse(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        Ok(Spec {
            cidr_block: props.string("CidrBlock")?,
            tenancy: props.string("InstanceTenancy")?,
            ipam_pool: props.string("Ipv4IpamPoolId")?,
            netmask_length: props.int("Ipv4NetmaskLength")?,
            dns_support: props.bool("EnableDnsSupport")?,
            dns_hostnames: props.bool("EnableDnsHostnames")?,
            tags: props.tags()?,
        })
    }

    /// The properties a VPC is to have, checked together.
    fn read(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        let invalid = |message: String| ProviderError::new(ErrorKind::Invalid, operation, message);
        if props.get("VpcEncryptionControl").is_some() {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                operation,
                "property VpcEncryptionControl is not supported by infra's EC2 provider; remove it from the \
                 template or manage encryption control outside infra",
            ));
        }
        let spec = Spec::parse(properties, operation)?;
        if spec.cidr_block.is_none() && spec.ipam_pool.is_none() {
            return Err(invalid("property CidrBlock is required unless Ipv4IpamPoolId is set".into()));
        }
        if spec.netmask_length.is_some() && spec.ipam_pool.is_none() {
            return Err(invalid("property Ipv4NetmaskLength needs Ipv4IpamPoolId".into()));
        }
        if let Some(t) = &spec.tenancy {
            if !TENANCIES.contains(&t.as_str()) {
                return Err(invalid(format!(
                    "property InstanceTenancy must be one of {}, not {t:?}",
                    TENANCIES.join(", ")
                )));
            }
        }
        check_template_tags(&spec.tags, operation)?;
        Ok(spec)
    }
}

async fn finish_create(p: &Ec2, req: &CreateRequest, spec: &Spec, id: &str) -> Result<Applied, ProviderError> {
    const OPERATION: &str = "CreateVpc";
    let subject = format!("VPC {id}");
    let vpc = p
        .wait(&req.context, Phase::Create, OPERATION, &subject, "available")?
        .until(|| async {
            let vpc = describe(p, id, true).await?.ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::NotFound,
                    OPERATION,
                    format!("{subject} disappeared while waiting for it"),
                )
            })?;
            Ok(match vpc.state() {
                Some(VpcState::Available) => Poll::Ready(vpc),
                state => Poll::Pending(state.map_or("unknown", |s| s.as_str()).to_string()),
            })
        })
        .await?;
    set_dns(p, id, spec.dns_support, spec.dns_hostnames, true).await?;
    let defaults = defaults(p, id, true).await?;
    Ok(applied(&vpc, &defaults))
}

/// Sets the DNS attributes given, one call each as the API requires, in the order EC2
/// accepts: hostnames need DNS support, so support is turned on before and off after them.
async fn set_dns(
    p: &Ec2,
    id: &str,
    support: Option<bool>,
    hostnames: Option<bool>,
    fresh: bool,
) -> Result<(), ProviderError> {
    let set = |attribute: VpcAttributeName, value: bool| async move {
        let v = AttributeBooleanValue::builder().value(value).build();
        let call = || {
            let c = p.client.modify_vpc_attribute().vpc_id(id);
            match attribute {
                VpcAttributeName::EnableDnsHostnames => c.enable_dns_hostnames(v.clone()),
                _ => c.enable_dns_support(v.clone()),
            }
            .send()
        };
        if fresh {
            p.call_fresh("ModifyVpcAttribute", call).await.map(drop)
        } else {
            p.call("ModifyVpcAttribute", call).await.map(drop)
        }
    };
    if support == Some(true) {
        set(VpcAttributeName::EnableDnsSupport, true).await?;
    }
    if let Some(h) = hostnames {
        set(VpcAttributeName::EnableDnsHostnames, h).await?;
    }
    if support == Some(false) {
        set(VpcAttributeName::EnableDnsSupport, false).await?;
    }
    Ok(())
}

/// The VPC, or `None` when there is none by that ID. `fresh` for a VPC created moments ago,
/// which EC2 may not know everywhere yet.
async fn describe(p: &Ec2, id: &str, fresh: bool) -> Result<Option<Vpc>, ProviderError> {
    let call = || p.client.describe_vpcs().vpc_ids(id).send();
    let out = if fresh { p.call_fresh("DescribeVpcs", call).await } else { p.call("DescribeVpcs", call).await };
    Ok(absent_if_missing(out)?
        .and_then(|out| out.vpcs.unwrap_or_default().into_iter().find(|v| v.vpc_id() == Some(id))))
}

/// Every VPC carrying the intent tag `token`.
async fn by_token(p: &Ec2, token: &str) -> Result<Vec<Vpc>, ProviderError> {
    let mut vpcs = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = p
            .call("DescribeVpcs", || {
                p.client.describe_vpcs().filters(intent_filter(token)).set_next_token(next.clone()).send()
            })
            .await?;
        vpcs.extend(out.vpcs.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(vpcs),
        }
    }
}

fn vpc_id(vpc: &Vpc, operation: &str) -> Result<String, ProviderError> {
    vpc.vpc_id()
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, operation, "the answer carried a VPC without an ID"))
}

impl super::Tagged for Vpc {
    fn id(&self) -> Option<&str> {
        self.vpc_id()
    }
}

/// The VPC's default network ACL and default security group, which EC2 makes with it.
#[derive(Default)]
struct Defaults {
    network_acl: Option<String>,
    security_group: Option<String>,
}

/// `fresh`: the VPC was created moments ago, so its defaults may not be visible yet; they are
/// waited for within the consistency window, because templates commonly read them.
async fn defaults(p: &Ec2, id: &str, fresh: bool) -> Result<Defaults, ProviderError> {
    let start = tokio::time::Instant::now();
    loop {
        let (acls, groups) = tokio::join!(
            p.call("DescribeNetworkAcls", || {
                p.client.describe_network_acls().filters(filter("vpc-id", id)).filters(filter("default", "true")).send()
            }),
            p.call("DescribeSecurityGroups", || {
                p.client
                    .describe_security_groups()
                    .filters(filter("vpc-id", id))
                    .filters(filter("group-name", "default"))
                    .send()
            }),
        );
        let found = Defaults {
            network_acl: acls?.network_acls().iter().find_map(|a| a.network_acl_id().map(str::to_string)),
            security_group: groups?.security_groups().iter().find_map(|g| g.group_id().map(str::to_string)),
        };
        let complete = found.network_acl.is_some() && found.security_group.is_some();
        if complete || !fresh || start.elapsed() >= p.settings.consistency_window {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// What `Ref` and `Fn::GetAtt` read.
fn applied(vpc: &Vpc, defaults: &Defaults) -> Applied {
    let id = vpc.vpc_id().unwrap_or_default().to_string();
    let associated = |state: Option<&VpcCidrBlockStateCode>| {
        matches!(state, Some(VpcCidrBlockStateCode::Associated | VpcCidrBlockStateCode::Associating))
    };
    let associations: Vec<Value> = vpc
        .cidr_block_association_set()
        .iter()
        .filter(|a| associated(a.cidr_block_state().and_then(|s| s.state())))
        .filter_map(|a| a.association_id().map(Value::from))
        .collect();
    let ipv6: Vec<Value> = vpc
        .ipv6_cidr_block_association_set()
        .iter()
        .filter(|a| associated(a.ipv6_cidr_block_state().and_then(|s| s.state())))
        .filter_map(|a| a.ipv6_cidr_block().map(Value::from))
        .collect();
    let mut attributes = Attributes::new();
    attributes.insert("VpcId".into(), Value::String(id.clone()));
    if let Some(cidr) = vpc.cidr_block() {
        attributes.insert("CidrBlock".into(), Value::from(cidr));
    }
    attributes.insert("CidrBlockAssociations".into(), Value::Array(associations));
    attributes.insert("Ipv6CidrBlocks".into(), Value::Array(ipv6));
    if let Some(acl) = &defaults.network_acl {
        attributes.insert("DefaultNetworkAcl".into(), Value::from(acl.as_str()));
    }
    if let Some(sg) = &defaults.security_group {
        attributes.insert("DefaultSecurityGroup".into(), Value::from(sg.as_str()));
    }
    Applied { physical_id: id, attributes }
}

async fn attribute(p: &Ec2, id: &str, name: VpcAttributeName) -> Result<Option<bool>, ProviderError> {
    let out = p
        .call("DescribeVpcAttribute", || p.client.describe_vpc_attribute().vpc_id(id).attribute(name.clone()).send())
        .await?;
    let value = match name {
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
        _ => out.enable_dns_support(),
    };
    Ok(value.and_then(AttributeBooleanValue::value))
}

/// The VPC as it is, in the template's shape: the properties the template set (and any
/// other that differs from EC2's default), tags without the intent tag and `aws:` tags.
/// `Ipv4IpamPoolId` and `Ipv4NetmaskLength` cannot be read back; they are as applied.
async fn observe(p: &Ec2, vpc: Vpc, template: &Value) -> Result<Option<Observed>, ProviderError> {
    let id = vpc_id(&vpc, "DescribeVpcs")?;
    let (support, hostnames, defaults) = tokio::join!(
        attribute(p, &id, VpcAttributeName::EnableDnsSupport),
        attribute(p, &id, VpcAttributeName::EnableDnsHostnames),
        defaults(p, &id, false),
    );
    // Gone between the calls: there is nothing to observe.
    let (Some(support), Some(hostnames), Some(defaults)) =
        (absent_if_missing(support)?, absent_if_missing(hostnames)?, absent_if_missing(defaults)?)
    else {
        return Ok(None);
    };
    let mut properties = ObjectBuilder::new()
        // The primary range is reported only when the template chose it, not IPAM.
        .string("CidrBlock", template.get("CidrBlock").and(vpc.cidr_block()))
        .bool("EnableDnsHostnames", hostnames)
        .bool("EnableDnsSupport", support)
        .string("InstanceTenancy", vpc.instance_tenancy().map(Tenancy::as_str))
        .put("Ipv4IpamPoolId", template.get("Ipv4IpamPoolId").cloned())
        .put("Ipv4NetmaskLength", template.get("Ipv4NetmaskLength").cloned())
        .put("Tags", tags_value(live_tags(vpc.tags()), template))
        .build();
    omit_defaults(
        &mut properties,
        template,
        &[
            ("EnableDnsHostnames", json!(DNS_HOSTNAMES_DEFAULT)),
            ("EnableDnsSupport", json!(DNS_SUPPORT_DEFAULT)),
            ("InstanceTenancy", json!("default")),
        ],
    );
    let applied = applied(&vpc, &defaults);
    Ok(Some(Observed {
        physical_id: applied.physical_id,
        properties: crate::kit::readback::conform(properties, Some(template)),
        attributes: applied.attributes,
        failure: None,
    }))
}

/// What keeps a VPC from being deleted, as far as the Describe calls show.
#[derive(Default)]
struct Blockers {
    /// What stays until someone deletes it: `subnet subnet-1 (10.0.1.0/24)`, …
    found: Vec<String>,
    /// What EC2 is deleting already and will go by itself: NAT gateways and VPC endpoints
    /// being deleted, and the network interfaces they leave until they are gone.
    settling: Vec<String>,
    /// Kinds that could not be listed, with why.
    unknown: Vec<String>,
}

/// The kinds of things looked for, for the message when none is found.
const BLOCKER_KINDS: &str = "subnets, internet gateways, NAT gateways, VPC endpoints, network interfaces, \
                             security groups, route tables, VPN gateways";

/// One thing in the VPC: how it is named, and whether it is on its way out.
struct Held {
    text: String,
    settling: bool,
    /// A gateway's or endpoint's ID; a network interface's description, which names the
    /// gateway or endpoint that owns it.
    id: String,
}

impl Held {
    fn staying(text: String) -> Held {
        Held { text, settling: false, id: String::new() }
    }
}

/// A network interface as the message names it: its description (EC2 writes which NAT
/// gateway, endpoint or load balancer it belongs to), its type, who manages it, and what it is
/// attached to.
fn interface_text(n: &aws_sdk_ec2::types::NetworkInterface) -> String {
    let mut about = Vec::new();
    if let Some(d) = n.description().filter(|d| !d.is_empty()) {
        about.push(d.to_string());
    }
    if let Some(t) = n.interface_type().map(|t| t.as_str()).filter(|t| *t != "interface") {
        about.push(format!("type {t}"));
    }
    if n.requester_managed() == Some(true) {
        about.push(format!("managed by {}", n.requester_id().unwrap_or("AWS")));
    }
    if let Some(instance) = n.attachment().and_then(|a| a.instance_id()) {
        let owner = n.attachment().and_then(|a| a.instance_owner_id()).map(|o| format!(" of {o}")).unwrap_or_default();
        about.push(format!("attached to {instance}{owner}"));
    }
    let about = if about.is_empty() { String::new() } else { format!(" ({})", about.join("; ")) };
    format!("network interface {}{about}", n.network_interface_id().unwrap_or("?"))
}

async fn blockers(p: &Ec2, id: &str) -> Blockers {
    let c = &p.client;
    let vpc = || filter("vpc-id", id);
    let attached = || filter("attachment.vpc-id", id);
    let (subnets, igws, nats, endpoints, enis, groups, tables, vgws) = tokio::join!(
        async {
            let out = p.call("DescribeSubnets", || c.describe_subnets().filters(vpc()).send()).await?;
            Ok::<_, ProviderError>(
                out.subnets()
                    .iter()
                    .map(|s| {
                        let cidr = s.cidr_block().map(|c| format!(" ({c})")).unwrap_or_default();
                        Held::staying(format!("subnet {}{cidr}", s.subnet_id().unwrap_or("?")))
                    })
                    .collect::<Vec<_>>(),
            )
        },
        async {
            let out = p
                .call("DescribeInternetGateways", || c.describe_internet_gateways().filters(attached()).send())
                .await?;
            Ok(out
                .internet_gateways()
                .iter()
                .map(|g| {
                    Held::staying(format!("internet gateway {} (attached)", g.internet_gateway_id().unwrap_or("?")))
                })
                .collect())
        },
        async {
            let out = p.call("DescribeNatGateways", || c.describe_nat_gateways().filter(vpc()).send()).await?;
            Ok(out
                .nat_gateways()
                .iter()
                // moto does not filter NAT gateways by every filter: the VPC is checked here too.
                .filter(|n| n.vpc_id().is_none_or(|v| v == id))
                .filter(|n| !matches!(n.state().map(|s| s.as_str()), Some("deleted" | "failed")))
                .map(|n| {
                    let nat = n.nat_gateway_id().unwrap_or("?");
                    let state = n.state().map(|s| s.as_str()).unwrap_or("unknown");
                    Held { text: format!("NAT gateway {nat} ({state})"), settling: state == "deleting", id: nat.into() }
                })
                .collect())
        },
        async {
            let out = p.call("DescribeVpcEndpoints", || c.describe_vpc_endpoints().filters(vpc()).send()).await?;
            Ok(out
                .vpc_endpoints()
                .iter()
                .filter_map(|e| {
                    let state = e.state().map(|s| s.as_str().to_ascii_lowercase()).unwrap_or_else(|| "unknown".into());
                    if state == "deleted" {
                        return None;
                    }
                    let endpoint = e.vpc_endpoint_id().unwrap_or("?");
                    let service = e.service_name().map(|s| format!("{s}, ")).unwrap_or_default();
                    Some(Held {
                        text: format!("VPC endpoint {endpoint} ({service}{state})"),
                        settling: state == "deleting",
                        id: endpoint.into(),
                    })
                })
                .collect())
        },
        async {
            let out =
                p.call("DescribeNetworkInterfaces", || c.describe_network_interfaces().filters(vpc()).send()).await?;
            Ok(out
                .network_interfaces()
                .iter()
                .map(|n| Held {
                    text: interface_text(n),
                    settling: false,
                    id: n.description().unwrap_or_default().to_string(),
                })
                .collect())
        },
        async {
            let out = p.call("DescribeSecurityGroups", || c.describe_security_groups().filters(vpc()).send()).await?;
            Ok(out
                .security_groups()
                .iter()
                .filter(|g| g.group_name() != Some("default"))
                .map(|g| {
                    Held::staying(format!(
                        "security group {} ({})",
                        g.group_id().unwrap_or("?"),
                        g.group_name().unwrap_or("?")
                    ))
                })
                .collect())
        },
        async {
            let out = p.call("DescribeRouteTables", || c.describe_route_tables().filters(vpc()).send()).await?;
            Ok(out
                .route_tables()
                .iter()
                .filter(|t| !t.associations().iter().any(|a| a.main() == Some(true)))
                .map(|t| Held::staying(format!("route table {}", t.route_table_id().unwrap_or("?"))))
                .collect())
        },
        async {
            let out = p.call("DescribeVpnGateways", || c.describe_vpn_gateways().filters(attached()).send()).await?;
            Ok(out
                .vpn_gateways()
                .iter()
                .filter(|g| {
                    g.vpc_attachments().iter().any(|a| {
                        a.vpc_id() == Some(id)
                            && matches!(a.state().map(|s| s.as_str()), Some("attached" | "attaching" | "detaching"))
                    })
                })
                .map(|g| Held::staying(format!("VPN gateway {} (attached)", g.vpn_gateway_id().unwrap_or("?"))))
                .collect())
        },
    );
    let mut held = Vec::new();
    let mut out = Blockers::default();
    let mut interfaces = Vec::new();
    for (i, result) in [subnets, igws, nats, endpoints, enis, groups, tables, vgws].into_iter().enumerate() {
        match result {
            // Network interfaces (the fifth kind) are sorted once the gateways are known.
            Ok(items) if i == 4 => interfaces = items,
            Ok(items) => held.extend(items),
            Err(e) => out.unknown.push(e.to_string()),
        }
    }
    // An interface a gateway or endpoint being deleted still holds goes with it.
    let going: Vec<String> = held.iter().filter(|h| h.settling).map(|h| h.id.clone()).collect();
    for mut n in interfaces {
        n.settling = going.iter().any(|g| n.id.split_whitespace().any(|word| word == g));
        held.push(n);
    }
    for h in held {
        if h.settling {
            out.settling.push(h.text);
        } else {
            out.found.push(h.text);
        }
    }
    out
}

/// At most this many blockers are named; the rest are counted.
const NAMED_BLOCKERS: usize = 20;

fn named(items: &[String]) -> String {
    let mut named = items.iter().take(NAMED_BLOCKERS).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > NAMED_BLOCKERS {
        named.push_str(&format!(" and {} more", items.len() - NAMED_BLOCKERS));
    }
    named
}

fn dependency_error(err: ProviderError, id: &str, blockers: &Blockers) -> ProviderError {
    let mut message = if blockers.found.is_empty() && blockers.settling.is_empty() {
        format!(
            "VPC {id} still has dependencies, but none of the kinds infra looks for ({BLOCKER_KINDS}) is left in \
             it; EC2 says: {}",
            err.message
        )
    } else if blockers.found.is_empty() {
        format!("VPC {id} cannot be deleted yet: EC2 is still deleting {}", named(&blockers.settling))
    } else {
        let mut m = format!(
            "VPC {id} cannot be deleted while it still holds: {}; delete or detach them first. Those not in this \
             stack's state were not created by infra: delete them where they were made, or import them",
            named(&blockers.found)
        );
        if !blockers.settling.is_empty() {
            m.push_str(&format!(" (EC2 is already deleting {})", named(&blockers.settling)));
        }
        m
    };
    if !blockers.unknown.is_empty() {
        message.push_str(&format!(" (could not check everything: {})", blockers.unknown.join("; ")));
    }
    ProviderError { message, ..err }
}

/// Waits while the only things in the VPC's way are being deleted by EC2 already (NAT
/// gateways take minutes); returns as soon as nothing settles any more, or something that
/// stays is found.
async fn wait_for_settling(p: &Ec2, context: &ResourceContext, id: &str) -> Result<(), ProviderError> {
    let subject = format!("VPC {id}");
    p.wait(context, Phase::Delete, "DeleteVpc", &subject, "free of what EC2 is deleting")?
        .until(|| async {
            let blockers = blockers(p, id).await;
            Ok(if blockers.settling.is_empty() || !blockers.found.is_empty() || !blockers.unknown.is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending(format!("waiting for {}", named(&blockers.settling)))
            })
        })
        .await
}

/// `AWS::EC2::VPC`.
pub(crate) struct VpcType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for VpcType {
    fn type_name(&self) -> &'static str {
        TYPE
    }

    fn create_only_override(&self) -> Option<Vec<String>> {
        Some(create_only())
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateVpc";
        let spec = Spec::read(&req.properties, OPERATION)?;
        let tags = intent_tag_specification(ResourceType::Vpc, &spec.tags, &req.token, OPERATION)?;
        // Boxed, as is the rest of the create below: the nested futures are too deep a type
        // otherwise.
        let vpc_id = Box::pin(p.create_once(
            OPERATION,
            || async {
                let out = p
                    .client
                    .create_vpc()
                    .set_cidr_block(spec.cidr_block.clone())
                    .set_instance_tenancy(spec.tenancy.as_deref().map(Tenancy::from))
                    .set_ipv4_ipam_pool_id(spec.ipam_pool.clone())
                    .set_ipv4_netmask_length(spec.netmask_length)
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                out.vpc
                    .and_then(|v| v.vpc_id)
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| ProviderError::new(ErrorKind::Other, OPERATION, "the answer carried no VPC ID"))
            },
            || async {
                match super::the_one(by_token(p, &req.token).await?, "DescribeVpcs", "VPC", &req.token)?.as_ref() {
                    None => Ok(None),
                    Some(one) => Ok(Some(vpc_id(one, "DescribeVpcs")?)),
                }
            },
        ))
        .await?;
        // The VPC exists from here on: whatever fails now, the engine must learn its ID.
        Box::pin(finish_create(p, req, &spec, &vpc_id)).await.map_err(|e| {
            let mut attributes = Attributes::new();
            attributes.insert("VpcId".into(), Value::String(vpc_id.clone()));
            e.with_partial(Applied { physical_id: vpc_id.clone(), attributes })
        })
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        match describe(p, &req.physical_id, false).await? {
            Some(vpc) => observe(p, vpc, &req.properties).await,
            None => Ok(None),
        }
    }
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        match super::the_one(by_token(p, &req.token).await?, "DescribeVpcs", "VPC", &req.token)? {
            Some(vpc) => observe(p, vpc, &req.properties).await,
            None => Ok(None),
        }
    }
    async fn update(&self, p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "ModifyVpcAttribute";
        // The old properties are what was applied (or read back): only what they say is needed.
        let old = Spec::parse(&req.old_properties, OPERATION)?;
        let new = Spec::read(&req.new_properties, OPERATION)?;
        check_in_place(&req.old_properties, &req.new_properties, &create_only(), "VPC", OPERATION)?;
        let id = req.physical_id.as_str();
        let support = (old.dns_support.unwrap_or(DNS_SUPPORT_DEFAULT), new.dns_support.unwrap_or(DNS_SUPPORT_DEFAULT));
        let hostnames =
            (old.dns_hostnames.unwrap_or(DNS_HOSTNAMES_DEFAULT), new.dns_hostnames.unwrap_or(DNS_HOSTNAMES_DEFAULT));
        set_dns(
            p,
            id,
            (support.0 != support.1).then_some(support.1),
            (hostnames.0 != hostnames.1).then_some(hostnames.1),
            false,
        )
        .await?;
        p.update_tags(id, &old.tags, &new.tags).await?;
        let vpc = describe(p, id, false)
            .await?
            .ok_or_else(|| ProviderError::new(ErrorKind::NotFound, "DescribeVpcs", format!("VPC {id} is gone")))?;
        let defaults = defaults(p, id, false).await?;
        Ok(applied(&vpc, &defaults))
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OPERATION: &str = "DeleteVpc";
        let id = req.physical_id.as_str();
        let mut start = tokio::time::Instant::now();
        // Each round waits (bounded by the delete timeout) for what EC2 is deleting; a VPC that
        // is still blocked after a few has something new appearing in it.
        const SETTLING_ROUNDS: u32 = 3;
        let mut settled = 0;
        loop {
            let err = match p.call(OPERATION, || p.client.delete_vpc().vpc_id(id).send()).await {
                Ok(_) => return Ok(()),
                Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
                Err(e) if e.code.as_deref() == Some("DependencyViolation") => e,
                Err(e) => return Err(e),
            };
            let blockers = blockers(p, id).await;
            if blockers.found.is_empty() && blockers.unknown.is_empty() {
                // Only what EC2 is deleting already is in the way: wait for it to go.
                if !blockers.settling.is_empty() && settled < SETTLING_ROUNDS {
                    settled += 1;
                    wait_for_settling(p, &req.context, id).await?;
                    // EC2 may still refuse for a moment what it has just finished deleting.
                    start = tokio::time::Instant::now();
                    continue;
                }
                // Nothing in the way that EC2 shows yet: what blocked it was deleted moments ago.
                if blockers.settling.is_empty() && start.elapsed() < p.settings.consistency_window {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
            return Err(dependency_error(err, id, &blockers));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(properties: Value, expected: Result<(), &str>) {
        let got = Spec::read(&properties, "CreateVpc").map(drop).map_err(|e| e.message);
        assert_eq!(got, expected.map_err(str::to_string), "{properties}");
    }

    #[test]
    fn properties_are_checked_with_their_path() {
        check(json!({"CidrBlock": "10.0.0.0/16"}), Ok(()));
        check(json!({"Ipv4IpamPoolId": "ipam-pool-1", "Ipv4NetmaskLength": "20"}), Ok(()));
        check(
            json!({"CidrBlock": "10.0.0.0/16", "EnableDnsSupport": "true", "EnableDnsHostnames": false,
                   "InstanceTenancy": "dedicated", "Tags": [{"Key": "a", "Value": "b"}]}),
            Ok(()),
        );
        check(json!({}), Err("property CidrBlock is required unless Ipv4IpamPoolId is set"));
        check(json!(null), Err("property CidrBlock is required unless Ipv4IpamPoolId is set"));
        check(json!([]), Err("properties must be an object"));
        check(json!({"CidrBlock": ["10.0.0.0/16"]}), Err("property CidrBlock must be a string"));
        check(
            json!({"CidrBlock": "10.0.0.0/16", "EnableDnsSupport": "yes"}),
            Err("property EnableDnsSupport must be a boolean"),
        );
        check(
            json!({"CidrBlock": "10.0.0.0/16", "Ipv4NetmaskLength": 16}),
            Err("property Ipv4NetmaskLength needs Ipv4IpamPoolId"),
        );
        check(
            json!({"Ipv4IpamPoolId": "ipam-pool-1", "Ipv4NetmaskLength": 16.5}),
            Err("property Ipv4NetmaskLength must be an integer"),
        );
        check(
            json!({"CidrBlock": "10.0.0.0/16", "InstanceTenancy": "shared"}),
            Err("property InstanceTenancy must be one of default, dedicated, host, not \"shared\""),
        );
        check(json!({"CidrBlock": "10.0.0.0/16", "Tags": [{"Value": "b"}]}), Err("property Tags.0.Key is required"));
        check(json!({"CidrBlock": "10.0.0.0/16", "Tags": {"a": "b"}}), Err("property Tags must be a list"));
        check(
            json!({"CidrBlock": "10.0.0.0/16", "Tags": [{"Key": "infra:intent", "Value": "x"}]}),
            Err("property Tags.0.Key: the tag infra:intent is reserved for infra's own bookkeeping"),
        );
        check(
            json!({"CidrBlock": "10.0.0.0/16", "VpcEncryptionControl": {"Mode": "monitor"}}),
            Err("property VpcEncryptionControl is not supported by infra's EC2 provider; remove it from the \
                 template or manage encryption control outside infra"),
        );
    }

    #[test]
    fn dependency_messages_name_the_blockers() {
        let err = ProviderError::new(ErrorKind::Conflict, "DeleteVpc", "The vpc 'vpc-1' has dependencies")
            .with_code("DependencyViolation");
        let some = Blockers { found: vec!["subnet subnet-1 (10.0.1.0/24)".into()], ..Blockers::default() };
        let e = dependency_error(err.clone(), "vpc-1", &some);
        assert_eq!(e.code.as_deref(), Some("DependencyViolation"));
        assert_eq!(e.kind, ErrorKind::Conflict);
        assert_eq!(
            e.message,
            "VPC vpc-1 cannot be deleted while it still holds: subnet subnet-1 (10.0.1.0/24); delete or detach them \
             first. Those not in this stack's state were not created by infra: delete them where they were made, or \
             import them"
        );
        let many = Blockers {
            found: (0..25).map(|i| format!("subnet s-{i}")).collect(),
            settling: vec!["NAT gateway nat-1 (deleting)".into()],
            unknown: vec!["x".into()],
        };
        let e = dependency_error(err.clone(), "vpc-1", &many);
        assert!(e.message.contains("s-19 and 5 more; delete"), "{}", e.message);
        assert!(
            e.message
                .ends_with("(EC2 is already deleting NAT gateway nat-1 (deleting)) (could not check everything: x)"),
            "{}",
            e.message
        );
        let settling = Blockers { settling: vec!["VPC endpoint vpce-1 (deleting)".into()], ..Blockers::default() };
        let e = dependency_error(err.clone(), "vpc-1", &settling);
        assert_eq!(e.message, "VPC vpc-1 cannot be deleted yet: EC2 is still deleting VPC endpoint vpce-1 (deleting)");
        let e = dependency_error(err, "vpc-1", &Blockers::default());
        assert!(e.message.contains("none of the kinds infra looks for"), "{}", e.message);
        assert!(e.message.ends_with("EC2 says: The vpc 'vpc-1' has dependencies"), "{}", e.message);
    }

    #[test]
    fn interfaces_say_what_owns_them() {
        use aws_sdk_ec2::types::{NetworkInterface, NetworkInterfaceAttachment, NetworkInterfaceType};
        let nat = NetworkInterface::builder()
            .network_interface_id("eni-1")
            .description("Interface for NAT Gateway nat-1")
            .interface_type(NetworkInterfaceType::NatGateway)
            .requester_managed(true)
            .requester_id("amazon")
            .build();
        assert_eq!(
            interface_text(&nat),
            "network interface eni-1 (Interface for NAT Gateway nat-1; type natGateway; managed by amazon)"
        );
        let attached = NetworkInterface::builder()
            .network_interface_id("eni-2")
            .interface_type(NetworkInterfaceType::Interface)
            .attachment(NetworkInterfaceAttachment::builder().instance_id("i-1").instance_owner_id("123").build())
            .build();
        assert_eq!(interface_text(&attached), "network interface eni-2 (attached to i-1 of 123)");
        assert_eq!(
            interface_text(&NetworkInterface::builder().network_interface_id("eni-3").build()),
            "network interface eni-3"
        );
    }
}
