"""The dispatcher's generic rules, run in-process on a real keyspace."""

from __future__ import annotations

import pytest

from app.client import Client
from app.commands.registry import COMMANDS, command
from app.config import Config
from app.dispatch import execute
from app.protocol import NO_REPLY, ReplyError
from app.state import ServerState


@pytest.fixture
def client():
    config = Config()
    return Client(ServerState(config), 1, "127.0.0.1:1000", "127.0.0.1:6379", 7, close=lambda: None)


@pytest.fixture
def broken_command():
    @command("test-broken", arity=1, group="server", since="0.0.0", summary="Fails with a bug.")
    def broken(client):
        return {}["missing"]

    yield
    del COMMANDS[b"test-broken"]


def test_a_bug_in_a_handler_becomes_an_error_reply(client, broken_command):
    reply = execute(client, [b"TEST-BROKEN"])
    assert isinstance(reply, ReplyError)
    assert reply.message == "ERR internal error running 'test-broken': KeyError('missing')"
    assert execute(client, [b"PING"]) == "PONG"  # the lock was released, the client goes on


def test_arity_is_checked_before_the_handler_runs(client):
    reply = execute(client, [b"GET"])
    assert reply.message == "ERR wrong number of arguments for 'get' command"
    reply = execute(client, [b"CONFIG", b"GET"])
    assert reply.message == "ERR wrong number of arguments for 'config|get' command"


def test_noauth_until_authenticated_except_for_no_auth_commands(client):
    assert execute(client, [b"CONFIG", b"SET", b"requirepass", b"pw"]) == "OK"
    client.reset()  # a new connection, as far as authentication goes
    assert execute(client, [b"GET", b"k"]).message == "NOAUTH Authentication required."
    assert execute(client, [b"AUTH", b"pw"]) == "OK"
    assert execute(client, [b"GET", b"k"]) is None


def test_client_reply_skip_mutes_exactly_one_reply(client):
    assert execute(client, [b"CLIENT", b"REPLY", b"SKIP"]) is NO_REPLY
    assert execute(client, [b"PING"]) is NO_REPLY
    assert execute(client, [b"PING"]) == "PONG"


def test_multi_queues_commands_and_exec_runs_them_in_order(client):
    assert execute(client, [b"MULTI"]) == "OK"
    assert execute(client, [b"SET", b"k", b"1"]) == "QUEUED"
    assert execute(client, [b"INCR", b"k"]) == "QUEUED"
    assert client.server.keyspace.databases[0].data == {}  # nothing ran yet
    assert execute(client, [b"EXEC"]) == ["OK", 2]
    assert client.multi is None


def test_a_refusal_while_queueing_aborts_exec(client):
    execute(client, [b"MULTI"])
    assert execute(client, [b"NOSUCH"]).message.startswith("ERR unknown command 'NOSUCH'")
    assert execute(client, [b"SET", b"k", b"v"]) == "QUEUED"
    assert execute(client, [b"EXEC"]).message == "EXECABORT Transaction discarded because of previous errors."
    assert execute(client, [b"GET", b"k"]) is None


def test_no_multi_commands_are_refused_inside_multi(client):
    execute(client, [b"MULTI"])
    assert execute(client, [b"SHUTDOWN"]).message == "ERR Command not allowed inside a transaction"
    assert client.multi_failed


def test_a_watched_key_changed_makes_exec_return_a_null_array(client):
    from app.protocol import NULL_ARRAY

    assert execute(client, [b"WATCH", b"k"]) == "OK"
    client.server.keyspace.databases[0].set(b"k", b"changed elsewhere")
    assert client.dirty_cas and not client.watched  # a dirty client stops watching
    execute(client, [b"MULTI"])
    execute(client, [b"SET", b"k", b"mine"])
    assert execute(client, [b"EXEC"]) is NULL_ARRAY
    assert client.server.keyspace.databases[0].data[b"k"] == b"changed elsewhere"
    assert not client.dirty_cas and not client.server.keyspace.watched


def test_resp2_subscribed_mode_refuses_all_but_a_few_commands(client):
    client.open_outbox = lambda: FakeOutbox()
    execute(client, [b"SUBSCRIBE", b"ch"])
    assert client.outbox.data == [b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"]
    execute(client, [b"GET", b"k"])
    assert client.outbox.data[-1].startswith(b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE")
    execute(client, [b"PING"])
    assert client.outbox.data[-1] == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    client.protocol = 3  # RESP3 has no subscribed mode
    execute(client, [b"GET", b"k"])
    assert client.outbox.data[-1] == b"_\r\n"


class FakeOutbox:
    """What the dispatcher and pub/sub use of an outbox, without a socket."""

    size = 0

    def __init__(self):
        self.data = []

    def put(self, data, limits):
        self.data.append(data)
        return True
