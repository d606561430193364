#!/usr/bin/env bash
# IAM at scale against a local AWS: N roles, each with one inline policy.
#
#   bench/aws-roles.sh [COUNT] [CONCURRENCY]      (defaults: 300 10)
#
# 1. a raw SDK loop (crates/infra-aws/examples/raw_roles.rs): CreateRole + PutRolePolicy per
#    role at fixed concurrency, then DeleteRolePolicy + DeleteRole; then the same through
#    infra's IAM provider alone (no engine);
# 2. when the infra binary has `apply`: the same roles as a generated project, through
#    `infra apply` and `infra destroy`, on a fresh server.
# Prints one JSON object with wall times and the infra/raw ratios.
# PROFILE=release builds optimised binaries (default: dev, the test build); RAW_BIN and
# INFRA_BIN run prebuilt ones.
set -euo pipefail

COUNT="${1:-300}"
CONCURRENCY="${2:-10}"
PROFILE="${PROFILE:-dev}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$PROFILE" in
    dev) OUT_DIR="$TARGET_DIR/debug"; PROFILE_FLAG=() ;;
    release) OUT_DIR="$TARGET_DIR/release"; PROFILE_FLAG=(--release) ;;
    *) echo "aws-roles: PROFILE must be dev or release" >&2; exit 2 ;;
esac

# RAW_BIN and INFRA_BIN name prebuilt binaries instead (nothing is built then).
if [ -n "${RAW_BIN:-}" ] && [ -n "${INFRA_BIN:-}" ]; then
    RAW="$RAW_BIN"
    INFRA="$INFRA_BIN"
else
    cargo build --quiet "${PROFILE_FLAG[@]}" -p infra-aws --example raw_roles >&2
    cargo build --quiet "${PROFILE_FLAG[@]}" --bin infra >&2
    RAW="$OUT_DIR/examples/raw_roles"
    INFRA="$OUT_DIR/infra"
fi

URL="$(scripts/local-aws.sh start)"
PORT="${URL##*:}"
WORK="$(mktemp -d)"
cleanup() { scripts/local-aws.sh stop "$PORT"; rm -rf "$WORK"; }
trap cleanup EXIT

export AWS_ENDPOINT_URL="$URL" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_SESSION_TOKEN=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE

raw_json="$("$RAW" --count "$COUNT" --concurrency "$CONCURRENCY")"
echo "raw SDK loop: $raw_json" >&2
provider_json="$("$RAW" --count "$COUNT" --concurrency "$CONCURRENCY" --provider --prefix bench-provider)"
echo "IAM provider: $provider_json" >&2

# The same roles as a project, if the infra binary can apply one.
infra_json="null"
if "$INFRA" apply --help 2>/dev/null | grep -q -- "auto-approve"; then
    approve="--auto-approve"
    "$INFRA" apply --help | grep -q -- " -auto-approve" && approve="-auto-approve"
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/moto-api/reset", method="POST"), timeout=30).read()' "$URL"
    mkdir -p "$WORK/stacks/identity"
    cat >"$WORK/infra.toml" <<EOT
[project]
name = "bench"
region = "us-east-1"

[state]
path = "state"

[environments.bench]
endpoint_url = "$URL"
EOT
    {
        echo "AWSTemplateFormatVersion: '2010-09-09'"
        echo "Resources:"
        for i in $(seq 0 $((COUNT - 1))); do
            cat <<EOT
  Role$i:
    Type: AWS::IAM::Role
    Properties:
      RoleName: bench-role-$(printf '%04d' "$i")
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: { Service: sagemaker.amazonaws.com }
            Action: sts:AssumeRole
      Policies:
        - PolicyName: read-data
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [s3:GetObject, s3:ListBucket]
                Resource: '*'
EOT
        done
    } >"$WORK/stacks/identity/roles.yaml"
    now() { date +%s.%N; }
    t0="$(now)"
    "$INFRA" --project-dir "$WORK" --env bench apply "$approve" --parallelism "$CONCURRENCY" >"$WORK/apply.log" 2>&1 ||
        { echo "aws-roles: infra apply failed; see below" >&2; tail -n 30 "$WORK/apply.log" >&2; exit 1; }
    t1="$(now)"
    "$INFRA" --project-dir "$WORK" --env bench destroy "$approve" --parallelism "$CONCURRENCY" >"$WORK/destroy.log" 2>&1 ||
        { echo "aws-roles: infra destroy failed; see below" >&2; tail -n 30 "$WORK/destroy.log" >&2; exit 1; }
    t2="$(now)"
    infra_json="$(python3 -c 'import json,sys; a,b,c=map(float,sys.argv[1:]); print(json.dumps({"apply_seconds": round(b-a,3), "destroy_seconds": round(c-b,3)}))' "$t0" "$t1" "$t2")"
    echo "infra: $infra_json" >&2
else
    echo "aws-roles: $INFRA has no 'apply --auto-approve' yet; measured the raw SDK loop and the provider only" >&2
fi

python3 - "$raw_json" "$provider_json" "$infra_json" <<'PY'
import json, sys
raw, provider, infra = (json.loads(a) for a in sys.argv[1:])
out = {"raw": raw, "provider": provider, "infra": infra}
out["provider_ratio"] = {
    "create_over_raw": round(provider["create_seconds"] / raw["create_seconds"], 2),
    "delete_over_raw": round(provider["delete_seconds"] / raw["delete_seconds"], 2),
}
if infra:
    out["ratio"] = {
        "apply_over_raw_create": round(infra["apply_seconds"] / raw["create_seconds"], 2),
        "destroy_over_raw_delete": round(infra["destroy_seconds"] / raw["delete_seconds"], 2),
    }
print(json.dumps(out))
PY
