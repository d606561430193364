//! Equivalence with CloudFormation: the seed SageMaker template, applied by `infra` and created
//! as a stack by the local AWS's own CloudFormation in the same account, must leave the same
//! resources behind when read back through the service APIs — generated names and ARNs apart.

mod aws_project;

use aws_project::AwsProject;
use serde_json::{json, Value};

const SEED: &str = include_str!("fixtures/seed/sagemaker-endpoint-fixed.json");

/// Names of the four resources of one deployment of the seed template.
#[derive(Debug)]
struct Deployed {
    role: String,
    model: String,
    endpoint_config: String,
    endpoint: String,
}

/// A SageMaker physical ID is an ARN (`arn:...:model/NAME`) or a name; the APIs want the name.
fn name_of(physical_id: &str) -> String {
    if physical_id.starts_with("arn:") {
        physical_id.rsplit('/').next().unwrap_or(physical_id).to_string()
    } else {
        physical_id.to_string()
    }
}

/// IAM returns policy documents URL-encoded.
fn policy_json(document: &str) -> Value {
    let mut bytes = Vec::new();
    let raw = document.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (raw[i], hex) {
            (b'%', Some(b)) => {
                bytes.push(b);
                i += 3;
            }
            (c, _) => {
                bytes.push(c);
                i += 1;
            }
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    serde_json::from_str(&text)
        // The local AWS's CloudFormation stores a role's inline policies as a Python dict's
        // repr (`{'Version': ...}`); read that too, so the comparison is about content.
        .or_else(|_| serde_json::from_str(&text.replace('\'', "\"")))
        .unwrap_or_else(|e| panic!("policy document is not JSON ({e}): {text}"))
}

/// What AWS holds for a deployment, with its own generated names replaced by placeholders.
fn read_back(p: &AwsProject, d: &Deployed) -> Value {
    let config = p.sdk_config();
    let iam = aws_sdk_iam::Client::new(&config);
    let sagemaker = aws_sdk_sagemaker::Client::new(&config);
    let rt = &p.runtime;

    let role = rt.block_on(iam.get_role().role_name(&d.role).send()).expect("GetRole").role.expect("role returned");
    let role_arn = role.arn().to_string();
    let names = rt.block_on(iam.list_role_policies().role_name(&d.role).send()).expect("ListRolePolicies");
    let mut inline = serde_json::Map::new();
    for name in names.policy_names() {
        let doc =
            rt.block_on(iam.get_role_policy().role_name(&d.role).policy_name(name).send()).expect("GetRolePolicy");
        inline.insert(name.clone(), policy_json(&doc.policy_document));
    }
    let attached = rt.block_on(iam.list_attached_role_policies().role_name(&d.role).send()).expect("attached policies");
    let attached: Vec<_> = attached.attached_policies().iter().filter_map(|a| a.policy_arn()).collect();

    let model = rt.block_on(sagemaker.describe_model().model_name(&d.model).send()).expect("DescribeModel");
    let same = |actual: Option<&str>, expected: &str, placeholder: &str| match actual {
        Some(a) if a == expected => placeholder.to_string(),
        other => format!("{other:?}"),
    };
    let ec = rt
        .block_on(sagemaker.describe_endpoint_config().endpoint_config_name(&d.endpoint_config).send())
        .expect("DescribeEndpointConfig");
    let variants: Vec<Value> = ec
        .production_variants()
        .iter()
        .map(|v| {
            json!({
                "VariantName": same(v.variant_name(), &d.model, "<Model.ModelName>"),
                "ModelName": same(v.model_name(), &d.model, "<Model.ModelName>"),
                "InstanceType": v.instance_type().map(|t| t.as_str().to_string()),
                "InitialInstanceCount": v.initial_instance_count(),
                "InitialVariantWeight": v.initial_variant_weight(),
            })
        })
        .collect();
    let endpoint =
        rt.block_on(sagemaker.describe_endpoint().endpoint_name(&d.endpoint).send()).expect("DescribeEndpoint");
    let endpoint_variants: Vec<Value> = endpoint
        .production_variants()
        .iter()
        .map(|v| {
            json!({
                "VariantName": same(v.variant_name(), &d.model, "<Model.ModelName>"),
                "CurrentWeight": v.current_weight(),
                "DesiredWeight": v.desired_weight(),
                "CurrentInstanceCount": v.current_instance_count(),
                "DesiredInstanceCount": v.desired_instance_count(),
            })
        })
        .collect();

    json!({
        "role": {
            "Path": role.path(),
            "AssumeRolePolicyDocument": role.assume_role_policy_document().map(policy_json),
            "Policies": inline,
            "ManagedPolicyArns": attached,
        },
        "model": {
            "Image": model.primary_container().and_then(|c| c.image()),
            "ExecutionRoleArn": same(model.execution_role_arn(), &role_arn, "<ExecutionRole.Arn>"),
            "Containers": model.containers().len(),
        },
        "endpoint_config": { "ProductionVariants": variants },
        "endpoint": {
            "EndpointStatus": endpoint.endpoint_status().map(|s| s.as_str().to_string()),
            "EndpointConfigName": same(endpoint.endpoint_config_name(), &d.endpoint_config, "<EndpointConfig.EndpointConfigName>"),
            "ProductionVariants": endpoint_variants,
        },
    })
}

#[test]
fn the_seed_template_through_infra_and_through_cloudformation_builds_the_same_resources() {
    let p = AwsProject::new(&[("backend", "sagemaker-endpoint.json", SEED)]);

    p.expect(0, &["apply", "-auto-approve"]);
    let attribute = |id: &str, name: &str| p.attribute("backend", id, name);
    let by_infra = Deployed {
        // A role's physical ID is its name.
        role: p.state_show("backend", "ExecutionRole")["physical_id"].as_str().unwrap_or_default().to_string(),
        model: attribute("Model", "ModelName"),
        endpoint_config: attribute("EndpointConfig", "EndpointConfigName"),
        endpoint: attribute("Endpoint", "EndpointName"),
    };

    let cfn = aws_sdk_cloudformation::Client::new(&p.sdk_config());
    let created = p.runtime.block_on(
        cfn.create_stack()
            .stack_name("seed")
            .template_body(SEED)
            .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
            .send(),
    );
    created.unwrap_or_else(|e| panic!("CreateStack failed: {:?}", e.into_service_error()));
    // Waiting for a state, not for a time: the deadline only turns a hang into a failure.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut status = String::new();
    while std::time::Instant::now() < deadline {
        let stacks = p.runtime.block_on(cfn.describe_stacks().stack_name("seed").send()).expect("DescribeStacks");
        status =
            stacks.stacks().first().and_then(|s| s.stack_status()).map(|s| s.as_str().to_string()).unwrap_or_default();
        if !status.ends_with("IN_PROGRESS") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(status, "CREATE_COMPLETE");
    let resources = p.runtime.block_on(cfn.describe_stack_resources().stack_name("seed").send()).expect("resources");
    let physical = |id: &str| {
        let r = resources.stack_resources().iter().find(|r| r.logical_resource_id() == Some(id));
        name_of(r.and_then(|r| r.physical_resource_id()).unwrap_or_else(|| panic!("the stack has no {id}")))
    };
    let by_cloudformation = Deployed {
        role: physical("ExecutionRole"),
        model: physical("Model"),
        endpoint_config: physical("EndpointConfig"),
        endpoint: physical("Endpoint"),
    };
    assert_ne!(by_infra.role, by_cloudformation.role, "two deployments, not one read twice");

    let ours = read_back(&p, &by_infra);
    let theirs = read_back(&p, &by_cloudformation);
    assert_eq!(
        ours,
        theirs,
        "infra (left) and CloudFormation (right) differ:\n{}\n---\n{}",
        serde_json::to_string_pretty(&ours).unwrap_or_default(),
        serde_json::to_string_pretty(&theirs).unwrap_or_default()
    );
    // What was compared, for the record; both really are the seed's deployment.
    insta::assert_json_snapshot!("seed_read_back", ours);
    assert_eq!(ours["model"]["Image"], "12345678901.dkr.ecr.us-east-1.amazonaws.com/mymodel:latest");
    assert_eq!(ours["model"]["ExecutionRoleArn"], "<ExecutionRole.Arn>");
    assert_eq!(ours["endpoint"]["EndpointConfigName"], "<EndpointConfig.EndpointConfigName>");
    assert_eq!(ours["endpoint_config"]["ProductionVariants"][0]["InstanceType"], "ml.t2.large");
    assert_eq!(ours["role"]["Policies"]["root"]["Statement"][0]["Action"], "*");

    p.expect(0, &["destroy", "-auto-approve"]);
    p.runtime.block_on(cfn.delete_stack().stack_name("seed").send()).expect("DeleteStack");
}
