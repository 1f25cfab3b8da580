"""maxmemory: eviction policies, OOM refusals and LFU counters (app/eviction.py).

The differential scripts set maxmemory to 1 byte, which both servers are always over
whatever their memory: every policy then evicts all it may and refuses what Redis
refuses, deterministically. With `lfu-log-factor 0` and `lfu-decay-time 0`, each access
adds exactly one to a key's LFU counter, so OBJECT FREQ compares exactly too. Each test
starts its own servers: the configuration they change would leak into other tests.
"""

from __future__ import annotations

import re

import pytest

from tests.differential import compare, compare_notifications
from tests.helpers import RawConnection, redis_server_path, start_ours, start_reference, wait_until

needs_redis = pytest.mark.skipif(
    redis_server_path() is None,
    reason="redis-server is not installed: differential tests need it (apt-get install redis-server)",
)

OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    ours = start_ours()
    reference = start_reference(cwd=str(tmp_path_factory.mktemp("redis")))
    try:
        yield ours.port, reference.port
    finally:
        ours.stop()
        reference.stop()


SCRIPTS = {
    "noeviction_refuses_denyoom_commands": """
        CONFIG SET maxmemory-policy noeviction
        MSET a 1 b 2
        SET v 1 EX 100
        CONFIG SET maxmemory 1
        SET c 3
        GET a
        DEL a
        INCR b
        APPEND b x
        LPUSH l x
        SADD s x
        EXPIRE b 100
        PERSIST b
        RENAME b b2
        GETDEL b2
        DBSIZE
        CONFIG SET maxmemory 0
        SET c 3
    """,
    "multi_while_over_the_limit": """
        CONFIG SET maxmemory-policy noeviction
        SET a 1
        MULTI
        SET b 2
        CONFIG SET maxmemory 1
        GET a
        EXEC
        MULTI
        GET a
        MULTI
        DISCARD
        MULTI
        EXEC
        CONFIG SET maxmemory 0
        MULTI
        INCR a
        CONFIG SET maxmemory 1
        EXEC
        CONFIG SET maxmemory 0
        GET a
    """,
    "allkeys_policies_evict_everything_then_refuse": """
        CONFIG SET maxmemory-policy allkeys-lru
        MSET a 1 b 2 c 3
        CONFIG SET maxmemory 1
        DBSIZE
        SET d 4
        GET a
        CONFIG SET maxmemory 0
        MSET a 1 b 2
        CONFIG SET maxmemory-policy allkeys-random
        CONFIG SET maxmemory 1
        DBSIZE
        CONFIG SET maxmemory 0
        MSET a 1 b 2
        CONFIG SET maxmemory-policy allkeys-lfu
        CONFIG SET maxmemory 1
        EXISTS a b
        CONFIG SET maxmemory 0
        CONFIG SET maxmemory-policy noeviction
    """,
    "volatile_policies_evict_only_keys_with_a_deadline": """
        MSET a 1 b 2
        SET t1 1 EX 1000
        SET t2 2 PX 1000000
        SELECT 3
        SET t3 3 EX 1000
        SET keep 1
        SELECT 0
        CONFIG SET maxmemory-policy volatile-ttl
        CONFIG SET maxmemory 1
        DBSIZE
        SET c 3
        SELECT 3
        DBSIZE
        GET keep
        SELECT 0
        CONFIG SET maxmemory 0
        SET t1 1 EX 1000
        CONFIG SET maxmemory-policy volatile-lru
        CONFIG SET maxmemory 1
        EXISTS t1 a
        CONFIG SET maxmemory-policy volatile-random
        CONFIG SET maxmemory 0
        SET t1 1 EX 1000
        CONFIG SET maxmemory 1
        EXISTS t1 a
        CONFIG SET maxmemory 0
        SET t1 1 EX 1000
        CONFIG SET maxmemory-policy volatile-lfu
        CONFIG SET maxmemory 1
        EXISTS t1 a b
        CONFIG SET maxmemory 0
        CONFIG SET maxmemory-policy noeviction
        FLUSHALL
    """,
    "lfu_counters": """
        CONFIG SET lfu-log-factor 0
        CONFIG SET lfu-decay-time 0
        CONFIG SET maxmemory-policy allkeys-lfu
        SET k v
        OBJECT FREQ k
        GET k
        GET k
        STRLEN k
        OBJECT FREQ k
        SET k v2
        OBJECT FREQ k
        EXISTS k
        TYPE k
        TTL k
        OBJECT ENCODING k
        OBJECT FREQ k
        RPUSH l a b
        LPUSH l c
        LRANGE l 0 -1
        OBJECT FREQ l
        HSET h f v
        HGET h f
        HGETALL h
        OBJECT FREQ h
        OBJECT FREQ nokey
        OBJECT IDLETIME k
        CONFIG SET maxmemory-policy allkeys-lru
        OBJECT FREQ k
        CONFIG SET maxmemory-policy noeviction
        CONFIG SET lfu-log-factor 10
        CONFIG SET lfu-decay-time 1
    """,
}


