#!/usr/bin/env python3
"""Regenerate crates/infra-core/schemas/ from the CloudFormation registry resource schemas
that ship with cfn-lint.

The engine needs property shapes, required lists, enums, patterns, length and item limits,
and the create-only / read-only / write-only / identifier lists. Everything else
(descriptions, documentation links, handlers, tagging metadata, examples) is dropped so the
vendored data stays small.

Usage:
    scripts/refresh-schemas.py                      # builds a temporary venv with the pinned cfn-lint
    scripts/refresh-schemas.py --python .venv/bin/python   # uses an interpreter that has it

Output: crates/infra-core/schemas/resources.jsonl, one compact JSON object per line, sorted
by type name, each line starting with {"typeName":"<type>", so the engine can index the file
without parsing it; plus SOURCE.json recording where the data came from.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import venv

CFN_LINT_VERSION = "1.58.0"
REGION = "us-east-1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "crates", "infra-core", "schemas")

# Keywords kept in a property schema. Validation keywords, and the two annotations drift
# detection needs; other annotations are dropped.
SCALAR_KEYWORDS = (
    "type",
    "$ref",
    "enum",
    "const",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "enumCaseInsensitive",
    # Not validation, but what drift detection compares by: lists whose order means
    # nothing, and the value a service takes for a property left out.
    "insertionOrder",
    "default",
)


def cfn_lint_dir(python):
    code = "import cfnlint, os, sys; sys.stdout.write(os.path.dirname(cfnlint.__file__))"
    return subprocess.check_output([python, "-c", code], text=True).strip()


def cfn_lint_version(python):
    code = "import importlib.metadata as m, sys; sys.stdout.write(m.version('cfn-lint'))"
    return subprocess.check_output([python, "-c", code], text=True).strip()


def temporary_python(tmp):
    env_dir = os.path.join(tmp, "venv")
    venv.create(env_dir, with_pip=True)
    python = os.path.join(env_dir, "bin", "python")
    subprocess.check_call(
        [python, "-m", "pip", "install", "--quiet", f"cfn-lint=={CFN_LINT_VERSION}"]
    )
    return python


# Runs inside the interpreter that has cfn-lint: dumps every registry resource type of REGION
# with its schema (as cfn-lint loads it) and the attributes cfn-lint accepts for Fn::GetAtt,
# which are readOnlyProperties plus properties CloudFormation also serves as attributes.
DUMP = r"""
import json, sys
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER as manager
region = sys.argv[1]
out = {}
for type_name in sorted(manager.get_resource_types(region)):
    # SAM types only exist under the Serverless transform, which the engine does not run.
    if type_name.startswith("AWS::Serverless::"):
        continue
    schema = manager.get_resource_schema(region, type_name)
    attrs = list(manager.get_type_getatts(type_name, region).keys())
    out[type_name] = {"schema": schema.schema, "getAtts": sorted(attrs)}
with open(sys.argv[2], "w", encoding="utf-8") as f:
    json.dump(out, f)
