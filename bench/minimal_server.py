"""The bare minimum of this project's design, as a yardstick for bench/report.py.

Issue 12 asks our server to beat "what a bare-minimum threaded RESP server reaches":
this is that server. One `socketserver.ThreadingTCPServer` thread per connection, a
64 KB recv, RESP arrays (and inline commands) split out of the buffer, one global lock
around a dict, and only the commands bench/report.py sends it:

- PING, SET, GET, INCR, LPUSH, RPUSH, LPOP, RPOP: redis-benchmark's PING_INLINE,
  PING_MBULK, SET, GET, INCR, LPUSH, RPUSH, LPOP and RPOP tests (CONFIG answers its
  start-up question with an empty array);
- HSET, SADD, LLEN, HLEN, SCARD, DBSIZE: the memory section's fills and counts, so the
  growth it measures is what plain Python objects (a dict of bytes, a deque, a dict, a
  set) take for the same data;
- FLUSHALL: the throughput section's flush between modes.

No arity checks, no errors worth the name, no expiry, no stats, no ACL, no
replication: whatever our server is slower by is the price of those.

    python3 bench/minimal_server.py PORT [--echo | --work N]

``--work N`` adds N turns of an empty loop to every read (`Worked`), for bench/convoy.py.
"""

import socketserver
import sys
import threading
from collections import deque

store: dict = {}
lock = threading.Lock()


def run(argv: list) -> bytes:
    name = argv[0].lower()
    if name == b"ping":
        return b"+PONG\r\n"
    if name == b"set":
        store[argv[1]] = argv[2]
        return b"+OK\r\n"
    if name == b"get":
        value = store.get(argv[1])
        return b"$-1\r\n" if value is None else b"$%d\r\n%s\r\n" % (len(value), value)
    if name == b"incr":
        value = int(store.get(argv[1], 0)) + 1
        store[argv[1]] = b"%d" % value
        return b":%d\r\n" % value
    if name in (b"lpush", b"rpush"):
        items = store.setdefault(argv[1], deque())
        (items.extendleft if name == b"lpush" else items.extend)(argv[2:])
        return b":%d\r\n" % len(items)
    if name in (b"lpop", b"rpop"):
        items = store.get(argv[1])
        if not items:
            return b"$-1\r\n"
        value = items.popleft() if name == b"lpop" else items.pop()
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if name == b"hset":
        fields = store.setdefault(argv[1], {})
        before = len(fields)
        fields.update(zip(argv[2::2], argv[3::2]))
        return b":%d\r\n" % (len(fields) - before)
    if name == b"sadd":
        members = store.setdefault(argv[1], set())
        before = len(members)
        members.update(argv[2:])
        return b":%d\r\n" % (len(members) - before)
    if name in (b"llen", b"hlen", b"scard"):
        return b":%d\r\n" % len(store.get(argv[1], ()))
    if name == b"dbsize":
        return b":%d\r\n" % len(store)
    if name == b"flushall":
        store.clear()
        return b"+OK\r\n"
    if name == b"config":  # redis-benchmark asks for its settings first
        return b"*0\r\n"
    return b"-ERR unknown command\r\n"


def parse(buffer: bytes):
    """Complete commands at the head of ``buffer``, and the offset where the rest starts."""
    commands, pos = [], 0
    while pos < len(buffer):
        end = buffer.find(b"\r\n", pos)
        if end < 0:
            break
        if buffer[pos] != 42:  # not "*": an inline command
            commands.append(buffer[pos:end].split())
            pos = end + 2
            continue
        count, argv, cursor = int(buffer[pos + 1:end]), [], end + 2
        for _ in range(count):
            end = buffer.find(b"\r\n", cursor)
            if end < 0:
                return commands, pos
            length = int(buffer[cursor + 1:end])
            if end + 2 + length + 2 > len(buffer):
                return commands, pos
            argv.append(buffer[end + 2:end + 2 + length])
            cursor = end + 2 + length + 2
        commands.append(argv)
        pos = cursor
    return commands, pos


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        buffer = b""
        while data := self.request.recv(65536):
            buffer += data
            commands, used = parse(buffer)
            buffer = buffer[used:]
            with lock:
                replies = [run(argv) for argv in commands]
            self.request.sendall(b"".join(replies))


class Worked(Handler):
    """``--work N``: the same, plus N turns of an empty loop per read with the lock held,
    a fixed bit more Python per request: what a little more work per request costs the
    design when 50 threads share the GIL (bench/convoy.py)."""

    work = 0

    # A copy of Handler.handle rather than a hook in it: a call per read would slow the
    # yardstick itself.
    def handle(self) -> None:
        buffer = b""
        work = range(self.work)
        while data := self.request.recv(65536):
            buffer += data
            commands, used = parse(buffer)
            buffer = buffer[used:]
            with lock:
                replies = [run(argv) for argv in commands]
                for _ in work:
                    pass
            self.request.sendall(b"".join(replies))


class Echo(socketserver.BaseRequestHandler):
    """``--echo``: +OK to every read, unparsed (redis-benchmark takes it for any reply
    without pipelining). The ceiling of the design: a thread per connection and nothing
    else. Any work of a microsecond or more while holding the GIL puts 50 such threads
    in a convoy, each waiting its turn through futex calls, and halves this."""

    def handle(self) -> None:
        while self.request.recv(65536):
            self.request.sendall(b"+OK\r\n")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 511


if __name__ == "__main__":
    handler = Handler
    if "--echo" in sys.argv[2:]:
        handler = Echo
    elif "--work" in sys.argv[2:]:
        handler = Worked
        Worked.work = int(sys.argv[sys.argv.index("--work") + 1])
    Server(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
