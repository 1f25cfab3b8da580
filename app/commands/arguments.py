"""Reading command arguments, and the error replies Redis gives for bad ones."""

from __future__ import annotations

from app.numeric import parse_int
from app.protocol import ReplyError
from app.store.keyspace import WRONGTYPE

SYNTAX_ERROR = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"


def integer(arg: bytes, error: str = NOT_INTEGER) -> int:
    """A 64-bit integer argument, read strictly like Redis; otherwise ``error``."""
    value = parse_int(arg)
    if value is None:
        raise ReplyError(error)
    return value


def wrong_type() -> ReplyError:
    return ReplyError(WRONGTYPE)


def text(arg: bytes) -> str:
    """An argument as text for an error message, any bytes kept as they are."""
    return arg.decode("utf-8", "surrogateescape")


def int32(arg: bytes, error: str | None = None) -> int:
    """An integer argument that Redis reads into a C int (database numbers); ``error``, if
    given, is the one message for a bad number and one out of range (SWAPDB's)."""
    value = integer(arg, error or NOT_INTEGER)
    if not -(2**31) <= value < 2**31:
        raise ReplyError(error or "ERR value is out of range, value must between -2147483648 and 2147483647")
    return value


def c_string(arg: bytes) -> bytes:
    """An argument as C code sees it through ``argv[i]->ptr``: cut at the first NUL."""
    return arg.split(b"\0", 1)[0]


def keyword(arg: bytes) -> bytes:
    """An option word, upper-cased and compared as Redis does (strcasecmp on a C
    string, so "nx\\0junk" is NX)."""
    return c_string(arg).upper()
