"""How much each hash, set, sorted-set, geo and stream command adds to INFO persistence's
rdb_changes_since_last_save (Redis' ``server.dirty``), compared with a real Redis.

Save points ("save 60 1000") count these changes, so a command must count as many as in
Redis: HSET of two fields two, ZADD one per element added or updated, ZPOPMIN one per
element popped, and nothing for a command that changes nothing. Lists are in
tests/test_differential_lists.py.
"""

from __future__ import annotations

import pytest

from app.protocol import split_inline
from tests.helpers import RawConnection, wait_until

SCRIPTS = {
    "hashes": """
        HSET h a 1 b 2
        HSET h a 1 c 3
        HSET h a 1
        HMSET h a 1 d 4 e 5
        HSETNX h a 9
        HSETNX h f 6
        HSETNX h2 f 6
        HINCRBY h n 5
        HINCRBY h n 0
        HINCRBY h a x
        HINCRBYFLOAT h fl 1.5
        HINCRBYFLOAT h fl 0
        HDEL h a b zz
        HDEL h zz
        HDEL nokey a
        HDEL h2 f
        HGET h c
        HGETALL h
        HRANDFIELD h 2
        HSCAN h 0
        HDEL h c d e f n fl
        EXISTS h
    """,
    "sets": """
        SADD s 1 2 3
        SADD s 3 4
        SADD s 4
        SADD t a
        SREM s 1 2 99
        SREM s 99
        SREM nokey 1
        SMOVE s s2 3
        SMOVE s s2 99
        SMOVE s s 4
        SMOVE s s 99
        SADD s 3
        SMOVE s s2 3
        SMOVE s s2 4
        SMOVE nokey s2 1
        SADD p 1 2 3 4 5 6
        SPOP p
        SPOP p 2
        SPOP p 0
        SPOP p 10
        SPOP nokey
        SPOP nokey 2
        SADD q 1 2 3
        SPOP q 3
        SADD q 1
        SPOP q
        SADD a 1 2 3 4
        SADD b 3 4 5
        SINTERSTORE d a b
        SINTERSTORE d a b
        SUNIONSTORE d a b
        SDIFFSTORE d a b
        SINTERSTORE d a nokey
        SINTERSTORE d a nokey
        SUNIONSTORE d nokey
        SDIFFSTORE d a a
        SINTER a b
        SMEMBERS a
        SRANDMEMBER a 2
        SINTERCARD 2 a b
        SSCAN a 0
    """,
    "sorted_sets": """
        ZADD z 1 a 2 b 3 c
        ZADD z 1 a 5 b 4 d
        ZADD z NX 9 a 6 e
        ZADD z XX 9 a 7 f
        ZADD z XX CH 9 a 8 b
        ZADD z GT 1 a
        ZADD z LT 1 a
        ZADD z INCR 2 a
        ZADD z INCR 0 a
        ZADD z NX INCR 2 a
        ZADD z XX 1 nope
        ZINCRBY z 1 a
        ZINCRBY z 0 a
        ZINCRBY z 1 new
        ZINCRBY nz 1 new
        ZREM z a b x
        ZREM z x
        ZREM nokey x
        ZREM nz new
        ZADD r 1 a 2 b 3 c 4 d 5 e 6 f
        ZREMRANGEBYRANK r 0 1
        ZREMRANGEBYRANK r 10 20
        ZREMRANGEBYSCORE r 3 4
        ZREMRANGEBYSCORE r 100 200
        ZREMRANGEBYLEX r - +
        ZADD l 0 a 0 b 0 c
        ZREMRANGEBYLEX l [a [b
        ZREMRANGEBYLEX l [x [y
        ZREMRANGEBYRANK l 0 -1
        ZADD p 1 a 2 b 3 c 4 d 5 e 6 f 7 g
        ZPOPMIN p
        ZPOPMAX p
        ZPOPMIN p 2
        ZPOPMIN p 0
        ZPOPMAX p 10
        ZPOPMIN nokey
        ZPOPMIN nokey 3
        ZADD p 1 a 2 b 3 c 4 d 5 e
        ZMPOP 1 p MIN
        ZMPOP 1 p MAX COUNT 2
        ZMPOP 2 nokey p MIN COUNT 5
        ZMPOP 1 nokey MIN
        ZADD p 1 a 2 b 3 c
        BZPOPMIN p 0
        BZPOPMAX p 0
        BZMPOP 0 1 p MIN COUNT 5
        ZADD p 1 a 2 b 3 c
        BZMPOP 0 1 p MAX COUNT 2
        BZPOPMIN nokey 0.01
        BZMPOP 0.01 1 nokey MIN
        ZADD a 1 x 2 y 3 z
        ZADD b 1 y 2 z 3 w
        ZUNIONSTORE d 2 a b
        ZUNIONSTORE d 2 a b
        ZINTERSTORE d 2 a b
        ZDIFFSTORE d 2 a b
        ZINTERSTORE d 2 a nokey
        ZINTERSTORE d 2 a nokey
        ZDIFFSTORE d 1 nokey
        ZRANGESTORE d2 a 0 -1
        ZRANGESTORE d2 a 0 0
        ZRANGESTORE d2 a 5 6
        ZRANGESTORE d2 a 5 6
        ZRANGESTORE d3 nokey 0 -1
        ZRANGE a 0 -1
        ZSCORE a x
        ZRANDMEMBER a 2
        ZUNION 2 a b
        ZSCAN a 0
    """,
    "geo": """
        GEOADD g 1 1 a 2 2 b
        GEOADD g 1 1 a 3 3 c
        GEOADD g NX 5 5 a 4 4 d
        GEOADD g XX 5 5 a 6 6 e
        GEOADD g XX CH 6 6 a 6 6 b
        GEOADD g 200 200 bad
        GEOPOS g a
        GEODIST g a b
        GEOHASH g a
        GEOSEARCH g FROMLONLAT 0 0 BYRADIUS 10000 km
        GEOSEARCHSTORE d g FROMLONLAT 0 0 BYRADIUS 10000 km
        GEOSEARCHSTORE d g FROMLONLAT 0 0 BYRADIUS 10000 km STOREDIST
        GEOSEARCHSTORE d g FROMLONLAT 100 50 BYRADIUS 1 km
        GEOSEARCHSTORE d g FROMLONLAT 100 50 BYRADIUS 1 km
        GEOSEARCHSTORE d nokey FROMLONLAT 0 0 BYRADIUS 1 km
        GEORADIUS g 0 0 10000 km STORE d
        GEORADIUS g 0 0 10000 km STOREDIST d
        GEORADIUS g 100 50 1 km STORE d
        GEORADIUS g 0 0 10000 km
        GEORADIUSBYMEMBER g a 10000 km STORE d
        GEORADIUSBYMEMBER g a 10000 km
        GEORADIUS_RO g 0 0 10000 km
        GEORADIUSBYMEMBER_RO g a 10000 km
        ZREM g a b c
    """,
    "streams": """
        XADD x 1-1 a b
        XADD x 2-1 a b c d
        XADD x 1-1 a b
        XADD x NOMKSTREAM 3-1 a b
        XADD nox NOMKSTREAM 3-1 a b
        XADD x MAXLEN 2 4-1 a b
        XADD x 5-1 a b
        XADD x 6-1 a b
        XTRIM x MAXLEN 2
        XTRIM x MAXLEN 2
        XTRIM x MINID 6
        XTRIM nokey MAXLEN 0
        XDEL x 6-1 99-1
        XDEL x 99-1
        XDEL nokey 1-1
        XSETID x 10-1
        XSETID x 10-1
        XSETID x 20-1 ENTRIESADDED 10 MAXDELETEDID 5-1
        XLEN x
        XRANGE x - +
        XREAD STREAMS x 0
        XADD y 1-1 a 1
        XADD y 2-1 a 2
        XADD y 3-1 a 3
        XGROUP CREATE y g 0
        XGROUP CREATE y g 0
        XGROUP CREATE ny g $ MKSTREAM
        XGROUP CREATECONSUMER y g c1
        XGROUP CREATECONSUMER y g c1
        XREADGROUP GROUP g c1 COUNT 2 STREAMS y >
        XREADGROUP GROUP g c1 STREAMS y 0
        XREADGROUP GROUP g c2 STREAMS y >
        XREADGROUP GROUP g c3 STREAMS y >
        XREADGROUP GROUP g c4 NOACK STREAMS y >
        XADD y 4-1 a 4
        XREADGROUP GROUP g c4 NOACK STREAMS y >
        XPENDING y g
        XCLAIM y g c5 0 1-1 2-1 99-1
        XCLAIM y g c5 0 1-1 JUSTID
        XCLAIM y g c6 0 1-1 FORCE
        XCLAIM y g c6 0 4-1 FORCE
        XCLAIM y g c6 0 99-1
        XDEL y 2-1
        XAUTOCLAIM y g c7 0 0
        XAUTOCLAIM y g c7 0 0 COUNT 1 JUSTID
        XAUTOCLAIM y g c7 999999999 0
        XACK y g 1-1 3-1 99-1
        XACK y g 99-1
        XGROUP SETID y g 0
        XGROUP SETID y g $ ENTRIESREAD 3
        XGROUP DELCONSUMER y g c7
        XGROUP DELCONSUMER y g c7
        XGROUP DELCONSUMER y g nobody
        XGROUP CREATE y g2 0
        XREADGROUP GROUP g2 c STREAMS y >
        XGROUP DESTROY y g2
        XGROUP DESTROY y g2
        XINFO STREAM y
        XINFO GROUPS y
        XINFO CONSUMERS y g
        XREADGROUP GROUP g c8 BLOCK 10 STREAMS y >
        XADD y 5-1 a 5
        XREADGROUP GROUP g c8 BLOCK 0 STREAMS y >
        DEL y
    """,
}


