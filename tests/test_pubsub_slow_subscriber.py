"""A subscriber that stops reading must cost neither the publishers' time nor unbounded
memory: past its output limit it is disconnected, as Redis does
(client-output-buffer-limit pubsub <hard> <soft> <seconds>).

Durations here are hang guards, never performance goals.
"""

from __future__ import annotations

import socket
import threading
import time

from app.protocol import encode_command
from tests.helpers import RawConnection, start_ours, wait_until

MESSAGES = 100_000
PAYLOAD = b"x" * 100
HANG_GUARD = 60.0



def rss_bytes(pid: int) -> int:
    """Resident memory of a process, from /proc (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def silent_subscriber(port: int, channel: bytes) -> socket.socket:
    """A socket with a small receive buffer that subscribes, reads the answer, and then
    never reads again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", port))
    sock.sendall(encode_command([b"SUBSCRIBE", channel]))
    expected = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(channel), channel)
    got = b""
    while len(got) < len(expected):
        got += sock.recv(len(expected) - len(got))
    assert got == expected
    return sock


def publish_many(port: int, channel: bytes, count: int) -> list[int]:
    """Pipeline ``count`` PUBLISH commands from one connection, reading the replies on
    another thread as they come; return every receiver count."""
    publisher = socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD)
    command = encode_command([b"PUBLISH", channel, PAYLOAD])
    counts: list[int] = []

    def read_replies() -> None:
        buffer = b""
        while len(counts) < count:
            data = publisher.recv(1 << 16)
            if not data:
                return
            buffer += data
            lines = buffer.split(b"\r\n")
            buffer = lines.pop()
            counts.extend(int(line[1:]) for line in lines)

    reader = threading.Thread(target=read_replies, daemon=True)
    reader.start()
    batch = command * 1000
    for _ in range(count // 1000):
        publisher.sendall(batch)
    reader.join(HANG_GUARD)
    publisher.close()
    return counts


def drain_until_eof(sock: socket.socket) -> int:
    """Read everything left; the number of bytes, once the server has closed its end."""
    total = 0
    while True:
        data = sock.recv(1 << 16)  # raises on timeout: the server never closed it
        if not data:
            return total
        total += len(data)


def test_a_subscriber_that_never_reads_is_disconnected_at_the_hard_limit():
    """100,000 messages of 100 bytes (about 12 MB encoded) to a subscriber that never
    reads, with a 1 MB hard limit: the publisher finishes, the subscriber is dropped
    (NUMSUB 0, its socket ends), and the server's memory stays bounded."""
    with start_ours("--client-output-buffer-limit", "pubsub 1mb 256kb 60") as server:
        pid = server.process.pid
        with RawConnection(server.port) as observer:
            observer.call("PING")
            rss_before = rss_bytes(pid)
            subscriber = silent_subscriber(server.port, b"slow")
            others = [silent_subscriber(server.port, b"slow-%d" % i) for i in range(3)]
            started = time.monotonic()
            counts = publish_many(server.port, b"slow", MESSAGES)
            elapsed = time.monotonic() - started
            assert len(counts) == MESSAGES, "the publisher did not get every reply"
            assert elapsed < HANG_GUARD
            assert counts[0] == 1  # delivered to the subscriber at first...
            assert counts[-1] == 0  # ...which was gone long before the end
            wait_until(lambda: observer.call("PUBSUB", "NUMSUB", "slow") == b"*2\r\n$4\r\nslow\r\n:0\r\n",
                       what="the slow subscriber to be unsubscribed")
            received = drain_until_eof(subscriber)
            # What reached the socket before the cut: at most the limit plus kernel buffers.
            assert received < 8 * 1024 * 1024
            subscriber.close()
            growth = rss_bytes(pid) - rss_before
            assert growth < 64 * 1024 * 1024, f"RSS grew by {growth / 1e6:.1f} MB"
            # The other subscribers, who got nothing, are still there.
            assert observer.call("PUBSUB", "NUMSUB", "slow-0") == b"*2\r\n$6\r\nslow-0\r\n:1\r\n"
            client_list = observer.call("CLIENT", "LIST")
            assert client_list.count(b"sub=1") == 3
            for other in others:
                other.close()


def test_the_soft_limit_disconnects_after_its_seconds():
    """Past the soft limit for longer than its seconds (0 hard limit), the subscriber is
    dropped; a subscriber under the soft limit stays."""
    with start_ours("--client-output-buffer-limit", "pubsub 0 64kb 1") as server:
        with RawConnection(server.port) as observer, RawConnection(server.port) as publisher:
            subscriber = silent_subscriber(server.port, b"soft")
            quiet = silent_subscriber(server.port, b"soft-quiet")
            # Enough to fill the kernel's socket buffers (a few MB) and pass 64 kB queued.
            counts = publish_many(server.port, b"soft", 50_000)
            assert counts[0] == 1
            publisher.call("PUBLISH", "soft-quiet", "one small message")
            # Still over the soft limit a second later: the next message cuts it off.
            deadline = time.monotonic() + 20
            while publisher.call("PUBLISH", "soft", "more") != b":0\r\n":
                assert time.monotonic() < deadline, "never disconnected"
                time.sleep(0.05)
            assert drain_until_eof(subscriber) < 8 * 1024 * 1024
            subscriber.close()
            assert observer.call("PUBSUB", "NUMSUB", "soft-quiet") == b"*2\r\n$10\r\nsoft-quiet\r\n:1\r\n"
            quiet.close()


def test_a_reader_that_catches_up_gets_every_message():
    """A subscriber slower than the publisher but reading, under the limits, loses
    nothing."""
    with start_ours() as server:
        with RawConnection(server.port) as subscriber:
            subscriber.call("SUBSCRIBE", "steady")
            counts = publish_many(server.port, b"steady", 20_000)
            assert counts == [1] * 20_000
            for _ in range(20_000):
                assert subscriber.read() == [b"message", b"steady", PAYLOAD]
