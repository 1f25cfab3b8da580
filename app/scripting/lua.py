"""The Lua interpreter scripts run in, set up as Redis sets up its own (script_lua.c).

Redis embeds Lua 5.1; so do we, through the optional `lupa` package (``lupa.lua51``),
imported the first time a script runs so that a server that never runs one starts as
fast as before and needs nothing but the standard library.

One `LuaWorld` is one Lua interpreter: EVAL's scripts share one, the functions of
FUNCTION LOAD another, as in Redis. Building one:

1. opens Lua's base, table, string, math and debug libraries (what lupa's runtime
   has), then the four C libraries Redis adds, here written in Python: ``cjson``,
   ``cmsgpack``, ``bit`` and ``struct`` (app/scripting/lua_*.py);
2. adds the ``redis`` table: ``redis.call``, ``redis.pcall``, ``redis.log``... Each is a
   Python function that reads `LuaWorld.run`, the script running now
   (app/scripting/run.py), so that ``redis.call`` runs a command for that script's
   caller;
3. replaces ``math.random`` with Redis' own generator, seeded as Redis seeds it, so
   that a script draws the same numbers on every server and every replica;
4. protects the globals, as Redis 7 does with its read-only tables: a script may not
   create or change a global (``Attempt to modify a readonly table``), may not read one
   that does not exist (``Script attempted to access nonexistent global variable``),
   and may not change the libraries either. Stock Lua 5.1 has no read-only tables, so
   each protected table is an empty *proxy*: reads fall through to the real table by
   its metatable's ``__index``, writes reach ``__newindex``, which refuses them. The
   few functions that bypass metatables (rawset, rawget, next, pairs, setmetatable,
   getmetatable) are wrapped to see through proxies and to refuse writes;
5. removes what a script must not reach: ``os``, ``io``, ``package``, ``require``,
   ``dofile``, ``loadfile``, ``print``, ``debug``, ``getfenv``, ``setfenv``...

The setup runs as one Lua chunk (`_SETUP`) that keeps everything it needs in local
variables before the globals are locked, and returns the few functions Python calls.
"""

from __future__ import annotations

import hashlib

from app.protocol import ReplyError

MISSING_LUPA = ReplyError(
    "ERR Lua scripting is not available: this server runs scripts with the optional 'lupa' package. "
    "Install it with: pip install -e '.[scripting]'"
)

# What Redis 7.0's scripts see as globals (besides KEYS, ARGV and the libraries).
_KEPT_GLOBALS = (
    "_G _VERSION assert collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring math next "
    "pairs pcall rawequal rawget rawset select setmetatable string table tonumber tostring type unpack xpcall"
).split()

