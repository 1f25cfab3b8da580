"""The Streams stages of the CodeCrafters tester, one test each, in raw RESP as it speaks
it (see tests/test_stages_base.py).

The blocking stages use several connections; a test learns that a client is blocked from
INFO's blocked_clients (`wait_until_blocked`), never by sleeping.
"""

from __future__ import annotations

import time

from tests.helpers import RawConnection
from tests.test_lists_blocking import wait_until_blocked
from tests.test_stages_lists import bulks, cmd, send


def entry(entry_id: str, *fields: str) -> bytes:
    """One entry as XRANGE and XREAD give it: [id, [field, value, ...]]."""
    return b"*2\r\n" + bulks(entry_id)[len(b"*1\r\n"):] + bulks(*fields)


def entries(*items: bytes) -> bytes:
    return b"*%d\r\n" % len(items) + b"".join(items)


def stream(key: str, *items: bytes) -> bytes:
    """One stream in XREAD's answer (RESP2): [key, [entries]]."""
    return b"*2\r\n$%d\r\n%s\r\n" % (len(key), key.encode()) + entries(*items)


def test_cc3_the_type_command(raw):
    """TYPE answers the type of a key as a simple string, none for a missing key."""
    assert send(raw, "SET", "some_key", "foo") == b"+OK\r\n"
    raw.send(b"*2\r\n$4\r\nTYPE\r\n$8\r\nsome_key\r\n")
    assert raw.read_raw() == b"+string\r\n"
    assert send(raw, "TYPE", "missing_key") == b"+none\r\n"


def test_cf6_create_a_stream(raw):
    """XADD with an explicit ID creates the stream and answers the ID; TYPE says stream."""
    raw.send(b"*5\r\n$4\r\nXADD\r\n$10\r\nstream_key\r\n$3\r\n0-1\r\n$3\r\nfoo\r\n$3\r\nbar\r\n")
    assert raw.read_raw() == b"$3\r\n0-1\r\n"
    assert send(raw, "TYPE", "stream_key") == b"+stream\r\n"


def test_hq8_validating_entry_ids(raw):
    """An ID must exceed the stream's last one, and 0-0 is never allowed."""
    assert send(raw, "XADD", "s", "1-1", "foo", "bar") == b"$3\r\n1-1\r\n"
    assert send(raw, "XADD", "s", "1-2", "bar", "baz") == b"$3\r\n1-2\r\n"
    too_small = b"-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"
    assert send(raw, "XADD", "s", "1-2", "baz", "foo") == too_small
    assert send(raw, "XADD", "s", "0-3", "baz", "foo") == too_small
    assert send(raw, "XADD", "s", "0-0", "baz", "foo") == b"-ERR The ID specified in XADD must be greater than 0-0\r\n"
    assert send(raw, "XADD", "new", "0-0", "a", "b") == b"-ERR The ID specified in XADD must be greater than 0-0\r\n"
    assert send(raw, "EXISTS", "new") == b":0\r\n"


def test_yh3_partially_auto_generated_ids(raw):
    """<ms>-* takes the next sequence number for that time: 0 for a new time, except
    at time 0, where the first is 1."""
    assert send(raw, "XADD", "s", "0-*", "foo", "bar") == b"$3\r\n0-1\r\n"
    assert send(raw, "XADD", "s", "1-*", "foo", "bar") == b"$3\r\n1-0\r\n"
    assert send(raw, "XADD", "s", "1-*", "bar", "baz") == b"$3\r\n1-1\r\n"
    assert send(raw, "XADD", "s", "5-*", "bar", "baz") == b"$3\r\n5-0\r\n"


def test_xu6_fully_auto_generated_ids(raw):
    """* is the time now in milliseconds, sequence 0 (or the next one in the same ms)."""
    before = int(time.time() * 1000)
    reply = send(raw, "XADD", "s", "*", "foo", "bar")
    after = int(time.time() * 1000)
    assert reply.startswith(b"$15\r\n") and reply.endswith(b"-0\r\n")  # a new stream: sequence 0
    ms, seq = reply.split(b"\r\n")[1].split(b"-")
    assert len(ms) == 13 and before <= int(ms) <= after
    second = send(raw, "XADD", "s", "*", "foo", "bar").split(b"\r\n")[1]
    assert tuple(map(int, second.split(b"-"))) > (int(ms), int(seq))


def test_zx1_query_entries_from_stream(raw):
    """XRANGE start end lists the entries between two IDs, both included; an ID without
    a sequence starts at sequence 0."""
    send(raw, "XADD", "s", "0-1", "foo", "bar")
    send(raw, "XADD", "s", "0-2", "bar", "baz")
    send(raw, "XADD", "s", "0-3", "baz", "foo")
    raw.send(cmd("XRANGE", "s", "0-2", "0-3"))
    assert raw.read_raw() == entries(entry("0-2", "bar", "baz"), entry("0-3", "baz", "foo"))
    assert send(raw, "XRANGE", "s", "0", "0-1") == entries(entry("0-1", "foo", "bar"))


