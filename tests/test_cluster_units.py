"""Cluster mode's pieces alone, without sockets: nodes.conf (ours and files real
redis-server 7.0.15 wrote), CLUSTER NODES lines, the keys of each slot, and routing
decisions (MOVED, ASK, TRYAGAIN, CROSSSLOT, CLUSTERDOWN) on a hand-built cluster state."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.cluster import bus, failover, gossip
from app.cluster.bus import CLUSTER_FAIL, CLUSTER_NODE_MASTER, CLUSTER_NODE_MYSELF, CLUSTER_NODE_SLAVE, CLUSTER_OK
from app.cluster.nodes import ClusterNode, NodesConfError, parse_nodes_conf
from app.cluster.routing import asking_spent, serves_here
from app.cluster.slots import key_slot
from app.cluster.state import ClusterState
from app.commands import COMMANDS
from app.config import load_config
from app.pubsub import PubSub
from app.store.keyspace import Keyspace

# Written by redis-server 7.0.15 (CLUSTER SAVECONFIG): a master with a hostname, slots
# being migrated and imported, its replica, and a master flagged fail.
REAL_MASTER_CONF = """\
f289f925e76a6ed05d81a935d81c1be82dc142f4 127.0.0.1:22003@32003 master,fail - 1796596824089 1796596823085 3 disconnected 10923-16383
9948f4fc49977c0fc5e70a9b8aff88384b8d0fd4 127.0.0.1:22001@32001,host-a.test myself,master - 0 1796596827000 1 connected 0-5460 [100->-04c1f44e408b7bdde68ea23d61470a5519ac0588] [6000-<-04c1f44e408b7bdde68ea23d61470a5519ac0588]
68409c81b593314a4d963769833070b0dd76f597 127.0.0.1:22004@32004 slave 9948f4fc49977c0fc5e70a9b8aff88384b8d0fd4 0 1796596828614 1 connected
04c1f44e408b7bdde68ea23d61470a5519ac0588 127.0.0.1:22002@32002 master - 0 1796596828614 2 connected 5461-10922
vars currentEpoch 3 lastVoteEpoch 0
"""  # noqa: E501
# The same cluster seen from the replica, which names its master before itself.
REAL_REPLICA_CONF = """\
9948f4fc49977c0fc5e70a9b8aff88384b8d0fd4 127.0.0.1:22001@32001,host-a.test master - 0 1796596825698 1 connected 0-5460
68409c81b593314a4d963769833070b0dd76f597 127.0.0.1:22004@32004 myself,slave 9948f4fc49977c0fc5e70a9b8aff88384b8d0fd4 0 1796596825000 1 connected
04c1f44e408b7bdde68ea23d61470a5519ac0588 127.0.0.1:22002@32002 master - 0 1796596826103 2 connected 5461-10922
f289f925e76a6ed05d81a935d81c1be82dc142f4 127.0.0.1:22003@32003 master,fail - 1796596824085 1796596823000 3 disconnected 10923-16383
vars currentEpoch 3 lastVoteEpoch 0
"""  # noqa: E501
# A fresh node's file, as redis-server writes it before it knows its own port.
REAL_FRESH_CONF = "a2a370dac670a51f3964c8cb9976a33cca1ae1df :0@0 myself,master - 0 0 0 connected\n" \
                  "vars currentEpoch 0 lastVoteEpoch 0\n"

A = "9948f4fc49977c0fc5e70a9b8aff88384b8d0fd4"
B = "04c1f44e408b7bdde68ea23d61470a5519ac0588"
C = "f289f925e76a6ed05d81a935d81c1be82dc142f4"
D = "68409c81b593314a4d963769833070b0dd76f597"


# --------------------------------------------------------------------------- nodes.conf


def test_a_real_masters_nodes_conf_is_read_whole():
    conf = parse_nodes_conf(REAL_MASTER_CONF)
    nodes = {node.name: node for node in conf.nodes}
    assert conf.myself is nodes[A]
    assert (conf.current_epoch, conf.last_vote_epoch) == (3, 0)
    assert nodes[A].hostname == "host-a.test"
    assert (nodes[A].ip, nodes[A].port, nodes[A].cport) == ("127.0.0.1", 22001, 32001)
    assert bus.mask_to_ranges(nodes[A].slots) == [(0, 5460)]
    assert nodes[A].flags == CLUSTER_NODE_MYSELF | CLUSTER_NODE_MASTER | bus.CLUSTER_NODE_MIGRATE_TO
    assert nodes[C].failed and nodes[C].fail_time > 0
    assert nodes[D].master is nodes[A] and nodes[A].replicas == [nodes[D]]
    assert conf.migrating == {100: B} and conf.importing == {6000: B}
    # Times are not restored: a pending ping or a pong seen means "now", as in Redis.
    assert nodes[C].ping_sent == nodes[B].pong_received > 0 and nodes[B].ping_sent == 0


def test_a_replica_names_its_master_before_the_masters_line():
    conf = parse_nodes_conf(REAL_REPLICA_CONF)
    nodes = {node.name: node for node in conf.nodes}
    assert conf.myself is nodes[D]
    assert nodes[D].master is nodes[A]
    assert nodes[A].is_master and bus.mask_to_ranges(nodes[A].slots) == [(0, 5460)]


def test_a_fresh_real_node_file_is_read():
    conf = parse_nodes_conf(REAL_FRESH_CONF)
    assert conf.myself.name == "a2a370dac670a51f3964c8cb9976a33cca1ae1df"
    assert (conf.myself.ip, conf.myself.port) == ("", 0)


@pytest.mark.parametrize("text", [
    "",
    "vars currentEpoch 3\n",
    f"{A} 127.0.0.1:1@2 master - 0 0 1 connected\n",  # no myself
    f"{A} 127.0.0.1:1@2 myself,master - 0 0 1\n",  # a field short
    f"{A} 127.0.0.1:1@2 myself,bogus - 0 0 1 connected\n",  # an unknown flag
    f"{A} nowhere myself,master - 0 0 1 connected\n",  # no port
    f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected 5-x\n",
    f"{A} 127.0.0.1:1@2 myself,master - 0 0 1 connected\n{B} 127.0.0.1:1@2 myself,master - 0 0 1 connected\n",
])
def test_files_redis_refuses_are_refused(text):
    with pytest.raises(NodesConfError):
        parse_nodes_conf(text)


def test_nodes_conf_round_trip(tmp_path):
    """What we write we read back the same, lines and epochs, then write the same."""
    hostname = ("--cluster-announce-hostname", "host-a.test")  # ours comes from the configuration
    cluster = _cluster(tmp_path, REAL_MASTER_CONF, *hostname)
    first = cluster.nodes_conf_text()
    assert first.splitlines()[-1] == "vars currentEpoch 3 lastVoteEpoch 0"
    with pytest.raises(NodesConfError, match="already used by a different Redis Cluster node"):
        _cluster(tmp_path, None, *hostname)  # the file is locked while its node lives
    cluster.release_config()  # as if its process had ended
    again = _cluster(tmp_path, first, *hostname).nodes_conf_text()
    assert _without_times(again) == _without_times(first)
    assert _without_times(first) == _without_times(REAL_MASTER_CONF)


def _without_times(text: str) -> list[str]:
    """The lines with the ping/pong times (they are "now" once loaded) and link states
    (the links are made afresh) blanked."""
    lines = []
    for line in sorted(text.splitlines()):
        words = line.split()
        if words[0] != "vars":
            words[4:6] = ["t", "t"]
            words[7] = "link"
        lines.append(" ".join(words))
    return lines


def test_a_node_without_a_file_makes_itself_and_writes_one(tmp_path):
    cluster = _cluster(tmp_path)
    text = (tmp_path / "nodes.conf").read_text()
    assert text.startswith(cluster.myself.name + " :")
    assert " myself,master - 0 0 0 connected\n" in text
    assert text.endswith("vars currentEpoch 0 lastVoteEpoch 0\n")
    cluster.release_config()
    assert _cluster(tmp_path).myself.name == cluster.myself.name  # the same node after a restart


# --------------------------------------------------------------------------- CLUSTER NODES lines


def test_node_lines_show_slots_and_open_slots_in_slot_order():
    myself = ClusterNode(A, CLUSTER_NODE_MYSELF | CLUSTER_NODE_MASTER, "127.0.0.1", 7000, 17000)
    other = ClusterNode(B, CLUSTER_NODE_MASTER, "127.0.0.1", 7001, 17001)
    myself.slots = bus.ranges_to_mask([(0, 5), (7, 7), (9, 10)])
    myself.config_epoch = 4
    line = myself.description(migrating={9: other}, importing={8: other, 100: other})
    assert line == (f"{A} 127.0.0.1:7000@17000 myself,master - 0 0 4 connected 0-5 7 9-10 "
                    f"[8-<-{B}] [9->-{B}] [100-<-{B}]")
    replica = ClusterNode(D, CLUSTER_NODE_SLAVE, "10.0.0.1", 7002, 17002)
    replica.master = other
    other.config_epoch = 9
    replica.hostname = "replica.example"
    assert replica.description() == f"{D} 10.0.0.1:7002@17002,replica.example slave {B} 0 0 9 disconnected"
    assert ClusterNode(C, 0).description() == f"{C} :0@0 noflags - 0 0 0 disconnected"


# --------------------------------------------------------------------------- the keys of each slot


def test_slot_keys_count_list_newest_first_and_forget():
    keyspace = Keyspace(2)
    cluster = _cluster_on(keyspace)
    index = cluster.slot_keys
    for key in (b"{a}1", b"{a}2", b"{a}3", b"b"):
        index.added(0, key)
    index.added(0, b"{a}1")  # overwritten: stays where it was
    index.added(1, b"{a}9")  # another database: not indexed
    slot = key_slot(b"a")
    assert index.count(slot) == 3
    assert index.keys(slot, 2) == [b"{a}3", b"{a}2"]
    assert index.keys(slot, 10) == [b"{a}3", b"{a}2", b"{a}1"]
    index.removed(0, b"{a}2")
    assert index.keys(slot) == [b"{a}3", b"{a}1"]
    assert index.slots_with_keys() == sorted([slot, key_slot(b"b")])
    index.flushed(0)
    assert index.count(slot) == 0 and index.slots_with_keys() == []
    keyspace.databases[0].data[b"x"] = b"1"
    index.swapped(0, 1)  # SWAPDB: rebuilt from what database 0 holds now
    assert index.keys(key_slot(b"x")) == [b"x"]


# --------------------------------------------------------------------------- routing


def _cluster_on(keyspace, tmp_path=None, *args: str) -> ClusterState:
    directory = str(tmp_path) if tmp_path is not None else "/nonexistent"
    config = load_config(["--cluster-enabled", "yes", "--dir", directory, "--port", "22001", *args])
    server = SimpleNamespace(config=config, keyspace=keyspace, replication=SimpleNamespace(offset=0))
    server.pubsub = PubSub(server)
    return ClusterState(server)


def _cluster(tmp_path, text: str | None = None, *args: str) -> ClusterState:
    if text is not None:
        (tmp_path / "nodes.conf").write_text(text)
    cluster = _cluster_on(Keyspace(16), tmp_path, *args)
    cluster.load_or_create()
    return cluster


@pytest.fixture
def three(tmp_path):
    """Us (A: 0-5460), B (5461-10922), C (10923-16383), C's replica D; state ok."""
    cluster = _cluster(tmp_path)
    myself = cluster.myself
    others = {}
    for name, port in ((B, 7001), (C, 7002)):
        others[name] = node = ClusterNode(name, CLUSTER_NODE_MASTER, "127.0.0.1", port, port + 10000)
        cluster.add_node(node)
    replica = ClusterNode(D, CLUSTER_NODE_SLAVE, "127.0.0.1", 7003, 17003)
    replica.master = others[C]
    others[C].add_replica(replica)
    cluster.add_node(replica)
    for start, end, node in ((0, 5460, myself), (5461, 10922, others[B]), (10923, 16383, others[C])):
        for slot in range(start, end + 1):
            cluster.add_slot(node, slot)
    cluster.state = CLUSTER_OK
    return cluster


