"""Server commands: COMMAND, CONFIG, INFO, SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, DBSIZE, FLUSHDB, FLUSHALL, TIME, SHUTDOWN
(DEBUG, also of the server group, has a module of its own: app/commands/debug.py)."""

from __future__ import annotations

import importlib
import os
import platform
import resource
import sys
import time

from app import log
from app.commands.arguments import SYNTAX_ERROR, int32, keyword, text
from app.commands.introspection import info_memory, latency_percentiles
from app.commands.registry import COMMANDS, FLAG_ORDER, Command, CommandStats, KeySpec, all_commands, command, command_by_name, container
from app.config import ConfigError, lookup_parameter, rewrite_config_file
from app.open_files import clients_allowed
from app.glob import compile_glob
from app.persistence.aof_file import CANT_REWRITE
from app.protocol import ReplyError, SetReply, Verbatim
from app.state import REDIS_VERSION


def _server(name: str, **kwargs):
    return command(name, group="server", **kwargs)


# --------------------------------------------------------------------------- COMMAND


def _key_spec_reply(spec: KeySpec) -> dict:
    reply = {}
    if spec.notes:
        reply[b"notes"] = spec.notes.encode()
    reply[b"flags"] = SetReply(spec.flags.split())
    if spec.unknown:
        reply[b"begin_search"] = {b"type": b"unknown", b"spec": {}}
        reply[b"find_keys"] = {b"type": b"unknown", b"spec": {}}
        return reply
    if spec.keyword:
        reply[b"begin_search"] = {b"type": b"keyword",
                                  b"spec": {b"keyword": spec.keyword.encode(), b"startfrom": spec.index}}
    else:
        reply[b"begin_search"] = {b"type": b"index", b"spec": {b"index": spec.index}}
    if spec.keynum:
        reply[b"find_keys"] = {b"type": b"keynum", b"spec": {b"keynumidx": 0, b"firstkey": 1, b"keystep": spec.step}}
    else:
        reply[b"find_keys"] = {
            b"type": b"range",
            b"spec": {b"lastkey": spec.last, b"keystep": spec.step, b"limit": spec.limit},
        }
    return reply


def command_info(entry: Command) -> list:
    """One command as COMMAND INFO describes it (ten fields, subcommands nested)."""
    first, last, step = entry.legacy_key_range()
    return [
        entry.name.encode(),
        entry.arity,
        SetReply([flag for flag in FLAG_ORDER if flag in entry.flags]),
        first,
        last,
        step,
        SetReply(["@" + category for category in entry.acl_categories]),
        SetReply([tip.encode() for tip in entry.tips]),
        SetReply([_key_spec_reply(spec) for spec in entry.key_specs]),
        [command_info(sub) for sub in entry.subcommands.values()] if entry.subcommands else SetReply(),
    ]


# A group's COMMAND DOCS details (history, arguments...), imported on first use: they
# are large, and the server must start listening at once.
_DOCS_BY_GROUP: dict[str, dict] = {}


def _documented_details(entry: Command) -> dict:
    """What app/commands/docs/<group>.py holds for this command ({} for none)."""
    group_docs = _DOCS_BY_GROUP.get(entry.group)
    if group_docs is None:
        module_name = f"app.commands.docs.{entry.group.replace('-', '_')}"
        try:
            group_docs = importlib.import_module(module_name).DOCS
        except ModuleNotFoundError as error:
            if error.name != module_name:
                raise
            group_docs = {}  # none of the group's commands has details in Redis
        _DOCS_BY_GROUP[entry.group] = group_docs
    return group_docs.get(entry.name, {})


def _argument_docs(argument: dict) -> dict:
    """One argument of the tree, fields in the order of Redis' addReplyCommandArgList."""
    reply = {b"name": argument["name"].encode(), b"type": argument["type"].encode()}
    if "key_spec_index" in argument:
        reply[b"key_spec_index"] = argument["key_spec_index"]
    for field in ("token", "summary", "since", "deprecated_since"):
        if field in argument:
            reply[field.encode()] = argument[field].encode()
    if "flags" in argument:
        reply[b"flags"] = SetReply(argument["flags"].split())  # simple strings, as Redis
    if "arguments" in argument:
        reply[b"arguments"] = [_argument_docs(sub) for sub in argument["arguments"]]
    return reply


