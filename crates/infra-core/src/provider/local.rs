//! Engine-local resources: `Infra::Local::Data`, like Terraform's `terraform_data`, and
//! `Infra::Local::File`, a file on the machine running infra.
//!
//! `Infra::Local::Data` has properties `Input` (any value) and `TriggersReplace` (a change
//! replaces the resource); attribute `Output` equals `Input`, `Id` is the generated ID that
//! `Ref` gives. It makes no call and does no I/O, which makes it useful for wiring values and
//! the yardstick for engine overhead.
//!
//! `Infra::Local::File` has properties `Directory` (required), `FileName` (generated as
//! `{stack}-{logicalid}-{random}` when absent, chosen before the create), `Content` and
//! `Mode` (octal permission bits as a string, `"0644"`; default `"0600"`, whatever the
//! umask); attribute `Path`, which is also its physical ID. Creating it fails if the file
//! exists, so a double create is caught rather than silently overwriting.
//!
//! A provider made for a project ([`LocalProvider::for_project`]) writes only inside the
//! project directory and the directories the project allows outside it: a path is refused
//! if, with `..` taken into account, it lies elsewhere, or if one of its directories below
//! the allowed one is a symbolic link leading elsewhere. The file itself is never opened
//! through a symbolic link. Directories it creates get the file's mode with search
//! permission added wherever it grants read (`0600` → `0700`, `0644` → `0755`).

use super::{
    Applied, Attributes, CreateRequest, DeleteRequest, ErrorKind, FindRequest, Observed, Provider, ProviderError,
    ReadRequest, ResourceContext, UpdateRequest,
};
use async_trait::async_trait;
use serde_json::Value as J;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const DATA: &str = "Infra::Local::Data";
pub const FILE: &str = "Infra::Local::File";

/// Provider for the engine-local resource types.
#[derive(Debug, Default)]
pub struct LocalProvider {
    /// What a relative `Directory` is relative to (the project directory), rather than
    /// wherever the command happens to run.
    base: Option<PathBuf>,
    /// The directories files may be written in (and below); `None`: anywhere.
    allowed: Option<Vec<PathBuf>>,
}

impl LocalProvider {
    /// A provider that writes files wherever their `Directory` says, relative paths taken
    /// from the current directory: for embedding the engine and for its tests. The binary
    /// uses [`LocalProvider::for_project`].
    pub fn new() -> Self {
        LocalProvider { base: None, allowed: None }
    }

    /// A provider for the project in `dir`: relative `Directory` values are taken relative
    /// to `dir`, and files are written only inside `dir` and the `outside` directories
    /// (relative ones taken relative to `dir`).
    pub fn for_project(dir: &Path, outside: &[PathBuf]) -> Self {
        let base = normalize(&std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()));
        let mut allowed = vec![base.clone()];
        allowed.extend(outside.iter().map(|o| normalize(&base.join(o))));
        LocalProvider { base: Some(base), allowed: Some(allowed) }
    }

    fn file_path(&self, operation: &str, props: &J, file_name: Option<&str>) -> Result<PathBuf, ProviderError> {
        let path = file_path(operation, props, file_name)?;
        let path = match &self.base {
            Some(base) if path.is_relative() => base.join(path),
            _ => path,
        };
        self.confine(operation, &path)
    }

    /// `path` made absolute and free of `.` and `..`, if files may be written there: inside
    /// an allowed directory, with no symbolic link below that directory leading out of every
    /// allowed one. Checks only what exists; run again after creating directories.
    fn confine(&self, operation: &str, path: &Path) -> Result<PathBuf, ProviderError> {
        let Some(allowed) = &self.allowed else { return Ok(path.to_path_buf()) };
        let path = normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
        let Some(root) = allowed.iter().filter(|a| path.starts_with(a)).max_by_key(|a| a.as_os_str().len()) else {
            return Err(invalid(
                operation,
                format!(
                    "{} is outside the project directory {}; Infra::Local::File writes only inside it unless infra.toml allows the directory (`local_files_outside` in [project])",
                    path.display(),
                    allowed[0].display()
                ),
            ));
        };
        let canonical_roots: Vec<PathBuf> =
            allowed.iter().map(|a| std::fs::canonicalize(a).unwrap_or_else(|_| a.clone())).collect();
        let mut at = root.clone();
        let below: Vec<_> = path.strip_prefix(root).map(|r| r.components().collect()).unwrap_or_default();
        // Every directory between the allowed one and the file; the file itself is opened
        // with O_NOFOLLOW.
        for part in below.iter().take(below.len().saturating_sub(1)) {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    let target = std::fs::canonicalize(&at).map_err(|e| io_error(operation, &at, e))?;
                    if !canonical_roots.iter().any(|r| target.starts_with(r)) {
                        return Err(invalid(
                            operation,
                            format!(
                                "{} is a symbolic link to {}, outside the project directory {}; Infra::Local::File does not follow links out of it",
                                at.display(),
                                target.display(),
                                allowed[0].display()
                            ),
                        ));
                    }
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
                Err(e) => return Err(io_error(operation, &at, e)),
            }
        }
        Ok(path)
    }
}

