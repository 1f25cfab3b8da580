"""The Lua ``bit`` and ``struct`` libraries, checked against a real redis-server.

Each case is a short Lua script, run twice: by redis-server 7.0 (EVAL) and by lupa
with our Python libraries installed (`run_ours`). Scripts return a string or a whole
number, so no reply conversion is needed; fractional numbers are returned through
``tostring`` or ``string.format('%.17g')``, since Redis truncates a Lua number reply,
and several values are joined into one string. ``return (f(...))`` returns exactly one
value. An error is compared by its message, ``user_script:<line>: <message>``: Redis
adds `` script: <sha>, on @user_script:1.``, which `run_redis` removes.
"""

from __future__ import annotations

import math
import re
import shutil
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lupa import lua51

from app.protocol import ReplyParser
from app.scripting import bridge, lua_bit, lua_struct
from tests.helpers import start_reference

if shutil.which("redis-server") is None:
    pytest.skip("redis-server is not installed: these tests compare with it", allow_module_level=True)

# Property tests: no example database (nothing written into the checkout), no deadline
# (a round trip to the server now and then is slow).
FAST = settings(max_examples=150, deadline=None, database=None)


@dataclass(frozen=True)
class ScriptError:
    """A script that failed, with its message (``user_script:1: ...``)."""

    message: bytes


# ---------------------------------------------------------------------------------------
# Running a script on both sides
# ---------------------------------------------------------------------------------------

_RUN = b"""
function(source)
  local chunk, problem = loadstring(source, '@user_script')
  if not chunk then return false, problem end
  local ok, value = pcall(chunk)
  return ok, value
end
"""


def run_ours(script: str):
    """Run ``script`` in a fresh Lua with our ``bit`` and ``struct``: its first result,
    or a `ScriptError`."""
    lua = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False, register_builtins=False)
    lift = bridge.lifter(lua)
    lua_bit.install(lua, lift)
    lua_struct.install(lua, lift)
    ok, value = lua.eval(_RUN)(script.encode())
    return value if ok else ScriptError(value)


_ERROR_REPLY = re.compile(rb"-ERR (.*) script: [0-9a-f]{40}, on @user_script:\d+\.\r\n", re.DOTALL)


def run_redis(connection, script: str):
    """Run ``script`` with EVAL: the reply, or a `ScriptError` (compared byte for byte:
    a message may hold a byte that is not UTF-8)."""
    raw = connection.call(b"EVAL", script.encode(), b"0")
    if raw.startswith(b"-"):
        match = _ERROR_REPLY.fullmatch(raw)
        assert match, raw
        return ScriptError(match[1])
    return ReplyParser().parse(raw)[0]


