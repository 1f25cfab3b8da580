"""Differential comparisons for commands that answer with any number of replies.

tests/differential.py reads exactly one reply per command. SUBSCRIBE a b answers twice,
an argument-less UNSUBSCRIBE once per channel, a PUBLISH to oneself brings a message
before its reply, and CLIENT REPLY OFF makes a command answer nothing. Here every
command is followed by ``PING <sentinel>``, which every mode allows (RESP2 subscribed
mode answers it ``["pong", <sentinel>]``), and a command's replies are everything read
before the sentinel's answer. The same markers as tests/differential.py apply:

    ~ CMD ...   compare only the type of each reply (and how many there are)
    = CMD ...   compare the replies as a multiset, arrays sorted (hash order in Redis)
    ? CMD ...   compare nothing

`compare_streams` instead sends a whole script at once (for transactions, where a PING
would be queued) and compares every byte the connection receives up to a final sentinel,
with client ids masked.
"""

from __future__ import annotations

import re
import socket

from app.protocol import ReplyParser, encode_command
from tests.differential import parse_script, unordered
from tests.helpers import RawConnection, wait_until

SENTINEL = b"sentinel-6d1c2f"
_ID = re.compile(rb"(\$2\r\nid\r\n):\d+\r\n")


class StreamConnection:
    """A raw RESP connection that reads replies until the sentinel's answer."""

    def __init__(self, port: int, protocol: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.parser = ReplyParser()
        self.pending: list[tuple[object, bytes]] = []
        self.closed = False
        if protocol == 3:
            self.send([b"HELLO", b"3"])
            self.next()

    def send(self, argv: list[bytes]) -> None:
        self.sock.sendall(encode_command(argv))

    def next(self) -> tuple[object, bytes] | None:
        """The next reply as (value, bytes); None once the server has hung up."""
        while not self.pending:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:  # it hung up and our sentinel came too late
                data = b""
            if not data:
                self.closed = True
                return None
            self.pending.extend(self.parser.parse_raw(data))
        return self.pending.pop(0)

    def until_sentinel(self) -> list[bytes]:
        """Every reply before the sentinel's answer (or before the server hangs up)."""
        replies = []
        while True:
            item = self.next()
            if item is None:
                replies.append(b"<closed>")
                return replies
            value, raw = item
            if value == SENTINEL or value == [b"pong", SENTINEL]:
                return replies
            replies.append(raw)

    def step(self, argv: list[bytes]) -> list[bytes]:
        """Run one command; its replies, and what else arrived meanwhile."""
        self.send(argv)
        if self.closed:
            return [b"<closed>"]
        try:
            self.send([b"PING", SENTINEL])
        except OSError:
            pass
        return self.until_sentinel()

    def close(self) -> None:
        self.sock.close()


def run_steps(port: int, steps, protocol: int) -> list[list[bytes]]:
    connection = StreamConnection(port, protocol)
    try:
        connection.step([b"FLUSHALL"])
        results = []
        for _mode, argv, _line in steps:
            if connection.closed:
                results.append([b"<closed>"])
            else:
                results.append(connection.step(argv))
        _reset(connection)
        return results
    finally:
        connection.close()


def _reset(connection: StreamConnection) -> None:
    """RESET before hanging up: it drops the connection's subscriptions at once, where a
    hang-up is noticed a little later, so the next script counts no leftovers."""
    if not connection.closed:
        connection.step([b"RESET"])


def _sorted_view(replies: list[bytes]):
    """Replies compared regardless of hash order: for (un)subscribe replies ([kind, name,
    count], one per channel), the sorted names and the counts in order (they count down
    whatever the order of the names); for others, the sorted multiset of sorted replies."""
    values = [ReplyParser().parse(reply)[0] for reply in replies]
    if values and all(isinstance(v, list) and len(v) == 3 and isinstance(v[2], int) for v in values):
        return sorted((v[0], v[1]) for v in values if v[1] is not None), [(v[0], v[2]) for v in values]
    return sorted(map(unordered, replies), key=repr)


def _types(replies: list[bytes]) -> list[bytes]:
    return [reply[:1] for reply in replies]


def compare_steps(ours_port: int, reference_port: int, script: str, protocols=(2, 3)) -> None:
    """Run ``script`` a command at a time on both servers; every command's replies (all
    of them, in order) must be the same bytes."""
    steps = parse_script(script)
    problems = []
    for protocol in protocols:
        mine = run_steps(ours_port, steps, protocol)
        theirs = run_steps(reference_port, steps, protocol)
        for (mode, _argv, line), got, want in zip(steps, mine, theirs):
            if mode == "exact":
                same = got == want
            elif mode == "sorted":
                same = _sorted_view(got) == _sorted_view(want)
            elif mode == "type":
                same = _types(got) == _types(want)
            else:
                same = True
            if not same:
                problems.append(f"RESP{protocol} {line}\n   ours:  {got!r}\n   redis: {want!r}")
    assert not problems, "replies differ from Redis:\n" + "\n".join(problems)


def stream(port: int, script: str, protocol: int) -> bytes:
    """Send every command of ``script`` at once, then PING <sentinel>; every byte received
    before the sentinel's answer, client ids masked."""
    steps = parse_script(script)
    connection = StreamConnection(port, protocol)
    try:
        connection.step([b"FLUSHALL"])
        connection.sock.sendall(b"".join(encode_command(argv) for _mode, argv, _line in steps)
                                + encode_command([b"PING", SENTINEL]))
        received = b"".join(connection.until_sentinel())
        _reset(connection)
        return _ID.sub(rb"\1:<id>\r\n", received)
    finally:
        connection.close()


def compare_streams(ours_port: int, reference_port: int, script: str, protocols=(2, 3)) -> None:
    """``script`` sent in one go must bring the same bytes from both servers, in RESP2
    and RESP3."""
    problems = []
    for protocol in protocols:
        mine, theirs = stream(ours_port, script, protocol), stream(reference_port, script, protocol)
        if mine != theirs:
            problems.append(f"RESP{protocol}\n   ours:  {mine!r}\n   redis: {theirs!r}")
    assert not problems, "bytes differ from Redis:\n" + "\n".join(problems)



def wait_for_no_subscribers(port: int) -> None:
    """Wait until nobody is subscribed to anything on the server at ``port``.

    PUBLISH counts every receiver, patterns included, and a connection closed by an
    earlier test (tests/differential.py's notification subscriber is on ``*``) is
    unsubscribed only once its thread notices the hang-up: tests that count receivers
    start from a quiet server."""
    with RawConnection(port) as connection:
        wait_until(
            lambda: connection.call("PUBSUB", "NUMPAT") == b":0\r\n"
            and connection.call("PUBSUB", "CHANNELS") == b"*0\r\n"
            and connection.call("PUBSUB", "SHARDCHANNELS") == b"*0\r\n",
            what=f"no subscribers left on port {port}",
        )
