//! `infra drift`: compare the live resources with what state recorded.

use super::engine::{self, Access};
use super::{exit, Format, Global};
use infra_core::drift::schedule::{Outcome, Reports, Watch};
use infra_core::drift::Report;
use infra_core::render;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Check the live resources against state: IN_SYNC, MODIFIED, DELETED or NOT_CHECKED
///
/// Reads every resource recorded in state (one layer with --layer) and compares it with what
/// state recorded, by meaning: policy documents as policies, numbers as numbers, unordered
/// lists as sets, service defaults as absent. Write-only properties are listed as not
/// checkable; properties `[[drift.ignore]]` in infra.toml names are reported as ignored.
/// Nothing is changed, and no lock is taken: a drift check never waits for an apply nor
/// holds one up. Exit status: 0 no drift, 2 drift, 1 error (a read failed, for one).
///
/// With --every, checks again and again until stopped (SIGTERM or Ctrl-C, between runs):
/// each run writes its JSON report to the reports folder, keeping the newest --keep, prints
/// one line, and runs the --on-drift command when the drift status (clean, drift, error)
/// changes from the run before; the first run is compared with a clean one.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra drift
  infra drift --env prod --layer backend
  infra drift --format json > drift.json
  infra drift --every 15m --on-drift './notify.sh'")]
pub struct Args {
    /// Only this layer (repeatable)
    #[arg(long = "layer", value_name = "LAYER")]
    pub layers: Vec<String>,
    /// How many resources are read at once
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallelism: u32,
    /// Check again every DURATION (15m, 1h, 30s) until stopped
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub every: Option<Duration>,
    /// Where scheduled runs write their reports [default: <state path>/<env>/drift-reports]
    #[arg(long, value_name = "DIR", requires = "every")]
    pub reports: Option<PathBuf>,
    /// How many reports a scheduled check keeps
    #[arg(long, value_name = "N", default_value_t = 96, requires = "every", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: u32,
    /// A shell command run when a scheduled check's drift status changes; it gets the report's
    /// path as $1 and in INFRA_DRIFT_REPORT, the status in INFRA_DRIFT_STATUS
    #[arg(long, value_name = "CMD", requires = "every")]
    pub on_drift: Option<String>,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let every = humantime::parse_duration(text).map_err(|e| format!("{e} (write it as 15m, 1h or 30s)"))?;
    if every < Duration::from_secs(1) {
        return Err("the interval must be at least 1s".to_string());
    }
    Ok(every)
}

/// One check: the report, or why there is none.
fn check(args: &Args, global: &Global, progress: &(dyn Fn(usize, usize) + Sync)) -> anyhow::Result<Report> {
    let ws = engine::open(global, None, &args.layers, "drift", Duration::ZERO, Access::Observe)?;
    ws.drift(&args.layers, args.parallelism as usize, progress).map_err(|e| engine::failed(&ws, global.color(), e))
}

fn report_json(report: &Report) -> anyhow::Result<serde_json::Value> {
    let doc = serde_json::to_value(report).map_err(|e| exit::Internal(format!("show the report: {e}")))?;
    Ok(super::redactor().json(&doc))
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    if let Some(every) = args.every {
        return scheduled(&args, global, every);
    }
    let terminal = std::io::stderr().is_terminal();
    let progress = |done: usize, total: usize| {
        if terminal && total > 0 {
            eprint!("\rreading {done}/{total} resources");
            if done == total {
                eprint!("\r\x1b[K");
            }
        }
    };
    let report = check(&args, global, &progress)?;
    match global.format {
        Format::Json => super::print_json(&report_json(&report)?),
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

/// `drift --every`: check, write the report, tell the hook about a change, wait; until SIGTERM
/// or SIGINT, which are taken between runs (one that arrives during a run ends the loop once
/// the run is over). A run that fails (the endpoint unreachable, say) is reported and the
/// loop goes on: a scheduled check outlives a network outage.
fn scheduled(args: &Args, global: &Global, every: Duration) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| exit::Internal(format!("start the timer: {e}")))?;
    let (mut term, mut int) = {
        use tokio::signal::unix::{signal, SignalKind};
        let _entered = runtime.enter();
        let listen = |kind| signal(kind).map_err(|e| exit::Internal(format!("listen for signals: {e}")));
        (listen(SignalKind::terminate())?, listen(SignalKind::interrupt())?)
    };
    let reports = match &args.reports {
        Some(dir) => Reports::new(dir, args.keep as usize),
        None => {
            // A project that does not load fails here, at once, not on every run.
            let ws = engine::open(global, None, &args.layers, "drift", Duration::ZERO, Access::Observe)?;
            Reports::new(ws.project().state_dir().join(ws.env()).join("drift-reports"), args.keep as usize)
        }
    };
    let mut watch = Watch::default();
    let nothing = |_: usize, _: usize| {};
    loop {
        let started = Instant::now();
        let (outcome, path) = match check(args, global, &nothing).and_then(|r| Ok((report_json(&r)?, r))) {
            Ok((doc, report)) => {
                let outcome = Outcome::of(&report);
                match reports.write(&report.time, &doc) {
                    Ok(path) => {
                        outln!("{} {} Report: {}", report.time, render::drift::summary_line(&report), path.display());
                        (outcome, Some(path))
                    }
                    Err(e) => {
                        errln!("{} error: write the report: {e}", report.time);
                        (Outcome::Error, None)
                    }
                }
            }
            Err(e) => {
                let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
                errln!("{now} error: {e:#}");
                (Outcome::Error, None)
            }
        };
        if watch.changed(outcome) {
            if let Some(command) = &args.on_drift {
                notify(command, outcome, path.as_deref());
            }
        }
        let stop = runtime.block_on(async {
            tokio::select! {
                _ = tokio::time::sleep_until((started + every).into()) => false,
                _ = term.recv() => true,
                _ = int.recv() => true,
            }
        });
        if stop {
            errln!("Stopped.");
            return Ok(exit::code(exit::SUCCESS));
        }
    }
}

/// Run the --on-drift command through the shell; a failing hook is reported, never fatal.
fn notify(command: &str, outcome: Outcome, report: Option<&std::path::Path>) {
    let mut hook = std::process::Command::new("sh");
    hook.arg("-c").arg(command).arg("infra-drift-hook").env("INFRA_DRIFT_STATUS", outcome.as_str());
    if let Some(path) = report {
        hook.arg(path).env("INFRA_DRIFT_REPORT", path);
    }
    match hook.status() {
        Ok(status) if status.success() => {}
        Ok(status) => errln!("warning: the --on-drift command failed ({status})"),
        Err(e) => errln!("warning: run the --on-drift command: {e}"),
    }
}
