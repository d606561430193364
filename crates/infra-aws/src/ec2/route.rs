//! `AWS::EC2::Route`: one route in a route table, to a destination (an IPv4 or IPv6 range, or
//! a prefix list) through exactly one target (a gateway, NAT gateway, VPC endpoint, instance,
//! network interface, peering connection, …).
//!
//! A route has no ID of its own: it is identified by its table and its destination. Its
//! physical ID is both, joined by a pipe as CloudFormation does (`rtb-0abc…|0.0.0.0/0`);
//! Ref is that ID, GetAtt `CidrBlock` the destination. Changing the target is `ReplaceRoute`,
//! in place; another destination or another table is another route.
//!
//! A route cannot carry tags, so its create cannot carry the intent tag: after a lost answer,
//! and in [`infra_core::provider::Provider::find`], the route is looked up by its table and
//! destination instead, and a route found there is taken for the one the create made. (Two
//! routes cannot share a table and destination, so there is nothing to choose between; a
//! route someone else made there before the first attempt is refused by EC2 with
//! `RouteAlreadyExists` instead.)

use super::Ec2;
use crate::kit::errors::{absent_if_missing, gone_ok};
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{conform, ObjectBuilder};
use aws_sdk_ec2::types::Route;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};
use serde_json::Value;

const TYPE: &str = "AWS::EC2::Route";

/// The properties a destination can be given by; exactly one is set.
const DESTINATIONS: [&str; 3] = ["DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId"];

/// The properties a target can be given by; exactly one is set.
const TARGETS: [&str; 12] = [
    "CarrierGatewayId",
    "CoreNetworkArn",
    "EgressOnlyInternetGatewayId",
    "GatewayId",
    "InstanceId",
    "LocalGatewayId",
    "NatGatewayId",
    "NetworkInterfaceId",
    "OdbNetworkArn",
    "TransitGatewayId",
    "VpcEndpointId",
    "VpcPeeringConnectionId",
];

/// Sets the target `$name` (one of [`TARGETS`]) to `$value` on a `CreateRoute` or
/// `ReplaceRoute` builder, whose setters share their names.
macro_rules! with_target {
    ($builder:expr, $name:expr, $value:expr) => {{
        let (b, v) = ($builder, $value);
        match $name {
            "CarrierGatewayId" => b.carrier_gateway_id(v),
            "CoreNetworkArn" => b.core_network_arn(v),
            "EgressOnlyInternetGatewayId" => b.egress_only_internet_gateway_id(v),
            "GatewayId" => b.gateway_id(v),
            "InstanceId" => b.instance_id(v),
            "LocalGatewayId" => b.local_gateway_id(v),
            "NatGatewayId" => b.nat_gateway_id(v),
            "NetworkInterfaceId" => b.network_interface_id(v),
            "OdbNetworkArn" => b.odb_network_arn(v),
            "TransitGatewayId" => b.transit_gateway_id(v),
            "VpcEndpointId" => b.vpc_endpoint_id(v),
            _ => b.vpc_peering_connection_id(v),
        }
    }};
}

/// Sets the destination (one of [`DESTINATIONS`]) on a `CreateRoute`, `ReplaceRoute` or
/// `DeleteRoute` builder.
macro_rules! with_destination {
    ($builder:expr, $destination:expr) => {{
        let (b, d): (_, &Destination) = ($builder, $destination);
        match d.property {
            "DestinationIpv6CidrBlock" => b.destination_ipv6_cidr_block(&d.value),
            "DestinationPrefixListId" => b.destination_prefix_list_id(&d.value),
            _ => b.destination_cidr_block(&d.value),
        }
    }};
}

/// Where a route leads: the property that gave it, and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Destination {
    property: &'static str,
    value: String,
}