def _route(cluster, *argv: bytes, client=None):
    client = client or _client()
    entry = COMMANDS[argv[0].lower()]
    error = cluster.route(client, entry, list(argv))
    return None if error is None else error.message


def _client(**fields):
    return SimpleNamespace(**{"multi": None, "is_master": False, "asking": False, "readonly": False, **fields})


def _key_in(start: int, end: int, prefix: bytes = b"k") -> bytes:
    """A key whose slot is in start..end."""
    for n in range(100000):
        key = prefix + str(n).encode()
        if start <= key_slot(key) <= end:
            return key
    raise AssertionError


def test_the_quick_check_says_here_only_where_route_would(three):
    """`serves_here` (the dispatcher's fast path) answers True only for commands that
    `route` runs here; anything it is unsure of goes to `route`."""
    ours, theirs = _key_in(0, 5460), _key_in(10923, 16383)
    cases = [(b"GET", ours), (b"SET", ours, b"v"), (b"PING",), (b"GET", theirs), (b"SPUBLISH", theirs, b"m"),
             (b"MSET", ours, b"1"), (b"DEL", ours), (b"EVAL", b"return 1", b"1", ours)]
    quick = [serves_here(three, COMMANDS[argv[0].lower()], list(argv)) for argv in cases]
    assert quick == [True, True, True, False, False, False, False, False]
    for argv, here in zip(cases, quick):
        if here:
            assert _route(three, *argv) is None
    three.migrating[key_slot(ours)] = three.lookup(B)
    assert not serves_here(three, COMMANDS[b"get"], [b"GET", ours])  # a slot on its way out: `route` decides
    del three.migrating[key_slot(ours)]
    three.state = CLUSTER_FAIL
    assert not serves_here(three, COMMANDS[b"get"], [b"GET", ours])
    assert serves_here(three, COMMANDS[b"ping"], [b"PING"])  # no key: served even while down, as `route` says
    assert _route(three, b"PING") is None


