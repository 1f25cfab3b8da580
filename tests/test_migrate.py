"""MIGRATE between servers, ours and a real Redis on either side, compared with Redis
moving the same keys to a real Redis: the source's replies byte for byte, what the
target holds afterwards, and what the source hands its AOF (a DEL of the moved keys)."""

from __future__ import annotations

import pytest
import redis

from tests.helpers import (RawConnection, ServerProcess, free_port, redis_server_path, start_ours, start_reference,
                           wait_until)

pytestmark = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")

# (side, command): {target} is the target's port, {closed} a port nobody listens on.
STEPS = [
    ("source", "SET k v"),
    ("source", "MIGRATE 127.0.0.1 {target} k 0 1000"),
    ("source", "EXISTS k"),
    ("target", "GET k"),
    ("source", "MIGRATE 127.0.0.1 {target} missing 0 1000"),
    ("source", "MIGRATE 127.0.0.1 {target} k 0 1000 KEYS a"),
    ("source", "MIGRATE 127.0.0.1 {target} k 0 1000 BOGUS"),
    ("source", "MIGRATE 127.0.0.1 {target} k 0 1000 AUTH"),
    ("source", "MIGRATE 127.0.0.1 {target} k 0 1000 AUTH2 user"),
    ("source", "MIGRATE 127.0.0.1 {target} k x y"),
    ("source", "MIGRATE 127.0.0.1 {target} k x 1000"),
    # The target has k: BUSYKEY, and the source keeps its own; then REPLACE and COPY.
    ("source", "SET k again"),
    ("source", "MIGRATE 127.0.0.1 {target} k 0 1000"),
    ("source", "GET k"),
    ("source", "MIGRATE 127.0.0.1 {target} k 0 1000 COPY REPLACE"),
    ("source", "GET k"),
    ("target", "GET k"),
    # Several keys of every type, one missing, deadlines kept, into database 3.
    ("source", "RPUSH list a b c"),
    ("source", "HSET hash f v"),
    ("source", "ZADD zset 1 m 2 n"),
    ("source", "SADD set x y"),
    ("source", "XADD stream 1-1 f v"),
    ("source", "SET deadline x PX 100000"),
    ("source", 'MIGRATE 127.0.0.1 {target} "" 3 1000 KEYS list hash nothere zset set stream deadline'),
    ("source", "DBSIZE"),
    ("target", "SELECT 3"),
    ("target", "LRANGE list 0 -1"),
    ("target", "HGETALL hash"),
    ("target", "ZRANGE zset 0 -1 WITHSCORES"),
    ("target", "SORT set ALPHA"),  # SMEMBERS: in hash table order, random in Redis
    ("target", "XRANGE stream - +"),
    ("target", "SELECT 0"),
    # Credentials for a target that has none.
    ("source", "MIGRATE 127.0.0.1 {target} k 0 1000 AUTH secret"),
    ("source", "MIGRATE 127.0.0.1 {target} k 0 1000 AUTH2 someone secret"),
    ("source", "GET k"),
    ("source", "MIGRATE 127.0.0.1 {closed} k 0 500"),
    ("source", "INFO stats"),
]


def _run(source_port: int, target_port: int) -> list:
    closed = free_port()
    replies = []
    with RawConnection(source_port) as source, RawConnection(target_port) as target:
        for side, line in STEPS:
            argv = [word.replace("{target}", str(target_port)).replace("{closed}", str(closed)).strip('"')
                    for word in line.split()]
            reply = (source if side == "source" else target).call(*argv)
            if argv[0] == "INFO":
                reply = [line for line in reply.split(b"\r\n") if line.startswith(b"migrate_cached_sockets")]
            replies.append((line, reply))
    return replies


