"""Diskless replication (Redis 7.0, replication.c): the RDB file sent as it is made.

A master sends ``$EOF:<40 random characters>\\r\\n<file><the same 40 characters>`` to the
replicas that said ``REPLCONF capa eof``, after waiting ``repl-diskless-sync-delay``
seconds for more of them to share the file, and holds the stream back until the
replica's first REPLCONF ACK; the others get ``$<length>\\r\\n<file>`` at once. A replica
announces ``capa eof``, reads both forms, and loads the file as ``repl-diskless-load``
says.

The exchanges are read byte by byte from both sides and compared with a real
redis-server 7.0.15 doing the same; those tests skip with a clear message when it is
missing. Nothing here sleeps to wait for something: it waits on what the servers say
(INFO) or send.
"""

from __future__ import annotations

import re
import socket
import time

import pytest
import redis

from app.config import Config
from app.persistence import rdb
from app.protocol import RequestParser
from tests.helpers import redis_server_path, start_ours, start_reference, wait_until
from tests.test_replication import dataset, link_up, mixed_writes
from tests.test_stages_replication import command

needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")

EOF_HEADER = re.compile(rb"\$EOF:([0-9a-f]{40})")


def _info(port: int, section: str = "replication") -> dict:
    return redis.Redis(port=port).info(section)


class Link:
    """One end of a replication link in a test: raw bytes, lines as Redis reads them
    (a lone "\\n" is an empty line: a keep-alive), and RESP commands."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.settimeout(15)
        self.buffer = b""

    @classmethod
    def to(cls, port: int) -> Link:
        return cls(socket.create_connection(("127.0.0.1", port)))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the other side closed the connection")
        self.buffer += data

    def line(self) -> bytes:
        while b"\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.removesuffix(b"\r")

    def until(self, mark: bytes) -> bytes:
        while mark not in self.buffer:
            self._fill()
        data, self.buffer = self.buffer.split(mark, 1)
        return data

    def exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def command(self) -> list[bytes]:
        while True:
            commands, error = RequestParser().parse(self.buffer)
            assert error is None
            if commands:
                self.buffer = self.buffer[len(command(*commands[0])):]
                return commands[0]
            self._fill()

    def silent_for(self, seconds: float) -> bool:
        """Whether nothing arrives for ``seconds``: only to show that something is held
        back, which no event announces."""
        if self.buffer:
            return False
        self.sock.settimeout(seconds)
        try:
            return not self.sock.recv(65536)
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(15)

    def close(self) -> None:
        self.sock.close()


# --------------------------------------------------------------------------- our master, a raw replica


def _replica_handshake(port: int, capa: tuple[bytes, ...] = (b"eof", b"psync2")) -> Link:
    """A replica's handshake up to PSYNC (not sent yet), as a real replica does it."""
    link = Link.to(port)
    link.send(command("PING"))
    assert link.line() == b"+PONG"
    link.send(command("REPLCONF", "listening-port", "4242"))
    assert link.line() == b"+OK"
    link.send(command("REPLCONF", *[word for name in capa for word in (b"capa", name)]))
    assert link.line() == b"+OK"
    return link


def _full_resync_line(link: Link) -> tuple[int, list[bytes]]:
    """The +FULLRESYNC line, and how many keep-alive newlines came before it."""
    newlines = 0
    line = link.line()
    while not line:
        newlines += 1
        line = link.line()
    return newlines, line.split()


def _replica_waits(port: int, count: int = 1) -> bool:
    info = _info(port)
    return info["connected_slaves"] == count and all(
        info[f"slave{n}"]["state"] == "wait_bgsave" for n in range(count))