def same(reference, script: str):
    """Assert both sides give the same answer to ``script``; return it."""
    ours = run_ours(script)
    assert not isinstance(ours, float), f"return tostring(...) for a fractional number: {script}"
    assert ours == run_redis(reference, script), script
    return ours


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A raw connection to a redis-server of our own, on a free port."""
    server = start_reference(cwd=str(tmp_path_factory.mktemp("redis")))
    connection = server.raw()
    yield connection
    connection.close()
    server.stop()


# ---------------------------------------------------------------------------------------
# Writing Lua literals
# ---------------------------------------------------------------------------------------


def lua_string(data: bytes) -> str:
    """A Lua string literal for any bytes (three-digit escapes: no ambiguity)."""
    return '"' + "".join(f"\\{byte:03d}" for byte in data) + '"'


def lua_number(number) -> str:
    """A Lua expression for a number, read back exactly (strtod on both sides)."""
    if isinstance(number, float):
        if math.isnan(number):
            return "(0/0)"
        if math.isinf(number):
            return "(1/0)" if number > 0 else "(-1/0)"
    return f"({number!r})"


def lua_value(value) -> str:
    return lua_string(value) if isinstance(value, bytes) else lua_number(value)


# Shows several values in one string: numbers exactly, strings in hex.
SHOW = (
    "local function show(...) local t = {} for i = 1, select('#', ...) do local v = select(i, ...) "
    "if type(v) == 'number' then t[i] = string.format('%.17g', v) "
    "else t[i] = (string.gsub(v, '.', function(c) return string.format('%02x', string.byte(c)) end)) end "
    "end return table.concat(t, ' ') end "
)


# ---------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------

BIT_CASES = [
    # tobit: rounding (ties to even), wrapping, huge, infinite and NaN values, strings
    "return (bit.tobit(2^31))",
    "return (bit.tobit(2^32 + 5))",
    "return (bit.tobit(-1))",
    "return (bit.tobit(0.5))",
    "return (bit.tobit(1.5))",
    "return (bit.tobit(2.5))",
    "return (bit.tobit(-0.5))",
    "return (bit.tobit(-1.5))",
    "return (bit.tobit(-2.5))",
    "return (bit.tobit(-0))",
    "return (bit.tobit(2^51 + 0.5))",
    "return (bit.tobit(2^51 - 0.5))",
    "return (bit.tobit(2^52 + 1))",
    "return (bit.tobit(2^53 + 2))",
    "return (bit.tobit(2^60 + 2^40 + 12345))",
    "return (bit.tobit(-2^60 - 12345))",
    "return (bit.tobit(1e300))",
    "return (bit.tobit(-1e300))",
    "return (bit.tobit(1.7976931348623157e308))",
    "return (bit.tobit(1/0))",
    "return (bit.tobit(-1/0))",
    "return (bit.tobit(0/0))",
    "return (bit.tobit(1, 'ignored'))",
    'return (bit.tobit("0x10"))',
    'return (bit.tobit(" 12 "))',
    'return (bit.tobit("0x7fffffff1"))',
    'return (bit.tobit("0x1p4"))',
    'return (bit.tobit("12\\0abc"))',
    'return (bit.tobit("inf"))',
    'return (bit.tobit("nan"))',
    'return (bit.tobit("-nan"))',
    'return (bit.tobit("1e"))',
    'return (bit.tobit("1_0"))',
    'return (bit.tobit("abc"))',
    "return (bit.tobit())",
    "return (bit.tobit(nil))",
    "return (bit.tobit(true))",
    "return (bit.tobit({}))",
    "return (bit.tobit(string.len))",
    # tohex: width, uppercase for a negative width, at most 8 digits
    "return (bit.tohex(255))",
    "return (bit.tohex(-1, -4))",
    "return (bit.tohex(-1, 5))",
    "return (bit.tohex(255, 0))",
    "return (bit.tohex(255, 12))",
    "return (bit.tohex(255, -100))",
    "return (bit.tohex(255, 2^31))",
    "return (bit.tohex(255, 2^32 - 3))",
    "return (bit.tohex(0x12345678, -3))",
    "return (bit.tohex(1.5, 2.5))",
    "return (bit.tohex('255', '-2'))",
    "return (bit.tohex(255, nil))",
    "return (bit.tohex(nil))",
    "return (bit.tohex())",
    # bnot, band, bor, bxor (the extra arguments are read from the last one back)
    "return (bit.bnot(0))",
    "return (bit.bnot(-1))",
    "return (bit.bnot(2^31 + 0.5))",
    "return (bit.bnot())",
    "return (bit.band(7))",
    "return (bit.band(7, 3, 2))",
    "return (bit.band(-1, 2^32 + 7))",
    "return (bit.band())",
    "return (bit.band(1, 'a', nil))",
    "return (bit.band('a', nil))",
    "return (bit.band(1, 2, {}))",
    "return (bit.bor(1, 2, 4, 8, 2^31))",
    "return (bit.bor(1, nil))",
    "return (bit.bor())",
    "return (bit.bxor(5, 3, 1))",
    "return (bit.bxor(5, '3'))",
    "return (bit.bxor())",
    # shifts and rotations: the count is taken modulo 32
    "return (bit.lshift(1, 31))",
    "return (bit.lshift(1, 32))",
    "return (bit.lshift(1, 33))",
    "return (bit.lshift(1, -1))",
    "return (bit.lshift(3, 30.6))",
    "return (bit.lshift(1))",
    "return (bit.lshift())",
    "return (bit.rshift(-1, 1))",
    "return (bit.rshift(-1, 0))",
    "return (bit.rshift(-256, 4))",
    "return (bit.rshift(1, 'x'))",
    "return (bit.arshift(-256, 4))",
    "return (bit.arshift(-1, 31))",
    "return (bit.arshift(2^31, 1))",
    "return (bit.arshift(1, nil))",
    "return (bit.rol(0x12345678, 4))",
    "return (bit.rol(0x12345678, 0))",
    "return (bit.rol(0x12345678, 36))",
    "return (bit.rol())",
    "return (bit.ror(0x12345678, 4))",
    "return (bit.ror(0x12345678, 0))",
    "return (bit.ror(1, 1))",
    "return (bit.ror('1', '1'))",
    "return (bit.ror(1, {}))",
    "return (bit.bswap(0x12345678))",
    "return (bit.bswap(-1))",
    "return (bit.bswap(0xff))",
    "return (bit.bswap())",
    "return (bit.bswap('x'))",
]

PACK_CASES = [
    # every option, byte orders, alignment
    "return (struct.pack('>i', 1))",
    "return (struct.pack('<bBhHlLTiI', -1, 255, -2, 65535, -3, 2^53, 7, -4, 4294967295))",
    "return (struct.pack('>bBhHlLTiI', -1, 255, -2, 65535, -3, 2^53, 7, -4, 4294967295))",
    "return (struct.pack('>bB', 300, -129))",
    "return (struct.pack('<i16', -1))",
    "return (struct.pack('>i16', -1))",
    "return (struct.pack('>I16', 2^64))",
    "return (struct.pack('<i0', -1))",
    "return (struct.pack('<i0i', 5, 6))",
    "return (struct.pack('i04', 1))",
    "return (struct.pack('<i3I5i7', -2, 2^39, -2^50))",
    "return (struct.pack('!<bi3', 1, 2))",
    "return (struct.pack('!<bbi3', 1, 1, 2))",
    "return (struct.pack('!<bbbi3', 1, 1, 1, 2))",
    "return (struct.pack('!<bi5', 1, 2))",
    "return (struct.pack('!<bi6', 1, 2))",
    "return (struct.pack('!<bi7', 1, 2))",
    "return (struct.pack('!<bi12', 1, 2))",
    "return (struct.pack('!<bi32', 1, 2))",
    "return (struct.pack('!<bd', 1, 2))",
    "return (struct.pack('!4<bd', 1, 2))",
    "return (struct.pack('!2<bd', 1, 2))",
    "return (struct.pack('!1d', 1))",
    "return (struct.pack('!16<bd', 1, 2))",
    "return (struct.pack('!1073741824d', 1))",
    "return (struct.pack('!<bf', 1, 2))",
    "return (struct.pack('!<bT', 1, 2))",
    "return (struct.pack('!<bl', 1, 2))",
    "return (struct.pack('!<bh', 1, 2))",
    "return (struct.pack('!<bxh', 1, 2))",
    "return (struct.pack('!<bc2h', 1, 'ab', 2))",
    "return (struct.pack('!<bs h', 1, 'ab', 2))",
    "return (struct.pack('!', 1))",
    "return (struct.pack(' x '))",
    "return (struct.pack('i\\0q', 1))",
    # integers out of range: through a C long, as x86-64 converts doubles
    "return (struct.pack('>L', 2^64))",
    "return (struct.pack('>L', 2^70))",
    "return (struct.pack('>L', 0/0))",
    "return (struct.pack('>L', -(0/0)))",
    "return (struct.pack('>L', 1/0))",
    "return (struct.pack('>L', -1/0))",
    "return (struct.pack('>l', -2^70))",
    "return (struct.pack('>l', -2^63))",
    "return (struct.pack('>l', 2^63))",
    "return (struct.pack('>l', 2^63 + 4096))",
    "return (struct.pack('>l', 2^64 - 4096))",
    "return (struct.pack('>l', -1.5))",
    "return (struct.pack('>l', 1.9))",
    "return (struct.pack('>i', -0))",
    # floats and doubles
    "return (struct.pack('>d', 1.5))",
    "return (struct.pack('<f', 1e300))",
    "return (struct.pack('<f', -1e300))",
    "return (struct.pack('>f', 3.4028235677973366e38))",
    "return (struct.pack('>f', 3.4028235677973366e38 * 1.00000001))",
    "return (struct.pack('>f', 1e-50))",
    "return (struct.pack('<f', 0/0))",
    "return (struct.pack('<d', 0/0))",
    "return (struct.pack('>f', struct.unpack('>d', '\\127\\248\\0\\0\\32\\0\\0\\5')))",
    "return (struct.pack('>d', struct.unpack('>f', '\\127\\128\\0\\1')))",
    "return (struct.pack('>d', struct.unpack('>d', '\\127\\240\\0\\0\\0\\0\\0\\1')))",
    # numbers given as strings: Lua reads them with strtod
    "return (struct.pack('>l', '12'))",
    "return (struct.pack('>l', ' 0x10 '))",
    "return (struct.pack('>d', '0x1.8p1'))",
    "return (struct.pack('>d', '0x1p-1074'))",
    "return (struct.pack('>d', '0x1p99999'))",
    "return (struct.pack('>d', '-0x1p99999'))",
    "return (struct.pack('>d', '4.9406564584124654e-324'))",
    "return (struct.pack('>d', '2.4703282292062328e-324'))",
    "return (struct.pack('>d', '1e-400'))",
    "return (struct.pack('>d', '1.00000000000000011102230246251565404236316680908203125'))",
    "return (struct.pack('>d', '1.000000000000000111022302462515654042363166809082031251'))",
    "return (struct.pack('>d', '\\t\\v 5 \\n'))",
    "return (struct.pack('>d', '5.'))",
    "return (struct.pack('>d', '.5e1'))",
    "return (struct.pack('>d', '-0'))",
    "return (struct.pack('>d', '12\\0abc'))",
    "return (struct.pack('>d', 'infinity'))",
    "return (struct.pack('>d', '-INF'))",
    "return (struct.pack('>d', '-nan'))",
    "return (struct.pack('>d', 'nan(0x5)'))",
    "return (struct.pack('>d', 'nan(5)'))",
    "return (struct.pack('>d', 'nan(010)'))",
    "return (struct.pack('>d', 'nan(08)'))",
    "return (struct.pack('>d', 'nan(0x)'))",
    "return (struct.pack('>d', 'nan()'))",
    "return (struct.pack('>d', 'nan(zz)'))",
    "return (struct.pack('>d', 'NaN(99999999999999999999999)'))",
    "return (struct.pack('>d', 'nan('))",
    "return (struct.pack('>d', '1e'))",
    "return (struct.pack('>d', '1_0'))",
    "return (struct.pack('>d', ''))",
    "return (struct.pack('>d', '0x'))",
    "return (struct.pack('>d', '1 2'))",
    "return (struct.pack('>d', '+-5'))",
    "return (struct.pack('>l', 'abc'))",
    # strings: c with counts, c0, s; numbers become strings with %.14g
    "return (struct.pack('c0', 'hello'))",
    "return (struct.pack('c2', 'abc'))",
    "return (struct.pack('c', 12.5))",
    "return (struct.pack('s', 'a\\0b'))",
    "return (struct.pack('s', 1e100))",
    "return (struct.pack('s', 0/0))",
    "return (struct.pack('s', -(0/0)))",
    "return (struct.pack('s', 1/0))",
    "return (struct.pack('s', -1/0))",
    "return (struct.pack('s', 2^53))",
    "return (struct.pack('s', 123456789012345678))",
    "return (struct.pack('s', 0.1))",
    "return (struct.pack('c3', 'ab'))",
    "return (struct.pack('c3', 'ab', 'x'))",
    "return (struct.pack('c2147483647', 'a'))",
    # errors
    "return (struct.pack())",
    "return (struct.pack(nil))",
    "return (struct.pack({}))",
    "return (struct.pack(12))",
    "return (struct.pack('q', 1))",
    "return (struct.pack('=i', 1))",
    "return (struct.pack('\\255'))",
    "return (struct.pack('i33', 1))",
    "return (struct.pack('i2147483647', 1))",
    "return (struct.pack('i2147483648', 1))",
    "return (struct.pack('c99999999999', 'a'))",
    "return (struct.pack('c2147483648', 'a'))",
    "return (struct.pack('!0', 1))",
    "return (struct.pack('!3i', 1))",
    "return (struct.pack('!99999999999d', 1))",
    "return (struct.pack('!2147483647d', 1))",
    "return (struct.pack('>l'))",
    "return (struct.pack('>l', nil))",
    "return (struct.pack('>ll', 1))",
    "return (struct.pack('>dd', 1, nil))",
    "return (struct.pack('i', true))",
    "return (struct.pack('i0', 'x'))",
    "return (struct.pack('s'))",
    "return (struct.pack('s', nil))",
    "return (struct.pack('s', {}))",
    "return (struct.pack('c8193ii', string.rep('1', 8193), 1))",
]

UNPACK_CASES = [
    # integers of every size; wider than 8 bytes, only 64 bits are kept
    "return table.concat({struct.unpack('>bBhHlLTiI', string.rep('\\255', 40))}, ',')",
    "return table.concat({struct.unpack('<i3I3i5', '\\255\\255\\255\\255\\255\\255\\128\\0\\0\\0\\128')}, ',')",
    "return table.concat({struct.unpack('<i16', string.rep('\\255', 16))}, ',')",
    "return table.concat({struct.unpack('<i9', '\\0\\0\\0\\0\\0\\0\\0\\0\\1')}, ',')",
    "return table.concat({struct.unpack('<i9', '\\0\\0\\0\\0\\0\\0\\0\\128\\0')}, ',')",
    "return table.concat({struct.unpack('>i9', '\\0\\0\\0\\0\\0\\0\\0\\0\\128')}, ',')",
    "return table.concat({struct.unpack('>i9', '\\128\\0\\0\\0\\0\\0\\0\\0\\1')}, ',')",
    "return table.concat({struct.unpack('<i9', '\\1\\0\\0\\0\\0\\0\\0\\0\\0')}, ',')",
    "return table.concat({struct.unpack('<i9', '\\128\\0\\0\\0\\0\\0\\0\\0\\0')}, ',')",
    "return table.concat({struct.unpack('<i10', '\\128\\0\\0\\0\\0\\0\\0\\0\\0\\0')}, ',')",
    "return table.concat({struct.unpack('<i15', '\\128' .. string.rep('\\0', 14))}, ',')",
    "return table.concat({struct.unpack('<i16', '\\128' .. string.rep('\\0', 15))}, ',')",
    "return table.concat({struct.unpack('<i16', string.rep('\\0', 16))}, ',')",
    "return table.concat({struct.unpack('<i0', '')}, ',')",
    "return table.concat({struct.unpack('<I0', '')}, ',')",
    "return table.concat({struct.unpack('<i0i0', 'ab')}, ',')",
    "return string.format('%.17g', (struct.unpack('<L', '\\255\\255\\255\\255\\255\\255\\255\\255')))",
    "return string.format('%.17g', (struct.unpack('<l', '\\255\\255\\255\\255\\255\\255\\255\\127')))",
    # floats
    "return tostring(struct.unpack('<d', struct.pack('<d', 0.1)))",
    "return tostring(struct.unpack('<f', struct.pack('<f', 0.1)))",
    "return string.format('%.17g', struct.unpack('>f', struct.pack('>f', 0.1)))",
    # strings: c, s, and c0 taking its length from the value before (a number or a
    # string that reads as one), which it replaces
    "return table.concat({struct.unpack('c2s c0', 'abxyz\\0\\3def')}, ',')",
    "return table.concat({struct.unpack('Bc0', '\\3abcd')}, ',')",
    "return table.concat({struct.unpack('Bc0', '\\0abcd')}, ',')",
    "return table.concat({struct.unpack('Bc0c0', '\\3ab2xyz')}, ',')",
    "return table.concat({struct.unpack('c1c0', '3abcd')}, ',')",
    "return table.concat({struct.unpack('c1c0', 'xabcd')}, ',')",
    "return table.concat({struct.unpack('sc0', '2\\0abcd')}, ',')",
    "return table.concat({struct.unpack('xc0', '2\\0abcd')}, ',')",
    "return table.concat({struct.unpack('bc0', '\\255abcd')}, ',')",
    "return table.concat({struct.unpack('Bc0', '\\9abcd')}, ',')",
    "return table.concat({struct.unpack('dc0', struct.pack('d', 2.7) .. 'abcd')}, ',')",
    "return table.concat({struct.unpack('dc0', struct.pack('d', 0/0) .. 'abcd')}, ',')",
    "return table.concat({struct.unpack('dc0', struct.pack('d', 1/0) .. 'abcd')}, ',')",
    "return table.concat({struct.unpack('dc0', struct.pack('d', -0.5) .. 'abcd')}, ',')",
    "return table.concat({struct.unpack('dc0', struct.pack('d', 2^64) .. 'abcd')}, ',')",
    "return table.concat({struct.unpack('dc0', struct.pack('d', 2^63) .. 'abcd')}, ',')",
    "return table.concat({struct.unpack('dc0', struct.pack('d', -2^64) .. 'abcd')}, ',')",
    "return table.concat({struct.unpack('c0', 'abcd', 2)}, ',')",
    "return table.concat({struct.unpack('c0', '')}, ',')",
    "return table.concat({struct.unpack('ss', 'ab\\0\\0cd')}, ',')",
    "return table.concat({struct.unpack('s', 'abcd')}, ',')",
    "return table.concat({struct.unpack('s', 'ab\\0cd', 4)}, ',')",
    "return table.concat({struct.unpack('c2', 'a')}, ',')",
    "return table.concat({struct.unpack('x', '')}, ',')",
    # alignment counts from the start of the data, not from the offset
    "return table.concat({struct.unpack('!4bi', 'a\\0\\0\\0\\1\\0\\0\\0')}, ',')",
    "return table.concat({struct.unpack('!4bi', '\\0\\0\\1\\0\\0\\0\\0\\0', 2)}, ',')",
    "return table.concat({struct.unpack('!4bi', '\\0\\0\\1\\0\\0\\0\\0\\0\\0', 3)}, ',')",
    "return table.concat({struct.unpack('!bi3', '\\0\\0\\1\\0\\0\\0\\0\\0\\0', 3)}, ',')",
    # the offset: a size_t, so negative ones wrap; the next position is returned
    "return table.concat({struct.unpack('', 'abc', -1)}, ',')",
    "return table.concat({struct.unpack('', 'abc', 10)}, ',')",
    "return table.concat({struct.unpack('<', 'abc', 4)}, ',')",
    "return table.concat({struct.unpack('<', 'abc', 5)}, ',')",
    "return table.concat({struct.unpack('b', 'abc', 1.9)}, ',')",
    "return table.concat({struct.unpack('b', 'abc', 0.9)}, ',')",
    "return table.concat({struct.unpack('b', 'abc', -0.9)}, ',')",
    "return table.concat({struct.unpack('b', 'abc', 0)}, ',')",
    "return table.concat({struct.unpack('b', 'abc', -0)}, ',')",
    "return table.concat({struct.unpack('i', 'abcd', -1)}, ',')",
    "return table.concat({struct.unpack('b', 'abc', '2')}, ',')",
    "return table.concat({struct.unpack('b', 'abc', nil)}, ',')",
    "return table.concat({struct.unpack('b', 'abc', 'x')}, ',')",
    "return table.concat({struct.unpack('b', 'abc', true)}, ',')",
    "return table.concat({struct.unpack('b', 'abc', 2^64)}, ',')",
    "return table.concat({struct.unpack('', 'abc', 2^53)}, ',')",
    "return table.concat({struct.unpack('', 'abc', 2^63)}, ',')",
    "return table.concat({struct.unpack('', 'abc', 0/0)}, ',')",
    "return table.concat({struct.unpack('', 'abc', -2^63)}, ',')",
    "return table.concat({struct.unpack('', 'abc', -2^63 + 2048)}, ',')",
    "return table.concat({struct.unpack('', 'abc', 1/0)}, ',')",
    "return table.concat({struct.unpack('!8d', 'abc', 2^64 - 1)}, ',')",
    # arguments and format errors (data too short is checked before the option)
    "return table.concat({struct.unpack('b', 123)}, ',')",
    "return table.concat({struct.unpack('i\\0q', 'abcd')}, ',')",
    "return table.concat({struct.unpack()}, ',')",
    "return table.concat({struct.unpack(nil, 'a')}, ',')",
    "return table.concat({struct.unpack({}, 'a')}, ',')",
    "return table.concat({struct.unpack('b')}, ',')",
    "return table.concat({struct.unpack('b', nil)}, ',')",
    "return table.concat({struct.unpack('q', 'abc')}, ',')",
    "return table.concat({struct.unpack('q', 'abc', 10)}, ',')",
    "return table.concat({struct.unpack('\\255', 'a')}, ',')",
    "return table.concat({struct.unpack('i33', 'abc', 10)}, ',')",
    "return table.concat({struct.unpack('!0', '')}, ',')",
    # at most 8000 values on a C function's stack, its arguments included
    "return select('#', struct.unpack(string.rep('b', 7997), string.rep('a', 9000)))",
    "return (select('#', struct.unpack(string.rep('b', 7998), string.rep('a', 9000))))",
    "return select('#', struct.unpack(string.rep('b', 7996), string.rep('a', 9000), 1))",
    "return (select('#', struct.unpack(string.rep('b', 7997), string.rep('a', 9000), 1)))",
    "return select('#', struct.unpack(string.rep('b', 7995), string.rep('a', 9000), 1, 2))",
    "return (select('#', struct.unpack(string.rep('b', 7996), string.rep('a', 9000), 1, 2)))",
    "return (select('#', struct.unpack(string.rep('b', 7997) .. 'x', string.rep('a', 9000))))",
    "return (select('#', struct.unpack(string.rep('b', 7997) .. 'c0', string.rep('a', 9000))))",
    "return (select('#', struct.unpack(string.rep('b', 7997) .. 'q', string.rep('a', 9000))))",
    "return (select('#', struct.unpack(string.rep('b', 7997) .. 'q', string.rep('a', 7997))))",
]

SIZE_CASES = [
    "return (struct.size(''))",
    "return (struct.size('bhilLTfdxc3 I5'))",
    "return (struct.size('!8bd'))",
    "return (struct.size('<>!4 bhilLTfdxc3 I5'))",
    "return (struct.size('!bi3'))",
    "return (struct.size('i0c'))",
    "return (struct.size('i\\0q'))",
    "return (struct.size(12))",
    # letters and digits are not checked by size: they count as 0 bytes
    "return (struct.size('q'))",
    "return (struct.size('b4'))",
    "return (struct.size('='))",
    "return (struct.size('\\255'))",
    "return (struct.size('s'))",
    "return (struct.size('c0'))",
    "return (struct.size('i33'))",
    "return (struct.size('!3'))",
    "return (struct.size('c99999999999'))",
    "return (struct.size())",
    "return (struct.size(nil))",
]


# Lupa hands Lua's -0 to Python as the integer 0, so its sign is lost on the way in:
# struct.pack('d', -0) packs +0, and -0 given for a string reads "0", not "-0". A
# string "-0" keeps it (struct.pack('d', '-0') is right).
NEGATIVE_ZERO_CASES = [
    "return (struct.pack('<d', -0))",
    "return (struct.pack('<f', -0))",
    "return (struct.pack('>dd', -0, 0))",
    "return (struct.pack('s', -0))",
    "return (struct.pack(-0))",
    "return tostring(struct.unpack('>d', struct.pack('>d', -0)))",
    "return table.concat({struct.unpack('b', -0)}, ',')",
    "return table.concat({struct.unpack(-0, 'a')}, ',')",
]


@pytest.mark.parametrize("script", BIT_CASES)
def test_bit(reference, script):
    same(reference, script)


@pytest.mark.parametrize("script", PACK_CASES)
def test_pack(reference, script):
    same(reference, script)


@pytest.mark.parametrize("script", UNPACK_CASES)
def test_unpack(reference, script):
    same(reference, script)


@pytest.mark.parametrize("script", SIZE_CASES)
def test_size(reference, script):
    same(reference, script)


@pytest.mark.parametrize("library", ["bit", "struct"])
def test_the_libraries_hold_the_same_functions(reference, library):
    script = f"local t = {{}} for k in pairs({library}) do t[#t + 1] = k end table.sort(t) return table.concat(t, ',')"
    assert same(reference, script)


def test_error_positions(reference):
    """Errors name the script's line, from whichever line the call is on."""
    assert same(reference, "local x = 1\nlocal y = bit.band(x, {})") == ScriptError(
        b"user_script:2: bad argument #2 to 'band' (number expected, got table)"
    )
    assert same(reference, "local y = struct.pack('>d', 1)\nreturn (struct.unpack('z', y))").message.startswith(
        b"user_script:2: "
    )


