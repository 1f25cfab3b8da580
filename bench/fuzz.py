"""The long fuzzing run: a million inputs from many clients at once, against our server.

    python3 bench/fuzz.py [--inputs N] [--clients C] [--seed S]

The grammar, the mutations and the invariants are those of tests/test_fuzz_server.py
(whose docstring says what is generated and what is left out), driven here by a plain
`random.Random` per client instead of hypothesis, to send many more inputs. An input is
one command of a pipeline (well-formed, or before it was mutated). The seed is printed
first: the same seed and client count replay the same inputs (though not the same
interleaving of the clients).

Alongside the C fuzzing clients run a clean client that PINGs every 100 ms (the worst
latency is reported; over `PING_BOUND` seconds counts as a crash) and one that pipelines
2000 GETs of a 64 KB value and never reads the replies, reconnecting every 10 s.

At the end it prints the inputs sent, the crashes found (the server dead or not
answering, internal error replies by command with the first input that caused each,
tracebacks in the server's output), the server's peak resident memory (VmHWM) and the
worst PING latency. The exit status is 1 if a crash not listed in `KNOWN_BUGS` was found.
"""

from __future__ import annotations

import argparse
import random
import re
import socket
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.protocol import encode_command  # noqa: E402
from tests.test_fuzz_server import (  # noqa: E402
    BAD_LENGTHS, BIG_ALLOCATION, COMMON, GENERIC, HOSTILE_TAILS, KNOWN_BUGS, LENGTH_LINE, POOLS,
    RARE_ENTRIES, SHAPES, UNREAD_GETS, BIG_VALUE, Fuzzed, encode_inline, ping_latency, run_input, vm_kib,
)

KINDS = ("commands",) * 12 + ("mutated",) * 5 + ("hang-up",) * 3
INSERTS = (b"\r\n", b"\x00", b"*", b"$", b"-1", b'"', b"'", b"\\", b"\n")


