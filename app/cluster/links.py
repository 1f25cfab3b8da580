"""The cluster bus's connections: a listener on the bus port, one `Link` per TCP
connection, and the cron that keeps them (Redis: clusterLink, clusterAcceptHandler,
clusterReadHandler, clusterCron's timer).

Every node keeps an outbound link to every other node it knows, over which it sends
PING and MEET and gets PONG back, and accepts one inbound link from each, over which it
answers their PINGs. Messages of either direction carry everything else (FAIL,
PUBLISH, UPDATE...).

Threads and the lock
    Each link has a reader thread and a sender thread, and nothing else touches its
    socket. The reader frames messages (8 bytes: "RCmb" and the length, then the rest:
    app/cluster/bus.py's `message_length`) and hands each one whole to the cluster's
    logic (app/cluster/gossip.py) holding the keyspace lock, so that a message changes
    the node table as one step, as it would in Redis' single thread. Sending happens
    under that lock too, but never blocks there: `Link.send` appends to the link's queue
    and wakes its sender thread, which writes outside the lock; a peer that stops
    reading only grows its own queue (CLUSTER LINKS shows it, and
    cluster-link-sendbuf-limit closes such a link).

    An outbound link exists from the moment the cron decides to connect (so a ping can
    be "sent", that is queued, at once, as Redis does with a connection in progress);
    its reader thread connects first, outside the lock, then reports under it
    (`gossip.link_connected` or `gossip.link_failed`).

    Closing (`Link.close`, under the lock) marks the link closed and shuts its socket
    down, which ends both threads; the reader closes the socket once the sender is done,
    so no thread ever uses a closed file descriptor. A link closed by the peer is
    reported by its reader (`gossip.link_closed`), which detaches it from its node.

The cron thread runs `gossip.cron` ten times a second (Redis' clusterCron runs from
serverCron every 100 ms), then the work it asked for (`ClusterState.before_sleep`).
"""

from __future__ import annotations

import socket
import threading
import traceback
from collections import deque

from app import log
from app.cluster import bus, gossip
from app.cluster.nodes import now_ms

CRON_PERIOD = 0.1  # seconds
MIN_CONNECT_TIMEOUT = 1.0


class Link:
    """One bus connection, outbound (we connected to ``node``) or inbound (``node``
    is None until its first message names a node we know)."""

    def __init__(self, cluster, node, inbound: bool, sock: socket.socket | None = None):
        self.cluster = cluster
        self.lock = cluster.server.keyspace.lock
        self.node = node
        self.inbound = inbound
        self.ctime = now_ms()
        self.sock = sock
        self.closed = False
        self.queued = 0  # bytes given to `send` and not yet written: CLUSTER LINKS' send-buffer-used
        self.peak = 0  # the most ever queued: send-buffer-allocated
        self._queue: deque[bytes] = deque()
        self._wake = threading.Condition(threading.Lock())  # guards the queue only
        self._sender: threading.Thread | None = None

    def __repr__(self) -> str:
        direction = "from" if self.inbound else "to"
        return f"<Link {direction} {self.node.name[:8] if self.node else '?'}>"

    # --- under the keyspace lock

    def send(self, data: bytes) -> None:
        """Queue ``data`` for the sender thread; never blocks."""
        with self._wake:
            if self.closed:
                return
            self._queue.append(data)
            self.queued += len(data)
            self.peak = max(self.peak, self.queued)
            self._wake.notify()

    def close(self) -> None:
        """Stop both threads; what is queued is dropped, as Redis frees the buffer."""
        with self._wake:
            if self.closed:
                return
            self.closed = True
            self._wake.notify()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def events(self) -> str:
        """CLUSTER LINKS' events: r while reading, w while something waits to be written."""
        if self.sock is None:
            return ""
        return "r" + ("w" if self.queued else "")

    def peer_ip(self) -> str:
        try:
            return _plain_ip(self.sock.getpeername()[0])
        except (OSError, AttributeError):
            return ""

    def local_ip(self) -> str:
        try:
            return _plain_ip(self.sock.getsockname()[0])
        except (OSError, AttributeError):
            return ""

    # --- threads

    def start_outbound(self, ip: str, port: int, timeout: float) -> None:
        threading.Thread(target=self._connect_and_read, args=(ip, port, timeout), daemon=True,
                         name=f"cluster link to {ip}:{port}").start()

    def start_inbound(self) -> None:
        self._start_sender()
        threading.Thread(target=self._read, daemon=True, name="cluster link from peer").start()

    def _connect_and_read(self, ip: str, port: int, timeout: float) -> None:
        try:
            sock = socket.create_connection((ip, port), timeout=timeout)
        except (OSError, ValueError, OverflowError) as error:
            with self.lock:
                if not self.closed:
                    gossip.link_failed(self.cluster, self, error)
            return
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.lock:
            if self.closed:
                sock.close()
                return
            self.sock = sock
            self._start_sender()
            gossip.link_connected(self.cluster, self)
        self._read()

    def _start_sender(self) -> None:
        self._sender = threading.Thread(target=self._send_queued, daemon=True, name="cluster link sender")
        self._sender.start()

    def _read(self) -> None:
        """Frame messages and process each under the lock, until the link ends."""
        sock = self.sock
        reader = sock.makefile("rb")
        try:
            while True:
                prefix = reader.read(bus.FRAME_PREFIX_SIZE)
                if len(prefix) < bus.FRAME_PREFIX_SIZE:
                    break
                try:
                    length = bus.message_length(prefix)
                except bus.BusError as error:
                    log.warning(f"Bad message length or signature received on the Cluster bus: {error}")
                    break
                rest = reader.read(length - len(prefix))
                if len(rest) < length - len(prefix):
                    break
                with self.lock:
                    if self.closed:
                        break
                    try:
                        gossip.message_received(self.cluster, self, prefix + rest)
                    except Exception:  # a bug of ours: say so, keep the link and the node
                        log.warning(f"Internal error processing a cluster bus message:\n{traceback.format_exc()}")
        except (OSError, ValueError):
            pass
        finally:
            with self.lock:
                if not self.closed:
                    gossip.link_closed(self.cluster, self)
            self.close()
            if self._sender is not None:
                self._sender.join(5)
            reader.close()
            sock.close()

    def _send_queued(self) -> None:
        sock = self.sock
        while True:
            with self._wake:
                while not self._queue and not self.closed:
                    self._wake.wait()
                if self.closed:
                    return
                data = b"".join(self._queue)
                self._queue.clear()
            try:
                sock.sendall(data)
            except OSError:
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # the reader ends the link
                except OSError:
                    pass
                return
            with self._wake:
                self.queued -= len(data)


