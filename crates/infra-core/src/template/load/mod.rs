//! Loading JSON and YAML template files into spanned [`Node`] trees, with limits on size,
//! depth and alias expansion, and YAML short-form tags rewritten to their long form.
//!
//! Both syntaxes produce the same tree: a YAML `!GetAtt Bucket.Arn` and a JSON
//! `{"Fn::GetAtt": ["Bucket", "Arn"]}` load to equal nodes (apart from spans). Every problem is
//! a [`Diagnostic`] with a stable `E00xx` code and a span into the file; no input panics.

// Diagnostics are returned by value throughout the engine; they are built once per failure.
#![allow(clippy::result_large_err)]

mod json;
mod yaml;

use super::node::{Key, Node, NodeKind};
use crate::diag::Diagnostic;
use crate::source::{FileId, SourceMap, Span};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Stable codes of the diagnostics this module reports.
pub mod codes {
    /// The file holds no value (nothing, or only whitespace and comments).
    pub const EMPTY: &str = "E0001";
    /// The text is not valid JSON.
    pub const JSON_SYNTAX: &str = "E0002";
    /// The text is not valid YAML.
    pub const YAML_SYNTAX: &str = "E0003";
    /// A mapping has the same key twice.
    pub const DUPLICATE_KEY: &str = "E0004";
    /// The top-level value is not a mapping.
    pub const NOT_A_MAPPING: &str = "E0005";
    /// Nesting deeper than [`super::Limits::max_depth`].
    pub const TOO_DEEP: &str = "E0006";
    /// More nodes (after alias expansion) than [`super::Limits::max_nodes`].
    pub const TOO_MANY_NODES: &str = "E0007";
    /// A file larger than [`super::Limits::max_bytes`].
    pub const TOO_LARGE: &str = "E0008";
    /// The file is not UTF-8.
    pub const NOT_UTF8: &str = "E0009";
    /// A YAML tag that is neither a CloudFormation short form nor a core YAML tag.
    pub const UNKNOWN_TAG: &str = "E0010";
    /// More than one YAML document in one file.
    pub const MULTIPLE_DOCUMENTS: &str = "E0011";
    /// A YAML mapping key that is a list or a mapping.
    pub const COMPLEX_KEY: &str = "E0012";
    /// The file could not be read.
    pub const READ: &str = "E0013";
    /// A YAML alias used inside the node its anchor names.
    pub const RECURSIVE_ALIAS: &str = "E0014";
    /// A core YAML tag (`!!int`, `!!bool`, ...) on a value it does not fit.
    pub const BAD_CORE_TAG: &str = "E0015";
    /// A YAML merge key (`<<`) whose value is not a mapping or a list of mappings.
    pub const BAD_MERGE: &str = "E0016";
}

/// Bounds on what one template file may cost to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of lists and mappings accepted (the top-level mapping is depth 1).
    pub max_depth: usize,
    /// Most nodes in the loaded tree, counted after YAML aliases are expanded.
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 4 * 1024 * 1024, max_depth: 128, max_nodes: 1_000_000 }
    }
}

/// The syntax a template file is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Syntax {
    Json,
    Yaml,
}

impl Syntax {
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Json => "JSON",
            Syntax::Yaml => "YAML",
        }
    }
}

/// The syntax of a template: by extension (`.json`, `.yaml`, `.yml`), otherwise by content
/// (JSON when the first non-blank character is `{`, as CloudFormation's own `.template` files).
pub fn syntax_for(path: &Path, text: &str) -> Syntax {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("json") => Syntax::Json,
        Some("yaml" | "yml") => Syntax::Yaml,
        _ => {
            let first = text.trim_start_matches(|c: char| c.is_whitespace() || c == BOM).chars().next();
            if first == Some('{') {
                Syntax::Json
            } else {
                Syntax::Yaml
            }
        }
    }
}

const BOM: char = '\u{feff}';

