"""Scripting: EVAL, EVALSHA, their read-only forms, and SCRIPT (Redis: eval.c).

The commands only read their arguments; the work is in app/scripting/: the Lua
interpreter (lua.py), the ``redis`` table scripts call (api.py), the rules a running
script obeys and the conversions of replies (run.py), and the cache of scripts
(engine.py). The commands carry no ``write`` flag: whether a script may write is
decided by the script's own flags and, command by command, as it runs.
"""

from __future__ import annotations

from app.commands.arguments import integer
from app.numeric import parse_int
from app.commands.registry import KeySpec, command, container
from app.protocol import ReplyError
from app.scripting import engine

_EVAL_FLAGS = "noscript stale skip_monitor no_mandatory_keys movablekeys"
_RW_KEYS = [KeySpec(2, "RW access update", keynum=True,
                    notes="We cannot tell how the keys will be used so we assume the worst, RW and UPDATE")]
_RW_KEYS_SHA = [KeySpec(2, "RW access update", keynum=True)]
_RO_KEYS = [KeySpec(2, "RO access", keynum=True,
                    notes="We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")]
_RO_KEYS_SHA = [KeySpec(2, "RO access", keynum=True)]
_EVAL_COMPLEXITY = "Depends on the script that is executed."
_FCALL_COMPLEXITY = "Depends on the function that is executed."


def _scripting(name: str, **kwargs):
    return command(name, group="scripting", acl="scripting", **kwargs)


def with_script_flags(flags: frozenset[str], script_flags: frozenset[str] | None) -> frozenset[str]:
    """The flags of an EVAL or FCALL of a script that declared ``script_flags`` (None: a
    script without a shebang, which keeps the command's own but ``stale``). As Redis'
    scriptFlagsToCmdFlags: it may write unless ``no-writes``, is refused over maxmemory
    unless ``allow-oom`` or ``no-writes``, and runs on a stale replica only with
    ``allow-stale``."""
    if script_flags is None:
        return flags - {"stale"}
    flags = set(flags) - {"stale", "denyoom", "write"}
    if not script_flags & {"allow-oom", "no-writes"}:
        flags.add("denyoom")
    if "no-writes" not in script_flags:
        flags.add("write")
    if "allow-stale" in script_flags:
        flags.add("stale")
    return frozenset(flags)


def _eval_flags(entry, client, argv: list[bytes]) -> frozenset[str]:
    """EVAL's flags: those of its script, cached or read from its shebang."""
    if len(argv) < 2:
        return entry.flags
    script = client.server.scripting.scripts.get(engine.sha1hex(argv[1]))
    if script is not None:
        return with_script_flags(entry.flags, script.flags)
    try:
        script_flags, _start = engine.parse_shebang(argv[1])
    except ReplyError:
        return entry.flags  # EVAL itself will say what is wrong with it
    return with_script_flags(entry.flags, script_flags)


def _evalsha_flags(entry, client, argv: list[bytes]) -> frozenset[str]:
    script = client.server.scripting.scripts.get(argv[1].decode("latin-1").lower()) if len(argv) > 1 else None
    return entry.flags if script is None else with_script_flags(entry.flags, script.flags)


def _fcall_flags(entry, client, argv: list[bytes]) -> frozenset[str]:
    function = client.server.functions.functions.get(argv[1].lower()) if len(argv) > 1 else None
    return entry.flags if function is None else with_script_flags(entry.flags, function.flags)


def split_keys(numkeys: bytes, rest: tuple[bytes, ...]) -> tuple[list[bytes], list[bytes]]:
    """EVAL's and FCALL's ``numkeys key... arg...``: the keys and the arguments."""
    count = integer(numkeys)
    if count > len(rest):
        raise ReplyError("ERR Number of keys can't be greater than number of args")
    if count < 0:
        raise ReplyError("ERR Number of keys can't be negative")
    return list(rest[:count]), list(rest[count:])