def test_error_position_after_a_tail_call(reference):
    """Our functions are called directly, as C functions are: a tail call keeps the line."""
    assert same(reference, "return bit.band({})").message.startswith(b"user_script:1: ")
    assert same(reference, "\nreturn struct.unpack('i', '')").message.startswith(b"user_script:2: ")


@pytest.mark.xfail(strict=True, reason="lupa converts Lua's -0 to Python's int 0: the sign is lost")
@pytest.mark.parametrize("script", NEGATIVE_ZERO_CASES)
def test_negative_zero(reference, script):
    same(reference, script)


# ---------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------

# Numbers LuaBitOp maps simply: round to nearest (ties to even), then modulo 2^32.
simple_numbers = st.one_of(
    st.integers(-(2**31), 2**32 - 1),
    st.floats(-(2**40), 2**40, allow_nan=False),
    st.integers(-(2**50), 2**50).map(lambda i: i + 0.5),
)
# Anything at all, and numeric strings.
any_numbers = st.one_of(simple_numbers, st.floats(), st.integers(-(2**70), 2**70))
bit_arguments = st.one_of(any_numbers, any_numbers.map(lambda n: repr(float(n)).encode()))

UNARY = ["tobit", "bnot", "bswap"]
BINARY = ["lshift", "rshift", "arshift", "rol", "ror"]
VARIADIC = ["band", "bor", "bxor"]


