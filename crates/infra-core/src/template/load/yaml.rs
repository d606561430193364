//! The YAML loader: builds the spanned tree from the parser's events, so that tags, spans,
//! depth, duplicate keys and alias expansion are all under our control.
//!
//! The event parser reports one position per event, and not always where the node starts
//! (block scalars report their first content line, block mappings their first `:`), so
//! spans are completed here from the source text.

use super::{char_end, codes, fragment, Cx, SeenKeys};
use crate::diag::{did_you_mean, Diagnostic};
use crate::source::Span;
use crate::template::intrinsics::Intrinsic;
use crate::template::node::{Key, Node, NodeKind};
use std::cell::Cell;
use std::collections::HashMap;
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, Scanner, TScalarStyle, TokenType};

const CORE_TAG_HANDLE: &str = "tag:yaml.org,2002:";

/// Parses YAML text; `Ok(None)` when it holds no document or an empty one.
pub(super) fn parse(text: &str, cx: &Cx) -> Result<Option<Node>, Diagnostic> {
    let positions = Positions::new(text);
    let tags = tag_offsets(text, &positions);
    let mut builder = Builder {
        text,
        cx,
        positions,
        tags,
        next_tag: 0,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        root: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser.next_token().map_err(|e| builder.syntax_error(&e))?;
        match event {
            Event::StreamEnd => break,
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
            Event::DocumentStart => builder.document(mark)?,
            Event::Scalar(value, style, anchor, tag) => builder.scalar(value, style, anchor, tag.as_ref(), mark)?,
            Event::SequenceStart(anchor, tag) => builder.open(false, anchor, tag.as_ref(), mark)?,
            Event::MappingStart(anchor, tag) => builder.open(true, anchor, tag.as_ref(), mark)?,
            Event::SequenceEnd | Event::MappingEnd => builder.close(mark)?,
            Event::Alias(id) => builder.alias(id, mark)?,
        }
    }
    // A document with no content (`---` alone) is as empty as no document.
    Ok(builder.root.filter(|root| !(root.kind == NodeKind::Null && root.span.start == root.span.end)))
}

/// Byte offsets of parser positions, which count lines and characters.
struct Positions<'t> {
    text: &'t str,
    /// Byte offset of each line's start; YAML ends lines at `\n`, `\r\n` and a lone `\r`.
    line_starts: Vec<usize>,
    ascii: bool,
    /// The last position found, `(line index, column, byte)`: positions mostly arrive in
    /// order, so walking on from the last one keeps long lines linear.
    cursor: Cell<(usize, usize, usize)>,
}

impl<'t> Positions<'t> {
    fn new(text: &'t str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                line_starts.push(i + 1);
            }
        }
        Positions { text, line_starts, ascii: text.is_ascii(), cursor: Cell::new((0, 0, 0)) }
    }

    fn offset(&self, mark: &Marker) -> usize {
        let line = mark.line().saturating_sub(1);
        let Some(&start) = self.line_starts.get(line) else { return self.text.len() };
        let end = self.line_starts.get(line + 1).copied().unwrap_or(self.text.len());
        if self.ascii {
            return (start + mark.col()).min(end);
        }
        let (cursor_line, cursor_col, cursor_byte) = self.cursor.get();
        let (mut col, mut byte) =
            if cursor_line == line && cursor_col <= mark.col() { (cursor_col, cursor_byte) } else { (0, start) };
        for c in self.text.get(byte..end).unwrap_or_default().chars() {
            if col >= mark.col() {
                break;
            }
            col += 1;
            byte += c.len_utf8();
        }
        self.cursor.set((line, col, byte));
        byte
    }
}

/// Where each tag starts, in source order. The parser's events carry tags but not where
/// they were written, so the scanner is run once more to find them.
fn tag_offsets(text: &str, positions: &Positions) -> Vec<usize> {
    if !text.contains('!') {
        return Vec::new();
    }
    Scanner::new(text.chars())
        .filter(|token| matches!(token.1, TokenType::Tag(..)))
        .map(|token| positions.offset(&token.0))
        .collect()
}

