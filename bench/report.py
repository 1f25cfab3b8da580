"""One report of our server next to a real redis-server, both measured in the same run.

    python3 bench/report.py                        every section at full size (some 15 minutes)
    python3 bench/report.py --smoke                tiny sizes: proves every section runs, in seconds
    python3 bench/report.py --only memory,expiry   some sections only
    python3 bench/report.py --requests 20000 --rounds 1 --memory 200000 --expiry 200000

Prints a Markdown report and writes it to --out (bench/report.md), and a PNG chart to
--chart (bench/report.png) when matplotlib is importable (`pip install .[bench]`).
Sections, each with its goal, ours / redis. Throughput, latency and memory also measure a
third side, "minimal": bench/minimal_server.py, a bare-minimum threaded RESP server of
our design (one thread per connection, one lock, a dict), the yardstick the issue asks
ours to beat. It runs only the tests and kinds it supports (MINIMAL_TESTS,
MINIMAL_KINDS) and is never judged against a goal; it shows whether a goal is within
reach of the design at all. Expiry and connections are ours and redis only.

  throughput   redis-benchmark, one test per run, at -c 50 and at -c 50 -P 16, ROUNDS
               rounds alternating ours and redis, medians of requests/sec. The servers are
               flushed before each mode of each round and then run the same tests in the
               same order, so they hold the same data: `-t lrange_100` alone first LPUSHes
               -n elements onto `mylist` itself ("LPUSH (needed to benchmark LRANGE)",
               left out of the table), and LPOP/RPOP/SPOP/ZPOPMIN pop what the tests before
               them pushed. The minimal server runs after redis, on MINIMAL_TESTS only.
               Goal: ratio >= 0.55 for SET/GET and >= 0.45 for the others at -c 50; >= 0.20
               and >= 0.15 at -P 16. The summary adds the yardstick: the medians of
               minimal / redis and of ours / minimal over the tests the minimal server ran.
  latency      p50 and p99 of SET and GET at -c 50, from the throughput runs (or runs of
               their own when throughput is not measured), minimal's beside. Goal: at most
               3 times redis'.
  memory       resident memory (VmRSS) growth per element when filling a fresh server with
               N string keys (SET key:<i> <10 bytes>) or one N-element list, hash, set or
               sorted set, pipelined; redis' used_memory beside, and minimal's RSS growth
               (all but the sorted set): what plain Python objects take for the same
               data. Goal: ratio <= 1.5. And
               the CPU time (utime + stime) each server uses while idle. Goal: ours < 1%.
  expiry       N keys set with PX 1000 while active expiry is off (DEBUG SET-ACTIVE-EXPIRE
               0: loading takes ours longer than the TTL), then, once every TTL has passed,
               expiry back on and DBSIZE polled every 100 ms until 0, while another client
               PINGs without pause. Goal: all reclaimed within 10 s, worst PING <= 25 ms.
  connections  redis-benchmark -c 50 SET and GET with and without N idle connections open
               (bench/connections.py's IdleConnections). Goal: no error.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app.protocol import encode_command  # noqa: E402
from connections import (  # noqa: E402
    SPARE_DESCRIPTORS,
    IdleConnections,
    close_all,
    proc_status,
    raise_open_file_limit,
)
from memory import PER_BATCH, PER_COMMAND, rss_kib, used_memory, zset_commands  # noqa: E402
from tests.helpers import (  # noqa: E402
    RawConnection,
    ServerProcess,
    free_port,
    start_ours,
    start_reference,
)

SECTIONS = ("throughput", "latency", "memory", "expiry", "connections")
ALL_TESTS = "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange_100,lrange_300,mset"
SIZES = {
    "full": dict(requests=100_000, rounds=3, tests=ALL_TESTS, memory=1_000_000, kinds="string,list,hash,set,zset",
                 idle_seconds=10.0, expiry=1_000_000, connections=2000),
    "smoke": dict(requests=2000, rounds=1, tests="set,get", memory=10_000, kinds="string,list,hash,set,zset",
                  idle_seconds=1.0, expiry=10_000, connections=200),
}
SIDES = ("ours", "redis")  # the sides every section measures and judges
MINIMAL = "minimal"  # bench/minimal_server.py, the yardstick of our design
MINIMAL_SERVER = Path(__file__).resolve().parent / "minimal_server.py"
# The redis-benchmark tests and memory kinds the minimal server has commands for. As the
# tests come first in ALL_TESTS, it holds the same data as the others when it runs them.
MINIMAL_TESTS = ("ping", "set", "get", "incr", "lpush", "rpush", "lpop", "rpop")
MINIMAL_KINDS = ("string", "list", "hash", "set")
BENCHMARK_TIMEOUT = 900

# Throughput goals, ours / redis: (SET and GET, every other test) per mode.
THROUGHPUT_GOALS = {"unpipelined": (0.55, 0.45), "pipelined": (0.20, 0.15)}
LATENCY_GOAL = 3.0  # ours' p50 and p99 at most this many times redis'
MEMORY_GOAL = 1.5  # ours' RSS per element at most this many times redis'
IDLE_CPU_GOAL = 1.0  # percent of one core
EXPIRY_SECONDS_GOAL = 10.0
WORST_PING_GOAL_MS = 25.0
EXPIRY_TTL_MS = 1000
CONNECTION_TESTS = ("set", "get")


def progress(message: str) -> None:
    """Progress goes to standard error; standard output carries only the report."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def start_minimal() -> ServerProcess:
    """bench/minimal_server.py on a free port, answering once started. It runs as python3
    itself (no shell between), so its pid is the one whose RSS and CPU time count."""
    port = free_port()
    return ServerProcess(["python3", str(MINIMAL_SERVER), str(port)], port, own_session=True)