# The chunk that locks the world. It receives the Python pieces as arguments, keeps what
# it needs in locals, and returns the functions Python calls afterwards. Its frames, and
# those of the bridge's wrappers, are skipped by the error handler, which looks for the
# script's own line.
_SETUP = b"""
local kept, redis_api, libraries, random, randomseed, unwrap, load_api = ...
local rawget, rawset, rawequal, next, type, error, tostring, select, pairs, ipairs =
      rawget, rawset, rawequal, next, type, error, tostring, select, pairs, ipairs
local setmetatable, getmetatable, xpcall, loadstring, setfenv, unpack =
      setmetatable, getmetatable, xpcall, loadstring, setfenv, unpack
local getinfo, sethook = debug.getinfo, debug.sethook
local internal = getinfo(1, "S").source  -- how lupa names the chunks it runs, this one included
local G = _G

local backing = {}          -- the real globals, behind the empty _G
local real_of = setmetatable({}, {__mode = "k"})   -- proxy -> the table it guards

local function refuse() error("Attempt to modify a readonly table", 2) end

-- A proxy that reads through to `t` and refuses every write. Its metatable is guarded
-- too, so that no script can take the protection off.
local function readonly(t)
  local proxy = {}
  local meta = {__index = t, __newindex = refuse}
  local meta_proxy = setmetatable({}, {__index = meta, __newindex = refuse, __metatable = false})
  real_of[meta_proxy] = meta
  meta.__metatable = meta_proxy
  real_of[proxy] = t
  return setmetatable(proxy, meta)
end

-- Lua's own libraries, and the four Redis adds, behind proxies.
for name, lib in pairs(libraries) do rawset(G, name, lib) end
G.math.random = random
G.math.randomseed = randomseed
for _, name in ipairs({"string", "math", "table", "coroutine", "cjson", "cmsgpack", "bit", "struct"}) do
  if rawget(G, name) ~= nil then backing[name] = readonly(rawget(G, name)) end
end
for _, name in ipairs(kept) do
  if backing[name] == nil then backing[name] = rawget(G, name) end
end
backing.redis = readonly(redis_api)

-- The functions that look past metatables, made to see through proxies.
backing.rawget = function(t, k) return rawget(real_of[t] or t, k) end
backing.rawset = function(t, k, v)
  if real_of[t] then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end
local function proxied_next(t, k)
  local real = real_of[t] or t
  local key, value = next(real, k)
  if key == "debug" and real == backing then key, value = next(real, key) end  -- see below
  return key, value
end
backing.next = proxied_next
backing.pairs = function(t) return proxied_next, t, nil end
backing.ipairs = function(t) return ipairs(real_of[t] or t) end
backing.setmetatable = function(t, meta)
  if real_of[t] then error("Attempt to modify a readonly table", 0) end
  return setmetatable(t, meta)
end
-- The functions written in Python reach Lua as userdata that can be called; `type`
-- calls them functions, as scripts expect of redis.call or cjson.encode.
local callables = setmetatable({}, {__mode = "k"})
local function note(t)
  for _, v in next, t do
    if type(v) == "userdata" then callables[v] = true end
  end
end
note(redis_api)
if load_api then note(load_api) end
for _, lib in next, libraries do note(lib) end
callables[random], callables[randomseed] = true, true
backing.type = function(v)
  local kind = type(v)
  if kind == "userdata" and callables[v] then return "function" end
  return kind
end

local string_meta = readonly({__index = backing.string})
backing.getmetatable = function(v)
  if type(v) == "string" then return string_meta end
  return getmetatable(v)
end

-- Redis' error handler: whatever was raised becomes a table {err=..., source=...,
-- line=...} naming the script's line. C functions and this chunk's own frames are
-- skipped: the line wanted is the script's.
local function handler(err)
  local level, info = 2, nil
  repeat
    info = getinfo(level, "Sl")
    level = level + 1
  until info == nil or (info.what ~= "C" and info.what ~= "tail" and info.source ~= internal)
  if type(err) == "userdata" then err = unwrap(err) end  -- raised by a Python function
  if type(err) ~= "table" then err = {err = "ERR " .. tostring(err)} end
  if info then
    err.source = info.source
    err.line = info.currentline
  end
  return err
end
backing.__redis__err__handler = handler

-- pcall as Redis 7 has it: an error raised as a table with an `err` field comes back
-- as that string, as scripts written for older versions expect.
local raw_pcall = pcall
local function unwrap(ok, ...)
  if ok then return ok, ... end
  local err = ...
  if type(err) == "table" then
    local message = err.err
    if type(message) == "string" or type(message) == "number" then err = message end
  end
  return false, err
end
backing.pcall = function(...) return unwrap(raw_pcall(...)) end

-- Lock the globals: _G stays empty, reads fall through to `backing` (which raises for a
-- missing name), every write is refused.
for name in pairs(G) do rawset(G, name, nil) end
local function missing(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end
setmetatable(backing, {__index = missing})
-- lupa looks up debug.traceback, unprotected, before each call into Lua: any Lua code
-- run there (`missing`, or a hook stopping a killed script) and erring would abort the
-- process, so the name is found at once, as false.
backing.debug = false
local meta = {__index = backing, __newindex = refuse}

-- While FUNCTION LOAD runs a library's code, its globals are only `redis` with the few
-- fields a library may use then (register_function, log, the constants): `load_env`.
local load_env = setmetatable({debug = false}, {__index = missing})
if load_api then
  setmetatable(load_api, {__index = missing})
  load_env.redis = readonly(load_api)
end
local meta_proxy = setmetatable({}, {__index = meta, __newindex = refuse, __metatable = false})
real_of[meta_proxy] = meta
meta.__metatable = meta_proxy
setmetatable(G, meta)
real_of[G] = backing
backing._G = G

-- What Python calls.
local api = {}

function api.compile(body, chunkname)
  return loadstring(body, chunkname)
end

function api.loading(on) meta.__index = on and load_env or backing end

-- The hook that watches a slow script. It leaves this chunk's own code alone (the error
-- handler, the lines after xpcall): once SCRIPT KILL has switched it to run at every
-- line, stopping our own code would leave the error with no one to catch it.
local guarded_hooks = setmetatable({}, {__mode = "k"})
local function guarded(hook)
  local wrapper = guarded_hooks[hook]
  if not wrapper then
    wrapper = function(event)
      local info = getinfo(2, "S")
      if info and info.source == internal then return end
      return hook(event)
    end
    guarded_hooks[hook] = wrapper
  end
  return wrapper
end

function api.sethook(hook, mask, count)
  if not hook then return sethook() end
  sethook(guarded(hook), mask, count)
end

local function first(ok, result) return ok, result end

-- Run a script (`keys` and `args` become the globals KEYS and ARGV) or a function
-- (they are its two arguments) under the error handler, watched by `hook` every
-- 100,000 instructions if there is one: all in one call from Python, since each call
-- into Lua lets other threads take Python's GIL.
function api.run(f, keys, args, as_globals, hook)
  if hook then sethook(guarded(hook), "", 100000) end
  local ok, result
  if as_globals then
    rawset(backing, "KEYS", keys)
    rawset(backing, "ARGV", args)
    ok, result = first(xpcall(f, handler))
  else
    ok, result = first(xpcall(function() return f(keys, args) end, handler))
  end
  if hook then sethook() end
  return ok, result
end

-- A script's reply, taken apart with raw reads (a metatable must not run here): its
-- kind ("err", "ok", "double", "big_number", "verbatim_string", "map", "set",
-- "array") and its content, as luaReplyToRedisReply reads it.
function api.reply_parts(t)
  local err = rawget(t, "err")
  if type(err) == "string" then return "err", err, rawget(t, "ignore_error_stats_update") == true end
  for _, kind in ipairs({"ok", "big_number"}) do
    local value = rawget(t, kind)
    if type(value) == "string" then return kind, value end
  end
  local double = rawget(t, "double")
  if type(double) == "number" then return "double", double end
  local verbatim = rawget(t, "verbatim_string")
  if type(verbatim) == "table" then
    local format, text = rawget(verbatim, "format"), rawget(verbatim, "string")
    if type(format) == "string" and type(text) == "string" then return "verbatim_string", text end
  end
  local map = rawget(t, "map")
  if type(map) == "table" then
    local flat, n = {}, 0
    for k, v in next, map do flat[n + 1] = k; flat[n + 2] = v; n = n + 2 end
    return "map", flat, n
  end
  local set = rawget(t, "set")
  if type(set) == "table" then
    local members, n = {}, 0
    for k in next, set do n = n + 1; members[n] = k end
    return "set", members, n
  end
  local items, n = {}, 0
  while true do
    local v = rawget(t, n + 1)
    if v == nil then break end
    n = n + 1
    items[n] = v
  end
  return "array", items, n
end

-- Elements first..last of a plain table, as several values (one call for many).
function api.slice(t, first, last) return unpack(t, first, last) end

return api
"""


