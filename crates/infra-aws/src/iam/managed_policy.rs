//! `AWS::IAM::ManagedPolicy`: a customer managed policy and its attachments. Ref is the ARN;
//! `Fn::GetAtt` gives `PolicyArn`, `PolicyId`, `DefaultVersionId`, `AttachmentCount`,
//! `IsAttachable`, `PermissionsBoundaryUsageCount`, `CreateDate` and `UpdateDate`.
//!
//! A document change creates a new default version; IAM keeps at most five, so the oldest
//! non-default version is deleted first when the limit is reached.

use super::{all_pages, live_document, principals, set_diff, Iam, Principal, Props};
use crate::kit::adopt::{code_is, create_or_adopt, Created};
use crate::kit::errors::absent_if_missing;
use crate::kit::errors::gone_ok;
use crate::kit::props::check_in_place;
use crate::kit::readback::shape_like;
use crate::kit::readback::Compare;
use crate::kit::readback::LiveProperty;
use crate::kit::schema::create_only;
use crate::kit::service::ResourceType;
use crate::naming;
use crate::policy as document;
use crate::retry::retry;
use aws_smithy_types::date_time::Format;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const TYPE: &str = "AWS::IAM::ManagedPolicy";

/// IAM's limit on versions per managed policy.
pub const MAX_VERSIONS: usize = 5;

pub fn physical_name(ctx: &ResourceContext, properties: &Value) -> String {
    match Props::root(properties, "CreatePolicy").and_then(|p| p.string("ManagedPolicyName")) {
        Ok(Some(name)) => name,
        _ => naming::generate(ctx, naming::IAM_POLICY),
    }
}

fn attributes(p: &aws_sdk_iam::types::Policy) -> Attributes {
    let date = |d: Option<&aws_smithy_types::DateTime>| d.and_then(|d| d.fmt(Format::DateTime).ok()).map(Value::from);
    let mut a = BTreeMap::new();
    let arn = p.arn().unwrap_or_default();
    a.insert("PolicyArn".to_string(), json!(arn));
    a.insert("PolicyId".to_string(), json!(p.policy_id().unwrap_or_default()));
    a.insert("DefaultVersionId".to_string(), json!(p.default_version_id().unwrap_or_default()));
    a.insert("AttachmentCount".to_string(), json!(p.attachment_count().unwrap_or(0)));
    a.insert("PermissionsBoundaryUsageCount".to_string(), json!(p.permissions_boundary_usage_count().unwrap_or(0)));
    a.insert("IsAttachable".to_string(), json!(p.is_attachable()));
    if let Some(d) = date(p.create_date()) {
        a.insert("CreateDate".to_string(), d);
    }
    if let Some(d) = date(p.update_date()) {
        a.insert("UpdateDate".to_string(), d);
    }
    a
}

/// The policy's ARN: the physical ID, or, for a physical ID recorded as a bare name before
/// the create finished, the ARN IAM gives a policy of that name and path.
async fn arn_of(iam: &Iam, physical_id: &str, properties: &Value) -> Result<String, ProviderError> {
    if physical_id.starts_with("arn:") {
        return Ok(physical_id.to_string());
    }
    let path = Props::root(properties, "GetPolicy")?.string("Path")?.unwrap_or_else(|| "/".to_string());
    let account = iam.account_id().await?;
    Ok(format!("arn:{}:iam::{account}:policy{path}{physical_id}", iam.partition()))
}

async fn get_policy(iam: &Iam, arn: &str) -> Result<Option<aws_sdk_iam::types::Policy>, ProviderError> {
    let c = &iam.client;
    absent_if_missing(retry(&iam.retry, "GetPolicy", || c.get_policy().policy_arn(arn).send()).await)
        .map(|o| o.and_then(|o| o.policy))
}

/// Principals the policy is attached to, by property name.
async fn attachments(iam: &Iam, arn: &str) -> Result<BTreeMap<&'static str, Vec<String>>, ProviderError> {
    let c = &iam.client;
    let pages = all_pages(|marker| async move {
        let out = retry(&iam.retry, "ListEntitiesForPolicy", || {
            c.list_entities_for_policy().policy_arn(arn).set_marker(marker.clone()).send()
        })
        .await?;
        let mut items = Vec::new();
        items.extend(
            out.policy_roles.unwrap_or_default().into_iter().filter_map(|r| r.role_name).map(|n| (Principal::Role, n)),
        );
        items.extend(
            out.policy_users.unwrap_or_default().into_iter().filter_map(|u| u.user_name).map(|n| (Principal::User, n)),
        );
        items.extend(
            out.policy_groups
                .unwrap_or_default()
                .into_iter()
                .filter_map(|g| g.group_name)
                .map(|n| (Principal::Group, n)),
        );
        Ok((items, if out.is_truncated { out.marker } else { None }))
    })
    .await?;
    let mut by_kind: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for (kind, name) in pages {
        by_kind.entry(kind.property()).or_default().push(name);
    }
    Ok(by_kind)
}

