"""FAILOVER: a master hands its role to a replica (app/replication/failover.py).

Each test starts its own servers: ours, and real redis-servers 7.0.15 on either side. A
replica is held behind its master by stopping its process (SIGSTOP), as Redis' own
failover tests do, so that the states in between can be seen without racing the
replica's acknowledgements. Our replicas acknowledge by themselves only once their link
has been up a few seconds (app/replication/replica.py), so a failover to one of ours
takes that long: the waits below allow for it.
"""

from __future__ import annotations

import contextlib
import os
import signal

import pytest
import redis

from app.client import Client
from app.config import Config
from app.dispatch import execute
from app.replication.master import ReplicaLink
from app.state import ServerState
from tests.helpers import RawConnection, free_port, redis_server_path, start_ours, start_reference, wait_until

FAILOVER_WAIT = 30.0  # seconds: a replica of ours first acknowledges ~5 s after its link is up

needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="needs a real redis-server")


def _client(process) -> redis.Redis:
    return redis.Redis(port=process.port, decode_responses=True)


def _replication(process) -> dict:
    return _client(process).info("replication")


def _stats(process) -> dict:
    stats = _client(process).info("stats")
    return {name: stats[name] for name in ("sync_full", "sync_partial_ok", "sync_partial_err")}


def _replicate(replica, master) -> None:
    """Make ``replica`` follow ``master`` and wait until the master sees it online."""
    _client(replica).replicaof("127.0.0.1", master.port)
    wait_until(lambda: _replication(master).get("slave0", {}).get("state") == "online", what="the replica online")


def _in_sync(master, replica) -> bool:
    return _replication(master)["master_repl_offset"] == _replication(replica).get("slave_repl_offset")


@contextlib.contextmanager
def _frozen(process):
    """The process stopped (it neither reads nor acknowledges) until the block ends."""
    os.kill(process.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.process.pid, signal.SIGCONT)


def _held(admin: RawConnection, name: str) -> bool:
    """The client named ``name`` sent a SET that waits (CLIENT LIST cmd=set)."""
    listing = admin.call("CLIENT", "LIST").decode()
    return any(f"name={name} " in line and "cmd=set" in line for line in listing.split("\n"))


def _held_writer(master) -> RawConnection:
    """A client whose SET is held by the failover's pause."""
    writer = RawConnection(master.port)
    writer.call("CLIENT", "SETNAME", "writer")
    writer.send_command("SET", "held", "1")
    with RawConnection(master.port) as admin:
        wait_until(lambda: _held(admin, "writer"), what="the SET to be held")
    return writer


def _stop_all(*processes) -> list[str]:
    return [process.stop() for process in processes]


# --------------------------------------------------------------------------- errors

WITHOUT_REPLICAS = [
    ["FAILOVER"],
    ["FAILOVER", "ABORT"],
    ["FAILOVER", "abort", "x"],
    ["FAILOVER", "ABORT", "ABORT"],
    ["FAILOVER", "ABORT", "TIMEOUT", "5"],
    ["FAILOVER", "TIMEOUT", "0"],
    ["FAILOVER", "TIMEOUT", "-1"],
    ["FAILOVER", "TIMEOUT", "abc"],
    ["FAILOVER", "TIMEOUT"],
    ["FAILOVER", "TIMEOUT", "10", "TIMEOUT", "20"],
    ["FAILOVER", "TO"],
    ["FAILOVER", "TO", "127.0.0.1", "abc"],
    ["FAILOVER", "TO", "h", "1", "TO", "h", "2"],
    ["FAILOVER", "FORCE", "FORCE"],
    ["FAILOVER", "foo"],
    ["FAILOVER", "FORCE"],
    ["FAILOVER", "TO", "127.0.0.1", "1", "FORCE"],
    ["FAILOVER", "TIMEOUT", "100", "FORCE"],
    ["FAILOVER", "TO", "127.0.0.1", "1", "TIMEOUT", "100", "FORCE", "x"],
]


