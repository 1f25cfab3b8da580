"""The objects every command reads from, `Client`, `ServerState` and `Keyspace`, keep
each attribute in a slot of its own (read at a fixed place, where an object with more
than 30 attributes would keep a dict to search). Each class keeps a ``__dict__`` too, so
an attribute someone forgets to declare still works, only slower: these tests make sure
none is forgotten, for a server as `Connection.setup` (app/server.py) and a replica
make them."""

from __future__ import annotations

import types

import pytest

from app.config import Config
from app.server import Connection
from app.state import ServerState


class FakeSocket:
    def setsockopt(self, *_args) -> None:
        pass

    def getpeername(self):
        return ("127.0.0.1", 50000)

    def getsockname(self):
        return ("127.0.0.1", 6379)

    def fileno(self) -> int:
        return -1


def connected(config: Config) -> Connection:
    connection = object.__new__(Connection)  # what socketserver builds, without its loop
    connection.request = FakeSocket()
    connection.server = types.SimpleNamespace(state=ServerState(config))
    connection.setup()
    return connection


@pytest.mark.parametrize("replica", [False, True], ids=["master", "replica"])
def test_every_attribute_has_its_slot(replica):
    config = Config()
    if replica:
        config.set("replicaof", "127.0.0.1 1")
    connection = connected(config)
    state = connection.server.state
    for owner in (connection.client, state, state.keyspace):
        assert vars(owner) == {}, f"{type(owner).__name__} has attributes without a slot: {sorted(vars(owner))}"


def test_an_undeclared_attribute_still_works():
    state = ServerState(Config())
    state.keyspace.something_new = 1
    assert state.keyspace.something_new == 1
