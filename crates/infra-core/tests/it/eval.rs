//! Integration tests: template model, evaluation, graph, project loading and validation.
//!
//! Bad templates are data: a tiny template, the code it must produce and the line it must be
//! reported at, run through the real validation pipeline on files in a temporary directory.

use indexmap::IndexMap;
use infra_core::diag::Diagnostic;
use infra_core::render::plan::value_text;
use infra_core::source::SourceMap;
use infra_core::template::eval::{evaluate, EvalInput, ParamInput, PLACEHOLDER_ACCOUNT_ID};
use infra_core::template::load::{parse_str, Limits, Syntax};
use infra_core::template::model;
use infra_core::template::node::Node;
use infra_core::validate::{load_stacks, validate_files, validate_project, Validation};
use infra_core::value::{Resolver, Value};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("create fixture folder");
    }
    std::fs::write(p, text).expect("write fixture");
}

fn listing(v: &Validation) -> String {
    v.diags
        .iter()
        .map(|d| format!("{} {:?} {}", d.code, location(&v.sources, d), d.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn location(sources: &SourceMap, d: &Diagnostic) -> Option<(String, usize)> {
    d.span.and_then(|s| sources.location(s)).map(|(f, l, _)| (f.to_string(), l))
}

/// Assert that a diagnostic with `code` is reported at `line` of `file`.
fn expect(v: &Validation, code: &str, file: &str, line: usize) {
    let found = v
        .diags
        .iter()
        .any(|d| d.code == code && location(&v.sources, d).is_some_and(|(f, l)| f.ends_with(file) && l == line));
    assert!(found, "expected {code} at {file}:{line}, got:\n{}", listing(v));
}

/// One template file on its own.
fn check(template: &str, code: &str, line: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "t.yaml", template);
    let v = validate_files(&[dir.path().join("t.yaml")]);
    expect(&v, code, "t.yaml", line);
}

/// A project: files by relative path; the diagnostic is expected in `file` at `line`.
fn check_project(files: &[(&str, &str)], code: &str, file: &str, line: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        write(dir.path(), rel, text);
    }
    let v = validate_project(dir.path(), &[]);
    expect(&v, code, file, line);
}

const TOML: &str = "[project]\nname = \"ml\"\nregion = \"us-east-1\"\n\n[environments.dev]\n\n[environments.prod]\n";
const BUCKET: &str = "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n";

#[test]
fn template_structure_errors() {
    check("Resource:\n  A:\n    Type: AWS::S3::Bucket\n", "E1002", 1);
    check("AWSTemplateFormatVersion: \"2011-01-01\"\nResources:\n  B:\n    Type: AWS::S3::Bucket\n", "E1003", 1);
    check("Description: [a]\nResources:\n  B:\n    Type: AWS::S3::Bucket\n", "E1004", 1);
    check("Parameters: 3\nResources:\n  B:\n    Type: AWS::S3::Bucket\n", "E1005", 1);
    check("Resources:\n  my-bucket:\n    Type: AWS::S3::Bucket\n", "E1006", 2);
    check("Description: x\nResources: {}\n", "E1007", 2);
}

#[test]
fn parameter_declaration_errors() {
    check(&format!("Parameters:\n  P: 3\n{BUCKET}"), "E1010", 2);
    check(&format!("Parameters:\n  P:\n    Default: x\n{BUCKET}"), "E1011", 2);
    check(&format!("Parameters:\n  P:\n    Type: Strin\n{BUCKET}"), "E1012", 3);
    check(&format!("Parameters:\n  P:\n    Type: String\n    Defualt: x\n{BUCKET}"), "E1013", 4);
    check(&format!("Parameters:\n  P:\n    Type: String\n    MinLength: abc\n{BUCKET}"), "E1014", 4);
    check(&format!("Parameters:\n  P:\n    Type: String\n    AllowedPattern: \"[a-\"\n{BUCKET}"), "E1014", 4);
    check(&format!("Parameters:\n  P:\n    Type: Number\n    MaxLength: 3\n{BUCKET}"), "E1014", 4);
}

#[test]
fn parameter_value_errors() {
    check(&format!("Parameters:\n  P:\n    Type: Number\n    Default: abc\n{BUCKET}"), "E1101", 4);
    check(
        &format!("Parameters:\n  P:\n    Type: String\n    Default: c\n    AllowedValues: [a, b]\n{BUCKET}"),
        "E1102",
        4,
    );
    check(
        &format!("Parameters:\n  P:\n    Type: String\n    Default: ABC\n    AllowedPattern: \"[a-z]+\"\n{BUCKET}"),
        "E1103",
        4,
    );
    check(&format!("Parameters:\n  P:\n    Type: String\n    Default: abcd\n    MaxLength: 3\n{BUCKET}"), "E1104", 4);
    check(&format!("Parameters:\n  P:\n    Type: Number\n    Default: 0\n    MinValue: 1\n{BUCKET}"), "E1105", 4);
    check(&format!("Parameters:\n  P:\n    Type: List<Number>\n    Default: \"1,x\"\n{BUCKET}"), "E1101", 4);
}

#[test]
fn mapping_resource_and_output_errors() {
    check(&format!("Mappings:\n  M:\n    K: v\n{BUCKET}"), "E1020", 3);
    check(&format!("Mappings:\n  M:\n    K:\n      X: {{a: b}}\n{BUCKET}"), "E1020", 4);
    check("Resources:\n  A: 3\n", "E1030", 2);
    check("Resources:\n  A:\n    Properties: {}\n", "E1031", 2);
    check("Resources:\n  A:\n    Type: [x]\n", "E1032", 3);
    check("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Propertes: {}\n", "E1033", 4);
    check("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    DependsOn: {a: b}\n", "E1034", 4);
    check("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    DeletionPolicy: Keep\n", "E1035", 4);
    check("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties: [1]\n", "E1036", 4);
    check(&format!("{BUCKET}Outputs:\n  O:\n    Description: x\n"), "E1041", 5);
    check(&format!("{BUCKET}Outputs:\n  O:\n    Value: x\n    Exprt: {{Name: y}}\n"), "E1042", 7);
    check(&format!("{BUCKET}Outputs:\n  O:\n    Value: x\n    Export: {{Value: y}}\n"), "E1043", 7);
    check(&format!("{BUCKET}Outputs:\n  O:\n    Value: x\n    Export:\n      Name: !Ref Bucket\n"), "E1153", 8);
    check(&format!("{BUCKET}Outputs:\n  O:\n    Value: x\n    Export:\n      Name: my_export\n"), "E1157", 8);
}

#[test]
fn rules_and_conditions() {
    let rule = "Parameters:\n  Env:\n    Type: String\n    Default: dev\nRules:\n  ProdOnly:\n    Assertions:\n      - Assert: !Equals [!Ref Env, prod]\n        AssertDescription: Env must be prod\n";
    check(&format!("{rule}{BUCKET}"), "E1110", 8);
    check(&format!("Rules:\n  R:\n    RuleCondition: !Equals [a, a]\n{BUCKET}"), "E1051", 2);
    check(&format!("Rules:\n  R:\n    Assertions:\n      - Assert: !Contains [a, a]\n{BUCKET}"), "E1159", 4);
    check(&format!("Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\n{BUCKET}"), "E1120", 2);
    check("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Condition: IsProdd\n", "E1121", 4);
    check(&format!("Conditions:\n  C: !Sub x\n{BUCKET}"), "E1122", 2);
    check(&format!("Conditions:\n  C: !And [!Equals [a, a]]\n{BUCKET}"), "E1143", 2);
    check(&format!("Conditions:\n  C: !Or [!Equals [a, a], a, b, c, d, e, f, g, h, i, j]\n{BUCKET}"), "E1165", 2);
    check(&format!("Rules:\n  R:\n    Assertions:\n      - Assert: !EachMemberIn [[a], a]\n{BUCKET}"), "E1161", 4);
    check(
        &format!("Rules:\n  R:\n    Assertions:\n      - Assert: {{\"Fn::ValueOf\": [Nope, Tags]}}\n{BUCKET}"),
        "E1163",
        4,
    );
    check(&format!("Conditions:\n  C: !Not [!Equals [a, a], !Equals [a, a]]\n{BUCKET}"), "E1144", 2);
    check(&format!("Conditions:\n  C: !Equals [!Ref Bucket, a]\n{BUCKET}"), "E1153", 2);
}

/// A resource whose properties hold one intrinsic, at line 4.
fn prop(intrinsic: &str) -> String {
    format!("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties: {{BucketName: {intrinsic}}}\nMappings:\n  M:\n    K:\n      X: v\n")
}

#[test]
fn intrinsic_misuse() {
    let cases = [
        ("!Ref Nope", "E1130"),
        ("!Ref AWS::Regoin", "E1130"),
        ("!Ref [a]", "E1131"),
        ("!GetAtt A", "E1132"),
        ("!GetAtt [A, b, c]", "E1132"),
        ("!GetAtt Buckett.Arn", "E1133"),
        ("!Sub \"${A\"", "E1134"),
        ("!Sub [\"x\", [1]]", "E1134"),
        ("!Sub \"${Nope}\"", "E1135"),
        ("!Join [\",\", a]", "E1136"),
        ("!Join [\",\", [[a]]]", "E1136"),
        ("!Select [3, [a, b]]", "E1137"),
        ("!Select [x, [a, b]]", "E1137"),
        ("!Split [\",\", [a]]", "E1138"),
        ("!FindInMap [M, K]", "E1139"),
        ("!FindInMap [M, K, Y]", "E1140"),
        ("!FindInMap [N, K, X]", "E1140"),
        ("!If [C]", "E1141"),
        ("!If [Nope, a, b]", "E1121"),
        ("!Equals [a, b]", "E1153"),
        ("!ImportValue [a]", "E1146"),
        ("!Base64 [a]", "E1147"),
        ("!Cidr [\"10.0.0.0/30\", 8, 8]", "E1148"),
        ("!Cidr [\"10.0.0.0/16\", 8]", "E1148"),
        ("!GetAZs [a]", "E1149"),
        ("{\"Fn::Joinn\": [\",\", [a]]}", "E1150"),
        ("{\"Fn::Length\": abc}", "E1151"),
        ("{\"Fn::ToJsonString\": abc}", "E1152"),
        ("{\"Fn::Transform\": {Name: \"AWS::Serverless-2016-10-31\"}}", "E1060"),
        ("!Ref A", "E3001"),
    ];
    for (intrinsic, code) in cases {
        let template = prop(intrinsic);
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "t.yaml", &template);
        let v = validate_files(&[dir.path().join("t.yaml")]);
        let line = if code == "E3001" { 2 } else { 4 };
        let ok = v.diags.iter().any(|d| d.code == code && location(&v.sources, d).is_some_and(|(_, l)| l == line));
        assert!(ok, "{intrinsic}: expected {code} at line {line}, got:\n{}", listing(&v));
    }
}

