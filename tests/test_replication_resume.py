"""Servers that restart go on with replication where they stopped (Redis 7.0:
rdbPopulateSaveInfo, rdbSaveInfoAuxFields, loadDataFromDisk).

An RDB file records the replication ID, the offset and the database the stream is in
(AUX fields repl-id, repl-offset, repl-stream-db), on a master that has a backlog and on
a replica. A replica restarted from it asks ``PSYNC <repl-id> <repl-offset + 1>`` and
gets +CONTINUE while the master's backlog still holds that; a master restarted from it
keeps the ID as its previous one, so that its replicas continue too.

Each test stops servers with SIGTERM, which saves the file (a clean shutdown), and
restarts them in the same directory. Real redis-servers 7.0.15 stand on either side;
those tests skip with a clear message when it is missing.
"""

from __future__ import annotations

import pytest
import redis

from app.config import Config
from app.persistence import rdb
from tests.helpers import redis_server_path, start_ours, start_reference, wait_until
from tests.test_replication import dataset, link_up, mixed_writes, offsets_match

needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")

SAVE_ON_SHUTDOWN = ("--save", "3600 1")  # start_reference turns saving off: back on


def _stats(port: int) -> tuple[int, int]:
    stats = redis.Redis(port=port).info("stats")
    return stats["sync_full"], stats["sync_partial_ok"]


def _in_sync(master_port: int, *replica_ports: int) -> bool:
    return all(link_up(port) for port in replica_ports) and offsets_match(master_port, *replica_ports)


def _writes_that_end_in_database_3(port: int, prefix: str) -> None:
    """Writes of every kind, the last in database 3: the stream is left there, and what
    follows in database 3 comes without a SELECT."""
    mixed_writes(port, prefix)
    redis.Redis(port=port, db=3).set(f"{prefix}-last", "1")


def _restart_replica_and_resume(master_port: int, start_replica, *, stop_replica) -> None:
    """Follow the master, stop cleanly while it writes on, restart: the replica must
    continue (+CONTINUE) and end up with the master's data."""
    replica = start_replica()
    try:
        wait_until(lambda: _in_sync(master_port, replica.port), what="the replica to sync")
        _writes_that_end_in_database_3(master_port, "before")
        wait_until(lambda: _in_sync(master_port, replica.port), what="the replica to catch up")
        full, partial = _stats(master_port)
    finally:
        stop_replica(replica)
    redis.Redis(port=master_port, db=3).set("while-down", "no SELECT before me")
    mixed_writes(master_port, "while-down")
    replica = start_replica()
    try:
        wait_until(lambda: _in_sync(master_port, replica.port), what="the restarted replica to catch up")
        assert _stats(master_port) == (full, partial + 1)  # continued: no full resync
        assert dataset(replica.port) == dataset(master_port)
    finally:
        stop_replica(replica)


def test_our_replica_restarted_continues_from_our_master(tmp_path):
    master = start_ours("--repl-diskless-sync-delay", "0")
    port = master.port

    def start_replica():
        return start_ours("--replicaof", f"127.0.0.1 {port}", "--dir", str(tmp_path))

    try:
        _restart_replica_and_resume(master.port, start_replica, stop_replica=lambda replica: replica.stop())
    finally:
        master.stop()


@needs_redis
def test_our_replica_restarted_continues_from_a_real_master(tmp_path):
    master_dir, replica_dir = tmp_path / "master", tmp_path / "replica"
    master_dir.mkdir()
    replica_dir.mkdir()
    master = start_reference("--repl-diskless-sync-delay", "0", cwd=str(master_dir))
    port = master.port

    def start_replica():
        return start_ours("--replicaof", f"127.0.0.1 {port}", "--dir", str(replica_dir))

    try:
        _restart_replica_and_resume(master.port, start_replica, stop_replica=lambda replica: replica.stop())
    finally:
        master.stop()


@needs_redis
def test_a_real_replica_restarted_continues_from_our_master(tmp_path):
    master = start_ours("--repl-diskless-sync-delay", "0")
    port = master.port

    def start_replica():
        return start_reference("--replicaof", "127.0.0.1", str(port), *SAVE_ON_SHUTDOWN, cwd=str(tmp_path))

    try:
        _restart_replica_and_resume(master.port, start_replica, stop_replica=lambda replica: replica.stop())
    finally:
        master.stop()


