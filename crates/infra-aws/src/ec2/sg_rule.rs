//! Security group rules: the one model that `AWS::EC2::SecurityGroup`'s inline rules and the
//! standalone `AWS::EC2::SecurityGroupIngress` and `AWS::EC2::SecurityGroupEgress` share.
//!
//! A rule is one protocol, one port range and one peer (an IPv4 or IPv6 range, a security
//! group, or a prefix list), plus a description. Rules are compared by their normalised
//! identity ([`RuleKey`]): protocol names and numbers mean the same (`6` is `tcp`, `all` is
//! `-1`), and ports mean nothing where the protocol has none. The description is not part of
//! the identity: changing it updates the rule in place.
//!
//! The standalone types: Ref is the security group rule ID (`sgr-…`) that the authorize call
//! returns. The authorize call carries the intent tag on the rule (`TagSpecifications` of
//! type `security-group-rule`), so a rule whose answer was lost is found by that tag among
//! its group's rules. Only the description updates in place. A group's own read-back and
//! reconciliation leave rules carrying an intent tag alone: they belong to a standalone type.

use super::{filter, Ec2};
use crate::kit::props::{check_in_place, Props};
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType as SdkResourceType, SecurityGroupRule, Tag,
    TagSpecification, UserIdGroupPair,
};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, ProviderError, ReadRequest,
    UpdateRequest, INTENT_TAG,
};
use serde_json::{json, Map, Value};

/// Which way a rule lets traffic through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    /// The template's name of the peer properties: (group, prefix list).
    fn peer_keys(self) -> (&'static str, &'static str) {
        match self {
            Direction::Ingress => ("SourceSecurityGroupId", "SourcePrefixListId"),
            Direction::Egress => ("DestinationSecurityGroupId", "DestinationPrefixListId"),
        }
    }

    fn is_egress(self) -> bool {
        self == Direction::Egress
    }
}

/// Whom a rule lets traffic come from (ingress) or go to (egress).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Peer {
    Ipv4(String),
    Ipv6(String),
    Group(String),
    PrefixList(String),
}

/// What makes a rule the rule it is; EC2 refuses two rules with the same key in a group.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RuleKey {
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (every protocol), or another protocol's number.
    pub(crate) protocol: String,
    pub(crate) from: i32,
    pub(crate) to: i32,
    pub(crate) peer: Peer,
}

/// A rule as the template gives it or as EC2 reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) key: RuleKey,
    /// `None` for none; an empty description is none.
    pub(crate) description: Option<String>,
    /// The account of a peer group, when the template names it.
    pub(crate) group_owner: Option<String>,
}

/// A protocol's one spelling: names for the protocols EC2 names, `-1` for all.
pub(crate) fn normal_protocol(protocol: &str) -> String {
    match protocol.trim().to_ascii_lowercase().as_str() {
        "-1" | "all" => "-1".into(),
        "6" | "tcp" => "tcp".into(),
        "17" | "udp" => "udp".into(),
        "1" | "icmp" => "icmp".into(),
        "58" | "icmpv6" => "icmpv6".into(),
        other => other.to_string(),
    }
}

/// Whether the protocol has ports (TCP, UDP) or types and codes (ICMP) that EC2 keeps.
fn has_ports(protocol: &str) -> bool {
    matches!(protocol, "tcp" | "udp" | "icmp" | "icmpv6")
}

fn key(protocol: &str, from: Option<i32>, to: Option<i32>, peer: Peer) -> RuleKey {
    let protocol = normal_protocol(protocol);
    let (from, to) = if has_ports(&protocol) { (from.unwrap_or(-1), to.unwrap_or(-1)) } else { (-1, -1) };
    let peer = match peer {
        Peer::Ipv6(c) => Peer::Ipv6(c.to_ascii_lowercase()),
        other => other,
    };
    RuleKey { protocol, from, to, peer }
}

fn description(d: Option<String>) -> Option<String> {
    d.filter(|d| !d.is_empty())
}

