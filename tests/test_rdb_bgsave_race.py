"""A BGSAVE racing 20 writing clients writes the keyspace as it was at one instant.

Each writer repeats one transaction: INCR its counter, RPUSH the step number to its
list, HSET a field for the step, and INCR a global clock shared by all writers, whose
value the writer notes. The clock orders every transaction, so the file is a snapshot
of one instant exactly when there is a clock value C such that each writer's keys in
the file hold precisely its steps whose clock is at most C: no writer ahead of C,
none behind it, nothing torn inside a transaction.
"""

from __future__ import annotations

import threading

import redis

from app.config import load_config
from app.persistence import rdb
from tests.helpers import start_ours, wait_until

WRITERS = 20
FILLER = 20_000  # keys written before, so that the file takes a while to write
CONFIG = load_config([])


def write_steps(port: int, writer: int, stop: threading.Event, clocks: list[int]) -> None:
    client = redis.Redis(port=port)
    step = 0
    while not stop.is_set():
        step += 1
        pipe = client.pipeline(transaction=True)
        pipe.incr(f"counter:{writer}")
        pipe.rpush(f"list:{writer}", step)
        pipe.hset(f"hash:{writer}", f"field:{step}", step)
        pipe.incr("clock")
        counter, _, _, clock = pipe.execute()
        assert counter == step
        clocks.append(clock)
    client.close()


def test_bgsave_racing_writers_saves_one_instant(tmp_path):
    with start_ours("--dir", str(tmp_path), "--save", "") as ours:
        client = redis.Redis(port=ours.port)
        pipe = client.pipeline(transaction=False)
        for index in range(FILLER):
            pipe.set(f"filler:{index}", "x" * 50)
        pipe.execute()

        stop = threading.Event()
        clocks: list[list[int]] = [[] for _ in range(WRITERS)]
        threads = [threading.Thread(target=write_steps, args=(ours.port, writer, stop, clocks[writer]))
                   for writer in range(WRITERS)]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: all(len(steps) >= 3 for steps in clocks), what="every writer to be writing")
            assert client.bgsave()
            wait_until(lambda: client.info("persistence")["rdb_bgsave_in_progress"] == 0, timeout=60,
                       what="BGSAVE to finish")
            assert client.info("persistence")["rdb_last_bgsave_status"] == "ok"
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
        final_clock = int(client.get("clock"))
        client.close()

    loaded = rdb.parse((tmp_path / "dump.rdb").read_bytes(), CONFIG, 0)
    saved = {key.key: key.value for key in loaded}
    assert sum(key.startswith(b"filler:") for key in saved) == FILLER
    instant = int(saved[b"clock"])
    assert 3 * WRITERS <= instant < final_clock  # writes went on while the file was written
    for writer in range(WRITERS):
        steps = sum(1 for clock in clocks[writer] if clock <= instant)
        counter = int(saved[f"counter:{writer}".encode()])
        assert counter == steps, (writer, counter, steps, instant)
        assert list(saved[f"list:{writer}".encode()]) == [b"%d" % step for step in range(1, steps + 1)]
        assert saved[f"hash:{writer}".encode()].fields == {b"field:%d" % step: b"%d" % step
                                                           for step in range(1, steps + 1)}