/// `path` with `.` dropped and each `..` taking away the component before it, without
/// asking the file system (symbolic links are checked separately).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The permission bits of a `Mode` property: an octal string of three or four digits, at
/// most `0777`. Absent: `0600`.
fn mode_of(operation: &str, props: &J) -> Result<u32, ProviderError> {
    let bad = |shown: String| {
        invalid(
            operation,
            format!("property Mode {shown} must be a string of octal permission bits from \"0000\" to \"0777\", such as \"0644\""),
        )
    };
    match props.get("Mode") {
        None | Some(J::Null) => Ok(0o600),
        Some(J::String(m)) => {
            let digits = m.strip_prefix('0').filter(|d| d.len() == 3).unwrap_or(m);
            if digits.len() != 3 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return Err(bad(format!("{m:?}")));
            }
            u32::from_str_radix(digits, 8).map_err(|_| bad(format!("{m:?}")))
        }
        Some(other) => Err(bad(format!("{other} (quote it: a YAML number would be read as decimal)"))),
    }
}

/// The mode of directories created for a file of `mode`: search permission wherever it
/// grants read, and always for the owner.
fn dir_mode(mode: u32) -> u32 {
    mode | ((mode & 0o444) >> 2) | 0o700
}

/// Creates `dir` and its missing parents with `mode`, whatever the umask says.
fn create_dirs(dir: &Path, mode: u32) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while std::fs::symlink_metadata(at).is_err() {
        missing.push(at.to_path_buf());
        match at.parent() {
            Some(p) => at = p,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => set_mode(d, mode)?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

/// Open options that never follow a symbolic link at the file itself.
fn no_follow(options: &mut std::fs::OpenOptions, mode: u32) -> &mut std::fs::OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options
}

/// The file behind `f` is a regular one (not a FIFO or device planted at the path).
fn regular(operation: &str, path: &Path, f: &std::fs::File) -> Result<(), ProviderError> {
    match f.metadata() {
        Ok(m) if m.file_type().is_file() => Ok(()),
        Ok(_) => Err(invalid(operation, format!("{} is not a regular file", path.display()))),
        Err(e) => Err(io_error(operation, path, e)),
    }
}

fn data_attributes(id: &str, props: &J) -> Attributes {
    let mut a = Attributes::new();
    a.insert("Id".to_string(), J::String(id.to_string()));
    a.insert("Output".to_string(), props.get("Input").cloned().unwrap_or(J::Null));
    a
}

fn invalid(operation: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Invalid, operation, message)
}

fn io_error(operation: &str, path: &Path, e: std::io::Error) -> ProviderError {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return invalid(
            operation,
            format!("{} is a symbolic link; Infra::Local::File does not follow it", path.display()),
        );
    }
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::AlreadyExists => ErrorKind::Conflict,
        std::io::ErrorKind::PermissionDenied => ErrorKind::Invalid,
        _ => ErrorKind::Other,
    };
    ProviderError::new(kind, operation, format!("{}: {e}", path.display()))
}

/// An error of a call that cannot have made anything: never ambiguous.
fn refusal(mut e: ProviderError) -> ProviderError {
    if e.kind == ErrorKind::Other {
        e.kind = ErrorKind::Invalid;
    }
    e
}

/// A file name made only of characters that are safe in any file system.
fn sanitize(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect()
}

/// The path a `Infra::Local::File` is written to, from its properties.
fn file_path(operation: &str, props: &J, file_name: Option<&str>) -> Result<PathBuf, ProviderError> {
    let dir = props
        .get("Directory")
        .and_then(J::as_str)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| invalid(operation, "property Directory is required and must be a string"))?;
    let name = match file_name.or_else(|| props.get("FileName").and_then(J::as_str)) {
        Some(n) if !n.is_empty() && !n.contains('/') && n != "." && n != ".." => n.to_string(),
        Some(n) => return Err(invalid(operation, format!("FileName {n:?} must be a plain file name"))),
        None => return Err(invalid(operation, "no file name chosen")),
    };
    Ok(Path::new(dir).join(name))
}

