"""Replicas taking over from their masters in clusters that mix ours and real
redis-server 7.0.15 nodes: a master that dies is replaced by its replica, elected by
the other masters' votes (ours voting for real replicas and the reverse); one that
comes back follows its successor; and CLUSTER FAILOVER, with FORCE and TAKEOVER, moves
a shard's mastership back and forth between kinds."""

from __future__ import annotations

import threading

import pytest
from redis.cluster import RedisCluster

from app.cluster.slots import key_slot
from tests.cluster_helpers import TIMEOUT, Cluster, Node, redis_cli_available, wait_for

pytestmark = pytest.mark.skipif(not redis_cli_available(), reason="redis-server and redis-cli are not installed")


def _shards(kinds: list[str], pairs: list[tuple[int, int]], node_timeout: int = 2000) -> Cluster:
    """Nodes of ``kinds``: the first three masters (redis-cli create), then each
    (replica, master) of ``pairs`` added with add-node. The node timeout is short for
    quick tests, but not so short that a busy machine makes nodes look dead."""
    cluster = Cluster(kinds, node_timeout=node_timeout)
    try:
        cluster.create(nodes=cluster.nodes[:3])
        for replica, master in pairs:
            cluster.add_replica(cluster[replica], cluster[master])
        cluster.wait_until_agreed()
        for replica, _master in pairs:
            wait_for(lambda: b"master_link_status:up" in cluster[replica].call("INFO", "replication"),
                     f"{cluster[replica]} to sync with its master")
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _is_master_of_its_slots(observer: Node, node: Node, slots: str) -> bool:
    words = observer.nodes().get(node.myid())
    return bool(words) and "master" in words[2].split(",") and words[8:] == slots.split()


def _follows(observer: Node, replica: Node, master: Node) -> bool:
    words = observer.nodes().get(replica.myid())
    return bool(words) and "slave" in words[2].split(",") and words[3] == master.myid()


def _slots_of(node: Node) -> str:
    return " ".join(node.nodes()[node.myid()][8:])


def _wait_promoted(cluster: Cluster, replica: Node, old_master: Node, slots: str, alive: list[Node]) -> None:
    for observer in alive:
        cluster.wait_for(lambda: _is_master_of_its_slots(observer, replica, slots),
                 f"{observer} to see {replica} serve {slots}")
    cluster.wait_until_ok(alive)


def _key_of(slots: str) -> str:
    start, _, end = slots.split()[0].partition("-")
    end = end or start
    for n in range(100000):
        if int(start) <= key_slot(f"key{n}".encode()) <= int(end):
            return f"key{n}"
    raise AssertionError(slots)


def test_dead_masters_are_replaced_by_their_replicas_of_either_kind():
    # 0 ours <- 3 real, 1 real <- 4 ours, 2 ours <- 5 ours
    with _shards(["ours", "real", "ours", "real", "ours", "ours"], [(3, 0), (4, 1), (5, 2)]) as cluster:
        m0, m1, m2, r0, r1, r2 = cluster.nodes
        slots0, slots1 = _slots_of(m0), _slots_of(m1)
        key0, key1 = _key_of(slots0), _key_of(slots1)
        client = RedisCluster(host="127.0.0.1", port=m2.port, socket_timeout=TIMEOUT)
        try:
            client.set(key0, "before")
            client.set(key1, "before")
        finally:
            client.close()
        wait_for(lambda: r0.call("DBSIZE") == m0.call("DBSIZE"), "the real replica to catch up")
        wait_for(lambda: r1.call("DBSIZE") == m1.call("DBSIZE"), "our replica to catch up")
        m0.kill()  # ours: its real replica is elected, with our votes and a real one
        _wait_promoted(cluster, r0, m0, slots0, [m1, m2, r1, r2, r0])
        m1.kill()  # real: our replica is elected
        _wait_promoted(cluster, r1, m1, slots1, [m2, r2, r0, r1])
        client = RedisCluster(host="127.0.0.1", port=r1.port, socket_timeout=TIMEOUT)
        try:
            assert client.get(key0) == b"before" and client.get(key1) == b"before"
            client.set(key0, "after")
        finally:
            client.close()
        m0.restart()  # back from the dead, it learns it lost its slots and follows r0
        for observer in (m0, m2, r0, r1):
            cluster.wait_for(lambda: _follows(observer, m0, r0),
                             f"{observer} to see the old master follow its successor")
        wait_for(lambda: b"master_link_status:up" in m0.call("INFO", "replication"), "the old master to sync")
        wait_for(lambda: m0.call("DBSIZE") == r0.call("DBSIZE"), "the old master to hold its successor's data")


