"""Three masters formed by ``redis-cli --cluster create``: ours, next to real redis-server
7.0.15 ones formed the same way. The topology replies (CLUSTER INFO, SLOTS, SHARDS,
NODES) and the redirections (MOVED, ASK, TRYAGAIN, CROSSSLOT, through a slot moved by
hand) must match Redis' once node names and ports are replaced by labels; then
redis-py's cluster client, Pub/Sub across nodes, and a reshard with redis-cli."""

from __future__ import annotations

import subprocess
import threading

import pytest
import redis
from redis.cluster import RedisCluster

from app.cluster.slots import key_slot
from app.protocol import split_inline
from tests.cluster_helpers import TIMEOUT, Cluster, redis_cli_available, strip_colors, wait_for
from tests.helpers import RawConnection

pytestmark = pytest.mark.skipif(not redis_cli_available(), reason="redis-server and redis-cli are not installed")

# redis-cli gives node 0 slots 0-5460, node 1 5461-10922, node 2 10923-16383.
K0, K1, K2 = "k2", "k0", "k1"  # a key served by node 0, by node 1, by node 2
TAG = "t2"  # {t2} hashes to 4748, node 0's
SLOT = key_slot(TAG.encode())


@pytest.fixture(scope="module")
def clusters():
    """(ours, real): three masters each."""
    with Cluster(["ours"] * 3) as ours, Cluster(["real"] * 3) as real:
        ours.create()
        real.create()
        ours.wait_until_agreed()
        real.wait_until_agreed()
        yield ours, real


def labels(cluster: Cluster) -> list[tuple[bytes, bytes]]:
    """What differs between two clusters of one shape, and the same-length label for it:
    names (40 characters), bus ports and client ports (5 digits each)."""
    pairs = []
    for index, node in enumerate(cluster.nodes):
        pairs.append((node.myid().encode(), f"node{index}".ljust(40, "_").encode()))
        pairs.append((str(node.port + 10000).encode(), f"B{index}".ljust(5, "_").encode()))
        pairs.append((str(node.port).encode(), f"P{index}".ljust(5, "_").encode()))
    return pairs


def normalized(data: bytes, pairs) -> bytes:
    for value, label in pairs:
        data = data.replace(value, label)
    return data


def expand(argv: list[str], cluster: Cluster) -> list[str]:
    """@N1@ is node 1's name, @P1@ its port."""
    names = [node.myid() for node in cluster.nodes]
    out = []
    for arg in argv:
        for index, node in enumerate(cluster.nodes):
            arg = arg.replace(f"@N{index}@", names[index]).replace(f"@P{index}@", str(node.port))
        out.append(arg)
    return out


def run_steps(cluster: Cluster, steps: list[tuple[int, str]], protocol: int = 2) -> list[bytes]:
    """Each step on one connection per node, kept for the whole script (MULTI, ASKING)."""
    pairs = labels(cluster)
    connections = [RawConnection(node.port, protocol) for node in cluster.nodes]
    try:
        replies = []
        for index, line in steps:
            argv = expand([arg.decode() for arg in split_inline(line.encode())], cluster)
            replies.append(normalized(connections[index].call(*argv), pairs))
        return replies
    finally:
        for connection in connections:
            connection.close()


def compare_steps(clusters, steps: list[tuple[int, str]], protocol: int = 2) -> None:
    ours, real = clusters
    mine, theirs = run_steps(ours, steps, protocol), run_steps(real, steps, protocol)
    problems = [f"node {index}: {line}\n   ours:  {got!r}\n   redis: {want!r}"
                for (index, line), got, want in zip(steps, mine, theirs) if got != want]
    assert not problems, "replies differ from Redis:\n" + "\n".join(problems)


def test_redis_cli_creates_and_checks_our_cluster(clusters):
    ours, _real = clusters
    output = ours.check()
    assert output.count("slots:") == 3


def test_topology_replies_match_redis(clusters):
    for protocol in (2, 3):
        compare_steps(clusters, [(index, command) for index in range(3)
                                 for command in ("CLUSTER SLOTS", "CLUSTER KEYSLOT foo", "CLUSTER COUNTKEYSINSLOT 1")],
                      protocol)
    ours, real = clusters
    for index in range(3):
        mine, theirs = _info(ours[index]), _info(real[index])
        assert mine == theirs
        assert _nodes(ours, index) == _nodes(real, index)
        assert _shards(ours, index) == _shards(real, index)


def _info(node) -> dict:
    """CLUSTER INFO without the message counters."""
    return {key: value for key, value in node.info().items() if not key.startswith("cluster_stats_messages")}


def _nodes(cluster: Cluster, index: int) -> list[str]:
    """CLUSTER NODES of one node, labelled, without the ping and pong times."""
    text = normalized(cluster[index].call("CLUSTER", "NODES"), labels(cluster)).decode()
    lines = []
    for line in text.split("\r\n", 1)[1].strip().splitlines():
        words = line.split()
        lines.append(" ".join(words[:4] + words[6:]))
    return sorted(lines)