/// What a tag asks of the node it is on.
enum Tagging {
    None,
    /// `!` alone: the scalar is a string.
    NonSpecific,
    /// A CloudFormation short form: wrap the node in `{ key: node }`.
    Intrinsic {
        key: Intrinsic,
        start: usize,
        end: usize,
    },
    Core(CoreTag, Span),
}

#[derive(Clone, Copy, PartialEq)]
enum CoreTag {
    Str,
    Int,
    Float,
    Bool,
    Null,
    Seq,
    Map,
}

impl CoreTag {
    fn name(self) -> &'static str {
        match self {
            CoreTag::Str => "!!str",
            CoreTag::Int => "!!int",
            CoreTag::Float => "!!float",
            CoreTag::Bool => "!!bool",
            CoreTag::Null => "!!null",
            CoreTag::Seq => "!!seq",
            CoreTag::Map => "!!map",
        }
    }
}

/// A node of the tree with what alias expansion needs to know about it.
#[derive(Clone)]
struct Built {
    node: Node,
    /// A plain `<<` in key position: the YAML merge key.
    merge_key: bool,
    /// Nodes in the tree, this one included.
    size: usize,
    /// Levels of lists and mappings, this one included (0 for a scalar).
    height: usize,
}

/// A list or mapping whose end has not been seen yet.
struct Frame {
    items: Items,
    /// Where it starts; a block mapping starts at its first key.
    start: Option<usize>,
    /// `[...]`/`{...}` rather than indented block style.
    flow: bool,
    anchor: usize,
    wrap: Option<(Intrinsic, usize, usize)>,
    /// Depth of this collection (the top-level mapping is 1).
    depth: usize,
    size: usize,
    height: usize,
    /// End of the last item so far.
    end: usize,
}

enum Items {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Key, Node)>,
        pending: Option<Key>,
        /// The pending key is a merge key (`<<`).
        merging: bool,
        /// Mappings to merge in (the values of `<<` keys), in order of precedence.
        merges: Vec<Node>,
        seen: SeenKeys,
    },
}

struct Builder<'t, 'c> {
    text: &'t str,
    cx: &'c Cx<'c>,
    positions: Positions<'t>,
    tags: Vec<usize>,
    next_tag: usize,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Built>,
    /// Nodes made so far, aliases expanded.
    nodes: usize,
    root: Option<Node>,
    documents: usize,
}

impl Builder<'_, '_> {
    fn span(&self, start: usize, end: usize) -> Span {
        self.cx.span(start, end)
    }

    fn document(&mut self, mark: Marker) -> Result<(), Diagnostic> {
        self.documents += 1;
        if self.documents > 1 {
            let at = self.positions.offset(&mark);
            let end = if self.text.get(at..).is_some_and(|t| t.starts_with("---")) { at + 3 } else { at };
            return Err(Diagnostic::error(codes::MULTIPLE_DOCUMENTS, "template has more than one YAML document")
                .at(self.span(at, end))
                .label("a second document starts here")
                .note("A template file holds exactly one document; put each template in its own file."));
        }
        Ok(())
    }

    fn syntax_error(&self, error: &ScanError) -> Diagnostic {
        let at = self.positions.offset(error.marker());
        let span = self.span(at, char_end(self.text, at));
        let info = fragment(error.info());
        if info.contains("recursion limit exceeded") {
            return self.cx.too_deep(span);
        }
        let d = Diagnostic::error(codes::YAML_SYNTAX, "invalid YAML syntax").at(span).label(info.as_str());
        if self.text.get(at..).is_some_and(|t| t.starts_with('!')) {
            d.label("a second tag on one value")
                .note("A value takes one tag only, so a short form cannot directly follow another.")
                .help("write the outer function in its long form, for example `Fn::Base64: !Sub ...`")
        } else if info.contains("mapping values are not allowed") {
            d.note("A plain value cannot contain `: `; quote the value, or check the indentation of this line.")
        } else if info.contains("tab") {
            d.note("YAML does not allow tabs for indentation; use spaces.")
        } else if info.contains("unknown anchor") {
            d.note("An alias `*name` must come after the anchor `&name` it refers to.")
        } else if info.contains("did not find expected") {
            d.note("Check the indentation of this line and of the lines before it.")
        } else {
            d
        }
    }