def test_yp1_query_with_minus(raw):
    """XRANGE - end starts at the beginning of the stream."""
    send(raw, "XADD", "s", "0-1", "foo", "bar")
    send(raw, "XADD", "s", "0-2", "bar", "baz")
    send(raw, "XADD", "s", "0-3", "baz", "foo")
    assert send(raw, "XRANGE", "s", "-", "0-2") == entries(entry("0-1", "foo", "bar"), entry("0-2", "bar", "baz"))


def test_fs1_query_with_plus(raw):
    """XRANGE start + runs to the end of the stream."""
    send(raw, "XADD", "s", "0-1", "foo", "bar")
    send(raw, "XADD", "s", "0-2", "bar", "baz")
    send(raw, "XADD", "s", "0-3", "baz", "foo", "x", "y")
    assert send(raw, "XRANGE", "s", "0-2", "+") == entries(entry("0-2", "bar", "baz"),
                                                          entry("0-3", "baz", "foo", "x", "y"))


def test_um0_query_single_stream_using_xread(raw):
    """XREAD STREAMS key id answers the entries after id, by stream."""
    send(raw, "XADD", "stream_key", "0-1", "temperature", "96")
    raw.send(cmd("XREAD", "streams", "stream_key", "0-0"))
    assert raw.read_raw() == entries(stream("stream_key", entry("0-1", "temperature", "96")))
    assert send(raw, "XREAD", "STREAMS", "stream_key", "0-1") == b"*-1\r\n"  # nothing after it


def test_ru9_query_multiple_streams_using_xread(raw):
    """XREAD with several keys, then as many IDs: one answer per stream with entries."""
    send(raw, "XADD", "a", "0-1", "temperature", "95")
    send(raw, "XADD", "b", "0-2", "humidity", "97")
    assert send(raw, "XREAD", "streams", "a", "b", "0-0", "0-1") == entries(
        stream("a", entry("0-1", "temperature", "95")), stream("b", entry("0-2", "humidity", "97")))
    assert send(raw, "XREAD", "streams", "a", "b", "0-1", "0-1") == entries(
        stream("b", entry("0-2", "humidity", "97")))


def test_bs1_blocking_reads(server):
    """XREAD BLOCK 1000 waits for an entry from another client; with none in time it
    answers a null array."""
    with RawConnection(server.port) as control, RawConnection(server.port) as reader:
        control.call("DEL", "s")
        send(control, "XADD", "s", "0-1", "temperature", "96")
        reader.send(cmd("XREAD", "block", "1000", "streams", "s", "0-1"))
        wait_until_blocked(control, 1)
        assert send(control, "XADD", "s", "0-2", "temperature", "95") == b"$3\r\n0-2\r\n"
        assert reader.read_raw() == entries(stream("s", entry("0-2", "temperature", "95")))
        started = time.monotonic()
        assert send(reader, "XREAD", "block", "1000", "streams", "s", "0-2") == b"*-1\r\n"
        assert time.monotonic() - started >= 0.99


def test_hw1_blocking_reads_without_timeout(server):
    """XREAD BLOCK 0 waits for as long as it takes."""
    with RawConnection(server.port) as control, RawConnection(server.port) as reader:
        control.call("DEL", "s")
        send(control, "XADD", "s", "0-1", "temperature", "96")
        reader.send(cmd("XREAD", "block", "0", "streams", "s", "0-1"))
        wait_until_blocked(control, 1)
        assert send(control, "XADD", "s", "0-2", "temperature", "95") == b"$3\r\n0-2\r\n"
        assert reader.read_raw() == entries(stream("s", entry("0-2", "temperature", "95")))


def test_xu1_blocking_reads_using_dollar(server):
    """$ means only entries added after the call: the entries already there are not
    answered; with nothing new in time the answer is a null array."""
    with RawConnection(server.port) as control, RawConnection(server.port) as reader:
        control.call("DEL", "s")
        send(control, "XADD", "s", "0-1", "temperature", "96")
        reader.send(cmd("XREAD", "block", "0", "streams", "s", "$"))
        wait_until_blocked(control, 1)
        assert send(control, "XADD", "s", "0-2", "temperature", "95") == b"$3\r\n0-2\r\n"
        assert reader.read_raw() == entries(stream("s", entry("0-2", "temperature", "95")))
        assert send(reader, "XREAD", "block", "100", "streams", "s", "$") == b"*-1\r\n"
        assert send(reader, "XREAD", "block", "100", "streams", "missing", "$") == b"*-1\r\n"
