"""Memory per member of a large sorted set: our server next to a real redis-server.

    python3 bench/zset_memory.py [members]        (default 1,000,000)

Starts both servers on free ports, builds one sorted set of ``members`` members on each
with pipelined ZADDs (100 members per command, 1000 commands per batch; members
"member:0000001"..., random scores), and prints the growth of each process's resident
memory (VmRSS) divided by the number of members, next to Redis' own used_memory growth.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.protocol import encode_command  # noqa: E402
from tests.helpers import RawConnection, start_ours, start_reference  # noqa: E402

PER_COMMAND = 100
PER_BATCH = 1000


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def fill(port: int, members: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with RawConnection(port, timeout=600) as connection:
        batch = []
        for start in range(0, members, PER_COMMAND):
            args = [b"ZADD", b"big"]
            for i in range(start, min(start + PER_COMMAND, members)):
                args += [repr(rng.uniform(0, 1e6)).encode(), b"member:%07d" % i]
            batch.append(encode_command(args))
            if len(batch) == PER_BATCH:
                connection.send(b"".join(batch))
                for _ in batch:
                    connection.read_raw()
                batch = []
        if batch:
            connection.send(b"".join(batch))
            for _ in batch:
                connection.read_raw()
        assert connection.call("ZCARD", "big") == b":%d\r\n" % members


def used_memory(port: int) -> int:
    with RawConnection(port) as connection:
        info = connection.call("INFO", "memory").decode()
    return int(info.split("used_memory:")[1].split("\r\n")[0])


def main() -> None:
    members = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as redis_dir:
        with start_ours("--save", "", cwd=ours_dir) as ours, start_reference(cwd=redis_dir) as redis:
            for name, server in (("ours", ours), ("redis", redis)):
                before = rss_kib(server.process.pid)
                used_before = used_memory(server.port) if name == "redis" else None
                fill(server.port, members)
                after = rss_kib(server.process.pid)
                line = f"{name:6} RSS {before / 1024:8.1f} MiB -> {after / 1024:8.1f} MiB: " \
                       f"{(after - before) * 1024 / members:6.1f} bytes per member"
                if used_before is not None:
                    line += f" (used_memory: {(used_memory(server.port) - used_before) / members:.1f} bytes per member)"
                print(line, flush=True)


if __name__ == "__main__":
    main()
