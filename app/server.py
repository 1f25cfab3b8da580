"""Sockets and threads: accept connections, read commands, write replies.

A `Listener` (a ``socketserver.ThreadingTCPServer``) accepts connections on one address;
there is one per ``bind`` address (IPv4 and IPv6). Each connection gets its own thread
running `Connection.handle`, which loops:

    read what the socket has -> parse every complete command -> execute each one
    (app/dispatch.py) -> send all their replies in one write

so a client that pipelines a thousand commands costs one read and one write, not a
thousand. Reads are large and blocking; the thread holds no lock while it waits on its
socket, so a slow or silent client only ever delays itself.

A subscriber also receives messages it did not ask for, published by other clients.
Everything for it goes to its outbox, which one writer thread for the whole server
writes out (app/outbox.py); its own thread then only reads.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
import time
from typing import NoReturn

from app import log
from app.client import Client
from app.dispatch import execute_locked
from app.outbox import Outbox
from app.protocol import ENCODERS, RequestParser
from app.scripting.busy import NOT_SERVED, POLL_SECONDS
from app.state import ServerState
from app.store.blocking import BlockedClients

READ_SIZE = 64 * 1024
EARLY_SEND_BYTES = 1024 * 1024  # replies of one read sent before the read is done


class Connection(socketserver.BaseRequestHandler):
    """One client connection, from accept to close, on its own thread."""

    server: Listener

    def setup(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # replies go out at once
        state = self.server.state
        keepalive = state.config["tcp-keepalive"]
        if keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        peer, local = sock.getpeername(), sock.getsockname()
        self.client = Client(
            state,
            state.new_client_id(),
            _address(peer),
            _address(local),
            sock.fileno(),
            close=lambda: _shutdown_socket(sock),
        )
        self.client.open_outbox = lambda: Outbox(sock, state.outbox_writer())
        lock = state.keyspace.lock
        while True:
            if self.take_lock(lock):
                try:
                    self.accepted = self.register()
                finally:
                    lock.release()
                return
            accepted = state.busy.submit(self.register)  # a busy script: its thread registers us
            if accepted is not NOT_SERVED:
                self.accepted = accepted
                return

    def register(self) -> bool:
        """Count the connection and add the client, unless maxclients says no (the
        keyspace lock is held)."""
        state = self.server.state
        state.connections_received += 1
        if len(state.clients) >= state.config["maxclients"]:
            state.rejected_connections += 1
            return False
        state.clients[self.client.id] = self.client
        return True

    def handle(self) -> None:
        sock: socket.socket = self.request
        if not self.accepted:
            sock.sendall(b"-ERR max number of clients reached\r\n")
            return
        client = self.client
        state = client.server
        if refused_by_protected_mode(state, client.addr):
            sock.sendall(PROTECTED_MODE_DENIED)
            return
        aof = state.aof
        parser = RequestParser()
        timeout = None
        # `while True` and a test, not `while not client.close_after_reply`: Python 3.11
        # specializes a function's bytecode after eight calls or eight turns of a loop
        # that jumps back unconditionally, and this function runs once per connection, so
        # a server with few clients would never specialize it (3.12 and later would).
        while True:
            if client.close_after_reply:
                break
            # The idle timeout may change at any time through CONFIG SET. Subscribers,
            # replicas and monitors are spared, as in Redis (all are `special`: app/client.py).
            wanted = (None if client.special and (client.subscriptions or client.replica or client.monitoring)
                      else state.idle_timeout)
            if wanted != timeout:
                timeout = wanted
                sock.settimeout(timeout)
            try:
                data = sock.recv(READ_SIZE)
            except socket.timeout:
                break  # idle for longer than `timeout` seconds
            except OSError:
                break
            if not data:
                break
            client.input_bytes += len(data)
            client.last_interaction = state.keyspace.clock
            parser.max_bulk_len = state.max_bulk_len
            payload = b"".join(self.run_commands(parser, data))
            unparsed = client.query_buffer = parser.pending  # what is left of an unfinished command
            if unparsed > state.query_buffer_limit and not client.is_master:
                # A client piling up a command it never finishes: Redis drops it too.
                log.warning(f"Closing client that reached max query buffer length: {client.info_line()} "
                            f"(qbuf initial bytes: {unparsed})")
                client.close_after_reply = True
            if aof.pending:  # this read's writes reach the AOF before its replies leave
                with state.keyspace.lock:
                    aof.flush()
            if aof.always:  # appendfsync always: acknowledge nothing that is not on disk
                aof.wait_synced()
            outbox = client.outbox if client.special else None  # only a special client has one: skip the property
            if outbox is None:
                if payload and not self.send(payload):
                    break
            elif outbox.held:  # made by this batch: its earlier replies go first
                outbox.release(payload)
            elif payload:  # a protocol error, found after the queued replies
                outbox.put(payload, (0, 0, 0))
        if client.outbox is not None:
            client.outbox.finish()

    def send(self, payload: bytes) -> bool:
        """Write ``payload`` out; False if the connection is gone.

        A payload as big as the soft limit of ``client-output-buffer-limit normal`` must
        be taken by the client within its seconds, or the client is closed, as Redis
        closes one whose buffer stays over the soft limit that long."""
        client = self.client
        client.output_bytes += len(payload)
        sock: socket.socket = self.request
        _hard, soft, seconds = client.server.output_limit
        try:
            if soft and seconds and len(payload) >= soft:
                idle_timeout = sock.gettimeout()
                sock.settimeout(seconds)
                try:
                    sock.sendall(payload)
                finally:
                    sock.settimeout(idle_timeout)
            else:
                sock.sendall(payload)
        except socket.timeout:
            self.close_for_output_limit()
            return False
        except OSError:
            return False
        return True

    def close_for_output_limit(self) -> None:
        client = self.client
        log.warning(f"Client {client.info_line()} scheduled to be closed ASAP for overcoming of output buffer limits.")
        client.close_after_reply = True

    def run_commands(self, parser: RequestParser, data: bytes) -> list[bytes]:
        """Parse ``data``, run every complete command, return the encoded replies.

        Replies are sent in one write at the end, except when they pile up past
        `EARLY_SEND_BYTES`: those go out at once (the thread waits if the client does not
        read), so a client that pipelines thousands of big GETs and never reads costs a
        bounded amount of memory, not the sum of its replies.

        The ``normal`` class of ``client-output-buffer-limit`` applies to what piles up
        here: past its hard limit the client is closed, its replies dropped, as Redis
        drops a client's buffers (the soft limit is applied by `send`).

        The keyspace lock is taken once for all the commands of a read, and released
        only to send early: pipelined commands then run back to back, instead of each
        handing the lock to another thread (measured in docs/walkthrough.md)."""
        client = self.client
        state = client.server
        lock = state.keyspace.lock
        out = []
        pending = 0
        hard_limit = state.output_limit[0]
        flush_at = hard_limit if 0 < hard_limit < EARLY_SEND_BYTES else EARLY_SEND_BYTES
        # qbuf= while these commands run is all the bytes of the read, as in Redis, which
        # trims its query buffer only once it has run every command in it (between two
        # reads, `handle` keeps it at what the parser holds).
        client.query_buffer += len(data)
        while True:
            parser.authenticated = not client.special or client.authenticated  # not special: logged in
            commands, error = parser.parse(data)
            index, count = 0, len(commands)
            while index < count:
                if not (lock.acquire(False) or self.take_lock(lock)):  # the common case without a call
                    # A script runs past busy-reply-threshold: its thread answers us.
                    reply = state.busy.command(client, commands[index])
                    if reply is not NOT_SERVED:
                        index += 1
                        out.append(ENCODERS[client.protocol].encode(reply))
                        pending += len(out[-1])
                    continue
                try:
                    while index < count and not client.close_after_reply and (
                            pending <= flush_at or client.outbox is not None):
                        reply = execute_locked(client, commands[index])
                        index += 1
                        # `Encoder.encode`, inline; after the command, as HELLO sets the protocol.
                        encoded = ENCODERS[client.protocol].by_type[reply.__class__](reply)
                        out.append(encoded)
                        pending += len(encoded)
                finally:
                    lock.release()
                if not client.special or client.outbox is None:
                    if hard_limit and pending >= hard_limit:
                        self.close_for_output_limit()
                        return []
                    if pending > EARLY_SEND_BYTES:  # outside the lock: the client may be slow to read
                        if not self.send(b"".join(out)):
                            client.close_after_reply = True
                        out, pending = [], 0
                if client.close_after_reply:
                    return out
            if error is not None:
                log.verbose(f"Protocol error ({error}) from client id={client.id} addr={client.addr}")
                out.append(ENCODERS[client.protocol].encode(error.reply))
                client.close_after_reply = True
                return out
            if parser.authenticated or not commands:
                return out
            data = b""  # not logged in: the parser stopped after one command; go on
            client.query_buffer = parser.pending

    def take_lock(self, lock) -> bool:
        """Take the keyspace lock and say True; or say False, without it, once a script
        holding it has run past busy-reply-threshold (app/scripting/busy.py). Only a
        thread that finds the lock taken pays for the look."""
        if lock.acquire(False):
            return True
        state = self.server.state
        while not lock.acquire(timeout=POLL_SECONDS):
            if state.busy_script is not None:
                return False
        return True

    def finish(self) -> None:
        state = self.server.state
        client = self.client
        with state.keyspace.lock:
            state.clients.pop(client.id, None)
            state.closed_input_bytes += client.input_bytes
            state.closed_output_bytes += client.output_bytes
            client.forget_state()  # MULTI, watched keys, subscriptions


class HangupWatcher:
    """Notices when a blocked client's connection closes, and ends its wait.

    A client blocked in BLPOP is not reading its socket: its thread sleeps on a
    Condition (app/store/blocking.py). Without this, a client that hangs up while
    blocked would stay queued, and the next push would hand an element to nobody. One
    thread waits, with epoll, for the peer of any blocked client to close its end
    (EPOLLRDHUP), and cancels that client's wait. Nothing is polled: the thread sleeps
    until the kernel reports a hang-up.
    """

    def __init__(self, blocked: BlockedClients):
        self.blocked = blocked
        self.lock = blocked.lock
        self.epoll = select.epoll()
        self.clients: dict[int, Client] = {}  # fd -> blocked client; changed under `lock`
        threading.Thread(target=self.run, name="hang-up watcher", daemon=True).start()

    def add(self, client: Client) -> None:
        try:
            self.epoll.register(client.fd, select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR)
        except OSError:
            return
        self.clients[client.fd] = client

    def discard(self, client: Client) -> None:
        if self.clients.pop(client.fd, None) is not None:
            try:
                self.epoll.unregister(client.fd)
            except OSError:
                pass

    def run(self) -> None:
        while True:
            for fd, _event in self.epoll.poll():
                with self.lock:
                    client = self.clients.get(fd)
                    if client is not None:
                        self.blocked.cancel(client)  # which also stops watching it


def _replication_cron(state: ServerState) -> None:
    """Once a second, as Redis' replicationCron: PING the replicas every
    ``repl-ping-replica-period`` seconds, so they can tell a silent master from a dead
    one, and count the replicas that still acknowledge (min-replicas-to-write)."""
    since_ping = 0
    while not state.shutdown_requested.wait(1.0):
        since_ping += 1
        with state.keyspace.lock:
            if since_ping >= state.config["repl-ping-replica-period"]:
                since_ping = 0
                state.replication.ping_replicas()
            state.update_write_refusal()  # replicas that stopped acknowledging no longer count
            if state.pause_end and time.monotonic() >= state.pause_end:
                state.unpause()  # a CLIENT PAUSE ran out with nobody waiting: expiry resumes
            if state.eviction.running:  # eviction stopped at its time limit: go on with it
                state.eviction.perform()


PROTECTED_MODE_DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the "
    b"default user. In this mode connections are only accepted from the loopback interface. If you want to connect "
    b"from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode "
    b"sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the "
    b"same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do "
    b"so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode "
    b"by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting "
    b"the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' "
    b"option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above "
    b"things in order for the server to start accepting connections from the outside.\r\n"
)


def is_loopback(addr: str) -> bool:
    """Whether an "ip:port" peer is this machine: 127.0.0.0/8 or ::1 (IPv4-mapped too)."""
    host = addr.rsplit(":", 1)[0]
    return host.startswith(("127.", "::ffff:127.")) or host == "::1"


def refused_by_protected_mode(state: ServerState, addr: str) -> bool:
    """Protected mode, as Redis 7.0 has it: while the default user needs no password,
    only clients on the loopback interface are served; the others get DENIED and are
    disconnected, whatever address the server is bound to."""
    return (state.config["protected-mode"] and state.users.default.nopass and state.users.default.enabled
            and not is_loopback(addr))


def _address(address: tuple) -> str:
    host, port = address[0], address[1]
    return f"{host}:{port}"


def _shutdown_socket(sock: socket.socket) -> None:
    """Wake the connection's thread out of recv(); it then closes the socket itself."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Listener(socketserver.ThreadingTCPServer):
    """Accepts connections on one address and starts a `Connection` thread for each."""

    allow_reuse_address = True  # restart at once on a port left in TIME_WAIT
    daemon_threads = True  # a client thread never keeps the process alive at exit
    block_on_close = False  # SHUTDOWN does not wait for idle clients to hang up

    def __init__(self, state: ServerState, host: str, port: int):
        self.state = state
        # Redis' tcp-backlog (511): socketserver's default of 5 refuses connections when
        # fifty clients connect at once.
        self.request_queue_size = state.config["tcp-backlog"]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), Connection, bind_and_activate=False)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            # Keep IPv6 apart, so that 127.0.0.1 and ::1 can both hold the same port.
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def open_listeners(state: ServerState, port: int | None = None, bind: str | None = None) -> list[Listener]:
    """Bind and listen on every ``bind`` address (the configured ones by default);
    ``-addr`` may fail quietly, as in Redis."""
    port = state.config["port"] if port is None else port
    bind = state.config["bind"] if bind is None else bind
    listeners = []
    for word in bind.split():
        optional = word.startswith("-")
        host = word.lstrip("-")
        host = {"*": "0.0.0.0", "::*": "::"}.get(host, host)
        listener = Listener(state, host, port)
        try:
            listener.server_bind()
            listener.server_activate()
        except OSError as error:
            listener.server_close()
            if optional:
                log.verbose(f"Skipping optional address {host}:{port}: {error.strerror}")
                continue
            for opened in listeners:
                opened.server_close()
            raise OSError(error.errno, f"Could not create server TCP listening socket {host}:{port}: {error.strerror}") from None
        listeners.append(listener)
    if not listeners:
        raise OSError(f"Could not listen on any of: {state.config['bind']}")
    return listeners


