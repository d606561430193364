#!/usr/bin/env bash
# Local AWS for development and tests: moto server from a project-local venv, with the
# SageMaker operations moto lacks added by scripts/local_aws_server.py (see its docstring).
#
#   scripts/local-aws.sh install          ensure .venv/ with moto[server] (quick when present)
#   scripts/local-aws.sh path             install, then print the server executable
#   scripts/local-aws.sh start [PORT]     start a server on loopback (a free port by default),
#                                         wait until it answers, print its URL
#   scripts/local-aws.sh stop [PORT]      stop the server(s) started here (all by default)
#   scripts/local-aws.sh env [PORT]       print shell exports pointing the AWS SDK at it
#
# Set INFRA_MOTO_SERVER to an existing moto_server executable to skip the venv (moto as
# released: without the added SageMaker operations), and
# MOTO_IAM_LOAD_MANAGED_POLICIES=true for AWS managed policies (arn:aws:iam::aws:policy/...);
# they make every new account several seconds slower, so tests go without.
set -euo pipefail

MOTO_VERSION="5.2.5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
RUN_DIR="$VENV/local-aws"

die() { echo "local-aws: $*" >&2; exit 1; }

have_moto() {
    [ -x "$VENV/bin/moto_server" ] &&
        "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('moto') != '$MOTO_VERSION')" 2>/dev/null
}

install() {
    if [ -n "${INFRA_MOTO_SERVER:-}" ]; then
        [ -x "$INFRA_MOTO_SERVER" ] || die "INFRA_MOTO_SERVER=$INFRA_MOTO_SERVER is not executable"
        return
    fi
    have_moto && { launcher; return; }
    command -v python3 >/dev/null || die "python3 is required to install moto"
    mkdir -p "$VENV"
    # Several test binaries may ask at once: one installs, the others wait for it.
    exec 9>"$VENV/.install.lock"
    flock 9
    if ! have_moto; then
        echo "local-aws: installing moto[server]==$MOTO_VERSION into $VENV" >&2
        [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
        have_moto || die "moto $MOTO_VERSION did not install into $VENV"
    fi
    flock -u 9
    launcher
}

# .venv/bin/infra-local-aws: moto's server with the additions, taking moto_server's arguments.
# Written on every install (atomically: several test binaries may ask at once), so it always
# points at this checkout.
launcher() {
    local tmp
    tmp="$(mktemp "$VENV/bin/.infra-local-aws.XXXXXX")"
    cat >"$tmp" <<EOT
#!/bin/sh
exec "$VENV/bin/python" "$ROOT/scripts/local_aws_server.py" "\$@"
EOT
    chmod 755 "$tmp"
    mv -f "$tmp" "$VENV/bin/infra-local-aws"
}

moto_server() {
    if [ -n "${INFRA_MOTO_SERVER:-}" ]; then echo "$INFRA_MOTO_SERVER"; else echo "$VENV/bin/infra-local-aws"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

answers() {
    python3 - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/data.json", timeout=1).read()
except Exception:
    sys.exit(1)
PY
}

start() {
    install
    local port="${1:-$(free_port)}"
    mkdir -p "$RUN_DIR"
    nohup "$(moto_server)" -H 127.0.0.1 -p "$port" >"$RUN_DIR/$port.log" 2>&1 &
    echo $! >"$RUN_DIR/$port.pid"
    for _ in $(seq 1 100); do
        if answers "$port"; then
            echo "http://127.0.0.1:$port"
            return
        fi
        kill -0 "$(cat "$RUN_DIR/$port.pid")" 2>/dev/null || die "moto server exited; see $RUN_DIR/$port.log"
        sleep 0.1
    done
    die "moto server on port $port did not answer within 10s; see $RUN_DIR/$port.log"
}

stop() {
    local files
    if [ -n "${1:-}" ]; then files="$RUN_DIR/$1.pid"; else files="$RUN_DIR/*.pid"; fi
    for f in $files; do
        [ -f "$f" ] || continue
        kill "$(cat "$f")" 2>/dev/null || true
        rm -f "$f"
    done
}

env_exports() {
    local port="${1:-}"
    [ -n "$port" ] || port="$(basename "$(ls "$RUN_DIR"/*.pid 2>/dev/null | head -n1)" .pid)"
    [ -n "$port" ] || die "no server running; run: $0 start"
    cat <<EOT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_REGION=us-east-1
EOT
}

case "${1:-}" in
    install) install ;;
    path) install; moto_server ;;
    start) start "${2:-}" ;;
    stop) stop "${2:-}" ;;
    env) env_exports "${2:-}" ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
