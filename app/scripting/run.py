"""One script running: what it may do, and how it runs Redis commands (Redis: script.c).

A script runs inside the command that started it (EVAL, FCALL...), so it holds the
keyspace lock from its first line to its last: no other client's command runs in
between, which is what makes a script atomic here, as Redis' single thread does there.

`ScriptRun` is that invocation's context. Before the script starts, `ScriptRun.refusal`
applies the checks Redis makes once per script (a read-only replica, OOM, the *_RO
commands...). Each ``redis.call`` then goes through `ScriptRun.call`, the dispatcher of
scripts, which applies the rules that hold inside them (Redis: scriptCall):

1. the command must exist, with the right number of arguments;
2. commands flagged ``noscript`` (MULTI, SUBSCRIBE, BLPOP, EVAL itself...) are refused;
3. the caller's ACL user must be allowed the command, its keys and channels (a refusal
   is logged in ACL LOG with the context ``lua``);
4. a write is refused in a read-only script (EVAL_RO, FCALL_RO, ``flags=no-writes``), on
   a read-only replica, when the server cannot persist (MISCONF) or lacks replicas
   (``min-replicas-to-write``), and, until the script has written, over ``maxmemory``
   for a command flagged ``denyoom``;
5. in cluster mode, its keys must be served here, and in one slot unless the script
   allows otherwise (app/cluster/routing.py's `script_refusal`);
6. the command runs for the caller (its database as the script selected it, the
   script's RESP version), and what it changed joins the script's propagation unit:
   replicas and the AOF get the script's effects, not the script, wrapped in
   MULTI/EXEC when there is more than one (app/propagation.py).

Replies cross between Python and Lua as Redis converts them (`to_lua`, `from_lua`):
a bulk string is a Lua string, an integer a number, a null ``false`` (``nil`` in
RESP3), a status reply ``{ok=...}``, an error ``{err=...}``; back from Lua, a number is
truncated to an integer and an array ends at its first nil.
"""

from __future__ import annotations

import time

from app import acl, monitor
from app.protocol import NULL_ARRAY, Attributed, CountedError, BigNumber, BigNumberText, DoubleText, Push, Replies, ReplyError, SetReply, Verbatim, format_double
from app import dispatch  # a module reference: dispatch imports the commands, which import us
from app.cluster.routing import declared_slot, script_refusal
from app.propagation import AOF, REPLICAS
from app.scripting.bridge import Thrown, lua_type

