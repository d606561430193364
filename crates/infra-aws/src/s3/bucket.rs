//! `AWS::S3::Bucket`: the bucket, its sub-configurations ([`super::configuration`]) and tags.
//! Ref is the bucket name; `Fn::GetAtt` gives `Arn`, `DomainName`, `RegionalDomainName`,
//! `DualStackDomainName` and `WebsiteURL`, as CloudFormation does.
//!
//! S3 deletes only empty buckets. A delete that meets objects fails, naming how many, unless
//! the resource opts in with `Metadata: {infra: {empty_on_delete: true}}`: then every object
//! version and delete marker goes first, in `DeleteObjects` batches, with progress reported to
//! the engine. A bucket is never emptied without that opt-in.

use super::configuration::{self, Part, PROVIDER};
use super::{owned_elsewhere, unset, S3};
use crate::kit::adopt::{code_is, create_or_adopt, Created};
use crate::kit::props::{check_in_place, Props};
use crate::kit::readback::{conform, shape_like, Compare, LiveProperty};
use crate::kit::schema::create_only;
use crate::kit::service::ResourceType;
use crate::naming::{self, Charset, NameRules};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, Tag, Tagging};
use infra_core::provider::events::{report, ProviderEvent};
use infra_core::provider::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, Observed, ProviderError, ReadRequest,
    ResourceContext, UpdateRequest,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const TYPE: &str = "AWS::S3::Bucket";

/// S3's bucket names: 3 to 63 lowercase letters, digits and hyphens (infra never generates
/// dots), starting and ending with a letter or digit. Generated names are fitted as
/// [`Charset::AlnumHyphen`] and then lowercased.
const BUCKET_NAME: NameRules = NameRules { max_len: 63, charset: Charset::AlnumHyphen };

/// How many times a delete empties the bucket and tries again while something keeps writing.
const EMPTY_ROUNDS: usize = 3;

/// The bucket name: `BucketName`, or a CloudFormation-style generated one.
pub fn physical_name(ctx: &ResourceContext, properties: &Value) -> String {
    match Props::root(properties, "CreateBucket").and_then(|p| p.string("BucketName")) {
        Ok(Some(name)) => name,
        _ => naming::generate(ctx, BUCKET_NAME).to_ascii_lowercase(),
    }
}

/// Every property infra implements; the schema's others are refused by name.
fn supported() -> Vec<&'static str> {
    let mut keys = vec!["BucketName", "Tags"];
    keys.extend(Part::ALL.iter().map(|p| p.property()));
    keys
}

fn tags(props: &Props<'_>) -> Result<Vec<(String, String)>, ProviderError> {
    props.tags()
}

