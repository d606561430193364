//! The infra engine: CloudFormation templates in, plans and applied state out.
//!
//! Architecture invariant: nothing in this crate imports an AWS SDK crate or `clap`.
//! Cloud access goes through [`provider::Provider`]; the command line lives in the `infra` binary.

pub mod apply;
pub mod diag;
pub mod drift;
pub mod graph;
pub mod lint;
pub mod plan;
pub mod policy;
pub mod project;
pub mod provider;
pub mod render;
pub mod schema;
pub mod source;
pub mod state;
pub mod template;
pub mod validate;
pub mod value;
pub mod workspace;