def _plain_ip(ip: str) -> str:
    """An IPv4 address seen through an IPv6 socket, as plain IPv4."""
    return ip[7:] if ip.startswith("::ffff:") and "." in ip else ip


class Bus:
    """The bus listener(s) of this node, and the cron that runs the cluster."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.server = cluster.server
        self.sockets: list[socket.socket] = []

    def listen(self) -> None:
        """Bind the bus port on every ``bind`` address, as the client port is bound
        (``-addr`` may be missing). Raises OSError."""
        port = self.cluster.bus_port()
        for word in self.server.config["bind"].split():
            optional = word.startswith("-")
            host = word.lstrip("-")
            host = {"*": "0.0.0.0", "::*": "::"}.get(host, host)
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                sock.bind((host, port))
                sock.listen(511)
            except OSError as error:
                sock.close()
                if optional:
                    continue
                for opened in self.sockets:
                    opened.close()
                raise OSError(error.errno, f"Could not bind cluster bus port {host}:{port}: {error.strerror}") \
                    from None
            self.sockets.append(sock)
        if not self.sockets:
            raise OSError(f"Could not listen on the cluster bus port {port}")

    def run(self) -> None:
        for sock in self.sockets:
            threading.Thread(target=self._accept, args=(sock,), daemon=True, name="cluster bus accept").start()
        threading.Thread(target=self._cron, daemon=True, name="cluster cron").start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _address = listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            Link(self.cluster, None, inbound=True, sock=sock).start_inbound()

    def connect(self, node) -> Link:
        """A new outbound link to ``node`` (the lock is held); it connects on its own thread."""
        link = Link(self.cluster, node, inbound=False)
        node.link = link
        timeout = max(self.cluster.node_timeout() / 1000, MIN_CONNECT_TIMEOUT)
        link.start_outbound(node.ip, node.cport, timeout)
        return link

    def _cron(self) -> None:
        lock = self.server.keyspace.lock
        stop = self.server.shutdown_requested
        while not stop.wait(CRON_PERIOD):
            with lock:
                try:
                    gossip.cron(self.cluster)
                    self.cluster.before_sleep()
                except Exception:  # a bug of ours: say so, and tick again
                    log.warning(f"Internal error in the cluster cron:\n{traceback.format_exc()}")