#[test]
fn dependencies_and_cycles() {
    check(
        "Resources:\n  A:\n    Type: AWS::S3::Bucket\n    DependsOn: [Buckt]\n  Bucket:\n    Type: AWS::S3::Bucket\n",
        "E1155",
        4,
    );
    check(
        "Resources:\n  A:\n    Type: AWS::S3::Bucket\n    DependsOn: B\n  B:\n    Type: AWS::S3::Bucket\n    DependsOn: C\n  C:\n    Type: AWS::S3::Bucket\n    DependsOn: A\n",
        "E3001",
        2,
    );
    check(
        "Conditions:\n  Never: !Equals [a, b]\nResources:\n  A:\n    Type: AWS::S3::Bucket\n    Condition: Never\n  B:\n    Type: AWS::S3::Bucket\n    Properties: {BucketName: !Ref A}\n",
        "E1158",
        9,
    );
}

#[test]
fn transforms() {
    check(&format!("Transform: AWS::Serverless-2016-10-31\n{BUCKET}"), "E1060", 1);
    let include = |loc: &str| {
        format!("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties:\n      Fn::Transform:\n        Name: AWS::Include\n        Parameters:\n          Location: {loc}\n")
    };
    check(&include("../outside.yaml"), "E1061", 8);
    check(&include("s3://bucket/snippet.yaml"), "E1061", 8);
    check(&include("/etc/hostname"), "E1061", 8);
    check(&include("missing.yaml"), "E1062", 8);
}

#[test]
fn language_extensions_transform_is_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "t.yaml",
        "Transform: AWS::LanguageExtensions\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      DelaySeconds: {\"Fn::Length\": [a, b]}\n",
    );
    let v = validate_files(&[dir.path().join("t.yaml")]);
    assert!(!v.diags.has_errors(), "{}", listing(&v));
}

#[test]
fn include_through_symlink_is_refused_and_inside_is_expanded() {
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "secret.yaml", "BucketName: stolen\n");
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "snippets/props.yaml", "BucketName: included\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(outside.path().join("secret.yaml"), dir.path().join("link.yaml")).expect("symlink");
    let t = |loc: &str| {
        format!("Resources:\n  A:\n    Type: AWS::S3::Bucket\n    Properties:\n      Fn::Transform:\n        Name: AWS::Include\n        Parameters:\n          Location: {loc}\n")
    };
    write(dir.path(), "bad.yaml", &t("link.yaml"));
    let v = validate_files(&[dir.path().join("bad.yaml")]);
    expect(&v, "E1061", "bad.yaml", 8);
    write(dir.path(), "good.yaml", &t("snippets/../snippets/props.yaml"));
    let v = validate_files(&[dir.path().join("good.yaml")]);
    assert!(!v.diags.has_errors(), "{}", listing(&v));
}

