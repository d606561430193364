//! The validation pipeline: load → transform → model → schema → lints → evaluation → graph →
//! layer checks, collecting every diagnostic, for a whole project or for single files; and
//! [`load_stacks`], the same pipeline for one environment, for the engine.
//!
//! Codes: E1007 a layer or file with no resources, E3001 resource cycle (see
//! [`crate::graph`]), E3010 import of an export of the same layer, E3011 import of an export of
//! a higher layer, E3012 import of an export nobody declares, E3013 duplicate export name,
//! E5011 an environment parameter no layer declares.

use crate::diag::{did_you_mean, Diagnostic, Diagnostics};
use crate::graph;
use crate::project::{Environment, Project};
use crate::source::{FileId, SourceMap, Span};
use crate::template::eval::{self, EvalInput, Evaluated, ParamInput};
use crate::template::load;
use crate::template::model::{self, Template};
use crate::template::node::Node;
use crate::template::DesiredStack;
use crate::value::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The region single files are evaluated in when no project says otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";

/// What a validation run found.
#[derive(Debug, Default)]
pub struct Validation {
    pub sources: SourceMap,
    /// Sorted and deduplicated.
    pub diags: Diagnostics,
    /// Configured layers that have a folder under `stacks/`.
    pub layers: usize,
    pub environments: usize,
    /// Resources declared across all templates checked.
    pub resources: usize,
    /// Template files checked on their own ([`validate_files`]).
    pub files: usize,
    /// Values of `NoEcho` parameters in what was checked, to mask when showing diagnostics.
    pub secrets: Vec<String>,
}

fn template_files_under(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Diagnostics) {
    let mut entries = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect::<Vec<_>>(),
        Err(e) => {
            diags.push(
                Diagnostic::error(load::codes::READ, format!("failed to read folder `{}`", dir.display()))
                    .note(format!("{e}.")),
            );
            return;
        }
    };
    entries.sort();
    for p in entries {
        let hidden = p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || p.is_symlink() {
            continue;
        }
        if p.is_dir() {
            template_files_under(&p, out, diags);
        } else if crate::project::is_template_file(&p) {
            out.push(p);
        }
    }
}

/// Read one template file into the source map and parse it.
pub fn load_template(sources: &mut SourceMap, path: &Path, display: &str) -> Result<(FileId, Node), Diagnostics> {
    load::load_file(sources, path, display, &load::Limits::default()).map_err(|d| Diagnostics::from_iter([d]))
}

/// Schema and lint checks of one loaded template.
fn check_template(root: &Node, diags: &mut Diagnostics) {
    crate::schema::check_template(root, diags);
    crate::lint::check_template(root, diags);
}

/// Validate a project in the given environments (all of them when `envs` is empty).
pub fn validate_project(dir: &Path, envs: &[String]) -> Validation {
    let (project, mut diags) = Project::read(dir);
    for layer in project.layer_details() {
        for f in &layer.files {
            check_template(&f.root, &mut diags);
        }
    }
    let mut selected: Vec<&Environment> = Vec::new();
    if envs.is_empty() {
        selected.extend(project.environments());
    } else {
        for e in envs {
            match project.select_environment(Some(e)) {
                Ok(env) => selected.push(env),
                Err(d) => diags.push(d),
            }
        }
    }
    let mut secrets = Vec::new();
    for env in &selected {
        evaluate_environment(&project, env, eval::PLACEHOLDER_ACCOUNT_ID, &BTreeMap::new(), &mut diags);
        secrets.extend(project.secrets(&env.name));
    }
    let resources = project.layer_details().iter().map(|l| l.template.resources.len()).sum();
    // The layers that exist: a configured layer without a folder under `stacks/` is not counted.
    let stacks = project.dir.join("stacks");
    let layers = project.layer_details().iter().filter(|l| stacks.join(&l.name).is_dir()).count();
    Validation {
        diags: finish(diags),
        layers,
        environments: selected.len(),
        resources,
        files: 0,
        secrets,
        sources: project.sources,
    }
}

