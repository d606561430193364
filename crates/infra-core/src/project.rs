//! A project: `infra.toml` settings, the layers under `stacks/`, environments and their
//! parameter values, and where state lives.
//!
//! [`Project::read`] loads everything that does not depend on an environment: the settings,
//! every template file of every layer (with includes expanded) and the merged template model
//! of each layer. Evaluation per environment happens in [`crate::validate`].
//!
//! Codes: E5001 settings file unreadable, E5002 TOML syntax, E5003 unknown key, E5004 wrong
//! value type, E5005 missing key, E5006 stray folder or file under `stacks/`, E5007 unknown
//! environment, E5008 invalid name, E5009 no environments, E5010 per-layer parameters for an
//! unknown layer, E5012 `stacks/` unreadable, E5013 invalid duration.

use crate::diag::{did_you_mean, Diagnostic, Diagnostics};
use crate::source::{FileId, SourceMap, Span};
use crate::template::eval::ParamInput;
use crate::template::model::{self, ParamType, Template};
use crate::template::node::{Node, NodeKind};
use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeTable, DeValue};
use toml::Spanned as TSpanned;

pub const SETTINGS_FILE: &str = "infra.toml";
pub const DEFAULT_LAYERS: &[&str] = &["identity", "network", "shared", "backend", "frontend"];
/// Extensions of template files in a layer folder.
pub const TEMPLATE_EXTENSIONS: &[&str] = &["json", "yaml", "yml", "template"];

/// One environment's settings.
#[derive(Clone, Debug)]
pub struct Environment {
    pub name: String,
    pub span: Span,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    /// How long one AWS call is retried at most (`retry_timeout = "5m"`).
    pub retry_timeout: Option<Duration>,
    /// Values for every layer that declares the parameter.
    pub parameters: IndexMap<String, ParamInput>,
    /// Per-layer overrides.
    pub layer_parameters: IndexMap<String, IndexMap<String, ParamInput>>,
}

impl Environment {
    /// The parameter values a layer sees: the environment's, overridden by the layer's own.
    pub fn parameters_for(&self, layer: &str) -> IndexMap<String, ParamInput> {
        let mut out = self.parameters.clone();
        if let Some(over) = self.layer_parameters.get(layer) {
            for (k, v) in over {
                out.insert(k.clone(), v.clone());
            }
        }
        out
    }
}

/// One template file of a layer, loaded and with includes expanded.
#[derive(Clone, Debug)]
pub struct StackFile {
    pub path: PathBuf,
    pub file: FileId,
    pub root: Node,
}

/// One layer: its files and their merged model.
#[derive(Clone, Debug, Default)]
pub struct Layer {
    pub name: String,
    pub files: Vec<StackFile>,
    pub template: Template,
}

#[derive(Debug, Default)]
pub struct Project {
    pub dir: PathBuf,
    pub sources: SourceMap,
    pub name: String,
    pub region: String,
    layers: Vec<Layer>,
    environments: Vec<Environment>,
    state_path: PathBuf,
    /// `project.local_files_outside`: directories outside the project `Infra::Local::File`
    /// may write in, as written (relative ones are relative to the project directory).
    local_files_outside: Vec<PathBuf>,
    /// `[[drift.ignore]]`: properties drift checks report as ignored.
    drift_ignore: Vec<crate::drift::IgnoreRule>,
}

