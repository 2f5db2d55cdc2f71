#!/usr/bin/env bash
# Screenshot of the global asset lineage graph, as the Dagster UI draws it, for the README.
#
#   make screenshot                        (or: scripts/screenshot_asset_graph.sh [output.png])
#
# Starts dagster-webserver on workspace.yaml with a throw-away DAGSTER_HOME (telemetry off, the
# first-visit pop-up marked as seen), waits until it answers, lets headless Chromium render the
# asset graph page and writes docs/asset-graph.png, then stops the webserver.
# Needs Debian's Chromium:  apt-get update && apt-get install -y chromium
# Environment: PORT (default 3931), WIDTH/HEIGHT (default 1600x1000), BUDGET_MS (virtual time
# Chromium grants the page to load and lay out the graph, default 30000).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-$ROOT/docs/asset-graph.png}"
PORT="${PORT:-3931}"
WIDTH="${WIDTH:-1600}"
HEIGHT="${HEIGHT:-1000}"
BUDGET_MS="${BUDGET_MS:-30000}"
WEBSERVER="$ROOT/.venv/bin/dagster-webserver"
URL="http://127.0.0.1:$PORT/asset-groups"

CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$CHROMIUM" ]; then
  echo "chromium is missing: install it with 'apt-get update && apt-get install -y chromium'" >&2
  exit 1
fi
if [ ! -x "$WEBSERVER" ]; then
  echo "$WEBSERVER is missing: run 'make install' first" >&2
  exit 1
fi

WORK="$(mktemp -d)"
export DAGSTER_HOME="$WORK/dagster_home"
mkdir -p "$DAGSTER_HOME/.nux" "$WORK/chromium-profile"
printf 'telemetry:\n  enabled: false\n' > "$DAGSTER_HOME/dagster.yaml"
printf 'seen: 1\n' > "$DAGSTER_HOME/.nux/nux.yaml"

# Job control on: the webserver gets its own process group, so one SIGINT stops it and its code server.
set -m
(cd "$ROOT" && exec "$WEBSERVER" -w workspace.yaml -h 127.0.0.1 -p "$PORT") > "$WORK/webserver.log" 2>&1 &
SERVER_PID=$!
stop_webserver() {
  kill -INT -- "-$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 40); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.5; done
  kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop_webserver EXIT

for _ in $(seq 1 180); do
  curl -sf "http://127.0.0.1:$PORT/server_info" > /dev/null && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "dagster-webserver exited:" >&2; tail -20 "$WORK/webserver.log" >&2; exit 1
  fi
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/server_info" > /dev/null || { echo "dagster-webserver did not answer in 90 s" >&2; exit 1; }

mkdir -p "$(dirname "$OUT")"
"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --hide-scrollbars --user-data-dir="$WORK/chromium-profile" \
  --window-size="$WIDTH,$HEIGHT" --virtual-time-budget="$BUDGET_MS" \
  --screenshot="$OUT" "$URL" > "$WORK/chromium.log" 2>&1 || { cat "$WORK/chromium.log" >&2; exit 1; }
test -s "$OUT" || { echo "chromium wrote no screenshot" >&2; exit 1; }
echo "wrote $OUT ($URL, ${WIDTH}x${HEIGHT})"
