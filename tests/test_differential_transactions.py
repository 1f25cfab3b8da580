"""MULTI, EXEC, DISCARD, WATCH and UNWATCH compared byte for byte with a real Redis.

Each script runs on one connection (tests/differential.py); scripts whose replies are not
one per command (SUBSCRIBE or CLIENT REPLY inside EXEC) are sent in one go and compared
byte for byte (tests/differential_streams.py). What another client does to a watched key
is shown by the tests at the end, which drive two connections on both servers and
compare what each one sees, and CLIENT LIST fields are compared one by one (ours has the
fields of later versions too). Scripts that turn active expiry off turn it back on at
their end: both servers are shared by the whole session.
"""

from __future__ import annotations

import time

import pytest

from tests.differential import compare
from tests.differential_streams import compare_streams
from tests.helpers import RawConnection

SCRIPTS = {
    "queue_and_exec": """
        MULTI
        SET a 1
        INCR a
        INCRBY a 10
        GET a
        GET nokey
        EXEC
        GET a
    """,
    "empty_transaction": """
        MULTI
        EXEC
        EXEC
        MULTI
        DISCARD
        DISCARD
    """,
    "without_multi": """
        EXEC
        DISCARD
        DISCARD x
        UNWATCH
        UNWATCH x
        WATCH
        MULTI x
    """,
    "nested_multi": """
        MULTI
        MULTI
        SET a 1
        MULTI
        EXEC
        GET a
    """,
    "execabort_unknown_command": """
        MULTI
        SET a 1
        NOSUCHCOMMAND a b
        SET b 2
        EXEC
        EXEC
        EXISTS a b
    """,
    "execabort_wrong_arity": """
        MULTI
        SET a
        GET
        SET b 2
        EXEC
        EXISTS a b
        MULTI
        CONFIG NOSUCH
        EXEC
        MULTI
        MULTI x
        EXEC
        MULTI
        DISCARD x
        EXEC
    """,
    "discard_after_error": """
        MULTI
        NOSUCHCOMMAND
        DISCARD
        MULTI
        SET a 1
        EXEC
        GET a
    """,
    "runtime_errors_in_their_slot": """
        SET s abc
        MULTI
        INCR s
        SET a 1
        SET a 2 NX XX
        INCR a
        SET b x EX 0
        GET a
        INCRBYFLOAT s 1
        EXEC
        GET a
        GET s
        EXISTS b
    """,
    "queued_commands_of_every_kind": """
        MULTI
        PING
        PING hello
        ECHO hi
        SELECT 1
        SET k db1
        SELECT 0
        DBSIZE
        EXISTS k
        CONFIG GET maxclients
        EXEC
        SELECT 1
        GET k
        FLUSHDB
        SELECT 0
    """,
    "replies_of_every_type": """
        SET n 10
        MULTI
        GET n
        GET missing
        INCR n
        INCRBYFLOAT n 0.5
        MGET n missing
        SET x 1 GET
        EXEC
    """,
    "watch_inside_multi": """
        MULTI
        WATCH a
        SET a 1
        EXEC
        GET a
    """,
    "watch_own_write_aborts": """
        SET a 1
        WATCH a
        SET a 2
        MULTI
        SET a 3
        EXEC
        GET a
        WATCH a
        INCR a
        MULTI
        GET a
        EXEC
    """,
    "watch_unchanged_runs": """
        SET a 1
        WATCH a
        GET a
        MULTI
        SET a 2
        EXEC
        GET a
    """,
    "watch_missing_key": """
        WATCH nokey
        MULTI
        SET nokey 1
        EXEC
        GET nokey
        DEL nokey
        WATCH nokey
        SET nokey x
        MULTI
        GET nokey
        EXEC
        DEL nokey
        WATCH nokey
        DEL nokey
        MULTI
        GET nokey
        EXEC
    """,
    "watch_many_keys": """
        WATCH a b c
        WATCH d
        SET c 1
        MULTI
        PING
        EXEC
        WATCH a b c
        MULTI
        PING
        EXEC
        WATCH a a a
        SET a 5
        MULTI
        PING
        EXEC
    """,
    "watch_changes_of_every_kind": """
        SET a 1
        WATCH a
        EXPIRE a 100
        MULTI
        PING
        EXEC
        WATCH a
        PERSIST a
        MULTI
        PING
        EXEC
        WATCH a
        PERSIST a
        MULTI
        PING
        EXEC
        WATCH a
        APPEND a x
        MULTI
        PING
        EXEC
        WATCH a
        RENAME a b
        MULTI
        PING
        EXEC
        WATCH a b
        RENAME b a
        MULTI
        PING
        EXEC
        WATCH a
        SETRANGE a 0 z
        MULTI
        PING
        EXEC
        WATCH a
        GETDEL a
        MULTI
        PING
        EXEC
        WATCH a
        DEL a
        MULTI
        PING
        EXEC
    """,
    "watch_in_another_database": """
        SET a 1
        SELECT 1
        WATCH a
        SELECT 0
        SET a 2
        SELECT 1
        MULTI
        PING
        EXEC
        WATCH a
        SET a 3
        SELECT 0
        MULTI
        PING
        EXEC
        SELECT 1
        FLUSHDB
        SELECT 0
    """,
    "watch_then_move": """
        SET a 1
        WATCH a
        MOVE a 1
        MULTI
        PING
        EXEC
        SELECT 1
        DEL a
        SELECT 0
    """,
    "unwatch": """
        SET a 1
        WATCH a
        UNWATCH
        SET a 2
        MULTI
        GET a
        EXEC
        WATCH a
        MULTI
        UNWATCH
        EXEC
    """,
    "exec_and_discard_forget_watches": """
        SET a 1
        WATCH a
        MULTI
        GET a
        EXEC
        SET a 2
        MULTI
        GET a
        EXEC
        WATCH a
        MULTI
        DISCARD
        SET a 3
        MULTI
        GET a
        EXEC
        WATCH a
        SET a 4
        MULTI
        EXEC
        MULTI
        GET a
        EXEC
    """,
    "execabort_forgets_watches": """
        SET a 1
        WATCH a
        MULTI
        NOSUCHCOMMAND
        EXEC
        SET a 2
        MULTI
        GET a
        EXEC
    """,
    "no_multi_commands": """
        MULTI
        SHUTDOWN
        SET a 1
        EXEC
        EXISTS a
        MULTI
        SHUTDOWN NOSAVE
        EXEC
        MULTI
        SET a 1
        SHUTDOWN
        DISCARD
        EXISTS a
    """,
    "flushall_touches_watched_keys": """
        SET a 1
        WATCH a
        FLUSHALL
        MULTI
        PING
        EXEC
        WATCH nokey
        FLUSHALL
        MULTI
        PING
        EXEC
        SET a 1
        WATCH a
        FLUSHDB
        MULTI
        PING
        EXEC
        SET a 1
        SELECT 1
        WATCH a
        SELECT 0
        FLUSHDB
        SELECT 1
        MULTI
        PING
        EXEC
        SELECT 0
        SET a 1
        WATCH a
        SELECT 1
        FLUSHDB
        SELECT 0
        MULTI
        PING
        EXEC
        FLUSHALL ASYNC
        SET a 1
        WATCH a
        FLUSHALL SYNC
        MULTI
        PING
        EXEC
    """,
    "flush_inside_exec": """
        SET a 1
        MULTI
        GET a
        FLUSHALL
        GET a
        EXEC
    """,
    "expired_watched_keys": """
        DEBUG SET-ACTIVE-EXPIRE 0
        SET k v PX 100
        WATCH k
        DEBUG SLEEP 0.15
        MULTI
        PING
        EXEC
        SET k v PX 1
        DEBUG SLEEP 0.01
        WATCH k
        MULTI
        PING
        EXEC
        SET k v PX 1
        DEBUG SLEEP 0.01
        WATCH k
        GET k
        MULTI
        PING
        EXEC
        SET k v PX 1
        DEBUG SLEEP 0.01
        WATCH k
        SET k v2
        MULTI
        PING
        EXEC
        SET k v PX 1
        DEBUG SLEEP 0.01
        WATCH k
        FLUSHALL
        MULTI
        PING
        EXEC
        SET k v PX 100
        WATCH k
        DEBUG SLEEP 0.15
        GET k
        MULTI
        PING
        EXEC
        DEBUG SET-ACTIVE-EXPIRE 1
    """,
    "watched_key_expires_by_itself": """
        SET k v PX 100
        WATCH k
        DEBUG SLEEP 0.3
        MULTI
        PING
        EXEC
        EXISTS k
    """,
    "blocking_commands_inside_exec_do_not_block": """
        LPUSH l a
        MULTI
        BLPOP nokey 0
        BLPOP l 0
        BRPOPLPUSH nokey other 0
        BLMOVE nokey other LEFT LEFT 0
        LLEN l
        EXEC
    """,
    "wrongtype_in_its_slot": """
        LPUSH l a
        MULTI
        INCR l
        GET l
        LPUSH l b
        APPEND l x
        LLEN l
        EXEC
    """,
    "reset_inside_multi": """
        SET a 1
        WATCH a
        MULTI
        SET a 2
        RESET
        EXEC
        DISCARD
        GET a
        SET a 3
        MULTI
        GET a
        EXEC
    """,
    "quit_inside_multi": """
        MULTI
        SET a 1
        QUIT
    """,
}