@contextmanager
def servers(*args: str, minimal: bool = False):
    """Ours and a real redis-server, fresh, on free ports, DEBUG allowed from localhost;
    with ``minimal``, the minimal server too (it ignores ``args``)."""
    common = ("--enable-debug-command", "local", "--loglevel", "warning", *args)
    with tempfile.TemporaryDirectory() as ours_dir, tempfile.TemporaryDirectory() as redis_dir, \
            start_ours("--save", "", *common, cwd=ours_dir, own_session=True) as ours, \
            start_reference(*common, cwd=redis_dir, own_session=True) as redis, \
            (start_minimal() if minimal else nullcontext()) as bare:
        yield {"ours": ours, "redis": redis} | ({MINIMAL: bare} if minimal else {})


def median(values: list) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


def ratio(ours: float | None, redis: float | None) -> float | None:
    return ours / redis if ours is not None and redis else None


def cell(value: float | None, spec: str = ",.0f", unit: str = "") -> str:
    return "ERR" if value is None else f"{value:{spec}}{unit}"


def table(header: list[str], align: str, rows: list[list[str]]) -> list[str]:
    """A Markdown table; ``align`` has one letter per column, l or r."""
    rule = ["---" if a == "l" else "---:" for a in align]
    return [f"| {' | '.join(row)} |" for row in (header, rule, *rows)]


class Section:
    """A section of the report: its Markdown, its goals met and missed, and the numbers
    the chart draws."""

    def __init__(self, title: str, intro: str):
        self.lines = [f"## {title}", "", intro, ""]
        self.title = title
        self.met = 0
        self.goals = 0
        self.summary: list[str] = []  # lines for the report's summary besides the goals met
        self.chart: dict = {}

    def judge(self, met: bool) -> str:
        """Count a goal, met or not, and say which for the table."""
        self.goals += 1
        self.met += met
        return "yes" if met else "**no**"


# --------------------------------------------------------------------------- throughput and latency


def expected_names(test: str) -> list[str]:
    """The rows redis-benchmark --csv prints for ``-t test``: ping is two tests."""
    return ["PING_INLINE", "PING_MBULK"] if test == "ping" else [test.upper()]


def redis_benchmark(port: int, test: str, requests: int, clients: int, pipeline: int) -> dict[str, dict | None]:
    """One redis-benchmark run: {test name: {rps, p50, p99}} for each expected row, None
    for a row missing (a failed run). The LPUSH an LRANGE test fills its list with is
    left out."""
    argv = ["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", str(requests), "-t", test, "--csv"]
    if pipeline > 1:
        argv += ["-P", str(pipeline)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=BENCHMARK_TIMEOUT)
        output, failed = done.stdout, done.returncode != 0
    except subprocess.TimeoutExpired:
        output, failed, done = "", True, None
    results: dict[str, dict | None] = dict.fromkeys(expected_names(test))
    for record in csv.DictReader(io.StringIO(output)):
        name = record["test"].split()[0]
        if "(needed" in record["test"] or name not in results:
            continue
        results[name] = {"rps": float(record["rps"]), "p50": float(record["p50_latency_ms"]),
                         "p99": float(record["p99_latency_ms"])}
    if failed or None in results.values():
        detail = "timed out" if done is None else (done.stdout + done.stderr).strip()[-500:]
        progress(f"redis-benchmark {' '.join(argv[1:])} failed: {detail}")
        if failed:
            results = dict.fromkeys(results)
    return results


