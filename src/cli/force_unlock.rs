//! `infra force-unlock`: remove a state lock whose holder can no longer release it.

use super::{exit, Format, Global};
use std::process::ExitCode;

/// Remove a lock left by a process that can no longer release it
///
/// Only the lock with exactly this ID is removed, so a newer lock taken since is never
/// broken by mistake. The ID is in the "locked by" error. A lock whose holder crashed on this
/// machine is released by the OS anyway; force-unlock is for a hung process, or one on
/// another machine sharing the state directory. While the holder's process is still running
/// on this machine, force-unlock refuses: stop it first. A holder on another machine cannot
/// be checked from here; make sure it is stopped, as it may still be writing state.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra force-unlock 3f2a6c1e-8d0b-4f5e-9a77-2c1d0e9b8a64
  infra force-unlock 3f2a6c1e-8d0b-4f5e-9a77-2c1d0e9b8a64 --layer backend --env prod")]
pub struct Args {
    /// The lock ID, from the "locked by" error
    pub lock_id: String,
    /// The locked layer (default: search every layer of the environment)
    #[arg(long)]
    pub layer: Option<String>,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let scope = match super::state::scope(global) {
        Ok(scope) => scope,
        Err(code) => return Ok(code),
    };
    let layer = match &args.layer {
        Some(l) => scope.layer(l)?,
        None => scope.find_lock(&args.lock_id)?,
    };
    let info = scope.force_unlock(layer, &args.lock_id)?;
    match global.format {
        Format::Json => {
            let json = serde_json::json!({ "layer": layer, "env": scope.env(), "removed": info });
            super::print_json(&json);
        }
        Format::Human => {
            outln!(
                "Removed lock {} on layer {layer} (env {}), held by {}@{} pid {} for {} since {}.",
                info.id,
                scope.env(),
                info.user,
                info.host,
                info.pid,
                info.operation,
                info.created
            );
        }
    }
    Ok(exit::code(exit::SUCCESS))
}
