//! The toolkit every service shares, so that each rule exists once:
//! - [`service`]: the per-type trait, the service table and its dispatch;
//! - [`props`]: the one path-aware property reader;
//! - [`tags`]: tags in and out, with one rule for the tags AWS manages itself;
//! - [`readback`]: shaping what a service reports into the template's shape;
//! - [`errors`]: what counts as not found, and "already gone" as an answer;
//! - [`schema`]: what the vendored registry schemas say about a type;
//! - [`adopt`]: the one rule for adopting a create whose answer was lost;
//! - [`waiter`]: waiting for long transitions, reported as engine events.
//!
//! Retry windows (IAM propagation among them) live with the retry policy in
//! [`crate::retry`].

pub mod adopt;
pub mod errors;
pub mod props;
pub mod readback;
pub mod schema;
pub mod service;
pub mod tags;
pub mod waiter;
