"""WAIT is a blocked client, as in Redis: INFO counts it, CLIENT UNBLOCK ends it, and a
client that hangs up while waiting is noticed. Each is run against our server and a
real redis-server, which must behave alike."""

from __future__ import annotations

import socket

import pytest
import redis

from tests.helpers import RawConnection, redis_server_path, start_reference, wait_until


def _blocked(client) -> int:
    return client.info("clients")["blocked_clients"]


@pytest.fixture(params=["ours", "redis"])
def target(request, server, tmp_path):
    if request.param == "ours":
        yield server
        return
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    with start_reference(cwd=str(tmp_path)) as process:
        yield process


@pytest.mark.parametrize("how, reply", [(("TIMEOUT",), b":0\r\n"), (("ERROR",),
                         b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")])
def test_client_unblock_ends_a_wait(target, how, reply):
    admin = redis.Redis(port=target.port)
    with RawConnection(target.port) as waiting:
        client_id = int(waiting.call("CLIENT", "ID")[1:-2])
        waiting.send_command("WAIT", "1", "0")  # no replica: it would wait forever
        wait_until(lambda: _blocked(admin) == 1, what="WAIT counted as blocked")
        assert admin.client_unblock(client_id, error=how == ("ERROR",)) is True
        assert waiting.read_raw() == reply
    assert _blocked(admin) == 0


def test_a_client_that_hangs_up_during_wait_is_noticed(target):
    admin = redis.Redis(port=target.port)
    sock = socket.create_connection(("127.0.0.1", target.port))
    sock.sendall(b"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n")
    wait_until(lambda: _blocked(admin) == 1, what="WAIT counted as blocked")
    sock.close()
    wait_until(lambda: _blocked(admin) == 0, what="the hang-up noticed")