def _eval(client, body: bytes, numkeys: bytes, rest, read_only: bool):
    keys, args = split_keys(numkeys, rest)
    scripting = client.server.scripting
    return scripting.eval(client, scripting.load(body), keys, args, read_only)


def _evalsha(client, sha: bytes, numkeys: bytes, rest, read_only: bool):
    if len(sha) != 40:
        raise engine.NOSCRIPT  # before the number of keys, as Redis checks
    keys, args = split_keys(numkeys, rest)
    scripting = client.server.scripting
    script = scripting.scripts.get(sha.decode("latin-1").lower())
    if script is None:
        raise engine.NOSCRIPT
    return scripting.eval(client, script, keys, args, read_only)


@_scripting("eval", arity=-3, flags=_EVAL_FLAGS, flags_of=_eval_flags, keys=_RW_KEYS, since="2.6.0", complexity=_EVAL_COMPLEXITY,
            summary="Execute a Lua script server side")
def eval_(client, script: bytes, numkeys: bytes, *rest: bytes):
    return _eval(client, script, numkeys, rest, read_only=False)


@_scripting("evalsha", arity=-3, flags=_EVAL_FLAGS, flags_of=_evalsha_flags, keys=_RW_KEYS_SHA, since="2.6.0", complexity=_EVAL_COMPLEXITY,
            summary="Execute a Lua script server side")
def evalsha(client, sha1: bytes, numkeys: bytes, *rest: bytes):
    return _evalsha(client, sha1, numkeys, rest, read_only=False)


@_scripting("eval_ro", arity=-3, flags="readonly " + _EVAL_FLAGS, flags_of=_eval_flags, keys=_RO_KEYS, since="7.0.0",
            complexity=_EVAL_COMPLEXITY, summary="Execute a read-only Lua script server side")
def eval_ro(client, script: bytes, numkeys: bytes, *rest: bytes):
    return _eval(client, script, numkeys, rest, read_only=True)


@_scripting("evalsha_ro", arity=-3, flags="readonly " + _EVAL_FLAGS, flags_of=_evalsha_flags,
            keys=_RO_KEYS_SHA, since="7.0.0",
            complexity=_EVAL_COMPLEXITY, summary="Execute a read-only Lua script server side")
def evalsha_ro(client, sha1: bytes, numkeys: bytes, *rest: bytes):
    return _evalsha(client, sha1, numkeys, rest, read_only=True)


# --------------------------------------------------------------------------- SCRIPT

container("script", group="scripting", since="2.6.0", summary="A container for Lua scripts management commands")


def _script(name: str, **kwargs):
    return command(name, parent="script", group="scripting", acl="scripting", **kwargs)


@_script("load", arity=3, flags="noscript stale", since="2.6.0", tips="request_policy:all_nodes response_policy:all_succeeded",
         summary="Load the specified Lua script into the script cache.",
         complexity="O(N) with N being the length in bytes of the script body.")
def script_load(client, script: bytes):
    return client.server.scripting.load(script).sha.encode()


@_script("exists", arity=-3, flags="noscript", since="2.6.0",
         tips="request_policy:all_shards response_policy:agg_logical_and",
         summary="Check existence of scripts in the script cache.",
         complexity="O(N) with N being the number of scripts to check (so checking a single script is an O(1) "
                    "operation).")
def script_exists(client, *sha1s: bytes):
    scripts = client.server.scripting.scripts
    return [int(sha.decode("latin-1").lower() in scripts) for sha in sha1s]


@_script("flush", arity=-2, flags="noscript", since="2.6.0",
         tips="request_policy:all_nodes response_policy:all_succeeded",
         summary="Remove all the scripts from the script cache.",
         complexity="O(N) with N being the number of scripts in cache")
def script_flush(client, *mode: bytes):
    if len(mode) > 1 or (mode and mode[0].upper() not in (b"SYNC", b"ASYNC")):
        raise ReplyError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    client.server.scripting.flush()
    return "OK"


@_script("kill", arity=2, flags="noscript allow_busy", since="2.6.0",
         tips="request_policy:all_shards response_policy:one_succeeded",
         summary="Kill the script currently in execution.")
