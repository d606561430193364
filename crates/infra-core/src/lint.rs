//! Lint warnings (`W4xxx`): wildcard IAM permissions, open trust policies, NoEcho defaults.
//!
//! These templates are valid CloudFormation; the warnings flag choices that are usually
//! mistakes in production. Like the schema checks, the lints read the raw spanned tree so each
//! warning points at the value to change.

use crate::diag::{Diagnostic, Diagnostics};
use crate::template::intrinsics::Intrinsic;
use crate::template::node::{Node, NodeKind};

/// Stable codes of the lints.
pub mod codes {
    pub const WILDCARD_PERMISSIONS: &str = "W4001";
    pub const OPEN_TRUST_POLICY: &str = "W4002";
    pub const NO_ECHO_DEFAULT: &str = "W4003";
}

/// Actions that amount to full control of the account.
const WILDCARD_ACTIONS: [&str; 3] = ["*", "*:*", "iam:*"];

pub fn check_template(root: &Node, diags: &mut Diagnostics) {
    if let Some(parameters) = root.get("Parameters").and_then(Node::as_map) {
        for (name, parameter) in parameters {
            check_no_echo(&name.name, parameter, diags);
        }
    }
    if let Some(resources) = root.get("Resources").and_then(Node::as_map) {
        for (_, resource) in resources {
            if let Some(properties) = resource.get("Properties") {
                visit_policies(properties, diags);
            }
        }
    }
}

fn check_no_echo(name: &str, parameter: &Node, diags: &mut Diagnostics) {
    let no_echo = match parameter.get("NoEcho").map(|n| &n.kind) {
        Some(NodeKind::Bool(b)) => *b,
        Some(NodeKind::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    };
    let Some((default_key, _)) = parameter.get_entry("Default") else { return };
    if no_echo {
        diags.push(
            Diagnostic::warning(codes::NO_ECHO_DEFAULT, format!("parameter `{name}` has `NoEcho` and a default value"))
                .at(default_key.span)
                .label("this value is stored in the template in plain text")
                .note("`NoEcho` hides the value in stack output, but a default is visible to anyone who can read the template.")
                .help("remove `Default` and pass the value per environment, or read it from a secret store with a dynamic reference"),
        );
    }
}

/// Find every policy document under a resource's properties, whatever the resource type:
/// IAM roles, users and groups nest them in `Policies`, bucket and queue policies, VPC
/// endpoints and managed policies hold one at the top.
fn visit_policies(node: &Node, diags: &mut Diagnostics) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                match key.name.as_str() {
                    "PolicyDocument" => {
                        for statement in statements(value) {
                            check_permissions(statement, diags);
                        }
                    }
                    "AssumeRolePolicyDocument" => {
                        for statement in statements(value) {
                            check_trust(statement, diags);
                        }
                    }
                    _ => visit_policies(value, diags),
                }
            }
        }
        NodeKind::Seq(items) => {
            for item in items {
                visit_policies(item, diags);
            }
        }
        _ => {}
    }
}

/// The statements of a policy document, through `Fn::If` on the document, the list or a
/// statement. A document given as a JSON string is not looked into.
fn statements(document: &Node) -> Vec<&Node> {
    let mut out = Vec::new();
    for doc in branches(document) {
        let Some(statement) = doc.get("Statement") else { continue };
        for s in branches(statement) {
            match &s.kind {
                NodeKind::Seq(items) => out.extend(items.iter().flat_map(branches)),
                NodeKind::Map(_) => out.push(s),
                _ => {}
            }
        }
    }
    out
}

/// A node, or both values of an `Fn::If`.
fn branches(node: &Node) -> Vec<&Node> {
    match node.as_map() {
        Some([(key, arg)]) if key.intrinsic() == Some(Intrinsic::If) => match arg.as_seq() {
            Some([_, then, otherwise]) => [then, otherwise].into_iter().flat_map(branches).collect(),
            _ => Vec::new(),
        },
        _ => vec![node],
    }
}

/// The string values of a field that takes one string or a list of them.
fn strings(node: &Node) -> Vec<(&str, &Node)> {
    match &node.kind {
        NodeKind::String(s) => vec![(s.as_str(), node)],
        NodeKind::Seq(items) => items.iter().filter_map(|i| i.as_str().map(|s| (s, i))).collect(),
        _ => Vec::new(),
    }
}

fn allows(statement: &Node) -> bool {
    statement.get("Effect").and_then(Node::as_str) == Some("Allow")
}

