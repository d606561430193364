//! `infra plan` on the reference project (`infra.toml` + `stacks/`) with no state: every
//! resource is to be added, and values that depend on resources not created yet are shown
//! as "(known after apply)". Runs against the local AWS because `AWS::AccountId` is looked up.

mod aws_project;

use aws_project::AwsProject;
use std::path::Path;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create directory");
    for entry in std::fs::read_dir(from).expect("read directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

#[test]
fn plan_of_the_reference_project_on_fresh_state() {
    let p = AwsProject::new(&[]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let settings = std::fs::read_to_string(root.join("infra.toml")).expect("read infra.toml");
    // The reference project's `dev` environment, pointed at the local AWS.
    let settings = settings.replace(
        "[environments.dev]\n",
        &format!("[environments.dev]\nendpoint_url = \"{}\"\n", p.account.endpoint_url),
    );
    p.write("infra.toml", &settings);
    copy_tree(&root.join("stacks"), &p.path().join("stacks"));

    // The snapshot covers the layers whose providers are settled: network, shared and frontend
    // change as EC2, S3 and ECR providers land (S3 and ECR go through CloudFormation until then).
    let run = p.infra_in("dev", &["plan", "--detailed-exitcode", "--layer", "identity", "--layer", "backend"]);
    assert_eq!(run.code, 2, "{}", run.both());
    let out = p.redact(&run.stdout);
    assert!(out.contains("(known after apply)"), "{out}");
    assert!(!out.contains("will be destroyed") && !out.contains("will be updated"), "{out}");
    insta::assert_snapshot!("reference_plan_fresh", out);
}
