"""The base stages of the CodeCrafters tester, one test each, speaking raw RESP as it does.

The tester uses port 6379; these tests run the same checks on a free port, and
`test_jm1_bind_to_port` shows that 6379 is the default.
"""

from __future__ import annotations

import socket
import time

from app.config import load_config
from tests.helpers import RawConnection


def test_jm1_bind_to_port(server):
    assert load_config([])["port"] == 6379  # what `./your_program.sh` with no flags uses
    socket.create_connection(("127.0.0.1", server.port), timeout=5).close()


def test_rg2_respond_to_ping(server):
    with RawConnection(server.port) as connection:
        connection.send(b"*1\r\n$4\r\nPING\r\n")
        assert connection.read_raw() == b"+PONG\r\n"


def test_wy1_respond_to_multiple_pings(server):
    with RawConnection(server.port) as connection:
        for _ in range(3):
            connection.send(b"*1\r\n$4\r\nPING\r\n")
            assert connection.read_raw() == b"+PONG\r\n"


def test_zu2_handle_concurrent_clients(server):
    connections = [RawConnection(server.port) for _ in range(3)]
    try:
        for round_ in range(3):
            for connection in connections[round_:] + connections[:round_]:
                connection.send(b"*1\r\n$4\r\nPING\r\n")
                assert connection.read_raw() == b"+PONG\r\n"
    finally:
        for connection in connections:
            connection.close()


def test_qq0_echo(server):
    with RawConnection(server.port) as connection:
        connection.send(b"*2\r\n$4\r\nECHO\r\n$6\r\nbanana\r\n")
        assert connection.read_raw() == b"$6\r\nbanana\r\n"


def test_la7_set_and_get(raw):
    raw.send(b"*3\r\n$3\r\nSET\r\n$5\r\napple\r\n$6\r\nbanana\r\n")
    assert raw.read_raw() == b"+OK\r\n"
    raw.send(b"*2\r\n$3\r\nGET\r\n$5\r\napple\r\n")
    assert raw.read_raw() == b"$6\r\nbanana\r\n"


def test_yz1_expiry(raw):
    raw.send(b"*5\r\n$3\r\nSET\r\n$4\r\npear\r\n$5\r\nmango\r\n$2\r\npx\r\n$3\r\n100\r\n")
    assert raw.read_raw() == b"+OK\r\n"
    assert raw.call("GET", "pear") == b"$5\r\nmango\r\n"
    time.sleep(0.101)  # the passing of time is what this stage tests, as the tester does
    assert raw.call("GET", "pear") == b"$-1\r\n"