def start_accepting(state: ServerState, listeners: list[Listener]) -> None:
    """Accept connections on every listener, from now on: while the dataset loads,
    clients are answered (LOADING for most commands), as in Redis."""
    state.listeners = listeners
    for listener in listeners:
        start_listener(listener)
    if hasattr(select, "epoll"):  # Linux; elsewhere a hang-up is noticed at the next push
        state.keyspace.blocked.watcher = HangupWatcher(state.keyspace.blocked)


def start_listener(listener: Listener) -> None:
    """An accept thread for one listening socket."""
    name = f"accept {listener.server_address[0]}"
    threading.Thread(target=listener.serve_forever, args=(0.05,), name=name, daemon=True).start()


def serve(state: ServerState) -> NoReturn:
    """Run the background work of a loaded server, and wait for SIGTERM or SIGINT.

    The process ends in `ServerState.shut_down`, from SHUTDOWN or from here; a signal
    whose final save fails leaves the server running, as in Redis."""
    expiry = threading.Thread(
        target=state.keyspace.run_active_expiry,
        args=(state.shutdown_requested, lambda: 1 / state.config["hz"]),
        name="active expiry",
        daemon=True,
    )
    expiry.start()
    threading.Thread(target=_replication_cron, args=(state,), name="replication cron", daemon=True).start()
    while True:
        # Waiting with a timeout keeps the main thread responsive to signals.
        while not state.shutdown_signalled.wait(0.1):
            pass
        state.shutdown_signalled.clear()
        with state.keyspace.lock:
            log.warning("User requested shutdown...")
            state.shut_down()
