//! `AWS::IAM::Policy`: one inline policy put on roles, users and groups. Ref is a generated
//! ID (the policy itself has no ARN); `Fn::GetAtt` gives `Id`.

use super::{live_document, principals, Iam, Principal, Props};
use crate::kit::readback::shape_like;
use crate::kit::readback::Compare;
use crate::kit::readback::LiveProperty;
use crate::kit::service::ResourceType;
use crate::naming;
use crate::policy as document;
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const TYPE: &str = "AWS::IAM::Policy";

/// The ID is generated whatever the name, as CloudFormation does: one policy name can be
/// used by several policy resources on different principals.
pub fn physical_name(ctx: &ResourceContext) -> String {
    naming::generate(ctx, naming::IAM_POLICY)
}

fn attributes(id: &str) -> Attributes {
    BTreeMap::from([("Id".to_string(), json!(id))])
}

fn require_targets(targets: &[(Principal, String)], operation: &str) -> Result<(), ProviderError> {
    if targets.is_empty() {
        return Err(ProviderError::new(
            ErrorKind::Invalid,
            operation,
            "at least one of Roles, Users or Groups is required",
        ));
    }
    Ok(())
}

/// `AWS::IAM::Policy`.
pub(crate) struct PolicyType;

#[async_trait::async_trait]
impl ResourceType<Iam> for PolicyType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn physical_name(&self, context: &ResourceContext, _properties: &Value) -> Option<String> {
        Some(physical_name(context))
    }

    async fn create(&self, iam: &Iam, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "PutRolePolicy";
        let props = Props::root(&req.properties, OP)?;
        let name = props.required_string("PolicyName")?;
        let doc = props.required_document("PolicyDocument")?;
        let targets = principals(&props)?;
        require_targets(&targets, OP)?;
        let id = req.physical_name.clone().unwrap_or_else(|| physical_name(&req.context));
        for (i, (kind, principal)) in targets.iter().enumerate() {
            if let Err(e) = kind.put_inline(iam, principal, &name, &doc).await {
                // Undo the puts that worked, so a failed create leaves nothing behind.
                for (kind, principal) in targets.iter().take(i) {
                    let _ = kind.delete_inline(iam, principal, &name).await;
                }
                return Err(e);
            }
        }
        Ok(Applied { physical_id: id.clone(), attributes: attributes(&id) })
    }

    async fn read(&self, iam: &Iam, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let props = Props::root(&req.properties, "GetRolePolicy")?;
        let name = props.required_string("PolicyName")?;
        let mut docs = Vec::new();
        let mut on: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for (kind, principal) in principals(&props)? {
            if let Some(text) = kind.get_inline(iam, &principal, &name).await? {
                docs.push(live_document("GetRolePolicy", &text)?);
                on.entry(kind.property()).or_default().push(principal);
            }
        }
        // If any principal's copy was changed outside infra, that copy is the live document.
        let given = props.get("PolicyDocument");
        let drifted = docs.iter().find(|d| !given.is_some_and(|g| document::equivalent(g, d)));
        let Some(live_doc) = drifted.or(docs.first()).cloned() else { return Ok(None) };
        let mut live = vec![
            LiveProperty::new("PolicyName", Compare::Scalar, Some(json!(name))),
            LiveProperty::new("PolicyDocument", Compare::Document, Some(live_doc)),
        ];
        for kind in Principal::ALL {
            let names = on.remove(kind.property()).map(|v| json!(v));
            live.push(LiveProperty::new(kind.property(), Compare::Set, names).with_default(json!([])));
        }
        Ok(Some(Observed {
            physical_id: req.physical_id.clone(),
            properties: shape_like(&req.properties, live),
            attributes: attributes(&req.physical_id),
            failure: None,
        }))
    }

    async fn update(&self, iam: &Iam, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "PutRolePolicy";
        let (old, new) = (Props::root(&req.old_properties, OP)?, Props::root(&req.new_properties, OP)?);
        let (old_name, new_name) = (old.required_string("PolicyName")?, new.required_string("PolicyName")?);
        let doc = new.required_document("PolicyDocument")?;
        let (old_targets, new_targets) = (principals(&old)?, principals(&new)?);
        require_targets(&new_targets, OP)?;
        let same_doc = old.get("PolicyDocument").is_some_and(|d| document::equivalent(d, &Value::String(doc.clone())));

        for (kind, principal) in &new_targets {
            let had = old_targets.iter().any(|(k, p)| k == kind && p == principal);
            if !had || !same_doc || old_name != new_name {
                kind.put_inline(iam, principal, &new_name, &doc).await?;
            }
        }
        // The old copy goes wherever the policy no longer is under its old name.
        for target in &old_targets {
            if old_name != new_name || !new_targets.contains(target) {
                target.0.delete_inline(iam, &target.1, &old_name).await?;
            }
        }
        Ok(Applied { physical_id: req.physical_id.clone(), attributes: attributes(&req.physical_id) })
    }

    async fn delete(&self, iam: &Iam, req: &DeleteRequest) -> Result<(), ProviderError> {
        let props = Props::root(&req.properties, "DeleteRolePolicy")?;
        let name = props.required_string("PolicyName")?;
        for (kind, principal) in principals(&props)? {
            kind.delete_inline(iam, &principal, &name).await?;
        }
        Ok(())
    }
}