def _master_script(replica_port: int) -> list[list[str]]:
    """What a master with one online replica answers, the replica being in sync or not."""
    return [
        ["FAILOVER", "TO", "127.0.0.1", str(free_port())],
        ["FAILOVER", "TO", "localhost", str(replica_port)],  # replicas are known by address
        ["FAILOVER", "TO", "127.0.0.1", str(replica_port), "FORCE"],
        ["FAILOVER", "FORCE"],
        ["FAILOVER", "TIMEOUT", "100", "FORCE"],
        ["FAILOVER", "ABORT"],
    ]


REPLICA_SCRIPT = [
    ["FAILOVER"],
    ["FAILOVER", "TO", "127.0.0.1", "1"],
    ["FAILOVER", "ABORT"],
    ["FAILOVER", "TIMEOUT", "0"],
    ["PSYNC", "abc", "1", "FAILOVER"],  # not our replication ID
]

DURING_FAILOVER = [
    ["FAILOVER"],
    ["FAILOVER", "TIMEOUT", "100"],
    ["FAILOVER", "ABORT", "x"],
    ["REPLICAOF", "NO", "ONE"],
    ["REPLICAOF", "127.0.0.1", "1"],
    ["SLAVEOF", "NO", "ONE"],
    ["PSYNC", "?", "-1"],  # no replica attaches meanwhile
    ["FAILOVER", "ABORT"],
    ["FAILOVER", "ABORT"],
]


def _run(port: int, script: list[list[str]], protocol: int) -> list[bytes]:
    with RawConnection(port, protocol) as connection:
        return [connection.call(*argv) for argv in script]


def _error_replies(master, replica, protocol: int) -> dict[str, list]:
    """Every error (and the OKs between them) of the scripts above, with ``replica``
    online; the failover is held in waiting-for-sync by stopping the replica."""
    replies = {
        "master": _run(master.port, _master_script(replica.port), protocol),
        "replica": _run(replica.port, REPLICA_SCRIPT, protocol),
    }
    replid = _replication(master)["master_replid"]
    replies["psync failover to a master"] = _run(master.port, [["PSYNC", replid, "1", "FAILOVER"]], protocol)
    with _frozen(replica):
        _client(master).set("behind", protocol)  # the replica cannot have acknowledged this
        replies["start"] = _run(master.port, [["FAILOVER", "TIMEOUT", "60000"]], protocol)
        replies["state"] = [_replication(master)["master_failover_state"]]
        replies["during"] = _run(master.port, DURING_FAILOVER, protocol)
        replies["after"] = [_replication(master)["master_failover_state"], _replication(master)["role"]]
    return replies


@needs_redis
def test_errors_match_redis(tmp_path):
    ours_master, ours_replica = start_ours(), start_ours()
    theirs_master = start_reference(cwd=str(tmp_path))
    theirs_replica = start_reference(cwd=str(tmp_path))
    try:
        for protocol in (2, 3):
            assert _run(ours_master.port, WITHOUT_REPLICAS, protocol) == \
                _run(theirs_master.port, WITHOUT_REPLICAS, protocol)
        _replicate(ours_replica, ours_master)
        _replicate(theirs_replica, theirs_master)
        for protocol in (2, 3):
            ours = _error_replies(ours_master, ours_replica, protocol)
            theirs = _error_replies(theirs_master, theirs_replica, protocol)
            assert ours == theirs
            assert ours["state"] == ["waiting-for-sync"]
            assert ours["during"][0] == b"-ERR FAILOVER already in progress.\r\n"
    finally:
        _stop_all(ours_master, ours_replica, theirs_master, theirs_replica)


