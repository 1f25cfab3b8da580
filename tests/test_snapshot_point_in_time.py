"""BGSAVE writes the keyspace as it was at one instant, while clients go on writing.

The snapshot copies nothing whole (app/persistence/cow.py): it keeps aside each key a
client changes before the snapshot has written it. To check that the file is exactly
the keyspace at the snapshot's start, the test sends BGSAVE and DEBUG DIGEST in one
write: our server runs all the commands of one read under one hold of the lock, so the
digest is of the instant the snapshot began. Twenty clients then write to every type
while the file is written; the file, loaded into a second server, must have that
digest.
"""

from __future__ import annotations

import random
import shutil
import threading

import redis

from tests.helpers import RawConnection, start_ours, wait_until


def _fill(client) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(30_000):
        pipe.set(f"s:{i}", f"value-{i}")
    for i in range(300):
        pipe.rpush(f"l:{i}", *[f"e{j}" for j in range(50)])
        pipe.hset(f"h:{i}", mapping={f"f{j}": j for j in range(20)})
        pipe.sadd(f"set:{i}", *range(30))
        pipe.zadd(f"z:{i}", {f"m{j}": j for j in range(30)})
        pipe.xadd(f"x:{i}", {"a": i})
        pipe.expire(f"s:{i}", 100_000)
    pipe.select(1) if False else None
    pipe.execute()
    client.execute_command("SELECT", 1)


def _write_hard(port: int, stop: threading.Event, seed: int) -> None:
    client = redis.Redis(port=port)
    rng = random.Random(seed)
    while not stop.is_set():
        i = rng.randrange(300)
        pipe = client.pipeline(transaction=False)
        pipe.set(f"s:{rng.randrange(30_000)}", "changed")
        pipe.delete(f"s:{rng.randrange(30_000)}")
        pipe.set(f"new:{seed}:{rng.randrange(10**9)}", "fresh")
        pipe.rpush(f"l:{i}", "pushed")
        pipe.lpop(f"l:{rng.randrange(300)}")
        pipe.hset(f"h:{i}", "f0", "changed")
        pipe.srem(f"set:{i}", 1)
        pipe.zincrby(f"z:{i}", 5, "m1")
        pipe.xadd(f"x:{i}", {"b": 1})
        pipe.expire(f"s:{rng.randrange(30_000)}", 50_000)
        pipe.persist(f"s:{rng.randrange(30_000)}")
        pipe.execute()


def test_bgsave_writes_one_instant_while_twenty_clients_write(tmp_path):
    saved_dir = tmp_path / "saved"
    saved_dir.mkdir()
    with start_ours("--dir", str(saved_dir), "--enable-debug-command", "yes", "--save", "") as server:
        client = redis.Redis(port=server.port)
        _fill(client)
        stop = threading.Event()
        writers = [threading.Thread(target=_write_hard, args=(server.port, stop, seed)) for seed in range(20)]
        for writer in writers:
            writer.start()
        try:
            with RawConnection(server.port) as raw:
                raw.send(b"*1\r\n$6\r\nBGSAVE\r\n*2\r\n$5\r\nDEBUG\r\n$6\r\nDIGEST\r\n")
                assert raw.read_raw() == b"+Background saving started\r\n"
                digest_at_start = raw.read_raw()
            wait_until(lambda: client.info("persistence")["rdb_bgsave_in_progress"] == 0, timeout=60,
                       what="the BGSAVE to finish")
            assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"
        finally:
            stop.set()
            for writer in writers:
                writer.join()
        assert client.execute_command("DEBUG", "DIGEST") != digest_at_start.strip()[1:]  # the writers did write
    loaded_dir = tmp_path / "loaded"
    loaded_dir.mkdir()
    shutil.copy(saved_dir / "dump.rdb", loaded_dir / "dump.rdb")
    with start_ours("--dir", str(loaded_dir), "--enable-debug-command", "yes") as loaded:
        with RawConnection(loaded.port) as raw:
            assert raw.call("DEBUG", "DIGEST") == digest_at_start


def test_the_switch_interval_is_short_while_a_snapshot_runs_and_restored_after():
    """While any snapshot is written, threads hand the GIL over every millisecond, so
    that a client waits less for the snapshot's thread; the last one to end restores
    Python's interval (app/persistence/cow.py)."""
    import sys

    from app.persistence.cow import SNAPSHOT_SWITCH_INTERVAL, PointInTime
    from app.store.keyspace import Keyspace

    keyspace = Keyspace(16)
    keyspace.databases[0].set(b"k", b"v")
    before = sys.getswitchinterval()
    first, second = PointInTime(keyspace), PointInTime(keyspace)
    assert sys.getswitchinterval() == SNAPSHOT_SWITCH_INTERVAL
    first.finish()
    assert sys.getswitchinterval() == SNAPSHOT_SWITCH_INTERVAL  # the other still runs
    second.finish()
    second.finish()  # finishing twice changes nothing
    assert sys.getswitchinterval() == before
