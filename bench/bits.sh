#!/usr/bin/env bash
# bench/bits.sh [requests]
#
# Bitmap and HyperLogLog throughput, ours next to a real redis-server in the same run
# (redis-benchmark -c 4, alternating, median of ROUNDS rounds): BITCOUNT over a 1 MB
# string, SETBIT at one offset, PFADD of random elements to a dense HLL, PFADD to a sparse
# one (at most 1000 distinct elements: about 2000 bytes, under hll-sparse-max-bytes, so it
# stays sparse and every PFADD walks its opcodes), PFCOUNT of a cached HLL.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
requests=${1:-20000}
rounds=${ROUNDS:-3}
start_ours_and_redis
ours_port=$ours
redis_port=$theirs
for port in "$ours_port" "$redis_port"; do
  wait_port "$port"
  redis-cli -p "$port" SETRANGE mb 1048575 x > /dev/null        # a 1 MB string
  redis-cli -p "$port" PFADD hll a b c > /dev/null
done
rps() { redis-benchmark -p "$1" -c 4 -n "$requests" -r "$2" -q "${@:3}" | requests_per_second; }
echo "| command | ours | redis | ours/redis |"
echo "|---|---|---|---|"
# Each test: the range of __rand_int__ (redis-benchmark -r), then the command.
for line in "1000000 BITCOUNT mb" "1000000 SETBIT bits 100000 1" "1000000 PFADD hll __rand_int__" \
            "1000 PFADD sparse __rand_int__" "1000000 PFCOUNT hll"; do
  range=${line%% *}; test=${line#* }
  ours=(); theirs=()
  for _ in $(seq 1 "$rounds"); do
    ours+=("$(rps "$ours_port" "$range" $test)")
    theirs+=("$(rps "$redis_port" "$range" $test)")
  done
  a=$(printf '%s\n' "${ours[@]}" | median); b=$(printf '%s\n' "${theirs[@]}" | median)
  echo "| $test (-r $range) | $a | $b | $(python3 -c "print(round($a / $b, 2))") |"
done
for port in "$ours_port" "$redis_port"; do
  echo "$port: sparse is $(redis-cli -p "$port" PFDEBUG ENCODING sparse), $(redis-cli -p "$port" STRLEN sparse) bytes" >&2
done