# A refused EXEC still ends the transaction (Redis: execCommandAbort), and the clock
# stands still while EXEC runs, so a key cannot expire halfway through.
SCRIPTS["exec_refused_by_the_dispatcher"] = """
    EXEC x
    SET a 1
    WATCH a
    EXEC x
    SET a 2
    MULTI
    GET a
    EXEC
    MULTI
    SET a 3
    EXEC x
    EXEC
    GET a
"""
# SWAPDB changes every watched key that exists in either database before or after.
SCRIPTS["swapdb_touches_watched_keys"] = """
    SET here 1
    SELECT 1
    SET there 1
    SELECT 0
    WATCH here
    SWAPDB 0 1
    MULTI
    PING
    EXEC
    WATCH there
    SWAPDB 0 1
    MULTI
    PING
    EXEC
    WATCH nowhere
    SWAPDB 0 1
    MULTI
    PING
    EXEC
    SWAPDB 1 1
"""
SCRIPTS["time_stands_still_inside_exec"] = """
    SET k v
    MULTI
    PEXPIRE k 1
    DEBUG SLEEP 0.01
    GET k
    EXEC
    EXISTS k
"""


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


# Scripts whose replies are not one per command: sent in one go, every byte compared.
STREAMS = {
    "subscribe_and_publish_to_oneself_inside_exec": """
        MULTI
        SUBSCRIBE x
        PUBLISH x y
        EXEC
        PING
        UNSUBSCRIBE
    """,
    "subscribe_to_two_inside_exec": """
        MULTI
        SUBSCRIBE a b
        PSUBSCRIBE p*
        PUBLISH pa y
        EXEC
        PUNSUBSCRIBE
        UNSUBSCRIBE b a
    """,
    "client_reply_skip_inside_exec": """
        MULTI
        CLIENT REPLY SKIP
        SET a 1
        EXEC
        GET a
        GET a
    """,
    "client_reply_off_inside_exec": """
        MULTI
        CLIENT REPLY OFF
        SET a 1
        EXEC
        GET a
        CLIENT REPLY ON
        GET a
    """,
    "client_reply_off_around_exec": """
        MULTI
        SET a 1
        CLIENT REPLY SKIP
        EXEC
        GET a
        CLIENT REPLY OFF
        MULTI
        SET a 2
        CLIENT REPLY ON
        GET a
        EXEC
        GET a
    """,
    "hello_inside_exec": """
        MULTI
        GET nokey
        HELLO 3
        GET nokey
        HELLO 2
        GET nokey
        EXEC
        GET nokey
    """,
    "quit_inside_multi": """
        MULTI
        SET a 1
        QUIT
    """,
}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_streams_match_redis(server, reference, name):
    compare_streams(server.port, reference.port, STREAMS[name])


