"""redis-cli's cluster operations that move slots between masters, on a mixed cluster
(two of ours and a real redis-server 7.0.15), as an operator runs them: add-node of an
empty master, rebalance onto it, fix of a slot left half-moved, rebalance away from it,
del-node. The keys written before are all there at the end."""

from __future__ import annotations

import subprocess

import pytest
from redis.cluster import RedisCluster

from tests.cluster_helpers import TIMEOUT, Cluster, Node, redis_cli_available, strip_colors, wait_for

pytestmark = pytest.mark.skipif(not redis_cli_available(), reason="redis-server and redis-cli are not installed")


def cli(*args: str) -> str:
    """``redis-cli --cluster ...``, which must succeed; what it printed."""
    result = subprocess.run(["redis-cli", "--cluster", *args], capture_output=True, text=True, timeout=TIMEOUT,
                            stdin=subprocess.DEVNULL)
    output = strip_colors(result.stdout + result.stderr)
    assert result.returncode == 0, output
    return output


def slot_count(node: Node, name: str) -> int:
    """How many slots ``node`` says the node ``name`` serves."""
    count = 0
    for word in node.nodes()[name][8:]:
        if word.startswith("["):
            continue  # a slot being moved, shown on its own line only
        start, _, end = word.partition("-")
        count += int(end or start) - int(start) + 1
    return count


def test_add_node_rebalance_fix_and_del_node_keep_every_key():
    with Cluster(["ours", "real", "ours"]) as cluster:
        cluster.create()
        cluster.wait_until_agreed()
        client = RedisCluster(host="127.0.0.1", port=cluster[0].port, socket_timeout=TIMEOUT)
        try:
            keys = [f"op:{n}" for n in range(300)]
            for key in keys:
                client.set(key, key)

            # add-node: an empty master of ours joins; once it says ok (a new master
            # waits as Redis does), rebalance gives it a share of every master's slots:
            # a small one (weight 0.1 against 1 for the others: 1/31 of the slots), so
            # that the test moves some 500 slots, not 4,096.
            new = Node("ours")
            cluster.nodes.append(new)
            assert "[OK] New node added correctly." in cli("add-node", new.address, cluster[0].address)
            cluster.wait_until_agreed()
            cluster.wait_until_ok()
            name = new.myid()
            cli("rebalance", cluster[0].address, "--cluster-use-empty-masters", "--cluster-weight", f"{name}=0.1")
            cluster.wait_until_agreed()
            assert 450 <= slot_count(cluster[1], name) <= 600  # about 16384 / 31, as the real node sees it
            cluster.check()

            # fix: a slot left MIGRATING on its owner (a reshard stopped half-way) is closed.
            owner = cluster[1]  # the real node
            slot = next(int(word.split("-")[0]) for word in owner.nodes()[owner.myid()][8:]
                        if not word.startswith("["))
            assert owner.call("CLUSTER", "SETSLOT", str(slot), "MIGRATING", name) == b"+OK\r\n"
            cli("fix", cluster[0].address, "--cluster-yes")
            cluster.wait_until_agreed()
            wait_for(lambda: "[OK] All nodes agree" in cli("check", cluster[0].address), "the fixed cluster to agree")
            cluster.check()

            # Empty the new node (weight 0), then take it out of the cluster.
            cli("rebalance", cluster[0].address, "--cluster-weight", f"{name}=0")
            cluster.wait_until_agreed()
            assert slot_count(cluster[0], name) == 0
            assert "Sending CLUSTER RESET SOFT to the deleted node." in cli("del-node", cluster[0].address, name)
            cluster.nodes.remove(new)
            assert list(new.nodes()) == [name]  # reset: it knows nobody but itself now
            new.stop()
            wait_for(lambda: all(name not in node.nodes() for node in cluster.nodes), "every node to forget it")
            cluster.wait_until_agreed()
            cluster.check()

            client.close()
            client = RedisCluster(host="127.0.0.1", port=cluster[2].port, socket_timeout=TIMEOUT)
            assert [client.get(key) for key in keys] == [key.encode() for key in keys]
        finally:
            client.close()