impl Rule {
    /// One rule from the template's properties (an entry of a group's list, or a standalone
    /// rule's own properties).
    pub(crate) fn parse(
        props: &Props<'_>,
        direction: Direction,
        path: &str,
        operation: &str,
    ) -> Result<Rule, ProviderError> {
        let invalid = |message: String| ProviderError::new(ErrorKind::Invalid, operation, message);
        let at = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
        let protocol = props.required_string("IpProtocol")?;
        let from = props.int("FromPort")?;
        let to = props.int("ToPort")?;
        let (group_key, prefix_key) = direction.peer_keys();
        if direction == Direction::Ingress && props.get("SourceSecurityGroupName").is_some() {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                operation,
                format!(
                    "property {} is not supported by infra's EC2 provider: name the group by \
                     SourceSecurityGroupId",
                    at("SourceSecurityGroupName")
                ),
            ));
        }
        let mut peers = Vec::new();
        if let Some(c) = props.string("CidrIp")? {
            peers.push(Peer::Ipv4(c));
        }
        if let Some(c) = props.string("CidrIpv6")? {
            peers.push(Peer::Ipv6(c));
        }
        if let Some(g) = props.string(group_key)? {
            peers.push(Peer::Group(g));
        }
        if let Some(p) = props.string(prefix_key)? {
            peers.push(Peer::PrefixList(p));
        }
        let group_owner = match direction {
            Direction::Ingress => props.string("SourceSecurityGroupOwnerId")?,
            Direction::Egress => None,
        };
        if group_owner.is_some() && !matches!(peers.as_slice(), [Peer::Group(_)]) {
            return Err(invalid(format!("property {} needs {}", at("SourceSecurityGroupOwnerId"), at(group_key))));
        }
        let peer = match peers.len() {
            1 => peers.pop().expect("one peer"),
            n => {
                let whom = format!("CidrIp, CidrIpv6, {group_key}, {prefix_key}");
                return Err(invalid(if path.is_empty() {
                    format!("exactly one of the properties {whom} must be set, not {n}")
                } else {
                    format!("property {path}: exactly one of {whom} must be set, not {n}")
                }));
            }
        };
        let normal = normal_protocol(&protocol);
        if matches!(normal.as_str(), "tcp" | "udp") {
            for (k, v) in [("FromPort", from), ("ToPort", to)] {
                if v.is_none() {
                    return Err(invalid(format!("property {} is required for protocol {protocol}", at(k))));
                }
            }
        }
        Ok(Rule {
            key: key(&protocol, from, to, peer),
            description: description(props.string("Description")?),
            group_owner,
        })
    }

    /// A rule as EC2 reports it.
    pub(crate) fn from_live(rule: &SecurityGroupRule) -> Option<Rule> {
        let peer = if let Some(c) = rule.cidr_ipv4() {
            Peer::Ipv4(c.to_string())
        } else if let Some(c) = rule.cidr_ipv6() {
            Peer::Ipv6(c.to_string())
        } else if let Some(g) = rule.referenced_group_info().and_then(|g| g.group_id()) {
            Peer::Group(g.to_string())
        } else {
            Peer::PrefixList(rule.prefix_list_id()?.to_string())
        };
        Some(Rule {
            key: key(rule.ip_protocol()?, rule.from_port(), rule.to_port(), peer),
            description: description(rule.description().map(str::to_string)),
            group_owner: None,
        })
    }

    /// The rule as the API's `IpPermission`, to authorize or revoke.
    pub(crate) fn permission(&self) -> IpPermission {
        self.ip_permission(self.description.clone())
    }

    /// The rule as the API's `IpPermission` for a description update, where an empty
    /// description removes the one the rule had.
    pub(crate) fn description_update(&self) -> IpPermission {
        self.ip_permission(Some(self.description.clone().unwrap_or_default()))
    }

    fn ip_permission(&self, d: Option<String>) -> IpPermission {
        let k = &self.key;
        let mut b = IpPermission::builder().ip_protocol(&k.protocol);
        if k.protocol != "-1" {
            b = b.from_port(k.from).to_port(k.to);
        }
        match &k.peer {
            Peer::Ipv4(c) => b.ip_ranges(IpRange::builder().cidr_ip(c).set_description(d).build()),
            Peer::Ipv6(c) => b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(d).build()),
            Peer::Group(g) => b.user_id_group_pairs(
                UserIdGroupPair::builder().group_id(g).set_user_id(self.group_owner.clone()).set_description(d).build(),
            ),
            Peer::PrefixList(p) => {
                b.prefix_list_ids(PrefixListId::builder().prefix_list_id(p).set_description(d).build())
            }
        }
        .build()
    }

    /// The rule in the template's shape, for a rule the template did not give.
    pub(crate) fn to_value(&self, direction: Direction) -> Value {
        let k = &self.key;
        let mut out = Map::new();
        out.insert("IpProtocol".into(), json!(k.protocol));
        if has_ports(&k.protocol) {
            out.insert("FromPort".into(), json!(k.from));
            out.insert("ToPort".into(), json!(k.to));
        }
        let (group_key, prefix_key) = direction.peer_keys();
        let (name, value) = match &k.peer {
            Peer::Ipv4(c) => ("CidrIp", c),
            Peer::Ipv6(c) => ("CidrIpv6", c),
            Peer::Group(g) => (group_key, g),
            Peer::PrefixList(p) => (prefix_key, p),
        };
        out.insert(name.into(), json!(value));
        if let Some(d) = &self.description {
            out.insert("Description".into(), json!(d));
        }
        Value::Object(out)
    }

    /// The template's own object for this rule with the live description: verbatim when the
    /// descriptions agree.
    pub(crate) fn shaped(template: &Value, live: &Rule) -> Value {
        let mut out = template.clone();
        let given = description(template.get("Description").and_then(crate::kit::props::scalar_text));
        if given != live.description {
            if let Value::Object(map) = &mut out {
                match &live.description {
                    Some(d) => map.insert("Description".into(), json!(d)),
                    None => map.remove("Description"),
                };
            }
        }
        out
    }
}

