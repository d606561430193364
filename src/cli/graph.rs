//! `infra graph`: the resource dependency graph as Graphviz DOT.

use super::validate::count;
use super::{exit, Global};
use infra_core::graph::{self, Graph};
use infra_core::project::Project;
use infra_core::render::diag as render;
use infra_core::template::eval::PLACEHOLDER_ACCOUNT_ID;
use infra_core::validate::load_stacks;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// Print the dependency graph of the project's resources in Graphviz DOT format.
///
/// Each layer is a cluster; an edge points from a resource to what it depends on (through
/// Ref, Fn::GetAtt, Fn::Sub or DependsOn); dashed edges are Fn::ImportValue of another
/// layer's export, pointing at the resources the exported value refers to. The graph is that of one environment (--env, by
/// default the first in infra.toml), since conditions can drop resources. A short summary goes
/// to stderr, so stdout can be piped straight into `dot`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra graph | dot -Tsvg > graph.svg    # every layer
  infra graph --layer backend            # one layer
  infra graph --env prod --layer network")]
pub struct Args {
    /// Only this layer
    #[arg(long)]
    pub layer: Option<String>,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let color = global.color();
    let (project, diags) = Project::read(&global.project_dir);
    super::hide_secrets_of(global, &project, None);
    let fail = |diags: &[infra_core::diag::Diagnostic], sources| {
        err!("{}", render::human(diags, sources, color));
        Ok(exit::code(exit::ERROR))
    };
    if diags.has_errors() {
        return fail(&diags.into_vec(), &project.sources);
    }
    let env = match project.select_environment(global.env.as_deref()) {
        Ok(e) => e.name.clone(),
        Err(d) => return fail(&[d], &project.sources),
    };
    if let Some(l) = &args.layer {
        if project.layer(l).is_none() {
            let layers: Vec<&str> = project.layers().collect();
            anyhow::bail!("unknown layer `{l}` (layers: {})", layers.join(", "));
        }
    }
    let stacks = match load_stacks(&project, &env, PLACEHOLDER_ACCOUNT_ID, &BTreeMap::new()) {
        Ok(s) => s,
        Err(d) => return fail(&d.into_vec(), &project.sources),
    };
    let graphs: Vec<(String, Graph)> = stacks
        .iter()
        .filter(|s| args.layer.as_ref().is_none_or(|l| *l == s.layer))
        .map(|s| (s.layer.clone(), Graph::from_stack(s)))
        .collect();
    let name = match &args.layer {
        Some(l) => format!("{}-{env}-{l}", project.name),
        None => format!("{}-{env}", project.name),
    };
    let imports = graph::import_edges(&stacks);
    let dot = graph::layers_to_dot(&name, &graphs, &imports);
    out!("{dot}");
    let nodes: usize = graphs.iter().map(|(_, g)| g.len()).sum();
    let edges: usize = graphs.iter().map(|(_, g)| g.edge_count()).sum();
    let mut summary = format!(
        "graph: {}, {}, {}",
        count(graphs.len(), "layer", "layers"),
        count(nodes, "resource", "resources"),
        count(edges, "dependency", "dependencies")
    );
    if args.layer.is_none() {
        summary.push_str(&format!(", {}", count(imports.len(), "cross-layer import", "cross-layer imports")));
    }
    errln!("{summary} (environment {env})");
    Ok(exit::code(exit::SUCCESS))
}
