//! `infra state list|show|rm`: read and edit recorded state without calling AWS.

use super::{Format, Global};
use anyhow::bail;
use infra_core::diag::Diagnostic;
use infra_core::project::Project;
use infra_core::render::diag as render;
use infra_core::state::{LayerStore, Loaded, ObjectKey, ResourceRecord};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Read and edit recorded state (no AWS calls)
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    List(ListArgs),
    Show(ShowArgs),
    Rm(RmArgs),
}

/// List the resources in state, as `layer.LogicalId` addresses with type and physical ID
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra state list
  infra state list --layer backend
  infra state list --env prod --format json")]
pub struct ListArgs {
    /// Only this layer
    #[arg(long)]
    pub layer: Option<String>,
}

/// Show everything recorded for one resource: type, physical ID, properties as applied,
/// attributes, dependencies and policies
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra state show backend.Endpoint
  infra state show shared.ModelBucket --format json")]
pub struct ShowArgs {
    /// The resource, as `layer.LogicalId` (see `infra state list`)
    pub address: String,
}

/// Forget resources without deleting them
///
/// Removes each ADDRESS from state, so infra stops managing it; the AWS resource itself is
/// left exactly as it is. The layer is locked while its state is rewritten, the state serial
/// increases and the previous file is kept as `<layer>.json.backup`. If the resource is
/// still in the template, the next plan will create it again.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra state rm backend.Endpoint
  infra state rm shared.ModelBucket shared.ModelBucketPolicy --env prod
  infra state rm backend.Endpoint --lock-timeout 2m")]
pub struct RmArgs {
    /// The resources, as `layer.LogicalId` (see `infra state list`)
    #[arg(required = true)]
    pub addresses: Vec<String>,
    /// How long to wait for the layer's lock when another operation holds it
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "0s")]
    pub lock_timeout: Duration,
}

pub fn run(cmd: Command, global: &Global) -> anyhow::Result<ExitCode> {
    let scope = match StateScope::from_project(global) {
        Ok(scope) => scope,
        Err(code) => return Ok(code),
    };
    match cmd {
        Command::List(args) => list(&scope, args, global.format),
        Command::Show(args) => show(&scope, args, global.format),
        Command::Rm(args) => rm(&scope, args, global.format),
    }
}

