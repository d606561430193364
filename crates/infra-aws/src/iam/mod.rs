//! IAM resource types behind one provider: roles, inline and managed policies, instance
//! profiles. Each type lives in its own file; this module holds what they share: property
//! access, the read-back shaping that keeps re-plans quiet, pagination, and the principals
//! (roles, users, groups) that policies attach to.

pub mod instance_profile;
pub mod managed_policy;
pub mod policy;
pub mod role;

use crate::kit::service::{ResourceType, Service, ServiceContext};
use crate::policy as document;
use crate::retry::{retry, RetryPolicy};
use aws_config::SdkConfig;
use infra_core::provider::{ErrorKind, ProviderError};
use serde_json::{Map, Value};
use std::future::Future;

/// The IAM provider: every IAM type, dispatched through [`Iam`]'s table.
pub type IamProvider = Service<Iam>;

/// The IAM client and what every IAM call needs, shared by the IAM types.
pub struct Iam {
    pub(crate) client: aws_sdk_iam::Client,
    pub(crate) sdk_config: SdkConfig,
    pub(crate) retry: RetryPolicy,
    /// For calls naming something that may have been created moments ago (a role, a managed
    /// policy): IAM is eventually consistent, so a NoSuchEntity right after a create is
    /// usually propagation, not absence.
    pub(crate) retry_fresh: RetryPolicy,
    account: tokio::sync::OnceCell<String>,
}

/// How long a NoSuchEntity is taken for propagation on calls that reference other entities.
pub const PROPAGATION_WINDOW: std::time::Duration = std::time::Duration::from_secs(20);

impl Service<Iam> {
    pub fn new(sdk_config: &SdkConfig, retry: RetryPolicy) -> Self {
        Service::from_context(Iam::new(sdk_config, retry))
    }
}

impl Iam {
    pub fn new(sdk_config: &SdkConfig, retry: RetryPolicy) -> Self {
        let retry = retry.for_config(sdk_config);
        Iam {
            client: aws_sdk_iam::Client::new(sdk_config),
            sdk_config: sdk_config.clone(),
            retry_fresh: retry.clone().retry_when(PROPAGATION_WINDOW, |e| e.kind == ErrorKind::NotFound),
            retry,
            account: tokio::sync::OnceCell::new(),
        }
    }

    /// The account ID, asked of STS once.
    pub(crate) async fn account_id(&self) -> Result<&str, ProviderError> {
        self.account
            .get_or_try_init(|| crate::config::account_id(&self.sdk_config, &self.retry))
            .await
            .map(String::as_str)
    }

    pub(crate) fn partition(&self) -> &'static str {
        crate::config::partition(self.sdk_config.region().map(|r| r.as_ref()).unwrap_or("us-east-1"))
    }
}

impl ServiceContext for Iam {
    const NAME: &'static str = "iam";
    /// IAM's mutating calls are throttled per account at low rates; a handful at once keeps
    /// throughput up without living in backoff.
    const CONCURRENCY: usize = 10;
    const TYPES: &'static [&'static dyn ResourceType<Self>] = &[
        &role::RoleType,
        &policy::PolicyType,
        &managed_policy::ManagedPolicyType,
        &instance_profile::InstanceProfileType,
    ];
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Typed access to a resource's (resolved) properties, with errors naming the operation.
pub(crate) struct Props<'a> {
    map: Option<&'a Map<String, Value>>,
    operation: &'a str,
}

impl<'a> Props<'a> {
    pub fn new(properties: &'a Value, operation: &'a str) -> Self {
        Props { map: properties.as_object(), operation }
    }