fn check_permissions(statement: &Node, diags: &mut Diagnostics) {
    if !allows(statement) {
        return;
    }
    let all_resources = statement.get("Resource").is_some_and(|r| strings(r).iter().any(|(s, _)| *s == "*"));
    if !all_resources {
        return;
    }
    if let Some((key, _)) = statement.get_entry("NotAction") {
        diags.push(
            Diagnostic::warning(
                codes::WILDCARD_PERMISSIONS,
                "policy statement allows every action but a few on every resource",
            )
            .at(key.span)
            .label("`Allow` with `NotAction` on `Resource: \"*\"`")
            .note("`NotAction` with `Allow` grants every action not listed, including ones added to AWS later.")
            .help("list the actions the workload needs in `Action`, and scope `Resource` to its ARNs"),
        );
        return;
    }
    let Some(action) = statement.get("Action") else { return };
    for (name, node) in strings(action) {
        if WILDCARD_ACTIONS.iter().any(|w| name.eq_ignore_ascii_case(w)) {
            diags.push(
                Diagnostic::warning(
                    codes::WILDCARD_PERMISSIONS,
                    format!("policy statement allows `{name}` on every resource"),
                )
                .at(node.span)
                .label("wildcard action on `Resource: \"*\"`")
                .note("This grants full control of the account (or of its IAM, which amounts to the same).")
                .help("list the actions the workload needs, and scope `Resource` to its ARNs"),
            );
        }
    }
}

fn check_trust(statement: &Node, diags: &mut Diagnostics) {
    if !allows(statement) {
        return;
    }
    let Some(principal) = statement.get("Principal") else { return };
    let open: Vec<&Node> = match &principal.kind {
        NodeKind::String(s) if s == "*" => vec![principal],
        NodeKind::Map(_) => principal
            .get("AWS")
            .map(strings)
            .unwrap_or_default()
            .into_iter()
            .filter(|(s, _)| *s == "*")
            .map(|(_, n)| n)
            .collect(),
        _ => Vec::new(),
    };
    for node in open {
        diags.push(
            Diagnostic::warning(codes::OPEN_TRUST_POLICY, "trust policy lets any principal assume the role")
                .at(node.span)
                .label("any AWS account, user or role")
                .help("name the service (`Service: sagemaker.amazonaws.com`) or the account ARNs that should assume the role"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(template: serde_json::Value, expected: &[&str]) {
        let mut diags = Diagnostics::new();
        check_template(&Node::from_json(&template), &mut diags);
        let got: Vec<&str> = diags.iter().map(|d| d.code).collect();
        assert_eq!(got, expected, "{template}");
    }

    fn role_policy(statement: serde_json::Value) -> serde_json::Value {
        json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": []},
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": statement}}]
        }}}})
    }

    fn trust(principal: serde_json::Value, effect: &str) -> serde_json::Value {
        json!({"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}]}
        }}}})
    }

    #[test]
    fn wildcard_permissions() {
        let w = codes::WILDCARD_PERMISSIONS;
        check(role_policy(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}])), &[w]);
        check(role_policy(json!({"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": ["*"]})), &[w]);
        check(role_policy(json!([{"Effect": "Allow", "Action": "IAM:*", "Resource": "*"}])), &[w]);
        check(role_policy(json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}])), &[w]);
        check(role_policy(json!([{"Effect": "Deny", "Action": "*", "Resource": "*"}])), &[]);
        check(role_policy(json!([{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}])), &[]);
        check(role_policy(json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}])), &[]);
        check(
            role_policy(
                json!([{"Fn::If": ["C", {"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Ref": "AWS::NoValue"}]}]),
            ),
            &[w],
        );
        let bucket_policy = json!({"Resources": {"P": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": "b", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]}
        }}}});
        check(bucket_policy, &[w]);
    }

    #[test]
    fn trust_policies() {
        let w = codes::OPEN_TRUST_POLICY;
        check(trust(json!("*"), "Allow"), &[w]);
        check(trust(json!({"AWS": "*"}), "Allow"), &[w]);
        check(trust(json!({"AWS": ["arn:aws:iam::123456789012:root", "*"]}), "Allow"), &[w]);
        check(trust(json!({"Service": "sagemaker.amazonaws.com"}), "Allow"), &[]);
        check(trust(json!("*"), "Deny"), &[]);
    }

    #[test]
    fn no_echo_defaults() {
        let w = codes::NO_ECHO_DEFAULT;
        check(json!({"Parameters": {"P": {"Type": "String", "NoEcho": true, "Default": "x"}}}), &[w]);
        check(json!({"Parameters": {"P": {"Type": "String", "NoEcho": "true", "Default": "x"}}}), &[w]);
        check(json!({"Parameters": {"P": {"Type": "String", "NoEcho": true}}}), &[]);
        check(json!({"Parameters": {"P": {"Type": "String", "Default": "x"}}}), &[]);
    }
}
