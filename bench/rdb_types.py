"""RDB save and load, and AOF load, one data type at a time: our server next to a real
redis-server, filled the same way in the same run.

    python3 bench/rdb_types.py [--count 1000000] [--cases strings,list,...,aof] [--only ours|redis]
                               [--config name=value ...]

Cases (each with ``--count`` items, 1,000,000 by default):

- ``strings``: that many keys, each a 20-byte string;
- ``list``, ``hash``, ``set``, ``zset``: one key holding that many elements (the
  members are text, so a set is a hash table, not an intset);
- ``stream``: one stream of that many entries, one field each;
- ``aof``: that many SETs written to an AOF (appendonly yes, aof-use-rdb-preamble no,
  so the base is commands too), then loaded at a restart.

For every RDB case each server is filled through pipelined commands, then timed:

- SAVE: how long the command takes, seen from the client;
- load: a restart on the saved file, from the process' start until DBSIZE answers the
  full count (a server answers LOADING, or does not accept yet, meanwhile);
- DEBUG RELOAD: save and load again inside the running server.

Every server runs in a session of its own (``setsid``), its output thrown away, on a
free port of 127.0.0.1 and in a temporary directory. ``--config`` passes a parameter to
both servers, as ``--name value`` on their command lines (``--config rdbcompression=no``
shows what LZF costs each).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.protocol import encode_command
from tests.helpers import ROOT, RawConnection, free_port, redis_server_path

PER_COMMAND = 1000  # elements per RPUSH, HSET, SADD, ZADD
PER_BATCH = 1000  # commands sent before reading their replies
CASES = ("strings", "list", "hash", "set", "zset", "stream", "aof")


def fill_commands(case: str, count: int):
    """The commands that fill a server for ``case``, as RESP."""
    if case in ("strings", "aof"):
        for i in range(count):
            yield encode_command([b"SET", b"key:%d" % i, b"%-20d" % i])
        return
    if case == "stream":
        for i in range(count):
            yield encode_command([b"XADD", b"stream", b"%d-1" % (i + 1), b"field", b"value:%d" % i])
        return
    for start in range(0, count, PER_COMMAND):
        chunk = range(start, min(start + PER_COMMAND, count))
        if case == "list":
            yield encode_command([b"RPUSH", b"list", *(b"element:%d" % i for i in chunk)])
        elif case == "hash":
            yield encode_command([b"HSET", b"hash", *(part for i in chunk for part in (b"field:%d" % i, b"value:%d" % i))])
        elif case == "set":
            yield encode_command([b"SADD", b"set", *(b"member:%d" % i for i in chunk)])
        elif case == "zset":
            yield encode_command([b"ZADD", b"zset", *(part for i in chunk for part in (b"%d" % i, b"member:%d" % i))])


def key_count(case: str, count: int) -> int:
    return count if case in ("strings", "aof") else 1


def fill(port: int, case: str, count: int) -> None:
    with RawConnection(port, timeout=600) as connection:
        batch = []
        for command in fill_commands(case, count):
            batch.append(command)
            if len(batch) == PER_BATCH:
                _send_batch(connection, batch)
                batch = []
        if batch:
            _send_batch(connection, batch)
        reply = connection.call("DBSIZE")
        assert reply == b":%d\r\n" % key_count(case, count), reply


def _send_batch(connection: RawConnection, batch: list[bytes]) -> None:
    connection.send(b"".join(batch))
    for _ in batch:
        reply = connection.read_raw()
        assert not reply.startswith(b"-"), reply


CONFIG: list[str] = []  # --config's parameters, as command-line words for both servers


def argv(name: str, port: int, directory: str, aof: bool) -> list[str]:
    persistence = ["--save", "", "--appendonly", "yes" if aof else "no", "--aof-use-rdb-preamble", "no",
                   "--dir", directory, "--enable-debug-command", "yes", *CONFIG]
    if name == "ours":
        return [str(ROOT / "your_program.sh"), "--port", str(port), *persistence]
    return [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1", *persistence]


def start(name: str, directory: str, aof: bool, expected_keys: int) -> tuple[subprocess.Popen, int, float]:
    """A server on ``directory``'s files, in a session of its own; the seconds from its
    start until it accepts connections and DBSIZE says ``expected_keys``."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(argv(name, port, directory, aof), cwd=directory, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    expected = b":%d\r\n" % expected_keys
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            with RawConnection(port, timeout=600) as connection:
                while True:
                    reply = connection.call("DBSIZE")
                    if reply == expected:
                        return process, port, time.monotonic() - started
                    if not reply.startswith(b"-LOADING"):
                        raise RuntimeError(f"{name} answered DBSIZE with {reply!r}")
                    time.sleep(0.001)
        except (TimeoutError, ConnectionRefusedError):
            time.sleep(0.001)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(120)


def timed_call(port: int, *command: str) -> float:
    with RawConnection(port, timeout=600) as connection:
        started = time.monotonic()
        reply = connection.call(*command)
        assert reply == b"+OK\r\n", reply
        return time.monotonic() - started


def measure_rdb(name: str, case: str, count: int, directory: str) -> dict[str, float]:
    process, port, _ = start(name, directory, False, 0)
    try:
        fill(port, case, count)
        figures = {"SAVE": timed_call(port, "SAVE")}
    finally:
        stop(process)
    process, port, figures["load at start-up"] = start(name, directory, False, key_count(case, count))
    try:
        figures["DEBUG RELOAD"] = timed_call(port, "DEBUG", "RELOAD")
    finally:
        stop(process)
    return figures


def measure_aof(name: str, count: int, directory: str) -> dict[str, float]:
    process, port, _ = start(name, directory, True, 0)
    try:
        fill(port, "aof", count)
    finally:
        stop(process)  # SIGTERM: both servers flush and fsync the AOF before they exit
    process, _port, seconds = start(name, directory, True, count)
    stop(process)
    return {"AOF load at start-up": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--only", choices=["ours", "redis"])
    parser.add_argument("--config", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter for both servers (may be given again)")
    arguments = parser.parse_args()
    for setting in arguments.config:
        name, _, value = setting.partition("=")
        CONFIG.extend([f"--{name}", value])
    names = [arguments.only] if arguments.only else ["ours", "redis"]
    if "redis" in names and redis_server_path() is None:
        raise SystemExit("redis-server is not installed")
    cases = arguments.cases.split(",")
    rows = []
    for case in cases:
        results = {}
        for name in names:
            with tempfile.TemporaryDirectory(prefix=f"bench-rdb-{case}-{name}-") as directory:
                print(f"{case}: {name}...", file=sys.stderr, flush=True)
                if case == "aof":
                    results[name] = measure_aof(name, arguments.count, directory)
                else:
                    results[name] = measure_rdb(name, case, arguments.count, directory)
        for metric in results[names[0]]:
            rows.append((case, metric, [results[name][metric] for name in names]))
    settings = "".join(f"; {setting}" for setting in arguments.config)
    print(f"\n{arguments.count:,} items per case{settings}; seconds")
    header = f"| case | measure | {' | '.join(names)} |" + (" ours/redis |" if len(names) == 2 else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for case, metric, values in rows:
        line = f"| {case} | {metric} | " + " | ".join(f"{value:.3f}" for value in values) + " |"
        if len(values) == 2:
            line += f" {values[0] / values[1]:.2f} |"
        print(line)


if __name__ == "__main__":
    main()
