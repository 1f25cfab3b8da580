"""Capture real Redis cluster bus messages as test fixtures (tests/fixtures/cluster_bus/).

    python3 tools/capture_cluster_bus.py            # needs /usr/bin/redis-server 7.0, redis-py

It starts four redis-server nodes on loopback (A, B and C masters, D a replica of A),
with cluster-node-timeout 1000, and puts a relay in front of each node's bus port: every
node announces its relay's port as its bus port (cluster-announce-bus-port), so every
other node connects to it through the relay, which forwards the bytes and records each
message, in both directions, framed with app.cluster.bus.message_length.

Then it plays a scenario that makes the nodes send every message type of 7.0 but
MODULE (which needs a module): MEET while the cluster forms; PING and PONG with gossip
and the hostname extension (A, B and D announce a hostname, C announces its IP instead;
a few keys written to A make the replication offsets in the headers non-zero);
PUBLISH (on B) and PUBLISHSHARD (SPUBLISH on A, to its replica); CLUSTER FAILOVER on D
(MFSTART, a paused master's PING, FAILOVER_AUTH_REQUEST with FORCEACK and the
FAILOVER_AUTH_ACKs); D, now master, is stopped (SIGSTOP), the others agree it failed
(PINGs gossip D as PFAIL, then FAIL) and elect A again (FAILOVER_AUTH_REQUEST without
FORCEACK); D resumes (SIGCONT) still claiming its slots and is told otherwise (UPDATE).

One message of each kind is written as <name>.bin, and manifest.json says who the nodes
were (names, ports, hostnames, slots) and who sent each file, for the tests to check
against. Every process it starts is stopped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cluster import bus

REDIS_SERVER = "/usr/bin/redis-server"
OUT = ROOT / "tests" / "fixtures" / "cluster_bus"
NODE_TIMEOUT_MS = 1000


# --------------------------------------------------------------------------- ports


def _can_bind(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free client port whose bus port (+10000) is free too; never 6379/6380."""
    while True:
        port = random.randrange(20000, 30000)
        if _can_bind(port) and _can_bind(port + 10000):
            return port


# --------------------------------------------------------------------------- the relay


@dataclass
class Captured:
    at: float  # seconds since the capture started
    to_node: str  # the label of the node whose relay carried it
    inbound: bool  # True: sent to that node; False: its answer on the same link
    phase: str  # the step of the scenario it was sent in
    raw: bytes


class Relay:
    """Listens on a port of its own and forwards each connection to one node's real bus
    port, recording every message that passes, in both directions."""

    def __init__(self, label: str, record):
        self.label = label
        self.record = record
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target_port: int | None = None
        self.sockets: list[socket.socket] = []
        self.closed = False

    def start(self, target_port: int) -> None:
        self.target_port = target_port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, inbound: bool) -> None:
        pending = b""
        while True:
            try:
                chunk = source.recv(65536)
                if not chunk:
                    break
                sink.sendall(chunk)
            except OSError:
                break
            pending += chunk
            # Frame as a node does: 8 bytes tell the length, then wait for the rest.
            while len(pending) >= bus.FRAME_PREFIX_SIZE:
                length = bus.message_length(pending)
                if len(pending) < length:
                    break
                self.record(self.label, inbound, pending[:length])
                pending = pending[length:]
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.closed = True
        for sock in [self.listener, *self.sockets]:
            try:
                sock.close()
            except OSError:
                pass


# --------------------------------------------------------------------------- nodes


