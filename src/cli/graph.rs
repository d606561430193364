//! `infra graph`.

use super::Global;
use std::process::ExitCode;

/// (not yet available)
#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args, _global: &Global) -> anyhow::Result<ExitCode> {
    anyhow::bail!("infra graph is not available yet")
}