impl Destination {
    /// The destination a physical ID names: a prefix list by its `pl-` ID, an IPv6 range by
    /// its colons, else an IPv4 range.
    fn of(value: &str) -> Destination {
        let property = if value.starts_with("pl-") {
            "DestinationPrefixListId"
        } else if value.contains(':') {
            "DestinationIpv6CidrBlock"
        } else {
            "DestinationCidrBlock"
        };
        Destination { property, value: value.to_string() }
    }

    /// Whether `route` leads here.
    fn is_of(&self, route: &Route) -> bool {
        let live = match self.property {
            "DestinationIpv6CidrBlock" => route.destination_ipv6_cidr_block(),
            "DestinationPrefixListId" => route.destination_prefix_list_id(),
            _ => route.destination_cidr_block(),
        };
        live.is_some_and(|l| l.eq_ignore_ascii_case(&self.value))
    }
}

/// A route's physical ID: its table and destination, as CloudFormation joins them.
fn physical_id(table: &str, destination: &Destination) -> String {
    format!("{table}|{}", destination.value)
}

/// The table and destination a physical ID names.
fn parse_id(id: &str, operation: &str) -> Result<(String, Destination), ProviderError> {
    match id.split_once('|') {
        Some((table, destination)) if !table.is_empty() && !destination.is_empty() => {
            Ok((table.to_string(), Destination::of(destination)))
        }
        _ => Err(ProviderError::new(
            ErrorKind::Invalid,
            operation,
            format!("{id:?} is not a route ID: it must be the route table ID and the destination joined by |"),
        )),
    }
}

/// A route's properties, read and checked.
#[derive(Debug)]
struct Spec {
    table: String,
    destination: Destination,
    /// The target property and its value.
    target: (&'static str, String),
}

impl Spec {
    fn read(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        let invalid = |message: String| ProviderError::new(ErrorKind::Invalid, operation, message);
        let table = props.required_string("RouteTableId")?;
        let mut destinations = Vec::new();
        for property in DESTINATIONS {
            if let Some(value) = props.string(property)? {
                destinations.push(Destination { property, value });
            }
        }
        let destination = match destinations.len() {
            1 => destinations.remove(0),
            0 => return Err(invalid(format!("one of the properties {} is required", DESTINATIONS.join(", ")))),
            _ => {
                let set: Vec<&str> = destinations.iter().map(|d| d.property).collect();
                return Err(invalid(format!("only one destination may be set, not {}", set.join(" and "))));
            }
        };
        let mut targets = Vec::new();
        for property in TARGETS {
            if let Some(value) = props.string(property)? {
                targets.push((property, value));
            }
        }
        let target = match targets.len() {
            1 => targets.remove(0),
            0 => return Err(invalid(format!("a target is required: one of the properties {}", TARGETS.join(", ")))),
            _ => {
                let set: Vec<&str> = targets.iter().map(|(p, _)| *p).collect();
                return Err(invalid(format!("a route has exactly one target, not {}", set.join(" and "))));
            }
        };
        Ok(Spec { table, destination, target })
    }
}

/// The route in `table` leading to `destination`, or `None` when the table or the route is
/// not there. `fresh` for a route created moments ago.
async fn describe(
    p: &Ec2,
    table: &str,
    destination: &Destination,
    fresh: bool,
) -> Result<Option<Route>, ProviderError> {
    let call = || p.client.describe_route_tables().route_table_ids(table).send();
    let out =
        if fresh { p.call_fresh("DescribeRouteTables", call).await } else { p.call("DescribeRouteTables", call).await };
    Ok(absent_if_missing(out)?.and_then(|out| {
        out.route_tables
            .unwrap_or_default()
            .into_iter()
            .find(|t| t.route_table_id() == Some(table))
            .and_then(|t| t.routes.unwrap_or_default().into_iter().find(|r| destination.is_of(r)))
    }))
}

/// The route's targets as EC2 reports them, by property. EC2 reports a VPC endpoint as the
/// route's gateway.
fn live_targets(route: &Route) -> Vec<(&'static str, &str)> {
    let gateway = route.gateway_id();
    let endpoint = gateway.filter(|g| g.starts_with("vpce-"));
    [
        ("CarrierGatewayId", route.carrier_gateway_id()),
        ("CoreNetworkArn", route.core_network_arn()),
        ("EgressOnlyInternetGatewayId", route.egress_only_internet_gateway_id()),
        ("GatewayId", gateway.filter(|_| endpoint.is_none())),
        ("InstanceId", route.instance_id()),
        ("LocalGatewayId", route.local_gateway_id()),
        ("NatGatewayId", route.nat_gateway_id()),
        ("NetworkInterfaceId", route.network_interface_id()),
        ("OdbNetworkArn", route.odb_network_arn()),
        ("TransitGatewayId", route.transit_gateway_id()),
        ("VpcEndpointId", endpoint),
        ("VpcPeeringConnectionId", route.vpc_peering_connection_id()),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v.filter(|v| !v.is_empty())?)))
    .collect()
}

