"""Blocking: how a command waits for a key, and who wakes it.

A command that must wait for data (BLPOP, BLMOVE, XREAD BLOCK) runs, like every command,
holding the keyspace lock. It calls `BlockedClients.wait` with the keys it watches and
an ``attempt`` function that tries to do its work and returns None when there is
nothing to take yet. If the first attempt finds nothing, the client is queued on each
of those keys and sleeps on a ``threading.Condition`` built on the keyspace lock, so
the lock is free while it sleeps.

A command that may have made a key ready (RPUSH, XADD...) calls
``db.signal_ready(key)``. After that command, still under the lock, the
dispatcher calls `BlockedClients.serve_ready`, which goes through each ready key's
queue in arrival order and runs each waiter's ``attempt`` *for* it, as Redis does:
the data is handed to the longest-waiting client before any other client can run a
command, and the waiter is woken with its result already in hand. Serving stops at the
first waiter that finds nothing left.

A waiter whose timeout passes, or whose connection goes away, takes itself out of every
queue; a result handed over at that very moment is still returned, not lost.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Hashable

_NOTHING = object()


class Waiter:
    """One blocked client: what it waits for, how to serve it, and its result."""

    __slots__ = ("condition", "keys", "attempt", "result")

    def __init__(self, lock: threading.Lock, keys: list[Hashable], attempt: Callable):
        self.condition = threading.Condition(lock)
        self.keys = keys
        self.attempt = attempt
        self.result = _NOTHING


class BlockedClients:
    """The queues of clients blocked on keys. Every method runs with the lock held."""

    def __init__(self, lock: threading.Lock):
        self.lock = lock
        self._queues: dict[Hashable, deque[Waiter]] = {}
        self.ready: list[Hashable] = []  # keys signalled by the running command

    def __len__(self) -> int:
        """How many clients are blocked (INFO blocked_clients)."""
        return len({id(waiter) for queue in self._queues.values() for waiter in queue})

    def wait(self, keys: list[Hashable], attempt: Callable, timeout: float | None):
        """``attempt()`` now, or once one of ``keys`` is ready; None after ``timeout`` seconds
        (None: wait forever)."""
        result = attempt()
        if result is not None:
            return result
        waiter = Waiter(self.lock, keys, attempt)
        for key in keys:
            self._queues.setdefault(key, deque()).append(waiter)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while waiter.result is _NOTHING:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                waiter.condition.wait(remaining)
            return waiter.result
        finally:
            self._remove(waiter)

    def signal_ready(self, key: Hashable) -> None:
        """Note that ``key`` may now satisfy blocked clients; they are served after the command."""
        if key in self._queues:
            self.ready.append(key)

    def serve_ready(self) -> None:
        """Serve the clients blocked on keys signalled so far, oldest first per key."""
        while self.ready:
            key = self.ready.pop(0)
            queue = self._queues.get(key)
            while queue:
                waiter = queue[0]
                result = waiter.attempt()
                if result is None:
                    break  # nothing left for anyone behind it either
                waiter.result = result
                self._remove(waiter)
                waiter.condition.notify()

    def _remove(self, waiter: Waiter) -> None:
        for key in waiter.keys:
            queue = self._queues.get(key)
            if queue is None:
                continue
            try:
                queue.remove(waiter)
            except ValueError:
                pass
            if not queue:
                del self._queues[key]
