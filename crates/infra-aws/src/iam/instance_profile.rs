//! `AWS::IAM::InstanceProfile`: a container for one role that EC2 instances assume. Ref is the
//! instance profile name; `Fn::GetAtt` gives `Arn`.

use super::{set_diff, Iam, Props};
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
use crate::retry::retry;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const TYPE: &str = "AWS::IAM::InstanceProfile";

pub fn physical_name(ctx: &ResourceContext, properties: &Value) -> String {
    match Props::root(properties, "CreateInstanceProfile").and_then(|p| p.string("InstanceProfileName")) {
        Ok(Some(name)) => name,
        _ => naming::generate(ctx, naming::IAM_INSTANCE_PROFILE),
    }
}

fn attributes(arn: &str) -> Attributes {
    BTreeMap::from([("Arn".to_string(), json!(arn))])
}

async fn get_profile(iam: &Iam, name: &str) -> Result<Option<aws_sdk_iam::types::InstanceProfile>, ProviderError> {
    let c = &iam.client;
    absent_if_missing(
        retry(&iam.retry, "GetInstanceProfile", || c.get_instance_profile().instance_profile_name(name).send()).await,
    )
    .map(|o| o.and_then(|o| o.instance_profile))
}

async fn add_role(iam: &Iam, name: &str, role: &str) -> Result<(), ProviderError> {
    let c = &iam.client;
    retry(&iam.retry_fresh, "AddRoleToInstanceProfile", || {
        c.add_role_to_instance_profile().instance_profile_name(name).role_name(role).send()
    })
    .await
    .map(drop)
}

async fn remove_role(iam: &Iam, name: &str, role: &str) -> Result<(), ProviderError> {
    let c = &iam.client;
    gone_ok(
        retry(&iam.retry, "RemoveRoleFromInstanceProfile", || {
            c.remove_role_from_instance_profile().instance_profile_name(name).role_name(role).send()
        })
        .await
        .map(drop),
    )
}

async fn delete_profile(iam: &Iam, name: &str) -> Result<(), ProviderError> {
    let Some(profile) = get_profile(iam, name).await? else { return Ok(()) };
    for role in profile.roles() {
        remove_role(iam, name, role.role_name()).await?;
    }
    let c = &iam.client;
    gone_ok(
        retry(&iam.retry, "DeleteInstanceProfile", || c.delete_instance_profile().instance_profile_name(name).send())
            .await
            .map(drop),
    )
}

/// `AWS::IAM::InstanceProfile`.
pub(crate) struct InstanceProfileType;

#[async_trait::async_trait]
impl ResourceType<Iam> for InstanceProfileType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn physical_name(&self, context: &ResourceContext, properties: &Value) -> Option<String> {
        Some(physical_name(context, properties))
    }

    async fn create(&self, iam: &Iam, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "CreateInstanceProfile";
        let props = Props::root(&req.properties, OP)?;
        let name = req.physical_name.clone().unwrap_or_else(|| physical_name(&req.context, &req.properties));
        let path = props.string("Path")?;
        let roles = props.string_list("Roles")?;
        if roles.len() > 1 {
            return Err(ProviderError::new(ErrorKind::Invalid, OP, "an instance profile can contain only one role"));
        }
        let c = &iam.client;
        let created = create_or_adopt(&iam.retry, OP, code_is("EntityAlreadyExists"), || {
            c.create_instance_profile().instance_profile_name(&name).set_path(path.clone()).send()
        })
        .await;
        let arn = match created? {
            Created::Made(out) => out.instance_profile.map(|p| p.arn).unwrap_or_default(),
            // An earlier attempt created it but its answer was lost: the profile is ours.
            Created::Adopt(e) => get_profile(iam, &name).await?.ok_or(e)?.arn,
        };
        for role in &roles {
            if let Err(e) = add_role(iam, &name, role).await {
                let _ = delete_profile(iam, &name).await;
                return Err(e);
            }
        }
        Ok(Applied { physical_id: name, attributes: attributes(&arn) })
    }

    async fn read(&self, iam: &Iam, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let Some(profile) = get_profile(iam, &req.physical_id).await? else { return Ok(None) };
        let roles: Vec<&str> = profile.roles().iter().map(|r| r.role_name()).collect();
        let live = vec![
            LiveProperty::name("InstanceProfileName", profile.instance_profile_name()),
            LiveProperty::new("Path", Compare::Scalar, Some(json!(profile.path()))).with_default(json!("/")),
            LiveProperty::new("Roles", Compare::Set, Some(json!(roles))).with_default(json!([])),
        ];
        let properties = shape_like(&req.properties, live);
        Ok(Some(Observed {
            physical_id: profile.instance_profile_name().to_string(),
            properties,
            attributes: attributes(profile.arn()),
            failure: None,
        }))
    }

    async fn update(&self, iam: &Iam, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "AddRoleToInstanceProfile";
        let (old, new) = (Props::root(&req.old_properties, OP)?, Props::root(&req.new_properties, OP)?);
        check_in_place(&req.old_properties, &req.new_properties, &create_only(TYPE), "instance profile", OP)?;
        let new_roles = new.string_list("Roles")?;
        if new_roles.len() > 1 {
            return Err(ProviderError::new(ErrorKind::Invalid, OP, "an instance profile can contain only one role"));
        }
        let name = req.physical_id.as_str();
        let (add, remove) = set_diff(&old.string_list("Roles")?, &new_roles);
        // Remove first: the profile holds one role at a time.
        for role in &remove {
            remove_role(iam, name, role).await?;
        }
        for role in &add {
            add_role(iam, name, role).await?;
        }
        let profile = get_profile(iam, name).await?.ok_or_else(|| {
            ProviderError::new(
                ErrorKind::NotFound,
                "GetInstanceProfile",
                format!("instance profile {name} does not exist"),
            )
        })?;
        Ok(Applied { physical_id: name.to_string(), attributes: attributes(profile.arn()) })
    }

    async fn delete(&self, iam: &Iam, req: &DeleteRequest) -> Result<(), ProviderError> {
        delete_profile(iam, &req.physical_id).await
    }
}
