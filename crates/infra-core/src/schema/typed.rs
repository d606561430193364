//! Values typed by the schema, as CloudFormation types them: a parameter's value is a string
//! (`InitialInstanceCount: !Ref Count` with `Count = "1"`), and CloudFormation hands the
//! service the number the property's schema asks for. Plans, state and apply requests agree
//! with what the service reports back only if infra does the same.

use super::{PropertySchema, ResourceSchema, TypeSet};
use crate::value::Value;

/// Convert, in place, every string in `properties` that stands where `schema` asks for an
/// integer, a number or a boolean, and that spells one, into that type. A string the schema
/// also allows, a value known only after apply, and a string that spells no such value are left
/// as they are (the schema check reports the last).
pub fn type_values(schema: &ResourceSchema, properties: &mut Value) {
    convert(schema, schema.root(), properties, 0);
}

/// Deeper than any registry schema nests; guards against a cyclic `$ref`.
const MAX_DEPTH: usize = 32;

fn convert(schema: &ResourceSchema, at: &PropertySchema, value: &mut Value, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let at = schema.resolve(at);
    match value {
        Value::Map(entries) => {
            for (key, v) in entries.iter_mut() {
                if let Some(child) = at.properties.get(key) {
                    convert(schema, child, v, depth + 1);
                }
            }
        }
        Value::List(items) => {
            if let Some(item) = &at.items {
                for v in items.iter_mut() {
                    convert(schema, item, v, depth + 1);
                }
            }
        }
        Value::String(text) => {
            if let Some(typed) = typed(at.types, text) {
                *value = typed;
            }
        }
        _ => {}
    }
}

/// `text` as the type `types` asks for, when that is not a string and `text` spells one.
fn typed(types: TypeSet, text: &str) -> Option<Value> {
    if types.is_any() || types.contains(TypeSet::STRING) {
        return None;
    }
    let text = text.trim();
    if types.contains(TypeSet::INTEGER) || types.contains(TypeSet::NUMBER) {
        if let Ok(n) = text.parse::<i64>() {
            return Some(Value::Number(n.into()));
        }
    }
    if types.contains(TypeSet::NUMBER) {
        let n = text.parse::<f64>().ok().and_then(serde_json::Number::from_f64)?;
        return Some(Value::Number(n));
    }
    if types.contains(TypeSet::BOOLEAN) {
        return match text {
            "true" | "True" | "TRUE" => Some(Value::Bool(true)),
            "false" | "False" | "FALSE" => Some(Value::Bool(false)),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed_as(resource_type: &str, properties: serde_json::Value) -> serde_json::Value {
        let schema = crate::schema::get(resource_type).expect("schema");
        let mut value = Value::from_json(&properties);
        type_values(schema, &mut value);
        value.to_json()
    }

    #[test]
    fn strings_become_what_the_schema_asks_for() {
        let cases = [
            // Integers inside a list of objects.
            (
                "AWS::SageMaker::EndpointConfig",
                json!({"ProductionVariants": [{"InitialInstanceCount": "2", "InitialVariantWeight": "1",
                    "InstanceType": "ml.t2.medium", "VariantName": "AllTraffic"}]}),
                json!({"ProductionVariants": [{"InitialInstanceCount": 2, "InitialVariantWeight": 1,
                    "InstanceType": "ml.t2.medium", "VariantName": "AllTraffic"}]}),
            ),
            // Top-level integers; a string property keeps its digits.
            (
                "AWS::ApplicationAutoScaling::ScalableTarget",
                json!({"MinCapacity": "1", "MaxCapacity": " 8 ", "ResourceId": "123"}),
                json!({"MinCapacity": 1, "MaxCapacity": 8, "ResourceId": "123"}),
            ),
            // A number with a fraction, through a definition.
            (
                "AWS::ApplicationAutoScaling::ScalingPolicy",
                json!({"TargetTrackingScalingPolicyConfiguration": {"TargetValue": "70.5", "ScaleInCooldown": "300"}}),
                json!({"TargetTrackingScalingPolicyConfiguration": {"TargetValue": 70.5, "ScaleInCooldown": 300}}),
            ),
            // Booleans; a value that spells none is left for the schema check to report.
            (
                "AWS::EC2::VPC",
                json!({"EnableDnsSupport": "true", "EnableDnsHostnames": "yes", "CidrBlock": "10.0.0.0/16"}),
                json!({"EnableDnsSupport": true, "EnableDnsHostnames": "yes", "CidrBlock": "10.0.0.0/16"}),
            ),
        ];
        for (resource_type, given, expected) in cases {
            assert_eq!(typed_as(resource_type, given.clone()), expected, "{resource_type}: {given}");
        }
    }

    #[test]
    fn unknown_values_and_untyped_properties_are_left_alone() {
        let schema = crate::schema::get(crate::schema::LOCAL_DATA_TYPE).expect("schema");
        let mut value = Value::from_json(&json!({"Input": "1"}));
        type_values(schema, &mut value);
        assert_eq!(value.to_json(), json!({"Input": "1"}), "Input takes any value");
    }
}
