//! What `plan`, `apply` and `destroy` share on the command line: their flags, opening the
//! engine's [`Workspace`] with this run's providers, the approval prompt, progress, Ctrl-C,
//! and printing the outcome.

use super::Global;
use super::{exit, providers};
use anyhow::{bail, Context};
use infra_core::apply::{ApplyReport, Event, Reporter};
use infra_core::plan::Plan;
use infra_core::project::Project;
use infra_core::provider::Registry;
use infra_core::render;
pub use infra_core::workspace::Access;
use infra_core::workspace::{
    Notice, OpenOptions, ProviderSource, SourceError, SourceFuture, Workspace, WorkspaceError,
};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Flags that choose what a plan covers, shared by `plan` and `apply`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Selection {
    /// Only this layer (repeatable)
    #[arg(long = "layer", value_name = "LAYER")]
    pub layers: Vec<String>,
    /// Only this resource and what it depends on (repeatable)
    #[arg(long = "target", value_name = "ID")]
    pub targets: Vec<String>,
    /// Leave this resource and everything that depends on it alone (repeatable)
    #[arg(long = "exclude", value_name = "ID")]
    pub excludes: Vec<String>,
    /// Replace this resource even if nothing changed (repeatable)
    #[arg(long = "replace", value_name = "ID")]
    pub replace: Vec<String>,
}

/// Flags about running, shared by `plan`, `apply` and `destroy`.
#[derive(clap::Args, Debug, Clone)]
pub struct Running {
    /// How long to wait for a layer's lock when another operation holds it
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,
    /// How many operations may run at once
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: u32,
}

/// Open the project in `--project-dir` for environment `env` (default: `--env`, then the
/// project's first), as [`Workspace::open`] does, printing what the engine reports on the
/// way. From here on, output masks the environment's secrets.
pub fn open(
    global: &Global,
    env: Option<&str>,
    locked: &[String],
    operation: &str,
    lock_timeout: Duration,
    access: Access,
) -> anyhow::Result<Workspace> {
    let color = global.color();
    let (project, diags) = Project::read(&global.project_dir);
    super::hide_secrets_of(global, &project, env);
    if diags.has_errors() {
        err!("{}", render::diag::human(&diags.into_vec(), &project.sources, color));
        bail!("load the project in {}", global.project_dir.display());
    }
    let env = match project.select_environment(env.or(global.env.as_deref())) {
        Ok(e) => e.name.clone(),
        Err(d) => {
            err!("{}", render::diag::human(&[d], &project.sources, color));
            bail!("choose an environment");
        }
    };
    let options = OpenOptions {
        region: global.region.clone(),
        locked: locked.to_vec(),
        operation: operation.to_string(),
        lock_timeout,
        access,
    };
    let profile = global.profile.clone();
    let source = move |project: &Project, env: &str| -> Result<Box<dyn ProviderSource>, SourceError> {
        let aws = providers::Aws::new(project, env, profile.as_deref())?;
        Ok(Box::new(CliProviders { aws }))
    };
    Ok(Workspace::open(project, &env, &options, source, Box::new(show_notice))?)
}

/// What the engine reports while it works, on stderr.
fn show_notice(notice: Notice<'_>) {
    match notice {
        // A fixed text naming a layer: printed directly.
        Notice::LeftOpenElsewhere { layer } => eprintln!(
            "warning: layer {layer} has operations left open by an interrupted run; plan or apply it to settle them"
        ),
        Notice::Recovered(s) => errln!("recovered {s}"),
        Notice::SaveFailed { layer, error } => errln!("error: failed to save the state of layer {layer}: {error}"),
    }
}

/// An engine error for the command to return, with the diagnostics it carries printed first.
pub fn failed(ws: &Workspace, color: bool, e: WorkspaceError) -> anyhow::Error {
    if let WorkspaceError::Evaluate { diagnostics, .. } = &e {
        err!("{}", render::diag::human(diagnostics, &ws.project().sources, color));
    }
    e.into()
}

/// The providers a run uses (see [`providers`]): the engine's own always, AWS ones only for
/// a run that touches an `AWS::` type, whose configuration is then loaded once.
struct CliProviders {
    aws: providers::Aws,
}

impl ProviderSource for CliProviders {
    fn registry<'a>(&'a self, project: &'a Project, types: &'a [&'a str]) -> SourceFuture<'a, Registry> {
        Box::pin(async move { Ok(providers::registry(types.iter().copied(), project, &self.aws).await?) })
    }

    fn needs_account(&self, resource_type: &str) -> bool {
        providers::needs_aws(std::iter::once(resource_type))
    }

    fn account_id(&self) -> SourceFuture<'_, String> {
        Box::pin(async move { Ok(providers::account_id(true, &self.aws).await?) })
    }
}