/// Validate files on their own: each template is one stack, parameters take their defaults,
/// and a parameter with neither default nor value is left unresolved.
/// A folder stands for every template file below it.
pub fn validate_files(paths: &[PathBuf]) -> Validation {
    validate_files_in(paths, None)
}

/// [`validate_files`], with the parameter values an environment of the enclosing project gives
/// a file's layer (the folder under `stacks/` it sits in), and its region.
pub fn validate_files_in(paths: &[PathBuf], env: Option<&str>) -> Validation {
    let mut sources = SourceMap::new();
    let mut diags = Diagnostics::new();
    let mut resources = 0;
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            template_files_under(path, &mut files, &mut diags);
        } else {
            files.push(path.clone());
        }
    }
    let count = files.len();
    let mut secrets = Vec::new();
    let mut settings_by_dir: HashMap<PathBuf, Settings> = HashMap::new();
    for path in &files {
        let display = path.display().to_string();
        let project_dir = project_root(path);
        let Some(f) = crate::project::load_stack_file(&project_dir, &mut sources, path, &display, &mut diags) else {
            continue;
        };
        check_template(&f.root, &mut diags);
        let t = model::parse(&f.root, &mut diags);
        model::check_has_resources(&f.root, &t, &mut diags);
        resources += t.resources.len();
        // The enclosing project's name, region and environment, when there is one and it reads
        // cleanly; the file's layer is its folder under stacks/, else the file's own name.
        if !settings_by_dir.contains_key(&project_dir) {
            let (settings, problems) = Project::read_settings(&project_dir);
            // Parameter values point into infra.toml: give it a place in this source map too.
            let file = settings
                .sources
                .files()
                .next()
                .map(|(id, f)| (id, sources.add(&f.path, f.display.clone(), f.text.clone())));
            let usable = !problems.has_errors() && !settings.name.is_empty();
            settings_by_dir.insert(project_dir.clone(), (usable.then_some(settings), file));
        }
        let Some((settings, settings_file)) = settings_by_dir.get(&project_dir) else { continue };
        let project = settings.as_ref();
        let layer = enclosing_layer(&project_dir, path, project)
            .unwrap_or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
        let environment = match (project, env) {
            (Some(p), Some(e)) => match p.select_environment(Some(e)) {
                Ok(e) => Some(e),
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            },
            _ => None,
        };
        let mut parameters = environment.map(|e| e.parameters_for(&layer)).unwrap_or_default();
        if let Some((from, to)) = settings_file {
            for p in parameters.values_mut() {
                p.span = p.span.map(|s| if s.file == *from { Span { file: *to, ..s } } else { s });
            }
        }
        let region = match (project, environment) {
            (Some(p), Some(e)) => p.region(&e.name).to_string(),
            (Some(p), None) => p.region.clone(),
            _ => DEFAULT_REGION.to_string(),
        };
        let input = EvalInput {
            project: project.map(|p| p.name.as_str()).unwrap_or("infra"),
            environment: environment.map(|e| e.name.as_str()).unwrap_or("validate"),
            layer: &layer,
            region: &region,
            account_id: eval::PLACEHOLDER_ACCOUNT_ID,
            parameters: &parameters,
            exports: &BTreeMap::new(),
            allow_unresolved: true,
        };
        secrets.extend(crate::project::no_echo_values(&t, &parameters));
        let ev = eval::evaluate(&t, &input, &mut diags);
        graph::check_stack(&ev.stack, &mut diags);
    }
    Validation { sources, diags: finish(diags), layers: 0, environments: 0, resources, files: count, secrets }
}

/// An enclosing project's settings (when they read cleanly) and where its infra.toml moved
/// from (its own source map) to (the validation's).
type Settings = (Option<Project>, Option<(FileId, FileId)>);