#[test]
fn seed_find_in_map_is_reported_where_cfn_lint_reports_it() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/seed/sagemaker-endpoint.json");
    let v = validate_files(std::slice::from_ref(&seed));
    let d = v.diags.iter().find(|d| d.code == "E1139").unwrap_or_else(|| panic!("no E1139:\n{}", listing(&v)));
    let (_, line, col) = d.span.and_then(|s| v.sources.location(s)).expect("located");
    // cfn-lint: "E1011 expected minimum item count: 3, found: 2 ... sagemaker-endpoint.json:56:24"
    assert_eq!((line, col), (56, 24));
    let help = d.help.clone().unwrap_or_default();
    assert!(help.contains(r#"["RegionMap", {"Ref": "AWS::Region"}, "NullTransformer"]"#), "{help}");
    // In YAML the span is the short-form tag itself. cfn-lint reports 10:7 here, the key of the
    // enclosing property, since its YAML positions for tagged values are those of their key.
    let yaml = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eval/find-in-map.yaml");
    let v = validate_files(std::slice::from_ref(&yaml));
    let d = v.diags.iter().find(|d| d.code == "E1139").unwrap_or_else(|| panic!("no E1139:\n{}", listing(&v)));
    assert_eq!(d.span.and_then(|s| v.sources.location(s)).map(|(_, l, c)| (l, c)), Some((10, 23)));
    assert_eq!(d.help.as_deref(), Some(r#"the correct form is ["RegionMap", {"Ref": "AWS::Region"}, "Image"]"#));
    let fixed = seed.with_file_name("sagemaker-endpoint-fixed.json");
    let v = validate_files(&[fixed]);
    assert!(!v.diags.iter().any(|d| d.code.starts_with("E1")), "{}", listing(&v));
}

#[test]
fn project_errors() {
    let layer = |name: &str, text: &str| (format!("stacks/{name}/main.yaml"), text.to_string());
    let run = |files: Vec<(String, String)>, code: &str, file: &str, line: usize| {
        let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        check_project(&refs, code, file, line);
    };
    let export =
        |name: &str| format!("{BUCKET}Outputs:\n  O:\n    Value: !Ref Bucket\n    Export:\n      Name: {name}\n");
    let import = |name: &str| {
        format!("Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !ImportValue {name}\n")
    };
    // Import from a higher layer.
    run(
        vec![
            ("infra.toml".into(), TOML.into()),
            layer("network", &import("BucketName")),
            layer("backend", &export("BucketName")),
        ],
        "E3011",
        "stacks/network/main.yaml",
        5,
    );
    // Import of an export of the same layer.
    run(
        vec![
            ("infra.toml".into(), TOML.into()),
            layer("backend", &export("BucketName")),
            ("stacks/backend/queue.yaml".into(), import("BucketName")),
        ],
        "E3010",
        "stacks/backend/queue.yaml",
        5,
    );
    // Import nobody exports.
    run(
        vec![("infra.toml".into(), TOML.into()), layer("backend", &import("Nope"))],
        "E3012",
        "stacks/backend/main.yaml",
        5,
    );
    // Duplicate export names.
    run(
        vec![("infra.toml".into(), TOML.into()), layer("network", &export("Dup")), layer("backend", &export("Dup"))],
        "E3013",
        "stacks/backend/main.yaml",
        8,
    );
    // Duplicate logical ID across files of a layer.
    run(
        vec![
            ("infra.toml".into(), TOML.into()),
            layer("shared", BUCKET),
            ("stacks/shared/more.yaml".into(), BUCKET.into()),
        ],
        "E3020",
        "stacks/shared/more.yaml",
        2,
    );
    // Files of a layer may repeat a parameter, but not declare it differently.
    let with_param = |t: &str| {
        format!("Parameters:\n  Env:\n    Type: {t}\nResources:\n  Q{}:\n    Type: AWS::SQS::Queue\n", t.len())
    };
    run(
        vec![
            (
                "infra.toml".into(),
                format!(
                    "{TOML}[environments.dev.parameters]\nEnv = \"1\"\n[environments.prod.parameters]\nEnv = \"2\"\n"
                ),
            ),
            layer("shared", &with_param("String")),
            ("stacks/shared/more.yaml".into(), with_param("Number")),
        ],
        "E3020",
        "stacks/shared/more.yaml",
        2,
    );
    // Stray folder, unknown keys, bad values.
    run(
        vec![
            ("infra.toml".into(), format!("{TOML}[environments.dev.parameters]\nNope = \"1\"\n")),
            layer("shared", BUCKET),
        ],
        "E5011",
        "infra.toml",
        9,
    );
    run(
        vec![("infra.toml".into(), TOML.replace("[project]", "[projet]")), layer("shared", BUCKET)],
        "E5003",
        "infra.toml",
        1,
    );
    run(
        vec![("infra.toml".into(), TOML.replace("region = \"us-east-1\"", "region = 5")), layer("shared", BUCKET)],
        "E5004",
        "infra.toml",
        3,
    );
    run(
        vec![("infra.toml".into(), TOML.replace("name = \"ml\"\n", "")), layer("shared", BUCKET)],
        "E5005",
        "infra.toml",
        1,
    );
    run(vec![("infra.toml".into(), "[project\n".into())], "E5002", "infra.toml", 1);
    run(
        vec![("infra.toml".into(), TOML.replace("region = \"us-east-1\"", "region = \"us-east-1\"\nlayers = []"))],
        "E5004",
        "infra.toml",
        4,
    );
    for bad in ["local_files_outside = \"/tmp\"", "local_files_outside = [1]", "local_files_outside = [\"\"]"] {
        let settings = TOML.replace("region = \"us-east-1\"", &format!("region = \"us-east-1\"\n{bad}"));
        run(vec![("infra.toml".into(), settings), layer("shared", BUCKET)], "E5004", "infra.toml", 4);
    }
    run(
        vec![("infra.toml".into(), TOML.replace("[environments.prod]", "[environments.prod]\nendpoint = \"x\""))],
        "E5003",
        "infra.toml",
        8,
    );
    run(
        vec![(
            "infra.toml".into(),
            TOML.replace("[environments.prod]", "[environments.prod]\nretry_timeout = \"soon\""),
        )],
        "E5013",
        "infra.toml",
        8,
    );
    run(
        vec![("infra.toml".into(), TOML.replace("[environments.prod]", "[environments.prod]\nretry_timeout = 300"))],
        "E5004",
        "infra.toml",
        8,
    );
    run(
        vec![("infra.toml".into(), TOML.replace("[environments.prod]", "[environments.\"pr od\"]"))],
        "E5008",
        "infra.toml",
        7,
    );
    run(
        vec![
            ("infra.toml".into(), format!("{TOML}[environments.dev.layers.backnd.parameters]\nX = \"1\"\n")),
            layer("shared", BUCKET),
        ],
        "E5010",
        "infra.toml",
        9,
    );
    // Parameter values from the environment are checked, at the value in infra.toml.
    let param = "Parameters:\n  Size:\n    Type: Number\n    MaxValue: 10\n    ConstraintDescription: at most 10\n"
        .to_string()
        + BUCKET;
    run(
        vec![
            ("infra.toml".into(), format!("{TOML}[environments.prod.parameters]\nSize = 11\n")),
            layer("shared", &param),
        ],
        "E1105",
        "infra.toml",
        9,
    );
    let ssm = "Parameters:\n  Ami:\n    Type: AWS::SSM::Parameter::Value<String>\n    Default: /ami/latest\n"
        .to_string()
        + BUCKET;
    run(vec![("infra.toml".into(), TOML.into()), layer("shared", &ssm)], "E1106", "stacks/shared/main.yaml", 2);
    let required = "Parameters:\n  Name:\n    Type: String\n".to_string() + BUCKET;
    run(vec![("infra.toml".into(), TOML.into()), layer("shared", &required)], "E1100", "stacks/shared/main.yaml", 2);
}

#[test]
fn files_of_a_layer_share_identical_declarations() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "infra.toml",
        &format!(
            "{TOML}[environments.dev.parameters]\nEnv = \"dev\"\n[environments.prod.parameters]\nEnv = \"prod\"\n"
        ),
    );
    let common = "Parameters:\n  Env:\n    Type: String\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\n";
    write(dir.path(), "stacks/backend/a.yaml", &format!("{common}Resources:\n  A:\n    Type: AWS::SQS::Queue\n"));
    write(
        dir.path(),
        "stacks/backend/b.yaml",
        &format!("{common}Resources:\n  B:\n    Type: AWS::SQS::Queue\n    Condition: IsProd\n"),
    );
    let v = validate_project(dir.path(), &[]);
    assert!(v.diags.is_empty(), "{}", listing(&v));
}

#[test]
fn stray_folder_is_an_error_without_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "infra.toml", TOML);
    write(dir.path(), "stacks/backnd/main.yaml", BUCKET);
    let v = validate_project(dir.path(), &[]);
    let d = v.diags.iter().find(|d| d.code == "E5006").unwrap_or_else(|| panic!("{}", listing(&v)));
    assert_eq!(d.help.as_deref(), Some("did you mean `backend`?"));
}

