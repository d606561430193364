//! CloudFormation through the real `infra` binary against a local AWS: a layer with a nested
//! stack (its child template a file of the layer) and two types without a native provider
//! (deployed as managed stacks), whose Ref and GetAtt values flow into a native IAM role;
//! applied, re-planned as a no-op, edited (one in place, one replaced, the child template
//! changed), applied and destroyed, with what AWS holds read back after every step. And a
//! kill while a managed stack is being created: the next apply adopts it.

mod aws_project;

use aws_project::{AwsProject, ENV, TRUST};
use infra_aws::testing::{Fault, FaultProxy};
use std::process::Stdio;
use std::time::{Duration, Instant};

fn main_template(body: &str, queue: &str) -> String {
    format!(
        r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Settings:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: nested/settings.yaml
      Parameters:
        Prefix: !Ref AWS::StackName
  Dashboard:
    Type: AWS::CloudWatch::Dashboard
    Properties:
      DashboardName: e2e-ops
      DashboardBody: '{{"widgets":[{{"type":"text","properties":{{"markdown":"{body}"}}}}]}}'
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: {queue}
  Worker:
    Type: AWS::IAM::Role
    Properties:
      RoleName: e2e-worker
      AssumeRolePolicyDocument:{TRUST}
      Policies:
        - PolicyName: consume
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Effect: Allow
                Action: sqs:ReceiveMessage
                Resource: !GetAtt Jobs.Arn
      Tags:
        - Key: setting
          Value: !GetAtt Settings.Outputs.ParamName
"#
    )
}

fn child_template(value: &str) -> String {
    format!(
        r#"Parameters:
  Prefix:
    Type: String
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub "${{Prefix}}-setting"
      Type: String
      Value: {value}
Outputs:
  ParamName:
    Value: !Ref Param
"#
    )
}

