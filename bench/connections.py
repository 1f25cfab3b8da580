"""Throughput with many idle connections open: our server next to a real redis-server.

    python3 bench/connections.py [--idle 0,2000] [--requests 100000] [--rounds 3]
                                 [--clients 50] [--tests set,get]

Starts both servers on free ports. For each count of idle connections, opens that many
plain sockets to each server (each answers a PING, so it is accepted and served) and
times it; then runs redis-benchmark -c CLIENTS -n REQUESTS, one test per run, ROUNDS
rounds alternating ours and redis, and takes medians. Prints a Markdown table of
requests/sec with our process's resident memory (VmRSS) and thread count while the idle
connections are open, then a table of how long opening them took and what each costs
in memory. Each of our connections is a thread, so idle clients are not free: this shows
what they cost.
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import RawConnection, start_ours, start_reference, wait_until  # noqa: E402

PING = b"*1\r\n$4\r\nPING\r\n"
PONG = b"+PONG\r\n"
SPARE_DESCRIPTORS = 200  # the listener, pipes, INFO connections, redis' own reserve
STALLED_CONNECT_SECONDS = 0.5


def proc_status(pid: int, field: str) -> int:
    """A number from /proc/<pid>/status (VmRSS is in KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def raise_open_file_limit(needed: int) -> None:
    """Both servers are our children and inherit this limit, so raise it first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is below the {needed} descriptors needed (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed if hard == resource.RLIM_INFINITY else hard, hard))


class IdleConnections:
    """``count`` open connections to one server, each proven served by a PING."""

    def __init__(self, port: int, count: int):
        self.sockets: list[socket.socket] = []
        # A connect that takes a second or more had its SYN dropped because the accept
        # queue (tcp-backlog) was full, and retried by the kernel a second later.
        self.stalled_connects = 0
        started = time.monotonic()
        for _ in range(count):
            before = time.monotonic()
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            self.stalled_connects += time.monotonic() - before >= STALLED_CONNECT_SECONDS
            sock.sendall(PING)
            self.sockets.append(sock)
        self.answer_ping(send=False)
        self.open_seconds = time.monotonic() - started

    def answer_ping(self, send: bool = True) -> None:
        if send:
            for sock in self.sockets:
                sock.sendall(PING)
        for index, sock in enumerate(self.sockets):
            reply = b""
            while not reply.endswith(b"\r\n"):  # one whole reply line, so an error reads in full
                chunk = sock.recv(256)
                if not chunk:
                    raise ConnectionError(f"idle connection {index} was closed by the server")
                reply += chunk
            if reply != PONG:
                raise ConnectionError(f"idle connection {index} answered {reply!r}")

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()


def connected_clients(port: int) -> int:
    with RawConnection(port) as connection:
        info = connection.call("INFO", "clients").decode()
    return int(re.search(r"^connected_clients:(\d+)", info, re.MULTILINE).group(1))


def close_all(idle: dict, servers: dict) -> None:
    """Close every server's idle connections, then wait until each server has let them go,
    so that the next measurement starts from a server with only its control client."""
    for connections in idle.values():
        connections.close()
    for name, server in servers.items():
        wait_until(lambda port=server.port: connected_clients(port) <= 1, timeout=60,
                   what=f"{name}'s idle clients to close")


def benchmark(port: int, test: str, clients: int, requests: int) -> float | None:
    """Requests/sec of one redis-benchmark run; None if it failed or printed an error."""
    done = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", str(requests), "-t", test, "-q"],
        capture_output=True, text=True, timeout=600,
    )
    output = (done.stdout + done.stderr).replace("\r", "\n")
    if done.returncode != 0 or re.search(r"error|^ERR", output, re.IGNORECASE | re.MULTILINE):
        print(f"redis-benchmark -t {test} on port {port} failed:\n{output.strip()}", file=sys.stderr)
        return None
    rates = re.findall(r"^\S+: ([\d.]+) requests per second", output, re.MULTILINE)
    return float(rates[-1]) if rates else None


def median_or_err(rates: list[float | None]) -> str:
    succeeded = [rate for rate in rates if rate is not None]
    return f"{statistics.median(succeeded):,.0f}" if succeeded else "ERR"


def ratio(ours: list[float | None], redis: list[float | None]) -> str:
    ours_ok = [rate for rate in ours if rate is not None]
    redis_ok = [rate for rate in redis if rate is not None]
    if not ours_ok or not redis_ok:
        return "-"
    return f"{statistics.median(ours_ok) / statistics.median(redis_ok):.2f}"


def redis_version() -> str:
    done = subprocess.run(["redis-server", "--version"], capture_output=True, text=True)
    return done.stdout.split()[2].removeprefix("v=")


def measure(servers: dict, count: int, options: argparse.Namespace) -> tuple[list[str], str]:
    """Open ``count`` idle connections to each server, benchmark both with them open, and
    return the throughput rows and the row of what opening them cost."""
    ours_pid = servers["ours"].process.pid
    before = {name: proc_status(server.process.pid, "VmRSS") for name, server in servers.items()}
    idle = {name: IdleConnections(server.port, count) for name, server in servers.items()}
    try:
        rss = {name: proc_status(server.process.pid, "VmRSS") for name, server in servers.items()}
        threads, virtual = proc_status(ours_pid, "Threads"), proc_status(ours_pid, "VmSize")
        clients = {name: connected_clients(server.port) for name, server in servers.items()}
        rates = {(test, name): [] for test in options.tests for name in servers}
        for _ in range(options.rounds):
            for test in options.tests:
                for name, server in servers.items():
                    rates[test, name].append(benchmark(server.port, test, options.clients, options.requests))
        for connections in idle.values():
            connections.answer_ping()  # all still open and served after the benchmark
    finally:
        close_all(idle, servers)
    print(f"{count:,} idle connections: opened in {idle['ours'].open_seconds:.2f} s on ours, "
          f"{idle['redis'].open_seconds:.2f} s on redis; ours' virtual size {virtual / 1024 ** 2:.1f} GiB", flush=True)

    throughput = [
        f"| {count:,} | {test.upper()} | {median_or_err(rates[test, 'ours'])} | {median_or_err(rates[test, 'redis'])} "
        f"| {ratio(rates[test, 'ours'], rates[test, 'redis'])} | {rss['ours'] / 1024:.1f} MiB | {threads} |"
        for test in options.tests
    ]
    per_connection = {name: f"{(rss[name] - before[name]) / count:.1f} KiB" if count else "-" for name in servers}
    cost = (f"| {count:,} | {clients['ours']:,} / {clients['redis']:,} "
            f"| {idle['ours'].open_seconds:.2f} s / {idle['redis'].open_seconds:.2f} s "
            f"| {idle['ours'].stalled_connects} / {idle['redis'].stalled_connects} "
            f"| {rss['ours'] / 1024:.1f} MiB / {rss['redis'] / 1024:.1f} MiB "
            f"| {per_connection['ours']} / {per_connection['redis']} |")
    return throughput, cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", default="0,2000", help="comma-separated counts of idle connections")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--tests", default="set,get")
    options = parser.parse_args()
    idle_counts = [int(count) for count in options.idle.split(",")]
    options.tests = options.tests.split(",")
    if shutil.which("redis-benchmark") is None:
        sys.exit("redis-benchmark is not installed (apt-get install redis-tools)")

    # This process holds the idle sockets of both servers at once; each server its own.
    most = max(idle_counts)
    raise_open_file_limit(2 * most + options.clients + SPARE_DESCRIPTORS)
    maxclients = str(max(10_000, most + options.clients + 100))

    throughput, costs = [], []
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as redis_dir, \
            start_ours("--save", "", "--maxclients", maxclients, cwd=ours_dir, own_session=True) as ours, \
            start_reference("--maxclients", maxclients, cwd=redis_dir, own_session=True) as redis:
        print(f"ours (python {sys.version.split()[0]}) on {ours.port}, redis {redis_version()} on {redis.port}; "
              f"-c {options.clients} -n {options.requests}, {options.rounds} rounds", flush=True)
        for count in idle_counts:
            rows, cost = measure({"ours": ours, "redis": redis}, count, options)
            throughput += rows
            costs.append(cost)

    print()
    print("| idle connections | test | ours rps | redis rps | ratio | ours RSS | ours threads |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    print("\n".join(throughput))
    print()
    print("| idle connections | connected_clients ours / redis | time to open ours / redis "
          "| connects stalled >= 0.5 s ours / redis | RSS ours / redis | RSS per idle connection ours / redis |")
    print("|---:|---:|---:|---:|---:|---:|")
    print("\n".join(costs))


if __name__ == "__main__":
    main()
