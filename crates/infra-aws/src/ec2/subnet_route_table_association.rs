//! `AWS::EC2::SubnetRouteTableAssociation`: which route table a subnet uses. Ref is the
//! association ID EC2 assigns; GetAtt `Id`.
//!
//! The registry schema makes both properties create-only, so another route table is a new
//! association. A subnet has one association at a time, and a replacement makes the new one
//! before it deletes the old: so a create for a subnet associated with another table moves the
//! subnet to its table (`ReplaceRouteTableAssociation`, which gives a new association ID), as
//! CloudFormation does, and the old association's delete then finds it already gone.
//!
//! An association cannot carry tags, so its create cannot carry the intent tag: after a lost
//! answer, and in [`infra_core::provider::Provider::find`], the association is looked up by
//! its subnet and route table instead, and one found there is taken for the one the create
//! made (a subnet can be associated with a table only once).

use super::{filter, Ec2};
use crate::kit::errors::{absent_if_missing, gone_ok};
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{conform, ObjectBuilder};
use aws_sdk_ec2::types::{RouteTableAssociation, RouteTableAssociationStateCode};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};
use serde_json::Value;

const TYPE: &str = "AWS::EC2::SubnetRouteTableAssociation";

/// An association's properties, read and checked.
struct Spec {
    subnet: String,
    table: String,
}

impl Spec {
    fn read(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        Ok(Spec { subnet: props.required_string("SubnetId")?, table: props.required_string("RouteTableId")? })
    }
}

/// Whether the association is in effect (or on its way): a disassociated one is gone.
fn current(association: &RouteTableAssociation) -> bool {
    !matches!(
        association.association_state().and_then(|s| s.state()),
        Some(RouteTableAssociationStateCode::Disassociated | RouteTableAssociationStateCode::Disassociating)
    )
}

/// The current associations of the route tables matching `name` = `value`.
async fn associations(
    p: &Ec2,
    name: &str,
    value: &str,
    fresh: bool,
) -> Result<Vec<RouteTableAssociation>, ProviderError> {
    let mut found = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let call = || p.client.describe_route_tables().filters(filter(name, value)).set_next_token(next.clone()).send();
        let out = if fresh {
            p.call_fresh("DescribeRouteTables", call).await?
        } else {
            p.call("DescribeRouteTables", call).await?
        };
        for table in out.route_tables.unwrap_or_default() {
            found.extend(table.associations.unwrap_or_default().into_iter().filter(current));
        }
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(found),
        }
    }
}

/// The association with this ID, or `None` when there is none.
async fn describe(p: &Ec2, id: &str) -> Result<Option<RouteTableAssociation>, ProviderError> {
    let found = absent_if_missing(associations(p, "association.route-table-association-id", id, false).await)?;
    Ok(found.unwrap_or_default().into_iter().find(|a| a.route_table_association_id() == Some(id)))
}

/// The association of `subnet` with `table`, if there is one: what a create of the two made.
async fn by_subnet(p: &Ec2, spec: &Spec, fresh: bool) -> Result<Option<RouteTableAssociation>, ProviderError> {
    Ok(associations(p, "association.subnet-id", &spec.subnet, fresh)
        .await?
        .into_iter()
        .find(|a| a.subnet_id() == Some(spec.subnet.as_str()) && a.route_table_id() == Some(spec.table.as_str())))
}

fn association_id(association: &RouteTableAssociation, operation: &str) -> Result<String, ProviderError> {
    association.route_table_association_id().filter(|id| !id.is_empty()).map(str::to_string).ok_or_else(|| {
        ProviderError::new(ErrorKind::Other, operation, "the answer carried an association without an ID")
    })
}

/// What `Ref` and `Fn::GetAtt` read.
fn applied(id: &str) -> Applied {
    let mut attributes = Attributes::new();
    attributes.insert("Id".into(), Value::from(id));
    Applied { physical_id: id.to_string(), attributes }
}