async fn versions(iam: &Iam, arn: &str) -> Result<Vec<aws_sdk_iam::types::PolicyVersion>, ProviderError> {
    let c = &iam.client;
    all_pages(|marker| async move {
        let out = retry(&iam.retry, "ListPolicyVersions", || {
            c.list_policy_versions().policy_arn(arn).set_marker(marker.clone()).send()
        })
        .await?;
        Ok((out.versions.unwrap_or_default(), if out.is_truncated { out.marker } else { None }))
    })
    .await
}

/// Make `doc` the default version, pruning the oldest non-default version at the limit.
async fn new_default_version(iam: &Iam, arn: &str, doc: &str) -> Result<(), ProviderError> {
    let c = &iam.client;
    let mut existing = versions(iam, arn).await?;
    existing.retain(|v| !v.is_default_version);
    // Oldest first; version IDs (v1, v2, ...) break ties between equal dates.
    existing.sort_by_key(|v| {
        let n: u64 = v.version_id().and_then(|id| id.trim_start_matches('v').parse().ok()).unwrap_or(0);
        (v.create_date().map(|d| (d.secs(), d.subsec_nanos())), n)
    });
    let excess = (existing.len() + 1 + 1).saturating_sub(MAX_VERSIONS);
    for v in existing.iter().take(excess) {
        if let Some(id) = v.version_id() {
            gone_ok(
                retry(&iam.retry, "DeletePolicyVersion", || {
                    c.delete_policy_version().policy_arn(arn).version_id(id).send()
                })
                .await
                .map(drop),
            )?;
        }
    }
    retry(&iam.retry, "CreatePolicyVersion", || {
        c.create_policy_version().policy_arn(arn).policy_document(doc).set_as_default(true).send()
    })
    .await
    .map(drop)
}

/// Detach from every principal, delete the non-default versions, then the policy.
async fn delete_policy(iam: &Iam, arn: &str) -> Result<(), ProviderError> {
    let c = &iam.client;
    let Some(on) = absent_if_missing(attachments(iam, arn).await)? else { return Ok(()) };
    for kind in Principal::ALL {
        for principal in on.get(kind.property()).into_iter().flatten() {
            kind.detach(iam, principal, arn).await?;
        }
    }
    for v in absent_if_missing(versions(iam, arn).await)?.unwrap_or_default() {
        if let (false, Some(id)) = (v.is_default_version, v.version_id()) {
            gone_ok(
                retry(&iam.retry, "DeletePolicyVersion", || {
                    c.delete_policy_version().policy_arn(arn).version_id(id).send()
                })
                .await
                .map(drop),
            )?;
        }
    }
    gone_ok(retry(&iam.retry, "DeletePolicy", || c.delete_policy().policy_arn(arn).send()).await.map(drop))
}

/// `AWS::IAM::ManagedPolicy`.
pub(crate) struct ManagedPolicyType;