/// Reads a template file, adds it to `sources` and parses it.
///
/// The size limit is checked before the file is read in full. A file that is not UTF-8 is
/// still added (as a lossy copy) so that the error can show where the first bad byte is.
pub fn load_file(
    sources: &mut SourceMap,
    path: &Path,
    display: &str,
    limits: &Limits,
) -> Result<(FileId, Node), Diagnostic> {
    let read_error =
        |e: std::io::Error| Diagnostic::error(codes::READ, format!("failed to read `{display}`")).note(format!("{e}."));
    let file = std::fs::File::open(path).map_err(read_error)?;
    let len = file.metadata().map_err(read_error)?.len();
    if len > limits.max_bytes as u64 {
        return Err(too_large(display, len, limits));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // `take` guards against files that grow while read, and against special files whose
    // reported size is 0.
    file.take((limits.max_bytes as u64).saturating_add(1)).read_to_end(&mut bytes).map_err(read_error)?;
    if bytes.len() > limits.max_bytes {
        return Err(too_large(display, bytes.len() as u64, limits));
    }
    match String::from_utf8(bytes) {
        Ok(text) => {
            let syntax = syntax_for(path, &text);
            let id = sources.add(path, display, text);
            let text = sources.get(id).map(|f| f.text.clone()).unwrap_or_default();
            let node = parse_str(&text, id, syntax, limits)?;
            Ok((id, node))
        }
        Err(e) => {
            let bad = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let byte = bytes.get(bad).copied().unwrap_or(0);
            let utf16 = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
            let lossy = String::from_utf8_lossy(&bytes).into_owned();
            let id = sources.add(path, display, lossy);
            let mut d = Diagnostic::error(codes::NOT_UTF8, "template is not valid UTF-8")
                .at(Span::new(id, bad, bad + char::REPLACEMENT_CHARACTER.len_utf8()))
                .label(format!("invalid byte 0x{byte:02x}"));
            if utf16 {
                d = d.note("The file starts with a UTF-16 byte order mark.");
            }
            Err(d.help("save the file as UTF-8"))
        }
    }
}

fn too_large(display: &str, len: u64, limits: &Limits) -> Diagnostic {
    Diagnostic::error(codes::TOO_LARGE, format!("template `{display}` is too large"))
        .note(format!("The file is {len} bytes; templates may be at most {} bytes.", limits.max_bytes))
}

/// Parses template text that is already in a [`SourceMap`] as `file`.
pub fn parse_str(text: &str, file: FileId, syntax: Syntax, limits: &Limits) -> Result<Node, Diagnostic> {
    if text.len() > limits.max_bytes {
        return Err(Diagnostic::error(codes::TOO_LARGE, "template is too large").note(format!(
            "The text is {} bytes; templates may be at most {} bytes.",
            text.len(),
            limits.max_bytes
        )));
    }
    // A byte order mark is not content; spans stay relative to the full text.
    let (base, body) = match text.strip_prefix(BOM) {
        Some(rest) => (BOM.len_utf8(), rest),
        None => (0, text),
    };
    let cx = Cx { file, base, limits };
    let root = match syntax {
        Syntax::Json => json::parse(body, &cx)?,
        Syntax::Yaml => yaml::parse(body, &cx)?,
    };
    let Some(root) = root else {
        return Err(Diagnostic::error(codes::EMPTY, "template is empty")
            .at(cx.span(0, body.len()))
            .note("A template is a mapping with at least a `Resources` section."));
    };
    if !matches!(root.kind, NodeKind::Map(_)) {
        return Err(Diagnostic::error(codes::NOT_A_MAPPING, "template is not a mapping")
            .at(root.span)
            .label(format!("expected a mapping, found {}", root.kind_name()))
            .note(
                "The top level of a template is a mapping of sections such as `Parameters`, `Resources` and `Outputs`.",
            ));
    }
    Ok(root)
}

/// What both parsers need: where spans point and what the limits are.
struct Cx<'a> {
    file: FileId,
    /// Offset of the parsed text in the file (the length of a byte order mark, if any).
    base: usize,
    limits: &'a Limits,
}

impl Cx<'_> {
    /// A span from offsets into the parsed text.
    fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.file, self.base + start, self.base + end)
    }

    fn too_deep(&self, span: Span) -> Diagnostic {
        Diagnostic::error(codes::TOO_DEEP, "template is nested too deeply")
            .at(span)
            .label(format!("this is deeper than {} levels", self.limits.max_depth))
            .note("Lists and mappings may be nested only so deep, so that loading stays bounded.")
    }

    fn too_many_nodes(&self, span: Span, what: &str) -> Diagnostic {
        Diagnostic::error(codes::TOO_MANY_NODES, format!("template has more than {} values", self.limits.max_nodes))
            .at(span)
            .label(what.to_string())
            .note("Each value counts, including every copy that a YAML alias makes.")
    }
}

/// Keys seen so far in one mapping, to reject duplicates as each key arrives.
#[derive(Default)]
struct SeenKeys {
    spans: HashMap<String, Span>,
}

impl SeenKeys {
    fn insert(&mut self, key: &Key) -> Result<(), Diagnostic> {
        if let Some(first) = self.spans.get(&key.name) {
            return Err(Diagnostic::error(codes::DUPLICATE_KEY, format!("duplicate key `{}`", key.name))
                .at(key.span)
                .label("defined again here")
                .with_secondary(*first, "first defined here")
                .note("A key may appear only once in a mapping; remove or rename one of them."));
        }
        self.first_time(key);
        Ok(())
    }

    /// Records `key` unless already seen; whether it was new.
    fn first_time(&mut self, key: &Key) -> bool {
        if self.spans.contains_key(&key.name) {
            return false;
        }
        self.spans.insert(key.name.clone(), key.span);
        true
    }
}

/// Lowercases the first letter of a parser message so it reads as a fragment.
fn fragment(message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The end of the character at `at`, for one-character spans at a parser's position.
fn char_end(text: &str, at: usize) -> usize {
    at + text.get(at..).and_then(|t| t.chars().next()).map_or(0, char::len_utf8)
}
