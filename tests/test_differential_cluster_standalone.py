"""The cluster commands on a standalone server, compared with a real Redis started
without cluster support: each subcommand's arity first, then Redis' one error."""

from __future__ import annotations

import subprocess

from tests.differential import compare
from tests.helpers import PROGRAM, free_port

SCRIPT = """
    CLUSTER KEYSLOT a
    CLUSTER HELP
    CLUSTER INFO
    CLUSTER NODES
    CLUSTER SLOTS
    CLUSTER SHARDS
    CLUSTER MYID
    CLUSTER ADDSLOTS 1 2
    CLUSTER ADDSLOTSRANGE 1 2
    CLUSTER MEET 127.0.0.1 1
    CLUSTER COUNTKEYSINSLOT 1
    CLUSTER GETKEYSINSLOT 1 2
    CLUSTER SETSLOT 1 STABLE
    CLUSTER FAILOVER FORCE
    CLUSTER RESET HARD
    CLUSTER FOO
    CLUSTER KEYSLOT
    CLUSTER INFO x
    CLUSTER
    ASKING
    READONLY
    READWRITE
    ASKING x
    SET k v
    ? DUMP k
    RESTORE-ASKING k 0 x
    RESTORE-ASKING k 0 "\\x00\\x01v\\n\\x00\\xd6\\x91\\xd9\\xf2\\xc3\\x0b\\x1d\\xb1"
    COMMAND GETKEYS restore-asking k 0 x
"""


def test_cluster_commands_answer_as_a_standalone_redis(server, reference):
    compare(server.port, reference.port, SCRIPT)


def test_cluster_mode_is_refused_at_start_rather_than_faked():
    result = subprocess.run([str(PROGRAM), "--port", str(free_port()), "--cluster-enabled", "yes"],
                            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert "cluster mode is not available in this server yet" in result.stderr
