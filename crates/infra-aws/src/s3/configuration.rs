//! A bucket's sub-configurations, each one S3 API of its own: the template's property read into
//! the SDK's input (path-aware errors, anything infra does not implement refused by name), put
//! on create and on change, removed when the template drops it, and read back in the
//! template's shape: fields the template left out are reported only when they differ from
//! what S3 assumes, so a bucket nobody touched reads back exactly as applied.

use super::{unset, S3};
use crate::kit::props::Props;
use crate::kit::readback::ObjectBuilder;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLoggingStatus, BucketVersioningStatus,
    Condition, CorsConfiguration, CorsRule, ErrorDocument, ExpirationStatus, IndexDocument, LifecycleExpiration,
    LifecycleRule, LifecycleRuleAndOperator, LifecycleRuleFilter, LoggingEnabled, NoncurrentVersionExpiration,
    NoncurrentVersionTransition, ObjectOwnership, OwnershipControls, OwnershipControlsRule, Protocol,
    PublicAccessBlockConfiguration, Redirect, RedirectAllRequestsTo, RoutingRule, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Transition,
    TransitionStorageClass, VersioningConfiguration, WebsiteConfiguration,
};
use infra_core::provider::{ErrorKind, ProviderError};
use serde_json::{json, Value};

/// How errors name the provider for a property it does not implement.
pub(crate) const PROVIDER: &str = "infra's S3 provider";

/// One sub-configuration of a bucket, named by its template property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Versioning,
    Encryption,
    PublicAccessBlock,
    OwnershipControls,
    Lifecycle,
    Logging,
    Cors,
    Website,
}

/// A sub-configuration as the SDK takes it.
#[derive(Clone, Debug)]
pub(crate) enum Input {
    Versioning(VersioningConfiguration),
    Encryption(ServerSideEncryptionConfiguration),
    PublicAccessBlock(PublicAccessBlockConfiguration),
    OwnershipControls(OwnershipControls),
    Lifecycle(BucketLifecycleConfiguration),
    Logging(LoggingEnabled),
    Cors(CorsConfiguration),
    Website(WebsiteConfiguration),
}

impl Part {
    pub const ALL: [Part; 8] = [
        Part::Versioning,
        Part::Encryption,
        Part::PublicAccessBlock,
        Part::OwnershipControls,
        Part::Lifecycle,
        Part::Logging,
        Part::Cors,
        Part::Website,
    ];

