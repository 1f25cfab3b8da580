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
    client.server.config.set("requirepass", "pw")
    client.reset()
    assert execute(client, [b"GET", b"k"]).message == "NOAUTH Authentication required."
    assert execute(client, [b"AUTH", b"pw"]) == "OK"
    assert execute(client, [b"GET", b"k"]) is None


def test_client_reply_skip_mutes_exactly_one_reply(client):
    assert execute(client, [b"CLIENT", b"REPLY", b"SKIP"]) is NO_REPLY
    assert execute(client, [b"PING"]) is NO_REPLY
    assert execute(client, [b"PING"]) == "PONG"