def model(op: str, args: list) -> int:
    """The bit library in plain Python, for numbers below 2^51."""
    bits = [round(a) % 2**32 for a in args]

    def signed(b):
        b %= 2**32
        return b - 2**32 if b >= 2**31 else b

    a = bits[0]
    if op == "tobit":
        return signed(a)
    if op == "bnot":
        return signed(~a)
    if op == "bswap":
        return signed(int.from_bytes(a.to_bytes(4, "big"), "little"))
    if op in VARIADIC:
        for b in bits[1:]:
            a = {"band": a & b, "bor": a | b, "bxor": a ^ b}[op]
        return signed(a)
    n = bits[1] % 32
    rotated = (a << n) | (a >> (32 - n))
    return signed({
        "lshift": a << n,
        "rshift": a >> n,
        "arshift": signed(a) >> n,
        "rol": rotated,
        "ror": (a >> n) | (a << (32 - n)),
    }[op])


@st.composite
def bit_calls(draw, numbers):
    op = draw(st.sampled_from(UNARY + BINARY + VARIADIC))
    count = 1 if op in UNARY else 2 if op in BINARY else draw(st.integers(1, 4))
    return op, [draw(numbers) for _ in range(count)]


@FAST
@given(bit_calls(simple_numbers))
def test_bit_against_a_model(call):
    op, args = call
    script = f"return (bit.{op}({', '.join(lua_number(a) for a in args)}))"
    assert run_ours(script) == model(op, args)


