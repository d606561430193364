//! `AWS::EC2::VPCEndpoint`: a private way from a VPC to a service. A `Gateway` endpoint (S3,
//! DynamoDB) adds routes to route tables; an `Interface` endpoint puts a network interface in
//! each subnet, behind security groups, optionally with private DNS. Ref is the endpoint ID
//! (EC2 assigns it, so the create carries the intent's token as its `ClientToken` and as the
//! intent tag); GetAtt `Id`, `CreationTimestamp`, `DnsEntries` (`hostedZoneId:dnsName`, as
//! CloudFormation's), `NetworkInterfaceIds`.
//!
//! Route tables, subnets and security groups (as set differences), the policy (reset to EC2's
//! full-access default when the template drops it), private DNS and the tags update in place
//! through `ModifyVpcEndpoint`; the VPC, the service and the type need a new endpoint.
//! Creating and deleting wait for the endpoint to be `available` and gone.

use super::{check_template_tags, intent_filter, intent_tag_specification, live_tags, Ec2};
use crate::kit::errors::absent_if_missing;
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{shape_like, Compare, LiveProperty, ObjectBuilder};
use crate::kit::tags::observed as tags_value;
use crate::kit::waiter::Waits as _;
use crate::waiter::{Phase, Poll};
use aws_sdk_ec2::types::{ResourceType, VpcEndpoint, VpcEndpointType as SdkEndpointType};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest, INTENT_TAG,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const TYPE: &str = "AWS::EC2::VPCEndpoint";

const GATEWAY: &str = "Gateway";
const INTERFACE: &str = "Interface";

/// Properties infra's EC2 provider does not manage on VPC endpoints; a template that sets one
/// is refused rather than half-applied.
const UNSUPPORTED: &[&str] =
    &["IpAddressType", "DnsOptions", "ServiceRegion", "ServiceNetworkArn", "ResourceConfigurationArn"];

/// The policy EC2 gives an endpoint created without one.
fn default_policy() -> Value {
    json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]})
}

/// A VPC endpoint's properties, read and checked.
struct Spec {
    vpc_id: Option<String>,
    service_name: Option<String>,
    endpoint_type: String,
    /// As the template gave it (an object or JSON text), and as the text EC2 takes.
    policy: Option<(Value, String)>,
    route_tables: Vec<String>,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    private_dns: Option<bool>,
    tags: Vec<(String, String)>,
}

impl Spec {
    fn parse(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        let policy = match props.document("PolicyDocument")? {
            Some(text) => props.get("PolicyDocument").cloned().map(|v| (v, text)),
            None => None,
        };
        Ok(Spec {
            vpc_id: props.string("VpcId")?,
            service_name: props.string("ServiceName")?,
            endpoint_type: props.string("VpcEndpointType")?.unwrap_or_else(|| GATEWAY.to_string()),
            policy,
            route_tables: props.string_list("RouteTableIds")?,
            subnets: props.string_list("SubnetIds")?,
            security_groups: props.string_list("SecurityGroupIds")?,
            private_dns: props.bool("PrivateDnsEnabled")?,
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
                    "property {name} is not supported by infra's EC2 provider on VPC endpoints; remove it from the \
                     template or manage the endpoint outside infra"
                ),
            ));
        }
        let spec = Spec::parse(properties, operation)?;
        if spec.vpc_id.is_none() {
            return Err(invalid("property VpcId is required".into()));
        }
        if spec.service_name.is_none() {
            return Err(invalid("property ServiceName is required".into()));
        }
        let only_for = |name: &str, kind: &str| {
            invalid(format!("property {name} applies only to {kind} endpoints, and this one is {}", spec.endpoint_type))
        };
        match spec.endpoint_type.as_str() {
            GATEWAY => {
                for (name, set) in [
                    ("SubnetIds", !spec.subnets.is_empty()),
                    ("SecurityGroupIds", !spec.security_groups.is_empty()),
                    ("PrivateDnsEnabled", spec.private_dns.is_some()),
                ] {
                    if set {
                        return Err(only_for(name, INTERFACE));
                    }
                }
            }
            INTERFACE => {
                if !spec.route_tables.is_empty() {
                    return Err(only_for("RouteTableIds", GATEWAY));
                }
            }
            other => {
                return Err(ProviderError::new(
                    ErrorKind::Unsupported,
                    operation,
                    format!(
                        "property VpcEndpointType {other:?} is not supported by infra's EC2 provider (Gateway and \
                         Interface endpoints are)"
                    ),
                ))
            }
        }
        check_template_tags(&spec.tags, operation)?;
        Ok(spec)
    }

    fn is_interface(&self) -> bool {
        self.endpoint_type == INTERFACE
    }
}

