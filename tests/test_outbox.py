"""Outboxes: order, the hold while a batch is running, limits, and the writer thread."""

from __future__ import annotations

import socket
import time

import pytest

from app.outbox import Outbox, OutboxWriter

NO_LIMIT = (0, 0, 0)


@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


@pytest.fixture(scope="module")
def writer():
    return OutboxWriter()


def read_exactly(sock: socket.socket, size: int) -> bytes:
    sock.settimeout(10)
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, "closed early"
        data += chunk
    return data


def test_nothing_is_written_until_released_and_earlier_replies_go_first(pair, writer):
    ours, theirs = pair
    outbox = Outbox(ours, writer)
    outbox.put(b"queued-", NO_LIMIT)
    theirs.setblocking(False)
    with pytest.raises(BlockingIOError):
        theirs.recv(100)
    outbox.release(b"earlier-")
    assert read_exactly(theirs, 15) == b"earlier-queued-"
    outbox.put(b"later", NO_LIMIT)
    assert read_exactly(theirs, 5) == b"later"


def test_a_reader_that_stops_gets_everything_once_it_reads_again(pair, writer):
    ours, theirs = pair
    outbox = Outbox(ours, writer)
    outbox.release(b"")
    message = b"x" * 1000
    for _ in range(2000):  # 2 MB: more than the socket buffers take
        assert outbox.put(message, NO_LIMIT)
    assert read_exactly(theirs, 2_000_000) == message * 2000
    deadline = time.monotonic() + 10
    while outbox.size and time.monotonic() < deadline:
        time.sleep(0.001)
    assert outbox.size == 0


def test_the_hard_limit_refuses_and_drops_the_queue(pair, writer):
    ours, _theirs = pair
    outbox = Outbox(ours, writer)  # held: nothing leaves, so the queue only grows
    assert outbox.put(b"x" * 600, (1000, 0, 0))
    assert not outbox.put(b"x" * 600, (1000, 0, 0))
    outbox.close()
    assert outbox.size == 0 and not outbox.put(b"more", NO_LIMIT)


def test_the_soft_limit_allows_a_burst_shorter_than_its_seconds(pair, writer):
    ours, _theirs = pair
    outbox = Outbox(ours, writer)
    assert outbox.put(b"x" * 600, (0, 500, 60))  # over the soft limit, but only just now
    assert outbox.put(b"x" * 10, (0, 500, 60))
    assert not outbox.put(b"x" * 10, (0, 500, -1))  # a limit already passed for longer


def test_finish_writes_what_is_left_from_the_closing_thread(pair, writer):
    ours, theirs = pair
    outbox = Outbox(ours, writer)
    outbox.put(b"+OK\r\n", NO_LIMIT)  # QUIT's reply, queued while held
    outbox.finish()
    assert read_exactly(theirs, 5) == b"+OK\r\n"
    assert outbox.closed
