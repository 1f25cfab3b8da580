"""What the server remembers about its own speed: the slow log and the latency monitor.

`Command.call` (app/commands/registry.py) times every call. Its hot path pays one
integer comparison for both features: the call's duration against `ServerState.slow_call_ns`,
the smaller of the two thresholds (``slowlog-log-slower-than`` in microseconds,
``latency-monitor-threshold`` in milliseconds), kept as a plain attribute by
`Introspection.configure`. Only a call at least that slow comes here, where each
feature checks its own threshold.

Per-command latency histograms (LATENCY HISTOGRAM, INFO latencystats) live with each
command's statistics (`CommandStats.histogram`), one bucket per power of two of
nanoseconds. Everything here is changed under the keyspace lock, like the commands.
"""

from __future__ import annotations

import os
import resource
import time
from collections import deque

from app.cluster.migrate import CREDENTIAL_OPTIONS

NEVER = 2**63  # a threshold no duration reaches

# Redis' limits for one slow log entry's arguments (slowlog.h).
SLOWLOG_ENTRY_MAX_ARGC = 32
SLOWLOG_ENTRY_MAX_STRING = 128

# Arguments the slow log must not show (Redis: redactClientCommandArgument).
_SENSITIVE_CONFIGS = {b"requirepass", b"masterauth", b"tls-key-file-pass", b"tls-client-key-file-pass"}
REDACTED = b"(redacted)"

LATENCY_TS_LEN = 160  # samples kept per latency event, as Redis' latency.h


def redacted(argv: list[bytes]) -> list[bytes]:
    """``argv`` with passwords replaced, as Redis shows AUTH, HELLO ... AUTH, MIGRATE ...
    AUTH or AUTH2 and CONFIG SET of a sensitive parameter, in the slow log and to
    monitors alike (redactClientCommandArgument rewrites the command they both read)."""
    name = argv[0].lower()
    if name == b"auth":
        return [argv[0]] + [REDACTED] * (len(argv) - 1)
    if name == b"hello":
        argv = list(argv)
        for i, word in enumerate(argv):
            if i >= 2 and word.lower() == b"auth" and i + 2 < len(argv):
                argv[i + 1] = argv[i + 2] = REDACTED
        return argv
    if name == b"config" and len(argv) > 2 and argv[1].lower() == b"set":
        argv = list(argv)
        for i in range(2, len(argv) - 1, 2):
            if argv[i].lower() in _SENSITIVE_CONFIGS:
                argv[i + 1] = REDACTED
        return argv
    if name == b"migrate":  # AUTH password, AUTH2 username password; KEYS ends the options
        argv = list(argv)
        i = 6
        while i < len(argv) and argv[i].lower() != b"keys":
            hidden = CREDENTIAL_OPTIONS.get(argv[i].lower(), 0)
            argv[i + 1:i + 1 + hidden] = [REDACTED] * len(argv[i + 1:i + 1 + hidden])
            i += 1 + hidden
        return argv
    return argv


def slowlog_arguments(argv: list[bytes]) -> list[bytes]:
    """At most 32 arguments, the last saying how many more there were; each at most 128
    bytes, saying how many more it had (Redis' slowlogCreateEntry)."""
    count = min(len(argv), SLOWLOG_ENTRY_MAX_ARGC)
    kept = []
    for i in range(count):
        if count != len(argv) and i == count - 1:
            kept.append(b"... (%d more arguments)" % (len(argv) - count + 1))
        elif len(argv[i]) > SLOWLOG_ENTRY_MAX_STRING:
            extra = len(argv[i]) - SLOWLOG_ENTRY_MAX_STRING
            kept.append(argv[i][:SLOWLOG_ENTRY_MAX_STRING] + b"... (%d more bytes)" % extra)
        else:
            kept.append(argv[i])
    return kept


class LatencyEvent:
    """One latency monitor event: its last samples (at most one per second, the
    worst of that second) and the worst ever seen."""

    __slots__ = ("samples", "max")

    def __init__(self):
        self.samples: deque[tuple[int, int]] = deque(maxlen=LATENCY_TS_LEN)  # (unix time, ms)
        self.max = 0

    def add(self, now: int, milliseconds: int) -> None:
        self.max = max(self.max, milliseconds)
        if self.samples and self.samples[-1][0] == now:
            if self.samples[-1][1] < milliseconds:
                self.samples[-1] = (now, milliseconds)
            return
        self.samples.append((now, milliseconds))


