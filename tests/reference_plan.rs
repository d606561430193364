//! `infra plan` on the reference project (`infra.toml` + `stacks/`) with no state: every
//! resource is to be added, and values that depend on resources not created yet are shown
//! as "(known after apply)". Runs against the local AWS because `AWS::AccountId` is looked up.

mod aws_project;

use aws_project::AwsProject;

#[test]
fn plan_of_the_reference_project_on_fresh_state() {
    let p = AwsProject::reference();
    // Every layer of the `dev` environment: nothing exists yet, so everything is to be added.
    let run = p.infra_in("dev", &["plan", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.both());
    let out = p.redact(&run.stdout);
    assert!(out.contains("(known after apply)"), "{out}");
    assert!(!out.contains("will be destroyed") && !out.contains("will be updated"), "{out}");
    insta::assert_snapshot!("reference_plan_fresh", out);
}
