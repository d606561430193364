//! S3 through the real `infra` binary against a local AWS: a layer with a retained bucket, a
//! normal one and its policy is applied, re-planned as a no-op, renamed (a replacement) and
//! destroyed; `DeletionPolicy: Retain` leaves exactly the retained bucket; a bucket that holds
//! objects stops the destroy with the ways out, and stays in state until it is empty.

mod aws_project;

use aws_project::{AwsProject, Run};

const TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Kept:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      BucketName: {kept}
      Tags:
        - Key: purpose
          Value: audit
  Scratch:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: {scratch}
      VersioningConfiguration:
        Status: Enabled
      PublicAccessBlockConfiguration:
        BlockPublicAcls: true
        RestrictPublicBuckets: true
      LifecycleConfiguration:
        Rules:
          - Id: expire-tmp
            Status: Enabled
            Prefix: tmp/
            ExpirationInDays: 7
  ScratchPolicy:
    Type: AWS::S3::BucketPolicy
    Properties:
      Bucket: !Ref Scratch
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: { AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root" }
            Action: [s3:GetObject, s3:ListBucket]
            Resource: [!GetAtt Scratch.Arn, !Sub "${Scratch.Arn}/*"]
            Condition:
              Bool: { aws:SecureTransport: false }
Outputs:
  ScratchDomain:
    Value: !GetAtt Scratch.RegionalDomainName
"#;

/// Bucket names are global: every test takes names of its own account's.
fn names(p: &AwsProject) -> (String, String) {
    let id = &p.account.account_id;
    (format!("e2e-{id}-kept"), format!("e2e-{id}-scratch"))
}

fn project() -> (AwsProject, String, String) {
    let p = AwsProject::new(&[("storage", "buckets.yaml", "")]);
    let (kept, scratch) = names(&p);
    write(&p, &kept, &scratch);
    (p, kept, scratch)
}

fn write(p: &AwsProject, kept: &str, scratch: &str) {
    p.write("stacks/storage/buckets.yaml", &TEMPLATE.replace("{kept}", kept).replace("{scratch}", scratch));
}

/// Whether the plan marks resource `logical_id` with `marker` (`+`, `~`, `-/+`, ...).
fn marked(run: &Run, marker: &str, logical_id: &str) -> bool {
    run.stdout.lines().any(|l| {
        let l = l.trim();
        l.starts_with(&format!("{marker} ")) && l.ends_with(&format!(" {logical_id}"))
    })
}

fn client(p: &AwsProject) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&p.sdk_config()).force_path_style(true).build())
}

/// The account's buckets, by name.
fn buckets(p: &AwsProject, s3: &aws_sdk_s3::Client) -> Vec<String> {
    let out = p.runtime.block_on(s3.list_buckets().send()).expect("list buckets");
    let mut names: Vec<String> = out.buckets().iter().filter_map(|b| b.name().map(str::to_string)).collect();
    names.sort();
    names
}

#[test]
fn buckets_apply_replan_quietly_rename_and_destroy_leaving_the_retained_one() {
    let (p, kept, scratch) = project();
    let s3 = client(&p);
    p.expect(0, &["apply", "-auto-approve"]);
    let mut both = vec![kept.clone(), scratch.clone()];
    both.sort();
    assert_eq!(buckets(&p, &s3), both);
    let policy = p.runtime.block_on(s3.get_bucket_policy().bucket(&scratch).send()).expect("policy");
    assert!(policy.policy().unwrap_or_default().contains("aws:SecureTransport"));
    assert_eq!(p.attribute("storage", "Scratch", "Arn"), format!("arn:aws:s3:::{scratch}"));
    // What S3 reports back (defaults, its own spelling) is no change.
    p.expect(0, &["plan", "--detailed-exitcode"]);

    // A new name replaces the bucket, and its policy with it (Bucket is create-only).
    let renamed = format!("{scratch}-2");
    write(&p, &kept, &renamed);
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    // Another name can exist beside the old one: the new bucket is made first.
    assert!(marked(&plan, "+/-", "Scratch") && marked(&plan, "+/-", "ScratchPolicy"), "{}", plan.both());
    p.expect(0, &["apply", "-auto-approve"]);
    let mut both = vec![kept.clone(), renamed.clone()];
    both.sort();
    assert_eq!(buckets(&p, &s3), both);
    p.expect(0, &["plan", "--detailed-exitcode"]);

    let destroy = p.expect(0, &["destroy", "-auto-approve"]);
    assert_eq!(buckets(&p, &s3), vec![kept.clone()], "only the retained bucket is left\n{}", destroy.both());
    // Retained means left alone, tags and all, and forgotten: a new plan would create it.
    let tags = p.runtime.block_on(s3.get_bucket_tagging().bucket(&kept).send()).expect("tags");
    assert_eq!(tags.tag_set().len(), 1);
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    assert!(marked(&plan, "+", "Kept"), "{}", plan.both());
}