    fn count(&mut self, n: usize, start: usize, end: usize, what: &str) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.cx.limits.max_nodes {
            return Err(self.cx.too_many_nodes(self.span(start, end), what));
        }
        Ok(())
    }

    fn depth(&self) -> usize {
        self.stack.last().map_or(0, |f| f.depth)
    }

    fn check_depth(&self, depth: usize, start: usize, end: usize) -> Result<(), Diagnostic> {
        if depth > self.cx.limits.max_depth {
            return Err(self.cx.too_deep(self.span(start, end)));
        }
        Ok(())
    }

    /// Whether the next complete node is a mapping key.
    fn at_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame { items: Items::Map { pending: None, .. }, .. }))
    }

    fn complex_key(&self, start: usize, end: usize, kind: &str) -> Diagnostic {
        Diagnostic::error(codes::COMPLEX_KEY, "mapping key is not a string")
            .at(self.span(start, end))
            .label(format!("found {kind}"))
            .note("Template keys are names; a list, a mapping or a tagged value cannot be a key.")
    }

    /// Reads the tag on the node being started, if any.
    fn tagging(&mut self, tag: Option<&Tag>, content: usize) -> Result<Tagging, Diagnostic> {
        let Some(tag) = tag else { return Ok(Tagging::None) };
        let start = self.tags.get(self.next_tag).copied().filter(|&s| s <= content).unwrap_or(content);
        self.next_tag += 1;
        let len = self
            .text
            .get(start..)
            .unwrap_or_default()
            .find(|c: char| c.is_whitespace() || ",[]{}".contains(c))
            .unwrap_or(self.text.len() - start);
        let end = start + len;
        if tag.handle == "!" {
            if let Some(key) = Intrinsic::from_short_form(&tag.suffix) {
                return Ok(Tagging::Intrinsic { key, start, end });
            }
        }
        if tag.handle.is_empty() && tag.suffix == "!" {
            return Ok(Tagging::NonSpecific);
        }
        if tag.handle == CORE_TAG_HANDLE {
            let core = match tag.suffix.as_str() {
                "str" => Some(CoreTag::Str),
                "int" => Some(CoreTag::Int),
                "float" => Some(CoreTag::Float),
                "bool" => Some(CoreTag::Bool),
                "null" => Some(CoreTag::Null),
                "seq" => Some(CoreTag::Seq),
                "map" => Some(CoreTag::Map),
                _ => None,
            };
            if let Some(core) = core {
                return Ok(Tagging::Core(core, self.span(start, end)));
            }
        }
        let written = match self.text.get(start..end) {
            Some(w) if w.starts_with('!') => w.to_string(),
            _ if tag.handle == CORE_TAG_HANDLE => format!("!!{}", tag.suffix),
            _ => format!("{}{}", tag.handle, tag.suffix),
        };
        let mut d = Diagnostic::error(codes::UNKNOWN_TAG, format!("unknown tag `{written}`"))
            .at(self.span(start, end))
            .label("not a CloudFormation function")
            .note("CloudFormation understands the short forms of its intrinsic functions (`!Ref`, `!GetAtt`, `!Sub`, ...) and no other tags.");
        if let Some(best) = did_you_mean(&tag.suffix, Intrinsic::short_forms().filter_map(Intrinsic::short_form)) {
            d = d.help(format!("did you mean `!{best}`?"));
        }
        Err(d)
    }

    fn scalar(
        &mut self,
        value: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        mark: Marker,
    ) -> Result<(), Diagnostic> {
        let at = self.positions.offset(&mark);
        let tagging = self.tagging(tag, at)?;
        let tag_end = match &tagging {
            Tagging::Intrinsic { end, .. } => Some(*end),
            Tagging::Core(_, span) => Some(span.end as usize - self.cx.base),
            _ => None,
        };
        let (start, end) = scalar_extent(self.text, &value, style, at, tag_end);
        if self.at_key() {
            if let Tagging::Intrinsic { start: tag_start, .. } = tagging {
                return Err(self.complex_key(tag_start, end, "a function call"));
            }
            // Keys are not nodes of the tree, so they do not count against the limit.
            let merge_key = style == TScalarStyle::Plain && matches!(tagging, Tagging::None) && value == "<<";
            let node = Node::new(NodeKind::String(value), self.span(start, end));
            return self.complete(Built { node, merge_key, size: 1, height: 0 }, anchor, end);
        }
        let span = self.span(start, end);
        let kind = match &tagging {
            Tagging::None if style == TScalarStyle::Plain => plain_kind(&value),
            Tagging::Core(core, tag_span) => core_kind(*core, &value, *tag_span, span)?,
            _ => NodeKind::String(value),
        };
        let Tagging::Intrinsic { key, start: tag_start, end: tag_end } = tagging else {
            self.count(1, start, end, "the limit is reached here")?;
            return self.complete(
                Built { node: Node::new(kind, span), merge_key: false, size: 1, height: 0 },
                anchor,
                end,
            );
        };
        self.check_depth(self.depth() + 1, tag_start, tag_end)?;
        let inner = match kind {
            NodeKind::String(s) if key == Intrinsic::GetAtt => {
                self.check_depth(self.depth() + 2, tag_start, tag_end)?;
                let verbatim = self.verbatim(&s, start, end);
                split_get_att(&s, span, verbatim, self.cx)
            }
            kind => Node::new(kind, span),
        };
        let size = tree_size(&inner) + 1;
        let height = if matches!(inner.kind, NodeKind::Seq(_)) { 2 } else { 1 };
        self.count(size, tag_start, end, "the limit is reached here")?;
        let node = wrap(key, self.span(tag_start, tag_end), inner, self.span(tag_start, end));
        self.complete(Built { node, merge_key: false, size, height }, anchor, end)
    }

    /// Where `value` appears verbatim in the scalar at `start..end` (quotes aside), if it does.
    fn verbatim(&self, value: &str, start: usize, end: usize) -> Option<usize> {
        let written = self.text.get(start..end)?;
        if written == value {
            Some(start)
        } else if written.len() >= 2 && written.get(1..written.len() - 1) == Some(value) {
            Some(start + 1)
        } else {
            None
        }
    }

    fn open(&mut self, map: bool, anchor: usize, tag: Option<&Tag>, mark: Marker) -> Result<(), Diagnostic> {
        let at = self.positions.offset(&mark);
        let tagging = self.tagging(tag, at)?;
        let opener = if map { '{' } else { '[' };
        let flow = self.text.get(at..).is_some_and(|t| t.starts_with(opener));
        let start = if flow || !map { Some(if flow { at } else { block_entry_start(self.text, at) }) } else { None };
        let first = start.unwrap_or(at);
        let first_end = char_end(self.text, first);
        if self.at_key() {
            return Err(self.complex_key(first, first_end, if map { "a mapping" } else { "a list" }));
        }
        let wrap = match tagging {
            Tagging::Intrinsic { key, start, end } => Some((key, start, end)),
            Tagging::Core(core, tag_span) if core != if map { CoreTag::Map } else { CoreTag::Seq } => {
                return Err(bad_core_tag(
                    core,
                    tag_span,
                    self.span(first, first_end),
                    if map { "a mapping" } else { "a list" },
                ));
            }
            _ => None,
        };
        let depth = self.depth() + 1 + usize::from(wrap.is_some());
        self.check_depth(depth, first, first_end)?;
        self.count(1 + usize::from(wrap.is_some()), first, first_end, "the limit is reached here")?;
        let items = if map {
            Items::Map {
                entries: Vec::new(),
                pending: None,
                merging: false,
                merges: Vec::new(),
                seen: SeenKeys::default(),
            }
        } else {
            Items::Seq(Vec::new())
        };
        self.stack.push(Frame { items, start, flow, anchor, wrap, depth, size: 1, height: 0, end: first });
        Ok(())
    }

    fn close(&mut self, mark: Marker) -> Result<(), Diagnostic> {
        let Some(frame) = self.stack.pop() else { return Ok(()) };
        let at = self.positions.offset(&mark);
        let closer = match frame.items {
            Items::Map { .. } => '}',
            Items::Seq(_) => ']',
        };
        let end =
            if frame.flow && self.text.get(at..).is_some_and(|t| t.starts_with(closer)) { at + 1 } else { frame.end };
        let start = frame.start.unwrap_or(frame.end).min(end);
        let kind = match frame.items {
            Items::Seq(items) => NodeKind::Seq(items),
            Items::Map { entries, merges, mut seen, .. } => NodeKind::Map(merge(entries, merges, &mut seen)),
        };
        let mut built = Built {
            node: Node::new(kind, self.span(start, end)),
            merge_key: false,
            size: frame.size,
            height: frame.height + 1,
        };
        if let Some((key, tag_start, tag_end)) = frame.wrap {
            built = Built {
                node: wrap(key, self.span(tag_start, tag_end), built.node, self.span(tag_start, end)),
                merge_key: false,
                size: built.size + 1,
                height: built.height + 1,
            };
        }
        self.complete(built, frame.anchor, end)
    }

    fn alias(&mut self, id: usize, mark: Marker) -> Result<(), Diagnostic> {
        let at = self.positions.offset(&mark);
        let len = self
            .text
            .get(at..)
            .unwrap_or_default()
            .find(|c: char| c.is_whitespace() || ",[]{}".contains(c))
            .unwrap_or(self.text.len() - at);
        let end = at + len;
        let Some((size, height, kind_name)) = self.anchors.get(&id).map(|a| (a.size, a.height, a.node.kind_name()))
        else {
            return Err(Diagnostic::error(codes::RECURSIVE_ALIAS, "alias refers to a node that contains it")
                .at(self.span(at, end))
                .label("used inside its own anchor")
                .note("An alias can only repeat a node that is already complete."));
        };
        if self.at_key() && height > 0 {
            return Err(self.complex_key(at, end, kind_name));
        }
        self.check_depth(self.depth() + height, at, end)?;
        // Checked before copying, so that an alias bomb fails without building its expansion.
        self.count(size, at, end, "expanding this alias goes over the limit")?;
        let Some(mut node) = self.anchors.get(&id).map(|a| a.node.clone()) else { return Ok(()) };
        node.span = self.span(at, end);
        if self.at_key() {
            let name = match node.kind {
                NodeKind::String(s) | NodeKind::Number(s) => s,
                NodeKind::Bool(b) => b.to_string(),
                _ => "null".to_string(),
            };
            node.kind = NodeKind::String(name);
        }
        self.complete(Built { node, merge_key: false, size, height }, 0, end)
    }

    /// Adds a finished node to the collection being built (or makes it the document).
    fn complete(&mut self, built: Built, anchor: usize, end: usize) -> Result<(), Diagnostic> {
        if anchor != 0 {
            self.anchors.insert(anchor, built.clone());
        }
        let start = built.node.span.start as usize - self.cx.base.min(built.node.span.start as usize);
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(built.node);
            return Ok(());
        };
        frame.end = frame.end.max(end);
        if frame.start.is_none() {
            frame.start = Some(start);
        }
        let mut add_value = |node: Node| {
            frame.size = frame.size.saturating_add(built.size);
            frame.height = frame.height.max(built.height);
            node
        };
        match &mut frame.items {
            Items::Seq(items) => items.push(add_value(built.node)),
            Items::Map { entries, pending, merging, merges, seen } => match pending.take() {
                Some(key) if *merging => {
                    *merging = false;
                    let node = add_value(built.node);
                    let mappings = match &node.kind {
                        NodeKind::Map(_) => true,
                        NodeKind::Seq(items) => items.iter().all(|i| matches!(i.kind, NodeKind::Map(_))),
                        _ => false,
                    };
                    if !mappings {
                        return Err(Diagnostic::error(codes::BAD_MERGE, "merge key needs mappings")
                            .at(node.span)
                            .label(format!("found {}", node.kind_name()))
                            .with_secondary(key.span, "merge key")
                            .note("The value of `<<` is a mapping, usually an alias (`<<: *defaults`), or a list of them."));
                    }
                    merges.push(node);
                }
                Some(key) => entries.push((key, add_value(built.node))),
                None if built.merge_key => {
                    *merging = true;
                    *pending = Some(Key { name: "<<".to_string(), span: built.node.span });
                }
                None => {
                    let name = match built.node.kind {
                        NodeKind::String(s) => s,
                        _ => String::new(),
                    };
                    let key = Key { name, span: built.node.span };
                    seen.insert(&key)?;
                    *pending = Some(key);
                }
            },
        }
        Ok(())
    }
}

