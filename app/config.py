"""Configuration parameters: one table serves the command line, redis.conf and CONFIG.

As in ``redis-server``, ``--name value...`` on the command line and a ``name value...``
line in a configuration file are the same thing, and both go through the same parsing
and checks as ``CONFIG SET name value``. Several words after a name are joined with
spaces, so ``--replicaof localhost 6379`` and ``--replicaof "localhost 6379"`` agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from app.glob import compile_glob
from app.numeric import parse_int
from app.protocol import split_inline
from app.store import events

INT_MAX = 2**31 - 1
LLONG_MAX = 2**63 - 1


class ConfigError(ValueError):
    """A value a parameter cannot take; the message is Redis' wording of why."""


# --------------------------------------------------------------------------- value types


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = parse_int(text.encode())
        if value is None:
            raise ConfigError("argument couldn't be parsed into an integer")
        if not low <= value <= high:
            raise ConfigError(f"argument must be between {low} and {high} inclusive")
        return value

    return parse


_MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


def _memory(low: int, high: int) -> Callable[[str], int]:
    """Sizes like ``512mb`` or ``1gb``, as Redis' ``memtoull`` reads them."""

    def parse(text: str) -> int:
        lowered = text.lower()
        digits = lowered.rstrip("kmgb")
        unit = lowered[len(digits) :]
        value = parse_int(digits.encode())
        if value is None or value < 0 or unit not in _MEMORY_UNITS:
            raise ConfigError("argument must be a memory value")
        value *= _MEMORY_UNITS[unit]
        if not low <= value <= high:
            raise ConfigError(f"argument must be between {low} and {high} inclusive")
        return value

    return parse


def _clamped(parse: Callable[[str], int], low: int, high: int) -> Callable[[str], int]:
    """Accept anything ``parse`` does, then bring it within [low, high] (Redis' hz)."""
    return lambda text: min(max(parse(text), low), high)


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("yes", "no"):
        raise ConfigError("argument must be 'yes' or 'no'")
    return lowered == "yes"


def _enum(*choices: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in choices:
            raise ConfigError("argument(s) must be one of the following: " + ", ".join(choices))
        return text.lower()

    return parse


def _text(text: str) -> str:
    return text


def _filename(text: str) -> str:
    if "/" in text:
        raise ConfigError("dbfilename can't be a path, just a filename")
    return text


def _directory(text: str) -> str:
    # Redis chdirs into it and reports getcwd(); we keep our working directory and
    # report the absolute path instead.
    return os.path.abspath(text)


def _save_points(text: str) -> list[tuple[int, int]]:
    """``"3600 1 300 100"``: save after 3600 s if 1 change, after 300 s if 100 changes."""
    words = text.split()
    numbers = [parse_int(word.encode()) for word in words]
    if len(words) % 2 or any(n is None or n < 0 for n in numbers):
        raise ConfigError("Invalid save parameters")
    return list(zip(numbers[::2], numbers[1::2]))


def _format_save(points: list[tuple[int, int]]) -> str:
    return " ".join(f"{seconds} {changes}" for seconds, changes in points)


def _replicaof(text: str) -> tuple[str, int] | None:
    """``"host port"``, or ``"no one"`` / empty for none."""
    words = text.split()
    if not words or [w.lower() for w in words] == ["no", "one"]:
        return None
    port = parse_int(words[1].encode()) if len(words) == 2 else None
    if port is None or not 0 < port < 65536:
        raise ConfigError("replicaof takes a host and a port, or 'no one'")
    return words[0], port


def _event_flags(text: str) -> int:
    try:
        return events.parse_flags(text)
    except ValueError as error:
        raise ConfigError(str(error)) from None


_CLIENT_CLASSES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}


