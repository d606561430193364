//! Resource type knowledge from the CloudFormation registry schemas: property names and types,
//! required properties, enums, patterns, `createOnlyProperties`, `readOnlyProperties` (valid
//! `Fn::GetAtt` attributes) and `primaryIdentifier`.
//!
//! The data is vendored in `schemas/resources.jsonl` (one compact schema per line, written by
//! `scripts/refresh-schemas.py`) and embedded in the binary. Only the index of type names is
//! built up front; each type's line is parsed the first time that type is asked for, so a
//! command that touches ten types parses ten schemas, not eighteen hundred.

mod check;
mod model;

pub use check::check_template;
pub use model::{PropertySchema, ResourceSchema, TypeSet};

use std::collections::HashMap;
use std::sync::OnceLock;

/// The engine-local resource type: holds arbitrary data, and replaces itself when
/// `TriggersReplace` changes.
pub const LOCAL_DATA_TYPE: &str = "Infra::Local::Data";

/// The engine-local file type: a file on the machine running infra.
pub const LOCAL_FILE_TYPE: &str = "Infra::Local::File";

static VENDORED: &str = include_str!("../../schemas/resources.jsonl");

/// Every line starts with this, followed by the type name, so the index needs no JSON parsing.
const LINE_PREFIX: &str = "{\"typeName\":\"";

struct Registry {
    /// Vendored types, sorted by name as the refresh script writes them.
    types: Vec<&'static str>,
    by_name: HashMap<&'static str, usize>,
    lines: Vec<&'static str>,
    parsed: Vec<OnceLock<Option<ResourceSchema>>>,
    local_data: ResourceSchema,
    local_file: ResourceSchema,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut types = Vec::new();
        let mut lines = Vec::new();
        for line in VENDORED.lines() {
            let Some(rest) = line.strip_prefix(LINE_PREFIX) else { continue };
            let Some(end) = rest.find('"') else { continue };
            types.push(&rest[..end]);
            lines.push(line);
        }
        let by_name = types.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        let parsed = (0..lines.len()).map(|_| OnceLock::new()).collect();
        Registry { types, by_name, lines, parsed, local_data: ResourceSchema::local_data(), local_file: ResourceSchema::local_file() }
    })
}

/// The schema of a resource type, or `None` if the type is unknown.
///
/// Custom resources (`Custom::*`, `AWS::CloudFormation::CustomResource`) have no schema: callers
/// check [`is_custom`] first.
pub fn get(resource_type: &str) -> Option<&'static ResourceSchema> {
    let reg = registry();
    if resource_type == LOCAL_DATA_TYPE {
        return Some(&reg.local_data);
    }
    if resource_type == LOCAL_FILE_TYPE {
        return Some(&reg.local_file);
    }
    let i = *reg.by_name.get(resource_type)?;
    let line = reg.lines.get(i)?;
    reg.parsed.get(i)?.get_or_init(|| ResourceSchema::parse(line).ok()).as_ref()
}

/// Every known resource type name: the vendored registry types and the engine's own.
pub fn all_types() -> impl Iterator<Item = &'static str> + Clone {
    registry().types.iter().copied().chain([LOCAL_DATA_TYPE, LOCAL_FILE_TYPE])
}

/// Types whose properties and attributes are defined by the template author's own code.
pub fn is_custom(resource_type: &str) -> bool {
    resource_type.starts_with("Custom::") || resource_type == "AWS::CloudFormation::CustomResource"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendored_schema_parses() {
        let reg = registry();
        assert!(reg.types.len() > 1000, "only {} types indexed", reg.types.len());
        for (i, line) in reg.lines.iter().enumerate() {
            if let Err(e) = ResourceSchema::parse(line) {
                panic!("failed to parse schema of {}: {e}", reg.types[i]);
            }
        }
    }

    #[test]
    fn types_are_sorted_and_unique() {
        let reg = registry();
        assert!(reg.types.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn lookups() {
        let role = get("AWS::IAM::Role").unwrap();
        assert_eq!(role.type_name(), "AWS::IAM::Role");
        assert_eq!(role.required(), ["AssumeRolePolicyDocument"]);
        assert!(role.create_only_properties().iter().any(|p| p == "RoleName"));
        assert!(role.read_only_attributes().iter().any(|p| p == "Arn"));
        assert_eq!(role.primary_identifier(), ["RoleName"]);
        assert!(role.property("Policies").is_some());
        assert!(role.property("Nope").is_none());
        assert!(get("AWS::IAM::Rolе").is_none());
        assert!(all_types().any(|t| t == "AWS::SageMaker::Endpoint"));
        assert!(all_types().any(|t| t == LOCAL_DATA_TYPE));
    }

    #[test]
    fn local_data_is_built_in() {
        let s = get(LOCAL_DATA_TYPE).unwrap();
        assert!(s.property("Input").is_some());
        assert!(s.property("TriggersReplace").is_some());
        assert_eq!(s.create_only_properties(), ["TriggersReplace"]);
        assert!(s.has_attribute("Output"));
        assert!(s.forces_replacement("TriggersReplace"));
        assert!(!s.forces_replacement("Input"));
    }

    #[test]
    fn attributes_beyond_read_only_properties() {
        // CloudFormation serves some properties as attributes too.
        let s = get("AWS::SageMaker::Endpoint").unwrap();
        assert!(s.has_attribute("EndpointName"));
        assert!(s.has_attribute("EndpointArn"));
        assert!(!s.has_attribute("EndpointConfigName"));
        let stack = get("AWS::CloudFormation::Stack").unwrap();
        assert!(stack.has_attribute("Outputs.BucketName"));
        assert!(!stack.has_attribute("Bogus"));
    }

    #[test]
    fn replacement_paths() {
        let s = get("AWS::SageMaker::EndpointConfig").unwrap();
        assert!(s.forces_replacement("ProductionVariants"));
        assert!(s.forces_replacement("ProductionVariants/0/VariantName"));
        assert!(!s.forces_replacement("Tags"));
        let ecr = get("AWS::ECR::Repository").unwrap();
        assert!(ecr.forces_replacement("EncryptionConfiguration/KmsKey"));
        assert!(!ecr.forces_replacement("ImageScanningConfiguration"));
    }
}
