#!/usr/bin/env bash
# bench/publish.sh [subscribers] [requests]
#
# PUBLISH throughput with subscribers attached, ours next to a real redis-server in the
# same run. Each server gets `subscribers` redis-cli processes subscribed to one channel
# (they read and discard every message), then redis-benchmark sends PUBLISH to that
# channel, -c 50, then -c 50 -P 16, alternating ours and redis for ROUNDS rounds, and
# prints the median requests/sec of each and the ratio.
#
#   subscribers  default 10
#   requests     per run, default 100000
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
subscribers=${1:-10}
requests=${2:-100000}
rounds=${ROUNDS:-3}

work=$(mktemp -d)
ours_port=$(free_port)
redis_port=$(free_port)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

(cd "$work" && exec setsid "$here/your_program.sh" --port "$ours_port" --save "" --loglevel warning) &
pids+=($!)
setsid redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --loglevel warning > /dev/null &
pids+=($!)
for port in "$ours_port" "$redis_port"; do
  wait_port "$port"
  for _ in $(seq 1 "$subscribers"); do
    redis-cli -p "$port" subscribe bench-channel > /dev/null &
    pids+=($!)
  done
  until [ "$(redis-cli -p "$port" pubsub numsub bench-channel | tail -1)" = "$subscribers" ]; do sleep 0.05; done
done

rps() {  # port, extra redis-benchmark options -> requests per second
  redis-benchmark -p "$1" -n "$requests" -c 50 $2 -q PUBLISH bench-channel hello-subscribers \
    | requests_per_second
}

echo "PUBLISH to $subscribers subscribers, n=$requests, rounds=$rounds, median requests/sec"
echo "| mode | ours | redis | ours/redis |"
echo "|---|---|---|---|"
for mode in "-c 50" "-c 50 -P 16"; do
  extra=${mode#-c 50}
  ours=(); theirs=()
  for _ in $(seq 1 "$rounds"); do
    ours+=("$(rps "$ours_port" "$extra")")
    theirs+=("$(rps "$redis_port" "$extra")")
  done
  a=$(printf '%s\n' "${ours[@]}" | median)
  b=$(printf '%s\n' "${theirs[@]}" | median)
  echo "| $mode | $a | $b | $(python3 -c "print(round($a / $b, 2))") |"
done
