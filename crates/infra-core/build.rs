//! Build script: indexes the vendored resource schemas so the engine finds a type's line
//! without scanning (or even paging in) the whole file at run time.

use std::fmt::Write as _;
use std::path::Path;

const SCHEMAS: &str = "schemas/resources.jsonl";
/// Every line starts with this, followed by the type name.
const LINE_PREFIX: &str = "{\"typeName\":\"";

fn main() {
    println!("cargo:rerun-if-changed={SCHEMAS}");
    let text = match std::fs::read_to_string(SCHEMAS) {
        Ok(text) => text,
        Err(e) => panic!("failed to read {SCHEMAS}: {e}"),
    };
    let mut entries: Vec<(&str, usize, usize)> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if let Some(rest) = body.strip_prefix(LINE_PREFIX) {
            match rest.find('"') {
                Some(end) => entries.push((&rest[..end], offset, offset + body.len())),
                None => panic!("failed to index {SCHEMAS}: a line at byte {offset} has no type name"),
            }
        }
        offset += line.len();
    }
    entries.sort_by(|a, b| a.0.cmp(b.0));
    if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
        panic!("failed to index {SCHEMAS}: `{}` appears twice", w[0].0);
    }
    let mut out = String::from("/// `(type name, start, end)` of each line of the vendored schemas, sorted by name.\n");
    let _ = writeln!(out, "static INDEX: [(&str, usize, usize); {}] = [", entries.len());
    for (name, start, end) in &entries {
        let _ = writeln!(out, "    ({name:?}, {start}, {end}),");
    }
    out.push_str("];\n");
    let Some(out_dir) = std::env::var_os("OUT_DIR") else {
        panic!("failed to generate the schema index: OUT_DIR is not set")
    };
    if let Err(e) = std::fs::write(Path::new(&out_dir).join("schema_index.rs"), out) {
        panic!("failed to write the schema index: {e}");
    }
}
