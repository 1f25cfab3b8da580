"""The ``cjson`` library of Redis scripts: JSON encoding and decoding, in Python.

Redis 7.0 links Mark Pulford's lua-cjson 2.1.0, a C library, into its Lua 5.1, and
offers it to every script as the global ``cjson``. We run Lua through lupa, which cannot
load that C code into its own Lua, so the library is written again here, function for
function, and answers as the C one does: the same bytes out of ``encode``, the same
tables out of ``decode``, the same error texts with the same character positions, and
the same settings (kept per library table, for as long as the Lua runtime lives, as the
C library keeps them in its Lua state).

Some behaviour below is the C code's accident rather than JSON's rules, kept on purpose
because scripts can see it:

* numbers are parsed by C's ``strtod``, so ``0x1F``, ``007``, ``+1``, ``1.``, ``inf`` and
  ``nan`` are numbers for ``decode`` (unless ``decode_invalid_numbers(false)``);
* the input ends at its first NUL byte, as a C string does;
* tables nest only as deep as the Lua C stack allows (8000 slots, two per object level
  and one per array level), whatever depth limit is configured;
* a table's array part length is kept in a C ``int``, so keys from 2^31 on make it an
  object.

Two things differ, for want of a way to see them through lupa: a -0 passed to
``encode`` itself is written "0" (lupa hands whole numbers to Python as integers; a -0
inside a table is found and written "-0"), and ``cjson.null``, a NULL light userdata
in C, is here a userdata of our own, so ``getmetatable(cjson.null)`` is not nil.
"""

from __future__ import annotations

import math
import re
import struct

from app.scripting import bridge

NAME = b"cjson"
VERSION = b"2.1.0"

# LUAI_MAXCSTACK: how many stack slots a C function may use. lua-cjson asks for a few
# more at each level of nesting, and stops with its "nesting" error when refused.
LUA_C_STACK = 8000

INT_MAX = 2**31 - 1
INT64_MIN = -(2**63)

# ---------------------------------------------------------------------------------------
# Arguments, as the C functions read them.

_NONE = object()  # an argument that was not passed at all ("no value", not nil)


def _type_name(value) -> str:
    """Lua's name for the type of a value from Lua. lupa hands over a coroutine that has
    not started as its function (told apart by the wrapper's class), and a library
    function of ours as the Python function itself."""
    if value is _NONE:
        return "no value"
    if value.__class__.__name__ == "_LuaCoroutineFunction":
        return "thread"
    if bridge.lua_type(value) is None and callable(value):
        return "function"  # one of our Python functions: in Redis, a C function
    return bridge.type_name(value)


def _int32(number: int) -> int:
    """A C ``int`` of an integer: its low 32 bits, signed (C arithmetic wraps around)."""
    return (number + 2**31) % 2**32 - 2**31


def _c_int(number) -> int:
    """A Lua number as C's ``(int)(lua_Integer)n`` makes it: truncated, and wrapped to 32
    bits (x86 turns an out-of-range double into INT64_MIN, whose low half is 0)."""
    if isinstance(number, float):
        if math.isnan(number) or not -(2.0**63) <= number < 2.0**63:
            number = INT64_MIN
        number = int(number)
    return _int32(number)


def _check_integer(value, position: int, function: str) -> int:
    """``luaL_checkinteger`` read into a C ``int``."""
    number = bridge.to_number(None if value is _NONE else value)
    if number is None:
        raise bridge.arg_error(position, function, f"number expected, got {_type_name(value)}")
    return _c_int(number)


