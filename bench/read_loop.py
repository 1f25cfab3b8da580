"""In-process cost of a whole read, ours against the minimal server, in µs per command.

    python3 bench/read_loop.py [set|get ...]      (READ_LOOP_COMMANDS=1600 for a quick run)

Runs `Connection.handle` (app/server.py), the loop every connection thread runs, on a
fake socket that hands it 100,000 SETs or GETs one command a read and 16 a read, and
drops the replies; then the same reads through bench/minimal_server.py's handler. What
is left is the Python work of a request without its system calls: read bookkeeping,
parse, dispatch, the command, encode. The difference between the two servers is what
our features cost per request (stats, ACL and state checks, notifications, expiry,
access times); bench/cpu_per_request.sh shows how much the system calls add.

Each figure is the best of several runs, the two servers' runs taken in turn, and is
the CPU time of this thread: another process busy on the machine does not count. Both
handlers first serve a few connections, as a running server has: Python 3.11
specializes a function's bytecode only after it has been called eight times (or its
loop has turned eight times, for some loops), and a handler runs once per connection.
"""

from __future__ import annotations

import os
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import minimal_server  # noqa: E402
from app.config import Config  # noqa: E402
from app.protocol import encode_command  # noqa: E402
from app.server import Connection  # noqa: E402
from app.state import ServerState  # noqa: E402

COMMANDS = int(os.environ.get("READ_LOOP_COMMANDS", 100_000))  # a multiple of 16
REPEAT = 7
WARM_UP = 8  # connections served before measuring


class FakeSocket:
    """Hands out the prepared reads, then end of file; swallows what is sent."""

    def __init__(self, reads: list[bytes]):
        self._reads = iter(reads)
        self._timeout = None

    def recv(self, _size: int) -> bytes:
        return next(self._reads, b"")

    def sendall(self, _data: bytes) -> None:
        pass

    def setsockopt(self, *_args) -> None:
        pass

    def settimeout(self, timeout) -> None:
        self._timeout = timeout

    def gettimeout(self):
        return self._timeout

    def getpeername(self):
        return ("127.0.0.1", 50000)

    def getsockname(self):
        return ("127.0.0.1", 6379)

    def fileno(self) -> int:
        return -1


def reads(name: str, per_read: int) -> list[bytes]:
    def command(n: int) -> list[bytes]:
        return [b"SET", b"key:%012d" % n, b"xxx"] if name == "set" else [b"GET", b"key:%012d" % n]
    return [b"".join(encode_command(command(i * per_read + j)) for j in range(per_read))
            for i in range(COMMANDS // per_read)]


def ours(state: ServerState, data: list[bytes]) -> float:
    connection = object.__new__(Connection)  # what socketserver would build, without its loop
    connection.request = FakeSocket(data)
    connection.server = types.SimpleNamespace(state=state)
    connection.setup()
    started = time.thread_time()
    connection.handle()
    elapsed = time.thread_time() - started
    state.clients.pop(connection.client.id)  # what `finish` does
    return elapsed


def minimal(data: list[bytes]) -> float:
    handler = object.__new__(minimal_server.Handler)
    handler.request = FakeSocket(data)
    started = time.thread_time()
    handler.handle()
    return time.thread_time() - started


def main() -> None:
    state = ServerState(Config())
    warm_up = reads("set", 16)[:8]
    for _ in range(WARM_UP):
        ours(state, warm_up)
        minimal(warm_up)
    for name in sys.argv[1:] or ["set", "get"]:
        for per_read in (1, 16):
            data = reads(name, per_read)
            best_ours = best_minimal = float("inf")
            for _ in range(REPEAT):
                best_ours = min(best_ours, ours(state, data))
                best_minimal = min(best_minimal, minimal(data))
            best_ours, best_minimal = best_ours / COMMANDS * 1e6, best_minimal / COMMANDS * 1e6
            print(f"{name.upper():3} {per_read:2} a read: ours {best_ours:5.2f} µs, minimal {best_minimal:5.2f} µs "
                  f"({best_ours / best_minimal:.2f}x)")


if __name__ == "__main__":
    main()
