"""Blocking list commands with real connections: who is served, in which order, and what
is left behind when a wait ends without data.

A test knows that a client is blocked from INFO's blocked_clients (`wait_until_blocked`),
never by sleeping. Every test leaves no client blocked, so each starts from zero.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
import redis

from tests.helpers import RawConnection

UNBLOCKED = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"


def blocked_clients(connection: RawConnection) -> int:
    info = connection.call("INFO", "clients")
    return int(re.search(rb"\r\nblocked_clients:(\d+)\r\n", info).group(1))


def wait_until_blocked(connection: RawConnection, count: int, seconds: float = 5.0) -> None:
    """Poll INFO until exactly ``count`` clients are blocked, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (blocked := blocked_clients(connection)) != count:
        assert time.monotonic() < deadline, f"{blocked} clients blocked, waited for {count}"
        time.sleep(0.001)


def bulks(*words: bytes) -> bytes:
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)


@pytest.fixture
def control(server):
    """A connection on a flushed server that checks, at the end, that nobody is blocked."""
    with RawConnection(server.port) as connection:
        connection.call("FLUSHALL")
        yield connection
        wait_until_blocked(connection, 0)


def block(server, control, *command, count: int, protocol: int = 2) -> RawConnection:
    """A new connection that sends ``command`` and is then the ``count``-th blocked client."""
    connection = RawConnection(server.port, protocol)
    connection.send_command(*command)
    wait_until_blocked(control, count)
    return connection


@pytest.mark.parametrize("pushes", ["one at a time", "all at once"])
def test_fifty_clients_are_served_in_the_order_they_blocked(server, control, pushes):
    clients = [block(server, control, "BLPOP", "queue", "0", count=i + 1) for i in range(50)]
    elements = [b"e%d" % i for i in range(50)]
    try:
        if pushes == "one at a time":
            for element in elements:
                # Each element goes to a waiter at once, so the list never grows past 1.
                assert control.call("RPUSH", "queue", element) == b":1\r\n"
        else:
            assert control.call("RPUSH", "queue", *elements) == b":50\r\n"
        for client, element in zip(clients, elements):
            assert client.read_raw() == bulks(b"queue", element)
        assert control.call("EXISTS", "queue") == b":0\r\n"
    finally:
        for client in clients:
            client.close()


def test_a_client_that_hangs_up_while_blocked_leaves_no_trace(server, control):
    client = block(server, control, "BLPOP", "k", "0", count=1)
    client.close()
    wait_until_blocked(control, 0)  # the hang-up watcher cancelled its wait
    assert control.call("RPUSH", "k", "kept") == b":1\r\n"
    assert control.call("LRANGE", "k", "0", "-1") == bulks(b"kept")


def test_the_pushers_reply_counts_what_it_pushed(server, control):
    first = block(server, control, "BLPOP", "k", "0", count=1)
    second = block(server, control, "BRPOP", "k", "0", count=2)
    with first, second:
        assert control.call("RPUSH", "k", "a", "b", "c") == b":3\r\n"
        assert first.read_raw() == bulks(b"k", b"a")
        assert second.read_raw() == bulks(b"k", b"c")  # BRPOP takes from the tail
        assert control.call("LRANGE", "k", "0", "-1") == bulks(b"b")


def test_lpush_of_several_elements_serves_the_last_one_pushed(server, control):
    with block(server, control, "BLPOP", "k", "0", count=1) as client:
        assert control.call("LPUSH", "k", "1", "2", "3") == b":3\r\n"
        assert client.read_raw() == bulks(b"k", b"3")
        assert control.call("LRANGE", "k", "0", "-1") == bulks(b"2", b"1")


def test_blpop_on_several_keys_takes_from_the_one_pushed_and_leaves_the_others(server, control):
    with block(server, control, "BLPOP", "k1", "k2", "k3", "0", count=1) as client:
        assert control.call("RPUSH", "k2", "v") == b":1\r\n"
        assert client.read_raw() == bulks(b"k2", b"v")
        wait_until_blocked(control, 0)
        assert control.call("RPUSH", "k3", "stays") == b":1\r\n"
        assert control.call("LRANGE", "k3", "0", "-1") == bulks(b"stays")


def test_blmove_chain_hands_the_element_along(server, control):
    first = block(server, control, "BLMOVE", "a", "b", "LEFT", "RIGHT", "0", count=1)
    second = block(server, control, "BRPOPLPUSH", "b", "c", "0", count=2)
    last = block(server, control, "BLPOP", "c", "0", count=3)
    with first, second, last:
        assert control.call("RPUSH", "a", "x") == b":1\r\n"
        assert first.read_raw() == b"$1\r\nx\r\n"
        assert second.read_raw() == b"$1\r\nx\r\n"
        assert last.read_raw() == bulks(b"c", b"x")
        assert control.call("EXISTS", "a", "b", "c") == b":0\r\n"


