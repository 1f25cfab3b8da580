#!/usr/bin/env bash
# bench/aof_crash.sh [runs]
#
# The durability proof of appendfsync always, many times over: runs
# tests/test_aof.py::test_no_acknowledged_write_is_lost_when_killed (eight clients
# writing INCRs, the server killed with SIGKILL mid-stream, restarted, every
# acknowledged value checked) `runs` times in a row (default 50), and prints how many
# passed. CI runs it once, as part of the suite.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-50}
passed=0
for i in $(seq 1 "$runs"); do
  if (cd "$here" && python3 -m pytest -q -p no:cacheprovider \
        "tests/test_aof.py::test_no_acknowledged_write_is_lost_when_killed" > /dev/null 2>&1); then
    passed=$((passed + 1))
  else
    echo "run $i failed: python3 -m pytest tests/test_aof.py -k killed" >&2
  fi
done
echo "$passed of $runs crash runs kept every acknowledged write"
[ "$passed" = "$runs" ]
