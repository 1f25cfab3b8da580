"""Clusters that mix our nodes with real redis-server 7.0.15 ones: formed by redis-cli,
every node's view the same, keys moved both ways by a reshard (MIGRATE from ours to a
real node and back), replicas of either kind following masters of the other, and a
node that dies flagged PFAIL, then FAIL, by all the others, then welcomed back."""

from __future__ import annotations

import subprocess

import pytest
from redis.cluster import RedisCluster

from tests.cluster_helpers import TIMEOUT, Cluster, redis_cli_available, strip_colors, wait_for
from tests.helpers import RawConnection

try:  # redis-py 5.3 and later
    from redis.cluster import LoadBalancingStrategy

    FROM_REPLICAS = {"load_balancing_strategy": LoadBalancingStrategy.ROUND_ROBIN_REPLICAS}
except ImportError:
    FROM_REPLICAS = {"read_from_replicas": True}

pytestmark = pytest.mark.skipif(not redis_cli_available(), reason="redis-server and redis-cli are not installed")


def _reshard(cluster: Cluster, source, target, slots: int) -> None:
    result = subprocess.run(
        ["redis-cli", "--cluster", "reshard", cluster[0].address, "--cluster-from", source.myid(),
         "--cluster-to", target.myid(), "--cluster-slots", str(slots), "--cluster-yes"],
        capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, strip_colors(result.stdout + result.stderr)


def test_a_mixed_cluster_forms_agrees_and_moves_keys_both_ways():
    with Cluster(["ours", "real", "ours", "real"]) as cluster:
        cluster.create()
        cluster.wait_until_agreed()
        cluster.check(cluster[0])  # as our node sees it
        cluster.check(cluster[1])  # as a real node sees it
        client = RedisCluster(host="127.0.0.1", port=cluster[1].port, socket_timeout=TIMEOUT)
        try:
            keys = [f"mixed:{n}" for n in range(300)]
            for key in keys:
                client.set(key, key)
            _reshard(cluster, cluster[1], cluster[0], 150)  # a real node's slots and keys to ours
            cluster.wait_until_agreed()  # redis-cli refuses to reshard while nodes disagree on any slot
            _reshard(cluster, cluster[2], cluster[3], 150)  # ours to a real node
            cluster.wait_until_agreed()
            cluster.check(cluster[2])
            client = RedisCluster(host="127.0.0.1", port=cluster[0].port, socket_timeout=TIMEOUT)
            assert [client.get(key) for key in keys] == [key.encode() for key in keys]
        finally:
            client.close()


def test_replicas_follow_masters_of_the_other_kind():
    with Cluster(["ours", "real", "ours", "real", "ours", "real"]) as cluster:
        cluster.create(replicas=1)
        cluster.wait_until_agreed()
        cluster.check(cluster[0])
        names = cluster.by_name()
        replicas = []
        for node in cluster.nodes:
            flags, master = node.nodes()[node.myid()][2:4]
            if "slave" in flags:
                replicas.append((node, names[master]))
        assert len(replicas) == 3
        assert any(replica.kind != master.kind for replica, master in replicas)
        client = RedisCluster(host="127.0.0.1", port=cluster[0].port, socket_timeout=TIMEOUT)
        try:
            keys = [f"replicated:{n}" for n in range(100)]
            for key in keys:
                client.set(key, key)
        finally:
            client.close()
        for replica, master in replicas:
            assert replica.call("ROLE").startswith(b"*5\r\n$5\r\nslave\r\n")
            wait_for(lambda: replica.call("DBSIZE") == master.call("DBSIZE"), f"{replica} to catch up with {master}")
            # A replica redirects reads to its master, unless the client said READONLY.
            key = master.call("RANDOMKEY").split(b"\r\n")[1].decode()
            assert replica.call("GET", key).startswith(b"-MOVED ")
            with RawConnection(replica.port) as connection:
                assert connection.call("READONLY") == b"+OK\r\n"
                assert connection.call("GET", key) == b"$%d\r\n%s\r\n" % (len(key), key.encode())
            assert b"replica" in replica.call("CLUSTER", "SHARDS")
        reader = RedisCluster(host="127.0.0.1", port=cluster[1].port, socket_timeout=TIMEOUT, **FROM_REPLICAS)
        try:
            assert [reader.get(key) for key in keys] == [key.encode() for key in keys]
        finally:
            reader.close()


def _flags_seen_by(observer, name: str) -> set[str]:
    words = observer.nodes().get(name)
    return set(words[2].split(",")) if words else set()


def test_a_dead_node_is_flagged_pfail_then_fail_and_welcomed_back():
    with Cluster(["ours", "ours", "real", "ours"], node_timeout=1000) as cluster:
        cluster.create()
        cluster.wait_until_agreed()
        dead, watchers = cluster[0], cluster.nodes[1:]
        name = dead.myid()
        dead.kill()
        # Ours flags it PFAIL ("fail?") on its own, then FAIL once the masters agree; the
        # real node comes to the same conclusion, from our reports and its own.
        for watcher in watchers:
            wait_for(lambda: "fail" in _flags_seen_by(watcher, name), f"{watcher} to flag the dead node FAIL")
            wait_for(lambda: watcher.info()["cluster_state"] == "fail", f"{watcher} to say the cluster is down")
        dead.restart()
        cluster.wait_until_ok()
        for watcher in watchers:
            wait_for(lambda: _flags_seen_by(watcher, name) == {"master"}, f"{watcher} to clear the FAIL flag")
        # And a real node that dies is flagged FAIL by ours.
        real = cluster[2]
        real_name = real.myid()
        real.kill()
        for watcher in (cluster[0], cluster[1], cluster[3]):
            wait_for(lambda: "fail" in _flags_seen_by(watcher, real_name), f"{watcher} to flag the real node FAIL")


def test_pfail_shows_before_fail_when_no_majority_agrees():
    """With two of four masters gone, the survivors cannot reach a majority: the dead
    stay "fail?" (PFAIL), never FAIL, and each survivor counts the other's report."""
    with Cluster(["ours", "ours", "ours", "real"], node_timeout=1000) as cluster:
        cluster.create()
        cluster.wait_until_agreed()
        first, second = cluster[2].myid(), cluster[3].myid()
        cluster[2].kill()
        cluster[3].kill()
        for watcher in cluster.nodes[:2]:
            wait_for(lambda: "fail?" in _flags_seen_by(watcher, first) and "fail?" in _flags_seen_by(watcher, second),
                     f"{watcher} to flag both PFAIL")
        wait_for(lambda: cluster[0].call("CLUSTER", "COUNT-FAILURE-REPORTS", first) == b":1\r\n",
                 "the other survivor's failure report")
        assert "fail" not in _flags_seen_by(cluster[0], first)
        assert cluster[0].info()["cluster_state"] == "fail"