def command_docs(entry: Command) -> dict:
    """One command as COMMAND DOCS describes it, in the order of Redis' addReplyCommandDocs:
    summary, since, group and complexity from its declaration, then the details Redis
    documents (tools/gen_command_docs.py), then its subcommands."""
    docs = {}
    if entry.summary:
        docs[b"summary"] = entry.summary.encode()
    if entry.since:
        docs[b"since"] = entry.since.encode()
    docs[b"group"] = entry.group.encode()
    if entry.complexity:  # PSYNC and SYNC have none in Redis: complexity=""
        docs[b"complexity"] = entry.complexity.encode()
    details = _documented_details(entry)
    if "doc_flags" in details:
        docs[b"doc_flags"] = SetReply(details["doc_flags"].split())
    for field in ("deprecated_since", "replaced_by"):
        if field in details:
            docs[field.encode()] = details[field].encode()
    if "history" in details:
        docs[b"history"] = SetReply([[version.encode(), change.encode()] for version, change in details["history"]])
    if "arguments" in details:
        docs[b"arguments"] = [_argument_docs(argument) for argument in details["arguments"]]
    if entry.subcommands:
        docs[b"subcommands"] = {sub.name.encode(): command_docs(sub) for sub in entry.subcommands.values()}
    return docs


@_server("command", arity=-1, flags="loading stale", acl="connection", since="2.8.13",
         tips="nondeterministic_output_order", summary="Get array of Redis command details",
         complexity="O(N) where N is the total number of Redis commands")
def command_(client):
    return [command_info(entry) for entry in COMMANDS.values()]


def _command(name: str, **kwargs):
    return command(name, parent="command", group="server", acl="connection", flags="loading stale", **kwargs)


@_command("count", arity=2, since="2.8.13", summary="Get total number of Redis commands")
def command_count(client):
    return len(COMMANDS)


@_command("info", arity=-2, since="2.8.13", tips="nondeterministic_output_order",
          summary="Get array of specific Redis command details, or all when no argument is given.",
          complexity="O(N) where N is the number of commands to look up")
def command_info_(client, *names: bytes):
    if not names:
        return [command_info(entry) for entry in COMMANDS.values()]
    found = (command_by_name(text(name)) for name in names)
    return [command_info(entry) if entry else None for entry in found]


@_command("docs", arity=-2, since="7.0.0", tips="nondeterministic_output_order",
          summary="Get array of specific Redis command documentation",
          complexity="O(N) where N is the number of commands to look up")
def command_docs_(client, *names: bytes):
    if not names:
        return {entry.name.encode(): command_docs(entry) for entry in COMMANDS.values()}
    docs = {}
    for name in names:
        entry = command_by_name(text(name))
        if entry is not None:
            docs[entry.name.encode()] = command_docs(entry)
    return docs


@_command("list", arity=-2, since="7.0.0", tips="nondeterministic_output_order",
          summary="Get an array of Redis command names",
          complexity="O(N) where N is the total number of Redis commands")
def command_list(client, *args: bytes):
    entries = list(all_commands())
    if args:
        if len(args) != 3 or keyword(args[0]) != b"FILTERBY":
            raise ReplyError(SYNTAX_ERROR)
        kind, value = keyword(args[1]), args[2]
        if kind == b"MODULE":
            entries = []  # no modules here
        elif kind == b"ACLCAT":
            entries = [e for e in entries if text(value).lower() in e.acl_categories]
        elif kind == b"PATTERN":
            pattern = compile_glob(value, nocase=True)
            entries = [e for e in entries if pattern.match(e.name.encode())]
        else:
            raise ReplyError(SYNTAX_ERROR)
    return [entry.name.encode() for entry in entries]