@settings(FAST, max_examples=100)
@given(bit_calls(bit_arguments), st.integers(-12, 12))
def test_bit_against_redis(reference, call, width):
    op, args = call
    same(reference, f"return (bit.{op}({', '.join(lua_value(a) for a in args)}))")
    same(reference, f"return (bit.tohex({lua_value(args[0])}, {width}))")


def _integer_range(size: int, signed: bool) -> st.SearchStrategy:
    bits = min(size * 8, 53)  # a double holds 53 bits exactly
    return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else st.integers(0, 2**bits - 1)


def _no_negative_zero(number: float) -> float:
    return 0.0 if number == 0 else number  # see NEGATIVE_ZERO_CASES


@st.composite
def struct_fields(draw):
    """One field: (its format, the values to pack, the values unpack gives back)."""
    kind = draw(st.sampled_from("bBhHlLTiIfdxscC<>! "))
    if kind in "bBhHlLT":
        size = {"b": 1, "h": 2}.get(kind.lower(), 8)
        value = draw(_integer_range(size, kind.islower()))
        return kind, [value], [value]
    if kind in "iI":
        size = draw(st.integers(1, 8))
        value = draw(_integer_range(size, kind == "i"))
        return f"{kind}{size}", [value], [value]
    if kind == "f":
        value = draw(st.floats(width=32, allow_nan=False).map(_no_negative_zero))
        return kind, [value], [value]
    if kind == "d":
        value = draw(st.floats(allow_nan=False).map(_no_negative_zero))
        return kind, [value], [value]
    if kind == "s":
        value = draw(st.binary(max_size=8).map(lambda b: b.replace(b"\0", b"")))
        return kind, [value], [value]
    if kind == "c":
        value = draw(st.binary(min_size=1, max_size=8))
        return f"c{len(value)}", [value], [value]
    if kind == "C":  # a counted string: its length, then c0
        value = draw(st.binary(max_size=8))
        return "Bc0", [len(value), value], [value]
    if kind == "!":
        return draw(st.sampled_from(["!", "!1", "!2", "!4", "!8", "!16"])), [], []
    return kind, [], []  # x, <, >, space