class Generator:
    """Inputs drawn from the grammar with one `random.Random`."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.generic = [p for p, w in GENERIC for _ in range(w)]

    def argument(self, name: bytes) -> bytes:
        rng = self.rng
        if rng.randrange(21) == 0:
            return rng.randbytes(rng.randrange(13))
        pool = rng.choice(self.generic)
        if pool == "int" and name in BIG_ALLOCATION:
            pool = "safe_int"
        return rng.choice(POOLS[pool])

    def case(self, word: bytes) -> bytes:
        return self.rng.choice((word, word.upper(), word.capitalize()))

    def command(self) -> list[bytes]:
        rng = self.rng
        name, sub, least, more = rng.choice(COMMON) if rng.randrange(50) else rng.choice(RARE_ENTRIES)
        head = [self.case(name)] + ([self.case(sub)] if sub else [])
        shapes = SHAPES.get(name + b"|" + sub if sub else name)
        if shapes:
            args = []
            for slot in rng.choice(shapes):
                if isinstance(slot, bytes):
                    args.append(slot)
                elif slot.endswith("*"):
                    args += [rng.choice(POOLS[slot[:-1]]) for _ in range(rng.randrange(4))]
                else:
                    args.append(rng.choice(POOLS[slot]))
            return head + args
        count = rng.randrange(7) if rng.randrange(10) == 0 else least + (rng.randrange(5) if more else 0)
        return head + [self.argument(name) for _ in range(count)]

    def pipeline(self, most: int) -> tuple[bytes, int]:
        count = self.rng.randrange(1, most + 1)
        encode = lambda args: encode_inline(args) if self.rng.randrange(8) == 0 else encode_command(args)  # noqa: E731
        return b"".join(encode(self.command()) for _ in range(count)), count

    def mutate(self, data: bytes) -> bytes:
        rng = self.rng
        data = bytearray(data)
        for _ in range(rng.randrange(1, 5)):
            operation = rng.choice(("flip", "insert", "delete", "truncate", "length", "tail"))
            at = rng.randrange(len(data) + 1)
            if operation == "flip" and at < len(data):
                data[at] = rng.randrange(256)
            elif operation == "insert":
                data[at:at] = rng.choice(INSERTS) if rng.randrange(2) else rng.randbytes(rng.randrange(1, 9))
            elif operation == "delete":
                del data[at : at + rng.randrange(1, 9)]
            elif operation == "truncate":
                del data[at:]
            elif operation == "length":
                lines = list(LENGTH_LINE.finditer(data))
                if lines:
                    line = rng.choice(lines)
                    new = rng.choice(BAD_LENGTHS) if rng.randrange(2) else b"%d" % (int(line.group(2)) + rng.randrange(-3, 4))
                    data[line.start(2) : line.end(2)] = new
            else:
                data += rng.choice(HOSTILE_TAILS)
        return bytes(data)

    def split(self, data: bytes) -> list[bytes]:
        cuts = sorted(self.rng.randrange(len(data) + 1) for _ in range(self.rng.randrange(5)))
        return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)]) if b > a]

    def input(self) -> tuple[str, list[bytes], int]:
        """(kind, pieces to send, inputs it counts for)."""
        kind = self.rng.choice(KINDS)
        data, count = self.pipeline(40 if kind == "commands" else 8)
        if kind != "commands":
            data = self.mutate(data)
        return kind, self.split(data), count


class Run:
    def __init__(self, server: Fuzzed, total: int):
        self.server = server
        self.total = total
        self.sent = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.internal_errors: Counter[str] = Counter()
        self.first_input: dict[str, bytes] = {}
        self.crashes: list[str] = []
        self.worst_ping = 0.0
        self.pings = 0

    def claim(self, count: int) -> bool:
        with self.lock:
            if self.sent >= self.total:
                return False
            self.sent += count
            return True

    def fuzz(self, seed: int) -> None:
        generator = Generator(seed)
        while not self.done.is_set():
            kind, pieces, count = generator.input()
            if not self.claim(count):
                return
            try:
                received = run_input(self.server.port, kind, pieces, quiet=0.05, check=False)
            except OSError as error:
                self.crash(f"connection failed: {error!r}")
                continue
            for name in re.findall(rb"nternal error running '([^']*)'", received):
                name = name.decode(errors="replace")
                with self.lock:
                    self.internal_errors[name] += 1
                    self.first_input.setdefault(name, b"".join(pieces))

    def probe(self) -> None:
        while not self.done.wait(0.1):
            try:
                latency = ping_latency(self.server.port)
            except (AssertionError, OSError) as error:
                self.crash(f"clean PING failed: {error!r}")
                continue
            self.worst_ping = max(self.worst_ping, latency)
            self.pings += 1

    def never_read(self) -> None:
        while not self.done.is_set():
            with socket.create_connection(("127.0.0.1", self.server.port)) as sock:
                # Database 9: out of reach of the grammar's SWAPDB, so only a FLUSHALL
                # between the SET and the GETs can take the value away.
                sock.sendall(b"SELECT 9\r\n" + encode_command([b"SET", b"fuzz:big", BIG_VALUE]) + UNREAD_GETS)
                self.done.wait(10)

    def crash(self, what: str) -> None:
        with self.lock:
            self.crashes.append(what)
        if self.server.process.process.poll() is not None:
            self.crashes.append(f"server exited with {self.server.process.process.returncode}")
            self.done.set()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None)
    options = parser.parse_args()
    seed = options.seed if options.seed is not None else random.randrange(2**32)
    print(f"seed {seed}  clients {options.clients}  inputs {options.inputs}", flush=True)

    server = Fuzzed()
    run = Run(server, options.inputs)
    started = time.monotonic()
    workers = [threading.Thread(target=run.fuzz, args=(seed + i,)) for i in range(options.clients)]
    helpers = [threading.Thread(target=run.probe, daemon=True), threading.Thread(target=run.never_read, daemon=True)]
    for thread in workers + helpers:
        thread.start()
    while any(worker.is_alive() for worker in workers):
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                break
        elapsed = time.monotonic() - started
        if server.process.process.poll() is None:
            print(f"{elapsed:6.0f}s  {run.sent:>9} inputs  {run.sent / elapsed:7.0f}/s  "
                  f"RSS {vm_kib(server.pid) / 1024:.0f} MiB  worst PING {run.worst_ping * 1000:.0f} ms", flush=True)
    run.done.set()
    elapsed = time.monotonic() - started
    alive = server.process.process.poll() is None
    peak = vm_kib(server.pid, "VmHWM") / 1024 if alive else float("nan")
    log = server.stop()
    tracebacks = log.count("Traceback")
    logged = Counter(re.findall(r"Internal error running '([^']*)'", log))

    print(f"\ninputs sent        {run.sent} in {elapsed:.0f}s ({run.sent / elapsed:.0f}/s), seed {seed}")
    print(f"server             {'alive' if alive else 'DEAD'} at the end")
    print(f"peak RSS (VmHWM)   {peak:.0f} MiB")
    print(f"worst clean PING   {run.worst_ping * 1000:.1f} ms over {run.pings} probes")
    print(f"tracebacks logged  {tracebacks} ({sum(logged.values())} of them internal errors)")
    unknown = [name for name in set(run.internal_errors) | set(logged) if name not in KNOWN_BUGS]
    crashes = len(run.crashes) + len(unknown) + (tracebacks - sum(logged.values())) + (not alive)
    print(f"crashes found      {crashes} (not counting {sum(n for k, n in run.internal_errors.items() if k in KNOWN_BUGS)}"
          f" internal errors of known bugs)")
    for what in run.crashes[:20]:
        print(f"  {what}")
    for name, count in run.internal_errors.most_common():
        known = "known bug" if name in KNOWN_BUGS else "NEW"
        print(f"  internal error running '{name}' x{count} ({known}); first input: {run.first_input[name]!r}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
