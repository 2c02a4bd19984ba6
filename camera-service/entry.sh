#!/bin/sh
# camera-service's container entry: start udev when UDEV asks for it and the
# image has it, then exec the service (it stays PID 1 and gets SIGTERM).
#
# libcamera lists only the cameras udev has registered, and debian:bookworm-slim
# runs no udev daemon: balena documents starting one in the container for
# images that are not balenalib's. Only the Raspberry Pi builds install udev
# (with libcamera); elsewhere UDEV=1 is a no-op and says so once.
#
# What it does, as balenalib's entry script did: a fresh devtmpfs on /dev (so
# devices plugged in later appear; privileged containers only), udevd in its
# own network namespace (so it never renames the host's interfaces), then
# `udevadm trigger` and `udevadm settle` so every node is registered before
# the service looks for cameras.
set -eu

say() {
  echo "camera-entry: $*" >&2
}

udevd_command() {
  if command -v udevd >/dev/null 2>&1; then
    echo udevd
  elif [ -x /lib/systemd/systemd-udevd ]; then
    echo /lib/systemd/systemd-udevd
  fi
}

fresh_dev() {
  # Keep /dev/shm and /dev/mqueue, which Docker mounted, on the new /dev.
  tmp=$(mktemp -d) || return 0
  if ! mount -t devtmpfs none "$tmp" 2>/dev/null; then
    rmdir "$tmp"
    say "UDEV: cannot mount devtmpfs (container not privileged?); devices plugged in later will not appear"
    return 0
  fi
  for sub in shm mqueue; do
    if [ -d "/dev/$sub" ]; then
      mkdir -p "$tmp/$sub"
      mount --move "/dev/$sub" "$tmp/$sub" 2>/dev/null || true
    fi
  done
  if ! mount --move "$tmp" /dev; then
    say "UDEV: cannot move the new devtmpfs onto /dev; keeping the old /dev"
    umount "$tmp" 2>/dev/null || true
  fi
  rmdir "$tmp" 2>/dev/null || true
}

start_udev() {
  udevd=$(udevd_command)
  if [ -z "$udevd" ]; then
    say "UDEV=$UDEV but this image has no udev (it is installed only in Raspberry Pi builds); not starting it"
    return 0
  fi
  fresh_dev
  if ! unshare --net "$udevd" --daemon; then
    say "UDEV: starting $udevd failed; libcamera may see no camera"
    return 0
  fi
  udevadm trigger --action=add || say "UDEV: udevadm trigger failed"
  udevadm settle --timeout="${UDEV_SETTLE_TIMEOUT:-10}" || say "UDEV: udevadm settle timed out"
  say "udev started; devices registered"
}

case "${UDEV:-0}" in
  1 | on | true | yes) start_udev ;;
  0 | off | false | no | "") ;;
  *)
    say "UDEV must be 1/on/true/yes or 0/off/false/no (got '$UDEV')"
    exit 2
    ;;
esac

if [ "$#" -eq 0 ]; then
  set -- camera-service
fi
exec "$@"
