"""RDB save and load of many keys of mixed types: our server next to a real redis-server.

    python3 bench/rdb.py [--keys 1000000]

Fills each server with the same keys through pipelined commands (1000 per batch):
70% strings of 20 bytes, 10% lists of 10, 10% hashes of 10 fields, 5% sets of 10
members, 5% sorted sets of 10 members. Then, for each server:

- SAVE: how long the command takes, seen from the client, and the file's size;
- BGSAVE: the worst PING latency a client pinging in a tight loop sees from BGSAVE
  until ``rdb_bgsave_in_progress:0`` (for ours, the longest the keyspace lock is held:
  the copy of the keyspace), next to the worst latency of the same loop with no save;
- load: a fresh server started on the saved file, timed from process start until
  DBSIZE answers the full count.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.protocol import encode_command  # noqa: E402
from tests.helpers import ROOT, RawConnection, free_port, redis_server_path  # noqa: E402

PER_BATCH = 1000
COLLECTION = 10  # elements in each list, hash, set and sorted set


def commands(count: int):
    """The fill, as RESP: key i's type is fixed by i % 20, so both servers get the same."""
    for i in range(count):
        kind = i % 20
        if kind < 14:
            yield encode_command([b"SET", b"string:%d" % i, b"value:%014d" % i])
        elif kind < 16:
            yield encode_command([b"RPUSH", b"list:%d" % i, *(b"item:%d" % j for j in range(COLLECTION))])
        elif kind < 18:
            fields = []
            for j in range(COLLECTION):
                fields += [b"field:%d" % j, b"%d" % (i + j)]
            yield encode_command([b"HSET", b"hash:%d" % i, *fields])
        elif kind < 19:
            yield encode_command([b"SADD", b"set:%d" % i, *(b"member:%d" % (i + j) for j in range(COLLECTION))])
        else:
            pairs = []
            for j in range(COLLECTION):
                pairs += [b"%d.5" % j, b"member:%d" % j]
            yield encode_command([b"ZADD", b"zset:%d" % i, *pairs])


def fill(port: int, count: int) -> None:
    with RawConnection(port, timeout=600) as connection:
        batch = []
        for command in commands(count):
            batch.append(command)
            if len(batch) == PER_BATCH:
                connection.send(b"".join(batch))
                for _ in batch:
                    connection.read_raw()
                batch = []
        if batch:
            connection.send(b"".join(batch))
            for _ in batch:
                connection.read_raw()
        assert connection.call("DBSIZE") == b":%d\r\n" % count


def argv(name: str, port: int, directory: str) -> list[str]:
    if name == "ours":
        return [str(ROOT / "your_program.sh"), "--port", str(port), "--dir", directory, "--save", ""]
    return [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1", "--dir", directory, "--save", "",
            "--appendonly", "no"]


def start(name: str, directory: str, count: int) -> tuple[subprocess.Popen, int, float]:
    """A server on ``directory``'s dump.rdb; the seconds until DBSIZE says ``count``."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(argv(name, port, directory), cwd=directory, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)  # as a daemon: setsid
    expected = b":%d\r\n" % count
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            with RawConnection(port, timeout=600) as connection:
                while True:
                    reply = connection.call("DBSIZE")
                    if reply == expected:
                        return process, port, time.monotonic() - started
                    if not reply.startswith(b"-LOADING"):
                        raise RuntimeError(f"{name} answered DBSIZE with {reply!r}")
                    time.sleep(0.001)
        except OSError:
            time.sleep(0.001)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(60)


def worst_ping(port: int, during: Callable[[], None]) -> tuple[float, int]:
    """The longest PING round trip, and how many PINGs ran, while ``during()`` runs."""
    stop_event = threading.Event()
    result = {"worst": 0.0, "count": 0}

    def ping_loop():
        with RawConnection(port, timeout=600) as connection:
            while not stop_event.is_set():
                sent = time.perf_counter()
                assert connection.call("PING") == b"+PONG\r\n"
                result["worst"] = max(result["worst"], time.perf_counter() - sent)
                result["count"] += 1

    thread = threading.Thread(target=ping_loop)
    thread.start()
    try:
        during()
    finally:
        stop_event.set()
        thread.join()
    return result["worst"], result["count"]


def measure(name: str, count: int, directory: str) -> dict:
    figures = {}
    process, port, _ = start(name, directory, 0)
    try:
        started = time.monotonic()
        fill(port, count)
        figures["fill (s)"] = time.monotonic() - started
        with RawConnection(port, timeout=600) as connection:
            started = time.monotonic()
            assert connection.call("SAVE") == b"+OK\r\n"
            figures["SAVE (s)"] = time.monotonic() - started
            figures["file (MB)"] = os.path.getsize(os.path.join(directory, "dump.rdb")) / 1e6

            def idle():
                time.sleep(1.0)  # the baseline: the same ping loop with nothing else going on

            figures["worst PING, idle (ms)"] = worst_ping(port, idle)[0] * 1000

            def bgsave():
                assert connection.call("BGSAVE") == b"+Background saving started\r\n"
                while True:
                    connection.send_command("INFO", "persistence")
                    if b"rdb_bgsave_in_progress:0" in connection.read():
                        return
                    time.sleep(0.01)

            started = time.monotonic()
            worst, pings = worst_ping(port, bgsave)
            figures["BGSAVE (s)"] = time.monotonic() - started
            figures["worst PING in BGSAVE (ms)"] = worst * 1000
            figures["PINGs answered in BGSAVE"] = pings
    finally:
        stop(process)
    process, _, figures["load at start-up (s)"] = start(name, directory, count)
    stop(process)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--only", choices=["ours", "redis"])
    arguments = parser.parse_args()
    count = arguments.keys
    names = [arguments.only] if arguments.only else ["ours", "redis"]
    if "redis" in names and redis_server_path() is None:
        raise SystemExit("redis-server is not installed")
    results = {}
    for name in names:
        with tempfile.TemporaryDirectory(prefix=f"bench-rdb-{name}-") as directory:
            print(f"{name}: {count:,} keys...", flush=True)
            results[name] = measure(name, count, directory)
    print(f"\n{count:,} keys: 70% strings, 10% lists of 10, 10% hashes of 10, 5% sets of 10, 5% sorted sets of 10")
    print(f"{'':28}" + "".join(f"{name:>12}" for name in names) + ("       ratio" if len(names) == 2 else ""))
    for metric in results[names[0]]:
        values = [results[name][metric] for name in names]
        line = f"{metric:28}" + "".join(f"{value:12.3f}" if isinstance(value, float) else f"{value:12d}"
                                        for value in values)
        if len(values) == 2 and values[1]:
            line += f"{values[0] / values[1]:11.1f}x"
        print(line)


if __name__ == "__main__":
    main()
