"""DUMP and RESTORE against a real redis-server 7.0: the same bytes, both ways.

A DUMP payload is a value as the RDB file holds it, the RDB version (10) and a CRC64.
For every type in its small encoding our DUMP must be Redis' byte for byte (the same
listpack, intset and quicklist, the same LZF, a stream's same listpacks); for the
encodings whose order is a hash table's (big sets and hashes) and for streams with
groups, each side's payload is restored by the other and read back. Errors are compared byte for byte, in RESP2 and RESP3.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.persistence.crc64 import crc64
from tests.differential import compare
from tests.helpers import RawConnection, start_ours, wait_until

# name -> the commands that build key "k" (a list of argv).
SMALL_ENCODINGS = {
    "short-string": [["SET", "k", "hello"]],
    "integer-string": [["SET", "k", "-12345"]],
    "large-integer-string": [["SET", "k", str(2**40)]],
    "compressed-string": [["SET", "k", "x" * 1000 + "y" * 100]],
    "incompressible-string": [["SET", "k", bytes(range(256))]],
    "small-list": [["RPUSH", "k", "a", "b", "1", "-7", "300", "70000", str(2**40), "x" * 100]],
    "long-list": [["RPUSH", "k", *[f"element-{i}" * 3 for i in range(3000)]]],
    "intset-16": [["SADD", "k", "1", "2", "3", "-5"]],
    "intset-64": [["SADD", "k", "1", "-5", str(2**40)]],
    "listpack-hash": [["HSET", "k", "f1", "v1", "f2", "7", "n", "-4096", "long", "z" * 50]],
    "listpack-zset": [["ZADD", "k", "1", "a", "2.5", "b", "-3", "c", "1e300", "d", "inf", "e", "0.1", "f"]],
    "skiplist-zset": [["ZADD", "k", *[part for i in range(200) for part in (str(i / 3), f"m{i}")]]],
    "list-after-pops": [["RPUSH", "k", *map(str, range(20))], ["LPOP", "k", "3"], ["RPOP", "k"]],
    "hash-after-delete": [["HSET", "k", "a", "1", "b", "2", "c", "3"], ["HDEL", "k", "b"], ["HSET", "k", "b", "4"]],
    # Streams without deletions (Redis keeps deleted entries in its listpacks; we do not)
    # and with a group that has delivered nothing (deliveries carry each server's clock).
    "stream-one-field": [*(["XADD", "k", f"{i // 3 + 1}-{i % 3}", "field", f"value:{i}"] for i in range(250)),
                         ["XGROUP", "CREATE", "k", "g", "0"]],
    "stream-mixed-fields": [["XADD", "k", "1-1", "a", "1", "b", "2"], ["XADD", "k", "1-2", "a", "3", "b", "4"],
                            ["XADD", "k", "2-0", "c", "x"], ["XADD", "k", "3-0", "a", "5", "b", "x" * 100],
                            ["XGROUP", "CREATE", "k", "g", "1-2"]],
    "stream-far-ids": [*(["XADD", "k", f"{1000 * i + 1}-0", "f", str(i)] for i in range(150)),
                       ["XADD", "k", "150001-18446744073709551615", "f", "-7"], ["XGROUP", "CREATE", "k", "g", "$"]],
}

# Keys whose payload order follows a hash table (or whose layout differs): restored
# across and read back instead.
ACROSS_ONLY = {
    "hashtable-set": [["SADD", "k", "a", "b", "c"]],
    "hashtable-hash": [["HSET", "k", *[part for i in range(300) for part in (f"f{i}", "v" * i)]]],
    "stream": [["XADD", "k", "1-1", "a", "1", "b", "2"], ["XADD", "k", "2-0", "c", "x"],
               ["XGROUP", "CREATE", "k", "g", "0"], ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1",
                                                      "STREAMS", "k", ">"]],
}

READS = {
    b"string": [["GET", "k"]],
    b"list": [["LRANGE", "k", "0", "-1"]],
    b"set": [["SMEMBERS", "k"]],
    b"hash": [["HGETALL", "k"]],
    b"zset": [["ZRANGE", "k", "0", "-1", "WITHSCORES"]],
    b"stream": [["XRANGE", "k", "-", "+"], ["XPENDING", "k", "g"], ["XINFO", "GROUPS", "k"]],
}


def build(connection: RawConnection, commands) -> None:
    connection.call("DEL", "k")
    for argv in commands:
        assert not connection.call(*argv).startswith(b"-")


def state_of(connection: RawConnection, key: bytes = b"k") -> list:
    """What plain reads say about ``key``, sorted where the order is a hash table's."""
    connection.send_command("TYPE", key)
    kind = connection.read()
    kind = kind.encode() if isinstance(kind, str) else kind
    seen = [kind, connection.call("OBJECT", "ENCODING", key)]
    for argv in READS[kind]:
        connection.send_command(*[key if word == "k" else word for word in argv])
        value = connection.read()
        if kind in (b"set", b"hash") and isinstance(value, list):
            value = sorted(value)
        seen.append(repr(value))
    return seen


