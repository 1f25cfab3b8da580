"""The quick paths of RDB and AOF reading and writing against the careful ones.

rdb.py reads and writes the common records (a short string key holding a short string,
short listpack entries, a collection's strings) in tight loops, and hands anything
else to the general code; aof.py reads well-formed commands many at a time and hands
anything else to its careful reader. Whatever the data, the result must be the same as
the general code's: the values, the bytes written, and every error."""

from __future__ import annotations

import os
import struct

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import load_config
from app.persistence import aof, rdb
from app.persistence import crc64 as crc64_module
from app.persistence.crc64 import _crc64_bytewise, _crc64_lanes, crc64
from app.protocol import encode_command
from app.store.hash import HashValue
from app.store.list import ListValue
from app.store.set import set_of
from tests.helpers import redis_server_path, start_reference

CONFIG = load_config([])
FAR_FUTURE = 4_000_000_000_000  # ms: deadlines that never pass during a test

# Strings around every boundary the quick paths test: lengths of 11/12 (integers),
# 20/21 (compression), 63/64 (one-byte lengths and listpack headers), and texts that are
# or look like integers.
lengths = st.sampled_from([0, 1, 2, 11, 12, 19, 20, 21, 22, 63, 64, 65, 200, 16383, 16384])
texts = st.one_of(
    st.binary(max_size=70),
    lengths.flatmap(lambda size: st.binary(min_size=size, max_size=size)),
    st.integers(-(1 << 70), 1 << 70).map(lambda number: b"%d" % number),
    st.sampled_from([b"0", b"-0", b"007", b"-", b"+5", b" 5", b"12345678901", b"123456789012", b"a" * 40]),
)
deadlines = st.one_of(st.none(), st.integers(1, FAR_FUTURE))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 2), texts, texts, deadlines), max_size=30), st.booleans())
def test_strings_round_trip(records, compress):
    databases = {}
    for db, key, value, deadline in records:
        data, expires = databases.setdefault(db, ({}, {}))
        data[key] = value
        expires.pop(key, None)
        if deadline is not None:
            expires[key] = deadline
    dumped = rdb.dump([(db, *databases[db]) for db in sorted(databases)], compress=compress)
    loaded = {(key.db, key.key): (key.value, key.deadline) for key in rdb.parse(dumped, CONFIG, 0)}
    assert loaded == {(db, key): (value, databases[db][1].get(key))
                      for db in databases for key, value in databases[db][0].items()}


@settings(max_examples=200, deadline=None)
@given(st.lists(texts, max_size=40), st.booleans())
def test_strings_are_written_as_string_writes_each(strings, compress):
    expected = b"".join(rdb._string(item, compress) for item in strings)
    assert b"".join(rdb._string_parts(strings, compress)) == expected
    scores = [float(number) for number in range(len(strings))]
    expected = b"".join(rdb._string(item, compress) + struct.pack("<d", score) for item, score in zip(strings, scores))
    assert b"".join(rdb._scored_parts(strings, scores, compress)) == expected


# What the struct-written paths take whole: strings under 64 bytes, none starting as an
# integer could.
short_texts = st.binary(max_size=63).filter(lambda text: not text[:1].isdigit() and not text.startswith(b"-"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(short_texts, max_size=40), st.booleans())
def test_short_strings_written_at_once_as_string_writes_each(monkeypatch, strings, compress):
    monkeypatch.setattr(rdb, "_PACK_BATCH", 7)  # several struct formats for one collection
    expected = b"".join(rdb._string(item, compress) for item in strings)
    assert b"".join(rdb._string_parts(strings, compress)) == expected
    scores = [number / 3 for number in range(len(strings))]
    expected = b"".join(rdb._string(item, compress) + struct.pack("<d", score) for item, score in zip(strings, scores))
    assert b"".join(rdb._scored_parts(strings, scores, compress)) == expected


def _read_one_by_one(blob: bytes, count: int):
    """(members, scores) of a type 5 sorted set's body, or the error, read member by member."""
    reader = rdb._Reader(blob)
    try:
        pairs = [(reader.string(), reader.binary_double()) for _ in range(count)]
    except rdb.RDBError as error:
        return str(error)
    return [member for member, _score in pairs], [repr(score) for _member, score in pairs]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(texts, st.floats(allow_nan=False)), max_size=40), st.booleans(), st.integers(0, 12))