/// Whether a live rule carries an intent tag: a standalone type made it, not a group's list.
pub(crate) fn is_standalone(rule: &SecurityGroupRule) -> bool {
    rule.tags().iter().any(|t| t.key() == Some(INTENT_TAG))
}

/// The EC2 codes that mean the group or the rule is not there.
pub(crate) fn is_missing(err: &ProviderError) -> bool {
    err.kind == ErrorKind::NotFound
        || matches!(
            err.code.as_deref(),
            Some("InvalidGroup.NotFound" | "InvalidSecurityGroupRuleId.NotFound" | "InvalidPermission.NotFound")
        )
}

/// Every rule of `group_id`, as EC2 reports them; `None` when there is no such group.
pub(crate) async fn group_rules(
    p: &Ec2,
    group_id: &str,
    fresh: bool,
) -> Result<Option<Vec<SecurityGroupRule>>, ProviderError> {
    let mut rules = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let call = || {
            p.client
                .describe_security_group_rules()
                .filters(filter("group-id", group_id))
                .set_next_token(next.clone())
                .send()
        };
        let out = if fresh {
            p.call_fresh("DescribeSecurityGroupRules", call).await
        } else {
            p.call("DescribeSecurityGroupRules", call).await
        };
        let out = match out {
            Ok(out) => out,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        rules.extend(out.security_group_rules.unwrap_or_default());
        match out.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return Ok(Some(rules)),
        }
    }
}

/// Brings a group's rules of one direction from `live` to `desired`, rule by rule: one
/// authorize call for the added rules, one description update for the rules whose
/// description changed, and one revoke call (by rule ID) for the removed ones. Rules present
/// on both sides are not touched. Added rules are authorized before removed ones are revoked,
/// so no traffic both sides allow is cut off in between.
pub(crate) async fn reconcile(
    p: &Ec2,
    group_id: &str,
    direction: Direction,
    desired: &[Rule],
    live: &[(String, Rule)],
    fresh: bool,
) -> Result<(), ProviderError> {
    let added: Vec<IpPermission> =
        desired.iter().filter(|d| !live.iter().any(|(_, l)| l.key == d.key)).map(Rule::permission).collect();
    let described: Vec<IpPermission> = desired
        .iter()
        .filter(|d| live.iter().any(|(_, l)| l.key == d.key && l.description != d.description))
        .map(Rule::description_update)
        .collect();
    let removed: Vec<String> =
        live.iter().filter(|(_, l)| !desired.iter().any(|d| d.key == l.key)).map(|(id, _)| id.clone()).collect();
    let c = &p.client;
    macro_rules! run {
        ($operation:expr, $call:expr) => {
            if fresh {
                p.call_fresh($operation, $call).await.map(drop)
            } else {
                p.call($operation, $call).await.map(drop)
            }
        };
    }
    match direction {
        Direction::Ingress => {
            if !added.is_empty() {
                run!("AuthorizeSecurityGroupIngress", || c
                    .authorize_security_group_ingress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(added.clone()))
                    .send())?;
            }
            if !described.is_empty() {
                run!("UpdateSecurityGroupRuleDescriptionsIngress", || c
                    .update_security_group_rule_descriptions_ingress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(described.clone()))
                    .send())?;
            }
            if !removed.is_empty() {
                run!("RevokeSecurityGroupIngress", || c
                    .revoke_security_group_ingress()
                    .group_id(group_id)
                    .set_security_group_rule_ids(Some(removed.clone()))
                    .send())?;
            }
        }
        Direction::Egress => {
            if !added.is_empty() {
                run!("AuthorizeSecurityGroupEgress", || c
                    .authorize_security_group_egress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(added.clone()))
                    .send())?;
            }
            if !described.is_empty() {
                run!("UpdateSecurityGroupRuleDescriptionsEgress", || c
                    .update_security_group_rule_descriptions_egress()
                    .group_id(group_id)
                    .set_ip_permissions(Some(described.clone()))
                    .send())?;
            }
            if !removed.is_empty() {
                run!("RevokeSecurityGroupEgress", || c
                    .revoke_security_group_egress()
                    .group_id(group_id)
                    .set_security_group_rule_ids(Some(removed.clone()))
                    .send())?;
            }
        }
    }
    Ok(())
}

