//! Transforms: `AWS::Include` of local files inside the project, applied before the model is
//! read. Other transforms (SAM, for example) are refused by name.
//!
//! Codes: E1060 unsupported transform, E1061 include location refused, E1062 include file not
//! loadable, E1063 malformed transform, E1064 included section clashes with the template.

use crate::diag::{Diagnostic, Diagnostics};
use crate::source::Span;
use crate::template::intrinsics::Intrinsic;
use crate::template::node::{Key, Node, NodeKind};
use std::path::{Component, Path, PathBuf};

/// How deep includes may nest (an include that includes itself stops here).
const MAX_DEPTH: usize = 8;

/// Top-level transforms that need no rewriting here: the functions they enable are evaluated
/// directly.
const ACCEPTED: &[&str] = &["AWS::LanguageExtensions"];

/// Reads and parses an included file into a node tree (adding it to the source map).
pub type Loader<'a> = dyn FnMut(&Path) -> Result<Node, Diagnostics> + 'a;

/// The error for a transform infra does not run.
pub fn unsupported_transform(name: &str, span: Span) -> Diagnostic {
    let shown = if name.is_empty() { "(unnamed)".to_string() } else { format!("`{name}`") };
    Diagnostic::error("E1060", format!("transform {shown} is not supported"))
        .at(span)
        .label("unsupported transform")
        .note("infra evaluates templates itself and supports only the AWS::Include transform (of files inside the project); macros such as AWS::Serverless-2016-10-31 are not expanded.")
}

/// Expand every `AWS::Include` in `root` (the top-level `Transform` section and
/// `Fn::Transform` anywhere), reporting refused or unsupported transforms.
pub fn apply(root: &mut Node, project_dir: &Path, load: &mut Loader, diags: &mut Diagnostics) {
    let mut ctx = Ctx {
        project_dir: project_dir.canonicalize().unwrap_or_else(|_| project_dir.to_path_buf()),
        load,
        diags,
        stack: Vec::new(),
    };
    ctx.expand(root, 0);
    ctx.top_level(root);
}

/// Why a location cannot be read.
pub(crate) enum Unusable {
    /// Outside the project, or not a local path.
    Refused(String),
    /// Inside the project but not a readable file.
    Missing(String),
}

/// `loc`, a path relative to `base` (a folder given relative to the project), as the
/// canonical path of a file inside the project directory `project_dir` (itself canonical):
/// no URL, no absolute path, nothing outside the project, through `..` or a symbolic link.
pub(crate) fn project_file(project_dir: &Path, base: &Path, loc: &str) -> Result<PathBuf, Unusable> {
    if loc.contains("://") {
        let scheme = loc.split("://").next().unwrap_or_default();
        return Err(Unusable::Refused(format!("{scheme}:// locations are not read; copy the file into the project")));
    }
    let rel = Path::new(loc);
    if rel.is_absolute() || loc.starts_with('/') || loc.starts_with('\\') {
        return Err(Unusable::Refused("absolute paths are not allowed".into()));
    }
    let mut normal = PathBuf::new();
    for c in base.components().chain(rel.components()) {
        match c {
            Component::Normal(p) => normal.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !normal.pop() {
                    return Err(Unusable::Refused("the path leaves the project directory".into()));
                }
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(Unusable::Refused("absolute paths are not allowed".into()))
            }
        }
    }
    let full = project_dir.join(&normal);
    let canonical = full.canonicalize().map_err(|e| Unusable::Missing(e.to_string()))?;
    if !canonical.starts_with(project_dir) {
        return Err(Unusable::Refused("it resolves (through a symbolic link) outside the project directory".into()));
    }
    if !canonical.is_file() {
        return Err(Unusable::Missing("it is not a file".into()));
    }
    Ok(canonical)
}

struct Ctx<'a, 'l> {
    project_dir: PathBuf,
    load: &'a mut Loader<'l>,
    diags: &'a mut Diagnostics,
    /// Files being included, to stop include cycles.
    stack: Vec<PathBuf>,
}

/// `{Name: AWS::Include, Parameters: {Location: path}}` → (name, location node).
fn transform_spec(spec: &Node) -> Result<(&str, Option<&Node>), &'static str> {
    match &spec.kind {
        NodeKind::String(s) => Ok((s.as_str(), None)),
        NodeKind::Map(_) => {
            let name = spec.get("Name").and_then(Node::as_str).ok_or("a transform needs `Name`")?;
            let location = spec.get("Parameters").and_then(|p| p.get("Location"));
            Ok((name, location))
        }
        _ => Err("a transform is a name or {Name, Parameters}"),
    }
}

impl Ctx<'_, '_> {
    /// Replace `Fn::Transform` nodes below `node`.
    fn expand(&mut self, node: &mut Node, depth: usize) {
        if let Some((key, spec)) = node.as_intrinsic() {
            if key.intrinsic() == Some(Intrinsic::Transform) {
                let (key, spec) = (key.clone(), spec.clone());
                if let Some(included) = self.include(&key, &spec, depth, false) {
                    *node = included;
                }
                return;
            }
        }
        match &mut node.kind {
            NodeKind::Seq(items) => items.iter_mut().for_each(|i| self.expand(i, depth)),
            NodeKind::Map(entries) => entries.iter_mut().for_each(|(_, v)| self.expand(v, depth)),
            _ => {}
        }
    }

