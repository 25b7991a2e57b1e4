#!/usr/bin/env bash
# Build the browser client (voip/web/src -> voip/web/static) with the npm
# packages pinned in voip/web/package-lock.json: the protobuf module generated
# from voip/proto/voip.proto (protoc-gen-es, run by grpcio-tools' protoc),
# then one bundle (esbuild). With --check, fail when the committed build is
# stale instead of leaving the new one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
web=voip/web
if [ ! -x "$web/node_modules/.bin/esbuild" ] || [ "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]; then
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
fi
"$PY" -m grpc_tools.protoc -Ivoip/proto --plugin=protoc-gen-es="$web/node_modules/.bin/protoc-gen-es" \
  --es_out="$web/src/gen" --es_opt=target=js voip/proto/voip.proto
if [ "${1:-}" = "--check" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  cp -r "$web/static/." "$out/"
  node "$web/build.mjs"
  if ! diff -rq "$out" "$web/static" >/dev/null || ! git diff --quiet -- "$web/src/gen" 2>/dev/null; then
    echo "voip/web/static or voip/web/src/gen is stale: run tools/build-web.sh and commit the result" >&2
    exit 1
  fi
  echo "built browser client is up to date"
else
  node "$web/build.mjs"
  echo "built $web/static"
fi