/// The configured layer whose folder (`stacks/<layer>/`) holds `path`.
fn enclosing_layer(project_dir: &Path, path: &Path, project: Option<&Project>) -> Option<String> {
    let project = project?;
    let abs = std::path::absolute(path).ok()?;
    let folder = abs.parent()?;
    let name = folder.file_name()?.to_str()?;
    let stacks = std::path::absolute(project_dir.join("stacks")).ok()?;
    (folder.parent() == Some(stacks.as_path()) && project.layers().any(|l| l == name)).then(|| name.to_string())
}

/// Evaluate every layer of a project for one environment, for planning and applying.
/// `exports` holds the values of lower layers' exports known from state.
pub fn load_stacks(
    project: &Project,
    env: &str,
    account_id: &str,
    exports: &BTreeMap<String, Value>,
) -> Result<Vec<DesiredStack>, Diagnostics> {
    let mut diags = Diagnostics::new();
    let env = match project.select_environment(Some(env)) {
        Ok(e) => e,
        Err(d) => return Err(Diagnostics::from_iter([d])),
    };
    for layer in project.layer_details() {
        for f in &layer.files {
            check_template(&f.root, &mut diags);
        }
    }
    let stacks = evaluate_environment(project, env, account_id, exports, &mut diags);
    if diags.has_errors() {
        Err(finish(diags))
    } else {
        Ok(stacks)
    }
}

