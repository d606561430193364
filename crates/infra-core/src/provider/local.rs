//! Engine-local resources: `Infra::Local::Data`, like Terraform's `terraform_data`, and
//! `Infra::Local::File`, a file on the machine running infra.
//!
//! `Infra::Local::Data` has properties `Input` (any value) and `TriggersReplace` (a change
//! replaces the resource); attribute `Output` equals `Input`, `Id` is the generated ID that
//! `Ref` gives. It makes no call and does no I/O, which makes it useful for wiring values and
//! the yardstick for engine overhead.
//!
//! `Infra::Local::File` has properties `Directory` (required), `FileName` (generated as
//! `{stack}-{logicalid}-{random}` when absent, chosen before the create) and `Content`;
//! attribute `Path`, which is also its physical ID. Creating it fails if the file exists, so a
//! double create is caught rather than silently overwriting.

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
}

impl LocalProvider {
    pub fn new() -> Self {
        LocalProvider { base: None }
    }

    /// Relative `Directory` values are taken relative to `base`.
    pub fn with_base(base: &Path) -> Self {
        LocalProvider { base: Some(std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf())) }
    }

    fn file_path(&self, operation: &str, props: &J, file_name: Option<&str>) -> Result<PathBuf, ProviderError> {
        let path = file_path(operation, props, file_name)?;
        Ok(match &self.base {
            Some(base) if path.is_relative() => base.join(path),
            _ => path,
        })
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

/// Rewrite an existing file in place. No temporary file is used, so a killed run leaves
/// nothing behind; a half-written file is what the update's journal intent is for (recovery
/// finishes the update).
fn rewrite_file(path: &Path, content: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().write(true).truncate(true).open(path)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()
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
                let path = match &req.physical_name {
                    Some(p) => PathBuf::from(p),
                    None => self.file_path("CreateFile", &req.properties, None)?,
                };
                // Until the file is open nothing exists, so these failures are refusals.
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| refusal(io_error("CreateFile", dir, e)))?;
                }
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&path)
                    .map_err(|e| refusal(io_error("CreateFile", &path, e)))?;
                f.write_all(content_of(&req.properties).as_bytes()).map_err(|e| io_error("CreateFile", &path, e))?;
                f.sync_all().map_err(|e| io_error("CreateFile", &path, e))?;
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
                let content = match std::fs::read(&path) {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(io_error("ReadFile", &path, e)),
                };
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
                let path = PathBuf::from(&req.physical_id);
                if !path.is_file() {
                    return Err(ProviderError::new(
                        ErrorKind::NotFound,
                        "UpdateFile",
                        format!("{} does not exist", path.display()),
                    ));
                }
                rewrite_file(&path, &content_of(&req.new_properties)).map_err(|e| io_error("UpdateFile", &path, e))?;
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
