//! `infra output`: the outputs and exports recorded by the last apply of each layer.

use super::{exit, Format, Global};
use anyhow::bail;
use infra_core::state::OutputRecord;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// Show the outputs (and export names) recorded for a layer, or for every layer
///
/// Values come from state, as of the last apply; no AWS calls are made. With NAME, prints
/// just that output's value (a string without quotes), for use in scripts.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra output
  infra output backend
  infra output backend EndpointName
  infra output shared --env prod --format json")]
pub struct Args {
    /// Only this layer
    pub layer: Option<String>,
    /// Only this output of the layer
    #[arg(requires = "layer")]
    pub name: Option<String>,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let scope = match super::state::scope(global) {
        Ok(scope) => scope,
        Err(code) => return Ok(code),
    };
    let mut layers: Vec<(&str, BTreeMap<String, OutputRecord>)> = Vec::new();
    for layer in scope.selected(args.layer.as_deref())? {
        layers.push((layer, super::state::load(&scope, layer)?.state.outputs));
    }

    if let (Some(name), [(layer, outputs)]) = (&args.name, layers.as_slice()) {
        let Some(output) = outputs.get(name) else {
            let hint = infra_core::diag::did_you_mean(name, outputs.keys().map(String::as_str))
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            bail!("find output `{name}` of layer {layer} (env {}): it is not in state{hint}", scope.env());
        };
        let value = super::redactor().json(&output.value);
        match (&value, global.format) {
            (serde_json::Value::String(s), Format::Human) => outln!("{s}"),
            (_, Format::Human) => outln!("{}", serde_json::to_string_pretty(&value)?),
            (_, Format::Json) => super::print_json(&value),
        }
        return Ok(exit::code(exit::SUCCESS));
    }

    match global.format {
        Format::Json => {
            let by_layer = |outputs: &BTreeMap<String, OutputRecord>| -> serde_json::Value {
                outputs
                    .iter()
                    .map(|(name, o)| {
                        let json = serde_json::json!({
                            "value": o.value,
                            "description": o.description,
                            "export_name": o.export_name,
                        });
                        (name.clone(), json)
                    })
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            };
            let json = match (args.layer.is_some(), layers.as_slice()) {
                (true, [(_, outputs)]) => by_layer(outputs),
                _ => layers
                    .iter()
                    .filter(|(_, outputs)| !outputs.is_empty())
                    .map(|(layer, outputs)| (layer.to_string(), by_layer(outputs)))
                    .collect::<serde_json::Map<_, _>>()
                    .into(),
            };
            super::print_json(&json);
        }
        Format::Human => {
            let mut any = false;
            for (layer, outputs) in layers.iter().filter(|(_, o)| !o.is_empty()) {
                any = true;
                outln!("{layer}:");
                for (name, o) in outputs {
                    let export = o.export_name.as_ref().map(|e| format!("  (export {e})")).unwrap_or_default();
                    outln!("  {name} = {}{export}", serde_json::to_string(&super::redactor().json(&o.value))?);
                }
            }
            if !any {
                match &args.layer {
                    Some(layer) => outln!("No outputs in state for layer {layer} (env {}).", scope.env()),
                    None => outln!("No outputs in state (env {}).", scope.env()),
                }
            }
        }
    }
    Ok(exit::code(exit::SUCCESS))
}