def _diskless_exchange(port: int) -> dict:
    """What a replica that says capa eof receives from the master at ``port`` (its
    diskless delay 2 s, "k" set in database 0): a write made while it waits for its
    file, the file, then nothing until its first REPLCONF ACK, then the stream."""
    writer = redis.Redis(port=port, db=3)
    link = _replica_handshake(port)
    link.send(command("PSYNC", "?", "-1"))
    wait_until(lambda: _replica_waits(port), what="the replica to wait for its file")
    writer.set("during-the-delay", "1")  # it will be in the file, not in the stream
    newlines, (word, replid, offset) = _full_resync_line(link)
    header = link.line()
    mark = EOF_HEADER.fullmatch(header).group(1)
    aux: dict[bytes, bytes] = {}
    keys = rdb.parse(link.until(mark), Config(), now=0, aux=aux)
    redis.Redis(port=port).set("after", "1")
    wait_until(lambda: _info(port)["master_repl_offset"] > int(offset), what="the write to reach the stream")
    held = link.silent_for(0.5)
    link.send(command("REPLCONF", "ACK", offset))
    stream = [link.command(), link.command()]
    link.close()
    return {
        "keep-alive newlines before +FULLRESYNC": newlines > 0,
        "reply": (word, len(replid), int(offset)),
        "file": sorted((key.db, key.key, key.value) for key in keys),
        "replication fields": {
            name: value for name, value in aux.items() if name.startswith(b"repl-")
        } == {b"repl-stream-db": b"3", b"repl-id": replid, b"repl-offset": offset},
        "stream held until the first ACK": held,
        "stream": stream,
    }


@needs_redis
def test_a_diskless_transfer_is_the_same_bytes_as_redis_sends(tmp_path):
    ours = start_ours("--repl-diskless-sync-delay", "2")
    theirs = start_reference("--repl-diskless-sync-delay", "2", cwd=str(tmp_path))
    try:
        for server in (ours, theirs):
            redis.Redis(port=server.port).set("k", "v")
        expected = {
            "keep-alive newlines before +FULLRESYNC": True,
            # The write during the delay: SELECT 3 and SET, before the snapshot.
            "reply": (b"+FULLRESYNC", 40, len(command("SELECT", "3") + command("SET", "during-the-delay", "1"))),
            "file": [(0, b"k", b"v"), (3, b"during-the-delay", b"1")],
            "replication fields": True,
            "stream held until the first ACK": True,
            "stream": [[b"SELECT", b"0"], [b"SET", b"after", b"1"]],
        }
        assert _diskless_exchange(ours.port) == expected
        assert _diskless_exchange(theirs.port) == expected
    finally:
        ours.stop()
        theirs.stop()


def _length_form_exchange(port: int) -> tuple:
    """What a replica without capa eof (the CodeCrafters tester's) receives: the
    ``$<length>`` form at once, whatever the diskless delay, then the stream at once."""
    link = _replica_handshake(port, capa=(b"psync2",))
    started = time.monotonic()
    link.send(command("PSYNC", "?", "-1"))
    newlines, reply = _full_resync_line(link)
    header = link.line()
    keys = rdb.parse(link.exactly(int(header[1:])), Config(), now=0)
    quick = time.monotonic() - started < 3
    redis.Redis(port=port).set("after", "1")
    stream = [link.command()]
    if stream == [[b"SELECT", b"0"]]:  # Redis' habit after a full sync; ours needs none here
        stream = [link.command()]
    link.close()
    return newlines, reply[0], header[:1], sorted((key.db, key.key) for key in keys), quick, stream


@needs_redis
def test_a_replica_without_capa_eof_gets_the_length_form_at_once(tmp_path):
    ours = start_ours("--repl-diskless-sync-delay", "5")  # with repl-diskless-sync yes: the defaults
    theirs = start_reference("--repl-diskless-sync-delay", "5", cwd=str(tmp_path))
    try:
        for server in (ours, theirs):
            redis.Redis(port=server.port).set("k", "v")
            redis.Redis(port=server.port, db=1).set("elsewhere", "1")
            assert _length_form_exchange(server.port) == \
                (0, b"+FULLRESYNC", b"$", [(0, b"k"), (1, b"elsewhere")], True, [[b"SET", b"after", b"1"]])
    finally:
        ours.stop()
        theirs.stop()


def _shared_transfer(port: int, replicas: int) -> list[tuple]:
    """``replicas`` replicas asking within the delay: what each receives."""
    links = [_replica_handshake(port) for _ in range(replicas)]
    for link in links:
        link.send(command("PSYNC", "?", "-1"))
    received = []
    for link in links:
        _newlines, reply = _full_resync_line(link)
        mark = EOF_HEADER.fullmatch(link.line()).group(1)
        received.append((reply, mark, link.until(mark)))
        link.close()
    return received