/// A standalone rule's properties, read and checked.
struct Spec {
    group_id: String,
    rule: Rule,
}

impl Spec {
    fn read(properties: &Value, direction: Direction, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        if direction == Direction::Ingress && props.get("GroupId").is_none() && props.get("GroupName").is_some() {
            return Err(ProviderError::new(
                ErrorKind::Unsupported,
                operation,
                "property GroupName is not supported by infra's EC2 provider: name the group by GroupId",
            ));
        }
        let group_id = props.required_string("GroupId")?;
        let rule = Rule::parse(&props, direction, "", operation)?;
        Ok(Spec { group_id, rule })
    }
}

/// The one rule by its ID, with its group; `None` when it (or its group) is gone.
async fn describe_rule(p: &Ec2, id: &str, fresh: bool) -> Result<Option<SecurityGroupRule>, ProviderError> {
    let call = || p.client.describe_security_group_rules().security_group_rule_ids(id).send();
    let out = if fresh {
        p.call_fresh("DescribeSecurityGroupRules", call).await
    } else {
        p.call("DescribeSecurityGroupRules", call).await
    };
    match out {
        Ok(out) => Ok(out
            .security_group_rules
            .unwrap_or_default()
            .into_iter()
            .find(|r| r.security_group_rule_id() == Some(id))),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The rules of `group_id` in `direction` that carry the intent tag `token`.
async fn by_token(
    p: &Ec2,
    group_id: &str,
    direction: Direction,
    token: &str,
) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    Ok(group_rules(p, group_id, false)
        .await?
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.is_egress() == Some(direction.is_egress()))
        .filter(|r| r.tags().iter().any(|t| t.key() == Some(INTENT_TAG) && t.value() == Some(token)))
        .collect())
}

fn rule_id(rule: &SecurityGroupRule, operation: &str) -> Result<String, ProviderError> {
    rule.security_group_rule_id()
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, operation, "the answer carried a rule without an ID"))
}

fn applied(id: &str) -> Applied {
    let mut attributes = Attributes::new();
    attributes.insert("Id".into(), Value::from(id));
    Applied { physical_id: id.to_string(), attributes }
}

fn names(direction: Direction) -> (&'static str, &'static str) {
    match direction {
        Direction::Ingress => ("AuthorizeSecurityGroupIngress", "security group ingress rule"),
        Direction::Egress => ("AuthorizeSecurityGroupEgress", "security group egress rule"),
    }
}

pub(crate) async fn create(p: &Ec2, req: &CreateRequest, direction: Direction) -> Result<Applied, ProviderError> {
    let (operation, what) = names(direction);
    let spec = Spec::read(&req.properties, direction, operation)?;
    let tags = TagSpecification::builder()
        .resource_type(SdkResourceType::SecurityGroupRule)
        .tags(Tag::builder().key(INTENT_TAG).value(&req.token).build())
        .build();
    let permission = spec.rule.permission();
    let group = spec.group_id.as_str();
    let id = Box::pin(p.create_once(
        operation,
        || async {
            let rules = match direction {
                Direction::Ingress => p
                    .client
                    .authorize_security_group_ingress()
                    .group_id(group)
                    .ip_permissions(permission.clone())
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(operation, &e))?
                    .security_group_rules
                    .unwrap_or_default(),
                Direction::Egress => p
                    .client
                    .authorize_security_group_egress()
                    .group_id(group)
                    .ip_permissions(permission.clone())
                    .tag_specifications(tags.clone())
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk(operation, &e))?
                    .security_group_rules
                    .unwrap_or_default(),
            };
            match rules.as_slice() {
                [one] => rule_id(one, operation),
                _ => Err(ProviderError::new(
                    ErrorKind::Other,
                    operation,
                    format!("the answer carried {} rules, not the one {what} authorized", rules.len()),
                )),
            }
        },
        || async {
            match by_token(p, group, direction, &req.token).await?.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(rule_id(one, "DescribeSecurityGroupRules")?)),
                several => {
                    let ids: Vec<String> =
                        several.iter().map(|r| r.security_group_rule_id().unwrap_or("?").to_string()).collect();
                    Err(super::ambiguous_token("DescribeSecurityGroupRules", what, &req.token, &ids))
                }
            }
        },
    ))
    .await?;
    Ok(applied(&id))
}

