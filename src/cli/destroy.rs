//! `infra destroy`: delete what infra manages, highest layer first.

use super::engine::{self, Access, Running};
use super::{exit, Format, Global};
use infra_core::plan::PlanOptions;
use std::process::ExitCode;

/// Destroy the resources infra manages
///
/// Deletes in reverse dependency order, the highest layer first. Resources with
/// `DeletionPolicy: Retain` are left in place and only removed from state. Refuses to destroy
/// a layer whose exports another deployed layer still imports. With --target, destroys that
/// resource and everything that depends on it.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra destroy
  infra destroy -auto-approve --env dev
  infra destroy --layer frontend
  infra destroy --target Endpoint")]
pub struct Args {
    /// Destroy without asking for approval (`-auto-approve` works too)
    #[arg(long)]
    pub auto_approve: bool,
    /// Only this layer (repeatable)
    #[arg(long = "layer", value_name = "LAYER")]
    pub layers: Vec<String>,
    /// Only this resource and what depends on it (repeatable)
    #[arg(long = "target", value_name = "ID")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub running: Running,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let json = global.format == Format::Json;
    let mut ws = engine::open(global, None, &args.layers, "destroy", args.running.lock_timeout, Access::Write)?;
    let options =
        PlanOptions { targets: args.targets.clone(), layers: args.layers.clone(), destroy: true, ..Default::default() };
    let (plan, registry) = super::plan::make_and_show(&ws, options, global)?;
    if !plan.has_changes() {
        if json {
            super::print_json(&infra_core::render::plan::json(&plan));
        }
        ws.tidy()?;
        return Ok(exit::code(exit::SUCCESS));
    }
    if !args.auto_approve && json {
        anyhow::bail!("get approval: with --format json there is no prompt; pass -auto-approve");
    }
    if !args.auto_approve
        && !engine::approve(
            "Do you really want to destroy these resources?",
            "infra will destroy the resources described above. There is no undo.",
        )?
    {
        outln!("Destroy cancelled.");
        return Ok(exit::code(exit::ERROR));
    }
    let report = engine::apply(&mut ws, &plan, &registry, args.running.parallelism, !json)?;
    Ok(engine::finish(&plan, &report, json))
}