fn tagging(pairs: &[(String, String)]) -> Result<Tagging, ProviderError> {
    let tags = pairs
        .iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| {
                ProviderError::new(ErrorKind::Invalid, "PutBucketTagging", format!("invalid tag {k}: {e}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .map_err(|e| ProviderError::new(ErrorKind::Invalid, "PutBucketTagging", e.to_string()))
}

/// Everything a create or update sends, read and checked before any call.
struct Spec {
    parts: Vec<(Part, Option<configuration::Input>)>,
    tags: Vec<(String, String)>,
}

impl Spec {
    fn read(properties: &Value, bucket: &str, operation: &str) -> Result<Spec, ProviderError> {
        let props = Props::root(properties, operation)?;
        props.only(&supported(), PROVIDER)?;
        let parts = Part::ALL.iter().map(|&p| Ok((p, p.parse(&props, bucket)?))).collect::<Result<Vec<_>, _>>()?;
        Ok(Spec { parts, tags: tags(&props)? })
    }
}

/// The domain S3's host names end in for the partition of `region`.
fn domain_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// Regions whose website endpoints are `s3-website-REGION` rather than `s3-website.REGION`.
const DASH_WEBSITE_REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "eu-west-1",
    "sa-east-1",
    "us-gov-west-1",
];

pub(crate) fn attributes(s3: &S3, name: &str) -> Attributes {
    let region = s3.region.as_str();
    let suffix = domain_suffix(region);
    let website_separator = if DASH_WEBSITE_REGIONS.contains(&region) { '-' } else { '.' };
    BTreeMap::from([
        ("Arn".to_string(), json!(format!("arn:{}:s3:::{name}", s3.partition()))),
        ("DomainName".to_string(), json!(format!("{name}.s3.{suffix}"))),
        ("RegionalDomainName".to_string(), json!(format!("{name}.s3.{region}.{suffix}"))),
        ("DualStackDomainName".to_string(), json!(format!("{name}.s3.dualstack.{region}.{suffix}"))),
        ("WebsiteURL".to_string(), json!(format!("http://{name}.s3-website{website_separator}{region}.{suffix}"))),
    ])
}

/// Applies a spec's sub-configurations and tags to a bucket that has none yet.
async fn configure(s3: &S3, name: &str, spec: Spec) -> Result<(), ProviderError> {
    for (_, input) in spec.parts {
        if let Some(input) = input {
            configuration::put(s3, name, input).await?;
        }
    }
    if !spec.tags.is_empty() {
        put_tags(s3, name, &spec.tags).await?;
    }
    Ok(())
}

async fn put_tags(s3: &S3, name: &str, pairs: &[(String, String)]) -> Result<(), ProviderError> {
    let c = &s3.client;
    let tagging = tagging(pairs)?;
    s3.call("PutBucketTagging", || c.put_bucket_tagging().bucket(name).tagging(tagging.clone()).send()).await.map(drop)
}

async fn live_tags(s3: &S3, name: &str) -> Result<Vec<(String, String)>, ProviderError> {
    let c = &s3.client;
    let out = unset(s3.call("GetBucketTagging", || c.get_bucket_tagging().bucket(name).send()).await)?;
    Ok(out
        .map(|o| o.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
        .unwrap_or_default())
}

/// Whether the resource opted in to having its objects deleted with it.
pub fn empty_on_delete(metadata: &Value) -> Result<bool, ProviderError> {
    let Some(value) = metadata.get("infra").and_then(|i| i.get("empty_on_delete")) else {
        return Ok(false);
    };
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(ProviderError::new(
            ErrorKind::Invalid,
            "read Metadata",
            format!("Metadata infra.empty_on_delete must be true or false, not {other}"),
        )),
    }
}

/// One page of the bucket's object versions and delete markers, and whether there are more.
async fn versions_page(s3: &S3, name: &str) -> Result<(Vec<ObjectIdentifier>, bool), ProviderError> {
    let c = &s3.client;
    let page_size = s3.settings.page_size.clamp(1, 1000);
    let out =
        s3.call("ListObjectVersions", || c.list_object_versions().bucket(name).max_keys(page_size).send()).await?;
    let versions = out.versions().iter().map(|v| (v.key(), v.version_id()));
    let markers = out.delete_markers().iter().map(|m| (m.key(), m.version_id()));
    let ids = versions
        .chain(markers)
        .filter_map(|(key, version)| {
            ObjectIdentifier::builder()
                .set_key(key.map(str::to_string))
                .set_version_id(version.map(str::to_string))
                .build()
                .ok()
        })
        .collect();
    Ok((ids, out.is_truncated().unwrap_or(false)))
}

/// The refusal to delete a bucket that holds objects, with the ways out.
fn not_empty(name: &str, count: usize, more: bool) -> ProviderError {
    let what = match (count, more) {
        (1, false) => "1 object".to_string(),
        (n, false) => format!("{n} objects"),
        (n, true) => format!("at least {n} objects"),
    };
    ProviderError::new(
        ErrorKind::Conflict,
        "DeleteBucket",
        format!(
            "bucket {name} still holds {what} (object versions and delete markers counted), and S3 deletes only \
             empty buckets. Empty the bucket and delete again; or set `Metadata: {{infra: {{empty_on_delete: \
             true}}}}` on the resource to have infra delete every object version with the bucket; or set \
             `DeletionPolicy: Retain` to keep the bucket and its objects and drop it from state"
        ),
    )
    .with_code("BucketNotEmpty")
}

/// Deletes every object version and delete marker, a page at a time, reporting progress.
async fn empty(s3: &S3, name: &str) -> Result<usize, ProviderError> {
    const OP: &str = "DeleteObjects";
    let c = &s3.client;
    let start = std::time::Instant::now();
    let mut deleted = 0usize;
    let mut last_page: Vec<ObjectIdentifier> = Vec::new();
    loop {
        let (ids, _) = versions_page(s3, name).await?;
        if ids.is_empty() {
            return Ok(deleted);
        }
        // A page listed again after its delete answered without errors: S3 kept the objects
        // (a retention setting, a bucket that lies), and asking again would never end.
        if ids == last_page {
            return Err(ProviderError::new(
                ErrorKind::Conflict,
                OP,
                format!(
                    "emptying bucket {name}: S3 accepted the deletion of {} object versions but still lists them; \
                     check the bucket's object lock and retention settings",
                    ids.len()
                ),
            ));
        }
        last_page.clone_from(&ids);
        let batch = ids.len();
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| ProviderError::new(ErrorKind::Invalid, OP, e.to_string()))?;
        let out = s3.call(OP, || c.delete_objects().bucket(name).delete(delete.clone()).send()).await?;
        if let Some(first) = out.errors().first() {
            return Err(ProviderError::new(
                ErrorKind::Conflict,
                OP,
                format!(
                    "emptying bucket {name}: {} of {batch} object versions could not be deleted, the first {} \
                     (version {}): {}: {}",
                    out.errors().len(),
                    first.key().unwrap_or("?"),
                    first.version_id().unwrap_or("null"),
                    first.code().unwrap_or("error"),
                    first.message().unwrap_or("no message")
                ),
            ));
        }
        deleted += batch;
        report(ProviderEvent::Waiting {
            operation: OP.to_string(),
            subject: format!("bucket {name} to be emptied"),
            status: format!("{deleted} object versions and delete markers deleted"),
            target: "empty".to_string(),
            elapsed: start.elapsed(),
        });
    }
}

/// `AWS::S3::Bucket`.
pub(crate) struct BucketType;

#[async_trait::async_trait]
impl ResourceType<S3> for BucketType {
    fn type_name(&self) -> &'static str {
        TYPE
    }
    fn physical_name(&self, context: &ResourceContext, properties: &Value) -> Option<String> {
        Some(physical_name(context, properties))
    }

    async fn create(&self, s3: &S3, req: &CreateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "CreateBucket";
        let name = match &req.physical_name {
            Some(n) => n.clone(),
            None => physical_name(&req.context, &req.properties),
        };
        let spec = Spec::read(&req.properties, &name, OP)?;
        let ours = || {
            ProviderError::new(
                ErrorKind::Conflict,
                OP,
                format!(
                    "bucket {name} already exists in this account, and infra did not create it; choose another \
                     BucketName, or delete the bucket first"
                ),
            )
            .with_code("BucketAlreadyOwnedByYou")
        };
        // In us-east-1 S3 answers a create of a bucket the account already owns with success,
        // so only asking first tells an existing bucket from a new one.
        let in_us_east_1 = s3.region == "us-east-1";
        if in_us_east_1 && s3.bucket_exists(&name).await? {
            return Err(if s3.owns_bucket(&name).await? { ours() } else { owned_elsewhere(OP, &name) });
        }
        let configuration = (!in_us_east_1).then(|| {
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(s3.region.as_str()))
                .build()
        });
        let c = &s3.client;
        let created = create_or_adopt(&s3.settings.retry, OP, code_is("BucketAlreadyOwnedByYou"), || {
            c.create_bucket().bucket(&name).set_create_bucket_configuration(configuration.clone()).send()
        })
        .await;
        match created {
            Ok(Created::Made(_)) => {}
            // An earlier attempt made the bucket but its answer was lost: the bucket is ours.
            Ok(Created::Adopt(e)) => {
                if !s3.bucket_exists(&name).await? {
                    return Err(e);
                }
            }
            Err(e) if e.code.as_deref() == Some("BucketAlreadyExists") => return Err(owned_elsewhere(OP, &name)),
            Err(e) if e.code.as_deref() == Some("BucketAlreadyOwnedByYou") => return Err(ours()),
            Err(e) => return Err(e),
        }
        let applied = Applied { physical_id: name.clone(), attributes: attributes(s3, &name) };
        // The bucket exists from here on: a failure is recorded with it (tainted), never lost.
        configure(s3, &name, spec).await.map_err(|e| e.with_partial(applied.clone()))?;
        Ok(applied)
    }

    async fn read(&self, s3: &S3, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        let name = req.physical_id.as_str();
        if !s3.bucket_exists(name).await? {
            return Ok(None);
        }
        let template = |p: Part| req.properties.get(p.property()).filter(|v| !v.is_null());
        let live = |p: Part| async move { (p, p.live(s3, name, template(p)).await) };
        let (a, b, c, d, e, f, g, h, tags) = tokio::join!(
            live(Part::Versioning),
            live(Part::Encryption),
            live(Part::PublicAccessBlock),
            live(Part::OwnershipControls),
            live(Part::Lifecycle),
            live(Part::Logging),
            live(Part::Cors),
            live(Part::Website),
            live_tags(s3, name),
        );
        let mut properties = vec![LiveProperty::name("BucketName", name)];
        for (part, value) in [a, b, c, d, e, f, g, h] {
            let value = match value {
                Ok(v) => v.map(|v| conform(v, template(part))),
                // Deleted between the calls: gone, not an error.
                Err(err) if super::no_such_bucket(&err) => return Ok(None),
                Err(err) => return Err(err),
            };
            let property = LiveProperty::new(part.property(), Compare::Scalar, value);
            properties.push(match part.default() {
                Some(d) => property.with_default(d),
                None => property,
            });
        }
        let tags = match tags {
            Ok(t) => t,
            Err(err) if super::no_such_bucket(&err) => return Ok(None),
            Err(err) => return Err(err),
        };
        properties.push(
            LiveProperty::new("Tags", Compare::Tags, Some(crate::kit::tags::to_value(tags))).with_default(json!([])),
        );
        Ok(Some(Observed {
            physical_id: name.to_string(),
            properties: shape_like(&req.properties, properties),
            attributes: attributes(s3, name),
            failure: None,
        }))
    }

    async fn update(&self, s3: &S3, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        const OP: &str = "UpdateBucket";
        let name = req.physical_id.as_str();
        check_in_place(&req.old_properties, &req.new_properties, &create_only(TYPE), "bucket", OP)?;
        let new = Spec::read(&req.new_properties, name, OP)?;
        let old_props = Props::root(&req.old_properties, OP)?;
        let property = |v: &Value, p: Part| v.get(p.property()).filter(|x| !x.is_null()).cloned();
        for (part, input) in new.parts {
            let (old, current) = (property(&req.old_properties, part), property(&req.new_properties, part));
            if old == current {
                continue;
            }
            match input {
                Some(input) => configuration::put(s3, name, input).await?,
                None => part.remove(s3, name, old.as_ref()).await?,
            }
        }
        let old_tags = tags(&old_props).unwrap_or_default();
        if old_tags != new.tags {
            if new.tags.is_empty() {
                let c = &s3.client;
                s3.call("DeleteBucketTagging", || c.delete_bucket_tagging().bucket(name).send()).await?;
            } else {
                put_tags(s3, name, &new.tags).await?;
            }
        }
        Ok(Applied { physical_id: name.to_string(), attributes: attributes(s3, name) })
    }

    async fn delete(&self, s3: &S3, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OP: &str = "DeleteBucket";
        let name = req.physical_id.as_str();
        let opted_in = empty_on_delete(&req.context.metadata)?;
        let c = &s3.client;
        for _ in 0..EMPTY_ROUNDS {
            match s3.call(OP, || c.delete_bucket().bucket(name).send()).await {
                Ok(_) => return Ok(()),
                Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
                Err(e) if e.code.as_deref() == Some("BucketNotEmpty") => {
                    if !opted_in {
                        let (page, more) = versions_page(s3, name).await?;
                        return Err(not_empty(name, page.len(), more));
                    }
                    empty(s3, name).await?;
                }
                Err(e) => return Err(e),
            }
        }
        let (page, more) = versions_page(s3, name).await?;
        Err(ProviderError::new(
            ErrorKind::Conflict,
            OP,
            format!(
                "bucket {name} was emptied {EMPTY_ROUNDS} times and still holds {}{} object versions: something \
                 keeps writing to it; stop that and delete again",
                if more { "at least " } else { "" },
                page.len()
            ),
        )
        .with_code("BucketNotEmpty"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_names_follow_the_bucket_rules() {
        let ctx = ResourceContext {
            project: "ML_Platform".into(),
            environment: "dev".into(),
            layer: "shared".into(),
            logical_id: "ArtifactsBucketForTrainingJobsAndModelsAndMore".into(),
            resource_type: TYPE.into(),
            ..Default::default()
        };
        for _ in 0..20 {
            let name = physical_name(&ctx, &json!({}));
            assert!((3..=63).contains(&name.len()), "{name}");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{name}");
            assert!(name.starts_with("mlplatform-dev-shared-artifacts"), "{name}");
            assert!(!name.ends_with('-'));
        }
        assert_eq!(physical_name(&ctx, &json!({"BucketName": "given"})), "given");
    }

    #[test]
    fn the_opt_in_is_read_from_metadata() {
        assert_eq!(empty_on_delete(&Value::Null), Ok(false));
        assert_eq!(empty_on_delete(&json!({"infra": {"timeout": "5m"}})), Ok(false));
        assert_eq!(empty_on_delete(&json!({"infra": {"empty_on_delete": true}})), Ok(true));
        assert_eq!(empty_on_delete(&json!({"infra": {"empty_on_delete": "false"}})), Ok(false));
        let err = empty_on_delete(&json!({"infra": {"empty_on_delete": 1}})).unwrap_err();
        assert_eq!(err.message, "Metadata infra.empty_on_delete must be true or false, not 1");
    }

    #[test]
    fn refusals_count_what_is_left() {
        let e = not_empty("b", 1, false);
        assert_eq!(e.code.as_deref(), Some("BucketNotEmpty"));
        assert!(e.message.starts_with("bucket b still holds 1 object (object versions"), "{}", e.message);
        assert!(not_empty("b", 1000, true).message.contains("holds at least 1000 objects"));
        assert!(e.message.contains("empty_on_delete: true") && e.message.contains("DeletionPolicy: Retain"));
        assert!(!e.is_ambiguous(), "a refusal changed nothing");
    }

    #[test]
    fn unsupported_properties_are_refused_by_name() {
        let err = Spec::read(&json!({"ObjectLockEnabled": true}), "b", "CreateBucket").err().expect("refused");
        assert_eq!(err.kind, ErrorKind::Unsupported);
        assert!(err.message.starts_with("property ObjectLockEnabled is not supported by infra's S3 provider"));
        assert!(Spec::read(&json!({"BucketName": "b", "Tags": []}), "b", "CreateBucket").is_ok());
    }
}