@settings(FAST, max_examples=100)
@given(st.lists(struct_fields(), max_size=8))
def test_struct_round_trip(reference, fields):
    fmt = "".join(f for f, _, _ in fields)
    packed = [v for _, values, _ in fields for v in values]
    expected = [v for _, _, values in fields for v in values]
    arguments = "".join(", " + lua_value(v) for v in packed)
    script = SHOW + f"local p = struct.pack('{fmt}'{arguments}) return show(p, struct.size('{fmt}'), struct.unpack('{fmt}', p))"
    if "s" in fmt or "c0" in fmt:  # no fixed size
        script = SHOW + f"local p = struct.pack('{fmt}'{arguments}) return show(p, #p, struct.unpack('{fmt}', p))"
    shown = same(reference, script).split(b" ")
    data = bytes.fromhex(shown[0].decode())
    assert int(shown[1]) == len(data)
    assert shown[-1] == b"%d" % (len(data) + 1)
    for got, value in zip(shown[2:-1], expected, strict=True):
        if isinstance(value, bytes):
            assert bytes.fromhex(got.decode()) == value
        else:
            assert float(got) == value and math.copysign(1, float(got)) == math.copysign(1, value)


@settings(FAST, max_examples=100)
@given(
    size=st.integers(0, 32),
    option=st.sampled_from("iI"),
    order=st.sampled_from("<>"),
    data=st.binary(min_size=32, max_size=32),
    number=st.one_of(st.floats(), st.integers(-(2**65), 2**65)),
)
def test_integers_of_any_size_against_redis(reference, size, option, order, data, number):
    fmt = f"{order}{option}{size}"
    same(reference, SHOW + f"return show(struct.pack('{fmt}', {lua_number(number)}), struct.unpack('{fmt}', {lua_string(data)}))")


@settings(FAST, max_examples=100)
@given(st.text("0123456789.eEx+-pafinty() \t\0", max_size=10))
def test_numeric_strings_against_redis(reference, text):
    """Lua reads numbers out of strings with strtod: hexadecimal, inf, nan(...)..."""
    same(reference, f"return (struct.pack('>d', {lua_string(text.encode())}))")


@settings(FAST, max_examples=150)
@given(
    fmt=st.text("<>!xbBhHlLTiIfdsc0123456789 =", max_size=10),
    data=st.binary(max_size=24),
    offset=st.one_of(st.none(), st.integers(-3, 30)),
)
def test_any_format_against_redis(reference, fmt, data, offset):
    """Random formats, valid or not, through all three functions."""
    fmt = lua_string(fmt.encode())
    args = "1, -2.5, 'abc', 300, '0x10', 2^40, 'x', 7, 8, 9"
    start = "" if offset is None else f", {offset}"
    same(reference, SHOW + f"return show(struct.pack({fmt}, {args}))")
    same(reference, SHOW + f"return show(struct.unpack({fmt}, {lua_string(data)}{start}))")
    same(reference, f"return (struct.size({fmt}))")