class ScriptRun:
    """One invocation of a script or function, for one client."""

    def __init__(self, world, client, name: str, flags: frozenset[str] | None, read_only_command: bool,
                 kind: str = "script"):
        self.world = world
        self.client = client
        self.server = client.server
        self.name = name  # the SHA1 (EVAL) or the function's name (FCALL), for errors
        # None: a script without a shebang ("legacy": may write, checked per command)
        self.flags = flags
        self.read_only = read_only_command or (flags is not None and "no-writes" in flags)
        self.kind = kind  # "script" or "function": SCRIPT KILL kills one, FUNCTION KILL the other
        self.resp = 2  # redis.setresp
        self.replicate = AOF | REPLICAS  # redis.set_repl
        self.wrote = False
        self.db = client.db
        self.started = time.monotonic()
        self.kill_requested = False  # SCRIPT KILL or FUNCTION KILL asked
        self.stopping = False  # the hook is stopping it
        # Over maxmemory when the script started: a legacy script may not run a denyoom
        # command until it has written something (Redis: server.script_oom).
        self.oom = False
        self.busy = False  # past busy-reply-threshold: other clients hear BUSY
        # Cluster mode: the slot of the keys the script declared (None: it declared
        # none, and the first key it touches sets it), for `routing.script_refusal`.
        self.slot = None
        if self.server.cluster is not None:
            caller, _start, _refusal = dispatch.lookup(client.argv)
            if caller is not None:
                self.slot = declared_slot(caller, client.argv)

    def killed(self):
        """The error that stops a script SCRIPT KILL (or FUNCTION KILL) asked to stop."""
        return self._fail("ERR Script killed by user with SCRIPT KILL...", True)

    def acl_check(self, args: tuple):
        """redis.acl_check_cmd: whether the caller's user may run this command."""
        argv = _command_argv(args)
        if argv.__class__ is str:
            return self._fail(argv, True)
        entry, _start, refusal = dispatch.lookup(argv)
        if entry is None or refusal is not None:
            return self._fail("ERR Invalid command passed to redis.acl_check_cmd()", True)
        user = self.client.user
        return user.unrestricted or user.refusal(entry, argv) is None

    # --------------------------------------------------------------- before it runs

    def refusal(self) -> ReplyError | None:
        """The checks Redis makes before a script starts (scriptPrepareForRun)."""
        server = self.server
        client = self.client
        if self.flags is not None and "no-cluster" in self.flags and server.cluster is not None:
            return ReplyError("ERR Can not run script on cluster, 'no-cluster' flag is set.")
        if self.flags is not None and "no-writes" not in self.flags:
            if self.read_only and "no-writes" not in self.flags:
                return ReplyError("ERR Can not execute a script with write flag using *_ro command.")
            refusal = server.write_refusal
            if refusal is not None and not client.is_master:
                message = refusal.message
                if message.startswith("READONLY"):
                    return ReplyError("READONLY Can not run script with write flag on readonly replica")
                if message.startswith("MISCONF"):
                    return ReplyError(_script_misconf(message))
                return refusal
        if server.maxmemory and not client.is_master and not server.eviction.perform():
            self.oom = True
            if self.flags is not None and not (self.flags & {"allow-oom", "no-writes"}):
                return ReplyError("OOM allow-oom flag is not set on the script, can not run it when used memory > "
                                  "'maxmemory'")
        return None

    # --------------------------------------------------------------- redis.call

    def call(self, args: tuple, raise_errors: bool):
        """``redis.call`` (``raise_errors``) or ``redis.pcall``: run one command, return
        its reply as a Lua value, or raise (call) / return (pcall) the error table."""
        argv = _command_argv(args)
        if argv.__class__ is str:
            return self._fail(argv, raise_errors)
        refusal = self._refusal(argv)
        if refusal is not None:
            return self._fail(refusal, raise_errors, counted=True)
        reply = self._run(argv)
        if isinstance(reply, ReplyError):
            return self._fail(reply.message, raise_errors, counted=True)
        return to_lua(self.world, reply, self.resp)

    def _fail(self, message: str, raise_errors: bool, counted: bool = False):
        """The error table {err="CODE message"}: raised by redis.call, returned by
        redis.pcall. A command's error or refusal is counted in INFO errorstats here,
        once, and the table says so, so that the script's reply does not count it again."""
        fields = {b"err": message.encode("utf-8", "surrogateescape")}
        if counted:
            self.server.count_error(ReplyError(message))
            fields[b"ignore_error_stats_update"] = True
        table = self.world.table(fields)
        if raise_errors:
            raise Thrown(table)
        return table

    def _refusal(self, argv: list[bytes]) -> str | None:
        """Why this script may not run ``argv`` now, in Redis' order, as an error with
        its code; None if it may."""
        entry, start, refusal = dispatch.lookup(argv)
        if entry is None:
            return "ERR Unknown Redis command called from script"
        refusal = self._rules_refusal(entry, start, argv, refusal)
        if refusal is not None:
            entry.stats.rejected_calls += 1  # INFO commandstats, as for a client's refused command
        return refusal

    def _rules_refusal(self, entry, start: int, argv: list[bytes], wrong_arity) -> str | None:
        """`_refusal` for a command that exists: arity, noscript, ACL, writes, OOM."""
        if wrong_arity is not None:
            return "ERR Wrong number of args calling Redis command from script"
        if "noscript" in entry.flags:
            return "ERR This Redis command is not allowed from script"
        client = self.client
        server = self.server
        if server.refuses_stale and "stale" not in entry.flags and not client.is_master and server.master_link_down():
            return "ERR Can not execute the command on a stale replica"  # the script said allow-stale, not this command
        if not client.user.unrestricted:
            refused = client.user.refusal(entry, argv)
            if refused is not None:
                reason, object_ = refused
                acl.log_refusal(client, reason, object_, client.user.name, context="lua")
                return "ERR The user executing the script can't run this command or subcommand"
        self.entry, self.start = entry, start
        if "write" in entry.flags:
            if self.read_only:
                return "ERR Write commands are not allowed from read-only scripts."
            refusal = self.server.write_refusal
            if refusal is not None and not client.is_master:
                return refusal.message
        if self.oom and not self.wrote and self.flags is None and "denyoom" in entry.flags:
            return "OOM command not allowed when used memory > 'maxmemory'."
        if server.cluster is not None:
            return script_refusal(server.cluster, self, entry, argv)
        return None

    def _run(self, argv: list[bytes]):
        """Run the command for the caller, as the script sees it: in the database the
        script selected, in the script's RESP version; note what it propagates."""
        entry, start = self.entry, self.start
        client = self.client
        server = self.server
        keyspace = server.keyspace
        if "write" in entry.flags:
            self.wrote = True  # Redis' SCRIPT_WRITE_DIRTY: from now on, unkillable and past the OOM check
        saved = client.db, client.protocol, client.argv
        client.db, client.protocol, client.argv = self.db, self.resp, argv
        dirty = keyspace.dirty
        try:
            reply = entry.call(client, argv[start:])
            self.db = client.db  # SELECT inside a script lasts until the script ends
        finally:
            client.db, client.protocol, client.argv = saved
        changed = keyspace.dirty > dirty
        if keyspace.propagation.enabled:
            keyspace.propagation.command_done(self.db.index, argv, changed, self.replicate)
        if server.monitors and "admin" not in entry.flags:
            monitor.feed(server, client, argv, origin=f"{self.db.index} lua")
        if client.tracking is not None and "readonly" in entry.flags:
            caller, _start, _refusal = dispatch.lookup(saved[2])  # the EVAL or FCALL the client sent
            server.tracking.remember(client, caller, saved[2], reader=entry)
        return reply