@needs_redis
@pytest.mark.parametrize("which", ["ours", "redis"])
def test_replicas_that_come_within_the_delay_share_one_transfer(tmp_path, which):
    start = start_ours if which == "ours" else lambda *args: start_reference(*args, cwd=str(tmp_path))
    server = start("--repl-diskless-sync-delay", "3")
    try:
        mixed_writes(server.port)
        first, *others = _shared_transfer(server.port, 3)
        assert all(other == first for other in others)  # one +FULLRESYNC, one mark, one file
        assert _info(server.port, "stats")["sync_full"] == 3
        redis.Redis(port=server.port).set("between", "1")
        (later,) = _shared_transfer(server.port, 1)  # after the start: a snapshot of its own
        assert int(later[0][2]) > int(first[0][2]) and b"between" in later[2]
    finally:
        server.stop()


@needs_redis
@pytest.mark.parametrize("which", ["ours", "redis"])
def test_enough_waiting_replicas_start_the_transfer_before_the_delay(tmp_path, which):
    start = start_ours if which == "ours" else lambda *args: start_reference(*args, cwd=str(tmp_path))
    # With a delay of a minute, the transfer can only come from the second replica arriving.
    server = start("--repl-diskless-sync-delay", "60", "--repl-diskless-sync-max-replicas", "2")
    try:
        first, second = _shared_transfer(server.port, 2)
        assert first == second
    finally:
        server.stop()


def test_a_replica_that_leaves_while_waiting_gets_nothing_and_is_not_counted():
    master = start_ours("--repl-diskless-sync-delay", "60", "--repl-diskless-sync-max-replicas", "2")
    try:
        leaving = _replica_handshake(master.port)
        leaving.send(command("PSYNC", "?", "-1"))
        wait_until(lambda: _replica_waits(master.port), what="the first replica to wait")
        leaving.close()
        wait_until(lambda: _info(master.port)["connected_slaves"] == 0, what="the first replica to be gone")
        staying = _replica_handshake(master.port)
        staying.send(command("PSYNC", "?", "-1"))
        wait_until(lambda: _replica_waits(master.port), what="the second replica to wait")
        # The one that left does not count toward repl-diskless-sync-max-replicas.
        assert staying.silent_for(0.5)
        staying.close()
    finally:
        master.stop()


# --------------------------------------------------------------------------- real servers on the other side


@needs_redis
def test_a_real_replica_with_its_defaults_syncs_diskless_from_our_master(tmp_path):
    master = start_ours("--repl-diskless-sync-delay", "1")
    mixed_writes(master.port, "before", 2)
    log = tmp_path / "replica.log"
    replica = start_reference("--replicaof", "127.0.0.1", str(master.port), "--logfile", str(log), cwd=str(tmp_path))
    try:
        wait_until(lambda: link_up(replica.port), what="the real replica's link")
        mixed_writes(master.port, "after", 2)
        wait_until(lambda: dataset(replica.port) == dataset(master.port), what="the real replica to catch up")
        assert "receiving streamed RDB from master with EOF to disk" in log.read_text()
        assert redis.Redis(port=master.port).wait(1, 5000) == 1
    finally:
        replica.stop()
        output = master.stop()
    assert "Starting BGSAVE for SYNC with target: replicas sockets" in output


