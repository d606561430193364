//! AWS providers for infra: one resource type per file, each behind
//! [`infra_core::provider::Provider`]. Nothing here knows about plans, state or the CLI.

pub mod config;
pub mod error;
pub mod naming;
pub mod policy;
pub mod retry;
#[cfg(feature = "testing")]
pub mod testing;

pub use config::AwsSettings;
pub use retry::{retry, RetryPolicy};
