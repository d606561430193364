//! `AWS::EC2::RouteTable`: a VPC's route table. Ref is the route table ID (EC2 assigns it, so
//! the create carries the intent tag and the table can be found by it); GetAtt
//! `RouteTableId`.
//!
//! Only the tags update in place; another VPC needs a new table. A table that subnets are
//! still associated with cannot be deleted, and EC2's refusal says so.

use super::{check_template_tags, intent_filter, intent_tag_specification, live_tags, Ec2};
use crate::kit::errors::{absent_if_missing, gone_ok};
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{conform, ObjectBuilder};
use crate::kit::tags::observed as tags_value;
use aws_sdk_ec2::types::{ResourceType, RouteTable};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};
use serde_json::Value;

const TYPE: &str = "AWS::EC2::RouteTable";

/// A route table's properties, read and checked.
struct Spec {
    vpc_id: String,
    tags: Vec<(String, String)>,
}

impl Spec {
    fn read(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        let spec = Spec { vpc_id: props.required_string("VpcId")?, tags: props.tags()? };
        check_template_tags(&spec.tags, operation)?;
        Ok(spec)
    }
}

/// The table, or `None` when there is none by that ID. `fresh` for a table created moments
/// ago, which EC2 may not know everywhere yet.
async fn describe(p: &Ec2, id: &str, fresh: bool) -> Result<Option<RouteTable>, ProviderError> {
    let call = || p.client.describe_route_tables().route_table_ids(id).send();
    let out =
        if fresh { p.call_fresh("DescribeRouteTables", call).await } else { p.call("DescribeRouteTables", call).await };
    Ok(absent_if_missing(out)?
        .and_then(|out| out.route_tables.unwrap_or_default().into_iter().find(|t| t.route_table_id() == Some(id))))
}

/// Every route table carrying the intent tag `token`.
async fn by_token(p: &Ec2, token: &str) -> Result<Vec<RouteTable>, ProviderError> {
    let mut tables = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = p
            .call("DescribeRouteTables", || {
                p.client.describe_route_tables().filters(intent_filter(token)).set_next_token(next.clone()).send()
            })
            .await?;
        tables.extend(out.route_tables.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(tables),
        }
    }
}

fn table_id(table: &RouteTable, operation: &str) -> Result<String, ProviderError> {
    table.route_table_id().filter(|id| !id.is_empty()).map(str::to_string).ok_or_else(|| {
        ProviderError::new(ErrorKind::Other, operation, "the answer carried a route table without an ID")
    })
}

impl super::Tagged for RouteTable {
    fn id(&self) -> Option<&str> {
        self.route_table_id()
    }
}

/// What `Ref` and `Fn::GetAtt` read.
fn applied(id: &str) -> Applied {
    let mut attributes = Attributes::new();
    attributes.insert("RouteTableId".into(), Value::from(id));
    Applied { physical_id: id.to_string(), attributes }
}

/// The table as it is, in the template's shape: its VPC, and its tags without the intent tag
/// and `aws:` tags.
fn observe(table: RouteTable, template: &Value) -> Result<Observed, ProviderError> {
    let id = table_id(&table, "DescribeRouteTables")?;
    let properties = ObjectBuilder::new()
        .string("VpcId", table.vpc_id())
        .put("Tags", tags_value(live_tags(table.tags()), template))
        .build();
    let applied = applied(&id);
    Ok(Observed {
        physical_id: applied.physical_id,
        properties: conform(properties, Some(template)),
        attributes: applied.attributes,
        failure: None,
    })
}

/// `AWS::EC2::RouteTable`.
pub(crate) struct RouteTableType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for RouteTableType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateRouteTable";
        let spec = Spec::read(&req.properties, OPERATION)?;
        let tags = intent_tag_specification(ResourceType::RouteTable, &spec.tags, &req.token, OPERATION)?;
        let id = Box::pin(p.create_once(
            OPERATION,
            || async {
                let out = p
                    .client
                    .create_route_table()
                    .vpc_id(&spec.vpc_id)
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                out.route_table.and_then(|t| t.route_table_id).filter(|id| !id.is_empty()).ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, OPERATION, "the answer carried no route table ID")
                })
            },
            || async {
                match super::the_one(by_token(p, &req.token).await?, "DescribeRouteTables", "route table", &req.token)?
                    .as_ref()
                {
                    None => Ok(None),
                    Some(one) => Ok(Some(table_id(one, "DescribeRouteTables")?)),
                }
            },
        ))
        .await?;
        Ok(applied(&id))
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        describe(p, &req.physical_id, false).await?.map(|t| observe(t, &req.properties)).transpose()
    }
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        super::the_one(by_token(p, &req.token).await?, "DescribeRouteTables", "route table", &req.token)?
            .map(|t| observe(t, &req.properties))
            .transpose()
    }
    async fn update(&self, p: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateTags";
        let old = Props::root(&req.old_properties, OPERATION)?.tags()?;
        let new = Spec::read(&req.new_properties, OPERATION)?;
        check_in_place(
            &req.old_properties,
            &req.new_properties,
            &RouteTableType.create_only_properties(),
            "route table",
            OPERATION,
        )?;
        p.update_tags(&req.physical_id, &old, &new.tags).await?;
        Ok(applied(&req.physical_id))
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        let id = req.physical_id.as_str();
        gone_ok(p.call("DeleteRouteTable", || p.client.delete_route_table().route_table_id(id).send()).await.map(drop))
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
            let got = Spec::read(&properties, "CreateRouteTable").map(drop).map_err(|e| e.message);
            assert_eq!(got, expected.map_err(str::to_string), "{properties}");
        };
        check(json!({"VpcId": "vpc-1"}), Ok(()));
        check(json!({"VpcId": "vpc-1", "Tags": [{"Key": "a", "Value": "b"}]}), Ok(()));
        check(json!({}), Err("property VpcId is required"));
        check(json!({"VpcId": ["vpc-1"]}), Err("property VpcId must be a string"));
        check(json!({"VpcId": "vpc-1", "Tags": [{"Value": "b"}]}), Err("property Tags.0.Key is required"));
        check(
            json!({"VpcId": "vpc-1", "Tags": [{"Key": "infra:intent", "Value": "x"}]}),
            Err("property Tags.0.Key: the tag infra:intent is reserved for infra's own bookkeeping"),
        );
    }

    #[test]
    fn only_the_vpc_replaces_the_table() {
        assert_eq!(RouteTableType.create_only_properties(), vec!["VpcId".to_string()]);
    }
}
