"""EVAL's scripts: the cache of scripts by SHA1, and running one (Redis: eval.c).

Every script a client sends with EVAL or SCRIPT LOAD is compiled once into a Lua
function of EVAL's interpreter and kept under the SHA1 of its text, so that EVALSHA can
run it again without sending it. SCRIPT FLUSH forgets them all and starts a fresh
interpreter, as Redis does.

A script may begin with a shebang line, ``#!lua flags=no-writes,allow-oom``. Without
one it is a "legacy" script: it may write, and the rules for writing are checked
command by command as it runs. With one, its flags are checked once before it starts
(app/scripting/run.py).

`Scripting` lives on the server as ``server.scripting`` and also keeps the script
running now, which SCRIPT KILL stops and which makes other clients wait (BUSY).
"""

from __future__ import annotations

import time

from app import log
from app.protocol import CountedError, ReplyError
from app.scripting.lua import sha1hex  # lua.py imports lupa only when a world is made

NOSCRIPT = ReplyError("NOSCRIPT No matching script. Please use EVAL.")

# Script flags, as the shebang line declares them (``#!lua flags=no-writes,allow-oom``).
SCRIPT_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")


class Script:
    """A compiled EVAL script."""

    __slots__ = ("sha", "body", "function", "flags")

    def __init__(self, sha: str, body: bytes, function, flags: frozenset[str] | None):
        self.sha = sha
        self.body = body
        self.function = function
        self.flags = flags  # None without a shebang


def parse_shebang(body: bytes) -> tuple[frozenset[str] | None, int]:
    """The flags a shebang line declares and where the code starts (at the line's
    newline, so that line numbers stay those of the text); (None, 0) without one."""
    if not body.startswith(b"#!"):
        return None, 0
    end = body.find(b"\n")
    if end == -1:
        raise ReplyError("ERR Invalid script shebang")
    parts = body[:end].decode("utf-8", "surrogateescape").split()
    if not parts or parts[0] != "#!lua":
        raise ReplyError(f"ERR Unexpected engine in script shebang: {parts[0] if parts else ''}")
    flags = set()
    for part in parts[1:]:
        if not part.startswith("flags="):
            raise ReplyError(f"ERR Unknown lua shebang option: {part}")
        listed = part[len("flags="):]
        for flag in listed.split(",") if listed else ():
            if flag not in SCRIPT_FLAGS:
                raise ReplyError(f"ERR Unexpected flag in script shebang: {flag}")
            flags.add(flag)
    return frozenset(flags), end


