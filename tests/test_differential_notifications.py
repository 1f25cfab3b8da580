"""Keyspace notifications compared with a real Redis: which events, on which channels, in
which order.

Every script runs with several values of ``notify-keyspace-events`` (`FLAGS`): all
classes on both channels, plus the "n" (new key) and "m" (key miss) classes that "A"
leaves out, and a few single classes on one channel, which must filter the same events
out. Keys that expire are made with ``PX 1`` and a ``DEBUG SLEEP``, with active expiry off
so that the lookup that follows finds them ("expired" then, for a read, "keymiss"); those
scripts end with FLUSHALL (which announces nothing) before they turn active expiry back
on, as both servers are shared: an expired key left behind would otherwise announce
itself during the next script.

RANDOMKEY and SCAN only meet one expired key at a time: with several, the order in which
they are deleted depends on Redis' hash table.
"""

from __future__ import annotations

import pytest

from tests.differential import collect_notifications, compare, compare_notifications, parse_script
from tests.helpers import RawConnection

FLAGS = ("KEA", "KEAnm", "K$", "Eg", "Ex")

SCRIPTS = {
    "set_options": """
        SET a 1
        SET a 2 NX
        SET b 1 XX
        SET a 3 XX
        SET a 4 GET
        SET c 1 GET
        SET c 2 NX GET
        SET a 5 EX 100
        SET a 6 KEEPTTL
        SET a 7 PX 100000 XX
        SET d 1 EXAT 99999999999
        SET e 1 PXAT 99999999999000
        SET f 1 EXAT 1
        GET f
        SET a 1 EX 0
        SET a 1 NX XX
        LCS a c
        SET a 8
    """,
    "set_relatives": """
        SETNX a 1
        SETNX a 2
        SETEX b 100 v
        PSETEX c 100000 v
        SETEX b 0 v
        PSETEX c -1 v
        MSET a 1 d 2 e 3
        MSET a 1 a 2
        MSETNX f 1 g 2
        MSETNX h 1 f 2
        MSETNX h 1 h 2
        GETSET a 10
        GETSET i 10
        GETSET j
    """,
    "getex_getdel": """
        SET a 1
        GETEX a
        GETEX a EX 100
        GETEX a PX 100000
        GETEX a EXAT 99999999999
        GETEX a PXAT 99999999999000
        GETEX a PERSIST
        GETEX a PERSIST
        GETEX missing EX 100
        GETEX missing PERSIST
        GETEX a EX 0
        GETEX a EXAT 1
        EXISTS a
        SET b 1
        GETEX b PXAT 1
        SET c 1
        GETDEL c
        GETDEL c
    """,
    "in_place_edits": """
        APPEND a x
        APPEND a ""
        APPEND a yz
        APPEND b ""
        SETRANGE c 0 ""
        SETRANGE c 3 ab
        SETRANGE c 0 ""
        SETRANGE c 1 x
        SETRANGE c -1 x
        SET d 1 EX 100
        APPEND d 2
        SETRANGE d 0 3
        TTL d
    """,
    "counters": """
        INCR a
        INCRBY a 10
        DECR a
        DECRBY a 5
        INCRBYFLOAT a 1.5
        INCRBYFLOAT b 2
        INCR b
        SET c x
        INCR c
        INCRBYFLOAT c 1
        SET d 9223372036854775807
        INCR d
        INCRBY e nope
        SET f 1 EX 100
        INCR f
        INCRBYFLOAT f 1
    """,
    "reads_and_misses": """
        SET s hello
        GET s
        GET missing
        MGET s missing other
        STRLEN missing
        GETRANGE missing 0 1
        LCS s missing
        LCS missing other
        EXISTS missing s missing
        TYPE missing
        TOUCH missing s
        TTL missing
        PTTL missing
        EXPIRETIME missing
        PEXPIRETIME missing
        OBJECT ENCODING missing
        OBJECT REFCOUNT missing
        OBJECT IDLETIME missing
        OBJECT FREQ missing
        KEYS *
        SCAN 0
        DBSIZE
        RANDOMKEY
    """,
    "del_unlink": """
        MSET a 1 b 2 c 3 d 4
        DEL a a missing b
        DEL missing
        UNLINK c missing d
        UNLINK c
    """,
    "rename": """
        MSET a 1 b 2
        RENAME missing x
        RENAME a a
        RENAMENX a a
        RENAME a c
        RENAME c b
        SET d 1 EX 100
        RENAME d e
        TTL e
        SET f 1
        RENAMENX e f
        RENAMENX e g
        RENAMENX missing h
    """,
    "copy_and_move": """
        SET a 1 EX 100
        COPY a a
        COPY missing b
        COPY a b
        COPY a b
        COPY a b REPLACE
        COPY a b DB 1
        COPY a b DB 1 REPLACE
        COPY a a DB 1 REPLACE
        COPY a c DB 99
        MOVE missing 1
        MOVE a 0
        MOVE a 1
        SET a 2
        MOVE a 1
        MOVE b 2
        SELECT 2
        TTL b
        MOVE b 0
    """,
    "expire_and_persist": """
        SET a 1
        EXPIRE missing 100
        PEXPIRE missing 100000
        EXPIRE a 100
        EXPIRE a 200 NX
        EXPIRE a 200 XX
        EXPIRE a 100 GT
        EXPIRE a 300 GT
        EXPIRE a 400 LT
        PEXPIRE a 100000 LT
        EXPIREAT a 99999999999
        PEXPIREAT a 99999999999000
        EXPIRE a 100 FOO
        EXPIRE a abc
        PERSIST a
        PERSIST a
        PERSIST missing
        EXPIRE a -1
        SET b 1
        PEXPIRE b 0
        SET c 1
        EXPIREAT c 1
        SET d 1
        PEXPIREAT d 1
        SET e 1 EX 100
        EXPIRE e 0 GT
        EXPIRE e 0 LT
        DBSIZE
    """,
    "expired_found_by_writes": """
        DEBUG SET-ACTIVE-EXPIRE 0
        SET a 1 PX 1
        SET b 1 PX 1
        SET c 1 PX 1
        SET d 1 PX 1
        SET e 1 PX 1
        SET f 1 PX 1
        SET g 1 PX 1
        SET h 1 PX 1
        SET i 1 PX 1
        SET j 1 PX 1
        SET k 1 PX 1
        SET l 1 PX 1
        SET m 1 PX 1
        SET n 1 PX 1
        SET o 1 PX 1
        SET p 1 PX 1
        SET live 1
        SELECT 1
        SET q 1 PX 1
        SET r 1 PX 1
        SELECT 0
        DEBUG SLEEP 0.01
        SET a 2
        SET b 2 NX
        SET c 2 XX
        SET d 2 GET
        SETNX e 2
        MSET f 2
        MSETNX g 2 h 2
        GETSET i 2
        APPEND j x
        SETRANGE k 1 x
        INCRBY l 2
        INCRBYFLOAT m 2
        SETEX n 100 v
        DEL o missing
        UNLINK p
        COPY live q DB 1
        MOVE live 1
        FLUSHALL
        DEBUG SET-ACTIVE-EXPIRE 1
    """,
    "expired_found_by_keys": """
        DEBUG SET-ACTIVE-EXPIRE 0
        SET a 1 PX 1
        SET b 1 PX 1
        SET c 1 PX 1
        SET d 1 PX 1
        SET e 1 PX 1
        SET f 1 PX 1
        SET g 1 PX 1
        SET live 1
        SET other 1
        DEBUG SLEEP 0.01
        RENAME a x
        RENAME live b
        RENAMENX c other
        EXPIRE d 100
        PERSIST e
        COPY f y
        COPY b g
        MOVE missing 1
        FLUSHALL
        DEBUG SET-ACTIVE-EXPIRE 1
    """,
    "expired_found_by_reads": """
        DEBUG SET-ACTIVE-EXPIRE 0
        SET a 1 PX 1
        SET b 1 PX 1
        SET c 1 PX 1
        SET d 1 PX 1
        SET e 1 PX 1
        SET f 1 PX 1
        SET g 1 PX 1
        SET h 1 PX 1
        SET i 1 PX 1
        SET j 1 PX 1
        SET k 1 PX 1
        SET l 1 PX 1
        DEBUG SLEEP 0.01
        GET a
        MGET b missing
        STRLEN c
        GETRANGE d 0 1
        GETEX e EX 100
        GETDEL f
        LCS g g
        EXISTS h
        TYPE i
        TTL j
        TOUCH k
        OBJECT ENCODING l
        KEYS *
        FLUSHALL
        DEBUG SET-ACTIVE-EXPIRE 1
    """,
    "expired_found_by_randomkey_and_scan": """
        DEBUG SET-ACTIVE-EXPIRE 0
        SET a 1 PX 1
        DEBUG SLEEP 0.01
        RANDOMKEY
        SET b 1 PX 1
        SET live 1
        DEBUG SLEEP 0.01
        SCAN 0 TYPE string
        SET c 1 PX 1
        DEBUG SLEEP 0.01
        SCAN 0 MATCH x*
        SCAN 0
        FLUSHALL
        DEBUG SET-ACTIVE-EXPIRE 1
    """,
    "swapdb": """
        SET a 1
        SWAPDB 0 1
        SWAPDB 1 1
        SELECT 1
        DEL a
        SELECT 0
    """,
    "flush": """
        MSET a 1 b 2
        SELECT 1
        SET c 1 EX 100
        FLUSHDB
        SET d 1
        FLUSHALL
        FLUSHALL
        SELECT 0
        DBSIZE
    """,
}


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_notifications_match_redis(server, reference, name, flags):
    compare_notifications(server.port, reference.port, SCRIPTS[name], flags=flags)


