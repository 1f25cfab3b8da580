"""The cluster commands on a standalone server, compared with a real Redis started
without cluster support: each subcommand's arity first, then Redis' one error."""

from __future__ import annotations

import subprocess

from tests.differential import compare
from tests.cluster_helpers import free_port_pair as free_cluster_port
from tests.helpers import PROGRAM, free_port, start_ours

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


def test_cluster_enabled_starts_a_cluster_node(tmp_path):
    """``cluster-enabled yes`` starts cluster mode: a node of its own, saved in nodes.conf
    in ``dir`` (tests/test_cluster_*.py test the rest)."""
    port = free_cluster_port()
    with start_ours("--cluster-enabled", "yes", "--dir", str(tmp_path), port=port) as node:
        with node.raw() as connection:
            assert connection.call("INFO", "cluster") == b"$30\r\n# Cluster\r\ncluster_enabled:1\r\n\r\n"
            name = connection.call("CLUSTER", "MYID").split(b"\r\n")[1].decode()
            assert connection.call("CLUSTER", "KEYSLOT", "a") == b":15495\r\n"
    assert (tmp_path / "nodes.conf").read_text().startswith(f"{name} :{port}@{port + 10000} myself,master - 0 0 0 ")


def test_cluster_mode_refuses_replicaof_and_ports_without_room_for_the_bus():
    for args in (["--port", str(free_port()), "--replicaof", "127.0.0.1 1"], ["--port", "60000"]):
        result = subprocess.run([str(PROGRAM), *args, "--cluster-enabled", "yes"], capture_output=True, text=True,
                                timeout=30, stdin=subprocess.DEVNULL)
        assert result.returncode == 1, result.stdout + result.stderr
