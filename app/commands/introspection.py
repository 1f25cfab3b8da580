"""Introspection commands (Redis' server group): SLOWLOG, LATENCY, MEMORY.

The slow log and the latency monitor are filled by `Command.call` through
app/introspection.py; the per-command histograms are each command's `CommandStats`.
Memory figures are the process' own (RSS from /proc, peak from getrusage) and, for one
key, an estimate from the Python objects that hold it (`estimate_size`).
"""

from __future__ import annotations

import ctypes
import gc
import os
import resource
import sys
import time
from collections import deque
from itertools import islice

from app.commands.arguments import SYNTAX_ERROR, integer, keyword, text
from app.commands.registry import KeySpec, all_commands, command, command_by_name, container
from app.introspection import cumulative_buckets, percentile_usec, resident_bytes
from app.protocol import ReplyError, Verbatim
from app.store.memory import DEFAULT_SAMPLES, DICT_ENTRY, estimate_size


def _subcommand(parent: str):
    def declare(name: str, **kwargs):
        return command(name, parent=parent, group="server", **kwargs)

    return declare


def _syntax_error(subcommand: bytes, parent: str) -> ReplyError:
    return ReplyError(f"ERR unknown subcommand or wrong number of arguments for '{text(subcommand)}'. "
                      f"Try {parent} HELP.")


# --------------------------------------------------------------------------- SLOWLOG

container("slowlog", group="server", since="2.2.12", summary="A container for slow log commands")
_slowlog = _subcommand("slowlog")


@_slowlog("get", arity=-2, flags="admin loading stale", since="2.2.12",
          tips="request_policy:all_nodes nondeterministic_output",
          summary="Get the slow log's entries", complexity="O(N) where N is the number of entries returned")
def slowlog_get(client, *args: bytes):
    if len(args) > 1:
        raise _syntax_error(client.argv[1], "SLOWLOG")
    entries = client.server.introspection.slowlog
    count = 10
    if args:
        count = integer(args[0], "ERR count should be greater than or equal to -1")
        if count < -1:
            raise ReplyError("ERR count should be greater than or equal to -1")
        if count == -1:
            count = len(entries)
    return [list(entry) for entry in islice(entries, count)]


@_slowlog("len", arity=2, flags="admin loading stale", since="2.2.12",
          tips="request_policy:all_nodes response_policy:agg_sum nondeterministic_output",
          summary="Get the slow log's length")
def slowlog_len(client):
    return len(client.server.introspection.slowlog)


@_slowlog("reset", arity=2, flags="admin loading stale", since="2.2.12",
          tips="request_policy:all_nodes response_policy:all_succeeded",
          summary="Clear all entries from the slow log",
          complexity="O(N) where N is the number of entries in the slowlog")
def slowlog_reset(client):
    client.server.introspection.slowlog.clear()
    return "OK"


@_slowlog("help", arity=2, flags="loading stale", since="6.2.0",
          summary="Show helpful text about the different subcommands")
def slowlog_help(client):
    return [
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.",
    ]


# --------------------------------------------------------------------------- LATENCY

container("latency", group="server", since="2.8.13", summary="A container for latency diagnostics commands")
_latency = _subcommand("latency")
_LATENCY_FLAGS = "admin noscript loading stale"
_LATENCY_TIPS = "nondeterministic_output request_policy:all_nodes response_policy:special"


@_latency("latest", arity=2, flags=_LATENCY_FLAGS, since="2.8.13", tips=_LATENCY_TIPS,
          summary="Return the latest latency samples for all events.")
def latency_latest(client):
    events = client.server.introspection.latency_events
    return [[name.encode(), *event.samples[-1], event.max] for name, event in events.items() if event.samples]


@_latency("history", arity=3, flags=_LATENCY_FLAGS, since="2.8.13", tips=_LATENCY_TIPS,
          summary="Return timestamp-latency samples for the event.")
def latency_history(client, event: bytes):
    found = client.server.introspection.latency_events.get(text(event))
    return [] if found is None else [list(sample) for sample in found.samples]


@_latency("reset", arity=-2, flags=_LATENCY_FLAGS, since="2.8.13",
          tips="request_policy:all_nodes response_policy:all_succeeded",
          summary="Reset latency data for one or more events.")
def latency_reset(client, *events: bytes):
    known = client.server.introspection.latency_events
    if not events:
        count = len(known)
        known.clear()
        return count
    return sum(known.pop(text(event), None) is not None for event in events)


