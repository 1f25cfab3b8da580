"""Sorted set commands compared byte for byte with a real Redis, in RESP2 and RESP3.

Every command with its error paths, in the order Redis checks them; scores printed as
Redis 7.0 prints doubles (``%.17g``, "inf", "-0"); the listpack/skiplist encodings at
their thresholds, with the -0 that only a skip list keeps; keyspace notifications and
the INFO counters of keyspace hits and misses. Random members and ZSCAN of a large set
compare what does not depend on chance: lengths, membership, sorted contents. Blocking
pops wait for real in tests/test_sorted_sets_blocking.py; here they pop at once or time
out after 10 ms, with hz raised so that Redis notices the timeout promptly.
"""

from __future__ import annotations

import random

import pytest

from tests.differential import compare, compare_keyspace_counters, compare_notifications

WRONGTYPE_SETUP = "SET s string"

SCRIPTS = {
    "zadd_basics": """
        ZADD z 1 a
        ZADD z 2 b 3 c 1 a
        ZADD z 10 a
        ZRANGE z 0 -1 WITHSCORES
        ZADD z 1 a 1 a 2 a
        ZSCORE z a
        ZADD "" 1 ""
        ZRANGE "" 0 -1 WITHSCORES
        ZADD z 1
        ZADD z 1 a 2
        ZADD z
        ZADD z x a
        ZADD z 1 a x b
        ZSCORE z b
        ZADD z nan a
        ZADD z 1e400 a
        ZADD z -1e400 a
        ZADD z 1e-400 a
        ZADD z " 1" a
        ZADD z "1 " a
        ZADD z "" a
        ZADD z 0x10 hex
        ZADD z 0x a
        ZADD z 1_0 a
        ZADD z +5 plus
        ZADD z .5 dot
        ZADD z 5. dot2
        ZADD z 1e3 exp
        ZADD z Infinity big -INF small
        ZADD z "1\\x002" a
        ZRANGE z 0 -1 WITHSCORES
        TYPE z
    """,
    "zadd_options": """
        ZADD z 1 a 2 b
        ZADD z NX 5 a 3 c
        ZADD z XX 5 a 4 d
        ZRANGE z 0 -1 WITHSCORES
        ZADD z CH 5 a 6 b 7 e
        ZADD z CH 5 a
        ZADD z GT 1 a 10 b
        ZADD z LT 1 a 10 b
        ZADD z GT CH 100 a 1 b 2 f
        ZADD z LT CH XX 0 a 0 nope
        ZRANGE z 0 -1 WITHSCORES
        ZADD z nx xx 1 a
        ZADD z NX GT 1 a
        ZADD z NX LT 1 a
        ZADD z GT LT 1 a
        ZADD z INCR 1 a 1 b
        ZADD z INCR 5 a
        ZADD z INCR -inf a
        ZADD z INCR +inf a
        ZADD z INCR NX 1 a
        ZADD z INCR XX 1 nope
        ZADD z INCR GT 0 b
        ZADD z INCR LT 1 b
        ZADD z INCR LT -1 b
        ZADD z incr 2 newmember
        ZADD z "nx\\x00junk" 9 a
        ZADD z CH CH NX 9 brand
        ZADD nokey XX 1 a
        ZADD nokey XX INCR 1 a
        EXISTS nokey
        ZADD z INCR
        ZADD z NX
        ZADD z CH 1 a 2
        ZRANGE z 0 -1 WITHSCORES
    """,
    "zincrby": """
        ZINCRBY z 1 a
        ZINCRBY z 2.5 a
        ZINCRBY z -0.1 a
        ZINCRBY z inf a
        ZINCRBY z -inf a
        ZSCORE z a
        ZINCRBY z inf b
        ZINCRBY z 1 b
        ZINCRBY z x a
        ZINCRBY z nan a
        ZINCRBY z NX a
        ZINCRBY z incr a
        ZINCRBY z 1e308 c
        ZINCRBY z 1e308 c
        ZINCRBY z 0.1 d
        ZINCRBY z 0.2 d
        ZRANGE z 0 -1 WITHSCORES
        ZINCRBY z 1
        ZINCRBY z 1 a b
    """,
    "score_formatting": """
        ZADD z 1.1 a 0.1 b 1e17 c 1e-5 d 123456789.123 e 2.5e-310 f 1.7976931348623157e308 g -0.0001 h
        ZADD z 3 i 100 j -5 k 1e15 l 1e16 m 0.30000000000000004 n 1e21 o 1e22 p
        ZRANGE z 0 -1 WITHSCORES
        ZSCORE z a
        ZSCORE z c
        ZMSCORE z a b c nope
        ZINCRBY z 0.2 b
        ZADD z -0 zero
        ZSCORE z zero
        ZADD big -0 0123456789012345678901234567890123456789012345678901234567890123456789
        ZSCORE big 0123456789012345678901234567890123456789012345678901234567890123456789
        ZADD big -0 small
        ZSCORE big small
        ZINCRBY big -0 other
        ZADD big INCR -0 another
        ZINCRBY z -0 fresh
        ZSCORE z fresh
        ZADD z INCR -0 fresh2
        ZSCORE z fresh2
        ZPOPMIN big 5
        ZUNION 1 z WEIGHTS -1 WITHSCORES
    """,
    "zrem_zcard_zscore": """
        ZADD z 1 a 2 b 3 c
        ZREM z a nope
        ZREM z nope
        ZCARD z
        ZREM z b c a
        EXISTS z
        ZCARD z
        ZREM nokey a
        ZSCORE nokey a
        ZSCORE z a
        ZMSCORE nokey a b
        ZCARD nokey
        ZADD z 1 a
        ZREM z a a a
        ZREM z
        ZCARD
        ZCARD z z
        ZSCORE z
        ZMSCORE z
    """,
    "zrank": """
        ZADD z 1 a 1 b 2 c 0 d 5 "" 1 aa
        ZRANK z a
        ZRANK z aa
        ZRANK z b
        ZRANK z d
        ZRANK z ""
        ZRANK z nope
        ZREVRANK z a
        ZREVRANK z ""
        ZREVRANK z nope
        ZRANK nokey a
        ZREVRANK nokey a
        ZRANK z
        ZRANK z a b
    """,
    "zrange_by_rank": """
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZRANGE z 0 -1
        ZRANGE z 0 0
        ZRANGE z 1 3 WITHSCORES
        ZRANGE z -2 -1
        ZRANGE z -100 100
        ZRANGE z 3 1
        ZRANGE z 5 10
        ZRANGE z -1 -5
        ZRANGE z 0 -1 REV
        ZRANGE z 0 1 REV WITHSCORES
        ZRANGE z 0 -1 withscores rev
        ZREVRANGE z 0 -1
        ZREVRANGE z 1 2 WITHSCORES
        ZREVRANGE z -2 -1
        ZRANGE z 9223372036854775807 -9223372036854775808
        ZRANGE z x 1
        ZRANGE z 1 x
        ZRANGE z 1.5 2
        ZRANGE nokey 0 -1
        ZRANGE nokey x 1
        ZRANGE z 0 -1 LIMIT 0 1
        ZREVRANGE z 0 -1 LIMIT 0 1
        ZREVRANGE z 0 -1 REV
        ZREVRANGE z 0 -1 BYSCORE
        ZRANGE z 0 -1 FOO
        ZRANGE z 0 -1 WITHSCORES WITHSCORES
        ZRANGE z 0
        ZREVRANGE z 0
    """,
    "zrange_by_score": """
        ZADD z 1 a 2 b 3 c 4 d 5 e -inf min +inf max
        ZRANGEBYSCORE z 2 4
        ZRANGEBYSCORE z (2 4 WITHSCORES
        ZRANGEBYSCORE z 2 (4
        ZRANGEBYSCORE z (2 (3
        ZRANGEBYSCORE z -inf +inf
        ZRANGEBYSCORE z -inf -inf
        ZRANGEBYSCORE z (-inf (+inf
        ZRANGEBYSCORE z 4 2
        ZRANGEBYSCORE z 3 3
        ZRANGEBYSCORE z (3 3
        ZRANGEBYSCORE z "" 2
        ZRANGEBYSCORE z ( 2
        ZRANGEBYSCORE z " 2" 3
        ZRANGEBYSCORE z "2 " 3
        ZRANGEBYSCORE z 1e400 +inf
        ZRANGEBYSCORE z 0x2 4
        ZRANGEBYSCORE z "2\\x00junk" 4
        ZRANGEBYSCORE z nan 4
        ZRANGEBYSCORE z (nan 4
        ZRANGEBYSCORE z x 4
        ZRANGEBYSCORE z 1 x
        ZRANGEBYSCORE z [1 2
        ZRANGEBYSCORE z -inf +inf LIMIT 1 2
        ZRANGEBYSCORE z -inf +inf LIMIT 1 -1
        ZRANGEBYSCORE z -inf +inf LIMIT 1 0
        ZRANGEBYSCORE z -inf +inf LIMIT -1 2
        ZRANGEBYSCORE z -inf +inf LIMIT 7 2
        ZRANGEBYSCORE z -inf +inf LIMIT 6 2
        ZRANGEBYSCORE z -inf +inf LIMIT x 2
        ZRANGEBYSCORE z -inf +inf LIMIT 1
        ZRANGEBYSCORE z -inf +inf WITHSCORES LIMIT 2 3
        ZRANGEBYSCORE z -inf +inf REV
        ZRANGEBYSCORE z -inf +inf BYLEX
        ZREVRANGEBYSCORE z 4 2
        ZREVRANGEBYSCORE z 2 4
        ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 1 3
        ZREVRANGEBYSCORE z (4 (1
        ZRANGE z 2 4 BYSCORE
        ZRANGE z 4 2 BYSCORE REV WITHSCORES
        ZRANGE z (1 +inf BYSCORE LIMIT 0 2
        ZRANGE z +inf (1 BYSCORE REV LIMIT 1 2
        ZRANGE z 1 2 BYSCORE BYLEX
        ZRANGE z 1 2 BYSCORE BYSCORE
        ZRANGE z 1 2 REV REV
        ZRANGE z [a [b BYSCORE
        ZRANGEBYSCORE nokey 1 2
        ZRANGEBYSCORE nokey x 2
        ZRANGEBYSCORE z 1
    """,
    "zrange_by_lex": """
        ZADD z 0 a 0 b 0 c 0 d 0 e 0 "" 0 aa 0 "\\xff"
        ZRANGEBYLEX z - +
        ZRANGEBYLEX z + -
        ZRANGEBYLEX z - -
        ZRANGEBYLEX z + +
        ZRANGEBYLEX z [b [d
        ZRANGEBYLEX z (b (d
        ZRANGEBYLEX z [a (b
        ZRANGEBYLEX z ( [b
        ZRANGEBYLEX z [ [b
        ZRANGEBYLEX z [d [b
        ZRANGEBYLEX z [b [b
        ZRANGEBYLEX z (b [b
        ZRANGEBYLEX z - + LIMIT 2 3
        ZRANGEBYLEX z - + LIMIT 2 -1
        ZRANGEBYLEX z - + LIMIT -2 3
        ZRANGEBYLEX z - + LIMIT 20 3
        ZRANGEBYLEX z - + WITHSCORES
        ZRANGEBYLEX z a b
        ZRANGEBYLEX z -a +
        ZRANGEBYLEX z "-\\x00a" +
        ZRANGEBYLEX z "" +
        ZRANGEBYLEX z 1 +
        ZREVRANGEBYLEX z + -
        ZREVRANGEBYLEX z [d [b
        ZREVRANGEBYLEX z [b [d
        ZREVRANGEBYLEX z + - LIMIT 1 2
        ZRANGE z [b [d BYLEX
        ZRANGE z [d [b BYLEX REV
        ZRANGE z - + BYLEX LIMIT 1 1
        ZRANGE z - + BYLEX WITHSCORES
        ZRANGEBYLEX nokey - +
        ZRANGEBYLEX nokey a b
        ZLEXCOUNT z - +
        ZLEXCOUNT z [b [d
        ZLEXCOUNT z (b (d
        ZLEXCOUNT z + -
        ZLEXCOUNT z a b
        ZLEXCOUNT nokey - +
        ZLEXCOUNT nokey a b
        ZADD mixed 1 a 2 b 0 c
        ZRANGEBYLEX mixed - +
        ZRANGEBYLEX mixed [a [b
    """,
    "lex_ranges_over_unequal_scores_in_a_listpack": """
        ZADD z 1 x 2 a 3 y 4 b 5 "" 6 z
        ZRANGEBYLEX z - +
        ZRANGEBYLEX z [a [y
        ZRANGEBYLEX z (a +
        ZRANGEBYLEX z [x [z
        ZREVRANGEBYLEX z [z [a
        ZREVRANGEBYLEX z + (b LIMIT 1 2
        ZLEXCOUNT z [a [y
        ZLEXCOUNT z - (b
        ZLEXCOUNT z [b +
        ZLEXCOUNT z ( (x
        ZRANGE z [b [z BYLEX
        ZREMRANGEBYLEX z ( (z
        ZREMRANGEBYLEX z [y [y
        ZRANGE z 0 -1 WITHSCORES
        ZREMRANGEBYLEX z [x +
        ZRANGE z 0 -1 WITHSCORES
    """,
    "zcount": """
        ZADD z 1 a 2 b 3 c 3 d 4 e
        ZCOUNT z -inf +inf
        ZCOUNT z 2 3
        ZCOUNT z (2 3
        ZCOUNT z (3 (4
        ZCOUNT z 5 10
        ZCOUNT z 3 2
        ZCOUNT z x 2
        ZCOUNT z 1 (x
        ZCOUNT nokey 1 2
        ZCOUNT nokey x 2
        ZCOUNT z 1
    """,
    "zrangestore": """
        ZADD src 1 a 2 b 3 c 4 d
        ZRANGESTORE dst src 0 -1
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst src 1 2
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst src 2 3 BYSCORE
        ZRANGESTORE dst src (1 +inf BYSCORE LIMIT 1 1
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst src +inf -inf BYSCORE REV LIMIT 0 2
        ZRANGE dst 0 -1 WITHSCORES
        ZRANGESTORE dst src 0 -1 REV
        ZRANGE dst 0 -1
        ZRANGESTORE dst src [a [c BYLEX
        ZRANGESTORE dst src 5 10
        EXISTS dst
        ZRANGESTORE dst src 0 1
        ZRANGESTORE dst nokey 0 -1
        EXISTS dst
        ZRANGESTORE dst src 0 -1 WITHSCORES
        ZRANGESTORE dst src 0 -1 LIMIT 0 1
        ZRANGESTORE dst src x 1
        ZRANGESTORE src src 0 0
        ZRANGE src 0 -1 WITHSCORES
        SET str x
        ZRANGESTORE str src 0 -1
        TYPE str
        ZRANGESTORE dst str 0 -1
        ZRANGESTORE dst src 0
        ZADD neg -0 m
        ZRANGESTORE dst2 neg 0 -1
        ZSCORE dst2 m
    """,
    "zremrange": """
        ZADD z 1 a 2 b 3 c 4 d 5 e 6 f
        ZREMRANGEBYRANK z 0 0
        ZREMRANGEBYRANK z -1 -1
        ZRANGE z 0 -1
        ZREMRANGEBYRANK z 5 10
        ZREMRANGEBYRANK z 2 1
        ZREMRANGEBYSCORE z (2 3
        ZRANGE z 0 -1
        ZREMRANGEBYSCORE z 10 20
        ZREMRANGEBYSCORE z x 1
        ZADD lex 0 a 0 b 0 c 0 d
        ZREMRANGEBYLEX lex [b (d
        ZRANGE lex 0 -1
        ZREMRANGEBYLEX lex - +
        EXISTS lex
        ZREMRANGEBYLEX lex x y
        ZREMRANGEBYRANK z 0 -1
        EXISTS z
        ZREMRANGEBYRANK nokey 0 -1
        ZREMRANGEBYSCORE nokey 0 1
        ZREMRANGEBYLEX nokey - +
        ZREMRANGEBYRANK nokey x 1
        ZREMRANGEBYSCORE nokey x 1
        ZREMRANGEBYLEX nokey x 1
        ZADD z 1 a
        ZREMRANGEBYRANK z x 1
        ZREMRANGEBYRANK z 0 9223372036854775807
        ZREMRANGEBYRANK z 0
    """,
    "pops": """
        ZADD z 1 a 2 b 3 c 4 d 5 e
        ZPOPMIN z
        ZPOPMAX z
        ZPOPMIN z 2
        ZPOPMAX z 0
        ZPOPMIN z 1
        ZPOPMAX z 10
        EXISTS z
        ZPOPMIN z
        ZPOPMIN z 3
        ZPOPMAX nokey 0
        ZADD z 1 a
        ZPOPMIN z -1
        ZPOPMIN z x
        ZPOPMIN z 1 2
        ZPOPMIN nokey -1
        ZPOPMAX z 9223372036854775807
        ZPOPMIN
    """,
    "zmpop": """
        ZADD a 1 x 2 y 3 z
        ZADD b 10 p 20 q
        ZMPOP 1 a MIN
        ZMPOP 2 nokey b MAX COUNT 10
        EXISTS b
        ZMPOP 2 nokey a min count 1
        ZMPOP 3 nokey b a MAX COUNT 9223372036854775807
        ZMPOP 1 a MIN
        ZADD a 1 x
        ZMPOP 0 a MIN
        ZMPOP -1 a MIN
        ZMPOP x a MIN
        ZMPOP 2 a MIN
        ZMPOP 1 a MIDDLE
        ZMPOP 1 a MIN COUNT
        ZMPOP 1 a MIN COUNT 0
        ZMPOP 1 a MIN COUNT -1
        ZMPOP 1 a MIN COUNT x
        ZMPOP 1 a MIN COUNT 1 COUNT 1
        ZMPOP 1 a MIN FOO
        ZMPOP 9223372036854775807 a MIN
        ZMPOP 1 a
        ZRANGE a 0 -1
    """,
    "blocking_with_data": """
        ZADD a 1 x 2 y 3 z
        BZPOPMIN a 0
        BZPOPMAX a 0
        BZPOPMIN nokey a 0
        EXISTS a
        ZADD a 1 x 2 y 3 z
        BZMPOP 0 2 nokey a MIN
        BZMPOP 0 1 a MAX COUNT 5
        BZPOPMIN a x
        BZPOPMIN a -1
        BZPOPMIN a
        BZMPOP x 1 a MIN
        BZMPOP 0 0 a MIN
        BZMPOP 0 1 a
        BZMPOP -1 1 a MIN
        BZMPOP -1 1 a MIDDLE
    """,
    "blocking_timeouts": """
        CONFIG SET hz 100
        BZPOPMIN nokey 0.01
        BZPOPMAX nokey1 nokey2 0.01
        BZMPOP 0.01 1 nokey MIN
        BZMPOP 0.01 2 nokey nokey2 MAX COUNT 2
        CONFIG SET hz 10
    """,
    "blocking_inside_multi": """
        MULTI
        BZPOPMIN nokey 0
        BZMPOP 0 1 nokey MIN
        ZADD z 1 a
        BZPOPMAX z 0
        EXEC
    """,
    "zrandmember": """
        ZADD z 1 a 2 b 3 c
        ZRANDMEMBER z 3
        ZRANDMEMBER z 10
        ZRANDMEMBER z 5 WITHSCORES
        ZRANDMEMBER z 0
        ZRANDMEMBER z 0 WITHSCORES
        ~ ZRANDMEMBER z
        ~ ZRANDMEMBER z 2
        ~ ZRANDMEMBER z -5
        ZRANDMEMBER nokey
        ZRANDMEMBER nokey 5
        ZRANDMEMBER nokey -5 WITHSCORES
        ZRANDMEMBER z x
        ZRANDMEMBER nokey x
        ZRANDMEMBER z 1 x
        ZRANDMEMBER z 1 WITHSCORES x
        ZRANDMEMBER z -9223372036854775808
        ZRANDMEMBER z 9223372036854775807
        ZADD one 5 only
        ZRANDMEMBER one
        ZRANDMEMBER one 1
        ZRANDMEMBER one -3 WITHSCORES
        ZRANDMEMBER one 1 withscores
    """,
    "union_inter_diff": """
        ZADD a 1 x 2 y 3 z
        ZADD b 10 y 20 z 30 w
        ZADD c 100 z
        ZUNION 2 a b
        ZUNION 2 a b WITHSCORES
        ZUNION 2 a b WEIGHTS 2 3 WITHSCORES
        ZUNION 2 a b AGGREGATE MIN WITHSCORES
        ZUNION 2 a b AGGREGATE max WITHSCORES
        ZUNION 3 a b nokey WITHSCORES
        ZINTER 2 a b WITHSCORES
        ZINTER 3 a b c WITHSCORES
        ZINTER 2 a b WEIGHTS 1 -1 AGGREGATE SUM WITHSCORES
        ZINTER 2 a a WITHSCORES
        ZINTER 2 a nokey
        ZDIFF 2 a b WITHSCORES
        ZDIFF 3 b a c
        ZDIFF 2 a a
        ZDIFF 1 a WITHSCORES
        ZDIFF 2 nokey a
        ZUNIONSTORE out 2 a b
        ZRANGE out 0 -1 WITHSCORES
        ZINTERSTORE out 2 a b WEIGHTS 2 2
        ZRANGE out 0 -1 WITHSCORES
        ZDIFFSTORE out 2 a b
        ZRANGE out 0 -1 WITHSCORES
        ZINTERSTORE out 2 a c
        ZRANGE out 0 -1 WITHSCORES
        ZINTERSTORE out 2 a nokey
        EXISTS out
        ZDIFFSTORE out 2 a a
        ZUNIONSTORE a 2 a b
        ZRANGE a 0 -1 WITHSCORES
        ZINTERCARD 2 a b
        ZINTERCARD 2 a b LIMIT 1
        ZINTERCARD 2 a b LIMIT 0
        ZINTERCARD 1 a limit 100
        ZINTERCARD 2 a nokey
        ZINTERCARD 2 a a
    """,
    "union_inter_diff_errors": """
        ZADD a 1 x
        SET s string
        ZUNION 0 a
        ZUNION -1 a
        ZUNION x a
        ZUNION 2 a
        ZUNION 1 a WEIGHTS
        ZUNION 1 a WEIGHTS x
        ZUNION 1 a WEIGHTS nan
        ZUNION 2 a a WEIGHTS 1
        ZUNION 1 a AGGREGATE
        ZUNION 1 a AGGREGATE avg
        ZUNION 1 a FOO
        ZUNION 2 a s
        ZUNION 2 s nokey
        ZUNION 2 a s WEIGHTS x
        ZINTER 0 a
        ZDIFF 0 a
        ZDIFF 1 a WEIGHTS 1
        ZDIFF 1 a AGGREGATE SUM
        ZUNIONSTORE out 0 a
        ZINTERSTORE out 0 a
        ZDIFFSTORE out 0 a
        ZUNIONSTORE out 1 a WITHSCORES
        ZUNIONSTORE out 2 a
        ZUNIONSTORE out 1 s
        ZINTERCARD 0 a
        ZINTERCARD x a
        ZINTERCARD 2 a
        ZINTERCARD 1 a LIMIT -1
        ZINTERCARD 1 a LIMIT x
        ZINTERCARD 1 a LIMIT
        ZINTERCARD 1 a WITHSCORES
        ZINTERCARD 1 a WEIGHTS 1
        ZINTERCARD 1 s
        ZUNION 1 a WEIGHTS 1 WEIGHTS 2 WITHSCORES
        ZUNION 1 a AGGREGATE MIN AGGREGATE MAX WITHSCORES
        ZUNIONSTORE s 1 a
        TYPE s
    """,
    "aggregates_of_infinities": """
        ZADD a inf x -inf y 1 z
        ZADD b -inf x inf y 0 z
        ZUNION 2 a b WITHSCORES
        ZINTER 2 a b WITHSCORES
        ZUNION 2 a b WEIGHTS 0 1 WITHSCORES
        ZUNION 2 a b AGGREGATE MIN WITHSCORES
        ZUNION 2 a b AGGREGATE MAX WITHSCORES
        ZINTERSTORE out 2 a b WEIGHTS 1 1
        ZRANGE out 0 -1 WITHSCORES
        ZUNION 1 a WEIGHTS -0 WITHSCORES
    """,
    "sets_as_inputs": """
        SADD s1 x y z
        SADD s2 1 2 3
        ZADD a 5 x 7 1
        ZUNION 2 s1 a WITHSCORES
        ZINTER 2 s1 a WITHSCORES
        ZINTER 2 s2 a WITHSCORES
        ZDIFF 2 a s1 WITHSCORES
        ZDIFF 2 s1 a WITHSCORES
        ZUNIONSTORE out 2 s1 s2
        ZRANGE out 0 -1 WITHSCORES
        OBJECT ENCODING out
        ZINTERCARD 2 s1 a
        ZUNION 2 s1 s2 WEIGHTS 2 3 WITHSCORES
    """,
    "wrongtype": f"""
        {WRONGTYPE_SETUP}
        ZADD s 1 a
        ZADD s x a
        ZADD s NX XX 1 a
        ZINCRBY s 1 a
        ZREM s a
        ZCARD s
        ZSCORE s a
        ZMSCORE s a
        ZRANK s a
        ZREVRANK s a
        ZCOUNT s 0 1
        ZCOUNT s x 1
        ZLEXCOUNT s - +
        ZLEXCOUNT s x y
        ZRANGE s 0 -1
        ZRANGE s x 1
        ZRANGEBYSCORE s 0 1
        ZRANGEBYLEX s - +
        ZREVRANGE s 0 -1
        ZRANGESTORE d s 0 -1
        ZREMRANGEBYRANK s 0 1
        ZREMRANGEBYSCORE s 0 1
        ZREMRANGEBYLEX s - +
        ZPOPMIN s
        ZPOPMIN s 0
        ZPOPMAX s -1
        ZMPOP 1 s MIN
        ZMPOP 2 nokey s MAX
        BZPOPMIN s 0
        BZMPOP 0 1 s MIN
        ZRANDMEMBER s
        ZRANDMEMBER s 1
        ZRANDMEMBER s x
        ZSCAN s 0
        ZSCAN s 0 FOO
        ZSCAN s x
        RPUSH l a
        ZADD l 1 a
        ZUNION 1 l
        GET s
    """,
    "encodings_at_the_thresholds": """
        CONFIG SET zset-max-listpack-entries 3
        ZADD z 1 a 2 b 3 c
        OBJECT ENCODING z
        ZADD z 4 d
        OBJECT ENCODING z
        ZREM z a b c
        OBJECT ENCODING z
        ZADD v 1 0123456789012345678901234567890123456789012345678901234567890123
        OBJECT ENCODING v
        ZADD v 1 01234567890123456789012345678901234567890123456789012345678901234
        OBJECT ENCODING v
        ZADD w 1 a 2 b 3 c 4 d
        OBJECT ENCODING w
        ZADD x 1 01234567890123456789012345678901234567890123456789012345678901234 2 b
        OBJECT ENCODING x
        ZADD y 1 a 2 01234567890123456789012345678901234567890123456789012345678901234
        OBJECT ENCODING y
        ZUNIONSTORE u 1 w
        OBJECT ENCODING u
        ZRANGESTORE r w 0 2
        OBJECT ENCODING r
        ZRANGESTORE r w 0 3
        OBJECT ENCODING r
        ZINTERSTORE i 2 w w
        OBJECT ENCODING i
        ZDIFFSTORE d 1 y
        OBJECT ENCODING d
        COPY w wcopy
        OBJECT ENCODING wcopy
        ZRANGE wcopy 0 -1 WITHSCORES
        ZADD negzero 1 a 2 b 3 c -0 m
        ZSCORE negzero m
        ZRANGESTORE d1 negzero -inf +inf BYSCORE
        ZSCORE d1 m
        ZRANGESTORE d2 negzero 0 -1
        ZSCORE d2 m
        OBJECT ENCODING d2
        ZRANGESTORE d3 negzero 0 2
        ZSCORE d3 m
        OBJECT ENCODING d3
        CONFIG SET zset-max-listpack-entries 0
        ZADD zero 1 a
        OBJECT ENCODING zero
        CONFIG SET zset-max-listpack-entries 128
        CONFIG SET zset-max-listpack-value 0
        ZADD empty 1 ""
        OBJECT ENCODING empty
        ZADD empty 1 a
        OBJECT ENCODING empty
        CONFIG SET zset-max-listpack-value 64
        CONFIG SET zset-max-ziplist-entries 5
        CONFIG GET zset-max-listpack-entries
        CONFIG SET zset-max-ziplist-value 1kb
        CONFIG GET zset-max-ziplist-value
        = CONFIG GET zset*
        CONFIG SET zset-max-listpack-entries -1
        CONFIG SET zset-max-listpack-entries x
        CONFIG SET zset-max-listpack-value -1
        CONFIG SET zset-max-listpack-entries 128
        CONFIG SET zset-max-listpack-value 64
    """,
    "encodings_of_128": f"""
        ZADD z {" ".join(f"{i} m{i}" for i in range(1, 129))}
        OBJECT ENCODING z
        ZADD z 129 m129
        OBJECT ENCODING z
        ZPOPMAX z 100
        OBJECT ENCODING z
        ZCARD z
    """,
    "zscan": """
        ZADD z 1 a 2.5 b 1e17 c -0 d inf e
        ZSCAN z 0
        ZSCAN z 0 COUNT 1
        ZSCAN z 0 MATCH a*
        ZSCAN z 0 MATCH * COUNT 100
        ZSCAN z 0 match [ab] count 2
        ZSCAN z 0 COUNT 0
        ZSCAN z 0 COUNT x
        ZSCAN z 0 COUNT
        ZSCAN z 0 FOO bar
        ZSCAN z 0 TYPE zset
        ZSCAN z x
        ZSCAN z -1
        ZSCAN z 18446744073709551616
        ZSCAN nokey 0
        ZSCAN nokey 0 FOO
        ZSCAN nokey x
        ZSCAN z
        ZADD big 1 0123456789012345678901234567890123456789012345678901234567890123456789 1e17 c -0 d 1.5 e
        = ZSCAN big 0 COUNT 100
        = ZSCAN big 0 COUNT 100 MATCH c*
    """,
    "generic_commands_on_sorted_sets": """
        ZADD z 1 a 2 b
        TYPE z
        OBJECT ENCODING z
        COPY z c
        ZADD c 3 x
        ZRANGE z 0 -1
        ZRANGE c 0 -1
        RENAME c r
        ZRANGE r 0 -1 WITHSCORES
        MOVE r 1
        SELECT 1
        ZRANGE r 0 -1
        SELECT 0
        EXPIRE z 100
        ZADD z 3 c
        TTL z
        ZPOPMIN z 3
        EXISTS z
        GET r
        = SCAN 0 TYPE zset COUNT 100
        DEL r
    """,
    "command_info": """
        COMMAND INFO zadd zincrby zrem zcard zscore zmscore zrank zrevrank zcount zlexcount
        COMMAND INFO zrange zrangestore zrevrange zrangebyscore zrevrangebyscore zrangebylex zrevrangebylex
        COMMAND INFO zremrangebyrank zremrangebyscore zremrangebylex zpopmin zpopmax bzpopmin bzpopmax
        COMMAND INFO zmpop bzmpop zrandmember zunion zinter zdiff zunionstore zinterstore zdiffstore
        COMMAND INFO zintercard zscan
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


NOTIFICATION_SCRIPTS = {
    "adds_and_removes": """
        ZADD z 1 a 2 b
        ZADD z 1 a
        ZADD z XX 5 nope
        ZADD z CH 3 a
        ZADD z INCR 1 a
        ZINCRBY z 1 b
        ZINCRBY z 0 b
        ZADD z INCR -inf b
        ZADD z INCR +inf b
        ZREM z nope
        ZREM z a
        ZREM z b
        ZADD nokey XX 1 a
    """,
    "ranges_and_pops": """
        ZADD z 1 a 2 b 3 c 4 d 5 e 6 f
        ZREMRANGEBYRANK z 0 0
        ZREMRANGEBYRANK z 10 20
        ZREMRANGEBYSCORE z 2 2
        ZREMRANGEBYLEX z [c [c
        ZPOPMIN z
        ZPOPMAX z 1
        ZPOPMIN z 0
        ZMPOP 1 z MIN
        ZADD z 1 a
        BZPOPMIN z 0
        ZADD z 1 a 2 b
        BZMPOP 0 1 z MAX COUNT 5
        ZPOPMIN nokey
    """,
    "stores": """
        ZADD a 1 x 2 y
        ZADD b 2 y 3 z
        ZUNIONSTORE u 2 a b
        ZINTERSTORE i 2 a b
        ZDIFFSTORE d 2 a b
        ZDIFFSTORE d 2 a a
        ZINTERSTORE nothing 2 a nokey
        ZRANGESTORE r a 0 -1
        ZRANGESTORE r a 5 6
        ZRANGESTORE r nokey 0 -1
        ZUNIONSTORE a 1 b
    """,
}


@pytest.mark.parametrize("flags", ["KEA", "KEAn", "Kz", "Eg"])
@pytest.mark.parametrize("name", sorted(NOTIFICATION_SCRIPTS))
def test_notifications_match_redis(server, reference, name, flags):
    compare_notifications(server.port, reference.port, NOTIFICATION_SCRIPTS[name], flags=flags)


# Reading commands count keyspace hits and misses; writing ones count nothing.
COUNTED = """
    ZADD z 1 a 2 b
    SET s v
    ZCARD z
    ZCARD nokey
    ZSCORE z a
    ZSCORE nokey a
    ZMSCORE nokey a
    ZRANK z a
    ZRANK nokey a
    ZCOUNT z 0 1
    ZCOUNT nokey x 1
    ZLEXCOUNT nokey - +
    ZRANGE z 0 -1
    ZRANGE nokey 0 -1
    ZRANGEBYSCORE nokey 0 1
    ZRANGESTORE dst nokey 0 -1
    ZRANGESTORE dst z 0 -1
    ZRANDMEMBER nokey
    ZRANDMEMBER z 0
    ZSCAN nokey 0
    ZUNION 3 z nokey s
    ZUNIONSTORE out 2 z nokey
    ZINTERCARD 2 z nokey
    ZADD nokey1 XX 1 a
    ZINCRBY z 1 a
    ZREM nokey2 a
    ZREMRANGEBYRANK nokey3 0 1
    ZPOPMIN nokey4
    ZMPOP 1 nokey5 MIN
    BZPOPMIN nokey6 z 0.01
    BZMPOP 0.01 1 nokey7 MIN
"""


def test_keyspace_hits_and_misses_match_redis(server, reference):
    compare_keyspace_counters(server.port, reference.port, COUNTED)


# --------------------------------------------------------------------------- random sequences

KEYS = ("a", "b", "c")
MEMBERS = ("x", "y", "z", "w", "", "xx", "0123456789")
SCORES = ("0", "-0", "1", "2", "2.5", "-1", "1e3", "inf", "-inf", "0.1", "3")
BOUNDS = ("-inf", "+inf", "0", "(0", "1", "(1", "2.5", "(2.5", "3", "-1", "(inf")
LEX_BOUNDS = ("-", "+", "[x", "(x", "[y", "(z", "[", "(", "[xx")


def random_sorted_set_script(seed: int) -> str:
    """Commands on three keys with a small alphabet, so that they meet each other's
    members; listpacks limited to 4 entries and 8 bytes so both encodings are used.

    Ranges by lex go to their own key, whose members all have score 0: over unequal
    scores a skip list's answer depends on the random levels of its nodes, in Redis as
    here, so no two servers can agree on it."""
    rng = random.Random(seed)
    choice = rng.choice
    lines = ["CONFIG SET zset-max-listpack-entries 4", "CONFIG SET zset-max-listpack-value 8"]

    def pairs(n):
        return " ".join(f"{choice(SCORES)} {choice(MEMBERS) or chr(34) * 2}" for _ in range(n))

    def member():
        return choice(MEMBERS) or '""'

    def key():
        return choice(KEYS)

    makers = [
        lambda: f"ZADD {key()} {pairs(rng.randint(1, 4))}",
        lambda: f"ZADD {key()} {choice(['NX', 'XX', 'GT', 'LT', 'CH', 'XX GT', 'CH LT'])} {pairs(rng.randint(1, 3))}",
        lambda: f"ZADD {key()} INCR {choice(SCORES)} {member()}",
        lambda: f"ZINCRBY {key()} {choice(SCORES)} {member()}",
        lambda: f"ZREM {key()} {member()} {member()}",
        lambda: f"ZRANGE {key()} {rng.randint(-5, 5)} {rng.randint(-5, 5)} {choice(['', 'WITHSCORES', 'REV', 'REV WITHSCORES'])}",
        lambda: f"ZRANGE {key()} {choice(BOUNDS)} {choice(BOUNDS)} BYSCORE {choice(['', 'REV'])} "
                f"{choice(['', 'WITHSCORES'])} {choice(['', f'LIMIT {rng.randint(-1, 3)} {rng.randint(-1, 3)}'])}",
        lambda: f"ZADD lex 0 {member()} 0 {member()}",
        lambda: f"ZRANGE lex {choice(LEX_BOUNDS)} {choice(LEX_BOUNDS)} BYLEX {choice(['', 'REV'])} "
                f"{choice(['', f'LIMIT {rng.randint(-1, 3)} {rng.randint(-1, 3)}'])}",
        lambda: f"ZCOUNT {key()} {choice(BOUNDS)} {choice(BOUNDS)}",
        lambda: f"ZLEXCOUNT lex {choice(LEX_BOUNDS)} {choice(LEX_BOUNDS)}",
        lambda: f"{choice(['ZRANK', 'ZREVRANK'])} {key()} {member()}",
        lambda: f"ZMSCORE {key()} {member()} {member()}",
        lambda: f"{choice(['ZPOPMIN', 'ZPOPMAX'])} {key()} {choice(['', '0', '1', '2', '5'])}",
        lambda: f"ZMPOP 2 {key()} {key()} {choice(['MIN', 'MAX'])} COUNT {rng.randint(1, 3)}",
        lambda: f"ZREMRANGEBYRANK {key()} {rng.randint(-4, 4)} {rng.randint(-4, 4)}",
        lambda: f"ZREMRANGEBYSCORE {key()} {choice(BOUNDS)} {choice(BOUNDS)}",
        lambda: f"ZREMRANGEBYLEX lex {choice(LEX_BOUNDS)} {choice(LEX_BOUNDS)}",
        lambda: f"{choice(['ZUNION', 'ZINTER', 'ZDIFF'])} 2 {key()} {key()} WITHSCORES",
        lambda: f"{choice(['ZUNION', 'ZINTER'])} 2 {key()} {key()} WEIGHTS {choice(SCORES)} {choice(SCORES)} "
                f"AGGREGATE {choice(['SUM', 'MIN', 'MAX'])} WITHSCORES",
        lambda: f"{choice(['ZUNIONSTORE', 'ZINTERSTORE', 'ZDIFFSTORE'])} {key()} 2 {key()} {key()}",
        lambda: f"ZRANGESTORE {key()} {key()} {rng.randint(-3, 3)} {rng.randint(-3, 3)}",
        lambda: f"ZINTERCARD 2 {key()} {key()} LIMIT {rng.randint(0, 3)}",
        lambda: f"ZRANDMEMBER {key()} {choice(['10', '-0', '20 WITHSCORES'])}",
        lambda: f"ZCARD {key()}",
        lambda: f"OBJECT ENCODING {key()}",
    ]
    for _ in range(120):
        lines.append(choice(makers)())
        if rng.random() < 0.15:
            lines.append(f"ZRANGE {key()} 0 -1 WITHSCORES")
    for name in (*KEYS, "lex"):
        lines.append(f"ZRANGE {name} 0 -1 WITHSCORES")
        lines.append(f"OBJECT ENCODING {name}")
    lines += ["CONFIG SET zset-max-listpack-entries 128", "CONFIG SET zset-max-listpack-value 64"]
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(8))
def test_random_command_sequences_match_redis(server, reference, seed):
    compare(server.port, reference.port, random_sorted_set_script(seed))