def test_keys_of_our_slots_are_served_and_others_redirected(three):
    ours, theirs = _key_in(0, 5460), _key_in(10923, 16383)
    assert _route(three, b"GET", ours) is None
    assert _route(three, b"GET", theirs) == f"MOVED {key_slot(theirs)} 127.0.0.1:7002"
    assert _route(three, b"PING") is None  # no key: served anywhere
    assert _route(three, b"MGET", ours, theirs) == "CROSSSLOT Keys in request don't hash to the same slot"
    assert _route(three, b"MGET", b"{x}1", b"{x}2") in (None, f"MOVED {key_slot(b'x')} 127.0.0.1:7001",
                                                          f"MOVED {key_slot(b'x')} 127.0.0.1:7002")
    assert _route(three, b"SPUBLISH", theirs, b"m") == f"MOVED {key_slot(theirs)} 127.0.0.1:7002"
    assert _route(three, b"EVAL", b"return 1", b"1", theirs) == f"MOVED {key_slot(theirs)} 127.0.0.1:7002"


def test_a_transaction_is_routed_as_a_whole_at_exec(three):
    ours, theirs = _key_in(0, 5460), _key_in(10923, 16383)
    set_command = COMMANDS[b"set"]
    client = _client(multi=[(set_command, [b"SET", ours, b"1"], 1), (set_command, [b"SET", theirs, b"1"], 1)])
    assert _route(three, b"EXEC", client=client) == "CROSSSLOT Keys in request don't hash to the same slot"
    client.multi = [(set_command, [b"SET", theirs, b"1"], 1)]
    assert _route(three, b"EXEC", client=client) == f"MOVED {key_slot(theirs)} 127.0.0.1:7002"
    client.multi = None
    assert _route(three, b"EXEC", client=client) is None  # EXEC without MULTI: its own error


