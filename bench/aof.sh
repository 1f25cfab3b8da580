#!/usr/bin/env bash
# bench/aof.sh [requests]
#
# SET throughput with appendonly yes under each appendfsync policy (always, everysec,
# no) and with appendonly no, ours next to a real redis-server with the same setting,
# in the same run: redis-benchmark -t set -c 50 (then -P 16), ROUNDS rounds
# alternating ours and redis, median requests/sec and the ratio.
#
#   requests  per run, default 50000
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
requests=${1:-50000}
rounds=${ROUNDS:-3}

work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
rps() {  # port, extra options
  redis-benchmark -p "$1" -n "$requests" -c 50 $2 -q -t set \
    | requests_per_second
}

echo "SET, n=$requests, rounds=$rounds, median requests/sec"
echo "| appendonly | appendfsync | mode | ours | redis | ours/redis |"
echo "|---|---|---|---|---|---|"
for setting in "no everysec" "yes always" "yes everysec" "yes no"; do
  set -- $setting
  ours_port=$(free_port); redis_port=$(free_port)
  mkdir -p "$work/ours-$ours_port" "$work/redis-$redis_port"
  (cd "$work/ours-$ours_port" && exec setsid "$here/your_program.sh" --port "$ours_port" --save "" --loglevel warning \
     --appendonly "$1" --appendfsync "$2" > /dev/null) &
  pids+=($!)
  setsid redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --dir "$work/redis-$redis_port" --loglevel warning \
     --appendonly "$1" --appendfsync "$2" > /dev/null &
  pids+=($!)
  wait_port "$ours_port"; wait_port "$redis_port"
  for mode in "-c 50" "-c 50 -P 16"; do
    extra=${mode#-c 50}
    ours=(); theirs=()
    for _ in $(seq 1 "$rounds"); do
      ours+=("$(rps "$ours_port" "$extra")")
      theirs+=("$(rps "$redis_port" "$extra")")
    done
    o=$(printf '%s\n' "${ours[@]}" | median); t=$(printf '%s\n' "${theirs[@]}" | median)
    echo "| $1 | $2 | $mode | $o | $t | $(awk -v o="$o" -v t="$t" 'BEGIN { printf "%.2f", o / t }') |"
  done
  kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; pids=()
done