def _buffer_limits(text: str) -> dict[str, tuple[int, int, int]]:
    """``class hard soft seconds`` groups, e.g. ``pubsub 32mb 8mb 60``; the classes not
    named keep their values (see `Parameter.merge`)."""
    words = text.split()
    if not words or len(words) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    limits = {}
    memory = _memory(0, LLONG_MAX)
    for i in range(0, len(words), 4):
        name = _CLIENT_CLASSES.get(words[i].lower())
        if name is None:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        try:
            hard, soft = memory(words[i + 1]), memory(words[i + 2])
            seconds = _integer(0, LLONG_MAX)(words[i + 3])
        except ConfigError:
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.") from None
        limits[name] = (hard, soft, seconds)
    return limits


def _format_buffer_limits(limits: dict[str, tuple[int, int, int]]) -> str:
    return " ".join(f"{name} {hard} {soft} {seconds}" for name, (hard, soft, seconds) in limits.items())


def _format_replicaof(value: tuple[str, int] | None) -> str:
    return "" if value is None else f"{value[0]} {value[1]}"


def _format_bool(value: bool) -> str:
    return "yes" if value else "no"


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Parameter:
    name: str
    default: str
    parse: Callable[[str], Any] = _text
    format: Callable[[Any], str] = str
    mutable: bool = True  # False: Redis itself refuses CONFIG SET ("immutable config")
    protected: bool = False  # refused by CONFIG SET unless enable-protected-configs
    restart: bool = False  # Redis applies it live, we only at start-up (listening sockets)
    aliases: tuple[str, ...] = ()
    # How a new parsed value combines with the current one (client-output-buffer-limit
    # sets only the classes it names); None: it replaces it.
    merge: Callable[[Any, Any], Any] | None = None

    def updated(self, current: Any, text: str) -> Any:
        """The value after setting ``text``: parsed, and merged if this parameter merges."""
        value = self.parse(text)
        return value if self.merge is None else self.merge(current, value)


def _bool_parameter(name: str, default: str, **kwargs) -> Parameter:
    return Parameter(name, default, _boolean, _format_bool, **kwargs)