def run_benchmarks(ports: dict[str, int], tests: list[str], modes: list[tuple[str, str, int]],
                   options: argparse.Namespace) -> dict:
    """{(test name, mode): {side: [one result per round]}}: each test run on ours, then on
    redis, then on the minimal server if it supports the test (otherwise that side has no
    entry), ROUNDS rounds of every mode, every server flushed before each mode."""
    samples: dict = {}
    for number in range(1, options.rounds + 1):
        for mode, label, pipeline in modes:
            progress(f"throughput round {number}/{options.rounds}, {label}")
            for port in ports.values():
                with RawConnection(port, timeout=60) as connection:
                    connection.call("FLUSHALL")
            for test in tests:
                for side, port in ports.items():
                    if side == MINIMAL and test not in MINIMAL_TESTS:
                        continue
                    results = redis_benchmark(port, test, options.requests, options.clients, pipeline)
                    for name, result in results.items():
                        samples.setdefault((name, mode), {}).setdefault(side, []).append(result)
    return samples


def figure(samples: dict, key: tuple[str, str], side: str, field: str) -> float | None:
    """The median of ``field`` over the rounds; None if every run failed or the side never ran."""
    return median([None if result is None else result[field] for result in samples[key].get(side, [])])


def minimal_cell(measured: bool, value: float | None, spec: str = ",.0f") -> str:
    """A cell of the minimal server's: "-" where it was not measured (a test or kind it
    has no commands for), ERR where it failed."""
    return cell(value, spec) if measured else "-"


def modes_of(options: argparse.Namespace) -> list[tuple[str, str, int]]:
    return [("unpipelined", f"-c {options.clients}", 1),
            ("pipelined", f"-c {options.clients} -P {options.pipeline}", options.pipeline)]


def benchmark_pair(tests: list[str], modes: list[tuple[str, str, int]], options: argparse.Namespace) -> dict:
    with servers(minimal=True) as started:
        return run_benchmarks({side: server.port for side, server in started.items()}, tests, modes, options)


def benchmark_sections(options: argparse.Namespace) -> dict[str, Section]:
    """Throughput and latency share their redis-benchmark runs; latency alone needs only
    SET and GET without pipelining."""
    sections = {}
    throughput = "throughput" in options.only
    tests = options.tests if throughput else ["set", "get"]
    samples = benchmark_pair(tests, modes_of(options) if throughput else modes_of(options)[:1], options)
    if throughput:
        sections["throughput"] = throughput_section(samples, options)
    if "latency" in options.only:
        dedicated = not {"set", "get"} & set(tests)
        if dedicated:
            samples = benchmark_pair(["set", "get"], modes_of(options)[:1], options)
        sections["latency"] = latency_section(samples, options, dedicated)
    return sections


def throughput_section(samples: dict, options: argparse.Namespace) -> Section:
    labels = {mode: label for mode, label, _ in modes_of(options)}
    section = Section("Throughput", (
        f"redis-benchmark -n {options.requests:,}, one test per run, {options.rounds} round(s) alternating "
        f"ours, redis and minimal, median requests/sec. Goal, ours / redis: SET and GET >= "
        f"{THROUGHPUT_GOALS['unpipelined'][0]}, others >= {THROUGHPUT_GOALS['unpipelined'][1]} at "
        f"{labels['unpipelined']}; >= {THROUGHPUT_GOALS['pipelined'][0]} and >= "
        f"{THROUGHPUT_GOALS['pipelined'][1]} at {labels['pipelined']}. LRANGE tests fill `mylist` "
        f"with their own LPUSH first (not shown). \"minimal\" is bench/minimal_server.py, a bare-minimum "
        f"threaded RESP server of our design (one lock, a dict) and its yardstick: minimal / redis shows "
        f"what the design reaches at best, ours / minimal what our features cost (\"-\": a test it lacks)."))
    rows, bars = [], []
    for mode in THROUGHPUT_GOALS:
        for name, key_mode in samples:
            if key_mode != mode:
                continue
            ours, redis, minimal = (figure(samples, (name, mode), side, "rps") for side in (*SIDES, MINIMAL))
            goal = THROUGHPUT_GOALS[mode][0 if name in ("SET", "GET") else 1]
            share = ratio(ours, redis)
            measured = MINIMAL in samples[name, mode]
            rows.append([name, labels[mode], cell(ours), cell(redis), cell(share, ".2f"), f">= {goal}",
                         section.judge(share is not None and share >= goal), minimal_cell(measured, minimal),
                         minimal_cell(measured, ratio(minimal, redis), ".2f"),
                         minimal_cell(measured, ratio(ours, minimal), ".2f")])
            bars.append((name, mode, share, goal, ratio(minimal, redis) if measured else None))
    section.lines += table(["test", "mode", "ours rps", "redis rps", "ours / redis", "goal", "met", "minimal rps",
                            "minimal / redis", "ours / minimal"], "llrrrrlrrr", rows)
    section.summary = [yardstick(samples, labels)]
    section.chart = {"bars": bars}
    return section