def test_blmove_into_a_key_of_another_type_answers_wrongtype_and_moves_nothing(server, control):
    control.call("SET", "str", "v")
    mover = block(server, control, "BLMOVE", "k", "str", "LEFT", "LEFT", "0", count=1)
    popper = block(server, control, "BLPOP", "k", "0", count=2)
    with mover, popper:
        assert control.call("RPUSH", "k", "x") == b":1\r\n"
        assert mover.read_raw().startswith(b"-WRONGTYPE")
        assert popper.read_raw() == bulks(b"k", b"x")  # the next waiter gets the element


def test_blmpop_is_served_with_its_count(server, control):
    with block(server, control, "BLMPOP", "0", "2", "p", "q", "RIGHT", "COUNT", "2", count=1) as client:
        assert control.call("RPUSH", "q", "1", "2", "3") == b":3\r\n"
        assert client.read_raw() == b"*2\r\n$1\r\nq\r\n" + bulks(b"3", b"2")
        assert control.call("LRANGE", "q", "0", "-1") == bulks(b"1")


def test_a_key_that_becomes_a_string_keeps_the_client_waiting(server, control):
    with block(server, control, "BLPOP", "k", "0", count=1) as client:
        assert control.call("SET", "k", "string") == b"+OK\r\n"
        assert blocked_clients(control) == 1  # Redis 7.0 keeps waiting for a list
        control.call("DEL", "k")
        assert control.call("RPUSH", "k", "v") == b":1\r\n"
        assert client.read_raw() == bulks(b"k", b"v")


@pytest.mark.parametrize("command", [("RENAME", "src", "k"), ("COPY", "src", "k")])
def test_a_list_arriving_under_the_key_serves_the_client(server, control, command):
    with block(server, control, "BLPOP", "k", "0", count=1) as client:
        control.call("RPUSH", "src", "v1", "v2")
        control.call(*command)
        assert client.read_raw() == bulks(b"k", b"v1")
        assert control.call("LRANGE", "k", "0", "-1") == bulks(b"v2")


def test_a_transaction_serves_waiters_after_exec_with_what_is_left(server, control):
    with block(server, control, "BLPOP", "k", "0", count=1) as client:
        control.call("MULTI")
        control.call("RPUSH", "k", "x")
        control.call("LPOP", "k")
        assert control.call("EXEC") == b"*2\r\n:1\r\n$1\r\nx\r\n"
        assert blocked_clients(control) == 1  # nothing was left for it
        control.call("MULTI")
        control.call("RPUSH", "k", "x", "y")
        control.call("LPOP", "k")
        assert control.call("EXEC") == b"*2\r\n:2\r\n$1\r\nx\r\n"
        assert client.read_raw() == bulks(b"k", b"y")


def test_blocking_commands_inside_multi_do_not_block(control):
    control.call("MULTI")
    control.call("BLPOP", "k", "0")
    control.call("BLMOVE", "k", "d", "LEFT", "LEFT", "0")
    control.call("BLMPOP", "0", "1", "k", "LEFT")
    assert control.call("EXEC") == b"*3\r\n*-1\r\n$-1\r\n*-1\r\n"


def test_a_client_blocked_in_another_database_is_not_served(server, control):
    client = RawConnection(server.port)
    with client:
        client.call("SELECT", "1")
        client.send_command("BLPOP", "k", "0")
        wait_until_blocked(control, 1)
        assert control.call("RPUSH", "k", "db0") == b":1\r\n"
        assert blocked_clients(control) == 1
        control.call("SELECT", "1")
        assert control.call("RPUSH", "k", "db1") == b":1\r\n"
        assert client.read_raw() == bulks(b"k", b"db1")
        control.call("SELECT", "0")
        assert control.call("LRANGE", "k", "0", "-1") == bulks(b"db0")


def test_a_blocked_client_is_flagged_and_counted(server, control):
    with block(server, control, "BRPOP", "k", "0", count=1) as client:
        assert re.search(rb" flags=b .*cmd=brpop", control.call("CLIENT", "LIST"))
        control.call("RPUSH", "k", "v")
        assert client.read_raw() == bulks(b"k", b"v")


def test_a_timeout_ends_the_wait_with_a_null_array_in_both_protocols(server, control):
    for protocol, null in ((2, b"*-1\r\n"), (3, b"_\r\n")):
        with RawConnection(server.port, protocol) as client:
            started = time.monotonic()
            assert client.call("BLMOVE", "k", "d", "LEFT", "LEFT", "0.05") == null
            assert time.monotonic() - started >= 0.045
    assert control.call("RPUSH", "k", "v") == b":1\r\n"  # nobody waits any more
    assert control.call("LRANGE", "k", "0", "-1") == bulks(b"v")