impl Project {
    /// Read a project; any error fails the load.
    pub fn load(dir: &Path) -> Result<Project, Diagnostics> {
        let (project, diags) = Project::read(dir);
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(project)
        }
    }

    /// Read a project as far as possible, collecting every problem. The returned project
    /// always carries the source map, so diagnostics can be rendered with snippets.
    pub fn read(dir: &Path) -> (Project, Diagnostics) {
        let (mut p, mut diags) = Project::read_settings(dir);
        if p.sources.files().next().is_some() {
            p.discover_layers(&mut diags);
        }
        (p, diags)
    }

    /// Read only `infra.toml` (no templates): names, regions, environments.
    pub fn read_settings(dir: &Path) -> (Project, Diagnostics) {
        let mut diags = Diagnostics::new();
        let mut p = Project { dir: dir.to_path_buf(), state_path: PathBuf::from("state"), ..Default::default() };
        let settings = dir.join(SETTINGS_FILE);
        match std::fs::read_to_string(&settings) {
            Ok(text) => {
                let file = p.sources.add(&settings, SETTINGS_FILE, text.as_str());
                p.parse_settings(file, &text, &mut diags);
            }
            Err(e) => {
                diags.push(
                    Diagnostic::error("E5001", format!("failed to read {}: {e}", settings.display()))
                        .note("A project directory holds infra.toml and stacks/<layer>/ folders; pass --project-dir to point at one."),
                );
            }
        }
        (p, diags)
    }

    /// The properties `[[drift.ignore]]` tells drift checks to ignore.
    pub fn drift_ignore(&self) -> &[crate::drift::IgnoreRule] {
        &self.drift_ignore
    }

    /// Layer names in order, lowest first.
    pub fn layers(&self) -> impl Iterator<Item = &str> {
        self.layers.iter().map(|l| l.name.as_str())
    }

    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name == name)
    }

    pub fn layer_details(&self) -> &[Layer] {
        &self.layers
    }

    pub fn environments(&self) -> &[Environment] {
        &self.environments
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The environment named `name`, or the first one; an error naming the known ones.
    // The diagnostic is what callers render; boxing it would only add noise at every call site.
    #[allow(clippy::result_large_err)]
    pub fn select_environment(&self, name: Option<&str>) -> Result<&Environment, Diagnostic> {
        let known: Vec<&str> = self.environments.iter().map(|e| e.name.as_str()).collect();
        match name {
            Some(n) => self.environment(n).ok_or_else(|| {
                let d = Diagnostic::error("E5007", format!("unknown environment `{n}`"));
                match did_you_mean(n, known.iter().copied()) {
                    Some(m) => d.help(format!("did you mean `{m}`?")),
                    None => d.note(format!(
                        "Environments in infra.toml: {}.",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    )),
                }
            }),
            None => self.environments.first().ok_or_else(|| {
                Diagnostic::error("E5009", "infra.toml declares no environments")
                    .help("add a section such as [environments.dev]")
            }),
        }
    }

    /// The values of `NoEcho` parameters in environment `env`, in every layer: what infra
    /// must never show (see [`crate::render::Redactor`]). A value comes from the environment's
    /// parameters or else the parameter's default; a list parameter's items count too. Layers
    /// whose templates did not load contribute what was read of them.
    pub fn secrets(&self, env: &str) -> Vec<String> {
        let Some(env) = self.environment(env) else { return Vec::new() };
        let mut out = Vec::new();
        for layer in &self.layers {
            out.extend(no_echo_values(&layer.template, &env.parameters_for(&layer.name)));
        }
        out
    }

    /// Where state files live: `<state.path>/<env>/<layer>.json`.
    pub fn state_dir(&self) -> PathBuf {
        if self.state_path.is_absolute() {
            self.state_path.clone()
        } else {
            self.dir.join(&self.state_path)
        }
    }

    /// Directories outside the project that `Infra::Local::File` may write in
    /// (`project.local_files_outside`), as written; relative ones are relative to the
    /// project directory.
    pub fn local_files_outside(&self) -> &[PathBuf] {
        &self.local_files_outside
    }

    /// The region of an environment (its override, else the project's).
    pub fn region(&self, env: &str) -> &str {
        self.environment(env).and_then(|e| e.region.as_deref()).unwrap_or(&self.region)
    }

    pub fn endpoint_url(&self, env: &str) -> Option<&str> {
        self.environment(env).and_then(|e| e.endpoint_url.as_deref())
    }

    /// How long environment `env` retries one AWS call, if its settings say.
    pub fn retry_timeout(&self, env: &str) -> Option<Duration> {
        self.environment(env).and_then(|e| e.retry_timeout)
    }

    /// Point environment `env` at `region` (a command-line override of infra.toml), so that
    /// `AWS::Region` and the AWS clients agree.
    pub fn override_region(&mut self, env: &str, region: &str) {
        if let Some(e) = self.environments.iter_mut().find(|e| e.name == env) {
            e.region = Some(region.to_string());
        }
    }

    // ------------------------------------------------------------ infra.toml

    fn parse_settings(&mut self, file: FileId, text: &str, diags: &mut Diagnostics) {
        let root = match DeTable::parse(text) {
            Ok(t) => t,
            Err(e) => {
                let span = e.span().map(|r| Span::new(file, r.start, r.end)).unwrap_or(Span::new(file, 0, 0));
                let message = e.message().trim().trim_end_matches('.').to_string();
                diags.push(
                    Diagnostic::error("E5002", format!("invalid TOML in {SETTINGS_FILE}")).at(span).label(message),
                );
                // Still check the templates, in the default layer order.
                self.layers = default_layers();
                return;
            }
        };
        let s = Settings { file };
        let root_span = s.span(root.span());
        let mut layers_set = false;
        let mut project_seen = false;
        for (k, v) in s.entries(root.get_ref()) {
            match k.get_ref().as_ref() {
                "project" => {
                    project_seen = true;
                    let Some(t) = s.table(v, "project", diags) else { continue };
                    let mut name = None;
                    let mut region = None;
                    for (pk, pv) in s.entries(t) {
                        match pk.get_ref().as_ref() {
                            "name" => name = s.string(pv, "project.name", diags),
                            "region" => region = s.string(pv, "project.region", diags),
                            "layers" => {
                                layers_set = true;
                                self.parse_layers(&s, pv, diags);
                            }
                            "local_files_outside" => self.parse_local_files_outside(&s, pv, diags),
                            other => diags.push(s.unknown(
                                other,
                                pk,
                                "[project]",
                                &["name", "region", "layers", "local_files_outside"],
                            )),
                        }
                    }
                    let tspan = s.span(k.span());
                    match name {
                        Some(n) => {
                            if !valid_name(&n) {
                                diags.push(invalid_name(
                                    "project name",
                                    &n,
                                    s.span(pv_span(t, "name").unwrap_or(k.span())),
                                ));
                            }
                            self.name = n;
                        }
                        None if t.get("name").is_none() => diags.push(missing("project.name", tspan)),
                        None => {}
                    }
                    match region {
                        Some(r) => self.region = r,
                        None if t.get("region").is_none() => diags.push(missing("project.region", tspan)),
                        None => {}
                    }
                }
                "state" => {
                    let Some(t) = s.table(v, "state", diags) else { continue };
                    for (sk, sv) in s.entries(t) {
                        match sk.get_ref().as_ref() {
                            "path" => {
                                if let Some(p) = s.string(sv, "state.path", diags) {
                                    self.state_path = PathBuf::from(p);
                                }
                            }
                            other => diags.push(s.unknown(other, sk, "[state]", &["path"])),
                        }
                    }
                }
                "environments" => {
                    let Some(t) = s.table(v, "environments", diags) else { continue };
                    for (ek, ev) in s.entries(t) {
                        if let Some(env) = self.parse_environment(&s, ek, ev, diags) {
                            self.environments.push(env);
                        }
                    }
                }
                "drift" => {
                    let Some(t) = s.table(v, "drift", diags) else { continue };
                    for (dk, dv) in s.entries(t) {
                        match dk.get_ref().as_ref() {
                            "ignore" => self.parse_drift_ignore(&s, dv, diags),
                            other => diags.push(s.unknown(other, dk, "[drift]", &["ignore"])),
                        }
                    }
                }
                other => diags.push(s.unknown(other, k, "infra.toml", &["project", "state", "environments", "drift"])),
            }
        }
        if !project_seen {
            diags.push(missing("[project]", root_span));
        }
        if !layers_set {
            self.layers = default_layers();
        }
        if self.environments.is_empty() && !diags.has_errors() {
            diags.push(
                Diagnostic::error("E5009", "infra.toml declares no environments")
                    .at(Span::new(file, 0, 0))
                    .help("add a section such as [environments.dev] (it may be empty)"),
            );
        }
        // Per-layer overrides must name a configured layer.
        let names: Vec<String> = self.layers.iter().map(|l| l.name.clone()).collect();
        for env in &self.environments {
            for (layer, params) in &env.layer_parameters {
                if !names.contains(layer) {
                    let span = params.values().find_map(|p| p.span).unwrap_or(env.span);
                    let mut d = Diagnostic::error(
                        "E5010",
                        format!("environment `{}` sets parameters for unknown layer `{layer}`", env.name),
                    )
                    .at(span)
                    .label("not a configured layer");
                    if let Some(m) = did_you_mean(layer, names.iter().map(String::as_str)) {
                        d = d.help(format!("did you mean `{m}`?"));
                    }
                    diags.push(d);
                }
            }
        }
    }

    fn parse_local_files_outside(&mut self, s: &Settings, v: &TSpanned<DeValue>, diags: &mut Diagnostics) {
        const WHAT: &str = "a list of directory paths";
        let Some(items) = v.get_ref().as_array() else {
            diags.push(s.wrong_type(v, "project.local_files_outside", WHAT));
            return;
        };
        for item in items {
            match item.get_ref().as_str() {
                Some(d) if !d.is_empty() => self.local_files_outside.push(PathBuf::from(d)),
                Some(_) => diags.push(
                    Diagnostic::error("E5004", "`project.local_files_outside` holds an empty path")
                        .at(s.span(item.span()))
                        .label("empty path"),
                ),
                None => diags.push(s.wrong_type(item, "project.local_files_outside", WHAT)),
            }
        }
    }

    /// `[[drift.ignore]]` entries: `type` (a resource type) or `resource` (`layer.LogicalId`),
    /// `property` (`/`-separated), and a `reason` the report repeats.
    fn parse_drift_ignore(&mut self, s: &Settings, v: &TSpanned<DeValue>, diags: &mut Diagnostics) {
        const WHAT: &str = "a list of tables with `type` or `resource`, `property` and `reason`";
        let Some(items) = v.get_ref().as_array() else {
            diags.push(s.wrong_type(v, "drift.ignore", WHAT));
            return;
        };
        for item in items {
            let Some(t) = s.table(item, "drift.ignore", diags) else { continue };
            let (mut target, mut property, mut reason) = (None, None, None);
            for (ik, iv) in s.entries(t) {
                match ik.get_ref().as_ref() {
                    "type" => target = s.string(iv, "drift.ignore.type", diags).map(crate::drift::IgnoreTarget::Type),
                    "resource" => {
                        if let Some(r) = s.string(iv, "drift.ignore.resource", diags) {
                            match r.split_once('.') {
                                Some((layer, id)) if !layer.is_empty() && !id.is_empty() => {
                                    target = Some(crate::drift::IgnoreTarget::Resource {
                                        layer: layer.to_string(),
                                        logical_id: id.to_string(),
                                    })
                                }
                                _ => diags.push(
                                    Diagnostic::error(
                                        "E5004",
                                        format!("`drift.ignore.resource` must be `layer.LogicalId`, found `{r}`"),
                                    )
                                    .at(s.span(iv.span()))
                                    .label("expected `layer.LogicalId`"),
                                ),
                            }
                        }
                    }
                    "property" => property = s.string(iv, "drift.ignore.property", diags),
                    "reason" => reason = s.string(iv, "drift.ignore.reason", diags),
                    other => diags.push(s.unknown(
                        other,
                        ik,
                        "[[drift.ignore]]",
                        &["type", "resource", "property", "reason"],
                    )),
                }
            }
            let span = s.span(item.span());
            match (target, property) {
                (Some(target), Some(property)) => self.drift_ignore.push(crate::drift::IgnoreRule {
                    target,
                    property: property.trim_matches('/').to_string(),
                    reason: reason.unwrap_or_else(|| "ignored in infra.toml".to_string()),
                }),
                (None, _) if t.get("type").is_none() && t.get("resource").is_none() => {
                    diags.push(missing("drift.ignore.type` or `drift.ignore.resource", span))
                }
                (_, None) if t.get("property").is_none() => diags.push(missing("drift.ignore.property", span)),
                _ => {}
            }
        }
    }

    fn parse_layers(&mut self, s: &Settings, v: &TSpanned<DeValue>, diags: &mut Diagnostics) {
        let Some(items) = v.get_ref().as_array() else {
            diags.push(s.wrong_type(v, "project.layers", "a list of layer names"));
            return;
        };
        if items.is_empty() {
            diags.push(
                Diagnostic::error("E5004", "`project.layers` must name at least one layer")
                    .at(s.span(v.span()))
                    .label("empty list")
                    .help("remove the key to use the default layers"),
            );
        }
        for item in items.iter() {
            let Some(name) = s.string(item, "project.layers", diags) else { continue };
            let span = s.span(item.span());
            if !valid_name(&name) {
                diags.push(invalid_name("layer name", &name, span));
            } else if self.layers.iter().any(|l| l.name == name) {
                diags.push(Diagnostic::error("E5008", format!("layer `{name}` is listed twice")).at(span));
            } else {
                self.layers.push(Layer { name, ..Default::default() });
            }
        }
    }

    fn parse_environment(
        &self,
        s: &Settings,
        key: &TSpanned<toml::de::DeString>,
        value: &TSpanned<DeValue>,
        diags: &mut Diagnostics,
    ) -> Option<Environment> {
        let name = key.get_ref().to_string();
        let span = s.span(key.span());
        if !valid_name(&name) {
            diags.push(invalid_name("environment name", &name, span));
        }
        let t = s.table(value, &format!("environments.{name}"), diags)?;
        let mut env = Environment {
            name: name.clone(),
            span,
            region: None,
            endpoint_url: None,
            retry_timeout: None,
            parameters: IndexMap::new(),
            layer_parameters: IndexMap::new(),
        };
        for (k, v) in s.entries(t) {
            let path = format!("environments.{name}.{}", k.get_ref());
            match k.get_ref().as_ref() {
                "region" => env.region = s.string(v, &path, diags),
                "endpoint_url" => {
                    env.endpoint_url = s.string(v, &path, diags);
                    if let Some(u) = &env.endpoint_url {
                        if !(u.starts_with("http://") || u.starts_with("https://")) {
                            diags.push(
                                Diagnostic::error("E5004", format!("`{path}` must be an http:// or https:// URL"))
                                    .at(s.span(v.span()))
                                    .label("not a URL"),
                            );
                        }
                    }
                }
                "retry_timeout" => env.retry_timeout = s.duration(v, &path, diags),
                "parameters" => env.parameters = s.parameters(v, &path, diags),
                "layers" => {
                    let Some(lt) = s.table(v, &path, diags) else { continue };
                    for (lk, lv) in s.entries(lt) {
                        let lpath = format!("{path}.{}", lk.get_ref());
                        let Some(inner) = s.table(lv, &lpath, diags) else { continue };
                        let mut params = IndexMap::new();
                        for (ik, iv) in s.entries(inner) {
                            match ik.get_ref().as_ref() {
                                "parameters" => params = s.parameters(iv, &format!("{lpath}.parameters"), diags),
                                other => diags.push(s.unknown(other, ik, &format!("[{lpath}]"), &["parameters"])),
                            }
                        }
                        env.layer_parameters.insert(lk.get_ref().to_string(), params);
                    }
                }
                other => diags.push(s.unknown(
                    other,
                    k,
                    &format!("[environments.{name}]"),
                    &["region", "endpoint_url", "retry_timeout", "parameters", "layers"],
                )),
            }
        }
        Some(env)
    }

    // ------------------------------------------------------------ stacks/

    fn discover_layers(&mut self, diags: &mut Diagnostics) {
        let stacks = self.dir.join("stacks");
        if !stacks.is_dir() {
            return;
        }
        let entries = match sorted_entries(&stacks) {
            Ok(e) => e,
            Err(e) => {
                diags.push(Diagnostic::error("E5012", format!("failed to read {}: {e}", stacks.display())));
                return;
            }
        };
        let names: Vec<String> = self.layers.iter().map(|l| l.name.clone()).collect();
        for path in entries {
            let fname = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            if fname.starts_with('.') {
                continue;
            }
            if !path.is_dir() {
                if is_template_file(&path) {
                    diags.push(
                        Diagnostic::error("E5006", format!("template `stacks/{fname}` is not inside a layer folder"))
                            .note(format!("Put templates in stacks/<layer>/, with layers: {}.", names.join(", "))),
                    );
                }
                continue;
            }
            if !names.contains(&fname) {
                let mut d = Diagnostic::error("E5006", format!("folder `stacks/{fname}` is not a configured layer"))
                    .note(format!("Configured layers, lowest first: {}.", names.join(", ")));
                if let Some(m) = did_you_mean(&fname, names.iter().map(String::as_str)) {
                    d = d.help(format!("did you mean `{m}`?"));
                } else {
                    d = d.help("add it to `layers` under [project] in infra.toml, or rename the folder");
                }
                diags.push(d);
            }
        }
        for i in 0..self.layers.len() {
            let Some(name) = self.layers.get(i).map(|l| l.name.clone()) else { continue };
            let folder = stacks.join(&name);
            if !folder.is_dir() {
                continue;
            }
            let files = match sorted_entries(&folder) {
                Ok(f) => f,
                Err(e) => {
                    diags.push(Diagnostic::error("E5012", format!("failed to read {}: {e}", folder.display())));
                    continue;
                }
            };
            let mut layer = Layer { name: name.clone(), ..Default::default() };
            for path in files.into_iter().filter(|p| p.is_file() && is_template_file(p)) {
                let display =
                    format!("stacks/{name}/{}", path.file_name().map(|f| f.to_string_lossy()).unwrap_or_default());
                if let Some(f) = load_stack_file(&self.dir, &mut self.sources, &path, &display, diags) {
                    let t = model::parse(&f.root, diags);
                    layer.template.merge(t, diags);
                    layer.files.push(f);
                }
            }
            if let Some(slot) = self.layers.get_mut(i) {
                *slot = layer;
            }
        }
    }
}