/// The endpoint's state, lower case (EC2 documents `Available`, and answers `available`).
fn state(endpoint: &VpcEndpoint) -> String {
    endpoint.state().map(|s| s.as_str().to_ascii_lowercase()).unwrap_or_else(|| "unknown".into())
}

/// The endpoint, or `None` when there is none by that ID (or it is deleted). `fresh` for an
/// endpoint created moments ago.
async fn describe(p: &Ec2, id: &str, fresh: bool) -> Result<Option<VpcEndpoint>, ProviderError> {
    let call = || p.client.describe_vpc_endpoints().vpc_endpoint_ids(id).send();
    let out = if fresh {
        p.call_fresh("DescribeVpcEndpoints", call).await
    } else {
        p.call("DescribeVpcEndpoints", call).await
    };
    Ok(absent_if_missing(out)?.and_then(|out| {
        out.vpc_endpoints
            .unwrap_or_default()
            .into_iter()
            .find(|e| e.vpc_endpoint_id() == Some(id) && state(e) != "deleted")
    }))
}

/// Every endpoint carrying the intent tag `token` that is not being deleted.
async fn by_token(p: &Ec2, token: &str) -> Result<Vec<VpcEndpoint>, ProviderError> {
    let mut endpoints = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = p
            .call("DescribeVpcEndpoints", || {
                p.client.describe_vpc_endpoints().filters(intent_filter(token)).set_next_token(next.clone()).send()
            })
            .await?;
        endpoints.extend(out.vpc_endpoints.unwrap_or_default().into_iter().filter(|e| {
            e.tags().iter().any(|t| t.key() == Some(INTENT_TAG) && t.value() == Some(token))
                && !matches!(state(e).as_str(), "deleting" | "deleted")
        }));
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(endpoints),
        }
    }
}

fn endpoint_id(endpoint: &VpcEndpoint) -> Result<String, ProviderError> {
    endpoint.vpc_endpoint_id().filter(|id| !id.is_empty()).map(str::to_string).ok_or_else(|| {
        ProviderError::new(ErrorKind::Other, "DescribeVpcEndpoints", "the answer carried a VPC endpoint without an ID")
    })
}

impl super::Tagged for VpcEndpoint {
    fn id(&self) -> Option<&str> {
        self.vpc_endpoint_id()
    }
}

/// What `Ref` and `Fn::GetAtt` read.
fn applied(id: &str, endpoint: Option<&VpcEndpoint>) -> Applied {
    let mut attributes = Attributes::new();
    attributes.insert("Id".into(), Value::from(id));
    if let Some(e) = endpoint {
        if let Some(created) =
            e.creation_timestamp().and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        {
            attributes.insert("CreationTimestamp".into(), Value::from(created));
        }
        let dns: Vec<Value> = e
            .dns_entries()
            .iter()
            .filter_map(|d| Some(Value::from(format!("{}:{}", d.hosted_zone_id()?, d.dns_name()?))))
            .collect();
        attributes.insert("DnsEntries".into(), Value::Array(dns));
        attributes.insert("NetworkInterfaceIds".into(), Value::from(e.network_interface_ids().to_vec()));
    }
    Applied { physical_id: id.to_string(), attributes }
}

