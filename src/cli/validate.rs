//! `infra validate`: check templates and project settings without touching AWS.

use super::{exit, Format, Global};
use infra_core::render::diag as render;
use infra_core::validate::{validate_files_in, validate_project, Validation};
use std::path::PathBuf;
use std::process::ExitCode;

/// Check the project's templates (or the given files) for errors, in every environment.
///
/// Loads infra.toml and every template under stacks/<layer>/, checks template structure,
/// resource schemas and lints, evaluates each layer with each environment's parameters
/// (with a placeholder account ID), and checks the dependency graph and cross-layer imports.
/// Nothing is sent to AWS. Exits with 1 if any error is found.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra validate                         # the whole project, every environment
  infra validate --env dev               # the whole project, environment dev only
  infra validate stacks/backend/api.yaml # one template on its own, with parameter defaults
  infra validate stacks/                 # every template below a folder, each on its own
  infra validate --env prod stacks/backend/api.yaml  # one template with prod's parameter values
  infra validate --format json           # machine-readable diagnostics")]
pub struct Args {
    /// Template files (or folders of them) to check on their own instead of the project
    pub paths: Vec<PathBuf>,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let v = if args.paths.is_empty() {
        let envs: Vec<String> = global.env.iter().cloned().collect();
        validate_project(&global.project_dir, &envs)
    } else {
        validate_files_in(&args.paths, global.env.as_deref())
    };
    super::hide_secrets(global, v.secrets.clone());
    let diags: Vec<_> = v.diags.iter().cloned().collect();
    match global.format {
        Format::Json => super::print_json(&render::json(&diags, &v.sources)),
        Format::Human => {
            out!("{}", render::human(&diags, &v.sources, global.color()));
            outln!("{}", summary(&v, !args.paths.is_empty()));
        }
    }
    Ok(if v.diags.has_errors() { exit::code(exit::ERROR) } else { exit::code(exit::SUCCESS) })
}

/// `1 error`, `2 errors`: a count with its noun.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn plural(n: usize, one: &str) -> String {
    count(n, one, &format!("{one}s"))
}

/// `validate: 0 errors, 0 warnings (5 layers, 2 environments, 27 resources)`.
fn summary(v: &Validation, files: bool) -> String {
    let scope = if files {
        format!("{}, {}", plural(v.files, "file"), plural(v.resources, "resource"))
    } else {
        format!(
            "{}, {}, {}",
            plural(v.layers, "layer"),
            plural(v.environments, "environment"),
            plural(v.resources, "resource")
        )
    };
    format!(
        "validate: {}, {} ({scope})",
        plural(v.diags.error_count(), "error"),
        plural(v.diags.warning_count(), "warning")
    )
}