@needs_redis
def test_a_target_that_is_not_online_is_refused_as_redis_does(tmp_path):
    """A replica still waiting for its RDB cannot be the target. Our snapshots go out at
    once, so only Redis (with a diskless delay) is slow enough to show it; ours must
    give the same reply to the same state, checked through FAILOVER's own code."""
    master = start_reference("--repl-diskless-sync-delay", "30", cwd=str(tmp_path))
    replica = start_reference(cwd=str(tmp_path))
    try:
        _client(replica).replicaof("127.0.0.1", master.port)
        wait_until(lambda: _replication(master).get("slave0", {}).get("state") == "wait_bgsave")
        theirs = _run(master.port, [["FAILOVER", "TO", "127.0.0.1", str(replica.port)]], 2)
    finally:
        _stop_all(master, replica)
    state = ServerState(Config())
    admin = Client(state, 1, "127.0.0.1:1000", "127.0.0.1:6379", 7, close=lambda: None)
    syncing = Client(state, 2, "127.0.0.1:1001", "127.0.0.1:6379", 8, close=lambda: None)
    state.replication.replicas.append(ReplicaLink(syncing, 7777, set()))  # state "wait_bgsave"
    reply = execute(admin, [b"FAILOVER", b"TO", b"127.0.0.1", b"7777"])
    assert theirs == [b"-" + reply.message.encode() + b"\r\n"]
    assert theirs == [b"-ERR FAILOVER target replica is not online.\r\n"]


def test_client_unpause_leaves_a_failovers_pause_alone():
    """Each purpose has its own pause, as in Redis 7.0: CLIENT UNPAUSE (or a CLIENT PAUSE
    running out) ends only its own, and the failover's writes pause has no end."""
    state = ServerState(Config())
    with state.keyspace.lock:
        state.pause(None, everything=False, purpose="failover")
        state.pause(10_000, everything=True)
        assert state.pause_all and state.pause_end != float("inf")  # ALL is the stricter
        state.unpause()  # CLIENT UNPAUSE
        assert (state.pause_all, state.pause_end) == (False, float("inf"))
        state.unpause("failover")
        assert state.pause_end == 0.0


# --------------------------------------------------------------------------- ours -> ours


def test_failover_between_two_of_ours_continues_the_history():
    old, new = start_ours(), start_ours()
    try:
        _replicate(new, old)
        for number in range(10):
            _client(old).set(f"key:{number}", number)
        wait_until(lambda: _in_sync(old, new), what="the replica in sync")
        new_stats = _stats(new)
        with _frozen(new):
            _client(old).set("last", "before the failover")
            assert _client(old).execute_command("FAILOVER", "TO", "127.0.0.1", new.port) == "OK"
            writer = _held_writer(old)
            state = _replication(old)
            assert (state["role"], state["master_failover_state"]) == ("master", "waiting-for-sync")
            assert _client(old).get("last") == "before the failover"  # reads go on
        wait_until(lambda: _replication(old)["master_failover_state"] == "no-failover", FAILOVER_WAIT,
                   what="the failover to end")
        # The write held by the pause runs on a replica now, and is refused as Redis refuses it.
        assert writer.read_raw() == b"-READONLY You can't write against a read only replica.\r\n"
        writer.close()

        assert _replication(new)["role"] == "master"
        old_state = _replication(old)
        assert (old_state["role"], old_state["master_port"]) == ("slave", new.port)
        assert _client(new).get("last") == "before the failover"
        assert [_client(new).get(f"key:{number}") for number in range(10)] == [str(n) for n in range(10)]
        # The old master continued the history: one more partial resync, no full one.
        wait_until(lambda: _replication(old)["master_link_status"] == "up", what="the old master's link up")
        assert _stats(new) == {**new_stats, "sync_partial_ok": new_stats["sync_partial_ok"] + 1}
        new_state = _replication(new)
        assert new_state["master_replid2"] == state["master_replid"]  # the old ID, still valid
        assert old_state["master_replid"] == new_state["master_replid"]
        # ... and follows its new master.
        _client(new).set("after", "the failover")
        wait_until(lambda: _client(old).get("after") == "the failover", what="the old master to follow")
    finally:
        old_log, new_log = _stop_all(old, new)
    assert f"FAILOVER requested to 127.0.0.1:{new.port}." in old_log
    assert f"Failover target 127.0.0.1:{new.port} is synced, failing over." in old_log
    assert "MASTER MODE enabled (failover request from" in new_log


