//! Argument parsing and dispatch: one file per subcommand, each an `Args` struct plus a
//! `run` function. This is the only place that knows clap, environment variables and stdout.
//!
//! Exit codes: 0 success, 1 error, 2 changes or drift present (`--detailed-exitcode`).

pub mod apply;
pub mod destroy;
pub mod force_unlock;
pub mod graph;
pub mod output;
pub mod plan;
pub mod state;
pub mod validate;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Terraform's workflow (plan, apply, destroy, state, drift) on CloudFormation templates.
#[derive(Parser, Debug)]
#[command(name = "infra", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts.
#[derive(clap::Args, Debug, Clone)]
pub struct Global {
    /// The project directory (holds infra.toml and stacks/)
    #[arg(long, global = true, default_value = ".", env = "INFRA_PROJECT_DIR")]
    pub project_dir: PathBuf,
    /// The environment whose parameters apply (default: the project's first environment)
    #[arg(long, global = true, env = "INFRA_ENV")]
    pub env: Option<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Disable colours (NO_COLOR is honoured too)
    #[arg(long, global = true)]
    pub no_color: bool,
}

impl Global {
    /// Colours only on a terminal, and never with --no-color or NO_COLOR.
    pub fn color(&self) -> bool {
        use std::io::IsTerminal;
        !self.no_color
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && std::io::stdout().is_terminal()
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Validate(validate::Args),
    Graph(graph::Args),
    Plan(plan::Args),
    Apply(apply::Args),
    Destroy(destroy::Args),
    Output(output::Args),
    #[command(subcommand)]
    State(state::Command),
    ForceUnlock(force_unlock::Args),
}

/// Entry point: parse, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(a) => validate::run(a, &cli.global),
        Command::Graph(a) => graph::run(a, &cli.global),
        Command::Plan(a) => plan::run(a, &cli.global),
        Command::Apply(a) => apply::run(a, &cli.global),
        Command::Destroy(a) => destroy::run(a, &cli.global),
        Command::Output(a) => output::run(a, &cli.global),
        Command::State(c) => state::run(c, &cli.global),
        Command::ForceUnlock(a) => force_unlock::run(a, &cli.global),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
