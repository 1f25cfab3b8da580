"""BZPOPMIN, BZPOPMAX and BZMPOP with clients that really wait: who is served, in which
order, with what, and what is left when a wait ends without data.

A test knows that a client is blocked from INFO's blocked_clients (`wait_until_blocked`),
never by sleeping. Every test leaves no client blocked (the `control` fixture checks).
"""

from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.helpers import RawConnection
from tests.test_lists_blocking import (  # noqa: F401  (control is a fixture)
    UNBLOCKED,
    _client_id,
    _skip_without_client_unblock,
    block,
    blocked_clients,
    control,
    wait_until_blocked,
)


def bulk(word: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(word), word)


def popped(key: bytes, member: bytes, score: bytes) -> bytes:
    """BZPOPMIN's reply in RESP2: [key, member, score]."""
    return b"*3\r\n" + bulk(key) + bulk(member) + bulk(score)


@pytest.mark.parametrize("command", ["BZPOPMIN", "BZPOPMAX"])
def test_a_zadd_serves_the_waiting_client(server, control, command):
    with block(server, control, command, "z", "0", count=1) as client:
        assert control.call("ZADD", "z", "1", "low", "2", "high") == b":2\r\n"
        expected = (b"low", b"1") if command == "BZPOPMIN" else (b"high", b"2")
        assert client.read_raw() == popped(b"z", *expected)
        assert control.call("ZCARD", "z") == b":1\r\n"


def test_the_reply_has_a_double_in_resp3(server, control):
    with block(server, control, "BZPOPMIN", "z", "0", count=1, protocol=3) as client:
        control.call("ZADD", "z", "1.5", "m")
        assert client.read_raw() == b"*3\r\n$1\r\nz\r\n$1\r\nm\r\n,1.5\r\n"
        assert control.call("EXISTS", "z") == b":0\r\n"  # the last member went: the key too


def test_thirty_clients_are_served_in_the_order_they_blocked(server, control):
    clients = [block(server, control, "BZPOPMIN", "z", "0", count=i + 1) for i in range(30)]
    try:
        members = [b"m%02d" % i for i in range(30)]
        args = [word for i, member in enumerate(members) for word in (str(i), member)]
        assert control.call("ZADD", "z", *args) == b":30\r\n"  # one ZADD serves them all
        for i, (client, member) in enumerate(zip(clients, members)):
            assert client.read_raw() == popped(b"z", member, b"%d" % i)
        assert control.call("EXISTS", "z") == b":0\r\n"
    finally:
        for client in clients:
            client.close()


def test_a_client_on_several_keys_is_served_from_the_key_that_was_fed(server, control):
    with block(server, control, "BZPOPMAX", "a", "b", "c", "0", count=1) as client:
        assert control.call("ZADD", "c", "3", "x") == b":1\r\n"
        assert client.read_raw() == popped(b"c", b"x", b"3")
        wait_until_blocked(control, 0)
        assert control.call("ZADD", "a", "1", "stays") == b":1\r\n"
        assert control.call("ZRANGE", "a", "0", "-1") == b"*1\r\n$5\r\nstays\r\n"


def test_bzmpop_is_served_with_its_count(server, control):
    with block(server, control, "BZMPOP", "0", "2", "p", "q", "MAX", "COUNT", "2", count=1) as client:
        assert control.call("ZADD", "q", "1", "a", "2", "b", "3", "c") == b":3\r\n"
        assert client.read_raw() == b"*2\r\n$1\r\nq\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
        assert control.call("ZRANGE", "q", "0", "-1") == b"*1\r\n$1\r\na\r\n"


def test_zincrby_and_geoadd_feed_waiters_too(server, control):
    with block(server, control, "BZPOPMIN", "z", "0", count=1) as client:
        assert control.call("ZINCRBY", "z", "2.5", "m") == b"$3\r\n2.5\r\n"
        assert client.read_raw() == popped(b"z", b"m", b"2.5")
    with block(server, control, "BZPOPMIN", "g", "0", count=1) as client:
        assert control.call("GEOADD", "g", "13.361389", "38.115556", "Palermo") == b":1\r\n"
        assert client.read_raw() == popped(b"g", b"Palermo", b"3479099956230698")


@pytest.mark.parametrize("command", [("ZUNIONSTORE", "z", "1", "src"), ("ZRANGESTORE", "z", "src", "0", "-1"),
                                     ("COPY", "src", "z"), ("RENAME", "src", "z")])
def test_a_sorted_set_arriving_under_the_key_serves_the_client(server, control, command):
    with block(server, control, "BZPOPMIN", "z", "0", count=1) as client:
        control.call("ZADD", "src", "1", "a", "2", "b")
        control.call(*command)
        assert client.read_raw() == popped(b"z", b"a", b"1")
        assert control.call("ZRANGE", "z", "0", "-1") == b"*1\r\n$1\r\nb\r\n"


