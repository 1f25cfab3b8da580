"""Memory per element of one large value: our server next to a real redis-server.

    python3 bench/memory.py zset [count]      a sorted set (default 1,000,000 members)
    python3 bench/memory.py stream [count]    a stream (default 1,000,000 entries)

Starts both servers on free ports, builds the value on each with pipelined commands
(1000 per batch): ZADD of 100 members "member:0000001"... with random scores, or
``XADD s <i>-1 field <i>``. Prints the growth of each process's resident memory (VmRSS)
divided by the count, next to Redis' own used_memory growth.
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


def zset_commands(count: int, seed: int = 1):
    rng = random.Random(seed)
    for start in range(0, count, PER_COMMAND):
        args = [b"ZADD", b"big"]
        for i in range(start, min(start + PER_COMMAND, count)):
            args += [repr(rng.uniform(0, 1e6)).encode(), b"member:%07d" % i]
        yield encode_command(args)


def stream_commands(count: int):
    for i in range(1, count + 1):
        yield encode_command([b"XADD", b"big", b"%d-1" % i, b"field", b"%d" % i])


KINDS = {"zset": (zset_commands, b"ZCARD"), "stream": (stream_commands, b"XLEN")}


def fill(port: int, kind: str, count: int) -> None:
    commands, size = KINDS[kind]
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
        assert connection.call(size, "big") == b":%d\r\n" % count


def used_memory(port: int) -> int:
    with RawConnection(port) as connection:
        info = connection.call("INFO", "memory").decode()
    return int(info.split("used_memory:")[1].split("\r\n")[0])


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 else "zset"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as redis_dir:
        with start_ours("--save", "", cwd=ours_dir, own_session=True) as ours, \
                start_reference(cwd=redis_dir, own_session=True) as redis:
            for name, server in (("ours", ours), ("redis", redis)):
                before = rss_kib(server.process.pid)
                used_before = used_memory(server.port) if name == "redis" else None
                fill(server.port, kind, count)
                after = rss_kib(server.process.pid)
                line = f"{name:6} RSS {before / 1024:8.1f} MiB -> {after / 1024:8.1f} MiB: " \
                       f"{(after - before) * 1024 / count:6.1f} bytes per element"
                if used_before is not None:
                    line += f" (used_memory: {(used_memory(server.port) - used_before) / count:.1f} bytes per element)"
                print(line, flush=True)


if __name__ == "__main__":
    main()
