//! `infra completions`: shell completion scripts generated from the command-line definitions.

use super::exit;
use super::{Cli, Global};
use clap::CommandFactory;
use clap_complete::Shell;
use std::process::ExitCode;

/// Print a completion script for a shell
///
/// The script is generated from infra's own flag and subcommand definitions, so it always
/// matches the binary that printed it. Load it in the current shell, or install it where
/// the shell looks for completions.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  source <(infra completions bash)                                  # bash, this shell only
  infra completions bash > ~/.local/share/bash-completion/completions/infra
  infra completions zsh > \"${fpath[1]}/_infra\"                      # zsh
  infra completions fish > ~/.config/fish/completions/infra.fish    # fish
  infra completions powershell >> $PROFILE                          # PowerShell")]
pub struct Args {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<ExitCode> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "infra", &mut out);
    // A fixed text generated from the definitions: no value of the project can be in it.
    print!("{}", String::from_utf8_lossy(&out));
    Ok(exit::code(exit::SUCCESS))
}