/// The nearest ancestor with an `infra.toml`, else the file's own folder: includes of a
/// single file may reach anywhere inside it.
fn project_root(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut dir = abs.parent();
    while let Some(d) = dir {
        if d.join(crate::project::SETTINGS_FILE).is_file() {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    abs.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
}

/// Sort, and drop repeats (the same problem found in several environments).
fn finish(diags: Diagnostics) -> Diagnostics {
    let mut seen = HashSet::new();
    let mut out: Diagnostics = diags
        .into_iter()
        .filter(|d| seen.insert((d.code, d.span.map(|s| (s.file, s.start, s.end)), d.message.clone(), d.is_error())))
        .collect();
    out.sort();
    out
}

fn evaluate_environment(
    project: &Project,
    env: &Environment,
    account_id: &str,
    exports: &BTreeMap<String, Value>,
    diags: &mut Diagnostics,
) -> Vec<DesiredStack> {
    let region = project.region(&env.name).to_string();
    let mut evaluated: Vec<(String, Evaluated)> = Vec::new();
    for layer in project.layer_details() {
        if layer.files.is_empty() {
            continue;
        }
        check_layer_has_resources(layer.files.first().map(|f| &f.root), &layer.template, diags);
        let params = env.parameters_for(&layer.name);
        let input = EvalInput {
            project: &project.name,
            environment: &env.name,
            layer: &layer.name,
            region: &region,
            account_id,
            parameters: &params,
            exports,
            allow_unresolved: false,
        };
        let mut ev = eval::evaluate(&layer.template, &input, diags);
        crate::template::nested::attach_templates(&project.dir, &mut ev.stack, diags);
        graph::check_stack(&ev.stack, diags);
        evaluated.push((layer.name.clone(), ev));
    }
    check_parameters_used(project, env, diags);
    check_layers(project, &evaluated, diags);
    evaluated.into_iter().map(|(_, e)| e.stack).collect()
}

fn check_layer_has_resources(root: Option<&Node>, t: &Template, diags: &mut Diagnostics) {
    if let (Some(root), true) = (root, t.resources.is_empty()) {
        model::check_has_resources(root, t, diags);
    }
}

/// Every parameter value in infra.toml must be declared by some layer it applies to, so that
/// a misspelt name does not silently fall back to a default.
fn check_parameters_used(project: &Project, env: &Environment, diags: &mut Diagnostics) {
    let declared_by =
        |layer: &str, name: &str| project.layer(layer).is_some_and(|l| l.template.parameters.contains_key(name));
    let all: Vec<&str> =
        project.layer_details().iter().flat_map(|l| l.template.parameters.keys().map(String::as_str)).collect();
    let report = |name: &str, input: &ParamInput, scope: String, candidates: Vec<&str>, diags: &mut Diagnostics| {
        let mut d = Diagnostic::error(
            "E5011",
            format!("parameter `{name}` of environment `{}` is not declared by {scope}", env.name),
        )
        .label("unused parameter value");
        if let Some(span) = input.span {
            d = d.at(span);
        }
        if let Some(m) = did_you_mean(name, candidates) {
            d = d.help(format!("did you mean `{m}`?"));
        }
        diags.push(d);
    };
    for (name, input) in &env.parameters {
        if !project.layer_details().iter().any(|l| declared_by(&l.name, name)) {
            report(name, input, "any layer".into(), all.clone(), diags);
        }
    }
    for (layer, params) in &env.layer_parameters {
        let Some(l) = project.layer(layer) else { continue };
        for (name, input) in params {
            if !declared_by(layer, name) {
                report(
                    name,
                    input,
                    format!("layer `{layer}`"),
                    l.template.parameters.keys().map(String::as_str).collect(),
                    diags,
                );
            }
        }
    }
}

/// Exports are unique across the project, and a layer imports only exports of lower layers.
fn check_layers(project: &Project, evaluated: &[(String, Evaluated)], diags: &mut Diagnostics) {
    let order: Vec<&str> = project.layers().collect();
    let rank = |l: &str| order.iter().position(|x| *x == l).unwrap_or(usize::MAX);
    let mut exports: BTreeMap<&str, (&str, &str, Span)> = BTreeMap::new();
    for (layer, ev) in evaluated {
        for (name, output, span) in &ev.exports {
            if let Some((first_layer, first_output, first_span)) = exports.get(name.as_str()) {
                diags.push(
                    Diagnostic::error("E3013", format!("export name `{name}` is declared twice: output `{output}` of layer `{layer}` and output `{first_output}` of layer `{first_layer}`"))
                        .at(*span)
                        .label("duplicate export name")
                        .with_secondary(*first_span, "first declared here")
                        .note("Export names are unique per account and region; prefix them with ${AWS::StackName}."),
                );
            } else {
                exports.insert(name, (layer, output, *span));
            }
        }
    }
    for (layer, ev) in evaluated {
        for import in &ev.imports {
            let name = import.value.as_str();
            match exports.get(name) {
                None => {
                    let mut d =
                        Diagnostic::error("E3012", format!("layer `{layer}` imports `{name}`, which no layer exports"))
                            .at(import.span)
                            .label("unknown export");
                    if let Some(m) = did_you_mean(name, exports.keys().copied()) {
                        d = d.help(format!("did you mean `{m}`?"));
                    } else {
                        d = d.help("declare it in a lower layer's Outputs with `Export: {Name: ...}`");
                    }
                    diags.push(d);
                }
                Some((from, output, span)) if rank(from) >= rank(layer) => {
                    let same = from == layer;
                    let (code, message) = if same {
                        (
                            "E3010",
                            format!("layer `{layer}` imports `{name}`, which it exports itself (output `{output}`)"),
                        )
                    } else {
                        ("E3011", format!("layer `{layer}` imports `{name}` from higher layer `{from}`"))
                    };
                    diags.push(
                        Diagnostic::error(code, message)
                            .at(import.span)
                            .label(if same {
                                "use Ref or Fn::GetAtt within a layer"
                            } else {
                                "imports may only come from lower layers"
                            })
                            .with_secondary(*span, format!("exported by layer `{from}`"))
                            .note(format!(
                                "Layers are applied in order ({}); a layer can import only what a lower layer exports.",
                                order.join(", ")
                            )),
                    );
                }
                Some(_) => {}
            }
        }
    }
}
