//! Resource type knowledge from the CloudFormation registry schemas: property names and types,
//! required properties, enums, patterns, `createOnlyProperties`, `readOnlyProperties` (valid
//! `Fn::GetAtt` attributes) and `primaryIdentifier`.