    fn invalid(&self, message: String) -> ProviderError {
        ProviderError::new(ErrorKind::Invalid, self.operation, message)
    }

    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A string property; numbers and booleans are accepted as their text, as CloudFormation does.
    pub fn string(&self, key: &str) -> Result<Option<String>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => scalar_text(v).map(Some).ok_or_else(|| self.invalid(format!("property {key} must be a string"))),
        }
    }

    pub fn required_string(&self, key: &str) -> Result<String, ProviderError> {
        self.string(key)?.ok_or_else(|| self.invalid(format!("property {key} is required")))
    }

    pub fn integer(&self, key: &str) -> Result<Option<i32>, ProviderError> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.invalid(format!("property {key} must be an integer, not {s:?}"))),
        }
    }

    pub fn strings(&self, key: &str) -> Result<Vec<String>, ProviderError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    scalar_text(v).ok_or_else(|| self.invalid(format!("property {key} must be a list of strings")))
                })
                .collect(),
            Some(_) => Err(self.invalid(format!("property {key} must be a list of strings"))),
        }
    }

    /// A policy document property as the JSON text IAM takes.
    pub fn document(&self, key: &str) -> Result<Option<String>, ProviderError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => document::to_text(v).map(Some).map_err(|e| self.invalid(format!("property {key}: {e}"))),
        }
    }

    pub fn required_document(&self, key: &str) -> Result<String, ProviderError> {
        self.document(key)?.ok_or_else(|| self.invalid(format!("property {key} is required")))
    }

    /// `Tags: [{Key, Value}]` as pairs.
    pub fn tags(&self) -> Result<Vec<(String, String)>, ProviderError> {
        let Some(v) = self.get("Tags") else { return Ok(Vec::new()) };
        let bad = || self.invalid("property Tags must be a list of {Key, Value}".to_string());
        let items = v.as_array().ok_or_else(bad)?;
        items
            .iter()
            .map(|t| {
                let key = t.get("Key").and_then(scalar_text).ok_or_else(bad)?;
                let value = t.get("Value").and_then(scalar_text).ok_or_else(bad)?;
                Ok((key, value))
            })
            .collect()
    }
}

pub(crate) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Read-back shaping

/// How a property's values are compared when deciding whether live equals applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compare {
    /// Scalars by their text (`"3600"` equals `3600`).
    Scalar,
    /// A policy document, by meaning ([`document::canonical`]).
    Document,
    /// A list of names or ARNs, as a set.
    Set,
    /// `[{Key, Value}]`, as a map.
    Tags,
    /// `[{PolicyName, PolicyDocument}]`, by name, documents by meaning.
    InlinePolicies,
}

/// One property as it is live: `None` when the resource has none. `default` is what the
/// service assumes when a template leaves the property out.
pub(crate) struct LiveProperty {
    pub name: &'static str,
    pub value: Option<Value>,
    pub compare: Compare,
    pub default: Option<Value>,
}

impl LiveProperty {
    pub fn new(name: &'static str, compare: Compare, value: Option<Value>) -> Self {
        LiveProperty { name, value, compare, default: None }
    }
    /// A name property: compared when the template set it; a generated name is not reported.
    pub fn name(name: &'static str, live: &str) -> Self {
        LiveProperty::new(name, Compare::Scalar, Some(Value::from(live))).with_default(Value::from(live))
    }

    pub fn with_default(mut self, default: Value) -> Self {
        self.default = Some(default);
        self
    }
}

pub(crate) fn canonical(compare: Compare, v: &Value) -> Value {
    match compare {
        Compare::Scalar => scalar_text(v).map(Value::String).unwrap_or_else(|| document::sort_keys(v)),
        Compare::Document => document::canonical(v),
        Compare::Set => {
            let mut items: Vec<String> = match v {
                Value::Array(a) => a.iter().map(|x| scalar_text(x).unwrap_or_else(|| x.to_string())).collect(),
                other => vec![scalar_text(other).unwrap_or_else(|| other.to_string())],
            };
            items.sort();
            items.dedup();
            Value::from(items)
        }
        Compare::Tags => {
            let tags: std::collections::BTreeMap<String, Value> = v
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| {
                    Some((t.get("Key").and_then(scalar_text)?, Value::from(t.get("Value").and_then(scalar_text)?)))
                })
                .collect();
            Value::Object(tags.into_iter().collect())
        }
        Compare::InlinePolicies => {
            let mut entries: Vec<(String, Value)> = v
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    let name = p.get("PolicyName").and_then(scalar_text).unwrap_or_default();
                    let doc = p.get("PolicyDocument").map(document::canonical).unwrap_or(Value::Null);
                    (name, doc)
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Array(
                entries.into_iter().map(|(n, d)| serde_json::json!({"PolicyName": n, "PolicyDocument": d})).collect(),
            )
        }
    }
}

