//! `AWS::IAM::Role`: trust policy, inline policies, managed policy attachments, permissions
//! boundary, tags. Ref is the role name; `Fn::GetAtt` gives `Arn` and `RoleId`.

use super::{all_pages, live_document, set_diff, Iam, Props};
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
use aws_sdk_iam::types::Tag;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const TYPE: &str = "AWS::IAM::Role";

const DEFAULT_MAX_SESSION_DURATION: i32 = 3600;

pub fn physical_name(ctx: &ResourceContext, properties: &Value) -> String {
    match Props::root(properties, "CreateRole").and_then(|p| p.string("RoleName")) {
        Ok(Some(name)) => name,
        _ => naming::generate(ctx, naming::IAM_ROLE),
    }
}

/// An inline policy as the template gives it.
struct Inline {
    name: String,
    document: String,
}

fn inline_policies(props: &Props<'_>) -> Result<Vec<Inline>, ProviderError> {
    Ok(props
        .objects("Policies", |p| {
            Ok(Inline { name: p.required_string("PolicyName")?, document: p.required_document("PolicyDocument")? })
        })?
        .unwrap_or_default())
}

fn sdk_tags(pairs: &[(String, String)], operation: &str) -> Result<Vec<Tag>, ProviderError> {
    pairs
        .iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| ProviderError::new(ErrorKind::Invalid, operation, format!("invalid tag {k}: {e}")))
        })
        .collect()
}

fn attributes(arn: &str, role_id: &str) -> Attributes {
    BTreeMap::from([("Arn".to_string(), json!(arn)), ("RoleId".to_string(), json!(role_id))])
}

async fn get_role(iam: &Iam, name: &str) -> Result<Option<aws_sdk_iam::types::Role>, ProviderError> {
    let c = &iam.client;
    absent_if_missing(retry(&iam.retry, "GetRole", || c.get_role().role_name(name).send()).await)
        .map(|out| out.and_then(|o| o.role))
}

