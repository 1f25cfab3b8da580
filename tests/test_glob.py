"""Glob matching, checked against a port of Redis' own matcher and against KEYS."""

from __future__ import annotations

import sys

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from app.glob import compile_glob, glob_match


def _signed(byte: int) -> int:
    return byte - 256 if byte > 127 else byte  # a C `char` on x86


def _tolower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c  # C locale


def stringmatchlen(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """A literal port of Redis 7.0.15's stringmatchlen (util.c): the oracle.

    Positions stand for C pointers; reading at the end of the pattern gives the NUL that
    terminates every sds string, as the C code relies on.
    """
    skip_longer_matches = [False]

    def pat(i: int) -> int:
        return _signed(pattern[i]) if i < len(pattern) else 0

    def impl(p: int, plen: int, s: int, slen: int, nesting: int) -> bool:
        if nesting > 1000:  # protection against abusive patterns
            return False
        while plen and slen:
            c = pat(p)
            if c == ord("*"):
                while plen and pat(p + 1) == ord("*"):
                    p += 1
                    plen -= 1
                if plen == 1:
                    return True
                while slen:
                    if impl(p + 1, plen - 1, s, slen, nesting + 1):
                        return True
                    if skip_longer_matches[0]:
                        return False
                    s += 1
                    slen -= 1
                skip_longer_matches[0] = True
                return False
            elif c == ord("?"):
                s += 1
                slen -= 1
            elif c == ord("["):
                p += 1
                plen -= 1
                negate = pat(p) == ord("^")
                if negate:
                    p += 1
                    plen -= 1
                match = False
                ch = _signed(string[s])
                while True:
                    if pat(p) == ord("\\") and plen >= 2:
                        p += 1
                        plen -= 1
                        if pat(p) == ch:  # no case folding here, even with nocase
                            match = True
                    elif pat(p) == ord("]"):
                        break
                    elif plen == 0:
                        p -= 1
                        plen += 1
                        break
                    elif plen >= 3 and pat(p + 1) == ord("-"):
                        start, end, c2 = pat(p), pat(p + 2), ch
                        if start > end:
                            start, end = end, start
                        if nocase:
                            start, end, c2 = _tolower(start), _tolower(end), _tolower(c2)
                        p += 2
                        plen -= 2
                        if start <= c2 <= end:
                            match = True
                    elif not nocase:
                        if pat(p) == ch:
                            match = True
                    elif _tolower(pat(p)) == _tolower(ch):
                        match = True
                    p += 1
                    plen -= 1
                if negate:
                    match = not match
                if not match:
                    return False
                s += 1
                slen -= 1
            else:
                if c == ord("\\") and plen >= 2:
                    p += 1
                    plen -= 1
                if not nocase:
                    if pat(p) != _signed(string[s]):
                        return False
                elif _tolower(pat(p)) != _tolower(_signed(string[s])):
                    return False
                s += 1
                slen -= 1
            p += 1
            plen -= 1
            if slen == 0:
                while pat(p) == ord("*"):
                    p += 1
                    plen -= 1
                break
        return plen == 0 and slen == 0

    return impl(0, len(pattern), 0, len(string), 0)


# Small alphabets, so that stars, brackets, ranges and escapes meet each other often.
PATTERNS = st.lists(st.sampled_from(list(b"ab*?[]^-\\")), max_size=12).map(bytes)
STRINGS = st.lists(st.sampled_from(list(b"ab-]^\\*?[")), max_size=10).map(bytes)
CASE_PATTERNS = st.lists(st.sampled_from(list(b"aAzZ*?[]^-\\\x80\xff")), max_size=12).map(bytes)
CASE_STRINGS = st.lists(st.sampled_from(list(b"aAzZ[]^_`\x80\xff")), max_size=8).map(bytes)


@settings(max_examples=1500, deadline=None)
@given(PATTERNS, STRINGS)
def test_agrees_with_redis_matcher(pattern, string):
    assert glob_match(pattern, string) == stringmatchlen(pattern, string)


@settings(max_examples=1500, deadline=None)
@given(CASE_PATTERNS, CASE_STRINGS, st.booleans())
def test_agrees_with_redis_matcher_on_case_and_signed_bytes(pattern, string, nocase):
    assert glob_match(pattern, string, nocase) == stringmatchlen(pattern, string, nocase)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=10), st.binary(max_size=10), st.booleans())
def test_agrees_with_redis_matcher_on_any_bytes(pattern, string, nocase):
    assert glob_match(pattern, string, nocase) == stringmatchlen(pattern, string, nocase)


