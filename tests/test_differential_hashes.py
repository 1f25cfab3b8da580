"""Hash commands compared byte for byte with a real Redis, in RESP2 and RESP3.

Every command with its error paths, in the order Redis checks them; the encodings at and
past their thresholds (also after CONFIG SET, which both servers share, so the scripts
restore the defaults); keyspace notifications and the INFO counters of keyspace hits and
misses. A listpack hash keeps insertion order, so its replies compare exactly; a
hashtable's order is its own, so those lines compare sorted (``=``), and random picks
compare by type (``~``). HRANDFIELD's randomness itself is measured against our server
alone, and HSCAN's promise (every field present throughout is returned) on both.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.differential import compare, compare_keyspace_counters, compare_notifications
from tests.helpers import RawConnection


def _pairs(count: int, prefix: str = "f", value: str = "v") -> str:
    return " ".join(f"{prefix}{i} {value}" for i in range(count))


LONG_64 = "x" * 64
LONG_65 = "x" * 65

SCRIPTS = {
    "set_and_get": """
        HSET h a 1 b 2
        HSET h a 3
        HSET h a 4 c 5 a 6
        HGET h a
        HGET h nofield
        HGET nokey a
        HSET h "" "" "\\x00\\xff" "a b"
        HGETALL h
        HGETALL nokey
        HMSET h x 1 y 2
        HMSET nokey2 x 1
        HSETNX h a 5
        HSETNX h z 5
        HSETNX nokey3 f v
        HMGET h a nofield z
        HMGET nokey a b
        HKEYS h
        HVALS h
        HKEYS nokey
        HVALS nokey
        HLEN h
        HLEN nokey
        HEXISTS h a
        HEXISTS h nofield
        HEXISTS nokey a
        HSTRLEN h a
        HSTRLEN h "\\x00\\xff"
        HSTRLEN h nofield
        HSTRLEN nokey a
        HSET h 12345 67890
        HGET h 12345
    """,
    "arity_errors": """
        HSET
        HSET h
        HSET h a
        HSET h a 1 b
        HMSET h a
        HMSET h a 1 b
        HSETNX h a
        HSETNX h a 1 2
        HGET h
        HMGET h
        HGETALL
        HGETALL h x
        HDEL h
        HLEN
        HEXISTS h
        HSTRLEN h
        HKEYS
        HVALS h x
        HINCRBY h a
        HINCRBYFLOAT h a 1 2
        HRANDFIELD
        HSCAN h
    """,
    "delete": """
        HSET h a 1 b 2 c 3
        HDEL h a nofield
        HDEL h a
        HDEL nokey a
        HGETALL h
        HDEL h b c b
        EXISTS h
        HSET h a 1
        HDEL h a a a
        EXISTS h
    """,
    "hincrby": """
        HINCRBY h n 5
        HINCRBY h n -10
        HINCRBY h n 0
        HGET h n
        HINCRBY h n x
        HINCRBY h n 1.5
        HINCRBY h n ""
        HINCRBY h n 9223372036854775808
        HINCRBY nokey n x
        HSET h s abc
        HINCRBY h s 1
        HSET h big 9223372036854775807
        HINCRBY h big 1
        HINCRBY h big 0
        HINCRBY h neg -9223372036854775808
        HINCRBY h neg -1
        HINCRBY h neg 9223372036854775807
        HSET h sp " 1"
        HINCRBY h sp 1
        HSET h zero 01
        HINCRBY h zero 1
        HSET h minus0 -0
        HINCRBY h minus0 1
        HSET h empty ""
        HINCRBY h empty 1
        HGETALL h
    """,
    "hincrbyfloat": """
        HINCRBYFLOAT h f 1.5
        HINCRBYFLOAT h f 0.1
        HINCRBYFLOAT h f 0.1
        HINCRBYFLOAT h f -3.7
        HINCRBYFLOAT h f 0
        HINCRBYFLOAT h f 1e-5
        HINCRBYFLOAT h f x
        HINCRBYFLOAT h f ""
        HINCRBYFLOAT h f inf
        HINCRBYFLOAT h f -inf
        HINCRBYFLOAT h f nan
        HINCRBYFLOAT h f " 1"
        HINCRBYFLOAT h f 0x10
        HINCRBYFLOAT h g 1e308
        HINCRBYFLOAT h g 1e308
        HINCRBYFLOAT h big 1e400
        HINCRBYFLOAT h huge 5e4000
        HINCRBYFLOAT h huge 5e4000
        HINCRBYFLOAT h tiny 1e-4000
        HINCRBYFLOAT nokey f x
        HSET h s abc
        HINCRBYFLOAT h s 1
        HSET h i 10
        HINCRBYFLOAT h i 0.5
        HSET h inf inf
        HINCRBYFLOAT h inf 1
        HSET h sp " 1"
        HINCRBYFLOAT h sp 1
        HSET h trail "1 "
        HINCRBYFLOAT h trail 1
        HSET h hex 0x10
        HINCRBYFLOAT h hex 1
        HSET h exp 1e3
        HINCRBYFLOAT h exp 1
        HSET h empty ""
        HINCRBYFLOAT h empty 1
        = HGETALL h
        OBJECT ENCODING h
    """,
    "hrandfield": """
        HSET h a 1 b 2 c 3
        HRANDFIELD h 3
        HRANDFIELD h 10
        HRANDFIELD h 10 WITHVALUES
        HRANDFIELD h 10 withvalues
        HRANDFIELD h 0
        HRANDFIELD h 0 WITHVALUES
        ~ HRANDFIELD h
        ~ HRANDFIELD h 1
        ~ HRANDFIELD h 2 WITHVALUES
        ~ HRANDFIELD h -1 WITHVALUES
        ~ HRANDFIELD h -7
        ~ HRANDFIELD h -7 WITHVALUES
        HRANDFIELD h 1 foo
        HRANDFIELD h x
        HRANDFIELD h 1.5
        HRANDFIELD h 1 WITHVALUES x
        HRANDFIELD h -9223372036854775808
        HRANDFIELD h 9223372036854775807
        HRANDFIELD h -4611686018427387904 WITHVALUES
        HRANDFIELD h 4611686018427387904 WITHVALUES
        HRANDFIELD h 4611686018427387903 WITHVALUES
        HRANDFIELD h -4611686018427387903 WITHVALUES x
        HRANDFIELD nokey
        HRANDFIELD nokey 5
        HRANDFIELD nokey -5 WITHVALUES
        HRANDFIELD nokey 0
        HRANDFIELD nokey x
        HRANDFIELD nokey 5 foo
        HSET one f v
        HRANDFIELD one
        HRANDFIELD one -3
        HRANDFIELD one -3 WITHVALUES
        HRANDFIELD one 1 WITHVALUES
    """,
    "hrandfield_hashtable": f"""
        HSET h {_pairs(200)}
        OBJECT ENCODING h
        = HRANDFIELD h 200
        = HRANDFIELD h 1000 WITHVALUES
        ~ HRANDFIELD h 150
        ~ HRANDFIELD h 5 WITHVALUES
        ~ HRANDFIELD h -5 WITHVALUES
        ~ HRANDFIELD h
    """,
    "hscan": """
        HSET h a 1 b 2 c 3 ab 4 "" 5
        HSCAN h 0
        HSCAN h 0 MATCH a*
        HSCAN h 0 match A*
        HSCAN h 0 MATCH *
        HSCAN h 0 MATCH **
        HSCAN h 0 MATCH ""
        HSCAN h 0 COUNT 1
        HSCAN h 0 COUNT 1 MATCH *b COUNT 2
        HSCAN h 5
        HSCAN h -1
        HSCAN h 18446744073709551615
        HSCAN h 18446744073709551616
        HSCAN h 0 COUNT 0
        HSCAN h 0 COUNT -1
        HSCAN h 0 COUNT x
        HSCAN h 0 TYPE string
        HSCAN h 0 NOVALUES
        HSCAN h 0 MATCH
        HSCAN h 0 COUNT 0 FOO
        HSCAN h 0 FOO 1 COUNT x
        HSCAN h x
        HSCAN h 1.5
        HSCAN h ""
        HSCAN nokey 0 FOO
        HSCAN nokey x
    """,
    "hscan_hashtable": f"""
        HSET h {_pairs(300)}
        = HSCAN h 0 COUNT 1000
        = HSCAN h 0 COUNT 1000 MATCH f1*
        = HSCAN h 0 COUNT 1000 MATCH nothing
        HSCAN h 0 COUNT 0
    """,
    "encoding_thresholds": f"""
        HSET h {_pairs(128)}
        OBJECT ENCODING h
        HSET h f0 again
        OBJECT ENCODING h
        HSET h f128 v
        OBJECT ENCODING h
        HDEL h f128 f127 f126
        OBJECT ENCODING h
        HSET v a {LONG_64}
        OBJECT ENCODING v
        HSET v {LONG_64} a
        OBJECT ENCODING v
        HSET v b {LONG_65}
        OBJECT ENCODING v
        HSET w {LONG_65} a
        OBJECT ENCODING w
        HSET u a 1
        HSET u a {LONG_65}
        OBJECT ENCODING u
        HSET x a 1
        HSETNX x a {LONG_65}
        OBJECT ENCODING x
        HSETNX x b {LONG_65}
        OBJECT ENCODING x
        HINCRBY y {LONG_65} 1
        OBJECT ENCODING y
        HINCRBYFLOAT z {LONG_65} 1
        OBJECT ENCODING z
        HINCRBYFLOAT z2 f 1e64
        OBJECT ENCODING z2
        HINCRBYFLOAT z3 f 1e63
        OBJECT ENCODING z3
        HMSET m a 1 b {LONG_65}
        OBJECT ENCODING m
        HSET d a 1
        HDEL d a {LONG_65}
        OBJECT ENCODING d
        HSET small a 1
        OBJECT ENCODING small
        HGETALL small
    """,
    "encoding_config": f"""
        HSET h a 1 b 2
        CONFIG SET hash-max-listpack-entries 1
        OBJECT ENCODING h
        HGET h a
        OBJECT ENCODING h
        HSET h a 5
        OBJECT ENCODING h
        HSET one a 1
        OBJECT ENCODING one
        HINCRBY one a 1
        OBJECT ENCODING one
        HSET two a 1 b 2
        OBJECT ENCODING two
        CONFIG SET hash-max-listpack-entries 0
        HSET zero a 1
        OBJECT ENCODING zero
        CONFIG SET hash-max-listpack-entries 128
        CONFIG SET hash-max-listpack-value 0
        HSET e "" ""
        OBJECT ENCODING e
        HSET e "" x
        OBJECT ENCODING e
        HSET e2 a ""
        OBJECT ENCODING e2
        CONFIG SET hash-max-listpack-value 1kb
        CONFIG GET hash-max-listpack-value
        HSET k a {"y" * 1024}
        OBJECT ENCODING k
        HSET k b {"y" * 1025}
        OBJECT ENCODING k
        CONFIG SET hash-max-ziplist-entries 3
        CONFIG GET hash-max-listpack-entries
        CONFIG GET hash-max-ziplist-entries
        CONFIG SET hash-max-ziplist-value 5
        CONFIG GET hash-max-listpack-value
        HSET z a 12345
        OBJECT ENCODING z
        HSET z b 123456
        OBJECT ENCODING z
        = CONFIG GET hash-max-*
        = CONFIG GET *ziplist-entries
        CONFIG SET hash-max-listpack-value -1
        CONFIG SET hash-max-listpack-value x
        CONFIG SET hash-max-listpack-value 1.5
        CONFIG SET hash-max-listpack-value 10000000000gb
        CONFIG SET hash-max-listpack-entries 1kb
        CONFIG SET hash-max-listpack-entries -1
        CONFIG SET hash-max-listpack-entries 9223372036854775808
        CONFIG SET hash-max-listpack-entries 9223372036854775807
        CONFIG SET hash-max-listpack-entries 128
        CONFIG SET hash-max-listpack-value 64
        = CONFIG GET hash-max-*
    """,
    "wrongtype": """
        SET s v
        RPUSH l a
        HSET s a 1
        HMSET s a 1
        HSETNX s a 1
        HGET s a
        HMGET s a
        HGETALL s
        HKEYS s
        HVALS s
        HDEL s a
        HLEN s
        HEXISTS s a
        HSTRLEN s a
        HINCRBY s a 1
        HINCRBY s a x
        HINCRBYFLOAT s a 1
        HINCRBYFLOAT s a x
        HINCRBYFLOAT s a inf
        HRANDFIELD s
        HRANDFIELD s 1
        HRANDFIELD s x
        HRANDFIELD s 1 foo
        HRANDFIELD s 0
        HSCAN s 0
        HSCAN s 0 FOO
        HSCAN s x
        HSET l a 1
        HSET h a 1
        GET h
        LPUSH h x
        SADD h x
        INCR h
        APPEND h x
        GET s
    """,
    "generic_commands_on_hashes": f"""
        HSET h a 1 b 2
        TYPE h
        OBJECT ENCODING h
        COPY h c
        HSET c z 26
        HGETALL h
        HGETALL c
        OBJECT ENCODING c
        HSET big {_pairs(129)}
        COPY big bigcopy
        OBJECT ENCODING bigcopy
        HDEL big f0
        HLEN big
        HLEN bigcopy
        RENAME c r
        HGETALL r
        MOVE r 1
        SELECT 1
        HGETALL r
        OBJECT ENCODING r
        FLUSHDB
        SELECT 0
        EXPIRE h 100
        HSET h x 1
        TTL h
        HDEL h x
        TTL h
        HINCRBY h n 1
        TTL h
        HDEL h a b n
        EXISTS h
        = SCAN 0 TYPE hash COUNT 100
        = KEYS *
        DBSIZE
    """,
    "inside_multi": """
        HSET h a 1 b 2
        MULTI
        HSET h c 3
        HGETALL h
        HRANDFIELD h 5 WITHVALUES
        HINCRBYFLOAT h a 0.5
        HSCAN h 0
        EXEC
    """,
    "watch_sees_only_real_changes": """
        HSET h a 1
        WATCH h
        HSETNX h a 2
        HDEL h nofield
        HINCRBY h a x
        HINCRBYFLOAT h a inf
        ~ HRANDFIELD h -2
        MULTI
        PING
        EXEC
        WATCH h
        HSET h a 1
        MULTI
        PING
        EXEC
        WATCH h
        HDEL h a
        MULTI
        PING
        EXEC
    """,
    "command_info": """
        COMMAND INFO hset hsetnx hget hmget hmset hgetall hdel hexists hlen hkeys hvals
        COMMAND INFO hincrby hincrbyfloat hstrlen hrandfield hscan
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


