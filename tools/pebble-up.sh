#!/bin/sh
# Start Let's Encrypt's test CA (pebble + pebble-challtestsrv as its DNS) on
# loopback, for trying `voip-server --acme-*` by hand. The ACME tests start
# their own instance (tests/acme/conftest.py) and do not need this script.
#
#   tools/pebble-up.sh [WORKDIR]
#
# Prints a JSON object with the directory URL, the CA bundle for pebble's own
# HTTPS (tls_ca), pebble's issuing root (for clients), and the HTTP-01 /
# TLS-ALPN-01 ports pebble's validator connects to on 127.0.0.1; runs until
# Ctrl-C. Every domain resolves to 127.0.0.1. Needs: apt-get install pebble.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-"$here/.venv/bin/python"}
[ -x "$python" ] || python=python3
if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
    echo "pebble is not installed: apt-get install -y pebble" >&2
    exit 1
fi
exec "$python" "$here/tests/acme/pebble.py" "$@"