def _histogram_reply(entry) -> dict:
    histogram = entry.stats.histogram
    return {b"calls": sum(histogram),
            b"histogram_usec": {usec: count for usec, count in cumulative_buckets(histogram)}}


@_latency("histogram", arity=-2, flags=_LATENCY_FLAGS, since="7.0.0", tips=_LATENCY_TIPS,
          summary="Return the cumulative distribution of latencies of a subset of commands or all.",
          complexity="O(N) where N is the number of commands with latency information being retrieved.")
def latency_histogram(client, *names: bytes):
    """Per command, its calls and how many took at most 1, 2, 4, 8... µs. Empty while
    latency-tracking is off."""
    if not client.server.config["latency-tracking"]:
        return {}
    if names:
        entries = []
        for name in names:
            entry = command_by_name(text(name))
            if entry is not None:
                entries += [entry, *entry.subcommands.values()]
    else:
        entries = list(all_commands())
    return {entry.name.encode(): _histogram_reply(entry) for entry in entries if any(entry.stats.histogram)}


def _graph(name: str, samples: deque) -> str:
    """Our own drawing: one row per sample, newest last, a bar of # scaled to the worst."""
    worst = max(ms for _, ms in samples)
    now = int(time.time())
    rows = [f"{name}: {len(samples)} samples, worst {worst} ms, scale: # = {max(worst / 40, 1):g} ms"]
    for at, ms in samples:
        bar = "#" * max(1, round(ms * 40 / worst)) if worst else ""
        rows.append(f"{now - at:>6}s ago {ms:>7} ms |{bar}")
    return "\n".join(rows) + "\n"


@_latency("graph", arity=3, flags=_LATENCY_FLAGS, since="2.8.13", tips=_LATENCY_TIPS,
          summary="Return a latency graph for the event.")
def latency_graph(client, event: bytes):
    found = client.server.introspection.latency_events.get(text(event))
    if found is None or not found.samples:
        raise ReplyError(f"ERR No samples available for event '{text(event)}'")
    return Verbatim(_graph(text(event), found.samples))


@_latency("doctor", arity=2, flags=_LATENCY_FLAGS, since="2.8.13", tips=_LATENCY_TIPS,
          summary="Return a human readable latency analysis report.")
def latency_doctor(client):
    """A short report in our own words: what is measured, what was seen, what to try."""
    server = client.server
    config = server.config
    threshold = config["latency-monitor-threshold"]
    lines = []
    if threshold == 0:
        lines.append("The latency monitor is off (latency-monitor-threshold is 0), so no events are recorded. "
                     "Turn it on with CONFIG SET latency-monitor-threshold <milliseconds>.")
    events = server.introspection.latency_events
    if threshold and not events:
        lines.append(f"No event has taken {threshold} ms or more since the monitor started or was reset.")
    for name, event in events.items():
        values = [ms for _, ms in event.samples]
        lines.append(f"Event '{name}': {len(values)} samples, average {sum(values) / len(values):.1f} ms, "
                     f"worst of them {max(values)} ms, worst ever {event.max} ms.")
    if "command" in events or "fast-command" in events:
        lines.append("Slow commands: SLOWLOG GET shows which calls they were and their arguments; commands that "
                     "go over whole keys or databases (KEYS, SMEMBERS, SORT, FLUSHALL...) are the usual cause.")
    slower_than = config["slowlog-log-slower-than"]
    lines.append("The slow log is off (slowlog-log-slower-than is negative)." if slower_than < 0 else
                 f"The slow log keeps calls of {slower_than} us or more "
                 f"({len(server.introspection.slowlog)} entries now).")
    return Verbatim("\n".join(lines) + "\n")


@_latency("help", arity=2, flags="loading stale", since="2.8.13",
          summary="Show helpful text about the different subcommands.")
def latency_help(client):
    return [
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.",
    ]


def latency_percentiles(server) -> dict:
    """INFO latencystats: per command, the percentiles of latency-tracking-info-percentiles
    in µs, each the upper bound of its power-of-two bucket."""
    if not server.config["latency-tracking"]:
        return {}
    wanted = server.config["latency-tracking-info-percentiles"]
    stats = {}
    for entry in all_commands():
        histogram = entry.stats.histogram
        if any(histogram):
            stats[f"latency_percentiles_usec_{entry.name}"] = ",".join(
                f"p{p:g}={percentile_usec(histogram, p):.3f}" for p in wanted)
    return stats


# --------------------------------------------------------------------------- MEMORY

