//! `infra drift` over the reference project, through the real binary against a local AWS: a
//! check right after a clean apply of all five layers finds no drift (no noise) and gives a
//! reason for every resource it does not check; then five changes made out of band through
//! the SDK (a security group rule added, a role's inline policy edited, a scaling policy's
//! target value changed, a bucket's versioning suspended, a bucket policy deleted) are
//! reported exactly, with their property differences, and everything else in sync.

mod aws_project;

use aws_project::AwsProject;
use serde_json::Value;
use std::collections::BTreeMap;

const ENV: &str = "dev";

fn run(p: &AwsProject, code: i32, args: &[&str]) -> aws_project::Run {
    let run = p.infra_in(ENV, args);
    assert_eq!(run.code, code, "infra --env {ENV} {}\n{}", args.join(" "), run.both());
    run
}

fn show(p: &AwsProject, layer: &str, logical_id: &str) -> Value {
    let out = run(p, 0, &["--format", "json", "state", "show", &format!("{layer}.{logical_id}")]);
    serde_json::from_str(&out.stdout).expect("state show prints JSON")
}

fn drift(p: &AwsProject, code: i32) -> Value {
    let run = run(p, code, &["--format", "json", "drift"]);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("drift printed no JSON ({e}):\n{}", run.both()))
}

/// `layer.LogicalId` → the resource's result.
fn by_resource(report: &Value) -> BTreeMap<String, Value> {
    let resources = report["resources"].as_array().expect("resources");
    resources
        .iter()
        .map(|r| (format!("{}.{}", r["layer"].as_str().unwrap(), r["logical_id"].as_str().unwrap()), r.clone()))
        .collect()
}

fn paths(result: &Value) -> Vec<String> {
    let differences = result["differences"].as_array().cloned().unwrap_or_default();
    differences.iter().map(|d| d["path"].as_str().unwrap().to_string()).collect()
}