# --------------------------------------------------------------------------- two clients

def run_clients(port: int, script: str, protocol: int) -> list[bytes]:
    """Run lines ``A: CMD ...`` / ``B: CMD ...`` on two connections, in order; return
    every reply (each line's command must answer exactly once)."""
    connections = {name: RawConnection(port, protocol) for name in "AB"}
    try:
        connections["A"].call("FLUSHALL")
        replies = []
        for line in script.strip().splitlines():
            line = line.strip()
            if not line:
                continue
            who, command = line.split(":", 1)
            replies.append((line, connections[who].call(*command.split())))
        return replies
    finally:
        for connection in connections.values():
            connection.close()


def compare_clients(ours_port: int, reference_port: int, script: str) -> None:
    problems = []
    for protocol in (2, 3):
        mine, theirs = run_clients(ours_port, script, protocol), run_clients(reference_port, script, protocol)
        for (line, got), (_line, want) in zip(mine, theirs):
            if got != want:
                problems.append(f"RESP{protocol} {line}\n   ours:  {got!r}\n   redis: {want!r}")
    assert not problems, "replies differ from Redis:\n" + "\n".join(problems)


TWO_CLIENTS = {
    "another_client_writes_the_watched_key": """
        A: SET k 1
        A: WATCH k
        B: SET k 2
        A: MULTI
        A: INCR k
        A: EXEC
        B: GET k
    """,
    "the_same_value_written_again_still_counts": """
        A: SET k 1
        A: WATCH k
        B: SET k 1
        A: MULTI
        A: GET k
        A: EXEC
    """,
    "reads_and_other_keys_do_not_abort": """
        A: SET k 1
        A: WATCH k
        B: GET k
        B: EXISTS k
        B: TTL k
        B: SET other 1
        B: DEL nokey
        A: MULTI
        A: INCR k
        A: EXEC
    """,
    "a_missing_key_created_by_another_client": """
        A: WATCH k
        B: SET k 1
        A: MULTI
        A: SET k mine
        A: EXEC
        B: GET k
    """,
    "a_missing_key_deleted_again_is_still_a_change": """
        A: WATCH k
        B: SET k 1
        B: DEL k
        A: MULTI
        A: SET k mine
        A: EXEC
    """,
    "deletes_and_deadlines_by_another_client": """
        A: SET k 1
        A: WATCH k
        B: EXPIRE k 100
        A: MULTI
        A: PING
        A: EXEC
        A: WATCH k
        B: DEL k
        A: MULTI
        A: PING
        A: EXEC
        A: SET j 1
        A: WATCH j
        B: RENAME j j2
        A: MULTI
        A: PING
        A: EXEC
        A: WATCH j2
        B: FLUSHDB
        A: MULTI
        A: PING
        A: EXEC
    """,
    "another_clients_transaction_aborts_the_watcher": """
        A: SET k 1
        A: WATCH k
        B: MULTI
        B: INCR k
        A: MULTI
        A: INCR k
        B: EXEC
        A: EXEC
        A: GET k
    """,
    "queued_commands_are_invisible_until_exec": """
        A: MULTI
        A: SET k 1
        A: INCR k
        B: GET k
        B: EXISTS k
        A: EXEC
        B: GET k
    """,
    "interleaved_transactions": """
        A: MULTI
        B: MULTI
        A: INCR n
        B: INCR n
        A: INCR n
        B: EXEC
        A: EXEC
        B: GET n
    """,
    "a_change_in_another_database": """
        A: SET k 1
        A: WATCH k
        B: SELECT 1
        B: SET k 2
        A: MULTI
        A: PING
        A: EXEC
        B: FLUSHDB
    """,
    # The server's state changes between queueing and EXEC: Redis refuses the whole
    # transaction if it queued a write (EXECABORT quoting why), and runs a read-only one.
    "too_few_replicas_by_exec": """
        A: MULTI
        A: SET k 1
        A: GET k
        B: CONFIG SET min-replicas-to-write 2
        A: EXEC
        A: GET k
        A: MULTI
        A: GET k
        A: EXEC
        B: CONFIG SET min-replicas-to-write 0
    """,
    "out_of_memory_by_exec": """
        A: MULTI
        A: SET k 1
        B: CONFIG SET maxmemory 1
        A: EXEC
        A: MULTI
        A: GET k
        A: EXEC
        B: CONFIG SET maxmemory 0
        A: GET k
    """,
    "a_read_only_replica_by_exec": """
        A: MULTI
        A: SET k 1
        B: REPLICAOF 127.0.0.1 1
        A: EXEC
        A: MULTI
        A: GET k
        A: EXEC
        B: REPLICAOF NO ONE
        A: GET k
    """,
}


