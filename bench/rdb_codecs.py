"""The speed of the RDB file's byte-level codecs in this server, in-process: LZF (which
Redis applies to every string over 20 bytes, a list's or stream's listpack nodes
included) and CRC-64 (the checksum at the end of every file).

    python3 bench/rdb_codecs.py [--count 1000000]

For a list of ``count`` elements (``element:<i>``, as bench/rdb_types.py fills one):
the time to lay out its listpack nodes, to LZF-compress and decompress them, and to
checksum them; and the checksum of a file of ``count`` 20-byte strings. Each figure is
the best of three, CPU time of this thread. bench/rdb_types.py gives the whole SAVE and
load times beside a real redis-server: these figures show what part of ours these
codecs take, as Redis' own SAVE of the same list writes the same bytes (LZF included)
in some 0.03 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.persistence import crc64, lzf, rdb  # noqa: E402
from app.store.list import ListValue  # noqa: E402


def best_of_three(action) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.thread_time()
        action()
        best = min(best, time.thread_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    count = parser.parse_args().count

    elements = ListValue(b"element:%d" % i for i in range(count))
    nodes = [node for _container, node in rdb.quicklist_nodes(elements, -2)]
    size = sum(map(len, nodes))
    packed = [lzf.compress(node, len(node) - 4) for node in nodes]
    layout = best_of_three(lambda: rdb.quicklist_nodes(elements, -2))
    compress = best_of_three(lambda: [lzf.compress(node, len(node) - 4) for node in nodes])
    decompress = best_of_three(lambda: [lzf.decompress(blob, len(node)) for blob, node in zip(packed, nodes)])
    whole = b"".join(nodes)
    checksum = best_of_three(lambda: crc64.crc64(whole))
    print(f"A list of {count:,} elements: {len(nodes):,} listpack nodes, {size / 1e6:.1f} MB, "
          f"{sum(map(len, packed)) / 1e6:.1f} MB once compressed")
    print("| step | seconds | MB/s |\n|---|---:|---:|")
    for step, seconds in (("lay out the nodes", layout), ("LZF compress", compress),
                          ("LZF decompress", decompress), ("CRC-64", checksum)):
        print(f"| {step} | {seconds:.2f} | {size / seconds / 1e6:,.1f} |")

    strings = rdb.dump([(0, {b"key:%d" % i: b"%-20d" % i for i in range(count)}, {})])
    checksum = best_of_three(lambda: crc64.crc64(strings))
    print(f"\nCRC-64 of the file of {count:,} 20-byte strings ({len(strings) / 1e6:.1f} MB): {checksum:.2f} s")


if __name__ == "__main__":
    main()
