//! AWS providers for infra: one resource type per file, each behind
//! [`infra_core::provider::Provider`]. Nothing here knows about plans, state or the CLI.

pub mod application_autoscaling;
mod application_autoscaling_scalable_target;
mod application_autoscaling_scaling_policy;
pub mod config;
pub mod error;
pub mod naming;
pub mod policy;
mod props;
pub mod retry;
pub mod sagemaker;
mod sagemaker_endpoint;
mod sagemaker_endpoint_config;
mod sagemaker_model;
mod sagemaker_model_package_group;
pub mod waiter;

pub use application_autoscaling::ApplicationAutoScalingProvider;
pub use config::AwsSettings;
pub use retry::{retry, RetryPolicy};
pub use sagemaker::{SageMakerProvider, SageMakerSettings};