@pytest.mark.parametrize("name", sorted(TWO_CLIENTS))
def test_two_clients_match_redis(server, reference, name):
    compare_clients(server.port, reference.port, TWO_CLIENTS[name])


# --------------------------------------------------------------------------- CLIENT LIST

_SHOWN = ("flags", "db", "sub", "psub", "ssub", "multi", "cmd")


def _fields(text) -> dict[str, str]:
    """Some fields of a CLIENT LIST / CLIENT INFO line (ours has more fields than 7.0's)."""
    line = (text.decode() if isinstance(text, bytes) else str(text)).strip()
    pairs = dict(field.split("=", 1) for field in line.split(" "))
    return {name: pairs[name] for name in _SHOWN}


def _client_states(port: int, protocol: int) -> list[dict[str, str]]:
    """What another client sees of a client as it goes through WATCH, MULTI and EXEC, and
    what CLIENT INFO says inside EXEC."""
    with RawConnection(port, protocol) as subject, RawConnection(port) as observer:
        subject.call("FLUSHALL")
        subject.send_command("CLIENT", "ID")
        subject_id = subject.read()

        def seen() -> dict[str, str]:
            return _fields(observer.call("CLIENT", "LIST", "ID", subject_id).split(b"\r\n", 1)[1])

        states = [seen()]
        subject.call("SET", "k", "1")
        subject.call("WATCH", "k")
        states.append(seen())
        subject.call("MULTI")
        subject.call("SET", "a", "1")
        subject.call("GET", "a")
        states.append(seen())  # x, multi=2
        subject.call("EXEC")
        states.append(seen())  # out of MULTI again: multi=-1
        subject.call("MULTI")
        subject.call("PING")
        assert subject.call("CLIENT", "INFO") == b"+QUEUED\r\n"
        subject.send_command("EXEC")
        (_pong, inside) = subject.read()
        states.append(_fields(inside))  # CLIENT INFO inside EXEC: still in MULTI
        subject.call("MULTI")
        subject.call("DISCARD")
        states.append(seen())
        # A doomed transaction: a watched key changed, then a refused command.
        subject.call("WATCH", "k")
        observer.call("SET", "k", "2")
        states.append(seen())  # d: a watched key changed
        subject.call("MULTI")
        subject.call("SET", "a", "1")
        subject.call("GET", "a")
        states.append(seen())
        subject.call("NOSUCHCOMMAND")
        states.append(seen())
        subject.call("EXEC")
        states.append(seen())
        return states


