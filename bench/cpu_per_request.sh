#!/usr/bin/env bash
# Where a request's time goes without pipelining: the CPU time each server spends per
# request, in user space and in the kernel, and (with strace) its system calls per
# request, for ours, bench/minimal_server.py (and its --echo mode, which answers +OK to
# every read without parsing it) and a real redis-server in one run.
#
#   bench/cpu_per_request.sh [TEST] [REQUESTS]      e.g. bench/cpu_per_request.sh get 200000
#
# With 50 clients, each of our threads blocks in recv, wakes, waits for the GIL, runs,
# releases the GIL in sendall, takes it back, and blocks again; the GIL and the thread
# wake-ups are futex calls, which strace counts. A second, shorter run under strace
# (-f -c, so slower; its rates mean nothing, only its counts) gives the calls per request.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
source "$here/bench/common.sh"
test=${1:-set}
requests=${2:-200000}
traced=$((requests / 10))

start_ours_and_redis
minimal=$(free_port)
setsid python3 "$here/bench/minimal_server.py" "$minimal" &
pids+=($!)
echo=$(free_port)  # the same without parsing or running anything: +OK to every read
setsid python3 "$here/bench/minimal_server.py" "$echo" --echo &
pids+=($!)
wait_port "$minimal"; wait_port "$echo"
# The server processes themselves (your_program.sh execs python3; so does the minimal one).
pid_on() { ss -Htlnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }
ticks() { awk '{ print $14, $15 }' "/proc/$1/stat"; }  # utime stime, in clock ticks
hz=$(getconf CLK_TCK)

printf '| server | requests/s | user µs/request | kernel µs/request | futex calls/request | syscalls/request |\n'
printf '|---|---:|---:|---:|---:|---:|\n'
for side in ours:$ours minimal:$minimal echo:$echo redis:$theirs; do
  name=${side%%:*}; port=${side#*:}; pid=$(pid_on "$port")
  read -r user0 sys0 < <(ticks "$pid")
  rps=$(redis-benchmark -p "$port" -t "$test" -n "$requests" -c 50 -q 2>/dev/null | requests_per_second)
  read -r user1 sys1 < <(ticks "$pid")
  user=$(awk -v a="$user0" -v b="$user1" -v n="$requests" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) / hz / n * 1e6 }')
  kernel=$(awk -v a="$sys0" -v b="$sys1" -v n="$requests" -v hz="$hz" 'BEGIN { printf "%.1f", (b - a) / hz / n * 1e6 }')
  futex=-; calls=-
  if command -v strace > /dev/null; then
    strace -f -c -p "$pid" -o "$work/strace.$name" 2> /dev/null &
    tracer=$!
    sleep 1  # attached to every thread
    redis-benchmark -p "$port" -t "$test" -n "$traced" -c 50 -q > /dev/null 2>&1
    kill -INT "$tracer"; wait "$tracer" 2> /dev/null || true
    futex=$(awk -v n="$traced" '$NF == "futex" { printf "%.1f", $4 / n }' "$work/strace.$name")
    calls=$(awk -v n="$traced" '$NF == "total" { printf "%.1f", $4 / n }' "$work/strace.$name")
  fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$rps" "$user" "$kernel" "${futex:--}" "${calls:--}"
done
