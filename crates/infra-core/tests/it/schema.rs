//! Integration tests: resource schema checks (`E2xxx`) and lints (`W4xxx`) on real templates,
//! with the lines they point at.

use infra_core::diag::{Diagnostic, Diagnostics};
use infra_core::source::SourceMap;
use infra_core::template::load::{load_file, parse_str, Limits, Syntax};
use infra_core::template::node::Node;
use infra_core::{lint, schema};
use std::path::{Path, PathBuf};

fn run_checks(root: &Node, diags: &mut Diagnostics) {
    schema::check_template(root, diags);
    lint::check_template(root, diags);
}

/// `(code, line, column)` of every diagnostic, in source order.
fn located(sources: &SourceMap, diags: &Diagnostics) -> Vec<(&'static str, usize, usize)> {
    let mut out: Vec<_> = diags
        .iter()
        .map(|d| {
            let (line, col) = d.span.and_then(|s| sources.location(s)).map_or((0, 0), |(_, l, c)| (l, c));
            (d.code, line, col)
        })
        .collect();
    out.sort_by_key(|&(code, line, col)| (line, col, code));
    out
}

fn check_yaml(template: &str) -> (SourceMap, Diagnostics) {
    let mut sources = SourceMap::new();
    let file = sources.add(Path::new("template.yaml"), "template.yaml", template);
    let root = parse_str(template, file, Syntax::Yaml, &Limits::default())
        .unwrap_or_else(|d| panic!("test template failed to load: {d:#?}\n{template}"));
    let mut diags = Diagnostics::new();
    run_checks(&root, &mut diags);
    (sources, diags)
}

/// The template has exactly one problem: `expected_code` on `expected_line`.
fn check(template: &str, expected_code: &str, expected_line: usize) -> Diagnostic {
    let (sources, diags) = check_yaml(template);
    let found: Vec<(&str, usize)> = located(&sources, &diags).into_iter().map(|(c, l, _)| (c, l)).collect();
    assert_eq!(found, [(expected_code, expected_line)], "{template}\n{diags:#?}");
    diags.into_vec().remove(0)
}

/// Like [`check`], and the diagnostic suggests `help`.
fn check_help(template: &str, expected_code: &str, expected_line: usize, help: &str) {
    let d = check(template, expected_code, expected_line);
    assert_eq!(d.help.as_deref(), Some(help), "{template}");
}

fn check_clean(template: &str) {
    let (sources, diags) = check_yaml(template);
    assert_eq!(located(&sources, &diags), [], "{template}\n{diags:#?}");
}

#[test]
fn unknown_resource_types() {
    check_help(
        "Resources:
  Bucket:
    Type: AWS::S3::Buckett
",
        "E2001",
        3,
        "did you mean `AWS::S3::Bucket`?",
    );
    check(
        "Resources:
  Thing:
    Type: Acme::Widget::Sprocket
",
        "E2001",
        3,
    );
    check(
        "Resources:
  Function:
    Type: AWS::Serverless::Function
",
        "E2001",
        3,
    );
    check_clean(
        "Transform: AWS::Serverless-2016-10-31
Resources:
  Function:
    Type: AWS::Serverless::Function
",
    );
    check_clean(
        "Resources:
  Custom:
    Type: Custom::Seeder
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:123456789012:function:seed
      AnythingGoes: [1, 2]
  Generic:
    Type: AWS::CloudFormation::CustomResource
    Properties:
      ServiceToken: arn:aws:lambda:us-east-1:123456789012:function:seed
  Data:
    Type: Infra::Local::Data
    Properties:
      Input: {a: [1]}
      TriggersReplace: v1
",
    );
}

#[test]
fn unknown_properties() {
    check_help(
        "Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketNme: models
",
        "E2002",
        5,
        "did you mean `BucketName`?",
    );
    check_help(
        "Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration:
        Stat: Enabled
        Status: Enabled
",
        "E2002",
        6,
        "did you mean `Status`?",
    );
    check_help(
        "Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          ModelName: m
          InstanceType: ml.t2.medium
          InitialInstanceCount: 1
          InitialVariantWeigth: 1
",
        "E2002",
        10,
        "did you mean `InitialVariantWeight`?",
    );
    check(
        "Resources:
  Data:
    Type: Infra::Local::Data
    Properties:
      Output: x
",
        "E2002",
        5,
    );
}