NOTIFICATION_SCRIPTS = {
    "sets_and_deletes": """
        HSET h a 1 b 2
        HSET h a 1
        HMSET h c 3
        HSETNX h c 3
        HSETNX h d 4
        HSETNX nokey f v
        HDEL h nofield
        HDEL h a b
        HDEL h c d
        HDEL nokey a
    """,
    "counters": """
        HINCRBY h a 1
        HINCRBY h a 5
        HINCRBYFLOAT h b 1.5
        HINCRBYFLOAT h b x
        HINCRBY h a x
        HSET h s abc
        HINCRBY h s 1
        HINCRBYFLOAT h s 1
        HINCRBYFLOAT new f 2
    """,
    "reads_announce_nothing": """
        HSET h a 1
        HGET h a
        HMGET h a b
        HGETALL h
        HKEYS h
        HVALS h
        HLEN h
        HEXISTS h a
        HSTRLEN h a
        HRANDFIELD h
        HRANDFIELD h -2 WITHVALUES
        HSCAN h 0
        HGET nokey a
        HGETALL nokey
        HRANDFIELD nokey 3
        HSCAN nokey 0
    """,
    "generic_commands_on_hashes": """
        HSET h a 1
        COPY h c
        RENAME c r
        MOVE r 1
        EXPIRE h 100
        DEL h
    """,
}


