"""What a BGSAVE costs the clients of a large keyspace: the longest PING while it runs,
and how much the server's memory grows, ours next to a real redis-server in the same run.

    python3 bench/snapshot_pauses.py [KEYS] [--busy]    (default 1,000,000 keys)

Each server is started with setsid, in a session of its own, as a daemon runs (the
kernel schedules by session here). The keys are strings of 20 bytes (DEBUG POPULATE).
A client sends PING every 5 ms from BGSAVE until the save has finished, and the
server's resident memory is read from /proc every 20 ms meanwhile. ``--busy`` keeps a
core busy with another process during the measurement, as on a loaded machine.
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


def measure(argv: list[str], keys: int, folder: str) -> dict:
    port = free_port()
    process = subprocess.Popen(["setsid", *argv, "--port", str(port)], cwd=folder,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process, timeout=30)
        client = redis.Redis(port=port)
        client.execute_command("DEBUG", "POPULATE", keys, "key", 20)
        pid = int(client.info("server")["process_id"])
        before = _rss(pid)
        peak = before
        trips = []
        sock = socket.create_connection(("127.0.0.1", port))
        started = time.monotonic()
        client.bgsave()
        next_ping = time.monotonic()
        while client.info("persistence")["rdb_bgsave_in_progress"]:
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
        if process.poll() is None:
            process.kill()
        process.wait()
    return {"seconds": seconds, "worst_ms": max(trips, default=0) * 1000, "pings": len(trips),
            "before_mb": before / 2**20, "growth_mb": (peak - before) / 2**20}


def main() -> None:
    args = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
    keys = int(args[0]) if args else 1_000_000
    busy = "--busy" in sys.argv
    stop = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(stop,)) if busy else None
    if spinner is not None:
        spinner.start()
    try:
        for name, argv in (("ours", [str(ROOT / "your_program.sh"), "--save", "", "--enable-debug-command", "yes"]),
                           ("redis", [shutil.which("redis-server"), "--save", "", "--bind", "127.0.0.1", "--enable-debug-command", "yes"])):
            with tempfile.TemporaryDirectory() as folder:
                result = measure(argv, keys, folder)
            print(f"{name:5}: BGSAVE of {keys:,} keys took {result['seconds']:.2f} s; worst PING of "
                  f"{result['pings']} {result['worst_ms']:.1f} ms; memory {result['before_mb']:.0f} MB, "
                  f"grew {result['growth_mb']:.0f} MB ({100 * result['growth_mb'] / result['before_mb']:.0f}%)")
    finally:
        stop.set()
        if spinner is not None:
            spinner.join()


if __name__ == "__main__":
    main()
