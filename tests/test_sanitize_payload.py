"""sanitize-dump-payload: which corrupt packed values are refused, when, and by whom.

Every corrupt payload below is made by hand (a value as the RDB file holds it, then the
version and CRC64 footer DUMP writes) and RESTOREd on our server and on a real
redis-server 7.0 under each setting; the replies must be the same bytes. Redis always
makes its *shallow* checks (a listpack's or intset's frame against its size, the full
walk of ziplists and zipmaps, a member twice in a plain set...) and the *deep* ones
(every entry of a listpack, duplicates in packed hashes and sorted sets, intset order,
a stream node's layout, PEL entries without a consumer) with ``yes``, and with
``clients`` for a RESTORE sent by a normal client only: not from the master's stream,
not replayed from the AOF, not while loading a file, not for a user with
skip-sanitize-payload.

Where Redis with ``no`` accepts a corrupt value, what it does with it afterwards is
undefined (several of these crash it on the first read): only the RESTORE reply is
compared then, never a read.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.config import load_config
from app.persistence import rdb
from app.persistence.crc64 import crc64
from app.persistence.rdb import _length, _listpack_body, _string
from app.protocol import encode_command
from tests.differential import compare
from tests.helpers import (ROOT, RawConnection, free_port, redis_server_path, start_ours, start_reference,
                           wait_until)
from tests.test_aof import prepare
from tests.test_dump_restore import literal, with_footer
from tests.test_replication import link_up, offsets_match

pytestmark = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")

MODES = ("no", "yes", "clients")
OK = b"+OK\r\n"
BAD_DATA = b"-ERR Bad data format\r\n"

# --------------------------------------------------------------------------- building payloads


def packed(blob: bytes) -> bytes:
    """A blob as the file stores it: a plain string, never compressed."""
    return _string(blob, False)


def listpack(entries: list, count: int | None = None, body: bytes | None = None, total: int | None = None) -> bytes:
    """A listpack of ``entries`` whose header may lie: its element count, its byte count."""
    body = _listpack_body(entries) if body is None else body
    count = len(entries) if count is None else count
    total = 6 + len(body) + 1 if total is None else total
    return struct.pack("<IH", total, count) + body + b"\xff"


def ziplist(entries: list[bytes], count: int | None = None, tail: int | None = None,
            previous_length_of_second: int | None = None) -> bytes:
    """A ziplist of short strings (ziplist.c): each entry records the previous one's size."""
    items, previous = [], 0
    for entry in entries:
        items.append(bytes([previous, len(entry)]) + entry)
        previous = len(items[-1])
    if previous_length_of_second is not None:
        items[1] = bytes([previous_length_of_second]) + items[1][1:]
    content = b"".join(items)
    tail = 10 + sum(map(len, items[:-1])) if tail is None else tail
    count = len(entries) if count is None else count
    return struct.pack("<IIH", 10 + len(content) + 1, tail, count) + content + b"\xff"


def zipmap(pairs: list[tuple[bytes, bytes]], count: int | None = None) -> bytes:
    """A zipmap (Redis before 2.6): count, then length, field, length, free, value."""
    out = bytes([len(pairs) if count is None else count])
    for field, value in pairs:
        out += bytes([len(field)]) + field + bytes([len(value), 0]) + value
    return out + b"\xff"


def intset(width: int, count: int, numbers: list[int]) -> bytes:
    """An intset (intset.c) whose width and count may lie about its members."""
    code = {2: "h", 4: "i", 8: "q"}.get(width, "h")
    return struct.pack(f"<II{len(numbers)}{code}", width, count, *numbers)


# A stream node with master fields a, b: 1-1 a=1 b=2 (SAMEFIELDS), 1-2 deleted,
# 2-0 c=x (its own fields; seq -1 from the node's 1), 3-0 a=5 b=6 (SAMEFIELDS).
NODE = [3, 1, 2, b"a", b"b", 0,  # live, deleted, master fields, the terminator
        2, 0, 0, 1, 2, 5,
        3, 0, 1, 3, 4, 5,
        0, 1, -1, 1, b"c", b"x", 6,
        2, 2, -1, 5, 6, 5]


