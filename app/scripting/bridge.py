"""Between Python and Lua: how a function written in Python is offered to scripts.

Redis writes its Lua libraries (cjson, cmsgpack, bit, struct) and its ``redis.*`` API
in C, and a C function raises a Lua error with ``luaL_error``, which prefixes the
caller's position: ``user_script:1: bad argument #1 to 'band' (number expected, got
string)``. Here those functions are Python, called by Lua through lupa, and lupa turns
a Python exception into a Lua error whose value is the exception object itself.

So a Python function is handed to Lua through `expose`, which catches `LuaError` and
raises `Thrown` instead, carrying the Lua value the error should have: the message
with the caller's position (asked of Lua's debug library at that moment, as luaL_where
does), or an error table such as ``redis.call``'s ``{err="ERR ..."}``. Lua code that
catches errors (Redis' error handler, ``pcall``, ``xpcall``: app/scripting/lua.py)
unwraps it with `unwrap`, so a script only ever sees the value. The Python function
stays a direct call from Lua, as a C function is: no Lua frame of ours sits between the
script and it, and ``return redis.call(...)`` still reports the script's line.

Values cross as lupa converts them with ``encoding=None``: Lua strings are ``bytes``,
numbers ``int`` (when whole) or ``float``, nil ``None``, booleans ``bool``; tables and
functions stay Lua objects (`lupa.lua51.lua_type` tells which).
"""

from __future__ import annotations

import functools

from lupa import lua51

lua_type = lua51.lua_type  # 'table', 'function', 'userdata', 'thread'; None for Python values


class LuaError(Exception):
    """Raised by a Python function exposed to Lua: becomes a Lua error carrying
    ``message`` (bytes or str), prefixed with the position of the script line that
    called the function."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message if isinstance(message, bytes) else message.encode()


class Thrown(Exception):
    """The Lua error a Python function raises: ``value`` is what Lua code catching it
    sees (a string or a table), once `unwrap` has taken it out."""

    def __init__(self, value):
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:  # what tostring() of the error shows, if it is ever shown raw
        value = self.value
        return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else repr(value)


def unwrap(error):
    """The Lua value of an error caught in Lua: a `Thrown`'s value, a message for any
    other Python exception (a bug of ours: say what it was), the error itself otherwise."""
    if isinstance(error, Thrown):
        return error.value
    if isinstance(error, BaseException):
        return ("internal error: %r" % error).encode()
    return error


# luaL_where(L, 1) seen from a function Python runs: level 1 is `where`, level 2 the C
# frame of the Python function lupa called, level 3 the code that called it. The chunk
# also makes pcall and xpcall unwrap what they catch, so that Lua code sees the value.
_WHERE = b"""
local unwrap = ...
local getinfo, type, pcall, xpcall = debug.getinfo, type, pcall, xpcall
local function where()
  local info = getinfo(3, "Sl")
  if info and info.currentline > 0 then return info.short_src .. ":" .. info.currentline .. ": " end
  return ""
end
local function caught(ok, ...)
  if ok then return ok, ... end
  local err = ...
  if type(err) == "userdata" then err = unwrap(err) end
  return false, err
end
_G.pcall = function(...) return caught(pcall(...)) end
_G.xpcall = function(f, handler)
  return xpcall(f, function(err)
    if type(err) == "userdata" then err = unwrap(err) end
    return handler(err)
  end)
end
return where, unwrap
"""


class Lifter:
    """What `expose` needs of one Lua runtime, made by `lifter` before the runtime's
    globals are locked (it keeps Lua's debug.getinfo for itself, and replaces the
    runtime's pcall and xpcall with ones that unwrap `Thrown`)."""

    def __init__(self, lua):
        self.lua = lua
        self.where, self.unwrap = lua.execute(_WHERE, unwrap)


def lifter(lua) -> Lifter:
    return Lifter(lua)


def expose(lift: Lifter, func):
    """``func`` as a function Lua can call: its `LuaError` becomes a Lua error at the
    caller's line. A Python tuple returned becomes several Lua values (the runtime is
    made with ``unpack_returned_tuples``), so return a 1-tuple to return one tuple."""
    where = lift.where

    @functools.wraps(func)
    def guarded(*args):
        try:
            return func(*args)
        except LuaError as error:
            raise Thrown(where() + error.message) from None

    return guarded


def type_name(value) -> str:
    """Lua's name for the type of a value that came from Lua."""
    if value is None:
        return "nil"
    if value is True or value is False:
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, bytes):
        return "string"
    return lua_type(value) or "userdata"


def arg_error(position: int, function: str, detail: str) -> LuaError:
    """luaL_argerror's message: ``bad argument #1 to 'band' (number expected, got string)``."""
    return LuaError(f"bad argument #{position} to '{function}' ({detail})")


def to_number(value):
    """Lua's ``lua_tonumber``: a number, or a string that reads as one (decimal with
    optional exponent, or hexadecimal, surrounded by spaces); None otherwise."""
    if value is True or value is False or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, bytes):
        text = value.strip(b" \t\n\r\f\v")
        try:
            if text[:2].lower() in (b"0x",) or text[:3].lower() in (b"-0x", b"+0x"):
                return int(text, 16)
            number = float(text)
        except ValueError:
            return None
        if text.lower().lstrip(b"+-") in (b"inf", b"infinity", b"nan"):
            return None  # strtod reads these, but Lua 5.1 refuses them: digits only
        return int(number) if number.is_integer() and abs(number) < 2**63 else number
    return None


def check_number(value, position: int, function: str):
    """``luaL_checknumber``: the argument as a number, or Lua's error."""
    number = to_number(value)
    if number is None:
        raise arg_error(position, function, f"number expected, got {type_name(value)}")
    return number


def check_int(value, position: int, function: str) -> int:
    """``luaL_checkint``: the number truncated toward zero."""
    number = check_number(value, position, function)
    return int(number)


def check_string(value, position: int, function: str) -> bytes:
    """``luaL_checklstring``: a string, or a number turned into one (``%.14g``)."""
    if isinstance(value, bytes):
        return value
    if value is not True and value is not False and isinstance(value, (int, float)):
        return number_to_string(value)
    raise arg_error(position, function, f"string expected, got {type_name(value)}")


def is_lua_string(value) -> bool:
    """Lua's ``lua_isstring``: a string, or a number (which Lua turns into one)."""
    return value.__class__ in (bytes, int, float)


def lua_string(value) -> bytes:
    """A value `is_lua_string` accepts, as the string Lua makes of it."""
    return value if value.__class__ is bytes else number_to_string(value)


def number_to_string(number) -> bytes:
    """How Lua 5.1 writes a number as a string (``LUA_NUMBER_FMT``, ``%.14g``)."""
    if isinstance(number, int) and abs(number) < 10**14:
        return b"%d" % number
    return (b"%.14g" % number).replace(b"inf", b"inf")