def yardstick(samples: dict, labels: dict[str, str]) -> str:
    """The summary's line on the minimal server: per mode, the median over the tests it ran
    of minimal / redis, and of ours / minimal."""
    minimal_of_redis, ours_of_minimal = {}, {}  # mode: [one ratio per test]
    for (name, mode), sides in samples.items():
        if MINIMAL in sides:
            ours, redis, minimal = (figure(samples, (name, mode), side, "rps") for side in (*SIDES, MINIMAL))
            minimal_of_redis.setdefault(mode, []).append(ratio(minimal, redis))
            ours_of_minimal.setdefault(mode, []).append(ratio(ours, minimal))
    if not minimal_of_redis:
        return "- Yardstick: the minimal server ran none of the tests measured"
    reached, ours = ({mode: cell(median(shares.get(mode, [])), ".2f") for mode in THROUGHPUT_GOALS}
                     for shares in (minimal_of_redis, ours_of_minimal))
    return (f"- Yardstick: the minimal server reaches {reached['unpipelined']} of redis at {labels['unpipelined']} "
            f"and {reached['pipelined']} at {labels['pipelined']} (medians over the tests it ran); ours reaches "
            f"{ours['unpipelined']} and {ours['pipelined']} of the minimal server")


def latency_section(samples: dict, options: argparse.Namespace, dedicated: bool) -> Section:
    source = "runs of their own" if dedicated else "the throughput runs"
    section = Section("Latency", (
        f"p50 and p99 in ms at -c {options.clients} (no pipeline), from {source}, medians over "
        f"{options.rounds} round(s), the minimal server's beside. Goal: ours at most {LATENCY_GOAL:g} "
        f"times redis'."))
    rows, bars = [], []
    for name in ("SET", "GET"):
        key = (name, "unpipelined")
        if key not in samples:
            continue
        figures = {(side, field): figure(samples, key, side, field)
                   for side in (*SIDES, MINIMAL) for field in ("p50", "p99")}
        row = [name]
        for field in ("p50", "p99"):
            times = ratio(figures["ours", field], figures["redis", field])
            row += [cell(figures["ours", field], ".3f"), cell(figures["redis", field], ".3f"),
                    minimal_cell(MINIMAL in samples[key], figures[MINIMAL, field], ".3f"),
                    cell(times, ".2f", "x"), section.judge(times is not None and times <= LATENCY_GOAL)]
            bars.append((f"{name} {field}", times))
        rows.append(row)
    section.lines += table(["test", "ours p50", "redis p50", "minimal p50", "ours / redis", "met",
                            "ours p99", "redis p99", "minimal p99", "ours / redis", "met"], "lrrrrlrrrrl", rows)
    section.chart = {"bars": bars}
    return section


# --------------------------------------------------------------------------- memory and idle CPU


def send_pipelined(port: int, commands) -> None:
    """Send ``commands`` in batches of PER_BATCH, reading each batch's replies before the
    next. Every reply here is one line (+OK, :n, or an error), so counting line ends is
    enough; the size checked afterwards shows whether they succeeded."""
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        batch: list[bytes] = []

        def flush() -> None:
            sock.sendall(b"".join(batch))
            lines = 0
            while lines < len(batch):
                data = sock.recv(1 << 16)
                if not data:
                    raise ConnectionError("server closed the connection")
                lines += data.count(b"\n")
            batch.clear()

        for command in commands:
            batch.append(command)
            if len(batch) == PER_BATCH:
                flush()
        if batch:
            flush()


def value_of(i: int) -> bytes:
    return b"v%09d" % i  # 10 bytes


def string_commands(count: int):
    for i in range(count):
        yield encode_command([b"SET", b"key:%07d" % i, value_of(i)])


def grouped(count: int, head: list[bytes], items):
    """Commands of PER_COMMAND items each: ``head`` followed by the items' arguments."""
    for start in range(0, count, PER_COMMAND):
        args = list(head)
        for i in range(start, min(start + PER_COMMAND, count)):
            args += items(i)
        yield encode_command(args)


