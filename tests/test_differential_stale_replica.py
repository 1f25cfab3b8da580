"""A replica cut from its master with ``replica-serve-stale-data no``, against a real
redis-server in the same state.

Both replicate from a port where nothing listens, so their link stays down. Redis then
answers MASTERDOWN to every command not flagged ``stale`` (INFO, CONFIG, REPLICAOF,
SCRIPT LOAD... run), to an EXEC that queued one, and to scripts unless their shebang
says ``allow-stale``, inside which a command without the flag is refused too.
"""

from __future__ import annotations

import pytest

from tests.differential import compare
from tests.helpers import free_port, redis_server_path, start_ours, start_reference

STALE_SCRIPT = r"""
    GET x
    SET x 1
    PING
    ECHO hi
    ~ INFO server
    CONFIG GET replica-serve-stale-data
    ~ TIME
    ~ SCRIPT LOAD "return 1"
    EVAL "return 1" 0
    EVAL "return redis.call('get', 'x')" 0
    EVAL "#!lua\nreturn 1" 0
    EVAL "#!lua flags=no-writes\nreturn 1" 0
    EVAL "#!lua flags=allow-stale,no-writes\nreturn redis.call('get', 'x')" 0
    EVAL "#!lua flags=allow-stale,no-writes\nreturn redis.call('config', 'get', 'maxmemory')" 0
    FUNCTION LIST
    FCALL nosuch 0
    MULTI
    PING
    EXEC
    MULTI
    CONFIG GET maxmemory
    EXEC
    CONFIG SET replica-serve-stale-data yes
    GET x
    CONFIG SET replica-serve-stale-data no
    GET x
"""


@pytest.fixture
def stale_pair(tmp_path):
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    nowhere = str(free_port())  # nothing listens there: the link stays down
    args = ("--replicaof", "127.0.0.1", nowhere, "--replica-serve-stale-data", "no")
    with start_ours(*args, cwd=str(tmp_path)) as ours, start_reference(*args, cwd=str(tmp_path)) as reference:
        yield ours, reference


def test_a_stale_replica_answers_as_redis(stale_pair):
    ours, reference = stale_pair
    compare(ours.port, reference.port, STALE_SCRIPT)