def _check_option(value, position: int, function: str, options: tuple[str, ...]) -> int:
    """``luaL_checkoption``: the index of a string among ``options``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = bridge.number_to_string(value)  # a number is read as the string it prints as
    if not isinstance(value, bytes):
        raise bridge.arg_error(position, function, f"string expected, got {_type_name(value)}")
    for index, option in enumerate(options):
        if value == option.encode():
            return index
    # Built as bytes: the option may be any bytes, quoted as C's "%s" does (up to a NUL).
    name = value.split(b"\0", 1)[0]
    raise bridge.LuaError(b"bad argument #%d to '%s' (invalid option '%s')" % (position, function.encode(), name))


# ---------------------------------------------------------------------------------------
# Encoding.

# lua-cjson's table of escapes: control characters, DEL, the quote, the backslash, and
# also the slash (which JSON allows to escape, not requires). Every other byte, invalid
# UTF-8 included, is copied as it is.
_ESCAPES = {bytes([code]): b"\\u%04x" % code for code in range(32)}
_ESCAPES.update({b"\b": b"\\b", b"\t": b"\\t", b"\n": b"\\n", b"\f": b"\\f", b"\r": b"\\r",
                 b'"': b'\\"', b"\\": b"\\\\", b"/": b"\\/", b"\x7f": b"\\u007f"})
_NEEDS_ESCAPE = re.compile(rb'[\x00-\x1f"\\/\x7f]')


def _escape(match: re.Match) -> bytes:
    return _ESCAPES[match.group()]


def quote(string: bytes) -> bytes:
    """A Lua string as a JSON string."""
    return b'"' + _NEEDS_ESCAPE.sub(_escape, string) + b'"'


def _is_whole(number) -> bool:
    """C's ``floor(k) == k``, which holds for infinity too."""
    return isinstance(number, int) or number == math.inf or number.is_integer()


def _array_index_max(key, current: int) -> int:
    """``if (k > max) max = k;`` with ``max`` a C int: a key past INT_MAX stores INT_MIN."""
    if key > current:
        return int(key) if key <= INT_MAX else -(2**31)
    return current


# Work items of the encoder that are not plain output bytes.
_KEY = object()  # (_KEY, key): write an object key and its colon


class _Config:
    """One library table's settings, with lua-cjson's defaults."""

    def __init__(self):
        self.sparse_convert = False  # encode excessively sparse arrays as objects?
        self.sparse_ratio = 2
        self.sparse_safe = 10
        self.encode_max_depth = 1000
        self.decode_max_depth = 1000
        self.encode_invalid_numbers = 0  # 0 refuse, 1 write inf/nan, 2 write null
        self.decode_invalid_numbers = True
        self.number_precision = 14
        self.keep_buffer = True  # only about memory in C: no effect on results


