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
command, and the waiter is woken with its result already in hand. The attempt is told
which key became ready (``attempt(key)``; the first attempt gets None: any key), so a
client blocked on several keys is served from the one that was fed. List and sorted set
waiters compete for the same elements, so serving a key stops at the first of them that
finds nothing left; stream readers do not (each reads past its own ID, or for its own
group), so every one of them is tried, as Redis does.

A waiter whose timeout passes, or whose connection goes away, takes itself out of every
queue; a result handed over at that very moment is still returned, not lost. Another
client can end the wait early with CLIENT UNBLOCK (`Waiter.cancel`): as a timeout, or
with an error. A client whose connection closes while it waits is cancelled the same way
by the server's hang-up watcher (app/server.py), so no data is handed to a dead client.

Inside a transaction nothing blocks: EXEC runs BLPOP as if its timeout had passed at
once, as Redis does.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable, Hashable

_NOTHING = object()


class Waiter:
    """One blocked client: what it waits for, how to serve it, and its result."""

    __slots__ = ("client", "condition", "keys", "attempt", "competes", "result", "cancelled", "error")

    def __init__(self, client, lock: threading.Lock, keys: list[Hashable], attempt: Callable, competes: bool):
        self.client = client
        self.condition = threading.Condition(lock)
        self.keys = keys
        self.attempt = attempt
        self.competes = competes  # nothing for it means nothing for those behind it
        self.result = _NOTHING
        self.cancelled = False
        self.error: Exception | None = None  # raised by `wait` when cancelled with one

    def cancel(self, error: Exception | None = None) -> None:
        """End the wait now: as a timeout, or raising ``error`` (CLIENT UNBLOCK, hang-up)."""
        self.cancelled = True
        self.error = error
        self.condition.notify_all()  # all: WAIT's waiters share one condition


class BlockedClients:
    """The queues of clients blocked on keys. Every method runs with the lock held."""

    def __init__(self, lock: threading.Lock, propagation=None):
        self.lock = lock
        # A served client's pop reaches replicas as its own command, after the push
        # that fed it (app/propagation.py); None in unit tests.
        self.propagation = propagation
        self._queues: dict[Hashable, deque[Waiter]] = {}
        self.ready: list[Hashable] = []  # keys signalled by the running command
        self.count = 0  # clients blocked now (INFO blocked_clients)
        # Told when a client starts and stops waiting, so that it can notice the client's
        # connection closing meanwhile (the server's hang-up watcher); None in unit tests.
        self.watcher = None

    def __len__(self) -> int:
        """How many clients are blocked (INFO blocked_clients)."""
        return self.count

    def wait(self, client, keys: list[Hashable], attempt: Callable, timeout: float | None, competes: bool = True,
             condition: threading.Condition | None = None):
        """``attempt(None)`` now, or ``attempt(key)`` once one of ``keys`` is ready; None
        after ``timeout`` seconds (None: wait forever), or at once inside a transaction.
        ``competes``: the waiters of a key take from the same data (lists), rather than
        each reading its own part (streams).

        With ``condition`` and no keys, the client waits for something other than a key
        (WAIT, for replicas' acknowledgements): it sleeps on that condition, which
        whoever may have made ``attempt`` succeed notifies, and attempts again at each
        wake-up. It is still a blocked client: counted, unblocked by CLIENT UNBLOCK, and
        cancelled when its connection closes."""
        client.blocked_ns = 0
        result = attempt(None)
        # Inside EXEC nothing blocks; nor does a replica's master link, whose commands
        # must all run in order (a BLPOP it is sent already found its element).
        if result is not None or client.in_exec or client.is_master:
            return result
        waiter = Waiter(client, self.lock, keys, attempt, competes)
        if condition is not None:
            waiter.condition = condition
        for key in keys:
            self._queues.setdefault(key, deque()).append(waiter)
        client.waiter = waiter
        self.count += 1
        if self.watcher is not None:
            self.watcher.add(client)
        deadline = None if timeout is None else time.monotonic() + timeout
        blocked_at = time.perf_counter_ns()
        try:
            while waiter.result is _NOTHING:
                if waiter.cancelled:
                    if waiter.error is not None:
                        raise waiter.error
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                waiter.condition.wait(remaining)
                if condition is not None and not waiter.cancelled:
                    result = attempt(None)
                    if result is not None:
                        return result
            return waiter.result
        finally:
            client.blocked_ns = time.perf_counter_ns() - blocked_at  # not work: the slow log leaves it out
            self._unblock(waiter)
            if self.propagation is not None:
                # Others wrote while this client waited, so the dispatcher's "did the
                # command change anything" test would answer yes for them. A served pop
                # went out when it was served: nothing more is sent for this command.
                self.propagation.replace()

    def waiters(self) -> list[Waiter]:
        """Every client blocked on keys, once each (cluster mode redirects them when their
        keys' slot moves away: app/cluster/routing.py)."""
        return list({id(waiter): waiter for queue in self._queues.values() for waiter in queue}.values())

    def waited_keys(self) -> list[Hashable]:
        """Every key some client is blocked on (SWAPDB looks for those that now exist)."""
        return list(self._queues)

    def signal_ready(self, key: Hashable) -> None:
        """Note that ``key`` may now satisfy blocked clients; they are served after the command."""
        if key in self._queues:
            self.ready.append(key)

    def serve_ready(self) -> None:
        """Serve the clients blocked on keys signalled so far, oldest first per key."""
        while self.ready:
            key = self.ready.pop(0)
            for waiter in list(self._queues.get(key, ())):
                if waiter.client.waiter is not waiter:
                    continue  # served meanwhile, through another key
                if waiter.cancelled:  # gone, or unblocked: it no longer takes anything
                    self._unblock(waiter)
                    continue
                try:
                    result = waiter.attempt(key)
                except Exception as error:  # a bug: the waiter reports it, the feeder goes on
                    self._unblock(waiter)
                    waiter.cancel(error)
                    continue
                if result is None:
                    if waiter.competes:
                        break  # nothing left for anyone behind it either
                    continue
                waiter.result = result
                propagation = self.propagation
                if propagation is not None and propagation.enabled:
                    propagation.command_done(waiter.client.db.index, None, True)
                    propagation.flush()
                self._unblock(waiter)  # no longer blocked, though its thread wakes later
                waiter.condition.notify()

    def cancel(self, client, error: Exception | None = None) -> bool:
        """End ``client``'s wait at once (CLIENT UNBLOCK, a hang-up); False if not blocked."""
        waiter = client.waiter
        if waiter is None:
            return False
        self._unblock(waiter)
        waiter.cancel(error)
        return True

    def _unblock(self, waiter: Waiter) -> None:
        """Take ``waiter`` out of every queue and out of the count, once."""
        client = waiter.client
        if client.waiter is not waiter:
            return
        client.waiter = None
        self.count -= 1
        if self.watcher is not None:
            self.watcher.discard(client)
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