/// The rule as it is, in the template's shape.
fn observe(
    live: &SecurityGroupRule,
    direction: Direction,
    template: &Value,
) -> Result<Option<Observed>, ProviderError> {
    let id = rule_id(live, "DescribeSecurityGroupRules")?;
    let Some(rule) = Rule::from_live(live) else {
        return Ok(None);
    };
    let given = Props::root(template, "DescribeSecurityGroupRules")
        .and_then(|props| Rule::parse(&props, direction, "", "DescribeSecurityGroupRules"))
        .ok();
    let mut properties = match given {
        Some(g) if g.key == rule.key => Rule::shaped(template, &rule),
        _ => rule.to_value(direction),
    };
    if let Value::Object(map) = &mut properties {
        let group = live.group_id().map(Value::from).unwrap_or(Value::Null);
        map.insert("GroupId".into(), group);
    }
    Ok(Some(Observed {
        physical_id: id.clone(),
        properties: crate::kit::readback::conform(properties, Some(template)),
        attributes: applied(&id).attributes,
        failure: None,
    }))
}

pub(crate) async fn read(p: &Ec2, req: &ReadRequest, direction: Direction) -> Result<Option<Observed>, ProviderError> {
    match describe_rule(p, &req.physical_id, false).await? {
        Some(rule) if rule.is_egress() == Some(direction.is_egress()) => observe(&rule, direction, &req.properties),
        _ => Ok(None),
    }
}

pub(crate) async fn find(p: &Ec2, req: &FindRequest, direction: Direction) -> Result<Option<Observed>, ProviderError> {
    let (_, what) = names(direction);
    let Ok(spec) = Spec::read(&req.properties, direction, "DescribeSecurityGroupRules") else {
        return Ok(None);
    };
    let mut rules = by_token(p, &spec.group_id, direction, &req.token).await?;
    if rules.len() > 1 {
        let ids: Vec<String> = rules.iter().map(|r| r.security_group_rule_id().unwrap_or("?").to_string()).collect();
        return Err(super::ambiguous_token("DescribeSecurityGroupRules", what, &req.token, &ids));
    }
    match rules.pop() {
        Some(rule) => observe(&rule, direction, &req.properties),
        None => Ok(None),
    }
}

pub(crate) async fn update(
    p: &Ec2,
    req: &UpdateRequest,
    direction: Direction,
    create_only: &[String],
) -> Result<Applied, ProviderError> {
    let operation = match direction {
        Direction::Ingress => "UpdateSecurityGroupRuleDescriptionsIngress",
        Direction::Egress => "UpdateSecurityGroupRuleDescriptionsEgress",
    };
    let old = Spec::read(&req.old_properties, direction, operation)?;
    let new = Spec::read(&req.new_properties, direction, operation)?;
    check_in_place(&req.old_properties, &req.new_properties, create_only, names(direction).1, operation)?;
    if old.rule.key != new.rule.key {
        return Err(ProviderError::new(
            ErrorKind::Invalid,
            operation,
            format!("the rule cannot change without replacing the {}", names(direction).1),
        ));
    }
    if old.rule.description != new.rule.description {
        let live = vec![(req.physical_id.clone(), old.rule.clone())];
        reconcile(p, &new.group_id, direction, std::slice::from_ref(&new.rule), &live, false).await?;
    }
    Ok(applied(&req.physical_id))
}