def dump(connection: RawConnection, key: bytes = b"k") -> bytes:
    connection.send_command("DUMP", key)
    return connection.read()


@pytest.fixture
def both(server, reference):
    with server.raw() as ours, reference.raw() as theirs:
        yield ours, theirs
        ours.call("FLUSHALL")
        theirs.call("FLUSHALL")


@pytest.mark.parametrize("name", SMALL_ENCODINGS)
def test_dump_is_byte_for_byte_redis(both, name):
    ours, theirs = both
    for connection in both:
        build(connection, SMALL_ENCODINGS[name])
    assert dump(ours) == dump(theirs)
    assert ours.call("OBJECT", "ENCODING", "k") == theirs.call("OBJECT", "ENCODING", "k")


@pytest.mark.parametrize("name", [*SMALL_ENCODINGS, *ACROSS_ONLY])
def test_payloads_restore_across(both, name):
    ours, theirs = both
    commands = SMALL_ENCODINGS.get(name) or ACROSS_ONLY[name]
    for connection in both:
        build(connection, commands)
    expected = state_of(theirs)
    # Redis' payload restored here, ours restored there: both read back as the original.
    for source, target in ((theirs, ours), (ours, theirs)):
        payload = dump(source)
        target.call("DEL", "copy")
        assert target.call("RESTORE", "copy", "0", payload) == b"+OK\r\n"
        assert state_of(target, b"copy") == expected
        if name in SMALL_ENCODINGS:
            assert dump(target, b"copy") == payload  # and it dumps the same bytes again


def literal(payload: bytes) -> str:
    """``payload`` as a double-quoted redis-cli word, for a differential script."""
    return '"' + "".join(f"\\x{byte:02x}" for byte in payload) + '"'


def with_footer(body: bytes, version: int = 10) -> bytes:
    framed = body + struct.pack("<H", version)
    return framed + struct.pack("<Q", crc64(framed))


GOOD = with_footer(b"\x00\x05hello")
BAD = {
    "checksum": GOOD[:-1] + bytes([GOOD[-1] ^ 1]),
    "version": with_footer(b"\x00\x05hello", version=11),
    "truncated": with_footer(b"\x00\x09hello"),
    "type": with_footer(b"\x63\x05hello"),
    "empty-intset": with_footer(b"\x0b\x08" + bytes([2, 0, 0, 0, 0, 0, 0, 0])),
}


