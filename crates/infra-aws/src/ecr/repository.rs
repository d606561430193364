//! `AWS::ECR::Repository`: a container image repository with its tag mutability, scanning,
//! encryption (create-only), lifecycle policy, repository policy and tags. Ref is the
//! repository name; `Fn::GetAtt` gives `Arn` and `RepositoryUri`.
//!
//! Deleting a repository that still holds images is refused with the image count unless
//! `EmptyOnDelete` is true, as CloudFormation does; then the images go with it.

use super::{chosen_name, sdk_tags, unless_code, Ecr, NOT_EMPTY, NO_LIFECYCLE_POLICY, NO_REPOSITORY_POLICY};
use crate::kit::adopt::Created;
use crate::kit::errors::{absent_if_missing, gone_ok};
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{conform, omit_defaults, ObjectBuilder};
use crate::kit::schema::create_only;
use crate::kit::service::ResourceType;
use crate::kit::tags;
use crate::policy as document;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability, Repository,
};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};

const TYPE: &str = "AWS::ECR::Repository";
const NAME: &str = "RepositoryName";
const MUTABILITY: &str = "ImageTagMutability";
const SCANNING: &str = "ImageScanningConfiguration";
const ENCRYPTION: &str = "EncryptionConfiguration";
const LIFECYCLE: &str = "LifecyclePolicy";
const POLICY: &str = "RepositoryPolicyText";
const EMPTY_ON_DELETE: &str = "EmptyOnDelete";

/// ECR's defaults for what a template leaves out.
const DEFAULT_MUTABILITY: &str = "MUTABLE";
const DEFAULT_ENCRYPTION: &str = "AES256";

/// Every property this provider manages, with the keys it manages inside object properties.
/// Anything else of the schema is refused as unsupported, never silently ignored.
const SUPPORTED: &[(&str, &[&str])] = &[
    (NAME, &[]),
    (MUTABILITY, &[]),
    (SCANNING, &["ScanOnPush"]),
    (ENCRYPTION, &["EncryptionType", "KmsKey"]),
    (LIFECYCLE, &["LifecyclePolicyText", "RegistryId"]),
    (POLICY, &[]),
    (EMPTY_ON_DELETE, &[]),
    ("Tags", &[]),
];

fn refuse_unsupported(properties: &Value, operation: &str) -> Result<(), ProviderError> {
    let Some(map) = properties.as_object() else { return Ok(()) };
    let unsupported = |what: String| {
        ProviderError::new(
            ErrorKind::Unsupported,
            operation,
            format!("{TYPE}: {what} is not supported by infra's ECR provider; remove it from the template"),
        )
    };
    for (key, value) in map.iter().filter(|(_, v)| !v.is_null()) {
        let Some((_, inner)) = SUPPORTED.iter().find(|(k, _)| k == key) else {
            return Err(unsupported(format!("property {key}")));
        };
        if inner.is_empty() {
            continue;
        }
        if let Some(nested) = value.as_object() {
            if let Some(k) = nested.keys().find(|k| !inner.contains(&k.as_str())) {
                return Err(unsupported(format!("property {key}.{k}")));
            }
        }
    }
    Ok(())
}

/// A template's properties as the calls take them.
struct Spec {
    mutability: Option<String>,
    scan_on_push: Option<bool>,
    encryption: Option<(String, Option<String>)>,
    lifecycle: Option<Lifecycle>,
    policy: Option<String>,
    empty_on_delete: bool,
    tags: Vec<(String, String)>,
}

#[derive(Clone, PartialEq)]
struct Lifecycle {
    text: String,
    registry_id: Option<String>,
}

impl Lifecycle {
    /// The same policy: the text as a JSON document by meaning (formatting and key order
    /// aside), and the same registry.
    fn same(&self, other: &Lifecycle) -> bool {
        self.registry_id == other.registry_id && same_json(&self.text, &other.text)
    }
}

