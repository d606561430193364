//! `infra explain`: the long explanation of a diagnostic code.

use super::exit;
use super::{Format, Global};
use anyhow::bail;
use infra_core::diag::explain::{self, EXPLANATIONS};
use std::process::ExitCode;

/// Explain a diagnostic code: what triggers it, why it matters, and how to fix it
///
/// Every diagnostic infra reports carries a stable code (`error[E1139]`). This prints the
/// long explanation of one, with a wrong and a fixed example where a file causes it, like
/// `rustc --explain`. Without a code, it lists every code with its title.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra explain E1139            # what `error[E1139]` means and how to fix it
  infra explain w4001            # codes are case-insensitive
  infra explain                  # every code with its title
  infra explain E2002 --format json")]
pub struct Args {
    /// The code, such as E1139 or W4001
    pub code: Option<String>,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let Some(code) = args.code else {
        match global.format {
            Format::Json => {
                super::print_json(&serde_json::Value::Array(EXPLANATIONS.iter().map(|e| e.to_json()).collect()))
            }
            Format::Human => {
                for e in EXPLANATIONS {
                    outln!("{}  {}", e.code, e.title);
                }
            }
        }
        return Ok(exit::code(exit::SUCCESS));
    };
    let Some(e) = explain::lookup(&code) else {
        let wanted = code.trim().to_ascii_uppercase();
        let hint = match infra_core::diag::did_you_mean(&wanted, EXPLANATIONS.iter().map(|e| e.code)) {
            Some(m) => format!("; did you mean `{m}`?"),
            None => "; `infra explain` lists every code".to_string(),
        };
        bail!("no diagnostic has the code `{}`{hint}", code.trim());
    };
    match global.format {
        Format::Json => super::print_json(&e.to_json()),
        Format::Human => out!("{}", e.text()),
    }
    Ok(exit::code(exit::SUCCESS))
}
