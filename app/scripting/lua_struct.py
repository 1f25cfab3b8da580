"""The ``struct`` library of Redis' Lua: numbers and strings to and from binary strings.

Redis links Roberto Ierusalimschy's ``struct`` library (struct.c 1.4, with Redis' fixes
for CVE-2018-11218 and CVE-2020-14147) into its Lua 5.1, as ``deps/lua/src/lua_struct.c``.
We run Lua through lupa, whose interpreter has no such library, so this module
re-implements ``struct.pack``, ``struct.unpack`` and ``struct.size`` in Python, giving the
bytes, numbers and error messages that redis-server 7.0 (on x86-64 Linux) gives.

A format is a string of options, read one at a time::

    <  >     little / big endian from here on (the default is the machine's: little)
    ![n]     align fields to at most n bytes (n a power of 2; default 8; initially 1)
    x        one zero byte of padding
    b B      signed / unsigned char (1 byte)
    h H      short (2)        l L  long (8)        T  size_t (8, unsigned)
    i[n] I[n]  integer of n bytes (default 4, at most 32)
    f d      float (4) / double (8)
    s        zero-terminated string
    c[n]     n characters (default 1); c0 packs the whole string, and unpacks as
             many bytes as the number unpacked just before it says
    ' '      ignored

The C code's quirks are part of the behaviour scripts can see, so they are kept:
integers travel through a C ``long`` (64 bits), so a field wider than 8 bytes carries
only 64 bits of value; out-of-range doubles convert the way x86-64 converts them; the
format ends at a NUL byte; and positions are unsigned 64-bit (``size_t``) numbers.

One thing cannot be matched: lupa hands Lua's -0 to Python as the integer 0, so
``struct.pack('d', -0)`` packs +0 (Redis packs -0), and -0 given where a string is
expected reads "0" rather than "-0". The string "-0" is read correctly.
"""

from __future__ import annotations

import math
import struct as _struct

from app.scripting import bridge
from app.scripting.lua_bit import number_expected, to_number

MAXINTSIZE = 32  # widest i/I field
MAXALIGN = 8  # what "!" alone means: the alignment of a double on x86-64
INT_MAX = 2**31 - 1
MASK64 = 2**64 - 1
LUA_MAX_C_STACK = 8000  # LUAI_MAXCSTACK: how many values a C function may hold

# Fixed sizes of the options (x86-64 Linux); i/I and c read a count instead.
_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}
_INTEGERS = "bBhHlLTiI"
_DIGITS = tuple("0123456789")


# ---------------------------------------------------------------------------------------
# What the C code does with numbers
# ---------------------------------------------------------------------------------------


def _truncate_to_int64(number: float) -> int:
    """C's ``(long)d`` on x86-64 (cvttsd2si): truncation, and for NaN or a value out of
    range the "integer indefinite" 0x8000000000000000."""
    if math.isnan(number) or math.isinf(number):
        return -(2**63)
    value = int(number)
    return value if -(2**63) <= value < 2**63 else -(2**63)


def _to_size_t(number: float) -> int:
    """C's ``(unsigned long)d`` as gcc compiles it for x86-64: below 2^63 (or NaN) a
    plain signed conversion; from 2^63 up, convert d - 2^63 and put the top bit back."""
    if number >= 2**63:
        return (_truncate_to_int64(number - 2**63) ^ 2**63) & MASK64
    return _truncate_to_int64(number) & MASK64


def _signed64(value: int) -> int:
    """An unsigned 64-bit value read as a C ``long`` (``ptrdiff_t``)."""
    value &= MASK64
    return value - 2**64 if value >= 2**63 else value


def _number_to_string(number: float) -> bytes:
    """How Lua turns a number into a string: C's ``%.14g``, NaN's sign included."""
    if math.isnan(number):
        return b"-nan" if math.copysign(1.0, number) < 0 else b"nan"
    return b"%.14g" % number


# ---------------------------------------------------------------------------------------
# Arguments, with Lua's checks and messages
# ---------------------------------------------------------------------------------------


def _check_string(args: tuple, index: int, function: str, missing: str = "no value") -> bytes:
    """``luaL_checklstring`` on the 1-based argument ``index``; numbers become strings.
    ``missing`` names what C finds past the last argument (see `pack`)."""
    value = args[index - 1] if index <= len(args) else None
    if isinstance(value, bytes):
        return value
    if value is not True and value is not False and isinstance(value, (int, float)):
        return _number_to_string(float(value))
    got = missing if index > len(args) else bridge.type_name(value)
    raise bridge.arg_error(index, function, f"string expected, got {got}")


