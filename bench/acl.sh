#!/usr/bin/env bash
# bench/acl.sh [requests]
#
# What ACL checks cost: redis-benchmark SET and GET (-c 50, and -c 50 -P 16) as the
# default user, who may run anything (the dispatcher's one-attribute fast path), and as
# a user whose rules must be checked on every command (`~key:* +@all -debug`: key
# patterns and a command rule), on ours and on a real redis-server in the same run.
# ROUNDS rounds alternating; medians, and each user's figure as a share of the default's.
#
#   requests  per run, default 100000
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
requests=${1:-100000}
rounds=${ROUNDS:-3}

start_ours_and_redis
for port in "$ours" "$theirs"; do
  redis-cli -p "$port" ACL SETUSER bench on '>secret' '~key:*' +@all -debug > /dev/null
done

rps() {  # port test mode user...
  local port=$1 test=$2 mode=$3; shift 3
  # shellcheck disable=SC2086
  redis-benchmark -p "$port" -n "$requests" -c 50 $mode -q -t "$test" "$@" | requests_per_second
}
median_of() {  # port test mode user...
  local runs=()
  for _ in $(seq 1 "$rounds"); do runs+=("$(rps "$@")"); done
  printf '%s\n' "${runs[@]}" | median
}

echo "| test | mode | ours default | ours restricted | share | redis default | redis restricted | share |"
echo "|---|---|---|---|---|---|---|---|"
for mode in "" "-P 16"; do
  for test in set get; do
    od=$(median_of "$ours" "$test" "$mode"); orr=$(median_of "$ours" "$test" "$mode" --user bench -a secret)
    rd=$(median_of "$theirs" "$test" "$mode"); rr=$(median_of "$theirs" "$test" "$mode" --user bench -a secret)
    share() { python3 -c "print(round($2 / $1, 2))"; }
    echo "| $test | -c 50 $mode | $od | $orr | $(share "$od" "$orr") | $rd | $rr | $(share "$rd" "$rr") |"
  done
done