#[async_trait::async_trait]
impl ResourceType<Iam> for ManagedPolicyType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn physical_name(&self, context: &ResourceContext, properties: &Value) -> Option<String> {
        Some(physical_name(context, properties))
    }

    async fn create(&self, iam: &Iam, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "CreatePolicy";
        let props = Props::root(&req.properties, OP)?;
        let name = req.physical_name.clone().unwrap_or_else(|| physical_name(&req.context, &req.properties));
        let doc = props.required_document("PolicyDocument")?;
        let path = props.string("Path")?;
        let description = props.string("Description")?;
        let targets = principals(&props)?;
        let c = &iam.client;
        let created = create_or_adopt(&iam.retry, OP, code_is("EntityAlreadyExists"), || {
            c.create_policy()
                .policy_name(&name)
                .policy_document(&doc)
                .set_path(path.clone())
                .set_description(description.clone())
                .send()
        })
        .await;
        let policy = match created? {
            Created::Made(out) => {
                out.policy.ok_or_else(|| ProviderError::new(ErrorKind::Other, OP, "the response has no policy"))?
            }
            // An earlier attempt created it but its answer was lost: the policy is ours.
            Created::Adopt(e) => {
                let arn = arn_of(iam, &name, &req.properties).await?;
                get_policy(iam, &arn).await?.ok_or(e)?
            }
        };
        let arn = policy.arn().unwrap_or_default().to_string();
        for (kind, principal) in &targets {
            if let Err(e) = kind.attach(iam, principal, &arn).await {
                let _ = delete_policy(iam, &arn).await;
                return Err(e);
            }
        }
        let policy = get_policy(iam, &arn).await?.unwrap_or(policy);
        Ok(Applied { physical_id: arn, attributes: attributes(&policy) })
    }

    async fn read(&self, iam: &Iam, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let arn = arn_of(iam, &req.physical_id, &req.properties).await?;
        let Some(policy) = get_policy(iam, &arn).await? else { return Ok(None) };
        let c = &iam.client;
        let version_id = policy.default_version_id().unwrap_or("v1").to_string();
        let version = absent_if_missing(
            retry(&iam.retry, "GetPolicyVersion", || {
                c.get_policy_version().policy_arn(&arn).version_id(&version_id).send()
            })
            .await,
        )?;
        let Some(version) = version.and_then(|v| v.policy_version) else { return Ok(None) };
        let doc = match version.document() {
            Some(text) => Some(live_document("GetPolicyVersion", text)?),
            None => None,
        };
        let Some(mut on) = absent_if_missing(attachments(iam, &arn).await)? else { return Ok(None) };
        let mut live = vec![
            LiveProperty::name("ManagedPolicyName", policy.policy_name().unwrap_or_default()),
            LiveProperty::new("Path", Compare::Scalar, policy.path().map(Value::from)).with_default(json!("/")),
            LiveProperty::new(
                "Description",
                Compare::Scalar,
                policy.description().filter(|d| !d.is_empty()).map(Value::from),
            )
            .with_default(json!("")),
            LiveProperty::new("PolicyDocument", Compare::Document, doc),
        ];
        for kind in Principal::ALL {
            // A policy attached through a principal's own `ManagedPolicyArns` (a role's, say)
            // is that principal's to report: a policy that lists no principals of this kind
            // does not claim the attachments, or every such role would read as drift here.
            if req.properties.get(kind.property()).is_none() {
                continue;
            }
            let names = on.remove(kind.property()).map(|v| json!(v));
            live.push(LiveProperty::new(kind.property(), Compare::Set, names).with_default(json!([])));
        }
        let properties = shape_like(&req.properties, live);
        Ok(Some(Observed { physical_id: arn, properties, attributes: attributes(&policy), failure: None }))
    }

    async fn update(&self, iam: &Iam, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "CreatePolicyVersion";
        let (old, new) = (Props::root(&req.old_properties, OP)?, Props::root(&req.new_properties, OP)?);
        check_in_place(&req.old_properties, &req.new_properties, &create_only(TYPE), "policy", OP)?;
        let arn = arn_of(iam, &req.physical_id, &req.old_properties).await?;
        let doc = new.required_document("PolicyDocument")?;
        let same_doc = old.get("PolicyDocument").is_some_and(|d| document::equivalent(d, &Value::String(doc.clone())));
        if !same_doc {
            new_default_version(iam, &arn, &doc).await?;
        }
        let (old_targets, new_targets) = (principals(&old)?, principals(&new)?);
        for kind in Principal::ALL {
            let names = |t: &[(Principal, String)]| {
                t.iter().filter(|(k, _)| *k == kind).map(|(_, p)| p.clone()).collect::<Vec<_>>()
            };
            let (attach, detach) = set_diff(&names(&old_targets), &names(&new_targets));
            for principal in &attach {
                kind.attach(iam, principal, &arn).await?;
            }
            for principal in &detach {
                kind.detach(iam, principal, &arn).await?;
            }
        }
        let policy = get_policy(iam, &arn).await?.ok_or_else(|| {
            ProviderError::new(ErrorKind::NotFound, "GetPolicy", format!("policy {arn} does not exist"))
        })?;
        Ok(Applied { physical_id: arn, attributes: attributes(&policy) })
    }

    async fn delete(&self, iam: &Iam, req: &DeleteRequest) -> Result<(), ProviderError> {
        let arn = arn_of(iam, &req.physical_id, &req.properties).await?;
        delete_policy(iam, &arn).await
    }
}
