//! Human and JSON views of diagnostics, plans and apply progress. Pure text: no terminal access.

pub mod diag;
pub mod plan;
pub mod progress;
