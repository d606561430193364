//! `infra apply`: make the changes of a fresh plan (after approval) or of a saved one.

use super::engine::{self, Access, Running, Selection};
use super::{exit, Format, Global};
use anyhow::bail;
use infra_core::plan::saved::{self, SavedPlanError};
use std::path::PathBuf;
use std::process::ExitCode;

/// Make the changes a plan shows
///
/// Without PLANFILE, plans as `infra plan` does, shows the plan and asks for approval (type
/// `yes`; on a non-terminal stdin, pass -auto-approve). With PLANFILE (from `infra plan -out`),
/// applies exactly that plan, and refuses it if the templates, parameters or state changed
/// since it was made. Operations run in dependency order, --parallelism at a time; a failed
/// resource stops only what depends on it. Ctrl-C stops starting new operations and saves
/// state; a second Ctrl-C exits at once and the next run recovers.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra apply
  infra apply -auto-approve --env prod
  infra apply --layer backend --target Endpoint
  infra plan -out plan.json && infra apply plan.json
  infra apply -auto-approve --parallelism 4")]
pub struct Args {
    /// A plan saved by `infra plan -out FILE`
    pub planfile: Option<PathBuf>,
    /// Apply without asking for approval (`-auto-approve` works too)
    #[arg(long)]
    pub auto_approve: bool,
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub running: Running,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let json = global.format == Format::Json;
    if let Some(path) = &args.planfile {
        return apply_saved(path, &args, global);
    }
    let mut ws = engine::open(global, None, &args.selection.layers, "apply", args.running.lock_timeout, Access::Write)?;
    let (plan, registry) = super::plan::make_and_show(&ws, args.selection.options(false), global)?;
    if !plan.has_changes() {
        if json {
            super::print_json(&infra_core::render::plan::json(&plan));
        }
        ws.tidy()?;
        return Ok(exit::code(exit::SUCCESS));
    }
    if !args.auto_approve && json {
        bail!("get approval: with --format json there is no prompt; pass -auto-approve");
    }
    if !args.auto_approve
        && !engine::approve("Do you want to perform these actions?", "infra will perform the actions described above.")?
    {
        outln!("Apply cancelled.");
        return Ok(exit::code(exit::ERROR));
    }
    let report = engine::apply(&mut ws, &plan, &registry, args.running.parallelism, !json)?;
    Ok(engine::finish(&plan, &report, json))
}

fn apply_saved(path: &std::path::Path, args: &Args, global: &Global) -> anyhow::Result<ExitCode> {
    let selection = &args.selection;
    if !(selection.layers.is_empty()
        && selection.targets.is_empty()
        && selection.excludes.is_empty()
        && selection.replace.is_empty())
    {
        bail!("apply {}: a saved plan is applied as it is; choose layers and targets when making it", path.display());
    }
    let plan = match saved::read(path) {
        Ok(plan) => plan,
        Err(SavedPlanError::Version { version, .. }) => {
            bail!("apply {}: plan format version {version} is not supported by this build", path.display())
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(env) = global.env.as_deref().filter(|e| *e != plan.env) {
        bail!("apply {}: the plan is for environment {}, not {env}", path.display(), plan.env);
    }
    let layers: Vec<String> = plan.layers.iter().map(|l| l.layer.clone()).collect();
    let mut ws = engine::open(global, Some(&plan.env), &layers, "apply", args.running.lock_timeout, Access::Write)?;
    ws.adopt(&plan).map_err(|e| anyhow::anyhow!("apply the saved plan {}: {e}; make a new plan", path.display()))?;
    let registry = ws.registry_for_plan(&plan)?;
    let json = global.format == Format::Json;
    let report = engine::apply(&mut ws, &plan, &registry, args.running.parallelism, !json)?;
    Ok(engine::finish(&plan, &report, json))
}
