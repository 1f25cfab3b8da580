"""Bytes as Redis quotes them in text meant for people and for its own parser.

Redis' ``sdscatrepr`` writes a byte string between double quotes with C escapes: the
MONITOR lines, the AOF manifest's file names, CONFIG REWRITE's values. Its
``sdssplitargs`` reads the same form back. One table, built once, maps every byte to
its escaped text, so quoting is one lookup per byte.
"""

from __future__ import annotations

_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r",
            ord("\t"): "\\t", ord("\a"): "\\a", ord("\b"): "\\b"}
_TABLE = [_ESCAPES.get(byte) or (chr(byte) if 0x20 <= byte <= 0x7E else f"\\x{byte:02x}") for byte in range(256)]


def sds_repr(raw: bytes) -> str:
    """``raw`` between double quotes, escaped as sdscatrepr does (printable ASCII as
    is, the C escapes, ``\\xHH`` for every other byte)."""
    return '"' + "".join([_TABLE[byte] for byte in raw]) + '"'


def needs_repr(raw: bytes) -> bool:
    """sdsneedsrepr: whether ``raw`` must be quoted to be read back as one word (a space,
    a control or non-ASCII byte, a backslash or a double quote)."""
    return any(byte < 0x21 or byte > 0x7E or byte in _ESCAPES for byte in raw)
