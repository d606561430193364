#!/usr/bin/env bash
# Benchmark: `infra validate` on the whole reference project against cfn-lint on the same
# templates. Builds infra in release, times both with hyperfine (installed with apt-get when
# missing and possible; otherwise a plain timing loop), and prints both means and the ratio.
#
# Usage: bench/validate.sh [RUNS]        (default 20)
# Environment: CFN_LINT (default .venv/bin/cfn-lint, then cfn-lint on PATH),
#              CARGO_TARGET_DIR (default target/).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-20}
target=${CARGO_TARGET_DIR:-$root/target}

cargo build --release --quiet --bin infra
infra="$target/release/infra"

cfn_lint=${CFN_LINT:-}
if [[ -z $cfn_lint ]]; then
    if [[ -x $root/.venv/bin/cfn-lint ]]; then
        cfn_lint=$root/.venv/bin/cfn-lint
    elif command -v cfn-lint >/dev/null; then
        cfn_lint=$(command -v cfn-lint)
    else
        echo "failed to find cfn-lint: install it into .venv (pip install cfn-lint) or set CFN_LINT" >&2
        exit 1
    fi
fi

shopt -s nullglob
files=(stacks/*/*.yaml stacks/*/*.yml stacks/*/*.json)
if ((${#files[@]} == 0)); then
    echo "failed to find templates under stacks/" >&2
    exit 1
fi

infra_cmd="$infra validate --project-dir $root"
lint_cmd="$cfn_lint ${files[*]}"

# Both must succeed on the project before their times mean anything.
$infra_cmd >/dev/null || { echo "failed: infra validate reports errors on the reference project" >&2; exit 1; }
$lint_cmd >/dev/null || { echo "failed: cfn-lint reports problems on the reference project" >&2; exit 1; }

if ! command -v hyperfine >/dev/null && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
    apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
fi

echo "templates: ${#files[@]}, runs: $runs"
if command -v hyperfine >/dev/null; then
    report=$(mktemp)
    trap 'rm -f "$report"' EXIT
    hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$report" \
        -n "infra validate" "$infra_cmd" -n "cfn-lint" "$lint_cmd"
    # Means in milliseconds, in command order.
    mapfile -t means < <(grep -o '"mean": *[0-9.e+-]*' "$report" | awk '{ printf "%.3f\n", $2 * 1000 }')
    infra_ms=${means[0]}
    lint_ms=${means[1]}
else
    echo "hyperfine not available; timing with a loop"
    mean_ms() {
        local start end
        start=$(date +%s%N)
        for ((i = 0; i < runs; i++)); do "$@" >/dev/null; done
        end=$(date +%s%N)
        awk -v ns=$((end - start)) -v n="$runs" 'BEGIN { printf "%.3f", ns / n / 1e6 }'
    }
    # shellcheck disable=SC2086
    infra_ms=$(mean_ms $infra_cmd)
    # shellcheck disable=SC2086
    lint_ms=$(mean_ms $lint_cmd)
fi

echo
printf 'infra validate: %10.1f ms\n' "$infra_ms"
printf 'cfn-lint:       %10.1f ms\n' "$lint_ms"
awk -v a="$lint_ms" -v b="$infra_ms" 'BEGIN { printf "ratio:          %10.1fx (cfn-lint / infra validate)\n", a / b }'