# Commands that change nothing announce nothing. The set-up announces its own events,
# and nothing may follow them.
QUIET = """
    SET a 1
    SET b 1 EX 100
    SET a 2 NX
    SET missing 1 XX
    SETNX a 2
    MSETNX a 2 new 2
    SETRANGE a 0 ""
    SETRANGE missing 0 ""
    GETEX a
    GETEX missing EX 10
    GETDEL missing
    INCR b x
    DEL missing
    UNLINK missing
    EXPIRE missing 10
    EXPIRE a 10 XX
    EXPIRE b 10 NX
    EXPIRE b 10 GT
    PERSIST a
    PERSIST missing
    RENAMENX a b
    RENAMENX a a
    RENAME a a
    COPY a b
    MOVE a 0
    SELECT 1
    SET a 1 EX 100
    SELECT 0
    MOVE a 1
    GET missing
    TTL missing
"""
QUIET_SETUP = [
    [b"__keyspace@0__:a", b"set"], [b"__keyevent@0__:set", b"a"],
    [b"__keyspace@0__:b", b"set"], [b"__keyevent@0__:set", b"b"],
    [b"__keyspace@0__:b", b"expire"], [b"__keyevent@0__:expire", b"b"],
    [b"__keyspace@1__:a", b"set"], [b"__keyevent@1__:set", b"a"],
    [b"__keyspace@1__:a", b"expire"], [b"__keyevent@1__:expire", b"a"],
]  # fmt: skip