/// Why an endpoint failed, as EC2 says it.
fn failure(endpoint: &VpcEndpoint) -> String {
    let error = endpoint.last_error();
    match (error.and_then(|e| e.message()), error.and_then(|e| e.code()), endpoint.failure_reason()) {
        (Some(message), Some(code), _) => format!("{message} ({code})"),
        (Some(message), None, _) => message.to_string(),
        (None, _, Some(reason)) => reason.to_string(),
        (None, Some(code), None) => code.to_string(),
        (None, None, None) => format!("it is {}; EC2 gave no reason", state(endpoint)),
    }
}

/// The endpoint as it is, in the template's shape: lists compared as sets, the policy by
/// meaning (EC2's default left out when the template set none), private DNS for interface
/// endpoints only, security groups only when the template chose them (EC2 picks the VPC's
/// default group otherwise).
fn observe(endpoint: VpcEndpoint, template: &Value) -> Result<Option<Observed>, ProviderError> {
    let id = endpoint_id(&endpoint)?;
    let kind = endpoint.vpc_endpoint_type().map(SdkEndpointType::as_str).unwrap_or(GATEWAY);
    let interface = kind.eq_ignore_ascii_case(INTERFACE);
    let list = |items: &[String]| Some(Value::from(items.to_vec()));
    let groups: Vec<String> = endpoint.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect();
    let mut live = vec![
        LiveProperty::new("RouteTableIds", Compare::Set, list(endpoint.route_table_ids())).with_default(json!([])),
        LiveProperty::new("SubnetIds", Compare::Set, list(endpoint.subnet_ids())).with_default(json!([])),
        LiveProperty::new("PolicyDocument", Compare::Document, endpoint.policy_document().map(Value::from))
            .with_default(default_policy()),
    ];
    if template.get("SecurityGroupIds").is_some() {
        live.push(LiveProperty::new("SecurityGroupIds", Compare::Set, list(&groups)));
    }
    if interface {
        live.push(
            LiveProperty::new("PrivateDnsEnabled", Compare::Scalar, endpoint.private_dns_enabled().map(Value::Bool))
                .with_default(json!(false)),
        );
    }
    let Value::Object(shaped) = shape_like(template, live) else {
        return Err(ProviderError::new(ErrorKind::Other, "DescribeVpcEndpoints", "read-back is not an object"));
    };
    let mut properties = ObjectBuilder::new()
        .string("VpcId", endpoint.vpc_id())
        .string("ServiceName", endpoint.service_name())
        .string("VpcEndpointType", (template.get("VpcEndpointType").is_some() || interface).then_some(kind))
        .put("Tags", tags_value(live_tags(endpoint.tags()), template))
        .build();
    if let Value::Object(map) = &mut properties {
        map.extend(shaped);
    }
    let failed = matches!(state(&endpoint).as_str(), "failed" | "rejected" | "expired")
        .then(|| format!("VPC endpoint {id} failed: {}", failure(&endpoint)));
    let applied = applied(&id, Some(&endpoint));
    Ok(Some(Observed {
        physical_id: applied.physical_id,
        properties: crate::kit::readback::conform(properties, Some(template)),
        attributes: applied.attributes,
        failure: failed,
    }))
}

/// Waits until the endpoint is usable: `available`, or `pendingAcceptance` (the service's
/// owner must accept it, which is not infra's to wait for).
async fn wait_usable(
    p: &Ec2,
    context: &ResourceContext,
    phase: Phase,
    operation: &str,
    id: &str,
) -> Result<Applied, ProviderError> {
    let subject = format!("VPC endpoint {id}");
    let endpoint = p
        .wait(context, phase, operation, &subject, "available")?
        .until(|| async {
            let endpoint = describe(p, id, phase == Phase::Create).await?.ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::NotFound,
                    operation,
                    format!("{subject} disappeared while waiting for it"),
                )
            })?;
            Ok(match state(&endpoint).as_str() {
                "available" | "pendingacceptance" => Poll::Ready(endpoint),
                "failed" | "rejected" | "expired" | "deleting" => Poll::Failed(failure(&endpoint)),
                other => Poll::Pending(other.to_string()),
            })
        })
        .await?;
    Ok(applied(id, Some(&endpoint)))
}