def test_restore_errors_match_redis(server, reference):
    compare(server.port, reference.port, f"""
        DUMP missing
        SET str value
        RESTORE str 0 {literal(GOOD)}
        RESTORE new -1 {literal(GOOD)}
        RESTORE new abc {literal(GOOD)}
        RESTORE new 0 {literal(GOOD)} BOGUS
        RESTORE new 0 {literal(GOOD)} IDLETIME -1
        RESTORE new 0 {literal(GOOD)} IDLETIME
        RESTORE new 0 {literal(GOOD)} FREQ 256
        RESTORE new 0 {literal(GOOD)} FREQ -1
        RESTORE new 0 {literal(GOOD)} FREQ x
        RESTORE new 0 {literal(GOOD)} IDLETIME 1 FREQ 1
        RESTORE new 0 {literal(GOOD)} FREQ 1 IDLETIME 1
        RESTORE str 0 {literal(GOOD)} BOGUS
        RESTORE new 0 "short"
        RESTORE new 0 {literal(BAD["checksum"])}
        RESTORE new 0 {literal(BAD["version"])}
        RESTORE new 0 {literal(BAD["truncated"])}
        RESTORE new 0 {literal(BAD["type"])}
        RESTORE new 0 {literal(BAD["empty-intset"])}
        RESTORE new
        DUMP
        EXISTS new
        RESTORE str 0 {literal(GOOD)} REPLACE
        GET str
        RESTORE new 0 {literal(GOOD)} IDLETIME 1000
        OBJECT IDLETIME new
        RESTORE new2 0 {literal(GOOD)} FREQ 5 ABSTTL
        RESTORE gone 1 {literal(GOOD)} ABSTTL
        EXISTS gone
        RESTORE str 1 {literal(GOOD)} ABSTTL REPLACE
        EXISTS str
        RESTORE ttl 100000 {literal(GOOD)}
        ~ PTTL ttl
        RESTORE absttl 32503680000000 {literal(GOOD)} ABSTTL
        PEXPIRETIME absttl
        DUMP new
    """)


def test_dump_and_restore_command_info_match_redis(server, reference):
    compare(server.port, reference.port, """
        COMMAND INFO dump restore
        COMMAND DOCS dump restore
    """)


def test_restore_reaches_the_aof_with_an_absolute_ttl(tmp_path):
    with start_ours("--dir", str(tmp_path), "--appendonly", "yes", "--save", "") as ours, ours.raw() as raw:
        assert raw.call("RESTORE", "k", "100000", GOOD) == b"+OK\r\n"
        raw.send_command("PEXPIRETIME", "k")
        deadline = raw.read()
        assert raw.call("RESTORE", "plain", "0", GOOD) == b"+OK\r\n"

        def appended() -> bytes:
            data = b"".join(path.read_bytes() for path in (tmp_path / "appendonlydir").glob("*.incr.aof"))
            return data if b"plain" in data else b""

        data = wait_until(appended, what="the RESTOREs in the AOF")
    assert b"$7\r\nRESTORE\r\n$1\r\nk\r\n$13\r\n%d\r\n" % deadline in data
    assert b"$6\r\nABSTTL\r\n" in data
    assert b"*4\r\n$7\r\nRESTORE\r\n$5\r\nplain\r\n$1\r\n0\r\n" in data


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=21, max_size=600) | st.lists(st.sampled_from([b"ab", b"abc", b"x", b"\x00", b"hello "]),
                                                       min_size=8, max_size=300).map(b"".join))
def test_lzf_strings_dump_as_redis_dumps_them(both, value):
    # liblzf's choices (hash slots, match lengths, when it gives up) are ours exactly.
    ours, theirs = both
    for connection in both:
        connection.call("SET", "k", value)
    assert dump(ours) == dump(theirs)


def test_debug_reload_matches_redis(server, reference):
    compare(server.port, reference.port, """
        SET a 1
        RPUSH list a b 3
        HSET hash f v
        SADD set 1 2 3
        SET ttl v PXAT 32503680000000
        DEBUG RELOAD
        GET a
        LRANGE list 0 -1
        HGETALL hash
        OBJECT ENCODING set
        PEXPIRETIME ttl
        DEBUG RELOAD BOGUS
        DBSIZE
    """)
