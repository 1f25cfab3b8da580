"""The objects every command reads from, `Client`, `ServerState` and `Keyspace`, keep
each attribute in a slot of its own (read at a fixed place, where an object with more
than 30 attributes would keep a dict to search). Each class keeps a ``__dict__`` too, so
an attribute someone forgets to declare still works, only slower: these tests make sure
none is forgotten, for a server as a connection's thread (app/server.py) uses it, on a
master and on a replica."""

from __future__ import annotations

import pytest

from app.config import Config
from app.protocol import encode_command
from app.state import ServerState
from tests.helpers import serve


@pytest.mark.parametrize("replica", [False, True], ids=["master", "replica"])
def test_every_attribute_has_its_slot(replica):
    config = Config()
    if replica:
        config.set("replicaof", "127.0.0.1 1")
    state = ServerState(config)
    _sent, client = serve(state, [encode_command([b"GET", b"k"])])
    for owner in (client, state, state.keyspace):
        assert vars(owner) == {}, f"{type(owner).__name__} has attributes without a slot: {sorted(vars(owner))}"


def test_an_undeclared_attribute_still_works():
    state = ServerState(Config())
    state.keyspace.something_new = 1
    assert state.keyspace.something_new == 1