def _keys_in(argv: tuple[bytes, ...]) -> list[tuple[bytes, str]]:
    """The keys of a command given as arguments, found from its key specs, with Redis'
    errors for a command that cannot be looked at."""
    from app.commands.keyspecs import keys_of
    from app.dispatch import lookup  # the dispatcher imports the command modules

    entry, _start, error = lookup(list(argv))
    if entry is None:
        raise ReplyError("ERR Invalid command specified")
    if error is not None:
        raise ReplyError("ERR Invalid number of arguments specified for command")
    if not entry.key_specs:
        raise ReplyError("ERR The command has no key arguments")
    keys = keys_of(entry, list(argv))
    if not keys and "no_mandatory_keys" not in entry.flags:
        raise ReplyError("ERR Invalid arguments specified for command")
    return keys


@_command("getkeys", arity=-4, since="2.8.13", summary="Extract keys given a full Redis command",
          complexity="O(N) where N is the number of arguments to the command")
def command_getkeys(client, *argv: bytes):
    return [key for key, _flags in _keys_in(argv)]


@_command("getkeysandflags", arity=-4, since="7.0.0", summary="Extract keys and access flags given a full Redis command",
          complexity="O(N) where N is the number of arguments to the command")
def command_getkeysandflags(client, *argv: bytes):
    flag_words = ("RW", "RO", "OW", "RM", "access", "update", "insert", "delete", "not_key", "incomplete")
    return [[key, SetReply([word for word in flag_words if word in flags.split()])] for key, flags in _keys_in(argv)]


@_command("help", arity=2, since="5.0.0", summary="Show helpful text about the different subcommands")
def command_help(client):
    return [
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "HELP",
        "    Print this help.",
    ]


# --------------------------------------------------------------------------- CONFIG

container("config", group="server", since="2.0.0", summary="A container for server configuration commands")


def _config(name: str, **kwargs):
    return command(name, parent="config", group="server", flags=kwargs.pop("flags", "admin noscript loading stale"), **kwargs)


@_config("get", arity=-3, since="2.0.0", summary="Get the values of configuration parameters",
         complexity="O(N) when N is the number of configuration parameters provided")
def config_get(client, *patterns: bytes):
    return client.server.config.matching(list(patterns))


@_config("set", arity=-4, since="2.0.0", tips="request_policy:all_nodes response_policy:all_succeeded",
         summary="Set configuration parameters to the given values",
         complexity="O(N) when N is the number of configuration parameters provided")