/// Load one template file and expand its includes.
pub fn load_stack_file(
    project_dir: &Path,
    sources: &mut SourceMap,
    path: &Path,
    display: &str,
    diags: &mut Diagnostics,
) -> Option<StackFile> {
    let (file, root) = match crate::validate::load_template(sources, path, display) {
        Ok(x) => x,
        Err(errors) => {
            diags.extend(errors);
            return None;
        }
    };
    let mut root = root;
    let mut loader = |p: &Path| {
        let shown = p
            .strip_prefix(project_dir.canonicalize().unwrap_or_else(|_| project_dir.to_path_buf()))
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string());
        crate::validate::load_template(sources, p, &shown).map(|(_, n)| n)
    };
    crate::template::include::apply(&mut root, project_dir, &mut loader, diags);
    Some(StackFile { path: path.to_path_buf(), file, root })
}

fn sorted_entries(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        out.push(e?.path());
    }
    out.sort();
    Ok(out)
}

/// The values `NoEcho` parameters of `template` take with these `given` values (else their
/// defaults): the whole value, and for list parameters each item too.
pub fn no_echo_values(template: &Template, given: &IndexMap<String, ParamInput>) -> Vec<String> {
    let mut out = Vec::new();
    for (name, p) in template.parameters.iter().filter(|(_, p)| p.no_echo) {
        let value = match given.get(name) {
            Some(v) => Some(v.value.clone()),
            None => p.default.as_ref().and_then(|d| match &d.kind {
                NodeKind::String(s) | NodeKind::Number(s) => Some(s.clone()),
                _ => None,
            }),
        };
        let Some(value) = value.filter(|v| !v.is_empty()) else { continue };
        let list = matches!(
            p.param_type,
            ParamType::CommaDelimitedList | ParamType::NumberList | ParamType::AwsSpecific { list: true, .. }
        );
        if list {
            out.extend(value.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_string));
        }
        out.push(value);
    }
    out
}