def script_kill(client):
    return kill(client, "script")


def kill(client, kind: str):
    """SCRIPT KILL (``kind`` "script") or FUNCTION KILL ("function"), as Redis' scriptKill."""
    run = client.server.scripting.running
    if run is None or run.kind != kind:
        raise ReplyError("NOTBUSY No scripts in execution right now.")
    if run.client.is_master:
        raise ReplyError("UNKILLABLE The busy script was sent by a master instance in the context of replication "
                         "and cannot be killed.")
    if run.wrote:
        raise ReplyError("UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
                         "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
                         "NOSAVE command.")
    run.kill_requested = True
    return "OK"


@_script("debug", arity=3, flags="noscript", since="3.2.0", summary="Set the debug mode for executed scripts.",
         complexity="O(1)")
def script_debug(client, mode: bytes):
    if client.multi is not None:
        raise ReplyError("ERR SCRIPT DEBUG must be called outside MULTI")
    mode = mode.lower()
    if mode == b"no":
        return "OK"
    if mode in (b"yes", b"sync"):
        # Redis' Lua debugger (LDB) forks or blocks the server and steps through a
        # script line by line over this connection; it has no counterpart here.
        raise ReplyError("ERR SCRIPT DEBUG is not available on this server: it has no Lua debugger (LDB)")
    raise ReplyError("ERR Use SCRIPT DEBUG YES/SYNC/NO")


@_script("help", arity=2, flags="loading stale", since="5.0.0", summary="Show helpful text about the different subcommands")
def script_help(client):
    return [
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.",
    ]


# --------------------------------------------------------------------------- FCALL
#
# Functions (app/scripting/functions.py) run like scripts, in the functions' own Lua
# interpreter, with the keys and arguments passed to them rather than set as globals.


def _fcall(client, name: bytes, numkeys: bytes, rest, read_only: bool):
    server = client.server
    function = server.functions.functions.get(name.lower())
    if function is None:
        raise ReplyError("ERR Function not found")
    if parse_int(numkeys) is None:
        raise ReplyError("ERR Bad number of keys provided")
    keys, args = split_keys(numkeys, rest)
    return server.scripting.fcall(client, function, keys, args, read_only)


@_scripting("fcall", arity=-3, flags=_EVAL_FLAGS, flags_of=_fcall_flags, keys=_RW_KEYS, since="7.0.0", complexity=_FCALL_COMPLEXITY,
            summary="Invoke a function")
def fcall(client, function: bytes, numkeys: bytes, *rest: bytes):
    return _fcall(client, function, numkeys, rest, read_only=False)


@_scripting("fcall_ro", arity=-3, flags="readonly " + _EVAL_FLAGS, flags_of=_fcall_flags, keys=_RO_KEYS, since="7.0.0",
            complexity=_FCALL_COMPLEXITY, summary="Invoke a read-only function")
def fcall_ro(client, function: bytes, numkeys: bytes, *rest: bytes):
    return _fcall(client, function, numkeys, rest, read_only=True)


# --------------------------------------------------------------------------- FUNCTION

container("function", group="scripting", since="7.0.0", summary="A container for function commands")


def _function(name: str, **kwargs):
    return command(name, parent="function", group="scripting", acl="scripting", **kwargs)


def _changed(client) -> None:
    """Libraries are data: a change counts for save points and reaches replicas and the
    AOF (the dispatcher propagates a command that changed something)."""
    client.server.keyspace.dirty += 1


@_function("load", arity=-3, flags="write denyoom noscript", since="7.0.0",
           tips="request_policy:all_shards response_policy:all_succeeded",
           summary="Create a function with the given arguments (name, code, description)",
           complexity="O(1) (considering compilation time is redundant)")
def function_load(client, *args: bytes):
    *options, code = args
    replace = False
    for option in options:
        if option.lower() != b"replace":
            raise ReplyError(f"ERR Unknown option given: {option.decode('utf-8', 'surrogateescape')}")
        replace = True
    name = client.server.functions.load(code, replace)
    _changed(client)
    return name


