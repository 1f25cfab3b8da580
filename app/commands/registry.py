"""The command table: every command's name, arity, flags, key positions and docs.

A command is a function registered with the `command` decorator::

    @command("get", arity=2, flags="readonly fast", acl="string",
             keys=[KeySpec(1, "RO access")], summary="Returns the string value of a key.")
    def get(client, key):
        ...

The dispatcher (app/dispatch.py) checks the arity, authentication and, in later
features, transactions, subscribed mode and replica read-only mode from these
declarations before calling the function, so a handler only does its own work. The
function receives the client and the arguments after the command name (after the
subcommand name for a subcommand), and returns its reply as a plain value
(see app/protocol.py).

Arity follows Redis: a positive number is the exact argument count including the
command name; a negative one is a minimum (-2: the name and at least one argument).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Callable

from app import log
from app.protocol import CountedError, ReplyError

# COMMAND INFO lists flags and ACL categories in this order, as Redis does.
FLAG_ORDER = (
    "write readonly denyoom module admin pubsub noscript blocking loading stale skip_monitor "
    "skip_slowlog asking fast no_auth may_replicate sentinel only_sentinel no_mandatory_keys "
    "no_propagate no_async_loading no_multi allow_busy movablekeys"
).split()
ACL_CATEGORY_ORDER = (
    "keyspace read write set sortedset list hash string bitmap hyperloglog geo stream pubsub "
    "admin fast slow blocking dangerous connection transaction scripting"
).split()


@dataclass(frozen=True)
class KeySpec:
    """Where a command's keys are: from argument ``index``, up to ``last`` (relative to
    the first key, or negative from the end), every ``step`` arguments, and what the
    command does to them (``flags``: RO/RW/OW/RM and access/update/insert/delete).

    With ``keynum``, argument ``index`` is instead the number of keys, which follow it
    every ``step`` arguments (LMPOP's numkeys). Such keys move with the arguments, so
    the command is flagged ``movablekeys`` and the old key range leaves them out.

    With ``keyword``, the keys start after that word, searched from argument ``index``
    (XREAD's STREAMS); ``limit`` 2 says they are the first half of what follows. Those
    keys move too, like keynum ones."""

    index: int
    flags: str
    last: int = 0
    step: int = 1
    notes: str = ""
    keynum: bool = False
    keyword: str = ""
    limit: int = 0
    unknown: bool = False  # keys not found from the arguments (SORT's BY/GET/STORE): "unknown" specs


class CommandStats:
    """What INFO commandstats reports for one command, and its latency histogram (INFO
    latencystats, LATENCY HISTOGRAM): calls counted by the bit length of their duration
    in nanoseconds, so one power of two per bucket (app/introspection.py reads it).
    Updated under the keyspace lock."""

    __slots__ = ("calls", "nanoseconds", "rejected_calls", "failed_calls", "histogram")

    def __init__(self):
        self.calls = self.nanoseconds = self.rejected_calls = self.failed_calls = 0
        self.histogram = [0] * 64

    def record(self, nanoseconds: int, failed: bool) -> None:
        self.calls += 1
        self.nanoseconds += nanoseconds
        self.histogram[nanoseconds.bit_length()] += 1
        if failed:
            self.failed_calls += 1


@dataclass
class Command:
    name: str  # lower case; "config|get" for a subcommand
    handler: Callable | None
    arity: int
    flags: frozenset[str]
    acl_categories: tuple[str, ...]
    key_specs: tuple[KeySpec, ...]
    tips: tuple[str, ...]
    group: str
    since: str
    summary: str
    complexity: str
    subcommands: dict[bytes, Command] = field(default_factory=dict)
    stats: CommandStats = field(default_factory=CommandStats)
    no_auth: bool = False  # read for every call, so a plain attribute, not a set lookup
    # The parameter that allows a protected command (DEBUG, MODULE LOAD...), as Redis'
    # CMD_PROTECTED: "enable-debug-command" or "enable-module-command"; None for others.
    # Not a flag of COMMAND INFO, which does not show it.
    protected: str | None = None
    # EVAL and FCALL: the flags a call has, which the script's shebang decides (Redis:
    # getCommandFlags); the dispatcher asks only when a write or OOM refusal is in force.
    flags_of: Callable | None = None
    # Cluster mode's quick routing (app/cluster/routing.py `serves_here`): the position
    # of the one key this command names, -1 if it names none, None if it may name more
    # or moves them (the dispatcher then routes it in full).
    single_key: int | None = field(init=False, default=None)

    def __post_init__(self):
        specs = self.key_specs
        if not specs:
            self.single_key = -1
        elif (len(specs) == 1 and not (specs[0].keynum or specs[0].keyword or specs[0].unknown)
              and specs[0].last == 0 and self.name not in ("migrate", "sort", "sort_ro")):
            self.single_key = specs[0].index

    def flags_for(self, client, argv: list[bytes]) -> frozenset[str]:
        return self.flags if self.flags_of is None else self.flags_of(self, client, argv)

    def call(self, client, args):
        """Run the handler (the keyspace lock is held) and return its reply; count the call.

        A `ReplyError` raised by the handler becomes the reply; any other exception,
        which would be a bug, becomes an error reply and a log entry rather than a dead
        connection. The dispatcher calls this, and so does EXEC for each queued command.

        A call at least ``server.slow_call_ns`` long goes to the slow log and the latency
        monitor (app/introspection.py): one comparison for the others.
        """
        server = client.server
        server.commands_processed += 1
        started = perf_counter_ns()
        try:
            reply = self.handler(client, *args)
        except ReplyError as error:
            reply = error
        except Exception as error:  # a bug of ours: say so, log it, keep serving
            log.warning(f"Internal error running '{self.name}':\n{traceback.format_exc()}")
            reply = ReplyError(f"ERR internal error running '{self.name}': {error!r}")
        elapsed = perf_counter_ns() - started
        self.stats.record(elapsed, reply.__class__ is ReplyError or reply.__class__ is CountedError)
        if elapsed >= server.slow_call_ns:
            server.introspection.slow_call(self, client, elapsed)
        return reply

    def legacy_key_range(self) -> tuple[int, int, int]:
        """(first key, last key, step) as in the old COMMAND reply, derived from the specs
        as Redis' populateCommandLegacyRangeSpec does: one plain range spec is used as it
        is; several are merged when each has step 1 and starts right after the previous
        one, others being left out (the command then has movable keys)."""
        specs = [spec for spec in self.key_specs if not (spec.keynum or spec.keyword or spec.unknown)]
        if len(self.key_specs) == 1 and specs:
            spec = specs[0]
            return spec.index, spec.index + spec.last if spec.last >= 0 else spec.last, spec.step
        first, last, previous_last = None, 0, 0
        for spec in specs:
            if spec.step != 1 or (previous_last and previous_last != spec.index - 1):
                continue
            first = spec.index if first is None else min(first, spec.index)
            spec_last = spec.index + spec.last if spec.last >= 0 else spec.last
            # Compared as unsigned numbers, as in C: -1 ("up to the last argument") wins.
            last = max(last, spec_last, key=lambda n: n % 2**32)
            previous_last = last
        if first is None:
            return 0, 0, 0
        return first, last, 1


COMMANDS: dict[bytes, Command] = {}


def _categories(flags: frozenset[str], explicit: str) -> tuple[str, ...]:
    """ACL categories: the declared ones plus those Redis derives from the flags."""
    categories = set(explicit.split())
    derived = {"write": "write", "admin": "admin", "pubsub": "pubsub", "fast": "fast", "blocking": "blocking"}
    for flag, category in derived.items():
        if flag in flags:
            categories.add(category)
    if "readonly" in flags and "scripting" not in categories:  # EVAL_RO reads only what its script does
        categories.add("read")
    if "admin" in flags:
        categories.add("dangerous")
    if "fast" not in categories:
        categories.add("slow")
    return tuple(c for c in ACL_CATEGORY_ORDER if c in categories)


def command(
    name: str,
    *,
    arity: int,
    flags: str = "",
    acl: str = "",
    keys: list[KeySpec] | tuple = (),
    tips: str = "",
    group: str,
    since: str,
    summary: str,
    complexity: str = "O(1)",
    parent: str | None = None,
    protected: str | None = None,
    flags_of: Callable | None = None,
):
    """Register the decorated function as a command (or, with ``parent``, a subcommand)."""

    def register(handler: Callable | None) -> Callable | None:
        flag_set = frozenset(flags.split())
        unknown = flag_set - set(FLAG_ORDER)
        assert not unknown, f"{name}: unknown flags {unknown}"
        full_name = f"{parent}|{name}" if parent else name
        entry = Command(
            name=full_name,
            handler=handler,
            arity=arity,
            flags=flag_set,
            acl_categories=_categories(flag_set, acl),
            key_specs=tuple(keys),
            tips=tuple(tips.split()),
            group=group,
            since=since,
            summary=summary,
            complexity=complexity,
            no_auth="no_auth" in flag_set,
            protected=protected,
            flags_of=flags_of,
        )
        if parent:
            COMMANDS[parent.encode()].subcommands[name.encode()] = entry
        else:
            assert name.encode() not in COMMANDS, f"{name} registered twice"
            COMMANDS[name.encode()] = entry
        return handler

    return register


def container(name: str, *, group: str, since: str, summary: str) -> None:
    """Register a command that only groups subcommands (CONFIG, CLIENT, OBJECT...)."""
    command(name, arity=-2, group=group, since=since, summary=summary, complexity="Depends on subcommand.")(None)


def command_by_name(name: str, top=COMMANDS.get) -> Command | None:
    """Find a command by its full name, "get" or "config|get" (COMMAND INFO, DOCS);
    ``top`` finds the command itself (ACL rules look among the commands we lack too)."""
    parent, _, sub = name.lower().partition("|")
    # Names come from clients: any bytes, kept through surrogateescape.
    entry = top(parent.encode("utf-8", "surrogateescape"))
    if entry is not None and sub:
        return entry.subcommands.get(sub.encode("utf-8", "surrogateescape"))
    return entry


def all_commands():
    """Every command and subcommand, containers first."""
    for entry in COMMANDS.values():
        yield entry
        yield from entry.subcommands.values()


# --------------------------------------------------------------------------- ACL's view

def acl_command(name: bytes) -> Command | None:
    """A command (not a subcommand) by its lower-case name, for ACL rules."""
    return COMMANDS.get(name)


def acl_commands():
    """Every command and subcommand ACL knows (ACL CAT)."""
    yield from all_commands()