MEMORY_KINDS = {
    # kind: (commands for count elements, the command that counts them)
    "string": (string_commands, [b"DBSIZE"]),
    "list": (lambda n: grouped(n, [b"RPUSH", b"big"], lambda i: [value_of(i)]), [b"LLEN", b"big"]),
    "hash": (lambda n: grouped(n, [b"HSET", b"big"], lambda i: [b"field:%07d" % i, value_of(i)]), [b"HLEN", b"big"]),
    "set": (lambda n: grouped(n, [b"SADD", b"big"], lambda i: [b"member:%07d" % i]), [b"SCARD", b"big"]),
    "zset": (zset_commands, [b"ZCARD", b"big"]),
}


def integer_reply(port: int, *args) -> int:
    with RawConnection(port, timeout=60) as connection:
        reply = connection.call(*args)
    if not reply.startswith(b":"):
        raise RuntimeError(f"{args} answered {reply!r}")
    return int(reply[1:])


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process in clock ticks, from /proc/<pid>/stat (the fields after
    the command name, which may hold spaces and parentheses)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def memory_section(options: argparse.Namespace) -> Section:
    section = Section("Memory", (
        f"Resident memory (VmRSS) growth per element of a fresh server filled with {options.memory:,} "
        f"elements, pipelined ({PER_BATCH} commands a batch, {PER_COMMAND} elements a command for the "
        f"collections); values are 10 bytes. redis' used_memory growth beside. The minimal server's "
        f"RSS growth is what plain Python objects take for the same data (a dict of bytes, a deque, "
        f"a dict, a set; it has no sorted set). Goal: ours / redis RSS <= {MEMORY_GOAL}."))
    rows, bars = [], []
    for kind in options.kinds:
        commands, size = MEMORY_KINDS[kind]
        progress(f"memory: {options.memory:,} elements of {kind}")
        with servers(minimal=kind in MINIMAL_KINDS) as started:
            per_element, seconds, used = dict.fromkeys((*SIDES, MINIMAL)), {}, None
            for side, server in started.items():
                integer_reply(server.port, "DBSIZE")  # started and serving
                before = rss_kib(server.process.pid)
                used_before = used_memory(server.port) if side == "redis" else 0
                started = time.monotonic()
                send_pipelined(server.port, commands(options.memory))
                seconds[side] = time.monotonic() - started
                held = integer_reply(server.port, *size)
                if held != options.memory:
                    raise RuntimeError(f"{side} holds {held} {kind} elements, not {options.memory}")
                per_element[side] = (rss_kib(server.process.pid) - before) * 1024 / options.memory
                if side == "redis":
                    used = (used_memory(server.port) - used_before) / options.memory
        share = ratio(per_element["ours"], per_element["redis"])
        measured = MINIMAL in seconds
        rows.append([kind, f"{options.memory:,}", cell(per_element["ours"], ".1f"), cell(per_element["redis"], ".1f"),
                     minimal_cell(measured, per_element[MINIMAL], ".1f"), cell(used, ".1f"), cell(share, ".2f"),
                     f"<= {MEMORY_GOAL}", section.judge(share is not None and share <= MEMORY_GOAL),
                     minimal_cell(measured, ratio(per_element[MINIMAL], per_element["redis"]), ".2f"),
                     " / ".join(f"{seconds[side]:.1f} s" if side in seconds else "-" for side in (*SIDES, MINIMAL))])
        bars.append((kind, per_element["ours"], per_element["redis"], per_element[MINIMAL]))
    section.lines += table(["type", "elements", "ours B/element", "redis B/element", "minimal B/element",
                            "redis used_memory B/element", "ours / redis", "goal", "met", "minimal / redis",
                            "fill time ours / redis / minimal"], "lrrrrrrrlrl", rows)

    progress(f"idle CPU over {options.idle_seconds:g} s")
    with servers() as pair:
        time.sleep(1.0)  # past start-up
        before = {side: cpu_ticks(server.process.pid) for side, server in pair.items()}
        time.sleep(options.idle_seconds)
        used = {side: (cpu_ticks(server.process.pid) - before[side]) / os.sysconf("SC_CLK_TCK")
                for side, server in pair.items()}
    percent = {side: 100 * used[side] / options.idle_seconds for side in SIDES}
    section.lines += ["", f"Idle CPU: utime + stime of each fresh, empty server over {options.idle_seconds:g} s "
                          f"of idle (clock ticks of {1000 / os.sysconf('SC_CLK_TCK'):g} ms). "
                          f"Goal: ours < {IDLE_CPU_GOAL:g}%.", ""]
    section.lines += table(["server", "CPU time", "CPU %", "goal", "met"], "lrrll", [
        ["ours", f"{used['ours'] * 1000:.0f} ms", f"{percent['ours']:.2f}%", f"< {IDLE_CPU_GOAL:g}%",
         section.judge(percent["ours"] < IDLE_CPU_GOAL)],
        ["redis", f"{used['redis'] * 1000:.0f} ms", f"{percent['redis']:.2f}%", "-", "-"],
    ])
    section.chart = {"bars": bars, "idle_cpu": percent}
    return section