// ------------------------------------------------------------------ positive evaluation

fn eval_json(
    template: serde_json::Value,
    params: &[(&str, &str)],
) -> (infra_core::template::eval::Evaluated, Vec<Diagnostic>) {
    eval_node(&Node::from_json(&template), params)
}

/// Evaluate a YAML template (short forms allowed) as layer `backend` of environment `dev`.
pub(crate) fn eval_yaml(
    text: &str,
    params: &[(&str, &str)],
) -> (infra_core::template::eval::Evaluated, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let file = sources.add(Path::new("t.yaml"), "t.yaml", text);
    match parse_str(text, file, Syntax::Yaml, &Limits::default()) {
        Ok(root) => eval_node(&root, params),
        Err(d) => panic!("{text}: {d:?}"),
    }
}

fn eval_node(root: &Node, params: &[(&str, &str)]) -> (infra_core::template::eval::Evaluated, Vec<Diagnostic>) {
    let mut diags = infra_core::diag::Diagnostics::new();
    let t = model::parse(root, &mut diags);
    let params: IndexMap<String, ParamInput> =
        params.iter().map(|(k, v)| (k.to_string(), ParamInput { value: v.to_string(), span: None })).collect();
    let exports = BTreeMap::from([("net-VpcId".to_string(), Value::String("vpc-123".into()))]);
    let input = EvalInput {
        project: "ml",
        environment: "dev",
        layer: "backend",
        region: "eu-west-1",
        account_id: PLACEHOLDER_ACCOUNT_ID,
        parameters: &params,
        exports: &exports,
        allow_unresolved: false,
    };
    let ev = evaluate(&t, &input, &mut diags);
    (ev, diags.into_vec())
}

/// Evaluate `value` as the property `P` of a resource and compare with `expected` (JSON long form).
fn check_value(value: serde_json::Value, expected: serde_json::Value) {
    let template = json!({
        "Parameters": {
            "Env": {"Type": "String", "Default": "dev"},
            "Subnets": {"Type": "CommaDelimitedList", "Default": "a,b,c"},
            "Count": {"Type": "Number", "Default": "2"}
        },
        "Mappings": {"RegionMap": {"eu-west-1": {"Ami": "ami-1"}}},
        "Conditions": {"IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]}, "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]}},
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role"},
            "R": {"Type": "AWS::S3::Bucket", "Properties": {"P": value, "Keep": 1}}
        }
    });
    let (ev, diags) = eval_json(template, &[]);
    assert!(diags.is_empty(), "{value}: {diags:?}");
    let props = ev.stack.resources.get("R").expect("resource R").properties.to_json();
    assert_eq!(props.get("P").cloned().unwrap_or(json!("<removed>")), expected, "{value}");
}