/// Whether an error code is about a VPC endpoint (`InvalidVpcEndpointId.NotFound`).
fn is_endpoint_code(code: &str) -> bool {
    code.starts_with("InvalidVpcEndpoint")
}

/// `new` minus `old`, and `old` minus `new`.
fn differences(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let (old, new): (BTreeSet<&String>, BTreeSet<&String>) = (old.iter().collect(), new.iter().collect());
    (new.difference(&old).map(|s| s.to_string()).collect(), old.difference(&new).map(|s| s.to_string()).collect())
}

/// One `ModifyVpcEndpoint` call's worth of changes.
#[derive(Debug, Default, PartialEq)]
struct Modification {
    add_route_tables: Vec<String>,
    remove_route_tables: Vec<String>,
    add_subnets: Vec<String>,
    remove_subnets: Vec<String>,
    add_security_groups: Vec<String>,
    remove_security_groups: Vec<String>,
    policy: Option<String>,
    reset_policy: bool,
    private_dns: Option<bool>,
}

fn modification(old: &Spec, new: &Spec) -> Modification {
    let (add_route_tables, remove_route_tables) = differences(&old.route_tables, &new.route_tables);
    let (add_subnets, remove_subnets) = differences(&old.subnets, &new.subnets);
    let (add_security_groups, remove_security_groups) = differences(&old.security_groups, &new.security_groups);
    let (policy, reset_policy) = match (&old.policy, &new.policy) {
        (Some((o, _)), Some((n, text))) if !crate::policy::equivalent(o, n) => (Some(text.clone()), false),
        (None, Some((_, text))) => (Some(text.clone()), false),
        (Some(_), None) => (None, true),
        _ => (None, false),
    };
    let private_dns = (new.is_interface() && old.private_dns.unwrap_or(false) != new.private_dns.unwrap_or(false))
        .then_some(new.private_dns.unwrap_or(false));
    Modification {
        add_route_tables,
        remove_route_tables,
        add_subnets,
        remove_subnets,
        add_security_groups,
        remove_security_groups,
        policy,
        reset_policy,
        private_dns,
    }
}