fn content_of(props: &J) -> String {
    match props.get("Content") {
        None | Some(J::Null) => String::new(),
        Some(J::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn file_attributes(path: &Path) -> Attributes {
    let mut a = Attributes::new();
    a.insert("Path".to_string(), J::String(path.display().to_string()));
    a
}

/// Rewrite an existing file in place, and set its mode. No temporary file is used, so a
/// killed run leaves nothing behind; a half-written file is what the update's journal intent
/// is for (recovery finishes the update).
fn rewrite_file(operation: &str, path: &Path, content: &str, mode: u32) -> Result<(), ProviderError> {
    let io = |e| io_error(operation, path, e);
    let open = || no_follow(std::fs::OpenOptions::new().write(true), mode).open(path);
    let mut f = match open() {
        // A file whose Mode made it read-only for its owner: let the owner write, then set
        // the mode it is to have.
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            let r = no_follow(std::fs::OpenOptions::new().read(true), mode).open(path).map_err(io)?;
            regular(operation, path, &r)?;
            set_permissions(&r, 0o600).map_err(io)?;
            open().map_err(io)?
        }
        other => other.map_err(io)?,
    };
    regular(operation, path, &f)?;
    f.set_len(0).map_err(io)?;
    f.write_all(content.as_bytes()).map_err(io)?;
    set_permissions(&f, mode).map_err(io)?;
    f.sync_all().map_err(io)
}

fn set_permissions(f: &std::fs::File, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (f, mode);
        Ok(())
    }
}

/// The mode of the file at `path` as a `Mode` string, in the spelling `recorded` uses when
/// it means the same bits.
fn observed_mode(meta: &std::fs::Metadata, recorded: Option<&J>) -> J {
    #[cfg(unix)]
    let bits = {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o777
    };
    #[cfg(not(unix))]
    let bits = {
        let _ = meta;
        0o600
    };
    match recorded {
        Some(r @ J::String(_)) if mode_of("ReadFile", &serde_json::json!({ "Mode": r })).ok() == Some(bits) => {
            r.clone()
        }
        _ => J::String(format!("{bits:04o}")),
    }
}

#[async_trait]
impl Provider for LocalProvider {
    fn name(&self) -> &str {
        "local"
    }

    fn resource_types(&self) -> &[&'static str] {
        &[DATA, FILE]
    }

    fn concurrency(&self) -> usize {
        64
    }

    fn physical_name(&self, ctx: &ResourceContext, props: &J) -> Option<String> {
        if ctx.resource_type != FILE {
            return None;
        }
        let name = match props.get("FileName").and_then(J::as_str) {
            Some(n) => n.to_string(),
            None => sanitize(&format!("{}-{}-{:08x}", ctx.stack_name, ctx.logical_id, fastrand::u32(..))),
        };
        // The physical name is the full path, which is also the physical ID, so a crashed
        // create can be found again by it.
        self.file_path("ChooseFileName", props, Some(&name)).ok().map(|p| p.display().to_string())
    }

    fn create_only_properties(&self, resource_type: &str) -> Option<Vec<String>> {
        match resource_type {
            DATA => Some(vec!["TriggersReplace".to_string()]),
            FILE => Some(vec!["Directory".to_string(), "FileName".to_string()]),
            _ => None,
        }
    }

    fn name_properties(&self, resource_type: &str) -> Option<Vec<String>> {
        match resource_type {
            FILE => Some(vec!["FileName".to_string()]),
            _ => Some(Vec::new()),
        }
    }

    fn volatile_attributes(&self, resource_type: &str) -> Vec<String> {
        match resource_type {
            DATA => vec!["Output".to_string()],
            _ => Vec::new(),
        }
    }

    async fn create(&self, req: &CreateRequest) -> Result<Applied, ProviderError> {
        match req.context.resource_type.as_str() {
            DATA => {
                let id = uuid::Uuid::new_v4().to_string();
                Ok(Applied { attributes: data_attributes(&id, &req.properties), physical_id: id })
            }
            FILE => {
                const OP: &str = "CreateFile";
                let mode = mode_of(OP, &req.properties)?;
                // Until the file is open nothing exists, so every failure up to there is a
                // refusal, never an operation whose outcome is unknown.
                let path = match &req.physical_name {
                    Some(p) => self.confine(OP, Path::new(p)).map_err(refusal)?,
                    None => self.file_path(OP, &req.properties, None).map_err(refusal)?,
                };
                if let Some(dir) = path.parent() {
                    create_dirs(dir, dir_mode(mode)).map_err(|e| refusal(io_error(OP, dir, e)))?;
                    // Again, now that every directory exists.
                    self.confine(OP, &path).map_err(refusal)?;
                }
                let io = |e| io_error(OP, &path, e);
                let mut f = no_follow(std::fs::OpenOptions::new().write(true).create_new(true), mode)
                    .open(&path)
                    .map_err(|e| refusal(io(e)))?;
                f.write_all(content_of(&req.properties).as_bytes()).map_err(io)?;
                set_permissions(&f, mode).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(Applied { physical_id: path.display().to_string(), attributes: file_attributes(&path) })
            }
            other => Err(ProviderError::new(ErrorKind::Unsupported, "Create", format!("unknown type {other}"))),
        }
    }

    async fn read(&self, req: &ReadRequest) -> Result<Option<Observed>, ProviderError> {
        match req.context.resource_type.as_str() {
            // Nothing exists outside the state, so what was recorded is what there is.
            DATA => Ok(Some(Observed {
                physical_id: req.physical_id.clone(),
                properties: req.properties.clone(),
                attributes: data_attributes(&req.physical_id, &req.properties),
                failure: None,
            })),
            FILE => {
                let path = PathBuf::from(&req.physical_id);
                let mut f = match no_follow(std::fs::OpenOptions::new().read(true), 0o600).open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io_error("ReadFile", &path, e)),
                };
                regular("ReadFile", &path, &f)?;
                let meta = f.metadata().map_err(|e| io_error("ReadFile", &path, e))?;
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut f, &mut bytes).map_err(|e| io_error("ReadFile", &path, e))?;
                let content = String::from_utf8_lossy(&bytes).into_owned();
                let mut props = serde_json::Map::new();
                if let Some(dir) = path.parent() {
                    props.insert("Directory".to_string(), J::String(dir.display().to_string()));
                }
                // FileName is reported only when the template set it, to keep the shape.
                if req.properties.get("FileName").is_some() {
                    if let Some(name) = path.file_name() {
                        props.insert("FileName".to_string(), J::String(name.to_string_lossy().into_owned()));
                    }
                }
                if req.properties.get("Content").is_some() || !content.is_empty() {
                    props.insert("Content".to_string(), J::String(content));
                }
                if let Some(J::String(d)) = req.properties.get("Directory") {
                    props.insert("Directory".to_string(), J::String(d.clone()));
                }
                // Mode is reported only when the template set it, like FileName.
                if let Some(recorded) = req.properties.get("Mode") {
                    props.insert("Mode".to_string(), observed_mode(&meta, Some(recorded)));
                }
                Ok(Some(Observed {
                    physical_id: req.physical_id.clone(),
                    properties: J::Object(props),
                    attributes: file_attributes(&path),
                    failure: None,
                }))
            }
            other => Err(ProviderError::new(ErrorKind::Unsupported, "Read", format!("unknown type {other}"))),
        }
    }

    async fn find(&self, req: &FindRequest) -> Result<Option<Observed>, ProviderError> {
        match req.context.resource_type.as_str() {
            // A data resource exists only in the state, so a create that never reached the
            // state made nothing.
            DATA => Ok(None),
            // Files are found by the path chosen before the create.
            other => Err(ProviderError::new(
                ErrorKind::Unsupported,
                "Find",
                format!("{other} is found by the path chosen before its create, not by a token"),
            )),
        }
    }

    async fn update(&self, req: &UpdateRequest) -> Result<Applied, ProviderError> {
        match req.context.resource_type.as_str() {
            DATA => Ok(Applied {
                physical_id: req.physical_id.clone(),
                attributes: data_attributes(&req.physical_id, &req.new_properties),
            }),
            FILE => {
                const OP: &str = "UpdateFile";
                let mode = mode_of(OP, &req.new_properties)?;
                let path = self.confine(OP, Path::new(&req.physical_id))?;
                if std::fs::symlink_metadata(&path).is_err() {
                    return Err(ProviderError::new(
                        ErrorKind::NotFound,
                        OP,
                        format!("{} does not exist", path.display()),
                    ));
                }
                rewrite_file(OP, &path, &content_of(&req.new_properties), mode)?;
                Ok(Applied { physical_id: req.physical_id.clone(), attributes: file_attributes(&path) })
            }
            other => Err(ProviderError::new(ErrorKind::Unsupported, "Update", format!("unknown type {other}"))),
        }
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError> {
        match req.context.resource_type.as_str() {
            DATA => Ok(()),
            FILE => {
                let path = PathBuf::from(&req.physical_id);
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(io_error("DeleteFile", &path, e)),
                }
            }
            other => Err(ProviderError::new(ErrorKind::Unsupported, "Delete", format!("unknown type {other}"))),
        }
    }
}
