"""Redis functions: libraries loaded with FUNCTION LOAD, run with FCALL (Redis: functions.c,
function_lua.c).

A library is Lua code that starts with a shebang naming it (``#!lua name=mylib``) and
registers functions when it runs::

    redis.register_function('hello', function(keys, args) return 'hi ' .. args[1] end)
    redis.register_function{function_name='count', callback=..., flags={'no-writes'}}

Unlike EVAL's scripts, libraries are part of the dataset: they are saved in RDB files,
written to the AOF, sent to replicas, and a FLUSHALL leaves them alone. Their code runs
in an interpreter of their own (a second `LuaWorld`), once at FUNCTION LOAD with only
``redis.register_function``, ``redis.log`` and the constants in reach; the functions it
registered then run at FCALL with the full API, like scripts (app/scripting/engine.py).

`Functions` lives on the server as ``server.functions``.
"""

from __future__ import annotations

import re
import time

from app.protocol import ReplyError, SetReply

_NAME = re.compile(rb"[A-Za-z0-9_]+\Z")
_BAD_NAME = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
# A library's code runs once, at FUNCTION LOAD, holding the keyspace lock: past this
# it is stopped (Redis' LOAD_TIMEOUT_MS), so that no library can stall the server.
LOAD_TIMEOUT_SECONDS = 0.5
FUNCTION_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")


class Function:
    __slots__ = ("name", "library", "callback", "flags", "description")

    def __init__(self, name: bytes, library: "Library", callback, flags: frozenset[str], description: bytes | None):
        self.name = name
        self.library = library
        self.callback = callback
        self.flags = flags
        self.description = description


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes):
        self.name = name
        self.code = code
        self.functions: dict[bytes, Function] = {}


def parse_metadata(code: bytes) -> tuple[bytes, int]:
    """The library's name from its shebang line, and where its code starts (at that
    line's newline, so that line numbers stay those of the text)."""
    if not code.startswith(b"#!"):
        raise ReplyError("ERR Missing library metadata")
    end = code.find(b"\n")
    line = code[:end] if end != -1 else code
    parts = line[2:].split(b" ")
    engine = parts[0]
    if engine.upper() != b"LUA":
        raise ReplyError(f"ERR Engine '{engine.decode('utf-8', 'surrogateescape')}' not found")
    name = None
    for part in parts[1:]:
        if part.startswith(b"name="):
            name = part[len(b"name="):]
        elif part:
            raise ReplyError(f"ERR Invalid metadata value given: {part.decode('utf-8', 'surrogateescape')}")
    if name is None:
        raise ReplyError("ERR Library name was not given")
    if not _NAME.match(name):
        raise ReplyError(f"ERR {_BAD_NAME}")
    return name, end if end != -1 else len(code)