/// What `Ref` and `Fn::GetAtt` read.
fn applied(table: &str, destination: &Destination) -> Applied {
    let mut attributes = Attributes::new();
    attributes.insert("CidrBlock".into(), Value::from(destination.value.as_str()));
    Applied { physical_id: physical_id(table, destination), attributes }
}

/// The route as it is, in the template's shape. A route to an instance also names the
/// instance's network interface, and one to an interface its instance: that second name is
/// left out unless the template gave it.
fn observe(table: &str, destination: &Destination, route: &Route, template: &Value) -> Observed {
    let given = |p: &str| template.get(p).is_some_and(|v| !v.is_null());
    let mut builder = ObjectBuilder::new()
        .string("RouteTableId", Some(table))
        .string(destination.property, Some(destination.value.as_str()));
    for (property, value) in live_targets(route) {
        let derived = match property {
            "NetworkInterfaceId" => given("InstanceId") && !given("NetworkInterfaceId"),
            "InstanceId" => given("NetworkInterfaceId") && !given("InstanceId"),
            _ => false,
        };
        if !derived {
            builder = builder.string(property, Some(value));
        }
    }
    let applied = applied(table, destination);
    Observed {
        physical_id: applied.physical_id,
        properties: conform(builder.build(), Some(template)),
        attributes: applied.attributes,
        failure: None,
    }
}

