"""RDB files made by a real redis-server 7.0, loaded by ours; and the reader's refusals.

The differential half fills a real server with every type in several encodings, has it
SAVE, starts ours on the same file, and compares what both answer to plain reads (no
DUMP, so the comparison does not depend on our serializer).
"""

from __future__ import annotations

import struct
import time

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config import load_config
from app.persistence import rdb
from app.persistence.crc64 import crc64
from tests.helpers import redis_server_path, start_ours, start_reference, wait_until

CONFIG = load_config([])


def fill(client: redis.Redis) -> None:
    """Every type, small and large, so Redis writes each of its encodings."""
    client.set("string", "hello")
    client.set("integer", 12345)
    client.set("negative", -7)
    client.set("wide", 2**40)
    client.set("compressed", "x" * 1000 + "y" * 100)  # LZF-compressed in the file
    client.set("incompressible", bytes(range(256)))
    client.rpush("small-list", *range(5), "a", "b")
    client.rpush("large-list", *[f"element-{i}" * 3 for i in range(3000)])  # several quicklist nodes
    client.rpush("plain-node-list", "z" * 10000)  # a PLAIN quicklist node
    client.sadd("intset", 1, 2, 3, -5, 2**40)
    client.sadd("hashtable-set", "a", "b", "c")
    client.sadd("large-intset", *range(1000))  # past set-max-intset-entries: hashtable
    client.hset("small-hash", mapping={"f1": "v1", "f2": 7})
    client.hset("large-hash", mapping={f"f{i}": "v" * i for i in range(300)})
    client.zadd("small-zset", {"a": 1, "b": 2.5, "c": -3, "d": 1e300})
    client.zadd("large-zset", {f"m{i}": i / 3 for i in range(500)})
    client.zadd("inf-zset", {"lo": float("-inf"), "hi": float("inf")})
    client.set("expiring", "v", ex=1000)
    client.set("expiring-ms", "v", px=99_999_999)
    client.xadd("stream", {"a": 1, "b": 2}, id="1-1")
    client.xadd("stream", {"a": 3, "b": 4}, id="1-2")
    client.xadd("stream", {"c": "x"}, id="2-0")
    client.xadd("stream", {"a": 5, "b": 6}, id="3-0")
    client.xdel("stream", "1-2")
    client.xgroup_create("stream", "group", id="0")
    client.xreadgroup("group", "alice", {"stream": ">"}, count=2)
    client.xreadgroup("group", "bob", {"stream": ">"}, count=1)
    client.execute_command("SELECT", 3)
    client.set("in-db-3", "three")
    client.execute_command("SELECT", 0)


def snapshot(client: redis.Redis) -> dict:
    """What plain reads say about every key of databases 0 and 3."""
    seen = {}
    for db in (0, 3):
        client.execute_command("SELECT", db)
        for key in sorted(client.keys("*")):
            kind = client.type(key)
            if kind == b"string":
                value = client.get(key)
            elif kind == b"list":
                value = client.lrange(key, 0, -1)
            elif kind == b"set":
                value = sorted(client.smembers(key))
            elif kind == b"hash":
                value = client.hgetall(key)
            elif kind == b"zset":
                value = client.zrange(key, 0, -1, withscores=True)
            else:
                # Delivery times are compared by who holds what: the idle times go on ticking.
                pending = [[(p["consumer"], p["message_id"], p["times_delivered"])
                            for p in client.xpending_range(key, group["name"], "-", "+", 100)]
                           for group in client.xinfo_groups(key)]
                value = (client.xrange(key), client.xinfo_groups(key), client.xinfo_stream(key)["max-deleted-entry-id"],
                         pending)
            encoding = client.object("encoding", key)
            seen[(db, key)] = (kind, value, encoding, client.ttl(key) > 0)
    client.execute_command("SELECT", 0)
    return seen


@pytest.fixture
def reference_dump(tmp_path):
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    with start_reference(cwd=str(tmp_path)) as reference:
        client = redis.Redis(port=reference.port)
        fill(client)
        client.save()
        expected = snapshot(client)
        client.close()
    return tmp_path, expected


def test_ours_loads_what_redis_saved(reference_dump):
    directory, expected = reference_dump
    with start_ours("--dir", str(directory)) as ours:
        client = redis.Redis(port=ours.port)
        assert snapshot(client) == expected
        client.close()


def test_reader_sees_every_key(reference_dump):
    directory, expected = reference_dump
    keys = rdb.parse((directory / "dump.rdb").read_bytes(), CONFIG, int(time.time() * 1000))
    assert {(k.db, k.key) for k in keys} == set(expected)


# --------------------------------------------------------------------------- refusals


def minimal_file(version: bytes = b"0011", entries: bytes = b"\x00\x01k\x01v") -> bytes:
    body = b"REDIS" + version + b"\xfe\x00" + entries + b"\xff"
    return body + struct.pack("<Q", crc64(body))


def test_minimal_file_loads():
    (loaded,) = rdb.parse(minimal_file(), CONFIG, 0)
    assert (loaded.db, loaded.key, loaded.value, loaded.deadline) == (0, b"k", b"v", None)