def _command_argv(args: tuple) -> list[bytes] | str:
    """The arguments of redis.call as a command's argv, or the error Redis gives for
    them (luaArgsToRedisArgv): strings as they are, numbers as ``%.17g`` (Lua's own
    ``%.14g`` would lose precision), anything else refused."""
    if not args:
        return "ERR Please specify at least one argument for this redis lib call"
    argv = []
    for arg in args:
        kind = type(arg)
        if kind is bytes:
            argv.append(arg)
        elif kind is int or kind is float:
            argv.append(b"%.17g" % arg)
        else:
            return "ERR Lua redis lib command arguments must be strings or integers"
    return argv


def _script_misconf(message: str) -> str:
    """MISCONF as a script with the write flag hears it."""
    if "AOF" in message:
        detail = message.partition("AOF error: ")[2]
        return ("MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. "
                f"Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: {detail}")
    return ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
            "Writable scripts are blocked. Use 'no-writes' flag for read only scripts.")


# --------------------------------------------------------------------------- conversions


def to_lua(world, value, resp: int):
    """A command's reply as the script sees it (Redis: redisProtocolToLuaType)."""
    kind = type(value)
    if kind is bytes or kind is int:
        return value
    if kind is str:
        return world.table({b"ok": value.encode("utf-8", "surrogateescape")})
    if value is None or value is NULL_ARRAY:
        return None if resp == 3 else False
    if kind is list or kind is tuple or kind is Push or kind is Replies or (kind is SetReply and resp == 2):
        if all(type(item) is bytes for item in value):
            return world.table(list(value))  # the common case: one call for the table
        return world.table([_element(world, item, resp) for item in value])
    if kind is SetReply:
        return world.table({b"set": world.table({_element(world, item, resp): True for item in value})})
    if kind is dict:
        if resp == 2:
            flat = []
            for key, item in value.items():
                flat.append(_element(world, key, resp))
                flat.append(_element(world, item, resp))
            return world.table(flat)
        return world.table({b"map": world.table({_element(world, key, resp): _element(world, item, resp)
                                                 for key, item in value.items()})})
    if kind is bool:
        return value if resp == 3 else int(value)
    if kind is float:
        return world.table({b"double": value}) if resp == 3 else format_double(value)
    if kind is DoubleText:
        return world.table({b"double": float(value.text)}) if resp == 3 else value.text
    if kind is Verbatim:
        text = value.encode("utf-8", "surrogateescape")
        if resp == 3:
            return world.table({b"verbatim_string": world.table({b"format": b"txt", b"string": text})})
        return text
    if kind is BigNumber:
        return world.table({b"big_number": b"%d" % value}) if resp == 3 else b"%d" % value
    if kind is Attributed:
        return to_lua(world, value.reply, resp)
    if isinstance(value, ReplyError):
        return world.table({b"err": value.message.encode("utf-8", "surrogateescape")})
    raise TypeError(f"no Lua form for a reply of type {kind.__name__}")


