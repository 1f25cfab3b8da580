#!/usr/bin/env bash
# bench/monitor_tracking.sh [requests]
#
# What MONITOR and CLIENT TRACKING cost a writer: redis-benchmark SET (-c 50) on ours and
# on a real redis-server in the same run, with nothing attached, with a redis-cli
# monitor attached (reading everything), and with a tracking client (RESP3, BCAST on
# the benchmark's key prefix, so every SET sends it an invalidation). ROUNDS rounds
# alternating ours and redis; median requests/sec and the ratio to the same server
# with nothing attached.
#
#   requests  per run, default 50000
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
requests=${1:-50000}
rounds=${ROUNDS:-3}

start_ours_and_redis
rps() { redis-benchmark -p "$1" -n "$requests" -c 50 -q -t set \
          | requests_per_second; }

measure() {  # label
  local o=() t=()
  for _ in $(seq 1 "$rounds"); do o+=("$(rps "$ours")"); t+=("$(rps "$theirs")"); done
  printf '%s %s %s\n' "$1" "$(printf '%s\n' "${o[@]}" | median)" "$(printf '%s\n' "${t[@]}" | median)"
}
attach_monitor() { for p in "$ours" "$theirs"; do redis-cli -p "$p" monitor > /dev/null & pids+=($!); done; sleep 0.5; }
attach_tracker() {
  for p in "$ours" "$theirs"; do
    python3 - "$p" <<'PY' &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"HELLO 3\r\nCLIENT TRACKING on BCAST PREFIX key:\r\n")
while s.recv(1 << 16):
    pass
PY
    pids+=($!)
  done
  sleep 0.5
}

{
  measure plain
  attach_monitor
  measure monitor
  for pid in $(pgrep -f "redis-cli -p ($ours|$theirs) monitor"); do kill "$pid"; done
  attach_tracker
  measure tracking
} > "$work/results"
base_o=$(awk '$1 == "plain" { print $2 }' "$work/results"); base_t=$(awk '$1 == "plain" { print $3 }' "$work/results")
echo "SET -c 50, n=$requests, rounds=$rounds, median requests/sec (and relative to nothing attached)"
echo "| attached | ours | redis | ours/redis |"
echo "|---|---|---|---|"
while read -r label o t; do
  printf '| %s | %s (%.2f) | %s (%.2f) | %.2f |\n' "$label" "$o" "$(awk -v a="$o" -v b="$base_o" 'BEGIN{print a/b}')" \
    "$t" "$(awk -v a="$t" -v b="$base_t" 'BEGIN{print a/b}')" "$(awk -v a="$o" -v b="$t" 'BEGIN{print a/b}')"
done < "$work/results"