class CJson:
    """One ``cjson`` library table (``cjson.new()`` makes more, each with its settings)."""

    def __init__(self, lua, lift, helpers):
        self.lua = lua
        self.lift = lift
        self.helpers = helpers
        self.config = _Config()

    # -- the library table --------------------------------------------------------------

    def table(self):
        """The Lua table scripts see as ``cjson``."""
        lua, lift, helpers = self.lua, self.lift, self.helpers
        module = lua.table()
        for name in ("encode", "decode", "encode_sparse_array", "encode_max_depth", "decode_max_depth",
                     "encode_number_precision", "encode_keep_buffer", "encode_invalid_numbers",
                     "decode_invalid_numbers", "new"):
            module[name.encode()] = bridge.expose(lift, getattr(self, name))
        module[b"null"] = helpers.null
        module[b"_NAME"] = NAME
        module[b"_VERSION"] = VERSION
        return module

    def new(self, *args):
        """``cjson.new()``: a fresh library table with default settings."""
        return CJson(self.lua, self.lift, self.helpers).table()

    # -- settings -----------------------------------------------------------------------

    @staticmethod
    def _arguments(args: tuple, most: int, function: str) -> list:
        """lua-cjson's ``json_arg_init``: refuse extra arguments, pad with nil."""
        if len(args) > most:
            raise bridge.arg_error(most + 1, function, "found too many arguments")
        return list(args) + [None] * (most - len(args))

    @staticmethod
    def _integer_option(value, position: int, function: str, current: int, low: int, high: int) -> int:
        if value is None:
            return current
        number = _check_integer(value, position, function)
        if not low <= number <= high:
            # lua-cjson names argument #1 here, whichever argument it checks.
            raise bridge.arg_error(1, function, f"expected integer between {low} and {high}")
        return number

    @staticmethod
    def _enum_option(value, function: str, current: int, options=("off", "on")) -> int:
        """A boolean, or one of ``options`` by name; the setting is the option's index."""
        if value is None:
            return current
        if value is True or value is False:
            return int(value)
        return _check_option(value, 1, function, options)

    def encode_sparse_array(self, *args):
        """``encode_sparse_array([convert[, ratio[, safe]]])``: how sparse arrays encode."""
        convert, ratio, safe = self._arguments(args, 3, "encode_sparse_array")
        cfg = self.config
        # Each setting is stored before the next is checked, as in C.
        cfg.sparse_convert = bool(self._enum_option(convert, "encode_sparse_array", cfg.sparse_convert))
        cfg.sparse_ratio = self._integer_option(ratio, 2, "encode_sparse_array", cfg.sparse_ratio, 0, INT_MAX)
        cfg.sparse_safe = self._integer_option(safe, 3, "encode_sparse_array", cfg.sparse_safe, 0, INT_MAX)
        return cfg.sparse_convert, cfg.sparse_ratio, cfg.sparse_safe

    def encode_max_depth(self, *args):
        (depth,) = self._arguments(args, 1, "encode_max_depth")
        cfg = self.config
        cfg.encode_max_depth = self._integer_option(depth, 1, "encode_max_depth", cfg.encode_max_depth, 1, INT_MAX)
        return cfg.encode_max_depth

    def decode_max_depth(self, *args):
        (depth,) = self._arguments(args, 1, "decode_max_depth")
        cfg = self.config
        cfg.decode_max_depth = self._integer_option(depth, 1, "decode_max_depth", cfg.decode_max_depth, 1, INT_MAX)
        return cfg.decode_max_depth

    def encode_number_precision(self, *args):
        (precision,) = self._arguments(args, 1, "encode_number_precision")
        cfg = self.config
        cfg.number_precision = self._integer_option(
            precision, 1, "encode_number_precision", cfg.number_precision, 1, 14)
        return cfg.number_precision

    def encode_keep_buffer(self, *args):
        (keep,) = self._arguments(args, 1, "encode_keep_buffer")
        cfg = self.config
        cfg.keep_buffer = bool(self._enum_option(keep, "encode_keep_buffer", cfg.keep_buffer))
        return cfg.keep_buffer

    def encode_invalid_numbers(self, *args):
        """``encode_invalid_numbers([false|true|"off"|"on"|"null"])``: what inf/nan become."""
        (setting,) = self._arguments(args, 1, "encode_invalid_numbers")
        cfg = self.config
        cfg.encode_invalid_numbers = self._enum_option(
            setting, "encode_invalid_numbers", cfg.encode_invalid_numbers, ("off", "on", "null"))
        return b"null" if cfg.encode_invalid_numbers == 2 else bool(cfg.encode_invalid_numbers)

    def decode_invalid_numbers(self, *args):
        (setting,) = self._arguments(args, 1, "decode_invalid_numbers")
        cfg = self.config
        cfg.decode_invalid_numbers = bool(
            self._enum_option(setting, "decode_invalid_numbers", cfg.decode_invalid_numbers))
        return cfg.decode_invalid_numbers

    # -- encode -------------------------------------------------------------------------

    def format_number(self, number) -> bytes:
        """A number as lua-cjson writes it: ``%.14g`` (or the configured precision)."""
        if isinstance(number, float) and not math.isfinite(number):
            mode = self.config.encode_invalid_numbers
            if mode == 0:
                raise bridge.LuaError("Cannot serialise number: must not be NaN or Inf")
            if mode == 2:
                return b"null"
            if math.isnan(number):
                return b"nan"  # never "-nan", whatever the sign bit
        return b"%.*g" % (self.config.number_precision, number)

    def _array_length(self, entries: list) -> int:
        """lua-cjson's ``lua_array_length``: the length to encode ``table`` as an array, or
        -1 to encode it as an object. Arrays have only keys that are whole numbers >= 1."""
        cfg = self.config
        largest = items = 0
        for key, _ in entries:
            if isinstance(key, bool) or not isinstance(key, (int, float)) or key < 1 or not _is_whole(key):
                return -1
            largest = _array_index_max(key, largest)
            items += 1
        if cfg.sparse_ratio > 0 and largest > _int32(items * cfg.sparse_ratio) and largest > cfg.sparse_safe:
            if not cfg.sparse_convert:
                raise bridge.LuaError("Cannot serialise table: excessively sparse array")
            return -1
        return largest

    def encode(self, *args):
        """``cjson.encode(value)``: ``value`` as JSON text.

        Written with a stack of work instead of recursion, since tables may nest some
        thousands deep. A work item is bytes to output, a pending object key, or a value
        with its nesting depth and the Lua stack slot it would occupy in C."""
        if len(args) != 1:
            raise bridge.arg_error(1, "encode", "expected 1 argument")
        cfg = self.config
        out = []
        work = [(args[0], 0, 1)]
        while work:
            item = work.pop()
            if item.__class__ is bytes:
                out.append(item)
                continue
            if item[0] is _KEY:
                key = item[1]
                if isinstance(key, bytes):
                    out.append(quote(key) + b":")
                elif isinstance(key, (int, float)) and not isinstance(key, bool):
                    out.append(b'"' + self.format_number(key) + b'":')
                else:
                    raise bridge.LuaError(
                        f"Cannot serialise {_type_name(key)}: table key must be a number or string")
                continue
            value, depth, slot = item
            if isinstance(value, bytes):
                out.append(quote(value))
            elif value is True:
                out.append(b"true")
            elif value is False:
                out.append(b"false")
            elif value is None:
                out.append(b"null")
            elif isinstance(value, (int, float)):
                out.append(self.format_number(value))
            elif bridge.lua_type(value) == "table":
                depth += 1
                # C checks room for a key, a value and an error message on its stack.
                if depth > cfg.encode_max_depth or slot + 3 > LUA_C_STACK:
                    raise bridge.LuaError(f"Cannot serialise, excessive nesting ({depth})")
                entries = list(value.items())
                if any(v == 0 and v.__class__ is int for _, v in entries):
                    entries = self._negative_zeros(value, entries)
                length = self._array_length(entries)
                if length > 0:
                    # Elements sit one slot above the table, holes are written as null.
                    elements = dict(entries)
                    work.append(b"]")
                    for index in range(length, 0, -1):
                        work.append((elements.get(index), depth, slot + 1))
                        if index > 1:
                            work.append(b",")
                    out.append(b"[")
                else:
                    # Values sit two slots above the table (key, value), in `next` order.
                    work.append(b"}")
                    for position in range(len(entries) - 1, -1, -1):
                        entry_key, entry_value = entries[position]
                        work.append((entry_value, depth, slot + 2))
                        work.append((_KEY, entry_key))
                        if position:
                            work.append(b",")
                    out.append(b"{")
            elif self.helpers.is_null(value):
                out.append(b"null")
            else:
                raise bridge.LuaError(f"Cannot serialise {_type_name(value)}: type not supported")
        return b"".join(out)

    def _negative_zeros(self, table, entries: list) -> list:
        """``entries`` with each -0 restored: lupa hands -0 over as the integer 0, and
        cjson writes it "-0". (A -0 given to encode itself still reads as 0.)"""
        negative = set(self.helpers.negative_zero_keys(table).values())
        return [(key, -0.0 if key in negative else value) for key, value in entries]

    # -- decode -------------------------------------------------------------------------

    def decode(self, *args):
        """``cjson.decode(text)``: the Lua value of a JSON text."""
        if len(args) != 1:
            raise bridge.arg_error(1, "decode", "expected 1 argument")
        text = args[0]
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = bridge.number_to_string(text)
        if not isinstance(text, bytes):
            raise bridge.arg_error(1, "decode", f"string expected, got {_type_name(text)}")
        # A NUL among the first two bytes means UTF-16 or UTF-32 text (RFC 4627).
        if len(text) >= 2 and (text[0] == 0 or text[1] == 0):
            raise bridge.LuaError("JSON parser does not support UTF-16 or UTF-32")
        return _Parser(self, text).parse()