pub fn is_template_file(p: &Path) -> bool {
    p.extension().and_then(|e| e.to_str()).is_some_and(|e| TEMPLATE_EXTENSIONS.contains(&e))
}

fn default_layers() -> Vec<Layer> {
    DEFAULT_LAYERS.iter().map(|l| Layer { name: l.to_string(), ..Default::default() }).collect()
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Parse a duration such as `"90s"`, `"5m"` or `"1h 30m"` (what `retry_timeout` and
/// `INFRA_RETRY_TIMEOUT` take); the error says what is wrong with it.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty".to_string());
    }
    humantime::parse_duration(text).map_err(|e| e.to_string())
}

fn invalid_name(what: &str, name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E5008", format!("invalid {what} `{name}`"))
        .at(span)
        .label("only letters, digits, `-` and `_` are allowed")
        .note("Names become part of stack names and state paths.")
}

fn missing(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E5005", format!("infra.toml is missing `{what}`"))
        .at(span)
        .label(format!("`{what}` is required"))
}

fn pv_span(t: &DeTable, key: &str) -> Option<std::ops::Range<usize>> {
    t.get(key).map(|v| v.span())
}

/// Helpers over the spanned TOML tree of one file.
struct Settings {
    file: FileId,
}

impl Settings {
    fn span(&self, r: std::ops::Range<usize>) -> Span {
        Span::new(self.file, r.start, r.end)
    }