def config_set(client, *args: bytes):
    if len(args) % 2:
        raise ReplyError(SYNTAX_ERROR)
    config = client.server.config

    def failed(name: str, reason: str) -> ReplyError:
        return ReplyError(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")

    # As Redis' configSetCommand: first every name is checked (known, settable, given
    # once; an alias counts as a name of its own), then every value is parsed in order,
    # and only if all of them are valid does anything change: all or nothing.
    pairs = []
    for name, value in zip(args[::2], args[1::2]):
        parameter = lookup_parameter(text(name))
        if parameter is None:
            raise ReplyError(f"ERR Unknown option or number of arguments for CONFIG SET - '{text(name)}'")
        if not parameter.mutable:
            raise failed(text(name), "can't set immutable config")
        if parameter.protected and config["enable-protected-configs"] == "no":
            raise failed(text(name), "can't set protected config")
        if any(text(name).lower() == known for known, _, _ in pairs):
            raise failed(text(name), "duplicate parameter")
        pairs.append((text(name).lower(), parameter, text(value)))
    changes = {}
    for name, parameter, value in pairs:
        current = changes.get(parameter.name, config[parameter.name])
        try:
            changes[parameter.name] = parameter.updated(current, value)
        except ConfigError as error:
            raise failed(name, str(error)) from None
    if "maxclients" in changes:  # Redis raises the open files limit, or says what it could
        allowed = clients_allowed(changes["maxclients"])
        if allowed != changes["maxclients"]:
            raise failed("maxclients", f"The operating system is not able to handle the specified number of "
                                       f"clients, try with {allowed}")
    rebinding = [name for name, parameter, _value in pairs
                 if parameter.restart and changes[parameter.name] != config[parameter.name]]
    if rebinding:
        # port and bind: listen on the new addresses first; only if that works are the
        # old ones closed and the values changed (Redis: changeListener).
        try:
            client.server.rebind(changes.get("port", config["port"]), changes.get("bind", config["bind"]))
        except OSError:
            reason = "Unable to listen on this port" if "port" in changes else "Failed to bind to specified addresses."
            raise failed(rebinding[0], reason) from None
    config.values.update(changes)
    client.server.apply_config(set(changes))
    if "loglevel" in changes:
        log.configure(config["loglevel"], "")
    return "OK"


@_config("resetstat", arity=2, since="2.0.0", summary="Reset the stats returned by INFO")
def config_resetstat(client):
    client.server.reset_stats()
    for entry in all_commands():
        entry.stats = CommandStats()
    return "OK"


@_config("rewrite", arity=2, since="2.8.0",
         summary="Rewrite the configuration file with the in memory configuration")
def config_rewrite(client):
    path = client.server.config_file
    if not path:
        raise ReplyError("ERR The server is running without a config file")
    try:
        rewrite_config_file(client.server.config, path)
    except OSError as error:
        log.warning(f"CONFIG REWRITE failed: {error.strerror}")
        raise ReplyError(f"ERR Rewriting config file: {error.strerror}") from None
    log.notice("CONFIG REWRITE executed with success.")
    return "OK"


@_config("help", arity=2, flags="loading stale", since="5.0.0",
         summary="Show helpful text about the different subcommands")
def config_help(client):
    return [
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    ]


# --------------------------------------------------------------------------- INFO


def _info_server(server) -> dict:
    uptime = int(time.time() - server.started)
    return {
        "redis_version": REDIS_VERSION,
        "redis_git_sha1": "00000000",
        "redis_git_dirty": 0,
        "redis_mode": "standalone",
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
        "arch_bits": 64 if sys.maxsize > 2**32 else 32,
        "multiplexing_api": "threads",
        "python_version": platform.python_version(),
        "process_id": os.getpid(),
        "run_id": server.run_id,
        "tcp_port": server.config["port"],
        "server_time_usec": int(time.time() * 1_000_000),
        "uptime_in_seconds": uptime,
        "uptime_in_days": uptime // 86400,
        "hz": server.config["hz"],
        "configured_hz": server.config["hz"],
        "executable": server.executable,
        "config_file": server.config_file,
    }


def _info_clients(server) -> dict:
    return {
        "connected_clients": len(server.clients),
        "maxclients": server.config["maxclients"],
        "blocked_clients": len(server.keyspace.blocked),
    }


def _info_memory(server) -> dict:
    return info_memory(server)  # the process' own figures (app/commands/introspection.py)


def _info_persistence(server) -> dict:
    snapshots = server.snapshots
    return {
        "loading": int(server.loading),
        "rdb_changes_since_last_save": server.keyspace.dirty,
        "rdb_bgsave_in_progress": int(snapshots.in_progress),
        "rdb_last_save_time": snapshots.last_save,
        "rdb_last_bgsave_status": "ok" if snapshots.last_bgsave_ok else "err",
        "rdb_last_bgsave_time_sec": snapshots.last_bgsave_seconds,
        "rdb_current_bgsave_time_sec": -1 if not snapshots.in_progress else round(time.monotonic() - snapshots.bgsave_started),
        **server.aof.info(),
    }


def _info_stats(server) -> dict:
    keyspace = server.keyspace
    input_bytes, output_bytes = server.net_bytes()
    return {
        "total_connections_received": server.connections_received,
        "total_commands_processed": server.commands_processed,
        "total_net_input_bytes": input_bytes,
        "total_net_output_bytes": output_bytes,
        "rejected_connections": server.rejected_connections,
        "sync_full": server.replication.sync_full,
        "sync_partial_ok": server.replication.sync_partial_ok,
        "sync_partial_err": server.replication.sync_partial_err,
        "unexpected_error_replies": server.replication.unexpected_error_replies,
        "total_error_replies": sum(server.error_replies.values()),
        "expired_keys": keyspace.expired_keys,
        "evicted_keys": keyspace.evicted_keys,
        "evicted_clients": 0,  # maxmemory-clients is reported, not acted on
        "total_eviction_exceeded_time": server.eviction.exceeded_ms(total=True),
        "current_eviction_exceeded_time": server.eviction.exceeded_ms(total=False),
        "keyspace_hits": keyspace.hits,
        "keyspace_misses": keyspace.misses,
        "pubsub_channels": len(server.pubsub.channels),
        "pubsub_patterns": len(server.pubsub.patterns),
        "pubsubshard_channels": len(server.pubsub.shard_channels),
        "migrate_cached_sockets": len(server.migrate_connections),
    }


def _info_replication(server) -> dict:
    """INFO replication, with Redis 7.0's fields in its order."""
    replication = server.replication
    info = {"role": server.role}
    if server.role == "slave":
        host, port = server.config["replicaof"]
        link = replication.link
        up = link is not None and link.up
        info.update(
            master_host=host,
            master_port=port,
            master_link_status="up" if up else "down",
            master_last_io_seconds_ago=int(time.monotonic() - link.last_io) if up else -1,
            master_sync_in_progress=int(link is not None and link.state == "sync"),
            slave_read_repl_offset=replication.offset,
            slave_repl_offset=replication.offset,
        )
        if link is not None and link.state == "sync":  # a file coming in (REPL_STATE_TRANSFER)
            size, read = link.transfer_size, link.transfer_read
            info.update(
                master_sync_total_bytes=size,
                master_sync_read_bytes=read,
                master_sync_left_bytes=size - read,
                # As Redis divides: before the size is known (-1) that is -0.00.
                master_sync_perc=f"{read / size * 100 if size else 0:.2f}",
                master_sync_last_io_seconds_ago=int(time.monotonic() - link.last_io),
            )
        if not up:
            info["master_link_down_since_seconds"] = -1 if link is None or link.down_since is None else \
                int(time.monotonic() - link.down_since)
        info.update(
            slave_priority=server.config["replica-priority"],
            slave_read_only=int(server.config["replica-read-only"]),
            replica_announced=int(server.config["replica-announced"]),
        )
    online = [link for link in replication.replicas]
    info["connected_slaves"] = len(online)
    if server.config["min-replicas-to-write"] and server.config["min-replicas-max-lag"]:
        info["min_slaves_good_slaves"] = replication.good_replicas(server.config["min-replicas-max-lag"])
    now = time.monotonic()
    for number, link in enumerate(online):
        info[f"slave{number}"] = (f"ip={link.ip},port={link.listening_port},state={link.state},"
                                  f"offset={link.ack_offset},lag={int(now - link.ack_time)}")
    backlog = replication.backlog
    info.update(
        master_failover_state=replication.failover_state,
        master_replid=replication.replid,
        master_replid2=replication.replid2,
        master_repl_offset=replication.offset,
        second_repl_offset=replication.second_offset,
        repl_backlog_active=int(backlog is not None),
        repl_backlog_size=server.config["repl-backlog-size"],
        repl_backlog_first_byte_offset=0 if backlog is None else backlog.first_offset,
        repl_backlog_histlen=0 if backlog is None else backlog.histlen,
    )
    return info


def _info_cpu(server) -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "used_cpu_sys": f"{own.ru_stime:.6f}",
        "used_cpu_user": f"{own.ru_utime:.6f}",
        "used_cpu_sys_children": f"{children.ru_stime:.6f}",
        "used_cpu_user_children": f"{children.ru_utime:.6f}",
    }


