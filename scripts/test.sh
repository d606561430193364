#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: Rust, Python 3 and the package registries
# are all it needs. It installs the local AWS emulator (moto server) and cfn-lint into the
# project-local venv .venv/, checks formatting and lints (warnings are errors), then runs
# every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/local-aws.sh install
if ! .venv/bin/python -c 'import cfnlint' 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check 'cfn-lint==1.58.0'
fi
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
