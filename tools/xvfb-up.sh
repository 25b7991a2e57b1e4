#!/usr/bin/env bash
# Start an Xvfb virtual screen (Mesa software GL) on a free display number and
# print the shell lines that point DISPLAY at it: eval "$(tools/xvfb-up.sh)".
set -euo pipefail
for n in $(seq 90 140); do
  if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then
    Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do
      [ -e "/tmp/.X11-unix/X$n" ] && break
      sleep 0.05
    done
    if [ -e "/tmp/.X11-unix/X$n" ]; then
      echo "export DISPLAY=:$n XVFB_PID=$pid LIBGL_ALWAYS_SOFTWARE=1"
      exit 0
    fi
    kill "$pid" 2>/dev/null || true
  fi
done
echo "echo 'could not start Xvfb' >&2; false"
exit 1