def changes(connection) -> int:
    info = connection.call("INFO", "persistence").decode()
    return int(info.split("rdb_changes_since_last_save:")[1].split("\r\n")[0])


def changes_per_command(port: int, script: str) -> list[tuple[str, int]]:
    """Each command of ``script`` with how much it adds to rdb_changes_since_last_save."""
    with RawConnection(port) as connection:
        connection.call("FLUSHALL")
        counts = []
        for line in script.strip().splitlines():
            before = changes(connection)
            connection.call(*split_inline(line.strip().encode()))
            counts.append((line.strip(), changes(connection) - before))
        return counts


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_command_counts_as_many_changes_as_in_redis(server, reference, name):
    """Per command, the same growth of rdb_changes_since_last_save as in Redis."""
    script = SCRIPTS[name]
    assert changes_per_command(server.port, script) == changes_per_command(reference.port, script)


# (setup, a command that blocks, the command that serves it): the change counted for the
# served pop or read lands with the feeding command.
BLOCKED = [
    ("", "BZPOPMIN k 0", "ZADD k 1 a 2 b 3 c"),
    ("", "BZMPOP 0 1 k MIN COUNT 2", "ZADD k 1 a 2 b 3 c"),
    ("", "BZMPOP 0 1 k MAX COUNT 5", "ZADD k 1 a 2 b 3 c"),
    ("ZADD src 1 x 2 y", "BZPOPMAX k 0", "ZUNIONSTORE k 1 src"),
    ("XGROUP CREATE k g $ MKSTREAM", "XREADGROUP GROUP g c BLOCK 0 STREAMS k >", "XADD k 5-1 a b"),
    ("XGROUP CREATE k g $ MKSTREAM\nXGROUP CREATECONSUMER k g c", "XREADGROUP GROUP g c BLOCK 0 STREAMS k >",
     "XADD k 5-1 a b"),
]


def changes_when_served(port: int) -> list[int]:
    counts = []
    for setup, waiting, feeding in BLOCKED:
        with RawConnection(port) as waiter, RawConnection(port) as feeder:
            feeder.call("FLUSHALL")
            for line in setup.splitlines():
                feeder.call(*split_inline(line.encode()))
            waiter.send_command(*split_inline(waiting.encode()))
            wait_until(lambda: b"blocked_clients:1" in feeder.call("INFO", "clients"), what="a blocked client")
            before = changes(feeder)
            feeder.call(*split_inline(feeding.encode()))
            waiter.read()
            counts.append(changes(feeder) - before)
    return counts


def test_pops_and_reads_served_after_waiting_count_as_in_redis(server, reference):
    assert changes_when_served(server.port) == changes_when_served(reference.port)