# ---------------------------------------------------------------------------------------
# Decoding.

# Token types, named as lua-cjson names them in its error messages.
(T_OBJ_BEGIN, T_OBJ_END, T_ARR_BEGIN, T_ARR_END, T_STRING, T_NUMBER, T_BOOLEAN, T_NULL,
 T_COLON, T_COMMA, T_END, T_ERROR) = range(12)
_TOKEN_NAMES = ("T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING", "T_NUMBER",
                "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END")

_PUNCTUATION = {ord("{"): T_OBJ_BEGIN, ord("}"): T_OBJ_END, ord("["): T_ARR_BEGIN,
                ord("]"): T_ARR_END, ord(":"): T_COLON, ord(","): T_COMMA}
_SCALAR_TOKENS = (T_STRING, T_NUMBER, T_BOOLEAN, T_NULL)
_DIGITS_AND_MINUS = frozenset(b"-0123456789")
_ONLY_IF_INVALID_NUMBERS = frozenset(b"+iInN")  # inf, nan, +1: strtod-only "numbers"

_WHITESPACE = re.compile(rb"[ \t\n\r]*")
_PLAIN_STRING = re.compile(rb'"([^"\\]*)"')
_STRING_STOP = re.compile(rb'["\\]')
_HEX4 = re.compile(rb"[0-9a-fA-F]{4}")
_SIMPLE_ESCAPES = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b",
                   ord("t"): b"\t", ord("n"): b"\n", ord("f"): b"\f", ord("r"): b"\r"}