@needs_redis
def test_our_replica_syncs_from_a_diskless_real_master(tmp_path):
    master = start_reference("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "2", cwd=str(tmp_path))
    mixed_writes(master.port, "before", 2)
    redis.Redis(port=master.port, db=2).set("last", "in database 2")  # the file's repl-stream-db
    replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
    try:
        wait_until(lambda: link_up(replica.port), what="our replica's link")
        redis.Redis(port=master.port, db=2).set("no-select", "needed")
        mixed_writes(master.port, "after", 2)
        wait_until(lambda: dataset(replica.port) == dataset(master.port), what="our replica to catch up")
        assert redis.Redis(port=master.port).wait(1, 5000) == 1
    finally:
        output = replica.stop()
        master.stop()
    assert "receiving streamed RDB from master with EOF to disk" in output


# --------------------------------------------------------------------------- a replica, a fake master


class FakeMaster:
    """A listening socket that plays a master, byte by byte."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(15)
        self.port = self.listener.getsockname()[1]

    def accept(self) -> Link:
        return Link(self.listener.accept()[0])

    def handshake(self) -> tuple[Link, list[list[bytes]]]:
        """Answer a replica's handshake; return the link and the commands it sent."""
        link = self.accept()
        sent = []
        while True:
            argv = link.command()
            sent.append(argv)
            if argv[0].upper() == b"PSYNC":
                return link, sent
            link.send(b"+PONG\r\n" if argv[0].upper() == b"PING" else b"+OK\r\n")

    def close(self) -> None:
        self.listener.close()


REPLID = b"8371b4fb1155b71f4a04d3e1bc3e18c4a990aeeb"


def _file(keys: dict[bytes, bytes], stream_db: int = 0) -> bytes:
    """An RDB file holding string ``keys`` in database 0, naming ``stream_db`` as the
    database the stream is in, as a master writes it."""
    aux = {b"repl-stream-db": b"%d" % stream_db, b"repl-id": REPLID, b"repl-offset": b"0"}
    return rdb.dump([(0, dict(keys), {})], aux=aux)


def _replica_side_exchange(start_replica) -> tuple:
    """What a replica does with a master that sends its file diskless, slowly: the
    handshake, its first words after the file, and where the stream goes on."""
    fake = FakeMaster()
    replica = start_replica(fake.port)
    try:
        link, handshake = fake.handshake()
        link.send(b"\n")  # a keep-alive: the master waits for more replicas
        link.send(b"+FULLRESYNC %s 0\r\n\n" % REPLID)
        mark = b"0123456789abcdef0123456789abcdef01234567"
        payload = _file({b"k": b"v"}, stream_db=2)
        link.send(b"$EOF:%s\r\n%s" % (mark, payload[:10]))
        link.send(payload[10:] + mark[:20])  # the mark cut in two
        link.send(mark[20:])
        first = link.command()
        link.send(command("SET", "no-select", "1"))  # in database 2, as the file says
        wait_until(lambda: redis.Redis(port=replica.port, db=2).get("no-select"), what="the stream applied")
        got = redis.Redis(port=replica.port).get("k")
        link.close()
        port = str(replica.port).encode()
        return [[word if word != port else b"<port>" for word in argv] for argv in handshake], first, got
    finally:
        replica.stop()
        fake.close()


@needs_redis
def test_our_replica_reads_a_diskless_transfer_as_redis_does(tmp_path):
    expected = (
        [[b"PING"], [b"REPLCONF", b"listening-port", b"<port>"], [b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"],
         [b"PSYNC", b"?", b"-1"]],
        [b"REPLCONF", b"ACK", b"0"],  # at once: the master waits for it to send the stream
        b"v",
    )
    assert _replica_side_exchange(lambda port: start_ours("--replicaof", f"127.0.0.1 {port}")) == expected
    theirs = _replica_side_exchange(
        lambda port: start_reference("--replicaof", "127.0.0.1", str(port), cwd=str(tmp_path)))
    assert theirs == expected


# --------------------------------------------------------------------------- repl-diskless-load


def _start_transfer(fake: FakeMaster, replid: bytes = REPLID) -> tuple[Link, bytes, bytes]:
    """Take the replica's handshake and send the start of a diskless file; return the
    link, the rest of the file and its mark."""
    link, _handshake = fake.handshake()
    mark = b"f" * 40
    payload = _file({b"new": b"1"})
    link.send(b"+FULLRESYNC %s 0\r\n$EOF:%s\r\n%s" % (replid, mark, payload[:20]))
    return link, payload[20:], mark


def _syncing(port: int) -> bool:
    return _info(port)["master_sync_in_progress"] == 1


def _replica_with_keys(fake: FakeMaster, mode: str):
    """Our replica, holding a key of its own, told to follow ``fake``."""
    replica = start_ours("--repl-diskless-load", mode)
    redis.Redis(port=replica.port).set("old", "1")
    redis.Redis(port=replica.port).replicaof("127.0.0.1", fake.port)
    return replica


@pytest.mark.parametrize("mode", ["disabled", "on-empty-db"])
def test_loading_from_disk_serves_the_old_data_until_the_file_is_whole(mode):
    """disabled, and on-empty-db with keys to lose: the file is received whole first."""
    fake = FakeMaster()
    replica = _replica_with_keys(fake, mode)
    try:
        link, rest, mark = _start_transfer(fake)
        wait_until(lambda: _syncing(replica.port), what="the transfer to start")
        client = redis.Redis(port=replica.port)
        assert client.get("old") == b"1" and _info(replica.port, "persistence")["loading"] == 0
        link.send(rest + mark)
        wait_until(lambda: link_up(replica.port), what="the link up")
        assert sorted(client.keys()) == [b"new"]
    finally:
        output = replica.stop()
        fake.close()
    assert "receiving streamed RDB from master with EOF to disk" in output


def test_on_empty_db_loads_from_the_socket_and_answers_loading_meanwhile():
    fake = FakeMaster()
    replica = start_ours("--repl-diskless-load", "on-empty-db", "--replicaof", f"127.0.0.1 {fake.port}")
    try:
        link, rest, mark = _start_transfer(fake)
        wait_until(lambda: _info(replica.port, "persistence")["loading"] == 1, what="loading to start")
        with pytest.raises(redis.exceptions.BusyLoadingError):
            redis.Redis(port=replica.port).get("new")
        link.send(rest + mark)
        wait_until(lambda: link_up(replica.port), what="the link up")
        assert redis.Redis(port=replica.port).get("new") == b"1"
        assert _info(replica.port, "persistence")["loading"] == 0
    finally:
        output = replica.stop()
        fake.close()
    assert "receiving streamed RDB from master with EOF to parser" in output


def test_swapdb_keeps_serving_the_old_data_of_the_same_history_and_keeps_it_if_the_transfer_fails():
    fake = FakeMaster()
    replica = start_ours("--repl-diskless-load", "swapdb", "--replicaof", f"127.0.0.1 {fake.port}")
    try:
        link, rest, mark = _start_transfer(fake)
        link.send(rest + mark)
        assert link.command() == [b"REPLCONF", b"ACK", b"0"]
        link.close()  # the link breaks; the next full resync goes on with the same history
        link, rest, mark = _start_transfer(fake)
        wait_until(lambda: _syncing(replica.port), what="the second transfer to start")
        client = redis.Redis(port=replica.port)
        assert client.get("new") == b"1" and _info(replica.port, "persistence")["loading"] == 0
        link.close()  # cut in the middle of the file
        wait_until(lambda: not _syncing(replica.port), what="the transfer to fail")
        assert client.get("new") == b"1"  # the old data stayed
    finally:
        output = replica.stop()
        fake.close()
    assert "receiving streamed RDB from master with EOF to parser" in output


def test_swapdb_from_another_history_answers_loading_but_keeps_the_old_data_if_it_fails():
    fake = FakeMaster()
    replica = _replica_with_keys(fake, "swapdb")
    try:
        link, _rest, _mark = _start_transfer(fake, replid=b"a" * 40)
        wait_until(lambda: _info(replica.port, "persistence")["loading"] == 1, what="loading to start")
        link.close()
        wait_until(lambda: _info(replica.port, "persistence")["loading"] == 0, what="the transfer to fail")
        assert redis.Redis(port=replica.port).get("old") == b"1"
    finally:
        replica.stop()
        fake.close()


# --------------------------------------------------------------------------- what INFO and ROLE say meanwhile


def _while_the_master_waits(master_port: int, replica) -> tuple:
    """A replica's ROLE and INFO while its master waits for more replicas, and the
    master's; then once the link is up."""
    wait_until(lambda: _replica_waits(master_port), what="the master to wait")
    role = redis.Redis(port=replica.port).role()
    info = _info(replica.port)
    master_info = _info(master_port)
    master_role = redis.Redis(port=master_port).role()
    during = (role[3], info["master_sync_in_progress"], info["master_link_status"], master_info["slave0"]["state"],
              master_role[2])
    wait_until(lambda: link_up(replica.port) and _info(master_port)["slave0"]["state"] == "online",
               what="the link up on both sides")
    after = (redis.Redis(port=replica.port).role()[3], _info(replica.port)["master_sync_in_progress"])
    return during, after


@needs_redis
def test_info_and_role_while_the_master_waits_match_redis(tmp_path):
    expected = ((b"handshake", 0, "down", "wait_bgsave", []), (b"connected", 0))
    master = start_ours("--repl-diskless-sync-delay", "2")
    replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
    try:
        assert _while_the_master_waits(master.port, replica) == expected
    finally:
        replica.stop()
        master.stop()
    master = start_reference("--repl-diskless-sync-delay", "2", cwd=str(tmp_path))
    replica = start_reference("--replicaof", "127.0.0.1", str(master.port), cwd=str(tmp_path))
    try:
        assert _while_the_master_waits(master.port, replica) == expected
    finally:
        replica.stop()
        master.stop()


# --------------------------------------------------------------------------- a stream command that fails here


def _failed_stream_commands(start_replica) -> tuple[int, list[str]]:
    """A replica whose master's stream holds commands that fail on it (its file made
    "k" a word): INFO's unexpected_error_replies, and the lines it logs about them."""
    fake = FakeMaster()
    replica = start_replica(fake.port)
    try:
        link, _handshake = fake.handshake()
        payload = _file({b"k": b"abc"})
        link.send(b"+FULLRESYNC %s 0\r\n$%d\r\n%s" % (REPLID, len(payload), payload))
        link.send(command("INCR", "k") + command("LPUSH", "k", "x") + command("NOSUCH", "a")
                  + command("SET", "after", "1"))
        wait_until(lambda: redis.Redis(port=replica.port).get("after"), what="the stream applied")
        counted = _info(replica.port, "stats")["unexpected_error_replies"]
        link.close()
    finally:
        output = replica.stop()
        fake.close()
    return counted, [line.split("# ", 1)[-1] for line in output.splitlines() if "CRITICAL" in line or "backlog is" in line]


@needs_redis
def test_stream_commands_that_fail_on_the_replica_are_logged_and_counted_as_redis_does(tmp_path):
    def critical(text: str, command_name: str) -> str:
        return f"== CRITICAL == This replica is sending an error to its master: '{text}' after processing the command '{command_name}'"
    expected = (3, [
        # The stream so far, once there is some: the failed command is added after.
        critical("value is not an integer or out of range", "incr"),
        critical("-WRONGTYPE Operation against a key holding the wrong kind of value", "lpush"),
        "Latest backlog is: '\"*2\\r\\n$4\\r\\nINCR\\r\\n$1\\r\\nk\\r\\n\"'",
        critical("unknown command 'NOSUCH', with args beginning with: 'a' ", "<unknown>"),
        "Latest backlog is: '\"*2\\r\\n$4\\r\\nINCR\\r\\n$1\\r\\nk\\r\\n*3\\r\\n$5\\r\\nLPUSH\\r\\n$1\\r\\nk\\r\\n$1\\r\\nx\\r\\n\"'",
    ])
    assert _failed_stream_commands(lambda port: start_ours("--replicaof", f"127.0.0.1 {port}")) == expected
    assert _failed_stream_commands(
        lambda port: start_reference("--replicaof", "127.0.0.1", str(port), cwd=str(tmp_path))) == expected


# --------------------------------------------------------------------------- INFO while a file comes in


def _info_mid_transfer(start_replica) -> tuple:
    """A replica's INFO replication after the first half of a ``$<length>`` file: the
    names in order, and the master_sync_* figures but the seconds."""
    fake = FakeMaster()
    replica = start_replica(fake.port)
    try:
        link, _handshake = fake.handshake()
        payload = _file({b"k%d" % n: b"v" * 100 for n in range(100)})
        half = len(payload) // 2
        link.send(b"+FULLRESYNC %s 0\r\n" % REPLID)
        wait_until(lambda: _syncing(replica.port), what="the transfer to start")
        before = {name: value for name, value in _info(replica.port).items() if name.startswith("master_sync_")}
        link.send(b"$%d\r\n%s" % (len(payload), payload[:half]))
        wait_until(lambda: _info(replica.port).get("master_sync_read_bytes") == half, what="half the file read")
        info = _info(replica.port)
        link.close()
    finally:
        replica.stop()
        fake.close()
    figures = {name: value for name, value in info.items() if name.startswith("master_sync_") and "seconds" not in name}
    return [name for name in info if not name.startswith("slave0")], before, figures, len(payload)


@needs_redis
def test_info_while_a_file_comes_in_matches_redis(tmp_path):
    ours = _info_mid_transfer(lambda port: start_ours("--replicaof", f"127.0.0.1 {port}"))
    theirs = _info_mid_transfer(lambda port: start_reference("--replicaof", "127.0.0.1", str(port), cwd=str(tmp_path)))
    assert ours == theirs
    names, before, figures, size = ours
    assert before["master_sync_total_bytes"] == -1 and before["master_sync_read_bytes"] == 0
    assert figures["master_sync_total_bytes"] == size and figures["master_sync_left_bytes"] == size - size // 2