/// A mapping's own entries with those of its `<<` merge keys: merged entries come first,
/// keys written in the mapping win, and among merged mappings the earlier one wins.
fn merge(entries: Vec<(Key, Node)>, merges: Vec<Node>, seen: &mut SeenKeys) -> Vec<(Key, Node)> {
    if merges.is_empty() {
        return entries;
    }
    let mut merged = Vec::new();
    let sources = merges.into_iter().flat_map(|node| match node.kind {
        NodeKind::Seq(items) => items,
        _ => vec![node],
    });
    for source in sources {
        if let NodeKind::Map(source_entries) = source.kind {
            for (key, value) in source_entries {
                if seen.first_time(&key) {
                    merged.push((key, value));
                }
            }
        }
    }
    merged.extend(entries);
    merged
}

/// `{ key: inner }`, the long form of a short-form tag.
fn wrap(key: Intrinsic, key_span: Span, inner: Node, span: Span) -> Node {
    Node::new(NodeKind::Map(vec![(Key { name: key.as_str().to_string(), span: key_span }, inner)]), span)
}

fn tree_size(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Seq(items) => 1 + items.iter().map(tree_size).sum::<usize>(),
        NodeKind::Map(entries) => 1 + entries.iter().map(|(_, v)| tree_size(v)).sum::<usize>(),
        _ => 1,
    }
}

