#!/usr/bin/env bash
# Regenerate voip/proto/voip_pb2.py(i) from voip/proto/voip.proto with the
# pinned generator (grpcio-tools, see pyproject's dev extra).
# With --check, fail when the committed module is stale instead of writing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$PY" -m grpc_tools.protoc -Ivoip/proto --python_out="$out" --pyi_out="$out" voip/proto/voip.proto
if [ "${1:-}" = "--check" ]; then
  for f in voip_pb2.py voip_pb2.pyi; do
    if ! cmp -s "$out/$f" "voip/proto/$f"; then
      echo "voip/proto/$f is stale: run tools/gen-proto.sh and commit the result" >&2
      exit 1
    fi
  done
  echo "generated protobuf module is up to date"
else
  cp "$out/voip_pb2.py" "$out/voip_pb2.pyi" voip/proto/
  echo "wrote voip/proto/voip_pb2.py and voip_pb2.pyi"
fi
