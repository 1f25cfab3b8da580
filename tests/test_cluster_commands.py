"""The CLUSTER subcommands on a lone cluster node, ours and a real redis-server 7.0.15,
compared byte for byte in RESP2 and RESP3 (tests/differential.py): their errors, their
replies that hold no node name, and what the cluster-mode refusals say."""

from __future__ import annotations

import subprocess

import pytest

from tests.cluster_helpers import Node, free_port_pair, redis_cli_available
from tests.differential import compare
from tests.helpers import PROGRAM, start_ours

pytestmark = pytest.mark.skipif(not redis_cli_available(), reason="redis-server and redis-cli are not installed")


@pytest.fixture(scope="module")
def lone_nodes():
    ours = Node("ours", "--enable-debug-command", "yes")
    try:
        real = Node("real", "--enable-debug-command", "yes")
    except BaseException:
        ours.stop()
        raise
    try:
        yield ours, real
    finally:
        ours.stop()
        real.stop()


# k126 hashes to slot 58; a to 15495.
ARGUMENT_ERRORS = """
    CLUSTER KEYSLOT foo
    CLUSTER KEYSLOT {user1000}.following
    CLUSTER KEYSLOT foo{}{bar}
    CLUSTER KEYSLOT foo{{bar}}zap
    CLUSTER COUNTKEYSINSLOT 0
    CLUSTER COUNTKEYSINSLOT x
    CLUSTER COUNTKEYSINSLOT -1
    CLUSTER COUNTKEYSINSLOT 16384
    CLUSTER GETKEYSINSLOT 0 10
    CLUSTER GETKEYSINSLOT 1 -1
    CLUSTER GETKEYSINSLOT x 1
    CLUSTER GETKEYSINSLOT 1 x
    CLUSTER GETKEYSINSLOT 16384 1
    CLUSTER ADDSLOTS x
    CLUSTER ADDSLOTS 16384
    CLUSTER ADDSLOTS 1 x
    CLUSTER ADDSLOTS 1 1
    CLUSTER ADDSLOTSRANGE 1
    CLUSTER ADDSLOTSRANGE 1 2 3
    CLUSTER ADDSLOTSRANGE 5 3
    CLUSTER ADDSLOTSRANGE 1 x
    CLUSTER DELSLOTS 1
    CLUSTER DELSLOTSRANGE 1 2
    CLUSTER DELSLOTSRANGE 1 2 3
    CLUSTER ADDSLOTSRANGE 0 100 50 60
    CLUSTER ADDSLOTSRANGE 0 100 200 300
    CLUSTER ADDSLOTS 100
    CLUSTER ADDSLOTS 101 102 101
    CLUSTER DELSLOTS 0 0
    CLUSTER DELSLOTS 150
    CLUSTER COUNTKEYSINSLOT 58
    GET a
    GET k126
    SET k126 v
    ? CONFIG SET cluster-allow-reads-when-down yes
    GET k126
    SET k126 v
    ? CONFIG SET cluster-allow-reads-when-down no
    MGET k126 a
    CLUSTER MEET 1.2.3.4 x
    CLUSTER MEET localhost 1000
    CLUSTER MEET 1.2.3.4 70000
    CLUSTER MEET 1.2.3.4 0
    CLUSTER MEET 1.2.3.4 1 x
    CLUSTER MEET 1.2.3.4 1 70000
    CLUSTER MEET a
    CLUSTER meet a b c d
    CLUSTER SET-CONFIG-EPOCH x
    CLUSTER SET-CONFIG-EPOCH -1
    CLUSTER REPLICAS abc
    CLUSTER SLAVES abc
    CLUSTER FORGET abc
    CLUSTER COUNT-FAILURE-REPORTS abc
    CLUSTER REPLICATE abc
    CLUSTER SETSLOT 1 migrating abc
    CLUSTER SETSLOT 6000 migrating abc
    CLUSTER SETSLOT 1 importing abc
    CLUSTER SETSLOT 6000 importing abc
    CLUSTER SETSLOT 1 node abc
    CLUSTER SETSLOT 1 foo
    CLUSTER SETSLOT 1 node
    CLUSTER SETSLOT 1 stable x
    CLUSTER SETSLOT 99999 stable
    CLUSTER SETSLOT x stable
    CLUSTER SETSLOT 1 stable
    CLUSTER RESET x
    CLUSTER Reset a b
    CLUSTER FAILOVER x
    CLUSTER failover a b
    CLUSTER FAILOVER
    CLUSTER FAILOVER takeover
    CLUSTER FOO
    CLUSTER INFO x
    CLUSTER
    CLUSTER HELP
    ASKING
    ASKING x
    READONLY
    READWRITE
    MULTI
    SET a 1
    EXEC
    MULTI
    PING
    EXEC
    SELECT 0
    SELECT 1
    SELECT x
    SWAPDB 0 1
    MOVE a 1
    REPLICAOF no one
    SLAVEOF 127.0.0.1 1
    PUBLISH channel message
    SPUBLISH a message
    INFO cluster
    DEBUG CLUSTERLINK KILL to abc
    DEBUG CLUSTERLINK KILL all 0123456789012345678901234567890123456789
    DEBUG CLUSTERLINK foo to abc
    DEBUG DROP-CLUSTER-PACKET-FILTER x
    DEBUG DROP-CLUSTER-PACKET-FILTER 1
    DEBUG DROP-CLUSTER-PACKET-FILTER -1
    CLUSTER SET-CONFIG-EPOCH 5
    CLUSTER SET-CONFIG-EPOCH 6
    CLUSTER BUMPEPOCH
    CLUSTER DELSLOTSRANGE 0 99 101 100
    CLUSTER DELSLOTSRANGE 0 99 200 300
    CLUSTER FLUSHSLOTS
    CLUSTER SAVECONFIG
    CLUSTER RESET HARD
    CLUSTER BUMPEPOCH
    CLUSTER RESET hard
"""


