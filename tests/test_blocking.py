"""Blocked clients: waiting on the keyspace lock, served oldest first, timeouts.

A tiny stand-in for a list command: ``pop`` takes the first item of a Python list, and
`push` appends and signals the key, as RPUSH will.
"""

from __future__ import annotations

import threading
import time

from app.store.keyspace import Keyspace


class FakeClient:
    """What `BlockedClients.wait` reads of a client."""

    in_exec = False
    is_master = False
    waiter = None


class Fixture:
    def __init__(self):
        self.keyspace = Keyspace(databases=1)
        self.db = self.keyspace.databases[0]
        self.blocked = self.keyspace.blocked
        self.lists: dict[bytes, list] = {}
        self.results: dict[str, object] = {}

    def pop(self, key: bytes):
        items = self.lists.get(key)
        return items.pop(0) if items else None

    def push(self, key: bytes, *items) -> None:
        """What a command plus the dispatcher do: change the data, signal, serve."""
        with self.keyspace.lock:
            self.lists.setdefault(key, []).extend(items)
            self.db.signal_ready(key)
            self.blocked.serve_ready()

    def block(self, name: str, keys: list[bytes], timeout: float | None) -> threading.Thread:
        """Start a client that blocks on ``keys``; return once it is queued."""
        queued = len(self.blocked)

        def run():
            with self.keyspace.lock:
                def attempt(ready):  # the key that was fed, or None: any of them
                    tried = keys if ready is None else [ready[1]]
                    return next((v for v in map(self.pop, tried) if v is not None), None)

                self.results[name] = self.blocked.wait(FakeClient(), [(0, key) for key in keys], attempt, timeout)

        thread = threading.Thread(target=run)
        thread.start()
        self.await_condition(lambda: len(self.blocked) > queued or name in self.results)
        return thread

    def await_condition(self, predicate) -> None:
        deadline = time.monotonic() + 10
        while True:
            with self.keyspace.lock:
                if predicate():
                    return
            assert time.monotonic() < deadline, "condition not reached"
            time.sleep(0.001)


def test_no_wait_when_data_is_there():
    f = Fixture()
    f.lists[b"k"] = ["x"]
    f.block("a", [b"k"], timeout=None).join()
    assert f.results["a"] == "x" and len(f.blocked) == 0


def test_oldest_waiter_is_served_first_and_the_data_handed_over():
    f = Fixture()
    threads = [f.block(name, [b"k"], timeout=None) for name in ("first", "second", "third")]
    f.push(b"k", "one", "two")
    # Handed over under the pusher's lock: nothing is left for a client that comes next.
    assert f.pop(b"k") is None
    for thread in threads[:2]:
        thread.join()
    assert (f.results["first"], f.results["second"]) == ("one", "two")
    assert "third" not in f.results and len(f.blocked) == 1
    f.push(b"k", "three")
    threads[2].join()
    assert f.results["third"] == "three" and len(f.blocked) == 0


def test_timeout_gives_none_and_leaves_no_trace():
    f = Fixture()
    f.block("late", [b"k"], timeout=0.05).join()
    assert f.results["late"] is None
    assert len(f.blocked) == 0
    f.push(b"k", "kept")  # nobody waits any more: the data stays
    assert f.lists[b"k"] == ["kept"]


def test_a_waiter_on_several_keys_leaves_every_queue_once_served():
    f = Fixture()
    thread = f.block("any", [b"a", b"b"], timeout=None)
    f.push(b"b", "from-b")
    thread.join()
    assert f.results["any"] == "from-b"
    f.push(b"a", "stays")
    assert f.lists[b"a"] == ["stays"] and len(f.blocked) == 0


def test_signals_for_keys_nobody_waits_on_cost_nothing():
    f = Fixture()
    f.db.signal_ready(b"nobody")
    assert f.blocked.ready == []


def test_a_cancelled_waiter_takes_nothing_and_can_raise():
    f = Fixture()
    client = FakeClient()
    errors = []

    def run():
        with f.keyspace.lock:
            try:
                f.results["c"] = f.blocked.wait(client, [(0, b"k")], lambda _ready: f.pop(b"k"), None)
            except RuntimeError as error:
                errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    f.await_condition(lambda: client.waiter is not None)
    with f.keyspace.lock:
        client.waiter.cancel(RuntimeError("unblocked"))
    thread.join()
    assert [str(e) for e in errors] == ["unblocked"] and len(f.blocked) == 0
    f.push(b"k", "kept")
    assert f.lists[b"k"] == ["kept"]


def test_inside_a_transaction_nothing_blocks():
    f = Fixture()
    client = FakeClient()
    client.in_exec = True
    with f.keyspace.lock:
        assert f.blocked.wait(client, [(0, b"k")], lambda _ready: f.pop(b"k"), None) is None
    assert len(f.blocked) == 0