    /// The template property.
    pub fn property(self) -> &'static str {
        match self {
            Part::Versioning => "VersioningConfiguration",
            Part::Encryption => "BucketEncryption",
            Part::PublicAccessBlock => "PublicAccessBlockConfiguration",
            Part::OwnershipControls => "OwnershipControls",
            Part::Lifecycle => "LifecycleConfiguration",
            Part::Logging => "LoggingConfiguration",
            Part::Cors => "CorsConfiguration",
            Part::Website => "WebsiteConfiguration",
        }
    }

    /// What S3 reports for a bucket whose template leaves the property out: new buckets are
    /// encrypted with S3-managed keys, block public access and enforce the bucket owner's
    /// ownership; versioning, once enabled, can only be suspended.
    pub fn default(self) -> Option<Value> {
        match self {
            Part::Versioning => Some(json!({"Status": "Suspended"})),
            Part::Encryption => Some(json!({"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})),
            Part::PublicAccessBlock => Some(json!({"BlockPublicAcls": true, "BlockPublicPolicy": true,
                "IgnorePublicAcls": true, "RestrictPublicBuckets": true})),
            Part::OwnershipControls => Some(json!({"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})),
            Part::Lifecycle | Part::Logging | Part::Cors | Part::Website => None,
        }
    }

    /// The property of `props` as the SDK takes it; `None` when the template leaves it out.
    /// `bucket` is where logs go when `LoggingConfiguration` names no destination.
    pub fn parse(self, props: &Props<'_>, bucket: &str) -> Result<Option<Input>, ProviderError> {
        let key = self.property();
        match self {
            Part::Versioning => props.object(key, |p| versioning(&p).map(Input::Versioning)),
            Part::Encryption => props.object(key, |p| encryption(&p).map(Input::Encryption)),
            Part::PublicAccessBlock => props.object(key, |p| public_access_block(&p).map(Input::PublicAccessBlock)),
            Part::OwnershipControls => props.object(key, |p| ownership(&p).map(Input::OwnershipControls)),
            Part::Lifecycle => props.object(key, |p| lifecycle(&p).map(Input::Lifecycle)),
            Part::Logging => props.object(key, |p| logging(&p, bucket).map(Input::Logging)),
            Part::Cors => props.object(key, |p| cors(&p).map(Input::Cors)),
            Part::Website => props.object(key, |p| website(&p).map(Input::Website)),
        }
    }

    /// Removes the sub-configuration the template dropped; `old` is the property as applied.
    pub async fn remove(self, s3: &S3, bucket: &str, old: Option<&Value>) -> Result<(), ProviderError> {
        let c = &s3.client;
        match self {
            // Versioning cannot be switched off, only suspended, as CloudFormation does.
            Part::Versioning => {
                if old.and_then(|v| v.get("Status")).and_then(Value::as_str) == Some("Enabled") {
                    let suspended =
                        VersioningConfiguration::builder().status(BucketVersioningStatus::Suspended).build();
                    return put(s3, bucket, Input::Versioning(suspended)).await;
                }
                Ok(())
            }
            Part::Encryption => {
                s3.call("DeleteBucketEncryption", || c.delete_bucket_encryption().bucket(bucket).send()).await.map(drop)
            }
            Part::PublicAccessBlock => s3
                .call("DeletePublicAccessBlock", || c.delete_public_access_block().bucket(bucket).send())
                .await
                .map(drop),
            Part::OwnershipControls => s3
                .call("DeleteBucketOwnershipControls", || c.delete_bucket_ownership_controls().bucket(bucket).send())
                .await
                .map(drop),
            Part::Lifecycle => {
                s3.call("DeleteBucketLifecycle", || c.delete_bucket_lifecycle().bucket(bucket).send()).await.map(drop)
            }
            Part::Logging => s3
                .call("PutBucketLogging", || {
                    c.put_bucket_logging()
                        .bucket(bucket)
                        .bucket_logging_status(BucketLoggingStatus::builder().build())
                        .send()
                })
                .await
                .map(drop),
            Part::Cors => s3.call("DeleteBucketCors", || c.delete_bucket_cors().bucket(bucket).send()).await.map(drop),
            Part::Website => {
                s3.call("DeleteBucketWebsite", || c.delete_bucket_website().bucket(bucket).send()).await.map(drop)
            }
        }
    }

    /// The sub-configuration as S3 has it, in the template's shape (`template` is the property
    /// as applied); `None` when the bucket has none. A missing bucket is an error
    /// (`NoSuchBucket`), for the caller to read as "gone".
    pub async fn live(self, s3: &S3, bucket: &str, template: Option<&Value>) -> Result<Option<Value>, ProviderError> {
        let c = &s3.client;
        Ok(match self {
            Part::Versioning => {
                let out = s3.call("GetBucketVersioning", || c.get_bucket_versioning().bucket(bucket).send()).await?;
                out.status().map(|s| json!({"Status": s.as_str()}))
            }
            Part::Encryption => {
                let out =
                    unset(s3.call("GetBucketEncryption", || c.get_bucket_encryption().bucket(bucket).send()).await)?;
                out.and_then(|o| o.server_side_encryption_configuration().map(|cfg| live_encryption(cfg, template)))
            }
            Part::PublicAccessBlock => {
                let out =
                    unset(s3.call("GetPublicAccessBlock", || c.get_public_access_block().bucket(bucket).send()).await)?;
                out.and_then(|o| {
                    o.public_access_block_configuration().map(|cfg| live_public_access_block(cfg, template))
                })
            }
            Part::OwnershipControls => {
                let out = unset(
                    s3.call("GetBucketOwnershipControls", || c.get_bucket_ownership_controls().bucket(bucket).send())
                        .await,
                )?;
                out.and_then(|o| {
                    o.ownership_controls().map(|oc| {
                        let rules: Vec<Value> = oc
                            .rules()
                            .iter()
                            .map(|r| json!({"ObjectOwnership": r.object_ownership().as_str()}))
                            .collect();
                        json!({ "Rules": rules })
                    })
                })
            }
            Part::Lifecycle => {
                let out = unset(
                    s3.call("GetBucketLifecycleConfiguration", || {
                        c.get_bucket_lifecycle_configuration().bucket(bucket).send()
                    })
                    .await,
                )?;
                out.filter(|o| !o.rules().is_empty()).map(|o| live_lifecycle(o.rules(), template))
            }
            Part::Logging => {
                let out = s3.call("GetBucketLogging", || c.get_bucket_logging().bucket(bucket).send()).await?;
                out.logging_enabled().map(|l| live_logging(l, bucket, template))
            }
            Part::Cors => {
                let out = unset(s3.call("GetBucketCors", || c.get_bucket_cors().bucket(bucket).send()).await)?;
                out.filter(|o| !o.cors_rules().is_empty()).map(|o| live_cors(o.cors_rules(), template))
            }
            Part::Website => {
                let out = unset(s3.call("GetBucketWebsite", || c.get_bucket_website().bucket(bucket).send()).await)?;
                out.map(|o| live_website(&o, template))
            }
        })
    }
}

/// Puts one sub-configuration on the bucket.
pub(crate) async fn put(s3: &S3, bucket: &str, input: Input) -> Result<(), ProviderError> {
    let c = &s3.client;
    match input {
        Input::Versioning(v) => s3
            .call("PutBucketVersioning", || {
                c.put_bucket_versioning().bucket(bucket).versioning_configuration(v.clone()).send()
            })
            .await
            .map(drop),
        Input::Encryption(v) => s3
            .call("PutBucketEncryption", || {
                c.put_bucket_encryption().bucket(bucket).server_side_encryption_configuration(v.clone()).send()
            })
            .await
            .map(drop),
        Input::PublicAccessBlock(v) => s3
            .call("PutPublicAccessBlock", || {
                c.put_public_access_block().bucket(bucket).public_access_block_configuration(v.clone()).send()
            })
            .await
            .map(drop),
        Input::OwnershipControls(v) => s3
            .call("PutBucketOwnershipControls", || {
                c.put_bucket_ownership_controls().bucket(bucket).ownership_controls(v.clone()).send()
            })
            .await
            .map(drop),
        Input::Lifecycle(v) => s3
            .call("PutBucketLifecycleConfiguration", || {
                c.put_bucket_lifecycle_configuration().bucket(bucket).lifecycle_configuration(v.clone()).send()
            })
            .await
            .map(drop),
        Input::Logging(v) => {
            let status = BucketLoggingStatus::builder().logging_enabled(v).build();
            s3.call("PutBucketLogging", || {
                c.put_bucket_logging().bucket(bucket).bucket_logging_status(status.clone()).send()
            })
            .await
            .map(drop)
        }
        Input::Cors(v) => s3
            .call("PutBucketCors", || c.put_bucket_cors().bucket(bucket).cors_configuration(v.clone()).send())
            .await
            .map(drop),
        Input::Website(v) => s3
            .call("PutBucketWebsite", || c.put_bucket_website().bucket(bucket).website_configuration(v.clone()).send())
            .await
            .map(drop),
    }
}

// ---------------------------------------------------------------------------------------------
// Template → SDK

fn invalid(what: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Invalid, "PutBucketConfiguration", what)
}

fn built<T>(r: Result<T, aws_smithy_types::error::operation::BuildError>) -> Result<T, ProviderError> {
    r.map_err(|e| invalid(e.to_string()))
}

fn versioning(p: &Props<'_>) -> Result<VersioningConfiguration, ProviderError> {
    p.only(&["Status"], PROVIDER)?;
    let status = p.one_of("Status", &["Enabled", "Suspended"])?;
    let status = status.ok_or_else(|| invalid("property VersioningConfiguration.Status is required"))?;
    Ok(VersioningConfiguration::builder().status(BucketVersioningStatus::from(status.as_str())).build())
}

fn encryption(p: &Props<'_>) -> Result<ServerSideEncryptionConfiguration, ProviderError> {
    p.only(&["ServerSideEncryptionConfiguration"], PROVIDER)?;
    let rules = p
        .objects("ServerSideEncryptionConfiguration", |r| {
            r.only(&["ServerSideEncryptionByDefault", "BucketKeyEnabled"], PROVIDER)?;
            let default = r.object("ServerSideEncryptionByDefault", |d| {
                d.only(&["SSEAlgorithm", "KMSMasterKeyID"], PROVIDER)?;
                let algorithm = d.one_of("SSEAlgorithm", ServerSideEncryption::values())?;
                let algorithm = algorithm.ok_or_else(|| {
                    invalid("property BucketEncryption.ServerSideEncryptionConfiguration.ServerSideEncryptionByDefault.SSEAlgorithm is required")
                })?;
                built(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::from(algorithm.as_str()))
                        .set_kms_master_key_id(d.string("KMSMasterKeyID")?)
                        .build(),
                )
            })?;
            Ok(ServerSideEncryptionRule::builder()
                .set_apply_server_side_encryption_by_default(default)
                .set_bucket_key_enabled(r.bool("BucketKeyEnabled")?)
                .build())
        })?
        .ok_or_else(|| invalid("property BucketEncryption.ServerSideEncryptionConfiguration is required"))?;
    built(ServerSideEncryptionConfiguration::builder().set_rules(Some(rules)).build())
}

const PUBLIC_ACCESS_FLAGS: [&str; 4] =
    ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"];

fn public_access_block(p: &Props<'_>) -> Result<PublicAccessBlockConfiguration, ProviderError> {
    p.only(&PUBLIC_ACCESS_FLAGS, PROVIDER)?;
    Ok(PublicAccessBlockConfiguration::builder()
        .set_block_public_acls(p.bool("BlockPublicAcls")?)
        .set_block_public_policy(p.bool("BlockPublicPolicy")?)
        .set_ignore_public_acls(p.bool("IgnorePublicAcls")?)
        .set_restrict_public_buckets(p.bool("RestrictPublicBuckets")?)
        .build())
}

fn ownership(p: &Props<'_>) -> Result<OwnershipControls, ProviderError> {
    p.only(&["Rules"], PROVIDER)?;
    let rules = p
        .objects("Rules", |r| {
            r.only(&["ObjectOwnership"], PROVIDER)?;
            let o = r.one_of("ObjectOwnership", ObjectOwnership::values())?;
            let o = o.ok_or_else(|| invalid("property OwnershipControls.Rules.ObjectOwnership is required"))?;
            built(OwnershipControlsRule::builder().object_ownership(ObjectOwnership::from(o.as_str())).build())
        })?
        .ok_or_else(|| invalid("property OwnershipControls.Rules is required"))?;
    built(OwnershipControls::builder().set_rules(Some(rules)).build())
}

/// The lifecycle rule properties infra implements; the schema's others (`ExpirationDate`,
/// the single `Transition` and `NoncurrentVersionTransition`, `NoncurrentVersionExpirationInDays`,
/// the object size filters) are refused by name.
const RULE_KEYS: &[&str] = &[
    "Id",
    "Status",
    "Prefix",
    "TagFilters",
    "ExpirationInDays",
    "ExpiredObjectDeleteMarker",
    "NoncurrentVersionExpiration",
    "Transitions",
    "NoncurrentVersionTransitions",
    "AbortIncompleteMultipartUpload",
];

fn sdk_tag(key: String, value: String) -> Result<Tag, ProviderError> {
    built(Tag::builder().key(key).value(value).build())
}

fn lifecycle(p: &Props<'_>) -> Result<BucketLifecycleConfiguration, ProviderError> {
    p.only(&["Rules"], PROVIDER)?;
    let rules = p
        .objects("Rules", |r| {
            r.only(RULE_KEYS, PROVIDER)?;
            let status = r.one_of("Status", &["Enabled", "Disabled"])?;
            let status = status.ok_or_else(|| invalid("property LifecycleConfiguration.Rules.Status is required"))?;
            let tags = r
                .objects("TagFilters", |t| {
                    t.only(&["Key", "Value"], PROVIDER)?;
                    sdk_tag(t.required_string("Key")?, t.required_string("Value")?)
                })?
                .unwrap_or_default();
            let prefix = r.string("Prefix")?;
            // As CloudFormation shapes the filter: a prefix alone, one tag alone, or both in And.
            let filter = match (prefix, tags.len()) {
                (prefix, 0) => LifecycleRuleFilter::builder().prefix(prefix.unwrap_or_default()).build(),
                (None, 1) => LifecycleRuleFilter::builder().set_tag(tags.into_iter().next()).build(),
                (prefix, _) => LifecycleRuleFilter::builder()
                    .and(LifecycleRuleAndOperator::builder().set_prefix(prefix).set_tags(Some(tags)).build())
                    .build(),
            };
            let days = r.int("ExpirationInDays")?;
            let marker = r.bool("ExpiredObjectDeleteMarker")?;
            let expiration = (days.is_some() || marker.is_some()).then(|| {
                LifecycleExpiration::builder().set_days(days).set_expired_object_delete_marker(marker).build()
            });
            let transitions = r.objects("Transitions", |t| {
                t.only(&["StorageClass", "TransitionInDays"], PROVIDER)?;
                let class = t.one_of("StorageClass", TransitionStorageClass::values())?;
                let class = class.ok_or_else(|| invalid("property Transitions.StorageClass is required"))?;
                Ok(Transition::builder()
                    .storage_class(TransitionStorageClass::from(class.as_str()))
                    .set_days(t.int("TransitionInDays")?)
                    .build())
            })?;
            let noncurrent_transitions = r.objects("NoncurrentVersionTransitions", |t| {
                t.only(&["StorageClass", "TransitionInDays", "NewerNoncurrentVersions"], PROVIDER)?;
                let class = t.one_of("StorageClass", TransitionStorageClass::values())?;
                let class =
                    class.ok_or_else(|| invalid("property NoncurrentVersionTransitions.StorageClass is required"))?;
                Ok(NoncurrentVersionTransition::builder()
                    .storage_class(TransitionStorageClass::from(class.as_str()))
                    .set_noncurrent_days(Some(t.int("TransitionInDays")?.ok_or_else(|| {
                        invalid("property NoncurrentVersionTransitions.TransitionInDays is required")
                    })?))
                    .set_newer_noncurrent_versions(t.int("NewerNoncurrentVersions")?)
                    .build())
            })?;
            let noncurrent_expiration = r.object("NoncurrentVersionExpiration", |e| {
                e.only(&["NoncurrentDays", "NewerNoncurrentVersions"], PROVIDER)?;
                let days = e.int("NoncurrentDays")?;
                let days =
                    days.ok_or_else(|| invalid("property NoncurrentVersionExpiration.NoncurrentDays is required"))?;
                Ok(NoncurrentVersionExpiration::builder()
                    .noncurrent_days(days)
                    .set_newer_noncurrent_versions(e.int("NewerNoncurrentVersions")?)
                    .build())
            })?;
            let abort = r.object("AbortIncompleteMultipartUpload", |a| {
                a.only(&["DaysAfterInitiation"], PROVIDER)?;
                let days = a.int("DaysAfterInitiation")?;
                let days = days.ok_or_else(|| {
                    invalid("property AbortIncompleteMultipartUpload.DaysAfterInitiation is required")
                })?;
                Ok(AbortIncompleteMultipartUpload::builder().days_after_initiation(days).build())
            })?;
            built(
                LifecycleRule::builder()
                    .set_id(r.string("Id")?)
                    .status(ExpirationStatus::from(status.as_str()))
                    .filter(filter)
                    .set_expiration(expiration)
                    .set_transitions(transitions)
                    .set_noncurrent_version_transitions(noncurrent_transitions)
                    .set_noncurrent_version_expiration(noncurrent_expiration)
                    .set_abort_incomplete_multipart_upload(abort)
                    .build(),
            )
        })?
        .ok_or_else(|| invalid("property LifecycleConfiguration.Rules is required"))?;
    built(BucketLifecycleConfiguration::builder().set_rules(Some(rules)).build())
}

fn logging(p: &Props<'_>, bucket: &str) -> Result<LoggingEnabled, ProviderError> {
    p.only(&["DestinationBucketName", "LogFilePrefix"], PROVIDER)?;
    built(
        LoggingEnabled::builder()
            .target_bucket(p.string("DestinationBucketName")?.unwrap_or_else(|| bucket.to_string()))
            .target_prefix(p.string("LogFilePrefix")?.unwrap_or_default())
            .build(),
    )
}

fn cors(p: &Props<'_>) -> Result<CorsConfiguration, ProviderError> {
    p.only(&["CorsRules"], PROVIDER)?;
    let rules = p
        .objects("CorsRules", |r| {
            r.only(
                &["AllowedHeaders", "AllowedMethods", "AllowedOrigins", "ExposedHeaders", "Id", "MaxAge"],
                PROVIDER,
            )?;
            built(
                CorsRule::builder()
                    .set_id(r.string("Id")?)
                    .set_allowed_headers(r.strings("AllowedHeaders")?)
                    .set_allowed_methods(Some(r.string_list("AllowedMethods")?))
                    .set_allowed_origins(Some(r.string_list("AllowedOrigins")?))
                    .set_expose_headers(r.strings("ExposedHeaders")?)
                    .set_max_age_seconds(r.int("MaxAge")?)
                    .build(),
            )
        })?
        .ok_or_else(|| invalid("property CorsConfiguration.CorsRules is required"))?;
    built(CorsConfiguration::builder().set_cors_rules(Some(rules)).build())
}

fn protocol(p: &Props<'_>) -> Result<Option<Protocol>, ProviderError> {
    Ok(p.one_of("Protocol", &["http", "https"])?.map(|s| Protocol::from(s.as_str())))
}

fn website(p: &Props<'_>) -> Result<WebsiteConfiguration, ProviderError> {
    p.only(&["IndexDocument", "ErrorDocument", "RedirectAllRequestsTo", "RoutingRules"], PROVIDER)?;
    let index = match p.string("IndexDocument")? {
        Some(suffix) => Some(built(IndexDocument::builder().suffix(suffix).build())?),
        None => None,
    };
    let error = match p.string("ErrorDocument")? {
        Some(key) => Some(built(ErrorDocument::builder().key(key).build())?),
        None => None,
    };
    let redirect_all = p.object("RedirectAllRequestsTo", |r| {
        r.only(&["HostName", "Protocol"], PROVIDER)?;
        built(
            RedirectAllRequestsTo::builder()
                .host_name(r.required_string("HostName")?)
                .set_protocol(protocol(&r)?)
                .build(),
        )
    })?;
    let rules = p.objects("RoutingRules", |rule| {
        rule.only(&["RedirectRule", "RoutingRuleCondition"], PROVIDER)?;
        let redirect = rule
            .object("RedirectRule", |r| {
                r.only(
                    &["HostName", "HttpRedirectCode", "Protocol", "ReplaceKeyPrefixWith", "ReplaceKeyWith"],
                    PROVIDER,
                )?;
                Ok(Redirect::builder()
                    .set_host_name(r.string("HostName")?)
                    .set_http_redirect_code(r.string("HttpRedirectCode")?)
                    .set_protocol(protocol(&r)?)
                    .set_replace_key_prefix_with(r.string("ReplaceKeyPrefixWith")?)
                    .set_replace_key_with(r.string("ReplaceKeyWith")?)
                    .build())
            })?
            .ok_or_else(|| invalid("property WebsiteConfiguration.RoutingRules.RedirectRule is required"))?;
        let condition = rule.object("RoutingRuleCondition", |c| {
            c.only(&["HttpErrorCodeReturnedEquals", "KeyPrefixEquals"], PROVIDER)?;
            Ok(Condition::builder()
                .set_http_error_code_returned_equals(c.string("HttpErrorCodeReturnedEquals")?)
                .set_key_prefix_equals(c.string("KeyPrefixEquals")?)
                .build())
        })?;
        Ok(RoutingRule::builder().redirect(redirect).set_condition(condition).build())
    })?;
    Ok(WebsiteConfiguration::builder()
        .set_index_document(index)
        .set_error_document(error)
        .set_redirect_all_requests_to(redirect_all)
        .set_routing_rules(rules)
        .build())
}

// ---------------------------------------------------------------------------------------------
// SDK → template shape

/// The template's value at `key` of `template` (an object).
fn at<'a>(template: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    template.and_then(|t| t.get(key)).filter(|v| !v.is_null())
}

/// The template's `i`th item of the list at `key`.
fn item<'a>(template: Option<&'a Value>, key: &str, i: usize) -> Option<&'a Value> {
    at(template, key).and_then(|l| l.get(i))
}

