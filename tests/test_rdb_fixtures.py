"""Committed RDB files of versions 9, 10 and 11 (tests/fixtures/rdb/README.md says how
each was made), read by our parser and compared key by key with the tables below.
No redis-server needed: these run everywhere.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from app.config import load_config
from app.persistence import rdb
from app.store.hash import HashValue
from app.store.list import ListValue
from app.store.set import SetValue
from app.store.stream import Stream
from app.store.zset import SortedSet

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "rdb"
CONFIG = load_config([])
NOW = 1_700_000_000_000  # a fixed "now" (Nov 2023), so no TTL below ever passes
YEAR_2100_MS = 4102444800 * 1000
INF = math.inf


def canonical(value):
    """A value as plain Python data, compared by what a client could read back: a list
    in order, a set as a set, a sorted set in rank order with scores, a stream's entries,
    counters and groups (delivery counts, not the delivery times)."""
    if isinstance(value, bytes):
        return "string", value
    if isinstance(value, ListValue):
        return "list", list(value)
    if isinstance(value, HashValue):
        return "hash", dict(value.fields)
    if isinstance(value, SetValue):
        return "set", set(value)
    if isinstance(value, SortedSet):
        return "zset", [(node.member, node.score) for node in value.by_rank(0, len(value) - 1)]
    if isinstance(value, Stream):
        groups = {}
        for name, group in value.groups.items():
            pending = {entry_id: (group.pending.get(entry_id).consumer.name, group.pending.get(entry_id).delivery_count)
                       for entry_id in group.pending.ids_from()}
            consumers = {consumer.name: list(consumer.pending.ids_from()) for consumer in group.consumers.values()}
            groups[name] = (group.last_id, pending, consumers)
        return "stream", {"entries": [(entry_id, tuple(fields)) for entry_id, fields in value.range()],
                          "last_id": value.last_id, "groups": groups}
    raise TypeError(type(value))


# (db, key) -> (canonical value, deadline in Unix ms or None)
VERSION10 = {
    (0, b"str:plain"): (("string", b"hello"), None),
    (0, b"str:int8"): (("string", b"123"), None),
    (0, b"str:int16"): (("string", b"-30000"), None),
    (0, b"str:int32"): (("string", b"2147483647"), None),
    (0, b"str:wide"): (("string", b"1099511627776"), None),
    (0, b"str:lzf"): (("string", b"a" * 300 + b"b" * 100), None),
    (0, b"str:binary"): (("string", bytes(range(40))), None),
    (0, b"list:one-node"): (("list", [b"1", b"2", b"3", b"x"]), None),
    (0, b"list:nodes"): (("list", [b"e%d" % i for i in range(10)]), None),
    (0, b"hash:listpack"): (("hash", {b"f1": b"v1", b"f2": b"7"}), None),
    (0, b"hash:hashtable"): (("hash", {b"short": b"s", b"long": b"L" * 100}), None),
    (0, b"set:intset"): (("set", {b"1", b"2", b"3", b"-5", b"1099511627776"}), None),
    (0, b"set:hashtable"): (("set", {b"a", b"b", b"c", b"1"}), None),
    (0, b"set:many-ints"): (("set", {b"%d" % i for i in range(10)}), None),
    (0, b"zset:listpack"): (("zset", [(b"c", -3.0), (b"a", 1.0), (b"b", 2.5), (b"d", 1e300)]), None),
    (0, b"zset:skiplist"): (("zset", [(b"lo", -INF), (b"m3", -2.0), (b"m4", 1e-9), (b"m2", 0.5), (b"m1", 1.0),
                                      (b"hi", INF)]), None),
    (0, b"stream"): (("stream", {
        "entries": [((1, 1), (b"a", b"1", b"b", b"2")), ((2, 0), (b"c", b"x")), ((3, 0), (b"a", b"5", b"b", b"6"))],
        "last_id": (3, 0),
        "groups": {
            b"grp": ((3, 0), {(1, 1): (b"alice", 1), (2, 0): (b"alice", 1), (3, 0): (b"bob", 1)},
                     {b"alice": [(1, 1), (2, 0)], b"bob": [(3, 0)]}),
            b"idle": ((3, 0), {}, {}),
        }}), None),
    (0, b"ttl:string"): (("string", b"soon"), YEAR_2100_MS),
    (0, b"ttl:hash"): (("hash", {b"f": b"v"}), YEAR_2100_MS + 123),
    (2, b"db2:plain"): (("string", b"two"), None),
    (2, b"db2:ttl"): (("string", b"later"), YEAR_2100_MS),
    (2, b"db2:list"): (("list", [b"p", b"q"]), YEAR_2100_MS),
}

VERSION9 = {
    (0, b"str:plain"): (("string", b"hello"), None),
    (0, b"str:int8"): (("string", b"-100"), None),
    (0, b"str:int32"): (("string", b"70000"), None),
    (0, b"str:lzf"): (("string", b"z" * 200 + b"0123456789" * 3), None),
    (0, b"list:quicklist"): (("list", [b"a", b"1", b"b", b"300", b"-70000", b"c"]), None),
    (0, b"hash:ziplist"): (("hash", {b"f1": b"v1", b"f2": b"7"}), None),
    (0, b"hash:hashtable"): (("hash", {b"short": b"s", b"long": b"L" * 100}), None),
    (0, b"set:intset"): (("set", {b"-5", b"1", b"2", b"1099511627776"}), None),
    (0, b"set:hashtable"): (("set", {b"a", b"b", b"1"}), None),
    (0, b"zset:ziplist"): (("zset", [(b"c", -3.0), (b"a", 1.0), (b"b", 2.5)]), None),
    (0, b"zset:skiplist"): (("zset", [(b"lo", -INF), (b"mid", 0.25), (b"hi", INF)]), None),
    (0, b"stream"): (("stream", {
        "entries": [((1, 1), (b"a", b"1", b"b", b"2")), ((2, 0), (b"c", b"x")), ((3, 0), (b"a", b"5", b"b", b"6"))],
        "last_id": (3, 0),
        "groups": {b"grp": ((2, 0), {(1, 1): (b"alice", 1), (2, 0): (b"bob", 2)},
                            {b"alice": [(1, 1)], b"bob": [(2, 0)]})}}), None),
    (0, b"ttl:ms"): (("string", b"soon"), YEAR_2100_MS + 123),
    (0, b"ttl:seconds"): (("string", b"old-opcode"), (2**31 - 100) * 1000),
    (1, b"db1:plain"): (("string", b"one"), None),
    (1, b"db1:ttl-hash"): (("hash", {b"f": b"v"}), YEAR_2100_MS),
}

FILES = {"version9.rdb": (9, VERSION9), "version10.rdb": (10, VERSION10), "version11.rdb": (11, VERSION10)}


def load(name: str, now: int = NOW) -> list[rdb.LoadedKey]:
    return rdb.parse((FIXTURES / name).read_bytes(), CONFIG, now)


@pytest.mark.parametrize("name", sorted(FILES))
def test_fixture_has_its_version_and_a_valid_checksum(name):
    data = (FIXTURES / name).read_bytes()
    version, _ = FILES[name]
    assert data[:9] == b"REDIS%04d" % version
    assert len(data) < 4096
    assert int.from_bytes(data[-8:], "little") != 0  # a real checksum, which parse verified


@pytest.mark.parametrize("name", sorted(FILES))
def test_fixture_loads_every_key_as_expected(name):
    _, expected = FILES[name]
    loaded = {(key.db, key.key): (canonical(key.value), key.deadline) for key in load(name)}
    assert set(loaded) == set(expected)
    for where, (value, deadline) in expected.items():
        assert loaded[where] == (value, deadline), where


@pytest.mark.parametrize("name", sorted(FILES))
def test_fixture_keys_past_their_deadline_are_dropped(name):
    _, expected = FILES[name]
    kept = {(key.db, key.key) for key in load(name, now=YEAR_2100_MS + 10_000)}
    assert kept == {where for where, (_, deadline) in expected.items() if deadline is None}


@pytest.mark.parametrize("name", sorted(FILES))
def test_fixture_values_take_the_encodings_redis_would_give_them(name):
    """Under the default thresholds (set-max-intset-entries 512...), as Redis converts on load."""
    encodings = {key.key: key.value.encoding() for key in load(name) if not isinstance(key.value, bytes)}
    assert encodings[b"set:intset"] == "intset"
    assert encodings[b"set:hashtable"] == "hashtable"
    assert encodings[b"hash:hashtable"] == "hashtable"
    assert encodings[b"stream"] == "stream"


@pytest.mark.parametrize("name", sorted(FILES))
def test_damaged_fixture_is_refused(name):
    data = bytearray((FIXTURES / name).read_bytes())
    data[len(data) // 2] ^= 0x40
    with pytest.raises(rdb.RDBError, match="offset"):
        rdb.parse(bytes(data), CONFIG, NOW)
    with pytest.raises(rdb.RDBError, match="offset"):
        rdb.parse(bytes(data[:-20]), CONFIG, NOW)