@pytest.mark.parametrize("name", SCRIPTS)
def test_maxmemory_matches_redis(pair, name):
    compare(*pair, SCRIPTS[name])


def test_evictions_are_announced_as_redis_does(pair):
    compare_notifications(*pair, """
        CONFIG SET maxmemory-policy allkeys-lru
        SET a 1
        CONFIG SET maxmemory 1
        CONFIG SET maxmemory 0
        CONFIG SET maxmemory-policy noeviction
    """)


def test_restore_freq_sets_the_counter(pair):
    for port in pair:
        with RawConnection(port) as client:
            client.call("FLUSHALL")
            client.call("SET", "k", "v")
            dump = client.call("DUMP", "k")
            assert client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu") == b"+OK\r\n"
            assert client.call("CONFIG", "SET", "lfu-decay-time", "0") == b"+OK\r\n"
            # A DUMP reply is a bulk string: its payload sits between the header and CRLF.
            payload = dump[dump.index(b"\r\n") + 2:-2]
            assert client.call("RESTORE", "r", "0", payload, "FREQ", "100") == b"+OK\r\n"
            assert client.call("OBJECT", "FREQ", "r") == b":100\r\n"
            client.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
            client.call("CONFIG", "SET", "lfu-decay-time", "1")
            client.call("FLUSHALL")


def _info(client: RawConnection, section: str) -> dict[str, str]:
    text = client.call("INFO", section).decode()
    return dict(re.findall(r"^(\w+):(.*?)\r$", text, re.M))


def test_used_memory_stays_under_maxmemory_while_lru_evicts_the_idle_keys():
    with start_ours() as ours, ours.raw() as client:
        # Keys last used long ago (RESTORE IDLETIME), then a limit a little above what
        # they take: new writes must push out the idle keys before any new one.
        client.call("SET", "template", "x" * 100)
        dump = client.call("DUMP", "template")
        payload = dump[dump.index(b"\r\n") + 2:-2]
        for i in range(50):
            assert client.call("RESTORE", f"old:{i}", "0", payload, "IDLETIME", "100000") == b"+OK\r\n"
        client.call("DEL", "template")
        assert client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru") == b"+OK\r\n"
        client.call("CONFIG", "SET", "maxmemory", "1gb")  # starts the accounting
        used = int(_info(client, "memory")["used_memory"])
        assert client.call("CONFIG", "SET", "maxmemory", str(used + 20_000)) == b"+OK\r\n"
        for i in range(400):
            assert client.call("SET", f"new:{i}", "y" * 100) == b"+OK\r\n"
        info = _info(client, "memory")
        assert int(info["used_memory"]) <= used + 20_000
        assert info["maxmemory_policy"] == "allkeys-lru"
        evicted = int(_info(client, "stats")["evicted_keys"])
        assert evicted >= 50
        remaining_old = sum(client.call("EXISTS", f"old:{i}") == b":1\r\n" for i in range(50))
        assert remaining_old == 0
        assert client.call("EXISTS", "new:399") == b":1\r\n"
        assert client.call("DBSIZE") == b":%d\r\n" % (450 - evicted)


def test_an_eviction_aborts_the_transactions_watching_the_key():
    with start_ours() as ours, ours.raw() as watcher, ours.raw() as other:
        watcher.call("SET", "w", "1")
        assert watcher.call("WATCH", "w") == b"+OK\r\n"
        other.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        other.call("CONFIG", "SET", "maxmemory", "1")
        other.call("CONFIG", "SET", "maxmemory", "0")
        assert other.call("EXISTS", "w") == b":0\r\n"
        watcher.call("MULTI")
        watcher.call("SET", "w", "2")
        assert watcher.call("EXEC") == b"*-1\r\n"


def test_a_replica_leaves_eviction_to_its_master():
    with start_ours() as master, start_ours() as replica:
        with replica.raw() as client:
            client.call("REPLICAOF", "127.0.0.1", str(master.port))
            wait_until(lambda: b"master_link_status:up" in client.call("INFO", "replication"), what="the link")
            client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
            client.call("CONFIG", "SET", "maxmemory", "1")
            with master.raw() as writer:
                assert writer.call("SET", "k", "v") == b"+OK\r\n"
            wait_until(lambda: client.call("GET", "k") == b"$1\r\nv\r\n", what="the write to reach the replica")
            assert _info(client, "stats")["evicted_keys"] == "0"
            # Told not to ignore maxmemory, the replica evicts too (but it is read-only).
            client.call("CONFIG", "SET", "replica-ignore-maxmemory", "no")
            client.call("CONFIG", "SET", "maxmemory", "2")
            assert client.call("DBSIZE") == b":0\r\n"