class Scripting:
    """EVAL's interpreter and script cache, and the script running now."""

    def __init__(self, server):
        self.server = server
        self.scripts: dict[str, Script] = {}
        self.scripts_bytes = 0  # the bodies' sizes, for INFO's used_memory_scripts_eval
        self._world = None
        self.running = None  # the ScriptRun in progress (app/scripting/run.py)

    def world(self):
        """EVAL's Lua interpreter, made when the first script needs it (that is when
        lupa is imported: a server that runs no script never loads it)."""
        if self._world is None:
            from app.scripting.lua import new_world

            self._world = new_world()
        return self._world

    # ----------------------------------------------------------------- the cache

    def load(self, body: bytes) -> Script:
        """The cached script for ``body``, compiling and caching it if new."""
        sha = sha1hex(body)
        script = self.scripts.get(sha)
        if script is not None:
            return script
        flags, start = parse_shebang(body)
        world = self.world()
        function, message = world.compile(body[start:])
        if function is None:
            raise ReplyError("ERR Error compiling script (new function): "
                             + message.decode("utf-8", "surrogateescape"))
        script = self.scripts[sha] = Script(sha, body, function, flags)
        self.scripts_bytes += len(body)
        return script

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every script and start a new interpreter."""
        self.scripts = {}
        self.scripts_bytes = 0
        self._world = None

    def memory(self) -> int:
        return self._world.memory() if self._world is not None else 0

    # ----------------------------------------------------------------- running

    def eval(self, client, script: Script, keys: list[bytes], args: list[bytes], read_only: bool):
        """Run an EVAL script for ``client`` and return its reply."""
        from app.scripting.run import ScriptRun  # run.py needs the dispatcher, loaded after us

        world = self.world()
        run = ScriptRun(world, client, script.sha, script.flags, read_only)
        refusal = run.refusal()
        if refusal is not None:
            return refusal
        return self.run(run, script.function, world.table(keys), world.table(args), as_globals=True)

    def fcall(self, client, function, keys: list[bytes], args: list[bytes], read_only: bool):
        """Run a library's function (FCALL) for ``client`` and return its reply."""
        from app.scripting.run import ScriptRun

        world = self.server.functions.world()
        run = ScriptRun(world, client, function.name.decode("utf-8", "surrogateescape"), function.flags, read_only,
                        kind="function")
        refusal = run.refusal()
        if refusal is not None:
            return refusal
        return self.run(run, function.callback, world.table(keys), world.table(args), as_globals=False)

    def run(self, run, function, keys, args, as_globals: bool):
        """Run ``function`` as ``run`` (EVAL's script, whose keys and arguments are the
        globals KEYS and ARGV, or FCALL's function, which takes them as arguments):
        atomically, its writes propagated as one unit, and its result or error as a
        reply."""
        client = run.client
        keyspace = client.server.keyspace
        propagation = keyspace.propagation
        world = run.world
        saved = (propagation.in_transaction, keyspace.frozen_time, client.in_exec, client.in_script)
        propagation.in_transaction = True  # the script's writes go out as one unit
        if keyspace.frozen_time is None:
            keyspace.frozen_time = keyspace.now()  # no key expires halfway through
        client.in_exec = True  # commands that block do not block in a script
        client.in_script = True
        world.run = self.running = run
        hook = world.lift_hook(self._hook) if self.server.config["busy-reply-threshold"] > 0 else None
        try:
            ok, result = world.api.run(function, keys, args, as_globals, hook)
        finally:
            world.run = self.running = None
            propagation.in_transaction, keyspace.frozen_time, client.in_exec, client.in_script = saved
            propagation.replace()  # the script's effects go out, not the command that ran it
            if run.busy:
                self.server.busy.end()
        if ok:
            from app.scripting.run import from_lua

            return from_lua(run.world, result, run.resp)
        return script_error(result, run.name)

    # ----------------------------------------------------------------- slow scripts

    def _hook(self, *_args):
        """Lua calls this every 100,000 instructions: notice a script past
        ``busy-reply-threshold``, and stop one that SCRIPT KILL asked to stop."""
        run = self.running
        if run is None:
            return None
        if not run.busy:
            elapsed_ms = (time.monotonic() - run.started) * 1000
            if elapsed_ms >= self.server.config["busy-reply-threshold"]:
                self.busy_started(run, elapsed_ms)
        if run.busy:
            self.server.busy.serve()  # answer the clients waiting meanwhile (app/scripting/busy.py)
        if run.kill_requested:
            if not run.stopping:
                run.stopping = True
                log.warning("Lua script killed by user with SCRIPT KILL.")
                # From now on at every line, so that a pcall cannot catch it for long.
                run.world.api.sethook(run.world.lift_hook(self._hook), b"l", 0)
            return run.killed()
        return None

    def busy_started(self, run, elapsed_ms: float) -> None:
        run.busy = True
        command = "SCRIPT KILL" if run.kind == "script" else "FUNCTION KILL"
        log.warning(f"Slow script detected: still in execution after {int(elapsed_ms)} milliseconds. "
                    f"You can try killing the script using the {command} command. Script name is: {run.name}.")
        self.server.busy.start(run)



def script_error(error, name: str) -> ReplyError:
    """The reply for a script that raised ``error`` (the table Redis' error handler
    made: ``err``, and the ``source`` and ``line`` where it happened)."""
    from app.scripting.bridge import lua_type

    if lua_type(error) != "table":
        text = error.decode("utf-8", "surrogateescape") if isinstance(error, bytes) else "execution failure"
        return ReplyError(f"ERR Error running script {name}, {text[:100]}")
    message = error[b"err"]
    message = message.decode("utf-8", "surrogateescape") if isinstance(message, bytes) else str(message)
    source, line = error[b"source"], error[b"line"]
    if source is not None and line is not None:
        line = line if isinstance(line, bytes) else b"%d" % line
        message += f" script: {name}, on {source.decode('utf-8', 'surrogateescape')}:{line.decode()}."
    # The error of a command the script ran was counted in INFO errorstats already.
    return (CountedError if error[b"ignore_error_stats_update"] is True else ReplyError)(message)
