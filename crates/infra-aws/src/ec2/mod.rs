//! EC2 resource types behind one provider. Each type lives in its own file; this module
//! holds what they share: the client and its retry policies, tags (the template's plus the
//! [`INTENT_TAG`] a create carries), and the create loop that never makes a second resource
//! after a lost answer.
//!
//! EC2 assigns every ID itself, so no type here has a physical name: each create carries the
//! intent's token as the [`INTENT_TAG`] tag in its `TagSpecifications`, and
//! [`infra_core::provider::Provider::find`] looks the resource up by that tag after a crash.

pub mod eip;
pub mod gateway_attachment;
pub mod internet_gateway;
pub mod nat_gateway;
pub mod route;
pub mod route_table;
pub mod security_group;
pub mod security_group_egress;
pub mod security_group_ingress;
pub mod sg_rule;
pub mod subnet;
pub mod subnet_route_table_association;
pub mod vpc;
pub mod vpc_endpoint;

use crate::kit::service::{ResourceType, Service, ServiceContext};
use crate::retry::{retry, retry_mapped, RetryPolicy};
use crate::waiter::{HeartbeatSink, Polling, Timeouts, Waits};
use aws_config::SdkConfig;
use aws_sdk_ec2::types::{Filter, ResourceType as SdkResourceType, Tag, TagSpecification};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use infra_core::provider::{ErrorKind, ProviderError, INTENT_TAG};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Tunables; the defaults suit real AWS, tests shorten them.
#[derive(Clone)]
pub struct Ec2Settings {
    pub retry: RetryPolicy,
    /// EC2 is eventually consistent: for this long after a create, the new resource may be
    /// missing from Describe calls, and calls naming it may answer `…NotFound`. After a
    /// create whose answer was lost, the provider looks for it by its token this long before
    /// creating again.
    pub consistency_window: Duration,
    /// How long waits for a state (a VPC `available`) may take; a resource's `Metadata`
    /// (`infra: { timeout: 5m }`) overrides them.
    pub timeouts: Timeouts,
    pub polling: Polling,
    pub heartbeats: Option<HeartbeatSink>,
}

impl Default for Ec2Settings {
    fn default() -> Self {
        Ec2Settings {
            retry: RetryPolicy::default(),
            consistency_window: Duration::from_secs(15),
            timeouts: Timeouts {
                create: Duration::from_secs(10 * 60),
                update: Duration::from_secs(10 * 60),
                delete: Duration::from_secs(10 * 60),
            },
            polling: Polling {
                initial_interval: Duration::from_secs(1),
                max_interval: Duration::from_secs(10),
                heartbeat_every: Duration::from_secs(60),
            },
            heartbeats: None,
        }
    }
}

/// The EC2 provider: every EC2 type, dispatched through [`Ec2`]'s table.
pub type Ec2Provider = Service<Ec2>;

/// The EC2 client and what every EC2 call needs, shared by the EC2 types.
pub struct Ec2 {
    pub(crate) client: aws_sdk_ec2::Client,
    pub(crate) settings: Ec2Settings,
    /// For calls naming a resource created moments ago: a `…NotFound` within the consistency
    /// window is propagation, not absence.
    pub(crate) retry_fresh: RetryPolicy,
}

impl Service<Ec2> {
    pub fn new(config: &SdkConfig, retry: RetryPolicy) -> Self {
        Self::with_settings(config, Ec2Settings { retry, ..Ec2Settings::default() })
    }

    pub fn with_settings(config: &SdkConfig, settings: Ec2Settings) -> Self {
        let retry_fresh =
            settings.retry.clone().retry_when(settings.consistency_window, |e| e.kind == ErrorKind::NotFound);
        Service::from_context(Ec2 { client: aws_sdk_ec2::Client::new(config), settings, retry_fresh })
    }
}

impl Ec2 {
    /// Runs an EC2 call under the provider's retry policy.
    pub(crate) async fn call<T, E, F, Fut>(&self, operation: &str, op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        retry(&self.settings.retry, operation, op).await
    }