fn same_json(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn spec(properties: &Value, operation: &str) -> Result<Spec, ProviderError> {
    refuse_unsupported(properties, operation)?;
    let props = Props::root(properties, operation)?;
    let scan_on_push = props.object(SCANNING, |s| s.bool("ScanOnPush"))?.flatten();
    let encryption = props.object(ENCRYPTION, |e| Ok((e.required_string("EncryptionType")?, e.string("KmsKey")?)))?;
    let lifecycle = props.object(LIFECYCLE, |l| {
        Ok(Lifecycle { text: l.required_string("LifecyclePolicyText")?, registry_id: l.string("RegistryId")? })
    })?;
    Ok(Spec {
        mutability: props.string(MUTABILITY)?,
        scan_on_push,
        encryption,
        lifecycle,
        policy: props.document(POLICY)?,
        empty_on_delete: props.bool(EMPTY_ON_DELETE)?.unwrap_or(false),
        tags: props.tags()?,
    })
}

fn attributes(repo: &Repository) -> Attributes {
    Attributes::from([
        ("Arn".to_string(), json!(repo.repository_arn().unwrap_or_default())),
        ("RepositoryUri".to_string(), json!(repo.repository_uri().unwrap_or_default())),
    ])
}

async fn describe(ecr: &Ecr, name: &str) -> Result<Option<Repository>, ProviderError> {
    let c = &ecr.client;
    let out = absent_if_missing(
        ecr.call("DescribeRepositories", || c.describe_repositories().repository_names(name).send()).await,
    )?;
    Ok(out.and_then(|o| o.repositories.unwrap_or_default().into_iter().find(|r| r.repository_name() == Some(name))))
}

async fn described(ecr: &Ecr, name: &str, operation: &str) -> Result<Repository, ProviderError> {
    describe(ecr, name)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorKind::NotFound, operation, format!("repository {name} does not exist")))
}

async fn put_lifecycle(ecr: &Ecr, name: &str, lifecycle: &Lifecycle) -> Result<(), ProviderError> {
    let c = &ecr.client;
    ecr.call("PutLifecyclePolicy", || {
        c.put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(&lifecycle.text)
            .set_registry_id(lifecycle.registry_id.clone())
            .send()
    })
    .await
    .map(drop)
}

async fn set_policy(ecr: &Ecr, name: &str, policy: &str) -> Result<(), ProviderError> {
    let c = &ecr.client;
    ecr.call("SetRepositoryPolicy", || c.set_repository_policy().repository_name(name).policy_text(policy).send())
        .await
        .map(drop)
}

/// How many images the repository holds (each digest once, however many tags it has).
async fn image_count(ecr: &Ecr, name: &str) -> Result<usize, ProviderError> {
    let c = &ecr.client;
    let mut count = 0;
    let mut next: Option<String> = None;
    loop {
        let page = ecr
            .call("DescribeImages", || c.describe_images().repository_name(name).set_next_token(next.clone()).send())
            .await?;
        count += page.image_details().len();
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_string()),
            _ => return Ok(count),
        }
    }
}

