//! The per layer/env lock: one operation at a time may change a layer's state.
//!
//! `<layer>.lock` is held with an OS-level exclusive lock (`flock`), so when a holder crashes
//! the OS releases it, while the JSON inside (who, since when, for what) stays readable for
//! error messages and `infra force-unlock`.
//!
//! Releasing unlinks the file while still holding it. A waiter may by then have opened the
//! old file, so after acquiring, a locker checks that the path still names the file it
//! locked and starts over if not; without that, two processes could both "hold" the lock.

use super::store::{create_dir, open_error, open_private, open_read_nofollow, parent, StatePaths};
use super::StateError;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Who holds a lock, as recorded in the lock file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub user: String,
    pub operation: String,
    /// RFC 3339, UTC.
    pub created: String,
}

/// A held lock; released (and its info removed) when dropped.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
    info: LockInfo,
}

impl LockGuard {
    pub fn info(&self) -> &LockInfo {
        &self.info
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        // After a force-unlock the path may name someone else's lock: leave that one alone.
        if same_file(&self.file, &self.path) {
            let _ = std::fs::remove_file(&self.path);
        }
        let _ = fs4::FileExt::unlock(&self.file);
    }
}

/// Takes the lock at `paths.lock`, polling with backoff for up to `timeout`.
pub(crate) fn acquire(
    paths: &StatePaths,
    layer: &str,
    env: &str,
    operation: &str,
    timeout: Duration,
) -> Result<LockGuard, StateError> {
    // A timeout too large to represent means waiting as long as it takes.
    let deadline = Instant::now().checked_add(timeout);
    let mut pause = Duration::from_millis(25);
    loop {
        if let Some(guard) = try_acquire(&paths.lock, operation)? {
            return Ok(guard);
        }
        let left = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(Instant::now()));
        if left.is_zero() {
            return Err(StateError::Locked {
                layer: layer.to_string(),
                env: env.to_string(),
                info: read_info(&paths.lock).ok().flatten().map(Box::new),
                path: paths.lock.clone(),
            });
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_secs(1));
    }
}

/// One attempt; `None` when another process holds the lock.
fn try_acquire(path: &Path, operation: &str) -> Result<Option<LockGuard>, StateError> {
    let io = |action: &'static str| move |source| StateError::Io { action, path: path.to_path_buf(), source };
    create_dir(parent(path))?;
    // A released lock file may vanish between open and flock; a few rounds settle it.
    for _ in 0..100 {
        let file = open_private(path, OpenOptions::new().read(true).write(true).create(true))
            .map_err(|e| open_error("open lock file", path, e))?;
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => return Ok(None),
            Err(fs4::TryLockError::Error(e)) => return Err(io("lock")(e)),
        }
        if !same_file(&file, path) {
            continue;
        }
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            user: current_user(),
            operation: operation.to_string(),
            created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        };
        let mut json = serde_json::to_vec_pretty(&info)
            .map_err(|source| StateError::Encode { path: path.to_path_buf(), source })?;
        json.push(b'\n');
        let mut writer = &file;
        file.set_len(0)
            .and_then(|()| writer.rewind())
            .and_then(|_| writer.write_all(&json))
            .and_then(|()| file.sync_data())
            .map_err(io("write lock file"))?;
        return Ok(Some(LockGuard { file, path: path.to_path_buf(), info }));
    }
    Err(io("lock")(std::io::Error::other("the lock file keeps being replaced")))
}

/// Whether `path` still names the open `file` (it is unlinked when a holder releases it).
fn same_file(file: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (file.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        path.exists()
    }
}

fn current_user() -> String {
    ["USER", "LOGNAME", "USERNAME"].iter().find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty())).unwrap_or_else(
        || {
            #[cfg(unix)]
            {
                // SAFETY: getuid has no preconditions and cannot fail.
                format!("uid {}", unsafe { libc::getuid() })
            }
            #[cfg(not(unix))]
            {
                "unknown".to_string()
            }
        },
    )
}

const MAX_INFO_LEN: u64 = 64 * 1024;

/// The recorded holder of the lock at `path`: `None` when there is no lock file or it has no
/// details yet (a holder between taking the lock and writing them).
pub fn read_info(path: &Path) -> Result<Option<LockInfo>, StateError> {
    let file = match open_read_nofollow(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(open_error("read lock file", path, source)),
    };
    // Lock details are a few hundred bytes; anything much larger is not a lock file.
    let mut bytes = Vec::new();
    file.take(MAX_INFO_LEN + 1).read_to_end(&mut bytes).map_err(|source| StateError::Io {
        action: "read lock file",
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.len() as u64 > MAX_INFO_LEN {
        return Err(StateError::Io {
            action: "read lock file",
            path: path.to_path_buf(),
            source: std::io::Error::new(ErrorKind::InvalidData, format!("larger than {MAX_INFO_LEN} bytes")),
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| StateError::Io {
        action: "read lock file",
        path: path.to_path_buf(),
        source: std::io::Error::new(ErrorKind::InvalidData, e),
    })
}

/// Whether the process recorded in `info` is still running: it ran on this host and
/// `kill(pid, 0)` finds it (EPERM means it exists but belongs to someone else). A holder on
/// another host cannot be checked from here and counts as not running.
pub fn holder_alive(info: &LockInfo) -> bool {
    if info.host != gethostname::gethostname().to_string_lossy() {
        return false;
    }
    process_exists(info.pid)
}

fn process_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        // Zero and negative numbers address process groups, not one process.
        let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
        if pid <= 0 {
            return false;
        }
        // SAFETY: kill(2) with signal 0 only checks that the process exists and may be
        // signalled; it has no memory-safety preconditions.
        let rc = unsafe { libc::kill(pid, 0) };
        rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Removes a lock whose holder cannot release it (a hung process, another machine), but only
/// if `id` is the recorded lock ID, so a newer lock is never broken by mistake, and never
/// while the holder is still running on this host ([`holder_alive`]). Returns who held it.
pub fn force_unlock(paths: &StatePaths, id: &str) -> Result<LockInfo, StateError> {
    let Some(info) = read_info(&paths.lock)? else {
        return Err(StateError::NotLocked { path: paths.lock.clone() });
    };
    if info.id != id.trim() {
        return Err(StateError::LockIdMismatch { path: paths.lock.clone(), given: id.to_string(), recorded: info.id });
    }
    if holder_alive(&info) {
        return Err(StateError::HolderAlive { path: paths.lock.clone(), pid: info.pid, host: info.host });
    }
    std::fs::remove_file(&paths.lock).map_err(|source| StateError::Io {
        action: "remove lock file",
        path: paths.lock.clone(),
        source,
    })?;
    Ok(info)
}
