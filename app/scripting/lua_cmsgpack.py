"""The ``cmsgpack`` library of Redis scripts: MessagePack packing and unpacking, in Python.

Redis 7.0 links Salvatore Sanfilippo's lua-cmsgpack 0.4.0, a C library, into its Lua
5.1 and offers it to every script as the global ``cmsgpack``. We run Lua through lupa,
which cannot load that C code into its own Lua, so the library is written again here
and answers as the C one does, byte for byte.

What lua-cmsgpack does, which is not all of MessagePack:

* ``pack(v1, v2, ...)`` packs each argument and concatenates them. Whole numbers in the
  64-bit range are integers in their smallest form; other numbers are float 32 when
  that holds them exactly, else float 64. Strings are str (fixstr, str 8/16/32), never
  bin. A table whose keys are exactly 1..n is an array (the empty table too), any other
  a map. Tables nested 16 deep are cut there: the 17th level packs as nil, which also
  ends cycles. nil, functions, userdata (cjson.null too) and threads pack as nil.
* ``unpack(s)`` returns every value in ``s``; ``unpack_one(s[, offset])`` and
  ``unpack_limit(s, limit[, offset])`` return first the offset to continue from (-1 at
  the end) and then the values. bin and ext types are refused as bad data; unsigned
  64-bit integers past 2^63 come back negative, as they do in C; a map with a nil or
  NaN key stops with Lua's own error ("table index is nil"), which has no position.
* like every C function, these may use 8000 Lua stack slots: too many values, or
  nesting too deep, is an error ("stack overflow (...)"), reproduced here by counting
  the slots the C code would use.
"""

from __future__ import annotations

import math
import struct

from app.scripting import bridge

NAME = b"cmsgpack"
VERSION = b"lua-cmsgpack 0.4.0"
COPYRIGHT = b"Copyright (C) 2012, Salvatore Sanfilippo"
DESCRIPTION = b"MessagePack C implementation for Lua"

MAX_NESTING = 16  # LUACMSGPACK_MAX_NESTING: tables deeper than this pack as nil
LUA_C_STACK = 8000  # LUAI_MAXCSTACK: stack slots a C function may use
INT_MAX = 2**31 - 1
INT64_MIN = -(2**63)

_NONE = object()  # an argument that was not passed at all ("no value", not nil)


def _type_name(value) -> str:
    """Lua's name for the type of an argument (a library function of ours arrives as
    the Python function itself: in Redis, a C function)."""
    if value is _NONE:
        return "no value"
    if bridge.lua_type(value) is None and callable(value):
        return "function"
    return bridge.type_name(value)


def _stack_overflow(where: str) -> bridge.LuaError:
    """``luaL_checkstack``'s error."""
    return bridge.LuaError(f"stack overflow ({where})")


def _c_int(number: int) -> int:
    """C's ``(int)`` of a 64-bit integer, as the error messages print it."""
    return (number + 2**31) % 2**32 - 2**31


def _lua_integer(value, position: int, function: str) -> int:
    """``luaL_checkinteger``: a Lua number as ``lua_Integer`` (64 bits), truncated; x86
    makes INT64_MIN of anything out of range."""
    number = bridge.to_number(None if value is _NONE else value)
    if number is None:
        raise bridge.arg_error(position, function, f"number expected, got {_type_name(value)}")
    if isinstance(number, float):
        if math.isnan(number) or not -(2.0**63) <= number < 2.0**63:
            return INT64_MIN
        return int(number)
    return number if -(2**63) <= number < 2**63 else INT64_MIN