@_function("delete", arity=3, flags="write noscript", since="7.0.0",
           tips="request_policy:all_shards response_policy:all_succeeded", summary="Delete a function by name",
           complexity="O(1)")
def function_delete(client, library_name: bytes):
    client.server.functions.delete(library_name)
    _changed(client)
    return "OK"


@_function("flush", arity=-2, flags="write noscript", since="7.0.0",
           tips="request_policy:all_shards response_policy:all_succeeded", summary="Deleting all functions",
           complexity="O(N) where N is the number of functions deleted")
def function_flush(client, *mode: bytes):
    if len(mode) > 1 or (mode and mode[0].upper() not in (b"SYNC", b"ASYNC")):
        raise ReplyError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    client.server.functions.flush()
    _changed(client)
    return "OK"


@_function("list", arity=-2, flags="noscript", since="7.0.0", tips="nondeterministic_output_order",
           summary="List information about all the functions", complexity="O(N) where N is the number of functions")
def function_list(client, *args: bytes):
    pattern, with_code = None, False
    index = 0
    while index < len(args):
        word = args[index].lower()
        if word == b"withcode" and not with_code:
            with_code = True
        elif word == b"libraryname" and pattern is None:
            if index + 1 >= len(args):
                raise ReplyError("ERR library name argument was not given")
            index += 1
            pattern = args[index]
        else:
            raise ReplyError(f"ERR Unknown argument {args[index].decode('utf-8', 'surrogateescape')}")
        index += 1
    return client.server.functions.listing(pattern, with_code)


@_function("dump", arity=2, flags="noscript", since="7.0.0", summary="Dump all functions into a serialized binary payload",
           complexity="O(N) where N is the number of functions")
def function_dump(client):
    from app.persistence import rdb

    return rdb.dump_functions(client.server.functions.codes(), client.server.config)


@_function("restore", arity=-3, flags="write denyoom noscript", since="7.0.0",
           tips="request_policy:all_shards response_policy:all_succeeded",
           summary="Restore all the functions on the given payload", complexity="O(N) where N is the number of functions on the payload")
def function_restore(client, payload: bytes, *policy: bytes):
    from app.persistence import rdb

    mode = "APPEND"
    if policy:
        mode = policy[0].upper().decode("latin-1")
        if len(policy) > 1 or mode not in ("FLUSH", "APPEND", "REPLACE"):
            raise ReplyError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    try:
        codes = rdb.restore_functions(payload)
    except rdb.RDBError as error:
        raise ReplyError(f"ERR {error}") from None
    client.server.functions.restore(codes, mode)
    _changed(client)
    return "OK"


@_function("kill", arity=2, flags="noscript allow_busy", since="7.0.0",
           tips="request_policy:all_shards response_policy:one_succeeded",
           summary="Kill the function currently in execution.", complexity="O(1)")
def function_kill(client):
    return kill(client, "function")


@_function("stats", arity=2, flags="noscript allow_busy", since="7.0.0",
           tips="nondeterministic_output request_policy:all_shards response_policy:special",
           summary="Return information about the function currently running (name, description, duration)",
           complexity="O(1)")
def function_stats(client):
    server = client.server
    run = server.scripting.running
    if run is not None and run.kind == "script":
        raise server.busy.refusal()  # Redis keeps an EVAL script's details to itself
    running = None
    if run is not None:
        import time

        running = {b"name": run.name.encode("utf-8", "surrogateescape"), b"command": list(run.client.argv),
                   b"duration_ms": int((time.monotonic() - run.started) * 1000)}
    functions = server.functions
    return {b"running_script": running,
            b"engines": {b"LUA": {b"libraries_count": len(functions.libraries),
                                  b"functions_count": len(functions.functions)}}}


@_function("help", arity=2, flags="loading stale", since="7.0.0", summary="Show helpful text about the different subcommands",
           complexity="O(1)")
def function_help(client):
    return [
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE "
        "command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    ]