    /// Runs a call about a resource created moments ago (see [`Ec2::retry_fresh`]).
    pub(crate) async fn call_fresh<T, E, F, Fut>(&self, operation: &str, op: F) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        retry(&self.retry_fresh, operation, op).await
    }

    /// Creates a resource whose ID EC2 assigns, without ever making a second one.
    ///
    /// `create` makes one attempt of the create call (carrying the intent tag) and returns the
    /// new ID; `find` looks the resource up by the intent tag. Throttling and 5xx answers are
    /// retried as usual, but once an attempt's answer was lost (the connection failed or timed
    /// out, so EC2 may have carried it out), every later attempt first looks for what it made,
    /// for up to the consistency window, and adopts it when found.
    pub(crate) async fn create_once<C, CF, F, FF>(
        &self,
        operation: &str,
        create: C,
        find: F,
    ) -> Result<String, ProviderError>
    where
        C: Fn() -> CF,
        CF: Future<Output = Result<String, ProviderError>>,
        F: Fn() -> FF,
        FF: Future<Output = Result<Option<String>, ProviderError>>,
    {
        let lost = AtomicBool::new(false);
        let (create, find, lost_ref) = (&create, &find, &lost);
        let (result, _) = retry_mapped(&self.settings.retry, move || async move {
            if lost_ref.load(Ordering::SeqCst) {
                if let Some(id) = self.look_up_lost(operation, find).await? {
                    return Ok(id);
                }
            }
            create().await.inspect_err(|e| {
                if may_have_taken_effect(e) {
                    lost_ref.store(true, Ordering::SeqCst);
                }
            })
        })
        .await;
        result
    }

    /// After a lost answer: what the create made, looked for by its token until the
    /// consistency window has passed. A failed look-up leaves the outcome unknown, and says so.
    async fn look_up_lost<F, FF>(&self, operation: &str, find: &F) -> Result<Option<String>, ProviderError>
    where
        F: Fn() -> FF,
        FF: Future<Output = Result<Option<String>, ProviderError>>,
    {
        let start = Instant::now();
        let mut delay = Duration::from_millis(250);
        loop {
            match find().await {
                Ok(Some(id)) => return Ok(Some(id)),
                Ok(None) => {}
                Err(e) if e.kind == ErrorKind::Transient => return Err(e),
                Err(e) => {
                    return Err(ProviderError::new(
                        ErrorKind::Other,
                        operation,
                        format!(
                            "the answer to an earlier attempt was lost, and looking for what it made by its \
                             {INTENT_TAG} tag failed: {e}"
                        ),
                    ))
                }
            }
            let elapsed = start.elapsed();
            if elapsed >= self.settings.consistency_window {
                return Ok(None);
            }
            tokio::time::sleep(delay.min(self.settings.consistency_window - elapsed)).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    /// Brings a resource's tags from `old` to `new` (both the template's, so the intent tag
    /// is never touched): `DeleteTags` for removed keys, `CreateTags` (which overwrites) for
    /// new and changed ones.
    pub(crate) async fn update_tags(
        &self,
        resource_id: &str,
        old: &[(String, String)],
        new: &[(String, String)],
    ) -> Result<(), ProviderError> {
        let (removed, added) = crate::kit::tags::changes(old, new);
        if !removed.is_empty() {
            let keys: Vec<Tag> = removed.iter().map(|k| Tag::builder().key(k).build()).collect();
            self.call("DeleteTags", || {
                self.client.delete_tags().resources(resource_id).set_tags(Some(keys.clone())).send()
            })
            .await?;
        }
        if !added.is_empty() {
            let tags = sdk_tags(&added);
            self.call("CreateTags", || {
                self.client.create_tags().resources(resource_id).set_tags(Some(tags.clone())).send()
            })
            .await?;
        }
        Ok(())
    }
}

/// Whether a retryable failure of a create may still have made the resource: no answer came
/// back (a dropped connection, a timeout), or EC2 failed on its side. A throttled call was
/// refused before anything happened.
fn may_have_taken_effect(err: &ProviderError) -> bool {
    err.kind == ErrorKind::Transient && !err.code.as_deref().is_some_and(crate::error::is_throttling)
}

/// Tags in the SDK's type.
pub(crate) fn sdk_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// The `TagSpecifications` of a create: the template's tags plus the intent tag. A template
/// may not set the intent tag itself.
pub(crate) fn intent_tag_specification(
    resource_type: SdkResourceType,
    template_tags: &[(String, String)],
    token: &str,
    operation: &str,
) -> Result<TagSpecification, ProviderError> {
    check_template_tags(template_tags, operation)?;
    let mut tags = sdk_tags(template_tags);
    tags.push(Tag::builder().key(INTENT_TAG).value(token).build());
    Ok(TagSpecification::builder().resource_type(resource_type).set_tags(Some(tags)).build())
}

/// Refuses the tag infra reserves for itself.
pub(crate) fn check_template_tags(template_tags: &[(String, String)], operation: &str) -> Result<(), ProviderError> {
    match template_tags.iter().position(|(k, _)| k == INTENT_TAG) {
        Some(i) => Err(ProviderError::new(
            ErrorKind::Invalid,
            operation,
            format!("property Tags.{i}.Key: the tag {INTENT_TAG} is reserved for infra's own bookkeeping"),
        )),
        None => Ok(()),
    }
}

/// Live tags as pairs, without the intent tag (`aws:` tags are left out by
/// [`crate::kit::tags`]).
pub(crate) fn live_tags(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .filter(|(k, _)| k != INTENT_TAG)
        .collect()
}

pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The filter that finds what a create carrying `token` made.
pub(crate) fn intent_filter(token: &str) -> Filter {
    filter(&format!("tag:{INTENT_TAG}"), token)
}

/// The error for a token that more than one resource carries: never pick one silently.
/// A resource EC2 lists by the intent tag: its ID, for messages.
pub(crate) trait Tagged {
    fn id(&self) -> Option<&str>;
}

/// The one resource a search by the intent tag `token` found, if any. Several are a conflict
/// naming them all: infra cannot tell which one its create made.
pub(crate) fn the_one<T: Tagged>(
    mut found: Vec<T>,
    operation: &str,
    what: &str,
    token: &str,
) -> Result<Option<T>, ProviderError> {
    if found.len() > 1 {
        let ids: Vec<String> = found.iter().map(|t| t.id().unwrap_or("?").to_string()).collect();
        return Err(ambiguous_token(operation, what, token, &ids));
    }
    Ok(found.pop())
}

pub(crate) fn ambiguous_token(operation: &str, what: &str, token: &str, ids: &[String]) -> ProviderError {
    ProviderError::new(
        ErrorKind::Conflict,
        operation,
        format!(
            "{} {what}s carry the tag {INTENT_TAG} = {token}: {}; infra cannot tell which one its create made. \
             Delete the extra ones (or import the one to keep) and apply again",
            ids.len(),
            ids.join(", ")
        ),
    )
}

impl ServiceContext for Ec2 {
    const NAME: &'static str = "ec2";
    /// EC2 throttles per account with token buckets that mutating calls drain quickly.
    const CONCURRENCY: usize = 10;
    const TYPES: &'static [&'static dyn ResourceType<Self>] = &[
        // One line per type, each in its own file.
        &vpc::VpcType,
        &subnet::SubnetType,
        &internet_gateway::InternetGatewayType,
        &gateway_attachment::GatewayAttachmentType,
        &security_group::SecurityGroupType,
        &security_group_ingress::SecurityGroupIngressType,
        &security_group_egress::SecurityGroupEgressType,
        &route_table::RouteTableType,
        &route::RouteType,
        &subnet_route_table_association::AssociationType,
        &eip::EipType,
        &nat_gateway::NatGatewayType,
        &vpc_endpoint::VpcEndpointType,
    ];
}