/// Live properties in the shape of the applied ones, so that a resource nobody touched reads
/// back exactly as applied: where live and applied mean the same, the applied value is
/// returned verbatim; where they differ, the live value. Properties the template left out are
/// reported only when live differs from the service default (drift made outside infra).
pub(crate) fn shape_like(applied: &Value, live: Vec<LiveProperty>) -> Value {
    let applied = applied.as_object();
    let mut out = Map::new();
    for p in live {
        let given = applied.and_then(|m| m.get(p.name)).filter(|v| !v.is_null());
        let value = match (given, p.value) {
            (Some(given), Some(live)) => {
                if canonical(p.compare, given) == canonical(p.compare, &live) {
                    given.clone()
                } else {
                    live
                }
            }
            (Some(given), None) => match &p.default {
                // A template that spells out the default reads back as written.
                Some(d) if canonical(p.compare, given) == canonical(p.compare, d) => given.clone(),
                _ => continue,
            },
            (None, Some(live)) => {
                let is_default = match &p.default {
                    Some(d) => canonical(p.compare, d) == canonical(p.compare, &live),
                    None => false,
                };
                if is_default {
                    continue;
                }
                live
            }
            (None, None) => continue,
        };
        out.insert(p.name.to_string(), value);
    }
    Value::Object(out)
}

/// `[{Key, Value}]` from pairs.
pub(crate) fn tags_value(tags: impl IntoIterator<Item = (String, String)>) -> Value {
    Value::Array(tags.into_iter().map(|(k, v)| serde_json::json!({"Key": k, "Value": v})).collect())
}

/// A live policy document (URL-encoded text) as a JSON object.
pub(crate) fn live_document(operation: &str, text: &str) -> Result<Value, ProviderError> {
    document::parse_text(text).map_err(|e| ProviderError::new(ErrorKind::Other, operation, e))
}

/// What changed between two lists, as sets: (added, removed), each in list order.
pub(crate) fn set_diff(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let added = new.iter().filter(|x| !old.contains(x)).cloned().collect::<Vec<_>>();
    let removed = old.iter().filter(|x| !new.contains(x)).cloned().collect::<Vec<_>>();
    (dedup(added), dedup(removed))
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

/// Collect every page of an IAM list call. `page` gets the marker (None first) and returns
/// the page's items and the next marker, if the list is truncated.
pub(crate) async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, ProviderError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), ProviderError>>,
{
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let (items, next) = page(marker.take()).await?;
        out.extend(items);
        match next {
            Some(m) if !m.is_empty() => marker = Some(m),
            _ => return Ok(out),
        }
    }
}

