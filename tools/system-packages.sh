#!/usr/bin/env bash
# Installs the Debian packages `make run` or `make test` needs, each only when
# its command is missing: `run` needs a broker (Mosquitto) for telemetry and
# outputs-service, and espeak-ng for speech; `test` also needs Chromium (the
# page), Node.js (the page's unit tests), the MQTT clients, the ALSA /
# PulseAudio players outputs-service drives and shellcheck (the entry script). Without root (or apt-get) it
# prints the command to run instead and, for `test`, fails.
set -euo pipefail

case "${1:-}" in
  run) wanted=(/usr/sbin/mosquitto:mosquitto espeak-ng:espeak-ng) ;;
  test) wanted=(/usr/sbin/mosquitto:mosquitto espeak-ng:espeak-ng chromium:chromium node:nodejs
                mosquitto_sub:mosquitto-clients aplay:alsa-utils paplay:pulseaudio-utils
                shellcheck:shellcheck) ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for tool in "${wanted[@]}"; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-dejavu-core >/dev/null
  exit 0
fi
echo "Missing Debian packages: ${missing[*]} (sudo apt-get install ${missing[*]})" >&2
[[ $1 == run ]] || exit 1
