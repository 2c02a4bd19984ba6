#!/bin/sh
# Start Mosquitto with the repository's config. With MQTT_USERNAME and
# MQTT_PASSWORD set, anonymous clients are refused and that one user may log in.
set -eu
conf="${MOSQUITTO_CONF:-/mosquitto/config/mosquitto.conf}"
data="${MOSQUITTO_DATA:-/mosquitto/data}"
if [ -n "${MQTT_USERNAME:-}" ] && [ -n "${MQTT_PASSWORD:-}" ]; then
  umask 077
  mosquitto_passwd -b -c "$data/passwd" "$MQTT_USERNAME" "$MQTT_PASSWORD"
  chown mosquitto "$data/passwd" 2>/dev/null || true
  grep -v '^allow_anonymous' "$conf" > "$data/mosquitto.conf"
  printf 'allow_anonymous false\npassword_file %s/passwd\n' "$data" >> "$data/mosquitto.conf"
  conf="$data/mosquitto.conf"
  echo "mqtt: anonymous clients refused; user $MQTT_USERNAME may log in"
else
  echo "mqtt: anonymous clients allowed (set MQTT_USERNAME and MQTT_PASSWORD to require a login)"
fi
exec mosquitto -c "$conf"
