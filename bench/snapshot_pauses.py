"""What a BGSAVE or a replica's full sync costs the clients of a large keyspace: the
longest PING while it runs, and how much the server's memory grows, ours next to a real
redis-server in the same run.

    python3 bench/snapshot_pauses.py [KEYS] [--busy] [--resync [--real-replica]]    (default 1,000,000 keys)

Each server is started with setsid, in a session of its own, as a daemon runs (the
kernel schedules by session here). The keys are strings of 20 bytes (DEBUG POPULATE).
A client sends PING every 5 ms from BGSAVE until the save has finished, and the
server's resident memory is read from /proc every 20 ms meanwhile. ``--busy`` keeps a
core busy with another process during the measurement, as on a loaded machine.
``--resync`` measures a full sync instead: a second server of the same kind becomes the
replica of the first (diskless, without the delay that gathers replicas, as each
server's default would take), from REPLICAOF until the replica's link is up;
``--real-replica`` makes that replica a real redis-server for both, so that the pauses
measured are the master's own, not those of two Python processes (our master and our
replica, which loads what it receives) sharing this machine's two cores.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from tests.helpers import free_port, wait_for_port  # noqa: E402


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS"))


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def _start(argv: list[str], folder: str) -> tuple[int, subprocess.Popen]:
    port = free_port()
    process = subprocess.Popen(["setsid", *argv, "--port", str(port)], cwd=folder,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return port, process


def _syncing(replica: redis.Redis) -> bool:
    info = replica.info("replication")
    return info["master_link_status"] != "up" or bool(info.get("master_sync_in_progress"))


def measure(argv: list[str], keys: int, folder: str, resync: bool, replica_argv: list[str] | None = None) -> dict:
    port, process = _start(argv, folder)
    replica_process = None
    try:
        wait_for_port(port, process, timeout=30)
        client = redis.Redis(port=port)
        client.execute_command("DEBUG", "POPULATE", keys, "key", 20)
        pid = int(client.info("server")["process_id"])
        before = _rss(pid)
        peak = before
        trips = []
        sock = socket.create_connection(("127.0.0.1", port))
        if resync:
            os.makedirs(os.path.join(folder, "replica"))
            replica_port, replica_process = _start(replica_argv or argv, os.path.join(folder, "replica"))
            wait_for_port(replica_port, replica_process, timeout=30)
            replica = redis.Redis(port=replica_port)
            client.config_set("repl-diskless-sync-delay", 0)
            started = time.monotonic()
            replica.replicaof("127.0.0.1", port)
            running = lambda: _syncing(replica)  # noqa: E731
        else:
            started = time.monotonic()
            client.bgsave()
            running = lambda: client.info("persistence")["rdb_bgsave_in_progress"]  # noqa: E731
        next_ping = time.monotonic()
        while running():
            now = time.monotonic()
            if now >= next_ping:
                sent = time.monotonic()
                sock.sendall(b"PING\r\n")
                sock.recv(64)
                trips.append(time.monotonic() - sent)
                next_ping = sent + 0.005
            peak = max(peak, _rss(pid))
            time.sleep(0.001)
        seconds = time.monotonic() - started
        sock.close()
        client.shutdown(nosave=True)
    except redis.ConnectionError:
        pass
    finally:
        for each in (process, replica_process):
            if each is not None:
                if each.poll() is None:
                    each.kill()
                each.wait()
    return {"seconds": seconds, "worst_ms": max(trips, default=0) * 1000, "pings": len(trips),
            "before_mb": before / 2**20, "growth_mb": (peak - before) / 2**20}


def main() -> None:
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    keys = int(args[0]) if args else 1_000_000
    busy = "--busy" in sys.argv
    resync = "--resync" in sys.argv
    real = [shutil.which("redis-server"), "--save", "", "--bind", "127.0.0.1", "--enable-debug-command", "yes"]
    replica_argv = real if "--real-replica" in sys.argv else None
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,)) if busy else None
    if spinner is not None:
        spinner.start()
    try:
        for name, argv in (("ours", [str(ROOT / "your_program.sh"), "--save", "", "--enable-debug-command", "yes"]),
                           ("redis", real)):
            with tempfile.TemporaryDirectory() as folder:
                result = measure(argv, keys, folder, resync, replica_argv)
            print(f"{name:5}: {'full sync' if resync else 'BGSAVE'} of {keys:,} keys took {result['seconds']:.2f} s; worst PING of "
                  f"{result['pings']} {result['worst_ms']:.1f} ms; memory {result['before_mb']:.0f} MB, "
                  f"grew {result['growth_mb']:.0f} MB ({100 * result['growth_mb'] / result['before_mb']:.0f}%)")
    finally:
        stop.set()
        if spinner is not None:
            spinner.join()


if __name__ == "__main__":
    main()