#[test]
fn wrong_types() {
    check(
        "Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: [a, b]
",
        "E2003",
        5,
    );
    check(
        "Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        VariantName: AllTraffic
",
        "E2003",
        6,
    );
    check(
        "Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      EnableDnsSupport: sometimes
",
        "E2003",
        5,
    );
    check(
        "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
      MaxSessionDuration: 1.5
",
        "E2003",
        6,
    );
    check(
        "Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName:
",
        "E2003",
        5,
    );
    // CloudFormation passes scalars as strings, so these are all fine.
    check_clean(
        "Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
      EnableDnsSupport: 'true'
      EnableDnsHostnames: true
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
      MaxSessionDuration: '7200'
      Description: 12
",
    );
}

#[test]
fn missing_required_properties() {
    check(
        "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      Path: /
",
        "E2004",
        4,
    );
    check(
        "Resources:
  Role:
    Type: AWS::IAM::Role
",
        "E2004",
        2,
    );
    check(
        "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
",
        "E2004",
        4,
    );
    check(
        "Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: {}
",
        "E2004",
        5,
    );
    check(
        "Resources:
  Target:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      ServiceNamespace: sagemaker
      ResourceId: endpoint/e/variant/AllTraffic
      ScalableDimension: sagemaker:variant:DesiredInstanceCount
      MinCapacity: 1
      MaxCapacity: 2
      ScheduledActions:
        - ScheduledActionName: nightly
          ScalableTargetAction: {MaxCapacity: 1}
",
        "E2004",
        11,
    );
}

#[test]
fn enums_patterns_and_ranges() {
    check_help(
        "Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration:
        Status: Enable
",
        "E2005",
        6,
        "did you mean `Enabled`?",
    );
    check(
        "Resources:
  Repository:
    Type: AWS::ECR::Repository
    Properties:
      ImageTagMutability: immutable-ish
",
        "E2005",
        5,
    );
    check(
        "Resources:
  Group:
    Type: AWS::SageMaker::ModelPackageGroup
    Properties:
      ModelPackageGroupName: not_allowed_underscores
",
        "E2006",
        5,
    );
    check(
        "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
      RoleName: a-role-name-that-is-far-too-long-for-iam-which-stops-at-sixty-four
",
        "E2007",
        6,
    );
    check(
        "Resources:
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants: []
",
        "E2008",
        5,
    );
    check(
        "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {}
      MaxSessionDuration: 60
",
        "E2010",
        6,
    );
}

#[test]
fn intrinsic_values_are_skipped_but_if_branches_checked() {
    check_clean(
        "Parameters:
  Name: {Type: String}
Conditions:
  Versioned: !Equals [a, a]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref Name
      VersioningConfiguration: !If [Versioned, {Status: Enabled}, !Ref AWS::NoValue]
      Tags:
        - Key: name
          Value: !Sub '${Name}-bucket'
",
    );
    check(
        "Conditions:
  Versioned: !Equals [a, a]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: !If [Versioned, {Status: Enabled}, {Status: Off}]
",
        "E2005",
        7,
    );
}

#[test]
fn get_att_attributes() {
    let template = |attribute: &str| {
        format!(
            "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {{}}
Outputs:
  RoleArn:
    Value: {attribute}
"
        )
    };
    check_help(&template("!GetAtt Role.Arm"), "E2009", 8, "did you mean `Arn`?");
    check(&template("!GetAtt [Role, RoleName]"), "E2009", 8);
    check(&template("{'Fn::GetAtt': [Role, Id]}"), "E2009", 8);
    check_clean(&template("!GetAtt Role.Arn"));
    check_clean(&template("!GetAtt Role.RoleId"));
    // Unknown logical IDs are the evaluator's to report.
    check_clean(&template("!GetAtt Nobody.Arn"));
    check(
        "Resources:
  Model:
    Type: AWS::SageMaker::Model
  Config:
    Type: AWS::SageMaker::EndpointConfig
    Properties:
      ProductionVariants:
        - VariantName: AllTraffic
          ModelName: !GetAtt Model.Name
          InitialInstanceCount: 1
          InstanceType: ml.t2.medium
",
        "E2009",
        9,
    );
}