def sha1hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


class LuaWorld:
    """One Lua interpreter with Redis' libraries, ``redis`` table and protections.

    ``api_functions(world)`` makes the Python functions behind the ``redis`` table
    (app/scripting/api.py); they find the running script in ``world.run``. ``api`` is
    what the setup chunk returns: compile, run, set_global, sethook."""

    def __init__(self, api_functions, constants: dict, load_functions=None):
        try:
            from lupa import lua51
        except ImportError:
            raise MISSING_LUPA from None
        from app.scripting import bridge, lua_bit, lua_cjson, lua_cmsgpack, lua_struct

        self.lua = lua = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                                          register_builtins=False)
        self.lift = lift = bridge.lifter(lua)
        globals_ = lua.globals()
        for module in (lua_cjson, lua_cmsgpack, lua_bit, lua_struct):
            module.install(lua, lift)
        libraries = lua.table()
        for name in (b"cjson", b"cmsgpack", b"bit", b"struct"):
            libraries[name] = globals_[name]
        redis_api = lua.table()
        for name, function in api_functions(self).items():
            redis_api[name.encode()] = bridge.expose(lift, function)
        for name, value in constants.items():
            redis_api[name.encode()] = value
        load_api = None
        if load_functions is not None:  # the functions' world: what library code may call
            load_api = lua.table()
            for name, function in load_functions(self).items():
                load_api[name.encode()] = bridge.expose(lift, function)
            for name, value in constants.items():
                if name.startswith(("LOG_", "REDIS_VERSION")):
                    load_api[name.encode()] = value
        random, randomseed = _random_functions(lift)
        kept = lua.table_from([name.encode() for name in _KEPT_GLOBALS])
        self.api = lua.execute(_SETUP, kept, redis_api, libraries, bridge.expose(lift, random),
                               bridge.expose(lift, randomseed), lift.unwrap, load_api)
        self.run = None  # the ScriptRun in progress (app/scripting/run.py)
        self._hooks = {}

    def lift_hook(self, function):
        """``function`` as a Lua hook (made once): it may stop the script by returning
        the bridge's marker and an error table."""
        from app.scripting import bridge

        hook = self._hooks.get(function)
        if hook is None:
            hook = self._hooks[function] = bridge.expose(self.lift, function)
        return hook

    def compile(self, body: bytes, chunkname: bytes = b"@user_script"):
        """The compiled function, or the Lua error message (bytes) if it does not compile."""
        function, message = _two(self.api.compile(body, chunkname))
        if function is None:
            return None, message
        return function, None

    def table(self, items=None):
        """A new Lua table, from a list or a dict (one level)."""
        if items is None:
            return self.lua.table()
        return self.lua.table_from(items)

    def memory(self) -> int:
        """Bytes the interpreter uses (INFO's used_memory_lua)."""
        return int(self.lua.eval(b"collectgarbage('count')") * 1024)