class Functions:
    """The libraries, their functions (found by name, in any case, as Redis does), and
    the interpreter they run in."""

    def __init__(self, server):
        self.server = server
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, Function] = {}  # lower-case name -> function
        self._world = None
        self._loading: Library | None = None  # the library whose code runs now

    def world(self):
        if self._world is None:
            from app.scripting.lua import new_world

            self._world = new_world(self._load_api)
        return self._world

    # --------------------------------------------------------------- loading

    def load(self, code: bytes, replace: bool = False) -> bytes:
        """FUNCTION LOAD: compile and run the library's code, and keep what it
        registered; its name, or the error, with nothing changed."""
        name, start = parse_metadata(code)
        old = self.libraries.get(name)
        if old is not None and not replace:
            raise ReplyError(f"ERR Library '{name.decode('utf-8', 'surrogateescape')}' already exists")
        library = self._run_library(name, code, start)
        for key, function in library.functions.items():
            existing = self.functions.get(key)
            if existing is not None and existing.library is not old:
                raise ReplyError(f"ERR Function {function.name.decode('utf-8', 'surrogateescape')} already exists")
        if old is not None:
            self._remove(old)
        self.libraries[name] = library
        self.functions.update(library.functions)
        return name

    def _run_library(self, name: bytes, code: bytes, start: int) -> Library:
        world = self.world()  # first: it says how to install lupa when it is missing
        from app.scripting.bridge import Thrown, expose, lua_type

        function, message = world.compile(code[start:], b"@user_function")
        if function is None:
            raise ReplyError("ERR Error compiling function: " + message.decode("utf-8", "surrogateescape"))
        library = Library(name, code)
        self._loading = library
        started = time.monotonic()

        def watch(*_event):  # Lua calls it every 100,000 instructions
            if time.monotonic() - started >= LOAD_TIMEOUT_SECONDS:
                raise Thrown(world.table({b"err": b"ERR FUNCTION LOAD timeout"}))

        world.api.loading(True)
        try:
            ok, error = world.api.run(function, None, None, False, expose(world.lift, watch))
        finally:
            world.api.loading(False)
            self._loading = None
        if not ok:
            text = error[b"err"] if lua_type(error) == "table" else error
            text = text.decode("utf-8", "surrogateescape") if isinstance(text, bytes) else str(text)
            raise ReplyError("ERR Error registering functions: " + text)
        if not library.functions:
            raise ReplyError("ERR No functions registered")
        return library

    def _load_api(self, world) -> dict:
        """What library code may call while it loads: register_function and log."""
        from app.scripting.api import make_api
        from app.scripting.bridge import Thrown, is_lua_string, lua_string, lua_type

        def fail(message: str):
            raise Thrown(world.table({b"err": ("ERR " + message).encode()}))

        def register_function(*args):
            library = self._loading
            if library is None:
                fail("redis.register_function can only be called on FUNCTION LOAD command")
            description = None
            flags: frozenset[str] = frozenset()
            if len(args) == 1:
                if lua_type(args[0]) != "table":
                    fail("calling redis.register_function with a single argument is only applicable to Lua table "
                         "(representing named arguments).")
                name = callback = None
                for key, value in args[0].items():
                    if key == b"function_name":
                        if not is_lua_string(value):
                            fail("function_name argument given to redis.register_function must be a string")
                        name = lua_string(value)
                    elif key == b"description":
                        if not is_lua_string(value):
                            fail("description argument given to redis.register_function must be a string")
                        description = lua_string(value)
                    elif key == b"callback":
                        if lua_type(value) != "function":
                            fail("callback argument given to redis.register_function must be a function")
                        callback = value
                    elif key == b"flags":
                        if lua_type(value) != "table":
                            fail("flags argument to redis.register_function must be a table representing "
                                 "function flags")
                        flags = _flags(value, fail)
                    else:
                        fail("unknown argument given to redis.register_function")
                if name is None:
                    fail("redis.register_function must get a function name argument")
                if callback is None:
                    fail("redis.register_function must get a callback argument")
            elif len(args) == 2:
                if not is_lua_string(args[0]):
                    fail("first argument to redis.register_function must be a string")
                if lua_type(args[1]) != "function":
                    fail("second argument to redis.register_function must be a function")
                name, callback = lua_string(args[0]), args[1]
            else:
                fail("wrong number of arguments to redis.register_function")
            if not _NAME.match(name):
                fail(_BAD_NAME)  # sic: Redis 7.0 says "Library" for a function's name too
            key = name.lower()
            if key in library.functions:
                fail("Function already exists in the library")
            library.functions[key] = Function(name, library, callback, flags, description)
            return None

        return {"register_function": register_function, "log": make_api(world)["log"]}

    # --------------------------------------------------------------- the rest of FUNCTION

    def _remove(self, library: Library) -> None:
        del self.libraries[library.name]
        for key in library.functions:
            self.functions.pop(key, None)

    def delete(self, name: bytes) -> None:
        library = self.libraries.get(name)
        if library is None:
            raise ReplyError("ERR Library not found")
        self._remove(library)

    def flush(self) -> None:
        self.libraries = {}
        self.functions = {}
        self._world = None

    def memory(self) -> int:
        return self._world.memory() if self._world is not None else 0

    def codes(self) -> list[bytes]:
        """Every library's code, as RDB files, the AOF and FUNCTION DUMP keep them."""
        return [library.code for library in self.libraries.values()]

    def restore(self, codes: list[bytes], policy: str = "APPEND") -> None:
        """Load ``codes`` (FUNCTION RESTORE, an RDB file): with FLUSH the libraries are
        replaced whole; with APPEND a name already taken is an error; with REPLACE the
        new library wins. All or nothing: on error the libraries are as before."""
        saved = (dict(self.libraries), dict(self.functions))
        try:
            if policy == "FLUSH":
                self.libraries, self.functions = {}, {}
            for code in codes:
                name, _start = parse_metadata(code)
                if name in self.libraries and policy == "APPEND":
                    raise ReplyError(f"ERR Library {name.decode('utf-8', 'surrogateescape')} already exists")
                self.load(code, replace=True)
        except ReplyError:
            self.libraries, self.functions = saved
            raise

    def listing(self, pattern: bytes | None, with_code: bool) -> list:
        """FUNCTION LIST's reply."""
        from app.glob import compile_glob

        matches = compile_glob(pattern).match if pattern is not None else None
        reply = []
        for library in self.libraries.values():
            if matches is not None and not matches(library.name):
                continue
            functions = [
                {b"name": function.name, b"description": function.description,
                 b"flags": SetReply([flag for flag in FUNCTION_FLAGS if flag in function.flags])}
                for function in library.functions.values()
            ]
            entry = {b"library_name": library.name, b"engine": b"LUA", b"functions": functions}
            if with_code:
                entry[b"library_code"] = library.code
            reply.append(entry)
        return reply


def _flags(table, fail) -> frozenset[str]:
    """The flags a library gave a function, each one of Redis' (no-writes...)."""
    flags = set()
    for _key, value in table.items():
        text = value.decode("utf-8", "surrogateescape") if type(value) is bytes else None
        if text not in FUNCTION_FLAGS:
            fail("unknown flag given")
        flags.add(text)
    return frozenset(flags)
