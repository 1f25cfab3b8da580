"""MONITOR: the same commands, watched on our server and on a real redis-server, give the
same lines (times and client addresses aside)."""

from __future__ import annotations

import re

import pytest

from tests.helpers import RawConnection, redis_server_path, start_ours, start_reference, wait_until

needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")

SCRIPT = [
    ("SET", "k", "v"), ("GET", "k"), ("AUTH", "secret"), ("AUTH", "user", "secret"),
    ("HELLO", "2", "AUTH", "default", "secret"), ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("EXEC",),
    ("CONFIG", "GET", "maxclients"), ("CLIENT", "LIST"), ("NOSUCH", "x"), ("GET",),
    ("SELECT", "3"), ("SET", "x", b'a b"c\n\x01\xff'), ("LPUSH", "x", "y"), ("PING",), ("SELECT", "0"),
    ("ECHO", "end"),
]


def _watch(port: int) -> list[bytes]:
    watcher = RawConnection(port)
    assert watcher.call("MONITOR") == b"+OK\r\n"
    with RawConnection(port) as client:
        for step in SCRIPT:
            client.call(*step)
    lines = []
    wait_until(lambda: lines.append(watcher.read_raw()) or lines[-1].endswith(b'"ECHO" "end"\r\n'),
               what="the last command to be monitored")
    # The monitor itself may still run commands that do not touch keys.
    assert watcher.call("GET", "k") == b"-ERR Replica can't interact with the keyspace\r\n"
    assert watcher.call("PING") == b"+PONG\r\n"
    watcher.close()
    return [re.sub(rb"^\+\d+\.\d{6} \[(\d+) [0-9.:]+\]", rb"+<time> [\1 <addr>]", line) for line in lines]


@needs_redis
def test_monitor_lines_match_redis(tmp_path):
    ours = start_ours()
    reference = start_reference(cwd=str(tmp_path))
    try:
        expected = _watch(reference.port)
        assert _watch(ours.port) == expected
        assert b'+<time> [0 <addr>] "AUTH" "(redacted)"\r\n' in expected
    finally:
        ours.stop()
        reference.stop()


def test_a_replica_applying_its_stream_is_monitored():
    master = start_ours()
    replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
    try:
        with RawConnection(replica.port) as watcher:
            wait_until(lambda: b"master_link_status:up" in watcher.call("INFO", "replication"), what="link up")
            assert watcher.call("MONITOR") == b"+OK\r\n"
            with RawConnection(master.port) as client:
                client.call("SET", "k", "v")
            line = watcher.read_raw()
            if line.endswith(b'"SELECT" "0"\r\n'):  # Redis' first words after a diskless full sync
                line = watcher.read_raw()
            assert re.fullmatch(rb'\+\d+\.\d{6} \[0 127\.0\.0\.1:%d\] "SET" "k" "v"\r\n' % master.port, line)
            assert b"flags=O" in RawConnection(replica.port).call("CLIENT", "LIST")
    finally:
        replica.stop()
        master.stop()
