"""The common path of a request (issue 23): what it skips must never matter.

A command from a client in none of the rare states, on a server in none of its own,
runs after a handful of tests (app/dispatch.py); the parser, the encoder and the
connection's loop have fast paths of their own. These tests check that the flags
behind the shortcuts follow every state they stand for, and that the shortcuts keep
every count Redis keeps.
"""

from __future__ import annotations

import pytest

from app.client import Client
from app.commands.registry import COMMANDS
from app.config import Config
from app.dispatch import execute
from app.protocol import ENCODERS, ReplyError, RequestParser, encode_command
from app.state import ServerState
from tests.helpers import serve


@pytest.fixture
def client():
    return Client(ServerState(Config()), 1, "127.0.0.1:1000", "127.0.0.1:6379", 7, close=lambda: None)


CLIENT_STATES = [
    ("authenticated", False, True),
    ("multi", [], None),
    ("subscriptions", 1, 0),
    ("outbox", object(), None),
    ("replies_muted", True, False),
    ("tracking", object(), None),
    ("is_master", True, False),
    ("no_touch", True, False),
    ("monitoring", True, False),
    ("replica", object(), None),
]


@pytest.mark.parametrize("name, rare, usual", CLIENT_STATES)
def test_a_client_is_special_exactly_while_a_rare_state_holds(client, name, rare, usual):
    assert not client.special
    setattr(client, name, rare)
    assert client.special
    assert getattr(client, name) is rare
    setattr(client, name, usual)
    assert not client.special


SERVER_STATES = [
    ("write_refusal", ReplyError("READONLY You can't write against a read only replica."), None),
    ("refuses_stale", True, False),
    ("loading", True, False),
    ("busy_script", object(), None),
    ("pause_end", 1.0, 0.0),
    ("maxmemory", 1024, 0),
]


@pytest.mark.parametrize("name, rare, usual", SERVER_STATES)
def test_the_server_is_special_exactly_while_a_rare_state_holds(client, name, rare, usual):
    server = client.server
    assert not server.special
    setattr(server, name, rare)
    assert server.special
    setattr(server, name, usual)
    assert not server.special


def test_two_rare_states_at_once_need_both_gone(client):
    client.multi = []
    client.replies_muted = True
    client.multi = None
    assert client.special  # still muted
    client.replies_muted = False
    assert not client.special


def test_the_common_path_keeps_every_count(client):
    server = client.server
    get = COMMANDS[b"get"].stats
    calls, failed, timed = get.calls, get.failed_calls, sum(get.histogram)
    assert execute(client, [b"SET", b"k", b"v"]) == "OK"
    assert execute(client, [b"get", b"k"]) == b"v"
    assert execute(client, [b"GET", b"missing"]) is None
    execute(client, [b"RPUSH", b"list", b"x"])
    assert execute(client, [b"GeT", b"list"]).message.startswith("WRONGTYPE")  # any spelling
    assert (get.calls - calls, get.failed_calls - failed, sum(get.histogram) - timed) == (3, 1, 3)
    assert server.commands_processed == 5
    assert (server.keyspace.hits, server.keyspace.misses) == (2, 1)  # a key of another type is a hit
    assert server.error_replies == {"WRONGTYPE": 1}
    assert client.last_command == "get"
    assert client.argv == [b"GeT", b"list"]


def test_the_common_path_records_access_times(client):
    db = client.server.keyspace.databases[0]
    execute(client, [b"SET", b"k", b"v"])
    db.access[b"k"] = 0
    execute(client, [b"GET", b"k"])
    assert db.access[b"k"] == client.server.keyspace.clock


def test_a_plain_set_expires_a_stale_key_first(client):
    """SET key value skips option parsing, not Redis' lookup: an old value past its
    deadline expires (and counts) before the new one is stored without a deadline."""
    keyspace = client.server.keyspace
    db = keyspace.databases[0]
    execute(client, [b"SET", b"k", b"old", b"PX", b"100000"])
    db.expires[b"k"] = 1  # long past
    assert execute(client, [b"SET", b"k", b"new"]) == "OK"
    assert keyspace.expired_keys == 1
    assert db.data[b"k"] == b"new" and b"k" not in db.expires


def test_set_drops_a_deadline_that_has_not_passed(client):
    db = client.server.keyspace.databases[0]
    execute(client, [b"SET", b"k", b"old", b"EX", b"100"])
    execute(client, [b"SET", b"k", b"new"])
    assert b"k" not in db.expires
    execute(client, [b"SET", b"k", b"newer", b"EX", b"100"])
    execute(client, [b"SET", b"k", b"newest", b"KEEPTTL"])
    assert b"k" in db.expires


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 4095, 4096, 70000])
def test_values_of_every_size_parse_and_encode_the_same(size):
    """The parser's fast path takes values under 4 kB, the encoder's header table sizes
    under 1 kB: around both edges the bytes must be what the exact ways give."""
    value = b"x" * size
    parser = RequestParser()
    assert parser.parse(encode_command([b"SET", b"k", value]) * 2) == ([[b"SET", b"k", value]] * 2, None)
    assert parser.pending == 0
    assert ENCODERS[2].encode(value) == b"$%d\r\n%s\r\n" % (size, value)


def test_a_read_ending_inside_a_command_keeps_the_rest():
    parser = RequestParser()
    data = encode_command([b"GET", b"a"]) + encode_command([b"GET", b"b"])
    assert parser.parse(data[:-2]) == ([[b"GET", b"a"]], None)  # the fast path stops, the exact parser waits
    assert parser.pending == 1  # the value "b", without its CRLF
    assert parser.parse(data[-2:]) == ([[b"GET", b"b"]], None)
    assert parser.pending == 0


def test_the_read_loop_counts_bytes_and_the_last_interaction():
    state = ServerState(Config())
    state.keyspace.clock -= 100  # the coarse clock a read is stamped with
    reads = [encode_command([b"SET", b"k", b"v"]), encode_command([b"GET", b"k"]) * 2]
    sent, client = serve(state, reads)
    assert sent == b"+OK\r\n$1\r\nv\r\n$1\r\nv\r\n"
    assert client.input_bytes == sum(map(len, reads)) and client.output_bytes == len(sent)
    assert client.last_interaction == state.keyspace.clock
    assert client.query_buffer == 0


def test_a_client_that_becomes_special_midway_through_a_read_gets_its_rules_at_once():
    """MULTI in the middle of a pipelined read: the commands after it are queued."""
    state = ServerState(Config())
    read = b"".join(encode_command(argv) for argv in ([b"SET", b"k", b"1"], [b"MULTI"], [b"INCR", b"k"], [b"EXEC"]))
    sent, _client = serve(state, [read])
    assert sent == b"+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n:2\r\n"