@pytest.mark.parametrize("flags", ["KEA", "KEAn", "Kh", "Eg", "Km"])
@pytest.mark.parametrize("name", sorted(NOTIFICATION_SCRIPTS))
def test_notifications_match_redis(server, reference, name, flags):
    compare_notifications(server.port, reference.port, NOTIFICATION_SCRIPTS[name], flags=flags)


# Reading commands count keyspace hits and misses; writing ones count nothing.
COUNTED = """
    HSET h a 1
    SET s v
    HGET h a
    HGET nokey a
    HMGET nokey a b
    HGETALL nokey
    HKEYS h
    HVALS nokey
    HLEN h
    HEXISTS nokey a
    HSTRLEN h a
    HRANDFIELD nokey
    HRANDFIELD h 2
    HRANDFIELD nokey x
    HSCAN nokey 0
    HSCAN h 0
    HSCAN nokey x
    HGET s a
    HSET nokey1 a 1
    HSETNX nokey2 a 1
    HDEL nokey3 a
    HINCRBY nokey4 a 1
    HINCRBYFLOAT nokey5 a 1
"""


def test_keyspace_hits_and_misses_match_redis(server, reference):
    compare_keyspace_counters(server.port, reference.port, COUNTED)


# --------------------------------------------------------------------------- HSCAN's promise


