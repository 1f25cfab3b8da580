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


# sdssplitargs: the inverse, a line of possibly quoted words.

_C_SPACE = b" \n\r\t\v\f"  # isspace() in C
_ESCAPED = {ord("n"): ord("\n"), ord("r"): ord("\r"), ord("t"): ord("\t"), ord("b"): ord("\b"), ord("a"): ord("\a")}
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_TOKEN_ENDS = b" \n\r\t"  # an unquoted token ends here (not at \v or \f, unlike the blanks between tokens)
_DOUBLE, _SINGLE, _BACKSLASH = ord('"'), ord("'"), ord("\\")


def split_args(line: bytes) -> list[bytes] | None:
    """sdssplitargs: split a line into arguments, honouring "double quotes" (with \\n, \\r,
    \\t, \\b, \\a, \\xHH and backslash escapes) and 'single quotes' (only \\' escaped).
    None, as in Redis, for an unterminated quote or a closing quote followed by anything
    but a blank. A quote may also open in the middle of a token: ``ab"c d"`` is ``abc d``."""
    args = []
    position = 0
    while True:
        while position < len(line) and line[position] in _C_SPACE:
            position += 1
        if position == len(line):
            return args
        token, position = _split_token(line, position)
        if token is None:
            return None
        args.append(token)


def _split_token(line: bytes, position: int) -> tuple[bytes | None, int]:
    """One token starting at ``position``; returns it and where the scan stopped."""

    def at(index: int) -> int:  # the byte there, or 0 past the end: C's terminating NUL
        return line[index] if index < len(line) else 0

    token = bytearray()
    quote = 0
    while True:
        byte = at(position)
        if quote == _DOUBLE:
            if byte == _BACKSLASH and at(position + 1) == ord("x") \
                    and at(position + 2) in _HEX_DIGITS and at(position + 3) in _HEX_DIGITS:
                token.append(int(line[position + 2:position + 4], 16))
                position += 3
            elif byte == _BACKSLASH and at(position + 1):
                position += 1
                token.append(_ESCAPED.get(line[position], line[position]))
            elif byte == _DOUBLE:
                return _closed(token, line, position)
            elif byte == 0:
                return None, position  # unterminated quotes
            else:
                token.append(byte)
        elif quote == _SINGLE:
            if byte == _BACKSLASH and at(position + 1) == _SINGLE:
                position += 1
                token.append(_SINGLE)
            elif byte == _SINGLE:
                return _closed(token, line, position)
            elif byte == 0:
                return None, position
            else:
                token.append(byte)
        elif byte == 0 or byte in _TOKEN_ENDS:
            return bytes(token), position
        elif byte in (_DOUBLE, _SINGLE):
            quote = byte
        else:
            token.append(byte)
        position += 1


def _closed(token: bytearray, line: bytes, quote_at: int) -> tuple[bytes | None, int]:
    """A closing quote must end the line or be followed by a blank."""
    after = quote_at + 1
    if after < len(line) and line[after] not in _C_SPACE:
        return None, after
    return bytes(token), after
