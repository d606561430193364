//! Nested stacks whose template is a file of the project: an `AWS::CloudFormation::Stack`
//! whose `TemplateURL` is a relative path names a file relative to its layer's folder
//! (`stacks/<layer>/`), confined to the project as `AWS::Include` is. After evaluation the
//! file's text is added to the resource's properties as [`TEMPLATE_BODY`], so the provider
//! deploys it and editing the file plans an update; plans show that the file changed rather
//! than its text. The child template is loaded and its sections checked, so a broken one is a
//! diagnostic at plan time rather than a failed deploy.
//!
//! Templates under a layer's folder itself are parts of the layer: keep child templates in a
//! subfolder (`stacks/app/nested/queue.yaml`, named `nested/queue.yaml`).
//!
//! Code: E1065 a nested stack's template file is refused, missing, too large or broken.

use crate::diag::{Diagnostic, Diagnostics};
use crate::source::SourceMap;
use crate::template::include::{project_file, Unusable};
use crate::template::DesiredStack;
use crate::value::Value;
use std::path::Path;

/// The nested-stack type.
pub const STACK_TYPE: &str = "AWS::CloudFormation::Stack";

/// The property the text of a local template file is handed to the provider in.
pub const TEMPLATE_BODY: &str = "TemplateBody";

/// The largest template CloudFormation takes as a body (larger ones must come from S3).
pub const MAX_BODY_BYTES: usize = 51_200;

/// Whether a `TemplateURL` names a file of the project rather than a URL.
pub fn is_local(url: &str) -> bool {
    !url.contains("://")
}

/// Adds [`TEMPLATE_BODY`] to every nested stack of `stack` whose `TemplateURL` is a local path.
pub fn attach_templates(project_dir: &Path, stack: &mut DesiredStack, diags: &mut Diagnostics) {
    let project_dir = project_dir.canonicalize().unwrap_or_else(|_| project_dir.to_path_buf());
    let base = Path::new("stacks").join(&stack.layer);
    for r in stack.resources.values_mut().filter(|r| r.resource_type == STACK_TYPE) {
        let Value::Map(props) = &mut r.properties else { continue };
        let Some(Value::String(url)) = props.get("TemplateURL") else { continue };
        if !is_local(url) {
            continue;
        }
        let shown = format!("stacks/{}/{url}", stack.layer);
        let problem = |why: String, help: &str| {
            Diagnostic::error("E1065", format!("the template of nested stack `{}` cannot be used: {why}", r.logical_id))
                .at(r.span)
                .label("nested stack")
                .help(help.to_string())
        };
        let path = match project_file(&project_dir, &base, url) {
            Ok(p) => p,
            Err(Unusable::Refused(why)) => {
                diags.push(problem(
                    format!("`{url}` is refused: {why}"),
                    "name a file of the project relative to the layer folder, or an https:// or s3:// URL",
                ));
                continue;
            }
            Err(Unusable::Missing(why)) => {
                diags.push(problem(
                    format!("`{shown}` cannot be read: {why}"),
                    "TemplateURL is relative to the layer folder (stacks/<layer>/)",
                ));
                continue;
            }
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(problem(format!("`{shown}` cannot be read: {e}"), "make it a readable UTF-8 file"));
                continue;
            }
        };
        if text.len() > MAX_BODY_BYTES {
            diags.push(problem(
                format!(
                    "`{shown}` is {} bytes, and CloudFormation takes at most {MAX_BODY_BYTES} as a template body",
                    text.len()
                ),
                "upload it to S3 and name its https:// or s3:// URL instead",
            ));
            continue;
        }
        if let Some(why) = broken(&path, &shown) {
            diags.push(problem(format!("`{shown}` is not a valid template: {why}"), "fix the child template"));
            continue;
        }
        props.insert(TEMPLATE_BODY.to_string(), Value::String(text));
    }
}

/// The first problem of the child template, loaded and read as sections; `None` when sound.
fn broken(path: &Path, shown: &str) -> Option<String> {
    let mut sources = SourceMap::new();
    let (_, root) = match crate::template::load::load_file(&mut sources, path, shown, &Default::default()) {
        Ok(x) => x,
        Err(d) => return Some(d.message),
    };
    let mut diags = Diagnostics::new();
    let template = crate::template::model::parse(&root, &mut diags);
    if let Some(d) = diags.iter().find(|d| d.is_error()) {
        return Some(d.message.clone());
    }
    template.resources.is_empty().then(|| "it declares no Resources".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::DesiredResource;
    use std::collections::BTreeMap;

    fn stack_with(url: &str) -> DesiredStack {
        let mut props = BTreeMap::new();
        props.insert("TemplateURL".to_string(), Value::String(url.to_string()));
        let mut stack = DesiredStack { layer: "app".into(), ..Default::default() };
        stack.resources.insert(
            "Child".into(),
            DesiredResource {
                logical_id: "Child".into(),
                resource_type: STACK_TYPE.into(),
                properties: Value::Map(props),
                depends_on: Default::default(),
                deletion_policy: Default::default(),
                update_replace_policy: Default::default(),
                metadata: serde_json::Value::Null,
                span: crate::source::Span::synthetic(),
            },
        );
        stack
    }

    fn run(dir: &Path, url: &str) -> (Option<String>, Vec<String>) {
        let mut stack = stack_with(url);
        let mut diags = Diagnostics::new();
        attach_templates(dir, &mut stack, &mut diags);
        let body = match &stack.resources["Child"].properties {
            Value::Map(m) => m.get(TEMPLATE_BODY).and_then(Value::as_str).map(str::to_string),
            _ => None,
        };
        (body, diags.iter().map(|d| d.message.clone()).collect())
    }

    #[test]
    fn local_templates_are_read_from_the_layer_folder_and_confined() {
        let dir = tempfile::tempdir().expect("dir");
        let child = "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n";
        std::fs::create_dir_all(dir.path().join("stacks/app/nested")).expect("mkdir");
        std::fs::write(dir.path().join("stacks/app/nested/child.yaml"), child).expect("write");
        std::fs::write(dir.path().join("stacks/app/nested/empty.yaml"), "Resources: {}\n").expect("write");
        std::fs::write(dir.path().join("shared.yaml"), child).expect("write");
        std::fs::write(dir.path().join("../outside-nested.yaml"), child).ok();
        assert_eq!(run(dir.path(), "nested/child.yaml"), (Some(child.to_string()), vec![]));
        assert_eq!(run(dir.path(), "../../shared.yaml").0.as_deref(), Some(child));
        let cases = [
            ("nested/missing.yaml", "`stacks/app/nested/missing.yaml` cannot be read"),
            ("../../../outside-nested.yaml", "the path leaves the project directory"),
            ("/etc/passwd", "absolute paths are not allowed"),
            ("nested/empty.yaml", "it declares no Resources"),
        ];
        for (url, expected) in cases {
            let (body, diags) = run(dir.path(), url);
            assert_eq!(body, None, "{url}");
            assert!(diags.len() == 1 && diags[0].contains(expected), "{url}: {diags:?}");
        }
        let (body, diags) = run(dir.path(), "https://bucket.s3.amazonaws.com/child.yaml");
        assert_eq!((body, diags.len()), (None, 0), "URLs are the provider's");
    }
}