class Introspection:
    """The slow log and the latency monitor's events."""

    def __init__(self):
        self.slowlog: deque[list] = deque()  # newest first: [id, time, µs, args, addr, name]
        self.next_slowlog_id = 0
        self.slowlog_slower_than_ns = 10_000_000
        self.slowlog_max_len = 128
        self.latency_threshold_ns = NEVER
        self.latency_events: dict[str, LatencyEvent] = {}
        self.startup_rss = resident_bytes()  # MEMORY STATS' startup.allocated


    def configure(self, config) -> int:
        """Read the thresholds; return the one `Command.call` compares against."""
        slower_than = config["slowlog-log-slower-than"]
        self.slowlog_slower_than_ns = NEVER if slower_than < 0 else slower_than * 1000
        self.slowlog_max_len = config["slowlog-max-len"]
        threshold_ms = config["latency-monitor-threshold"]
        self.latency_threshold_ns = threshold_ms * 1_000_000 if threshold_ms > 0 else NEVER
        return min(self.slowlog_slower_than_ns, self.latency_threshold_ns)

    def slow_call(self, command, client, nanoseconds: int) -> None:
        """A call at least as slow as one of the thresholds (see the module docstring)."""
        if "blocking" in command.flags:  # the time spent waiting for a key is not work
            nanoseconds -= client.blocked_ns
            client.blocked_ns = 0
        if nanoseconds >= self.slowlog_slower_than_ns and "skip_slowlog" not in command.flags:
            self.log_slow(client, nanoseconds)
        if nanoseconds >= self.latency_threshold_ns:
            event = "fast-command" if "fast" in command.flags else "command"
            self.add_latency_sample(event, nanoseconds // 1_000_000)

    def log_slow(self, client, nanoseconds: int) -> None:
        entry = [self.next_slowlog_id, int(time.time()), nanoseconds // 1000,
                 slowlog_arguments(redacted(client.argv)), client.addr.encode(), client.name]
        self.next_slowlog_id += 1
        self.slowlog.appendleft(entry)
        while len(self.slowlog) > self.slowlog_max_len:
            self.slowlog.pop()

    def add_latency_sample(self, event: str, milliseconds: int) -> None:
        """Record ``event`` if it took at least latency-monitor-threshold (Redis'
        latencyAddSampleIfNeeded); for events timed outside `Command.call`."""
        if milliseconds * 1_000_000 < self.latency_threshold_ns:
            return
        if event not in self.latency_events:
            self.latency_events[event] = LatencyEvent()
        self.latency_events[event].add(int(time.time()), milliseconds)


def resident_bytes() -> int:
    """The process' resident set now: /proc/self/statm's second field, in pages."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --------------------------------------------------------------------------- histograms

HISTOGRAM_BUCKETS = 64  # a duration's bit length in nanoseconds: 0..63


def cumulative_buckets(histogram: list[int]) -> list[tuple[int, int]]:
    """LATENCY HISTOGRAM's ``histogram_usec``: (upper bound in µs, calls at most that
    long), at 1024 ns times powers of two, as Redis' hdr_iter_log_init(1024, 2) with the
    µs rounded down; only the buckets where the count grows."""
    out = []
    running = previous = 0
    for bits in range(HISTOGRAM_BUCKETS):
        running += histogram[bits]
        if bits < 10:
            continue  # all below 1024 ns: the first bucket
        if running > previous:
            out.append(((1024 << (bits - 10)) // 1000, running))
        previous = running
    return out


def percentile_usec(histogram: list[int], percentile: float) -> float:
    """An estimate of the ``percentile`` of the durations in µs: the upper bound of the
    power-of-two bucket it falls in (at most twice the true value)."""
    total = sum(histogram)
    if not total:
        return 0.0
    wanted = max(1, -(-total * percentile // 100))
    running = 0
    for bits, count in enumerate(histogram):
        running += count
        if running >= wanted:
            return ((1 << bits) - 1) / 1000 if bits else 0.0
    return 0.0