def _shards(cluster: Cluster, index: int) -> list:
    """CLUSTER SHARDS, labelled, sorted by slots (Redis lists them in hash table order)."""
    with RawConnection(cluster[index].port, 3) as connection:
        raw = normalized(connection.call("CLUSTER", "SHARDS"), labels(cluster))
    return sorted(raw.split(b"%2\r\n$5\r\nslots\r\n")[1:])


MIGRATION = [
    (0, f"SET {K0} v"),
    (0, f"SET {K1} v"),
    (1, f"SET {K1} v"),
    (0, f"GET {K2}"),
    (2, f"GET {K2}"),
    (0, f"MGET {K0} {K1}"),
    (0, "MSET {t2}a 1 {t2}b 2"),
    (1, "MGET {t2}a {t2}b"),
    (0, "MULTI"),
    (0, f"SET {K0} x"),
    (0, f"SET {K2} x"),
    (0, "EXEC"),
    (0, "MULTI"),
    (0, f"GET {K0}"),
    (0, "EXEC"),
    (2, f"EVAL return 1 1 {K0}"),
    (0, f"SPUBLISH {K1} m"),
    (0, "PUBLISH channel m"),
    (0, "READONLY"),
    (0, f"GET {K1}"),
    (0, "READWRITE"),
    (0, "ASKING"),
    (0, f"GET {K1}"),
    (0, f"CLUSTER SETSLOT {SLOT} MIGRATING @N1@"),
    (1, f"CLUSTER SETSLOT {SLOT} IMPORTING @N0@"),
    (0, "GET {t2}a"),
    (0, "GET {t2}missing"),
    (0, "SET {t2}new x"),
    (0, "MGET {t2}a {t2}missing"),
    (0, "MGET {t2}missing {t2}other"),
    (1, "GET {t2}missing"),
    (1, "ASKING"),
    (1, "GET {t2}missing"),
    (1, "GET {t2}missing"),
    (1, "ASKING"),
    (1, "MGET {t2}missing {t2}other"),
    (1, "ASKING"),
    (1, "SET {t2}c 1"),
    (1, "ASKING"),
    (1, "MGET {t2}c {t2}c"),
    (1, "MULTI"),
    (1, "ASKING"),
    (1, "SET {t2}d 1"),
    (1, "GET {t2}c"),
    (1, "EXEC"),
    (1, "ASKING"),  # before MULTI: it lasts until EXEC
    (1, "MULTI"),
    (1, "SET {t2}e 1"),
    (1, "GET {t2}c"),
    (1, "EXEC"),
    (1, "SET {t2}e 2"),  # and no longer
    (1, "ASKING"),
    (1, "NOSUCHCOMMAND"),  # a refused command spends it too
    (1, "GET {t2}c"),
    (0, "MIGRATE 127.0.0.1 @P1@ {t2}a 0 5000"),
    (0, "GET {t2}a"),
    (1, "ASKING"),
    (1, "GET {t2}a"),
    (0, f"CLUSTER COUNTKEYSINSLOT {SLOT}"),
    (0, f"CLUSTER GETKEYSINSLOT {SLOT} 10"),
    (1, f"CLUSTER COUNTKEYSINSLOT {SLOT}"),
    (1, f"CLUSTER GETKEYSINSLOT {SLOT} 10"),
    (1, f"CLUSTER GETKEYSINSLOT {SLOT} 1"),
    (0, f"CLUSTER SETSLOT {SLOT} NODE @N1@"),
    (0, "MIGRATE 127.0.0.1 @P1@ \"\" 0 5000 KEYS {t2}b"),
    (0, f"CLUSTER SETSLOT {SLOT} NODE @N1@"),
    (1, f"CLUSTER SETSLOT {SLOT} NODE @N1@"),
    (0, "GET {t2}a"),
    (1, "GET {t2}a"),
    (1, "GET {t2}b"),
    (0, f"CLUSTER COUNTKEYSINSLOT {SLOT}"),
    (1, f"CLUSTER COUNTKEYSINSLOT {SLOT}"),
]


def test_redirections_through_a_slot_moved_by_hand_match_redis(clusters):
    compare_steps(clusters, MIGRATION)
    # The new owner took a new config epoch, and its PONGs tell the third node.
    for cluster in clusters:
        moved = b"-MOVED %d 127.0.0.1:%d\r\n" % (SLOT, cluster[1].port)
        wait_for(lambda: cluster[2].call("GET", "{t2}a") == moved, "the third node to learn that the slot moved")


def test_a_client_blocked_on_a_slot_that_moves_away_is_redirected_as_in_redis(clusters):
    """BLPOP waits on node 0; its key's slot is given to node 1: the wait ends with
    MOVED (Redis: clusterRedirectBlockedClientIfNeeded), not at its timeout."""
    slot = key_slot(b"b1")  # 2874, node 0's
    replies = []
    for cluster in clusters:
        blocked = RawConnection(cluster[0].port, timeout=TIMEOUT)
        try:
            blocked.send_command("BLPOP", "{b1}list", "0")
            wait_for(lambda: b"blocked_clients:1" in cluster[0].call("INFO", "clients"), "BLPOP to block")
            for node in (cluster[1], cluster[0]):
                assert node.call("CLUSTER", "SETSLOT", str(slot), "NODE", cluster[1].myid()) == b"+OK\r\n"
            replies.append(normalized(blocked.read_raw(), labels(cluster)))
        finally:
            blocked.close()
    assert replies[0] == replies[1] == b"-MOVED %d 127.0.0.1:P1___\r\n" % slot
    # The third node learns of the move from node 1's next PONGs: the tests after this one
    # (redis-cli's reshard first checks that every node agrees) start from a settled cluster.
    for cluster in clusters:
        cluster.wait_until_agreed()