def _check_string(value, function: str) -> bytes:
    """``luaL_checklstring`` for argument #1: a string, or a number as one."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return bridge.number_to_string(value)
    raise bridge.arg_error(1, function, f"string expected, got {_type_name(value)}")


# ---------------------------------------------------------------------------------------
# Packing.

_FLOAT = struct.Struct(">f")
_DOUBLE = struct.Struct(">d")


def pack_integer(number: int) -> bytes:
    """The smallest MessagePack integer for ``number`` (which fits in 64 bits)."""
    if number >= 0:
        if number <= 0x7F:
            return bytes((number,))  # positive fixint
        if number <= 0xFF:
            return b"\xcc" + struct.pack(">B", number)
        if number <= 0xFFFF:
            return b"\xcd" + struct.pack(">H", number)
        if number <= 0xFFFFFFFF:
            return b"\xce" + struct.pack(">I", number)
        return b"\xcf" + struct.pack(">Q", number)
    if number >= -32:
        return struct.pack(">b", number)  # negative fixint
    if number >= -128:
        return b"\xd0" + struct.pack(">b", number)
    if number >= -32768:
        return b"\xd1" + struct.pack(">h", number)
    if number >= -(2**31):
        return b"\xd2" + struct.pack(">i", number)
    return b"\xd3" + struct.pack(">q", number)


def pack_float(number: float) -> bytes:
    """float 32 when it holds ``number`` exactly (inf does, nan never), else float 64."""
    try:
        single = _FLOAT.pack(number)
    except OverflowError:  # finite but past float 32's range
        single = None
    if single is not None and _FLOAT.unpack(single)[0] == number:
        return b"\xca" + single
    return b"\xcb" + _DOUBLE.pack(number)


def pack_number(number) -> bytes:
    if isinstance(number, int):
        return pack_integer(number)  # lupa's integers are the doubles that fit in 64 bits
    if number.is_integer() and -(2.0**63) <= number < 2.0**63:
        return pack_integer(int(number))
    return pack_float(number)


def pack_string(string: bytes) -> bytes:
    size = len(string)
    if size < 32:
        header = bytes((0xA0 | size,))
    elif size <= 0xFF:
        header = b"\xd9" + struct.pack(">B", size)
    elif size <= 0xFFFF:
        header = b"\xda" + struct.pack(">H", size)
    else:
        header = b"\xdb" + struct.pack(">I", size)
    return header + string


def _header(size: int, fix: int, code16: bytes, code32: bytes) -> bytes:
    """An array or map header: fix form up to 15 entries, then 16 or 32 bits."""
    if size <= 15:
        return bytes((fix | size,))
    if size <= 0xFFFF:
        return code16 + struct.pack(">H", size)
    return code32 + struct.pack(">I", size)


def _is_array(entries: list) -> bool:
    """lua-cmsgpack's ``table_is_an_array``: keys are whole numbers from 1 up, each below
    2^31 (they go through a C int), and the largest equals their count: 1..n exactly."""
    largest = 0
    for key, _ in entries:
        if (isinstance(key, bool) or not isinstance(key, (int, float)) or key <= 0
                or key > INT_MAX or key != int(key)):
            return False
        largest = max(largest, key)
    return largest == len(entries)


def _pack_value(out: list, value, level: int, slot: int) -> None:
    """Append ``value`` packed to ``out``. ``slot`` is the Lua stack slot the value holds
    in C, to fail where C's stack checks fail. Recursion is bounded by MAX_NESTING."""
    if isinstance(value, bytes):
        out.append(pack_string(value))
    elif value is True:
        out.append(b"\xc3")
    elif value is False:
        out.append(b"\xc2")
    elif isinstance(value, (int, float)):
        out.append(pack_number(value))
    elif bridge.lua_type(value) == "table" and level < MAX_NESTING:
        if slot + 2 > LUA_C_STACK:
            raise _stack_overflow("in function table_is_an_array")
        entries = list(value.items())
        if _is_array(entries):
            if slot + 1 > LUA_C_STACK:
                raise _stack_overflow("in function mp_encode_lua_table_as_array")
            out.append(_header(len(entries), 0x90, b"\xdc", b"\xdd"))
            elements = dict(entries)
            for index in range(1, len(entries) + 1):
                _pack_value(out, elements[index], level + 1, slot + 1)
        else:
            if slot + 3 > LUA_C_STACK:
                raise _stack_overflow("in function mp_encode_lua_table_as_map")
            out.append(_header(len(entries), 0x80, b"\xde", b"\xdf"))
            for key, item in entries:  # in `next` order; C holds key, value, key copy
                _pack_value(out, key, level + 1, slot + 3)
                _pack_value(out, item, level + 1, slot + 2)
    else:
        out.append(b"\xc0")  # nil, and what MessagePack cannot hold


def pack(*args) -> bytes:
    """``cmsgpack.pack(v1, ...)``: the arguments packed one after the other."""
    count = len(args)
    if count == 0:
        raise bridge.arg_error(0, "pack", "MessagePack pack needs input.")
    if count + count > LUA_C_STACK:  # C needs one more slot per argument for its result
        raise bridge.arg_error(0, "pack", "Too many arguments for MessagePack pack.")
    out = []
    for position, value in enumerate(args, 1):
        _pack_value(out, value, 0, count + position)
    return b"".join(out)


# ---------------------------------------------------------------------------------------
# Unpacking.

class _Missing(Exception):
    """The input ends inside a value."""


class _BadFormat(Exception):
    """A type byte lua-cmsgpack does not know."""


_TOO_MANY_VALUES = "too many return values at once; use unpack_one or unpack_limit instead."

