"""How long clients wait while active expiry reclaims a million keys: every PING, not only
the worst one that bench/report.py shows.

    python3 bench/expiry_pauses.py [KEYS]       (default 1,000,000)

Runs bench/report.py's expiry measurement on our server alone (keys set with PX 1000
while active expiry is off, then turned on while a client PINGs without pause) and
prints the reclaim time, the longest round trips and how many took over 2 and 5 ms.
Before the expiry cycle paused every 2 ms (app/store/keyspace.py), a PING arriving
during a cycle waited for all of it: 248 PINGs of about 25 ms for a million keys.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import report  # noqa: E402
from tests.helpers import start_ours  # noqa: E402


def main() -> None:
    keys = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as folder, \
            start_ours("--save", "", "--enable-debug-command", "local", cwd=folder, own_session=True) as ours:
        result = report.measure_expiry(ours.port, keys, timeout=120)
    trips = sorted(result["round_trips"], reverse=True)
    print(f"{result['waiting']:,} keys reclaimed in {result['seconds']:.2f} s ({result['left']:,} left); "
          f"{len(trips):,} PINGs, median {result['median_ms']:.2f} ms")
    print("longest (ms):", ", ".join(f"{trip * 1000:.1f}" for trip in trips[:10]))
    print(f"over 2 ms: {sum(trip > 0.002 for trip in trips)}, over 5 ms: {sum(trip > 0.005 for trip in trips)}")


if __name__ == "__main__":
    main()