def stream(node: list = NODE, groups: list[bytes] = (), nodes: list[tuple[bytes, bytes]] | None = None,
           length: int = 3) -> bytes:
    """A type 19 stream (Redis 7.0) of ``node`` under key 1-1 (or of ``nodes``, each a
    key and a listpack), ``length`` entries, last ID 3-0."""
    nodes = [(struct.pack(">QQ", 1, 1), listpack(node))] if nodes is None else nodes
    out = [_length(len(nodes))]
    for key, blob in nodes:
        out += [packed(key), packed(blob)]
    out += [_length(length), _length(3), _length(0), _length(1), _length(1), _length(0), _length(0), _length(4)]
    out += [_length(len(groups)), *groups]
    return b"\x13" + b"".join(out)


def group(pel: list[tuple[int, int]], consumers: list[tuple[bytes, list]], name: bytes = b"g") -> bytes:
    """A consumer group: last delivered 2-0, its PEL, then each consumer and its own IDs."""
    out = [_string(name), _length(2), _length(0), _length(2), _length(len(pel))]
    for entry_id in pel:
        out += [struct.pack(">QQ", *entry_id), struct.pack("<Q", 1_600_000_000_000), _length(1)]
    out.append(_length(len(consumers)))
    for consumer, ids in consumers:
        out += [_string(consumer), struct.pack("<Q", 1_600_000_000_000), _length(len(ids))]
        out += [struct.pack(">QQ", *entry_id) for entry_id in ids]
    return b"".join(out)


GOOD_LIST_ZIPLIST = ziplist([b"a", b"bc", b"d"])
BIG_HASH = [(b"f%d" % i, b"v") for i in range(600)] + [(b"f5", b"w")]  # past hash-max-listpack-entries

