"""MISCONF: writes refused while the data cannot reach the disk, as Redis refuses them.

After a failed BGSAVE (with save points and ``stop-writes-on-bgsave-error yes``) and while
the AOF cannot be written or fsynced, every write, and PING, is answered MISCONF until a
save or a write succeeds again (Redis: writeCommandsDeniedByDiskError). A BGSAVE is made
to fail the way tests/test_rdb_save_points.py does: a directory where the file should
be renamed to, which fails even for root.
"""

from __future__ import annotations

import os
import resource
import subprocess

import pytest

from app.client import Client
from app.config import Config
from app.dispatch import execute
from app.state import MISCONF_RDB, ServerState
from tests.helpers import (PROGRAM, RawConnection, free_port, redis_server_path, start_ours, start_reference,
                           wait_for_port, wait_until)

MISCONF_RDB_BYTES = b"-" + MISCONF_RDB.message.encode() + b"\r\n"


def bgsave_status(connection) -> bytes:
    connection.send_command("INFO", "persistence")
    info = connection.read()
    if b"rdb_bgsave_in_progress:0" not in info:
        return b""
    return info.split(b"rdb_last_bgsave_status:")[1].split(b"\r\n")[0]


def misconf_steps(connection, directory) -> list[bytes]:
    """A failed BGSAVE, what is refused and what is not, the parameter turned off and on,
    then a good BGSAVE."""
    replies = [connection.call("SET", "before", "1")]
    (directory / "dump.rdb").mkdir()
    connection.call("BGSAVE")
    wait_until(lambda: bgsave_status(connection) == b"err", what="the BGSAVE to fail")
    for command in (["SET", "k", "v"], ["PING"], ["GET", "before"], ["ECHO", "x"], ["INCR", "n"],
                    ["MULTI"], ["SET", "k", "v"], ["GET", "k"], ["EXEC"],
                    ["MULTI"], ["GET", "k"], ["EXEC"],
                    ["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"], ["SET", "k", "v"], ["PING"],
                    ["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"], ["DEL", "k"],
                    ["CONFIG", "SET", "save", ""], ["DEL", "k"],  # no save points: no MISCONF either
                    ["CONFIG", "SET", "save", "3600 1"], ["DEL", "k"]):
        replies.append(connection.call(*command))
    (directory / "dump.rdb").rmdir()
    connection.call("BGSAVE")
    wait_until(lambda: bgsave_status(connection) == b"ok", what="the BGSAVE to succeed")
    replies += [connection.call("SET", "k", "again"), connection.call("PING")]
    return replies


def test_a_failed_bgsave_refuses_writes_as_redis_does(tmp_path):
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    replies = {}
    for name in ("ours", "redis"):
        directory = tmp_path / name
        directory.mkdir()
        start = start_ours("--save", "3600 1", "--dir", str(directory)) if name == "ours" else \
            start_reference("--save", "3600 1", cwd=str(directory))
        with start as server, server.raw() as connection:
            assert connection.call("PING") == b"+PONG\r\n"  # Redis has loaded (nothing): go
            replies[name] = misconf_steps(connection, directory)
    assert replies["ours"] == replies["redis"]
    assert replies["ours"][1] == MISCONF_RDB_BYTES  # the SET
    assert replies["ours"][2] == MISCONF_RDB_BYTES  # and PING


def test_a_replica_applies_its_masters_writes_despite_misconf(tmp_path):
    """Only clients are refused: the master's stream still applies (Redis: obey_client)."""
    with start_ours("--save", "", cwd=str(tmp_path)) as master, \
            start_ours("--save", "3600 1", "--dir", str(tmp_path), "--replicaof", f"127.0.0.1 {master.port}") as replica, \
            replica.raw() as connection, master.raw() as writer:
        wait_until(lambda: b"master_link_status:up" in (connection.call("INFO", "replication")),
                   what="the replica to sync")
        (tmp_path / "dump.rdb").mkdir()
        connection.call("BGSAVE")
        wait_until(lambda: bgsave_status(connection) == b"err", what="the BGSAVE to fail")
        writer.call("SET", "from-master", "yes")
        wait_until(lambda: connection.call("GET", "from-master") == b"$3\r\nyes\r\n", what="the write to arrive")
        assert connection.call("SET", "mine", "no") == MISCONF_RDB_BYTES  # MISCONF before READONLY
        (tmp_path / "dump.rdb").rmdir()  # so that stopping it (SIGTERM) can save and exit


# --------------------------------------------------------------------------- the AOF


@pytest.fixture
def appending(tmp_path):
    """A server state in-process with a new AOF, and a client of it."""
    config = Config()
    config.set("dir", str(tmp_path))
    config.set("appendonly", "yes")
    state = ServerState(config)
    state.aof.create()
    yield state, Client(state, 1, "127.0.0.1:1000", "127.0.0.1:6379", 7, close=lambda: None)
    state.aof.disable()


def incr_file(tmp_path) -> bytes:
    return (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes()


def test_an_aof_write_error_refuses_writes_until_a_write_succeeds(appending, tmp_path):
    state, client = appending
    aof = state.aof
    writable = aof.fd
    aof.fd = os.open(os.devnull, os.O_RDONLY)  # every write fails: EBADF
    try:
        assert execute(client, [b"SET", b"a", b"1"]) == "OK"  # applied; its write fails after
        with state.keyspace.lock:
            aof.flush()  # what the connection does before replying
        refused = execute(client, [b"SET", b"b", b"2"])
        assert refused.message == "MISCONF Errors writing to the AOF file: Bad file descriptor"
        assert execute(client, [b"PING"]).message == refused.message
        assert execute(client, [b"GET", b"a"]) == b"1"
        assert "aof_last_write_status:err" in execute(client, [b"INFO", b"persistence"])
    finally:
        os.close(aof.fd)
        aof.fd = writable
    with state.keyspace.lock:
        aof.cron_tick()  # the once-a-second retry writes what was kept
    assert execute(client, [b"SET", b"b", b"2"]) == "OK"
    with state.keyspace.lock:
        aof.flush()
    assert incr_file(tmp_path).endswith(b"$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")


def test_a_full_disk_answers_misconf_with_the_systems_reason(tmp_path):
    """A real server whose AOF can grow no more (a file size limit: writes fail with
    EFBIG, as on a full disk they fail with ENOSPC) refuses writes, and says why."""
    limit = 64 * 1024
    port = free_port()
    argv = [str(PROGRAM), "--port", str(port), "--appendonly", "yes", "--dir", str(tmp_path), "--save", ""]
    child = subprocess.Popen(argv, cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    try:
        wait_for_port(port, child)
        with RawConnection(port) as connection:
            big = b"x" * (limit // 4)
            replies = [connection.call("SET", f"k{i}", big) for i in range(8)]
            refusal = b"-MISCONF Errors writing to the AOF file: File too large\r\n"
            assert refusal in replies
            assert connection.call("PING") == refusal
            assert connection.call("GET", "k0") == b"$%d\r\n%s\r\n" % (len(big), big)
    finally:
        child.terminate()
        child.wait(10)
