//! Argument parsing and dispatch: one file per subcommand, each an `Args` struct plus a
//! `run` function. This is the only place that knows clap, environment variables and stdout.
//!
//! Exit codes: see [`exit`].

/// `print!` through the redactor: every line infra shows passes [`redact_text`].
macro_rules! out {
    ($($arg:tt)*) => { print!("{}", $crate::cli::redact_text(&format!($($arg)*))) };
}

/// `println!` through the redactor.
macro_rules! outln {
    () => { println!() };
    ($($arg:tt)*) => { println!("{}", $crate::cli::redact_text(&format!($($arg)*))) };
}

/// `eprint!` through the redactor.
macro_rules! err {
    ($($arg:tt)*) => { eprint!("{}", $crate::cli::redact_text(&format!($($arg)*))) };
}

/// `eprintln!` through the redactor.
macro_rules! errln {
    ($($arg:tt)*) => { eprintln!("{}", $crate::cli::redact_text(&format!($($arg)*))) };
}

pub mod apply;
pub mod completions;
pub mod destroy;
pub mod drift;
pub mod engine;
pub mod exit;
pub mod explain;
pub mod force_unlock;
pub mod graph;
pub mod init;
pub mod man;
pub mod output;
pub mod plan;
pub mod providers;
pub mod state;
pub mod validate;

use clap::{Parser, Subcommand, ValueEnum};
use infra_core::project::Project;
use infra_core::render::Redactor;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

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
    /// Show values of NoEcho parameters instead of `(sensitive value)` in plans, progress,
    /// state, outputs and errors
    #[arg(long, global = true)]
    pub show_sensitive: bool,
}

impl Global {
    /// Colours only on a terminal, and never with --no-color or NO_COLOR.
    pub fn color(&self) -> bool {
        use std::io::IsTerminal;
        !self.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
    }
}

/// What every line of output is masked with: the secrets of the project the command runs
/// on, once it has been read (nothing before that, and nothing with `--show-sensitive`).
static REDACTOR: RwLock<Option<Arc<Redactor>>> = RwLock::new(None);

/// The redactor for this run's output.
pub fn redactor() -> Arc<Redactor> {
    REDACTOR.read().ok().and_then(|r| r.clone()).unwrap_or_default()
}

/// Hide `secrets` in everything printed from now on, unless `--show-sensitive` was given.
pub fn hide_secrets(global: &Global, secrets: Vec<String>) {
    let redactor = if global.show_sensitive { Redactor::none() } else { Redactor::new(secrets) };
    if let Ok(mut r) = REDACTOR.write() {
        *r = Some(Arc::new(redactor));
    }
}

/// Hide the secrets of `project` in environment `env` (default: the one `--env` or the
/// project's first environment selects); an unknown environment has none.
pub fn hide_secrets_of(global: &Global, project: &Project, env: Option<&str>) {
    let secrets = match project.select_environment(env.or(global.env.as_deref())) {
        Ok(e) => project.secrets(&e.name),
        Err(_) => Vec::new(),
    };
    hide_secrets(global, secrets);
}

/// `text` with this run's secrets masked.
pub fn redact_text(text: &str) -> String {
    let r = redactor();
    if r.is_empty() {
        text.to_string()
    } else {
        r.text(text)
    }
}

/// Print a JSON document on stdout, pretty, with every string holding a secret masked.
/// (Masking the tree rather than the text keeps the document valid JSON.)
pub fn print_json(doc: &serde_json::Value) {
    let shown = redactor().json(doc);
    println!("{}", serde_json::to_string_pretty(&shown).unwrap_or_default());
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    Init(init::Args),
    Validate(validate::Args),
    Graph(graph::Args),
    Plan(plan::Args),
    Apply(apply::Args),
    Destroy(destroy::Args),
    Drift(drift::Args),
    Output(output::Args),
    #[command(subcommand)]
    State(state::Command),
    ForceUnlock(force_unlock::Args),
    Explain(explain::Args),
    Completions(completions::Args),
    Man(man::Args),
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

/// Entry point: parse, run, map the outcome to an exit code. A panic is a bug: after the
/// panic message it exits with [`exit::INTERNAL`], never with the code of a user error.
pub fn main() -> ExitCode {
    let cli = Cli::parse_from(terraform_style_flags(std::env::args_os()));
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli))) {
        Ok(code) => code,
        Err(_) => exit::code(exit::INTERNAL),
    }
}

fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Validate(a) => validate::run(a, &cli.global),
        Command::Graph(a) => graph::run(a, &cli.global),
        Command::Plan(a) => plan::run(a, &cli.global),
        Command::Apply(a) => apply::run(a, &cli.global),
        Command::Destroy(a) => destroy::run(a, &cli.global),
        Command::Drift(a) => drift::run(a, &cli.global),
        Command::Output(a) => output::run(a, &cli.global),
        Command::State(c) => state::run(c, &cli.global),
        Command::ForceUnlock(a) => force_unlock::run(a, &cli.global),
        Command::Init(a) => init::run(a, &cli.global),
        Command::Explain(a) => explain::run(a, &cli.global),
        Command::Completions(a) => completions::run(a, &cli.global),
        Command::Man(a) => man::run(a, &cli.global),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            errln!("error: {e:#}");
            exit::for_error(&e)
        }
    }
}
