//! Where a layer's state lives on disk, and the only code that reads or replaces it.
//!
//! `state_dir/<env>/<layer>.json` is replaced atomically (temp file, fsync, rename, fsync of
//! the directory) with mode 0600, the previous version kept as `<layer>.json.backup`. A
//! damaged file is refused and never overwritten. Beside it live `<layer>.lock` and
//! `<layer>.journal` (see [`super::lock`] and [`super::journal`]).

use super::journal::{self, Intent, Journal, JournalHeader};
use super::lock::{self, LockGuard};
use super::{file, Damage, State, StateError};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The files that make up one layer's state in one environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatePaths {
    pub state: PathBuf,
    pub backup: PathBuf,
    pub lock: PathBuf,
    pub journal: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JournalFit {
    /// It was written on top of the state file as it is now: replay it.
    Continues,
    /// Its changes are already in the state file.
    Stale,
}

/// One layer's state in one environment.
#[derive(Clone, Debug)]
pub struct LayerStore {
    env: String,
    layer: String,
    paths: StatePaths,
}

/// What [`LayerStore::load`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The state file with any leftover journal applied on top.
    pub state: State,
    /// Operations that had started but not finished when a previous run stopped: the cloud
    /// may or may not hold what they were creating, updating or deleting.
    pub in_flight: Vec<Intent>,
    /// True when a leftover journal was applied.
    pub recovered: bool,
}

impl LayerStore {
    pub fn new(state_dir: &Path, env: &str, layer: &str) -> Self {
        let dir = state_dir.join(env);
        let paths = StatePaths {
            state: dir.join(format!("{layer}.json")),
            backup: dir.join(format!("{layer}.json.backup")),
            lock: dir.join(format!("{layer}.lock")),
            journal: dir.join(format!("{layer}.journal")),
        };
        LayerStore { env: env.to_string(), layer: layer.to_string(), paths }
    }

    pub fn paths(&self) -> &StatePaths {
        &self.paths
    }

    pub fn env(&self) -> &str {
        &self.env
    }

    pub fn layer(&self) -> &str {
        &self.layer
    }

    /// Exclusive lock for this layer/env; waits up to `timeout` (zero = fail at once).
    pub fn lock(&self, operation: &str, timeout: Duration) -> Result<LockGuard, StateError> {
        self.check_names()?;
        lock::acquire(&self.paths, &self.layer, &self.env, operation, timeout)
    }

    /// Removes a lock left by a process that can no longer release it, if `id` is its ID.
    pub fn force_unlock(&self, id: &str) -> Result<lock::LockInfo, StateError> {
        self.check_names()?;
        lock::force_unlock(&self.paths, id)
    }

    /// State file + replay of a leftover journal (a previous run that crashed).
    pub fn load(&self) -> Result<Loaded, StateError> {
        self.check_names()?;
        let on_disk = self.read_state()?;
        let Some(replayed) = journal::read(&self.paths.journal)? else {
            return Ok(Loaded { state: on_disk.unwrap_or_default(), in_flight: Vec::new(), recovered: false });
        };
        match self.journal_fit(&replayed.header, on_disk.as_ref())? {
            JournalFit::Stale => {
                // A commit wrote the state file and stopped before rewriting the journal: its
                // records are in the state, but the intents it left open are still open.
                let state = on_disk.unwrap_or_default();
                let (_, in_flight) = journal::fold(state.clone(), replayed.entries);
                Ok(Loaded { state, in_flight, recovered: false })
            }
            JournalFit::Continues => {
                let base = on_disk.unwrap_or_else(|| State { lineage: replayed.header.lineage, ..State::new() });
                let recovered = !replayed.entries.is_empty();
                let (state, in_flight) = journal::fold(base, replayed.entries);
                Ok(Loaded { state, in_flight, recovered })
            }
        }
    }