def test_redis_py_cluster_client_reads_its_writes(clusters):
    ours, _real = clusters
    for node in ours.nodes:
        node.call("FLUSHALL")
    client = RedisCluster(host="127.0.0.1", port=ours[0].port, socket_timeout=TIMEOUT)
    try:
        keys = [f"user:{n}" for n in range(400)]
        for key in keys:
            client.set(key, key.upper())
        assert [client.get(key) for key in keys] == [key.upper().encode() for key in keys]
        assert client.mget("{u}1", "{u}2") == [None, None]
    finally:
        client.close()
    slots = {key_slot(key.encode()) for key in keys}
    total = 0
    for node in ours.nodes:
        count = int(node.call("DBSIZE")[1:-2])
        total += count
        # The keys of each slot are known without a scan, and add up.
        assert sum(int(node.call("CLUSTER", "COUNTKEYSINSLOT", str(slot))[1:-2]) for slot in slots) == count
    assert total == len(keys)


def test_publish_reaches_subscribers_of_every_node(clusters):
    ours, _real = clusters
    subscriber = redis.Redis(port=ours[2].port).pubsub()
    try:
        subscriber.subscribe("news")
        assert subscriber.get_message(timeout=TIMEOUT)["type"] == "subscribe"
        assert redis.Redis(port=ours[0].port).publish("news", "hello") == 0  # nobody on node 0 itself
        message = subscriber.get_message(timeout=TIMEOUT)
        while message is not None and message["type"] != "message":
            message = subscriber.get_message(timeout=TIMEOUT)
        assert message["data"] == b"hello"
    finally:
        subscriber.close()


def test_redis_cli_reshards_slots_with_their_keys(clusters):
    """redis-cli moves 200 slots from node 0 to node 2 while a client writes and reads
    keys of those slots through redis-py (which follows MOVED and ASK): no reply is
    wrong, and no key is lost."""
    ours, _real = clusters
    ours.wait_until_agreed()  # redis-cli refuses to reshard while nodes disagree on any slot
    client = RedisCluster(host="127.0.0.1", port=ours[0].port, socket_timeout=TIMEOUT)
    writer = None
    try:
        keys = [f"reshard:{n}" for n in range(300)]
        for key in keys:
            client.set(key, key)
        live = [key for key in (f"live:{n}".encode() for n in range(20000)) if key_slot(key) < 200][:40]
        writer = _LiveWriter(ours[0].port, live)
        source, target = ours[0].myid(), ours[2].myid()
        result = subprocess.run(
            ["redis-cli", "--cluster", "reshard", ours[0].address, "--cluster-from", source, "--cluster-to", target,
             "--cluster-slots", "200", "--cluster-yes"],
            capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, strip_colors(result.stdout + result.stderr)
        last = writer.stop()
        assert not writer.wrong, writer.wrong[:5]
        assert writer.rounds >= 2  # it wrote through the whole reshard, and some
        ours.wait_until_agreed()
        ours.check()
        moved = [key for key in live if ours[2].call("CLUSTER", "COUNTKEYSINSLOT", str(key_slot(key))) != b":0\r\n"]
        assert moved, "the reshard moved none of the slots the client wrote to"
        client = RedisCluster(host="127.0.0.1", port=ours[1].port, socket_timeout=TIMEOUT)
        assert [client.get(key) for key in keys] == [key.encode() for key in keys]
        assert {key: client.get(key) for key in live} == last
    finally:
        if writer is not None:
            writer.stop()
        client.close()


class _LiveWriter:
    """A client that keeps writing each key then reading it back, in a thread, and
    notes any reply that is not what it has just written."""

    def __init__(self, port: int, keys: list[bytes]):
        self.client = RedisCluster(host="127.0.0.1", port=port, socket_timeout=TIMEOUT)
        self.keys = keys
        self.wrong: list = []
        self.last: dict[bytes, bytes] = {}
        self.rounds = 0
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while self.running:
                for key in self.keys:
                    value = b"%s:%d" % (key, self.rounds)
                    self.client.set(key, value)
                    self.last[key] = value
                    got = self.client.get(key)
                    if got != value:
                        self.wrong.append((key, value, got))
                self.rounds += 1
        except Exception as error:  # noqa: BLE001 - an error is a wrong reply too
            self.wrong.append(repr(error))

    def stop(self) -> dict[bytes, bytes]:
        self.running = False
        self.thread.join(TIMEOUT)
        self.client.close()
        return dict(self.last)
