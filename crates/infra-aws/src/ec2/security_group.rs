//! `AWS::EC2::SecurityGroup`: a VPC security group with its inline rules. Ref is the group
//! ID (EC2 assigns it, so the create carries the intent tag and the group can be found by
//! it); GetAtt `GroupId`, `VpcId`.
//!
//! The inline rules (`SecurityGroupIngress`, `SecurityGroupEgress`) are reconciled rule by
//! rule against what EC2 reports ([`super::sg_rule::reconcile`]): only added rules are
//! authorized and only removed ones revoked. As in CloudFormation, a new group's allow-all
//! egress rule stays while the template lists no egress rule, goes when it lists one, and
//! comes back when the list is emptied again. The description, the name and the VPC need a
//! new group; the rules and the tags update in place.

use super::sg_rule::{group_rules, is_missing, is_standalone, reconcile, Direction, Peer, Rule};
use super::{check_template_tags, intent_filter, intent_tag_specification, live_tags, Ec2};
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::ObjectBuilder;
use crate::kit::tags::observed as tags_value;
use crate::naming::{Charset, NameRules};
use aws_sdk_ec2::types::{ResourceType, SecurityGroup, SecurityGroupRule};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest,
};
use serde_json::Value;

const TYPE: &str = "AWS::EC2::SecurityGroup";

/// Group names: up to 255 characters; generated ones keep to letters, digits and hyphens.
const GROUP_NAME: NameRules = NameRules { max_len: 255, charset: Charset::AlnumHyphen };

/// A group's properties, read and checked.
struct Spec {
    description: String,
    name: Option<String>,
    vpc_id: Option<String>,
    ingress: Vec<Rule>,
    egress: Vec<Rule>,
    tags: Vec<(String, String)>,
}

fn template_rules(
    props: &Props<'_>,
    key: &str,
    direction: Direction,
    operation: &str,
) -> Result<Vec<Rule>, ProviderError> {
    let mut index = 0;
    let rules = props
        .objects(key, |r| {
            let path = format!("{key}.{index}");
            index += 1;
            Rule::parse(&r, direction, &path, operation)
        })?
        .unwrap_or_default();
    // EC2 refuses a rule twice in one group; say which entries repeat.
    for (i, a) in rules.iter().enumerate() {
        if let Some(j) = rules[..i].iter().position(|b| b.key == a.key) {
            return Err(ProviderError::new(
                ErrorKind::Invalid,
                operation,
                format!("property {key}.{i} is the same rule as {key}.{j}"),
            ));
        }
    }
    Ok(rules)
}

impl Spec {
    fn read(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        let spec = Spec {
            description: props.required_string("GroupDescription")?,
            name: props.string("GroupName")?,
            vpc_id: props.string("VpcId")?,
            ingress: template_rules(&props, "SecurityGroupIngress", Direction::Ingress, operation)?,
            egress: template_rules(&props, "SecurityGroupEgress", Direction::Egress, operation)?,
            tags: props.tags()?,
        };
        check_template_tags(&spec.tags, operation)?;
        Ok(spec)
    }
}

/// The allow-all egress rule EC2 gives a new VPC group.
fn is_default_egress(rule: &Rule) -> bool {
    let all = matches!(&rule.key.peer, Peer::Ipv4(c) if c == "0.0.0.0/0")
        || matches!(&rule.key.peer, Peer::Ipv6(c) if c == "::/0");
    rule.key.protocol == "-1" && all
}

fn allow_all_egress() -> Rule {
    Rule {
        key: super::sg_rule::RuleKey { protocol: "-1".into(), from: -1, to: -1, peer: Peer::Ipv4("0.0.0.0/0".into()) },
        description: None,
        group_owner: None,
    }
}

/// The group's own rules of one direction, by rule ID: standalone rules are left out.
fn live_rules(rules: &[SecurityGroupRule], direction: Direction) -> Vec<(String, Rule)> {
    rules
        .iter()
        .filter(|r| r.is_egress() == Some(direction == Direction::Egress) && !is_standalone(r))
        .filter_map(|r| Some((r.security_group_rule_id()?.to_string(), Rule::from_live(r)?)))
        .collect()
}

/// The egress rules a group is to have: the template's, or, when it lists none, the
/// allow-all rules EC2 gave it (restored when they are gone).
fn desired_egress(spec: &Spec, live: &[(String, Rule)]) -> Vec<Rule> {
    if !spec.egress.is_empty() {
        return spec.egress.clone();
    }
    let defaults: Vec<Rule> = live.iter().map(|(_, r)| r).filter(|r| is_default_egress(r)).cloned().collect();
    if defaults.is_empty() {
        vec![allow_all_egress()]
    } else {
        defaults
    }
}

