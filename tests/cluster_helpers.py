"""Cluster nodes for tests: ours and real redis-server 7.0 ones, each in a directory of
its own, on loopback ports whose bus port (port + 10000) is free too, formed into
clusters with ``redis-cli --cluster create`` as an operator would.

Ports are picked in 20000-22767, so that every bus port (30000-32767) lies below the
kernel's ephemeral range (32768 and up, where outgoing connections and other tests'
`free_port` take theirs): a bus port found free stays free. A node that still fails to
start on its ports is started again on others.

`Cluster` is a context manager: every process it started is stopped on the way out,
failures included, and the directories removed.
"""

from __future__ import annotations

import random
import re
import shutil
import socket
import subprocess
import tempfile

from tests.helpers import PROGRAM, RawConnection, ServerProcess, redis_server_path, wait_until

BUS_OFFSET = 10000
PORT_RANGE = (20000, 22767)
TIMEOUT = 60.0  # generous: two cores, shared with other test runs


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A client port whose bus port is free too (never 6379/6380: theirs are out of range)."""
    for _ in range(1000):
        port = random.randint(*PORT_RANGE)
        if _bindable(port) and _bindable(port + BUS_OFFSET):
            return port
    raise RuntimeError("no free port pair found")


class Node:
    """One cluster node, ours or real, running in its own directory."""

    def __init__(self, kind: str, *args: str, node_timeout: int = 2000):
        assert kind in ("ours", "real")
        self.kind = kind
        self.directory = tempfile.mkdtemp(prefix=f"cluster-{kind}-")
        self.args = args
        self.node_timeout = node_timeout
        self.process: ServerProcess | None = None
        self.port = 0
        for attempt in range(3):
            self.port = free_port_pair()
            try:
                self.process = ServerProcess(self._argv(), self.port, self.directory)
                return
            except (RuntimeError, TimeoutError):
                if attempt == 2:
                    raise

    def _argv(self) -> list[str]:
        # A replica's first sync starts at once (not after Redis' default 5 s wait for
        # more replicas to join it).
        common = ["--port", str(self.port), "--cluster-enabled", "yes", "--cluster-node-timeout",
                  str(self.node_timeout), "--repl-diskless-sync-delay", "0", *self.args]
        if self.kind == "ours":
            return [str(PROGRAM), *common]
        return [redis_server_path(), *common, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", self.directory]

    def __repr__(self) -> str:
        return f"<{self.kind} node {self.port}>"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def call(self, *args) -> bytes:
        with RawConnection(self.port) as connection:
            return connection.call(*args)

    def text(self, *args) -> str:
        """A bulk or verbatim reply as text."""
        raw = self.call(*args)
        body = raw.split(b"\r\n", 1)[1]
        return body[:-2].decode()

    def myid(self) -> str:
        return self.text("CLUSTER", "MYID")

    def info(self) -> dict[str, str]:
        return dict(line.split(":", 1) for line in self.text("CLUSTER", "INFO").splitlines() if ":" in line)

    def nodes(self) -> dict[str, list[str]]:
        """CLUSTER NODES as name -> its words."""
        return {line.split()[0]: line.split() for line in self.text("CLUSTER", "NODES").splitlines()}

    def restart(self) -> None:
        """Start it again on its port, in its directory (its nodes.conf is read back)."""
        self.process.stop()
        self.process = ServerProcess(self._argv(), self.port, self.directory)

    def kill(self) -> None:
        """SIGKILL: the node vanishes without a word, as in a crash."""
        if self.process is not None and self.process.process.poll() is None:
            self.process.process.kill()
            self.process.process.wait()

    def stop(self) -> str:
        output = self.process.stop() if self.process is not None else ""
        shutil.rmtree(self.directory, ignore_errors=True)
        return output


class Cluster:
    """Nodes started together, stopped together."""

    def __init__(self, kinds: list[str], *args: str, node_timeout: int = 2000):
        self.nodes: list[Node] = []
        try:
            for kind in kinds:
                self.nodes.append(Node(kind, *args, node_timeout=node_timeout))
        except BaseException:
            self.stop()
            raise

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *_exc) -> None:
        self.stop()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __getitem__(self, index: int) -> Node:
        return self.nodes[index]

    def create(self, replicas: int = 0, nodes: list[Node] | None = None) -> str:
        """``redis-cli --cluster create`` over every node, or ``nodes`` (the first ones
        become masters); waits until those nodes say the cluster is ok."""
        nodes = nodes or self.nodes
        argv = ["redis-cli", "--cluster", "create", *(node.address for node in nodes), "--cluster-yes"]
        if replicas:
            argv += ["--cluster-replicas", str(replicas)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        output = strip_colors(result.stdout + result.stderr)
        assert result.returncode == 0, output
        assert "[OK] All 16384 slots covered." in output, output
        self.wait_until_ok(nodes)
        return output

    def add_replica(self, replica: Node, master: Node) -> None:
        """``redis-cli --cluster add-node --cluster-slave``: ``replica`` joins and follows
        ``master``."""
        argv = ["redis-cli", "--cluster", "add-node", replica.address, master.address, "--cluster-slave",
                "--cluster-master-id", master.myid()]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        output = strip_colors(result.stdout + result.stderr)
        assert result.returncode == 0 and "[OK] New node added correctly." in output, output

    def wait_until_ok(self, nodes: list[Node] | None = None) -> None:
        for node in nodes or self.nodes:
            wait_until(lambda: node.info()["cluster_state"] == "ok", TIMEOUT, f"{node} to say cluster_state:ok")

    def wait_until_agreed(self, nodes: list[Node] | None = None) -> None:
        """Every node knows every other, with the same roles, masters and slots, and no
        handshake left."""
        nodes = nodes or self.nodes

        def view(node: Node):
            return {name: (words[1].split("@")[0], _role(words[2]), words[3], tuple(words[8:]))
                    for name, words in node.nodes().items()}

        def agreed():
            views = [view(node) for node in nodes]
            return len(views[0]) == len(nodes) and all(v == views[0] for v in views)

        wait_until(agreed, TIMEOUT, "every node to agree on the cluster")

    def check(self, node: Node | None = None) -> str:
        """``redis-cli --cluster check``: must pass."""
        node = node or self.nodes[0]
        result = subprocess.run(["redis-cli", "--cluster", "check", node.address], capture_output=True, text=True,
                                timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        output = strip_colors(result.stdout + result.stderr)
        assert result.returncode == 0, output
        assert "[OK] All nodes agree about slots configuration." in output, output
        assert "[OK] All 16384 slots covered." in output, output
        return output

    def views(self) -> str:
        """Every live node's CLUSTER NODES, to explain a failed wait."""
        parts = []
        for node in self.nodes:
            try:
                parts.append(f"{node}:\n{node.text('CLUSTER', 'NODES')}")
            except OSError:
                parts.append(f"{node}: down")
        return "\n".join(parts)

    def wait_for(self, condition, what: str, timeout: float = TIMEOUT):
        """`wait_for`, failing with every node's view of the cluster."""
        try:
            return wait_for(condition, what, timeout)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{self.views()}") from None

    def by_name(self) -> dict[str, Node]:
        return {node.myid(): node for node in self.nodes}


def _role(flags: str) -> str:
    words = set(flags.split(","))
    return "master" if "master" in words else "slave" if "slave" in words else flags


def strip_colors(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def wait_for(condition, what: str, timeout: float = TIMEOUT):
    """tests.helpers.wait_until with this module's generous timeout, polling gently."""
    return wait_until(condition, timeout, what, interval=0.05)


def redis_cli_available() -> bool:
    return shutil.which("redis-cli") is not None and redis_server_path() is not None