fn observe(association: &RouteTableAssociation, template: &Value) -> Result<Observed, ProviderError> {
    let id = association_id(association, "DescribeRouteTables")?;
    let properties = ObjectBuilder::new()
        .string("RouteTableId", association.route_table_id())
        .string("SubnetId", association.subnet_id())
        .build();
    let applied = applied(&id);
    Ok(Observed {
        physical_id: applied.physical_id,
        properties: conform(properties, Some(template)),
        attributes: applied.attributes,
        failure: None,
    })
}

/// `AWS::EC2::SubnetRouteTableAssociation`.
pub(crate) struct AssociationType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for AssociationType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "AssociateRouteTable";
        let spec = Spec::read(&req.properties, OPERATION)?;
        let id = Box::pin(p.create_once(
            OPERATION,
            || async {
                let moved = associations(p, "association.subnet-id", &spec.subnet, false)
                    .await?
                    .into_iter()
                    .find(|a| a.subnet_id() == Some(spec.subnet.as_str()))
                    .filter(|a| a.route_table_id() != Some(spec.table.as_str()));
                let id = match moved.as_ref().and_then(|a| a.route_table_association_id()) {
                    Some(current) => {
                        const REPLACE: &str = "ReplaceRouteTableAssociation";
                        let out = p
                            .client
                            .replace_route_table_association()
                            .association_id(current)
                            .route_table_id(&spec.table)
                            .send()
                            .await
                            .map_err(|e| crate::error::from_sdk(REPLACE, &e))?;
                        out.new_association_id
                    }
                    None => {
                        let out = p
                            .client
                            .associate_route_table()
                            .subnet_id(&spec.subnet)
                            .route_table_id(&spec.table)
                            .send()
                            .await
                            .map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                        out.association_id
                    }
                };
                id.filter(|id| !id.is_empty()).ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, OPERATION, "the answer carried no association ID")
                })
            },
            // No tag to look for: what the create made is the subnet's association with the table.
            || async {
                by_subnet(p, &spec, true).await?.map(|a| association_id(&a, "DescribeRouteTables")).transpose()
            },
        ))
        .await?;
        Ok(applied(&id))
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        describe(p, &req.physical_id).await?.map(|a| observe(&a, &req.properties)).transpose()
    }
    /// The association the create of `req` made: associations carry no tags, so it is the
    /// recorded subnet's association with the recorded table.
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        let spec = Spec::read(&req.properties, "DescribeRouteTables")?;
        by_subnet(p, &spec, false).await?.map(|a| observe(&a, &req.properties)).transpose()
    }
    /// Both properties are create-only, so an update changes nothing in EC2: it checks that
    /// nothing that needs a new association changed.
    async fn update(&self, _p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "ReplaceRouteTableAssociation";
        Spec::read(&req.new_properties, OPERATION)?;
        check_in_place(
            &req.old_properties,
            &req.new_properties,
            &AssociationType.create_only_properties(),
            "association",
            OPERATION,
        )?;
        Ok(applied(&req.physical_id))
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        let id = req.physical_id.as_str();
        gone_ok(
            p.call("DisassociateRouteTable", || p.client.disassociate_route_table().association_id(id).send())
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

    #[test]
    fn properties_are_checked_with_their_path() {
        let check = |properties: Value, expected: Result<(), &str>| {
            let got = Spec::read(&properties, "AssociateRouteTable").map(drop).map_err(|e| e.message);
            assert_eq!(got, expected.map_err(str::to_string), "{properties}");
        };
        check(json!({"SubnetId": "subnet-1", "RouteTableId": "rtb-1"}), Ok(()));
        check(json!({"RouteTableId": "rtb-1"}), Err("property SubnetId is required"));
        check(json!({"SubnetId": "subnet-1"}), Err("property RouteTableId is required"));
        check(json!({"SubnetId": 1, "RouteTableId": {}}), Err("property RouteTableId must be a string"));
    }

    #[test]
    fn both_properties_replace_the_association() {
        let mut list = AssociationType.create_only_properties();
        list.sort();
        assert_eq!(list, ["RouteTableId", "SubnetId"]);
    }
}
