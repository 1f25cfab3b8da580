"""Shared fixtures: our server and a real redis-server, each started once per session.

Tests that need a particular configuration start their own server with `start_ours`.
"""

from __future__ import annotations

import pytest
import redis

from tests.helpers import redis_server_path, start_ours, start_reference

# Differential tests need DEBUG on both sides; everything else runs with defaults.
SHARED_ARGS = ("--enable-debug-command", "yes")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Our server, shared by the session; tests flush what they need."""
    with start_ours(*SHARED_ARGS, cwd=str(tmp_path_factory.mktemp("ours"))) as process:
        yield process


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """A real redis-server to compare against; skipped when it is not installed."""
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    with start_reference(*SHARED_ARGS, cwd=str(tmp_path_factory.mktemp("reference"))) as process:
        yield process


@pytest.fixture
def r(server):
    """A redis-py client (RESP2) on a flushed server."""
    client = redis.Redis(port=server.port, protocol=2)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def r3(server):
    """A redis-py client speaking RESP3 (it opens with HELLO 3) on a flushed server."""
    client = redis.Redis(port=server.port, protocol=3)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def raw(server):
    """A raw RESP connection on a flushed server."""
    connection = server.raw()
    connection.call("FLUSHALL")
    yield connection
    connection.close()