@dataclass
class Node:
    label: str
    port: int
    relay: Relay
    hostname: str | None = None
    announce_ip: str | None = None
    process: subprocess.Popen | None = None
    name: str = ""
    slots: list[tuple[int, int]] = field(default_factory=list)

    @property
    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True, socket_timeout=5)

    def start(self, directory: str) -> None:
        argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{self.port}.conf",
                "--dir", directory, "--save", "", "--appendonly", "no",
                "--logfile", f"redis-{self.port}.log",
                "--cluster-node-timeout", str(NODE_TIMEOUT_MS),
                "--cluster-replica-validity-factor", "0",
                "--cluster-announce-bus-port", str(self.relay.port)]
        if self.hostname:
            argv += ["--cluster-announce-hostname", self.hostname]
        if self.announce_ip:
            argv += ["--cluster-announce-ip", self.announce_ip]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        self.relay.start(self.port + 10000)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGCONT)  # a stopped process cannot die of SIGTERM
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def wait_until(condition, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except (redis.ConnectionError, redis.TimeoutError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def role(node: Node) -> str:
    return node.client.info("replication")["role"]


# --------------------------------------------------------------------------- the scenario


def play(nodes: dict[str, Node], directory: str, phase: dict) -> None:
    a, b, c, d = nodes["A"], nodes["B"], nodes["C"], nodes["D"]
    for node in nodes.values():
        node.start(directory)
    for node in nodes.values():
        wait_until(lambda node=node: node.client.ping(), f"node {node.label} to start")
        node.name = node.client.execute_command("CLUSTER", "MYID")

    a.slots, b.slots, c.slots = [(0, 5460)], [(5461, 10922)], [(10923, 16383)]
    for node in (a, b, c):
        for start, end in node.slots:
            node.client.execute_command("CLUSTER", "ADDSLOTSRANGE", start, end)

    phase["name"] = "meet"
    for node in (b, c, d):  # to the relay: the MEET goes through it too
        a.client.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, node.relay.port)
    for node in nodes.values():
        wait_until(lambda node=node: node.client.cluster("info")["cluster_state"] == "ok"
                   and int(node.client.cluster("info")["cluster_known_nodes"]) == 4,
                   f"node {node.label} to see the whole cluster")
    d.client.execute_command("CLUSTER", "REPLICATE", a.name)
    wait_until(lambda: d.client.info("replication").get("master_link_status") == "up",
               "D to replicate A")
    for i in range(1000):  # a few writes to A, so that replication offsets are not 0
        if a.client.execute_command("CLUSTER", "KEYSLOT", f"key-{i}") <= 5460:
            a.client.set(f"key-{i}", "x" * 100)
    d.slots = a.slots
    phase["name"] = "steady"
    time.sleep(2)  # a few rounds of PING and PONG with D as a replica

    phase["name"] = "publish"
    b.client.publish("news", "hello from B")
    channel = next(f"shard-news-{i}" for i in range(1000)
                   if a.client.execute_command("CLUSTER", "KEYSLOT", f"shard-news-{i}") <= 5460)
    a.client.execute_command("SPUBLISH", channel, "hello from A's shard")
    time.sleep(0.5)

    phase["name"] = "manual failover"
    d.client.execute_command("CLUSTER", "FAILOVER")
    wait_until(lambda: role(d) == "master" and role(a) == "slave", "D to take over from A")
    time.sleep(1)

    phase["name"] = "failure"
    os.kill(d.process.pid, signal.SIGSTOP)
    wait_until(lambda: role(a) == "master", "A to be elected when D stops")
    time.sleep(1)

    phase["name"] = "return"
    os.kill(d.process.pid, signal.SIGCONT)
    wait_until(lambda: role(d) == "slave", "D to learn it lost its slots")
    time.sleep(1)


# --------------------------------------------------------------------------- choosing fixtures


def choose(captured: list[Captured], nodes: dict[str, Node]) -> dict[str, tuple[Captured, bus.Message, str]]:
    """One message of each kind worth testing, by file name: (capture, message, why)."""
    by_name = {node.name: node for node in nodes.values()}
    decoded = [(item, bus.decode(item.raw)) for item in captured]
    picks: dict[str, tuple[Captured, bus.Message, str]] = {}

    def pick(file: str, why: str, test, first: bool = False) -> None:
        # The last one unless told otherwise: by then every node knows every other.
        candidates = [(item, message) for item, message in decoded
                      if message.header.sender in by_name and test(item, message)]
        if candidates:
            item, message = candidates[0 if first else -1]
            picks[file] = (item, message, why)
        else:
            print(f"missing: {file} ({why})", file=sys.stderr)

    def sender(message: bus.Message) -> Node:
        return by_name[message.header.sender]

    def pings(kind):
        return lambda item, m: m.type == kind and item.phase == "steady"

    ping, pong = bus.CLUSTERMSG_TYPE_PING, bus.CLUSTERMSG_TYPE_PONG
    pick("meet", "the first MEET from A while the cluster forms",
         lambda item, m: m.type == bus.CLUSTERMSG_TYPE_MEET and sender(m).label == "A",
         first=True)
    pick("ping_master_hostname", "a PING from master A: gossip and its hostname extension",
         lambda item, m: pings(ping)(item, m) and sender(m).label == "A" and m.body.gossip)
    pick("pong_master_announced_ip", "a PONG from master C: announced IP, no extension",
         lambda item, m: pings(pong)(item, m) and sender(m).label == "C" and m.body.gossip)
    pick("pong_replica_hostname", "a PONG from replica D: slaveof A, A's slots, a hostname",
         lambda item, m: pings(pong)(item, m) and sender(m).label == "D" and m.body.gossip)
    pick("ping_paused_master", "a PING from A paused for D's manual failover (mflags PAUSED)",
         lambda item, m: m.type in (ping, pong) and sender(m).label == "A"
         and m.header.mflags & bus.CLUSTERMSG_FLAG0_PAUSED)
    for flag, file in ((bus.CLUSTER_NODE_PFAIL, "ping_gossip_pfail"),
                       (bus.CLUSTER_NODE_FAIL, "ping_gossip_fail")):
        pick(file, f"a PING gossiping about stopped D flagged {file.rpartition('_')[2].upper()}",
             lambda item, m, flag=flag: m.type == ping and item.phase == "failure" and any(
                 entry.nodename == nodes["D"].name and entry.flags & flag
                 for entry in m.body.gossip),
             first=True)
    pick("fail", "FAIL about D, from a master that saw the quorum",
         lambda item, m: m.type == bus.CLUSTERMSG_TYPE_FAIL)
    pick("publish", "PUBLISH news 'hello from B', from B",
         lambda item, m: m.type == bus.CLUSTERMSG_TYPE_PUBLISH)
    pick("publishshard", "SPUBLISH on A, sent to its replica D",
         lambda item, m: m.type == bus.CLUSTERMSG_TYPE_PUBLISHSHARD)
    pick("mfstart", "MFSTART from D to its master A (CLUSTER FAILOVER)",
         lambda item, m: m.type == bus.CLUSTERMSG_TYPE_MFSTART)
    pick("failover_auth_request_forceack", "D's vote request in its manual failover (FORCEACK)",
         lambda item, m: m.type == bus.CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST
         and m.header.mflags & bus.CLUSTERMSG_FLAG0_FORCEACK)
    pick("failover_auth_request", "A's vote request after D failed (no FORCEACK)",
         lambda item, m: m.type == bus.CLUSTERMSG_TYPE_FAILOVER_AUTH_REQUEST
         and not m.header.mflags & bus.CLUSTERMSG_FLAG0_FORCEACK)
    pick("failover_auth_ack", "a master's vote for a replica",
         lambda item, m: m.type == bus.CLUSTERMSG_TYPE_FAILOVER_AUTH_ACK)
    pick("update", "UPDATE to D when it came back claiming A's slots",
         lambda item, m: m.type == bus.CLUSTERMSG_TYPE_UPDATE)
    return picks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    started = time.monotonic()
    captured: list[Captured] = []
    phase = {"name": "start"}
    lock = threading.Lock()

    def record(label: str, inbound: bool, raw: bytes) -> None:
        with lock:
            captured.append(Captured(time.monotonic() - started, label, inbound,
                                     phase["name"], raw))

    layout = {"A": {"hostname": "node-a.bus.test"}, "B": {"hostname": "node-b.bus.test"},
              "C": {"announce_ip": "127.0.0.1"}, "D": {"hostname": "node-d.bus.test"}}
    nodes: dict[str, Node] = {}
    for label, options in layout.items():
        port = cluster_port()
        while any(node.port == port for node in nodes.values()):
            port = cluster_port()
        nodes[label] = Node(label, port, Relay(label, record), **options)

    directory = tempfile.mkdtemp(prefix="capture-cluster-bus-")
    try:
        play(nodes, directory, phase)
    finally:
        for node in nodes.values():
            node.stop()
        for node in nodes.values():
            node.relay.close()
    shutil.rmtree(directory, ignore_errors=True)

    with lock:
        messages = list(captured)
    print(f"captured {len(messages)} messages", file=sys.stderr)
    picks = choose(messages, nodes)
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "redis_version": subprocess.run([REDIS_SERVER, "--version"], capture_output=True,
                                        text=True, check=True).stdout.strip(),
        "node_timeout_ms": NODE_TIMEOUT_MS,
        "nodes": {
            node.label: {"name": node.name, "port": node.port, "cport": node.relay.port,
                         "hostname": node.hostname, "announce_ip": node.announce_ip,
                         "slots": node.slots}
            for node in nodes.values()
        },
        "fixtures": {},
    }
    by_name = {node.name: node.label for node in nodes.values()}
    for file, (item, message, why) in picks.items():
        (args.out / f"{file}.bin").write_bytes(item.raw)
        manifest["fixtures"][file] = {
            "type": bus.type_name(message.type),
            "sender": by_name[message.header.sender],
            "link": f"{'to' if item.inbound else 'from'} {item.to_node}",
            "phase": item.phase,
            "what": why,
        }
        print(f"{file}.bin: {len(item.raw)} bytes, {why}", file=sys.stderr)
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
