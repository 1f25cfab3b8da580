"""ACL rules enforced: commands, keys and channels refused with Redis' NOPERM errors,
ACL LOG and ACL DRYRUN, compared with a real Redis in RESP2 and RESP3.

The scripts switch users with AUTH on their one connection and end as the default user
again, with their users deleted, because both servers are shared by the session.
"""

from __future__ import annotations

import re

import pytest

from tests.differential import compare
from tests.helpers import RawConnection, redis_server_path, start_ours, start_reference

SETUP = """
    ACL SETUSER bob on >pw ~k* %R~ro:* %W~wo:* &news* +@read +set +del +publish +subscribe +psubscribe +config|get -get +select|0 +acl|whoami
"""
CLEANUP = """
    AUTH default any
    ACL DELUSER bob
"""

SCRIPTS = {
    "commands": """
        AUTH bob pw
        ACL WHOAMI
        SET k1 v
        GET k1
        MGET k1 k2
        STRLEN k1
        INCR k1
        CONFIG GET maxclients
        CONFIG SET maxclients 10
        CONFIG RESETSTAT
        SELECT 0
        SELECT 1
        FLUSHALL
        PING
        AUTH bob wrong
        MULTI
        SET k2 v
        INCR k2
        EXEC
    """,
    "keys": """
        AUTH bob pw
        SET other v
        STRLEN other
        STRLEN ro:1
        SET ro:1 v
        SET wo:1 v
        STRLEN wo:1
        DEL wo:1
        MGET k1 other
        EXISTS other
        DEL k1 k2 other
        BLPOP k1 other 0.01
        XREAD COUNT 1 STREAMS k1 other 0 0
        SORT k1 BY other
    """,
    "channels": """
        AUTH bob pw
        PUBLISH news 1
        PUBLISH newsroom 1
        PUBLISH sport 1
        SUBSCRIBE news sport
        PSUBSCRIBE news*
        PSUBSCRIBE new*
    """,
    "dryrun": """
        ACL DRYRUN bob get k1
        ACL DRYRUN bob strlen k1
        ACL DRYRUN bob strlen other
        ACL DRYRUN bob set ro:1 v
        ACL DRYRUN bob publish sport m
        ACL DRYRUN bob config set a b
        ACL DRYRUN bob config get a
        ACL DRYRUN bob config nosub a
        ACL DRYRUN bob select 0
        ACL DRYRUN bob select 1
        ACL DRYRUN nobody get k
        ACL DRYRUN bob nocommand k
        ACL DRYRUN bob get
        ACL DRYRUN bob
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_enforced_as_redis_does(server, reference, name):
    compare(server.port, reference.port, SETUP + SCRIPTS[name] + CLEANUP)


def _log(port: int) -> list:
    with RawConnection(port) as conn:
        conn.call("ACL", "LOG", "RESET")
        conn.call("ACL", "SETUSER", "carol", "on", ">pw", "~c*", "+get")
        with RawConnection(port) as carol:
            carol.call("AUTH", "carol", "pw")
            carol.call("GET", "other")
            carol.call("GET", "other")
            carol.call("SET", "c1", "v")
            carol.call("AUTH", "nosuch", "pw")
        conn.send_command("ACL", "LOG")
        entries = conn.read()
        assert conn.call("ACL", "LOG", "1").startswith(b"*1\r\n")
        assert conn.call("ACL", "LOG", "RESET") == b"+OK\r\n"
        assert conn.call("ACL", "LOG") == b"*0\r\n"
        conn.call("ACL", "DELUSER", "carol")
    out = []
    for entry in entries:
        fields = dict(zip(entry[::2], entry[1::2]))
        assert float(fields.pop(b"age-seconds")) < 60
        info = fields.pop(b"client-info")
        assert re.search(rb"\bcmd=\S+ user=\S+", info)
        out.append(list(fields.items()))
    return out


def test_acl_log_as_redis_keeps_it(server, reference):
    expected = _log(reference.port)
    assert _log(server.port) == expected
    assert [dict(e)[b"reason"] for e in expected] == [b"auth", b"command", b"key"]


def _acl_file_session(start, directory) -> list[bytes]:
    path = directory / "users.acl"
    path.write_bytes(b"user default on nopass ~* &* +@all\nuser alice on >pw ~a* +get\n")
    server = start(str(path), directory)
    replies = []
    try:
        with RawConnection(server.port) as conn:
            replies.append(conn.call("ACL", "LIST"))
            replies.append(conn.call("ACL", "SETUSER", "bob", "on", ">x", "~b*", "+set"))
            replies.append(conn.call("ACL", "SAVE"))
            replies.append(path.read_bytes())
            path.write_bytes(b"user default on nopass ~* &* +@all\nuser alice on >pw ~a* +nosuch\nfoo bar\n"
                             b"user alice on\n\n# comment\nuser 'x\n")
            replies.append(conn.call("ACL", "LOAD"))
            replies.append(conn.call("ACL", "LIST"))  # unchanged after a refused file
            path.write_bytes(b"user carol on >pw ~c* +get\n")
            replies.append(conn.call("ACL", "LOAD"))
            replies.append(conn.call("ACL", "LIST"))
    finally:
        server.stop()
    return [reply.replace(str(path).encode(), b"<path>") for reply in replies]


@pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")
def test_acl_files_as_redis_reads_and_writes_them(tmp_path):
    ours_dir, redis_dir = tmp_path / "ours", tmp_path / "redis"
    ours_dir.mkdir()
    redis_dir.mkdir()
    expected = _acl_file_session(lambda path, d: start_reference("--aclfile", path, cwd=str(d)), redis_dir)
    actual = _acl_file_session(lambda path, d: start_ours("--aclfile", path, cwd=str(d)), ours_dir)
    assert actual == expected


def test_acl_load_and_save_need_an_acl_file(server):
    with RawConnection(server.port) as conn:
        assert conn.call("ACL", "LOAD").startswith(b"-ERR This Redis instance is not configured to use an ACL file.")
        assert conn.call("ACL", "SAVE").startswith(b"-ERR This Redis instance is not configured to use an ACL file.")


def _subscriber_session(port: int) -> list:
    """A subscriber logged in as ``sub`` while an admin changes sub's channels: what
    PUBLISH reaches, and whether the subscriber's connection is closed."""
    seen = []
    with RawConnection(port) as admin, RawConnection(port) as subscriber:
        admin.call("ACL", "SETUSER", "sub", "on", "nopass", "+@all", "~*", "&news", "&sports", "(+@all &extra)")
        subscriber.call("AUTH", "sub", "x")
        seen.append(subscriber.call("SUBSCRIBE", "news"))  # allowed by the root permissions
        seen.append(subscriber.call("SUBSCRIBE", "extra"))  # by the selector
        seen.append(admin.call("ACL", "SETUSER", "sub", "&weather"))  # more channels: kept
        seen.append(admin.call("PUBLISH", "news", "1"))
        seen.append(subscriber.read_raw())
        seen.append(admin.call("ACL", "SETUSER", "sub", "clearselectors", "(+@all &extra)"))  # still allowed
        seen.append(admin.call("PUBLISH", "extra", "2"))
        seen.append(subscriber.read_raw())
        seen.append(admin.call("ACL", "SETUSER", "sub", "resetchannels", "&sports"))  # news gone: closed
        seen.append(subscriber.read_until_closed())
        seen.append(admin.call("PUBLISH", "news", "3"))
        admin.call("ACL", "DELUSER", "sub")
    return seen


@pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")
def test_subscribers_that_lose_a_channel_are_closed_as_in_redis(server, reference):
    assert _subscriber_session(server.port) == _subscriber_session(reference.port)