# name -> (value as the file holds it, when Redis refuses it, reads that are well defined
# in every mode). "always": the shallow checks catch it; "deep": only the deep ones.
CASES = {
    # Hashes and sorted sets in a listpack (Redis 7.0's small encoding).
    "hash-listpack-field-twice": (b"\x10" + packed(listpack([b"f", b"v", b"f", b"w"])), "deep", []),
    "hash-listpack-odd-entries": (b"\x10" + packed(listpack([b"f", b"v", b"g"])), "deep", []),
    "hash-listpack-count-too-high": (b"\x10" + packed(listpack([b"f", b"v"], count=4)), "deep", []),
    # Redis trusts the header's count: 1 entry is no pair, an empty hash.
    "hash-listpack-count-says-no-pair": (b"\x10" + packed(listpack([b"f", b"v"], count=1)), "always", []),
    "hash-listpack-count-unknown": (b"\x10" + packed(listpack([b"f", b"v"], count=65535)), "never",
                                    ["HGETALL k"]),
    "hash-listpack-wrong-total-bytes": (b"\x10" + packed(listpack([b"f", b"v"], total=99)), "always", []),
    "hash-listpack-no-end-byte": (b"\x10" + packed(listpack([b"f", b"v"])[:-1] + b"\x00"), "always", []),
    "hash-listpack-empty": (b"\x10" + packed(listpack([])), "always", []),
    "zset-listpack-odd-entries": (b"\x11" + packed(listpack([b"a", 1, b"b"])), "deep", []),
    "zset-listpack-member-twice": (b"\x11" + packed(listpack([b"a", 1, b"a", 2])), "deep", []),
    # Redis reads packed scores with strtod and checks none of them, even deeply.
    "zset-listpack-text-scores": (b"\x11" + packed(listpack([b"a", b"abc", b"b", b"1.5abc"])), "never",
                                  ["ZRANGE k 0 -1 WITHSCORES"]),
    # Intsets.
    "intset-unsorted": (b"\x0b" + packed(intset(2, 3, [3, 1, 2])), "deep", []),
    "intset-member-twice": (b"\x0b" + packed(intset(2, 3, [1, 1, 2])), "deep", []),
    "intset-count-against-size": (b"\x0b" + packed(intset(2, 4, [1, 2, 3])), "always", []),
    "intset-unknown-width": (b"\x0b" + packed(intset(3, 3, [1, 2, 3])), "always", []),
    "intset-empty": (b"\x0b" + packed(intset(2, 0, [])), "always", []),
    # Lists: a quicklist of listpacks (type 18).
    "quicklist-node-count-too-high": (b"\x12\x01\x02" + packed(listpack([b"a", b"b"], count=5)), "deep", []),
    "quicklist-node-bad-back-length": (b"\x12\x01\x02" + packed(listpack([b"a"], body=b"\x81a\x05")), "deep", []),
    "quicklist-node-bytes-after-end": (b"\x12\x01\x02" + packed(listpack([1], body=b"\x01\x01\xff\xff", count=1)),
                                       "deep", []),
    # A node whose header says 0 is dropped, entries and all; none left: an empty list.
    "quicklist-node-count-zero": (b"\x12\x01\x02" + packed(listpack([b"a", b"b"], count=0)), "always", []),
    "quicklist-unknown-container": (b"\x12\x01\x03" + packed(listpack([b"a"])), "always", []),
    "quicklist-empty-plain-node": (b"\x12\x01\x01" + packed(b""), "always", []),
    # Ziplists and zipmaps (files of Redis before 7.0): always checked in full.
    "list-ziplist-good": (b"\x0a" + packed(GOOD_LIST_ZIPLIST), "never", ["LRANGE k 0 -1"]),
    "list-ziplist-wrong-previous-length": (b"\x0a" + packed(ziplist([b"a", b"bc", b"d"], previous_length_of_second=7)),
                                           "always", []),
    "list-ziplist-count-too-high": (b"\x0a" + packed(ziplist([b"a", b"bc"], count=5)), "always", []),
    "list-ziplist-count-unknown": (b"\x0a" + packed(ziplist([b"a", b"bc"], count=65535)), "never", ["LRANGE k 0 -1"]),
    "list-ziplist-wrong-tail": (b"\x0a" + packed(ziplist([b"a", b"bc"], tail=10)), "always", []),
    "quicklist-ziplist-wrong-previous-length": (
        b"\x0e\x01" + packed(ziplist([b"a", b"bc"], previous_length_of_second=9)), "always", []),
    "quicklist-empty-ziplist-node-skipped": (b"\x0e\x02" + packed(ziplist([])) + packed(GOOD_LIST_ZIPLIST), "never",
                                             ["LRANGE k 0 -1"]),
    "hash-ziplist-field-twice": (b"\x0d" + packed(ziplist([b"f", b"v", b"f", b"w"])), "always", []),
    "hash-ziplist-odd-entries": (b"\x0d" + packed(ziplist([b"f", b"v", b"g"])), "always", []),
    "zset-ziplist-member-twice": (b"\x0c" + packed(ziplist([b"a", b"1", b"a", b"2"])), "always", []),
    "zipmap-field-twice": (b"\x09" + packed(zipmap([(b"f", b"v"), (b"f", b"w")])), "always", []),
    "zipmap-count-too-high": (b"\x09" + packed(zipmap([(b"f", b"v")], count=3)), "always", []),
    "zipmap-count-unknown": (b"\x09" + packed(zipmap([(b"f", b"v")], count=254)), "never", ["HGETALL k"]),
    "zipmap-empty": (b"\x09" + packed(zipmap([])), "always", []),
    # Plain encodings: Redis adds member by member and notices what is twice.
    "set-member-twice": (b"\x02\x02" + _string(b"a") + _string(b"a"), "always", []),
    "zset-nan-score": (b"\x05\x01" + _string(b"a") + struct.pack("<d", float("nan")), "always", []),
    "zset-member-twice": (b"\x05\x02" + (_string(b"a") + struct.pack("<d", 1)) * 2, "always", []),
    "small-hash-field-twice": (b"\x04\x02" + _string(b"f") + _string(b"v") + _string(b"f") + _string(b"w"),
                               "deep", []),
    "big-hash-field-twice": (b"\x04" + _length(len(BIG_HASH)) + b"".join(_string(f) + _string(v) for f, v in BIG_HASH),
                             "always", []),
    # Streams: the node's layout, then the consumer groups.
    "stream-good": (stream(groups=[group([(1, 1), (2, 0)], [(b"alice", [(1, 1)]), (b"bob", [(2, 0)])])]), "never",
                    ["XRANGE k - +", "XPENDING k g", "XINFO GROUPS k"]),
    "stream-consumer-entry-missing-from-group-pel": (
        stream(groups=[group([(1, 1)], [(b"alice", [(1, 1)]), (b"bob", [(2, 0)])])]), "always", []),
    "stream-group-pel-entry-without-consumer": (stream(groups=[group([(1, 1), (2, 0)], [(b"alice", [(1, 1)])])]),
                                                "deep", []),
    "stream-group-pel-entry-twice": (stream(groups=[group([(1, 1), (1, 1)], [(b"alice", [(1, 1)])])]), "always", []),
    "stream-consumer-pel-entry-twice": (stream(groups=[group([(1, 1)], [(b"alice", [(1, 1), (1, 1)])])]),
                                        "always", []),
    "stream-pel-entry-of-two-consumers": (stream(groups=[group([(1, 1)], [(b"alice", [(1, 1)]), (b"bob", [(1, 1)])])]),
                                          "always", []),
    "stream-consumer-twice": (stream(groups=[group([], [(b"alice", []), (b"alice", [])])]), "always", []),
    "stream-group-twice": (stream(groups=[group([], []), group([], [])]), "always", []),
    "stream-deleted-count-lies": (stream([3, 0, *NODE[2:]]), "deep", []),
    "stream-entry-element-count-lies": (stream([*NODE[:11], 6, *NODE[12:]]), "deep", []),
    "stream-master-entry-without-terminator": (stream([*NODE[:5], 1, *NODE[6:]]), "deep", []),
    "stream-empty-node": (stream(nodes=[(struct.pack(">QQ", 1, 1), listpack([]))]), "always", []),
    "stream-node-twice": (stream(nodes=[(struct.pack(">QQ", 1, 1), listpack(NODE))] * 2), "always", []),
    "stream-node-key-too-short": (stream(nodes=[(b"short", listpack(NODE))]), "always", []),
    # IDs are differences from the node's key; Redis lets them go below it.
    "stream-id-before-its-node-key": (
        stream(nodes=[(struct.pack(">QQ", 10, 0), listpack([1, 0, 0, 0, 0, -5, 0, 1, b"a", b"b", 6]))], length=1),
        "never",
        ["XRANGE k - +"]),
}