def _check_number(args: tuple, index: int, function: str, missing: str = "no value") -> float:
    """``luaL_checknumber`` on the 1-based argument ``index``."""
    number = to_number(args[index - 1]) if index <= len(args) else None
    if number is None:
        raise number_expected(args, index, function, missing)
    return number


def _invalid_option(option: str, function: str) -> bridge.LuaError:
    # The option is one byte, which need not be UTF-8: build the message as bytes.
    return bridge.LuaError(b"bad argument #1 to '%s' (invalid format option '%s')"
                           % (function.encode(), option.encode("latin-1")))


# ---------------------------------------------------------------------------------------
# Reading a format
# ---------------------------------------------------------------------------------------


class _Format:
    """A format being read, with the current byte order and alignment (the C ``Header``)."""

    def __init__(self, text: bytes, function: str):
        # The C code walks a C string: a NUL byte ends the format.
        self.text = text.split(b"\0", 1)[0].decode("latin-1")
        self.at = 0
        self.function = function
        self.little = True  # x86-64 is little-endian
        self.align = 1

    def options(self):
        """Each option character in turn (counts are read by `number`)."""
        while self.at < len(self.text):
            self.at += 1
            yield self.text[self.at - 1]

    def _at_digit(self) -> bool:
        # C's isdigit: ASCII digits only (Python's str.isdigit also takes "²").
        return self.text[self.at : self.at + 1] in _DIGITS

    def number(self, default: int) -> int:
        """``getnum``: a decimal count right here, or ``default``; it must fit an int."""
        if not self._at_digit():
            return default
        value = 0
        while self._at_digit():
            digit = ord(self.text[self.at]) - ord("0")
            if value > INT_MAX // 10 or value * 10 > INT_MAX - digit:
                raise bridge.LuaError("integral size overflow")
            value = value * 10 + digit
            self.at += 1
        return value

    def size(self, option: str) -> int:
        """``optsize``: the bytes an option takes; 0 for s, c0 and control options."""
        if option in ("i", "I"):
            size = self.number(4)
            if size > MAXINTSIZE:
                raise bridge.LuaError(f"integral size {size} is larger than limit of {MAXINTSIZE}")
            return size
        if option == "c":
            return self.number(1)
        return _SIZES.get(option, 0)

    def padding(self, position: int, option: str, size: int) -> int:
        """``gettoalign``: zero bytes before a field at ``position``. The formula is the
        C one, which assumes powers of 2; odd sizes like i3 get what C gives them."""
        if size == 0 or option == "c":
            return 0
        size = min(size, self.align)
        return (size - (position & (size - 1))) & (size - 1)

    def control(self, option: str) -> None:
        """``controloptions``: spaces, byte order, alignment; anything else is invalid."""
        if option == " ":
            return
        if option == ">":
            self.little = False
        elif option == "<":
            self.little = True
        elif option == "!":
            align = self.number(MAXALIGN)
            if align <= 0 or align & (align - 1):
                raise bridge.LuaError(f"alignment {align} is not a power of 2")
            self.align = align
        else:
            raise _invalid_option(option, self.function)

    @property
    def order(self) -> str:
        """The byte order as a Python struct prefix."""
        return "<" if self.little else ">"


# ---------------------------------------------------------------------------------------
# The library
# ---------------------------------------------------------------------------------------


def _integer_bytes(number: float, size: int, little: bool) -> bytes:
    """``putinteger``: the double goes through a C (unsigned) long, so only 64 bits
    survive, and bytes past the eighth are zero, even for negative numbers."""
    value = _truncate_to_int64(number) & MASK64 if number < 0 else _to_size_t(number)
    low = value.to_bytes(8, "little")[:size] + bytes(max(0, size - 8))
    return low if little else low[::-1]


def _read_integer(data: bytes, signed: bool, little: bool) -> float:
    """``getinteger``: only the last 64 bits shifted in are kept, and the sign mask is
    ``~0 << (size*8 - 1)`` with the shift count taken modulo 64, as x86-64 does."""
    size = len(data)
    value = int.from_bytes(data, "little" if little else "big") & MASK64
    if signed:
        mask = (MASK64 << ((size * 8 - 1) & 63)) & MASK64
        if value & mask:
            value |= mask
        return float(_signed64(value))
    return float(value)


