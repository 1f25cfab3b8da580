"""WRONGTYPE and the other answers string commands give for a key of another type.

Strings are the only type so far, so no such key can be made over the wire. These tests
call the command handlers directly, as the dispatcher does, on a real database holding a
stand-in list. The expectations are what Redis 7.0 answers for a key made with RPUSH:
most string commands refuse it with WRONGTYPE, some check their arguments first, MGET
reads it as nil, LCS has an error of its own, and the commands that overwrite or only
look at a key do so whatever its type.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.commands import COMMANDS
from app.protocol import ReplyError, split_inline
from app.store.keyspace import WRONGTYPE, Keyspace

NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_STRINGS = "ERR The specified keys must contain string values"


class FakeList:
    """A value of another type: what the generic commands ask of a stored value."""

    TYPE_NAME = "list"

    def encoding(self) -> str:
        return "quicklist"

    def copy(self) -> FakeList:
        return FakeList()


def make_client():
    """A stand-in client: a real database (with "l" a list, "s" a string) and the
    configuration the string commands read."""
    config = {"proto-max-bulk-len": 512 * 1024 * 1024, "maxmemory": 0, "maxmemory-policy": "noeviction"}
    keyspace = Keyspace()
    client = SimpleNamespace(server=SimpleNamespace(config=config, keyspace=keyspace, cluster=None),
                             db=keyspace.databases[0])
    client.db.set(b"l", FakeList())
    client.db.set(b"s", b"str")
    return client


def call(client, line: str):
    """Run one command line through its handler; return the reply or the ReplyError."""
    name, *args = split_inline(line.encode())
    entry = COMMANDS[name.lower()]
    if entry.subcommands:
        entry = entry.subcommands[args.pop(0).lower()]
    try:
        return entry.handler(client, *args)
    except ReplyError as error:
        return error


def error_message(reply) -> str | None:
    return reply.message if isinstance(reply, ReplyError) else None


REFUSED = """
    GET l
    SET l v GET
    SET l v NX GET
    SET l v XX GET
    SET l v KEEPTTL GET
    SET l v PX 100 GET
    SET l v EXAT 1 GET
    GETEX l
    GETEX l PERSIST
    GETEX l EX 100
    GETEX l EX abc
    GETEX l EX 0
    GETDEL l
    GETSET l v
    APPEND l x
    APPEND l ""
    STRLEN l
    GETRANGE l 0 -1
    GETRANGE l 5 1
    SETRANGE l 0 x
    SETRANGE l 0 ""
    SETRANGE l 5 ""
    INCR l
    DECR l
    INCRBY l 1
    DECRBY l 1
    INCRBYFLOAT l 1
    INCRBYFLOAT l x
""".strip().splitlines()


@pytest.mark.parametrize("line", [line.strip() for line in REFUSED])
def test_wrongtype_leaves_the_key_alone(line):
    client = make_client()
    value = client.db.data[b"l"]
    assert error_message(call(client, line)) == WRONGTYPE
    assert client.db.data[b"l"] is value
    assert b"l" not in client.db.expires


# Arguments Redis checks before it looks at the key's type.
ARGUMENTS_FIRST = {
    "SET l v EX abc GET": NOT_INTEGER,
    "SET l v EX 0 GET": "ERR invalid expire time in 'set' command",
    "SET l v NX XX GET": "ERR syntax error",
    "GETEX l FOO": "ERR syntax error",
    "GETEX l EX 1 PERSIST": "ERR syntax error",
    "GETRANGE l x 0": NOT_INTEGER,
    "SETRANGE l -1 x": "ERR offset is out of range",
    "SETRANGE l x \"\"": NOT_INTEGER,
    "INCRBY l x": NOT_INTEGER,
    "DECRBY l x": NOT_INTEGER,
    "DECRBY l -9223372036854775808": "ERR decrement would overflow",
    "LCS l s": NOT_STRINGS,
    "LCS s l IDX": NOT_STRINGS,
    "LCS l s FOO": NOT_STRINGS,
    "LCS l nokey LEN IDX": NOT_STRINGS,
}


@pytest.mark.parametrize("line", sorted(ARGUMENTS_FIRST))
def test_errors_before_the_type_check(line):
    client = make_client()
    assert error_message(call(client, line)) == ARGUMENTS_FIRST[line]
    assert isinstance(client.db.data[b"l"], FakeList)


# Commands that answer without touching the key, whatever its type.
LEFT_ALONE = {
    "MGET l s nokey l": [None, b"str", None, None],
    "SETNX l v": 0,
    "MSETNX l v": 0,
    "MSETNX nokey v l v": 0,
    "SET l v NX": None,
    "TYPE l": "list",
    "EXISTS l l": 2,
    "OBJECT ENCODING l": b"quicklist",
    "OBJECT REFCOUNT l": 1,
    "TTL l": -1,
    "SCAN 0 TYPE list": [b"0", [b"l"]],
    "SCAN 0 TYPE string": [b"0", [b"s"]],
}


@pytest.mark.parametrize("line", sorted(LEFT_ALONE))
def test_other_types_answered_without_error(line):
    client = make_client()
    assert call(client, line) == LEFT_ALONE[line]
    assert isinstance(client.db.data[b"l"], FakeList)


# Commands that replace the value, whatever its type, with a string.
OVERWRITING = {
    "SET l v": "OK",
    "SET l v XX": "OK",
    "SET l v KEEPTTL": "OK",
    "MSET l v": "OK",
    "SETEX l 100 v": "OK",
    "PSETEX l 100000 v": "OK",
}


@pytest.mark.parametrize("line", sorted(OVERWRITING))
def test_overwrites_take_any_type(line):
    client = make_client()
    assert call(client, line) == OVERWRITING[line]
    assert call(client, "TYPE l") == "string"
    assert call(client, "GET l") == b"v"


def test_generic_commands_carry_any_type():
    client = make_client()
    assert call(client, "COPY l copied") == 1
    assert call(client, "TYPE copied") == "list"
    assert client.db.data[b"copied"] is not client.db.data[b"l"]
    assert call(client, "RENAME l renamed") == "OK"
    assert call(client, "TYPE renamed") == "list"
    assert call(client, "MOVE renamed 1") == 1
    assert client.server.keyspace.databases[1].data[b"renamed"].TYPE_NAME == "list"
    assert call(client, "DEL copied") == 1
    assert call(client, "TYPE copied") == "none"