def refused(when: str, mode: str) -> bool:
    """Whether a normal client's RESTORE is refused: deep checks run with yes and clients."""
    return when == "always" or when == "deep" and mode != "no"


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Our server and a real Redis of this module's own: a Redis that accepted a corrupt
    value with sanitization off could misbehave later, and must not serve other tests."""
    ours = start_ours("--enable-debug-command", "yes")
    theirs = start_reference("--enable-debug-command", "yes", cwd=str(tmp_path_factory.mktemp("reference")))
    yield ours.port, theirs.port
    alive = theirs.process.poll() is None
    ours.stop()
    theirs.stop()
    assert alive, "the reference Redis died: something read a corrupt value it had accepted"


# --------------------------------------------------------------------------- RESTORE


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", CASES)
def test_restore_of_a_corrupt_payload_answers_as_redis(pair, name, mode):
    ours, theirs = pair
    body, when, reads = CASES[name]
    payload = with_footer(body)
    with RawConnection(ours) as connection:
        connection.call("CONFIG", "SET", "sanitize-dump-payload", mode)
        connection.call("DEL", "k")
        assert connection.call("RESTORE", "k", "0", payload) == (BAD_DATA if refused(when, mode) else OK)
    compare(ours, theirs, f"""
        CONFIG SET sanitize-dump-payload {mode}
        RESTORE k 0 {literal(payload)}
        {chr(10).join(reads)}
    """)


def test_a_user_with_skip_sanitize_payload_is_trusted_under_clients(pair):
    ours, theirs = pair
    duplicate = literal(with_footer(CASES["hash-listpack-field-twice"][0]))
    compare(ours, theirs, f"""
        CONFIG SET sanitize-dump-payload clients
        RESTORE checked 0 {duplicate}
        ACL SETUSER trusting on nopass ~* &* +@all skip-sanitize-payload
        AUTH trusting whatever
        RESTORE trusted 0 {duplicate}
        EXISTS checked trusted
        ACL SETUSER trusting sanitize-payload
        RESTORE checked-again 0 {duplicate}
        CONFIG SET sanitize-dump-payload no
    """)
    with RawConnection(ours) as connection:
        connection.call("CONFIG", "SET", "sanitize-dump-payload", "clients")
        connection.call("AUTH", "trusting", "whatever")
        connection.call("ACL", "SETUSER", "trusting", "skip-sanitize-payload")
        assert connection.call("RESTORE", "k", "0", with_footer(CASES["hash-listpack-field-twice"][0])) == OK
        connection.call("DEL", "k")


# --------------------------------------------------------------------------- every DUMP passes


ELEMENT = (st.binary(max_size=12) | st.integers(-2**63, 2**63 - 1).map(str)
           | st.binary(min_size=60, max_size=300) | st.sampled_from(["0", "-1", "127", "4096", "-4097", "65536"]))
NUMBER = st.integers(-2**63, 2**63 - 1).map(str)
SCORE = st.floats(allow_nan=False).map(repr) | st.integers(-2**53, 2**53).map(str)


@st.composite
def build_commands(draw, kind: str) -> list[list]:
    """Commands that leave key "k" holding a random value of ``kind``, small or past the
    limits of its packed encoding (several quicklist nodes, a hashtable, a skip list,
    several stream nodes), so that every encoding's payload is tried."""
    size = draw(st.sampled_from([1, 10, 140, 600]))
    sized = {"min_size": size, "max_size": size + 10}
    if kind == "list":
        elements = draw(st.lists(ELEMENT, **sized))
        pops = draw(st.integers(0, len(elements) - 1))
        return [["RPUSH", "k", *elements]] + ([["LPOP", "k", str(pops)]] if pops else [])
    if kind == "hash":
        pairs = draw(st.dictionaries(ELEMENT, ELEMENT, **sized))
        return [["HSET", "k", *[part for pair in pairs.items() for part in pair]]]
    if kind in ("intset", "set"):
        return [["SADD", "k", *draw(st.lists(NUMBER if kind == "intset" else ELEMENT, **sized))]]
    if kind == "zset":
        pairs = draw(st.dictionaries(ELEMENT, SCORE, **sized))
        return [["ZADD", "k", *[part for member, score in pairs.items() for part in (score, member)]]]
    entries = draw(st.lists(st.lists(ELEMENT, min_size=1, max_size=4), min_size=1, max_size=size + 10))
    commands = [["XADD", "k", f"{i + 1}-{i % 3}", *[part for j, v in enumerate(fields) for part in (f"f{j}", v)]]
                for i, fields in enumerate(entries)]
    read = draw(st.integers(1, len(entries)))
    deleted = draw(st.lists(st.integers(1, len(entries)), max_size=10))
    commands += [["XGROUP", "CREATE", "k", "g", "0"],
                 ["XREADGROUP", "GROUP", "g", "alice", "COUNT", str(read), "STREAMS", "k", ">"]]
    return commands + [["XDEL", "k", f"{i}-{(i - 1) % 3}"] for i in deleted]


