//! Apply progress as plain lines ("Role: Still creating... (1m10s elapsed)") and the closing
//! summary; the command line draws these on a terminal or prints them to a log.

use crate::apply::{ApplyReport, Event, Operation, Subject};
use std::time::Duration;

/// `1m10s`, `42s`, `4.2s`: short and exact enough for progress.
pub fn duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
        if h > 0 {
            format!("{h}h{m}m{s}s")
        } else {
            format!("{m}m{s}s")
        }
    } else if secs >= 10 {
        format!("{secs}s")
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

fn who(s: &Subject) -> String {
    match crate::state::ObjectKey::parse(&s.logical_id) {
        crate::state::ObjectKey::Deposed(id) => format!("{}.{id} (deposed)", s.layer),
        crate::state::ObjectKey::Current(id) => format!("{}.{id}", s.layer),
    }
}

/// The verb forms of an operation: (`Creating`, `creating`, `Creation`).
fn verbs(op: Operation) -> (&'static str, &'static str, &'static str) {
    match op {
        Operation::Create => ("Creating", "creating", "Creation"),
        Operation::Update => ("Modifying", "modifying", "Modifications"),
        Operation::Delete => ("Destroying", "destroying", "Destruction"),
        Operation::Forget => ("Forgetting", "forgetting", "Removal from state"),
        Operation::Read => ("Reading", "reading", "Read"),
    }
}

/// One line per event.
pub fn event_line(e: &Event) -> String {
    match e {
        Event::Started { subject } => format!("{}: {}...", who(subject), verbs(subject.operation).0),
        Event::Heartbeat { subject, elapsed } => {
            format!("{}: Still {}... ({} elapsed)", who(subject), verbs(subject.operation).1, duration(*elapsed))
        }
        Event::Finished { subject, elapsed, physical_id } => {
            let id = match (subject.operation, physical_id) {
                (Operation::Create | Operation::Update, Some(id)) => format!(" [id={id}]"),
                _ => String::new(),
            };
            format!("{}: {} complete after {}{id}", who(subject), verbs(subject.operation).2, duration(*elapsed))
        }
        Event::Failed { subject, elapsed, error } => {
            format!("{}: {} failed after {}: {error}", who(subject), verbs(subject.operation).2, duration(*elapsed))
        }
        Event::Skipped { subject, because } => format!("{}: Skipped ({because})", who(subject)),
        // The provider's own words, as it always put them.
        Event::Provider { report, .. } => report.to_string(),
    }
}

/// `Apply complete: 3 added, 1 changed, 2 destroyed (4.2s).` or, for a destroy,
/// `Destroy complete: 2 destroyed (1.0s).`; a failed run says so.
pub fn summary(report: &ApplyReport, destroy: bool) -> String {
    let mut counts = if destroy {
        format!("{} destroyed", report.destroyed)
    } else {
        format!("{} added, {} changed, {} destroyed", report.added, report.changed, report.destroyed)
    };
    if report.forgotten > 0 {
        counts.push_str(&format!(", {} removed from state", report.forgotten));
    }
    let what = if destroy { "Destroy" } else { "Apply" };
    let outcome = if report.is_success() {
        "complete"
    } else if report.interrupted {
        "interrupted"
    } else {
        "failed"
    };
    format!("{what} {outcome}: {counts} ({}).", duration(report.elapsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let check = |ms: u64, expected: &str| assert_eq!(duration(Duration::from_millis(ms)), expected);
        check(4_200, "4.2s");
        check(42_000, "42s");
        check(70_000, "1m10s");
        check(3_725_000, "1h2m5s");
    }
}
