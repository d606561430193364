//! IAM resource types behind one provider: roles, inline and managed policies, instance
//! profiles. Each type lives in its own file; this module holds what they share: the client,
//! pagination, and the principals (roles, users, groups) that policies attach to. Property
//! reading, tags and read-back shaping come from the [toolkit](crate::kit).

pub mod instance_profile;
pub mod managed_policy;
pub mod policy;
pub mod role;

use crate::kit::errors::{absent_if_missing, gone_ok};
pub(crate) use crate::kit::props::Props;
use crate::kit::service::{ResourceType, Service, ServiceContext};
use crate::policy as document;
use crate::retry::{retry, RetryPolicy, IAM_PROPAGATION_WINDOW};
use aws_config::SdkConfig;
use infra_core::provider::{ErrorKind, ProviderError};
use serde_json::Value;
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
            retry_fresh: retry.clone().retry_when(IAM_PROPAGATION_WINDOW, |e| e.kind == ErrorKind::NotFound),
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
// Read-back shaping

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

// ---------------------------------------------------------------------------------------------
// Principals that policies attach to

/// Where inline and managed policies go: `Roles`, `Users` or `Groups` of a policy resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Principal {
    Role,
    User,
    Group,
}

/// Every (kind, name) in a policy resource's `Roles`, `Users` and `Groups`.
pub(crate) fn principals(props: &Props<'_>) -> Result<Vec<(Principal, String)>, ProviderError> {
    let mut out = Vec::new();
    for kind in Principal::ALL {
        out.extend(props.string_list(kind.property())?.into_iter().map(|n| (kind, n)));
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
        absent_if_missing(match self {
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

    #[test]
    fn diffs() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(set_diff(&s(&["a", "b"]), &s(&["b", "c", "c"])), (s(&["c"]), s(&["a"])));
        assert_eq!(set_diff(&s(&[]), &s(&[])), (s(&[]), s(&[])));
    }
}
