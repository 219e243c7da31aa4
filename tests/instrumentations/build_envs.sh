#!/usr/bin/env bash
# One virtualenv (or npm folder) per instrumentation library, under .cache/instrumentations/<lib>/.
# The libraries pin conflicting versions of OpenTelemetry and of each other, so each gets its own.
# Built once: a folder with a .built stamp matching the package list is reused.
# Usage: tests/instrumentations/build_envs.sh [lib ...]   (default: all)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${INFERLEDGER_INSTR_CACHE:-$ROOT/.cache/instrumentations}"
PYTHON="${PYTHON:-python3}"
OTEL="opentelemetry-sdk==1.45.2 opentelemetry-exporter-otlp-proto-http==1.45.2"
# OpenLIT and traceloop-sdk depend on a dozen OTel contrib instrumentations (django, flask, tornado,
# urllib3, redis, ...), each pinned to one semantic-conventions release. Several of them have no 0.66b2
# release, which SDK 1.45.2 requires, so these two stay on SDK 1.45.1 (semantic conventions 0.66b1).
OTEL_PREV="opentelemetry-sdk==1.45.1 opentelemetry-exporter-otlp-proto-http==1.45.1"

declare -A PKGS=(
  [openinference_openai]="openinference-instrumentation-openai==0.1.66 openai==3.51.0 $OTEL"
  [openinference_anthropic]="openinference-instrumentation-anthropic==3.1.0 anthropic==2.10.0 $OTEL"
  # OpenLLMetry's own instrumentation packages (what traceloop-sdk installs, without its 40 others)
  [openllmetry]="opentelemetry-instrumentation-openai==0.62.4 opentelemetry-instrumentation-anthropic==0.62.4 openai==3.51.0 anthropic==2.10.0 $OTEL"
  [otel_openai_v2]="opentelemetry-instrumentation-openai-v2==2.4b0 openai==3.51.0 httpx opentelemetry-util-genai==1.1b0 $OTEL"
  [anthropic_native]="anthropic==2.10.0 $OTEL"
  # OpenLIT 1.45 caps openai below 3 and anthropic below 1
  [openlit]="openlit==1.45.0 openai==2.54.0 anthropic==0.125.0 $OTEL_PREV"
  # The whole SDK (its ~40 instrumentation packages), for Traceloop.init and the workflow/task decorators
  # (its client imports httpx without declaring it; the openai 3 / anthropic 2 SDKs use httpx2)
  [traceloop]="traceloop-sdk==0.62.4 openai==3.51.0 anthropic==2.10.0 httpx==0.28.1 $OTEL_PREV"
)
NPM_PKGS="ai@5.0.277 @ai-sdk/openai@2.0.131 zod@3.25.76 @opentelemetry/sdk-trace-node@2.12.0 @opentelemetry/exporter-trace-otlp-http@0.301.0 @opentelemetry/resources@2.12.0"

build_py() {
  local lib="$1" dir="$CACHE/$1" want="${PKGS[$1]}"
  if [ -f "$dir/.built" ] && [ "$(cat "$dir/.built")" = "$want" ]; then return 0; fi
  rm -rf "$dir"
  "$PYTHON" -m venv "$dir"
  # shellcheck disable=SC2086
  "$dir/bin/pip" install --quiet --disable-pip-version-check $want
  echo "$want" > "$dir/.built"
}

build_node() {
  local dir="$CACHE/vercel_ai"
  if [ -f "$dir/.built" ] && [ "$(cat "$dir/.built")" = "$NPM_PKGS" ]; then return 0; fi
  rm -rf "$dir" && mkdir -p "$dir"
  (cd "$dir" && echo '{"name":"il-vercel","private":true,"type":"module"}' > package.json \
     && npm install --legacy-peer-deps --loglevel=error --no-audit --no-fund $NPM_PKGS)
  echo "$NPM_PKGS" > "$dir/.built"
}

libs=("$@")
[ ${#libs[@]} -eq 0 ] && libs=("${!PKGS[@]}" vercel_ai)
mkdir -p "$CACHE"
for lib in "${libs[@]}"; do
  if [ "$lib" = vercel_ai ]; then build_node; else build_py "$lib"; fi
  echo "built $lib"
done