PARAMETERS = [
    # Network. Redis rebinds when these change; here they need a restart.
    Parameter("port", "6379", _integer(0, 65535), restart=True),
    Parameter("bind", "127.0.0.1 -::1", restart=True),
    Parameter("tcp-backlog", "511", _integer(0, INT_MAX), mutable=False),
    Parameter("timeout", "0", _integer(0, INT_MAX)),
    Parameter("tcp-keepalive", "300", _integer(0, INT_MAX)),
    Parameter("maxclients", "10000", _integer(1, 2**32 - 1)),
    Parameter("proto-max-bulk-len", "536870912", _memory(1024 * 1024, LLONG_MAX)),
    Parameter(
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        _buffer_limits,
        _format_buffer_limits,
        merge=lambda current, new: {**current, **new},
    ),
    _bool_parameter("protected-mode", "yes"),
    # Keyspace.
    Parameter("databases", "16", _integer(1, INT_MAX), mutable=False),
    Parameter("hz", "10", _clamped(_integer(0, INT_MAX), 1, 500)),
    Parameter("maxmemory", "0", _memory(0, LLONG_MAX)),
    Parameter("notify-keyspace-events", "", _event_flags, events.format_flags),
    # Where a stream starts a new node (app/store/stream.py); 0: no limit.
    Parameter("stream-node-max-bytes", "4096", _memory(0, LLONG_MAX)),
    Parameter("stream-node-max-entries", "100", _integer(0, LLONG_MAX)),
    Parameter(
        "maxmemory-policy",
        "noeviction",
        _enum("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
              "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"),
    ),
    # Encodings of small hashes and sets (OBJECT ENCODING; app/store/hash.py, set.py).
    Parameter("hash-max-listpack-entries", "128", _integer(0, LLONG_MAX), aliases=("hash-max-ziplist-entries",)),
    Parameter("hash-max-listpack-value", "64", _memory(0, LLONG_MAX), aliases=("hash-max-ziplist-value",)),
    Parameter("set-max-intset-entries", "512", _integer(0, LLONG_MAX)),
    # ... and of small sorted sets (app/store/zset.py).
    Parameter("zset-max-listpack-entries", "128", _integer(0, LLONG_MAX), aliases=("zset-max-ziplist-entries",)),
    Parameter("zset-max-listpack-value", "64", _memory(0, LLONG_MAX), aliases=("zset-max-ziplist-value",)),
    # Where a sparse HyperLogLog becomes dense (app/store/hll.py).
    Parameter("hll-sparse-max-bytes", "3000", _memory(0, LLONG_MAX)),
    # Persistence.
    Parameter("dir", ".", _directory, protected=True),
    Parameter("dbfilename", "dump.rdb", _filename, protected=True),
    Parameter("save", "3600 1 300 100 60 10000", _save_points, _format_save),
    _bool_parameter("appendonly", "no"),
    Parameter("appenddirname", "appendonlydir", mutable=False),
    Parameter("appendfilename", "appendonly.aof", mutable=False),
    Parameter("appendfsync", "everysec", _enum("everysec", "always", "no")),
    _bool_parameter("aof-use-rdb-preamble", "yes"),
    Parameter("auto-aof-rewrite-percentage", "100", _integer(0, INT_MAX)),
    Parameter("auto-aof-rewrite-min-size", "64mb", _memory(0, LLONG_MAX)),
    _bool_parameter("aof-load-truncated", "yes"),
    _bool_parameter("aof-timestamp-enabled", "no"),
    _bool_parameter("aof-rewrite-incremental-fsync", "yes"),
    _bool_parameter("no-appendfsync-on-rewrite", "no"),
    _bool_parameter("aof-disable-auto-gc", "no"),
    # Replication.
    Parameter("replicaof", "", _replicaof, _format_replicaof, mutable=False, aliases=("slaveof",)),
    Parameter("masterauth", ""),
    Parameter("masteruser", ""),
    _bool_parameter("replica-read-only", "yes", aliases=("slave-read-only",)),
    Parameter("repl-backlog-size", "1048576", _memory(1, LLONG_MAX)),
    Parameter("repl-backlog-ttl", "3600", _integer(0, INT_MAX)),
    Parameter("repl-ping-replica-period", "10", _integer(1, INT_MAX), aliases=("repl-ping-slave-period",)),
    Parameter("repl-timeout", "60", _integer(1, INT_MAX)),
    _bool_parameter("repl-diskless-sync", "yes"),
    Parameter("repl-diskless-sync-delay", "5", _integer(0, INT_MAX)),
    Parameter("repl-diskless-sync-max-replicas", "0", _integer(0, INT_MAX)),
    Parameter("repl-diskless-load", "disabled", _enum("disabled", "on-empty-db", "swapdb")),
    _bool_parameter("repl-disable-tcp-nodelay", "no"),
    _bool_parameter("replica-serve-stale-data", "yes", aliases=("slave-serve-stale-data",)),
    _bool_parameter("replica-lazy-flush", "no", aliases=("slave-lazy-flush",)),
    Parameter("replica-priority", "100", _integer(0, INT_MAX), aliases=("slave-priority",)),
    _bool_parameter("replica-announced", "yes"),
    Parameter("replica-announce-ip", "", aliases=("slave-announce-ip",)),
    Parameter("replica-announce-port", "0", _integer(0, 65535), aliases=("slave-announce-port",)),
    Parameter("min-replicas-to-write", "0", _integer(0, INT_MAX), aliases=("min-slaves-to-write",)),
    Parameter("min-replicas-max-lag", "10", _integer(0, INT_MAX), aliases=("min-slaves-max-lag",)),
    # Security.
    Parameter("requirepass", ""),
    Parameter("enable-debug-command", "no", _enum("no", "yes", "local"), mutable=False),
    Parameter("enable-protected-configs", "no", _enum("no", "yes", "local"), mutable=False),
    # Process.
    Parameter("loglevel", "notice", _enum("debug", "verbose", "notice", "warning")),
    Parameter("logfile", "", mutable=False),
    Parameter("pidfile", ""),
    _bool_parameter("daemonize", "no", mutable=False),
]

