"""A server killed (SIGKILL) in the middle of a BGSAVE or of a BGREWRITEAOF leaves the
files it had whole: the new file is written under a temporary name and renamed only
when complete (RDB), and the manifest names the new base only once it is written
(AOF), as in Redis. The next start loads what was there before."""

from __future__ import annotations

import signal

import redis

from tests.helpers import start_ours, wait_until


def _kill_during(process, client, in_progress_field: str, section: str, start) -> None:
    start()
    wait_until(lambda: client.info(section)[in_progress_field] == 1, what=f"{in_progress_field}")
    process.process.send_signal(signal.SIGKILL)
    process.process.wait(10)


def test_sigkill_during_bgsave_leaves_the_old_rdb_whole(tmp_path):
    args = ("--dir", str(tmp_path), "--save", "", "--enable-debug-command", "yes")
    with start_ours(*args) as server:
        client = redis.Redis(port=server.port)
        client.set("before", "saved")
        client.save()
        before = (tmp_path / "dump.rdb").read_bytes()
        client.execute_command("DEBUG", "POPULATE", 300_000, "key", 20)
        _kill_during(server, client, "rdb_bgsave_in_progress", "persistence", client.bgsave)
    assert (tmp_path / "dump.rdb").read_bytes() == before
    with start_ours(*args) as restarted:
        client = redis.Redis(port=restarted.port)
        assert client.get("before") == b"saved"
        assert client.dbsize() == 1


def test_sigkill_during_bgrewriteaof_leaves_the_aof_whole(tmp_path):
    args = ("--dir", str(tmp_path), "--appendonly", "yes", "--enable-debug-command", "yes")
    with start_ours(*args) as server:
        client = redis.Redis(port=server.port)
        pipe = client.pipeline(transaction=False)
        for i in range(150_000):  # written through the AOF (DEBUG POPULATE would not be)
            pipe.set(f"key:{i}", "v" * 20)
        pipe.execute()
        client.set("last", "written")
        _kill_during(server, client, "aof_rewrite_in_progress", "persistence", client.bgrewriteaof)
    with start_ours(*args) as restarted:
        client = redis.Redis(port=restarted.port)
        assert client.get("last") == b"written"
        assert client.dbsize() == 150_001
