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


def option_words(args: tuple[bytes, ...]) -> list[bytes]:
    """Upper-cased arguments, for matching option keywords such as NX or EX."""
    return [arg.upper() for arg in args]