@pytest.mark.parametrize("kind", ["list", "hash", "intset", "set", "zset", "stream"])
# Big values on purpose (past the listpack limits, to reach every encoding): hypothesis
# may find them over its entropy budget, which is no fault of the code under test.
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_payload_our_dump_makes_passes_the_deep_checks(pair, kind, data):
    ours, theirs = pair
    commands = data.draw(build_commands(kind))
    with RawConnection(ours) as connection, RawConnection(theirs) as reference:
        for server in (connection, reference):
            server.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
            server.call("DEL", "k", "copy")
        for argv in commands:
            assert not connection.call(*argv).startswith(b"-")
        event(connection.call("OBJECT", "ENCODING", "k").decode().split()[-1])  # --hypothesis-show-statistics
        connection.send_command("DUMP", "k")
        payload = connection.read()
        # Ours and Redis, both checking deeply, take it back, and it dumps the same again.
        assert connection.call("RESTORE", "copy", "0", payload) == OK
        assert reference.call("RESTORE", "copy", "0", payload) == OK
        connection.send_command("DUMP", "copy")
        assert connection.read() == payload


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(CASES)), st.data())
def test_damaged_payloads_are_refused_cleanly(name, data):
    # A flipped, replaced or dropped byte anywhere (the checksum made right again): the
    # value loads or RESTORE's error comes out, with or without the deep checks, never
    # another exception.
    body = bytearray(CASES[name][0])
    position = data.draw(st.integers(0, len(body) - 1))
    change = data.draw(st.sampled_from(["flip", "set", "drop"]))
    if change == "drop":
        del body[position]
    else:
        body[position] = body[position] ^ (1 << data.draw(st.integers(0, 7))) if change == "flip" \
            else data.draw(st.integers(0, 255))
    config = load_config([])
    outcomes = set()
    for deep in (False, True):
        try:
            rdb.restore_payload(with_footer(bytes(body)), config, deep)
            outcomes.add("loaded")
        except rdb.RDBError as error:
            assert str(error) in ("Bad data format", "DUMP payload version or checksum are wrong")
            outcomes.add("refused")
    assert outcomes