@pytest.mark.parametrize(
    "pattern, string, nocase, expected",
    [
        (b"", b"", False, True),
        (b"", b"a", False, False),
        (b"*", b"", False, False),  # a star never meets an empty string in stringmatchlen
        (b"**", b"", False, False),
        (b"a*", b"a", False, True),
        (b"*", b"anything", False, True),
        (b"h?llo", b"hello", False, True),
        (b"h?llo", b"hllo", False, False),
        (b"h*llo", b"hllo", False, True),
        (b"h[ae]llo", b"hallo", False, True),
        (b"h[^e]llo", b"hello", False, False),
        (b"h[a-b]llo", b"hbllo", False, True),
        (b"h[b-a]llo", b"hbllo", False, True),  # swapped range ends
        (b"[]a]", b"a", False, False),  # "[]" is an empty set, then "a]" literally
        (b"[]a]", b"]", False, False),
        (b"[^]", b"x", False, True),
        (b"[", b"[", False, False),  # unterminated: an empty set
        (b"[^", b"x", False, True),
        (b"[a", b"a", False, True),
        (b"[a-", b"-", False, True),
        (b"[a-]", b"]", False, True),  # the range swallows the ']' and runs to the end
        (b"[\\]]", b"]", False, True),
        (b"[\\", b"\\", False, True),
        (b"\\*", b"*", False, True),
        (b"\\*", b"a", False, False),
        (b"a\\", b"a\\", False, True),
        (b"HELLO", b"hello", True, True),
        (b"\\H", b"h", True, True),  # an escape outside brackets still ignores case
        (b"[\\H]", b"h", True, False),  # ... but not inside brackets
        (b"[^\\H]", b"h", True, True),
        (b"[H]", b"h", True, True),
        (b"[A-C]", b"b", True, True),
        (b"[Z-a]", b"z", True, False),  # folded after swapping: from 'z' to 'a', empty
        (b"[a-\xff]", b"\x00", False, True),  # signed chars: from -1 to 'a'
        (b"[a-\xff]", b"\x80", False, False),
    ],
)
def test_explicit_cases(pattern, string, nocase, expected):
    assert stringmatchlen(pattern, string, nocase) is expected
    assert glob_match(pattern, string, nocase) is expected


def test_match_all_is_only_the_single_star():
    # KEYS and SCAN skip matching for exactly "*" (listing even the empty key) and rely on it.
    assert compile_glob(b"*").match_all
    assert not compile_glob(b"**").match_all
    assert not compile_glob(b"\\*").match_all


def test_pathological_pattern_is_fast():
    data = b"a" * 5000
    assert not glob_match(b"*a*a*a*a*a*a*a*a*a*a*b", data)
    assert glob_match(b"*a*a*a*a*a*a*a*a*a*a*", data)
    assert not glob_match(b"*" + b"?" * 5001 + b"*", data)
    assert glob_match(b"*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*a", data)


def test_more_than_1000_nested_stars_never_match():
    # Verified with redis-server 7.0.15: past 1000 nesting levels stringmatchlen gives up.
    data = b"a" * 1200
    assert glob_match(b"*a" * 1000, data)
    assert not glob_match(b"*a" * 1001, data)
    assert glob_match(b"*a" * 1000 + b"*", data)  # a final star does not recurse
    assert not glob_match(b"*a" * 1001 + b"*", data)
    assert glob_match(b"a*" * 1001, data)


def test_nesting_limit_agrees_with_the_port():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10000)  # the port recurses once per star
    try:
        data = b"ab" * 600
        for pattern in (b"*b" * 1000, b"*b" * 1001, b"*b" * 1001 + b"*", b"*a" * 1000 + b"*b"):
            assert glob_match(pattern, data) == stringmatchlen(pattern, data)
    finally:
        sys.setrecursionlimit(limit)


# The port itself, checked against the real thing through KEYS (nocase has no command
# with free-form names, so only the case-sensitive matcher is checked this way).
KEYS = sorted({b"", b"a", b"b", b"ab", b"ba", b"aa", b"a-b", b"]", b"^", b"\\", b"*", b"?", b"[", b"a]b", b"a\\b",
               b"abab", b"-", b"b^a", b"[a]", b"aaa", b"\x80", b"\xff", b"a\xffb"})


@pytest.fixture(scope="module")
def keys_client(reference):
    client = redis.Redis(port=reference.port)
    client.select(9)
    client.flushdb()
    client.mset({key: b"1" for key in KEYS})
    yield client
    client.flushdb()
    client.close()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(b"ab*?[]^-\\\xff")), max_size=8).map(bytes))
def test_port_agrees_with_redis_keys(keys_client, pattern):
    if pattern == b"*":
        expected = KEYS  # KEYS skips matching altogether
    else:
        expected = [key for key in KEYS if stringmatchlen(pattern, key)]
    assert sorted(keys_client.keys(pattern)) == expected
    assert [key for key in KEYS if compile_glob(pattern).match_all or glob_match(pattern, key)] == expected
