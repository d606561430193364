//! AWS providers for infra: one resource type per file, each behind
//! [`infra_core::provider::Provider`]. Nothing here knows about plans, state or the CLI.