def test_a_key_that_becomes_a_string_keeps_the_client_waiting(server, control):
    with block(server, control, "BZPOPMIN", "z", "0", count=1) as client:
        assert control.call("SET", "z", "string") == b"+OK\r\n"
        assert blocked_clients(control) == 1  # Redis 7.0 keeps waiting for a sorted set
        control.call("DEL", "z")
        assert control.call("ZADD", "z", "1", "a") == b":1\r\n"
        assert client.read_raw() == popped(b"z", b"a", b"1")


def test_a_list_push_does_not_serve_a_sorted_set_waiter(server, control):
    with block(server, control, "BZPOPMIN", "k", "0", count=1) as client:
        assert control.call("RPUSH", "k", "x") == b":1\r\n"
        assert blocked_clients(control) == 1
        control.call("DEL", "k")
        control.call("ZADD", "k", "0", "y")
        assert client.read_raw() == popped(b"k", b"y", b"0")


def test_a_client_that_hangs_up_while_blocked_leaves_no_trace(server, control):
    client = block(server, control, "BZPOPMIN", "z", "0", count=1)
    client.close()
    wait_until_blocked(control, 0)
    assert control.call("ZADD", "z", "1", "kept") == b":1\r\n"
    assert control.call("ZRANGE", "z", "0", "-1") == b"*1\r\n$4\r\nkept\r\n"


def test_a_timeout_ends_the_wait_with_a_null_array_in_both_protocols(server, control):
    for protocol, null in ((2, b"*-1\r\n"), (3, b"_\r\n")):
        with RawConnection(server.port, protocol) as client:
            started = time.monotonic()
            assert client.call("BZPOPMIN", "z", "0.05") == null
            assert time.monotonic() - started >= 0.045
            assert client.call("BZMPOP", "0.05", "1", "z", "MIN") == null
    assert control.call("ZADD", "z", "1", "a") == b":1\r\n"  # nobody waits any more
    assert control.call("ZCARD", "z") == b":1\r\n"


def test_a_transaction_serves_waiters_after_exec_with_what_is_left(server, control):
    with block(server, control, "BZPOPMIN", "z", "0", count=1) as client:
        control.call("MULTI")
        control.call("ZADD", "z", "1", "a")
        control.call("ZPOPMIN", "z")
        assert control.call("EXEC") == b"*2\r\n:1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
        assert blocked_clients(control) == 1  # nothing was left for it
        control.call("MULTI")
        control.call("ZADD", "z", "1", "a", "2", "b")
        control.call("ZPOPMIN", "z")
        control.call("EXEC")
        assert client.read_raw() == popped(b"z", b"b", b"2")


def test_blocking_pops_inside_multi_do_not_block(control):
    control.call("MULTI")
    control.call("BZPOPMIN", "z", "0")
    control.call("BZPOPMAX", "z", "0")
    control.call("BZMPOP", "0", "1", "z", "MIN")
    assert control.call("EXEC") == b"*3\r\n*-1\r\n*-1\r\n*-1\r\n"


@pytest.mark.parametrize("command", [("BZPOPMIN", "z", "0"), ("BZMPOP", "0", "1", "z", "MAX")])
def test_client_unblock_timeout_answers_as_a_timeout(server, control, command):
    _skip_without_client_unblock(control)
    with RawConnection(server.port) as client:
        client_id = _client_id(client)
        client.send_command(*command)
        wait_until_blocked(control, 1)
        assert control.call("CLIENT", "UNBLOCK", client_id, "TIMEOUT") == b":1\r\n"
        assert client.read_raw() == b"*-1\r\n"
    assert control.call("ZADD", "z", "1", "a") == b":1\r\n"
    assert control.call("ZCARD", "z") == b":1\r\n"


def test_client_unblock_error_answers_an_error(server, control):
    _skip_without_client_unblock(control)
    with RawConnection(server.port) as client:
        client_id = _client_id(client)
        client.send_command("BZPOPMAX", "z", "0")
        wait_until_blocked(control, 1)
        assert control.call("CLIENT", "UNBLOCK", client_id, "ERROR") == b":1\r\n"
        assert client.read_raw() == UNBLOCKED
        assert client.call("PING") == b"+PONG\r\n"


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_bzpopmin(server, control, protocol):
    client = redis.Redis(port=server.port, protocol=protocol)
    try:
        assert client.bzpopmin(["nothing"], timeout=0.05) is None
        client.zadd("z", {"ready": 1})
        assert tuple(client.bzpopmin(["nothing", "z"], timeout=0)) == (b"z", b"ready", 1.0)
        result = {}
        waiter = threading.Thread(target=lambda: result.update(popped=client.bzpopmax(["z"], timeout=5)))
        waiter.start()
        wait_until_blocked(control, 1)
        control.call("ZADD", "z", "7", "later")
        waiter.join()
        assert tuple(result["popped"]) == (b"z", b"later", 7.0)
    finally:
        client.close()
