"""The ``bit`` library of Redis' Lua: 32-bit integer operations (Mike Pall's LuaBitOp 1.0.2).

Lua 5.1 has only one number type, the C ``double``, and no bitwise operators, so Redis
links LuaBitOp into its interpreter (``deps/lua/src/lua_bit.c``). We run Lua through lupa,
whose interpreter has no such library, so this module re-implements it in Python, with
the same results and the same error messages as redis-server 7.0.

Every argument goes through one normalisation, `to_bits`: LuaBitOp adds 2^52 + 2^51 to
the double and keeps the low 32 bits of its IEEE representation. For ordinary numbers
that is "round to the nearest integer (ties to even), then take it modulo 2^32"; for
huge, infinite or NaN arguments it gives whatever those bits happen to be, and we get
the same bits by doing the same double addition. Results are signed 32-bit numbers.

It also holds `to_number`, Lua 5.1's ``lua_tonumber``, which the ``struct`` library uses
too: Lua reads numeric strings with C's ``strtod``, which is more generous than
Python's ``float`` in some ways (hexadecimal, ``nan(...)``) and stricter in others
(no ``1_000``), and it stops at a NUL byte, as C strings do.
"""

from __future__ import annotations

import math
import re
import struct as _struct

from app.scripting import bridge

MASK32 = 0xFFFFFFFF

# 2^52 + 2^51: adding it to a double puts the integer part in the low mantissa bits.
_MAGIC = 6755399441055744.0

# ---------------------------------------------------------------------------------------
# lua_tonumber: how Lua 5.1 (through glibc's strtod) reads a number out of a string
# ---------------------------------------------------------------------------------------

_C_SPACE = b" \t\n\v\f\r"  # isspace() in the "C" locale, which Redis keeps for LC_CTYPE
_DECIMAL = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEXADECIMAL = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
_INFINITY = re.compile(rb"([+-]?)inf(?:inity)?", re.IGNORECASE)
_NAN = re.compile(rb"([+-]?)nan(?:\(([0-9A-Za-z_]*)\))?", re.IGNORECASE)
_QUIET_NAN = 0x7FF8000000000000
_NAN_PAYLOAD_BITS = (1 << 51) - 1  # the mantissa below the quiet bit


def _nan_payload(chars: bytes) -> int | None:
    """What glibc's strtod makes of ``nan(chars)``: the chars read by ``strtoull`` with
    base 0 (0x hex, leading-0 octal, else decimal), or None if they are not all read."""
    if chars[:2].lower() == b"0x" and re.fullmatch(rb"[0-9a-fA-F]+", chars[2:]):
        value = int(chars, 0)  # the regex keeps out what C would not read (like "_")
    elif chars[:1] == b"0":
        if not re.fullmatch(rb"[0-7]*", chars):
            return None
        value = int(chars, 8)
    elif re.fullmatch(rb"[0-9]*", chars):
        value = int(chars or b"0")
    else:
        return None
    return min(value, 2**64 - 1)  # strtoull saturates


def _parse(text: bytes) -> float | None:
    """``luaO_str2d``: the whole string (bar surrounding spaces) must be one number."""
    text = text.split(b"\0", 1)[0].strip(_C_SPACE)  # C reads up to the first NUL
    if _DECIMAL.fullmatch(text):
        return float(text)
    if _HEXADECIMAL.fullmatch(text):
        try:
            return float.fromhex(text.decode())
        except OverflowError:  # strtod answers HUGE_VAL, and Lua ignores errno
            return -math.inf if text.startswith(b"-") else math.inf
    match = _INFINITY.fullmatch(text)
    if match:
        return -math.inf if match[1] == b"-" else math.inf
    match = _NAN.fullmatch(text)
    if match:
        bits = _QUIET_NAN
        payload = _nan_payload(match[2]) if match[2] is not None else None
        if payload is not None:
            bits |= payload & _NAN_PAYLOAD_BITS
        if match[1] == b"-":
            bits |= 1 << 63
        return _struct.unpack("<d", _struct.pack("<Q", bits))[0]
    return None


def to_number(value) -> float | None:
    """Lua's ``lua_tonumber``: a number, or a string that reads as one, as a float
    (every Lua 5.1 number is a double); None for anything else."""
    if value is True or value is False or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)  # lupa's ints are whole doubles, so this is exact
    if isinstance(value, bytes):
        return _parse(value)
    return None


