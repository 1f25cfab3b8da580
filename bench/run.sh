#!/usr/bin/env bash
# bench/run.sh [tests] [requests]
#
# Throughput of our server next to a real redis-server, measured in the same run by
# ../shared/tools/bench_redis.sh (redis-benchmark, -c 50 and -c 50 -P 16, median of
# ROUNDS rounds). Prints requests/sec for both and the ratio ours/redis. Also prints how
# long our server takes from exec to accepting connections.
#
#   tests     redis-benchmark -t list, default "set,get"
#   requests  per run, default 100000
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
bench=${BENCH_REDIS:-$here/../shared/tools/bench_redis.sh}
tests=${1:-set,get}
requests=${2:-100000}

work=$(mktemp -d)
ours_port=$(free_port)
redis_port=$(free_port)
cleanup() { kill "$ours_pid" "$redis_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

started=$(date +%s.%N)
(cd "$work" && exec setsid "$here/your_program.sh" --port "$ours_port" --save "" --loglevel warning) &
ours_pid=$!
wait_port "$ours_port"
ready=$(date +%s.%N)
echo "our server accepted connections $(python3 -c "print(round($ready - $started, 3))") s after exec"

setsid redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --loglevel warning &
redis_pid=$!
wait_port "$redis_port"

echo "A = ours (python $(python3 -c 'import platform; print(platform.python_version())')), B = $(redis-server --version | cut -d' ' -f1-3)"
bash "$bench" "$ours_port" "$redis_port" "$tests" "$requests"
