//! The local AWS harness itself: isolated accounts, the fault proxy, and retries through it.

use infra_aws::retry::{retry, RetryPolicy};
use infra_aws::testing::{Fault, FaultProxy, LocalAws};
use infra_core::provider::ErrorKind;

#[tokio::test]
async fn accounts_are_isolated() {
    let aws = LocalAws::shared().expect("local AWS");
    let (a, b) = (aws.account().await.expect("account a"), aws.account().await.expect("account b"));
    assert_ne!(a.account_id, b.account_id);
    let iam_a = aws_sdk_iam::Client::new(&a.sdk_config().await.expect("config a"));
    let iam_b = aws_sdk_iam::Client::new(&b.sdk_config().await.expect("config b"));
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam_a.create_role().role_name("only-in-a").assume_role_policy_document(doc).send().await.expect("create");
    assert!(role.role.expect("role").arn.contains(&a.account_id));
    let in_b = iam_b.list_roles().send().await.expect("list b").roles;
    assert!(in_b.is_empty(), "{in_b:?}");
    let sts = aws_sdk_sts::Client::new(&b.sdk_config().await.expect("config b"));
    let who = infra_aws::config::account_id(&b.sdk_config().await.expect("config b"), &RetryPolicy::default()).await;
    assert_eq!(who.as_deref(), Ok(b.account_id.as_str()));
    drop(sts);
}

#[tokio::test]
async fn retries_through_throttling_and_outages() {
    let aws = LocalAws::shared().expect("local AWS");
    let account = aws.account().await.expect("account");
    let proxy = FaultProxy::start(aws.endpoint_url(), |action, nth| match (action, nth) {
        ("ListRoles", 1) => Some(Fault::Throttle),
        ("ListRoles", 2) => Some(Fault::Unavailable),
        ("ListRoles", 3) => Some(Fault::Drop),
        _ => None,
    })
    .await
    .expect("proxy");
    let iam = aws_sdk_iam::Client::new(&account.sdk_config_via(&proxy.url).await.expect("config"));
    let out = retry(&RetryPolicy::default(), "ListRoles", || iam.list_roles().send()).await;
    assert!(out.is_ok(), "{out:?}");
    assert_eq!((proxy.seen("ListRoles"), proxy.forwarded("ListRoles")), (4, 1));
}

#[tokio::test]
async fn throttling_maps_to_a_transient_error() {
    let aws = LocalAws::shared().expect("local AWS");
    let account = aws.account().await.expect("account");
    let proxy = FaultProxy::start(aws.endpoint_url(), |_, _| Some(Fault::Throttle)).await.expect("proxy");
    let iam = aws_sdk_iam::Client::new(&account.sdk_config_via(&proxy.url).await.expect("config"));
    let policy = RetryPolicy::default().with_max_elapsed(std::time::Duration::from_millis(300));
    let err = retry(&policy, "ListRoles", || iam.list_roles().send()).await.expect_err("always throttled");
    assert_eq!(err.kind, ErrorKind::Transient);
    assert_eq!(err.code.as_deref(), Some("Throttling"));
    assert_eq!(err.to_string(), "ListRoles failed: Throttling: Rate exceeded");
    assert!(proxy.seen("ListRoles") > 1);
    assert_eq!(proxy.forwarded("ListRoles"), 0);
}