def _info_keyspace(server) -> dict:
    return {
        f"db{db.index}": f"keys={len(db)},expires={len(db.expires)},avg_ttl=0"
        for db in server.keyspace.databases
        if len(db)
    }


def _info_modules(server) -> dict:
    return {}  # no modules here


def _info_commandstats(server) -> dict:
    stats = {}
    for entry in all_commands():
        counts = entry.stats
        if counts.calls or counts.rejected_calls:
            usec = counts.nanoseconds // 1000
            per_call = usec / counts.calls if counts.calls else 0
            stats[f"cmdstat_{entry.name}"] = (
                f"calls={counts.calls},usec={usec},usec_per_call={per_call:.2f},"
                f"rejected_calls={counts.rejected_calls},failed_calls={counts.failed_calls}"
            )
    return stats


def _info_errorstats(server) -> dict:
    return {f"errorstat_{code}": f"count={count}" for code, count in sorted(server.error_replies.items())}


def _info_cluster(server) -> dict:
    return {"cluster_enabled": 0 if server.cluster is None else 1}


# name -> (title, fields), in the order INFO prints them
INFO_SECTIONS = {
    "server": ("Server", _info_server),
    "clients": ("Clients", _info_clients),
    "memory": ("Memory", _info_memory),
    "persistence": ("Persistence", _info_persistence),
    "stats": ("Stats", _info_stats),
    "replication": ("Replication", _info_replication),
    "cpu": ("CPU", _info_cpu),
    "modules": ("Modules", _info_modules),
    "commandstats": ("Commandstats", _info_commandstats),
    "errorstats": ("Errorstats", _info_errorstats),
    "latencystats": ("Latencystats", latency_percentiles),
    "cluster": ("Cluster", _info_cluster),
    "keyspace": ("Keyspace", _info_keyspace),
}
INFO_DEFAULT = [name for name in INFO_SECTIONS if name not in ("commandstats", "latencystats")]