@pytest.mark.parametrize("which", ["ours", "redis"])
def test_hscan_returns_every_field_present_throughout(server, reference, which):
    """A full HSCAN of a hashtable hash, with fields deleted and added between calls,
    returns every field that was there from start to end (with its value); deleted
    fields may or may not come back. Checked on both servers: it is Redis' promise."""
    port = server.port if which == "ours" else reference.port
    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        for start in range(0, 1000, 250):
            connection.call("HSET", "h", *[item for i in range(start, start + 250) for item in (f"f{i}", f"v{i}")])
        assert connection.call("OBJECT", "ENCODING", "h") == b"$9\r\nhashtable\r\n"
        seen: dict[bytes, bytes] = {}
        deleted = set()
        cursor, calls = b"0", 0
        while True:
            connection.send_command("HSCAN", "h", cursor, "COUNT", "7")
            cursor, flat = connection.read()
            seen.update(zip(flat[::2], flat[1::2]))
            calls += 1
            victim = f"f{(calls * 37) % 1000}"
            connection.call("HDEL", "h", victim)  # a field somewhere, seen or not yet
            deleted.add(victim.encode())
            connection.call("HSET", "h", f"new{calls}", "x")
            if cursor == b"0":
                break
        present_throughout = {f"f{i}".encode() for i in range(1000)} - deleted
        assert present_throughout <= seen.keys()
        assert all(seen[field] == b"v" + field[1:] for field in present_throughout)
        assert calls > 1000 // 7 // 2  # it really went step by step