/// Apply a plan with progress (`progress`: shown at all), stopping on Ctrl-C as
/// [`watch_interrupts`] says.
pub fn apply(
    ws: &mut Workspace,
    plan: &Plan,
    registry: &Registry,
    parallelism: u32,
    progress: bool,
) -> anyhow::Result<ApplyReport> {
    let reporter: Arc<dyn Reporter> = Arc::new(Progress::new(progress));
    watch_interrupts(ws);
    Ok(ws.apply(plan, registry, parallelism, reporter)?)
}

/// First Ctrl-C: start nothing new and finish what runs; second: exit at once (the
/// journal is intact and the next run recovers).
fn watch_interrupts(ws: &Workspace) {
    let interrupt = ws.interrupt();
    // One listener, registered before the walk starts and kept from the first Ctrl-C to
    // the second, so a second one pressed right after the first is never missed.
    let listener = {
        let _runtime = ws.runtime().enter();
        ctrl_c_listener()
    };
    let Ok(mut ctrl_c) = listener else { return };
    ws.runtime().spawn(async move {
        if ctrl_c.recv().await.is_none() {
            return;
        }
        eprintln!(
            "\nInterrupt received: waiting for running operations to finish (press Ctrl-C again to exit at once)..."
        );
        interrupt.trigger();
        if ctrl_c.recv().await.is_some() {
            eprintln!("Exiting at once; the next run recovers from the journal.");
            std::process::exit(exit::INTERRUPTED.into());
        }
    });
}

#[cfg(unix)]
fn ctrl_c_listener() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
}

#[cfg(windows)]
fn ctrl_c_listener() -> std::io::Result<tokio::signal::windows::CtrlC> {
    tokio::signal::windows::ctrl_c()
}

/// Ask for approval on a terminal; refuse without one.
pub fn approve(question: &str, detail: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("get approval: stdin is not a terminal; pass -auto-approve to run without a prompt");
    }
    println!("{question}\n  {detail}\n  Only 'yes' will be accepted to approve.\n");
    print!("  Enter a value: ");
    use std::io::Write;
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).context("read the answer")?;
    println!();
    Ok(answer.trim() == "yes")
}

/// Progress on a terminal (a spinner per running operation) or as plain lines.
pub struct Progress {
    bars: Option<(indicatif::MultiProgress, Mutex<HashMap<String, indicatif::ProgressBar>>)>,
    quiet: bool,
}

impl Progress {
    /// `show`: print progress at all (off for `--format json`).
    pub fn new(show: bool) -> Self {
        let tty = show && std::io::stdout().is_terminal();
        let bars = tty.then(|| (indicatif::MultiProgress::new(), Mutex::new(HashMap::new())));
        Progress { bars, quiet: !show }
    }
}

fn subject_key(e: &Event) -> String {
    let s = match e {
        Event::Started { subject }
        | Event::Heartbeat { subject, .. }
        | Event::Finished { subject, .. }
        | Event::Failed { subject, .. }
        | Event::Skipped { subject, .. }
        | Event::Provider { subject, .. } => subject,
    };
    format!("{}.{}.{}", s.layer, s.logical_id, s.operation)
}

impl Reporter for Progress {
    fn event(&self, e: &Event) {
        if self.quiet {
            return;
        }
        let line = super::redact_text(&render::progress::event_line(e));
        let Some((multi, bars)) = &self.bars else {
            outln!("{line}");
            return;
        };
        let Ok(mut bars) = bars.lock() else { return };
        let key = subject_key(e);
        match e {
            Event::Started { .. } => {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.enable_steady_tick(Duration::from_millis(120));
                bar.set_message(line);
                bars.insert(key, bar);
            }
            Event::Heartbeat { .. } | Event::Provider { .. } => {
                if let Some(bar) = bars.get(&key) {
                    bar.set_message(line);
                }
            }
            Event::Finished { .. } | Event::Failed { .. } | Event::Skipped { .. } => {
                if let Some(bar) = bars.remove(&key) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                let _ = multi.println(line);
            }
        }
    }
}

/// Print failures and the summary (with `--format json`: one document holding the plan and
/// the report); the exit code for the outcome.
pub fn finish(plan: &Plan, report: &ApplyReport, json: bool) -> std::process::ExitCode {
    let destroy = plan.destroy;
    if json {
        let doc = serde_json::json!({ "plan": render::plan::json(plan), "report": report });
        super::print_json(&doc);
    } else {
        for f in &report.failures {
            errln!("error: failed to {f}");
        }
        if !report.skipped.is_empty() {
            errln!("not attempted (a dependency failed): {}", report.skipped.join(", "));
        }
        if !report.layers_not_attempted.is_empty() {
            errln!("layers not attempted: {}", report.layers_not_attempted.join(", "));
        }
        outln!("\n{}", render::progress::summary(report, destroy));
    }
    if report.is_success() {
        exit::code(exit::SUCCESS)
    } else {
        exit::code(exit::ERROR)
    }
}