_EXACT = ("flags", "db", "sub", "psub", "ssub")


@pytest.mark.parametrize("protocol", [2, 3])
def test_client_list_flags_match_redis(server, reference, protocol):
    """flags (x in MULTI and inside EXEC, d once a watched key changed) and multi= (the
    queued commands, -1 outside MULTI) as CLIENT LIST shows them from another
    connection and CLIENT INFO inside EXEC."""
    ours = _client_states(server.port, protocol)
    theirs = _client_states(reference.port, protocol)
    assert [{name: state[name] for name in _EXACT} for state in ours] == [
        {name: state[name] for name in _EXACT} for state in theirs]
    assert [state["flags"] for state in theirs] == ["N", "N", "x", "N", "x", "N", "d", "xd", "xd", "N"]
    assert [state["multi"] for state in ours[:6]] == [state["multi"] for state in theirs[:6]]
    assert [state["multi"] for state in theirs[:6]] == ["-1", "-1", "2", "-1", "2", "-1"]


@pytest.mark.parametrize("protocol", [2, 3])
def test_client_list_multi_and_cmd_match_redis(server, reference, protocol):
    """multi= and cmd= while a doomed transaction queues commands: Redis stops queueing
    once EXEC is sure to fail (multi=0), and cmd= names every command looked up, queued
    or refused (NULL for an unknown one)."""
    assert _client_states(server.port, protocol) == _client_states(reference.port, protocol)


def _blocked_client_and_exec(port: int, protocol: int) -> list[bytes]:
    with RawConnection(port, protocol) as a, RawConnection(port, protocol) as b, RawConnection(port) as observer:
        a.call("FLUSHALL")
        b.send_command("BLPOP", "bl", "0")
        deadline = time.monotonic() + 10
        while b"blocked_clients:1" not in observer.call("INFO", "clients"):
            assert time.monotonic() < deadline, "BLPOP never blocked"
            time.sleep(0.005)
        seen = [a.call("MULTI"), a.call("LPUSH", "bl", "x", "y"), a.call("LLEN", "bl"), a.call("EXEC")]
        seen += [b.read_raw(), a.call("LRANGE", "bl", "0", "-1")]
        return seen


@pytest.mark.parametrize("protocol", [2, 3])
def test_a_blocked_client_is_served_after_exec(server, reference, protocol):
    """A client blocked on a key that EXEC fills is served once the whole transaction has
    run, not in the middle of it (LLEN inside still counts both elements)."""
    ours = _blocked_client_and_exec(server.port, protocol)
    assert ours == _blocked_client_and_exec(reference.port, protocol)
    assert ours[3] == b"*2\r\n:2\r\n:2\r\n"
