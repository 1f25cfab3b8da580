"""XREAD BLOCK and XREADGROUP BLOCK with real connections: who is served, with what, in
which order, and what a wait that ends without data answers.

Most scenarios run on our server and on a real Redis, and their transcripts (every
reply's bytes) must be the same. A test knows that a client is blocked from INFO's
blocked_clients (`wait_until_blocked`), never by sleeping; every test leaves no client
blocked.
"""

from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.helpers import RawConnection
from tests.test_lists_blocking import blocked_clients, wait_until_blocked

UNBLOCKED = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"


@pytest.fixture(params=["ours", "redis"])
def port(request, server):
    """Each scenario runs on our server and on a real Redis (skipped without one)."""
    if request.param == "ours":
        return server.port
    return request.getfixturevalue("reference").port


@pytest.fixture
def control(port):
    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        yield connection
        wait_until_blocked(connection, 0)


def block(port, control, *command, count: int, protocol: int = 2) -> RawConnection:
    """A new connection that sends ``command`` and is then the ``count``-th blocked client."""
    connection = RawConnection(port, protocol)
    connection.send_command(*command)
    wait_until_blocked(control, count)
    return connection


def entry(entry_id: bytes, *fields: bytes) -> bytes:
    return b"*2\r\n$%d\r\n%s\r\n*%d\r\n" % (len(entry_id), entry_id, len(fields)) + b"".join(
        b"$%d\r\n%s\r\n" % (len(f), f) for f in fields)


def served(key: bytes, *items: bytes) -> bytes:
    """A blocked XREAD's answer in RESP2: one stream, its new entries."""
    return b"*1\r\n*2\r\n$%d\r\n%s\r\n*%d\r\n" % (len(key), key, len(items)) + b"".join(items)