/// Brings the group's inline rules to the template's.
async fn apply_rules(p: &Ec2, id: &str, spec: &Spec, fresh: bool) -> Result<(), ProviderError> {
    let rules = group_rules(p, id, fresh).await?.ok_or_else(|| {
        ProviderError::new(ErrorKind::NotFound, "DescribeSecurityGroupRules", format!("security group {id} is gone"))
    })?;
    let ingress = live_rules(&rules, Direction::Ingress);
    let egress = live_rules(&rules, Direction::Egress);
    reconcile(p, id, Direction::Ingress, &spec.ingress, &ingress, fresh).await?;
    reconcile(p, id, Direction::Egress, &desired_egress(spec, &egress), &egress, fresh).await
}

/// The group, or `None` when there is none by that ID.
async fn describe(p: &Ec2, id: &str, fresh: bool) -> Result<Option<SecurityGroup>, ProviderError> {
    let call = || p.client.describe_security_groups().group_ids(id).send();
    let out = if fresh {
        p.call_fresh("DescribeSecurityGroups", call).await
    } else {
        p.call("DescribeSecurityGroups", call).await
    };
    match out {
        Ok(out) => Ok(out.security_groups.unwrap_or_default().into_iter().find(|g| g.group_id() == Some(id))),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every group carrying the intent tag `token`.
async fn by_token(p: &Ec2, token: &str) -> Result<Vec<SecurityGroup>, ProviderError> {
    let mut groups = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let out = p
            .call("DescribeSecurityGroups", || {
                p.client.describe_security_groups().filters(intent_filter(token)).set_next_token(next.clone()).send()
            })
            .await?;
        groups.extend(out.security_groups.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(groups),
        }
    }
}

fn group_id(group: &SecurityGroup, operation: &str) -> Result<String, ProviderError> {
    group.group_id().filter(|id| !id.is_empty()).map(str::to_string).ok_or_else(|| {
        ProviderError::new(ErrorKind::Other, operation, "the answer carried a security group without an ID")
    })
}

impl super::Tagged for SecurityGroup {
    fn id(&self) -> Option<&str> {
        self.group_id()
    }
}

/// What `Ref` and `Fn::GetAtt` read.
fn applied(group: &SecurityGroup) -> Applied {
    let id = group.group_id().unwrap_or_default().to_string();
    let mut attributes = Attributes::new();
    attributes.insert("GroupId".into(), Value::String(id.clone()));
    if let Some(vpc) = group.vpc_id() {
        attributes.insert("VpcId".into(), Value::from(vpc));
    }
    Applied { physical_id: id, attributes }
}

/// Live rules in the template's shape: each template entry whose rule is live as written
/// (with the live description), then the live rules the template does not list.
fn rules_value(
    live: &[(String, Rule)],
    template: &Value,
    key: &str,
    direction: Direction,
    template_rules: &[Rule],
) -> Vec<Value> {
    let entries: Vec<Value> = template.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut used = vec![false; live.len()];
    for (entry, rule) in entries.iter().zip(template_rules) {
        if let Some(i) = live.iter().position(|(_, l)| l.key == rule.key) {
            used[i] = true;
            out.push(Rule::shaped(entry, &live[i].1));
        }
    }
    let mut extra: Vec<&Rule> = live.iter().zip(&used).filter(|(_, u)| !**u).map(|((_, r), _)| r).collect();
    extra.sort_by(|a, b| a.key.cmp(&b.key));
    out.extend(extra.into_iter().map(|r| r.to_value(direction)));
    out
}

/// The group as it is, in the template's shape: the name and the VPC only where the template
/// gave them (EC2 names a group whose template did not, and puts it in the default VPC).
async fn observe(p: &Ec2, group: SecurityGroup, template: &Value) -> Result<Option<Observed>, ProviderError> {
    let id = group_id(&group, "DescribeSecurityGroups")?;
    let Some(rules) = group_rules(p, &id, false).await? else {
        return Ok(None);
    };
    // The template's rules as the reader takes them, to match live rules against; a
    // template that does not read (recorded from an older version) matches nothing.
    let props = Props::root(template, "DescribeSecurityGroups").ok();
    let given = |key: &str, direction: Direction| {
        props
            .as_ref()
            .and_then(|p| template_rules(p, key, direction, "DescribeSecurityGroups").ok())
            .filter(|r| r.len() == template.get(key).and_then(Value::as_array).map_or(0, Vec::len))
            .unwrap_or_default()
    };
    let (given_ingress, given_egress) =
        (given("SecurityGroupIngress", Direction::Ingress), given("SecurityGroupEgress", Direction::Egress));
    let ingress = live_rules(&rules, Direction::Ingress);
    let egress = live_rules(&rules, Direction::Egress);
    let ingress_value = rules_value(&ingress, template, "SecurityGroupIngress", Direction::Ingress, &given_ingress);
    let listed = |key: &str| template.get(key).filter(|v| !v.is_null()).is_some();
    let ingress_value =
        (listed("SecurityGroupIngress") || !ingress_value.is_empty()).then_some(Value::Array(ingress_value));
    // A template without egress rules has the allow-all ones: as long as only those are
    // live, the egress reads back as the template wrote it.
    let egress_value =
        if given_egress.is_empty() && !egress.is_empty() && egress.iter().all(|(_, r)| is_default_egress(r)) {
            template.get("SecurityGroupEgress").filter(|v| !v.is_null()).cloned()
        } else {
            Some(Value::Array(rules_value(&egress, template, "SecurityGroupEgress", Direction::Egress, &given_egress)))
        };
    let properties = ObjectBuilder::new()
        .string("GroupDescription", group.description())
        .string("GroupName", template.get("GroupName").and(group.group_name()))
        .string("VpcId", template.get("VpcId").and(group.vpc_id()))
        .put("SecurityGroupIngress", ingress_value)
        .put("SecurityGroupEgress", egress_value)
        .put("Tags", tags_value(live_tags(group.tags()), template))
        .build();
    let applied = applied(&group);
    Ok(Some(Observed {
        physical_id: applied.physical_id,
        properties: crate::kit::readback::conform(properties, Some(template)),
        attributes: applied.attributes,
        failure: None,
    }))
}

pub(crate) async fn update(p: &Ec2, req: &UpdateRequest, create_only: &[String]) -> Result<Applied, ProviderError> {
    const OPERATION: &str = "UpdateSecurityGroup";
    let old = Props::root(&req.old_properties, OPERATION)?.tags()?;
    let new = Spec::read(&req.new_properties, OPERATION)?;
    check_in_place(&req.old_properties, &req.new_properties, create_only, "security group", OPERATION)?;
    let id = req.physical_id.as_str();
    Box::pin(apply_rules(p, id, &new, false)).await?;
    p.update_tags(id, &old, &new.tags).await?;
    let group = describe(p, id, false).await?.ok_or_else(|| {
        ProviderError::new(ErrorKind::NotFound, "DescribeSecurityGroups", format!("security group {id} is gone"))
    })?;
    Ok(applied(&group))
}

/// `AWS::EC2::SecurityGroup`.
pub(crate) struct SecurityGroupType;

#[async_trait::async_trait]
impl crate::kit::service::ResourceType<Ec2> for SecurityGroupType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    async fn create(&self, p: &Ec2, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OPERATION: &str = "CreateSecurityGroup";
        let spec = Spec::read(&req.properties, OPERATION)?;
        let tags = intent_tag_specification(ResourceType::SecurityGroup, &spec.tags, &req.token, OPERATION)?;
        // Chosen once, so every attempt of this create asks for the same name.
        let name = spec.name.clone().unwrap_or_else(|| crate::naming::generate(&req.context, GROUP_NAME));
        let group_id = Box::pin(p.create_once(
            OPERATION,
            || async {
                let out = p
                    .client
                    .create_security_group()
                    .group_name(&name)
                    .description(&spec.description)
                    .set_vpc_id(spec.vpc_id.clone())
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(OPERATION, &e))?;
                out.group_id.filter(|id| !id.is_empty()).ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, OPERATION, "the answer carried no security group ID")
                })
            },
            || async {
                let found = super::the_one(
                    by_token(p, &req.token).await?,
                    "DescribeSecurityGroups",
                    "security group",
                    &req.token,
                )?;
                found.as_ref().map(|one| group_id(one, "DescribeSecurityGroups")).transpose()
            },
        ))
        .await?;
        // The group exists from here on: whatever fails now, the engine must learn its ID.
        let partial = |e: ProviderError| {
            let mut attributes = Attributes::new();
            attributes.insert("GroupId".into(), Value::String(group_id.clone()));
            e.with_partial(Applied { physical_id: group_id.clone(), attributes })
        };
        Box::pin(apply_rules(p, &group_id, &spec, true)).await.map_err(partial)?;
        let group = describe(p, &group_id, true).await.map_err(partial)?.ok_or_else(|| {
            partial(ProviderError::new(
                ErrorKind::NotFound,
                OPERATION,
                format!("security group {group_id} disappeared"),
            ))
        })?;
        Ok(applied(&group))
    }
    async fn read(&self, p: &Ec2, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        match describe(p, &req.physical_id, false).await? {
            Some(group) => observe(p, group, &req.properties).await,
            None => Ok(None),
        }
    }
    async fn find(&self, p: &Ec2, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        match super::the_one(by_token(p, &req.token).await?, "DescribeSecurityGroups", "security group", &req.token)? {
            Some(group) => observe(p, group, &req.properties).await,
            None => Ok(None),
        }
    }
    async fn update(&self, ec2: &Ec2, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        update(ec2, req, &self.create_only_properties()).await
    }
    async fn delete(&self, p: &Ec2, req: &DeleteRequest) -> Result<(), ProviderError> {
        let id = req.physical_id.as_str();
        match p.call("DeleteSecurityGroup", || p.client.delete_security_group().group_id(id).send()).await {
            Ok(_) => Ok(()),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