# Fixed-size scalars: type byte -> (size including the type byte, how to read the rest).
_SCALARS = {
    0xCC: (2, struct.Struct(">B")), 0xCD: (3, struct.Struct(">H")),
    0xCE: (5, struct.Struct(">I")), 0xCF: (9, struct.Struct(">Q")),
    0xD0: (2, struct.Struct(">b")), 0xD1: (3, struct.Struct(">h")),
    0xD2: (5, struct.Struct(">i")), 0xD3: (9, struct.Struct(">q")),
    0xCA: (5, _FLOAT), 0xCB: (9, _DOUBLE),
}
_CONSTANTS = {0xC0: None, 0xC2: False, 0xC3: True}
# Variable-size types: type byte -> how to read the length (or count) after it.
_STRINGS = {0xD9: struct.Struct(">B"), 0xDA: struct.Struct(">H"), 0xDB: struct.Struct(">I")}
_ARRAYS = {0xDC: struct.Struct(">H"), 0xDD: struct.Struct(">I")}
_MAPS = {0xDE: struct.Struct(">H"), 0xDF: struct.Struct(">I")}


class _Open:
    """An array or map being read: entries still to come, items so far (values, or
    (key, value) pairs), the key whose value comes next, and its table's stack slot."""

    __slots__ = ("is_map", "items", "key", "left", "slot")

    def __init__(self, is_map: bool, left: int, slot: int):
        self.is_map = is_map
        self.left = left
        self.items = []
        self.key = _NONE  # _NONE: a map's key comes next (nil is a key, if a bad one)
        self.slot = slot


class _Unpacker:
    """Reads values from ``data`` at ``position``, building Lua tables in ``lua``."""

    def __init__(self, lua, data: bytes, position: int):
        self.lua = lua
        self.data = data
        self.position = position

    def need(self, size: int) -> None:
        if len(self.data) - self.position < size:
            raise _Missing

    def value(self, slot: int):
        """One value, which C would push into stack slot ``slot``. Written as a loop
        over a stack of open arrays and maps, since they may nest thousands deep."""
        stack: list[_Open] = []
        while True:
            if stack:
                opened = stack[-1]
                # An array element sits above the table and its index; a map key above
                # the table, its value above the key.
                slot = opened.slot + (1 if opened.is_map and opened.key is _NONE else 2)
            result, header = self.scalar_or_header(slot)
            if header is not None:
                is_map, size = header
                if not is_map and slot + 1 > LUA_C_STACK:
                    raise _stack_overflow("in function mp_decode_to_lua_array")
                if size:
                    stack.append(_Open(is_map, size, slot))
                    continue
                result = self.lua.table()
            # A complete value: give it to its container, closing those that are full.
            while stack:
                opened = stack[-1]
                if opened.is_map and opened.key is _NONE:
                    opened.key = result  # a key: its value comes next
                    break
                if opened.is_map:
                    key = opened.key
                    # Lua refuses these keys as soon as C sets them (later bytes are
                    # not read), with the VM's own error: no script position before it.
                    if key is None:
                        raise bridge.Thrown(b"table index is nil")
                    if isinstance(key, float) and math.isnan(key):
                        raise bridge.Thrown(b"table index is NaN")
                    opened.items.append((key, result))
                    opened.key = _NONE
                else:
                    opened.items.append(result)
                opened.left -= 1
                if opened.left:
                    break
                stack.pop()
                result = self.make_table(opened.is_map, opened.items)
            else:
                return result

    def scalar_or_header(self, slot: int):
        """The value at the cursor as (value, None), or for an array or a map (None,
        (is_map, size)) with the cursor after the header."""
        self.need(1)
        if slot > LUA_C_STACK:
            raise _stack_overflow(_TOO_MANY_VALUES)
        data, position = self.data, self.position
        code = data[position]
        if code <= 0x7F:  # positive fixint
            self.position += 1
            return code, None
        if code >= 0xE0:  # negative fixint
            self.position += 1
            return code - 0x100, None
        if 0xA0 <= code <= 0xBF:  # fixstr
            return self.string(1, code & 0x1F), None
        if code <= 0x8F:  # fixmap (0x80-0x8f)
            self.position += 1
            return None, (True, code & 0x0F)
        if code <= 0x9F:  # fixarray
            self.position += 1
            return None, (False, code & 0x0F)
        if code in _CONSTANTS:
            self.position += 1
            return _CONSTANTS[code], None
        scalar = _SCALARS.get(code)
        if scalar is not None:
            size, reader = scalar
            self.need(size)
            (number,) = reader.unpack_from(data, position + 1)
            self.position += size
            if code == 0xCF and number >= 2**63:
                number -= 2**64  # C pushes it as a signed lua_Integer
            return number, None
        for table, is_map in ((_ARRAYS, False), (_MAPS, True)):
            reader = table.get(code)
            if reader is not None:
                self.need(1 + reader.size)
                (size,) = reader.unpack_from(data, position + 1)
                self.position += 1 + reader.size
                return None, (is_map, size)
        reader = _STRINGS.get(code)
        if reader is not None:
            self.need(1 + reader.size)
            (size,) = reader.unpack_from(data, position + 1)
            return self.string(1 + reader.size, size), None
        raise _BadFormat  # 0xc1, bin, ext

    def string(self, header: int, size: int) -> bytes:
        self.need(header + size)
        start = self.position + header
        self.position = start + size
        return self.data[start:start + size]

    def make_table(self, is_map: bool, items: list):
        """A Lua table filled in the order C fills it (so that `next` agrees)."""
        if not is_map:
            return self.lua.table_from(items)  # t[1], t[2], ...; nil leaves a hole
        if all(isinstance(key, bytes) for key, _ in items):
            return self.lua.table_from(dict(items))  # a later duplicate overwrites in place
        table = self.lua.table()
        for key, value in items:  # keys Python would merge (1, 1.0, True) stay apart
            table[key] = value
        return table