async fn inline_names(iam: &Iam, name: &str) -> Result<Vec<String>, ProviderError> {
    let c = &iam.client;
    all_pages(|marker| async move {
        let out = retry(&iam.retry, "ListRolePolicies", || {
            c.list_role_policies().role_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        Ok((out.policy_names, if out.is_truncated { out.marker } else { None }))
    })
    .await
}

async fn attached_arns(iam: &Iam, name: &str) -> Result<Vec<String>, ProviderError> {
    let c = &iam.client;
    all_pages(|marker| async move {
        let out = retry(&iam.retry, "ListAttachedRolePolicies", || {
            c.list_attached_role_policies().role_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        let arns = out.attached_policies.unwrap_or_default().into_iter().filter_map(|p| p.policy_arn).collect();
        Ok((arns, if out.is_truncated { out.marker } else { None }))
    })
    .await
}

async fn live_tags(iam: &Iam, name: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let c = &iam.client;
    all_pages(|marker| async move {
        let out =
            retry(&iam.retry, "ListRoleTags", || c.list_role_tags().role_name(name).set_marker(marker.clone()).send())
                .await?;
        let tags = out.tags.into_iter().map(|t| (t.key, t.value)).collect();
        Ok((tags, if out.is_truncated { out.marker } else { None }))
    })
    .await
}

/// Remove the role from instance profiles, detach and delete its policies, then delete it.
async fn delete_role(iam: &Iam, name: &str) -> Result<(), ProviderError> {
    let c = &iam.client;
    let r = &iam.retry;
    let profiles = all_pages(|marker| async move {
        let out = retry(r, "ListInstanceProfilesForRole", || {
            c.list_instance_profiles_for_role().role_name(name).set_marker(marker.clone()).send()
        })
        .await?;
        let names = out.instance_profiles.into_iter().map(|p| p.instance_profile_name).collect();
        Ok((names, if out.is_truncated { out.marker } else { None }))
    });
    // Independent lookups: ask them at once, the delete is a chain of round trips otherwise.
    let (profiles, attached, inline) = tokio::join!(profiles, attached_arns(iam, name), inline_names(iam, name));
    let (Some(profiles), Some(attached), Some(inline)) =
        (absent_if_missing(profiles)?, absent_if_missing(attached)?, absent_if_missing(inline)?)
    else {
        return Ok(());
    };
    for profile in &profiles {
        gone_ok(
            retry(r, "RemoveRoleFromInstanceProfile", || {
                c.remove_role_from_instance_profile().instance_profile_name(profile).role_name(name).send()
            })
            .await
            .map(drop),
        )?;
    }
    for arn in &attached {
        super::Principal::Role.detach(iam, name, arn).await?;
    }
    for policy in &inline {
        super::Principal::Role.delete_inline(iam, name, policy).await?;
    }
    gone_ok(retry(r, "DeleteRole", || c.delete_role().role_name(name).send()).await.map(drop))
}

/// `AWS::IAM::Role`.
pub(crate) struct RoleType;

#[async_trait::async_trait]
impl ResourceType<Iam> for RoleType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn physical_name(&self, context: &ResourceContext, properties: &Value) -> Option<String> {
        Some(physical_name(context, properties))
    }

    async fn create(&self, iam: &Iam, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "CreateRole";
        let props = Props::root(&req.properties, OP)?;
        let name = match &req.physical_name {
            Some(n) => n.clone(),
            None => physical_name(&req.context, &req.properties),
        };
        let trust = props.required_document("AssumeRolePolicyDocument")?;
        let path = props.string("Path")?;
        let description = props.string("Description")?;
        let max_session = props.int("MaxSessionDuration")?;
        let boundary = props.string("PermissionsBoundary")?;
        let tags = sdk_tags(&props.tags()?, OP)?;
        let policies = inline_policies(&props)?;
        let managed = props.string_list("ManagedPolicyArns")?;

        let c = &iam.client;
        let created = create_or_adopt(&iam.retry, OP, code_is("EntityAlreadyExists"), || {
            c.create_role()
                .role_name(&name)
                .assume_role_policy_document(&trust)
                .set_path(path.clone())
                .set_description(description.clone())
                .set_max_session_duration(max_session)
                .set_permissions_boundary(boundary.clone())
                .set_tags(if tags.is_empty() { None } else { Some(tags.clone()) })
                .send()
        })
        .await;
        let (arn, role_id) = match created? {
            Created::Made(out) => match out.role {
                Some(r) => (r.arn, r.role_id),
                None => return Err(ProviderError::new(ErrorKind::Other, OP, "the response has no role")),
            },
            // An earlier attempt created the role but its answer was lost: the role is ours.
            Created::Adopt(e) => {
                let role = get_role(iam, &name).await?.ok_or(e)?;
                (role.arn, role.role_id)
            }
        };

        let attached = async {
            for p in &policies {
                super::Principal::Role.put_inline(iam, &name, &p.name, &p.document).await?;
            }
            for a in &managed {
                super::Principal::Role.attach(iam, &name, a).await?;
            }
            Ok::<(), ProviderError>(())
        }
        .await;
        let applied = Applied { physical_id: name.clone(), attributes: attributes(&arn, &role_id) };
        if let Err(e) = attached {
            // Leave nothing half-made behind: a failed create removes the role again. If even
            // that fails, the role exists and is handed back to be recorded (tainted), never
            // forgotten.
            return Err(match delete_role(iam, &name).await {
                Ok(()) => e,
                Err(cleanup) => {
                    let message = format!("{}; removing the half-made role failed too: {cleanup}", e.message);
                    ProviderError { message, ..e }.with_partial(applied)
                }
            });
        }
        Ok(applied)
    }

    async fn read(&self, iam: &Iam, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let name = req.physical_id.as_str();
        let Some(role) = get_role(iam, name).await? else { return Ok(None) };
        let trust = match role.assume_role_policy_document() {
            Some(text) => Some(live_document("GetRole", text)?),
            None => None,
        };
        let (inline, managed, tags) =
            tokio::join!(inline_names(iam, name), attached_arns(iam, name), live_tags(iam, name));
        // The role can vanish between calls: then it is gone, not an error.
        let (Some(inline), Some(managed), Some(tags)) =
            (absent_if_missing(inline)?, absent_if_missing(managed)?, absent_if_missing(tags)?)
        else {
            return Ok(None);
        };
        let mut policies = Vec::new();
        for policy_name in inline {
            if let Some(text) = super::Principal::Role.get_inline(iam, name, &policy_name).await? {
                policies
                    .push(json!({"PolicyName": policy_name, "PolicyDocument": live_document("GetRolePolicy", &text)?}));
            }
        }
        let live = vec![
            LiveProperty::name("RoleName", role.role_name()),
            LiveProperty::new("Path", Compare::Scalar, Some(json!(role.path()))).with_default(json!("/")),
            LiveProperty::new(
                "Description",
                Compare::Scalar,
                role.description().filter(|d| !d.is_empty()).map(Value::from),
            )
            .with_default(json!("")),
            LiveProperty::new("AssumeRolePolicyDocument", Compare::Document, trust),
            LiveProperty::new(
                "MaxSessionDuration",
                Compare::Scalar,
                Some(json!(role.max_session_duration().unwrap_or(DEFAULT_MAX_SESSION_DURATION))),
            )
            .with_default(json!(DEFAULT_MAX_SESSION_DURATION)),
            LiveProperty::new(
                "PermissionsBoundary",
                Compare::Scalar,
                role.permissions_boundary().and_then(|b| b.permissions_boundary_arn()).map(Value::from),
            ),
            LiveProperty::new("Policies", Compare::InlinePolicies, Some(Value::Array(policies)))
                .with_default(json!([])),
            LiveProperty::new("ManagedPolicyArns", Compare::Set, Some(json!(managed))).with_default(json!([])),
            LiveProperty::new("Tags", Compare::Tags, Some(crate::kit::tags::to_value(tags))).with_default(json!([])),
        ];
        let properties = shape_like(&req.properties, live);
        Ok(Some(Observed {
            physical_id: role.role_name().to_string(),
            properties,
            attributes: attributes(role.arn(), role.role_id()),
            failure: None,
        }))
    }

    async fn update(&self, iam: &Iam, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "UpdateRole";
        let name = req.physical_id.as_str();
        let (old, new) = (Props::root(&req.old_properties, OP)?, Props::root(&req.new_properties, OP)?);
        check_in_place(&req.old_properties, &req.new_properties, &create_only(TYPE), "role", OP)?;
        let c = &iam.client;
        let r = &iam.retry;

        let old_trust = old.get("AssumeRolePolicyDocument").cloned().unwrap_or(Value::Null);
        let new_trust = new.required_document("AssumeRolePolicyDocument")?;
        if !document::equivalent(&old_trust, &Value::String(new_trust.clone())) {
            retry(r, "UpdateAssumeRolePolicy", || {
                c.update_assume_role_policy().role_name(name).policy_document(&new_trust).send()
            })
            .await?;
        }

        let (old_desc, new_desc) = (old.string("Description")?, new.string("Description")?);
        let (old_max, new_max) = (old.int("MaxSessionDuration")?, new.int("MaxSessionDuration")?);
        if old_desc != new_desc
            || old_max.unwrap_or(DEFAULT_MAX_SESSION_DURATION) != new_max.unwrap_or(DEFAULT_MAX_SESSION_DURATION)
        {
            let description = new_desc.unwrap_or_default();
            let max = new_max.unwrap_or(DEFAULT_MAX_SESSION_DURATION);
            retry(r, OP, || c.update_role().role_name(name).description(&description).max_session_duration(max).send())
                .await?;
        }

        match (old.string("PermissionsBoundary")?, new.string("PermissionsBoundary")?) {
            (o, Some(n)) if o.as_deref() != Some(n.as_str()) => {
                retry(r, "PutRolePermissionsBoundary", || {
                    c.put_role_permissions_boundary().role_name(name).permissions_boundary(&n).send()
                })
                .await?;
            }
            (Some(_), None) => {
                gone_ok(
                    retry(r, "DeleteRolePermissionsBoundary", || {
                        c.delete_role_permissions_boundary().role_name(name).send()
                    })
                    .await
                    .map(drop),
                )?;
            }
            _ => {}
        }

        let (old_pols, new_pols) = (inline_policies(&old)?, inline_policies(&new)?);
        for p in &new_pols {
            let unchanged = old_pols.iter().any(|o| {
                o.name == p.name
                    && document::equivalent(&Value::String(o.document.clone()), &Value::String(p.document.clone()))
            });
            if !unchanged {
                super::Principal::Role.put_inline(iam, name, &p.name, &p.document).await?;
            }
        }
        for o in old_pols.iter().filter(|o| !new_pols.iter().any(|p| p.name == o.name)) {
            super::Principal::Role.delete_inline(iam, name, &o.name).await?;
        }

        let (attach, detach) = set_diff(&old.string_list("ManagedPolicyArns")?, &new.string_list("ManagedPolicyArns")?);
        for arn in &attach {
            super::Principal::Role.attach(iam, name, arn).await?;
        }
        for arn in &detach {
            super::Principal::Role.detach(iam, name, arn).await?;
        }

        let (old_tags, new_tags) = (old.tags()?, new.tags()?);
        let untag: Vec<String> =
            old_tags.iter().filter(|(k, _)| !new_tags.iter().any(|(nk, _)| nk == k)).map(|(k, _)| k.clone()).collect();
        let tag: Vec<(String, String)> = new_tags.iter().filter(|t| !old_tags.contains(t)).cloned().collect();
        if !untag.is_empty() {
            retry(r, "UntagRole", || c.untag_role().role_name(name).set_tag_keys(Some(untag.clone())).send()).await?;
        }
        if !tag.is_empty() {
            let tags = sdk_tags(&tag, "TagRole")?;
            retry(r, "TagRole", || c.tag_role().role_name(name).set_tags(Some(tags.clone())).send()).await?;
        }

        let role = get_role(iam, name)
            .await?
            .ok_or_else(|| ProviderError::new(ErrorKind::NotFound, "GetRole", format!("role {name} does not exist")))?;
        Ok(Applied { physical_id: name.to_string(), attributes: attributes(role.arn(), role.role_id()) })
    }

    /// Detach what the applied properties name and delete the role; only when IAM refuses
    /// because something else is still attached (added outside infra, or an instance profile)
    /// list everything and clear it. The common case then costs what a hand-written delete does.
    async fn delete(&self, iam: &Iam, req: &DeleteRequest) -> Result<(), ProviderError> {
        let name = req.physical_id.as_str();
        let Ok(props) = Props::root(&req.properties, "DeleteRole") else {
            return delete_role(iam, name).await;
        };
        let (Ok(policies), Ok(managed)) = (inline_policies(&props), props.string_list("ManagedPolicyArns")) else {
            return delete_role(iam, name).await;
        };
        for p in &policies {
            super::Principal::Role.delete_inline(iam, name, &p.name).await?;
        }
        for arn in &managed {
            super::Principal::Role.detach(iam, name, arn).await?;
        }
        let c = &iam.client;
        match gone_ok(retry(&iam.retry, "DeleteRole", || c.delete_role().role_name(name).send()).await.map(drop)) {
            Err(e) if e.code.as_deref() == Some("DeleteConflict") => delete_role(iam, name).await,
            other => other,
        }
    }
}