/// Names of the account's stacks that are not deleted.
fn live_stacks(p: &AwsProject) -> Vec<String> {
    let cfn = aws_sdk_cloudformation::Client::new(&p.sdk_config());
    let out = p.runtime.block_on(cfn.list_stacks().send()).expect("ListStacks");
    out.stack_summaries()
        .iter()
        .filter(|s| s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE"))
        .filter_map(|s| s.stack_name().map(str::to_string))
        .collect()
}

/// The worker role's `setting` tag and its inline policy document, or `None` when it is gone.
fn worker(p: &AwsProject) -> Option<(String, String)> {
    let iam = aws_sdk_iam::Client::new(&p.sdk_config());
    let tags = p.runtime.block_on(iam.list_role_tags().role_name("e2e-worker").send()).ok()?;
    let setting = tags.tags().iter().find(|t| t.key() == "setting").map(|t| t.value().to_string()).unwrap_or_default();
    let policy = p
        .runtime
        .block_on(iam.get_role_policy().role_name("e2e-worker").policy_name("consume").send())
        .expect("GetRolePolicy");
    Some((setting, percent_decoded(policy.policy_document())))
}

/// IAM returns policy documents URL-encoded.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn nested_stack_and_fallback_types_feed_a_native_role_through_apply_edit_and_destroy() {
    let p = AwsProject::new(&[("app", "main.yaml", &main_template("one", "e2e-jobs"))]);
    p.write("stacks/app/nested/settings.yaml", &child_template("first"));

    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    for line in [
        "+ AWS::CloudWatch::Dashboard Dashboard (through CloudFormation)",
        "+ AWS::SQS::Queue Jobs (through CloudFormation)",
        "+ AWS::CloudFormation::Stack Settings\n",
        "+ AWS::IAM::Role Worker\n",
        "+ TemplateBody = (the text of stacks/app/nested/settings.yaml, 13 lines)",
    ] {
        assert!(plan.stdout.contains(line), "plan lacks {line:?}:\n{}", plan.both());
    }
    assert!(!plan.stdout.contains("AWS::SSM::Parameter"), "the child template is not dumped:\n{}", plan.stdout);
    let json = p.expect(2, &["plan", "--format", "json", "--detailed-exitcode"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("plan JSON");
    let through: Vec<(String, serde_json::Value)> = json["layers"][0]["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| (c["logical_id"].as_str().unwrap_or_default().to_string(), c["provisioned_through"].clone()))
        .collect();
    for (id, expected) in [
        ("Dashboard", serde_json::json!("CloudFormation")),
        ("Jobs", serde_json::json!("CloudFormation")),
        ("Settings", serde_json::Value::Null),
        ("Worker", serde_json::Value::Null),
    ] {
        assert!(through.contains(&(id.to_string(), expected.clone())), "{id}: {through:?}");
    }

    p.expect(0, &["apply", "-auto-approve"]);
    assert_eq!(live_stacks(&p).len(), 3, "the nested stack and one managed stack per fallback resource");
    let queue_arn = p.attribute("app", "Jobs", "Arn");
    assert_eq!(queue_arn, format!("arn:aws:sqs:us-east-1:{}:e2e-jobs", p.account.account_id));
    assert_eq!(p.state_show("app", "Dashboard")["physical_id"], "e2e-ops", "Ref is the dashboard's name");
    assert_eq!(p.attribute("app", "Settings", "Outputs.ParamName"), "e2e-test-app-setting");
    let (setting, policy) = worker(&p).expect("the role exists");
    assert_eq!(setting, "e2e-test-app-setting", "the nested stack's output reached the role");
    assert!(policy.contains(&queue_arn), "the queue's Arn reached the role's policy: {policy}");
    p.expect(0, &["plan", "--detailed-exitcode"]);

    // Edits: the dashboard in place, the queue renamed (replaced), the child template changed.
    p.write("stacks/app/main.yaml", &main_template("two", "e2e-jobs-v2"));
    p.write("stacks/app/nested/settings.yaml", &child_template("second"));
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    for line in [
        "~ AWS::CloudWatch::Dashboard Dashboard (through CloudFormation)",
        "+/- AWS::SQS::Queue Jobs (through CloudFormation)",
        "~ AWS::CloudFormation::Stack Settings\n",
        "~ TemplateBody = (the text of stacks/app/nested/settings.yaml, changed)",
        "-       Value: first",
        "+       Value: second",
    ] {
        assert!(plan.stdout.contains(line), "plan lacks {line:?}:\n{}", plan.both());
    }
    let dashboard_stack = p.attribute("app", "Dashboard", "infra:StackId");
    let queue_stack = p.attribute("app", "Jobs", "infra:StackId");
    p.expect(0, &["apply", "-auto-approve"]);
    assert_eq!(p.attribute("app", "Dashboard", "infra:StackId"), dashboard_stack, "updated in its own stack");
    assert_ne!(p.attribute("app", "Jobs", "infra:StackId"), queue_stack, "replaced by a new stack");
    let new_arn = p.attribute("app", "Jobs", "Arn");
    assert!(new_arn.ends_with(":e2e-jobs-v2"), "{new_arn}");
    let (_, policy) = worker(&p).expect("the role exists");
    assert!(policy.contains(&new_arn) && !policy.contains(&format!("{queue_arn}\"")), "{policy}");
    let stacks = live_stacks(&p);
    assert_eq!(stacks.len(), 3, "the replaced queue's stack is gone: {stacks:?}");
    let body = p.state_show("app", "Settings")["properties"]["TemplateBody"].clone();
    assert!(body.as_str().is_some_and(|b| b.contains("Value: second")), "{body}");
    p.expect(0, &["plan", "--detailed-exitcode"]);

    p.expect(0, &["destroy", "-auto-approve"]);
    assert!(live_stacks(&p).is_empty(), "no live stack after destroy: {:?}", live_stacks(&p));
    assert!(worker(&p).is_none(), "the native role is gone");
}

#[test]
fn a_kill_while_a_managed_stack_is_created_is_adopted_by_the_next_apply() {
    // A dashboard: moto gives all of its attributes, so its first CreateStack is the one.
    let template = "Resources:\n  Board:\n    Type: AWS::CloudWatch::Dashboard\n    Properties:\n      DashboardName: e2e-crash\n      DashboardBody: '{\"widgets\":[]}'\n";
    let p = AwsProject::new(&[("app", "main.yaml", template)]);
    let aim = p
        .runtime
        .block_on(FaultProxy::start(&p.account.endpoint_url, |action, _| {
            (action == "CreateStack").then_some(Fault::ForwardThenHold)
        }))
        .expect("proxy");
    p.set_endpoint(&aim.url);
    let mut child = p
        .command(ENV, &[], &["apply", "-auto-approve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn infra");
    let deadline = Instant::now() + Duration::from_secs(120);
    while aim.held_answered() == 0 {
        assert!(child.try_wait().expect("poll").is_none(), "infra exited before its CreateStack was carried out");
        assert!(Instant::now() < deadline, "CreateStack was not carried out in 2 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill infra");
    let _ = child.wait();
    while aim.in_flight() > 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    p.set_endpoint(&p.account.endpoint_url);
    assert!(p.has_journal(), "the kill left the create's intent open");
    assert_eq!(live_stacks(&p).len(), 1, "the stack was made before the kill");

    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    assert!(plan.stdout.contains("the interrupted create took effect: adopt"), "{}", plan.both());
    p.expect(0, &["apply", "-auto-approve"]);
    assert_eq!(live_stacks(&p).len(), 1, "adopted, not created twice");
    assert_eq!(p.state_show("app", "Board")["physical_id"], "e2e-crash");
    p.expect(0, &["plan", "--detailed-exitcode"]);
    p.expect(0, &["destroy", "-auto-approve"]);
    assert!(live_stacks(&p).is_empty());
}