#[test]
fn drift_reports_exactly_what_changed_out_of_band() {
    let p = AwsProject::reference();
    run(&p, 0, &["apply", "--auto-approve"]);

    // Right after a clean apply: nothing modified, nothing deleted, every unchecked resource
    // with its reason.
    let clean = drift(&p, 0);
    assert_eq!(clean["version"], 1);
    assert_eq!(clean["project"], "mlplatform");
    assert_eq!(clean["env"], "dev");
    assert_eq!(clean["summary"]["modified"], 0, "noise after a clean apply: {clean:#}");
    assert_eq!(clean["summary"]["deleted"], 0, "{clean:#}");
    assert_eq!(clean["summary"]["errors"], 0, "{clean:#}");
    let clean = by_resource(&clean);
    assert!(clean.len() >= 30, "every resource in state is reported: {}", clean.len());
    for (id, r) in &clean {
        if r["status"] == "NOT_CHECKED" {
            assert!(r["reason"].as_str().is_some_and(|s| !s.is_empty()), "{id} is not checked without a reason: {r}");
        }
    }
    let dashboard = &clean["frontend.EndpointDashboard"];
    assert_eq!(dashboard["status"], "NOT_CHECKED", "{dashboard}");
    assert!(dashboard["reason"].as_str().unwrap().contains("drift detection"), "{dashboard}");
    let endpoint = &clean["backend.Endpoint"];
    assert_eq!(endpoint["status"], "IN_SYNC", "{endpoint}");

    // Five changes behind infra's back.
    let config = p.sdk_config();
    let group = show(&p, "network", "EndpointSecurityGroup")["physical_id"].as_str().unwrap().to_string();
    let role = show(&p, "identity", "ExecutionRole")["physical_id"].as_str().unwrap().to_string();
    let bucket = show(&p, "shared", "ModelBucket")["physical_id"].as_str().unwrap().to_string();
    let dashboard_bucket = show(&p, "frontend", "DashboardBucket")["physical_id"].as_str().unwrap().to_string();
    let scaling = show(&p, "backend", "InvocationsScalingPolicy")["properties"].clone();
    let target = show(&p, "backend", "ScalableTarget")["properties"]["ResourceId"].as_str().unwrap().to_string();
    p.runtime.block_on(async {
        let ec2 = aws_sdk_ec2::Client::new(&config);
        ec2.authorize_security_group_ingress()
            .group_id(&group)
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .cidr_ip("0.0.0.0/0")
            .send()
            .await
            .expect("add a rule");
        let iam = aws_sdk_iam::Client::new(&config);
        let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        iam.put_role_policy()
            .role_name(&role)
            .policy_name("read-model-artifacts")
            .policy_document(document)
            .send()
            .await
            .expect("edit an inline policy");
        let s3 = aws_sdk_s3::Client::new(&config);
        suspend_versioning(&s3, &bucket).await;
        s3.delete_bucket_policy().bucket(&dashboard_bucket).send().await.expect("delete a bucket policy");
        let autoscaling = aws_sdk_applicationautoscaling::Client::new(&config);
        let tracking = &scaling["TargetTrackingScalingPolicyConfiguration"];
        let metric = tracking["PredefinedMetricSpecification"]["PredefinedMetricType"].as_str().unwrap();
        use aws_sdk_applicationautoscaling::types as aas;
        autoscaling
            .put_scaling_policy()
            .policy_name(scaling["PolicyName"].as_str().unwrap())
            .service_namespace(aas::ServiceNamespace::Sagemaker)
            .resource_id(&target)
            .scalable_dimension(aas::ScalableDimension::SageMakerVariantDesiredInstanceCount)
            .policy_type(aas::PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(
                aas::TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(555.0)
                    .scale_in_cooldown(300)
                    .scale_out_cooldown(60)
                    .predefined_metric_specification(
                        aas::PredefinedMetricSpecification::builder()
                            .predefined_metric_type(aas::MetricType::from(metric))
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("change a scaling policy's target");
    });

    let report = drift(&p, 2);
    assert_eq!(report["summary"]["modified"], 4, "{report:#}");
    assert_eq!(report["summary"]["deleted"], 1, "{report:#}");
    let results = by_resource(&report);
    let expected: BTreeMap<&str, (&str, &[&str])> = BTreeMap::from([
        ("network.EndpointSecurityGroup", ("MODIFIED", &["SecurityGroupIngress"][..])),
        ("identity.ExecutionRole", ("MODIFIED", &["Policies"][..])),
        ("shared.ModelBucket", ("MODIFIED", &["VersioningConfiguration/Status"][..])),
        (
            "backend.InvocationsScalingPolicy",
            ("MODIFIED", &["TargetTrackingScalingPolicyConfiguration/TargetValue"][..]),
        ),
        ("frontend.DashboardBucketPolicy", ("DELETED", &[][..])),
    ]);
    for (id, r) in &results {
        match expected.get(id.as_str()) {
            Some((status, properties)) => {
                assert_eq!(r["status"], *status, "{id}: {r:#}");
                assert_eq!(paths(r), *properties, "{id}: {r:#}");
            }
            None => assert!(
                r["status"] == "IN_SYNC" || (r["status"] == "NOT_CHECKED" && clean[id]["status"] == "NOT_CHECKED"),
                "{id} should be untouched: {r:#}"
            ),
        }
    }
    let rule = &results["network.EndpointSecurityGroup"]["differences"][0];
    assert_eq!(rule["added"].as_array().map(Vec::len), Some(1), "{rule}");
    assert_eq!(rule["added"][0]["FromPort"].as_i64(), Some(22), "{rule}");
    let versioning = &results["shared.ModelBucket"]["differences"][0];
    assert_eq!((versioning["recorded"].as_str(), versioning["live"].as_str()), (Some("Enabled"), Some("Suspended")));

    // The human report says the same, and drift changed nothing: state is as applied.
    let human = run(&p, 2, &["drift"]);
    assert!(human.stdout.contains("MODIFIED    shared.ModelBucket"), "{}", human.stdout);
    assert!(human.stdout.contains("DELETED     frontend.DashboardBucketPolicy"), "{}", human.stdout);
    assert!(human.stdout.contains("Drift: 4 modified, 1 deleted"), "{}", human.stdout);
    assert_eq!(show(&p, "frontend", "DashboardBucketPolicy")["logical_id"], "DashboardBucketPolicy");
}

async fn suspend_versioning(s3: &aws_sdk_s3::Client, bucket: &str) {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
}

/// Poll `done` every 100 ms until it holds; panic with `what` after a minute.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn scheduled_drift_notifies_once_on_a_change_and_stops_on_sigterm() {
    let p = AwsProject::new(&[(
        "shared",
        "bucket.yaml",
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      VersioningConfiguration:\n        Status: Enabled\n",
    )]);
    p.expect(0, &["apply", "--auto-approve"]);
    let bucket = p.state_show("shared", "Bucket")["physical_id"].as_str().unwrap().to_string();
    let reports = p.path().join("reports");
    let hook_log = p.path().join("hook.log");
    let stdout = p.path().join("drift.out");
    let stderr = p.path().join("drift.err");
    let hook = format!("echo \"$INFRA_DRIFT_STATUS $1\" >> '{}'", hook_log.display());
    let mut child = p
        .command("test", &[], &["drift", "--every", "1s", "--reports", reports.to_str().unwrap(), "--on-drift", &hook])
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("start a scheduled drift check");
    let lines = || std::fs::read_to_string(&stdout).unwrap_or_default();
    let output = || format!("stdout:\n{}\nstderr:\n{}", lines(), std::fs::read_to_string(&stderr).unwrap_or_default());

    wait_until("a first, clean run", || lines().contains("No drift"));
    assert!(!hook_log.exists(), "the hook ran without a change: {}", output());

    let config = p.sdk_config();
    p.runtime.block_on(suspend_versioning(&aws_sdk_s3::Client::new(&config), &bucket));
    // Two drifted runs: the hook is told about the change once, not on every run.
    wait_until("two runs that see the drift", || lines().matches("Drift: 1 modified").count() >= 2);
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("no clean stop within a minute of SIGTERM: {}", output());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(0), "{}", output());
    assert!(std::fs::read_to_string(&stderr).unwrap().contains("Stopped."), "{}", output());

    let calls = std::fs::read_to_string(&hook_log).unwrap();
    let calls: Vec<&str> = calls.lines().collect();
    assert_eq!(calls.len(), 1, "the hook runs once per change: {calls:?}\n{}", output());
    let reported = calls[0].strip_prefix("drift ").unwrap_or_else(|| panic!("{calls:?}"));
    let report: Value = serde_json::from_slice(&std::fs::read(reported).unwrap()).unwrap();
    assert_eq!(report["summary"]["modified"], 1, "{report:#}");
    assert_eq!(report["resources"][0]["status"], "MODIFIED", "{report:#}");
    // Every run left its report, as owner-only as state.
    let kept = std::fs::read_dir(&reports).unwrap().count();
    assert!(kept >= 3, "{kept} reports for at least three runs");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(reported).unwrap().permissions().mode() & 0o777, 0o600);
}