    /// Entries in document order (the TOML map itself is sorted by key).
    fn entries<'t, 'i>(
        &self,
        t: &'t DeTable<'i>,
    ) -> Vec<(&'t TSpanned<toml::de::DeString<'i>>, &'t TSpanned<DeValue<'i>>)> {
        let mut v: Vec<_> = t.iter().collect();
        v.sort_by_key(|(k, _)| k.span().start);
        v
    }

    fn table<'t, 'i>(
        &self,
        v: &'t TSpanned<DeValue<'i>>,
        path: &str,
        diags: &mut Diagnostics,
    ) -> Option<&'t DeTable<'i>> {
        match v.get_ref().as_table() {
            Some(t) => Some(t),
            None => {
                diags.push(self.wrong_type(v, path, "a table"));
                None
            }
        }
    }

    fn string(&self, v: &TSpanned<DeValue>, path: &str, diags: &mut Diagnostics) -> Option<String> {
        match v.get_ref().as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                diags.push(self.wrong_type(v, path, "a string"));
                None
            }
        }
    }

    /// A duration written like `"90s"`, `"5m"` or `"1h 30m"`.
    fn duration(&self, v: &TSpanned<DeValue>, path: &str, diags: &mut Diagnostics) -> Option<Duration> {
        let Some(text) = v.get_ref().as_str() else {
            diags.push(self.wrong_type(v, path, "a duration such as \"5m\""));
            return None;
        };
        match parse_duration(text) {
            Ok(d) => Some(d),
            Err(why) => {
                diags.push(
                    Diagnostic::error("E5013", format!("`{path}` is not a duration: `{text}`"))
                        .at(self.span(v.span()))
                        .label(why)
                        .note("Write a number and a unit, such as \"90s\", \"5m\" or \"1h 30m\"."),
                );
                None
            }
        }
    }

    fn wrong_type(&self, v: &TSpanned<DeValue>, path: &str, expected: &str) -> Diagnostic {
        Diagnostic::error("E5004", format!("`{path}` must be {expected}, found {}", v.get_ref().type_str()))
            .at(self.span(v.span()))
            .label(format!("expected {expected}"))
    }

    fn unknown(&self, name: &str, key: &TSpanned<toml::de::DeString>, section: &str, known: &[&str]) -> Diagnostic {
        let mut d = Diagnostic::error("E5003", format!("unknown key `{name}` in {section}"))
            .at(self.span(key.span()))
            .label("unknown key");
        match did_you_mean(name, known.iter().copied()) {
            Some(m) => d = d.help(format!("did you mean `{m}`?")),
            None => d = d.note(format!("Known keys: {}.", known.join(", "))),
        }
        d
    }

    /// A parameters table: scalar values become strings, lists become comma-separated.
    fn parameters(&self, v: &TSpanned<DeValue>, path: &str, diags: &mut Diagnostics) -> IndexMap<String, ParamInput> {
        let mut out = IndexMap::new();
        let Some(t) = self.table(v, path, diags) else { return out };
        for (k, v) in self.entries(t) {
            let scalar = |v: &DeValue| -> Option<String> {
                match v {
                    DeValue::String(s) => Some(s.to_string()),
                    DeValue::Integer(i) => Some(i.as_str().replace('_', "")),
                    DeValue::Float(f) => Some(f.as_str().replace('_', "")),
                    DeValue::Boolean(b) => Some(b.to_string()),
                    _ => None,
                }
            };
            let value = match v.get_ref() {
                DeValue::Array(items) => {
                    items.iter().map(|i| scalar(i.get_ref())).collect::<Option<Vec<_>>>().map(|v| v.join(","))
                }
                other => scalar(other),
            };
            match value {
                Some(value) => {
                    out.insert(k.get_ref().to_string(), ParamInput { value, span: Some(self.span(v.span())) });
                }
                None => diags.push(self.wrong_type(
                    v,
                    &format!("{path}.{}", k.get_ref()),
                    "a string, a number, a boolean or a list of them",
                )),
            }
        }
        out
    }
}