pub(crate) async fn delete(p: &Ec2, req: &DeleteRequest, direction: Direction) -> Result<(), ProviderError> {
    let id = req.physical_id.as_str();
    // The rule's group comes from EC2 itself, so a delete needs nothing the state recorded.
    let Some(rule) = describe_rule(p, id, false).await? else {
        return Ok(());
    };
    let Some(group) = rule.group_id() else {
        return Ok(());
    };
    let result = match direction {
        Direction::Ingress => p
            .call("RevokeSecurityGroupIngress", || {
                p.client.revoke_security_group_ingress().group_id(group).security_group_rule_ids(id).send()
            })
            .await
            .map(drop),
        Direction::Egress => p
            .call("RevokeSecurityGroupEgress", || {
                p.client.revoke_security_group_egress().group_id(group).security_group_rule_ids(id).send()
            })
            .await
            .map(drop),
    };
    match result {
        Err(e) if is_missing(&e) => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value, direction: Direction) -> Result<Rule, String> {
        let props = Props::root(&v, "AuthorizeSecurityGroupIngress").map_err(|e| e.message)?;
        Rule::parse(&props, direction, "", "AuthorizeSecurityGroupIngress").map_err(|e| e.message)
    }

    #[test]
    fn protocols_ports_and_peers_are_normalised() {
        let a = parse(
            json!({"IpProtocol": "6", "FromPort": "22", "ToPort": 22, "CidrIp": "10.0.0.0/8"}),
            Direction::Ingress,
        );
        let b = parse(
            json!({"IpProtocol": "TCP", "FromPort": 22, "ToPort": 22, "CidrIp": "10.0.0.0/8", "Description": "x"}),
            Direction::Ingress,
        );
        assert_eq!(a.expect("a").key, b.expect("b").key);
        // Every protocol: ports mean nothing.
        let all = parse(
            json!({"IpProtocol": "all", "FromPort": 0, "ToPort": 65535, "CidrIpv6": "2001:DB8::/32"}),
            Direction::Ingress,
        )
        .expect("all");
        assert_eq!(
            all.key,
            RuleKey { protocol: "-1".into(), from: -1, to: -1, peer: Peer::Ipv6("2001:db8::/32".into()) }
        );
        let esp =
            parse(json!({"IpProtocol": "50", "FromPort": 1, "ToPort": 2, "CidrIp": "0.0.0.0/0"}), Direction::Egress)
                .expect("esp");
        assert_eq!((esp.key.protocol.as_str(), esp.key.from, esp.key.to), ("50", -1, -1));
        let icmp = parse(json!({"IpProtocol": "1", "CidrIp": "0.0.0.0/0"}), Direction::Ingress).expect("icmp");
        assert_eq!((icmp.key.protocol.as_str(), icmp.key.from, icmp.key.to), ("icmp", -1, -1));
        let group =
            parse(json!({"IpProtocol": "-1", "DestinationSecurityGroupId": "sg-1"}), Direction::Egress).expect("g");
        assert_eq!(group.key.peer, Peer::Group("sg-1".into()));
        let prefix =
            parse(json!({"IpProtocol": "-1", "SourcePrefixListId": "pl-1", "Description": ""}), Direction::Ingress)
                .expect("pl");
        assert_eq!((prefix.key.peer, prefix.description), (Peer::PrefixList("pl-1".into()), None));
    }

    #[test]
    fn rules_are_checked() {
        let err = |v: Value, d: Direction| parse(v, d).expect_err("invalid");
        assert_eq!(err(json!({"CidrIp": "0.0.0.0/0"}), Direction::Ingress), "property IpProtocol is required");
        assert_eq!(
            err(json!({"IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "SourceSecurityGroupId": "sg-1"}), Direction::Ingress),
            "exactly one of the properties CidrIp, CidrIpv6, SourceSecurityGroupId, SourcePrefixListId must be set, not 2"
        );
        assert_eq!(
            err(json!({"IpProtocol": "tcp", "FromPort": 1, "CidrIp": "0.0.0.0/0"}), Direction::Egress),
            "property ToPort is required for protocol tcp"
        );
        assert_eq!(
            err(
                json!({"IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "SourceSecurityGroupOwnerId": "1"}),
                Direction::Ingress
            ),
            "property SourceSecurityGroupOwnerId needs SourceSecurityGroupId"
        );
    }

    #[test]
    fn read_back_keeps_the_template_spelling() {
        let template =
            json!({"IpProtocol": "6", "FromPort": "80", "ToPort": 80, "CidrIp": "0.0.0.0/0", "Description": "old"});
        let live = parse(
            json!({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"}),
            Direction::Ingress,
        )
        .expect("live");
        let mut expected = template.clone();
        expected.as_object_mut().expect("object").remove("Description");
        assert_eq!(Rule::shaped(&template, &live), expected);
        assert_eq!(
            live.to_value(Direction::Egress),
            json!({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"})
        );
    }
}
