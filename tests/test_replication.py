"""Replication beyond the stages: what is propagated (compared with a real Redis master's
stream), replicas that stay identical under concurrent writes, partial resync, role
changes, and real Redis on either side of our server.

The tests that need a real redis-server skip with a clear message when it is missing.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

import pytest
import redis

from app.config import Config
from app.persistence import rdb
from tests.helpers import RawConnection, redis_server_path, start_ours, start_reference, wait_until
from tests.test_stages_replication import command, handshake_as_replica

needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")


# --------------------------------------------------------------------------- comparing keyspaces


def dataset(port: int, databases: int = 4) -> dict:
    """Every key of the first databases, with its type, value and whether it has a TTL."""
    out = {}
    for index in range(databases):
        client = redis.Redis(port=port, db=index)
        for key in client.scan_iter(count=1000):
            kind = client.type(key).decode()
            if kind == "string":
                value = client.get(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "set":
                value = sorted(client.smembers(key))
            elif kind == "hash":
                value = sorted(client.hgetall(key).items())
            elif kind == "zset":
                value = client.zrange(key, 0, -1, withscores=True)
            elif kind == "stream":
                value = client.xrange(key)
            else:
                value = None
            out[(index, key)] = (kind, value, client.pttl(key) > 0)
        client.close()
    return out


def offsets_match(master_port: int, *replica_ports: int) -> bool:
    master = redis.Redis(port=master_port).info("replication")["master_repl_offset"]
    return all(redis.Redis(port=port).info("replication").get("slave_repl_offset") == master for port in replica_ports)


def link_up(port: int) -> bool:
    return redis.Redis(port=port).info("replication").get("master_link_status") == "up"


def mixed_writes(port: int, prefix: str = "", rounds: int = 1) -> None:
    """Writes of every type, in several databases, including the ones propagated as
    something else (expiries, SPOP, INCRBYFLOAT, blocking pops, XADD *)."""
    client = redis.Redis(port=port)
    for n in range(rounds):
        p = f"{prefix}{n}:"
        client.set(p + "s", "v", ex=100)
        client.set(p + "short", "v", px=30000)
        client.incrbyfloat(p + "f", 1.5)
        client.rpush(p + "l", *"abcdef")
        client.lpop(p + "l")
        client.blpop([p + "l"], 1)
        client.lmove(p + "l", p + "l2", "LEFT", "RIGHT")
        client.sadd(p + "set", *"abcdefgh")
        client.spop(p + "set")
        client.spop(p + "set", 2)
        client.hset(p + "h", mapping={"a": 1, "b": 2})
        client.hincrbyfloat(p + "h", "a", 0.25)
        client.zadd(p + "z", {"a": 1, "b": 2, "c": 3})
        client.zpopmin(p + "z")
        client.bzpopmax([p + "z"], 1)
        client.xadd(p + "st", {"a": "1"})
        client.xadd(p + "st", {"b": "2"}, maxlen=1, approximate=False)
        client.expire(p + "h", 500)
        client.pfadd(p + "hll", *"abcdefg")
        with client.pipeline(transaction=True) as pipe:
            pipe.set(p + "t1", 1).incr(p + "t1").delete(p + "f").execute()
        other = redis.Redis(port=port, db=2)
        other.set(p + "db2", "x")
        other.close()
    client.close()


# --------------------------------------------------------------------------- the stream itself


def _stream_of(port: int, script) -> list[list[bytes]]:
    """What a fake replica of the server at ``port`` receives while ``script`` runs."""
    peer, _resync, _payload = handshake_as_replica(port, capa=("psync2",))
    script(port)
    with RawConnection(port) as client:
        assert client.call("SET", "the-end", "1") == b"+OK\r\n"
    received = []
    while True:
        argv = peer.read_command()
        received.append(argv)
        if argv == [b"SET", b"the-end", b"1"]:
            break
    peer.close()
    return received


def _normalize(commands: list[list[bytes]]) -> list[list[bytes]]:
    """Times and generated stream IDs differ between two servers: blank them out. A
    leading SELECT 0 is Redis' habit after a full sync; ours needs none (see
    app/replication/master.py), and PINGs come every 10 s."""
    out = []
    for argv in commands:
        if argv == [b"PING"]:
            continue
        out.append([re.sub(rb"^\d{12,}(-\d+)?$", b"<time>", arg) for arg in argv])
    if out and out[0] == [b"SELECT", b"0"]:
        out = out[1:]
    return out


def _propagation_script(port: int) -> None:
    client = RawConnection(port)
    blocked = RawConnection(port)
    steps = [
        ("SET", "a", "1", "EX", "100"), ("SET", "b", "1", "PX", "100000", "GET"), ("SETEX", "c", "10", "v"),
        ("PSETEX", "c2", "10000", "v"), ("SET", "d", "1", "EXAT", "4000000000"), ("SET", "e", "1", "PXAT", "4000000000000"),
        ("EXPIRE", "a", "50"), ("EXPIRE", "a", "60", "GT"), ("PEXPIRE", "a", "70000"), ("EXPIREAT", "a", "4000000000"),
        ("PEXPIREAT", "a", "4000000000000"), ("EXPIRE", "b", "-1"), ("EXPIRE", "missing", "10"),
        # As typed: SET with any expiry becomes SET ... PXAT, a PEXPIREAT goes verbatim.
        ("set", "e2", "1", "pxat", "4000000000000"), ("SET", "e3", "1", "NX", "PXAT", "4000000000000"),
        ("pexpireat", "e2", "4000000000001", "GT"), ("pexpire", "e3", "100000"),
        ("GETEX", "c", "EX", "5"), ("GETEX", "c", "PERSIST"), ("GETEX", "c"), ("GETDEL", "c"), ("GETDEL", "c"),
        ("INCRBYFLOAT", "f", "1.5"), ("HINCRBYFLOAT", "h", "f", "2.5"), ("INCR", "i"), ("INCRBY", "i", "5"),
        ("SADD", "s", "a"), ("SPOP", "s"), ("SADD", "s2", "a", "b"), ("SPOP", "s2", "5"), ("SPOP", "nothing"),
        ("SET", "n", "1", "NX"), ("SET", "n", "2", "NX"), ("DEL", "zz"), ("DEL", "n"),
        ("RPUSH", "l", "a", "b", "c", "d", "e"), ("LMPOP", "1", "l", "LEFT", "COUNT", "2"), ("BLPOP", "l", "1"),
        ("BRPOP", "l", "1"), ("BLMOVE", "l", "l2", "LEFT", "RIGHT", "1"), ("BRPOPLPUSH", "l2", "l3", "1"),
        ("RPOPLPUSH", "l3", "l4"), ("BLMPOP", "1", "1", "l4", "RIGHT", "COUNT", "3"),
        ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZMPOP", "1", "z", "MIN"), ("BZPOPMIN", "z", "1"),
        ("BZMPOP", "1", "1", "z", "MAX", "COUNT", "5"),
        ("XADD", "st", "5-*", "a", "1"), ("XADD", "st", "MAXLEN", "~", "1", "6-1", "b", "2"), ("XADD", "st", "7-1", "c", "3"),
        ("XTRIM", "st", "MAXLEN", "=", "2"), ("XTRIM", "st", "MINID", "~", "0"),
        ("MULTI",), ("SET", "t1", "1"), ("EXEC",),
        ("MULTI",), ("SET", "t2", "1"), ("INCRBY", "t2", "1"), ("EXEC",),
        ("MULTI",), ("GET", "t1"), ("EXEC",),
        ("SELECT", "3"), ("SET", "x", "1"), ("SELECT", "0"), ("SET", "y", "1"),
        ("FLUSHDB",), ("SET", "after-flush", "1"),
        # Consumer groups: deliveries reach replicas as XCLAIMs, NOACK reads as SETID.
        ("XADD", "g", "1-1", "a", "1"), ("XADD", "g", "2-1", "b", "2"), ("XADD", "g", "3-1", "c", "3"),
        ("XGROUP", "CREATE", "g", "grp", "0"), ("XREADGROUP", "GROUP", "grp", "alice", "COUNT", "2", "STREAMS", "g", ">"),
        ("XREADGROUP", "GROUP", "grp", "bob", "NOACK", "STREAMS", "g", ">"),
        ("XREADGROUP", "GROUP", "grp", "alice", "STREAMS", "g", "0"),
        ("XREADGROUP", "GROUP", "grp", "carol", "STREAMS", "g", ">"),
        ("XCLAIM", "g", "grp", "bob", "0", "1-1"), ("XAUTOCLAIM", "g", "grp", "carol", "0", "0-0"),
        ("XACK", "g", "grp", "1-1"), ("XGROUP", "CREATECONSUMER", "g", "grp", "dave"),
        ("XGROUP", "DELCONSUMER", "g", "grp", "dave"), ("XDEL", "g", "2-1"),
        ("XAUTOCLAIM", "g", "grp", "carol", "0", "0-0"), ("XCLAIM", "g", "grp", "erin", "0", "9-9", "LASTID", "3-1"),
        ("XCLAIM", "g", "grp", "erin", "0", "9-9", "LASTID", "5-1"),
        ("XGROUP", "SETID", "g", "grp", "0"), ("XGROUP", "CREATE", "g", "grp2", "$", "MKSTREAM"),
        ("PUBLISH", "channel", "hello"), ("SPUBLISH", "shard", "hi"),
    ]
    for step in steps:
        client.call(*step)
    # A pop served to a blocked client reaches replicas after the push that fed it.
    blocked.send_command("BLPOP", "q", "0")
    wait_until(lambda: b"blocked_clients:1" in client.call("INFO", "clients"), what="BLPOP to block")
    client.call("RPUSH", "q", "x", "y")
    assert blocked.read() == [b"q", b"x"]
    client.close()
    blocked.close()


def _streams(script, directory) -> tuple[list, list]:
    """What a replica of ours and one of a real master receive while ``script`` runs,
    normalized (ours first)."""
    ours = start_ours()
    reference = start_reference("--repl-diskless-sync", "no", cwd=str(directory))
    try:
        return _normalize(_stream_of(ours.port, script)), _normalize(_stream_of(reference.port, script))
    finally:
        ours.stop()
        reference.stop()


@needs_redis
def test_the_stream_matches_what_redis_sends(tmp_path):
    actual, expected = _streams(_propagation_script, tmp_path)
    assert actual == expected


def test_a_key_found_expired_is_deleted_on_replicas_before_the_command():
    server = start_ours()
    try:
        with RawConnection(server.port) as client:
            client.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            client.call("SET", "k", "v", "PX", "1")
            peer, _resync, _payload = handshake_as_replica(server.port)
            wait_until(lambda: client.call("PTTL", "k") == b":-2\r\n", what="the key to expire")
            client.call("SET", "k", "w")
        # PTTL found it expired: a DEL on its own; the SET then has no key to replace.
        assert peer.read_command() == [b"DEL", b"k"]
        assert peer.read_command() == [b"SET", b"k", b"w"]
        peer.close()
    finally:
        server.stop()


# --------------------------------------------------------------------------- replicas that stay identical


def test_three_replicas_stay_identical_under_concurrent_writes():
    master = start_ours()
    replicas = [start_ours("--replicaof", f"127.0.0.1 {master.port}") for _ in range(3)]
    try:
        for replica in replicas:
            wait_until(lambda r=replica: link_up(r.port), what="replica link up")
        writers = [threading.Thread(target=mixed_writes, args=(master.port, f"w{n}-", 20)) for n in range(4)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        ports = [replica.port for replica in replicas]
        wait_until(lambda: offsets_match(master.port, *ports), what="replicas to catch up")
        expected = dataset(master.port)
        assert len(expected) > 100
        for port in ports:
            assert dataset(port) == expected
        info = redis.Redis(port=master.port).info("replication")
        assert info["connected_slaves"] == 3
        assert redis.Redis(port=master.port).wait(3, 5000) == 3
    finally:
        for server in (*replicas, master):
            server.stop()


def test_a_replica_refuses_writes_and_follows_flushes():
    master = start_ours()
    replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
    try:
        wait_until(lambda: link_up(replica.port), what="replica link up")
        with RawConnection(replica.port) as client:
            assert client.call("SET", "k", "v") == b"-READONLY You can't write against a read only replica.\r\n"
            assert client.call("MULTI") == b"+OK\r\n"
            assert client.call("SET", "k", "v").startswith(b"-READONLY")
            assert client.call("EXEC") == (b"-EXECABORT Transaction discarded because of previous errors.\r\n")
            assert client.call("WAIT", "0", "0").startswith(b"-ERR WAIT cannot be used with replica instances")
        redis.Redis(port=master.port).set("k", "v")
        redis.Redis(port=master.port).flushall()
        redis.Redis(port=master.port).set("k2", "v")
        wait_until(lambda: offsets_match(master.port, replica.port), what="replica to catch up")
        assert dataset(replica.port) == dataset(master.port) == {(0, b"k2"): ("string", b"v", False)}
    finally:
        replica.stop()
        master.stop()


def test_a_cut_link_resumes_with_a_partial_resync():
    master = start_ours()
    replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
    try:
        wait_until(lambda: link_up(replica.port), what="replica link up")
        mixed_writes(master.port, "before", 2)
        client = redis.Redis(port=master.port)
        assert client.client_kill_filter(_type="replica") == 1  # the network cut
        mixed_writes(master.port, "during", 2)  # written while the replica is away
        wait_until(lambda: offsets_match(master.port, replica.port), what="replica to catch up")
        stats = client.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"]) == (1, 1)
        assert dataset(replica.port) == dataset(master.port)
    finally:
        replica.stop()
        master.stop()


def test_replicaof_at_run_time_and_promotion():
    master = start_ours()
    other = start_ours()
    try:
        redis.Redis(port=master.port).set("from-master", "1")
        redis.Redis(port=other.port).set("lost", "1")  # a full resync replaces it
        assert redis.Redis(port=other.port).execute_command("REPLICAOF", "127.0.0.1", str(master.port)) == b"OK"
        wait_until(lambda: link_up(other.port), what="replica link up")
        assert redis.Redis(port=other.port).execute_command("REPLICAOF", "127.0.0.1", str(master.port)) == \
            b"OK Already connected to specified master"
        assert redis.Redis(port=other.port).role() == [b"slave", b"127.0.0.1", master.port, b"connected",
                                                       redis.Redis(port=other.port).info()["slave_repl_offset"]]
        wait_until(lambda: offsets_match(master.port, other.port), what="replica to catch up")
        assert dataset(other.port) == dataset(master.port)
        old_id = redis.Redis(port=other.port).info("replication")["master_replid"]
        assert redis.Redis(port=other.port).execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        info = redis.Redis(port=other.port).info("replication")
        assert info["role"] == "master"
        assert info["master_replid2"] == old_id and info["master_replid"] != old_id
        redis.Redis(port=other.port).set("now-writable", "1")  # promoted: writes are allowed, data kept
        assert redis.Redis(port=other.port).get("from-master") == b"1"
    finally:
        other.stop()
        master.stop()


# --------------------------------------------------------------------------- real Redis on either side


@needs_redis
def test_a_real_redis_replica_follows_our_master(tmp_path):
    master = start_ours()
    redis.Redis(port=master.port).set("before-sync", "1")
    real = start_reference("--replicaof", "127.0.0.1", str(master.port), cwd=str(tmp_path))
    try:
        wait_until(lambda: link_up(real.port), what="real replica link up")
        mixed_writes(master.port, "x", 3)
        wait_until(lambda: dataset(real.port) == dataset(master.port), what="the real replica to catch up")
        assert redis.Redis(port=master.port).wait(1, 5000) == 1  # it answers our GETACK
    finally:
        real.stop()
        master.stop()


@needs_redis
def test_our_replica_follows_a_real_master_and_a_real_replica_follows_us(tmp_path):
    real_master = start_reference("--repl-diskless-sync-delay", "0", cwd=str(tmp_path))
    redis.Redis(port=real_master.port).set("before-sync", "1")
    ours = start_ours("--replicaof", f"127.0.0.1 {real_master.port}")
    chained_dir = tmp_path / "chained"
    chained_dir.mkdir()
    real_replica = start_reference("--replicaof", "127.0.0.1", str(ours.port), cwd=str(chained_dir))
    try:
        wait_until(lambda: link_up(ours.port) and link_up(real_replica.port), what="both links up")
        mixed_writes(real_master.port, "r", 3)
        expected = lambda: dataset(real_master.port)  # noqa: E731
        wait_until(lambda: dataset(ours.port) == expected(), what="our replica to catch up")
        wait_until(lambda: dataset(real_replica.port) == expected(), what="the chained real replica to catch up")
        assert redis.Redis(port=real_master.port).wait(1, 5000) == 1  # we answered its GETACK
    finally:
        real_replica.stop()
        ours.stop()
        real_master.stop()


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
def test_redis_cli_rdb_and_replica_modes(tmp_path):
    server = start_ours()
    try:
        redis.Redis(port=server.port).set("k", "v")
        target = tmp_path / "dump.rdb"
        done = subprocess.run(["redis-cli", "-p", str(server.port), "--rdb", str(target)],
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stdout + done.stderr
        assert [(key.key, key.value) for key in rdb.parse(target.read_bytes(), Config(), now=0)] == [(b"k", b"v")]
        # --replica prints the stream it receives, as a replica would apply it.
        output = tmp_path / "replica.out"
        with open(output, "w") as sink:
            follower = subprocess.Popen(["redis-cli", "-p", str(server.port), "--replica"],
                                        stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: "SYNC done" in output.read_text(), what="redis-cli to sync")
            redis.Redis(port=server.port).set("streamed", "1")
            wait_until(lambda: '"SET","streamed","1"' in output.read_text(), what="the SET to reach redis-cli")
        finally:
            follower.kill()
            follower.wait()
    finally:
        server.stop()


def test_min_replicas_to_write_refuses_writes_without_enough_good_replicas():
    master = start_ours("--min-replicas-to-write", "1")
    try:
        with RawConnection(master.port) as client:
            assert client.call("SET", "k", "v") == b"-NOREPLICAS Not enough good replicas to write.\r\n"
            assert client.call("GET", "k") == b"$-1\r\n"  # reads are fine
            replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
            try:
                wait_until(lambda: client.call("SET", "k", "v") == b"+OK\r\n", what="the replica to count")
                assert b"min_slaves_good_slaves:1" in client.call("INFO", "replication")
            finally:
                replica.stop()
            wait_until(lambda: client.call("SET", "k", "v").startswith(b"-NOREPLICAS"), what="the replica to go")
    finally:
        master.stop()


def test_publish_reaches_the_subscribers_of_replicas():
    master = start_ours()
    replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
    try:
        wait_until(lambda: link_up(replica.port), what="replica link up")
        with RawConnection(replica.port) as subscriber:
            assert subscriber.call("SUBSCRIBE", "news") == b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
            assert redis.Redis(port=master.port).publish("news", "hello") == 0  # nobody on the master
            assert subscriber.read() == [b"message", b"news", b"hello"]
    finally:
        replica.stop()
        master.stop()


def test_a_restarted_replica_catches_up():
    master = start_ours()
    replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
    try:
        wait_until(lambda: link_up(replica.port), what="replica link up")
        mixed_writes(master.port, "before", 2)
        port = replica.port
        replica.stop()
        mixed_writes(master.port, "while-down", 2)
        replica = start_ours("--replicaof", f"127.0.0.1 {master.port}", port=port)
        wait_until(lambda: link_up(port) and offsets_match(master.port, port), what="the replica to catch up")
        assert dataset(port) == dataset(master.port)
    finally:
        replica.stop()
        master.stop()


def test_a_restarted_master_is_followed_again(tmp_path):
    master = start_ours("--dir", str(tmp_path), "--save", "")
    replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
    try:
        wait_until(lambda: link_up(replica.port), what="replica link up")
        mixed_writes(master.port, "saved", 2)
        redis.Redis(port=master.port).save()
        expected = dataset(master.port)
        port = master.port
        master.stop()
        wait_until(lambda: not link_up(replica.port), what="the replica to notice")
        assert dataset(replica.port) == expected  # it serves what it had meanwhile
        master = start_ours("--dir", str(tmp_path), "--save", "", port=port)  # loads dump.rdb
        redis.Redis(port=port).set("after-restart", "1")
        # The file recorded the master's ID and offset: the replica continues (+CONTINUE)
        # if it had everything, or resyncs in full (tests/test_replication_resume.py).
        wait_until(lambda: link_up(replica.port) and offsets_match(port, replica.port), what="the replica to resync")
        assert dataset(replica.port) == dataset(port) == {**expected, (0, b"after-restart"): ("string", b"1", False)}
    finally:
        replica.stop()
        master.stop()


def test_a_continued_stream_stays_in_its_database():
    """+CONTINUE resumes mid-stream, after the SELECT: the replica must still be in it."""
    master = start_ours()
    replica = start_ours("--replicaof", f"127.0.0.1 {master.port}")
    try:
        wait_until(lambda: link_up(replica.port), what="replica link up")
        in_db3 = redis.Redis(port=master.port, db=3)
        in_db3.set("first", "1")
        wait_until(lambda: offsets_match(master.port, replica.port), what="the replica to catch up")
        assert redis.Redis(port=master.port).client_kill_filter(_type="replica") == 1
        in_db3.set("second", "2")  # no SELECT: the stream is in database 3 already
        wait_until(lambda: link_up(replica.port) and offsets_match(master.port, replica.port),
                   what="the replica to continue")
        assert redis.Redis(port=master.port).info("stats")["sync_partial_ok"] == 1
        assert dataset(replica.port) == dataset(master.port)
    finally:
        replica.stop()
        master.stop()


def test_a_promoted_replica_lets_its_own_replicas_continue():
    master = start_ours("--repl-diskless-sync-delay", "0")  # two syncs in a row: no 5 s wait for each
    middle = start_ours("--replicaof", f"127.0.0.1 {master.port}", "--repl-diskless-sync-delay", "0")
    leaf = start_ours("--replicaof", f"127.0.0.1 {middle.port}")
    try:
        wait_until(lambda: link_up(middle.port) and link_up(leaf.port), what="links up")
        mixed_writes(master.port, "m", 2)
        wait_until(lambda: offsets_match(master.port, middle.port, leaf.port), what="the chain to catch up")
        assert redis.Redis(port=middle.port).execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        mixed_writes(middle.port, "promoted", 2)
        wait_until(lambda: link_up(leaf.port) and offsets_match(middle.port, leaf.port), what="the leaf to continue")
        info = redis.Redis(port=middle.port).info()
        assert (info["sync_full"], info["sync_partial_ok"]) == (1, 1)  # the leaf continued under replid2
        assert redis.Redis(port=leaf.port).info("replication")["master_replid"] == info["master_replid"]
        assert dataset(leaf.port) == dataset(middle.port)
    finally:
        for server in (leaf, middle, master):
            server.stop()


def test_save_on_the_master_is_not_sent_to_replicas():
    """SAVE sets the change counter back to zero: that is not a change to propagate."""
    master = start_ours("--save", "")
    try:
        peer, _resync, _payload = handshake_as_replica(master.port)
        with RawConnection(master.port) as client:
            assert client.call("SET", "k", "v") == b"+OK\r\n"
            assert client.call("SAVE") == b"+OK\r\n"
            assert client.call("SET", "after", "1") == b"+OK\r\n"
        assert peer.read_command() == [b"SET", b"k", b"v"]
        assert peer.read_command() == [b"SET", b"after", b"1"]
        peer.close()
    finally:
        master.stop()


def _eviction_script(port: int) -> None:
    with RawConnection(port) as client:
        client.call("SET", "a", "1")
        client.call("SELECT", "2")
        client.call("SET", "b", "1")
        client.call("CONFIG", "SET", "maxmemory-policy", "volatile-random")
        client.call("SET", "c", "1", "PXAT", "4000000000000")
        client.call("CONFIG", "SET", "maxmemory", "1")  # evicts c, the only key with a deadline
        client.call("CONFIG", "SET", "lazyfree-lazy-eviction", "yes")
        client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        client.call("SELECT", "0")
        client.call("SET", "d", "1")  # refused, after both remaining keys are evicted
        client.call("CONFIG", "SET", "maxmemory", "0")
        client.call("CONFIG", "SET", "maxmemory-policy", "noeviction")
        client.call("CONFIG", "SET", "lazyfree-lazy-eviction", "no")


@needs_redis
def test_evictions_reach_replicas_as_redis_sends_them(tmp_path):
    """An evicted key reaches replicas as a DEL (UNLINK with lazyfree-lazy-eviction)."""
    actual, expected = _streams(_eviction_script, tmp_path)
    assert [b"DEL", b"c"] in actual
    # Which of a and b goes first is random: compare them as a set.
    assert sorted(map(tuple, actual)) == sorted(map(tuple, expected))