def test_unserved_slots_and_a_down_cluster(three):
    ours = _key_in(0, 5460)
    three.del_slot(key_slot(ours))
    assert _route(three, b"GET", ours) == "CLUSTERDOWN Hash slot not served"
    three.state = bus.CLUSTER_FAIL
    other = _key_in(0, 5460, b"other")
    assert _route(three, b"GET", other) == "CLUSTERDOWN The cluster is down"
    assert _route(three, b"PING") is None
    three.config.values["cluster-allow-reads-when-down"] = True
    assert _route(three, b"GET", other) is None
    assert _route(three, b"SET", other, b"v") == "CLUSTERDOWN The cluster is down and only accepts read commands"
    assert _route(three, b"SPUBLISH", other, b"v") is None  # cluster-allow-pubsubshard-when-down yes


def test_a_migrating_slot_asks_for_missing_keys_and_retries_partial_ones(three):
    db = three.server.keyspace.databases[0]
    tag = _key_in(0, 5460, b"tag")
    here, missing = b"{%s}here" % tag, b"{%s}missing" % tag
    slot = key_slot(here)
    db.set(here, b"v")
    three.migrating[slot] = three.lookup(B)
    assert _route(three, b"GET", here) is None
    assert _route(three, b"GET", missing) == f"ASK {slot} 127.0.0.1:7001"
    assert _route(three, b"MGET", here, missing) == "TRYAGAIN Multiple keys request during rehashing of slot"
    assert _route(three, b"MIGRATE", b"127.0.0.1", b"7001", missing, b"0", b"1000") is None