/// `value`, unless it is what S3 assumes (`default`) and the template did not spell it out.
fn unless_default(template: Option<&Value>, key: &str, value: Value, default: Value) -> Option<Value> {
    (value != default || at(template, key).is_some()).then_some(value)
}

/// A list, unless it is empty and the template did not spell it out.
fn list_unless_empty(template: Option<&Value>, key: &str, items: &[String]) -> Option<Value> {
    unless_default(template, key, json!(items), json!([]))
}

fn live_encryption(cfg: &ServerSideEncryptionConfiguration, template: Option<&Value>) -> Value {
    let rules: Vec<Value> = cfg
        .rules()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let tpl = item(template, "ServerSideEncryptionConfiguration", i);
            let default = r.apply_server_side_encryption_by_default().map(|d| {
                ObjectBuilder::new()
                    .string("SSEAlgorithm", Some(d.sse_algorithm().as_str()))
                    .string("KMSMasterKeyID", d.kms_master_key_id())
                    .build()
            });
            ObjectBuilder::new()
                .put("ServerSideEncryptionByDefault", default)
                .put(
                    "BucketKeyEnabled",
                    r.bucket_key_enabled()
                        .and_then(|b| unless_default(tpl, "BucketKeyEnabled", json!(b), json!(false))),
                )
                .build()
        })
        .collect();
    json!({ "ServerSideEncryptionConfiguration": rules })
}

