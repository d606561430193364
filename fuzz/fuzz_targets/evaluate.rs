//! Fuzz target: any bytes that load as a template (JSON or YAML) go through the template
//! model, transforms-free evaluation with parameter defaults (both leniently, as for a single
//! file, and strictly, as for an environment) and the dependency graph. Every outcome is a
//! value or a diagnostic; nothing panics, and rendering the diagnostics does not either.

#![no_main]

use indexmap::IndexMap;
use infra_core::diag::Diagnostics;
use infra_core::graph;
use infra_core::render::diag::human;
use infra_core::source::SourceMap;
use infra_core::template::eval::{evaluate, EvalInput, PLACEHOLDER_ACCOUNT_ID};
use infra_core::template::load::{parse_str, Limits, Syntax};
use infra_core::template::model;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for syntax in [Syntax::Json, Syntax::Yaml] {
        let mut sources = SourceMap::new();
        let file = sources.add(Path::new("fuzz"), "fuzz", text.as_ref());
        let Ok(root) = parse_str(&text, file, syntax, &Limits::default()) else { continue };
        for allow_unresolved in [true, false] {
            let mut diags = Diagnostics::new();
            let template = model::parse(&root, &mut diags);
            model::check_has_resources(&root, &template, &mut diags);
            let parameters = IndexMap::new();
            let exports = BTreeMap::new();
            let input = EvalInput {
                project: "fuzz",
                environment: "dev",
                layer: "backend",
                region: "us-east-1",
                account_id: PLACEHOLDER_ACCOUNT_ID,
                parameters: &parameters,
                exports: &exports,
                allow_unresolved,
            };
            let evaluated = evaluate(&template, &input, &mut diags);
            let g = graph::check_stack(&evaluated.stack, &mut diags);
            let _ = g.topo_order();
            for r in evaluated.stack.resources.values() {
                let _ = r.properties.to_json();
            }
            diags.sort();
            let _ = human(&diags.into_vec(), &sources, false);
        }
    }
});
