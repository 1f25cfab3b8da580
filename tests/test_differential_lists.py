"""List commands compared byte for byte with a real Redis, in RESP2 and RESP3.

Every command with its error paths, in the order Redis checks them (an argument error
before WRONGTYPE, or after it). The blocking commands run here only where they do not
wait, or with timeouts of 10 ms, whose nil replies compare exactly; tests/test_lists_blocking.py
has clients that really wait. Redis ends a wait in its periodic cycle, ten times a second
by default, so the script with many timeouts raises hz while it runs (and restores it:
both servers are shared). Keyspace notifications and the INFO counters of keyspace hits
and misses are compared too.
"""

from __future__ import annotations


import pytest

from app.protocol import split_inline
from tests.differential import compare, compare_keyspace_counters, compare_notifications
from tests.helpers import RawConnection

WRONGTYPE_SETUP = "SET s string"

SCRIPTS = {
    "push_and_range": """
        RPUSH l a
        RPUSH l b c
        LPUSH l z y
        LRANGE l 0 -1
        LLEN l
        RPUSH l ""
        RPUSH l "\\x00\\xff" "a b"
        LRANGE l 0 -1
        LPUSH
        LPUSH l
        RPUSH l
        LPUSH "" v
        LRANGE "" 0 -1
        RPUSH n 1 2 3 10 -5 9223372036854775807 01
        LRANGE n 0 -1
    """,
    "pushx": """
        LPUSHX nokey a
        RPUSHX nokey a b
        EXISTS nokey
        RPUSH l m
        LPUSHX l x y z
        RPUSHX l x y z
        LRANGE l 0 -1
        LPUSHX l
        RPUSHX
    """,
    "lrange_indexes": """
        RPUSH l 1 2 3 4 5 6
        LRANGE l 0 0
        LRANGE l 0 2
        LRANGE l 2 1
        LRANGE l -2 -1
        LRANGE l -1 -2
        LRANGE l -100 100
        LRANGE l 5 10
        LRANGE l 6 10
        LRANGE l -6 -6
        LRANGE l -7 0
        LRANGE l 3 -3
        LRANGE l 9223372036854775807 -9223372036854775808
        LRANGE l -9223372036854775808 9223372036854775807
        LRANGE l x 1
        LRANGE l 1 x
        LRANGE l 1.5 2
        LRANGE nokey x 1
        LRANGE nokey 0 -1
        LRANGE l 0
        LRANGE l 0 1 2
    """,
    "lrange_far_from_the_head": """
        RPUSH l 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29
        LRANGE l 25 28
        LRANGE l -3 -1
        LRANGE l 14 15
        LRANGE l 15 100
        LRANGE l 1 1
        LRANGE l 28 -1
    """,
    "llen_lindex": """
        LLEN nokey
        RPUSH l a b c
        LLEN l
        LINDEX l 0
        LINDEX l 2
        LINDEX l 3
        LINDEX l -1
        LINDEX l -3
        LINDEX l -4
        LINDEX l 9223372036854775807
        LINDEX l -9223372036854775808
        LINDEX l x
        LINDEX l 1.0
        LINDEX nokey x
        LINDEX nokey 0
        LLEN
        LLEN l l
        LINDEX l
    """,
    "lpop_rpop": """
        RPUSH l a b c d e
        LPOP l
        RPOP l
        LRANGE l 0 -1
        LPOP l 0
        RPOP l 0
        LPOP l 2
        RPUSH l x y z
        RPOP l 2
        RPOP l 1
        LPOP l 5
        EXISTS l
        LPOP l
        RPOP l
        LPOP l 0
        LPOP l 1
        RPOP nokey 3
        RPUSH l 1 2 3
        RPOP l 9223372036854775807
        RPUSH l 1 2 3
        LPOP l 100
        EXISTS l
    """,
    "lpop_rpop_errors": """
        RPUSH l a b c
        LPOP l -1
        LPOP l x
        RPOP l 1.5
        LPOP l 9223372036854775808
        LPOP nokey x
        LPOP nokey -1
        LPOP l 1 2
        RPOP l 1 2
        LPOP
        RPOP
        LRANGE l 0 -1
    """,
    "lset": """
        RPUSH l a b c
        LSET l 0 A
        LSET l -1 C
        LSET l 1 ""
        LRANGE l 0 -1
        LSET l 3 x
        LSET l -4 x
        LSET l x x
        LSET nokey 0 x
        LSET nokey x x
        LSET l 0
        LRANGE l 0 -1
    """,
    "linsert": """
        RPUSH l a b c a
        LINSERT l BEFORE a X
        LINSERT l AFTER a Y
        LINSERT l after c Z
        LINSERT l before c W
        LRANGE l 0 -1
        LINSERT l BEFORE nope X
        LINSERT l MIDDLE a X
        LINSERT nokey BEFORE a X
        LINSERT nokey MIDDLE a X
        LINSERT l "after\\x00junk" a Q
        LINSERT l BEFORE ""
        LRANGE l 0 -1
    """,
    "lrem": """
        RPUSH l a b a c a b a
        LREM l 1 a
        LRANGE l 0 -1
        LREM l -2 a
        LRANGE l 0 -1
        LREM l 0 b
        LRANGE l 0 -1
        LREM l 0 nope
        LREM l 5 c
        LREM l -9223372036854775808 a
        EXISTS l
        LREM nokey 1 a
        LREM l x a
        LREM nokey x a
        RPUSH m x x x x
        LREM m 2 x
        LREM m -9223372036854775808 x
        EXISTS m
        LREM m 1
    """,
    "ltrim": """
        RPUSH l 1 2 3 4 5 6
        LTRIM l 1 -2
        LRANGE l 0 -1
        LTRIM l 0 100
        LRANGE l 0 -1
        LTRIM l -2 -1
        LRANGE l 0 -1
        LTRIM l 1 0
        EXISTS l
        RPUSH l 1 2 3
        LTRIM l 5 10
        EXISTS l
        RPUSH l 1 2 3
        LTRIM l -100 -3
        LRANGE l 0 -1
        LTRIM nokey 0 1
        LTRIM l x 1
        LTRIM l 0 x
        LTRIM nokey x 1
        LTRIM l 0
    """,
    "lpos": """
        RPUSH l a b c a b c a
        LPOS l a
        LPOS l b
        LPOS l z
        LPOS l a RANK 2
        LPOS l a RANK 3
        LPOS l a RANK 4
        LPOS l a RANK -1
        LPOS l a RANK -3
        LPOS l a COUNT 0
        LPOS l a COUNT 2
        LPOS l a COUNT 2 RANK -1
        LPOS l a RANK -2 COUNT 0
        LPOS l a RANK 2 COUNT 5
        LPOS l a RANK 3 COUNT 1
        LPOS l c RANK -2 COUNT 1
        LPOS l a MAXLEN 1
        LPOS l b MAXLEN 1
        LPOS l b MAXLEN 1 COUNT 0
        LPOS l a MAXLEN 4 COUNT 0
        LPOS l a RANK -1 MAXLEN 2 COUNT 0
        LPOS l a RANK 1 COUNT 1 MAXLEN 0 RANK 2
        LPOS l z COUNT 1
        LPOS l a rank 2 count 1 maxlen 7
        LPOS l a RANK 9223372036854775807
        LPOS l a RANK -9223372036854775807
        LPOS l a RANK -9223372036854775807 COUNT 1
        LPOS l a RANK -9223372036854775808
        LPOS l a RANK -9223372036854775808 COUNT 1
        LPOS l a RANK -9223372036854775808 COUNT 0
        LPOS l a RANK -9223372036854775808 COUNT 2 MAXLEN 4
        LPOS nokey a
        LPOS nokey a COUNT 1
        LPOS nokey a RANK 2
    """,
    "lpos_errors": """
        RPUSH l a b a
        LPOS l a RANK 0
        LPOS nokey a RANK 0
        LPOS l a RANK x
        LPOS l a RANK 9223372036854775808
        LPOS l a COUNT -1
        LPOS l a COUNT x
        LPOS l a MAXLEN -1
        LPOS l a MAXLEN x
        LPOS l a FOO
        LPOS l a FOO 1
        LPOS l a RANK
        LPOS l a COUNT 1 RANK
        LPOS l a RANK 0 COUNT -1
        LPOS l a COUNT -1 RANK 0
        LPOS l
    """,
    "lmove_rpoplpush": """
        RPUSH src a b c d
        LMOVE src dst LEFT RIGHT
        LMOVE src dst left right
        LMOVE src dst RIGHT LEFT
        LRANGE src 0 -1
        LRANGE dst 0 -1
        LMOVE src src LEFT RIGHT
        LRANGE src 0 -1
        RPOPLPUSH dst src
        RPOPLPUSH dst dst
        LRANGE dst 0 -1
        LRANGE src 0 -1
        RPUSH one x
        LMOVE one one LEFT LEFT
        RPOPLPUSH one one
        LRANGE one 0 -1
        RPOPLPUSH one two
        EXISTS one
        LRANGE two 0 -1
        LMOVE nokey dst LEFT LEFT
        RPOPLPUSH nokey dst
        LMOVE src dst UP LEFT
        LMOVE src dst LEFT UP
        LMOVE nokey dst UP LEFT
        LMOVE src dst "left\\x00x" RIGHT
        LMOVE src dst LEFT
        RPOPLPUSH src
    """,
    "lmpop": """
        RPUSH a 1 2 3
        RPUSH b x y z
        LMPOP 1 a LEFT
        LMPOP 2 nokey a RIGHT
        LMPOP 2 nokey b RIGHT COUNT 2
        LMPOP 2 nokey b left count 10
        EXISTS b
        LMPOP 3 nokey b a LEFT COUNT 9223372036854775807
        LMPOP 2 a b LEFT
        LMPOP 2 a left left
        LMPOP 1 "" LEFT
    """,
    "lmpop_errors": """
        RPUSH a 1
        LMPOP 0 a LEFT
        LMPOP -1 a LEFT
        LMPOP x a LEFT
        LMPOP 9223372036854775808 a LEFT
        LMPOP 9223372036854775807 a LEFT
        LMPOP 2 a LEFT
        LMPOP 3 a b c
        LMPOP 1 a MIDDLE
        LMPOP 1 a LEFT COUNT
        LMPOP 1 a LEFT COUNT 0
        LMPOP 1 a LEFT COUNT -1
        LMPOP 1 a LEFT COUNT x
        LMPOP 1 a LEFT COUNT 9223372036854775808
        LMPOP 1 a LEFT COUNT 1 COUNT 1
        LMPOP 1 a LEFT FOO
        LMPOP 0 a MIDDLE COUNT 0
        LMPOP 1 a MIDDLE COUNT 0
        LMPOP 1 a
        LMPOP 1
        LRANGE a 0 -1
    """,
    "wrongtype": f"""
        {WRONGTYPE_SETUP}
        LPUSH s a
        RPUSH s a
        LPUSHX s a
        RPUSHX s a
        LPOP s
        RPOP s
        LPOP s 0
        LPOP s x
        LLEN s
        LRANGE s 0 -1
        LRANGE s x 1
        LINDEX s 0
        LINDEX s x
        LSET s 0 v
        LSET s x v
        LINSERT s BEFORE a b
        LINSERT s MIDDLE a b
        LREM s 0 a
        LREM s x a
        LTRIM s 0 1
        LTRIM s x 1
        LPOS s a
        LPOS s a RANK 0
        LPOS s a COUNT 1
        RPUSH l a
        LMOVE s l LEFT LEFT
        LMOVE l s LEFT LEFT
        LMOVE nokey s LEFT LEFT
        LMOVE s l UP LEFT
        RPOPLPUSH s l
        RPOPLPUSH l s
        LRANGE l 0 -1
        LMPOP 1 s LEFT
        LMPOP 2 nokey s LEFT
        LMPOP 2 l s LEFT
        LMPOP 1 s LEFT COUNT 0
        GET s
    """,
    "type_encoding_and_generic_commands": """
        RPUSH l a b c
        TYPE l
        OBJECT ENCODING l
        RPUSH big 0123456789012345678901234567890123456789012345678901234567890123456789
        OBJECT ENCODING big
        GET l
        STRLEN l
        APPEND l x
        INCR l
        SET l v
        TYPE l
        RPUSH l a b c
        COPY l c
        LPUSH c z
        LRANGE l 0 -1
        LRANGE c 0 -1
        COPY l c
        COPY l c REPLACE
        LRANGE c 0 -1
        COPY l other DB 1
        SELECT 1
        LRANGE other 0 -1
        TYPE other
        SELECT 0
        RENAME l r
        LRANGE r 0 -1
        EXISTS l
        RENAMENX r c
        MOVE r 1
        SELECT 1
        LRANGE r 0 -1
        OBJECT ENCODING r
        FLUSHDB
        SELECT 0
        EXPIRE c 100
        TTL c
        LPUSH c new
        TTL c
        LPOP c 10
        TTL c
        DEL c
        = KEYS *
        = SCAN 0 TYPE list COUNT 100
        = SCAN 0 TYPE LIST COUNT 100
        DBSIZE
    """,
    "blocking_with_data": """
        RPUSH a 1 2 3
        RPUSH b x
        BLPOP a 0
        BRPOP a 0
        BLPOP nokey b a 0
        EXISTS b
        BRPOP nokey a 1.5
        EXISTS a
        RPUSH a 1 2 3
        BLMOVE a d LEFT RIGHT 0
        BRPOPLPUSH a d 0
        LRANGE d 0 -1
        BLMPOP 0 2 nokey d RIGHT
        BLMPOP 0 2 nokey d LEFT COUNT 5
        EXISTS d
        RPUSH a 1 2
        BLPOP a a 0
        BLMOVE a a LEFT RIGHT 0
        LRANGE a 0 -1
    """,
    "blocking_timeouts": """
        CONFIG SET hz 500
        BLPOP k 0.01
        BRPOP k other 0.01
        BLMOVE k d LEFT LEFT 0.01
        BRPOPLPUSH k d 0.01
        BLMPOP 0.01 1 k LEFT
        BLMPOP 0.01 2 k other RIGHT COUNT 2
        BLPOP k 0.0001
        BLPOP k 1e-10
        BLPOP k 0.0005
        EXISTS k d
        CONFIG SET hz 10
    """,
    "blocking_argument_errors": """
        BLPOP k -1
        BLPOP k -0.0011
        BLPOP k abc
        BLPOP k ""
        BLPOP k " 1"
        BLPOP k nan
        BLPOP k inf
        BLPOP k -inf
        BLPOP k 1e30
        BLPOP k 1e400
        BLPOP k 1e5000
        BLPOP k 9.3e15
        BLPOP k 9223372036854775.808
        BRPOP k -1
        BLPOP k
        BLMOVE a b LEFT FOO 0.01
        BLMOVE a b FOO LEFT x
        BLMOVE a b LEFT LEFT x
        BLMOVE a b LEFT LEFT -1
        BRPOPLPUSH a b x
        BRPOPLPUSH a b
        BLMPOP x 1 a LEFT
        BLMPOP 0.01 0 a LEFT
        BLMPOP 0.01 -1 a LEFT
        BLMPOP 0.01 x a LEFT
        BLMPOP 0.01 2 a LEFT
        BLMPOP 0.01 1 a MIDDLE
        BLMPOP 0.01 1 a LEFT COUNT 0
        BLMPOP 0.01 1 a LEFT COUNT -1
        BLMPOP 0.01 1 a LEFT COUNT x
        BLMPOP 0.01 1 a LEFT COUNT 1 COUNT 2
        BLMPOP 0.01 1 a LEFT FOO
        BLMPOP x 1 a LEFT COUNT 0
        BLMPOP -1 1 a LEFT
        BLMPOP 0.01 1 a
    """,
    "blocking_wrongtype": f"""
        {WRONGTYPE_SETUP}
        BLPOP s 0.01
        BRPOP s 0.01
        BLPOP nokey s 0.01
        BLPOP s nokey abc
        RPUSH l a
        BLPOP l s 0.01
        BLPOP s l 0.01
        BLMOVE s d LEFT LEFT 0.01
        BLMOVE nokey s LEFT LEFT 0.01
        RPUSH l a
        BLMOVE l s LEFT LEFT 0.01
        BRPOPLPUSH l s 0.01
        BRPOPLPUSH s l 0.01
        BRPOPLPUSH s l x
        LRANGE l 0 -1
        BLMPOP 0.01 1 s LEFT
        BLMPOP x 1 s LEFT
        BLMPOP 0.01 2 l s LEFT
    """,
    "blocking_inside_multi": """
        MULTI
        BLPOP k 0
        BRPOP k 0
        BLMOVE k d LEFT LEFT 0
        BRPOPLPUSH k d 0
        BLMPOP 0 1 k LEFT
        BLMPOP 0 1 k LEFT COUNT 3
        EXEC
        RPUSH k a b c d
        MULTI
        BLPOP k 0
        BLMOVE k d LEFT RIGHT 0
        BRPOPLPUSH k d 0
        BLMPOP 0 1 k RIGHT COUNT 5
        BLPOP k 0
        BRPOPLPUSH k d 0
        EXEC
        LRANGE d 0 -1
        MULTI
        RPUSH k x
        BLPOP k 0
        BLPOP k 0
        EXEC
    """,
    "command_info": """
        COMMAND INFO lpush rpush lpushx rpushx lpop rpop lrange llen lindex lset linsert lrem ltrim lpos
        COMMAND INFO lmove rpoplpush lmpop blpop brpop blmove brpoplpush blmpop
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


NOTIFICATION_SCRIPTS = {
    "pushes_and_pops": """
        RPUSH l a b
        LPUSH l z
        LPUSHX l y
        RPUSHX l c
        LPUSHX nokey q
        LPOP l
        RPOP l 2
        LPOP l 0
        LPOP l 5
        LPOP l
        RPUSH m 1
        RPOP m
        LPOP nokey 3
    """,
    "edits": """
        RPUSH l a b c a
        LINSERT l BEFORE a z
        LINSERT l BEFORE nope z
        LSET l 0 y
        LSET l 100 y
        LREM l 0 nope
        LREM l 1 a
        LTRIM l 0 -1
        LTRIM l 1 1
        LTRIM l 5 1
        RPUSH k 1 1
        LREM k 0 1
    """,
    "moves": """
        RPUSH src a b
        LMOVE src dst LEFT RIGHT
        LMOVE src dst RIGHT LEFT
        RPUSH one x
        LMOVE one one LEFT LEFT
        RPOPLPUSH one one
        RPOPLPUSH one other
        RPOPLPUSH nokey other
        SET s v
        LMOVE other s LEFT LEFT
    """,
    "mpop_and_blocking_with_data": """
        RPUSH m a b c
        LMPOP 1 m LEFT COUNT 2
        LMPOP 1 m RIGHT COUNT 5
        RPUSH m a
        BLPOP m 0
        RPUSH m a b
        BRPOP m 0
        BLMPOP 0 1 m RIGHT COUNT 1
        RPUSH m a b
        BLMOVE m n LEFT LEFT 0
        BRPOPLPUSH n n 0
        BLPOP nokey 0.01
    """,
    "generic_commands_on_lists": """
        RPUSH l a
        COPY l c
        RENAME c r
        MOVE r 1
        EXPIRE l 100
        DEL l
    """,
}


@pytest.mark.parametrize("flags", ["KEA", "KEAn", "Kl", "Eg"])
@pytest.mark.parametrize("name", sorted(NOTIFICATION_SCRIPTS))
def test_notifications_match_redis(server, reference, name, flags):
    compare_notifications(server.port, reference.port, NOTIFICATION_SCRIPTS[name], flags=flags)


# Reading commands count keyspace hits and misses (and announce misses); writing ones,
# the blocking pops included, count nothing, as Redis' lookupKeyWrite.
COUNTED = """
    RPUSH l a b c
    SET s v
    LLEN l
    LLEN nokey
    LRANGE l 0 -1
    LRANGE nokey 0 -1
    LRANGE nokey x 1
    LINDEX l 0
    LINDEX nokey 0
    LINDEX nokey x
    LPOS l a
    LPOS nokey a
    LPOS nokey a RANK 0
    LPOS s a
    LPUSH nokey1 a
    LPUSHX nokey2 a
    LPOP nokey3
    LSET nokey4 0 a
    LINSERT nokey5 BEFORE a b
    LREM nokey6 0 a
    LTRIM nokey7 0 1
    LMOVE nokey8 d LEFT LEFT
    LMPOP 2 nokey9 l LEFT
    BLPOP nokey10 l 0.01
    BLMOVE nokey11 d LEFT LEFT 0.01
    BLMPOP 0.01 1 nokey12 LEFT
"""


def test_keyspace_hits_and_misses_match_redis(server, reference):
    compare_keyspace_counters(server.port, reference.port, COUNTED)


CHANGE_COUNTS = """
    RPUSH k a b c d e f
    LPOP k 2
    RPOP k
    LREM k 0 c
    RPUSH k x x x y
    LREM k 0 x
    LTRIM k 1 1
    RPUSH k p q r s
    LTRIM k 1 2
    LTRIM k 0 -1
    LSET k 0 z
    LINSERT k BEFORE z w
    LMOVE k k2 LEFT RIGHT
    LPOP k 5
    LMPOP 1 k2 LEFT COUNT 5
    RPUSH n 1
    BLPOP n 0
    LPUSH m 1 2 3
    LTRIM m 5 6
"""


def _changes_per_command(port: int) -> list[int]:
    """How much each command adds to INFO's rdb_changes_since_last_save."""

    def changes(connection) -> int:
        info = connection.call("INFO", "persistence").decode()
        return int(info.split("rdb_changes_since_last_save:")[1].split("\r\n")[0])

    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        counts = []
        for line in CHANGE_COUNTS.strip().splitlines():
            before = changes(connection)
            connection.call(*split_inline(line.strip().encode()))
            counts.append(changes(connection) - before)
        return counts


def test_each_command_counts_as_many_changes_as_in_redis(server, reference):
    """Save points count changes: a push of n elements is n, a pop of n is n, LMOVE one."""
    assert _changes_per_command(server.port) == _changes_per_command(reference.port)
