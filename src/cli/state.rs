//! `infra state list|show|rm`: read and edit recorded state without calling AWS.

use super::{exit, Format, Global};
use infra_core::project::Project;
use infra_core::render::diag as render;
use infra_core::state::{Loaded, ResourceRecord};
use infra_core::workspace::{in_flight_list, StateScope};
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
    let scope = match scope(global) {
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
        let loaded = load(scope, layer)?;
        for (_, record) in loaded.state.objects() {
            rows.push((layer, record.clone()));
        }
    }
    match format {
        Format::Json => {
            let json: Vec<_> = rows.iter().map(|(layer, r)| summary_json(layer, r)).collect();
            super::print_json(&serde_json::Value::from(json));
        }
        Format::Human if rows.is_empty() => outln!("No resources in state (env {}).", scope.env()),
        Format::Human => {
            let table: Vec<[String; 3]> = rows
                .iter()
                .map(|(layer, r)| [format!("{layer}.{}", r.logical_id), r.resource_type.clone(), r.physical_id.clone()])
                .collect();
            print_table(["ADDRESS", "TYPE", "PHYSICAL ID"], &table);
        }
    }
    Ok(exit::code(exit::SUCCESS))
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
    let loaded = load(scope, layer)?;
    let record = scope.find(layer, logical_id, &loaded)?;
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
            if !record.metadata.is_null() {
                outln!("metadata              = {}", record.metadata);
            }
            let redactor = super::redactor();
            let attributes = serde_json::json!(record.attributes);
            outln!("properties            = {}", serde_json::to_string_pretty(&redactor.json(&record.properties))?);
            outln!("attributes            = {}", serde_json::to_string_pretty(&redactor.json(&attributes))?);
        }
    }
    Ok(exit::code(exit::SUCCESS))
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
        if !r.metadata.is_null() {
            fields.insert("metadata".into(), r.metadata.clone());
        }
    }
    json
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
        let loaded = load(scope, layer)?;
        scope.refuse_in_flight(layer, &loaded)?;
        for id in ids {
            scope.find(layer, id, &loaded)?;
        }
    }

    let mut removed = Vec::new();
    for (layer, ids) in &by_layer {
        let gone = scope.remove(layer, ids, args.lock_timeout)?;
        for (id, dep) in &gone.dangling {
            errln!("warning: {layer}.{id} depends on {layer}.{dep}, which is no longer in state");
        }
        removed.extend(gone.records.into_iter().map(|r| (*layer, r)));
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
    Ok(exit::code(exit::SUCCESS))
}

/// Reads the project's settings and chooses the environment (from `--env`), masking its
/// secrets from here on. On failure the diagnostics are already printed and the exit code is
/// returned.
pub(crate) fn scope(global: &Global) -> Result<StateScope, ExitCode> {
    let (project, diags) = Project::read(&global.project_dir);
    super::hide_secrets_of(global, &project, None);
    StateScope::new(&project, diags, global.env.as_deref()).map_err(|diags| {
        err!("{}", render::human(&diags, &project.sources, global.color()));
        exit::code(exit::ERROR)
    })
}

/// A layer's state, with a warning when a previous run left its journal behind.
pub(crate) fn load(scope: &StateScope, layer: &str) -> anyhow::Result<Loaded> {
    let loaded = scope.load(layer)?;
    if loaded.recovered {
        errln!(
            "warning: layer {layer} (env {}) includes progress of an interrupted run, from {}",
            scope.env(),
            scope.journal_path(layer).display()
        );
        if !loaded.in_flight.is_empty() {
            errln!("warning: operations that may or may not have happened: {}", in_flight_list(&loaded));
        }
    }
    Ok(loaded)
}
