//! AWS providers for infra: one resource type per file, each behind
//! [`infra_core::provider::Provider`]. Nothing here knows about plans, state or the CLI.

mod call;
pub mod naming;
mod props;
pub mod sagemaker;
mod sagemaker_endpoint;
mod sagemaker_endpoint_config;
mod sagemaker_model;
mod sagemaker_model_package_group;
pub mod waiter;

pub use sagemaker::{SageMakerProvider, SageMakerSettings};
pub mod application_autoscaling;
mod application_autoscaling_scalable_target;
mod application_autoscaling_scaling_policy;

pub use application_autoscaling::ApplicationAutoScalingProvider;