# --------------------------------------------------------------------------- randomness


def _chi_square(counts: Counter, names, total: int) -> float:
    expected = total / len(names)
    return sum((counts[name] - expected) ** 2 / expected for name in names)


def chi_square_bound(degrees: int) -> float:
    """A bound that uniform picks exceed with a probability far below 1e-6: the
    statistic averages ``degrees`` with a standard deviation of sqrt(2 * degrees), so
    this is ten of those above the mean. A biased picker lands far beyond it."""
    return degrees + 10 * (2 * degrees) ** 0.5


@pytest.mark.parametrize("size", [10, 200])  # a listpack, then a hashtable
def test_hrandfield_picks_are_uniform(server, size):
    fields = [f"f{i}".encode() for i in range(size)]
    with RawConnection(server.port) as connection:
        connection.call("FLUSHALL")
        connection.call("HSET", "h", *[item for field in fields for item in (field, b"v")])
        connection.send_command("HRANDFIELD", "h", -200 * size)
        with_repeats = Counter(connection.read())
        for _ in range(100 * size):
            connection.send_command("HRANDFIELD", "h")  # pipelined: one read at the end
        singles = Counter(connection.read() for _ in range(100 * size))
        distinct = Counter()
        for _ in range(2000):
            connection.send_command("HRANDFIELD", "h", 3)
        for _ in range(2000):
            picked = connection.read()
            assert len(set(picked)) == 3
            distinct.update(picked)
    bound = chi_square_bound(size - 1)
    assert _chi_square(with_repeats, fields, 200 * size) < bound
    assert _chi_square(singles, fields, 100 * size) < bound
    assert _chi_square(distinct, fields, 6000) < bound


@pytest.mark.parametrize("which", ["ours", "redis"])
def test_hrandfield_from_a_listpack_keeps_its_order(server, reference, which):
    """Asked for a third or less of a listpack's fields, Redis samples them in the
    listpack's order (lpRandomPairsUnique); asked for more, in random order."""
    port = server.port if which == "ours" else reference.port
    fields = [f"f{i}".encode() for i in range(12)]
    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        connection.call("HSET", "h", *[item for field in fields for item in (field, b"v")])
        for _ in range(300):
            connection.send_command("HRANDFIELD", "h", 4)
        samples = [connection.read() for _ in range(300)]
        for _ in range(300):
            connection.send_command("HRANDFIELD", "h", 10)
        bigger = [connection.read() for _ in range(300)]
    assert all(sample == sorted(sample, key=fields.index) for sample in samples)
    assert any(sample != sorted(sample, key=fields.index) for sample in bigger)
