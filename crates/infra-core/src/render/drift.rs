//! Drift reports for people (the JSON form is the report itself, serialized).

use crate::drift::{Report, ResourceDrift, Status};
use std::fmt::Write;

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn compact(v: &serde_json::Value) -> String {
    if v.is_null() {
        "(not set)".to_string()
    } else {
        v.to_string()
    }
}

/// Every resource, drifted ones with their differences, then the summary line.
pub fn human(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for r in &report.resources {
        resource(&mut out, r, color);
    }
    if !report.resources.is_empty() {
        out.push('\n');
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

fn resource(out: &mut String, r: &ResourceDrift, color: bool) {
    let (code, mark) = match r.status {
        Status::InSync => ("32", "IN_SYNC    "),
        Status::Modified => ("33", "MODIFIED   "),
        Status::Deleted => ("31", "DELETED    "),
        Status::NotChecked => ("2", "NOT_CHECKED"),
    };
    let _ = write!(out, "{} {}.{} ({})", paint(color, code, mark), r.layer, r.logical_id, r.resource_type);
    if let Some(reason) = &r.reason {
        let _ = write!(out, ": {reason}");
    }
    out.push('\n');
    for d in &r.differences {
        if d.added.is_empty() && d.removed.is_empty() {
            let _ = writeln!(out, "    ~ {}: {} -> {}", d.path, compact(&d.recorded), compact(&d.live));
        } else {
            let _ = writeln!(out, "    ~ {}:", d.path);
            for a in &d.added {
                let _ = writeln!(out, "        + {}", compact(a));
            }
            for a in &d.removed {
                let _ = writeln!(out, "        - {}", compact(a));
            }
        }
    }
    for i in &r.ignored {
        let _ = writeln!(out, "    (ignored) {}: {}", i.path, i.reason);
    }
    if !r.not_checkable.is_empty() {
        let _ = writeln!(out, "    (write-only, not checkable) {}", r.not_checkable.join(", "));
    }
}

/// `Drift: 1 modified, 1 deleted, 30 in sync, 2 not checked (env dev, 34 resources).`
pub fn summary_line(report: &Report) -> String {
    let s = &report.summary;
    let total = s.in_sync + s.modified + s.deleted + s.not_checked;
    let mut line = if report.has_drift() {
        format!(
            "Drift: {} modified, {} deleted, {} in sync, {} not checked",
            s.modified, s.deleted, s.in_sync, s.not_checked
        )
    } else {
        format!("No drift: {} in sync, {} not checked", s.in_sync, s.not_checked)
    };
    let _ = write!(line, " (env {}, {total} resources)", report.env);
    if s.errors > 0 {
        let _ = write!(line, "; {} could not be read", s.errors);
    }
    line.push('.');
    line
}