class Writer:
    """INCRs one key through redis-py's cluster client, on a thread, until stopped;
    any error but the redirections it follows fails the test."""

    def __init__(self, port: int, key: str):
        self.key = key
        self.client = RedisCluster(host="127.0.0.1", port=port, socket_timeout=TIMEOUT)
        self.acknowledged = 0
        self.error: Exception | None = None
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        wait_for(lambda: self.acknowledged or self.error, "the first write")

    def _run(self) -> None:
        try:
            while self.running:
                self.client.incr(self.key)
                self.acknowledged += 1
        except Exception as error:  # noqa: BLE001 - reported by `stop`
            self.error = error

    def stop(self) -> int:
        self.running = False
        self.thread.join(TIMEOUT)
        self.client.close()
        assert self.error is None, repr(self.error)
        return self.acknowledged


def test_cluster_failover_moves_a_shard_between_kinds_and_back():
    # 0 ours <- 3 real, 1 real <- 4 ours
    # A master votes about one failed master once in twice the node timeout: 1 s here,
    # so that the elections about one shard's master, two steps apart, both get votes.
    with _shards(["ours", "real", "ours", "real", "ours"], [(3, 0), (4, 1)], node_timeout=1000) as cluster:
        m0, m1, _m2, r0, r1 = cluster.nodes
        slots0, slots1 = _slots_of(m0), _slots_of(m1)
        steps = [
            (r1, "", m1, slots1),  # our replica, a real master: agreed with the master
            (m1, "TAKEOVER", r1, slots1),  # a real replica takes over from ours, no vote
            (r0, "", m0, slots0),  # a real replica, our master pauses for it
            (r1, "FORCE", m1, slots1),  # ours again, elected without asking its master
            (m0, "TAKEOVER", r0, slots0),  # ours takes over without a vote
        ]
        for replica, mode, master, slots in steps:
            # While our master pauses for its real replica, a client keeps writing:
            # held, then redirected to the new master, and nothing it was told is lost.
            writer = Writer(m0.port, _key_of(slots0)) if (replica, mode) == (r0, "") else None
            argv = ["CLUSTER", "FAILOVER"] + ([mode] if mode else [])
            assert replica.call(*argv) == b"+OK\r\n", (replica, mode)
            for observer in cluster.nodes:
                cluster.wait_for(lambda: _is_master_of_its_slots(observer, replica, slots)
                         and _follows(observer, master, replica),
                         f"{observer} to see {replica} replace {master} ({mode or 'default'})")
            cluster.wait_until_ok()
            if writer is not None:
                acknowledged = writer.stop()
                assert acknowledged > 0
                assert int(replica.call("GET", writer.key)[1:].split(b"\r\n")[1]) >= acknowledged
        client = RedisCluster(host="127.0.0.1", port=m0.port, socket_timeout=TIMEOUT)
        try:
            client.set("after-failovers", "1")
            assert client.get("after-failovers") == b"1"
        finally:
            client.close()


def test_a_spare_replica_migrates_to_an_orphaned_master():
    """0 has two replicas (ours and a real one), 1 and 2 one each; 1's dies: 1 is an
    orphan, and the replica of 0 with the smaller name moves to it (after 5 s). The
    masters get their replicas first, 0 last: a master left without one meanwhile could
    get a spare replica before the test starts (Redis' own nodes do that too)."""
    kinds = ["ours", "ours", "ours", "ours", "ours", "ours", "real"]
    with _shards(kinds, [(3, 1), (4, 2), (5, 0), (6, 0)]) as cluster:
        m0, m1, m2, lost, _other, ours, real = cluster.nodes
        lost.kill()
        expected = min((ours, real), key=Node.myid)
        for observer in (m0, m1, m2, ours, real):
            cluster.wait_for(lambda: _follows(observer, expected, m1),
                             f"{observer} to see {expected} move to the orphan")
        stayed = real if expected is ours else ours
        assert _follows(m2, stayed, m0)
