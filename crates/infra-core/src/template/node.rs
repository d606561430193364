//! The spanned syntax tree that JSON and YAML templates both load into.
//!
//! YAML short-form tags are rewritten at load time into their long form, so `!Ref X` becomes
//! the mapping `{ "Ref": "X" }` whose key carries the tag's span. Everything after loading sees
//! one shape, whichever syntax the file used.

use crate::source::Span;
use crate::template::intrinsics::Intrinsic;

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

/// A mapping key with its own span (diagnostics on keys point at the key, not the value).
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Span,
}

impl Key {
    /// The intrinsic function this key names (`Fn::Join`, ...), if it names one.
    pub fn intrinsic(&self) -> Option<Intrinsic> {
        Intrinsic::parse(&self.name)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    /// The number as written, so that `1.50` and `007` survive until a schema decides.
    Number(String),
    String(String),
    Seq(Vec<Node>),
    /// Keys in source order. Duplicate keys are rejected by the loaders.
    Map(Vec<(Key, Node)>),
}

impl Node {
    pub fn new(kind: NodeKind, span: Span) -> Self {
        Node { kind, span }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(v) => Some(v),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            NodeKind::Map(v) => Some(v),
            _ => None,
        }
    }
    /// Look up a key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.get_entry(key).map(|(_, v)| v)
    }
    pub fn get_entry(&self, key: &str) -> Option<(&Key, &Node)> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(k, v)| (k, v))
    }
    /// If this node is a one-key mapping whose key is `Ref`, `Condition` or starts with `Fn::`,
    /// the intrinsic's name, key and argument.
    pub fn as_intrinsic(&self) -> Option<(&Key, &Node)> {
        match self.as_map()? {
            [(k, v)]
                if matches!(k.intrinsic(), Some(Intrinsic::Ref | Intrinsic::Condition))
                    || Intrinsic::is_function_name(&k.name) =>
            {
                Some((k, v))
            }
            _ => None,
        }
    }
    /// A short name for the node's kind, for messages ("expected a list, found a string").
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Number(_) => "a number",
            NodeKind::String(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// Build a node from JSON with synthetic spans (tests, generated templates).
    pub fn from_json(v: &serde_json::Value) -> Node {
        let span = Span::synthetic();
        let kind = match v {
            serde_json::Value::Null => NodeKind::Null,
            serde_json::Value::Bool(b) => NodeKind::Bool(*b),
            serde_json::Value::Number(n) => NodeKind::Number(n.to_string()),
            serde_json::Value::String(s) => NodeKind::String(s.clone()),
            serde_json::Value::Array(a) => NodeKind::Seq(a.iter().map(Node::from_json).collect()),
            serde_json::Value::Object(o) => {
                NodeKind::Map(o.iter().map(|(k, v)| (Key { name: k.clone(), span }, Node::from_json(v))).collect())
            }
        };
        Node { kind, span }
    }

    /// The node as plain JSON (intrinsics stay in their long form).
    pub fn to_json(&self) -> serde_json::Value {
        match &self.kind {
            NodeKind::Null => serde_json::Value::Null,
            NodeKind::Bool(b) => serde_json::Value::Bool(*b),
            NodeKind::Number(n) => n
                .parse::<serde_json::Number>()
                .map(serde_json::Value::Number)
                .unwrap_or_else(|_| serde_json::Value::String(n.clone())),
            NodeKind::String(s) => serde_json::Value::String(s.clone()),
            NodeKind::Seq(v) => serde_json::Value::Array(v.iter().map(Node::to_json).collect()),
            NodeKind::Map(m) => {
                serde_json::Value::Object(m.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect())
            }
        }
    }
}