/// `AWS::EC2::Route`.
pub(crate) struct RouteType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for RouteType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateRoute";
        let spec = Spec::read(&req.properties, OPERATION)?;
        let (target, value) = (spec.target.0, spec.target.1.as_str());
        let id = Box::pin(p.create_once(
            OPERATION,
            || async {
                let call = p.client.create_route().route_table_id(&spec.table);
                let call = with_destination!(call, &spec.destination);
                with_target!(call, target, value).send().await.map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                Ok(physical_id(&spec.table, &spec.destination))
            },
            // No tag to look for: the route that create made is the one at its destination.
            || async {
                Ok(describe(p, &spec.table, &spec.destination, true)
                    .await?
                    .map(|_| physical_id(&spec.table, &spec.destination)))
            },
        ))
        .await?;
        let (table, destination) = parse_id(&id, OPERATION)?;
        Ok(applied(&table, &destination))
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let (table, destination) = parse_id(&req.physical_id, "DescribeRouteTables")?;
        Ok(describe(p, &table, &destination, false).await?.map(|r| observe(&table, &destination, &r, &req.properties)))
    }
    /// The route the create of `req` made: routes carry no tags, so it is the route at the
    /// recorded table and destination.
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        let spec = Spec::read(&req.properties, "DescribeRouteTables")?;
        Ok(describe(p, &spec.table, &spec.destination, false)
            .await?
            .map(|r| observe(&spec.table, &spec.destination, &r, &req.properties)))
    }
    async fn update(&self, p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "ReplaceRoute";
        let old = Spec::read(&req.old_properties, OPERATION)?;
        let new = Spec::read(&req.new_properties, OPERATION)?;
        check_in_place(
            &req.old_properties,
            &req.new_properties,
            &RouteType.create_only_properties(),
            "route",
            OPERATION,
        )?;
        if old.target != new.target {
            let (target, value) = (new.target.0, new.target.1.as_str());
            p.call(OPERATION, || {
                let call = p.client.replace_route().route_table_id(&new.table);
                let call = with_destination!(call, &new.destination);
                with_target!(call, target, value).send()
            })
            .await?;
        }
        Ok(applied(&new.table, &new.destination))
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OPERATION: &str = "DeleteRoute";
        let (table, destination) = parse_id(&req.physical_id, OPERATION)?;
        gone_ok(
            p.call(OPERATION, || {
                let call = p.client.delete_route().route_table_id(&table);
                with_destination!(call, &destination).send()
            })
            .await
            .map(drop),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::service::ResourceType as _;
    use serde_json::json;

    fn check(properties: Value, expected: Result<(), &str>) {
        let got = Spec::read(&properties, "CreateRoute").map(drop).map_err(|e| e.message);
        assert_eq!(got, expected.map_err(str::to_string), "{properties}");
    }

    #[test]
    fn properties_are_checked_with_their_path() {
        check(json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}), Ok(()));
        check(json!({"RouteTableId": "rtb-1", "DestinationIpv6CidrBlock": "::/0", "NatGatewayId": "nat-1"}), Ok(()));
        check(
            json!({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1"}),
            Err("property RouteTableId is required"),
        );
        check(
            json!({"RouteTableId": "rtb-1", "GatewayId": "igw-1"}),
            Err("one of the properties DestinationCidrBlock, DestinationIpv6CidrBlock, DestinationPrefixListId is \
                 required"),
        );
        check(
            json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "DestinationIpv6CidrBlock": "::/0",
                   "GatewayId": "igw-1"}),
            Err("only one destination may be set, not DestinationCidrBlock and DestinationIpv6CidrBlock"),
        );
        check(
            json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0"}),
            Err("a target is required: one of the properties CarrierGatewayId, CoreNetworkArn, \
                 EgressOnlyInternetGatewayId, GatewayId, InstanceId, LocalGatewayId, NatGatewayId, \
                 NetworkInterfaceId, OdbNetworkArn, TransitGatewayId, VpcEndpointId, VpcPeeringConnectionId"),
        );
        check(
            json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1",
                   "NatGatewayId": "nat-1"}),
            Err("a route has exactly one target, not GatewayId and NatGatewayId"),
        );
        check(
            json!({"RouteTableId": "rtb-1", "DestinationCidrBlock": ["0.0.0.0/0"], "GatewayId": "igw-1"}),
            Err("property DestinationCidrBlock must be a string"),
        );
    }

    #[test]
    fn the_physical_id_is_the_table_and_the_destination() {
        for (destination, property) in [
            ("0.0.0.0/0", "DestinationCidrBlock"),
            ("2001:db8::/32", "DestinationIpv6CidrBlock"),
            ("pl-0123", "DestinationPrefixListId"),
        ] {
            let d = Destination::of(destination);
            assert_eq!(d.property, property);
            let id = physical_id("rtb-1", &d);
            assert_eq!(id, format!("rtb-1|{destination}"));
            assert_eq!(parse_id(&id, "DeleteRoute").expect("parses"), ("rtb-1".to_string(), d));
        }
        for bad in ["rtb-1", "|0.0.0.0/0", "rtb-1|", ""] {
            let err = parse_id(bad, "DeleteRoute").expect_err(bad);
            assert_eq!(err.kind, ErrorKind::Invalid, "{bad}");
        }
    }

    #[test]
    fn create_only_properties_are_the_schemas() {
        let mut list = RouteType.create_only_properties();
        list.sort();
        assert_eq!(
            list,
            ["DestinationCidrBlock", "DestinationIpv6CidrBlock", "DestinationPrefixListId", "RouteTableId"]
        );
    }
}