def test_every_reader_of_a_stream_gets_the_new_entry(port, control):
    control.call("XADD", "s", "1-1", "old", "x")
    readers = [block(port, control, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", count=i + 1) for i in range(5)]
    try:
        assert control.call("XADD", "s", "2-1", "new", "y") == b"$3\r\n2-1\r\n"
        for reader in readers:
            assert reader.read_raw() == served(b"s", entry(b"2-1", b"new", b"y"))
    finally:
        for reader in readers:
            reader.close()


def test_consumers_of_a_group_are_served_in_the_order_they_blocked(port, control):
    control.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    consumers = [block(port, control, "XREADGROUP", "GROUP", "g", f"c{i}", "BLOCK", "0", "STREAMS", "s", ">",
                       count=i + 1) for i in range(10)]
    try:
        for i, consumer in enumerate(consumers):
            entry_id = b"%d-1" % (i + 1)
            assert control.call("XADD", "s", entry_id, "n", str(i)) == b"$%d\r\n%s\r\n" % (len(entry_id), entry_id)
            assert consumer.read_raw() == served(b"s", entry(entry_id, b"n", str(i).encode()))
            wait_until_blocked(control, len(consumers) - i - 1)  # the others still wait
        assert control.call("XPENDING", "s", "g")[:4] == b"*4\r\n"
        assert control.call("XLEN", "s") == b":10\r\n"
    finally:
        for consumer in consumers:
            consumer.close()


def test_a_reader_waiting_for_later_ids_does_not_hold_up_those_behind_it(port, control):
    """Each reader waits for IDs past its own point: one that cannot be served yet must
    not stop the next in line (Redis tries every reader of the key)."""
    control.call("XADD", "s", "5-1", "f", "v")
    control.call("XGROUP", "CREATE", "s", "g", "$")
    future = block(port, control, "XREAD", "BLOCK", "0", "STREAMS", "s", "100-0", count=1)
    first = block(port, control, "XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">", count=2)
    second = block(port, control, "XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0", "STREAMS", "s", ">", count=3)
    now = block(port, control, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", count=4)
    with future, first, second, now:
        control.call("XADD", "s", "6-1", "f", "w")
        assert first.read_raw() == served(b"s", entry(b"6-1", b"f", b"w"))
        assert now.read_raw() == served(b"s", entry(b"6-1", b"f", b"w"))
        wait_until_blocked(control, 2)  # the future reader and the second consumer
        control.call("XADD", "s", "200-1", "f", "z")
        assert future.read_raw() == served(b"s", entry(b"200-1", b"f", b"z"))
        assert second.read_raw() == served(b"s", entry(b"200-1", b"f", b"z"))


def test_a_reader_of_several_streams_gets_the_one_fed(port, control):
    control.call("XADD", "b", "1-1", "f", "v")
    with block(port, control, "XREAD", "COUNT", "5", "BLOCK", "0", "STREAMS", "a", "b", "c", "$", "$", "$",
               count=1) as reader:
        control.call("XADD", "c", "1-1", "f", "c")
        assert reader.read_raw() == served(b"c", entry(b"1-1", b"f", b"c"))


def test_a_transaction_feeds_a_reader_what_it_added_within_count(port, control):
    with block(port, control, "XREAD", "COUNT", "2", "BLOCK", "0", "STREAMS", "s", "$", count=1) as reader:
        control.call("MULTI")
        for i in range(1, 4):
            control.call("XADD", "s", f"{i}-1", "n", str(i))
        assert control.call("EXEC") == b"*3\r\n$3\r\n1-1\r\n$3\r\n2-1\r\n$3\r\n3-1\r\n"
        assert reader.read_raw() == served(b"s", entry(b"1-1", b"n", b"1"), entry(b"2-1", b"n", b"2"))


def test_dollar_is_the_last_id_when_the_command_starts(port, control):
    control.call("XADD", "s", "1-1", "f", "v")
    with block(port, control, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", count=1) as reader:
        control.call("XADD", "s", "2-1", "f", "w")
        assert reader.read_raw() == served(b"s", entry(b"2-1", b"f", b"w"))
        # Blocking again with $ now waits past 2-1: the entry just read is not read again.
        reader.send_command("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        wait_until_blocked(control, 1)
        control.call("XADD", "s", "3-1", "f", "x")
        assert reader.read_raw() == served(b"s", entry(b"3-1", b"f", b"x"))


@pytest.mark.parametrize("protocol, null", [(2, b"*-1\r\n"), (3, b"_\r\n")])
def test_a_timeout_answers_a_null_array(port, control, protocol, null):
    with RawConnection(port, protocol) as reader:
        started = time.monotonic()
        assert reader.call("XREAD", "BLOCK", "50", "STREAMS", "s", "$") == null
        assert time.monotonic() - started >= 0.045
        reader.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        assert reader.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "50", "STREAMS", "s", ">") == null
    assert control.call("XADD", "s", "1-1", "f", "v") == b"$3\r\n1-1\r\n"  # nobody waits any more
    assert control.call("XPENDING", "s", "g") == b"*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n"


def test_resp3_readers_get_a_map(port, control):
    with block(port, control, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", count=1, protocol=3) as reader:
        control.call("XADD", "s", "1-1", "f", "v")
        assert reader.read_raw() == b"%1\r\n$1\r\ns\r\n*1\r\n" + entry(b"1-1", b"f", b"v")


def test_a_stream_deleted_and_added_again_serves_xread(port, control):
    """XREAD keeps waiting while its key is gone or holds another type, and reads the
    stream that comes back from its own ID on."""
    control.call("XADD", "s", "5-1", "f", "v")
    with block(port, control, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", count=1) as reader:
        control.call("DEL", "s")
        control.call("SET", "s", "string")
        assert blocked_clients(control) == 1
        control.call("DEL", "s")
        control.call("XADD", "s", "3-1", "f", "too old")
        assert blocked_clients(control) == 1
        control.call("XADD", "s", "6-1", "f", "new")
        assert reader.read_raw() == served(b"s", entry(b"6-1", b"f", b"new"))


def test_a_stream_replaced_in_a_transaction_ends_xreadgroup_with_an_error(port, control):
    control.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    with block(port, control, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
               count=1) as reader:
        control.call("MULTI")
        control.call("DEL", "s")
        control.call("SET", "s", "string")
        control.call("EXEC")
        assert reader.read_raw() == b"-UNBLOCKED the stream key no longer exists\r\n"


def test_deleting_the_stream_ends_xreadgroup_with_an_error(server):
    """A DEL signals the key (Database.delete), and the reader's group is gone: UNBLOCKED."""
    with RawConnection(server.port) as control:
        control.call("FLUSHALL")
        control.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        with block(server.port, control, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
                   count=1) as reader:
            try:
                control.call("DEL", "s")
                wait_until_blocked(control, 0, seconds=0.5)
                assert reader.read_raw() == b"-UNBLOCKED the stream key no longer exists\r\n"
            finally:
                control.call("XADD", "s", "1-1", "f", "v")  # wakes it, with NOGROUP


@pytest.mark.parametrize("flush", [["FLUSHALL"], ["FLUSHDB"], ["FLUSHALL", "ASYNC"], ["SWAPDB", "0", "1"]])
def test_flushing_the_database_ends_xreadgroup_with_an_error(port, control, flush):
    """As Redis' signalFlushedDb: every key waited on in a flushed (or swapped) database is
    tried again, and a group reader finds its stream gone. A list reader waits on."""
    control.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    with block(port, control, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
               count=1) as reader, block(port, control, "BLPOP", "l", "0", count=2) as list_reader:
        control.call(*flush)
        assert reader.read_raw() == b"-UNBLOCKED the stream key no longer exists\r\n"
        assert blocked_clients(control) == 1  # the BLPOP
        control.call("RPUSH", "l", "x")
        assert list_reader.read_raw() == b"*2\r\n$1\r\nl\r\n$1\r\nx\r\n"
    control.call("FLUSHALL")  # SWAPDB left the stream in database 1


def test_destroying_the_group_ends_xreadgroup_with_an_error(port, control):
    control.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    control.call("XGROUP", "CREATE", "s", "other", "$")
    with block(port, control, "XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">",
               count=1) as reader, \
            block(port, control, "XREADGROUP", "GROUP", "other", "c", "BLOCK", "0", "STREAMS", "s", ">",
                  count=2) as bystander:
        assert control.call("XGROUP", "DESTROY", "s", "g") == b":1\r\n"
        assert reader.read_raw() == b"-NOGROUP the consumer group this client was blocked on no longer exists\r\n"
        assert blocked_clients(control) == 1
        control.call("XADD", "s", "1-1", "f", "v")
        assert bystander.read_raw() == served(b"s", entry(b"1-1", b"f", b"v"))


def test_a_stream_renamed_onto_the_key_serves_the_reader(port, control):
    with block(port, control, "XREAD", "BLOCK", "0", "STREAMS", "s", "0", count=1) as reader:
        control.call("XADD", "other", "1-1", "f", "v")
        control.call("RENAME", "other", "s")
        assert reader.read_raw() == served(b"s", entry(b"1-1", b"f", b"v"))


def test_xreadgroup_noack_leaves_nothing_pending(port, control):
    control.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    with block(port, control, "XREADGROUP", "GROUP", "g", "c", "NOACK", "BLOCK", "0", "STREAMS", "s", ">",
               count=1) as reader:
        control.call("XADD", "s", "1-1", "f", "v")
        assert reader.read_raw() == served(b"s", entry(b"1-1", b"f", b"v"))
        assert control.call("XPENDING", "s", "g") == b"*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n"
        assert control.call("XINFO", "GROUPS", "s").count(b"1-1") == 1  # last-delivered-id moved on


def test_reads_inside_multi_do_not_block(port, control):
    control.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    control.call("MULTI")
    control.call("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
    control.call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")
    started = time.monotonic()
    assert control.call("EXEC") == b"*2\r\n*-1\r\n*-1\r\n"
    assert time.monotonic() - started < 1


def test_a_reader_that_hangs_up_leaves_no_trace(port, control):
    reader = block(port, control, "XREAD", "BLOCK", "0", "STREAMS", "s", "$", count=1)
    reader.close()
    wait_until_blocked(control, 0)
    assert control.call("XADD", "s", "1-1", "f", "v") == b"$3\r\n1-1\r\n"


@pytest.mark.parametrize("how, answer", [("TIMEOUT", b"*-1\r\n"), ("ERROR", UNBLOCKED)])
def test_client_unblock(port, control, how, answer):
    with RawConnection(port) as reader:
        client_id = int(reader.call("CLIENT", "ID")[1:-2])
        reader.send_command("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        wait_until_blocked(control, 1)
        assert control.call("CLIENT", "UNBLOCK", client_id, how) == b":1\r\n"
        assert reader.read_raw() == answer
        assert reader.call("PING") == b"+PONG\r\n"


def test_many_writers_and_consumers_deliver_each_entry_once(server):
    """Four writers add 200 entries while five consumers of one group read with BLOCK:
    every entry reaches exactly one consumer, and each writer's entries keep their order."""
    control = RawConnection(server.port)
    control.call("FLUSHALL")
    control.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
    received: list[list[bytes]] = [[] for _ in range(5)]
    done = threading.Event()

    def consume(index: int) -> None:
        client = redis.Redis(port=server.port)
        try:
            while not done.is_set():
                reply = client.xreadgroup("g", f"c{index}", {"s": ">"}, count=3, block=50)
                for _key, items in reply or []:
                    for entry_id, fields in items:
                        received[index].append(fields[b"n"])
                        client.xack("s", "g", entry_id)
        finally:
            client.close()

    def write(writer: int) -> None:
        client = redis.Redis(port=server.port)
        try:
            for i in range(50):
                client.xadd("s", {"n": f"{writer}:{i}"})
        finally:
            client.close()

    consumers = [threading.Thread(target=consume, args=(i,)) for i in range(5)]
    writers = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in consumers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    try:
        deadline = time.monotonic() + 10
        while sum(map(len, received)) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        done.set()
        for thread in consumers:
            thread.join()
    everything = [value for values in received for value in values]
    assert sorted(everything) == sorted(f"{w}:{i}".encode() for w in range(4) for i in range(50))
    for values in received:  # within one consumer, each writer's entries come in order
        for writer in range(4):
            mine = [int(v.split(b":")[1]) for v in values if v.startswith(b"%d:" % writer)]
            assert mine == sorted(mine)
    assert control.call("XPENDING", "s", "g")[:4] == b"*4\r\n"
    assert control.call("XLEN", "s") == b":200\r\n"
    wait_until_blocked(control, 0)
    control.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_xread_block(server, protocol):
    client = redis.Redis(port=server.port, protocol=protocol)
    control = RawConnection(server.port)
    try:
        client.flushall()
        assert client.xread({"s": "$"}, block=50) in (None, [], {})
        result = {}
        waiter = threading.Thread(target=lambda: result.update(read=client.xread({"s": "$"}, block=0)))
        waiter.start()
        wait_until_blocked(control, 1)
        control.call("XADD", "s", "1-1", "f", "v")
        waiter.join()
        read = result["read"]
        if protocol == 3:  # redis-py nests a RESP3 map's entries one list deeper
            ((key, (items,)),) = read.items()
        else:
            ((key, items),) = read
        assert key == b"s" and items == [(b"1-1", {b"f": b"v"})]
    finally:
        control.close()
        client.close()