def _element(world, value, resp: int):
    """An element of an array, or a key of a map or set: a Lua table cannot hold nil,
    so a null is ``false`` there, as in Redis, whatever the RESP version."""
    converted = to_lua(world, value, resp)
    return False if converted is None else converted


_MAX_DEPTH = 500  # deeper than this, a reply is an error rather than a Python recursion error
_SLICE = 4000  # elements fetched from Lua per call (below Lua's C stack limit)


def from_lua(world, value, resp: int, depth: int = 0):
    """A script's return value as a reply (Redis: luaReplyToRedisReply). ``resp`` is the
    script's RESP version (redis.setresp), which decides what ``true`` becomes."""
    kind = type(value)
    if kind is bytes or kind is int:
        return value
    if kind is float:
        return _truncate(value)
    if kind is bool:
        if resp == 3:
            return value
        return 1 if value else None
    if value is None or lua_type(value) != "table":
        return None  # nil, functions, coroutines, userdata: a null, as Redis answers
    if depth > _MAX_DEPTH:
        return ReplyError("ERR reached lua stack limit")
    parts = world.api.reply_parts(value)
    shape = parts[0]
    if shape == b"array":
        return [from_lua(world, item, resp, depth + 1) for item in _items(world, parts[1], parts[2])]
    if shape == b"err":  # counted already if it is the error of a command the script ran
        return (CountedError if parts[2] else ReplyError)(parts[1].decode("utf-8", "surrogateescape"))
    if shape == b"ok":
        return parts[1].decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " ")
    if shape == b"double":
        return float(parts[1])
    if shape == b"big_number":
        return BigNumberText(parts[1].replace(b"\r", b" ").replace(b"\n", b" "))
    if shape == b"verbatim_string":
        return Verbatim(parts[1].decode("utf-8", "surrogateescape"))  # our Verbatim always says txt
    items = [from_lua(world, item, resp, depth + 1) for item in _items(world, parts[1], parts[2])]
    if shape == b"set":
        return SetReply(items)
    return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}


def _items(world, table, count: int):
    """The elements of a plain Lua table, fetched a slice at a time."""
    for first in range(1, count + 1, _SLICE):
        last = min(first + _SLICE - 1, count)
        values = world.api.slice(table, first, last)
        if last == first:
            yield values
        else:
            yield from values


def _truncate(number: float) -> int:
    """``(long long)`` of a Lua number, as C converts it (x86: out of range is LLONG_MIN)."""
    if number != number or number in (float("inf"), float("-inf")) or not -2**63 <= number < 2**63:
        return -2**63
    return int(number)


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value