# What glibc's strtod reads (in the C locale): a sign, then a hexadecimal number with
# an optional binary exponent, a decimal one with an optional exponent, inf[inity], or
# nan with an optional (n-char-sequence). An exponent counts only with digits after it.
_STRTOD = re.compile(rb"""
    (?P<sign>[+-]?)
    (?: (?P<hex> 0[xX] (?:[0-9a-fA-F]+(?:\.[0-9a-fA-F]*)? | \.[0-9a-fA-F]+) (?:[pP][+-]?[0-9]+)? )
      | (?P<decimal> (?:[0-9]+(?:\.[0-9]*)? | \.[0-9]+) (?:[eE][+-]?[0-9]+)? )
      | (?P<inf> [iI][nN][fF](?:[iI][nN][iI][tT][yY])? )
      | (?P<nan> [nN][aA][nN](?:\((?P<payload>[0-9A-Za-z_]*)\))? )
    )""", re.VERBOSE)
# The n-char-sequence of nan(...), as strtoull reads it with base 0.
_NAN_PAYLOAD = re.compile(rb"0[xX](?P<hex>[0-9a-fA-F]+)|(?P<octal>0[0-7]*)|(?P<decimal>[1-9][0-9]*)")


def _nan(payload: bytes | None) -> float:
    """glibc's NaN for ``nan(payload)``: when the whole payload reads as an unsigned
    number, its low 51 bits become the mantissa below the quiet bit."""
    bits = 0x7FF8000000000000
    read = _NAN_PAYLOAD.fullmatch(payload) if payload else None
    if read:
        number = int(read["hex"], 16) if read["hex"] else int(read["octal"], 8) if read["octal"] \
            else int(read["decimal"])
        bits |= min(number, 2**64 - 1) & (2**51 - 1)  # strtoull saturates
    return struct.unpack("<d", bits.to_bytes(8, "little"))[0]


def strtod(text: bytes, position: int):
    """C's ``strtod`` at ``position``: (number, end), or None when it reads nothing."""
    match = _STRTOD.match(text, position)
    if match is None:
        return None
    sign = -1.0 if match["sign"] == b"-" else 1.0
    if match["hex"]:
        try:
            number = float.fromhex(match["hex"].decode())
        except OverflowError:
            number = math.inf  # strtod answers HUGE_VAL (and sets ERANGE, unchecked)
    elif match["decimal"]:
        number = float(match["decimal"])  # overflow gives inf, underflow 0, as strtod
    elif match["inf"]:
        number = math.inf
    else:
        number = _nan(match["payload"])
    return math.copysign(number, sign), match.end()


def _is_invalid_number(text: bytes, position: int) -> bool:
    """lua-cjson's ``json_is_invalid_number``: would strtod read more than JSON allows
    (a leading +, hex, leading zeros, inf, nan)?"""
    rest = text[position:position + 4]
    if rest[:1] == b"+":
        return True
    if rest[:1] == b"-":
        rest = text[position + 1:position + 5]
    if rest[:1] == b"0":
        second = rest[1:2]
        return second in (b"x", b"X") or second.isdigit()
    if rest[:1] <= b"9":
        return False
    return rest[:3].lower() in (b"inf", b"nan")