#[test]
fn intrinsics_fold() {
    check_value(json!({"Ref": "Env"}), json!("dev"));
    check_value(json!({"Ref": "Count"}), json!("2"));
    check_value(json!({"Ref": "Subnets"}), json!(["a", "b", "c"]));
    check_value(json!({"Ref": "AWS::Region"}), json!("eu-west-1"));
    check_value(json!({"Ref": "AWS::AccountId"}), json!("123456789012"));
    check_value(json!({"Ref": "AWS::Partition"}), json!("aws"));
    check_value(json!({"Ref": "AWS::URLSuffix"}), json!("amazonaws.com"));
    check_value(json!({"Ref": "AWS::StackName"}), json!("ml-dev-backend"));
    check_value(json!({"Ref": "AWS::NotificationARNs"}), json!([]));
    check_value(json!({"Ref": "AWS::NoValue"}), json!("<removed>"));
    check_value(json!(["a", {"Ref": "AWS::NoValue"}, "b"]), json!(["a", "b"]));
    check_value(json!({"Fn::Sub": "${AWS::StackName}-${Env}-${!Literal}"}), json!("ml-dev-backend-dev-${Literal}"));
    check_value(json!({"Fn::Sub": ["${A}/${Env}", {"A": "x"}]}), json!("x/dev"));
    check_value(json!({"Fn::Join": ["-", ["a", {"Ref": "Env"}, 3]]}), json!("a-dev-3"));
    check_value(json!({"Fn::Join": [",", {"Ref": "Subnets"}]}), json!("a,b,c"));
    check_value(json!({"Fn::Select": ["1", {"Ref": "Subnets"}]}), json!("b"));
    check_value(json!({"Fn::Split": [",", "x,y"]}), json!(["x", "y"]));
    check_value(json!({"Fn::FindInMap": ["RegionMap", {"Ref": "AWS::Region"}, "Ami"]}), json!("ami-1"));
    check_value(json!({"Fn::If": ["IsDev", "small", "large"]}), json!("small"));
    check_value(json!({"Fn::If": ["IsProd", "large", {"Ref": "AWS::NoValue"}]}), json!("<removed>"));
    check_value(json!({"Fn::Base64": "hi"}), json!("aGk="));
    check_value(json!({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}), json!(["10.0.0.0/24", "10.0.1.0/24"]));
    check_value(json!({"Fn::GetAZs": ""}), json!(["eu-west-1a", "eu-west-1b", "eu-west-1c"]));
    check_value(json!({"Fn::Select": [0, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}), json!("eu-west-1a"));
    check_value(json!({"Fn::Length": {"Ref": "Subnets"}}), json!(3));
    check_value(json!({"Fn::ToJsonString": {"a": [1]}}), json!("{\"a\":[1]}"));
    check_value(json!({"Fn::ImportValue": "net-VpcId"}), json!("vpc-123"));
    check_value(json!({"Fn::ImportValue": {"Fn::Sub": "${Env}-Unknown"}}), json!({"Fn::ImportValue": "dev-Unknown"}));
}

#[test]
fn resource_references_stay_expressions() {
    check_value(json!({"Ref": "Role"}), json!({"Ref": "Role"}));
    check_value(json!({"Fn::GetAtt": ["Role", "Arn"]}), json!({"Fn::GetAtt": ["Role", "Arn"]}));
    check_value(json!({"Fn::GetAtt": "Role.Arn"}), json!({"Fn::GetAtt": ["Role", "Arn"]}));
    check_value(
        json!({"Fn::Sub": "arn:${AWS::Partition}:x:${Role}/${Role.Arn}!"}),
        json!({"Fn::Join": ["", ["arn:aws:x:", {"Ref": "Role"}, "/", {"Fn::GetAtt": ["Role", "Arn"]}, "!"]]}),
    );
    check_value(json!({"Fn::Join": ["/", ["a", {"Ref": "Role"}]]}), json!({"Fn::Join": ["/", ["a", {"Ref": "Role"}]]}));
    check_value(
        json!({"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "Role"}]}]}),
        json!({"Fn::Select": [0, {"Fn::Split": [",", {"Ref": "Role"}]}]}),
    );
    check_value(json!({"Fn::Base64": {"Ref": "Role"}}), json!({"Fn::Base64": {"Ref": "Role"}}));
}

/// What apply knows once the resources exist: their attributes, as providers report them (JSON),
/// and the exports of lower layers.
struct Applied;

impl Resolver for Applied {
    fn attribute(&self, logical_id: &str, attr: Option<&str>) -> Option<Value> {
        let j = match (logical_id, attr) {
            ("X", None) => json!("x-1"),
            ("X", Some("Attr")) => json!("p,q,r"),
            ("X", Some("List")) => json!(["first", "second"]),
            ("Vpc", None) => json!("vpc-1"),
            ("Vpc", Some("CidrBlock")) => json!("10.0.0.0/16"),
            ("Vpc", Some("CidrBlockAssociations")) => json!(["10.0.0.0/16", "10.1.0.0/16"]),
            _ => return None,
        };
        Some(Value::from_json(&j))
    }
    fn export(&self, name: &str) -> Option<Value> {
        (name == "net-Subnets").then(|| Value::String("s1,s2".into()))
    }
}

/// Nothing applied yet.
struct NotApplied;

impl Resolver for NotApplied {
    fn attribute(&self, _: &str, _: Option<&str>) -> Option<Value> {
        None
    }
}

/// A template whose resource `R` has the property `P`, whose value follows.
const AFTER_APPLY: &str = "\
Parameters:
  Env: {Type: String, Default: dev}
Conditions:
  IsDev: !Equals [!Ref Env, dev]
  IsProd: !Not [!Condition IsDev]
Resources:
  Vpc: {Type: AWS::EC2::VPC}
  X: {Type: AWS::S3::Bucket}
  R:
    Type: AWS::S3::Bucket
    Properties:
      P: ";

/// Evaluate `yaml` as the property `P` of a resource `R`. The plan shows it as known after
/// apply, `R` depends on `depends_on`, and a saved plan carries it unchanged; resolved with
/// what apply knows, it is `expected`.
fn check_after_apply(yaml: &str, depends_on: &[&str], expected: serde_json::Value) {
    let text = format!("{AFTER_APPLY}{yaml}\n");
    let (ev, diags) = eval_yaml(&text, &[]);
    assert!(diags.is_empty(), "{yaml}: {diags:?}");
    let r = ev.stack.resources.get("R").expect("resource R");
    let Value::Map(props) = &r.properties else { panic!("{yaml}: properties {:?}", r.properties) };
    let p = props.get("P").unwrap_or_else(|| panic!("{yaml}: no P"));
    assert!(!p.is_known(), "{yaml}: {}", p.to_json());
    assert_eq!(value_text(p), "(known after apply)", "{yaml}");
    assert_eq!(r.depends_on.iter().map(String::as_str).collect::<Vec<_>>(), depends_on, "{yaml}");
    assert_eq!(&Value::from_json(&p.to_json()), p, "{yaml}: a saved plan carries {}", p.to_json());
    assert_eq!(&p.resolve(&NotApplied), p, "{yaml}");
    let resolved = p.resolve(&Applied);
    assert!(resolved.is_known(), "{yaml}: resolved to {}", resolved.to_json());
    assert_eq!(resolved.to_json(), expected, "{yaml}");
}

#[test]
fn lists_known_after_apply_resolve_through_functions() {
    check_after_apply("!Join [\",\", !GetAtt Vpc.CidrBlockAssociations]", &["Vpc"], json!("10.0.0.0/16,10.1.0.0/16"));
    check_after_apply("!Join [\"-\", !Split [\",\", !GetAtt X.Attr]]", &["X"], json!("p-q-r"));
    check_after_apply("!Join [\"-\", !GetAtt X.List]", &["X"], json!("first-second"));
    check_after_apply("!Select [0, !GetAtt X.List]", &["X"], json!("first"));
    check_after_apply("!Select [\"1\", !Split [\",\", !GetAtt X.Attr]]", &["X"], json!("q"));
    check_after_apply("!Split [\",\", !GetAtt X.Attr]", &["X"], json!(["p", "q", "r"]));
    check_after_apply(
        "!Join [\"/\", [!Ref Vpc, !Join [\"+\", !GetAtt X.List], !Select [1, !GetAtt X.List]]]",
        &["Vpc", "X"],
        json!("vpc-1/first+second/second"),
    );
    check_after_apply("!Base64 {\"Fn::Join\": [\",\", !GetAtt X.List]}", &["X"], json!("Zmlyc3Qsc2Vjb25k"));
    check_after_apply("!Select [1, !Cidr [!GetAtt Vpc.CidrBlock, 2, 8]]", &["Vpc"], json!("10.0.1.0/24"));
    check_after_apply("!Join [\",\", !Split [\",\", !ImportValue net-Subnets]]", &[], json!("s1,s2"));
    // Fn::Sub inside them, and them inside Fn::Sub.
    check_after_apply("!Join [\",\", [!Sub \"${X}-a\", !Sub \"${X.Attr}\"]]", &["X"], json!("x-1-a,p,q,r"));
    check_after_apply("!Select [0, !Split [\",\", !Sub \"${X.Attr},${Env}\"]]", &["X"], json!("p"));
    check_after_apply(
        "!Sub [\"${Head}/${Env}/${Vpc}\", {Head: !Select [0, !GetAtt X.List]}]",
        &["Vpc", "X"],
        json!("first/dev/vpc-1"),
    );
    check_after_apply(
        "!Sub [\"${Cidrs}\", {Cidrs: !Join [\" \", !GetAtt Vpc.CidrBlockAssociations]}]",
        &["Vpc"],
        json!("10.0.0.0/16 10.1.0.0/16"),
    );
    // Fn::If inside them, and them inside Fn::If.
    check_after_apply("!Join [\",\", !If [IsDev, !GetAtt X.List, [none]]]", &["X"], json!("first,second"));
    check_after_apply("!Join [\",\", !If [IsProd, [none], !Split [\",\", !GetAtt X.Attr]]]", &["X"], json!("p,q,r"));
    check_after_apply("!If [IsDev, !Join [\"-\", !GetAtt X.List], plain]", &["X"], json!("first-second"));
    check_after_apply("!Select [0, [!If [IsProd, a, !Select [1, !GetAtt X.List]], b]]", &["X"], json!("second"));
}

/// A function refuses its arguments with the same message whether they are known when the
/// template is evaluated (`known`, reported at the function with `code`) or only after apply
/// (`after_apply`: the plan shows it as known after apply, resolution refuses it).
fn check_refused(known: &str, after_apply: &str, code: &str, message: &str) {
    let (_, diags) = eval_yaml(&format!("{AFTER_APPLY}{known}\n"), &[]);
    let found: Vec<(&str, &str)> = diags.iter().map(|d| (d.code, d.message.as_str())).collect();
    assert_eq!(found, [(code, message)], "{known}");

    let (ev, diags) = eval_yaml(&format!("{AFTER_APPLY}{after_apply}\n"), &[]);
    assert!(diags.is_empty(), "{after_apply}: {diags:?}");
    let p = ev.stack.resources["R"].properties.clone();
    assert_eq!(value_text(&p), "{\n  \"P\": (known after apply)\n}", "{after_apply}");
    assert!(!p.resolve(&Applied).is_known(), "{after_apply}");
    match p.try_resolve(&Applied) {
        Err(e) => assert_eq!(e.to_string(), message, "{after_apply}"),
        Ok(v) => panic!("{after_apply}: resolved to {}", v.to_json()),
    }
    assert_eq!(p.try_resolve(&NotApplied), Ok(p.clone()), "{after_apply}: nothing is refused before apply");
}

#[test]
fn functions_refuse_bad_arguments_alike_before_and_after_apply() {
    check_refused(
        "!Select [5, [first, second]]",
        "!Select [5, !GetAtt X.List]",
        "E1137",
        "index 5 of `Fn::Select` is out of range for a list of 2 items",
    );
    check_refused(
        "!Join [\",\", [[first, second]]]",
        "!Join [\",\", [!GetAtt X.List]]",
        "E1136",
        "`Fn::Join` can only join strings, found a list",
    );
    check_refused(
        "!Join [\",\", \"p,q,r\"]",
        "!Join [\",\", !GetAtt X.Attr]",
        "E1136",
        "the second argument of `Fn::Join` must be a list, found a string",
    );
    check_refused(
        "!Split [\",\", [first, second]]",
        "!Split [\",\", !GetAtt X.List]",
        "E1138",
        "the second argument of `Fn::Split` must be a string, found a list",
    );
    check_refused(
        "!Base64 [first, second]",
        "{\"Fn::Base64\": !GetAtt X.List}",
        "E1147",
        "`Fn::Base64` takes a string, found a list",
    );
    check_refused(
        "!Cidr [\"p,q,r\", 2, 8]",
        "!Cidr [!GetAtt X.Attr, 2, 8]",
        "E1148",
        "`Fn::Cidr` cannot carve 2 subnets of 8 host bits from \"p,q,r\"",
    );
}

#[test]
fn conditions_drop_resources_and_outputs_and_deps_are_collected() {
    let template = json!({
        "Parameters": {"Env": {"Type": "String", "AllowedValues": ["dev", "prod"]}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {
            "Big": {"Type": "AWS::S3::Bucket", "Condition": "IsProd"},
            "Role": {"Type": "AWS::IAM::Role", "DeletionPolicy": "Retain"},
            "Queue": {"Type": "AWS::SQS::Queue", "DependsOn": "Role",
                      "Properties": {"Name": {"Fn::Sub": "${Role.Arn}"}, "Other": {"Fn::If": ["IsProd", {"Ref": "Big"}, "none"]}}}
        },
        "Outputs": {
            "BigName": {"Value": {"Ref": "Big"}, "Condition": "IsProd"},
            "RoleArn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}, "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-RoleArn"}}}
        }
    });
    let (ev, diags) = eval_json(template.clone(), &[("Env", "dev")]);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(ev.stack.resources.keys().collect::<Vec<_>>(), vec!["Role", "Queue"]);
    let q = ev.stack.resources.get("Queue").expect("Queue");
    assert_eq!(q.depends_on.iter().collect::<Vec<_>>(), vec!["Role"]);
    assert_eq!(q.properties.to_json()["Other"], json!("none"));
    assert_eq!(
        ev.stack.resources.get("Role").map(|r| r.deletion_policy),
        Some(infra_core::state::DeletionPolicy::Retain)
    );
    assert_eq!(ev.stack.outputs.keys().collect::<Vec<_>>(), vec!["RoleArn"]);
    assert_eq!(ev.exports.first().map(|e| e.0.as_str()), Some("ml-dev-backend-RoleArn"));

    let (ev, diags) = eval_json(template.clone(), &[("Env", "prod")]);
    assert!(diags.is_empty(), "{diags:?}");
    let q = ev.stack.resources.get("Queue").expect("Queue");
    assert_eq!(q.depends_on.iter().collect::<Vec<_>>(), vec!["Big", "Role"]);
    assert_eq!(ev.stack.outputs.len(), 2);

    let (_, diags) = eval_json(template, &[("Env", "test")]);
    assert_eq!(diags.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["E1102"]);
}

#[test]
fn no_echo_values_are_never_printed() {
    let template = json!({
        "Parameters": {"Secret": {"Type": "String", "NoEcho": true, "MinLength": 12, "AllowedPattern": "[a-z]+"}},
        "Resources": {"R": {"Type": "AWS::S3::Bucket"}}
    });
    let (_, diags) = eval_json(template, &[("Secret", "Hunter2")]);
    assert_eq!(diags.len(), 2, "{diags:?}");
    for d in &diags {
        assert!(!d.message.contains("Hunter2"), "{}", d.message);
        assert!(d.message.contains("hidden"), "{}", d.message);
    }
}

#[test]
fn stack_id_and_partitions_are_stable() {
    use infra_core::template::eval::{partition, stack_id};
    assert_eq!(partition("cn-north-1"), "aws-cn");
    assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    assert_eq!(partition("eu-west-1"), "aws");
    let a = stack_id("us-east-1", "1", "ml-dev-backend");
    assert_eq!(a, stack_id("us-east-1", "1", "ml-dev-backend"));
    assert!(a.starts_with("arn:aws:cloudformation:us-east-1:1:stack/ml-dev-backend/"), "{a}");
    assert_ne!(a, stack_id("us-east-1", "1", "ml-prod-backend"));
}

#[test]
fn project_loads_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "infra.toml",
        "[project]\nname = \"ml\"\nregion = \"us-east-1\"\n\n[state]\npath = \"st\"\n\n[environments.dev]\n[environments.dev.parameters]\nSize = \"1\"\n\n[environments.prod]\nregion = \"eu-west-1\"\nendpoint_url = \"http://127.0.0.1:5000\"\nretry_timeout = \"1h 30m\"\n[environments.prod.parameters]\nSize = \"3\"\n[environments.prod.layers.backend.parameters]\nSize = \"4\"\n",
    );
    write(
        dir.path(),
        "stacks/network/vpc.yaml",
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\nOutputs:\n  Name:\n    Value: !Ref Bucket\n    Export:\n      Name: !Sub \"${AWS::StackName}-Bucket\"\n",
    );
    write(
        dir.path(),
        "stacks/backend/api.json",
        r#"{"Parameters": {"Size": {"Type": "Number"}},
            "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {
               "QueueName": {"Fn::Sub": "${AWS::Region}-${Size}"},
               "Tags": [{"Key": "b", "Value": {"Fn::ImportValue": {"Fn::Sub": "ml-${Env}-network-Bucket"}}}]}}},
            "Conditions": {}, "Mappings": {}, "Outputs": {}}"#
            .replace("${Env}", "dev")
            .as_str(),
    );
    let project = infra_core::project::Project::load(dir.path()).unwrap_or_else(|d| panic!("{:?}", d.into_vec()));
    assert_eq!(project.layers().collect::<Vec<_>>(), vec!["identity", "network", "shared", "backend", "frontend"]);
    assert_eq!(project.environments().iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), vec!["dev", "prod"]);
    assert_eq!(project.region("prod"), "eu-west-1");
    assert_eq!(project.region("dev"), "us-east-1");
    assert_eq!(project.endpoint_url("prod"), Some("http://127.0.0.1:5000"));
    assert_eq!(project.retry_timeout("prod"), Some(std::time::Duration::from_secs(5400)));
    assert_eq!(project.retry_timeout("dev"), None);
    assert_eq!(project.state_dir(), dir.path().join("st"));

    let stacks =
        load_stacks(&project, "dev", "111111111111", &BTreeMap::new()).unwrap_or_else(|d| panic!("{:?}", d.into_vec()));
    assert_eq!(stacks.iter().map(|s| s.layer.as_str()).collect::<Vec<_>>(), vec!["network", "backend"]);
    let q = stacks.get(1).and_then(|s| s.resources.get("Q")).expect("Q");
    assert_eq!(q.properties.to_json()["QueueName"], json!("us-east-1-1"));
    assert_eq!(q.properties.to_json()["Tags"][0]["Value"], json!({"Fn::ImportValue": "ml-dev-network-Bucket"}));
    assert!(stacks.get(1).is_some_and(|s| s.imports.contains("ml-dev-network-Bucket")));

    let stacks = load_stacks(&project, "prod", "111111111111", &BTreeMap::new());
    // prod imports the dev export name, which prod's network layer does not declare.
    let errors = stacks.err().map(|d| d.iter().map(|d| d.code).collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(errors, vec!["E3012"]);

    let v = validate_project(dir.path(), &["dev".to_string()]);
    assert!(!v.diags.has_errors(), "{}", listing(&v));
    // Two of the five configured layers have a folder under stacks/.
    assert_eq!((v.layers, v.environments, v.resources), (2, 1, 2));
}

