//! Retries seen from the command line: an endpoint where nothing listens fails at once and
//! says which address it tried, and a call that is retried says so, once, on stderr.

mod aws_project;

use aws_project::{AwsProject, ENV, PROJECT};
use infra_aws::testing::{Fault, FaultProxy};
use std::time::{Duration, Instant};

const ROLE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: retry-app-role
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: { Service: sagemaker.amazonaws.com }
            Action: sts:AssumeRole
"#;

/// infra.toml for the one-layer project, with the environment's extra `settings` lines.
fn settings(settings: &str) -> String {
    format!(
        "[project]\nname = \"{PROJECT}\"\nregion = \"us-east-1\"\nlayers = [\"identity\"]\n\n[state]\npath = \"state\"\n\n\
         [environments.{ENV}]\n{settings}\n"
    )
}

/// Lines of `text` that contain `needle`.
fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

/// A port on the loopback interface where nothing listens: bound, then let go.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind");
    listener.local_addr().expect("address").port()
}

#[test]
fn a_closed_endpoint_fails_at_once_and_names_its_address() {
    let project = AwsProject::new(&[("identity", "role.yaml", ROLE)]);
    let port = closed_port();
    project.write("infra.toml", &settings(&format!("endpoint_url = \"http://127.0.0.1:{port}\"")));
    let started = Instant::now();
    let run = project.infra(&["plan"]);
    let took = started.elapsed();
    // Without failing fast, the default retry_timeout would keep this call going for 5 minutes.
    assert!(took < Duration::from_secs(10), "plan took {took:?}\n{}", run.both());
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains(&format!("127.0.0.1:{port}")), "{}", run.both());
    assert!(run.stderr.contains("connection refused"), "{}", run.both());
    assert!(run.stderr.contains("endpoint_url") && run.stderr.contains("AWS_ENDPOINT_URL"), "{}", run.both());
    assert!(!run.stderr.contains("note:"), "a refusal is not retried, so nothing is noticed:\n{}", run.both());
    assert!(run.stdout.is_empty(), "{}", run.both());
}

#[test]
fn a_retried_call_says_so_once() {
    let project = AwsProject::new(&[("identity", "role.yaml", ROLE)]);
    let upstream = project.account.endpoint_url.clone();
    let proxy = project
        .runtime
        .block_on(FaultProxy::start(&upstream, |action, nth| {
            (matches!(action, "GetCallerIdentity" | "CreateRole") && nth <= 3).then_some(Fault::Unavailable)
        }))
        .expect("proxy");
    project.write("infra.toml", &settings(&format!("endpoint_url = \"{}\"\nretry_timeout = \"2m\"", proxy.url)));

    let run = project.infra_with(ENV, &[("INFRA_RETRY_TIMEOUT", "90s")], &["apply", "-auto-approve"]);
    assert_eq!(run.code, 0, "{}", run.both());
    let notes = lines_with(&run.stderr, "note:");
    assert_eq!(
        lines_with(
            &run.stderr,
            "note: GetCallerIdentity: ServiceUnavailable: Service is unavailable; retrying for up to 1m 30s"
        ),
        vec!["note: GetCallerIdentity: ServiceUnavailable: Service is unavailable; retrying for up to 1m 30s"],
        "one note for the account lookup:\n{}",
        run.both()
    );
    assert_eq!(
        lines_with(&run.stderr, "note: CreateRole:"),
        vec!["note: CreateRole: ServiceUnavailable: Service is unavailable; retrying for up to 1m 30s"],
        "one note for the create, not one per attempt:\n{}",
        run.both()
    );
    assert_eq!(notes.len(), 2, "{}", run.both());
    // Every faulted attempt was made, and the last went through.
    assert_eq!(proxy.seen("CreateRole"), 4);
    assert_eq!(proxy.forwarded("CreateRole"), 1);

    // Without the variable, the environment's retry_timeout is the limit.
    let proxy = project
        .runtime
        .block_on(FaultProxy::start(&upstream, |action, nth| {
            (action == "GetCallerIdentity" && nth == 1).then_some(Fault::Throttle)
        }))
        .expect("proxy");
    project.write("infra.toml", &settings(&format!("endpoint_url = \"{}\"\nretry_timeout = \"2m\"", proxy.url)));
    let run = project.infra(&["plan"]);
    assert_eq!(run.code, 0, "{}", run.both());
    assert_eq!(
        lines_with(&run.stderr, "note:"),
        vec!["note: GetCallerIdentity: Throttling: Rate exceeded; retrying for up to 2m"],
        "{}",
        run.both()
    );
}

#[test]
fn a_bad_retry_timeout_is_refused() {
    let project = AwsProject::new(&[("identity", "role.yaml", ROLE)]);
    let endpoint = project.account.endpoint_url.clone();
    project.write("infra.toml", &settings(&format!("endpoint_url = \"{endpoint}\"\nretry_timeout = \"soon\"")));
    let run = project.infra(&["plan"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(
        run.stderr.contains("error[E5013]: `environments.test.retry_timeout` is not a duration: `soon`"),
        "{}",
        run.both()
    );

    project.write("infra.toml", &settings(&format!("endpoint_url = \"{endpoint}\"")));
    let run = project.infra_with(ENV, &[("INFRA_RETRY_TIMEOUT", "10 parsecs")], &["plan"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("INFRA_RETRY_TIMEOUT: `10 parsecs` is not a duration"), "{}", run.both());
}
