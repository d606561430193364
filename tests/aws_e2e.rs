//! The CLI end to end against a local AWS: every native resource type applied, re-planned as
//! a no-op, updated (in place and by replacement) and destroyed by the real `infra` binary,
//! with what AWS holds read back through the SDK after every step.

mod aws_project;

use aws_project::{AwsProject, Run, TRUST};
use aws_sdk_iam::error::ProvideErrorMetadata;

/// The identity template with every IAM type; `{description}`, `{team}` and `{actions}` vary.
const IAM_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: e2e-app-role
      Description: {description}
      AssumeRolePolicyDocument:{trust}
      Policies:
        - PolicyName: read-data
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - Sid: ReadData
                Effect: Allow
                Action: [{actions}]
                Resource: arn:aws:s3:::e2e-data/*
      Tags:
        - Key: team
          Value: {team}
  ExtraPolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [!Ref AppRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: cloudwatch:PutMetricData
            Resource: "*"
  Observability:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: e2e-observability
      Roles: [!Ref AppRole]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Action: logs:PutLogEvents
            Resource: "*"
  Profile:
    Type: AWS::IAM::InstanceProfile
    Properties:
      InstanceProfileName: e2e-profile
      Roles: [!Ref AppRole]
Outputs:
  RoleArn:
    Value: !GetAtt AppRole.Arn
"#;

fn iam_template(description: &str, team: &str, actions: &str) -> String {
    IAM_TEMPLATE
        .replace("{description}", description)
        .replace("{team}", team)
        .replace("{actions}", actions)
        .replace("{trust}", TRUST)
}

/// The lines of a plan that mention `needle`, for assertion messages that show the context.
fn lines_with<'a>(run: &'a Run, needle: &str) -> Vec<&'a str> {
    run.stdout.lines().filter(|l| l.contains(needle)).collect()
}

/// Whether the plan marks resource `logical_id` with `marker` (`+`, `~`, `-/+`, ...).
fn marked(run: &Run, marker: &str, logical_id: &str) -> bool {
    run.stdout.lines().any(|l| {
        let l = l.trim();
        l.starts_with(&format!("{marker} ")) && l.ends_with(&format!(" {logical_id}"))
    })
}

/// The error code of a failed SDK call (`NoSuchEntity`, `ValidationException`, ...).
fn error_code<E, R>(result: Result<impl Sized, aws_sdk_iam::error::SdkError<E, R>>) -> String
where
    E: ProvideErrorMetadata,
{
    match result {
        Ok(_) => "no error: the resource still exists".to_string(),
        Err(e) => e.code().unwrap_or("an error without a code").to_string(),
    }
}

#[test]
fn iam_types_apply_update_in_place_show_a_policy_diff_and_destroy() {
    let p = AwsProject::new(&[("identity", "roles.yaml", &iam_template("first", "ml", "s3:GetObject"))]);
    let iam = aws_sdk_iam::Client::new(&p.sdk_config());

    p.expect(0, &["apply", "-auto-approve"]);
    p.expect(0, &["plan", "--detailed-exitcode"]);

    let role = p.runtime.block_on(iam.get_role().role_name("e2e-app-role").send()).expect("role exists").role;
    let role = role.expect("GetRole returns the role");
    assert_eq!(role.description(), Some("first"));
    let inline = p.runtime.block_on(iam.list_role_policies().role_name("e2e-app-role").send()).expect("list inline");
    let mut names = inline.policy_names().to_vec();
    names.sort();
    assert_eq!(names, ["extra", "read-data"]);
    let attached =
        p.runtime.block_on(iam.list_attached_role_policies().role_name("e2e-app-role").send()).expect("list attached");
    let attached: Vec<_> = attached.attached_policies().iter().filter_map(|a| a.policy_name()).collect();
    assert_eq!(attached, ["e2e-observability"]);
    let profile = p.runtime.block_on(iam.get_instance_profile().instance_profile_name("e2e-profile").send());
    let profile = profile.expect("instance profile exists").instance_profile.expect("profile returned");
    let roles: Vec<_> = profile.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(roles, ["e2e-app-role"]);

    // Description and tags are updatable: an in-place update, and nothing replaced.
    p.write("stacks/identity/roles.yaml", &iam_template("second", "platform", "s3:GetObject"));
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    assert!(marked(&plan, "~", "AppRole"), "{}", plan.both());
    assert!(plan.stdout.contains("will be updated in-place"), "{}", plan.both());
    assert!(!plan.stdout.contains("forces replacement"), "{}", plan.both());
    assert!(plan.stdout.contains("0 to add, 1 to change, 0 to replace, 0 to destroy"), "{}", plan.both());
    p.expect(0, &["apply", "-auto-approve"]);
    let after = p.runtime.block_on(iam.get_role().role_name("e2e-app-role").send()).expect("role exists");
    let after = after.role.expect("GetRole returns the role");
    assert_eq!(after.description(), Some("second"));
    let tags: Vec<_> = after.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [("team", "platform")]);
    assert_eq!(after.arn(), role.arn(), "an in-place update keeps the role");
    p.expect(0, &["plan", "--detailed-exitcode"]);

    // A policy change is shown as a diff of the document, not as two opaque blobs.
    p.write("stacks/identity/roles.yaml", &iam_template("second", "platform", "s3:GetObject, s3:ListBucket"));
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    insta::assert_snapshot!("iam_policy_diff", p.redact(&plan.stdout));
    p.expect(0, &["apply", "-auto-approve"]);
    let document = p.runtime.block_on(iam.get_role_policy().role_name("e2e-app-role").policy_name("read-data").send());
    let document = document.expect("inline policy exists").policy_document;
    let document = decode_policy(&document);
    assert_eq!(document["Statement"][0]["Action"], serde_json::json!(["s3:GetObject", "s3:ListBucket"]));

    p.expect(0, &["destroy", "-auto-approve"]);
    assert_eq!(error_code(p.runtime.block_on(iam.get_role().role_name("e2e-app-role").send())), "NoSuchEntity");
    assert_eq!(
        error_code(p.runtime.block_on(iam.get_instance_profile().instance_profile_name("e2e-profile").send())),
        "NoSuchEntity"
    );
    let policy_arn = format!("arn:aws:iam::{}:policy/e2e-observability", p.account.account_id);
    assert_eq!(error_code(p.runtime.block_on(iam.get_policy().policy_arn(policy_arn).send())), "NoSuchEntity");
}

/// IAM returns policy documents URL-encoded.
fn decode_policy(document: &str) -> serde_json::Value {
    let decoded = percent_decode(document);
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("policy document is not JSON ({e}): {decoded}"))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A role and a model using it; `{image}` varies.
const MODEL_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:{trust}
  Model:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !GetAtt Role.Arn
      PrimaryContainer:
        Image: {image}
      Tags:
        - Key: team
          Value: ml
"#;

#[test]
fn a_create_only_change_replaces_the_model_and_arns_are_known_after_apply() {
    let template = |image: &str| MODEL_TEMPLATE.replace("{trust}", TRUST).replace("{image}", image);
    let first = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1";
    let second = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:2";
    let p = AwsProject::new(&[("backend", "model.yaml", &template(first))]);
    let sagemaker = aws_sdk_sagemaker::Client::new(&p.sdk_config());

    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    let role_arn_lines = lines_with(&plan, "ExecutionRoleArn");
    assert!(
        role_arn_lines.iter().any(|l| l.contains("(known after apply)")),
        "the role ARN feeding the model is unknown before apply:\n{}",
        plan.both()
    );

    p.expect(0, &["apply", "-auto-approve"]);
    p.expect(0, &["plan", "--detailed-exitcode"]);
    let role = p.state_show("backend", "Role");
    let role_arn = role["attributes"]["Arn"].as_str().unwrap_or_else(|| panic!("no Arn in state: {role}")).to_string();
    assert!(role_arn.starts_with(&format!("arn:aws:iam::{}:role/", p.account.account_id)), "{role_arn}");
    let model_name = p.attribute("backend", "Model", "ModelName");
    let described =
        p.runtime.block_on(sagemaker.describe_model().model_name(&model_name).send()).expect("model exists");
    assert_eq!(described.execution_role_arn(), Some(role_arn.as_str()));
    assert_eq!(described.primary_container().and_then(|c| c.image()), Some(first));

    // The image is create-only: a new model replaces the old one.
    p.write("stacks/backend/model.yaml", &template(second));
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    // A generated name lets the new model exist beside the old one: create before destroy.
    assert!(marked(&plan, "-/+", "Model") || marked(&plan, "+/-", "Model"), "{}", plan.both());
    let forcing = lines_with(&plan, "# forces replacement");
    assert!(
        forcing.iter().any(|l| l.contains("PrimaryContainer")),
        "the image forces the replacement:\n{}",
        plan.both()
    );
    assert!(plan.stdout.contains(&format!("-   \"Image\": \"{first}\"")), "{}", plan.both());
    assert!(plan.stdout.contains(&format!("+   \"Image\": \"{second}\"")), "{}", plan.both());
    assert!(plan.stdout.contains("0 to add, 0 to change, 1 to replace, 0 to destroy"), "{}", plan.both());
    p.expect(0, &["apply", "-auto-approve"]);
    let new_name = p.attribute("backend", "Model", "ModelName");
    assert_ne!(new_name, model_name, "the model was replaced");
    let described = p.runtime.block_on(sagemaker.describe_model().model_name(&new_name).send()).expect("new model");
    assert_eq!(described.primary_container().and_then(|c| c.image()), Some(second));
    assert_eq!(described.execution_role_arn(), Some(role_arn.as_str()));
    let old = p.runtime.block_on(sagemaker.describe_model().model_name(&model_name).send());
    assert!(old.is_err(), "the replaced model is deleted");
    p.expect(0, &["plan", "--detailed-exitcode"]);

    p.expect(0, &["destroy", "-auto-approve"]);
    assert!(p.runtime.block_on(sagemaker.describe_model().model_name(&new_name).send()).is_err());
    let iam = aws_sdk_iam::Client::new(&p.sdk_config());
    let role_name = role_arn.rsplit('/').next().unwrap_or_default().to_string();
    assert_eq!(error_code(p.runtime.block_on(iam.get_role().role_name(role_name).send())), "NoSuchEntity");
}

/// Every SageMaker and Application Auto Scaling type, serving one model; `{max}`, `{target}`
/// and `{owner}` vary (none of them touches the endpoint configuration; the rollout has a test
/// of its own below).
const SERVING_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:{trust}
  Model:
    Type: AWS::SageMaker::Model
    Properties:
      ExecutionRoleArn: !GetAtt Role.Arn
      PrimaryContainer:
        Image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1
  EndpointConfig:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          ModelName: !GetAtt Model.ModelName
          InstanceType: ml.t2.medium
          InitialInstanceCount: 1
          InitialVariantWeight: 1
  Endpoint:
    Type: AWS::SageMaker::Endpoint
    Properties:
      EndpointConfigName: !GetAtt EndpointConfig.EndpointConfigName
  # Destroy keeps it, as CloudFormation does with Retain.
  Registry:
    Type: AWS::SageMaker::ModelPackageGroup
    DeletionPolicy: Retain
    Properties:
      ModelPackageGroupName: e2e-models
      ModelPackageGroupDescription: models served by the e2e endpoint
      Tags:
        - Key: owner
          Value: {owner}
  ScalableTarget:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      ServiceNamespace: sagemaker
      ResourceId: !Sub "endpoint/${Endpoint.EndpointName}/variant/AllTraffic"
      ScalableDimension: sagemaker:variant:DesiredInstanceCount
      MinCapacity: 1
      MaxCapacity: {max}
  ScalingPolicy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      PolicyName: e2e-invocations
      PolicyType: TargetTrackingScaling
      ScalingTargetId: !Ref ScalableTarget
      TargetTrackingScalingPolicyConfiguration:
        TargetValue: {target}
        PredefinedMetricSpecification:
          PredefinedMetricType: SageMakerVariantInvocationsPerInstance
Outputs:
  EndpointName:
    Value: !GetAtt Endpoint.EndpointName
"#;

#[test]
fn sagemaker_and_autoscaling_types_apply_update_in_place_and_destroy() {
    let template = |max: u32, target: u32, owner: &str| {
        SERVING_TEMPLATE
            .replace("{trust}", TRUST)
            .replace("{max}", &max.to_string())
            .replace("{target}", &target.to_string())
            .replace("{owner}", owner)
    };
    let p = AwsProject::new(&[("backend", "serving.yaml", &template(2, 100, "ml"))]);
    let config = p.sdk_config();
    let sagemaker = aws_sdk_sagemaker::Client::new(&config);
    let scaling = aws_sdk_applicationautoscaling::Client::new(&config);
    let namespace = aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker;

    p.expect(0, &["apply", "-auto-approve"]);
    p.expect(0, &["plan", "--detailed-exitcode"]);

    let endpoint_name = p.attribute("backend", "Endpoint", "EndpointName");
    let endpoint = p
        .runtime
        .block_on(sagemaker.describe_endpoint().endpoint_name(&endpoint_name).send())
        .expect("endpoint exists");
    assert_eq!(endpoint.endpoint_status().map(|s| s.as_str()), Some("InService"));
    let config_name = endpoint.endpoint_config_name().expect("endpoint names its config").to_string();
    let described = p.runtime.block_on(sagemaker.describe_endpoint_config().endpoint_config_name(&config_name).send());
    let variants = described.expect("endpoint config exists").production_variants().to_vec();
    let model_name = p.attribute("backend", "Model", "ModelName");
    assert_eq!(variants.len(), 1);
    assert_eq!(variants[0].model_name(), Some(model_name.as_str()));
    let group =
        p.runtime.block_on(sagemaker.describe_model_package_group().model_package_group_name("e2e-models").send());
    assert_eq!(
        group.expect("group exists").model_package_group_description(),
        Some("models served by the e2e endpoint")
    );
    let resource_id = format!("endpoint/{endpoint_name}/variant/AllTraffic");
    let targets = |p: &AwsProject| {
        let out = p.runtime.block_on(
            scaling.describe_scalable_targets().service_namespace(namespace.clone()).resource_ids(&resource_id).send(),
        );
        out.expect("describe scalable targets").scalable_targets().to_vec()
    };
    let policies = |p: &AwsProject| {
        let out = p.runtime.block_on(
            scaling.describe_scaling_policies().service_namespace(namespace.clone()).resource_id(&resource_id).send(),
        );
        out.expect("describe scaling policies").scaling_policies().to_vec()
    };
    let before = targets(&p);
    assert_eq!(before.len(), 1);
    assert_eq!((before[0].min_capacity(), before[0].max_capacity()), (1, 2));
    let policy_target = |p: &AwsProject| {
        policies(p)
            .iter()
            .map(|s| s.target_tracking_scaling_policy_configuration().map(|c| c.target_value()))
            .collect::<Vec<_>>()
    };
    assert_eq!(policy_target(&p), [Some(100.0)]);

    // Capacity, target value and tags are all updatable: nothing is replaced.
    p.write("stacks/backend/serving.yaml", &template(3, 150, "platform"));
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    for id in ["ScalableTarget", "ScalingPolicy", "Registry"] {
        assert!(marked(&plan, "~", id), "{id} is updated in place:\n{}", plan.both());
    }
    assert!(!plan.stdout.contains("forces replacement"), "{}", plan.both());
    p.expect(0, &["apply", "-auto-approve"]);
    let after = targets(&p);
    assert_eq!(after.len(), 1);
    assert_eq!((after[0].min_capacity(), after[0].max_capacity()), (1, 3));
    assert_eq!(policy_target(&p), [Some(150.0)]);
    let group_arn = p.state_show("backend", "Registry")["attributes"]["ModelPackageGroupArn"]
        .as_str()
        .expect("group ARN in state")
        .to_string();
    let tags = p.runtime.block_on(sagemaker.list_tags().resource_arn(&group_arn).send()).expect("list tags");
    let tags: Vec<_> = tags.tags().iter().map(|t| (t.key(), t.value())).collect();
    assert_eq!(tags, [(Some("owner"), Some("platform"))]);
    let endpoint = p.runtime.block_on(sagemaker.describe_endpoint().endpoint_name(&endpoint_name).send());
    assert_eq!(endpoint.expect("endpoint kept").endpoint_config_name(), Some(config_name.as_str()));
    p.expect(0, &["plan", "--detailed-exitcode"]);

    let output = p.expect(0, &["output", "--format", "json"]);
    assert!(output.stdout.contains(&endpoint_name), "{}", output.both());

    p.expect(0, &["destroy", "-auto-approve"]);
    assert!(p.runtime.block_on(sagemaker.describe_endpoint().endpoint_name(&endpoint_name).send()).is_err());
    assert!(p
        .runtime
        .block_on(sagemaker.describe_endpoint_config().endpoint_config_name(&config_name).send())
        .is_err());
    assert!(p.runtime.block_on(sagemaker.describe_model().model_name(&model_name).send()).is_err());
    let retained =
        p.runtime.block_on(sagemaker.describe_model_package_group().model_package_group_name("e2e-models").send());
    assert!(retained.is_ok(), "a retained group outlives destroy: {retained:?}");
    assert!(targets(&p).is_empty(), "the scalable target is deregistered");
    assert!(policies(&p).is_empty(), "the scaling policy is deleted");
    let listed = p.expect(0, &["state", "list"]);
    assert!(!listed.stdout.contains("backend."), "{}", listed.both());
}

/// The ML rollout against the local AWS (whose SageMaker has UpdateEndpoint added, see
/// `scripts/local_aws_server.py`): a new model image replaces the model and the endpoint
/// configuration, and the endpoint switches to the new configuration in place, keeping its
/// scalable target; then the old configuration and model are gone.
#[test]
fn a_new_model_image_rolls_the_endpoint_in_place() {
    let template = |image: &str| {
        SERVING_TEMPLATE
            .replace("{trust}", TRUST)
            .replace("{max}", "2")
            .replace("{target}", "100")
            .replace("{owner}", "ml")
            .replace("model:1", image)
            .replace("    DeletionPolicy: Retain\n", "")
    };
    let p = AwsProject::new(&[("backend", "serving.yaml", &template("model:1"))]);
    let config = p.sdk_config();
    let sagemaker = aws_sdk_sagemaker::Client::new(&config);
    let scaling = aws_sdk_applicationautoscaling::Client::new(&config);

    p.expect(0, &["apply", "-auto-approve"]);
    let endpoint_name = p.attribute("backend", "Endpoint", "EndpointName");
    let old_config = p.attribute("backend", "EndpointConfig", "EndpointConfigName");
    let old_model = p.attribute("backend", "Model", "ModelName");

    p.write("stacks/backend/serving.yaml", &template("model:2"));
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    assert!(marked(&plan, "+/-", "Model"), "the model is replaced:\n{}", plan.both());
    assert!(marked(&plan, "+/-", "EndpointConfig"), "the config is replaced:\n{}", plan.both());
    assert!(marked(&plan, "~", "Endpoint"), "the endpoint is updated in place:\n{}", plan.both());
    p.expect(0, &["apply", "-auto-approve"]);
    p.expect(0, &["plan", "--detailed-exitcode"]);

    assert_eq!(p.attribute("backend", "Endpoint", "EndpointName"), endpoint_name, "the endpoint is kept");
    let new_config = p.attribute("backend", "EndpointConfig", "EndpointConfigName");
    assert_ne!(new_config, old_config);
    let endpoint = p.runtime.block_on(sagemaker.describe_endpoint().endpoint_name(&endpoint_name).send());
    let endpoint = endpoint.expect("endpoint exists");
    assert_eq!(endpoint.endpoint_config_name(), Some(new_config.as_str()));
    assert_eq!(endpoint.endpoint_status().map(|s| s.as_str()), Some("InService"));
    let gone = p.runtime.block_on(sagemaker.describe_endpoint_config().endpoint_config_name(&old_config).send());
    assert!(gone.is_err(), "the old configuration is deleted");
    assert!(p.runtime.block_on(sagemaker.describe_model().model_name(&old_model).send()).is_err());
    let resource_id = format!("endpoint/{endpoint_name}/variant/AllTraffic");
    let targets = p.runtime.block_on(
        scaling
            .describe_scalable_targets()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker)
            .resource_ids(&resource_id)
            .send(),
    );
    assert_eq!(targets.expect("describe scalable targets").scalable_targets().len(), 1, "autoscaling is kept");

    p.expect(0, &["destroy", "-auto-approve"]);
    assert!(p.runtime.block_on(sagemaker.describe_endpoint().endpoint_name(&endpoint_name).send()).is_err());
    let group =
        p.runtime.block_on(sagemaker.describe_model_package_group().model_package_group_name("e2e-models").send());
    assert!(group.is_err(), "the model package group is deleted: {group:?}");
}

/// The routing template: a route table, a default route, and a subnet associated with the
/// table. The VPC, subnet and gateways around it are made through the SDK beforehand (the
/// subnet and the gateways are not native types); `{…}` are their IDs and what varies.
const ROUTING_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  PublicTable:
    Type: AWS::EC2::RouteTable
    Properties:
      VpcId: {vpc}
      Tags:
        - Key: tier
          Value: {tier}
  PrivateTable:
    Type: AWS::EC2::RouteTable
    Properties:
      VpcId: {vpc}
  DefaultRoute:
    Type: AWS::EC2::Route
    Properties:
      RouteTableId: !Ref PublicTable
      DestinationCidrBlock: 0.0.0.0/0
      {target}
  Association:
    Type: AWS::EC2::SubnetRouteTableAssociation
    Properties:
      SubnetId: {subnet}
      RouteTableId: !Ref {table}
Outputs:
  Route:
    Value: !Ref DefaultRoute
  Destination:
    Value: !GetAtt DefaultRoute.CidrBlock
"#;

#[test]
fn ec2_routing_types_apply_update_in_place_replace_and_destroy() {
    let p = AwsProject::new(&[("network", "routing.yaml", "")]);
    let ec2 = aws_sdk_ec2::Client::new(&p.sdk_config());
    let vpc =
        p.runtime.block_on(ec2.create_vpc().cidr_block("10.40.0.0/16").send()).expect("vpc").vpc.and_then(|v| v.vpc_id);
    let vpc = vpc.expect("VPC ID");
    let subnet =
        p.runtime.block_on(ec2.create_subnet().vpc_id(&vpc).cidr_block("10.40.1.0/24").send()).expect("subnet");
    let subnet = subnet.subnet.and_then(|s| s.subnet_id).expect("subnet ID");
    let igw = p.runtime.block_on(ec2.create_internet_gateway().send()).expect("igw").internet_gateway;
    let igw = igw.and_then(|g| g.internet_gateway_id).expect("igw ID");
    p.runtime.block_on(ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&vpc).send()).expect("attach");
    let eip = p.runtime.block_on(ec2.allocate_address().send()).expect("address").allocation_id.expect("allocation ID");
    let nat = p.runtime.block_on(ec2.create_nat_gateway().subnet_id(&subnet).allocation_id(eip).send()).expect("nat");
    let nat = nat.nat_gateway.and_then(|n| n.nat_gateway_id).expect("NAT gateway ID");
    let template = |tier: &str, target: &str, table: &str| {
        ROUTING_TEMPLATE
            .replace("{vpc}", &vpc)
            .replace("{subnet}", &subnet)
            .replace("{tier}", tier)
            .replace("{target}", target)
            .replace("{table}", table)
    };
    let to_igw = format!("GatewayId: {igw}");
    p.write("stacks/network/routing.yaml", &template("public", &to_igw, "PublicTable"));

    p.expect(0, &["apply", "-auto-approve"]);
    p.expect(0, &["plan", "--detailed-exitcode"]);
    let public = p.attribute("network", "PublicTable", "RouteTableId");
    let private = p.attribute("network", "PrivateTable", "RouteTableId");
    let association = p.attribute("network", "Association", "Id");
    let routes = |table: &str| {
        let out = p.runtime.block_on(ec2.describe_route_tables().route_table_ids(table).send()).expect("describe");
        out.route_tables()
            .iter()
            .flat_map(|t| t.routes())
            .filter(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .map(|r| (r.gateway_id().map(str::to_string), r.nat_gateway_id().map(str::to_string)))
            .collect::<Vec<_>>()
    };
    let associated = |table: &str| {
        let out = p.runtime.block_on(ec2.describe_route_tables().route_table_ids(table).send()).expect("describe");
        out.route_tables()
            .iter()
            .flat_map(|t| t.associations())
            .filter(|a| a.subnet_id() == Some(subnet.as_str()))
            .filter_map(|a| a.route_table_association_id().map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert_eq!(routes(&public), [(Some(igw.clone()), None)]);
    assert_eq!(associated(&public), vec![association.clone()]);
    let output = p.expect(0, &["output", "--format", "json"]);
    assert!(output.stdout.contains(&format!("{public}|0.0.0.0/0")), "{}", output.both());

    // New tags and a new target are in place; another table is a new association.
    p.write("stacks/network/routing.yaml", &template("edge", &format!("NatGatewayId: {nat}"), "PrivateTable"));
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    assert!(marked(&plan, "~", "PublicTable"), "{}", plan.both());
    assert!(marked(&plan, "~", "DefaultRoute"), "{}", plan.both());
    assert!(marked(&plan, "+/-", "Association"), "{}", plan.both());
    assert!(plan.stdout.contains("Association must be replaced (create before destroy)"), "{}", plan.both());
    assert!(plan.stdout.contains("0 to add, 2 to change, 1 to replace, 0 to destroy"), "{}", plan.both());
    p.expect(0, &["apply", "-auto-approve"]);
    p.expect(0, &["plan", "--detailed-exitcode"]);
    assert_eq!(p.attribute("network", "PublicTable", "RouteTableId"), public, "the table is kept");
    assert_eq!(routes(&public), [(None, Some(nat.clone()))]);
    let replaced = p.attribute("network", "Association", "Id");
    assert_ne!(replaced, association);
    assert!(associated(&public).is_empty());
    assert_eq!(associated(&private), [replaced]);

    p.expect(0, &["destroy", "-auto-approve"]);
    for table in [&public, &private] {
        let gone = p.runtime.block_on(ec2.describe_route_tables().route_table_ids(table).send());
        assert_eq!(error_code(gone), "InvalidRouteTableID.NotFound", "{table}");
    }
    let listed = p.expect(0, &["state", "list"]);
    assert!(!listed.stdout.contains("network."), "{}", listed.both());
}