_BY_NAME: dict[str, Parameter] = {}
for _parameter in PARAMETERS:
    for _name in (_parameter.name, *_parameter.aliases):
        _BY_NAME[_name] = _parameter


def lookup_parameter(name: str) -> Parameter | None:
    return _BY_NAME.get(name.lower())


class Config:
    """The current value of every parameter, typed (ints are ints, save points a list)."""

    def __init__(self):
        self.values: dict[str, Any] = {p.name: p.parse(p.default) for p in PARAMETERS}

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def text(self, name: str) -> str:
        parameter = _BY_NAME[name]
        return parameter.format(self.values[parameter.name])

    def set(self, name: str, text: str) -> None:
        """Set a parameter from its text form; raises ConfigError."""
        parameter = lookup_parameter(name)
        if parameter is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        self.values[parameter.name] = parameter.updated(self.values[parameter.name], text)

    def matching(self, patterns: list[bytes]) -> dict[bytes, bytes]:
        """CONFIG GET: name -> value for every parameter matching one of the patterns.

        A name without glob characters is looked up directly and echoed as given; a
        pattern matches names and aliases (slaveof, replicaof) case-insensitively.
        """
        found: dict[bytes, bytes] = {}
        seen: set[str] = set()
        for pattern in patterns:
            text = pattern.decode("utf-8", "replace")
            if not any(c in text for c in "*?["):
                parameter = lookup_parameter(text)
                if parameter is not None and text.lower() not in seen:
                    seen.add(text.lower())
                    found[pattern] = self.text(parameter.name).encode()
                continue
            glob = compile_glob(pattern, nocase=True)
            for parameter in PARAMETERS:
                for name in (parameter.name, *parameter.aliases):
                    if name not in seen and glob.match(name.encode()):
                        seen.add(name)
                        found[name.encode()] = self.text(parameter.name).encode()
        return found


# --------------------------------------------------------------------------- start-up


class StartupError(Exception):
    """The command line or configuration file is wrong: print it and exit non-zero."""


def _directives_from_file(path: str) -> list[tuple[str, list[str], str]]:
    try:
        with open(path, "rb") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise StartupError(f"Fatal error, can't open config file '{path}': {error.strerror}") from None
    directives = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        words = split_inline(line)
        if not words:
            raise StartupError(f"Reading the configuration file, at line {number}: unbalanced quotes")
        decoded = [w.decode("utf-8", "surrogateescape") for w in words]
        directives.append((decoded[0], decoded[1:], f"{path}:{number}"))
    return directives


def _directives_from_args(args: list[str]) -> list[tuple[str, list[str], str]]:
    directives: list[tuple[str, list[str], str]] = []
    for arg in args:
        if arg.startswith("--") and len(arg) > 2:
            directives.append((arg[2:], [], "command line"))
        elif directives:
            directives[-1][1].append(arg)
        else:
            raise StartupError(f"Unexpected argument '{arg}': options look like --port 6380")
    return directives


def load_config(argv: list[str]) -> Config:
    """Build the configuration from ``[config-file] [--name value ...]``, like redis-server."""
    config = Config()
    directives = []
    if argv and not argv[0].startswith("--"):
        directives += _directives_from_file(argv[0])
        argv = argv[1:]
    directives += _directives_from_args(argv)
    for name, words, where in directives:
        parameter = lookup_parameter(name)
        if parameter is None:
            raise StartupError(f"Unknown option '{name}' ({where}). See README.md for the options.")
        try:
            config.set(name, " ".join(words))
        except ConfigError as error:
            raise StartupError(f"Bad value for '{name}' ({where}): {error}") from None
    if config["daemonize"]:
        raise StartupError("daemonize yes is not supported: start the server in the background or under a supervisor")
    return config