def info_text(server, sections: list[str]) -> str:
    """INFO's text for the named sections ("default", "all" and "everything" included)."""
    wanted: set[str] = set()
    for name in sections:
        if name == "default":
            wanted.update(INFO_DEFAULT)
        elif name in ("all", "everything"):
            wanted.update(INFO_SECTIONS)
        elif name in INFO_SECTIONS:
            wanted.add(name)
    blocks = []
    for name, (title, fields) in INFO_SECTIONS.items():
        if name in wanted:
            lines = [f"# {title}"] + [f"{key}:{value}" for key, value in fields(server).items()]
            blocks.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(blocks)


@_server("info", arity=-1, flags="loading stale", acl="dangerous", since="1.0.0",
         tips="nondeterministic_output request_policy:all_shards response_policy:special",
         summary="Get information and statistics about the server")
def info(client, *sections: bytes):
    names = [text(section).lower() for section in sections] or ["default"]
    return Verbatim(info_text(client.server, names))


# --------------------------------------------------------------------------- persistence

BGSAVE_IN_PROGRESS = "ERR Background save already in progress"


@_server("save", arity=1, flags="admin noscript no_async_loading no_multi", acl="dangerous", since="1.0.0",
         summary="Synchronously save the dataset to disk",
         complexity="O(N) where N is the total number of keys in all databases")
def save(client):
    snapshots = client.server.snapshots
    if snapshots.in_progress:
        raise ReplyError(BGSAVE_IN_PROGRESS)
    if not snapshots.save():
        raise ReplyError("ERR")
    return "OK"


@_server("bgsave", arity=-1, flags="admin noscript no_async_loading", acl="dangerous", since="1.0.0",
         summary="Asynchronously save the dataset to disk",
         complexity="O(1)")