def test_timeout_without_force_aborts_and_resumes_writes():
    master, replica = start_ours(), start_ours()
    try:
        _replicate(replica, master)
        with _frozen(replica):
            _client(master).set("behind", "1")
            replid = _replication(master)["master_replid"]
            assert _client(master).execute_command("FAILOVER", "TIMEOUT", "3000") == "OK"
            writer = _held_writer(master)
            assert writer.read_raw() == b"+OK\r\n"  # once the 3 s are over
            writer.close()
            state = _replication(master)
            assert (state["role"], state["master_failover_state"], state["master_replid"]) == \
                ("master", "no-failover", replid)
            assert _client(master).get("held") == "1"
        wait_until(lambda: _client(replica).get("held") == "1", what="the replica to catch up")
    finally:
        log, _ = _stop_all(master, replica)
    assert "FAILOVER to any replica aborted: Replica never caught up before timeout" in log


def test_force_fails_over_at_the_timeout_even_out_of_sync():
    master, replica = start_ours(), start_ours()
    try:
        _replicate(replica, master)
        _client(master).set("synced", "1")
        wait_until(lambda: _in_sync(master, replica), what="the replica in sync")
        with _frozen(replica):
            _client(master).set("maybe", "1")
            assert _client(master).execute_command("FAILOVER", "TO", "127.0.0.1", replica.port,
                                                   "TIMEOUT", "200", "FORCE") == "OK"
            wait_until(lambda: _replication(master)["master_failover_state"] == "failover-in-progress",
                       what="the forced failover")
            assert _replication(master)["role"] == "slave"
        wait_until(lambda: _replication(master)["master_failover_state"] == "no-failover", FAILOVER_WAIT,
                   what="the failover to end")
        assert _replication(replica)["role"] == "master"
        wait_until(lambda: _replication(master)["master_link_status"] == "up", what="the old master's link")
        assert _client(master).get("synced") == "1"
        _client(replica).set("after", "1")
        wait_until(lambda: _client(master).get("after") == "1", what="the old master to follow")
        # Whether the target read "maybe" before it took over or not, both agree now.
        assert _client(master).get("maybe") == _client(replica).get("maybe")
    finally:
        log, _ = _stop_all(master, replica)
    assert f"FAILOVER to 127.0.0.1:{replica.port} time out exceeded, failing over." in log


def test_abort_while_waiting_and_while_in_progress():
    master, replica = start_ours(), start_ours()
    try:
        _replicate(replica, master)
        with _frozen(replica):
            _client(master).set("behind", "1")
            assert _client(master).execute_command("FAILOVER") == "OK"
            writer = _held_writer(master)
            assert _client(master).execute_command("FAILOVER", "ABORT") == "OK"
            assert writer.read_raw() == b"+OK\r\n"
            writer.close()
            assert _replication(master)["master_failover_state"] == "no-failover"

            # Forced over to a target that does not answer: stuck in progress until ABORT,
            # which makes this server a master again under a new replication ID.
            replid = _replication(master)["master_replid"]
            _client(master).execute_command("FAILOVER", "TO", "127.0.0.1", replica.port, "TIMEOUT", "100", "FORCE")
            wait_until(lambda: _replication(master)["master_failover_state"] == "failover-in-progress",
                       what="the forced failover")
            with RawConnection(master.port) as writer:  # a replica now: refused at once
                assert writer.call("SET", "k", "v") == b"-READONLY You can't write against a read only replica.\r\n"
            assert _client(master).execute_command("FAILOVER", "ABORT") == "OK"
            state = _replication(master)
            assert (state["role"], state["master_failover_state"]) == ("master", "no-failover")
            assert (state["master_replid2"], state["second_repl_offset"]) == (replid, state["master_repl_offset"] + 1)
            assert _client(master).set("k", "v")
        # The replica was dropped (new ID) and continues from the backlog.
        wait_until(lambda: _client(replica).get("k") == "v", what="the replica to follow again")
        assert _stats(master)["sync_full"] == 1
    finally:
        log, _ = _stop_all(master, replica)
    assert "FAILOVER to any replica aborted: Failover manually aborted" in log
    assert f"FAILOVER to 127.0.0.1:{replica.port} aborted: Failover manually aborted" in log


