//! The reference project (`infra.toml` and `stacks/` of this repository), all five layers and
//! both environments, through the real binary against a local AWS: apply, a no-op plan, an
//! edit in every layer (the backend's a new model version, which rolls the endpoint), apply,
//! a no-op plan again, destroy; and then the account holds nothing of the project, listed kind
//! by kind (`scripts/inventory.py`) and compared with what the fresh account held.

mod aws_project;

use aws_project::{AwsProject, Run};

const ENVIRONMENTS: &[&str] = &["dev", "prod"];

/// One edit per layer: (layer, file, text to find, replacement, what the plan must show).
const EDITS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "identity",
        "execution-role.yaml",
        "              - logs:DescribeLogStreams\n",
        "              - logs:DescribeLogStreams\n              - logs:GetLogEvents\n",
        "# ObservabilityPolicy will be updated in-place",
    ),
    (
        "network",
        "vpc.yaml",
        "          Description: HTTPS from the VPC\n",
        "          Description: HTTPS from inside the VPC\n",
        "# EndpointSecurityGroup will be updated in-place",
    ),
    ("shared", "artifacts.yaml", "    Default: 90\n", "    Default: 30\n", "# ModelBucket will be updated in-place"),
    ("backend", "endpoint.yaml", "    Default: \"1\"\n", "    Default: \"2\"\n", "# Endpoint will be updated in-place"),
    (
        "frontend",
        "dashboard.yaml",
        "\"title\": \"Model latency\"",
        "\"title\": \"Model latency (p90)\"",
        "# EndpointDashboard will be updated in-place",
    ),
];

fn run(p: &AwsProject, env: &str, code: i32, args: &[&str]) -> Run {
    let run = p.infra_in(env, args);
    assert_eq!(run.code, code, "infra --env {env} {}\n{}", args.join(" "), run.both());
    run
}

fn attribute(p: &AwsProject, env: &str, layer: &str, logical_id: &str, name: &str) -> String {
    let out = run(p, env, 0, &["--format", "json", "state", "show", &format!("{layer}.{logical_id}")]);
    let record: serde_json::Value = serde_json::from_str(&out.stdout).expect("state show prints JSON");
    record["attributes"][name].as_str().unwrap_or_else(|| panic!("no {name} for {layer}.{logical_id}: {record}")).into()
}

#[test]
fn the_reference_project_deploys_updates_and_is_destroyed_without_leftovers() {
    let p = AwsProject::reference();
    let fresh = p.inventory();

    run(&p, "dev", 0, &["validate"]);
    for env in ENVIRONMENTS {
        let plan = run(&p, env, 2, &["plan", "--detailed-exitcode"]);
        assert!(
            plan.stdout.contains("through CloudFormation"),
            "the dashboard's provisioning is shown:\n{}",
            plan.both()
        );
        run(&p, env, 0, &["apply", "-auto-approve"]);
        run(&p, env, 0, &["plan", "--detailed-exitcode"]);
    }
    let deployed = p.inventory();
    for kind in ["iam roles", "ec2 vpcs", "ec2 nat gateways", "ec2 vpc endpoints", "s3 buckets", "ecr repositories"] {
        assert!(deployed[kind].len() >= 2, "both environments made {kind}: {:?}", deployed[kind]);
    }
    for kind in ["sagemaker endpoints", "cloudformation stacks", "cloudwatch dashboards"] {
        assert_eq!(deployed[kind].len(), 2, "one of {kind} per environment: {:?}", deployed[kind]);
    }

    // Parameters are strings; state records what the schema asks for, as CloudFormation sends.
    let config = run(&p, "prod", 0, &["--format", "json", "state", "show", "backend.EndpointConfig"]);
    let config: serde_json::Value = serde_json::from_str(&config.stdout).expect("state show prints JSON");
    assert_eq!(config["properties"]["ProductionVariants"][0]["InitialInstanceCount"], serde_json::json!(2));
    let target = run(&p, "prod", 0, &["--format", "json", "state", "show", "backend.ScalableTarget"]);
    let target: serde_json::Value = serde_json::from_str(&target.stdout).expect("state show prints JSON");
    assert_eq!(
        (&target["properties"]["MinCapacity"], &target["properties"]["MaxCapacity"]),
        (&serde_json::json!(2), &serde_json::json!(8))
    );

    let before: Vec<(String, String)> = ENVIRONMENTS
        .iter()
        .map(|env| {
            (
                attribute(&p, env, "backend", "Endpoint", "EndpointName"),
                attribute(&p, env, "backend", "EndpointConfig", "EndpointConfigName"),
            )
        })
        .collect();

    for (layer, file, from, to, _) in EDITS {
        let path = format!("stacks/{layer}/{file}");
        let text = std::fs::read_to_string(p.path().join(&path)).expect("read template");
        assert_eq!(text.matches(from).count(), 1, "{path} holds {from:?} once");
        p.write(&path, &text.replace(from, to));
    }
    for env in ENVIRONMENTS {
        let plan = run(&p, env, 2, &["plan", "--detailed-exitcode"]);
        for (layer, _, _, _, shown) in EDITS {
            assert!(plan.stdout.contains(shown), "the {layer} edit plans `{shown}` in {env}:\n{}", plan.both());
        }
        run(&p, env, 0, &["apply", "-auto-approve"]);
        run(&p, env, 0, &["plan", "--detailed-exitcode"]);
    }

    let sagemaker = aws_sdk_sagemaker::Client::new(&p.sdk_config());
    for (env, (endpoint, old_config)) in ENVIRONMENTS.iter().zip(&before) {
        assert_eq!(&attribute(&p, env, "backend", "Endpoint", "EndpointName"), endpoint, "{env}: the endpoint is kept");
        let new_config = attribute(&p, env, "backend", "EndpointConfig", "EndpointConfigName");
        assert_ne!(&new_config, old_config, "{env}: a new endpoint configuration");
        let live = p.runtime.block_on(sagemaker.describe_endpoint().endpoint_name(endpoint).send()).expect("endpoint");
        assert_eq!(live.endpoint_config_name(), Some(new_config.as_str()), "{env}: the endpoint runs the new config");
        assert_eq!(live.endpoint_status().map(|s| s.as_str()), Some("InService"));
        let model = attribute(&p, env, "backend", "Model", "ModelName");
        let model = p.runtime.block_on(sagemaker.describe_model().model_name(&model).send()).expect("model");
        let image = model.primary_container().and_then(|c| c.image()).unwrap_or_default();
        assert!(image.ends_with(":2"), "{env}: the model serves version 2: {image}");
        let old = p.runtime.block_on(sagemaker.describe_endpoint_config().endpoint_config_name(old_config).send());
        assert!(old.is_err(), "{env}: the old configuration is deleted");
    }

    for env in ENVIRONMENTS.iter().rev() {
        run(&p, env, 0, &["destroy", "-auto-approve"]);
    }
    assert_eq!(p.inventory(), fresh, "nothing of the project is left in the account");
}