def test_commands_that_change_nothing_announce_nothing(server, reference):
    compare_notifications(server.port, reference.port, QUIET, flags="KEA")
    messages = collect_notifications(server.port, parse_script(QUIET), 2, "KEA")
    assert [message[2:] for message in messages] == QUIET_SETUP


@pytest.mark.parametrize("flags", ["A", "KE", "Kd", "Elshzte"])
@pytest.mark.parametrize("name", ["set_options", "rename", "copy_and_move", "expire_and_persist"])
def test_disabled_classes_and_channels_announce_nothing(server, reference, name, flags):
    """Without K or E, or with only classes these commands never raise, nothing is published."""
    compare_notifications(server.port, reference.port, SCRIPTS[name], flags=flags)
    assert collect_notifications(server.port, parse_script(SCRIPTS[name]), 2, flags) == []


def _push_frames(port: int) -> list[bytes]:
    """The exact bytes a RESP3 subscriber to one key's channel and to every keyevent
    channel receives when that key is set with a deadline, then deleted."""
    with RawConnection(port, 3) as subscriber, RawConnection(port) as control:
        control.call("FLUSHALL")
        control.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        try:
            frames = [subscriber.call("SUBSCRIBE", "__keyspace@0__:k"), subscriber.call("PSUBSCRIBE", "__keyevent@*")]
            control.call("SET", "k", "v", "EX", "100")
            control.call("DEL", "k")
            frames += [subscriber.read_raw() for _ in range(6)]
        finally:
            control.call("CONFIG", "SET", "notify-keyspace-events", "")
    return frames


def test_resp3_subscriber_receives_push_frames(server, reference):
    ours, theirs = _push_frames(server.port), _push_frames(reference.port)
    assert ours == theirs
    assert ours[2] == b">3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n"
    assert all(frame.startswith(b">") for frame in ours)


def test_config_notify_keyspace_events_round_trips(server, reference):
    compare(server.port, reference.port, """
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events KEA
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events Ag$lshzxeKEtmdn
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events nK
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events g$lshzxetd
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events AKEn
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events ggEE
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events mxE
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events Q
        CONFIG SET notify-keyspace-events KEQ
        CONFIG SET notify-keyspace-events a
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events ""
        CONFIG GET notify-keyspace-events
        CONFIG GET notify-keyspace-event*
    """)
