#!/usr/bin/env bash
# Quick start: the reference project's dev environment, deployed to a local AWS and torn down.
#
#   scripts/demo.sh            (from any directory; needs only Rust and Python 3)
#
# Builds infra, starts a local AWS (moto server, installed into .venv/ on first use) on a free
# loopback port, copies the reference project (infra.toml + stacks/) into a temporary
# directory with the dev environment pointed at it, then runs what a user would, over all
# five layers (identity, network, shared, backend, frontend):
#   validate, graph, plan, apply, output, a no-op plan, an endpoint rollout to a new model
#   version (new model and endpoint configuration, UpdateEndpoint), another to a new instance
#   type, a no-op plan, destroy, and a listing of what the account still holds (nothing).
# The local AWS is stopped and the temporary project (its state included) removed on exit,
# so nothing is left behind in the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }
say() { echo; bold "==> $*"; }
# Show the command as the user would type it, then run it.
run() {
    echo
    bold "\$ infra $*"
    "$INFRA" "$@"
}

say "Building infra (debug profile: on a cold machine it builds about twice as fast as release)"
# The debug build skips optimising the large generated AWS SDK crates; infra's own speed does
# not matter here, the local AWS answers slower than infra asks.
(cd "$ROOT" && cargo build --bin infra)
TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
INFRA="$TARGET_DIR/debug/infra"

say "Starting a local AWS (moto server) on a free loopback port"
URL="$("$ROOT/scripts/local-aws.sh" start)"
PORT="${URL##*:}"
WORK="$(mktemp -d)"
cleanup() {
    "$ROOT/scripts/local-aws.sh" stop "$PORT" || true
    rm -rf "$WORK"
}
trap cleanup EXIT
echo "local AWS at $URL"

say "Copying the reference project to $WORK/mlplatform, dev pointed at $URL"
mkdir -p "$WORK/mlplatform"
cp -R "$ROOT/infra.toml" "$ROOT/stacks" "$WORK/mlplatform/"
python3 - "$WORK/mlplatform/infra.toml" "$URL" <<'PY'
import sys
path, url = sys.argv[1:]
text = open(path).read()
header = "[environments.dev]\n"
if header not in text:
    sys.exit("infra.toml has no [environments.dev] table")
open(path, "w").write(text.replace(header, f'{header}endpoint_url = "{url}"\n', 1))
PY
cd "$WORK/mlplatform"

# The local AWS accepts any credentials; these keep the machine's own AWS setup out of it.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_ENDPOINT_URL INFRA_PROJECT_DIR INFRA_ENV

say "Validating every layer of the project"
run validate --env dev

say "The five layers and what depends on what (Graphviz DOT; the summary goes to stderr)"
echo
bold "\$ infra graph --env dev > graph.dot"
"$INFRA" graph --env dev > graph.dot
grep -o 'label="[a-z]*"' graph.dot | sed 's/label=/  layer /'

say "Planning all five layers (the CloudWatch dashboard has no native provider: it goes through CloudFormation)"
run plan --env dev

say "Applying them"
run apply -auto-approve --env dev

say "Their outputs"
run output --env dev

say "Planning again: nothing to change"
run plan --env dev --detailed-exitcode

say "Rolling the endpoint to model version 2: a new model and endpoint configuration, UpdateEndpoint keeping the autoscaled capacity, then the old ones deleted"
sed -i 's/^    Default: "1"$/    Default: "2"/' stacks/backend/endpoint.yaml
grep -q '^    Default: "2"$' stacks/backend/endpoint.yaml || { echo "demo: could not change ModelVersion in endpoint.yaml" >&2; exit 1; }
run plan --env dev --layer backend
run apply -auto-approve --env dev --layer backend

say "Rolling it to a larger instance type: a new endpoint configuration, the same model"
sed -i 's/^InstanceType = "ml.t2.medium"$/InstanceType = "ml.t2.large"/' infra.toml
grep -q '^InstanceType = "ml.t2.large"$' infra.toml || { echo "demo: could not change InstanceType in infra.toml" >&2; exit 1; }
run apply -auto-approve --env dev --layer backend
run plan --env dev --detailed-exitcode

say "Destroying everything"
run destroy -auto-approve --env dev

say "What the local AWS account still holds (scripts/inventory.py): nothing"
"$ROOT/.venv/bin/python" "$ROOT/scripts/inventory.py" --endpoint-url "$URL" |
    python3 -c 'import json, sys
left = {kind: ids for kind, ids in json.load(sys.stdin).items() if ids}
print("  nothing left" if not left else "\n".join(f"  {kind}: {ids}" for kind, ids in left.items()))
sys.exit(1 if left else 0)'

say "Done: the local AWS is stopped and the temporary project removed"