    /// Run one transform spec; `Some` with the included tree for `AWS::Include`.
    fn include(&mut self, key: &Key, spec: &Node, depth: usize, top_level: bool) -> Option<Node> {
        let (name, location) = match transform_spec(spec) {
            Ok(x) => x,
            Err(msg) => {
                self.diags.push(Diagnostic::error("E1063", format!("malformed transform: {msg}")).at(key.span).note(
                    "Write `Fn::Transform: {Name: AWS::Include, Parameters: {Location: path/in/project.yaml}}`.",
                ));
                return None;
            }
        };
        if name != "AWS::Include" {
            if !(top_level && ACCEPTED.contains(&name)) {
                self.diags.push(unsupported_transform(name, key.span));
            }
            return None;
        }
        let Some(location) = location else {
            self.diags.push(
                Diagnostic::error("E1063", "`AWS::Include` needs `Parameters: {Location: path}`")
                    .at(key.span)
                    .label("no Location"),
            );
            return None;
        };
        let Some(loc) = location.as_str() else {
            self.diags.push(
                Diagnostic::error(
                    "E1063",
                    format!("the Location of `AWS::Include` must be a literal string, found {}", location.kind_name()),
                )
                .at(location.span)
                .label("expected a path"),
            );
            return None;
        };
        let path = match self.resolve(loc) {
            Ok(p) => p,
            Err(Unusable::Missing(why)) => {
                self.diags.push(
                    Diagnostic::error("E1062", format!("failed to read included file `{loc}`"))
                        .at(location.span)
                        .label("no such file in the project")
                        .note(format!("{why}."))
                        .note("Locations are relative to the project directory."),
                );
                return None;
            }
            Err(Unusable::Refused(why)) => {
                self.diags.push(
                    Diagnostic::error("E1061", format!("include location `{loc}` is refused: {why}"))
                        .at(location.span)
                        .label("refused location")
                        .note("AWS::Include reads only files inside the project directory, given as a relative path from the project root."),
                );
                return None;
            }
        };
        if depth >= MAX_DEPTH || self.stack.contains(&path) {
            self.diags.push(
                Diagnostic::error("E1062", format!("include of `{loc}` nests too deeply or includes itself"))
                    .at(location.span)
                    .label("include cycle"),
            );
            return None;
        }
        let mut node = match (self.load)(&path) {
            Ok(n) => n,
            Err(errors) => {
                let loaded_elsewhere = !errors.is_empty();
                self.diags.extend(errors);
                if !loaded_elsewhere {
                    self.diags.push(
                        Diagnostic::error("E1062", format!("failed to load included file `{loc}`")).at(location.span),
                    );
                }
                return None;
            }
        };
        self.stack.push(path);
        self.expand(&mut node, depth + 1);
        self.stack.pop();
        Some(node)
    }

    /// Check a location and turn it into a canonical path inside the project.
    fn resolve(&self, loc: &str) -> Result<PathBuf, Unusable> {
        project_file(&self.project_dir, Path::new(""), loc)
    }

    /// The top-level `Transform` section: includes merge their sections into the template.
    fn top_level(&mut self, root: &mut Node) {
        let Some(transform) = root.get_entry("Transform").map(|(k, v)| (k.clone(), v.clone())) else { return };
        let (key, spec) = transform;
        let specs: Vec<Node> = match &spec.kind {
            NodeKind::Seq(items) => items.clone(),
            _ => vec![spec.clone()],
        };
        for s in &specs {
            let at = Key { name: key.name.clone(), span: if s.span.is_synthetic() { key.span } else { s.span } };
            let Some(included) = self.include(&at, s, 0, true) else { continue };
            let Some(sections) = included.as_map() else {
                self.diags.push(
                    Diagnostic::error(
                        "E1064",
                        format!("an included template must be a mapping of sections, found {}", included.kind_name()),
                    )
                    .at(included.span),
                );
                continue;
            };
            for (sk, sv) in sections {
                self.merge_section(root, sk, sv);
            }
        }
    }

    fn merge_section(&mut self, root: &mut Node, key: &Key, value: &Node) {
        let NodeKind::Map(entries) = &mut root.kind else { return };
        let Some((_, existing)) = entries.iter_mut().find(|(k, _)| k.name == key.name) else {
            entries.push((key.clone(), value.clone()));
            return;
        };
        match (&mut existing.kind, &value.kind) {
            (NodeKind::Map(into), NodeKind::Map(from)) => {
                for (k, v) in from {
                    if let Some((first, _)) = into.iter().find(|(x, _)| x.name == k.name) {
                        self.diags.push(
                            Diagnostic::error(
                                "E1064",
                                format!(
                                    "`{}` in section `{}` is declared by the template and by an include",
                                    k.name, key.name
                                ),
                            )
                            .at(k.span)
                            .with_secondary(first.span, "also declared here"),
                        );
                    } else {
                        into.push((k.clone(), v.clone()));
                    }
                }
            }
            _ => self.diags.push(
                Diagnostic::error(
                    "E1064",
                    format!("section `{}` is declared by the template and by an include", key.name),
                )
                .at(key.span),
            ),
        }
    }
}
