//! `infra man`: the manual page, generated from the command-line definitions.

use super::exit;
use super::{Cli, Global};
use anyhow::Context;
use clap::CommandFactory;
use std::path::PathBuf;
use std::process::ExitCode;

/// Print infra's manual page (roff), or write one page per subcommand
///
/// The pages are generated from infra's own flag and subcommand definitions. Without
/// `--out-dir`, infra(1) is printed on stdout; with it, infra.1 and infra-<command>.1 for
/// every subcommand are written to that directory (created if missing), ready for a `man1`
/// directory of the MANPATH.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra man | man -l -                             # read it now
  infra man --out-dir ~/.local/share/man/man1      # install infra.1 and infra-<command>.1")]
pub struct Args {
    /// Write infra.1 and a page per subcommand into this directory instead of printing infra.1
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    match args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir).with_context(|| format!("write manual pages to {}", dir.display()))?;
            outln!("wrote manual pages to {}", dir.display());
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out).context("render the manual page")?;
            // A fixed text generated from the definitions: no value of the project can be in it.
            print!("{}", String::from_utf8_lossy(&out));
        }
    }
    Ok(exit::code(exit::SUCCESS))
}