/// `!GetAtt Resource.Attribute.Path` as `["Resource", "Attribute.Path"]`: CloudFormation
/// splits at the first dot only, since attribute names may contain dots.
fn split_get_att(value: &str, span: Span, verbatim: Option<usize>, cx: &Cx) -> Node {
    let part = |text: &str, offset: usize| {
        let span = verbatim.map_or(span, |v| cx.span(v + offset, v + offset + text.len()));
        Node::new(NodeKind::String(text.to_string()), span)
    };
    let parts = match value.split_once('.') {
        Some((resource, attribute)) => vec![part(resource, 0), part(attribute, resource.len() + 1)],
        None => vec![part(value, 0)],
    };
    Node::new(NodeKind::Seq(parts), span)
}

fn bad_core_tag(core: CoreTag, tag_span: Span, span: Span, found: &str) -> Diagnostic {
    Diagnostic::error(codes::BAD_CORE_TAG, format!("`{}` does not fit this value", core.name()))
        .at(span)
        .label(format!("found {found}"))
        .with_secondary(tag_span, "tag given here")
}

/// A plain scalar typed by the YAML 1.2 core schema.
fn plain_kind(value: &str) -> NodeKind {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => NodeKind::Null,
        "true" | "True" | "TRUE" => NodeKind::Bool(true),
        "false" | "False" | "FALSE" => NodeKind::Bool(false),
        _ if is_int(value) || is_float(value) => NodeKind::Number(value.to_string()),
        _ => NodeKind::String(value.to_string()),
    }
}