#[test]
fn a_bucket_that_holds_objects_stops_destroy_and_stays_in_state_until_it_is_empty() {
    let (p, kept, scratch) = project();
    let s3 = client(&p);
    p.expect(0, &["apply", "-auto-approve"]);
    for (key, body) in [("data/a", "1"), ("data/a", "2"), ("tmp/b", "1")] {
        let put = s3.put_object().bucket(&scratch).key(key).body(body.as_bytes().to_vec().into()).send();
        p.runtime.block_on(put).expect("put object");
    }

    let destroy = p.infra(&["destroy", "-auto-approve"]);
    assert_eq!(destroy.code, 1, "{}", destroy.both());
    let all = destroy.both();
    assert!(all.contains(&format!("bucket {scratch} still holds 3 objects")), "{all}");
    for way_out in ["Empty the bucket", "empty_on_delete: true", "DeletionPolicy: Retain"] {
        assert!(all.contains(way_out), "{way_out}: {all}");
    }
    let mut both = vec![kept.clone(), scratch.clone()];
    both.sort();
    assert_eq!(buckets(&p, &s3), both, "the bucket and its objects are there");
    assert!(!p.has_journal(), "a refusal leaves nothing open\n{all}");
    // State still holds the bucket: the next plan has nothing to create for it.
    assert_eq!(p.attribute("storage", "Scratch", "Arn"), format!("arn:aws:s3:::{scratch}"));
    let plan = p.infra(&["plan"]);
    assert!(!marked(&plan, "+", "Scratch") && !marked(&plan, "-/+", "Scratch"), "{}", plan.both());

    // Emptied by hand, it goes.
    let versions = p.runtime.block_on(s3.list_object_versions().bucket(&scratch).send()).expect("versions");
    for v in versions.versions() {
        let delete = s3
            .delete_object()
            .bucket(&scratch)
            .key(v.key().unwrap_or_default())
            .set_version_id(v.version_id().map(str::to_string));
        p.runtime.block_on(delete.send()).expect("delete version");
    }
    p.expect(0, &["destroy", "-auto-approve"]);
    assert_eq!(buckets(&p, &s3), vec![kept]);
}

/// The opt-in, `Metadata: { infra: { empty_on_delete: true } }`, added to a bucket that holds
/// objects: the plan records it without calling S3 (a settings change), and `destroy`, which
/// runs with what state recorded, then empties the bucket and deletes it.
#[test]
fn the_empty_on_delete_opt_in_is_recorded_then_destroy_empties_the_bucket() {
    let (p, kept, scratch) = project();
    let s3 = client(&p);
    p.expect(0, &["apply", "-auto-approve"]);
    for (key, body) in [("data/a", "1"), ("data/a", "2")] {
        let put = s3.put_object().bucket(&scratch).key(key).body(body.as_bytes().to_vec().into()).send();
        p.runtime.block_on(put).expect("put object");
    }
    let text = TEMPLATE.replace("{kept}", &kept).replace("{scratch}", &scratch).replace(
        "  Scratch:\n    Type: AWS::S3::Bucket\n",
        "  Scratch:\n    Type: AWS::S3::Bucket\n    Metadata:\n      infra:\n        empty_on_delete: true\n",
    );
    assert!(text.contains("empty_on_delete"), "the template has the opt-in");
    p.write("stacks/storage/buckets.yaml", &text);
    let plan = p.expect(2, &["plan", "--detailed-exitcode"]);
    assert!(plan.stdout.contains("Metadata.infra"), "the plan names what changed:\n{}", plan.both());
    p.expect(0, &["apply", "-auto-approve"]);
    assert_eq!(p.state_show("storage", "Scratch")["metadata"], serde_json::json!({"infra": {"empty_on_delete": true}}));
    p.expect(0, &["plan", "--detailed-exitcode"]);

    let destroy = p.expect(0, &["destroy", "-auto-approve"]);
    assert_eq!(buckets(&p, &s3), vec![kept], "the emptied bucket is gone\n{}", destroy.both());
}