def _client_id(connection: RawConnection) -> int:
    return int(connection.call("CLIENT", "ID")[1:-2])


def _skip_without_client_unblock(control: RawConnection) -> None:
    if control.call("CLIENT", "UNBLOCK", "0").startswith(b"-ERR unknown subcommand"):
        pytest.skip("CLIENT UNBLOCK is not implemented yet (app/commands/connection.py)")


@pytest.mark.parametrize("command", [("BLPOP", "k", "0"), ("BLMOVE", "k", "d", "LEFT", "LEFT", "0"),
                                     ("BLMPOP", "0", "1", "k", "LEFT")])
def test_client_unblock_timeout_answers_as_a_timeout(server, control, command):
    _skip_without_client_unblock(control)
    with RawConnection(server.port) as client:
        client_id = _client_id(client)
        client.send_command(*command)
        wait_until_blocked(control, 1)
        assert control.call("CLIENT", "UNBLOCK", client_id, "TIMEOUT") == b":1\r\n"
        assert client.read_raw() == b"*-1\r\n"
        assert control.call("CLIENT", "UNBLOCK", client_id) == b":0\r\n"  # no longer blocked
    assert control.call("RPUSH", "k", "v") == b":1\r\n"
    assert control.call("LLEN", "k") == b":1\r\n"


def test_client_unblock_error_answers_an_error(server, control):
    _skip_without_client_unblock(control)
    with RawConnection(server.port) as client:
        client_id = _client_id(client)
        client.send_command("BRPOPLPUSH", "k", "d", "0")
        wait_until_blocked(control, 1)
        assert control.call("CLIENT", "UNBLOCK", client_id, "ERROR") == b":1\r\n"
        assert client.read_raw() == UNBLOCKED
        assert client.call("PING") == b"+PONG\r\n"  # the connection goes on


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_blpop(server, control, protocol):
    client = redis.Redis(port=server.port, protocol=protocol)
    try:
        assert client.blpop(["nothing"], timeout=0.05) is None
        client.rpush("k", "ready")
        assert client.blpop(["nothing", "k"], timeout=0) in ((b"k", b"ready"), [b"k", b"ready"])
        result = {}
        waiter = threading.Thread(target=lambda: result.update(popped=client.blpop(["k"], timeout=5)))
        waiter.start()
        wait_until_blocked(control, 1)
        control.call("RPUSH", "k", "later")
        waiter.join()
        assert tuple(result["popped"]) == (b"k", b"later")
        assert client.brpoplpush("nothing", "d", timeout=0.05) is None
        assert client.blmpop(0.05, 1, "nothing", direction="LEFT") is None
    finally:
        client.close()


def test_a_client_blocked_on_several_keys_is_served_from_the_key_fed_first(server, control):
    """Redis serves from the key that became ready, not the first key named: here b,
    although a has an element too by the time the transaction ends."""
    client = block(server, control, "BLPOP", "a", "b", "0", count=1)
    try:
        control.call("MULTI")
        control.call("RPUSH", "b", "x")
        control.call("RPUSH", "a", "y")
        assert control.call("EXEC") == b"*2\r\n:1\r\n:1\r\n"
        assert client.read_raw() == bulks(b"b", b"x")
        assert control.call("LRANGE", "a", "0", "-1") == bulks(b"y")
    finally:
        client.close()


def test_the_count_of_blocked_clients_drops_as_soon_as_one_is_served(server, control):
    """The hand-over unblocks the client at once, before its thread wakes (as in Redis)."""
    client = block(server, control, "BLPOP", "k", "0", count=1)
    try:
        control.send(b"RPUSH k v\r\nINFO clients\r\n")
        assert control.read_raw() == b":1\r\n"
        assert b"\r\nblocked_clients:0\r\n" in control.read_raw()
        assert client.read_raw() == bulks(b"k", b"v")
    finally:
        client.close()


def test_swapdb_serves_a_client_blocked_on_a_key_the_swap_brings(server, control):
    """After SWAPDB the client waits on the same database number, now holding the other
    contents: a list there serves it at once (Redis: scanDatabaseForReadyKeys)."""
    client = block(server, control, "BLPOP", "k", "0", count=1)
    try:
        control.call("SELECT", "1")
        control.call("RPUSH", "k", "from-db1")
        assert control.call("SWAPDB", "0", "1") == b"+OK\r\n"
        assert client.read_raw() == bulks(b"k", b"from-db1")
        assert control.call("EXISTS", "k") == b":0\r\n"  # db 1 now holds what db 0 had: nothing
    finally:
        control.call("SELECT", "0")
        client.close()