/// Deletes the repository; with `force`, the images in it too. Already gone is success; a
/// repository that still holds images (and no `force`) is refused with their count.
async fn delete_repository(ecr: &Ecr, name: &str, force: bool) -> Result<(), ProviderError> {
    const OP: &str = "DeleteRepository";
    let c = &ecr.client;
    match gone_ok(ecr.call(OP, || c.delete_repository().repository_name(name).force(force).send()).await.map(drop)) {
        Err(e) if e.code.as_deref() == Some(NOT_EMPTY) => {
            let count = match image_count(ecr, name).await {
                Ok(n) => n,
                Err(_) => return Err(e),
            };
            let images = if count == 1 { "1 image".to_string() } else { format!("{count} images") };
            Err(ProviderError {
                message: format!(
                    "repository {name} holds {images}; set EmptyOnDelete: true to delete them with the \
                     repository, or delete them first"
                ),
                ..e
            })
        }
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// Read-back shaping: what ECR reports, in the template's shape

/// `{ScanOnPush}`: left out when the template has no scanning configuration and scanning is
/// off (ECR's default); `{}` when the template gave one without `ScanOnPush` and it is off.
fn scanning_value(scan_on_push: bool, template: Option<&Value>) -> Option<Value> {
    match template {
        None if !scan_on_push => None,
        Some(t) if t.get("ScanOnPush").is_none() && !scan_on_push => Some(json!({})),
        _ => Some(json!({"ScanOnPush": scan_on_push})),
    }
}

/// `{EncryptionType, KmsKey}`: left out when the template has none and it is ECR's default;
/// the key only when the template names one (else it is the key ECR chose), and as the
/// template wrote it when the live key ARN is that key.
fn encryption_value(kind: &str, kms_key: Option<&str>, template: Option<&Value>) -> Option<Value> {
    if template.is_none() && kind == DEFAULT_ENCRYPTION && kms_key.is_none() {
        return None;
    }
    let mut out = json!({"EncryptionType": kind});
    let given = template.and_then(|t| t.get("KmsKey")).and_then(Value::as_str);
    match (kms_key, given) {
        (Some(live), Some(given)) if live == given || live.ends_with(&format!("/{given}")) => {
            out["KmsKey"] = json!(given);
        }
        (Some(live), Some(_)) => out["KmsKey"] = json!(live),
        (Some(live), None) if template.is_none() => out["KmsKey"] = json!(live),
        _ => {}
    }
    Some(out)
}

/// `{LifecyclePolicyText, RegistryId}`: the template's text when it means the same (it is
/// JSON; formatting and key order aside), and the registry only when the template names one.
fn lifecycle_value(text: &str, registry_id: Option<&str>, template: Option<&Value>) -> Value {
    let given = template.and_then(|t| t.get("LifecyclePolicyText")).and_then(Value::as_str);
    let text = match given {
        Some(given) if same_json(given, text) => given,
        _ => text,
    };
    let mut out = json!({"LifecyclePolicyText": text});
    if template.and_then(|t| t.get("RegistryId")).is_some() {
        if let Some(registry_id) = registry_id {
            out["RegistryId"] = json!(registry_id);
        }
    }
    out
}

/// The repository policy in the template's representation: the template's own value when the
/// two mean the same as policy documents ([`document::equivalent`]), else the live document
/// (as text where the template gave text).
fn policy_value(text: &str, template: Option<&Value>) -> Value {
    let live = Value::String(text.to_string());
    match template {
        Some(t) if document::equivalent(t, &live) => t.clone(),
        Some(Value::String(_)) => live,
        _ => document::parse_text(text).unwrap_or(live),
    }
}

/// `AWS::ECR::Repository`.
pub(crate) struct RepositoryType;

#[async_trait::async_trait]
impl ResourceType<Ecr> for RepositoryType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn physical_name(&self, context: &ResourceContext, properties: &Value) -> Option<String> {
        Some(chosen_name(context, properties, NAME))
    }

    async fn create(&self, ecr: &Ecr, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "CreateRepository";
        let s = spec(&req.properties, OP)?;
        let name = req.physical_name.clone().unwrap_or_else(|| chosen_name(&req.context, &req.properties, NAME));
        let scanning = s.scan_on_push.map(|on| ImageScanningConfiguration::builder().scan_on_push(on).build());
        let encryption = match &s.encryption {
            Some((kind, key)) => Some(
                EncryptionConfiguration::builder()
                    .encryption_type(EncryptionType::from(kind.as_str()))
                    .set_kms_key(key.clone())
                    .build()
                    .map_err(|e| crate::kit::errors::build_error(OP, e))?,
            ),
            None => None,
        };
        let tags = sdk_tags(&s.tags, OP)?;
        let c = &ecr.client;
        let created = ecr
            .create_call(OP, || {
                c.create_repository()
                    .repository_name(&name)
                    .set_image_tag_mutability(s.mutability.as_deref().map(ImageTagMutability::from))
                    .set_image_scanning_configuration(scanning.clone())
                    .set_encryption_configuration(encryption.clone())
                    .set_tags((!tags.is_empty()).then(|| tags.clone()))
                    .send()
            })
            .await?;
        let repo = match created {
            Created::Made(out) => match out.repository {
                Some(repo) => repo,
                None => described(ecr, &name, OP).await?,
            },
            // An earlier attempt made the repository but its answer was lost: it is ours.
            Created::Adopt(e) => describe(ecr, &name).await?.ok_or(e)?,
        };
        let applied = Applied { physical_id: name.clone(), attributes: attributes(&repo) };

        let policies = async {
            if let Some(lifecycle) = &s.lifecycle {
                put_lifecycle(ecr, &name, lifecycle).await?;
            }
            if let Some(policy) = &s.policy {
                set_policy(ecr, &name, policy).await?;
            }
            Ok::<(), ProviderError>(())
        }
        .await;
        if let Err(e) = policies {
            // Leave nothing half-made behind; if even that fails, the repository is handed
            // back to be recorded (tainted), never forgotten. Never with force: images pushed
            // meanwhile are not ours to delete.
            return Err(match delete_repository(ecr, &name, false).await {
                Ok(()) => e,
                Err(cleanup) => {
                    let message = format!("{}; removing the half-made repository failed too: {cleanup}", e.message);
                    ProviderError { message, ..e }.with_partial(applied)
                }
            });
        }
        Ok(applied)
    }

    async fn read(&self, ecr: &Ecr, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let name = req.physical_id.as_str();
        let Some(repo) = describe(ecr, name).await? else { return Ok(None) };
        let c = &ecr.client;
        let arn = repo.repository_arn().unwrap_or_default();
        let (tag_list, lifecycle, policy) = tokio::join!(
            ecr.call("ListTagsForResource", || c.list_tags_for_resource().resource_arn(arn).send()),
            ecr.call("GetLifecyclePolicy", || c.get_lifecycle_policy().repository_name(name).send()),
            ecr.call("GetRepositoryPolicy", || c.get_repository_policy().repository_name(name).send()),
        );
        // The repository can vanish between calls: then it is gone, not an error.
        let (Some(tag_list), Some(lifecycle), Some(policy)) = (
            absent_if_missing(tag_list)?,
            absent_if_missing(unless_code(lifecycle, NO_LIFECYCLE_POLICY))?,
            absent_if_missing(unless_code(policy, NO_REPOSITORY_POLICY))?,
        ) else {
            return Ok(None);
        };
        let template = &req.properties;
        let live_tags = tag_list.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
        let encryption = repo.encryption_configuration().map(|e| (e.encryption_type().as_str(), e.kms_key()));
        let mut observed = ObjectBuilder::new()
            .string(NAME, template.get(NAME).and(repo.repository_name()))
            .string(MUTABILITY, repo.image_tag_mutability().map(ImageTagMutability::as_str))
            .put(
                SCANNING,
                scanning_value(
                    repo.image_scanning_configuration().is_some_and(ImageScanningConfiguration::scan_on_push),
                    template.get(SCANNING),
                ),
            )
            .put(ENCRYPTION, encryption.and_then(|(kind, key)| encryption_value(kind, key, template.get(ENCRYPTION))))
            .put(
                LIFECYCLE,
                lifecycle.and_then(|l| {
                    l.lifecycle_policy_text().map(|t| lifecycle_value(t, l.registry_id(), template.get(LIFECYCLE)))
                }),
            )
            .put(POLICY, policy.and_then(|p| p.policy_text().map(|t| policy_value(t, template.get(POLICY)))))
            // Write-only: what infra does on delete, not something ECR keeps.
            .put(EMPTY_ON_DELETE, template.get(EMPTY_ON_DELETE).cloned())
            .put("Tags", tags::observed(live_tags, template))
            .build();
        omit_defaults(&mut observed, template, &[(MUTABILITY, json!(DEFAULT_MUTABILITY))]);
        Ok(Some(Observed {
            physical_id: name.to_string(),
            properties: conform(observed, Some(template)),
            attributes: attributes(&repo),
            failure: None,
        }))
    }

    async fn update(&self, ecr: &Ecr, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "UpdateRepository";
        let name = req.physical_id.as_str();
        check_in_place(&req.old_properties, &req.new_properties, &create_only(TYPE), "repository", OP)?;
        let (old, new) = (spec(&req.old_properties, OP)?, spec(&req.new_properties, OP)?);
        let c = &ecr.client;

        let mutability = |s: &Spec| s.mutability.clone().unwrap_or_else(|| DEFAULT_MUTABILITY.to_string());
        if mutability(&old) != mutability(&new) {
            let value = ImageTagMutability::from(mutability(&new).as_str());
            ecr.call("PutImageTagMutability", || {
                c.put_image_tag_mutability().repository_name(name).image_tag_mutability(value.clone()).send()
            })
            .await?;
        }

        let scan_on_push = new.scan_on_push.unwrap_or(false);
        if old.scan_on_push.unwrap_or(false) != scan_on_push {
            let scanning = ImageScanningConfiguration::builder().scan_on_push(scan_on_push).build();
            ecr.call("PutImageScanningConfiguration", || {
                c.put_image_scanning_configuration()
                    .repository_name(name)
                    .image_scanning_configuration(scanning.clone())
                    .send()
            })
            .await?;
        }

        match (&old.lifecycle, &new.lifecycle) {
            (Some(o), Some(n)) if o.same(n) => {}
            (_, Some(n)) => put_lifecycle(ecr, name, n).await?,
            (Some(o), None) => {
                unless_code(
                    ecr.call("DeleteLifecyclePolicy", || {
                        c.delete_lifecycle_policy().repository_name(name).set_registry_id(o.registry_id.clone()).send()
                    })
                    .await,
                    NO_LIFECYCLE_POLICY,
                )?;
            }
            (None, None) => {}
        }

        match (&old.policy, &new.policy) {
            (Some(o), Some(n)) if document::equivalent(&json!(o), &json!(n)) => {}
            (_, Some(n)) => set_policy(ecr, name, n).await?,
            (Some(_), None) => {
                unless_code(
                    ecr.call("DeleteRepositoryPolicy", || c.delete_repository_policy().repository_name(name).send())
                        .await,
                    NO_REPOSITORY_POLICY,
                )?;
            }
            (None, None) => {}
        }

        let (untag, tag) = tags::changes(&old.tags, &new.tags);
        let repo = described(ecr, name, OP).await?;
        let arn = repo.repository_arn().unwrap_or_default();
        if !untag.is_empty() {
            ecr.call("UntagResource", || c.untag_resource().resource_arn(arn).set_tag_keys(Some(untag.clone())).send())
                .await?;
        }
        if !tag.is_empty() {
            let tags = sdk_tags(&tag, "TagResource")?;
            ecr.call("TagResource", || c.tag_resource().resource_arn(arn).set_tags(Some(tags.clone())).send()).await?;
        }
        Ok(Applied { physical_id: name.to_string(), attributes: attributes(&repo) })
    }

    async fn delete(&self, ecr: &Ecr, req: &DeleteRequest) -> Result<(), ProviderError> {
        // Properties that no longer read (recorded by an older version) delete without force:
        // the safe side, since images are never deleted unless the template said so.
        let force = spec(&req.properties, "DeleteRepository").is_ok_and(|s| s.empty_on_delete);
        delete_repository(ecr, &req.physical_id, force).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_properties_are_refused() {
        let check = |props: Value, refused: Option<&str>| {
            let got = refuse_unsupported(&props, "CreateRepository").err().map(|e| (e.kind, e.message));
            let expected = refused.map(|what| {
                (
                    ErrorKind::Unsupported,
                    format!("{TYPE}: {what} is not supported by infra's ECR provider; remove it from the template"),
                )
            });
            assert_eq!(got, expected, "{props}");
        };
        check(json!({"RepositoryName": "r", "ImageScanningConfiguration": {"ScanOnPush": true}}), None);
        check(json!({"ImageTagMutabilityExclusionFilters": null}), None);
        check(
            json!({"ImageTagMutabilityExclusionFilters": [{"ImageTagMutabilityExclusionFilterType": "WILDCARD"}]}),
            Some("property ImageTagMutabilityExclusionFilters"),
        );
        check(
            json!({"EncryptionConfiguration": {"EncryptionType": "KMS", "Other": 1}}),
            Some("property EncryptionConfiguration.Other"),
        );
        check(json!({"Unknown": 1}), Some("property Unknown"));
    }

    #[test]
    fn read_back_takes_the_template_shape() {
        assert_eq!(scanning_value(false, None), None);
        assert_eq!(scanning_value(false, Some(&json!({}))), Some(json!({})));
        assert_eq!(scanning_value(false, Some(&json!({"ScanOnPush": false}))), Some(json!({"ScanOnPush": false})));
        assert_eq!(scanning_value(true, None), Some(json!({"ScanOnPush": true})));

        assert_eq!(encryption_value("AES256", None, None), None);
        assert_eq!(
            encryption_value("AES256", None, Some(&json!({"EncryptionType": "AES256"}))),
            Some(json!({"EncryptionType": "AES256"}))
        );
        let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd";
        assert_eq!(
            encryption_value("KMS", Some(arn), Some(&json!({"EncryptionType": "KMS"}))),
            Some(json!({"EncryptionType": "KMS"}))
        );
        assert_eq!(
            encryption_value("KMS", Some(arn), Some(&json!({"EncryptionType": "KMS", "KmsKey": "1234abcd"}))),
            Some(json!({"EncryptionType": "KMS", "KmsKey": "1234abcd"}))
        );
        assert_eq!(
            encryption_value("KMS", Some(arn), Some(&json!({"EncryptionType": "KMS", "KmsKey": "other"}))),
            Some(json!({"EncryptionType": "KMS", "KmsKey": arn}))
        );
        assert_eq!(encryption_value("KMS", Some(arn), None), Some(json!({"EncryptionType": "KMS", "KmsKey": arn})));

        let text = r#"{"rules":[{"rulePriority":1}]}"#;
        let spaced = "{ \"rules\": [ { \"rulePriority\": 1 } ] }";
        assert_eq!(
            lifecycle_value(text, Some("111122223333"), Some(&json!({"LifecyclePolicyText": spaced}))),
            json!({"LifecyclePolicyText": spaced})
        );
        assert_eq!(
            lifecycle_value(
                text,
                Some("111122223333"),
                Some(&json!({"LifecyclePolicyText": spaced, "RegistryId": "111122223333"}))
            ),
            json!({"LifecyclePolicyText": spaced, "RegistryId": "111122223333"})
        );
        assert_eq!(
            lifecycle_value(text, None, Some(&json!({"LifecyclePolicyText": "{\"rules\": []}"}))),
            json!({"LifecyclePolicyText": text})
        );

        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"ecr:BatchGetImage"}]}"#;
        let object = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]}, "Action": ["ecr:BatchGetImage"]}});
        assert_eq!(policy_value(policy, Some(&object)), object);
        assert_eq!(policy_value(policy, Some(&json!("{}"))), json!(policy));
        assert_eq!(policy_value(policy, None), serde_json::from_str::<Value>(policy).unwrap());
    }
}
