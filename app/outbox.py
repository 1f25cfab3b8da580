"""A client's outgoing queue: how messages reach a client that is not asking for them.

Most replies answer a command: the connection's own thread runs the command and writes
the reply. A pub/sub message is different: it is produced by *another* client's PUBLISH
(or by a keyspace notification) while the subscriber's thread sits in ``recv``. The
publisher must never write to the subscriber's socket itself, because a subscriber that
stops reading would then stall the publisher, and it must never hold the keyspace lock
while writing.

So a client that subscribes gets an `Outbox`. Everything for that client, messages and
the replies to its own commands alike, is appended to it under the keyspace lock, which
keeps them in the order Redis would send them. Appending is all a publisher does; when
the queue goes from empty to not empty it also writes one byte to a pipe, which wakes
the subscriber's thread (it waits on its socket and that pipe together, see
app/server.py) to write the queue out.

The queue is bounded like Redis' output buffers (``client-output-buffer-limit``): past
the hard limit, or past the soft limit for longer than its seconds, the client is
disconnected and its queue dropped, so a subscriber that never reads cannot make the
server's memory grow without end.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque


class Outbox:
    """Bytes waiting to be written to one client, appended by any thread."""

    def __init__(self):
        self._chunks: deque[bytes] = deque()
        self._lock = threading.Lock()  # appends come from any thread, takes from one
        self.size = 0  # bytes queued (CLIENT LIST omem)
        self.wake_fd, self._wake_write = os.pipe()
        os.set_blocking(self.wake_fd, False)
        os.set_blocking(self._wake_write, False)
        self._over_soft_since: float | None = None
        self.closed = False

    def put(self, data: bytes, limits: tuple[int, int, int]) -> bool:
        """Queue ``data``; False if that took the queue past ``limits`` (hard bytes, soft
        bytes, soft seconds; 0 means no limit), after which nothing more is queued."""
        if self.closed or not data:
            return not self.closed
        with self._lock:
            was_empty = not self._chunks
            self._chunks.append(data)
            self.size += len(data)
            size = self.size
        if was_empty:
            try:
                os.write(self._wake_write, b"!")
            except BlockingIOError:
                pass  # the pipe is full of wake-ups already
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

    def take(self) -> bytes:
        """Everything queued, emptied from the queue (the connection's thread writes it)."""
        try:
            os.read(self.wake_fd, 4096)
        except BlockingIOError:
            pass
        with self._lock:
            data = b"".join(self._chunks)
            self._chunks.clear()
            self.size = 0
        return data

    def close(self) -> None:
        """Drop what is queued and refuse more (the client is being disconnected)."""
        self.closed = True
        with self._lock:
            self._chunks.clear()
            self.size = 0

    def release(self) -> None:
        """Close the wake-up pipe, once the connection has ended."""
        self.close()
        for fd in (self.wake_fd, self._wake_write):
            try:
                os.close(fd)
            except OSError:
                pass
