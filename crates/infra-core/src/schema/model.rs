//! The in-memory shape of one resource type's schema, as deserialized from the vendored data.

use indexmap::IndexMap;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;

/// The JSON types a value may have (`type` in the schema); empty means any.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TypeSet(u8);

impl TypeSet {
    pub const STRING: TypeSet = TypeSet(1);
    pub const NUMBER: TypeSet = TypeSet(2);
    pub const INTEGER: TypeSet = TypeSet(4);
    pub const BOOLEAN: TypeSet = TypeSet(8);
    pub const ARRAY: TypeSet = TypeSet(16);
    pub const OBJECT: TypeSet = TypeSet(32);
    pub const NULL: TypeSet = TypeSet(64);

    pub fn is_any(self) -> bool {
        self.0 == 0
    }
    pub fn contains(self, other: TypeSet) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }
    fn from_name(name: &str) -> TypeSet {
        match name {
            "string" => Self::STRING,
            "number" => Self::NUMBER,
            "integer" => Self::INTEGER,
            "boolean" => Self::BOOLEAN,
            "array" => Self::ARRAY,
            "object" => Self::OBJECT,
            "null" => Self::NULL,
            // An unknown name must not make every value wrong; treat it as unconstrained.
            _ => TypeSet(0),
        }
    }
    /// "a string or a mapping", for messages.
    pub fn describe(self) -> String {
        let names = [
            (Self::STRING, "a string"),
            (Self::NUMBER, "a number"),
            (Self::INTEGER, "an integer"),
            (Self::BOOLEAN, "a boolean"),
            (Self::ARRAY, "a list"),
            (Self::OBJECT, "a mapping"),
            (Self::NULL, "null"),
        ];
        let parts: Vec<&str> = names
            .iter()
            .filter(|(t, _)| self.contains(*t) && !(*t == Self::INTEGER && self.contains(Self::NUMBER)))
            .map(|(_, n)| *n)
            .collect();
        match parts.as_slice() {
            [] => "any value".to_string(),
            [one] => (*one).to_string(),
            [init @ .., last] => format!("{} or {last}", init.join(", ")),
        }
    }
}

impl<'de> Deserialize<'de> for TypeSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TypeSet;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a type name or a list of type names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TypeSet, E> {
                Ok(TypeSet::from_name(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<TypeSet, A::Error> {
                let mut set = TypeSet(0);
                while let Some(name) = seq.next_element::<String>()? {
                    let t = TypeSet::from_name(&name);
                    if t.is_any() {
                        return Ok(TypeSet(0));
                    }
                    set.0 |= t.0;
                }
                Ok(set)
            }
        }
        d.deserialize_any(V)
    }
}

/// `additionalProperties`: absent and `true` allow any extra key, `false` none, a schema
/// constrains the extra keys' values.
#[derive(Clone, Debug, Default)]
pub enum AdditionalProperties {
    #[default]
    Allowed,
    Forbidden,
    Schema(Box<PropertySchema>),
}

impl<'de> Deserialize<'de> for AdditionalProperties {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Schema(Box<PropertySchema>),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Bool(true) => AdditionalProperties::Allowed,
            Raw::Bool(false) => AdditionalProperties::Forbidden,
            Raw::Schema(s) => AdditionalProperties::Schema(s),
        })
    }
}

