"""The ``normal`` class of client-output-buffer-limit, and CLIENT LIST's memory fields.

Past the hard limit Redis closes the client at once and drops every reply it held for
it, the ones before the big reply included: the client reads nothing at all. Over the
soft limit for its seconds, the client is closed too, however slowly it reads.
"""

from __future__ import annotations

import re
import socket

import pytest

from tests.helpers import RawConnection, redis_server_path, start_ours, start_reference, wait_until


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _over_the_hard_limit(port: int) -> bytes:
    with RawConnection(port) as admin:
        assert admin.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0") == b"+OK\r\n"
        admin.call("SETRANGE", "big", "2000000", "x")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n*1\r\n$4\r\nPING\r\n")
            received = _read_all(sock)
        assert admin.call("GET", "missing") == b"$-1\r\n"  # the server is unharmed
        admin.call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
        admin.call("DEL", "big")
    return received


def test_a_reply_past_the_hard_limit_closes_the_client_as_in_redis(tmp_path):
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    with start_ours() as ours, start_reference(cwd=str(tmp_path)) as reference:
        assert _over_the_hard_limit(ours.port) == _over_the_hard_limit(reference.port) == b""


def _connected_clients(client: RawConnection) -> int:
    return int(re.search(rb"connected_clients:(\d+)", client.call("INFO", "clients")).group(1))


def test_a_client_that_stays_over_the_soft_limit_is_closed():
    with start_ours() as ours, ours.raw() as admin:
        admin.call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 64kb 1")
        admin.call("SETRANGE", "big", str(32 * 1024 * 1024), "x")  # more than socket buffers hold
        reader = socket.create_connection(("127.0.0.1", ours.port))
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.sendall(b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n")  # and never reads
        wait_until(lambda: b"cmd=get" in admin.call("CLIENT", "LIST"), what="the GET to run")
        wait_until(lambda: _connected_clients(admin) == 1, what="the slow reader to be closed")
        reader.close()
        assert admin.call("PING") == b"+PONG\r\n"


def _fields(line: bytes) -> dict[str, str]:
    return dict(item.split("=", 1) for item in line.decode().split())


def test_client_list_memory_fields_count_what_a_client_holds():
    with start_ours() as ours, ours.raw() as watcher, ours.raw() as queued:
        info = _fields(watcher.call("CLIENT", "INFO")[watcher.call("CLIENT", "INFO").index(b"\r\n") + 2:-2])
        assert int(info["argv-mem"]) > 0  # CLIENT INFO's own arguments, while it runs
        assert info["multi-mem"] == "0" and info["redir"] == "-1"
        assert int(info["tot-mem"]) >= int(info["argv-mem"])
        queued.call("MULTI")
        queued.call("SET", "key", "v" * 1000)
        listing = watcher.call("CLIENT", "LIST").split(b"\r\n")[1].split(b"\n")
        other = next(_fields(line) for line in listing if line and b"flags=x" in line)
        assert int(other["multi-mem"]) > 1000  # the queued value is held until EXEC
        assert other["argv-mem"] == "0"  # idle: no command running
        watcher.call("CLIENT", "TRACKING", "ON")
        info = watcher.call("CLIENT", "INFO")
        assert b" redir=0 " in info  # tracking, invalidations to itself
