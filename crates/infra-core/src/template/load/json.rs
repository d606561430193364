//! The JSON loader: strict JSON (no comments, no trailing commas, no bare keys) with byte spans.

use super::{char_end, codes, fragment, Cx, SeenKeys};
use crate::diag::Diagnostic;
use crate::template::node::{Key, Node, NodeKind};
use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::errors::ParseErrorKind;
use jsonc_parser::{CollectOptions, ParseOptions};

/// Parses JSON text; `Ok(None)` when it holds no value at all.
pub(super) fn parse(text: &str, cx: &Cx) -> Result<Option<Node>, Diagnostic> {
    // The parser recurses once per level; a depth check that does not recurse comes first so
    // that a file of a million `[` cannot exhaust the stack.
    prescan(text, cx)?;
    let options = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let parsed = jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &options).map_err(|e| {
        let range = e.range();
        let end = if range.end > range.start { range.end } else { char_end(text, range.start) };
        let span = cx.span(range.start, end);
        match e.kind() {
            ParseErrorKind::NestingDepthExceeded => cx.too_deep(span),
            kind => syntax_error(span, &kind.to_string()),
        }
    })?;
    let Some(value) = parsed.value else { return Ok(None) };
    let mut convert = Convert { text, cx, nodes: 0 };
    convert.value(&value).map(Some)
}

fn syntax_error(span: crate::source::Span, message: &str) -> Diagnostic {
    Diagnostic::error(codes::JSON_SYNTAX, "invalid JSON syntax").at(span).label(fragment(message))
}

/// Rejects nesting deeper than the limit by counting brackets outside strings and comments,
/// and whitespace that JSON does not allow (the parser accepts any Unicode whitespace).
fn prescan(text: &str, cx: &Cx) -> Result<(), Diagnostic> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => i = skip_string(bytes, i + 1),
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let rest = bytes.get(i..).unwrap_or_default();
                i = rest.iter().position(|&c| c == b'\n').map_or(bytes.len(), |p| i + p);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let rest = bytes.get(i + 2..).unwrap_or_default();
                i = rest.windows(2).position(|w| w == b"*/").map_or(bytes.len(), |p| i + 2 + p + 2);
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > cx.limits.max_depth {
                    return Err(cx.too_deep(cx.span(i, i + 1)));
                }
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            0x0b | 0x0c | 0xc0.. => {
                let c = text.get(i..).and_then(|t| t.chars().next()).unwrap_or(' ');
                if c.is_whitespace() {
                    let end = i + c.len_utf8();
                    let message =
                        format!("U+{:04X} is not JSON whitespace; use spaces, tabs and line breaks", u32::from(c));
                    return Err(syntax_error(cx.span(i, end), &message));
                }
                i += c.len_utf8();
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// The offset just past the closing quote of a string whose body starts at `i`.
fn skip_string(bytes: &[u8], mut i: usize) -> usize {
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

struct Convert<'t, 'c> {
    text: &'t str,
    cx: &'c Cx<'c>,
    nodes: usize,
}

impl Convert<'_, '_> {
    fn value(&mut self, value: &Value) -> Result<Node, Diagnostic> {
        let range = value.range();
        let span = self.cx.span(range.start, range.end);
        self.nodes += 1;
        if self.nodes > self.cx.limits.max_nodes {
            return Err(self.cx.too_many_nodes(span, "the limit is reached here"));
        }
        let kind = match value {
            Value::NullKeyword(_) => NodeKind::Null,
            Value::BooleanLit(b) => NodeKind::Bool(b.value),
            Value::NumberLit(n) => {
                if !is_json_number(n.value) {
                    return Err(syntax_error(span, "numbers may not have leading zeros"));
                }
                NodeKind::Number(n.value.to_string())
            }
            Value::StringLit(s) => {
                self.check_string(s.range.start, s.range.end)?;
                NodeKind::String(s.value.to_string())
            }
            Value::Array(a) => {
                let mut items = Vec::with_capacity(a.elements.len());
                for element in &a.elements {
                    items.push(self.value(element)?);
                }
                NodeKind::Seq(items)
            }
            Value::Object(o) => {
                let mut seen = SeenKeys::default();
                let mut entries = Vec::with_capacity(o.properties.len());
                for prop in &o.properties {
                    let (name, range) = match &prop.name {
                        ObjectPropName::String(s) => (s.value.to_string(), s.range),
                        ObjectPropName::Word(w) => (w.value.to_string(), w.range),
                    };
                    self.check_string(range.start, range.end)?;
                    let key = Key { name, span: self.cx.span(range.start, range.end) };
                    seen.insert(&key)?;
                    let value = self.value(&prop.value)?;
                    entries.push((key, value));
                }
                NodeKind::Map(entries)
            }
        };
        Ok(Node::new(kind, span))
    }

    /// JSON strings may not hold raw control characters; the parser lets them through.
    fn check_string(&self, start: usize, end: usize) -> Result<(), Diagnostic> {
        let raw = self.text.get(start..end).unwrap_or_default();
        if let Some(at) = raw.bytes().position(|b| b < 0x20) {
            let at = start + at;
            return Err(syntax_error(self.cx.span(at, at + 1), "control characters in strings must be escaped"));
        }
        Ok(())
    }
}

/// Whether a number the parser accepted is also a JSON number (JSON forbids leading zeros).
fn is_json_number(n: &str) -> bool {
    let digits = n.strip_prefix('-').unwrap_or(n);
    let int_end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    let int = &digits[..int_end];
    !int.is_empty() && (int == "0" || !int.starts_with('0'))
}