fn list(scope: &StateScope, args: ListArgs, format: Format) -> anyhow::Result<ExitCode> {
    let mut rows = Vec::new();
    for layer in scope.selected(args.layer.as_deref())? {
        let loaded = scope.load(layer)?;
        for (_, record) in loaded.state.objects() {
            rows.push((layer, record.clone()));
        }
    }
    match format {
        Format::Json => {
            let json: Vec<_> = rows.iter().map(|(layer, r)| summary_json(layer, r)).collect();
            super::print_json(&serde_json::Value::from(json));
        }
        Format::Human if rows.is_empty() => outln!("No resources in state (env {}).", scope.env),
        Format::Human => {
            let table: Vec<[String; 3]> = rows
                .iter()
                .map(|(layer, r)| [format!("{layer}.{}", r.logical_id), r.resource_type.clone(), r.physical_id.clone()])
                .collect();
            print_table(["ADDRESS", "TYPE", "PHYSICAL ID"], &table);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints left-aligned columns separated by two spaces.
fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        outln!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn show(scope: &StateScope, args: ShowArgs, format: Format) -> anyhow::Result<ExitCode> {
    let (layer, logical_id) = scope.parse_address(&args.address)?;
    let loaded = scope.load(layer)?;
    let record = find(scope, layer, logical_id, &loaded)?;
    match format {
        Format::Json => super::print_json(&record_json(layer, record)),
        Format::Human => {
            let depends_on =
                if record.depends_on.is_empty() { "(none)".to_string() } else { record.depends_on.join(", ") };
            outln!("# {layer}.{logical_id} ({})", record.resource_type);
            outln!("physical_id           = {}", record.physical_id);
            outln!("deletion_policy       = {:?}", record.deletion_policy);
            outln!("update_replace_policy = {:?}", record.update_replace_policy);
            outln!("depends_on            = {depends_on}");
            let redactor = super::redactor();
            let attributes = serde_json::json!(record.attributes);
            outln!("properties            = {}", serde_json::to_string_pretty(&redactor.json(&record.properties))?);
            outln!("attributes            = {}", serde_json::to_string_pretty(&redactor.json(&attributes))?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Address, type and physical ID: what identifies a resource in listings.
fn summary_json(layer: &str, r: &ResourceRecord) -> serde_json::Value {
    serde_json::json!({
        "address": format!("{layer}.{}", r.logical_id),
        "layer": layer,
        "logical_id": r.logical_id,
        "type": r.resource_type,
        "physical_id": r.physical_id,
    })
}

/// Everything recorded for a resource.
fn record_json(layer: &str, r: &ResourceRecord) -> serde_json::Value {
    let mut json = summary_json(layer, r);
    if let Some(fields) = json.as_object_mut() {
        fields.insert("properties".into(), r.properties.clone());
        fields.insert("attributes".into(), serde_json::json!(r.attributes));
        fields.insert("depends_on".into(), serde_json::json!(r.depends_on));
        fields.insert("deletion_policy".into(), serde_json::json!(r.deletion_policy));
        fields.insert("update_replace_policy".into(), serde_json::json!(r.update_replace_policy));
    }
    json
}

fn find<'a>(
    scope: &StateScope,
    layer: &str,
    logical_id: &str,
    loaded: &'a Loaded,
) -> anyhow::Result<&'a ResourceRecord> {
    if let Some(record) = loaded.state.get(&ObjectKey::parse(logical_id)) {
        return Ok(record);
    }
    let mut message = format!("find {layer}.{logical_id} in state (env {}): no such resource", scope.env);
    let known: Vec<String> = loaded.state.objects().into_iter().map(|(k, _)| k.to_string()).collect();
    if let Some(near) = infra_core::diag::did_you_mean(logical_id, known.iter().map(String::as_str)) {
        message.push_str(&format!("; did you mean {layer}.{near}?"));
    } else if loaded.state.object_count() == 0 {
        message.push_str(&format!("; layer {layer} has no resources in state"));
    }
    bail!(message)
}

fn rm(scope: &StateScope, args: RmArgs, format: Format) -> anyhow::Result<ExitCode> {
    // Group by layer, keeping first-seen order, and check every address before changing
    // anything, so a typo in the last one does not leave the first ones half done.
    let mut by_layer: Vec<(&str, Vec<&str>)> = Vec::new();
    for address in &args.addresses {
        let (layer, logical_id) = scope.parse_address(address)?;
        match by_layer.iter_mut().find(|(l, _)| *l == layer) {
            Some((_, ids)) if ids.contains(&logical_id) => {}
            Some((_, ids)) => ids.push(logical_id),
            None => by_layer.push((layer, vec![logical_id])),
        }
    }
    for (layer, ids) in &by_layer {
        let loaded = scope.load(layer)?;
        refuse_in_flight(scope, layer, &loaded)?;
        for id in ids {
            find(scope, layer, id, &loaded)?;
        }
    }

    let mut removed = Vec::new();
    for (layer, ids) in &by_layer {
        let store = scope.store(layer);
        let _lock = store.lock("state rm", args.lock_timeout)?;
        // Again under the lock: another operation may have run since the check above.
        let mut loaded = store.load()?;
        refuse_in_flight(scope, layer, &loaded)?;
        let mut gone = Vec::new();
        for id in ids {
            find(scope, layer, id, &loaded)?;
            if let Some(record) = loaded.state.remove(&ObjectKey::parse(id)) {
                gone.push(record);
            }
        }
        store.commit(&mut loaded.state)?;
        for (_, record) in loaded.state.objects() {
            for dep in record.depends_on.iter().filter(|d| gone.iter().any(|g| &g.logical_id == *d)) {
                errln!("warning: {layer}.{} depends on {layer}.{dep}, which is no longer in state", record.logical_id);
            }
        }
        removed.extend(gone.into_iter().map(|r| (*layer, r)));
    }

    match format {
        Format::Json => {
            let json: Vec<_> = removed.iter().map(|(layer, r)| summary_json(layer, r)).collect();
            super::print_json(&serde_json::json!({ "removed": json }));
        }
        Format::Human => {
            for (layer, r) in &removed {
                outln!("Removed {layer}.{} ({} {}) from state.", r.logical_id, r.resource_type, r.physical_id);
            }
            outln!("The resources themselves were not deleted; infra no longer manages them.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Rewriting state would drop the journal, and with it the only record of operations that
/// may or may not have happened.
fn refuse_in_flight(scope: &StateScope, layer: &str, loaded: &Loaded) -> anyhow::Result<()> {
    if loaded.in_flight.is_empty() {
        return Ok(());
    }
    bail!(
        "remove resources from layer {layer} (env {}): an interrupted operation is still in flight for {}; run `infra apply` for this layer first so it is resolved",
        scope.env,
        in_flight_list(loaded)
    )
}

fn in_flight_list(loaded: &Loaded) -> String {
    let items: Vec<String> = loaded
        .in_flight
        .iter()
        .map(|i| format!("{} ({})", i.logical_id, format!("{:?}", i.action).to_lowercase()))
        .collect();
    items.join(", ")
}

/// Where one environment's state lives and the project's layers in order: all the state
/// commands need from the project.
pub(crate) struct StateScope {
    pub state_dir: PathBuf,
    pub env: String,
    pub layers: Vec<String>,
}

impl StateScope {
    /// Reads the project's settings. Only settings problems stop a state command: a broken
    /// template must not stand in the way of inspecting or repairing state. On failure the
    /// diagnostics are already printed and the exit code is returned.
    pub(crate) fn from_project(global: &Global) -> Result<Self, ExitCode> {
        let (project, diags) = Project::read(&global.project_dir);
        super::hide_secrets_of(global, &project, None);
        let fail = |diags: &[Diagnostic]| {
            err!("{}", render::human(diags, &project.sources, global.color()));
            ExitCode::from(1)
        };
        let settings: Vec<Diagnostic> =
            diags.into_vec().into_iter().filter(|d| d.is_error() && d.code.starts_with("E5")).collect();
        if !settings.is_empty() {
            return Err(fail(&settings));
        }
        let env = project.select_environment(global.env.as_deref()).map_err(|d| fail(&[d]))?.name.clone();
        Ok(StateScope { state_dir: project.state_dir(), env, layers: project.layers().map(String::from).collect() })
    }

    pub(crate) fn store(&self, layer: &str) -> LayerStore {
        LayerStore::new(&self.state_dir, &self.env, layer)
    }

    /// `layer` if given (checked against the project's layers), else every layer in order.
    pub(crate) fn selected(&self, layer: Option<&str>) -> anyhow::Result<Vec<&str>> {
        match layer {
            Some(l) => Ok(vec![self.layer(l)?]),
            None => Ok(self.layers.iter().map(String::as_str).collect()),
        }
    }

    pub(crate) fn layer(&self, name: &str) -> anyhow::Result<&str> {
        if let Some(l) = self.layers.iter().find(|l| *l == name) {
            return Ok(l);
        }
        let names: Vec<&str> = self.layers.iter().map(String::as_str).collect();
        let hint = infra_core::diag::did_you_mean(name, names.iter().copied())
            .map(|n| format!("; did you mean `{n}`?"))
            .unwrap_or_default();
        bail!("find layer `{name}`: the project's layers are {}{hint}", name_list(&names, "none"))
    }

    /// Splits `layer.LogicalId`.
    pub(crate) fn parse_address<'a>(&self, address: &'a str) -> anyhow::Result<(&str, &'a str)> {
        match address.split_once('.') {
            Some((layer, id)) if !layer.is_empty() && !id.is_empty() => Ok((self.layer(layer)?, id)),
            _ => bail!("parse address `{address}`: expected `layer.LogicalId`, for example `backend.Endpoint`"),
        }
    }

    /// A layer's state, with a warning when a previous run left its journal behind.
    pub(crate) fn load(&self, layer: &str) -> anyhow::Result<Loaded> {
        let store = self.store(layer);
        let loaded = store.load()?;
        if loaded.recovered {
            errln!(
                "warning: layer {layer} (env {}) includes progress of an interrupted run, from {}",
                self.env,
                store.paths().journal.display()
            );
            if !loaded.in_flight.is_empty() {
                errln!("warning: operations that may or may not have happened: {}", in_flight_list(&loaded));
            }
        }
        Ok(loaded)
    }
}

fn name_list(names: &[&str], none: &str) -> String {
    if names.is_empty() {
        none.to_string()
    } else {
        names.join(", ")
    }
}