#[test]
fn top_level_include_merges_sections() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "common/outputs.yaml",
        "Outputs:\n  BucketArn:\n    Value: !GetAtt Bucket.Arn\nResources:\n  Bucket:\n    Type: AWS::SQS::Queue\n",
    );
    write(
        dir.path(),
        "t.yaml",
        "Transform:\n  Name: AWS::Include\n  Parameters:\n    Location: common/outputs.yaml\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n  Other:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Ref Bucket\n",
    );
    let v = validate_files(&[dir.path().join("t.yaml")]);
    // The included `Bucket` clashes with the template's; the included output is merged.
    expect(&v, "E1064", "outputs.yaml", 5);
    assert_eq!(v.diags.iter().filter(|d| d.is_error()).count(), 1, "{}", listing(&v));
}

/// Random trees of intrinsics over a small vocabulary: evaluation reports problems and never
/// panics, whatever the shape of the arguments.
#[test]
fn random_templates_never_panic() {
    const KEYS: &[&str] = &[
        "Ref",
        "Fn::Sub",
        "Fn::Join",
        "Fn::Select",
        "Fn::If",
        "Fn::FindInMap",
        "Fn::GetAtt",
        "Fn::Cidr",
        "Fn::Split",
        "Fn::Base64",
        "Fn::GetAZs",
        "Fn::Equals",
        "Fn::And",
        "Fn::Or",
        "Fn::Not",
        "Condition",
        "Fn::ImportValue",
        "Fn::Length",
        "Fn::ToJsonString",
        "Fn::Transform",
        "Fn::Contains",
        "Fn::ValueOf",
        "A",
        "Name",
    ];
    const STRINGS: &[&str] = &[
        "A",
        "B",
        "P",
        "L",
        "M",
        "K",
        "V",
        "C1",
        "C2",
        "AWS::Region",
        "AWS::NoValue",
        "AWS::StackName",
        "${A}",
        "${B.Arn}",
        "${!x}",
        "${",
        "${P}${L}",
        "10.0.0.0/16",
        "::/64",
        "1",
        "-1",
        "x,y",
        "",
        "AWS::Include",
        "A.Arn",
    ];
    fn gen(rng: &mut fastrand::Rng, depth: u32) -> serde_json::Value {
        let pick =
            |rng: &mut fastrand::Rng, xs: &[&str]| xs.get(rng.usize(..xs.len())).copied().unwrap_or("").to_string();
        match if depth == 0 { rng.u32(0..3) } else { rng.u32(0..6) } {
            0 => json!(pick(rng, STRINGS)),
            1 => json!([0.0, 1.0, 2.0, 3.0, 256.0, -3.0, 1.5][rng.usize(..7)]),
            2 => json!(rng.bool()),
            3 => serde_json::Value::Array((0..rng.usize(0..4)).map(|_| gen(rng, depth - 1)).collect()),
            _ => {
                let mut m = serde_json::Map::new();
                m.insert(pick(rng, KEYS), gen(rng, depth - 1));
                serde_json::Value::Object(m)
            }
        }
    }
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..3000 {
        let template = json!({
            "Parameters": {"P": {"Type": "String", "Default": "1"}, "L": {"Type": "CommaDelimitedList", "Default": "a,b"}},
            "Mappings": {"M": {"K": {"V": "x"}}},
            "Conditions": {"C1": gen(&mut rng, 3), "C2": gen(&mut rng, 3)},
            "Rules": {"R": {"Assertions": [{"Assert": gen(&mut rng, 3)}]}},
            "Resources": {
                "A": {"Type": "AWS::S3::Bucket", "Condition": "C1", "Properties": {"X": gen(&mut rng, 4)}},
                "B": {"Type": "AWS::S3::Bucket", "DependsOn": ["A"], "Properties": {"Y": gen(&mut rng, 4)}}
            },
            "Outputs": {"O": {"Value": gen(&mut rng, 4), "Export": {"Name": gen(&mut rng, 2)}}}
        });
        let (ev, _) = eval_json(template, &[]);
        let _ = infra_core::graph::Graph::from_stack(&ev.stack).topo_order();
    }
}

