"""SORT and SORT_RO compared byte for byte with a real Redis (sort.c).

Sets in a hash table list their members in an order of their own, so scripts sort them
(numerically or ALPHA), use integer sets (an intset is sorted), or compare sorted ("= ").
ALPHA sorting by BY values leaves equal values in no defined order: scripts avoid ties.
"""

from __future__ import annotations

import pytest

from tests.differential import compare, compare_keyspace_counters, compare_notifications

SCRIPTS = {
    "list_numeric": """
        RPUSH l 3 1 2 10 -5 1.5 0 -0 1e2 0x10 " 7"
        SORT l
        SORT l ASC
        SORT l DESC
        SORT l LIMIT 0 3
        SORT l LIMIT 2 3 DESC
        SORT l ALPHA
        SORT l ALPHA DESC
        SORT_RO l
        SORT_RO l DESC LIMIT 1 2
        SORT missing
        SORT missing DESC ALPHA LIMIT 0 5
        SORT_RO missing
    """,
    "ties_and_equal_scores": """
        RPUSH l 1.0 1 01 +1 1e0 2 b
        DEL l
        RPUSH l 1.0 1 01 +1 1e0 2 0001 "" "\\x00"
        SORT l
        SORT l DESC
        RPUSH ws a b c d e
        MSET w_a 1 w_b 1 w_c 2 w_d 1
        SORT ws BY w_*
        SORT ws BY w_* DESC
        SORT ws BY w_* LIMIT 1 2
        SORT ws BY w_* DESC LIMIT 0 2
    """,
    # Redis never clears errno before strtod: once a value out of range has failed, the
    # values read later on the connection fail too, until a system call sets errno again
    # (a new connection's accept does). So what must succeed runs first, on its own.
    "scores_in_range": """
        RPUSH l 0x1p-1074 0x1.8p-1070 2.2250738585072014e-308 -0x1p-1060 " +1e5" 1e308 1.5 -2.5e-3 "" inf -inf
        SORT l
        SORT l DESC
        SORT l LIMIT 1 3
    """,
    "score_errors": """
        RPUSH l 1 2 abc
        SORT l
        SORT l DESC LIMIT 0 1
        SORT l ALPHA
        SORT l BY nosort
        SORT l STORE dst
        EXISTS dst
        DEL l
        RPUSH l 1 nan
        SORT l
        DEL l
        RPUSH l 1 inf -inf infinity
        SORT l
        DEL l
        RPUSH l 1e400
        SORT l
        DEL l
        RPUSH l 1e-400
        SORT l
        DEL l
        RPUSH l 1e-310
        SORT l
        DEL l
        RPUSH l 0x1.1p-1074
        SORT l
        DEL l
        RPUSH l 4.9406564584124654e-324
        SORT l
        DEL l
        RPUSH l "1 " 2
        SORT l
        DEL l
        RPUSH l "1\\x00x" 2 "  "
        SORT l
        DEL l
        RPUSH l "1_0" 2
        SORT l
        DEL l
        RPUSH l a b
        SET w_a 1
        SET w_b x
        SORT l BY w_*
        SET w_b 2
        SORT l BY w_*
        SORT l BY w_* DESC
    """,
    "alpha": """
        RPUSH l b a C "" ab aa "\\xff" "\\x80" "a\\x00b" "a\\x00a" 10 9
        SORT l ALPHA
        SORT l ALPHA DESC
        SORT l ALPHA LIMIT 2 4
        SORT l ALPHA STORE dst
        LRANGE dst 0 -1
        SORT l ALPHA DESC STORE dst
        LRANGE dst 0 -1
    """,
    "limit_edges": """
        RPUSH l 5 4 3 2 1
        SORT l LIMIT 0 0
        SORT l LIMIT 0 -1
        SORT l LIMIT -3 2
        SORT l LIMIT -3 -2
        SORT l LIMIT 3 -1
        SORT l LIMIT 4 10
        SORT l LIMIT 5 1
        SORT l LIMIT 6 1
        SORT l LIMIT 100 -1
        SORT l LIMIT 1 1 LIMIT 2 2
        SORT l LIMIT a 1
        SORT l LIMIT 1 b
        SORT l LIMIT 1.5 1
        SORT l LIMIT 99999999999999999999 1
        SORT l LIMIT 1
        SORT l LIMIT
        SORT l LIMIT 9223372036854775807 1
        SORT l LIMIT 3 9223372036854775807
        SORT l BY nosort DESC LIMIT 3 9223372036854775807
        SORT l LIMIT 9223372036854775807 9223372036854775807
        SORT l LIMIT -9223372036854775808 -9223372036854775808
        SORT l BY nosort DESC LIMIT 1 -9223372036854775808
        SORT l BY nosort LIMIT 0 0
        SORT l BY nosort LIMIT 5 1
        SORT l BY nosort LIMIT 4 -5
        SORT l BY nosort LIMIT -1 2 DESC
        SORT l LIMIT 2 2 STORE dst
        LRANGE dst 0 -1
        SORT l LIMIT 9 2 STORE dst
        EXISTS dst
        SORT missing LIMIT 0 0
        SORT missing BY nosort LIMIT 1 1
    """,
    "nosort_list_and_zset": """
        RPUSH l 3 1 2 b a
        SORT l BY nosort
        SORT l BY nosort DESC
        SORT l BY nosort LIMIT 1 2
        SORT l BY nosort LIMIT 1 2 DESC
        SORT l BY nosort LIMIT 3 10 DESC
        SORT l BY nosort ALPHA
        SORT l BY # DESC
        SORT l BY nosort BY w_*
        SORT l BY w_* BY nosort DESC
        SORT l BY "no\\x00*sort"
        ZADD z 3 c 1 a 2 b 5 e 4 d
        SORT z BY nosort
        SORT z BY nosort DESC
        SORT z BY nosort LIMIT 1 2
        SORT z BY nosort LIMIT 1 2 DESC
        SORT z BY nosort LIMIT 0 1 DESC
        SORT z BY nosort LIMIT 4 5 DESC
        SORT z BY nosort LIMIT -5 -1 DESC
        SORT z BY nosort GET # GET w_*
        SORT z BY nosort DESC STORE dst
        LRANGE dst 0 -1
        SORT z ALPHA
        SORT z ALPHA DESC LIMIT 1 3
        SORT z
        OBJECT ENCODING z
        ZADD zn 1 10 2 9 3 100
        OBJECT ENCODING zn
        SORT_RO zn
        OBJECT ENCODING zn
        SORT zn DESC
        SORT zn BY nosort
    """,
    "sets": """
        SADD s 5 -1 3 10 7 2
        SORT s
        SORT s DESC
        SORT s LIMIT 1 3
        SORT s ALPHA
        SORT s BY nosort
        SORT s BY nosort DESC LIMIT 1 2
        SORT s BY nosort STORE dst
        LRANGE dst 0 -1
        SORT s BY nosort DESC STORE dst
        LRANGE dst 0 -1
        SORT s BY nosort LIMIT 1 2 STORE dst GET #
        LRANGE dst 0 -1
        SADD h banana apple cherry "" 12 date
        SORT h ALPHA
        SORT h ALPHA DESC
        SORT h ALPHA LIMIT 1 3
        = SORT h BY nosort
        SORT h
        SORT h BY nosort STORE dst
        LRANGE dst 0 -1
        SORT h BY nosort DESC LIMIT 0 2 STORE dst
        LRANGE dst 0 -1
        SORT_RO h ALPHA DESC
    """,
    "by_get_patterns": """
        RPUSH l 1 2 3 4
        MSET w_1 40 w_2 30 w_3 20 w_4 10 o_1 one o_2 two o_4 four
        HSET h_1 f 3 name n1
        HSET h_2 f 1 name n2
        HSET h_3 f 2
        HSET h_4 f 4 name n4
        SORT l BY w_*
        SORT l BY w_* DESC
        SORT l BY h_*->f
        SORT l BY h_*->f DESC GET h_*->name GET # GET o_*
        SORT l BY w_* GET o_*
        SORT l GET #
        SORT l GET # GET # GET nostar
        SORT l GET o_* GET h_*->name GET h_*->nofield GET h_*-> GET w_*->f GET h_*
        SORT l BY h_*->name ALPHA
        SORT l BY w_* LIMIT 1 2 GET o_*
        SORT l BY missing_* GET #
        SORT l BY missing_* DESC
        SORT l BY missing_* ALPHA GET # LIMIT 0 1
        SORT_RO l BY w_* GET o_* GET #
        SET *_1 a
        SORT l GET *_*
        SET pre1post x
        SET pre2post y
        SORT l GET pre*post
        HSET k1 "a->b" v1 b v2
        SET "k1->" plain
        SORT l GET k*->a->b GET k*->b GET k*->
        RPUSH al b a c
        MSET wa 2 wb 3 wc 1 "wa->x" 9
        SORT al BY w*
        SORT al BY w* ALPHA
        SORT al BY w* ALPHA DESC
        SORT al BY w*->x
        HSET hb x 5
        SORT al BY h*->x ALPHA
        SORT al BY h*->x
        LPUSH wl 1
        SORT al BY w* GET w*
        SORT al BY "h*->x\\x00y"
    """,
    "store": """
        RPUSH l 3 1 2
        SET dst old
        SORT l STORE dst
        TYPE dst
        LRANGE dst 0 -1
        SORT l DESC STORE dst
        LRANGE dst 0 -1
        SORT l STORE dst GET # GET missing_*
        LRANGE dst 0 -1
        SORT l STORE l
        LRANGE l 0 -1
        SORT missing STORE dst
        EXISTS dst
        SORT missing STORE dst
        SADD s 1
        SORT l STORE s LIMIT 0 1
        TYPE s
        OBJECT ENCODING s
        SORT l STORE a STORE b
        EXISTS a b
        SET dst x EX 100
        SORT l STORE dst
        TTL dst
        SORT_RO l STORE dst
        SORT_RO l store
        SORT l STORE
        ZADD z 1 x 2 y
        SORT z BY nosort STORE dz
        LRANGE dz 0 -1
    """,
    "errors": """
        SET str v
        HSET hash f v
        XADD stream 1-1 f v
        SORT str
        SORT hash
        SORT stream BY nosort
        SORT_RO str
        SORT str FOO
        SORT missing FOO
        SORT missing ASC DESC ALPHA BOGUS
        SORT missing BY
        SORT missing GET
        SORT str BY
        SORT str LIMIT x 1
        SORT
        SORT_RO
        sort missing asc limit 0 1 alpha by nosort get # store d
        SORT missing "asc\\x00junk"
        SORT str STORE dst
        EXISTS dst
        SORT l "STORE"
    """,
    "command_info": """
        COMMAND INFO sort sort_ro
        COMMAND INFO SORT
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


NOTIFICATIONS = """
    RPUSH l 3 1 2
    SORT l STORE dst
    SORT l STORE dst GET #
    SORT l LIMIT 0 0 STORE dst
    SORT l LIMIT 0 0 STORE dst
    SORT l BY nosort STORE l
    SORT l STORE dst GET missing_*
    SORT_RO l GET missing_*
    SORT missing
    SORT l BY w_*
    SORT l STORE dst BY w_* GET o_*
"""


@pytest.mark.parametrize("flags", ["KEA", "KEAm", "Kl", "Eg", "Em"])
def test_notifications_match_redis(server, reference, flags):
    compare_notifications(server.port, reference.port, NOTIFICATIONS, flags=flags)


@pytest.mark.parametrize("command", [
    "SORT l BY w_* GET o_* GET #",
    "SORT_RO l GET h_*->f GET #",
    "SORT l BY nosort GET o_*",
    "SORT l STORE dst BY w_*",
])
def test_keyspace_counters_match_redis(server, reference, command):
    compare_keyspace_counters(server.port, reference.port, f"""
        RPUSH l 1 2 3
        SET w_1 3
        SET o_2 x
        HSET h_3 f v
        {command}
    """)
