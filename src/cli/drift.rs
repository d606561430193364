//! `infra drift`: compare the live resources with what state recorded.

use super::engine::{self, Access};
use super::{exit, Format, Global};
use infra_core::render;
use std::io::IsTerminal;
use std::process::ExitCode;

/// Check the live resources against state: IN_SYNC, MODIFIED, DELETED or NOT_CHECKED
///
/// Reads every resource recorded in state (one layer with --layer) and compares it with what
/// state recorded, by meaning: policy documents as policies, numbers as numbers, unordered
/// lists as sets, service defaults as absent. Write-only properties are listed as not
/// checkable; properties `[[drift.ignore]]` in infra.toml names are reported as ignored.
/// Nothing is changed, and no lock is taken: a drift check never waits for an apply nor
/// holds one up. Exit status: 0 no drift, 2 drift, 1 error (a read failed, for one).
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra drift
  infra drift --env prod --layer backend
  infra drift --format json > drift.json")]
pub struct Args {
    /// Only this layer (repeatable)
    #[arg(long = "layer", value_name = "LAYER")]
    pub layers: Vec<String>,
    /// How many resources are read at once
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: u32,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let ws = engine::open(global, None, &args.layers, "drift", std::time::Duration::ZERO, Access::Observe)?;
    let terminal = std::io::stderr().is_terminal();
    let progress = |done: usize, total: usize| {
        if terminal && total > 0 {
            eprint!("\rreading {done}/{total} resources");
            if done == total {
                eprint!("\r\x1b[K");
            }
        }
    };
    let report = ws
        .drift(&args.layers, args.parallelism as usize, &progress)
        .map_err(|e| engine::failed(&ws, global.color(), e))?;
    match global.format {
        Format::Json => {
            let doc = serde_json::to_value(&report).map_err(|e| exit::Internal(format!("show the report: {e}")))?;
            super::print_json(&doc);
        }
        Format::Human => out!("{}", render::drift::human(&report, global.color())),
    }
    Ok(exit::code(if report.has_errors() {
        exit::ERROR
    } else if report.has_drift() {
        exit::CHANGES
    } else {
        exit::SUCCESS
    }))
}