/// The validation keywords of one property (or definition) schema.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertySchema {
    #[serde(rename = "type", default)]
    pub types: TypeSet,
    /// `#/definitions/<name>`, resolved against the owning [`ResourceSchema`].
    #[serde(rename = "$ref")]
    pub reference: Option<String>,
    #[serde(default)]
    pub properties: IndexMap<String, PropertySchema>,
    #[serde(default)]
    pub pattern_properties: IndexMap<String, PropertySchema>,
    #[serde(default)]
    pub additional_properties: AdditionalProperties,
    #[serde(default)]
    pub required: Vec<String>,
    pub items: Option<Box<PropertySchema>>,
    #[serde(rename = "enum", default)]
    pub allowed: Vec<serde_json::Value>,
    #[serde(rename = "const")]
    pub constant: Option<serde_json::Value>,
    /// Allowed values compared without regard to case (a cfn-lint extension).
    #[serde(default)]
    pub enum_case_insensitive: Vec<serde_json::Value>,
    pub pattern: Option<String>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    /// `anyOf` and `oneOf` branches: a value is accepted if any branch accepts it. Branches
    /// that only state which keys must be present are dropped by the refresh script.
    #[serde(default)]
    pub any_of: Vec<PropertySchema>,
    #[serde(default)]
    pub all_of: Vec<PropertySchema>,
    /// `insertionOrder: false`: a list whose order means nothing (compared as a set).
    pub insertion_order: Option<bool>,
    /// The value the service takes when the property is left out.
    pub default: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawResource {
    type_name: String,
    #[serde(flatten)]
    root: PropertySchema,
    #[serde(default)]
    definitions: IndexMap<String, PropertySchema>,
    #[serde(default)]
    create_only_properties: Vec<String>,
    #[serde(default)]
    read_only_properties: Vec<String>,
    #[serde(default)]
    write_only_properties: Vec<String>,
    #[serde(default)]
    primary_identifier: Vec<String>,
    #[serde(default)]
    get_atts: Vec<String>,
}

/// One resource type's schema.
///
/// Property paths (create-only, read-only, write-only, identifier) are `/`-separated below
/// `Properties`, with `*` for any list index: `ProductionVariants/*/VariantName`.
#[derive(Debug)]
pub struct ResourceSchema {
    type_name: String,
    root: PropertySchema,
    definitions: IndexMap<String, PropertySchema>,
    create_only: Vec<String>,
    read_only: Vec<String>,
    write_only: Vec<String>,
    primary_identifier: Vec<String>,
    /// `Fn::GetAtt` attribute names, dot-separated; `*` matches any text.
    attributes: Vec<String>,
}

impl ResourceSchema {
    pub(crate) fn parse(line: &str) -> Result<Self, serde_json::Error> {
        let raw: RawResource = serde_json::from_str(line)?;
        Ok(ResourceSchema {
            type_name: raw.type_name,
            root: raw.root,
            definitions: raw.definitions,
            create_only: raw.create_only_properties,
            read_only: raw.read_only_properties,
            write_only: raw.write_only_properties,
            primary_identifier: raw.primary_identifier,
            attributes: raw.get_atts,
        })
    }

    /// `Infra::Local::Data`: the engine's own resource type for holding values in state.
    pub(crate) fn local_data() -> Self {
        let mut root = PropertySchema { additional_properties: AdditionalProperties::Forbidden, ..Default::default() };
        root.properties.insert("Input".into(), PropertySchema::default());
        root.properties.insert("TriggersReplace".into(), PropertySchema::default());
        ResourceSchema {
            type_name: super::LOCAL_DATA_TYPE.into(),
            root,
            definitions: IndexMap::new(),
            create_only: vec!["TriggersReplace".into()],
            read_only: vec!["Output".into(), "Id".into()],
            write_only: Vec::new(),
            primary_identifier: Vec::new(),
            attributes: vec!["Output".into(), "Id".into()],
        }
    }

    /// `Infra::Local::File`: a file on the machine running infra.
    pub(crate) fn local_file() -> Self {
        let mut root = PropertySchema { additional_properties: AdditionalProperties::Forbidden, ..Default::default() };
        for p in ["Directory", "FileName", "Content"] {
            root.properties.insert(p.into(), PropertySchema::default());
        }
        // Octal permission bits as a string: a YAML number would be read as decimal.
        let mode =
            PropertySchema { types: TypeSet::STRING, pattern: Some("^0?[0-7]{3}$".into()), ..Default::default() };
        root.properties.insert("Mode".into(), mode);
        root.required = vec!["Directory".into()];
        ResourceSchema {
            type_name: super::LOCAL_FILE_TYPE.into(),
            root,
            definitions: IndexMap::new(),
            create_only: vec!["Directory".into(), "FileName".into()],
            read_only: vec!["Path".into()],
            write_only: Vec::new(),
            primary_identifier: Vec::new(),
            attributes: vec!["Path".into()],
        }
    }

