#!/usr/bin/env bash
# One-time (idempotent) set-up of a Debian machine for voip: system packages,
# a virtualenv in .venv and the package itself with its dev and bench extras.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libopus0 libopusfile0 libogg0      # Opus through pyogg (needs both libs)
  libportaudio2 pulseaudio           # PortAudio, and a sound server with null sinks for tests
  libleveldb-dev                     # LevelDB (plyvel wheels bundle it; kept for source builds)
  xvfb libgl1-mesa-dri libglx-mesa0  # the GUI on a virtual screen (tests, headless demo)
  xdotool                            # real key presses and clicks in the GUI tests
  fonts-wqy-microhei                 # the window's font: Latin, Cyrillic, Greek and CJK in one face
  x11-xserver-utils                  # xrdb: a 192-dpi screen (Xft.dpi) for the GUI scale test
  pebble                             # Let's Encrypt's test ACME server (tests)
  espeak-ng sox                      # speech samples for the audio tests and benchmarks
  chromium chromium-driver           # a real browser for the browser client's tests
  libspeexdsp1                       # echo canceller, gain control, Speex noise suppressor
)
# Node and npm build the browser client (tools/build-web.sh); any node >= 18 will
# do, so Debian's packages are only added when there is no node at all.
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=(python3-venv)
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing system packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.voip-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "installing the voip package and its Python dependencies into .venv"
  log=.venv/pip-install.log
  if ! { .venv/bin/python -m pip install --upgrade pip &&
         .venv/bin/python -m pip install -e ".[dev,bench]"; } >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "pip install failed; the full log is in $log" >&2
    exit 1
  fi
  touch "$stamp"
fi

# The browser client: npm packages from the lockfile, then the page in
# voip/web/static (committed too, so this only refreshes it).
if [ ! -x voip/web/node_modules/.bin/esbuild ] || [ voip/web/package-lock.json -nt voip/web/node_modules/.package-lock.json ]; then
  echo "installing the browser client's npm packages (voip/web/package-lock.json)"
  bash tools/build-web.sh >/dev/null
fi
