"""Many clients at once: 2,000 idle connections held open, each served by a thread of its
own, while redis-benchmark drives 50 more; none is refused, dropped or left unanswered.

The idle connections are plain sockets, not redis-py pools: all 2,000 PINGs are sent
first and the replies read after, so the server's threads answer them in parallel and
the test stays fast."""

from __future__ import annotations

import re
import resource
import shutil
import socket
import subprocess

import pytest

from tests.helpers import RawConnection, start_ours, wait_until

IDLE = 2000
BENCHMARK_CLIENTS = 50
# Descriptors beyond the sockets themselves: the listener, pipes, the benchmark, INFO.
SPARE_DESCRIPTORS = 200
PING = b"*1\r\n$4\r\nPING\r\n"
PONG = b"+PONG\r\n"


def ensure_open_file_limit(needed: int) -> None:
    """Raise this process's soft RLIMIT_NOFILE toward the hard limit if it is below
    ``needed``; the server started after inherits it. Skip when even the hard limit is
    too low: that is the machine's limit, not the server's."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.skip(f"RLIMIT_NOFILE hard limit is {hard}, below the {needed} descriptors "
                    f"{IDLE} connections need (raise it with `ulimit -Hn`)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed if hard == resource.RLIM_INFINITY else hard, hard))


def open_idle_connections(port: int, count: int) -> list[socket.socket]:
    """``count`` connections, each proven served by a PING answered with +PONG."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(PING)
            sockets.append(sock)
        assert_all_answer_ping(sockets, already_sent=True)
    except BaseException:
        close_all(sockets)
        raise
    return sockets


def assert_all_answer_ping(sockets: list[socket.socket], already_sent: bool = False) -> None:
    if not already_sent:
        for sock in sockets:
            sock.sendall(PING)
    for index, sock in enumerate(sockets):
        reply = b""
        while not reply.endswith(b"\r\n"):  # one whole reply line, so an error reads in full
            chunk = sock.recv(256)
            assert chunk, f"idle connection {index} was closed by the server"
            reply += chunk
        assert reply == PONG, f"idle connection {index} answered {reply!r}"


def close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def connected_clients(connection: RawConnection) -> int:
    info = connection.call("INFO", "clients").decode()
    return int(re.search(r"^connected_clients:(\d+)", info, re.MULTILINE).group(1))


def run_benchmark(port: int) -> dict[str, float]:
    """Run redis-benchmark (SET and GET, 50 clients) and return requests/sec by test,
    failing on a non-zero exit or any error text."""
    done = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-c", str(BENCHMARK_CLIENTS), "-n", "20000", "-t", "set,get", "-q"],
        capture_output=True, text=True, timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert not re.search(r"error|^ERR", output, re.IGNORECASE | re.MULTILINE), output
    rates = {}
    for line in output.replace("\r", "\n").splitlines():
        finished = re.match(r"^(\w+): ([\d.]+) requests per second", line)
        if finished:
            rates[finished.group(1)] = float(finished.group(2))
    return rates


def test_two_thousand_idle_connections_while_redis_benchmark_runs():
    if shutil.which("redis-benchmark") is None:
        pytest.skip("redis-benchmark is not installed (apt-get install redis-tools)")
    ensure_open_file_limit(IDLE + BENCHMARK_CLIENTS + SPARE_DESCRIPTORS)
    with start_ours("--save", "") as server, server.raw() as control:
        assert control.call("SET", "written-before", "still-here") == b"+OK\r\n"
        idle = open_idle_connections(server.port, IDLE)
        try:
            assert connected_clients(control) >= IDLE

            rates = run_benchmark(server.port)
            assert set(rates) == {"SET", "GET"}, rates
            assert all(rate > 0 for rate in rates.values()), rates

            assert_all_answer_ping(idle)
            assert connected_clients(control) >= IDLE
            assert control.call("GET", "written-before") == b"$10\r\nstill-here\r\n"
        finally:
            close_all(idle)
        # Only `control` is left once every closed connection's thread has seen EOF.
        wait_until(lambda: connected_clients(control) == 1, timeout=15, what="the idle clients to be gone")
