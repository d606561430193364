//! Human and JSON views of diagnostics, plans and apply progress, and the redaction of
//! secrets in all of them. Pure text: no terminal access.

pub mod diag;
pub mod drift;
pub mod plan;
pub mod progress;
pub mod redact;

pub use redact::{Redactor, SENSITIVE};