def _unpack(lua, data: bytes, limit: int, offset: int, below: int) -> tuple:
    """lua-cmsgpack's ``mp_unpack_full``: up to ``limit`` values from ``offset`` (both 0:
    every value, and no offset returned). ``below`` is the stack slots in use."""
    decode_all = limit == 0 and offset == 0
    if offset < 0 or limit < 0:
        # The C message prints the input length where it says "limit".
        raise bridge.LuaError(
            f"Invalid request to unpack with offset of {_c_int(offset)} and limit of {_c_int(len(data))}.")
    if offset > len(data):
        raise bridge.LuaError(f"Start offset {_c_int(offset)} greater than input length {_c_int(len(data))}.")
    if decode_all:
        limit = INT_MAX
    unpacker = _Unpacker(lua, data, offset)
    values = []
    try:
        while unpacker.position < len(data) and len(values) < limit:
            values.append(unpacker.value(below + len(values) + 1))
    except _Missing:
        raise bridge.LuaError("Missing bytes in input.") from None
    except _BadFormat:
        raise bridge.LuaError("Bad data format in input.") from None
    if decode_all:
        return tuple(values)
    if below + len(values) + 1 > LUA_C_STACK:
        raise _stack_overflow("in function mp_unpack_full")
    next_offset = -1 if unpacker.position == len(data) else unpacker.position
    return (next_offset, *values)


# ---------------------------------------------------------------------------------------
# The library table.

class CMsgpack:
    """The unpacking functions of one Lua runtime (they make its tables)."""

    def __init__(self, lua):
        self.lua = lua

    def unpack(self, *args):
        """``cmsgpack.unpack(s)``: every value in ``s``."""
        data = _check_string(args[0] if args else _NONE, "unpack")
        return _unpack(self.lua, data, 0, 0, len(args))  # C leaves extra arguments on its stack

    def unpack_one(self, *args):
        """``cmsgpack.unpack_one(s[, offset])``: the next offset (-1 at the end), a value."""
        offset = args[1] if len(args) > 1 else None
        offset = 0 if offset is None else _lua_integer(offset, 2, "unpack_one")
        data = _check_string(args[0] if args else _NONE, "unpack_one")
        return _unpack(self.lua, data, 1, offset, 1)

    def unpack_limit(self, *args):
        """``cmsgpack.unpack_limit(s, limit[, offset])``: the next offset, then values."""
        limit = _lua_integer(args[1] if len(args) > 1 else _NONE, 2, "unpack_limit")
        offset = args[2] if len(args) > 2 else None
        offset = 0 if offset is None else _lua_integer(offset, 3, "unpack_limit")
        data = _check_string(args[0] if args else _NONE, "unpack_limit")
        return _unpack(self.lua, data, limit, offset, 1)


def install(lua, lift) -> None:
    """Set the global ``cmsgpack`` in ``lua``."""
    library = CMsgpack(lua)
    module = lua.table()
    module[b"pack"] = bridge.expose(lift, pack)
    for name in ("unpack", "unpack_one", "unpack_limit"):
        module[name.encode()] = bridge.expose(lift, getattr(library, name))
    module[b"_NAME"] = NAME
    module[b"_VERSION"] = VERSION
    module[b"_COPYRIGHT"] = COPYRIGHT
    module[b"_DESCRIPTION"] = DESCRIPTION
    lua.globals()[NAME] = module