# --------------------------------------------------------------------------- active expiry


class Pinger(threading.Thread):
    """PINGs one server without pause on a connection of its own, keeping every round trip."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.stopping = threading.Event()
        self.round_trips: list[float] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.perf_counter()
            self.sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                reply += self.sock.recv(64)
            self.round_trips.append(time.perf_counter() - started)

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        self.sock.close()


def measure_expiry(port: int, count: int, timeout: float) -> dict:
    with RawConnection(port, timeout=60) as control:
        control.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        started = time.monotonic()
        send_pipelined(port, (encode_command([b"SET", b"key:%07d" % i, value_of(i), b"PX", b"%d" % EXPIRY_TTL_MS])
                              for i in range(count)))
        loaded = time.monotonic()
        waiting = int(control.call("DBSIZE")[1:])
        time.sleep(max(0.0, loaded + EXPIRY_TTL_MS / 1000 + 0.05 - time.monotonic()))  # every TTL passed
        pinger = Pinger(port)
        pinger.start()
        try:
            expiring = time.monotonic()
            control.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
            left = waiting
            while left and time.monotonic() - expiring < timeout:
                time.sleep(0.1)
                left = int(control.call("DBSIZE")[1:])
            reclaimed = time.monotonic() - expiring
        finally:
            pinger.stop()
    trips = pinger.round_trips or [float("nan")]
    return {"load": loaded - started, "waiting": waiting, "left": left, "seconds": reclaimed,
            "worst_ms": max(trips) * 1000, "median_ms": statistics.median(trips) * 1000,
            "pings": len(pinger.round_trips), "round_trips": pinger.round_trips}


def expiry_section(options: argparse.Namespace) -> Section:
    section = Section("Active expiry", (
        f"{options.expiry:,} keys set with PX {EXPIRY_TTL_MS}, pipelined, while active expiry is off "
        f"(DEBUG SET-ACTIVE-EXPIRE 0); once every TTL has passed it is turned back on and DBSIZE polled "
        f"every 100 ms until 0, while another client PINGs without pause. Goal: all reclaimed within "
        f"{EXPIRY_SECONDS_GOAL:g} s, worst PING <= {WORST_PING_GOAL_MS:g} ms. Redis' slow expiry cycle "
        f"may itself run 25 ms (25% of each 100 ms at hz 10), so its worst PING sits near that goal."))
    results = {}
    with servers() as pair:
        for side, server in pair.items():
            progress(f"expiry: {options.expiry:,} keys on {side}")
            results[side] = measure_expiry(server.port, options.expiry, options.expiry_timeout)
    rows = []
    for side, result in results.items():
        reclaimed = result["left"] == 0
        took = f"{result['seconds']:.2f} s" if reclaimed else f"{result['left']:,} left after {result['seconds']:.0f} s"
        rows.append([side, f"{result['load']:.1f} s", f"{result['waiting']:,}", took,
                     section.judge(reclaimed and result["seconds"] <= EXPIRY_SECONDS_GOAL),
                     f"{result['worst_ms']:.1f} ms", f"{result['median_ms']:.2f} ms", f"{result['pings']:,}",
                     section.judge(result["worst_ms"] <= WORST_PING_GOAL_MS)])
    section.lines += table(["server", "load time", "keys to reclaim", "reclaimed in", "met", "worst PING",
                            "median PING", "PINGs", "met"], "lrrrlrrrl", rows)
    section.chart = {"results": results}
    return section


# --------------------------------------------------------------------------- idle connections


def rps_of(port: int, test: str, options: argparse.Namespace) -> float | None:
    result = redis_benchmark(port, test, options.requests, options.clients, 1)[test.upper()]
    return None if result is None else result["rps"]


def connections_section(options: argparse.Namespace) -> Section:
    count = options.connections
    section = Section("Connections", (
        f"redis-benchmark -c {options.clients} -n {options.requests:,}, median of {options.rounds} round(s), "
        f"without and with {count:,} idle connections open (each proven served by a PING before and "
        f"after). Goal: no error."))
    raise_open_file_limit(2 * count + options.clients + SPARE_DESCRIPTORS)
    maxclients = str(max(10_000, count + options.clients + 100))
    rates = {(test, side, held): [] for test in CONNECTION_TESTS for side in SIDES for held in (0, count)}
    errors: list[str] = []
    cost = ""  # what the idle connections cost, once measured
    with servers("--maxclients", maxclients) as pair:
        for held in (0, count):
            progress(f"connections: benchmark with {held:,} idle connections open")
            idle = {}
            try:
                for side, server in pair.items():
                    idle[side] = IdleConnections(server.port, held)
                if held:
                    rss = {side: proc_status(server.process.pid, "VmRSS") / 1024 for side, server in pair.items()}
                    cost = (f"With {held:,} idle connections open: ours' RSS {rss['ours']:.1f} MiB "
                            f"({proc_status(pair['ours'].process.pid, 'Threads'):,} threads), redis' "
                            f"{rss['redis']:.1f} MiB; opening them took {idle['ours'].open_seconds:.2f} s "
                            f"on ours, {idle['redis'].open_seconds:.2f} s on redis.")
                for _ in range(options.rounds):
                    for test in CONNECTION_TESTS:
                        for side, server in pair.items():
                            rates[test, side, held].append(rps_of(server.port, test, options))
                for connections in idle.values():
                    connections.answer_ping()
            except (OSError, ConnectionError) as error:
                errors.append(f"{held:,} idle connections: {error}")
            finally:
                close_all(idle, pair)
    rows = []
    for test in CONNECTION_TESTS:
        figures = {(side, held): median(rates[test, side, held]) for side in SIDES for held in (0, count)}
        failed = errors or None in (rate for side in SIDES for held in (0, count) for rate in rates[test, side, held])
        rows.append([test.upper(), cell(figures["ours", 0]), cell(figures["ours", count]),
                     cell(ratio(figures["ours", count], figures["ours", 0]), ".2f"),
                     cell(figures["redis", 0]), cell(figures["redis", count]),
                     cell(ratio(figures["ours", count], figures["redis", count]), ".2f"),
                     section.judge(not failed)])
    section.lines += table(["test", "ours rps", f"ours rps, {count:,} idle", "ours with / without", "redis rps",
                            f"redis rps, {count:,} idle", "ratio ours / redis with idle", "no error"],
                           "lrrrrrrl", rows)
    section.lines += [""] + ([cost] if cost else []) + [f"Error: {error}" for error in errors]
    return section


# --------------------------------------------------------------------------- the report


def environment(options: argparse.Namespace, load: tuple[float, float, float]) -> list[str]:
    ours_python = subprocess.run(["python3", "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True).stdout.strip()
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()
    version = next((word.removeprefix("v=") for word in redis if word.startswith("v=")), "?")
    return [
        "# Our server next to Redis",
        "",
        f"- date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- ours: python {ours_python} (`python3` on PATH, as your_program.sh runs it)",
        f"- redis: redis-server {version}",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, load average at start "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        f"- command: `python3 bench/report.py {' '.join(sys.argv[1:])}`",
        "",
    ]


def draw_chart(path: Path, sections: dict[str, Section]) -> str:
    """A PNG of the main ratios; returns a line for the report."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "No chart: matplotlib is not importable (`pip install .[bench]`)."
    fig, axes = plt.subplots(2, 2, figsize=(14, 9))
    (throughput, latency), (memory, expiry) = axes

    def missing(ax, what: str) -> None:
        ax.text(0.5, 0.5, f"{what}: not measured", ha="center", va="center")
        ax.axis("off")

    if "throughput" in sections:
        bars = sections["throughput"].chart["bars"]
        names = list(dict.fromkeys(name for name, *_ in bars))
        for offset, (mode, colour) in zip((-0.2, 0.2), (("unpipelined", "tab:blue"), ("pipelined", "tab:orange"))):
            found = {name: (share or 0, goal, minimal) for name, m, share, goal, minimal in bars if m == mode}
            xs = [i + offset for i, name in enumerate(names) if name in found]
            throughput.bar(xs, [found[n][0] for n in names if n in found], 0.4, label=mode, color=colour)
            throughput.scatter(xs, [found[n][1] for n in names if n in found], marker="_", s=200, color="black")
            yardstick = [(x, found[n][2]) for x, n in zip(xs, [n for n in names if n in found]) if found[n][2]]
            if yardstick:
                throughput.scatter(*zip(*yardstick), marker="o", s=18, color="dimgray",
                                   label="minimal server" if mode == "unpipelined" else None)
        throughput.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=8)
        throughput.set_title("Throughput, ours / redis (black: goal; grey: the minimal server)")
        throughput.legend()
    else:
        missing(throughput, "throughput")
    if "latency" in sections:
        bars = sections["latency"].chart["bars"]
        latency.bar([name for name, _ in bars], [times or 0 for _, times in bars], color="tab:purple")
        latency.axhline(LATENCY_GOAL, color="black", linestyle="--")
        latency.set_title(f"Latency at -c 50, ours / redis (goal <= {LATENCY_GOAL:g})")
    else:
        missing(latency, "latency")
    if "memory" in sections:
        bars = sections["memory"].chart["bars"]
        xs = range(len(bars))
        memory.bar([x - 0.27 for x in xs], [ours or 0 for _, ours, _, _ in bars], 0.27, label="ours")
        memory.bar(list(xs), [redis or 0 for _, _, redis, _ in bars], 0.27, label="redis")
        memory.bar([x + 0.27 for x in xs], [minimal or 0 for *_, minimal in bars], 0.27, label="minimal server",
                   color="dimgray")
        memory.set_xticks(list(xs), [kind for kind, *_ in bars])
        memory.set_title("RSS bytes per element")
        memory.legend()
    else:
        missing(memory, "memory")
    if "expiry" in sections:
        results = sections["expiry"].chart["results"]
        reclaim_bars = expiry.bar(list(results), [result["seconds"] for result in results.values()], color="tab:green")
        for bar, result in zip(reclaim_bars, results.values()):
            expiry.annotate(f"worst PING {result['worst_ms']:.1f} ms", (bar.get_x() + bar.get_width() / 2,
                            bar.get_height()), ha="center", va="bottom")
        expiry.axhline(EXPIRY_SECONDS_GOAL, color="black", linestyle="--")
        expiry.set_title(f"Seconds to reclaim expired keys (goal <= {EXPIRY_SECONDS_GOAL:g})")
    else:
        missing(expiry, "expiry")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    return f"Chart: `{shown}`."


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    full = SIZES["full"]
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for a check that every section runs")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections, of " + ",".join(SECTIONS))
    parser.add_argument("--requests", type=int, help=f"redis-benchmark -n (default {full['requests']:,})")
    parser.add_argument("--rounds", type=int, help=f"benchmark rounds, medians taken (default {full['rounds']})")
    parser.add_argument("--tests", help="redis-benchmark -t names, comma-separated (default all the report's)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--pipeline", type=int, default=16)
    parser.add_argument("--memory", type=int, help=f"elements per memory measurement (default {full['memory']:,})")
    parser.add_argument("--kinds", help=f"memory kinds (default {full['kinds']})")
    parser.add_argument("--idle-seconds", type=float, help=f"idle CPU window (default {full['idle_seconds']:g})")
    parser.add_argument("--expiry", type=int, help=f"expiring keys (default {full['expiry']:,})")
    parser.add_argument("--expiry-timeout", type=float, default=120.0, help="seconds to wait for reclaiming")
    parser.add_argument("--connections", type=int, help=f"idle connections (default {full['connections']:,})")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "report.md")
    parser.add_argument("--chart", type=Path, default=Path(__file__).parent / "report.png")
    options = parser.parse_args()
    for name, value in SIZES["smoke" if options.smoke else "full"].items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    options.only = [name.strip() for name in options.only.split(",") if name.strip()]
    options.tests = options.tests.split(",")
    options.kinds = options.kinds.split(",")
    unknown = [name for name in options.only if name not in SECTIONS] + \
              [kind for kind in options.kinds if kind not in MEMORY_KINDS]
    if unknown:
        parser.error(f"unknown section or kind: {', '.join(unknown)}")
    return options


def main() -> None:
    options = parse_options()
    for tool in ("redis-server", "redis-benchmark"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install redis-server redis-tools)")
    load = os.getloadavg()
    started = time.monotonic()
    sections: dict[str, Section] = {}
    if "throughput" in options.only or "latency" in options.only:
        sections.update(benchmark_sections(options))
    if "memory" in options.only:
        sections["memory"] = memory_section(options)
    if "expiry" in options.only:
        sections["expiry"] = expiry_section(options)
    if "connections" in options.only:
        sections["connections"] = connections_section(options)

    lines = environment(options, load)
    lines += ["## Summary", ""]
    lines += [f"- {section.title}: {section.met} of {section.goals} goals met" for section in sections.values()]
    lines += [line for section in sections.values() for line in section.summary]
    end_load = os.getloadavg()
    lines += [f"- took {time.monotonic() - started:.0f} s; load average at the end "
              f"{end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f}", ""]
    for section in sections.values():
        lines += section.lines + [""]
    lines.append(draw_chart(options.chart, sections))
    report = "\n".join(lines) + "\n"
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(report)
    print(report, end="")


if __name__ == "__main__":
    main()
