"""What a little more Python per request costs this design without pipelining.

    python3 bench/convoy.py [--requests 200000] [--rounds 5] [--work 0,8,16,32,64] [--tests set,get]

The bare server (bench/minimal_server.py) is started once plainly and once per ``--work
N`` with N turns of an empty loop added to every read (with its lock held), our server
beside them, each in a session of its own (``setsid``), as a daemon runs. Each round
runs redis-benchmark ``-c 50`` on every server in turn; the table gives the medians over
the rounds, each server's ratio to the plain bare server, and how much Python time the
added loop takes per request (its CPU time in this process, alone: what it would cost
if no other thread wanted the GIL).

It shows the convoy: 50 threads, each waking from ``recv``, queue for the GIL; the
longer each holds it, the more of them queue and the more futex wake-ups and context
switches every request pays in the kernel. A fraction of a microsecond of Python per
request costs far more than its own time in requests per second. Our server's own extra
Python per request, beside the bare server's, is what bench/read_loop.py measures.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import ServerProcess, free_port, start_ours  # noqa: E402

MINIMAL_SERVER = Path(__file__).resolve().parent / "minimal_server.py"


def start_minimal(work: int) -> ServerProcess:
    port = free_port()
    extra = ["--work", str(work)] if work else []
    return ServerProcess(["python3", str(MINIMAL_SERVER), str(port), *extra], port, own_session=True)


def requests_per_second(port: int, test: str, requests: int) -> float | None:
    done = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(requests), "-t", test, "--csv"],
                          capture_output=True, text=True, timeout=600)
    for line in done.stdout.splitlines()[1:]:
        fields = [field.strip('"') for field in line.split(",")]
        if fields[0] == test.upper():
            return float(fields[1])
    return None


def loop_cost_us(work: int) -> float:
    """CPU time of what `Worked` adds to a read, ``for _ in range(work): pass``, in this
    thread alone, in µs: best of 5, less the measuring loop's own turn."""
    repeat = 20000
    span = range(work)
    best = float("inf")
    for _ in range(5):
        started = time.thread_time()
        for _ in range(repeat):
            for _ in span:
                pass
        middle = time.thread_time()
        for _ in range(repeat):
            pass
        best = min(best, (middle - started) - (time.thread_time() - middle))
    return max(best, 0.0) / repeat * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", default="0,8,16,32,64")
    parser.add_argument("--tests", default="set,get")
    options = parser.parse_args()
    works = [int(work) for work in options.work.split(",")]
    tests = options.tests.split(",")
    sides: dict[str, ServerProcess] = {}
    added: dict[str, str] = {}  # each side's "added Python µs per request" cell
    with tempfile.TemporaryDirectory() as scratch:
        try:
            for work in works:
                name = f"bare + {work} turns" if work else "bare"
                sides[name] = start_minimal(work)
                added[name] = f"{loop_cost_us(work):.2f}" if work else "0"
            added["ours"] = "see bench/read_loop.py"
            sides["ours"] = start_ours("--save", "", "--loglevel", "warning", cwd=scratch, own_session=True)
            samples: dict[tuple[str, str], list[float]] = {}
            for round_number in range(options.rounds):
                print(f"round {round_number + 1} of {options.rounds}", file=sys.stderr, flush=True)
                for test in tests:
                    for name, server in sides.items():
                        rps = requests_per_second(server.port, test, options.requests)
                        if rps is not None:
                            samples.setdefault((name, test), []).append(rps)
        finally:
            for server in sides.values():
                server.stop()
    base = {test: statistics.median(samples.get(("bare", test), [0.0])) or None for test in tests}
    print(f"redis-benchmark -c 50 -n {options.requests}, median of {options.rounds} rounds; "
          "requests/s (ratio to the bare server; lowest-highest)\n")
    print("| server | added Python µs per request | " + " | ".join(test.upper() for test in tests) + " |")
    print("|---|---:|" + "---:|" * len(tests))
    for name in sides:
        cells = []
        for test in tests:
            values = samples.get((name, test))
            if not values:
                cells.append("failed")
                continue
            rps = statistics.median(values)
            spread = f"{min(values):,.0f}-{max(values):,.0f}"
            cells.append(f"{rps:,.0f} ({rps / base[test]:.2f}; {spread})" if base[test] else f"{rps:,.0f} ({spread})")
        print(f"| {name} | {added[name]} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