container("memory", group="server", since="4.0.0", summary="A container for memory diagnostics commands")
_memory = _subcommand("memory")
_MEMORY_TIPS = "nondeterministic_output request_policy:all_shards response_policy:special"


@_memory("usage", arity=-3, flags="readonly", since="4.0.0",
         keys=[KeySpec(2, "RO")], summary="Estimate the memory usage of a key",
         complexity="O(N) where N is the number of samples.")
def memory_usage(client, key: bytes, *options: bytes):
    samples = DEFAULT_SAMPLES
    i = 0
    while i < len(options):
        if keyword(options[i]) == b"SAMPLES" and i + 1 < len(options):
            samples = integer(options[i + 1])
            if samples < 0:
                raise ReplyError(SYNTAX_ERROR)
            samples = samples or sys.maxsize  # 0: every element
            i += 2
        else:
            raise ReplyError(SYNTAX_ERROR)
    value = client.db.lookup(key, touch=False)
    if value is None:
        return None
    return estimate_size(value, samples) + sys.getsizeof(key) + DICT_ENTRY


def peak_resident_bytes() -> int:
    """The largest resident set the process has had (getrusage's ru_maxrss, in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def system_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def memory_figures(server) -> dict:
    """The figures INFO memory and MEMORY STATS share, all in bytes."""
    rss = resident_bytes()
    peak = max(peak_resident_bytes(), rss)
    startup = server.introspection.startup_rss
    backlog = server.replication.backlog
    keyspace = server.keyspace
    # Python offers no cheap total of what it allocated. While maxmemory is set, the
    # keyspace estimates each key (app/store/memory.py) and "used" is the resident set at
    # start-up plus those estimates, which eviction compares with maxmemory; otherwise
    # "used" is the resident set itself.
    dataset = keyspace.dataset_bytes if keyspace.accounting else max(rss - startup, 0)
    return {
        "rss": rss,  # pages of ours in RAM
        "used": server.eviction.used_memory() if keyspace.accounting else rss,
        "peak": peak,
        "startup": startup,  # the resident set once the server was ready, before any data
        "dataset": dataset,  # keys and values (estimated), or all that grew since start-up
        "backlog": 0 if backlog is None else backlog.histlen,
        "keys": sum(len(db) for db in server.keyspace.databases),
    }


def _human(size: int) -> str:
    for unit, scale in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if size >= scale:
            return f"{size / scale:.2f}{unit}"
    return f"{size}B"


def info_memory(server) -> dict:
    """INFO memory from the process' real figures (see `memory_figures`)."""
    figures = memory_figures(server)
    rss, peak, used = figures["rss"], figures["peak"], figures["used"]
    maxmemory = server.config["maxmemory"]
    system = system_memory_bytes()
    return {
        "used_memory": used,
        "used_memory_human": _human(used),
        "used_memory_rss": rss,
        "used_memory_rss_human": _human(rss),
        "used_memory_peak": peak,
        "used_memory_peak_human": _human(peak),
        "used_memory_peak_perc": f"{100 * rss / peak:.2f}%" if peak else "0.00%",
        "used_memory_startup": figures["startup"],
        "used_memory_dataset": figures["dataset"],
        "used_memory_dataset_perc": f"{100 * figures['dataset'] / used:.2f}%" if used else "0.00%",
        "total_system_memory": system,
        "total_system_memory_human": _human(system),
        **_scripts_memory(server),
        "maxmemory": maxmemory,
        "maxmemory_human": _human(maxmemory),
        "maxmemory_policy": server.config["maxmemory-policy"],
        "mem_fragmentation_ratio": f"{rss / used:.2f}" if used else "0.00",
        "mem_allocator": "python",
    }


def _scripts_memory(server) -> dict:
    """The scripting lines of INFO memory: the two Lua interpreters (EVAL's and the
    functions'), measured only if they exist, and the code they keep."""
    scripting, functions = server.scripting, server.functions
    vm_eval, vm_functions = scripting.memory(), functions.memory()
    eval_bytes = scripting.scripts_bytes
    functions_bytes = sum(len(code) for code in functions.codes())
    return {
        "used_memory_lua": vm_eval,
        "used_memory_vm_eval": vm_eval,
        "used_memory_lua_human": _human(vm_eval),
        "used_memory_scripts_eval": eval_bytes,
        "number_of_cached_scripts": len(scripting.scripts),
        "number_of_functions": len(functions.functions),
        "number_of_libraries": len(functions.libraries),
        "used_memory_vm_functions": vm_functions,
        "used_memory_vm_total": vm_eval + vm_functions,
        "used_memory_vm_total_human": _human(vm_eval + vm_functions),
        "used_memory_functions": functions_bytes,
        "used_memory_scripts": eval_bytes + functions_bytes,
        "used_memory_scripts_human": _human(eval_bytes + functions_bytes),
    }


