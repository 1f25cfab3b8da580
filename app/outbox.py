"""Outgoing queues: how messages reach a client that is not asking for them.

Most replies answer a command: the connection's own thread runs the command and writes
the reply. A pub/sub message is different: it is produced by *another* client's PUBLISH
(or by a keyspace notification) while the subscriber's thread sits in ``recv``. The
publisher must never write to the subscriber's socket itself, because a subscriber that
stops reading would then stall the publisher, and it must never hold the keyspace lock
while writing.

So a client that subscribes gets an `Outbox`. Everything for that client, messages and
the replies to its own commands alike, is appended to it under the keyspace lock, which
keeps them in the order Redis would send them. Appending is all a publisher does. One
`OutboxWriter` thread writes every outbox out, without ever waiting on a socket: it
sends what the socket accepts now and waits (epoll, or its platform's equivalent) for
the socket to drain before it
sends the rest, as Redis' event loop does. One writer for all subscribers means one
thread wake-up per burst of messages, not one per subscriber per message.

The queue is bounded like Redis' output buffers (``client-output-buffer-limit``): past
the hard limit, or past the soft limit for longer than its seconds, the client is
disconnected and its queue dropped, so a subscriber that never reads cannot make the
server's memory grow without end.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
import time
from collections import deque

FLUSH_CLOSE_TIMEOUT = 5.0  # seconds a closing connection may take to write what is left


class Outbox:
    """Bytes waiting to be written to one client's socket, appended by any thread."""

    def __init__(self, sock: socket.socket, writer: OutboxWriter):
        # A socket object of its own on the same connection: the connection's thread may
        # give its socket a timeout (the idle timeout), and Python then waits for a
        # socket to be writable before it sends; this one never waits.
        self.sock = socket.socket(fileno=os.dup(sock.fileno()))
        self.writer = writer
        self._chunks: deque[bytes] = deque()
        self._tail: memoryview | bytes = b""  # taken from the queue, not yet accepted by the socket
        self._lock = threading.Lock()  # guards the queue, the tail and `size`
        self._send_lock = threading.Lock()  # one sender at a time: the writer, or the closing thread
        self.size = 0  # bytes queued or in the tail (CLIENT LIST omem)
        # Made in the middle of a batch of commands: replies to the earlier ones are not in
        # it yet, so nothing is written until the connection thread `release`s it.
        self.held = True
        self._over_soft_since: float | None = None
        self.closed = False

    def chunks(self) -> int:
        """How many replies wait here, the tail being sent included (CLIENT LIST oll)."""
        return len(self._chunks) + (1 if self._tail else 0)

    def put(self, data: bytes, limits: tuple[int, int, int]) -> bool:
        """Queue ``data``; False if that took the queue past ``limits`` (hard bytes, soft
        bytes, soft seconds; 0 means no limit): the caller then disconnects the client."""
        if self.closed:
            return False
        if not data:
            return True
        with self._lock:
            idle = not self._chunks and not self._tail
            self._chunks.append(data)
            self.size += len(data)
            size = self.size
        if idle and not self.held:
            self.writer.schedule(self)
        return not self._over_limit(size, limits)

    def _over_limit(self, size: int, limits: tuple[int, int, int]) -> bool:
        hard, soft, soft_seconds = limits
        if hard and size >= hard:
            return True
        if soft and size >= soft:
            now = time.monotonic()
            if self._over_soft_since is None:
                self._over_soft_since = now
            elif now - self._over_soft_since > soft_seconds:
                return True
        else:
            self._over_soft_since = None
        return False

    def release(self, first: bytes) -> None:
        """The batch that made this outbox is over: ``first`` (the replies to the commands
        before it) goes out ahead of everything queued since, and writing starts."""
        with self._lock:
            if first:
                self._chunks.appendleft(first)
                self.size += len(first)
            self.held = False
            pending = bool(self._chunks)
        if pending:
            self.writer.schedule(self)

    def flush(self) -> bool:
        """Write what the socket accepts without waiting (the writer's thread); True if
        something is left for when the socket drains."""
        if not self._send_lock.acquire(blocking=False):
            return False  # the connection is closing and writing the rest itself
        try:
            while not self.closed:
                with self._lock:
                    data = self._tail
                    if not data:
                        if not self._chunks:
                            return False
                        data = b"".join(self._chunks)
                        self._chunks.clear()
                try:
                    sent = self.sock.send(data, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    sent = 0
                except OSError:  # the peer is gone: its thread notices and ends the connection
                    self.close()
                    return False
                with self._lock:
                    self.size -= sent
                    self._tail = memoryview(data)[sent:] if sent < len(data) else b""
                if self._tail:
                    return True
            return False
        finally:
            self._send_lock.release()

    def close(self) -> None:
        """Drop what is queued and refuse more (the client is being disconnected)."""
        self.closed = True
        with self._lock:
            self._chunks.clear()
            self._tail = b""
            self.size = 0

    def finish(self) -> None:
        """The connection is ending: write what is left (QUIT's +OK, say) from this thread,
        waiting a little if needed, then stop the writer from touching the socket."""
        with self._send_lock:
            if not self.closed:
                with self._lock:
                    data = bytes(self._tail) + b"".join(self._chunks)
                self.close()
                if data:
                    try:
                        self.sock.settimeout(FLUSH_CLOSE_TIMEOUT)
                        self.sock.sendall(data)
                    except OSError:
                        pass
        self.writer.forget(self)
        self.sock.close()


class OutboxWriter:
    """The one thread that writes every outbox out, never blocking on a socket."""

    def __init__(self):
        self._selector = selectors.DefaultSelector()  # epoll on Linux
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._lock = threading.Lock()
        self._scheduled: dict[Outbox, None] = {}  # outboxes with new data (an ordered set)
        self._woken = False  # a wake-up byte is in the pipe already
        self._draining: dict[int, Outbox] = {}  # fd -> outbox waiting for its socket to drain
        threading.Thread(target=self._run, name="outbox writer", daemon=True).start()

    def schedule(self, outbox: Outbox) -> None:
        """``outbox`` has data: write it soon. Cheap for a burst: one wake-up for all."""
        with self._lock:
            self._scheduled[outbox] = None
            if self._woken:
                return
            self._woken = True
        try:
            os.write(self._wake_write, b"!")
        except BlockingIOError:
            pass

    def forget(self, outbox: Outbox) -> None:
        """The connection is ending: stop watching its socket (before it is closed)."""
        with self._lock:
            self._scheduled.pop(outbox, None)
            for fd, waiting in list(self._draining.items()):
                if waiting is outbox:
                    del self._draining[fd]
                    self._selector.unregister(fd)

    def _run(self) -> None:
        while True:
            ready = []
            for key, _events in self._selector.select():
                fd = key.fd
                if fd == self._wake_read:
                    try:
                        os.read(self._wake_read, 4096)
                    except BlockingIOError:
                        pass
                else:
                    with self._lock:
                        outbox = self._draining.get(fd)
                    if outbox is not None:
                        ready.append(outbox)
            with self._lock:
                ready.extend(self._scheduled)
                self._scheduled.clear()
                self._woken = False
            for outbox in ready:
                self._write(outbox)

    def _write(self, outbox: Outbox) -> None:
        left = outbox.flush()
        with self._lock:
            if outbox.closed:
                return
            try:
                fd = outbox.sock.fileno()
            except OSError:
                return
            if fd < 0:
                return
            if left and fd not in self._draining:
                self._draining[fd] = outbox
                self._selector.register(fd, selectors.EVENT_WRITE)  # call again when it drains
            elif not left and fd in self._draining:
                del self._draining[fd]
                self._selector.unregister(fd)