#[test]
fn long_condition_chains_are_refused_not_overflowed() {
    let mut conditions = serde_json::Map::new();
    for i in 0..5000 {
        conditions.insert(format!("C{i}"), json!({"Fn::Not": [{"Condition": format!("C{}", i + 1)}]}));
    }
    conditions.insert("C5000".into(), json!({"Fn::Equals": ["a", "a"]}));
    let template =
        json!({"Conditions": conditions, "Resources": {"R": {"Type": "AWS::S3::Bucket", "Condition": "C0"}}});
    let (_, diags) = eval_json(template, &[]);
    assert!(diags.iter().any(|d| d.code == "E1120"), "{diags:?}");
}

#[test]
fn deeply_nested_intrinsics_evaluate_within_the_stack() {
    // Nearly as deep as the loader allows (128 levels): Fn::Select over Fn::If over lists.
    let mut value = json!("x");
    for i in 0..48 {
        value = if i % 2 == 0 { json!({"Fn::Select": [0, [value]]}) } else { json!({"Fn::If": ["C", value, "y"]}) };
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let template = json!({
        "Conditions": {"C": {"Fn::Equals": ["a", "a"]}},
        "Resources": {"R": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": value}}}
    });
    write(dir.path(), "deep.json", &template.to_string());
    let v = validate_files(&[dir.path().join("deep.json")]);
    assert!(!v.diags.has_errors(), "{}", listing(&v));
}

#[test]
fn reference_project_validates_and_loads_in_every_environment() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let v = validate_project(&root, &[]);
    assert!(!v.diags.has_errors(), "{}", listing(&v));
    assert_eq!((v.layers, v.environments), (5, 2));
    let project = infra_core::project::Project::load(&root).unwrap_or_else(|d| panic!("{:?}", d.into_vec()));
    for env in ["dev", "prod"] {
        let stacks = load_stacks(&project, env, "111111111111", &BTreeMap::new())
            .unwrap_or_else(|d| panic!("{env}: {:?}", d.into_vec()));
        assert_eq!(stacks.iter().map(|s| s.layer.as_str()).collect::<Vec<_>>(), project.layers().collect::<Vec<_>>());
        for s in &stacks {
            let order = infra_core::graph::Graph::from_stack(s).topo_order().expect("no cycle");
            assert_eq!(order.len(), s.resources.len());
        }
    }
}

#[test]
fn single_files_take_an_environments_values_for_their_layer() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "infra.toml", &format!("{TOML}[environments.prod.layers.backend.parameters]\nSize = \"11\"\n"));
    let template = "Parameters:\n  Size:\n    Type: Number\n    Default: 1\n    MaxValue: 10\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n";
    write(dir.path(), "stacks/backend/q.yaml", template);
    let file = [dir.path().join("stacks/backend/q.yaml")];
    let v = infra_core::validate::validate_files_in(&file, None);
    assert!(v.diags.is_empty(), "{}", listing(&v));
    let v = infra_core::validate::validate_files_in(&file, Some("dev"));
    assert!(v.diags.is_empty(), "{}", listing(&v));
    let v = infra_core::validate::validate_files_in(&file, Some("prod"));
    expect(&v, "E1105", "infra.toml", 9);
    let v = infra_core::validate::validate_files_in(&file, Some("staging"));
    assert_eq!(v.diags.iter().map(|d| d.code).collect::<Vec<_>>(), vec!["E5007"]);
}