def test_cluster_subcommands_answer_as_redis(lone_nodes):
    ours, real = lone_nodes
    compare(ours.port, real.port, ARGUMENT_ERRORS)


def test_a_lone_node_describes_itself_as_redis_does(lone_nodes):
    """Its own line: no address known yet (nobody MEt it), its ports, no slots."""
    for node in lone_nodes:
        name = node.myid()
        assert node.text("CLUSTER", "NODES") == f"{name} :{node.port}@{node.port + 10000} myself,master - 0 0 0 " \
                                                "connected\n"
        node.call("CLUSTER", "ADDSLOTSRANGE", "0", "5", "7", "7")
        assert node.call("CLUSTER", "SLOTS") == (
            b"*2\r\n*3\r\n:0\r\n:5\r\n*4\r\n$0\r\n\r\n:%d\r\n$40\r\n%s\r\n*0\r\n"
            b"*3\r\n:7\r\n:7\r\n*4\r\n$0\r\n\r\n:%d\r\n$40\r\n%s\r\n*0\r\n" % (node.port, name.encode(), node.port,
                                                                                name.encode()))
        assert node.call("CLUSTER", "SHARDS") == (
            b"*1\r\n*4\r\n$5\r\nslots\r\n*4\r\n:0\r\n:5\r\n:7\r\n:7\r\n$5\r\nnodes\r\n*1\r\n*14\r\n"
            b"$2\r\nid\r\n$40\r\n%s\r\n$4\r\nport\r\n:%d\r\n$2\r\nip\r\n$0\r\n\r\n$8\r\nendpoint\r\n$0\r\n\r\n"
            b"$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
            % (name.encode(), node.port))
        assert node.call("CLUSTER", "LINKS") == b"*0\r\n"
        assert node.call("CLUSTER", "MYID") == b"$40\r\n%s\r\n" % name.encode()
        assert node.call("CLUSTER", "FLUSHSLOTS") == b"+OK\r\n"


# Slots 0-8191 served, so k126 (58) and foo (12182: not served) and {k126}x (58).
SCRIPTS = r"""
    ? CLUSTER ADDSLOTSRANGE 0 8191
    ? CONFIG SET cluster-require-full-coverage no
    EVAL "return redis.call('set','k126','1')" 0
    EVAL "return redis.call('set','foo','1')" 0
    EVAL "return redis.pcall('get','foo')" 0
    EVAL "return redis.pcall('mset','k126','1','foo','2')" 0
    EVAL "#!lua\nredis.call('set','k126','1')\nreturn redis.call('get','{k126}x')" 0
    EVAL "#!lua\nredis.call('set','k126','1')\nreturn redis.call('set','x','2')" 0
    EVAL "#!lua\nreturn redis.call('get','x')" 1 k126
    EVAL "#!lua\nreturn redis.call('get',KEYS[1])" 1 k126
    EVAL "#!lua flags=allow-cross-slot-keys\nredis.call('set','k126','1')\nreturn redis.call('set','x','2')" 0
    EVAL "redis.call('set','k126','1')\nreturn redis.call('set','x','2')" 0
    EVAL "#!lua flags=no-cluster\nreturn 1" 0
    EVAL "return 1" 2 k126 foo
    EVAL "return 1" 1 foo
    EVAL "return redis.call('ping')" 0
    ? CONFIG SET cluster-require-full-coverage yes
    EVAL "return redis.call('get','k126')" 0
    EVAL "return redis.call('set','k126','1')" 0
    ? CONFIG SET cluster-allow-reads-when-down yes
    EVAL "return redis.call('get','k126')" 0
    EVAL "return redis.call('set','k126','1')" 0
    ? CONFIG SET cluster-allow-reads-when-down no
    ? CLUSTER RESET HARD
"""


def test_scripts_keep_to_the_slots_served_here_as_in_redis(lone_nodes):
    """A script's commands are routed as a client's would be, and a script with a shebang
    keeps to one slot (Redis: scriptVerifyClusterState)."""
    pytest.importorskip("lupa")
    ours, real = lone_nodes
    compare(ours.port, real.port, SCRIPTS)


def _refused_start(directory: str, *args: str) -> str:
    """Start one of ours as a cluster node in ``directory``; it must exit with status 1.
    Returns what it printed."""
    port = free_port_pair()
    result = subprocess.run([str(PROGRAM), "--port", str(port), "--cluster-enabled", "yes", *args], cwd=directory,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 1
    return result.stdout.decode(errors="replace")


def test_a_second_node_on_the_same_nodes_conf_refuses_to_start(tmp_path):
    """nodes.conf stays locked while its node runs (Redis: clusterLockConfig), even
    after the node has rewritten it."""
    first = Node("ours", "--dir", str(tmp_path))
    try:
        first.call("CLUSTER", "ADDSLOTS", "1")  # rewrites nodes.conf: the new file is locked too
        output = _refused_start(str(tmp_path))
        assert "Sorry, the cluster configuration file nodes.conf is already used by a different Redis Cluster " \
               "node." in output
    finally:
        first.stop()


def test_a_master_with_keys_outside_database_0_refuses_to_start(tmp_path):
    """As Redis: a cluster node serves database 0 only, so keys in another one stop it."""
    with start_ours("--dir", str(tmp_path)) as standalone:
        with standalone.raw() as connection:
            connection.call("SELECT", "1")
            connection.call("SET", "k", "v")
            assert connection.call("SAVE") == b"+OK\r\n"
    output = _refused_start(str(tmp_path))
    assert "You can't have keys in a DB different than DB 0 when in Cluster mode. Exiting." in output
