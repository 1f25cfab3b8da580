# bench/common.sh: the helpers every benchmark script sources.
#
#   free_port            a TCP port nobody listens on (never 6379/6380 by chance of the OS)
#   wait_port PORT       until something accepts on PORT
#   median               the median of the numbers on standard input, one per line
#   requests_per_second  the figure of a `redis-benchmark -q` run read on standard input

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do sleep 0.01; done; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
requests_per_second() { tr '\r' '\n' | awk '/requests per second/ { sub(/.*: /, ""); print $1 }' | tail -1; }