#[test]
fn wildcard_permission_lint() {
    let policy = |statement: &str| {
        format!(
            "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {{}}
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
{statement}"
        )
    };
    check(
        &policy(
            "              - Effect: Allow
                Action: '*'
                Resource: '*'
",
        ),
        "W4001",
        11,
    );
    check(
        &policy(
            "              - Effect: Allow
                Action: [s3:GetObject, 'iam:*']
                Resource: ['*']
",
        ),
        "W4001",
        11,
    );
    check(
        &policy(
            "              - Effect: Allow
                NotAction: s3:DeleteBucket
                Resource: '*'
",
        ),
        "W4001",
        11,
    );
    check_clean(&policy(
        "              - Effect: Allow
                Action: '*'
                Resource: arn:aws:s3:::models/*
",
    ));
    check_clean(&policy(
        "              - Effect: Deny
                Action: '*'
                Resource: '*'
",
    ));
    check(
        "Resources:
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          Effect: Allow
          Action: '*:*'
          Resource: '*'
",
        "W4001",
        8,
    );
    check(
        "Resources:
  BucketPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: b
      PolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {AWS: arn:aws:iam::123456789012:root}
            Action: '*'
            Resource: '*'
",
        "W4001",
        10,
    );
}

#[test]
fn open_trust_policy_lint() {
    let trust = |principal: &str| {
        format!(
            "Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Action: sts:AssumeRole
            Principal: {principal}
"
        )
    };
    check(&trust("'*'"), "W4002", 9);
    check(&trust("{AWS: '*'}"), "W4002", 9);
    check_clean(&trust("{Service: sagemaker.amazonaws.com}"));
    check_clean(&trust("{AWS: arn:aws:iam::123456789012:root}"));
}

#[test]
fn no_echo_default_lint() {
    check(
        "Parameters:
  DbPassword:
    Type: String
    NoEcho: true
    Default: hunter2
Resources: {}
",
        "W4003",
        5,
    );
    check_clean(
        "Parameters:
  DbPassword:
    Type: String
    NoEcho: true
  Region:
    Type: String
    Default: us-east-1
Resources: {}
",
    );
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn check_file(path: &Path) -> (SourceMap, Diagnostics) {
    let mut sources = SourceMap::new();
    let display = path.display().to_string();
    let (_, root) = load_file(&mut sources, path, &display, &Limits::default())
        .unwrap_or_else(|d| panic!("failed to load {display}: {d:#?}"));
    let mut diags = Diagnostics::new();
    run_checks(&root, &mut diags);
    (sources, diags)
}

#[test]
fn reference_project_is_clean() {
    let mut files = Vec::new();
    for layer in ["identity", "network", "shared", "backend", "frontend"] {
        let dir = repo_root().join("stacks").join(layer);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("failed to read {}: {e}", dir.display()));
        let before = files.len();
        files.extend(
            entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "json")),
        );
        assert!(files.len() > before, "layer {layer} has no templates");
    }
    for path in files {
        let (sources, diags) = check_file(&path);
        assert_eq!(located(&sources, &diags), [], "{}: {diags:#?}", path.display());
    }
}

#[test]
fn seed_templates() {
    // The seed's only schema-level problem is its wildcard policy; its two-argument
    // `Fn::FindInMap` is for evaluation to report.
    for file in ["sagemaker-endpoint.json", "sagemaker-endpoint-fixed.json"] {
        let (sources, diags) = check_file(&repo_root().join("tests/fixtures/seed").join(file));
        assert_eq!(located(&sources, &diags), [("W4001", 89, 31)], "{file}");
    }
}

#[test]
fn fixture_with_many_problems() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema/many-problems.yaml");
    let (sources, mut diags) = check_file(&path);
    diags.sort();
    let messages: Vec<String> = diags
        .iter()
        .map(|d| {
            let (_, line, col) = d.span.and_then(|s| sources.location(s)).unwrap_or(("", 0, 0));
            format!("{line}:{col} {} {}", d.code, d.message)
        })
        .collect();
    let expected = std::fs::read_to_string(path.with_extension("expected")).unwrap();
    assert_eq!(messages.join("\n"), expected.trim_end(), "\n{}", messages.join("\n"));
}
