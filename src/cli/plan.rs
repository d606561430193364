//! `infra plan`: show what apply would change, optionally saving the plan for `infra apply`.

use super::engine::{self, Access, Running, Selection};
use super::{exit, Format, Global};
use anyhow::Context;
use infra_core::plan::{saved, Plan, PlanOptions};
use infra_core::render;
use infra_core::workspace::Workspace;
use std::path::PathBuf;
use std::process::ExitCode;

/// Show the changes apply would make, resource by resource
///
/// Evaluates every layer for the environment, compares it with the recorded state and
/// prints, Terraform style, what would be created (+), updated in place (~), replaced (-/+
/// or +/-, with the property that forces it) or destroyed (-). Values that depend on
/// resources not created yet show as "(known after apply)". Nothing is changed: operations
/// an interrupted run left open are checked by reading the resources they touched and shown
/// with what `infra apply` will do about them, and the plan is made as if they were settled.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra plan
  infra plan --env prod --layer backend
  infra plan --target Endpoint --replace Model
  infra plan -out plan.json && infra apply plan.json
  infra plan --detailed-exitcode   # exit 2 when there are changes
  infra plan --format json")]
pub struct Args {
    #[command(flatten)]
    pub selection: Selection,
    #[command(flatten)]
    pub running: Running,
    /// Exit with 2 when there are changes, or operations left open to settle (0: none, 1: error)
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Save the plan to FILE, for `infra apply FILE` (`-out FILE` works too)
    #[arg(long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl Selection {
    pub fn options(&self, destroy: bool) -> PlanOptions {
        PlanOptions {
            targets: self.targets.clone(),
            excludes: self.excludes.clone(),
            replace: self.replace.clone(),
            layers: self.layers.clone(),
            destroy,
        }
    }
}

/// Plan with the workspace's states, printing it for people unless `format` is JSON (which
/// callers print themselves); shared with `apply` and `destroy`.
pub fn make_and_show(
    ws: &Workspace,
    options: PlanOptions,
    global: &Global,
) -> anyhow::Result<(Plan, infra_core::provider::Registry)> {
    let color = global.color();
    let (plan, registry) = ws.plan(options).map_err(|e| engine::failed(ws, color, e))?;
    if global.format == Format::Human {
        out!("{}", render::plan::human_masked(&plan, color, &super::redactor()));
    }
    Ok((plan, registry))
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let ws = engine::open(global, None, &args.selection.layers, "plan", args.running.lock_timeout, Access::ReadOnly)?;
    if let (Some(path), false) = (&args.out, ws.settlements().is_empty()) {
        anyhow::bail!(
            "save the plan to {}: an interrupted run left operations open, and a saved plan must start from settled state; run `infra apply` (it settles them first, then asks before changing anything else), then plan again",
            path.display()
        );
    }
    if global.format == Format::Human && !ws.settlements().is_empty() {
        outln!("Operations an interrupted run left open (`infra apply` settles them before anything else):");
        for s in ws.settlements() {
            outln!("  {s}");
        }
        outln!();
    }
    let (plan, _) = make_and_show(&ws, args.selection.options(false), global)?;
    if global.format == Format::Json {
        let mut doc = render::plan::json(&plan);
        if let Some(map) = doc.as_object_mut() {
            let interrupted =
                serde_json::to_value(ws.settlements()).map_err(|e| exit::Internal(format!("show settlements: {e}")))?;
            map.insert("interrupted".to_string(), interrupted);
        }
        super::print_json(&doc);
    }
    if let Some(path) = &args.out {
        // The saved plan keeps real values (apply needs them), so it is written like state:
        // owner-only and atomically.
        saved::write(path, &plan).with_context(|| format!("write the plan to {}", path.display()))?;
        if global.format == Format::Human {
            outln!(
                "\nSaved the plan to: {}\n\nTo perform exactly these actions, run:\n    infra apply {}",
                path.display(),
                path.display()
            );
        }
    }
    // Settling what an interrupted run left open changes state, so it counts as a change.
    let changes = plan.has_changes() || !ws.settlements().is_empty();
    if global.format == Format::Human && !plan.has_changes() && !ws.settlements().is_empty() {
        outln!("\nThe interrupted operations above are still to be settled: run `infra apply`.");
    }
    Ok(exit::code(if args.detailed_exitcode && changes { exit::CHANGES } else { exit::SUCCESS }))
}