/// `AWS::EC2::VPCEndpoint`.
pub(crate) struct VpcEndpointType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for VpcEndpointType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    /// Subnets added or removed bring or take network interfaces (and their DNS names).
    fn volatile_attributes(&self) -> Vec<String> {
        vec!["NetworkInterfaceIds".into(), "DnsEntries".into()]
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateVpcEndpoint";
        let spec = Spec::read(&req.properties, OPERATION)?;
        let tags = intent_tag_specification(ResourceType::VpcEndpoint, &spec.tags, &req.token, OPERATION)?;
        let list = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
        // CloudFormation's default for private DNS is off; EC2's is on: say it.
        let private_dns = spec.is_interface().then(|| spec.private_dns.unwrap_or(false));
        let id = Box::pin(p.create_once(
            OPERATION,
            || async {
                let out = p
                    .client
                    .create_vpc_endpoint()
                    .set_vpc_id(spec.vpc_id.clone())
                    .set_service_name(spec.service_name.clone())
                    .vpc_endpoint_type(SdkEndpointType::from(spec.endpoint_type.as_str()))
                    .set_policy_document(spec.policy.as_ref().map(|(_, text)| text.clone()))
                    .set_route_table_ids(list(&spec.route_tables))
                    .set_subnet_ids(list(&spec.subnets))
                    .set_security_group_ids(list(&spec.security_groups))
                    .set_private_dns_enabled(private_dns)
                    .client_token(&req.token)
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                out.vpc_endpoint.and_then(|e| e.vpc_endpoint_id).filter(|id| !id.is_empty()).ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, OPERATION, "the answer carried no VPC endpoint ID")
                })
            },
            || async {
                match super::the_one(
                    by_token(p, &req.token).await?,
                    "DescribeVpcEndpoints",
                    "VPC endpoint",
                    &req.token,
                )?
                .as_ref()
                {
                    None => Ok(None),
                    Some(one) => Ok(Some(endpoint_id(one)?)),
                }
            },
        ))
        .await?;
        // The endpoint exists from here on: whatever fails now, the engine must learn its ID.
        Box::pin(wait_usable(p, &req.context, Phase::Create, OPERATION, &id))
            .await
            .map_err(|e| e.with_partial(applied(&id, None)))
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        match describe(p, &req.physical_id, false).await? {
            Some(endpoint) => observe(endpoint, &req.properties),
            None => Ok(None),
        }
    }
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        match super::the_one(by_token(p, &req.token).await?, "DescribeVpcEndpoints", "VPC endpoint", &req.token)? {
            Some(endpoint) => observe(endpoint, &req.properties),
            None => Ok(None),
        }
    }
    async fn update(&self, p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "ModifyVpcEndpoint";
        let old = Spec::parse(&req.old_properties, OPERATION)?;
        let new = Spec::read(&req.new_properties, OPERATION)?;
        check_in_place(
            &req.old_properties,
            &req.new_properties,
            &crate::kit::schema::create_only(TYPE),
            "VPC endpoint",
            OPERATION,
        )?;
        let id = req.physical_id.as_str();
        let m = modification(&old, &new);
        if m != Modification::default() {
            let list = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
            p.call(OPERATION, || {
                p.client
                    .modify_vpc_endpoint()
                    .vpc_endpoint_id(id)
                    .set_add_route_table_ids(list(&m.add_route_tables))
                    .set_remove_route_table_ids(list(&m.remove_route_tables))
                    .set_add_subnet_ids(list(&m.add_subnets))
                    .set_remove_subnet_ids(list(&m.remove_subnets))
                    .set_add_security_group_ids(list(&m.add_security_groups))
                    .set_remove_security_group_ids(list(&m.remove_security_groups))
                    .set_policy_document(m.policy.clone())
                    .set_reset_policy(m.reset_policy.then_some(true))
                    .set_private_dns_enabled(m.private_dns)
                    .send()
            })
            .await?;
        }
        p.update_tags(id, &old.tags, &new.tags).await?;
        Box::pin(wait_usable(p, &req.context, Phase::Update, OPERATION, id)).await
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OPERATION: &str = "DeleteVpcEndpoints";
        let id = req.physical_id.as_str();
        if describe(p, id, false).await?.is_none() {
            return Ok(());
        }
        let out = match p.call(OPERATION, || p.client.delete_vpc_endpoints().vpc_endpoint_ids(id).send()).await {
            Ok(out) => out,
            // Only the endpoint's own absence means it is gone, not a route or subnet missing.
            Err(e) if e.kind == ErrorKind::NotFound && e.code.as_deref().is_some_and(is_endpoint_code) => return Ok(()),
            Err(e) => return Err(e),
        };
        if let Some(error) = out.unsuccessful().iter().filter_map(|u| u.error()).next() {
            let code = error.code().unwrap_or("unknown");
            if !(crate::error::kind_of(Some(code), None) == ErrorKind::NotFound && is_endpoint_code(code)) {
                return Err(ProviderError::new(
                    crate::error::kind_of(Some(code), Some(400)),
                    OPERATION,
                    format!("VPC endpoint {id} was not deleted: {}", error.message().unwrap_or(code)),
                )
                .with_code(code));
            }
            return Ok(());
        }
        // An interface endpoint's network interfaces go only once it is deleted; the subnets
        // and security groups they are in must not be deleted before.
        let subject = format!("VPC endpoint {id}");
        p.wait(&req.context, Phase::Delete, OPERATION, &subject, "deleted")?
            .until(|| async {
                Ok(match describe(p, id, false).await? {
                    None => Poll::Ready(()),
                    Some(endpoint) => Poll::Pending(state(&endpoint)),
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(properties: Value, expected: Result<(), &str>) {
        let got = Spec::read(&properties, "CreateVpcEndpoint").map(drop).map_err(|e| e.message);
        assert_eq!(got, expected.map_err(str::to_string), "{properties}");
    }

    #[test]
    fn properties_are_checked_with_their_path() {
        let s3 = "com.amazonaws.us-east-1.s3";
        check(json!({"VpcId": "vpc-1", "ServiceName": s3, "RouteTableIds": ["rtb-1"]}), Ok(()));
        check(
            json!({"VpcId": "vpc-1", "ServiceName": "x", "VpcEndpointType": "Interface", "SubnetIds": ["subnet-1"],
                   "PrivateDnsEnabled": "true", "PolicyDocument": "{\"Statement\": []}"}),
            Ok(()),
        );
        check(json!({"ServiceName": s3}), Err("property VpcId is required"));
        check(json!({"VpcId": "vpc-1"}), Err("property ServiceName is required"));
        check(
            json!({"VpcId": "vpc-1", "ServiceName": s3, "SubnetIds": ["subnet-1"]}),
            Err("property SubnetIds applies only to Interface endpoints, and this one is Gateway"),
        );
        check(
            json!({"VpcId": "vpc-1", "ServiceName": s3, "VpcEndpointType": "Interface", "RouteTableIds": ["rtb-1"]}),
            Err("property RouteTableIds applies only to Gateway endpoints, and this one is Interface"),
        );
        check(
            json!({"VpcId": "vpc-1", "ServiceName": s3, "VpcEndpointType": "GatewayLoadBalancer"}),
            Err("property VpcEndpointType \"GatewayLoadBalancer\" is not supported by infra's EC2 provider (Gateway \
                 and Interface endpoints are)"),
        );
        check(
            json!({"VpcId": "vpc-1", "ServiceName": s3, "DnsOptions": {"DnsRecordIpType": "ipv4"}}),
            Err("property DnsOptions is not supported by infra's EC2 provider on VPC endpoints; remove it from the \
                 template or manage the endpoint outside infra"),
        );
        check(
            json!({"VpcId": "vpc-1", "ServiceName": s3, "PolicyDocument": "not json"}),
            Err("property PolicyDocument: invalid JSON in policy document: expected ident at line 1 column 2"),
        );
    }

    #[test]
    fn modifications_are_set_differences() {
        let spec = |v: Value| Spec::parse(&v, "ModifyVpcEndpoint").expect("valid");
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]});
        let m = modification(
            &spec(json!({"RouteTableIds": ["rtb-1", "rtb-2"], "PolicyDocument": doc})),
            &spec(json!({"RouteTableIds": ["rtb-3", "rtb-2"], "PolicyDocument": doc.to_string()})),
        );
        assert_eq!(
            m,
            Modification {
                add_route_tables: vec!["rtb-3".into()],
                remove_route_tables: vec!["rtb-1".into()],
                ..Modification::default()
            },
            "the same policy as text is no change"
        );
        let m = modification(
            &spec(json!({"VpcEndpointType": "Interface", "SubnetIds": ["s-1"], "PolicyDocument": doc})),
            &spec(json!({"VpcEndpointType": "Interface", "SubnetIds": ["s-1", "s-2"], "SecurityGroupIds": ["sg-1"],
                         "PrivateDnsEnabled": true})),
        );
        assert_eq!(
            m,
            Modification {
                add_subnets: vec!["s-2".into()],
                add_security_groups: vec!["sg-1".into()],
                reset_policy: true,
                private_dns: Some(true),
                ..Modification::default()
            }
        );
    }
}