fn live_public_access_block(cfg: &PublicAccessBlockConfiguration, template: Option<&Value>) -> Value {
    let flags =
        [cfg.block_public_acls(), cfg.block_public_policy(), cfg.ignore_public_acls(), cfg.restrict_public_buckets()];
    let mut out = ObjectBuilder::new();
    for (key, flag) in PUBLIC_ACCESS_FLAGS.iter().zip(flags) {
        out = out.put(key, unless_default(template, key, json!(flag.unwrap_or(false)), json!(false)));
    }
    out.build()
}

fn tags_value(tags: &[Tag]) -> Vec<Value> {
    tags.iter().map(|t| json!({"Key": t.key(), "Value": t.value()})).collect()
}

fn live_lifecycle(rules: &[LifecycleRule], template: Option<&Value>) -> Value {
    let rules: Vec<Value> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let tpl = item(template, "Rules", i);
            // S3 names a rule the template did not name; that name is not the template's.
            let id = r.id().filter(|_| at(tpl, "Id").is_some());
            #[allow(deprecated)]
            let legacy_prefix = r.prefix();
            let (prefix, tags) = match r.filter() {
                Some(f) => match f.and() {
                    Some(and) => (and.prefix(), tags_value(and.tags())),
                    None => (f.prefix(), f.tag().map(|t| tags_value(std::slice::from_ref(t))).unwrap_or_default()),
                },
                None => (legacy_prefix, Vec::new()),
            };
            let prefix = prefix.map(|p| json!(p)).and_then(|p| unless_default(tpl, "Prefix", p, json!("")));
            let expiration = r.expiration();
            let transitions: Vec<Value> = r
                .transitions()
                .iter()
                .map(|t| {
                    ObjectBuilder::new()
                        .string("StorageClass", t.storage_class().map(|c| c.as_str()))
                        .int("TransitionInDays", t.days())
                        .build()
                })
                .collect();
            let noncurrent_transitions: Vec<Value> = r
                .noncurrent_version_transitions()
                .iter()
                .map(|t| {
                    ObjectBuilder::new()
                        .string("StorageClass", t.storage_class().map(|c| c.as_str()))
                        .int("TransitionInDays", t.noncurrent_days())
                        .int("NewerNoncurrentVersions", t.newer_noncurrent_versions())
                        .build()
                })
                .collect();
            ObjectBuilder::new()
                .string("Id", id)
                .string("Status", Some(r.status().as_str()))
                .put("Prefix", prefix)
                .put("TagFilters", unless_default(tpl, "TagFilters", Value::Array(tags), json!([])))
                .int("ExpirationInDays", expiration.and_then(|e| e.days()))
                .put(
                    "ExpiredObjectDeleteMarker",
                    expiration
                        .and_then(|e| e.expired_object_delete_marker())
                        .and_then(|m| unless_default(tpl, "ExpiredObjectDeleteMarker", json!(m), json!(false))),
                )
                .put(
                    "NoncurrentVersionExpiration",
                    r.noncurrent_version_expiration().map(|e| {
                        ObjectBuilder::new()
                            .int("NoncurrentDays", e.noncurrent_days())
                            .int("NewerNoncurrentVersions", e.newer_noncurrent_versions())
                            .build()
                    }),
                )
                .put("Transitions", unless_default(tpl, "Transitions", Value::Array(transitions), json!([])))
                .put(
                    "NoncurrentVersionTransitions",
                    unless_default(
                        tpl,
                        "NoncurrentVersionTransitions",
                        Value::Array(noncurrent_transitions),
                        json!([]),
                    ),
                )
                .put(
                    "AbortIncompleteMultipartUpload",
                    r.abort_incomplete_multipart_upload()
                        .map(|a| ObjectBuilder::new().int("DaysAfterInitiation", a.days_after_initiation()).build()),
                )
                .build()
        })
        .collect();
    json!({ "Rules": rules })
}

