//! Rendering diagnostics as rustc does (file:line:column, snippet, underline) and as JSON.

use crate::diag::{Diagnostic, Severity};
use crate::source::SourceMap;
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term;
use std::ops::Range;

struct MapFiles<'a>(&'a SourceMap);

impl<'a> Files<'a> for MapFiles<'a> {
    type FileId = u32;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: u32) -> Result<&'a str, FilesError> {
        self.0.get(crate::source::FileId(id)).map(|f| f.display.as_str()).ok_or(FilesError::FileMissing)
    }
    fn source(&'a self, id: u32) -> Result<&'a str, FilesError> {
        self.0.get(crate::source::FileId(id)).map(|f| &*f.text).ok_or(FilesError::FileMissing)
    }
    fn line_index(&'a self, id: u32, byte_index: usize) -> Result<usize, FilesError> {
        let f = self.0.get(crate::source::FileId(id)).ok_or(FilesError::FileMissing)?;
        Ok(match f.line_starts().binary_search(&byte_index) {
            Ok(i) => i,
            Err(i) => i - 1,
        })
    }
    fn line_range(&'a self, id: u32, line_index: usize) -> Result<Range<usize>, FilesError> {
        let f = self.0.get(crate::source::FileId(id)).ok_or(FilesError::FileMissing)?;
        let starts = f.line_starts();
        let start =
            *starts.get(line_index).ok_or(FilesError::LineTooLarge { given: line_index, max: starts.len() - 1 })?;
        let end = starts.get(line_index + 1).copied().unwrap_or(f.text.len());
        Ok(start..end)
    }
}

/// Render diagnostics for a terminal or a log, rustc style.
pub fn human(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    use codespan_reporting::term::termcolor::{Ansi, NoColor};
    let files = MapFiles(sources);
    let config = term::Config::default();
    let mut buf = Vec::new();
    for d in diags {
        let cd = to_codespan(d);
        let res = if color {
            let mut w = Ansi::new(&mut buf);
            term::emit_to_write_style(&mut w, &config, &files, &cd)
        } else {
            let mut w = NoColor::new(&mut buf);
            term::emit_to_write_style(&mut w, &config, &files, &cd)
        };
        if res.is_err() {
            buf.extend_from_slice(format!("{}[{}]: {}\n", sev(d.severity), d.code, d.message).as_bytes());
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn sev(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn to_codespan(d: &Diagnostic) -> cs::Diagnostic<u32> {
    let mut out = match d.severity {
        Severity::Error => cs::Diagnostic::error(),
        Severity::Warning => cs::Diagnostic::warning(),
    }
    .with_code(d.code)
    .with_message(&d.message);
    let mut labels = Vec::new();
    if let Some(span) = d.span {
        labels.push(cs::Label::primary(span.file.0, span.range()).with_message(d.label.clone().unwrap_or_default()));
    }
    for l in &d.secondary {
        labels.push(cs::Label::secondary(l.span.file.0, l.span.range()).with_message(&l.message));
    }
    let mut notes = d.notes.clone();
    if let Some(h) = &d.help {
        notes.push(format!("help: {h}"));
    }
    out = out.with_labels(labels).with_notes(notes);
    out
}

/// One JSON document listing the diagnostics, for machines.
pub fn json(diags: &[Diagnostic], sources: &SourceMap) -> serde_json::Value {
    let items: Vec<serde_json::Value> = diags
        .iter()
        .map(|d| {
            let loc = d.span.and_then(|s| sources.location(s));
            serde_json::json!({
                "code": d.code,
                "severity": sev(d.severity),
                "file": loc.map(|l| l.0),
                "line": loc.map(|l| l.1),
                "column": loc.map(|l| l.2),
                "message": d.message,
                "label": d.label,
                "notes": d.notes,
                "help": d.help,
            })
        })
        .collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    serde_json::json!({
        "diagnostics": items,
        "errors": errors,
        "warnings": diags.len() - errors,
    })
}