impl Waits for Ec2 {
    fn waiting(&self) -> (&Timeouts, &Polling, Option<&HeartbeatSink>) {
        (&self.settings.timeouts, &self.settings.polling, self.settings.heartbeats.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::props::check_in_place;
    use serde_json::json;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_intent_tag_is_reserved() {
        let ok = intent_tag_specification(SdkResourceType::Vpc, &pairs(&[("team", "ml")]), "t-1", "CreateVpc")
            .expect("valid");
        let tags: Vec<_> = ok.tags().iter().map(|t| (t.key().unwrap_or(""), t.value().unwrap_or(""))).collect();
        assert_eq!(tags, vec![("team", "ml"), (INTENT_TAG, "t-1")]);
        let err = intent_tag_specification(
            SdkResourceType::Vpc,
            &pairs(&[("a", "1"), (INTENT_TAG, "mine")]),
            "t-1",
            "CreateVpc",
        )
        .expect_err("reserved");
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(err.message.starts_with("property Tags.1.Key: the tag infra:intent is reserved"), "{}", err.message);
    }

    #[test]
    fn live_tags_leave_out_the_intent() {
        let tags = vec![
            Tag::builder().key("b").value("2").build(),
            Tag::builder().key(INTENT_TAG).value("t").build(),
            Tag::builder().key("a").build(),
        ];
        assert_eq!(live_tags(&tags), pairs(&[("b", "2"), ("a", "")]));
    }

    #[test]
    fn observed_text_takes_the_template_representation() {
        let cases = [
            (
                json!({"Tags": [{"Key": "n", "Value": "42"}]}),
                json!({"Tags": [{"Key": "n", "Value": 42}]}),
                json!({"Tags": [{"Key": "n", "Value": 42}]}),
            ),
            (json!({"A": "true"}), json!({"A": true}), json!({"A": true})),
            (json!({"A": true}), json!({"A": "true"}), json!({"A": "true"})),
            (json!({"A": "43"}), json!({"A": 42}), json!({"A": "43"})),
            (json!({"A": "x", "B": "1"}), json!({"A": "x"}), json!({"A": "x", "B": "1"})),
        ];
        for (observed, template, expected) in cases {
            assert_eq!(
                crate::kit::readback::conform(observed.clone(), Some(&template)),
                expected,
                "{observed} against {template}"
            );
        }
    }

    #[test]
    fn create_only_changes_are_refused() {
        let cases = [
            (json!({"CidrBlock": "10.0.0.0/16"}), json!({"CidrBlock": "10.0.0.0/16", "Tags": []}), true),
            (json!({"Ipv4NetmaskLength": 16}), json!({"Ipv4NetmaskLength": "16"}), true),
            (json!({"CidrBlock": "10.0.0.0/16"}), json!({"CidrBlock": "10.1.0.0/16"}), false),
            (json!({}), json!({"InstanceTenancy": "dedicated"}), false),
        ];
        for (old, new, ok) in cases {
            let got = check_in_place(&old, &new, &vpc::create_only(), "VPC", "ModifyVpcAttribute");
            assert_eq!(got.is_ok(), ok, "{old} -> {new}: {got:?}");
        }
    }

    #[test]
    fn ec2_error_codes() {
        use crate::error::kind_of;
        let cases = [
            ("InvalidVpcID.NotFound", ErrorKind::NotFound),
            ("DependencyViolation", ErrorKind::Conflict),
            ("VpcLimitExceeded", ErrorKind::Conflict),
            ("InvalidParameterValue", ErrorKind::Invalid),
            ("InvalidVpcID.Malformed", ErrorKind::Invalid),
            ("RequestLimitExceeded", ErrorKind::Transient),
            ("Unavailable", ErrorKind::Transient),
        ];
        for (code, expected) in cases {
            // EC2 answers every client error with HTTP 400.
            let status = if code == "Unavailable" { 503 } else { 400 };
            assert_eq!(kind_of(Some(code), Some(status)), expected, "{code}");
        }
    }
}
