#!/usr/bin/env bash
# Builds the six C twins of libzmq's perf tools, the fan-out pair pub_thr/sub_thr and
# memcpy_bw (the bandwidth yardstick), raw_lat (the latency floor) and raw_thr (the
# bandwidth floor of a loopback socket) against the system libzmq (Debian's
# libzmq3-dev; installed here if missing and allowed) into $CARGO_TARGET_DIR/perf-c/
# (target/perf-c/ by default).
set -euo pipefail
cd "$(dirname "$0")"
out="${CARGO_TARGET_DIR:-../../target}/perf-c"
mkdir -p "$out"
if [ ! -f /usr/include/zmq.h ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq libzmq3-dev >/dev/null
  else
    echo "perf/c: needs libzmq3-dev (zmq.h)" >&2
    exit 1
  fi
fi
for tool in local_thr remote_thr inproc_thr local_lat remote_lat inproc_lat pub_thr sub_thr memcpy_bw raw_lat raw_thr; do
  cc -O2 -Wall -Wextra -Werror -o "$out/$tool" "$tool.c" -lzmq -lpthread
done
echo "built $(ls "$out" | wc -l) tools in $out (libzmq $(pkg-config --modversion libzmq 2>/dev/null || echo '?'))"
