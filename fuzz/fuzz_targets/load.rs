//! Fuzz target: any bytes, as JSON and as YAML, must load or fail with a diagnostic whose
//! spans lie inside the text, and rendering that diagnostic must not panic either.

#![no_main]

use infra_core::diag::Diagnostic;
use infra_core::render::diag::human;
use infra_core::source::{SourceMap, Span};
use infra_core::template::load::{parse_str, Limits, Syntax};
use infra_core::template::node::{Node, NodeKind};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Tight limits reach the limit errors often; default ones reach everything else.
    let tight = Limits { max_bytes: 1 << 16, max_depth: 8, max_nodes: 200 };
    for limits in [Limits::default(), tight] {
        for syntax in [Syntax::Json, Syntax::Yaml] {
            let mut sources = SourceMap::new();
            let file = sources.add(Path::new("fuzz"), "fuzz", text.as_ref());
            match parse_str(&text, file, syntax, &limits) {
                Ok(node) => {
                    assert!(matches!(node.kind, NodeKind::Map(_)), "the top level is a mapping");
                    check_node(&node, &text, limits.max_depth, 1);
                }
                Err(d) => {
                    check_diagnostic(&d, &text);
                    let _ = human(std::slice::from_ref(&d), &sources, false);
                }
            }
        }
    }
});

fn check_span(span: Span, text: &str) {
    let (start, end) = (span.start as usize, span.end as usize);
    assert!(start <= end && end <= text.len(), "span {start}..{end} outside 0..{}", text.len());
    assert!(text.is_char_boundary(start) && text.is_char_boundary(end), "span {start}..{end} splits a character");
}

fn check_diagnostic(d: &Diagnostic, text: &str) {
    if let Some(span) = d.span {
        check_span(span, text);
    }
    for label in &d.secondary {
        check_span(label.span, text);
    }
}

fn check_node(node: &Node, text: &str, max_depth: usize, depth: usize) {
    check_span(node.span, text);
    match &node.kind {
        NodeKind::Seq(items) => {
            assert!(depth <= max_depth, "nesting {depth} over the limit {max_depth}");
            for item in items {
                check_node(item, text, max_depth, depth + 1);
            }
        }
        NodeKind::Map(entries) => {
            assert!(depth <= max_depth, "nesting {depth} over the limit {max_depth}");
            for (key, value) in entries {
                check_span(key.span, text);
                check_node(value, text, max_depth, depth + 1);
            }
        }
        _ => {}
    }
}