fn core_kind(core: CoreTag, value: &str, tag_span: Span, span: Span) -> Result<NodeKind, Diagnostic> {
    let kind = match core {
        CoreTag::Str => Some(NodeKind::String(value.to_string())),
        CoreTag::Int => is_int(value).then(|| NodeKind::Number(value.to_string())),
        CoreTag::Float => (is_int(value) || is_float(value)).then(|| NodeKind::Number(value.to_string())),
        CoreTag::Bool | CoreTag::Null => Some(plain_kind(value))
            .filter(|k| matches!((core, k), (CoreTag::Bool, NodeKind::Bool(_)) | (CoreTag::Null, NodeKind::Null))),
        CoreTag::Seq | CoreTag::Map => None,
    };
    kind.ok_or_else(|| bad_core_tag(core, tag_span, span, &format!("`{value}`")))
}

fn all_digits(s: &str, radix: u32) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_digit(radix))
}

fn is_int(value: &str) -> bool {
    if let Some(hex) = value.strip_prefix("0x") {
        return all_digits(hex, 16);
    }
    if let Some(octal) = value.strip_prefix("0o") {
        return all_digits(octal, 8);
    }
    all_digits(value.strip_prefix(['-', '+']).unwrap_or(value), 10)
}

fn is_float(value: &str) -> bool {
    if matches!(value, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (unsigned, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.is_empty() || all_digits(int, 10))
                && (frac.is_empty() || all_digits(frac, 10))
                && !(int.is_empty() && frac.is_empty())
        }
        None => all_digits(mantissa, 10),
    };
    mantissa_ok && exponent.is_none_or(|e| all_digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10))
}