def new_world(load_functions=None) -> "LuaWorld":
    """A `LuaWorld` with Redis' ``redis`` table (``load_functions``: the functions' world),
    or the error that says how to install lupa when it is missing."""
    try:
        from app.scripting.api import CONSTANTS, make_api
    except ImportError:
        raise MISSING_LUPA from None
    return LuaWorld(make_api, CONSTANTS, load_functions)


def _two(values):
    if isinstance(values, tuple):
        return values[0], values[1] if len(values) > 1 else None
    return values, None


# --------------------------------------------------------------------------- math.random

# Redis replaces Lua's math.random, which calls the C library's rand(), with its own
# 48-bit linear congruential generator (rand.c, the one of drand48), so that a script
# draws the same numbers on every platform. One generator serves the whole process,
# from the same starting state at every start; math.randomseed reseeds it. (Redis 7
# replicates a script's effects, not the script, so it no longer reseeds per EVAL.)
_A, _C, _MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1
_LRAND48_MAX = 2**31 - 1


class _RandomState:
    __slots__ = ("x",)

    def __init__(self):
        self.x = 0x1234ABCD330E  # rand.c's X2 X1 X0

    def seed(self, value: int) -> None:
        value &= 0xFFFFFFFF
        self.x = (value << 16) | 0x330E  # x2 x1 = the seed's two halves, x0 = 0x330E

    def next31(self) -> int:
        self.x = (_A * self.x + _C) & _MASK
        return self.x >> 17  # the top 31 bits


_RANDOM_STATE = _RandomState()


def _random_functions(lift):
    from app.scripting import bridge

    def random(*args):
        r = (_RANDOM_STATE.next31() % _LRAND48_MAX) / _LRAND48_MAX
        if not args:
            return r
        if len(args) == 1:
            upper = bridge.check_int(args[0], 1, "random")
            if upper < 1:
                raise bridge.arg_error(1, "random", "interval is empty")
            return float(int(r * upper) + 1)
        if len(args) == 2:
            lower = bridge.check_int(args[0], 1, "random")
            upper = bridge.check_int(args[1], 2, "random")
            if lower > upper:
                raise bridge.arg_error(2, "random", "interval is empty")
            return float(int(r * (upper - lower + 1)) + lower)
        raise bridge.LuaError("wrong number of arguments")

    def randomseed(*args):
        _RANDOM_STATE.seed(bridge.check_int(args[0] if args else None, 1, "randomseed"))

    return random, randomseed
