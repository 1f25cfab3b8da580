"""Set commands compared byte for byte with a real Redis, in RESP2 and RESP3.

Every command with its error paths, in the order Redis checks them; intset and
hashtable encodings at and past their thresholds (also after CONFIG SET, restored at
the end of the script: both servers are shared); keyspace notifications and the INFO
counters of keyspace hits and misses. An intset lists its members in numeric order, and
Redis builds SUNION's and SDIFF's results as a set first, so replies made of few
integers compare exactly; a hashtable's order is its own, so those lines compare sorted
(``=``), and random picks compare by type (``~``). SPOP's and SRANDMEMBER's randomness
is measured against our server alone, and SSCAN's promise on both.
"""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.store.set import MemberList
from tests.differential import compare, compare_keyspace_counters, compare_notifications
from tests.helpers import RawConnection
from tests.test_differential_hashes import _chi_square, chi_square_bound


def _numbers(start: int, stop: int) -> str:
    return " ".join(str(i) for i in range(start, stop))


SCRIPTS = {
    "add_remove_and_read": """
        SADD s 3 1 2 -5 10
        SADD s 1 3
        SADD s 7 7 7
        SMEMBERS s
        SCARD s
        SISMEMBER s 1
        SISMEMBER s 1.0
        SISMEMBER s 01
        SISMEMBER nokey 1
        SMISMEMBER s 1 x 3 1
        SMISMEMBER nokey 1 2
        SMEMBERS nokey
        SCARD nokey
        SREM s 1 1 2 99
        SREM s 99
        SREM nokey a
        SMEMBERS s
        SADD s 9223372036854775807 -9223372036854775808
        SMEMBERS s
        SADD t "" "\\x00\\xff" "a b"
        = SMEMBERS t
        SISMEMBER t ""
        SREM t "" "\\x00\\xff" "a b"
        EXISTS t
    """,
    "arity_errors": """
        SADD
        SADD s
        SREM s
        SMEMBERS
        SMEMBERS s x
        SISMEMBER s
        SISMEMBER s a b
        SMISMEMBER s
        SCARD
        SPOP
        SRANDMEMBER
        SMOVE a b
        SMOVE a b c d
        SINTER
        SINTERCARD
        SINTERCARD 1
        SINTERSTORE d
        SUNION
        SUNIONSTORE d
        SDIFF
        SDIFFSTORE d
        SSCAN s
    """,
    "intset_encoding": f"""
        SADD s 1 2 3
        OBJECT ENCODING s
        SADD s -9223372036854775808 9223372036854775807 0
        OBJECT ENCODING s
        SMEMBERS s
        SADD s 01
        OBJECT ENCODING s
        SADD a x 1
        OBJECT ENCODING a
        SADD b 1 x
        OBJECT ENCODING b
        SREM b x
        OBJECT ENCODING b
        SADD c 9223372036854775808
        OBJECT ENCODING c
        SADD d " 1"
        OBJECT ENCODING d
        SADD e -0
        OBJECT ENCODING e
        SADD f 1.0
        OBJECT ENCODING f
        SADD g +1
        OBJECT ENCODING g
        SADD h 0
        OBJECT ENCODING h
        SADD big {_numbers(0, 512)}
        OBJECT ENCODING big
        SADD big 511
        OBJECT ENCODING big
        SADD big 512
        OBJECT ENCODING big
        SREM big 512 511 510
        OBJECT ENCODING big
        SADD exact {_numbers(0, 513)}
        OBJECT ENCODING exact
    """,
    "encoding_config": f"""
        SADD two 1 2
        CONFIG SET set-max-intset-entries 1
        OBJECT ENCODING two
        SADD two 2
        OBJECT ENCODING two
        SADD two 3
        OBJECT ENCODING two
        SADD one 5
        OBJECT ENCODING one
        CONFIG SET set-max-intset-entries 0
        SADD zero 1
        OBJECT ENCODING zero
        CONFIG SET set-max-intset-entries 1000
        SADD k {_numbers(0, 1000)}
        OBJECT ENCODING k
        SADD k 1000
        OBJECT ENCODING k
        CONFIG GET set-max-intset-entries
        CONFIG SET set-max-intset-entries -1
        CONFIG SET set-max-intset-entries 1kb
        CONFIG SET set-max-intset-entries 1.5
        CONFIG SET set-max-intset-entries 9223372036854775807
        CONFIG SET set-max-intset-entries 512
        = CONFIG GET *intset*
    """,
    "spop": """
        SADD s 1 2 3 4 5
        SPOP s 0
        SPOP s -1
        SPOP s x
        SPOP s 1.5
        SPOP s 1 2
        SPOP nokey
        SPOP nokey 0
        SPOP nokey 3
        SPOP nokey -1
        SPOP nokey 1 2
        ~ SPOP s
        ~ SPOP s 1
        SCARD s
        ~ SPOP s 3
        EXISTS s
        SADD s 3 1 2
        SPOP s 100
        EXISTS s
        SADD one x
        SPOP one
        EXISTS one
        SADD t a b c
        = SPOP t 3
        SADD t a b c d e f g h i j
        ~ SPOP t 2
        SCARD t
        ~ SPOP t 7
        SCARD t
        ~ SPOP t 9223372036854775807
        EXISTS t
    """,
    "spop_rebuilds_the_set": f"""
        SADD s {_numbers(0, 600)}
        OBJECT ENCODING s
        ~ SPOP s 590
        SCARD s
        OBJECT ENCODING s
        SADD m {_numbers(0, 600)} x
        ~ SPOP m 300
        OBJECT ENCODING m
        SCARD m
        SADD i {_numbers(0, 100)}
        ~ SPOP i 90
        SCARD i
        OBJECT ENCODING i
        SADD w {_numbers(0, 3000)}
        ~ SPOP w 2400
        SCARD w
        OBJECT ENCODING w
        EXPIRE s 100
        ~ SPOP s 9
        TTL s
    """,
    "srandmember": """
        SADD s 5 1 3 2 4
        SRANDMEMBER s 5
        SRANDMEMBER s 10
        SRANDMEMBER s 9223372036854775807
        SRANDMEMBER s 0
        ~ SRANDMEMBER s
        ~ SRANDMEMBER s 2
        ~ SRANDMEMBER s -2
        ~ SRANDMEMBER s -20
        SRANDMEMBER s x
        SRANDMEMBER s 1.5
        SRANDMEMBER s 1 2
        SRANDMEMBER s -9223372036854775808
        SRANDMEMBER nokey
        SRANDMEMBER nokey 0
        SRANDMEMBER nokey 5
        SRANDMEMBER nokey -5
        SRANDMEMBER nokey x
        SRANDMEMBER nokey 1 2
        SADD one x
        SRANDMEMBER one
        SRANDMEMBER one -3
        SRANDMEMBER one 3
        SADD t a b c
        = SRANDMEMBER t 100
        SCARD s
    """,
    "smove": """
        SADD a 1 2 3
        SADD b 3 4
        SMOVE a b 1
        SMOVE a b 3
        SMEMBERS a
        SMEMBERS b
        SMOVE a a 2
        SMOVE a a 9
        SMOVE a b 9
        SMOVE nokey b 1
        SMOVE a c 2
        OBJECT ENCODING c
        SMEMBERS c
        EXISTS a
        SMOVE c nokey2 x
        SADD e x
        SMOVE e f x
        OBJECT ENCODING f
        SADD g 1
        SMOVE g f 1
        OBJECT ENCODING f
        = SMEMBERS f
    """,
    "algebra": """
        SADD a 5 1 3 10
        SADD b 3 10 7
        SADD c x y 3 10
        SINTER a b
        SINTER b a
        = SINTER c a
        SINTER a c
        SINTER a nokey
        SINTER nokey a
        SINTER a
        SINTER a a
        SUNION a b
        = SUNION a c
        SUNION nokey
        SUNION nokey a
        SUNION a a
        SDIFF a b
        SDIFF b a c
        SDIFF nokey a
        SDIFF a nokey
        = SDIFF c a
        SDIFF a a
        = SDIFF c nokey
        SADD x a b 1 2
        SADD y 1 2 3 4 5
        = SINTER x y
        = SINTER y x
        SINTERSTORE z x y
        OBJECT ENCODING z
        SMEMBERS z
    """,
    "store": f"""
        SADD a 5 1 3 10
        SADD b 3 10 7
        SADD c x y 3 10
        SINTERSTORE d a b
        OBJECT ENCODING d
        SMEMBERS d
        SINTERSTORE d a nokey
        EXISTS d
        SINTERSTORE d a c
        OBJECT ENCODING d
        SMEMBERS d
        SUNIONSTORE d a c
        OBJECT ENCODING d
        = SMEMBERS d
        SUNIONSTORE d a
        OBJECT ENCODING d
        SMEMBERS d
        SDIFFSTORE d a a
        EXISTS d
        SDIFFSTORE d a b
        SMEMBERS d
        SDIFFSTORE d c a
        OBJECT ENCODING d
        = SMEMBERS d
        SET str v
        SINTERSTORE str a b
        TYPE str
        SET str v
        SUNIONSTORE str nokey
        EXISTS str
        SET str v
        EXPIRE str 100
        SDIFFSTORE str a
        TTL str
        SADD d 1
        EXPIRE d 100
        SUNIONSTORE d d a
        TTL d
        = SMEMBERS d
        SINTERSTORE a a b
        SMEMBERS a
        SADD big {_numbers(0, 512)}
        SUNIONSTORE u big
        OBJECT ENCODING u
        SADD more 512
        SUNIONSTORE u big more
        OBJECT ENCODING u
        = SUNION big more
        SDIFF u more
        SINTERSTORE i big u
        OBJECT ENCODING i
    """,
    "sintercard": """
        SADD a 5 1 3 10
        SADD b 3 10 7
        SADD c x y 3 10
        SINTERCARD 1 a
        SINTERCARD 2 a b
        SINTERCARD 3 a b c
        SINTERCARD 2 a b LIMIT 1
        SINTERCARD 2 a b LIMIT 0
        SINTERCARD 2 a b LIMIT 5
        SINTERCARD 2 a b limit 1
        SINTERCARD 1 a LIMIT 1 LIMIT 3
        SINTERCARD 2 a nokey
        SINTERCARD 2 a b LIMIT -1
        SINTERCARD 2 a b LIMIT x
        SINTERCARD 2 a b LIMIT
        SINTERCARD 2 a b FOO 1
        SINTERCARD 1 a LIMIT 1 FOO
        SINTERCARD 0 a
        SINTERCARD -1 a
        SINTERCARD x a
        SINTERCARD 3 a b
        SINTERCARD 9223372036854775807 a
        SINTERCARD 9223372036854775808 a
        SINTERCARD 2147483648 a
    """,
    "sscan": f"""
        SADD s 5 1 3 10 -2
        SSCAN s 0
        SSCAN s 0 MATCH 1*
        SSCAN s 0 match -*
        SSCAN s 0 COUNT 1
        SSCAN s 0 COUNT 1 MATCH 1* COUNT 2
        SSCAN s 7
        SSCAN s -1
        SSCAN s 18446744073709551616
        SSCAN s 0 COUNT 0
        SSCAN s 0 COUNT x
        SSCAN s 0 TYPE set
        SSCAN s 0 MATCH
        SSCAN s x
        SSCAN nokey 0 FOO
        SSCAN nokey x
        SADD e "" a
        = SSCAN e 0 MATCH *
        = SSCAN e 0 MATCH **
        = SSCAN e 0
        SADD big {_numbers(0, 600)}
        = SSCAN big 0 COUNT 1000
        = SSCAN big 0 COUNT 1000 MATCH 59*
        SSCAN big 0 COUNT 1000 MATCH nothing
    """,
    "wrongtype": """
        SET str v
        SADD s 1
        SADD str a
        SREM str a
        SMEMBERS str
        SISMEMBER str a
        SMISMEMBER str a
        SCARD str
        SPOP str
        SPOP str 0
        SPOP str -1
        SPOP str 1 2
        SRANDMEMBER str
        SRANDMEMBER str 0
        SRANDMEMBER str x
        SRANDMEMBER str -9223372036854775808
        SMOVE str s a
        SMOVE s str 1
        SMOVE s str 9
        SMOVE nokey str 1
        SMEMBERS s
        SINTER s str
        SINTER nokey str
        SINTER s nokey str
        SINTERCARD 2 s str
        SINTERCARD 2 nokey str
        SINTERCARD 2 str s LIMIT x
        SINTERSTORE d s str
        SINTERSTORE d nokey str
        SUNION s str
        SUNIONSTORE d str
        SDIFF s str
        SDIFF nokey str
        SDIFFSTORE d s str
        EXISTS d
        SSCAN str 0
        SSCAN str 0 FOO
        SSCAN str x
        GET s
        HSET s a 1
        LPUSH s a
        INCR s
        GET str
    """,
    "generic_commands_on_sets": f"""
        SADD s 3 1 2
        TYPE s
        OBJECT ENCODING s
        COPY s c
        SADD c 0
        SMEMBERS s
        SMEMBERS c
        OBJECT ENCODING c
        SADD h a b
        COPY h hc
        OBJECT ENCODING hc
        SREM h a
        = SMEMBERS hc
        SADD big {_numbers(0, 513)}
        COPY big bc
        OBJECT ENCODING bc
        RENAME c r
        SMEMBERS r
        MOVE r 1
        SELECT 1
        SMEMBERS r
        OBJECT ENCODING r
        FLUSHDB
        SELECT 0
        EXPIRE s 100
        SADD s 9
        TTL s
        SREM s 9
        TTL s
        SREM s 1 2 3
        EXISTS s
        = SCAN 0 TYPE set COUNT 100
        = KEYS *
        DBSIZE
    """,
    "inside_multi": """
        SADD s 1 2 3
        MULTI
        SADD s 4
        SMEMBERS s
        SPOP s 10
        SRANDMEMBER s
        SUNIONSTORE d s
        EXEC
    """,
    "watch_sees_only_real_changes": """
        SADD s 1 2
        WATCH s
        SADD s 1
        SREM s 9
        SMOVE s s 1
        SPOP s 0
        SMOVE nokey s 1
        ~ SRANDMEMBER s -3
        MULTI
        PING
        EXEC
        WATCH s
        SADD s 3
        MULTI
        PING
        EXEC
        WATCH d
        SINTERSTORE d nokey s
        MULTI
        PING
        EXEC
        WATCH s
        SADD t 1
        SMOVE t s 1
        MULTI
        PING
        EXEC
        WATCH t2
        SADD t 1
        SMOVE t t2 1
        MULTI
        PING
        EXEC
        WATCH s
        SUNIONSTORE s s
        MULTI
        PING
        EXEC
    """,
    "command_info": """
        COMMAND INFO sadd srem smembers sismember smismember scard spop srandmember smove
        COMMAND INFO sinter sintercard sinterstore sunion sunionstore sdiff sdiffstore sscan
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


NOTIFICATION_SCRIPTS = {
    "add_remove_pop": """
        SADD s 1 2 3
        SADD s 1
        SREM s 9
        SREM s 1
        SREM nokey 1
        SPOP s
        SPOP s 0
        SPOP s 5
        SPOP nokey
        SADD s a b c d e f g h i j
        SPOP s 2
        SPOP s 7
        SPOP s 1
        SADD r a b c
        SREM r a b c
    """,
    "smove": """
        SADD t 1 2
        SMOVE t u 1
        SMOVE t u 2
        SADD t 1
        SMOVE t u 1
        SMOVE u u 1
        SMOVE u u 9
        SMOVE nokey u 1
        SADD v 1
        SMOVE v u 1
        SMOVE u w 9
    """,
    "store": """
        SADD a 1 2 3
        SADD b 3 4
        SINTERSTORE d a b
        SINTERSTORE d a b
        SUNIONSTORE d a b
        SDIFFSTORE d a b
        SDIFFSTORE d a a
        SDIFFSTORE d a a
        SINTERSTORE d a nokey
        SADD d 1
        SINTERSTORE d a nokey
        SADD d 1
        SUNIONSTORE d nokey
        SET s x
        SINTERSTORE d a s
        SUNIONSTORE s a
    """,
    "reads_announce_nothing": """
        SADD s 1 2
        SMEMBERS s
        SISMEMBER s 1
        SMISMEMBER s 1 3
        SCARD s
        SRANDMEMBER s
        ~ SRANDMEMBER s -3
        SINTER s nokey
        SINTERCARD 2 s nokey
        SUNION s nokey
        SDIFF nokey s
        SSCAN s 0
        SSCAN nokey 0
    """,
    "generic_commands_on_sets": """
        SADD s 1
        COPY s c
        RENAME c r
        MOVE r 1
        EXPIRE s 100
        DEL s
    """,
}


@pytest.mark.parametrize("flags", ["KEA", "KEAn", "Ks", "Eg", "Km"])
@pytest.mark.parametrize("name", sorted(NOTIFICATION_SCRIPTS))
def test_notifications_match_redis(server, reference, name, flags):
    compare_notifications(server.port, reference.port, NOTIFICATION_SCRIPTS[name], flags=flags)


# Reading commands count keyspace hits and misses, the STORE commands too for the sets
# they read; writing ones count nothing.
COUNTED = """
    SADD s 1 2
    SET str v
    SMEMBERS s
    SMEMBERS nokey
    SISMEMBER nokey 1
    SMISMEMBER s 1
    SCARD nokey
    SRANDMEMBER s
    SRANDMEMBER nokey 3
    SRANDMEMBER nokey x
    SINTER s nokey
    SINTER nokey str s
    SINTERCARD 2 s nokey
    SINTERSTORE d s nokey
    SUNION nokey s
    SUNIONSTORE d s nokey
    SDIFF s nokey
    SDIFFSTORE d s
    SSCAN nokey 0
    SSCAN s 0
    SADD nokey1 a
    SREM nokey2 a
    SPOP nokey3
    SPOP nokey4 2
    SMOVE nokey5 s 1
    SMOVE s nokey6 1
"""


def test_keyspace_hits_and_misses_match_redis(server, reference):
    compare_keyspace_counters(server.port, reference.port, COUNTED)


# --------------------------------------------------------------------------- SSCAN's promise


@pytest.mark.parametrize("which", ["ours", "redis"])
def test_sscan_returns_every_member_present_throughout(server, reference, which):
    """A full SSCAN of a hashtable set, with members removed and added between calls,
    returns every member that was there from start to end. Checked on both servers."""
    port = server.port if which == "ours" else reference.port
    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        connection.call("SADD", "s", *[f"m{i}" for i in range(1000)])
        assert connection.call("OBJECT", "ENCODING", "s") == b"$9\r\nhashtable\r\n"
        seen, removed = set(), set()
        cursor, calls = b"0", 0
        while True:
            connection.send_command("SSCAN", "s", cursor, "COUNT", "7")
            cursor, members = connection.read()
            seen.update(members)
            calls += 1
            victim = f"m{(calls * 37) % 1000}"
            connection.call("SREM", "s", victim)
            removed.add(victim.encode())
            connection.call("SADD", "s", f"new{calls}")
            if cursor == b"0":
                break
        assert {f"m{i}".encode() for i in range(1000)} - removed <= seen
        assert calls > 1000 // 7 // 2


# --------------------------------------------------------------------------- randomness


@pytest.mark.parametrize("members", [list(range(10)), [f"m{i}" for i in range(10)]])  # intset, hashtable
def test_srandmember_and_spop_picks_are_uniform(server, members):
    names = [str(member).encode() for member in members]
    bound = chi_square_bound(len(names) - 1)
    with RawConnection(server.port) as connection:
        connection.call("FLUSHALL")
        connection.call("SADD", "s", *names)
        connection.send_command("SRANDMEMBER", "s", -20000)
        assert _chi_square(Counter(connection.read()), names, 20000) < bound
        for _ in range(5000):
            connection.send_command("SRANDMEMBER", "s")  # pipelined: read at the end
        assert _chi_square(Counter(connection.read() for _ in range(5000)), names, 5000) < bound
        for _ in range(3000):
            connection.send_command("SRANDMEMBER", "s", 3)
        distinct = Counter()
        for _ in range(3000):
            picked = connection.read()
            assert len(set(picked)) == 3
            distinct.update(picked)
        assert _chi_square(distinct, names, 9000) < bound
        # SPOP: refill and pop, 5000 times; then pops of 3 (a random subset each time).
        for _ in range(5000):
            connection.send_command("SADD", "s", *names)
            connection.send_command("SPOP", "s")
        popped = Counter()
        for _ in range(5000):
            connection.read()  # SADD's count
            popped[connection.read()] += 1
        assert _chi_square(popped, names, 5000) < bound
        for _ in range(2000):
            connection.send_command("SADD", "s", *names)
            connection.send_command("SPOP", "s", 3)
        many = Counter()
        for _ in range(2000):
            connection.read()
            picked = connection.read()
            assert len(set(picked)) == 3
            many.update(picked)
        assert _chi_square(many, names, 6000) < bound
        connection.call("DEL", "s")
        # SPOP with a count that leaves few members rebuilds the set: still uniform.
        for _ in range(2000):
            connection.send_command("SADD", "s", *names)
            connection.send_command("SPOP", "s", 9)
            connection.send_command("SPOP", "s")
        last = Counter()
        for _ in range(2000):
            connection.read()
            connection.read()
            last[connection.read()] += 1
        assert _chi_square(last, names, 2000) < bound


# --------------------------------------------------------------------------- the member list alone

_STEPS = st.lists(st.tuples(st.sampled_from(["add", "remove", "scan"]), st.integers(0, 40), st.integers(1, 8)),
                  max_size=120)


@settings(max_examples=200, deadline=None)
@given(initial=st.sets(st.integers(0, 40)), steps=_STEPS)
def test_member_list_matches_a_set_and_scans_keep_their_promise(initial, steps):
    """Random adds, removes and scan steps on a `MemberList`, against a Python set: the
    same members, positions that point at them, and a scan that, once it ends, has
    returned every member present from its start to its end."""
    members = MemberList(str(i).encode() for i in initial)
    model = {str(i).encode() for i in initial}
    cursor, seen, present_throughout, state = 0, set(), set(), "before"
    for action, number, count in steps:
        name = str(number).encode()
        if action == "add":
            assert members.add(name) == (name not in model)
            model.add(name)
        elif action == "remove":
            assert members.remove(name) == (name in model)
            model.discard(name)
            present_throughout.discard(name)
        elif state != "done":
            if state == "before":
                present_throughout, state = set(model), "scanning"
            cursor, batch = members.scan(cursor, count)
            seen.update(batch)
            if cursor == 0:
                assert present_throughout <= seen
                state = "done"
        assert set(members.members) == model and len(members) == len(model)
        assert all(members.members[index] == member for member, index in members.positions.items())


@pytest.mark.parametrize("which", ["ours", "redis"])
def test_spop_that_leaves_few_members_answers_in_the_set_order(server, reference, which):
    """When few members remain, SPOP with a count answers with what it took in the
    set's own order (numeric for an intset); otherwise in the order it picked them."""
    port = server.port if which == "ours" else reference.port
    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        rebuilt, picked = [], []
        for _ in range(100):
            connection.send_command("SADD", "s", *range(100))
            connection.send_command("SPOP", "s", 90)  # 10 remain: 5 * 10 <= 90
            connection.send_command("DEL", "s")
            connection.send_command("SADD", "s", *range(100))
            connection.send_command("SPOP", "s", 20)  # 80 remain
            connection.send_command("DEL", "s")
        for _ in range(100):
            connection.read()
            rebuilt.append([int(member) for member in connection.read()])
            connection.read()
            connection.read()
            picked.append([int(member) for member in connection.read()])
            connection.read()
    assert all(len(members) == 90 and members == sorted(members) for members in rebuilt)
    assert any(members != sorted(members) for members in picked)
