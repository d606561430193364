#!/usr/bin/env bash
# The network layer at scale against a local AWS: infra against a raw SDK loop that makes the
# same calls, in one run.
#
#   bench/network.sh [COUNT] [REPS]      (defaults: COUNT=50 subnets and 50 groups, REPS=5)
#
# 1. builds infra and examples/network_sdk_loop.rs (release; PROFILE=dev for
#    the debug build) and runs private copies of them;
# 2. starts its own local AWS (scripts/local-aws.sh) and generates one layer: a VPC, COUNT
#    subnets and COUNT security groups, each group with one inline ingress rule;
# 3. counts every call of `infra apply -auto-approve`, `infra destroy -auto-approve` and the
#    raw loop's create and delete through a counting proxy (`network_sdk_loop count`), prints
#    them side by side and stops if they differ;
# 4. times REPS repetitions of each (whole processes, straight to the local AWS, which is reset
#    before each apply and each create; the order of infra and raw alternates), at the
#    concurrency infra runs at: the smaller of `--parallelism`'s default and the EC2
#    provider's concurrency, both read from the code;
# 5. prints the times, the medians and infra/raw for apply and destroy, and, as its last line,
#    one JSON object.
set -euo pipefail

COUNT="${1:-50}"
REPS="${2:-5}"
PROFILE="${PROFILE:-release}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
case "$PROFILE" in
    dev) OUT_DIR="$TARGET_DIR/debug"; PROFILE_FLAG=() ;;
    release) OUT_DIR="$TARGET_DIR/release"; PROFILE_FLAG=(--release) ;;
    *) echo "network: PROFILE must be release or dev" >&2; exit 2 ;;
esac

# The concurrency infra runs EC2 calls at, from the code: --parallelism's default and the
# EC2 provider's own limit (Ec2's ServiceContext::CONCURRENCY).
parallelism="$(grep -A1 'How many operations may run at once' src/cli/engine.rs | grep -o 'default_value_t = [0-9]*' | grep -o '[0-9]*$')"
provider="$(grep -o 'const CONCURRENCY: usize = [0-9]*' crates/infra-aws/src/ec2/mod.rs | grep -o '[0-9]*$')"
[ -n "$parallelism" ] && [ -n "$provider" ] || { echo "network: could not read infra's concurrency from the code" >&2; exit 1; }
CONCURRENCY=$((parallelism < provider ? parallelism : provider))

# Two builds: in one, the example's dev-dependencies would change the features infra is built with.
cargo build --quiet "${PROFILE_FLAG[@]}" --bin infra >&2
cargo build --quiet "${PROFILE_FLAG[@]}" --example network_sdk_loop >&2
WORK="$(mktemp -d "${TMPDIR:-/tmp}/infra-bench-network.XXXXXX")"
# Private copies, so another build into the same target directory cannot swap them mid-run.
INFRA="$WORK/infra"
LOOP="$WORK/network_sdk_loop"
cp "$OUT_DIR/infra" "$INFRA"
cp "$OUT_DIR/examples/network_sdk_loop" "$LOOP"

URL="$(scripts/local-aws.sh start)"
PORT="${URL##*:}"
cleanup() { scripts/local-aws.sh stop "$PORT"; rm -rf "$WORK"; }
trap cleanup EXIT

export AWS_ENDPOINT_URL="$URL" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_SESSION_TOKEN=testing AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null NO_COLOR=1
unset AWS_PROFILE AWS_DEFAULT_REGION INFRA_PROJECT_DIR INFRA_ENV INFRA_RETRY_TIMEOUT

# The project: no endpoint_url, so infra, like the loop, goes where AWS_ENDPOINT_URL says.
PROJECT="$WORK/project"
mkdir -p "$PROJECT/stacks/network"
cat >"$PROJECT/infra.toml" <<EOT
[project]
name = "bench"
region = "us-east-1"

[state]
path = "state"

[environments.bench]
EOT
{
    cat <<EOT
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Vpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
EOT
    for i in $(seq 0 $((COUNT - 1))); do
        cat <<EOT
  Subnet$i:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref Vpc
      CidrBlock: 10.0.$i.0/24
  Group$i:
    Type: AWS::EC2::SecurityGroup
    Properties:
      GroupDescription: bench group $i
      VpcId: !Ref Vpc
      SecurityGroupIngress:
        - IpProtocol: tcp
          FromPort: $((8000 + i))
          ToPort: $((8000 + i))
          CidrIp: 10.0.0.0/16
EOT
    done
} >"$PROJECT/stacks/network/network.yaml"

reset() {
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/moto-api/reset", method="POST"), timeout=30).read()' "$URL"
}
infra() { "$INFRA" --project-dir "$PROJECT" --env bench --no-color "$@"; }
raw() { "$LOOP" "$1" --ids "$WORK/ids.json" --count "$COUNT" --concurrency "$CONCURRENCY"; }