class _Open:
    """An array or object being read: its items so far (a list, or a dict that keeps the
    keys in text order), the key whose value comes next, and the Lua stack slots C has
    in use below its table."""

    __slots__ = ("below", "is_object", "items", "key")

    def __init__(self, is_object: bool, below: int):
        self.is_object = is_object
        self.items = {} if is_object else []
        self.key = None
        self.below = below

    @property
    def end(self) -> int:
        return T_OBJ_END if self.is_object else T_ARR_END


class _Parser:
    """One ``decode`` run: lua-cjson's tokenizer and its recursive-descent parser, the
    latter flattened into a loop over a stack of open arrays and objects."""

    def __init__(self, library: CJson, text: bytes):
        end = text.find(b"\0")
        self.text = text if end < 0 else text[:end]  # C reads up to the first NUL
        self.position = 0
        self.index = 0  # where the last token started (0-based)
        self.library = library
        self.config = library.config

    # -- tokens -------------------------------------------------------------------------

    def next_token(self):
        """The next token as (type, value); for T_ERROR the value is the reason."""
        text = self.text
        position = self.position
        if position < len(text) and text[position] in b" \t\n\r":
            position = _WHITESPACE.match(text, position).end()
        self.index = self.position = position
        if position >= len(text):
            return T_END, None
        char = text[position]
        kind = _PUNCTUATION.get(char)
        if kind is not None:
            self.position = position + 1
            return kind, None
        if char == 0x22:  # '"'
            return self.string_token()
        if char in _DIGITS_AND_MINUS:
            if not self.config.decode_invalid_numbers and _is_invalid_number(text, position):
                return T_ERROR, "invalid number"
            return self.number_token()
        for word, kind, value in ((b"true", T_BOOLEAN, True), (b"false", T_BOOLEAN, False),
                                  (b"null", T_NULL, self.library.helpers.null)):
            if text.startswith(word, position):
                self.position = position + len(word)
                return kind, value
        if (char in _ONLY_IF_INVALID_NUMBERS and self.config.decode_invalid_numbers
                and _is_invalid_number(text, position)):
            return self.number_token()
        return T_ERROR, "invalid token"

    def number_token(self):
        read = strtod(self.text, self.position)
        if read is None:
            return T_ERROR, "invalid number"
        number, self.position = read
        return T_NUMBER, number

    def string_token(self):
        text = self.text
        plain = _PLAIN_STRING.match(text, self.position)
        if plain:  # the common case: no escapes
            self.position = plain.end()
            return T_STRING, plain.group(1)
        parts = []
        position = self.position + 1
        while True:
            stop = _STRING_STOP.search(text, position)
            if stop is None:
                self.index = len(text)
                return T_ERROR, "unexpected end of string"
            backslash = stop.start()
            parts.append(text[position:backslash])
            if text[backslash] == 0x22:  # the closing quote
                self.position = backslash + 1
                return T_STRING, b"".join(parts)
            # An error inside a string is reported at its backslash.
            escape = text[backslash + 1:backslash + 2]
            if escape == b"u":
                decoded = self.unicode_escape(backslash)
                if decoded is None:
                    self.index = backslash
                    return T_ERROR, "invalid unicode escape code"
                character, position = decoded
                parts.append(character)
                continue
            simple = _SIMPLE_ESCAPES.get(escape[0]) if escape else None
            if simple is None:
                self.index = backslash
                return T_ERROR, "invalid escape code"
            parts.append(simple)
            position = backslash + 2

    def unicode_escape(self, backslash: int):
        """``\\uXXXX`` (or a UTF-16 surrogate pair of two) at ``backslash``, as UTF-8 and
        the position after it; None when malformed, or a lone or reversed surrogate."""
        text = self.text
        first = _HEX4.match(text, backslash + 2)
        if first is None:
            return None
        code = int(first.group(), 16)
        end = backslash + 6
        if code & 0xF800 == 0xD800:
            if code & 0x400 or text[end:end + 2] != b"\\u":
                return None
            second = _HEX4.match(text, end + 2)
            if second is None:
                return None
            low = int(second.group(), 16)
            if low & 0xFC00 != 0xDC00:
                return None
            code = 0x10000 + ((code & 0x3FF) << 10 | low & 0x3FF)
            end += 6
        return chr(code).encode("utf-8"), end

    # -- grammar ------------------------------------------------------------------------

    def fail(self, expected: str, kind, value):
        found = value if kind == T_ERROR else _TOKEN_NAMES[kind]
        raise bridge.LuaError(f"Expected {expected} but found {found} at character {self.index + 1}")

    def parse(self):
        """The whole text as one value, then nothing but whitespace."""
        lua = self.library.lua
        max_depth = self.config.decode_max_depth
        stack: list[_Open] = []
        kind, value = self.next_token()
        while True:
            # `kind, value` is a token where a value must start.
            if kind in _SCALAR_TOKENS:
                result = value
            elif kind == T_OBJ_BEGIN or kind == T_ARR_BEGIN:
                is_object = kind == T_OBJ_BEGIN
                if stack:
                    parent = stack[-1]
                    below = parent.below + (2 if parent.is_object else 1)  # its table, and key
                else:
                    below = 1  # the text argument
                depth = len(stack) + 1
                # C asks the Lua stack for the table, a key and a value (or table, value).
                if depth > max_depth or below + (3 if is_object else 2) > LUA_C_STACK:
                    raise bridge.LuaError(
                        f"Found too many nested data structures ({depth}) at character {self.position}")
                opened = _Open(is_object, below)
                kind, value = self.next_token()
                if kind == opened.end:
                    result = lua.table()
                else:
                    stack.append(opened)
                    if is_object:
                        kind, value = self.object_key(opened, kind, value)
                    continue
            else:
                self.fail("value", kind, value)
            # A complete value: store it, then close as many containers as end here.
            while True:
                if not stack:
                    kind, value = self.next_token()
                    if kind != T_END:
                        self.fail("the end", kind, value)
                    return result
                opened = stack[-1]
                if opened.is_object:
                    opened.items[opened.key] = result
                else:
                    opened.items.append(result)
                kind, value = self.next_token()
                if kind == opened.end:
                    stack.pop()
                    # Keys go in in text order, as C sets them, so that `next` (and so
                    # a later encode) meets them in the same order.
                    result = lua.table_from(opened.items)
                    continue
                if kind != T_COMMA:
                    self.fail("comma or object end" if opened.is_object else "comma or array end", kind, value)
                kind, value = self.next_token()
                if opened.is_object:
                    kind, value = self.object_key(opened, kind, value)
                break

    def object_key(self, opened: _Open, kind, value):
        """Read ``"key" :`` into ``opened``; return the token that starts the value."""
        if kind != T_STRING:
            self.fail("object key string", kind, value)
        opened.key = value
        kind, value = self.next_token()
        if kind != T_COLON:
            self.fail("colon", kind, value)
        return self.next_token()


