#!/usr/bin/env bash
# bench/replication.sh [requests]
#
# Write throughput on a master with 0, 1 and 3 replicas attached, ours next to a real
# redis-server with as many real replicas, in the same run; then the replication lag.
#
# For each replica count: start our master and its replicas (ours), a redis-server
# master and its replicas (redis-server), wait until every link is up, and run
# redis-benchmark SET (-c 50, then -c 50 -P 16), alternating ours and redis for ROUNDS
# rounds; print the median requests/sec of each and the ratio. Then, with 3 replicas,
# the lag: the time from the end of a burst of 100,000 pipelined SETs on the master
# until every replica reports the master's offset (INFO replication), for each server.
#
#   requests  per run, default 100000
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
requests=${1:-100000}
rounds=${ROUNDS:-3}

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start_ours() {  # port [replicaof port]
  mkdir -p "$work/$1"
  if [ $# -gt 1 ]; then
    (cd "$work/$1" && exec setsid "$here/your_program.sh" --port "$1" --save "" --loglevel warning --replicaof "127.0.0.1 $2" > /dev/null) &
  else
    (cd "$work/$1" && exec setsid "$here/your_program.sh" --port "$1" --save "" --loglevel warning > /dev/null) &
  fi
  pids+=($!)
  wait_port "$1"
}
start_redis() {  # port [replicaof port]
  mkdir -p "$work/$1"
  local extra=()
  [ $# -gt 1 ] && extra=(--replicaof 127.0.0.1 "$2")
  setsid redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --dir "$work/$1" --loglevel warning \
    --repl-diskless-sync-delay 0 "${extra[@]}" > /dev/null &
  pids+=($!)
  wait_port "$1"
}
links_up() {  # master port, count
  until [ "$(redis-cli -p "$1" info replication | tr -d '\r' | grep -c 'state=online')" = "$2" ]; do sleep 0.05; done
}
rps() {  # port, extra redis-benchmark options -> requests per second
  redis-benchmark -p "$1" -n "$requests" -c 50 $2 -q -t set \
    | requests_per_second
}
lag() {  # master port, replica ports... -> seconds until every replica has the master's offset
  redis-benchmark -p "$1" -n "$requests" -c 50 -P 16 -q -t set > /dev/null
  python3 - "$@" <<'EOF'
import subprocess, sys, time
master, replicas = sys.argv[1], sys.argv[2:]
def field(port, name):
    out = subprocess.run(["redis-cli", "-p", port, "info", "replication"], capture_output=True, text=True).stdout
    return next(line.split(":")[1] for line in out.replace("\r", "").split("\n") if line.startswith(name + ":"))
started = time.monotonic()
target = field(master, "master_repl_offset")
while any(field(port, "slave_repl_offset") != target for port in replicas):
    time.sleep(0.005)
print(f"{time.monotonic() - started:.3f}")
EOF
}

echo "SET with replicas attached, n=$requests, rounds=$rounds, median requests/sec"
echo "| replicas | mode | ours | redis | ours/redis |"
echo "|---|---|---|---|---|"
for count in 0 1 3; do
  ours_master=$(free_port); redis_master=$(free_port)
  start_ours "$ours_master"; start_redis "$redis_master"
  ours_replicas=(); redis_replicas=()
  for _ in $(seq 1 "$count"); do
    p=$(free_port); start_ours "$p" "$ours_master"; ours_replicas+=("$p")
    p=$(free_port); start_redis "$p" "$redis_master"; redis_replicas+=("$p")
  done
  links_up "$ours_master" "$count"; links_up "$redis_master" "$count"
  for mode in "-c 50" "-c 50 -P 16"; do
    extra=${mode#-c 50}
    ours=(); theirs=()
    for _ in $(seq 1 "$rounds"); do
      ours+=("$(rps "$ours_master" "$extra")")
      theirs+=("$(rps "$redis_master" "$extra")")
    done
    o=$(printf '%s\n' "${ours[@]}" | median); t=$(printf '%s\n' "${theirs[@]}" | median)
    echo "| $count | $mode | $o | $t | $(awk -v o="$o" -v t="$t" 'BEGIN { printf "%.2f", o / t }') |"
  done
  if [ "$count" = 3 ]; then
    echo
    echo "Replication lag after $requests pipelined SETs (seconds until all 3 replicas have the master's offset):"
    echo "ours: $(lag "$ours_master" "${ours_replicas[@]}")  redis: $(lag "$redis_master" "${redis_replicas[@]}")"
  fi
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
done
