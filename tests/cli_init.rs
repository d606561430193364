//! `infra init`: the skeleton and the ml-endpoint example validate, plan, apply and destroy
//! against the local AWS; a folder that holds anything is refused and left as it was.

mod aws_project;

use aws_project::{AwsProject, Run};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Run `infra ARGS` in `cwd`, with nothing from the machine's environment choosing a project.
fn infra_in(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_infra"))
        .current_dir(cwd)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("INFRA_PROJECT_DIR")
        .env_remove("INFRA_ENV")
        .output()
        .expect("run the infra binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every file below `dir` with its bytes, and every folder (as `path/`).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read folder").flatten() {
            let path = entry.path();
            let name = path.strip_prefix(root).expect("below the root").display().to_string();
            if path.is_dir() {
                out.insert(format!("{name}/"), Vec::new());
                walk(root, &path, out);
            } else {
                out.insert(name, std::fs::read(&path).expect("read file"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Run `infra ARGS` on the project's `dev` environment and require exit code `code`.
fn expect_dev(p: &AwsProject, code: i32, args: &[&str]) -> Run {
    let run = p.infra_in("dev", args);
    assert_eq!(run.code, code, "infra {}\n{}", args.join(" "), run.both());
    run
}

#[test]
fn init_lays_down_a_project_that_validates_plans_applies_and_destroys() {
    let p = AwsProject::empty();
    let url = p.account.endpoint_url.clone();
    let run = expect_dev(&p, 0, &["init", "--name", "demo", "--local-aws", &url]);
    assert!(run.stdout.contains("infra apply"), "{}", run.both());
    for f in [
        "infra.toml",
        ".gitignore",
        "stacks/identity/roles.yaml",
        "stacks/network/network.yaml",
        "stacks/shared/shared.yaml",
        "stacks/backend/backend.yaml",
        "stacks/frontend/frontend.yaml",
    ] {
        assert!(p.path().join(f).is_file(), "init did not write {f}");
    }
    let settings = std::fs::read_to_string(p.path().join("infra.toml")).expect("read infra.toml");
    assert!(settings.contains(&format!("endpoint_url = \"{url}\"")), "{settings}");

    let run = expect_dev(&p, 0, &["validate"]);
    assert_eq!(run.stdout, "validate: 0 errors, 0 warnings (5 layers, 1 environment, 5 resources)\n");
    let run = expect_dev(&p, 2, &["plan", "--detailed-exitcode"]);
    for id in ["ServiceRole", "NetworkPlan", "Naming", "ExecutionRole", "SiteName"] {
        assert!(run.stdout.lines().any(|l| l.trim().starts_with("+ ") && l.ends_with(id)), "{id}:\n{}", run.both());
    }
    expect_dev(&p, 0, &["apply", "-auto-approve"]);
    expect_dev(&p, 0, &["plan", "--detailed-exitcode"]);

    // The role is in the account, and the backend layer read its ARN through the export.
    let iam = aws_sdk_iam::Client::new(&p.sdk_config());
    let roles = p.runtime.block_on(iam.list_roles().send()).expect("list roles");
    let arns: Vec<&str> = roles.roles().iter().filter(|r| r.path() == "/demo/").map(|r| r.arn()).collect();
    assert_eq!(arns.len(), 1, "{arns:?}");
    let run = expect_dev(&p, 0, &["output", "backend"]);
    assert!(
        run.stdout.contains(arns[0]),
        "the backend layer's output is not the role ARN {}:\n{}",
        arns[0],
        run.both()
    );
    let run = expect_dev(&p, 0, &["output", "frontend"]);
    assert!(run.stdout.contains("demo-dev-site"), "{}", run.both());

    expect_dev(&p, 0, &["destroy", "-auto-approve"]);
    let roles = p.runtime.block_on(iam.list_roles().send()).expect("list roles");
    assert!(!roles.roles().iter().any(|r| r.path() == "/demo/"), "destroy left {:?}", roles.roles());
    let run = expect_dev(&p, 2, &["plan", "--detailed-exitcode"]);
    assert!(run.stdout.contains("5 to add"), "{}", run.both());
}

#[test]
fn the_ml_endpoint_example_applies_and_destroys() {
    let p = AwsProject::empty();
    let url = p.account.endpoint_url.clone();
    expect_dev(&p, 0, &["init", "--name", "ml", "--local-aws", &url, "--example", "ml-endpoint"]);
    let run = expect_dev(&p, 0, &["validate"]);
    assert_eq!(run.stdout, "validate: 0 errors, 0 warnings (5 layers, 1 environment, 10 resources)\n");
    expect_dev(&p, 0, &["apply", "-auto-approve"]);
    expect_dev(&p, 0, &["plan", "--detailed-exitcode"]);

    let sagemaker = aws_sdk_sagemaker::Client::new(&p.sdk_config());
    let run = expect_dev(&p, 0, &["--format", "json", "state", "show", "backend.Endpoint"]);
    let record: serde_json::Value = serde_json::from_str(&run.stdout).expect("state show prints JSON");
    let name = record["attributes"]["EndpointName"].as_str().expect("an endpoint name in state").to_string();
    let endpoint = p.runtime.block_on(sagemaker.describe_endpoint().endpoint_name(&name).send()).expect("endpoint");
    assert_eq!(endpoint.endpoint_status().map(|s| s.as_str()), Some("InService"));
    let autoscaling = aws_sdk_applicationautoscaling::Client::new(&p.sdk_config());
    let targets = p
        .runtime
        .block_on(
            autoscaling
                .describe_scalable_targets()
                .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Sagemaker)
                .send(),
        )
        .expect("scalable targets");
    assert_eq!(targets.scalable_targets().len(), 1);
    assert_eq!(targets.scalable_targets()[0].max_capacity(), 2);

    expect_dev(&p, 0, &["destroy", "-auto-approve"]);
    let left = p.runtime.block_on(sagemaker.describe_endpoint().endpoint_name(&name).send());
    assert!(left.is_err(), "destroy left the endpoint {name}");
}

#[test]
fn init_refuses_a_folder_that_holds_anything_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("notes.txt"), "keep me\n").expect("write");
    std::fs::create_dir_all(dir.path().join("stacks/identity")).expect("mkdir");
    std::fs::write(dir.path().join("stacks/identity/role.yaml"), "Resources: {}\n").expect("write");
    let before = tree(dir.path());

    let run = infra_in(dir.path(), &["init"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stdout.is_empty(), "{}", run.both());
    assert!(run.stderr.contains("is not empty (it holds notes.txt, stacks/)"), "{}", run.both());
    assert!(run.stderr.contains("nothing was changed"), "{}", run.both());
    assert_eq!(tree(dir.path()), before);

    // The same through DIR, and with --example.
    let run = infra_in(
        dir.path().parent().expect("parent"),
        &["init", &dir.path().display().to_string(), "--example", "ml-endpoint"],
    );
    assert_eq!(run.code, 1, "{}", run.both());
    assert_eq!(tree(dir.path()), before);

    // A file in the way is refused too.
    let run = infra_in(dir.path(), &["init", "notes.txt"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("is not a folder"), "{}", run.both());
    assert_eq!(tree(dir.path()), before);
}

#[test]
fn init_output_says_what_it_made_and_what_to_run_next() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = infra_in(dir.path(), &["init", "mlplatform", "--local-aws", "http://127.0.0.1:5000"]);
    assert_eq!(run.code, 0, "{}", run.both());
    insta::assert_snapshot!(run.stdout);
    let settings = std::fs::read_to_string(dir.path().join("mlplatform/infra.toml")).expect("read infra.toml");
    assert!(settings.contains("name = \"mlplatform\""), "{settings}");
    let ignore = std::fs::read_to_string(dir.path().join("mlplatform/.gitignore")).expect("read .gitignore");
    assert!(ignore.lines().any(|l| l == "/state/"), "{ignore}");

    // Without --local-aws, dev uses the SDK's default chain; the endpoint line is a comment.
    let run = infra_in(dir.path(), &["--region", "eu-west-1", "init", "other"]);
    assert_eq!(run.code, 0, "{}", run.both());
    let settings = std::fs::read_to_string(dir.path().join("other/infra.toml")).expect("read infra.toml");
    assert!(settings.contains("region = \"eu-west-1\""), "{settings}");
    assert!(settings.contains("# endpoint_url = "), "{settings}");
    let run = infra_in(&dir.path().join("other"), &["validate"]);
    assert_eq!(run.code, 0, "{}", run.both());
}

#[test]
fn init_refuses_a_bad_name_and_a_bad_url_before_writing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = infra_in(dir.path(), &["init", "a", "--name", "my project"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("invalid project name `my project`"), "{}", run.both());
    let run = infra_in(dir.path(), &["init", "b", "--local-aws", "127.0.0.1:5000"]);
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("must be an http:// or https:// URL"), "{}", run.both());
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()).keys());
}

