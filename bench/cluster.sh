#!/usr/bin/env bash
# bench/cluster.sh [requests]
#
# Redis Cluster on this machine: `redis-benchmark --cluster` SET and GET (-c 50) against
# clusters of one, two and three of our nodes, next to real redis-server clusters of the
# same size, in the same run (ROUNDS rounds, medians); then how long a failover takes on
# each kind: three masters and a replica of the first, cluster-node-timeout NODE_TIMEOUT
# (1000 ms by default), the first master killed (SIGKILL), timed until its replica is
# master and another node says cluster_state:ok again.
#
#   requests  per run, default 100000
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
requests=${1:-100000}
rounds=${ROUNDS:-3}
node_timeout=${NODE_TIMEOUT:-1000}

work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# A port whose bus port (+10000) is free too, below the ephemeral range.
cluster_port() {
  python3 - <<'EOF'
import random, socket
def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False
while True:
    port = random.randint(20000, 22767)
    if free(port) and free(port + 10000):
        print(port)
        break
EOF
}

start_node() {  # kind port: a cluster node in a folder of its own, as a daemon would run
  local kind=$1 port=$2 dir="$work/$1-$2"
  mkdir -p "$dir"
  if [ "$kind" = ours ]; then
    (cd "$dir" && exec setsid "$here/your_program.sh" --port "$port" --cluster-enabled yes \
      --cluster-node-timeout "$node_timeout" --save "" --loglevel warning > /dev/null) &
  else
    setsid redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes --cluster-node-timeout "$node_timeout" \
      --save "" --appendonly no --dir "$dir" --loglevel warning > /dev/null &
  fi
  pids+=($!)
  wait_port "$port"
}

form() {  # port...: share the slots evenly, meet, wait until every node says ok
  local ports=("$@") count=$# index=0
  for port in "${ports[@]}"; do
    local start=$((16384 * index / count)) end=$((16384 * (index + 1) / count - 1))
    redis-cli -p "$port" CLUSTER ADDSLOTSRANGE "$start" "$end" > /dev/null
    redis-cli -p "$port" CLUSTER SET-CONFIG-EPOCH $((index + 1)) > /dev/null
    index=$((index + 1))
  done
  for port in "${ports[@]:1}"; do redis-cli -p "${ports[0]}" CLUSTER MEET 127.0.0.1 "$port" > /dev/null; done
  for port in "${ports[@]}"; do
    until redis-cli -p "$port" CLUSTER INFO | grep -q "cluster_state:ok" \
      && [ "$(redis-cli -p "$port" CLUSTER NODES | grep -c connected)" = "$count" ]; do sleep 0.1; done
  done
}

stop_all() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  pids=()
}

rps() {  # mode port test (redis-benchmark --cluster wants two nodes at least: one is
         # benchmarked plainly, every slot being its own)
  # shellcheck disable=SC2086
  redis-benchmark $1 -p "$2" -n "$requests" -c 50 -q -t "$3" | requests_per_second
}
median_of() {  # mode port test
  local runs=()
  for _ in $(seq 1 "$rounds"); do runs+=("$(rps "$@")"); done
  printf '%s\n' "${runs[@]}" | median
}

echo "| nodes | test | ours | redis | ours / redis |"
echo "|---|---|---|---|---|"
for size in 1 2 3; do
  ours=(); theirs=()
  for _ in $(seq 1 "$size"); do
    port=$(cluster_port); start_node ours "$port"; ours+=("$port")
    port=$(cluster_port); start_node real "$port"; theirs+=("$port")
  done
  form "${ours[@]}"; form "${theirs[@]}"
  mode=$([ "$size" -ge 2 ] && echo --cluster || echo "")
  for test in set get; do
    o=$(median_of "$mode" "${ours[0]}" "$test"); r=$(median_of "$mode" "${theirs[0]}" "$test")
    echo "| $size | $test | $o | $r | $(python3 -c "print(round($o / $r, 2))") |"
  done
  stop_all
done

failover_seconds() {  # kind: seconds from the kill to a working cluster without the master
  local kind=$1 ports=() replica
  for _ in 1 2 3; do port=$(cluster_port); start_node "$kind" "$port"; ports+=("$port"); done
  replica=$(cluster_port); start_node "$kind" "$replica"
  form "${ports[@]}"
  redis-cli -p "${ports[0]}" CLUSTER MEET 127.0.0.1 "$replica" > /dev/null
  until redis-cli -p "$replica" CLUSTER NODES | grep -q "$(redis-cli -p "${ports[0]}" CLUSTER MYID)"; do sleep 0.1; done
  redis-cli -p "$replica" CLUSTER REPLICATE "$(redis-cli -p "${ports[0]}" CLUSTER MYID)" > /dev/null
  until redis-cli -p "$replica" INFO replication | grep -q "master_link_status:up"; do sleep 0.1; done
  until redis-cli -p "${ports[1]}" CLUSTER NODES | grep -q "slave $(redis-cli -p "${ports[0]}" CLUSTER MYID)"; do
    sleep 0.1
  done
  local victim=${pids[0]} started
  started=$(date +%s.%N)
  kill -9 "$victim"
  until redis-cli -p "$replica" ROLE | head -1 | grep -q master \
    && redis-cli -p "${ports[1]}" CLUSTER INFO | grep -q "cluster_state:ok"; do sleep 0.05; done
  python3 -c "print(round($(date +%s.%N) - $started, 2))"
  stop_all
}

echo
echo "| failover (cluster-node-timeout $node_timeout ms) | ours | redis |"
echo "|---|---|---|"
echo "| master killed to replica serving, cluster ok | $(failover_seconds ours) s | $(failover_seconds real) s |"