def bgsave(client, *args: bytes):
    if len(args) > 1 or (args and keyword(args[0]) != b"SCHEDULE"):
        raise ReplyError(SYNTAX_ERROR)
    snapshots = client.server.snapshots
    if snapshots.in_progress:
        raise ReplyError(BGSAVE_IN_PROGRESS)
    if client.server.aof.rewriting or client.in_exec:
        if args or client.in_exec:
            snapshots.scheduled = True  # the AOF cron starts it when the rewrite is done
            return "Background saving scheduled"
        raise ReplyError("ERR Another child process is active (AOF?): can't BGSAVE right now. "
                         "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
    snapshots.background_save()
    return "Background saving started"


@_server("bgrewriteaof", arity=1, flags="admin noscript no_async_loading", acl="dangerous", since="1.0.0",
         summary="Asynchronously rewrite the append-only file", complexity="O(1)")
def bgrewriteaof(client):
    server = client.server
    aof = server.aof
    if aof.rewriting:
        raise ReplyError("ERR Background append only file rewriting already in progress")
    if server.snapshots.in_progress or client.in_exec:
        aof.rewrite_scheduled = True  # the AOF cron starts it once the save is done
        aof.consecutive_failures = 0
        return "Background append only file rewriting scheduled"
    if not aof.start_rewrite():
        raise ReplyError(CANT_REWRITE)
    return "Background append only file rewriting started"


@_server("lastsave", arity=1, flags="loading stale fast", acl="admin dangerous", since="1.0.0",
         tips="nondeterministic_output",
         summary="Get the UNIX time stamp of the last successful save to disk")
def lastsave(client):
    return client.server.snapshots.last_save


# --------------------------------------------------------------------------- keyspace-wide


@_server("dbsize", arity=1, flags="readonly fast", acl="keyspace", since="1.0.0",
         tips="request_policy:all_shards response_policy:agg_sum",
         summary="Return the number of keys in the selected database")
def dbsize(client):
    return len(client.db)


def _flush_mode(args: tuple[bytes, ...]) -> None:
    if len(args) > 1 or (args and keyword(args[0]) not in (b"SYNC", b"ASYNC")):
        raise ReplyError(SYNTAX_ERROR)


@_server("flushdb", arity=-1, flags="write", acl="keyspace dangerous", since="1.0.0",
         tips="request_policy:all_shards response_policy:all_succeeded",
         summary="Remove all keys from the current database",
         complexity="O(N) where N is the number of keys in the selected database")
def flushdb(client, *mode: bytes):
    _flush_mode(mode)
    client.db.clear()
    return "OK"


@_server("flushall", arity=-1, flags="write", acl="keyspace dangerous", since="1.0.0",
         tips="request_policy:all_shards response_policy:all_succeeded",
         summary="Remove all keys from all databases",
         complexity="O(N) where N is the total number of keys in all databases")
def flushall(client, *mode: bytes):
    _flush_mode(mode)
    client.server.keyspace.flush_all()
    return "OK"


@_server("swapdb", arity=3, flags="write fast", acl="keyspace dangerous", since="4.0.0",
         summary="Swaps two Redis databases",
         complexity="O(N) where N is the count of clients watching or blocking on keys from both databases.")
def swapdb(client, index1: bytes, index2: bytes):
    if client.server.cluster is not None:
        raise ReplyError("ERR SWAPDB is not allowed in cluster mode")  # there is only database 0
    first = int32(index1, "ERR invalid first DB index")
    second = int32(index2, "ERR invalid second DB index")
    keyspace = client.server.keyspace
    count = len(keyspace.databases)
    if not (0 <= first < count and 0 <= second < count):
        raise ReplyError("ERR DB index is out of range")
    if first != second:
        keyspace.swap(first, second)
    keyspace.dirty += 1
    return "OK"


@_server("time", arity=1, flags="loading stale fast", since="2.6.0", tips="nondeterministic_output",
         summary="Return the current server time")
def time_(client):
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]


# --------------------------------------------------------------------------- SHUTDOWN (DEBUG: app/commands/debug.py)


@_server("shutdown", arity=-1, flags="admin noscript loading stale no_multi allow_busy", since="1.0.0",
         summary="Synchronously save the dataset to disk and then shut down the server",
         complexity="O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)")
def shutdown(client, *args: bytes):
    options = [keyword(arg) for arg in args]
    if any(option not in (b"NOSAVE", b"SAVE", b"NOW", b"FORCE", b"ABORT") for option in options):
        raise ReplyError(SYNTAX_ERROR)
    if b"NOSAVE" in options and b"SAVE" in options:
        raise ReplyError(SYNTAX_ERROR)
    if b"ABORT" in options:
        if len(options) > 1:
            raise ReplyError(SYNTAX_ERROR)
        raise ReplyError("ERR No shutdown in progress.")
    if client.server.busy_script is not None and b"NOSAVE" not in options:
        raise client.server.busy.refusal()  # a busy script: only NOSAVE may end the server
    log.warning(f"User requested shutdown... (client id={client.id})")
    save = False if b"NOSAVE" in options else True if b"SAVE" in options else None
    client.server.shut_down(save, force=b"FORCE" in options)  # ends the process unless the save failed
    raise ReplyError("ERR Errors trying to SHUTDOWN. Check logs.")
