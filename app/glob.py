"""Glob-style patterns as Redis matches them (KEYS, SCAN MATCH, CONFIG GET, PSUBSCRIBE).

``*`` any run of bytes, ``?`` one byte, ``[abc]``, ``[^abc]``, ``[a-z]`` one byte of a set,
``\\x`` the byte x itself. Matching happens with the global lock held, so it must never
take long: a naive translation to a regular expression backtracks exponentially on
patterns like ``*a*a*a*a*b``. Instead the pattern is cut at its stars into segments that
each match a fixed number of bytes; the first segment must match at the start, the last
at the end, and each middle one at its leftmost place, which is both correct and
linear in practice (Redis' own matcher gets the same bound by never retrying an earlier
star once a later one failed).

Redis 7.0's ``stringmatchlen`` has quirks that are kept: a non-empty pattern never
matches the empty string (not even ``*``), an escape inside brackets ignores ``nocase``,
and a pattern with more than 1000 nested stars matches nothing.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Redis 7.0.15 stops recursing (and reports no match) past this many nested stars.
_MAX_NESTING = 1000


def _signed(byte: int) -> int:
    # Redis compares bracket ranges as C `char`s, which are signed on x86.
    return byte - 256 if byte > 127 else byte


def _bracket(pattern: bytes, i: int, nocase: bool) -> tuple[set[int], int]:
    """Parse ``[...]`` starting after the ``[``; return the matching bytes and the next index."""
    n = len(pattern)
    negate = i < n and pattern[i] == 94  # '^'
    if negate:
        i += 1
    members: set[int] = set()
    while True:
        if i < n and pattern[i] == 92 and n - i >= 2:  # '\x': x itself, even with nocase
            i += 1
            members.add(pattern[i])
        elif i < n and pattern[i] == 93:  # ']'
            i += 1
            break
        elif i >= n:  # unterminated: the set ends with the pattern
            break
        elif n - i >= 3 and pattern[i + 1] == 45:  # 'a-z'
            start, end = _signed(pattern[i]), _signed(pattern[i + 2])
            if start > end:
                start, end = end, start
            if nocase:
                start, end = _lower(start), _lower(end)
            for byte in range(256):
                if start <= _signed(_lower(byte) if nocase else byte) <= end:
                    members.add(byte)
            i += 2
        else:
            members.add(pattern[i])
            if nocase:
                members |= {_lower(pattern[i]), _upper(pattern[i])}
        i += 1
    if negate:
        members = set(range(256)) - members
    return members, i


def _lower(byte: int) -> int:
    return byte + 32 if 65 <= byte <= 90 else byte


def _upper(byte: int) -> int:
    return byte - 32 if 97 <= byte <= 122 else byte


def _byte_class(members: set[int]) -> bytes:
    if not members:
        return rb"(?!)"  # matches nothing
    if len(members) == 256:
        return rb"[\x00-\xff]"
    return b"[" + b"".join(b"\\x%02x" % b for b in sorted(members)) + b"]"


def _literal(byte: int, nocase: bool) -> bytes:
    if nocase and _lower(byte) != _upper(byte):
        return _byte_class({_lower(byte), _upper(byte)})
    return re.escape(bytes([byte]))


class GlobPattern:
    """A compiled glob pattern; ``match(data)`` tells whether the whole of ``data`` matches."""

    __slots__ = ("match_all", "_empty", "_only_stars", "_too_nested", "_exact", "_head", "_tail", "_middles",
                 "_min_len")

    def __init__(self, pattern: bytes, nocase: bool = False):
        segments: list[list[bytes]] = [[]]
        i, n = 0, len(pattern)
        while i < n:
            c = pattern[i]
            if c == 42:  # '*'
                if segments[-1] or len(segments) == 1:
                    segments.append([])
                i += 1
                continue
            if c == 63:  # '?'
                segments[-1].append(rb"[\x00-\xff]")
            elif c == 91:  # '['
                members, i = _bracket(pattern, i + 1, nocase)
                segments[-1].append(_byte_class(members))
                continue
            elif c == 92 and n - i >= 2:  # '\'
                i += 1
                segments[-1].append(_literal(pattern[i], nocase))
            else:
                segments[-1].append(_literal(c, nocase))
            i += 1
        # KEYS and SCAN skip matching for exactly "*" (so they list even the empty key);
        # `match` itself follows stringmatchlen, where "**" does not match b"".
        self.match_all = pattern == b"*"
        self._empty = not pattern
        self._only_stars = len(segments) > 1 and not any(segments)
        # Every star but a final one recurses in Redis' matcher, which gives up (no match)
        # beyond _MAX_NESTING levels.
        recursing_stars = len(segments) - 1 - (not segments[-1])
        self._too_nested = recursing_stars > _MAX_NESTING
        compiled = [(re.compile(b"".join(seg), re.DOTALL), len(seg)) for seg in segments]
        self._exact = compiled[0][0] if len(segments) == 1 else None
        self._head, self._tail = compiled[0], compiled[-1]
        self._middles = compiled[1:-1]
        self._min_len = sum(size for _, size in compiled)

    def match(self, data: bytes) -> bool:
        if not data:
            # Redis' loop stops when the string runs out, so only the empty pattern is left
            # with nothing to match.
            return self._empty
        if self._only_stars:
            return True
        if self._too_nested:
            return False
        if self._exact is not None:
            return self._exact.fullmatch(data) is not None
        if len(data) < self._min_len:
            return False
        head, head_len = self._head
        tail, tail_len = self._tail
        end = len(data) - tail_len
        if not head.match(data) or not tail.match(data, end):
            return False
        pos = head_len
        for middle, _ in self._middles:
            found = middle.search(data, pos, end)
            if found is None:
                return False
            pos = found.end()
        return True


@lru_cache(maxsize=256)
def compile_glob(pattern: bytes, nocase: bool = False) -> GlobPattern:
    """Compile once: clients repeat the same SCAN MATCH or PSUBSCRIBE pattern."""
    return GlobPattern(pattern, nocase)


def glob_match(pattern: bytes, data: bytes, nocase: bool = False) -> bool:
    return compile_glob(pattern, nocase).match(data)