def number_expected(args: tuple, index: int, function: str, missing: str = "no value") -> bridge.LuaError:
    """luaL_typerror for the 1-based argument ``index``: a missing argument is
    ``missing`` ("no value", unless something else sits on the C stack there), an
    explicit nil "nil"."""
    got = missing if index > len(args) else bridge.type_name(args[index - 1])
    return bridge.arg_error(index, function, f"number expected, got {got}")


# ---------------------------------------------------------------------------------------
# The library
# ---------------------------------------------------------------------------------------


def to_bits(number: float) -> int:
    """LuaBitOp's normalisation of a double to 32 bits (unsigned here)."""
    shifted = number + _MAGIC  # rounds to an integer in the low mantissa bits
    return _struct.unpack("<Q", _struct.pack("<d", shifted))[0] & MASK32


def _signed(bits: int) -> int:
    """The unsigned 32 bits as the signed number LuaBitOp returns."""
    bits &= MASK32
    return bits - (1 << 32) if bits & 0x80000000 else bits


def _argument(args: tuple, index: int, function: str) -> int:
    """``barg``: the 1-based argument ``index`` as 32 unsigned bits, or Lua's error."""
    number = to_number(args[index - 1]) if index <= len(args) else None
    if number is None:
        raise number_expected(args, index, function)
    return to_bits(number)


def tobit(*args):
    """Normalise a number to a signed 32-bit integer."""
    return _signed(_argument(args, 1, "tobit"))


def bnot(*args):
    """Bitwise not."""
    return _signed(~_argument(args, 1, "bnot"))


def _fold(function: str, combine):
    """band/bor/bxor: one or more arguments. LuaBitOp reads the first, then the rest
    from the last backwards, so an error names the last bad argument after the first."""

    def operation(*args):
        result = _argument(args, 1, function)
        for index in range(len(args), 1, -1):
            result = combine(result, _argument(args, index, function))
        return _signed(result)

    operation.__name__ = function
    operation.__doc__ = f"Bitwise {function[1:]} of all the arguments."
    return operation


band = _fold("band", lambda a, b: a & b)
bor = _fold("bor", lambda a, b: a | b)
bxor = _fold("bxor", lambda a, b: a ^ b)


def _shift(function: str, move):
    """lshift/rshift/arshift/rol/ror: the count is taken modulo 32."""

    def operation(*args):
        bits = _argument(args, 1, function)
        count = _argument(args, 2, function) & 31
        return _signed(move(bits, count))

    operation.__name__ = function
    operation.__doc__ = f"LuaBitOp's {function}(x, n)."
    return operation


lshift = _shift("lshift", lambda b, n: b << n)
rshift = _shift("rshift", lambda b, n: b >> n)
arshift = _shift("arshift", lambda b, n: _signed(b) >> n)  # sign bits come in from the left
rol = _shift("rol", lambda b, n: (b << n) | (b >> (32 - n)))
ror = _shift("ror", lambda b, n: (b >> n) | (b << (32 - n)))


def bswap(*args):
    """Reverse the four bytes."""
    bits = _argument(args, 1, "bswap")
    return _signed(int.from_bytes(bits.to_bytes(4, "little"), "big"))


def tohex(*args):
    """Hex digits of the low bits: 8 by default; a negative width asks for uppercase."""
    bits = _argument(args, 1, "tohex")
    # Only a missing width defaults to 8: an explicit nil is an error, as in C.
    width = _signed(_argument(args, 2, "tohex")) if len(args) >= 2 else 8
    digits = "%08x"
    if width < 0:
        width, digits = -width, "%08X"
    width = min(width, 8)
    return (digits % bits)[8 - width :].encode() if width > 0 else b""


FUNCTIONS = {
    "tobit": tobit,
    "bnot": bnot,
    "band": band,
    "bor": bor,
    "bxor": bxor,
    "lshift": lshift,
    "rshift": rshift,
    "arshift": arshift,
    "rol": rol,
    "ror": ror,
    "bswap": bswap,
    "tohex": tohex,
}


def install(lua, lift) -> None:
    """Set the global ``bit`` table of ``lua``."""
    table = lua.table()
    for name, function in FUNCTIONS.items():
        table[name.encode()] = bridge.expose(lift, function)
    lua.globals()[b"bit"] = table
