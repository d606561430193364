//! Facts about resource types taken from the vendored CloudFormation registry schemas
//! ([`infra_core::schema`]), never from lists kept by hand. A type states only where the
//! schema is wrong for it ([`super::service::ResourceType::create_only_override`]).

/// The schema's `createOnlyProperties` of `resource_type`: changing one of them replaces the
/// resource. Empty when the schema lists none (or has no such type).
pub fn create_only(resource_type: &str) -> Vec<String> {
    infra_core::schema::get(resource_type).map(|s| s.create_only_properties().to_vec()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    /// The lists IAM and EC2 used to keep by hand are exactly the schema's (as sets), so they
    /// went; the VPC's one addition stays as its override.
    #[test]
    fn the_schema_says_what_the_hand_kept_lists_said() {
        let check = |t: &str, hand: &[&str]| {
            let mut hand: Vec<String> = hand.iter().map(|s| s.to_string()).collect();
            hand.sort();
            assert_eq!(sorted(create_only(t)), hand, "{t}");
        };
        check("AWS::IAM::Role", &["RoleName", "Path"]);
        check("AWS::IAM::Policy", &[]);
        check("AWS::IAM::ManagedPolicy", &["ManagedPolicyName", "Path", "Description"]);
        check("AWS::IAM::InstanceProfile", &["InstanceProfileName", "Path"]);
        check("AWS::EC2::VPC", &["CidrBlock", "Ipv4IpamPoolId", "Ipv4NetmaskLength", "VpcEncryptionControl"]);
        assert!(create_only("AWS::Nothing::Here").is_empty());
    }
}
