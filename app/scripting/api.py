"""The ``redis`` table a script sees: ``redis.call``, ``redis.log``, ``redis.setresp``...

Each entry is a Python function handed to Lua by `LuaWorld` (app/scripting/lua.py). The
ones that need the script running now find it in ``world.run`` (a `ScriptRun`,
app/scripting/run.py); it is None while a function library loads or between scripts.

Redis raises the API's own errors as error tables (``{err="ERR RESP version must be 2
or 3."}``), not as strings, so they reach the client without a ``user_script:1:``
prefix; `_raise` raises such a table through the bridge (`bridge.Thrown`).
"""

from __future__ import annotations

import hashlib

from app import log
from app.scripting.bridge import Thrown, is_lua_string, lua_string, to_number
from app.state import REDIS_VERSION

# redis.log's levels, redis.set_repl's flags, and the version, as numbers a script reads.
CONSTANTS = {
    "LOG_DEBUG": 0,
    "LOG_VERBOSE": 1,
    "LOG_NOTICE": 2,
    "LOG_WARNING": 3,
    "REPL_NONE": 0,
    "REPL_AOF": 1,
    "REPL_SLAVE": 2,
    "REPL_REPLICA": 2,
    "REPL_ALL": 3,
    "REDIS_VERSION": REDIS_VERSION.encode(),
    "REDIS_VERSION_NUM": int.from_bytes(bytes(int(part) for part in REDIS_VERSION.split(".")), "big"),
}

_LOGGERS = (log.debug, log.verbose, log.notice, log.warning)


def make_api(world) -> dict:
    """The functions of the ``redis`` table for ``world``."""

    def _raise(message: str):
        raise Thrown(world.table({b"err": message.encode()}))

    def _run(what: str):
        run = world.run
        if run is None:
            _raise(f"ERR {what} can only be called inside a script invocation")
        return run

    def call(*args):
        return _run("redis.call/pcall").call(args, True)

    def pcall(*args):
        return _run("redis.call/pcall").call(args, False)

    def log_(*args):
        if len(args) < 2:
            return _raise("ERR redis.log() requires two arguments or more.")
        level = args[0]
        if type(level) not in (int, float):
            level = to_number(level)
            if level is None:
                return _raise("ERR First argument must be a number (log level).")
        level = int(level)
        if not 0 <= level <= 3:
            return _raise("ERR Invalid debug level.")
        words = [lua_string(arg) for arg in args[1:] if is_lua_string(arg)]
        _LOGGERS[level](b" ".join(words).decode("utf-8", "surrogateescape"))
        return None

    def setresp(*args):
        run = _run("redis.setresp")
        if len(args) != 1:
            return _raise("ERR redis.setresp() requires one argument.")
        resp = args[0] if type(args[0]) in (int, float) else 0
        if resp not in (2, 3):
            return _raise("ERR RESP version must be 2 or 3.")
        run.resp = int(resp)
        return None

    def set_repl(*args):
        run = _run("redis.set_repl")
        if len(args) != 1:
            return _raise("ERR redis.set_repl() requires two arguments.")
        flags = int(args[0]) if type(args[0]) in (int, float) else 0
        if flags & ~3:
            return _raise("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
        run.replicate = flags
        return None

    def sha1hex(*args):
        if len(args) != 1:
            return _raise("ERR wrong number of arguments")
        value = args[0]
        data = lua_string(value) if is_lua_string(value) else b""
        return hashlib.sha1(data).hexdigest().encode()

    def error_reply(*args):
        if len(args) != 1 or type(args[0]) is not bytes:
            return world.table({b"err": b"ERR wrong number or type of arguments"})
        text = args[0] if args[0].startswith(b"-") else b"-" + args[0]
        return world.table({b"err": error_table_text(text)})

    def status_reply(*args):
        if len(args) != 1 or type(args[0]) is not bytes:
            return world.table({b"err": b"ERR wrong number or type of arguments"})
        return world.table({b"ok": args[0]})

    def replicate_commands(*_args):
        return True  # always on since Redis 7.0: scripts replicate their effects

    def breakpoint_(*_args):
        return False  # no debugging session (SCRIPT DEBUG) here

    def debug(*_args):
        return None

    def acl_check_cmd(*args):
        return _run("redis.acl_check_cmd").acl_check(args)

    functions = {
        "call": call,
        "pcall": pcall,
        "log": log_,
        "setresp": setresp,
        "set_repl": set_repl,
        "sha1hex": sha1hex,
        "error_reply": error_reply,
        "status_reply": status_reply,
        "replicate_commands": replicate_commands,
        "breakpoint": breakpoint_,
        "debug": debug,
        "acl_check_cmd": acl_check_cmd,
    }
    return functions


def error_table_text(text: bytes) -> bytes:
    """The ``err`` field Redis makes of an error (luaPushErrorBuff): ``-CODE message``
    keeps its code, a text with no space gets ``ERR``; trailing CR and LF go."""
    if text.startswith(b"-"):
        code, space, message = text[1:].partition(b" ")
        if not space:
            code, message = b"ERR", text[1:]
    else:
        code, message = b"ERR", text
    return code + b" " + message.strip(b"\r\n")
