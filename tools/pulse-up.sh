#!/usr/bin/env bash
# Start (or find already running) a PulseAudio daemon with a null sink `vsink`
# whose monitor is the default source, so PortAudio (through the ALSA pulse
# plugin) has real playback and capture devices on a machine without a sound
# card. Idempotent: a second run reuses the running daemon.
#
# Usage:
#   eval "$(tools/pulse-up.sh)"          # exports XDG_RUNTIME_DIR, PULSE_SERVER
#   tools/pulse-up.sh >/dev/null; . "$VOIP_PULSE_DIR/env"   # same, via the env file
#
# VOIP_PULSE_DIR (default /tmp/voip-pulse-$UID) holds the daemon's runtime dir
# and the env file. Works as root (pulseaudio warns and runs anyway).
set -euo pipefail

if ! command -v pulseaudio >/dev/null 2>&1; then
    echo "pulse-up: pulseaudio is not installed (apt-get install -y pulseaudio libportaudio2)" >&2
    exit 127
fi

dir="${VOIP_PULSE_DIR:-/tmp/voip-pulse-$(id -u)}"
mkdir -p "$dir"
chmod 700 "$dir"
export XDG_RUNTIME_DIR="$dir"
export PULSE_SERVER="unix:$dir/pulse/native"
# Keep the daemon's cookie and state out of the real home directory.
export PULSE_COOKIE="$dir/cookie"
export HOME="${VOIP_PULSE_HOME:-$dir/home}"
mkdir -p "$HOME"

if ! pactl info >/dev/null 2>&1; then
    # Quiet the "running as root" warning: it is expected here.
    pulseaudio -D --exit-idle-time=-1 -n \
        --load="module-native-protocol-unix" \
        --load="module-null-sink sink_name=vsink rate=48000" \
        --log-target=file:"$dir/pulseaudio.log" 2>/dev/null || true
    for _ in $(seq 1 100); do
        pactl info >/dev/null 2>&1 && break
        sleep 0.05
    done
    if ! pactl info >/dev/null 2>&1; then
        echo "pulse-up: pulseaudio did not come up; see $dir/pulseaudio.log" >&2
        exit 1
    fi
fi

if ! pactl list short sinks | awk '{print $2}' | grep -qx vsink; then
    pactl load-module module-null-sink sink_name=vsink rate=48000 >/dev/null
fi
pactl set-default-sink vsink
pactl set-default-source vsink.monitor

cat >"$dir/env" <<ENV
export XDG_RUNTIME_DIR=$dir
export PULSE_SERVER=unix:$dir/pulse/native
export PULSE_COOKIE=$dir/cookie
ENV
cat "$dir/env"