fn live_logging(l: &LoggingEnabled, bucket: &str, template: Option<&Value>) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(v) = unless_default(template, "DestinationBucketName", json!(l.target_bucket()), json!(bucket)) {
        out.insert("DestinationBucketName".into(), v);
    }
    if let Some(v) = unless_default(template, "LogFilePrefix", json!(l.target_prefix()), json!("")) {
        out.insert("LogFilePrefix".into(), v);
    }
    Value::Object(out)
}

fn live_cors(rules: &[CorsRule], template: Option<&Value>) -> Value {
    let rules: Vec<Value> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let tpl = item(template, "CorsRules", i);
            ObjectBuilder::new()
                .string("Id", r.id())
                .put("AllowedHeaders", list_unless_empty(tpl, "AllowedHeaders", r.allowed_headers()))
                .put("AllowedMethods", json!(r.allowed_methods()))
                .put("AllowedOrigins", json!(r.allowed_origins()))
                .put("ExposedHeaders", list_unless_empty(tpl, "ExposedHeaders", r.expose_headers()))
                .int("MaxAge", r.max_age_seconds())
                .build()
        })
        .collect();
    json!({ "CorsRules": rules })
}

fn live_website(
    o: &aws_sdk_s3::operation::get_bucket_website::GetBucketWebsiteOutput,
    template: Option<&Value>,
) -> Value {
    let rules: Vec<Value> = o
        .routing_rules()
        .iter()
        .map(|rule| {
            let redirect = rule.redirect().map(|r| {
                ObjectBuilder::new()
                    .string("HostName", r.host_name())
                    .string("HttpRedirectCode", r.http_redirect_code())
                    .string("Protocol", r.protocol().map(|p| p.as_str()))
                    .string("ReplaceKeyPrefixWith", r.replace_key_prefix_with())
                    .string("ReplaceKeyWith", r.replace_key_with())
                    .build()
            });
            let condition = rule.condition().map(|c| {
                ObjectBuilder::new()
                    .string("HttpErrorCodeReturnedEquals", c.http_error_code_returned_equals())
                    .string("KeyPrefixEquals", c.key_prefix_equals())
                    .build()
            });
            ObjectBuilder::new().put("RedirectRule", redirect).object("RoutingRuleCondition", condition).build()
        })
        .collect();
    ObjectBuilder::new()
        .string("IndexDocument", o.index_document().map(|d| d.suffix()))
        .string("ErrorDocument", o.error_document().map(|d| d.key()))
        .put(
            "RedirectAllRequestsTo",
            o.redirect_all_requests_to().map(|r| {
                ObjectBuilder::new()
                    .string("HostName", Some(r.host_name()))
                    .string("Protocol", r.protocol().map(|p| p.as_str()))
                    .build()
            }),
        )
        .put("RoutingRules", unless_default(template, "RoutingRules", Value::Array(rules), json!([])))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(part: Part, properties: Value, expected: Result<(), &str>) {
        let props = Props::root(&properties, "CreateBucket").expect("object");
        let got = part.parse(&props, "b").map(drop).map_err(|e| e.message);
        assert_eq!(got, expected.map_err(str::to_string), "{properties}");
    }

    #[test]
    fn sub_configurations_are_checked_with_their_path() {
        check(Part::Versioning, json!({"VersioningConfiguration": {"Status": "Enabled"}}), Ok(()));
        check(
            Part::Versioning,
            json!({"VersioningConfiguration": {"Status": "On"}}),
            Err("property VersioningConfiguration.Status must be one of Enabled, Suspended, not \"On\""),
        );
        check(
            Part::Lifecycle,
            json!({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "ExpirationInDays": 3},
                {"Status": "Enabled", "ExpirationDate": "2030-01-01T00:00:00Z"}]}}),
            Err("property LifecycleConfiguration.Rules.1.ExpirationDate is not supported by infra's S3 provider; \
                 remove it from the template or manage it outside infra"),
        );
        check(
            Part::Lifecycle,
            json!({"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", "ExpirationInDays": "soon"}]}}),
            Err("property LifecycleConfiguration.Rules.0.ExpirationInDays must be an integer"),
        );
        check(
            Part::Encryption,
            json!({"BucketEncryption": {"ServerSideEncryptionConfiguration": [{"BlockedEncryptionTypes": {}}]}}),
            Err("property BucketEncryption.ServerSideEncryptionConfiguration.0.BlockedEncryptionTypes is not supported \
                 by infra's S3 provider; remove it from the template or manage it outside infra"),
        );
        check(
            Part::Logging,
            json!({"LoggingConfiguration": {"TargetObjectKeyFormat": {}}}),
            Err("property LoggingConfiguration.TargetObjectKeyFormat is not supported by infra's S3 provider; remove \
                 it from the template or manage it outside infra"),
        );
        check(Part::Website, json!({"WebsiteConfiguration": {"IndexDocument": "index.html"}}), Ok(()));
        check(
            Part::Website,
            json!({"WebsiteConfiguration": {"RedirectAllRequestsTo": {"HostName": "x", "Protocol": "ftp"}}}),
            Err("property WebsiteConfiguration.RedirectAllRequestsTo.Protocol must be one of http, https, not \"ftp\""),
        );
        check(Part::Cors, json!({"CorsConfiguration": {"CorsRules": [{"AllowedMethods": ["GET"]}]}}), Ok(()));
        check(Part::Cors, json!({}), Ok(()));
    }

    #[test]
    fn defaults_are_left_out_unless_spelled_out() {
        assert_eq!(unless_default(None, "K", json!(false), json!(false)), None);
        assert_eq!(unless_default(Some(&json!({"K": false})), "K", json!(false), json!(false)), Some(json!(false)));
        assert_eq!(unless_default(None, "K", json!(true), json!(false)), Some(json!(true)));
        let cfg = PublicAccessBlockConfiguration::builder().block_public_acls(true).block_public_policy(false).build();
        assert_eq!(
            live_public_access_block(&cfg, Some(&json!({"BlockPublicAcls": true}))),
            json!({"BlockPublicAcls": true})
        );
    }
}