/// Start and end of a scalar whose content the parser reported at `at`.
fn scalar_extent(text: &str, value: &str, style: TScalarStyle, at: usize, tag_end: Option<usize>) -> (usize, usize) {
    match style {
        TScalarStyle::Plain if value.is_empty() => {
            let p = tag_end.unwrap_or_else(|| end_of_previous_content(text, at));
            (p, p)
        }
        TScalarStyle::Plain => (at, plain_end(text, at, value)),
        TScalarStyle::SingleQuoted => (at, quoted_end(text, at, b'\'')),
        TScalarStyle::DoubleQuoted => (at, quoted_end(text, at, b'"')),
        TScalarStyle::Literal | TScalarStyle::Folded => block_extent(text, at, value),
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// A plain scalar's words are its source's words, only the whitespace between them folded.
fn plain_end(text: &str, at: usize, value: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = at;
    for word in value.split(|c: char| c.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        while bytes.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        if text.get(i..).is_some_and(|rest| rest.starts_with(word)) {
            i += word.len();
        } else {
            break;
        }
    }
    i
}

fn quoted_end(text: &str, at: usize, quote: u8) -> usize {
    let bytes = text.as_bytes();
    let mut i = at + 1;
    while let Some(&b) = bytes.get(i) {
        if quote == b'"' && b == b'\\' {
            i += 2;
        } else if b == quote {
            if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    text.len()
}

/// How far back spans look for the start of a line. Spans only need nearby text, and an
/// unbounded search would make a long one-line template quadratic.
const LOOKBEHIND: usize = 512;

/// Where the line holding `at` starts, and whether that is a real line start (rather than
/// the limit of the search).
fn line_start(text: &str, at: usize) -> (usize, bool) {
    let mut from = at.saturating_sub(LOOKBEHIND);
    while from < at && !text.is_char_boundary(from) {
        from += 1;
    }
    match text.get(from..at).and_then(|t| t.rfind(['\n', '\r'])) {
        Some(p) => (from + p + 1, true),
        None => (from, from == 0),
    }
}

/// A block scalar runs from its `|` or `>` header to its last line indented at least as far
/// as its first content line (the parser reports only that first line).
fn block_extent(text: &str, at: usize, value: &str) -> (usize, usize) {
    let header = block_header(text, at);
    let start = header.map_or(at, |h| h.0);
    let mut end = header.map_or(at, |h| h.1);
    if value.trim().is_empty() {
        return (start, end);
    }
    let (first, _) = line_start(text, at);
    let indent = at - first;
    let mut pos = first;
    while let Some(rest) = text.get(pos..).filter(|r| !r.is_empty()) {
        let line_len = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..line_len];
        let spaces = line.len() - line.trim_start_matches(' ').len();
        if !line.trim().is_empty() {
            if spaces < indent {
                break;
            }
            end = pos + line.trim_end().len();
        }
        pos += line_len + 1;
    }
    (start, end.max(start))
}

/// The `|`/`>` header of the block scalar whose content starts at `at`: on the nearest line
/// above with content, blank and comment lines skipped.
fn block_header(text: &str, at: usize) -> Option<(usize, usize)> {
    let mut seg_end = at;
    loop {
        let (start, whole) = line_start(text, seg_end);
        let segment = text.get(start..seg_end)?;
        let trimmed = segment.trim();
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            return block_indicator(segment).map(|(s, e)| (start + s, start + e));
        }
        if start == 0 || !whole {
            return None;
        }
        seg_end = start - 1;
    }
}

fn block_indicator(line: &str) -> Option<(usize, usize)> {
    line.char_indices().find_map(|(i, c)| {
        if c != '|' && c != '>' {
            return None;
        }
        if i > 0 && !line[..i].ends_with([' ', '\t']) {
            return None;
        }
        let after = &line[i + 1..];
        let modifiers =
            after.len() - after.trim_start_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit()).len();
        let rest = &after[modifiers..];
        let ends = rest.trim().is_empty() || (rest.starts_with([' ', '\t']) && rest.trim_start().starts_with('#'));
        ends.then_some((i, i + 1 + modifiers))
    })
}

/// For a value left empty (`Key:` with nothing after it), where the text before it ends:
/// the parser reports the position of whatever comes next.
fn end_of_previous_content(text: &str, at: usize) -> usize {
    // Text before `at` on its own line cannot be a comment, since a comment runs to the end
    // of its line: the common case needs no line scan.
    let before = text.get(..at).unwrap_or_default().trim_end_matches([' ', '\t']);
    if !before.is_empty() && !before.ends_with(['\n', '\r']) {
        return before.len();
    }
    let mut seg_end = at;
    loop {
        let (start, whole) = line_start(text, seg_end);
        let Some(segment) = text.get(start..seg_end) else { return at };
        let content = strip_comment(segment).trim_end();
        if !content.trim_start().is_empty() {
            return start + content.len();
        }
        if start == 0 || !whole {
            return at;
        }
        seg_end = start - 1;
    }
}

/// A line without its `# comment`, if it has one outside quotes.
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') if previous == ' ' || previous == '\t' => return &line[..i],
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            _ => {}
        }
        previous = c;
    }
    line
}