    /// Removes a leftover journal that holds nothing to recover: one a commit had already
    /// compacted into the state file but was stopped before removing (stale), or one that was
    /// opened and got no record. A journal with an open intent, or with records the state file
    /// lacks, is left alone. Returns whether one was removed.
    pub fn remove_settled_journal(&self) -> Result<bool, StateError> {
        self.check_names()?;
        let Some(replayed) = journal::read(&self.paths.journal)? else { return Ok(false) };
        let disk = self.read_state()?;
        let fit = self.journal_fit(&replayed.header, disk.as_ref())?;
        let nothing_new = fit == JournalFit::Stale || replayed.entries.is_empty();
        let (_, open) = journal::fold(State::new(), replayed.entries);
        if !nothing_new || !open.is_empty() {
            return Ok(false);
        }
        match std::fs::remove_file(&self.paths.journal) {
            Ok(()) => sync_dir(parent(&self.paths.journal)).map(|()| true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(source) => Err(StateError::Io { action: "remove journal", path: self.paths.journal.clone(), source }),
        }
    }

    /// Like [`load`](Self::load), but refuses a state whose lineage is not `expected` (a
    /// saved plan's, say), so one state is never applied on top of another.
    pub fn load_expecting(&self, expected: uuid::Uuid) -> Result<Loaded, StateError> {
        let loaded = self.load()?;
        let found = loaded.state.lineage;
        if found != expected && (self.paths.state.exists() || self.paths.journal.exists()) {
            return Err(StateError::LineageMismatch { path: self.paths.state.clone(), expected, found });
        }
        Ok(loaded)
    }

    /// Open the journal for an operation on top of the state as [`load`](Self::load) returns
    /// it now (a leftover journal included).
    pub fn journal(&self) -> Result<Journal, StateError> {
        self.journal_for(&self.load()?.state)
    }

    /// Open the journal for an operation on top of `state` (as returned by
    /// [`load`](Self::load)). A leftover journal that `state` already includes is continued,
    /// so operations it shows in flight stay visible until they are resolved.
    pub fn journal_for(&self, state: &State) -> Result<Journal, StateError> {
        self.check_names()?;
        let disk = self.read_state()?;
        if let Some(d) = &disk {
            if d.lineage != state.lineage {
                return Err(StateError::LineageMismatch {
                    path: self.paths.state.clone(),
                    expected: state.lineage,
                    found: d.lineage,
                });
            }
        }
        let disk_serial = disk.as_ref().map_or(0, |d| d.serial);
        if disk_serial != state.serial {
            return Err(StateError::SerialConflict {
                path: self.paths.state.clone(),
                expected: state.serial,
                found: disk_serial,
            });
        }
        let header = JournalHeader { lineage: state.lineage, serial: state.serial };
        create_dir(parent(&self.paths.journal))?;
        if let Some(existing) = journal::read(&self.paths.journal)? {
            match self.journal_fit(&existing.header, disk.as_ref())? {
                JournalFit::Continues if existing.header == header => {
                    return Journal::continue_existing(&self.paths.journal, existing.valid_len);
                }
                JournalFit::Continues => {
                    return Err(StateError::JournalMismatch {
                        path: self.paths.journal.clone(),
                        detail: format!(
                            "it belongs to lineage {}, but the operation starts from lineage {}",
                            existing.header.lineage, state.lineage
                        ),
                    })
                }
                JournalFit::Stale => {
                    // Its records are in the state file; the intents it left open are not.
                    let (_, open) = journal::fold(State::new(), existing.entries);
                    return Journal::create(&self.paths.journal, &header, &open);
                }
            }
        }
        Journal::create(&self.paths.journal, &header, &[])
    }

    /// Compact: write `state` (serial + 1) atomically, keep the previous file as backup, then
    /// remove the journal, or, while it holds intents without their `done` (an operation whose
    /// outcome is unknown, a settlement that failed, a task that panicked), replace it with a
    /// journal holding exactly those on top of the new state. A journal is therefore never
    /// removed while it holds an open intent, whatever the caller did or failed to do.
    pub fn commit(&self, state: &mut State) -> Result<(), StateError> {
        self.check_names()?;
        let previous = self.read_state_bytes()?;
        if let Some((bytes, old)) = &previous {
            if old.lineage != state.lineage {
                return Err(StateError::LineageMismatch {
                    path: self.paths.state.clone(),
                    expected: state.lineage,
                    found: old.lineage,
                });
            }
            if old.serial != state.serial {
                return Err(StateError::SerialConflict {
                    path: self.paths.state.clone(),
                    expected: state.serial,
                    found: old.serial,
                });
            }
            write_atomic(&self.paths.backup, bytes)?;
        } else if state.serial != 0 {
            // The caller read a state file that has since disappeared.
            return Err(StateError::SerialConflict {
                path: self.paths.state.clone(),
                expected: state.serial,
                found: 0,
            });
        }
        let Some(serial) = state.serial.checked_add(1) else {
            return Err(StateError::Damaged {
                path: self.paths.state.clone(),
                damage: Damage::WrongShape,
                detail: format!("serial {} cannot increase any further", state.serial),
                backup: self.paths.backup.exists().then(|| self.paths.backup.clone()),
            });
        };
        let next = State { serial, ..state.clone() };
        let bytes =
            file::encode(&next).map_err(|source| StateError::Encode { path: self.paths.state.clone(), source })?;
        // What the journal still holds open must survive the compaction, whatever the caller
        // settled: read before the state file moves on, so a damaged journal stops the commit.
        let open = match journal::read(&self.paths.journal)? {
            Some(replayed) => journal::fold(State::new(), replayed.entries).1,
            None => Vec::new(),
        };
        create_dir(parent(&self.paths.state))?;
        write_atomic(&self.paths.state, &bytes)?;
        state.serial = next.serial;
        if !open.is_empty() {
            // Open intents move to a journal on top of the new serial; a crash before this
            // leaves the old journal, whose open intents `load` still reports.
            Journal::create(&self.paths.journal, &JournalHeader { lineage: next.lineage, serial }, &open)?;
            return Ok(());
        }
        match std::fs::remove_file(&self.paths.journal) {
            Ok(()) => sync_dir(parent(&self.paths.journal))?,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StateError::Io { action: "remove journal", path: self.paths.journal.clone(), source })
            }
        }
        Ok(())
    }

    /// The state file's contents; `None` when there is no file (no state yet).
    fn read_state(&self) -> Result<Option<State>, StateError> {
        Ok(self.read_state_bytes()?.map(|(_, state)| state))
    }

    fn read_state_bytes(&self) -> Result<Option<(Vec<u8>, State)>, StateError> {
        let bytes = match read_nofollow(&self.paths.state) {
            Ok(b) => b,
            Err(e) if e.kind() == ErrorKind::NotFound && self.paths.backup.exists() => {
                return Err(StateError::Damaged {
                    path: self.paths.state.clone(),
                    damage: Damage::Missing,
                    detail: String::new(),
                    backup: Some(self.paths.backup.clone()),
                });
            }
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(open_error("read state file", &self.paths.state, source)),
        };
        let backup = self.paths.backup.exists().then_some(self.paths.backup.as_path());
        let state = file::decode(&bytes, &self.paths.state, backup)?;
        Ok(Some((bytes, state)))
    }

    /// How a leftover journal relates to the state file on disk.
    fn journal_fit(&self, header: &JournalHeader, disk: Option<&State>) -> Result<JournalFit, StateError> {
        let (lineage, serial) = disk.map_or((header.lineage, 0), |d| (d.lineage, d.serial));
        let mismatch = |detail: String| StateError::JournalMismatch { path: self.paths.journal.clone(), detail };
        if lineage != header.lineage {
            return Err(mismatch(format!(
                "it belongs to lineage {}, but {} has lineage {lineage}",
                header.lineage,
                self.paths.state.display()
            )));
        }
        match header.serial.cmp(&serial) {
            std::cmp::Ordering::Equal => Ok(JournalFit::Continues),
            // A commit wrote the state file and stopped before removing the journal.
            std::cmp::Ordering::Less => Ok(JournalFit::Stale),
            std::cmp::Ordering::Greater => Err(mismatch(format!(
                "it continues serial {}, but {} has the older serial {serial}",
                header.serial,
                self.paths.state.display()
            ))),
        }
    }

    /// Names become path components; refuse anything that could leave the state directory.
    fn check_names(&self) -> Result<(), StateError> {
        for (what, name) in [("environment", &self.env), ("layer", &self.layer)] {
            let ok = !name.is_empty()
                && !name.starts_with('.')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                return Err(StateError::InvalidName { what, name: name.clone() });
            }
        }
        Ok(())
    }
}