# --------------------------------------------------------------------------- files at start-up


def rdb_file(*values: bytes) -> bytes:
    """A version 10 file holding a good string key and ``values`` as keys bad1, bad2..."""
    body = b"REDIS0010\xfe\x00\x00" + _string(b"good") + _string(b"here")
    for number, value in enumerate(values, 1):
        body += value[:1] + _string(b"bad%d" % number) + value[1:]
    body += b"\xff"
    return body + struct.pack("<Q", crc64(body))


CORRUPT_FILE = rdb_file(CASES["hash-listpack-field-twice"][0], CASES["intset-unsorted"][0])


def start_on_file(program: str, directory, mode: str) -> tuple[subprocess.Popen, int]:
    (directory / "dump.rdb").write_bytes(CORRUPT_FILE)
    port = free_port()
    argv = [str(ROOT / "your_program.sh"), "--port", str(port)] if program == "ours" else \
        [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "no"]
    argv += ["--dir", str(directory), "--save", "", "--sanitize-dump-payload", mode]
    return subprocess.Popen(argv, cwd=str(directory), stdout=subprocess.PIPE, stderr=subprocess.STDOUT), port


def test_a_corrupt_file_stops_the_server_under_yes(tmp_path):
    outputs = {}
    for program in ("ours", "redis"):
        (tmp_path / program).mkdir()
        process, _port = start_on_file(program, tmp_path / program, "yes")
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 1, program
        outputs[program] = output.decode(errors="replace")
    assert "Hash listpack integrity check failed" in outputs["redis"]
    assert "Terminating server after rdb file reading failure" in outputs["redis"]
    offset = CORRUPT_FILE.index(CASES["hash-listpack-field-twice"][0][2:])  # where the listpack starts
    assert f"Hash listpack integrity check failed at offset {offset}. Exiting." in outputs["ours"]
    assert "Fatal error loading the DB" in outputs["ours"]
    assert "Traceback" not in outputs["ours"]


@pytest.mark.parametrize("mode", ["no", "clients"])
def test_a_corrupt_file_loads_when_only_clients_are_checked(tmp_path, mode):
    # Redis trusts the files it loads under "clients"; the values read back are
    # undefined (a field twice, an unsorted intset), so only the keys are compared.
    counts = []
    for program in ("ours", "redis"):
        (tmp_path / program).mkdir()
        process, port = start_on_file(program, tmp_path / program, mode)
        try:
            wait_until(lambda: loaded(port), what=f"{program} to load the file")
            with RawConnection(port) as connection:
                counts.append((connection.call("DBSIZE"), connection.call("GET", "good"),
                               connection.call("EXISTS", "bad1", "bad2")))
        finally:
            process.terminate()
            process.communicate(timeout=30)
    assert counts[0] == counts[1] == (b":3\r\n", b"$4\r\nhere\r\n", b":2\r\n")


