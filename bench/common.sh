# bench/common.sh: the helpers every benchmark script sources.
#
#   free_port            a TCP port nobody listens on (never 6379/6380 by chance of the OS)
#   wait_port PORT       until something accepts on PORT
#   median               the median of the numbers on standard input, one per line
#   requests_per_second  the figure of a `redis-benchmark -q` run read on standard input
#   start_ours_and_redis [OPTION...]
#                        our server on $ours and a redis-server on $theirs, each on a free
#                        port with no saving, in a scratch folder $work; OPTIONs go to ours.
#                        Both, and whatever else the caller adds to the `pids` array, are
#                        stopped and the folder removed when the script exits. Needs $here.

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do sleep 0.01; done; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
requests_per_second() { tr '\r' '\n' | awk '/requests per second/ { sub(/.*: /, ""); print $1 }' | tail -1; }

start_ours_and_redis() {
  work=$(mktemp -d)
  pids=()
  trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
  ours=$(free_port); theirs=$(free_port)
  (cd "$work" && exec setsid "$here/your_program.sh" --port "$ours" --save "" --loglevel warning "$@" > /dev/null) &
  pids+=($!)
  setsid redis-server --port "$theirs" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --loglevel warning > /dev/null &
  pids+=($!)
  wait_port "$ours"; wait_port "$theirs"
}