    pub fn type_name(&self) -> &str {
        &self.type_name
    }
    /// Top-level properties a resource of this type must have.
    pub fn required(&self) -> &[String] {
        &self.root.required
    }
    /// Paths of properties that cannot change in place: a change replaces the resource.
    pub fn create_only_properties(&self) -> &[String] {
        &self.create_only
    }
    /// Paths of properties the provider sets and templates cannot.
    pub fn read_only_properties(&self) -> &[String] {
        &self.read_only
    }
    /// Paths of properties the provider accepts but never reports back (passwords, say).
    pub fn write_only_properties(&self) -> &[String] {
        &self.write_only
    }
    pub fn primary_identifier(&self) -> &[String] {
        &self.primary_identifier
    }
    /// Attribute names accepted by `Fn::GetAtt`, dot-separated (`Endpoint.Address`). Besides
    /// `readOnlyProperties` this holds the properties CloudFormation also serves as attributes;
    /// a `*` in a name matches any text (`Outputs.*` of a nested stack).
    pub fn read_only_attributes(&self) -> &[String] {
        &self.attributes
    }
    /// Whether `Fn::GetAtt` accepts `name` for this type.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| glob_match(a, name))
    }
    /// A top-level property's schema, `$ref` resolved.
    pub fn property(&self, name: &str) -> Option<&PropertySchema> {
        self.root.properties.get(name).map(|p| self.resolve(p))
    }
    pub fn properties(&self) -> impl Iterator<Item = (&str, &PropertySchema)> {
        self.root.properties.iter().map(|(k, v)| (k.as_str(), self.resolve(v)))
    }
    /// The schema of the whole `Properties` mapping.
    pub fn root(&self) -> &PropertySchema {
        &self.root
    }

    /// Follow `$ref` to the definition it names. Unknown or cyclic references resolve to the
    /// referring schema itself, which then constrains nothing beyond its own keywords.
    pub fn resolve<'a>(&'a self, mut schema: &'a PropertySchema) -> &'a PropertySchema {
        // Definitions that only alias each other are never deeper than a few steps.
        for _ in 0..16 {
            let Some(target) = schema.reference.as_deref() else { return schema };
            let Some(name) = target.strip_prefix("#/definitions/") else { return schema };
            match self.definitions.get(name) {
                Some(next) => schema = next,
                None => return schema,
            }
        }
        schema
    }

    /// Whether changing the property at `path` (`/`-separated, list indexes as numbers)
    /// replaces the resource. The path should be the deepest one that changed: a change to a
    /// whole object counts if any create-only path lies inside it.
    pub fn forces_replacement(&self, path: &str) -> bool {
        let changed: Vec<&str> = path.split('/').collect();
        self.create_only.iter().any(|c| {
            let fixed: Vec<&str> = c.split('/').collect();
            fixed.iter().zip(&changed).all(|(f, p)| *f == "*" || f == p)
        })
    }
}

/// Match `text` against `pattern` where `*` stands for any run of characters.
fn glob_match(pattern: &str, text: &str) -> bool {
    let Some((head, rest)) = pattern.split_once('*') else { return pattern == text };
    let Some(mut remaining) = text.strip_prefix(head) else { return false };
    let mut parts = rest.split('*').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            return remaining.ends_with(part);
        }
        match remaining.find(part) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let check = |p: &str, t: &str, want: bool| assert_eq!(glob_match(p, t), want, "{p} vs {t}");
        check("Arn", "Arn", true);
        check("Arn", "Arns", false);
        check("Outputs.*", "Outputs.Bucket", true);
        check("Outputs.*", "Output", false);
        check("*", "anything", true);
        check("Items*.Key", "Items.0.Key", true);
        check("Items*.Key", "Items.0.Value", false);
    }

    #[test]
    fn type_descriptions() {
        assert_eq!(TypeSet::STRING.describe(), "a string");
        assert_eq!(TypeSet(TypeSet::STRING.0 | TypeSet::OBJECT.0).describe(), "a string or a mapping");
        assert_eq!(TypeSet(TypeSet::NUMBER.0 | TypeSet::INTEGER.0).describe(), "a number");
        assert_eq!(TypeSet::default().describe(), "any value");
    }
}
