"""Shared fixtures: our server and a real redis-server, each started once per session.

Tests that need a particular configuration start their own server with `start_ours`.

In a platform run (`tests/test_platform_run.py`), only the CodeCrafters stage tests are
collected, in the platform's order, and each gets a server of its own, started with no
options in the shared folder, never flushed, and stopped with SIGTERM after it: state that
one stage's server leaves behind is then met by the next, as on the platform.
"""

from __future__ import annotations

import pytest
import redis

from tests import stages
from tests.helpers import PLATFORM_FOLDER, redis_server_path, start_ours, start_reference

# Differential tests need DEBUG on both sides; everything else runs with defaults.
SHARED_ARGS = ("--enable-debug-command", "yes")


def pytest_collection_modifyitems(config, items):
    if PLATFORM_FOLDER is None:
        return
    chosen = [item for item in items if stages.slugs_of(item.originalname)]
    chosen.sort(key=lambda item: stages.POSITION[stages.slugs_of(item.originalname)[0]])
    config.hook.pytest_deselected(items=[item for item in items if item not in chosen])
    items[:] = chosen


def _server_scope(fixture_name, config):
    return "session" if PLATFORM_FOLDER is None else "function"


@pytest.fixture(scope=_server_scope)
def server(tmp_path_factory):
    """Our server, shared by the session; tests flush what they need."""
    if PLATFORM_FOLDER is not None:
        with start_ours() as process:
            yield process
        return
    with start_ours(*SHARED_ARGS, cwd=str(tmp_path_factory.mktemp("ours"))) as process:
        yield process


def _flush(client) -> None:
    """Start a test on an empty keyspace, except in a platform run, where what an earlier
    stage left must show."""
    if PLATFORM_FOLDER is None:
        client.flushall()


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
    _flush(client)
    yield client
    client.close()


@pytest.fixture
def r3(server):
    """A redis-py client speaking RESP3 (it opens with HELLO 3) on a flushed server."""
    client = redis.Redis(port=server.port, protocol=3)
    _flush(client)
    yield client
    client.close()


@pytest.fixture
def raw(server):
    """A raw RESP connection on a flushed server."""
    connection = server.raw()
    if PLATFORM_FOLDER is None:
        connection.call("FLUSHALL")
    yield connection
    connection.close()