"""


def load_provider_schemas(python, tmp):
    """(type name, schema, GetAtt attributes) for every resource type cfn-lint knows in REGION."""
    dump = os.path.join(tmp, "schemas.json")
    subprocess.check_call([python, "-c", DUMP, REGION, dump])
    with open(dump, encoding="utf-8") as f:
        types = json.load(f)
    for type_name in sorted(types):
        yield type_name, types[type_name]["schema"], types[type_name]["getAtts"]


def is_presence_only(schema):
    """A oneOf/anyOf branch that only says which properties must or must not be present."""
    return all(k in ("required", "not", "properties") for k in schema) and all(
        not v for v in schema.get("properties", {}).values()
    )


def compact(schema, refs):
    """The validation-relevant part of one property schema; records `$ref` targets in refs."""
    if not isinstance(schema, dict):
        return {}
    out = {}
    for key in SCALAR_KEYWORDS:
        if key in schema:
            out[key] = schema[key]
    if "$ref" in out:
        refs.add(out["$ref"])
    if "properties" in schema:
        out["properties"] = {k: compact(v, refs) for k, v in schema["properties"].items()}
    if "patternProperties" in schema:
        out["patternProperties"] = {
            k: compact(v, refs) for k, v in schema["patternProperties"].items()
        }
    if "additionalProperties" in schema:
        ap = schema["additionalProperties"]
        out["additionalProperties"] = compact(ap, refs) if isinstance(ap, dict) else bool(ap)
    if schema.get("required"):
        out["required"] = list(schema["required"])
    if "items" in schema:
        items = schema["items"]
        if isinstance(items, list):
            # Tuple validation is rare in the registry; any item shape is accepted then.
            out["items"] = {}
        else:
            out["items"] = compact(items, refs)
    for key in ("oneOf", "anyOf"):
        branches = [b for b in schema.get(key, []) if isinstance(b, dict) and not is_presence_only(b)]
        compacted = [compact(b, refs) for b in branches]
        # A branch with no validation keywords left accepts anything, and so does the whole
        # keyword. The engine treats oneOf like anyOf: any accepting branch is enough.
        if compacted and all(compacted):
            out.setdefault("anyOf", []).extend(compacted)
    branches = [b for b in schema.get("allOf", []) if isinstance(b, dict) and not is_presence_only(b)]
    if branches:
        out["allOf"] = [compact(b, refs) for b in branches]
    return out


def strip_properties_prefix(paths):
    out = []
    for p in paths or []:
        if p.startswith("/properties/"):
            out.append(p[len("/properties/"):])
    return out


def regex_to_glob(pattern):
    """cfn-lint keys GetAtt attributes by regular expression; the only constructs in use are
    escaped dots and `.*`, so a glob where `*` matches any text says the same."""
    return pattern.replace("\\.", "\0").replace(".*", "*").replace("\0", ".")


def compact_resource(type_name, schema, get_atts):
    refs = set()
    out = {"typeName": type_name}
    root = compact(
        {k: schema[k] for k in ("properties", "required", "additionalProperties", "oneOf", "anyOf", "allOf") if k in schema},
        refs,
    )
    out.update(root)
    for key in (
        "createOnlyProperties",
        "readOnlyProperties",
        "writeOnlyProperties",
        "primaryIdentifier",
    ):
        paths = strip_properties_prefix(schema.get(key))
        if paths:
            out[key] = paths
    if get_atts:
        out["getAtts"] = sorted(set(regex_to_glob(a) for a in get_atts))
    # Keep only the definitions reachable from the properties, following refs transitively.
    definitions = schema.get("definitions", {})
    kept = {}
    pending = sorted(refs)
    while pending:
        ref = pending.pop()
        if not ref.startswith("#/definitions/"):
            continue
        name = ref[len("#/definitions/"):]
        if name in kept or name not in definitions:
            continue
        more = set()
        kept[name] = compact(definitions[name], more)
        pending.extend(sorted(more - set(pending)))
    if kept:
        out["definitions"] = dict(sorted(kept.items()))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python", help="an interpreter with cfn-lint installed")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        python = args.python or temporary_python(tmp)
        version = cfn_lint_version(python)
        if version != CFN_LINT_VERSION:
            sys.exit(f"failed to refresh schemas: cfn-lint {version} found, {CFN_LINT_VERSION} pinned")
        package_dir = cfn_lint_dir(python)
        lines = []
        for type_name, schema, get_atts in load_provider_schemas(python, tmp):
            lines.append(json.dumps(compact_resource(type_name, schema, get_atts), separators=(",", ":")))
        with open(os.path.join(package_dir, "data", "schemas", "version.json"), encoding="utf-8") as f:
            schema_date = json.load(f).get("schema_date")

    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "resources.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT_DIR, "SOURCE.json"), "w", encoding="utf-8") as f:
        json.dump(
            {"cfn-lint": CFN_LINT_VERSION, "region": REGION, "schema_date": schema_date, "types": len(lines)},
            f,
            indent=2,
        )
        f.write("\n")
    print(f"wrote {len(lines)} resource types to {os.path.relpath(OUT_DIR, ROOT)}")


if __name__ == "__main__":
    main()
