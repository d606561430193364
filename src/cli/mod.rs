//! Argument parsing and dispatch: one file per subcommand, each an `Args` struct plus a
//! `run` function. This is the only place that knows clap, environment variables and stdout.
//!
//! Exit codes: 0 success, 1 error, 2 changes or drift present (`--detailed-exitcode`).

pub mod apply;
pub mod destroy;
pub mod engine;
pub mod force_unlock;
pub mod graph;
pub mod output;
pub mod plan;
pub mod providers;
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
    /// The AWS region (overrides the environment's region in infra.toml)
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// The AWS shared-config profile to take credentials from (default: AWS_PROFILE or `default`)
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
}

impl Global {
    /// Colours only on a terminal, and never with --no-color or NO_COLOR.
    pub fn color(&self) -> bool {
        use std::io::IsTerminal;
        !self.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
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

/// Flags Terraform users type with one dash; they are rewritten to the `--long` form.
const SINGLE_DASH_FLAGS: &[&str] =
    &["out", "auto-approve", "detailed-exitcode", "target", "exclude", "replace", "parallelism", "lock-timeout"];

/// Rewrite `-auto-approve` and `-out=FILE` (Terraform's spelling) as `--auto-approve` and
/// `--out=FILE`; everything after `--` is left alone.
pub fn terraform_style_flags(args: impl IntoIterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut rest = false;
    args.into_iter()
        .map(|a| {
            if rest {
                return a;
            }
            let Some(s) = a.to_str() else { return a };
            if s == "--" {
                rest = true;
                return a;
            }
            let Some(flag) = s.strip_prefix('-').filter(|f| !f.starts_with('-')) else { return a };
            let name = flag.split_once('=').map_or(flag, |(n, _)| n);
            if SINGLE_DASH_FLAGS.contains(&name) {
                format!("-{s}").into()
            } else {
                a
            }
        })
        .collect()
}

/// Entry point: parse, run, map the outcome to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse_from(terraform_style_flags(std::env::args_os()));
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