def test_old_version_has_no_checksum():
    (loaded,) = rdb.parse(b"REDIS0003\xfe\x00\x00\x01k\x01v\xff", CONFIG, 0)
    assert loaded.value == b"v"


@pytest.mark.parametrize("data, message", [
    (b"REDIX0011\xff", "Wrong signature"),
    (b"REDIS0013\xff" + bytes(8), "Can't handle RDB format version 13"),
    (minimal_file()[:-1], "unexpected end of file"),
    (minimal_file()[:-9] + b"\xff" + b"\x01" * 8, "Wrong RDB checksum at offset"),
    (minimal_file(entries=b"\x08\x01kxx"), "unknown value type 8 at offset"),
    (minimal_file(entries=b"\xf5"), "functions"),
    (minimal_file(entries=b"\xf7"), "module data"),
    (minimal_file(entries=b"\xfe\x20"), "more than 16 databases"),
])
def test_refusals_name_the_problem(data, message):
    with pytest.raises(rdb.RDBError, match=message) as caught:
        rdb.parse(data, CONFIG, 0)
    assert "offset" in str(caught.value)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_flips_and_truncations_are_refused_cleanly(data):
    good = minimal_file(entries=b"\x00\x01k\x01v\x0e\x01l\x01\x0d" + bytes(13))
    if data.draw(st.booleans()):
        corrupt = good[:data.draw(st.integers(0, len(good) - 1))]
    else:
        position = data.draw(st.integers(0, len(good) - 1))
        flip = data.draw(st.integers(1, 255))
        corrupt = good[:position] + bytes([good[position] ^ flip]) + good[position + 1:]
    with pytest.raises(rdb.RDBError):
        rdb.parse(corrupt, CONFIG, 0)


# A string, a quicklist of one ziplist ("a"), a listpack hash (a -> 1), the end.
VALID_BODY = (b"REDIS0010\xfe\x00" + b"\x00\x01k\x01v"
              + b"\x0e\x01l\x01\x0e" + b"\x0e\x00\x00\x00\x0a\x00\x00\x00\x01\x00" + b"\x00\x01a\xff"
              + b"\x10\x01h\x0c" + b"\x0c\x00\x00\x00\x02\x00" + b"\x81a\x02\x01\x01\xff" + b"\xff")


def test_valid_body_loads():
    keys = rdb.parse(VALID_BODY + bytes(8), CONFIG, 0)
    assert [(k.key, type(k.value).__name__) for k in keys] == [(b"k", "bytes"), (b"l", "ListValue"), (b"h", "HashValue")]
    assert list(keys[1].value) == [b"a"] and keys[2].value.fields == {b"a": b"1"}


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_without_checksum_damage_loads_or_is_refused(data):
    # With a zero checksum nothing catches a flip but the parser itself: it must either
    # read something or raise RDBError, never another exception.
    body = bytearray(VALID_BODY)
    position = data.draw(st.integers(0, len(body) - 1))
    body[position] ^= data.draw(st.integers(1, 255))
    try:
        rdb.parse(bytes(body) + bytes(8), CONFIG, 0)
    except rdb.RDBError:
        pass


# --------------------------------------------------------------------------- our files, read by Redis


def test_redis_loads_what_ours_saved(tmp_path):
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    with start_ours("--dir", str(tmp_path)) as ours:
        client = redis.Redis(port=ours.port)
        fill(client)
        assert client.save()
        expected = snapshot(client)
        assert client.info("persistence")["rdb_changes_since_last_save"] == 0
        client.close()
    with start_reference("--dbfilename", "dump.rdb", cwd=str(tmp_path)) as reference:
        client = redis.Redis(port=reference.port)
        assert snapshot(client) == expected
        client.close()


def test_our_round_trip_through_our_reader(tmp_path):
    with start_ours("--dir", str(tmp_path)) as ours:
        client = redis.Redis(port=ours.port)
        fill(client)
        client.save()
        expected = snapshot(client)
        client.close()
    with start_ours("--dir", str(tmp_path)) as ours:
        client = redis.Redis(port=ours.port)
        assert snapshot(client) == expected
        client.close()


def test_bgsave_and_lastsave(tmp_path):
    with start_ours("--dir", str(tmp_path)) as ours, ours.raw() as raw:
        raw.send_command("LASTSAVE")
        before = raw.read()
        raw.call("SET", "k", "v")
        assert raw.call("BGSAVE") == b"+Background saving started\r\n"
        raw.call("SET", "after", "snapshot")  # made after the copy: not in the file

        def finished():
            raw.send_command("INFO", "persistence")
            return b"rdb_bgsave_in_progress:0" in raw.read()

        wait_until(finished, what="BGSAVE to finish")
        raw.send_command("INFO", "persistence")
        info = raw.read()
        assert b"rdb_last_bgsave_status:ok" in info
        assert b"rdb_changes_since_last_save:1" in info
        raw.send_command("LASTSAVE")
        assert raw.read() >= before
        keys = rdb.parse((tmp_path / "dump.rdb").read_bytes(), CONFIG, 0)
        assert [(k.key, k.value) for k in keys] == [(b"k", b"v")]
        assert raw.call("BGSAVE", "NOW") == b"-ERR syntax error\r\n"