def test_an_importing_slot_is_served_only_after_asking(three):
    tag = _key_in(5461, 10922, b"imp")
    theirs, other = b"{%s}1" % tag, b"{%s}2" % tag
    slot = key_slot(theirs)
    three.importing[slot] = three.lookup(B)
    assert _route(three, b"GET", theirs) == f"MOVED {slot} 127.0.0.1:7001"
    client = _client(asking=True)
    assert _route(three, b"GET", theirs, client=client) is None
    asking_spent(client, COMMANDS[b"get"])  # what the dispatcher does after the command
    assert client.asking is False  # for one command only
    assert _route(three, b"GET", theirs, client=client) == f"MOVED {slot} 127.0.0.1:7001"
    assert _route(three, b"RESTORE-ASKING", theirs, b"0", b"x") is None  # flagged "asking" itself
    both = _client(asking=True)
    assert _route(three, b"MGET", theirs, other, client=both) == \
        "TRYAGAIN Multiple keys request during rehashing of slot"


def test_a_replica_serves_reads_of_its_masters_slots_to_readonly_clients(three):
    master = three.lookup(C)
    three.myself.flags = (three.myself.flags & ~CLUSTER_NODE_MASTER) | CLUSTER_NODE_SLAVE
    three.myself.master = master
    key = _key_in(10923, 16383)
    redirect = f"MOVED {key_slot(key)} 127.0.0.1:7002"
    assert _route(three, b"GET", key) == redirect
    assert _route(three, b"GET", key, client=_client(readonly=True)) is None
    assert _route(three, b"SET", key, b"v", client=_client(readonly=True)) == redirect
    assert _route(three, b"SSUBSCRIBE", key) is None  # shard channels: from any node of the shard


def test_our_masters_stream_is_never_redirected(three):
    assert _route(three, b"SET", _key_in(10923, 16383), b"v", client=_client(is_master=True)) is None


# --------------------------------------------------------------------------- state


def test_the_state_needs_every_slot_and_a_majority_of_masters(three):
    three.first_update_time = 1  # long past the start-up delay
    three.update_state()
    assert (three.state, three.size) == (CLUSTER_OK, 3)
    three.lookup(B).flags |= bus.CLUSTER_NODE_PFAIL
    three.update_state()
    assert three.state == CLUSTER_OK  # 2 of 3 reachable, every slot served by a master not FAIL
    three.lookup(C).flags |= bus.CLUSTER_NODE_PFAIL
    three.update_state()
    assert three.state == bus.CLUSTER_FAIL  # a minority
    three.lookup(B).flags &= ~bus.CLUSTER_NODE_PFAIL
    three.lookup(C).flags = (three.lookup(C).flags & ~bus.CLUSTER_NODE_PFAIL) | bus.CLUSTER_NODE_FAIL
    three.among_minority_time = 0
    three.update_state()
    assert three.state == bus.CLUSTER_FAIL  # C's slots are served by a FAIL master
    three.config.values["cluster-require-full-coverage"] = False
    three.update_state()
    assert three.state == CLUSTER_OK


def test_cluster_info_lists_redis_fields_in_order(three):
    three.messages_sent[bus.CLUSTERMSG_TYPE_PING] = 3
    three.messages_received[bus.CLUSTERMSG_TYPE_MEET] = 1
    fields = [line.split(":")[0] for line in three.info_text().splitlines()]
    assert fields == ["cluster_state", "cluster_slots_assigned", "cluster_slots_ok", "cluster_slots_pfail",
                      "cluster_slots_fail", "cluster_known_nodes", "cluster_size", "cluster_current_epoch",
                      "cluster_my_epoch", "cluster_stats_messages_ping_sent", "cluster_stats_messages_sent",
                      "cluster_stats_messages_meet_received", "cluster_stats_messages_received",
                      "total_cluster_links_buffer_limit_exceeded"]


# --------------------------------------------------------------------------- gossip, from real messages


class FakeLink:
    """What gossip needs of a link: its node, its direction, its addresses, and what
    was sent over it (decoded)."""

    def __init__(self, node=None, inbound=True):
        self.node = node
        self.inbound = inbound
        self.sent: list[bus.Message] = []
        self.closed = False
        self.ctime = 0

    def send(self, data: bytes) -> None:
        self.sent.append(bus.decode(data))

    def close(self) -> None:
        self.closed = True

    def peer_ip(self) -> str:
        return "127.0.0.1"

    def local_ip(self) -> str:
        return "127.0.0.2"


FIXTURES = Path(__file__).parent / "fixtures" / "cluster_bus"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())


def _real_message(name: str) -> bytes:
    return (FIXTURES / f"{name}.bin").read_bytes()