@needs_redis
def test_replicas_continue_from_our_restarted_master(tmp_path):
    for name in ("master", "ours", "theirs"):
        (tmp_path / name).mkdir()
    master = start_ours("--dir", str(tmp_path / "master"), "--repl-diskless-sync-delay", "0")
    port = master.port
    ours = start_ours("--replicaof", f"127.0.0.1 {port}")
    theirs = start_reference("--replicaof", "127.0.0.1", str(port), cwd=str(tmp_path / "theirs"))
    try:
        _writes_that_end_in_database_3(port, "before")
        wait_until(lambda: _in_sync(port, ours.port, theirs.port), what="the replicas to catch up")
        master.stop()  # saves: the file records the ID and offset
        master = start_ours("--dir", str(tmp_path / "master"), "--repl-diskless-sync-delay", "0", port=port)
        info = redis.Redis(port=port).info("replication")
        old_id = redis.Redis(port=ours.port).info("replication")["master_replid"]
        assert (info["master_replid2"], info["second_repl_offset"]) == (old_id, info["master_repl_offset"] + 1)
        mixed_writes(port, "after-restart")
        wait_until(lambda: _in_sync(port, ours.port, theirs.port), what="the replicas to continue")
        assert _stats(port) == (0, 2)  # both continued under the old ID
        assert dataset(ours.port) == dataset(theirs.port) == dataset(port)
        for replica in (ours, theirs):  # and took the new one
            assert redis.Redis(port=replica.port).info("replication")["master_replid"] == info["master_replid"]
    finally:
        for server in (theirs, ours, master):
            server.stop()


# --------------------------------------------------------------------------- what the file holds


def _encoded_integer(number: int) -> bytes:
    """An RDB string holding a small integer, as Redis writes it (rdbTryIntegerEncoding)."""
    if -(1 << 7) <= number < 1 << 7:
        return b"\xc0" + number.to_bytes(1, "little", signed=True)
    if -(1 << 15) <= number < 1 << 15:
        return b"\xc1" + number.to_bytes(2, "little", signed=True)
    return b"\xc2" + number.to_bytes(4, "little", signed=True)


def _replication_fields(path) -> tuple[dict, bytes]:
    """The repl-* AUX fields of the RDB file at ``path``, and the file's bytes."""
    data = path.read_bytes()
    aux: dict[bytes, bytes] = {}
    rdb.parse(data, Config(), now=0, aux=aux)
    return {name: value for name, value in aux.items() if name.startswith(b"repl-")}, data


def _saved_files(start, directory) -> list[tuple[dict, bytes, bytes]]:
    """SAVE on a master that nobody follows, then on it and its replica after writes
    that leave the stream in database 3: each file's replication fields, its bytes,
    and what the fields should be."""
    for name in ("master", "replica"):
        (directory / name).mkdir(parents=True)
    master = start(directory / "master")
    replica = start(directory / "replica", "--replicaof", "127.0.0.1", str(master.port))
    try:
        wait_until(lambda: _in_sync(master.port, replica.port), what="the replica to sync")
        _writes_that_end_in_database_3(master.port, "x")
        wait_until(lambda: _in_sync(master.port, replica.port), what="the replica to catch up")
        info = redis.Redis(port=master.port).info("replication")
        expected = {b"repl-stream-db": b"3", b"repl-id": info["master_replid"].encode(),
                    b"repl-offset": str(info["master_repl_offset"]).encode()}
        files = []
        for server, name in ((master, "master"), (replica, "replica")):
            redis.Redis(port=server.port).save()
            fields, data = _replication_fields(directory / name / "dump.rdb")
            encoded = (b"\xfa\x0erepl-stream-db" + _encoded_integer(3) + b"\xfa\x07repl-id(" + expected[b"repl-id"]
                       + b"\xfa\x0brepl-offset" + _encoded_integer(info["master_repl_offset"]))
            files.append((fields == expected, encoded in data))
        return files
    finally:
        replica.stop()
        master.stop()


def _alone(start, directory) -> dict:
    directory.mkdir()
    server = start(directory)
    try:
        redis.Redis(port=server.port).set("k", "v")
        redis.Redis(port=server.port).save()
        return _replication_fields(directory / "dump.rdb")[0]
    finally:
        server.stop()


@needs_redis
def test_the_file_records_where_replication_stands_as_redis_writes_it(tmp_path):
    def ours(directory, *args):
        return start_ours("--dir", str(directory), "--repl-diskless-sync-delay", "0", *args)

    def theirs(directory, *args):
        return start_reference("--repl-diskless-sync-delay", "0", *args, cwd=str(directory))

    for start, name in ((ours, "ours"), (theirs, "theirs")):
        assert _alone(start, tmp_path / f"{name}-alone") == {}  # no backlog: nothing to go on from
        assert _saved_files(start, tmp_path / name) == [(True, True), (True, True)]