#[test]
fn validate_counts_only_the_layers_that_exist() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = infra_in(dir.path(), &["init", "p"]);
    assert_eq!(run.code, 0, "{}", run.both());
    let project = dir.path().join("p");
    for layer in ["network", "shared", "frontend"] {
        std::fs::remove_dir_all(project.join("stacks").join(layer)).expect("remove a layer");
    }
    let run = infra_in(&project, &["validate"]);
    assert_eq!(run.stdout, "validate: 0 errors, 0 warnings (2 layers, 1 environment, 2 resources)\n", "{}", run.both());
    std::fs::remove_dir_all(project.join("stacks/backend")).expect("remove a layer");
    let run = infra_in(&project, &["validate"]);
    assert_eq!(run.stdout, "validate: 0 errors, 0 warnings (1 layer, 1 environment, 1 resource)\n", "{}", run.both());
}

#[test]
fn cfn_lint_finds_nothing_in_the_templates_init_writes() {
    let cfn_lint = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/cfn-lint");
    assert!(cfn_lint.exists(), "{} is missing: scripts/test.sh installs cfn-lint into .venv/", cfn_lint.display());
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [&["init", "skeleton"][..], &["init", "example", "--example", "ml-endpoint"]] {
        let run = infra_in(dir.path(), args);
        assert_eq!(run.code, 0, "{}", run.both());
    }
    let mut files: Vec<String> = tree(dir.path()).into_keys().filter(|f| f.ends_with(".yaml")).collect();
    files.sort();
    assert_eq!(files.len(), 10, "{files:?}");
    let out = Command::new(cfn_lint)
        .current_dir(dir.path())
        .args(["--format", "parseable"])
        .args(&files)
        .output()
        .expect("run cfn-lint");
    let report = String::from_utf8_lossy(&out.stdout);
    // cfn-lint does not know infra's engine-local types; everything else must be clean.
    let problems: Vec<&str> = report.lines().filter(|l| !l.contains("'Infra::Local::Data' does not exist")).collect();
    assert!(problems.is_empty(), "cfn-lint:\n{}", problems.join("\n"));
}