# Calls by action, each side through the counting proxy (the command's output goes to the log).
echo "network: counting calls (COUNT=$COUNT, concurrency $CONCURRENCY: --parallelism $parallelism, EC2 provider $provider)" >&2
reset
infra_apply_calls="$("$LOOP" count -- "$INFRA" --project-dir "$PROJECT" --env bench --no-color apply -auto-approve 2>>"$WORK/log")"
infra_destroy_calls="$("$LOOP" count -- "$INFRA" --project-dir "$PROJECT" --env bench --no-color destroy -auto-approve 2>>"$WORK/log")"
reset
raw_create_calls="$("$LOOP" count -- "$LOOP" create --ids "$WORK/ids.json" --count "$COUNT" --concurrency "$CONCURRENCY" 2>>"$WORK/log")"
raw_delete_calls="$("$LOOP" count -- "$LOOP" delete --ids "$WORK/ids.json" --concurrency "$CONCURRENCY" 2>>"$WORK/log")"

# Seconds of one whole process; its output is kept for the error message when it fails.
seconds() {
    local start end status=0
    start=$(date +%s%N)
    "$@" >>"$WORK/log" 2>&1 || status=$?
    end=$(date +%s%N)
    if [ "$status" -ne 0 ]; then
        echo "network: $* failed (exit $status):" >&2
        tail -n 30 "$WORK/log" >&2
        exit 1
    fi
    awk -v ns=$((end - start)) 'BEGIN { printf "%.3f", ns / 1e9 }'
}

times=()
for rep in $(seq 1 "$REPS"); do
    for side in $( [ $((rep % 2)) -eq 1 ] && echo "infra raw" || echo "raw infra"); do
        reset
        if [ "$side" = infra ]; then
            a="$(seconds infra apply -auto-approve)"
            d="$(seconds infra destroy -auto-approve)"
        else
            a="$(seconds raw create)"
            d="$(seconds raw delete)"
        fi
        echo "network: rep $rep $side: apply/create ${a}s, destroy/delete ${d}s" >&2
        times+=("$side $a $d")
    done
done

python3 - "$COUNT" "$CONCURRENCY" "$(cat /proc/loadavg)" "$infra_apply_calls" "$infra_destroy_calls" \
    "$raw_create_calls" "$raw_delete_calls" "${times[@]}" <<'PY'
import json, statistics, sys
count, concurrency, load = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ia, idel, rc, rd = (json.loads(a) for a in sys.argv[4:8])
runs = {"infra": {"apply": [], "destroy": []}, "raw": {"apply": [], "destroy": []}}
for line in sys.argv[8:]:
    side, a, d = line.split()
    runs[side]["apply"].append(float(a))
    runs[side]["destroy"].append(float(d))

print(f"network layer: 1 VPC, {count} subnets, {count} security groups; concurrency {concurrency}; load {load}")
print()
print(f"{'calls':34}{'infra apply':>12}{'raw create':>12}{'infra destroy':>15}{'raw delete':>12}")
same = True
for action in sorted(set(ia) | set(rc) | set(idel) | set(rd)):
    row = [ia.get(action, 0), rc.get(action, 0), idel.get(action, 0), rd.get(action, 0)]
    mark = "" if row[0] == row[1] and row[2] == row[3] else "  DIFFERENT"
    same = same and not mark
    print(f"{action:34}{row[0]:>12}{row[1]:>12}{row[2]:>15}{row[3]:>12}{mark}")
total = lambda c: sum(c.values())
print(f"{'total':34}{total(ia):>12}{total(rc):>12}{total(idel):>15}{total(rd):>12}")
print()
median = {side: {k: statistics.median(v) for k, v in ops.items()} for side, ops in runs.items()}
ratio = {k: round(median["infra"][k] / max(median["raw"][k], 1e-3), 2) for k in ("apply", "destroy")}
print(f"{'seconds':10}{'infra apply':>14}{'raw create':>12}{'infra destroy':>15}{'raw delete':>12}")
for i in range(len(runs["infra"]["apply"])):
    print(f"{'rep ' + str(i + 1):10}{runs['infra']['apply'][i]:>14.3f}{runs['raw']['apply'][i]:>12.3f}"
          f"{runs['infra']['destroy'][i]:>15.3f}{runs['raw']['destroy'][i]:>12.3f}")
print(f"{'median':10}{median['infra']['apply']:>14.3f}{median['raw']['apply']:>12.3f}"
      f"{median['infra']['destroy']:>15.3f}{median['raw']['destroy']:>12.3f}")
for k in ("apply", "destroy"):
    print(f"infra/raw {k}: {ratio[k]}x (target <= 1.2x: {'met' if ratio[k] <= 1.2 else 'MISSED'})")
print(json.dumps({"count": count, "concurrency": concurrency, "load": load, "same_calls": same,
                  "calls": {"infra_apply": ia, "raw_create": rc, "infra_destroy": idel, "raw_delete": rd},
                  "seconds": runs, "median": median, "ratio": ratio}, separators=(",", ":")))
if not same:
    print("network: the raw loop no longer makes infra's calls; bring "
          "examples/network_sdk_loop.rs in line with the EC2 provider", file=sys.stderr)
    sys.exit(1)
PY