def test_scored_members_are_read_as_one_by_one(monkeypatch, pairs, compress, cut):
    monkeypatch.setattr(rdb, "_PACK_BATCH", 7)  # several runs, each read by a struct format of its own
    blob = b"".join(rdb._string(member, compress) + struct.pack("<d", score) for member, score in pairs)
    for data in (blob, blob[:max(0, len(blob) - cut)]):  # whole, then cut short
        reader = rdb._Reader(data)
        try:
            members, scores = reader.scored_strings(len(pairs))
            found = members, list(map(repr, scores))
        except rdb.RDBError as error:
            found = str(error)
        assert found == _read_one_by_one(data, len(pairs))


def _nodes_cut_one_by_one(elements: list[bytes], fill: int) -> list[list[bytes]]:
    """Where RPUSH cuts a list of short strings into listpacks (an entry's size is its
    length plus 2), one element at a time."""
    limit = (4096, 8192, 16384, 32768, 65536)[min(-fill, 5) - 1] if fill < 0 else None
    nodes: list[list[bytes]] = []
    for element in elements:
        node = nodes[-1] if nodes else []
        estimate = 7 + sum(len(entry) + 2 for entry in node) + len(element) + 2
        if not node or not (estimate <= limit if limit is not None else estimate <= 8192 and len(node) < fill):
            node = []
            nodes.append(node)
        node.append(element)
    return nodes


@settings(max_examples=100, deadline=None)
@given(st.lists(short_texts, max_size=700), st.sampled_from([-5, -2, -1, 0, 1, 4, 128]))
def test_lists_of_short_strings_are_cut_as_pushed(elements, fill):
    expected = [(rdb.QUICKLIST_NODE_PACKED, rdb._listpack_bytes(node)) for node in _nodes_cut_one_by_one(elements, fill)]
    assert rdb.quicklist_nodes(elements, fill) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(texts, st.integers(-(1 << 63), (1 << 63) - 1)), max_size=60))
def test_listpacks_are_written_entry_by_entry_as_before(entries):
    expected = b"".join(rdb._listpack_entry(entry) + rdb._backlen(len(rdb._listpack_entry(entry)))
                        for entry in entries)
    assert rdb._listpack_body(entries) == expected
    # and read back by the quick reader as the entry-by-entry reader reads them
    blob = rdb._listpack_bytes(entries)
    cursor = rdb._Cursor(blob)
    cursor.position = 6
    one_by_one = []
    while (entry := rdb._read_listpack_entry(cursor)) is not None:
        one_by_one.append(entry)
    assert rdb._listpack(rdb._Cursor(blob)) == one_by_one


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, min_size=1, max_size=300), st.sampled_from([-2, -1, 4, 128]), st.booleans())
def test_collections_round_trip(elements, fill, compress):
    members = set(elements)
    fields = HashValue()
    fields.update([(element, element[::-1]) for element in elements], 128, 64)
    values = {b"list": ListValue(elements), b"set": set_of(list(members), 512), b"hash": fields}
    dumped = rdb.dump([(0, values, {})], compress=compress, list_fill=fill)
    loaded = {key.key: key.value for key in rdb.parse(dumped, CONFIG, 0)}
    assert list(loaded[b"list"]) == elements
    assert set(loaded[b"set"]) == members
    assert dict(loaded[b"hash"].fields) == dict(fields.fields)


def test_every_cut_of_a_file_is_refused_with_an_rdb_error():
    values = {b"short": b"value", b"number": b"12345", b"long": b"x" * 300, b"k" * 70: b"y" * 70,
              b"list": ListValue([b"a", b"12", b"b" * 100])}
    dumped = rdb.dump([(0, values, {b"short": FAR_FUTURE})])
    for cut in range(len(dumped) - 8):  # everything before the checksum
        with pytest.raises(rdb.RDBError):
            rdb.parse(dumped[:cut], CONFIG, 0)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=20000))
def test_crc64_pieces_at_once_sum_like_byte_by_byte(data):
    assert _crc64_lanes(data) == _crc64_bytewise(data, 0)


@pytest.mark.parametrize("many_lanes_from", [crc64_module.MANY_LANES_FROM, 0])
def test_crc64_of_big_inputs_is_the_byte_by_byte_crc(monkeypatch, many_lanes_from):
    monkeypatch.setattr(crc64_module, "MANY_LANES_FROM", many_lanes_from)  # either lane count
    data = os.urandom(300_001)  # past LANES_FROM, and no multiple of the lane count
    assert crc64(data) == _crc64_bytewise(data, 0)
    assert crc64(data, 12345) == _crc64_bytewise(data, 12345)


@pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")
def test_redis_loads_what_the_quick_writer_wrote(tmp_path):
    import random

    rnd = random.Random(7)
    data, expires = {}, {}
    for number in range(3000):
        key = b"key:%d" % number if number % 3 else os.urandom(rnd.choice([1, 12, 21, 70]))
        data[key] = rnd.choice([b"%d" % rnd.randrange(-10**12, 10**12), os.urandom(rnd.randrange(0, 40)),
                                b"v" * rnd.randrange(0, 300)])
        if number % 5 == 0:
            expires[key] = FAR_FUTURE
    (tmp_path / "dump.rdb").write_bytes(rdb.dump([(0, data, expires)]))
    server = start_reference(cwd=str(tmp_path))
    try:
        client = redis.Redis(port=server.port)
        assert client.dbsize() == len(data)
        keys = list(data)
        assert client.mget(keys) == [data[key] for key in keys]
        pipeline = client.pipeline()
        for key in keys:
            pipeline.pexpiretime(key)
        assert pipeline.execute() == [expires.get(key, -1) for key in keys]
    finally:
        server.stop()


# --------------------------------------------------------------------------- AOF


def careful_parse(data: bytes, start: int = 0):
    """parse_commands as it was, one record at a time with the careful reader: the oracle."""
    commands = []
    position = valid_up_to = start
    while position < len(data):
        if data[position] == ord("#"):
            position = aof._skip_annotation(data, position, "f")
        elif data[position] == ord("*"):
            parsed = aof._parse_array(data, position, "f")
            if parsed is None:
                return commands, valid_up_to, aof.TRUNCATED
            argv, position = parsed
            commands.append(argv)
            valid_up_to = position
        else:
            raise aof._bad_format("f", position, "expected '*' or '#'")
    return commands, position, None


arguments = st.lists(st.one_of(st.binary(max_size=12), st.sampled_from([b"\r\n", b"a\r\nb", b"$3", b"*2", b"\r"])),
                     min_size=1, max_size=4)
records = st.one_of(
    arguments.map(encode_command),
    st.sampled_from([b"#TS:1700000000\r\n", b"#note\n", b"*1\r\n$03\r\nabc\r\n", b"*01\r\n$1\r\nx\r\n"]),
)


def outcome(parse, data: bytes):
    try:
        return parse(data)
    except aof.AOFError as error:
        return str(error)


@settings(max_examples=400, deadline=None)
@given(st.lists(records, max_size=12), st.data())
def test_aof_commands_are_read_as_the_careful_reader_reads_them(parts, draw):
    data = b"".join(parts)
    cut = draw.draw(st.integers(0, len(data)))
    for sample in (data, data[:cut], data[:cut] + b"?" + data[cut:]):
        assert outcome(lambda sample: aof.parse_commands(sample, filename="f"), sample) == outcome(careful_parse, sample)


def test_values_that_are_themselves_commands_are_read_as_values():
    # Across several walks of the quick reader (more than WALK_COMMANDS commands).
    argvs = [[b"SET", b"k%d" % number, b"*1\r\n$4\r\nPING\r\n" if number % 7 == 0 else b"v%d" % number]
             for number in range(2 * aof.WALK_COMMANDS + 100)]
    data = b"#TS:1700000000\r\n" + b"".join(encode_command(argv) for argv in argvs)
    assert aof.parse_commands(data) == careful_parse(data) == (argvs, len(data), None)


def test_install_fills_an_empty_database_in_bulk_as_set_would():
    """`rdb.install` stores a database's keys in one go when it is empty and nothing
    listens (`Database.set_loaded`), with their deadlines and access times as `set`
    gives them; a database that is not empty, or a key given twice, goes one `set` at
    a time."""
    from app.persistence.rdb import LoadedKey, install
    from app.store.keyspace import Keyspace

    keys = [LoadedKey(0, b"a", b"1", None), LoadedKey(0, b"b", b"2", 4_000_000_000_000),
            LoadedKey(1, b"c", b"3", None), LoadedKey(1, b"c", b"4", None)]
    bulk, one_by_one = Keyspace(16), Keyspace(16)
    install(bulk, keys)
    for db, key, value, deadline in keys:
        one_by_one.databases[db].set(key, value, deadline=deadline)
    for index in (0, 1):
        ours, theirs = bulk.databases[index], one_by_one.databases[index]
        assert ours.data == theirs.data and ours.expires == theirs.expires
        assert set(ours.access) == set(theirs.access) and sorted(ours._expiring) == sorted(theirs._expiring)
    assert bulk.dirty == 0
    assert bulk.databases[0].set_loaded([b"z"], [b"9"], []) is False  # not empty: `set` one by one