@_memory("stats", arity=2, since="4.0.0", tips=_MEMORY_TIPS, summary="Show memory usage details")
def memory_stats(client):
    server = client.server
    figures = memory_figures(server)
    stats = {
        b"peak.allocated": figures["peak"],
        b"total.allocated": figures["used"],
        b"startup.allocated": figures["startup"],
        b"replication.backlog": figures["backlog"],
        b"clients.normal": sum(c.query_buffer for c in server.clients.values()),
    }
    for db in server.keyspace.databases:
        if len(db) or len(db.expires):
            stats[f"db.{db.index}".encode()] = {b"overhead.hashtable.main": sys.getsizeof(db.data),
                                                b"overhead.hashtable.expires": sys.getsizeof(db.expires)}
    keys = figures["keys"]
    stats.update({
        b"keys.count": keys,
        b"keys.bytes-per-key": figures["dataset"] // keys if keys else 0,
        b"dataset.bytes": figures["dataset"],
        b"dataset.percentage": f"{100 * figures['dataset'] / figures['used']:.17g}".encode() if figures["used"] else b"0",
        b"peak.percentage": f"{100 * figures['rss'] / figures['peak']:.17g}".encode() if figures["peak"] else b"0",
        b"fragmentation": b"1",
    })
    return stats


@_memory("doctor", arity=2, since="4.0.0", tips=_MEMORY_TIPS, summary="Outputs memory problems report")
def memory_doctor(client):
    """A short report in our own words, from the same figures as INFO memory."""
    figures = memory_figures(client.server)
    rss, peak, keys = figures["rss"], figures["peak"], figures["keys"]
    lines = [f"The server holds {keys} keys in {_human(rss)} of resident memory "
             f"({_human(figures['startup'])} of it was there at start-up)."]
    if keys:
        lines.append(f"That is about {_human(figures['dataset'] // keys)} per key, Python objects included; "
                     "MEMORY USAGE <key> estimates one key.")
    if peak > 1.5 * rss and peak - rss > 32 * 1024 * 1024:
        lines.append(f"The peak was {_human(peak)}: memory freed since then may stay with the process; "
                     "MEMORY PURGE asks the C library to hand free pages back.")
    maxmemory = client.server.config["maxmemory"]
    if maxmemory and figures["used"] > maxmemory:
        lines.append(f"Used memory ({_human(figures['used'])}: the resident set at start-up and the keys' "
                     f"estimated sizes) is above maxmemory ({_human(maxmemory)}): "
                     f"{client.server.config['maxmemory-policy']} decides what happens to writes.")
    if len(lines) == 1 or (len(lines) == 2 and keys):
        lines.append("Nothing stands out.")
    return Verbatim("\n".join(lines) + "\n")


@_memory("malloc-stats", arity=2, since="4.0.0", tips=_MEMORY_TIPS, summary="Show allocator internal stats",
         complexity="Depends on how much memory is allocated, could be slow")
def memory_malloc_stats(client):
    """What Python's allocator and garbage collector say about themselves."""
    generations = gc.get_stats()
    lines = [
        "Python memory (pymalloc for small objects, the C library for the rest)",
        f"allocated blocks: {sys.getallocatedblocks()}",
        f"objects tracked by the garbage collector: {len(gc.get_objects())}",
        f"collections per generation: {', '.join(str(g['collections']) for g in generations)}",
        f"objects collected per generation: {', '.join(str(g['collected']) for g in generations)}",
        f"resident set: {resident_bytes()} bytes, peak {peak_resident_bytes()} bytes",
    ]
    return Verbatim("\n".join(lines) + "\n")


@_memory("purge", arity=2, since="4.0.0", tips="request_policy:all_shards response_policy:all_succeeded",
         summary="Ask the allocator to release memory",
         complexity="Depends on how much memory is allocated, could be slow")
def memory_purge(client):
    gc.collect()
    try:  # glibc hands free pages back to the system; elsewhere there is nothing to ask
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return "OK"


@_memory("help", arity=2, flags="loading stale", since="4.0.0",
         summary="Show helpful text about the different subcommands")
def memory_help(client):
    return [
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.",
    ]