pub(crate) fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates `dir` and any missing parents with owner-only permissions (0700), whatever the
/// umask says: state, journal and lock files live there. Directories that already exist keep
/// their permissions.
pub(crate) fn create_dir(dir: &Path) -> Result<(), StateError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| StateError::Io { action: "create directory", path: dir.to_path_buf(), source })
}

/// Makes a rename or unlink in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StateError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|source| StateError::Io {
        action: "sync directory",
        path: dir.to_path_buf(),
        source,
    })
}

/// Opens `path` for writing with owner-only permissions, whatever the umask says: state
/// holds resolved properties, which can include secrets. A symbolic link is never followed
/// and anything but a regular file is refused (see [`open_error`]), so nobody can point a
/// state, journal or lock path at another file.
pub(crate) fn open_private(path: &Path, options: &mut OpenOptions) -> std::io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        // O_NONBLOCK: opening a FIFO planted at the path must not hang; it has no effect on
        // regular files.
        let file = options.mode(0o600).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path)?;
        check_regular(&file)?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        let file = options.open(path)?;
        check_regular(&file)?;
        Ok(file)
    }
}

/// Opens `path` for reading without following a symbolic link, refusing anything but a
/// regular file.
pub(crate) fn open_read_nofollow(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    check_regular(&file)?;
    Ok(file)
}

