//! Scheduled drift checks (`infra drift --every`): each run's report is kept in a reports
//! folder (the newest [`Reports::keep`]), and a run is compared with the one before it so a
//! notifier is told only when the drift status changes.

use super::Report;
use crate::state::store::write_private_file;
use crate::state::StateError;
use std::path::{Path, PathBuf};

/// The drift status of one run, what a notifier is told about when it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every resource read, none modified or deleted.
    Clean,
    /// Something is modified or deleted.
    Drift,
    /// A read failed, so the run cannot vouch for every resource.
    Error,
}

impl Outcome {
    /// The status `report` gives: drift wins over errors (a resource known to be modified is
    /// news even when another could not be read).
    pub fn of(report: &Report) -> Outcome {
        if report.has_drift() {
            Outcome::Drift
        } else if report.has_errors() {
            Outcome::Error
        } else {
            Outcome::Clean
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Clean => "clean",
            Outcome::Drift => "drift",
            Outcome::Error => "error",
        }
    }
}

/// Tracks the outcome from run to run. The first run is compared with a clean one, so a
/// check that starts on a drifted account notifies at once.
#[derive(Debug)]
pub struct Watch {
    last: Outcome,
}

impl Default for Watch {
    fn default() -> Watch {
        Watch { last: Outcome::Clean }
    }
}

impl Watch {
    /// Record `outcome`; whether it differs from the previous run's.
    pub fn changed(&mut self, outcome: Outcome) -> bool {
        std::mem::replace(&mut self.last, outcome) != outcome
    }
}

/// The folder reports are written to, `drift-<time>.json` each, owner-only like state files.
#[derive(Clone, Debug)]
pub struct Reports {
    dir: PathBuf,
    keep: usize,
}

const PREFIX: &str = "drift-";
const SUFFIX: &str = ".json";

impl Reports {
    /// Reports in `dir`, the newest `keep` (at least one) kept.
    pub fn new(dir: impl Into<PathBuf>, keep: usize) -> Reports {
        Reports { dir: dir.into(), keep: keep.max(1) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn keep(&self) -> usize {
        self.keep
    }

    /// Write `doc`, the JSON of a report started at `time` (RFC 3339) with its secrets
    /// masked, as `drift-<time>.json` (atomically, 0600), and remove the oldest reports beyond
    /// the number kept. Returns the new report's path.
    pub fn write(&self, time: &str, doc: &serde_json::Value) -> Result<PathBuf, StateError> {
        create_private_dir(&self.dir)?;
        let stamp: String = time.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        let mut path = self.dir.join(format!("{PREFIX}{stamp}{SUFFIX}"));
        // Two runs within one second (a short interval): keep both.
        let mut n = 1;
        while path.exists() {
            path = self.dir.join(format!("{PREFIX}{stamp}-{n}{SUFFIX}"));
            n += 1;
        }
        let mut bytes = serde_json::to_vec_pretty(doc).map_err(|e| StateError::Io {
            action: "serialize the report for",
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        bytes.push(b'\n');
        write_private_file(&path, &bytes)?;
        self.prune()?;
        Ok(path)
    }

    /// The reports in the folder, oldest first (names sort by time).
    pub fn list(&self) -> Result<Vec<PathBuf>, StateError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|source| StateError::Io {
            action: "list",
            path: self.dir.clone(),
            source,
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with(PREFIX) && name.ends_with(SUFFIX)
            })
            .collect();
        found.sort_by_key(|p| sort_key(p));
        Ok(found)
    }

    fn prune(&self) -> Result<(), StateError> {
        let found = self.list()?;
        let excess = found.len().saturating_sub(self.keep);
        for old in &found[..excess] {
            std::fs::remove_file(old).map_err(|source| StateError::Io {
                action: "remove",
                path: old.clone(),
                source,
            })?;
        }
        Ok(())
    }
}

/// `drift-<stamp>[-n].json` sorts by stamp, then by n as a number.
fn sort_key(path: &Path) -> (String, u64) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.trim_start_matches(PREFIX).trim_end_matches(SUFFIX);
    match stem.split_once('-') {
        Some((stamp, n)) => (stamp.to_string(), n.parse().unwrap_or(0)),
        None => (stem.to_string(), 0),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StateError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| StateError::Io { action: "create", path: dir.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::Summary;

    fn report(time: &str, modified: usize, errors: usize) -> Report {
        Report {
            version: super::super::REPORT_VERSION,
            time: time.to_string(),
            project: "p".into(),
            env: "dev".into(),
            layers: vec![],
            summary: Summary { modified, errors, ..Summary::default() },
            resources: vec![],
        }
    }

    #[test]
    fn outcome_changes_are_reported_once_per_change() {
        let mut watch = Watch::default();
        let runs = [(0, 0, false), (0, 0, false), (1, 0, true), (1, 0, false), (0, 1, true), (0, 0, true)];
        for (i, (modified, errors, expected)) in runs.into_iter().enumerate() {
            let outcome = Outcome::of(&report("2026-12-02T10:00:00Z", modified, errors));
            assert_eq!(watch.changed(outcome), expected, "run {i}: {outcome:?}");
        }
    }

    #[test]
    fn reports_keep_the_newest_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let reports = Reports::new(dir.path().join("reports"), 3);
        let mut written = vec![];
        for t in ["2026-12-02T10:00:00Z", "2026-12-02T10:00:00Z", "2026-12-02T10:00:01Z", "2026-12-02T10:00:02Z"] {
            let doc = serde_json::to_value(report(t, 0, 0)).unwrap();
            written.push(reports.write(t, &doc).unwrap());
        }
        assert_eq!(reports.list().unwrap(), written[1..].to_vec());
        let name = written[1].file_name().unwrap().to_str().unwrap();
        assert_eq!(name, "drift-20261202T100000Z-1.json");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&written[3]).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let parsed: serde_json::Value = serde_json::from_slice(&std::fs::read(&written[3]).unwrap()).unwrap();
        assert_eq!(parsed["time"], "2026-12-02T10:00:02Z");
    }
}
