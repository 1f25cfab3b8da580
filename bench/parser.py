"""In-process cost of the hot path's pure parts, in microseconds per command.

    python3 bench/parser.py

Parses the bytes redis-benchmark sends (SET key:<n> <3 bytes>, GET key:<n>) alone and 16
to a read, with the fast path (`_split_arrays`) and with the exact parser alone, then
runs the same commands through the dispatcher (`execute`) and the RESP2 encoder. These
figures name where the time of a pipelined request goes; they are not a test.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.protocol import ENCODERS, RequestParser, encode_command  # noqa: E402


def per_command(function, commands: int, repeat: int = 5) -> float:
    """The best of ``repeat`` runs of ``function``, in µs per command."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best / commands * 1e6


def parse_cost(reads: list[bytes], per_read: int) -> float:
    def run():
        parser = RequestParser()
        for data in reads:
            parser.parse(data)
    return per_command(run, len(reads) * per_read)


def main() -> None:
    rounds = 20000
    for name, make in (("SET", lambda n: [b"SET", b"key:%012d" % n, b"xxx"]), ("GET", lambda n: [b"GET", b"key:%012d" % n])):
        for batch in (1, 16):
            reads = [b"".join(encode_command(make(i * batch + j)) for j in range(batch)) for i in range(rounds // batch)]
            fast = parse_cost(reads, batch)
            with mock.patch("app.protocol._split_arrays", lambda data, commands: 0):
                exact = parse_cost(reads, batch)
            print(f"parse {name:3} x{batch:<2}  fast path {fast:5.2f} µs   exact parser {exact:5.2f} µs   ({exact / fast:.1f}x)")
    from app.config import Config  # noqa: E402  (after the parser figures: importing the server is slow)
    from app.client import Client
    from app.dispatch import execute
    from app.state import ServerState

    state = ServerState(Config())
    client = Client(state, 1, "127.0.0.1:1", "127.0.0.1:2", -1, close=lambda: None)
    encoder = ENCODERS[2]
    for name, make in (("SET", lambda n: [b"SET", b"key:%012d" % n, b"xxx"]), ("GET", lambda n: [b"GET", b"key:%012d" % n])):
        commands = [make(i) for i in range(rounds)]
        cost = per_command(lambda: [encoder.encode(execute(client, argv)) for argv in commands], rounds)
        print(f"execute+encode {name}  {cost:5.2f} µs")


if __name__ == "__main__":
    main()