def test_debug_reload_checks_the_file_deeply_only_under_yes(pair):
    # DEBUG RELOAD trusts the file under "clients", as loading at start-up does. Under
    # yes ours refuses it and keeps its data, where Redis 7.0 stops: not compared.
    ours, theirs = pair
    for port in pair:
        with RawConnection(port) as connection:
            connection.send_command("CONFIG", "GET", "dir")
            directory = Path(connection.read()[1].decode())
        (directory / "dump.rdb").write_bytes(CORRUPT_FILE)
    compare(ours, theirs, """
        CONFIG SET sanitize-dump-payload clients
        DEBUG RELOAD NOSAVE
        DBSIZE
        GET good
        CONFIG SET sanitize-dump-payload no
    """)
    with RawConnection(ours) as connection:
        connection.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
        connection.call("SET", "kept", "1")
        refusal = connection.call("DEBUG", "RELOAD", "NOSAVE")
        assert refusal == b"-ERR Error trying to load the RDB dump, check server logs.\r\n"
        assert connection.call("GET", "kept") == b"$1\r\n1\r\n"
        connection.call("CONFIG", "SET", "sanitize-dump-payload", "no")


def loaded(port: int) -> bool:
    """Whether the server answers PING (refused while it loads)."""
    try:
        with RawConnection(port, timeout=1) as connection:
            return connection.call("PING") == b"+PONG\r\n"
    except OSError:
        return False


# --------------------------------------------------------------------------- trusted sources


@pytest.mark.parametrize("mode, kept", [("clients", b":1\r\n"), ("yes", b":0\r\n")])
def test_restore_from_the_master_is_not_deep_checked_under_clients(tmp_path, mode, kept):
    # Our master (sanitization off) takes a hash listpack with a field twice and sends the
    # RESTORE on; our replica and a real Redis replica check it only under yes.
    master = start_ours()
    replicas = [start_ours("--replicaof", f"127.0.0.1 {master.port}", "--sanitize-dump-payload", mode),
                start_reference("--replicaof", "127.0.0.1", str(master.port), "--sanitize-dump-payload", mode,
                                cwd=str(tmp_path))]
    try:
        for replica in replicas:
            wait_until(lambda: link_up(replica.port), what="replica link up")
        with RawConnection(master.port) as connection:
            payload = with_footer(CASES["hash-listpack-field-twice"][0])
            assert connection.call("RESTORE", "k", "0", payload) == OK
            assert connection.call("SET", "after", "1") == OK
        wait_until(lambda: offsets_match(master.port, *(replica.port for replica in replicas)),
                   what="replicas to catch up")
        for replica in replicas:
            with RawConnection(replica.port) as connection:
                assert connection.call("EXISTS", "k") == kept
                assert connection.call("GET", "after") == b"$1\r\n1\r\n"  # the stream went on
    finally:
        for server in (*replicas, master):
            server.stop()


def aof_server(program: str, directory, mode: str, payload: bytes):
    """A server replaying an AOF that RESTOREs ``payload`` into k, then SETs after."""
    directory.mkdir()
    prepare(directory, encode_command([b"RESTORE", b"k", b"0", payload]) + encode_command([b"SET", b"after", b"1"]))
    args = ("--dir", str(directory), "--appendonly", "yes", "--sanitize-dump-payload", mode)
    return start_ours(*args, cwd=str(directory)) if program == "ours" else start_reference(*args, cwd=str(directory))


def test_restore_replayed_from_the_aof_is_not_deep_checked_under_clients(tmp_path):
    payload = with_footer(CASES["intset-unsorted"][0])
    for program in ("ours", "redis"):
        with aof_server(program, tmp_path / program, "clients", payload) as server:
            wait_until(lambda: loaded(server.port), what=f"{program} to replay the AOF")
            with RawConnection(server.port) as connection:
                assert connection.call("EXISTS", "k", "after") == b":2\r\n", program


def test_restore_replayed_from_the_aof_is_deep_checked_under_yes(tmp_path):
    # Ours drops the RESTORE that fails and replays the rest, as for any command that
    # fails in the AOF. Redis 7.0 stops the server there instead (its integrity error
    # is fatal whenever no client sent the RESTORE): not compared.
    with aof_server("ours", tmp_path / "ours", "yes", with_footer(CASES["intset-unsorted"][0])) as server:
        with RawConnection(server.port) as connection:
            assert connection.call("EXISTS", "k") == b":0\r\n"
            assert connection.call("GET", "after") == b"$1\r\n1\r\n"
