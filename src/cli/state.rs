//! `infra state list|show|rm`.

use super::Global;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// List the resources in state
    List,
}

pub fn run(_cmd: Command, _global: &Global) -> anyhow::Result<ExitCode> {
    anyhow::bail!("infra state is not available yet")
}