def pack(*args):
    """struct.pack(format, values...): the values as a binary string."""
    fmt = _Format(_check_string(args, 1, "pack"), "pack")
    # The C code pushes a nil right after the arguments (to mark where its string
    # buffer starts), so the first value that is missing is "nil", not "no value",
    # and an error always stops it before it reads any further.
    missing = "nil"
    out = bytearray()
    index = 2  # the next value's argument number
    for option in fmt.options():
        size = fmt.size(option)
        out += bytes(fmt.padding(len(out), option, size))
        if option in _INTEGERS:
            out += _integer_bytes(_check_number(args, index, "pack", missing), size, fmt.little)
            index += 1
        elif option == "x":
            out += b"\0"
        elif option == "f":
            number = _check_number(args, index, "pack", missing)
            index += 1
            try:
                out += _struct.pack(fmt.order + "f", number)
            except OverflowError:  # C's (float) cast gives an infinity instead
                out += _struct.pack(fmt.order + "f", math.copysign(math.inf, number))
        elif option == "d":
            out += _struct.pack(fmt.order + "d", _check_number(args, index, "pack", missing))
            index += 1
        elif option in ("c", "s"):
            text = _check_string(args, index, "pack", missing)
            index += 1
            if size == 0:
                size = len(text)
            if len(text) < size:
                # The C code has already moved on, so it names the argument after.
                raise bridge.arg_error(index, "pack", "string too short")
            out += text[:size]
            if option == "s":
                out += b"\0"
        else:
            fmt.control(option)
    return bytes(out)


def unpack(*args):
    """struct.unpack(format, data [, init]): the values read from ``data`` starting at
    byte ``init`` (1-based), followed by the position just after them."""
    fmt = _Format(_check_string(args, 1, "unpack"), "unpack")
    data = _check_string(args, 2, "unpack")
    if len(args) >= 3 and args[2] is not None:
        init = _truncate_to_int64(_check_number(args, 3, "unpack"))  # luaL_optinteger
    else:
        init = 1
    position = init & MASK64  # a size_t: negative offsets become huge ones
    if position == 0:
        raise bridge.arg_error(3, "unpack", "offset must be 1 or greater")
    position -= 1
    length = len(data)
    results = []
    for option in fmt.options():
        size = fmt.size(option)
        position = (position + fmt.padding(position, option, size)) & MASK64
        if not (size <= length and position <= length - size):
            raise bridge.arg_error(2, "unpack", "data string too short")
        # luaL_checkstack(L, 2): the arguments stay on the C stack beside the results.
        if len(args) + len(results) + 2 > LUA_MAX_C_STACK:
            raise bridge.LuaError("stack overflow (too many results)")
        if option in _INTEGERS:
            field = data[position : position + size]
            results.append(_read_integer(field, option.islower(), fmt.little))
        elif option in ("f", "d"):
            results.append(_struct.unpack(fmt.order + option, data[position : position + size])[0])
        elif option == "c":
            if size == 0:
                # c0: the previous result (a number, or a string that reads as one) is
                # the length, and is replaced by the string.
                previous = to_number(results[-1]) if results else None
                if previous is None:
                    raise bridge.LuaError("format 'c0' needs a previous size")
                results.pop()
                size = _to_size_t(previous)
                if not (size <= length and position <= length - size):
                    raise bridge.arg_error(2, "unpack", "data string too short")
            results.append(data[position : position + size])
        elif option == "s":
            end = data.find(b"\0", position)
            if end < 0:
                raise bridge.LuaError("unfinished string in data")
            results.append(data[position:end])
            size = end - position + 1
        elif option != "x":
            fmt.control(option)
        position = (position + size) & MASK64
    results.append(float(_signed64(position + 1)))  # lua_pushinteger of a size_t
    return tuple(results)


def size(*args):
    """struct.size(format): the bytes ``pack`` makes for a format of fixed size."""
    fmt = _Format(_check_string(args, 1, "size"), "size")
    total = 0
    for option in fmt.options():
        width = fmt.size(option)
        total += fmt.padding(total, option, width)
        if option == "s":
            raise bridge.arg_error(1, "size", "option 's' has no fixed size")
        if option == "c" and width == 0:
            raise bridge.arg_error(1, "size", "option 'c0' has no fixed size")
        # Only non-alphanumeric options are checked: an unknown letter or a digit
        # counts as 0 bytes here, though pack and unpack refuse it.
        if not (option.isascii() and option.isalnum()):
            fmt.control(option)
        total += width
    return float(_signed64(total))


def install(lua, lift) -> None:
    """Set the global ``struct`` table of ``lua``."""
    table = lua.table()
    for name, function in (("pack", pack), ("unpack", unpack), ("size", size)):
        table[name.encode()] = bridge.expose(lift, function)
    lua.globals()[b"struct"] = table