# ---------------------------------------------------------------------------------------
# Installing.

# Lua helpers: cjson.null, and two questions Python cannot answer from lupa's values.
_HELPERS = b"""
local newproxy, getmetatable, rawequal, next = newproxy, getmetatable, rawequal, next

-- cjson.null is a NULL light userdata in C; the nearest Lua can make is a userdata of
-- its own (Lua 5.1's newproxy), printed the same way.
local null = newproxy(true)
getmetatable(null).__tostring = function() return "userdata: (nil)" end

local function is_null(value) return rawequal(value, null) end

-- lupa hands -0 to Python as the integer 0: the keys of t whose value is -0.
local function negative_zero_keys(t)
  local keys, n = {}, 0
  for k, v in next, t do
    if v == 0 and 1 / v < 0 then n = n + 1; keys[n] = k end
  end
  return keys
end

return null, is_null, negative_zero_keys
"""


class _Helpers:
    """The Lua side of the library, shared by every table ``cjson.new`` makes."""

    def __init__(self, lua):
        self.null, self.is_null, self.negative_zero_keys = lua.execute(_HELPERS)


def install(lua, lift) -> None:
    """Set the global ``cjson`` in ``lua``."""
    lua.globals()[NAME] = CJson(lua, lift, _Helpers(lua)).table()
