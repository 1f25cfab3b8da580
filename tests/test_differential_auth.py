"""Authentication compared with a real Redis: both servers require a password."""

from __future__ import annotations

import pytest

from tests.differential import compare
from tests.helpers import redis_server_path, start_ours, start_reference

SCRIPTS = {
    "noauth_everywhere_but_auth": """
        GET k
        PING
        SET k v
        CLIENT ID
        CONFIG GET port
        FOO bar
        GET
        AUTH
        QUIT x
    """,
    "auth_forms": """
        AUTH wrong
        AUTH default wrong
        AUTH nobody pw
        AUTH a b c
        AUTH pw
        GET k
        AUTH default pw
        SET k v
        GET k
    """,
    "hello_with_and_without_auth": """
        HELLO 2
        HELLO 3 AUTH default wrong
        HELLO 2 AUTH nobody pw
        # The client id inside HELLO's reply depends on each server's history.
        ~ HELLO 2 AUTH default pw SETNAME named
        CLIENT GETNAME
        ~ HELLO 2
    """,
    "reset_logs_out": """
        AUTH pw
        PING
        RESET
        PING
        AUTH pw
        PING
    """,
}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    args = ("--requirepass", "pw")
    with start_ours(*args, cwd=str(tmp_path_factory.mktemp("ours-auth"))) as ours:
        with start_reference(*args, cwd=str(tmp_path_factory.mktemp("redis-auth"))) as reference:
            yield ours, reference


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(servers, name):
    ours, reference = servers
    compare(ours.port, reference.port, SCRIPTS[name])