/// A block sequence's own start: the `-` before its first entry, which the parser skips.
fn block_entry_start(text: &str, at: usize) -> usize {
    let before = text.get(..at).unwrap_or_default().trim_end_matches([' ', '\t']);
    if before.ends_with('-') {
        before.len() - 1
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_schema_numbers() {
        fn check(value: &str, int: bool, float: bool) {
            assert_eq!((is_int(value), is_float(value)), (int, float), "{value:?}");
        }
        check("0", true, true);
        check("-12", true, true);
        check("+7", true, true);
        check("0x1f", true, false);
        check("0o17", true, false);
        check("0o18", false, false);
        check("0x", false, false);
        check("-0x1", false, false);
        check("1.", false, true);
        check(".5", false, true);
        check("1.5e-3", false, true);
        check("1E10", false, true);
        check("1e", false, false);
        check("e3", false, false);
        check(".", false, false);
        check("-.inf", false, true);
        check(".NaN", false, true);
        check("-.nan", false, false);
        check("1_000", false, false);
        check("", false, false);
    }

    #[test]
    fn block_indicators() {
        fn check(line: &str, expected: Option<(usize, usize)>) {
            assert_eq!(block_indicator(line), expected, "{line:?}");
        }
        check("A: |", Some((3, 4)));
        check("A: >-", Some((3, 5)));
        check("A: |2+ # comment", Some((3, 6)));
        check("- |", Some((2, 3)));
        check("A: !Sub |", Some((8, 9)));
        check("\"a | b\": |", Some((9, 10)));
        check("A: a|b", None);
        check("A: x > y", None);
        check("A: plain", None);
    }

    #[test]
    fn comments() {
        fn check(line: &str, expected: &str) {
            assert_eq!(strip_comment(line), expected, "{line:?}");
        }
        check("A: 1 # one", "A: 1 ");
        check("# all", "");
        check("A: 'x # y'", "A: 'x # y'");
        check("A: \"x # y\" # z", "A: \"x # y\" ");
        check("A: x#y", "A: x#y");
    }
}