/// `Ok(None)` for NotFound, so reads and deletes can treat "already gone" as an answer.
pub(crate) fn found<T>(r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Ignore NotFound: deleting what is gone is success.
pub(crate) fn gone_ok(r: Result<(), ProviderError>) -> Result<(), ProviderError> {
    found(r).map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Principals that policies attach to

/// Where inline and managed policies go: `Roles`, `Users` or `Groups` of a policy resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Principal {
    Role,
    User,
    Group,
}

/// Refuse an in-place update that changes a create-only property (the engine replaces
/// instead; this guards against a plan that did not).
pub(crate) fn check_in_place(
    old: &Props<'_>,
    new: &Props<'_>,
    create_only: &[&str],
    what: &str,
) -> Result<(), ProviderError> {
    for key in create_only {
        if old.string(key)? != new.string(key)? {
            return Err(new.invalid(format!("{key} cannot change without replacing the {what}")));
        }
    }
    Ok(())
}

/// Every (kind, name) in a policy resource's `Roles`, `Users` and `Groups`.
pub(crate) fn principals(props: &Props<'_>) -> Result<Vec<(Principal, String)>, ProviderError> {
    let mut out = Vec::new();
    for kind in Principal::ALL {
        out.extend(props.strings(kind.property())?.into_iter().map(|n| (kind, n)));
    }
    Ok(out)
}

impl Principal {
    pub const ALL: [Principal; 3] = [Principal::Role, Principal::User, Principal::Group];

    /// The property listing principals of this kind.
    pub fn property(self) -> &'static str {
        match self {
            Principal::Role => "Roles",
            Principal::User => "Users",
            Principal::Group => "Groups",
        }
    }

    pub async fn put_inline(self, iam: &Iam, name: &str, policy: &str, doc: &str) -> Result<(), ProviderError> {
        let (c, r) = (&iam.client, &iam.retry_fresh);
        match self {
            Principal::Role => retry(r, "PutRolePolicy", || {
                c.put_role_policy().role_name(name).policy_name(policy).policy_document(doc).send()
            })
            .await
            .map(drop),
            Principal::User => retry(r, "PutUserPolicy", || {
                c.put_user_policy().user_name(name).policy_name(policy).policy_document(doc).send()
            })
            .await
            .map(drop),
            Principal::Group => retry(r, "PutGroupPolicy", || {
                c.put_group_policy().group_name(name).policy_name(policy).policy_document(doc).send()
            })
            .await
            .map(drop),
        }
    }

    pub async fn delete_inline(self, iam: &Iam, name: &str, policy: &str) -> Result<(), ProviderError> {
        let (c, r) = (&iam.client, &iam.retry);
        gone_ok(match self {
            Principal::Role => {
                retry(r, "DeleteRolePolicy", || c.delete_role_policy().role_name(name).policy_name(policy).send())
                    .await
                    .map(drop)
            }
            Principal::User => {
                retry(r, "DeleteUserPolicy", || c.delete_user_policy().user_name(name).policy_name(policy).send())
                    .await
                    .map(drop)
            }
            Principal::Group => {
                retry(r, "DeleteGroupPolicy", || c.delete_group_policy().group_name(name).policy_name(policy).send())
                    .await
                    .map(drop)
            }
        })
    }

    /// The inline policy's document text (URL-encoded), or `None` when it is not there.
    pub async fn get_inline(self, iam: &Iam, name: &str, policy: &str) -> Result<Option<String>, ProviderError> {
        let (c, r) = (&iam.client, &iam.retry);
        found(match self {
            Principal::Role => {
                retry(r, "GetRolePolicy", || c.get_role_policy().role_name(name).policy_name(policy).send())
                    .await
                    .map(|o| o.policy_document)
            }
            Principal::User => {
                retry(r, "GetUserPolicy", || c.get_user_policy().user_name(name).policy_name(policy).send())
                    .await
                    .map(|o| o.policy_document)
            }
            Principal::Group => {
                retry(r, "GetGroupPolicy", || c.get_group_policy().group_name(name).policy_name(policy).send())
                    .await
                    .map(|o| o.policy_document)
            }
        })
    }

    pub async fn attach(self, iam: &Iam, name: &str, arn: &str) -> Result<(), ProviderError> {
        let (c, r) = (&iam.client, &iam.retry_fresh);
        match self {
            Principal::Role => {
                retry(r, "AttachRolePolicy", || c.attach_role_policy().role_name(name).policy_arn(arn).send())
                    .await
                    .map(drop)
            }
            Principal::User => {
                retry(r, "AttachUserPolicy", || c.attach_user_policy().user_name(name).policy_arn(arn).send())
                    .await
                    .map(drop)
            }
            Principal::Group => {
                retry(r, "AttachGroupPolicy", || c.attach_group_policy().group_name(name).policy_arn(arn).send())
                    .await
                    .map(drop)
            }
        }
    }

    pub async fn detach(self, iam: &Iam, name: &str, arn: &str) -> Result<(), ProviderError> {
        let (c, r) = (&iam.client, &iam.retry);
        gone_ok(match self {
            Principal::Role => {
                retry(r, "DetachRolePolicy", || c.detach_role_policy().role_name(name).policy_arn(arn).send())
                    .await
                    .map(drop)
            }
            Principal::User => {
                retry(r, "DetachUserPolicy", || c.detach_user_policy().user_name(name).policy_arn(arn).send())
                    .await
                    .map(drop)
            }
            Principal::Group => {
                retry(r, "DetachGroupPolicy", || c.detach_group_policy().group_name(name).policy_arn(arn).send())
                    .await
                    .map(drop)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(applied: Value, live: Vec<LiveProperty>, expected: Value) {
        assert_eq!(shape_like(&applied, live), expected);
    }

    fn path(v: Option<&str>) -> LiveProperty {
        LiveProperty::new("Path", Compare::Scalar, v.map(Value::from)).with_default(json!("/"))
    }

    #[test]
    fn shaping() {
        check(json!({}), vec![path(Some("/"))], json!({}));
        check(json!({"Path": "/"}), vec![path(Some("/"))], json!({"Path": "/"}));
        check(json!({}), vec![path(Some("/x/"))], json!({"Path": "/x/"}));
        check(json!({"Path": "/"}), vec![path(None)], json!({"Path": "/"}));
        check(json!({"Path": "/a/"}), vec![path(None)], json!({}));
        let dur =
            |v: Option<Value>| LiveProperty::new("MaxSessionDuration", Compare::Scalar, v).with_default(json!(3600));
        check(
            json!({"MaxSessionDuration": "7200"}),
            vec![dur(Some(json!(7200)))],
            json!({"MaxSessionDuration": "7200"}),
        );
        check(json!({"MaxSessionDuration": "7200"}), vec![dur(Some(json!(3600)))], json!({"MaxSessionDuration": 3600}));
        check(json!({}), vec![dur(Some(json!(3600)))], json!({}));
        let arns = |v: Value| LiveProperty::new("ManagedPolicyArns", Compare::Set, Some(v)).with_default(json!([]));
        check(
            json!({"ManagedPolicyArns": ["b", "a"]}),
            vec![arns(json!(["a", "b"]))],
            json!({"ManagedPolicyArns": ["b", "a"]}),
        );
        check(json!({}), vec![arns(json!([]))], json!({}));
        check(json!({}), vec![arns(json!(["x"]))], json!({"ManagedPolicyArns": ["x"]}));
        let tags = |v: Value| LiveProperty::new("Tags", Compare::Tags, Some(v)).with_default(json!([]));
        check(
            json!({"Tags": [{"Key": "b", "Value": 1}, {"Key": "a", "Value": "x"}]}),
            vec![tags(json!([{"Key": "a", "Value": "x"}, {"Key": "b", "Value": "1"}]))],
            json!({"Tags": [{"Key": "b", "Value": 1}, {"Key": "a", "Value": "x"}]}),
        );
        let doc =
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]});
        let pols = |v: Value| LiveProperty::new("Policies", Compare::InlinePolicies, Some(v)).with_default(json!([]));
        check(
            json!({"Policies": [{"PolicyName": "p", "PolicyDocument": doc.to_string()}]}),
            vec![pols(
                json!([{"PolicyName": "p", "PolicyDocument": {"Statement": {"Resource": ["*"], "Action": ["s3:*"], "Effect": "Allow"}, "Version": "2012-10-17"}}]),
            )],
            json!({"Policies": [{"PolicyName": "p", "PolicyDocument": doc.to_string()}]}),
        );
    }

    #[test]
    fn diffs() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(set_diff(&s(&["a", "b"]), &s(&["b", "c", "c"])), (s(&["c"]), s(&["a"])));
        assert_eq!(set_diff(&s(&[]), &s(&[])), (s(&[]), s(&[])));
    }
}