def test_a_target_that_refuses_the_psync_aborts_the_failover():
    master, replica = start_ours(), start_ours()
    try:
        _replicate(replica, master)
        _client(replica).execute_command("ACL", "SETUSER", "default", "-psync")
        replid = _replication(master)["master_replid"]
        with _frozen(replica):
            _client(master).set("behind", "1")
            assert _client(master).execute_command("FAILOVER") == "OK"
            writer = _held_writer(master)
        wait_until(lambda: _replication(master)["master_failover_state"] == "no-failover", FAILOVER_WAIT,
                   what="the failover to be aborted")
        assert writer.read_raw() == b"+OK\r\n"  # a master again when the pause ended
        writer.close()
        state = _replication(master)
        assert (state["role"], state["master_failover_state"], state["master_replid2"]) == \
            ("master", "no-failover", replid)
        wait_until(lambda: _client(replica).get("held") == "1", what="the replica to follow again")
        assert _stats(master)["sync_full"] == 1  # it continued, under the old ID
    finally:
        log, _ = _stop_all(master, replica)
    assert "FAILOVER to 127.0.0.1:%d aborted: Failover target rejected psync request" % replica.port in log


# --------------------------------------------------------------------------- with Redis


@needs_redis
def test_ours_fails_over_to_a_real_redis_replica(tmp_path):
    ours = start_ours()
    theirs = start_reference(cwd=str(tmp_path))
    try:
        _replicate(theirs, ours)
        _client(ours).set("fruit", "mango")
        _client(ours).rpush("list", "a", "b")
        wait_until(lambda: _in_sync(ours, theirs), what="the replica in sync")
        their_stats = _stats(theirs)
        assert _client(ours).execute_command("FAILOVER", "TO", "127.0.0.1", theirs.port, "TIMEOUT", "20000") == "OK"
        wait_until(lambda: _replication(ours)["master_failover_state"] == "no-failover", FAILOVER_WAIT,
                   what="the failover to end")
        assert _replication(theirs)["role"] == "master"
        assert _replication(ours)["master_port"] == theirs.port
        assert _client(theirs).get("fruit") == "mango"
        wait_until(lambda: _replication(ours)["master_link_status"] == "up", what="our link to Redis")
        assert _stats(theirs) == {**their_stats, "sync_partial_ok": their_stats["sync_partial_ok"] + 1}
        _client(theirs).set("after", "1")
        wait_until(lambda: _client(ours).get("after") == "1", what="ours to follow Redis")
        assert _client(ours).lrange("list", 0, -1) == ["a", "b"]
    finally:
        _stop_all(ours, theirs)


@needs_redis
def test_a_real_redis_master_fails_over_to_ours(tmp_path):
    theirs = start_reference(cwd=str(tmp_path))
    ours = start_ours()
    try:
        _replicate(ours, theirs)
        _client(theirs).set("fruit", "mango")
        _client(theirs).hset("hash", "f", "v")
        wait_until(lambda: _in_sync(theirs, ours), what="our replica in sync")
        assert _client(theirs).execute_command("FAILOVER") == "OK"
        wait_until(lambda: _replication(theirs)["master_failover_state"] == "no-failover", FAILOVER_WAIT,
                   what="the failover to end")
        assert _replication(ours)["role"] == "master"
        their_state = _replication(theirs)
        assert (their_state["role"], their_state["master_port"]) == ("slave", ours.port)
        wait_until(lambda: _replication(theirs)["master_link_status"] == "up", what="Redis' link to ours")
        assert _stats(ours) == {"sync_full": 0, "sync_partial_ok": 1, "sync_partial_err": 0}
        assert _replication(ours)["master_replid"] == _replication(theirs)["master_replid"]
        _client(ours).set("after", "1")
        wait_until(lambda: _client(theirs).get("after") == "1", what="Redis to follow ours")
        assert _client(ours).hgetall("hash") == {"f": "v"}
    finally:
        _stop_all(theirs, ours)