def test_migrate_replies_and_results_match_redis(tmp_path):
    for name in "abcd":
        (tmp_path / name).mkdir()
    pairs = {
        "ours to redis": (start_ours(), start_reference(cwd=str(tmp_path / "a"))),
        "redis to ours": (start_reference(cwd=str(tmp_path / "b")), start_ours()),
        "redis to redis": (start_reference(cwd=str(tmp_path / "c")), start_reference(cwd=str(tmp_path / "d"))),
    }
    try:
        results = {name: _run(source.port, target.port) for name, (source, target) in pairs.items()}
    finally:
        for source, target in pairs.values():
            source.stop()
            target.stop()
    expected = results.pop("redis to redis")
    for name, got in results.items():
        differences = [f"{line}\n   {name}: {mine!r}\n   redis to redis: {theirs!r}"
                       for (line, mine), (_line, theirs) in zip(got, expected) if mine != theirs]
        assert not differences, "\n".join(differences)


def _side_effects(source: ServerProcess, target_port: int, aof_folder) -> tuple:
    """What a source tells its AOF and its subscribers when MIGRATE moves keys (a DEL of
    the keys the target took; nothing for COPY), and that a cached connection the
    target closed meanwhile is replaced without an error."""
    client = redis.Redis(port=source.port)
    client.config_set("notify-keyspace-events", "Eg")
    events = client.pubsub()
    events.subscribe("__keyevent@0__:del")
    events.get_message(timeout=5)
    client.mset({"a": "1", "b": "2", "c": "3"})
    replies = [client.execute_command("MIGRATE", "127.0.0.1", target_port, "", 0, 1000, "KEYS", "a", "b")]
    replies.append(client.execute_command("MIGRATE", "127.0.0.1", target_port, "c", 0, 1000, "COPY"))
    target = redis.Redis(port=target_port)
    cached = [entry["id"] for entry in target.client_list() if entry["cmd"] in ("restore", "select")]
    target.client_kill_filter(_id=cached[0])
    target.delete("c")
    replies.append(client.execute_command("MIGRATE", "127.0.0.1", target_port, "c", 0, 1000))
    deleted = [events.get_message(timeout=5)["data"] for _ in range(3)]
    events.close()
    wait_until(lambda: b"DEL" in (aof_folder / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes().upper(),
               what="the AOF written")
    stream = (aof_folder / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes()
    return replies, deleted, stream


def test_migrate_tells_the_aof_and_subscribers_what_redis_does(tmp_path):
    results = []
    for name, start in (("ours", lambda folder: start_ours("--appendonly", "yes", cwd=str(folder))),
                        ("redis", lambda folder: start_reference("--appendonly", "yes", cwd=str(folder)))):
        folder = tmp_path / name
        folder.mkdir()
        source, target = start(folder), start_reference(cwd=str(tmp_path))
        try:
            results.append(_side_effects(source, target.port, folder))
        finally:
            source.stop()
            target.stop()
    ours, theirs = results
    assert ours == theirs
    assert ours[0] == [b"OK", b"OK", b"OK"] and ours[1] == [b"a", b"b", b"c"]


def _shown_credentials(port: int, closed: int) -> tuple:
    """What the slow log and a monitor show of MIGRATEs carrying credentials."""
    client = redis.Redis(port=port)
    client.config_set("slowlog-log-slower-than", 0)
    client.slowlog_reset()
    client.set("k", "v")
    with RawConnection(port) as monitor:
        monitor.call("MONITOR")
        for options in (["AUTH", "secret"], ["AUTH2", "user", "secret", "KEYS", "k"], ["COPY", "AUTH", "secret"]):
            key = "" if "KEYS" in options else "k"
            try:
                client.execute_command("MIGRATE", "127.0.0.1", closed, key, 0, 100, *options)
            except redis.ResponseError:
                pass
        lines = [monitor.read_raw().split(b"] ", 1)[1] for _ in range(3)]
    logged = [entry["command"] for entry in client.slowlog_get(10) if entry["command"].startswith(b"MIGRATE")]
    return lines, sorted(logged)


def test_migrate_credentials_are_redacted_as_redis_redacts_them(tmp_path):
    closed = free_port()
    ours, reference = start_ours(), start_reference(cwd=str(tmp_path))
    try:
        mine, theirs = _shown_credentials(ours.port, closed), _shown_credentials(reference.port, closed)
    finally:
        ours.stop()
        reference.stop()
    assert mine == theirs
    assert not any(b"secret" in line for line in mine[0]) and not any(b"secret" in entry for entry in mine[1])
