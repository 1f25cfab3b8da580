#!/usr/bin/env bash
# bench/scripting.sh [requests] [rounds]
#
# Scripts and functions, ours next to a real redis-server in the same run, each server
# started with setsid in a session of its own (as a daemon runs: the kernel schedules by
# session here, and a server sharing redis-benchmark's would get half a core):
#   EVALSHA of a script that runs a GET and an INCR, FCALL of a function doing the same,
#   EVAL "return 1" (compiling nothing: the script is cached after the first call), and a
#   plain GET for scale; redis-benchmark -c 50, median of ROUNDS rounds, and the ratio.
# Then the resident memory 10,000 cached scripts add to each server.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
requests=${1:-50000}
rounds=${2:-3}

work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
ours=$(free_port); theirs=$(free_port)
(cd "$work" && exec setsid "$here/your_program.sh" --port "$ours" --save "" --loglevel warning > /dev/null 2>&1) &
pids+=($!)
setsid redis-server --port "$theirs" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --loglevel warning \
  > /dev/null 2>&1 &
pids+=($!)
wait_port "$ours"; wait_port "$theirs"

script="redis.call('get', KEYS[1]) return redis.call('incr', KEYS[1])"
library="#!lua name=benchlib
redis.register_function('getincr', function(keys, args) redis.call('get', keys[1]) return redis.call('incr', keys[1]) end)"
for port in "$ours" "$theirs"; do
  sha=$(redis-cli -p "$port" script load "$script")
  redis-cli -p "$port" function load replace "$library" > /dev/null
done

measure() {  # port, then the command
  local port=$1; shift
  for _ in $(seq "$rounds"); do
    redis-benchmark -p "$port" -n "$requests" -c 50 -q "$@" 2>&1 | requests_per_second
  done | median
}

printf '%-44s %12s %12s %7s\n' test ours redis ratio
for test in "EVALSHA $sha 1 counter" "FCALL getincr 1 counter" "EVAL return_1" "GET counter"; do
  if [ "$test" = "EVAL return_1" ]; then set -- EVAL "return 1" 0; else set -- $test; fi
  a=$(measure "$ours" "$@"); b=$(measure "$theirs" "$@")
  printf '%-44s %12s %12s %7s\n' "${test:0:44}" "$a" "$b" "$(python3 -c "print(f'{$a / $b:.2f}')")"
done

python3 - "$ours" "$theirs" <<'PY'
import sys, subprocess
import redis

def rss(port):
    pid = int(subprocess.check_output(["redis-cli", "-p", str(port), "info", "server"]).decode()
              .split("process_id:")[1].split()[0])
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS"))

for name, port in (("ours", int(sys.argv[1])), ("redis", int(sys.argv[2]))):
    client = redis.Redis(port=port)
    client.eval("return 0", 0)
    before = rss(port)
    pipe = client.pipeline(transaction=False)
    for i in range(10_000):
        pipe.script_load(f"return redis.call('get', KEYS[1]) .. '{i}'")
    pipe.execute()
    grown = rss(port) - before
    print(f"{name}: 10,000 cached scripts add {grown / 2**20:.1f} MB of resident memory ({grown // 10_000} bytes each)")
PY