def test_a_real_meet_adds_its_sender_in_handshake_and_is_answered_with_a_pong(tmp_path):
    cluster = _cluster(tmp_path)
    link = FakeLink()
    gossip.message_received(cluster, link, _real_message("meet"))
    assert cluster.myself.ip == "127.0.0.2"  # a MEET tells us our address
    (pong,) = link.sent
    assert pong.type == bus.CLUSTERMSG_TYPE_PONG and pong.header.sender == cluster.myself.name
    (met,) = [node for node in cluster.nodes.values() if not node.is_myself]
    sender = MANIFEST["nodes"]["A"]
    assert met.in_handshake and (met.ip, met.port, met.cport) == ("127.0.0.1", sender["port"], sender["cport"])
    assert cluster.messages_received[bus.CLUSTERMSG_TYPE_MEET] == 1
    assert cluster.messages_sent[bus.CLUSTERMSG_TYPE_PONG] == 1


def test_a_real_ping_from_a_known_master_teaches_its_slots_hostname_and_gossip(tmp_path):
    cluster = _cluster(tmp_path)
    cluster.myself.config_epoch = 7  # no config epoch collision with the sender's
    a = MANIFEST["nodes"]["A"]
    known = ClusterNode(a["name"], CLUSTER_NODE_MASTER, "127.0.0.1", a["port"], a["cport"])
    cluster.add_node(known)
    message = bus.decode(_real_message("ping_master_hostname"))
    link = FakeLink(known)
    known.inbound_link = link
    gossip.message_received(cluster, link, _real_message("ping_master_hostname"))
    assert known.slots == message.header.myslots and known.config_epoch == message.header.config_epoch
    assert known.hostname == "node-a.bus.test"
    assert cluster.current_epoch == message.header.current_epoch
    for entry in message.body.gossip:  # the nodes it gossips about join under their names
        if entry.nodename != cluster.myself.name:
            assert cluster.lookup(entry.nodename).port == entry.port
    assert [sent.type for sent in link.sent] == [bus.CLUSTERMSG_TYPE_PONG]


def test_a_real_update_hands_slots_to_the_newer_epoch(tmp_path):
    cluster = _cluster(tmp_path)
    message = bus.decode(_real_message("update"))
    body = message.body
    sender = ClusterNode(message.header.sender, CLUSTER_NODE_MASTER, "127.0.0.1", 1, 2)
    owner = ClusterNode(body.nodename, CLUSTER_NODE_MASTER, "127.0.0.1", 3, 4)
    stale = ClusterNode("f" * 40, CLUSTER_NODE_MASTER, "127.0.0.1", 5, 6)
    for node in (sender, owner, stale):
        cluster.add_node(node)
    for slot in bus.mask_to_slots(body.slots):
        cluster.add_slot(stale, slot)
    gossip.message_received(cluster, FakeLink(sender), _real_message("update"))
    assert owner.slots == body.slots and stale.slots == 0 and owner.config_epoch == body.config_epoch


def test_masters_vote_once_per_epoch_for_a_replica_of_a_failed_master(three):
    request = bus.decode(_real_message("failover_auth_request"))
    master = three.lookup(C)
    replica = three.lookup(D)
    master.flags |= bus.CLUSTER_NODE_FAIL
    three.current_epoch = 1  # the replica's election epoch, which its request made ours
    link = FakeLink(replica)
    replica.link = link
    header = replace(request.header, sender=D, current_epoch=three.current_epoch, config_epoch=0,
                     myslots=master.slots)
    failover.vote_if_needed(three, replica, header)
    assert [message.type for message in link.sent] == [bus.CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK]
    assert three.last_vote_epoch == three.current_epoch
    failover.vote_if_needed(three, replica, header)  # the same epoch: no second vote
    assert len(link.sent) == 1
    three.current_epoch += 1
    failover.vote_if_needed(three, replica, replace(header, current_epoch=three.current_epoch))
    assert len(link.sent) == 1  # nor for the same master within twice the node timeout
    master.voted_time = 0
    master.flags &= ~bus.CLUSTER_NODE_FAIL
    failover.vote_if_needed(three, replica, replace(header, current_epoch=three.current_epoch))
    assert len(link.sent) == 1  # nor while its master is up, unless it says FORCEACK
    failover.vote_if_needed(three, replica, replace(header, current_epoch=three.current_epoch,
                                                    mflags=bus.CLUSTERMSG_FLAG0_FORCEACK))
    assert len(link.sent) == 2
