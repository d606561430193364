#!/usr/bin/env bash
# Engine overhead against Terraform on the same graph, in one run.
#
#   bench/engine.sh [N] [CHAIN]          (defaults: N=1000, CHAIN=10)
#
# Builds infra in release, generates one layer of N Infra::Local::Data resources in chains of
# CHAIN (each takes the previous one's Output as its Input through !GetAtt; see generate.py),
# then times four whole processes: `infra plan`, `infra apply -auto-approve`, the no-op
# `infra plan --detailed-exitcode` after it (which must exit 0) and `infra destroy -auto-approve`.
# Peak RSS is the largest of the four (/usr/bin/time %M).
#
# Terraform's figures come from ${TERRAFORM_BASELINE:-../shared/bench/terraform-baseline} when
# that file exists, else from bench/terraform-baseline.sh (same graph, same phases).
#
# Prints a table with the ratios (Terraform's figure divided by infra's, so higher is better
# for infra) and, as its last line, one JSON object:
#   {"n":N,"infra":{"plan_s":..,"apply_s":..,"noop_plan_s":..,"destroy_s":..,"peak_rss_kb":..},
#    "terraform":{same keys},"ratio":{same keys}}
set -euo pipefail
n=${1:-1000}
chain=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")

cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin infra >&2
bin=${CARGO_TARGET_DIR:-$root/target}/release/infra
case "$bin" in /*) ;; *) bin=$root/$bin ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/infra-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
project=$work/project
python3 "$here/generate.py" infra "$project" "$n" "$chain"

# Runs one phase as its own process; records seconds and peak RSS, and keeps its output for
# the error message when it fails.
declare -A secs rss
phase() {
  local name=$1
  shift
  local start end status=0
  start=$(date +%s%N)
  /usr/bin/time -f %M -o "$work/$name.rss" "$bin" --project-dir "$project" --env dev --no-color "$@" \
    >"$work/$name.log" 2>&1 || status=$?
  end=$(date +%s%N)
  if [ "$status" -ne 0 ]; then
    echo "failed to run infra $* (exit $status):" >&2
    tail -n 20 "$work/$name.log" >&2
    exit 1
  fi
  secs[$name]=$(awk -v ns=$((end - start)) 'BEGIN { printf "%.4f", ns / 1e9 }')
  rss[$name]=$(tail -n 1 "$work/$name.rss")
}

"$bin" --version >/dev/null # warm the page cache so the first phase does not pay for it
phase plan plan
phase apply apply -auto-approve
phase noop_plan plan --detailed-exitcode
phase destroy destroy -auto-approve
peak=0
for name in plan apply noop_plan destroy; do
  [ "${rss[$name]}" -gt "$peak" ] && peak=${rss[$name]}
done
infra=$(printf '{"plan_s":%s,"apply_s":%s,"noop_plan_s":%s,"destroy_s":%s,"peak_rss_kb":%d}' \
  "${secs[plan]}" "${secs[apply]}" "${secs[noop_plan]}" "${secs[destroy]}" "$peak")

baseline=${TERRAFORM_BASELINE:-../shared/bench/terraform-baseline}
[ -x "$baseline" ] || baseline=$here/terraform-baseline.sh
echo "terraform figures from $baseline" >&2
terraform=$("$baseline" "$n" "$chain" | tail -n 1)

python3 - "$n" "$chain" "$infra" "$terraform" <<'PY'
import json, sys

n, chain = int(sys.argv[1]), int(sys.argv[2])
infra, terraform = json.loads(sys.argv[3]), json.loads(sys.argv[4])
keys = ["plan_s", "apply_s", "noop_plan_s", "destroy_s", "peak_rss_kb"]
# The targets at N=1000: how many times faster (or smaller) infra must be.
targets = {"plan_s": 20, "apply_s": 50, "noop_plan_s": 20, "destroy_s": 50, "peak_rss_kb": 5}
ratio = {k: round(terraform[k] / max(infra[k], 1e-4), 1) for k in keys}
print(f"N={n} CHAIN={chain}  (terraform {terraform.get('version', '?')})")
print(f"{'':14}{'infra':>12}{'terraform':>12}{'ratio':>9}{'target':>9}")
for k in keys:
    verdict = "ok" if ratio[k] >= targets[k] else "MISSED"
    print(f"{k:14}{infra[k]:>12}{terraform[k]:>12}{ratio[k]:>8}x{'>=' + str(targets[k]) + 'x':>7} {verdict}")
print(json.dumps({"n": n, "infra": infra, "terraform": {k: terraform[k] for k in keys}, "ratio": ratio},
                 separators=(",", ":")))
PY