/// The contents of the regular file at `path`, not following a symbolic link.
pub(crate) fn read_nofollow(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut open_read_nofollow(path)?, &mut bytes)?;
    Ok(bytes)
}

/// Marks the error [`open_private`] returns for a path that is not a regular file.
#[derive(Debug)]
struct NotRegular;

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not a regular file")
    }
}

impl std::error::Error for NotRegular {}

fn check_regular(file: &File) -> std::io::Result<()> {
    if file.metadata()?.file_type().is_file() {
        Ok(())
    } else {
        Err(std::io::Error::new(ErrorKind::InvalidInput, NotRegular))
    }
}

/// What went wrong opening `path`: a symbolic link or another kind of file where a regular
/// file belongs gets its own message, anything else is an I/O error of `action`.
pub(crate) fn open_error(action: &'static str, path: &Path, source: std::io::Error) -> StateError {
    #[cfg(unix)]
    let symlink = source.raw_os_error() == Some(libc::ELOOP);
    #[cfg(not(unix))]
    let symlink = false;
    let not_regular =
        source.get_ref().is_some_and(|e| e.is::<NotRegular>()) || source.kind() == ErrorKind::IsADirectory;
    match (symlink, not_regular) {
        (true, _) => StateError::NotRegularFile { path: path.to_path_buf(), found: "a symbolic link" },
        (_, true) => StateError::NotRegularFile { path: path.to_path_buf(), found: "not a regular file" },
        _ => StateError::Io { action, path: path.to_path_buf(), source },
    }
}

/// Writes `bytes` to `path` the way state files are written: owner-only permissions (0600)
/// whatever the umask says, atomically (temporary file, fsync, rename, fsync of the
/// directory), so a reader or a crash sees the old file or the new one, never a mix. The
/// directory must exist. For files that hold resolved values, such as saved plans.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    write_atomic(path, bytes)
}

/// Replaces `path` with `bytes` so that a reader (or a crash) sees either the old file or
/// the new one, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = parent(path);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = open_private(&temp, OpenOptions::new().write(true).create_new(true))
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .map_err(|source| open_error("write temporary file", &temp, source))
        .and_then(|()| {
            std::fs::rename(&temp, path).map_err(|source| StateError::Io {
                action: "replace",
                path: path.to_path_buf(),
                source,
            })
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    sync_dir(dir)
}
