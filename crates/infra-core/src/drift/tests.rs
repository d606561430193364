use super::compare::differences;
use super::*;
use crate::provider::memory::{MemoryProvider, Object};
use crate::state::DeletionPolicy;
use serde_json::json;

/// (type, recorded, live, paths that differ): comparison by meaning and by schema.
#[test]
fn only_what_means_something_else_differs() {
    let cases: &[(&str, J, J, &[&str])] = &[
        // numbers and numeric strings
        ("AWS::ApplicationAutoScaling::ScalableTarget", json!({"MinCapacity": 1}), json!({"MinCapacity": "1"}), &[]),
        (
            "AWS::ApplicationAutoScaling::ScalableTarget",
            json!({"MinCapacity": 1}),
            json!({"MinCapacity": 2}),
            &["MinCapacity"],
        ),
        // insertionOrder: false lists are sets (security group rules), ordered lists are not
        (
            "AWS::EC2::SecurityGroup",
            json!({"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}, {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "10.0.0.0/16"}]}),
            json!({"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": "80", "ToPort": 80, "CidrIp": "10.0.0.0/16"}, {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}]}),
            &[],
        ),
        (
            "AWS::EC2::SecurityGroup",
            json!({"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}]}),
            json!({"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}, {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]}),
            &["SecurityGroupIngress"],
        ),
        // policy documents as policies: a single action as a string, statements reordered
        (
            "AWS::IAM::Role",
            json!({"Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}}]}),
            json!({"Policies": [{"PolicyName": "p", "PolicyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":[\"*\"]}}"}]}),
            &[],
        ),
        (
            "AWS::IAM::Role",
            json!({"Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}]}),
            json!({"Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}]}),
            &["Policies"],
        ),
        // nested objects differ at their deepest key
        (
            "AWS::S3::Bucket",
            json!({"VersioningConfiguration": {"Status": "Enabled"}, "BucketName": "b"}),
            json!({"VersioningConfiguration": {"Status": "Suspended"}, "BucketName": "b"}),
            &["VersioningConfiguration/Status"],
        ),
        // unset is unset: absent, null, [] and {}
        ("AWS::S3::Bucket", json!({"Tags": []}), json!({}), &[]),
        // a key the service reports that state does not record is drift
        (
            "AWS::S3::Bucket",
            json!({}),
            json!({"VersioningConfiguration": {"Status": "Enabled"}}),
            &["VersioningConfiguration"],
        ),
    ];
    for (ty, recorded, live, expected) in cases {
        let found = differences(crate::schema::get(ty), recorded, live);
        let paths: Vec<&str> = found.differences.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(&paths, expected, "{ty}: {recorded} vs {live}");
    }
}

#[test]
fn a_set_difference_names_what_was_added_and_removed() {
    let found = differences(
        crate::schema::get("AWS::EC2::SecurityGroup"),
        &json!({"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}]}),
        &json!({"SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}, {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}]}),
    );
    assert_eq!(found.differences.len(), 1);
    assert_eq!(
        found.differences[0].added,
        vec![json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"})]
    );
    assert!(found.differences[0].removed.is_empty());
}

#[test]
fn write_only_properties_are_listed_not_compared() {
    // RetainAllVariantProperties is write-only: no read returns it.
    let found = differences(
        crate::schema::get("AWS::SageMaker::Endpoint"),
        &json!({"EndpointConfigName": "c", "RetainAllVariantProperties": true}),
        &json!({"EndpointConfigName": "c"}),
    );
    assert!(found.differences.is_empty(), "{:?}", found.differences);
    assert_eq!(found.not_checkable, vec!["RetainAllVariantProperties".to_string()]);
}

fn record(logical_id: &str, resource_type: &str, physical_id: &str, properties: J) -> ResourceRecord {
    ResourceRecord {
        logical_id: logical_id.into(),
        resource_type: resource_type.into(),
        physical_id: physical_id.into(),
        properties,
        attributes: Default::default(),
        depends_on: Vec::new(),
        deletion_policy: DeletionPolicy::Delete,
        update_replace_policy: DeletionPolicy::Delete,
        tainted: None,
        metadata: J::Null,
    }
}

#[tokio::test]
async fn every_object_is_classified_and_nothing_is_changed() {
    let memory = Arc::new(MemoryProvider::new(&["Test::Thing"]));
    let object = |logical_id: &str, properties: J| Object {
        resource_type: "Test::Thing".into(),
        logical_id: logical_id.into(),
        properties,
        token: None,
    };
    memory.insert("p-same", object("Same", json!({"Size": 1})));
    memory.insert("p-edited", object("Edited", json!({"Size": 2, "Owner": "x"})));
    memory.insert("p-ignored", object("Ignored", json!({"Size": 1, "Owner": "someone"})));
    let mut state = State::new();
    state.serial = 7;
    for (id, pid, props) in [
        ("Same", "p-same", json!({"Size": "1"})),
        ("Edited", "p-edited", json!({"Size": 1})),
        ("Gone", "p-gone", json!({"Size": 1})),
        ("Ignored", "p-ignored", json!({"Size": 1})),
    ] {
        state.insert(ObjectKey::Current(id.into()), record(id, "Test::Thing", pid, props));
    }
    state.insert(ObjectKey::Current("Orphan".into()), record("Orphan", "Test::Unknown", "o-1", json!({})));
    let mut registry = Registry::new();
    registry.register(memory.clone()).unwrap();
    let states = BTreeMap::from([("base".to_string(), state)]);
    let ignore = [IgnoreRule {
        target: IgnoreTarget::Resource { layer: "base".into(), logical_id: "Ignored".into() },
        property: "Owner".into(),
        reason: "set by the billing team".into(),
    }];
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |done: usize, total: usize| seen.lock().unwrap().push((done, total));
    let options = Options { project: "p", env: "dev", parallelism: 2, ignore: &ignore, progress: &progress };
    let report = detect(&states, &["base".to_string()], &registry, &options, "2026-12-02T00:00:00Z".into()).await;

    let status: Vec<(String, Status)> = report.resources.iter().map(|r| (r.logical_id.to_string(), r.status)).collect();
    assert_eq!(
        status,
        vec![
            ("Edited".into(), Status::Modified),
            ("Gone".into(), Status::Deleted),
            ("Ignored".into(), Status::InSync),
            ("Orphan".into(), Status::NotChecked),
            ("Same".into(), Status::InSync),
        ]
    );
    let edited = &report.resources[0];
    let paths: Vec<&str> = edited.differences.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["Owner", "Size"]);
    assert_eq!(
        report.resources[2].ignored,
        vec![Ignored { path: "Owner".into(), reason: "set by the billing team".into() }]
    );
    assert_eq!(report.resources[3].reason.as_deref(), Some("no provider manages Test::Unknown"));
    assert_eq!(report.summary, Summary { in_sync: 2, modified: 1, deleted: 1, not_checked: 1, errors: 0 });
    assert!(report.has_drift() && !report.has_errors());
    assert_eq!(report.layers, vec![LayerChecked { layer: "base".into(), serial: 7 }]);
    assert!(memory.mutations().is_empty(), "drift only reads: {:?}", memory.mutations());
    assert_eq!(seen.lock().unwrap().last(), Some(&(5, 5)));
    assert!(memory.max_concurrent() <= 2);
}

#[tokio::test]
async fn a_failed_read_is_an_error_not_a_verdict() {
    let memory = Arc::new(MemoryProvider::new(&["Test::Thing"]));
    memory.fail("Broken", crate::provider::memory::CallKind::Read, "connection refused");
    let mut state = State::new();
    state.insert(ObjectKey::Current("Broken".into()), record("Broken", "Test::Thing", "p-1", json!({})));
    let mut registry = Registry::new();
    registry.register(memory).unwrap();
    let states = BTreeMap::from([("base".to_string(), state)]);
    let options = Options { project: "p", env: "dev", parallelism: 4, ignore: &[], progress: &|_, _| {} };
    let report = detect(&states, &["base".to_string()], &registry, &options, String::new()).await;
    assert_eq!(report.resources[0].status, Status::NotChecked);
    assert!(report.resources[0].error);
    assert!(report.resources[0].reason.as_deref().unwrap().contains("connection refused"));
    assert!(report.has_errors());
}
