"""ACL selectors, compared with a real Redis in RESP2 and RESP3: the ``(...)`` rules of
ACL SETUSER, how GETUSER, LIST, SAVE and LOAD show and read them, and how they widen
what a user may run (a command runs if the root permissions or any one selector allow
all of it).

A description lists a selector's single commands in Redis' hash-table order, which
changes from one run of redis-server to the next, so the rules compared here give each
selector at most one single command next to its categories. Both servers are shared by
the session: every script deletes the users it made.
"""

from __future__ import annotations

import re

import pytest

from app.acl import User
from tests.differential import compare
from tests.helpers import RawConnection, redis_server_path, start_ours, start_reference

SCRIPTS = {
    "forms": r"""
        ACL SETUSER sel-a (~key* +get)
        ACL SETUSER sel-a "(~a*" "+set)"
        ACL GETUSER sel-a
        ACL LIST
        ACL SETUSER sel-a "( ~b*   +@hash )" "(" "%R~r*" "%W~w*" "&c*" "+@read" "-get" ")"
        ACL GETUSER sel-a
        ACL SETUSER sel-a clearselectors
        ACL GETUSER sel-a
        ACL SETUSER sel-a on ~root* +get (~x* +set) reset
        ACL GETUSER sel-a
        ACL LIST
        ACL SETUSER sel-a "()" "(allkeys allchannels allcommands)" "(~* &* +@all -@dangerous)"
        ACL LIST
        ACL SETUSER sel-a CLEARSELECTORS "(~\"q\" &\"c\")" "(~\"unbalanced)" "(~k\t+incr)"
        ACL GETUSER sel-a
        ACL LIST
        ACL SETUSER sel-a clearselectors "(~a*" "(~b*" "+get)" "(+select|0)" "(+config|get)"
        ACL LIST
        ACL DELUSER sel-a
    """,
    "errors": r"""
        ACL SETUSER sel-e "(~a*"
        ACL SETUSER sel-e on off "(~a*" +get
        ACL SETUSER sel-e "(~a*" "(~b*"
        ACL SETUSER sel-e "("
        ACL SETUSER sel-e ")"
        ACL SETUSER sel-e "(on)"
        ACL SETUSER sel-e "(>pw)"
        ACL SETUSER sel-e "(reset)"
        ACL SETUSER sel-e "(clearselectors)"
        ACL SETUSER sel-e "((+get))"
        ACL SETUSER sel-e "(+nosuch)"
        ACL SETUSER sel-e "(~a" b "c)"
        ACL SETUSER sel-e "(~\"a b\")"
        ACL SETUSER sel-e "(allkeys ~b)"
        ACL SETUSER sel-e "(allchannels &b)"
        ACL SETUSER sel-e "(+config|get|x)"
        ACL SETUSER sel-e "(%X~a)"
        ACL SETUSER sel-e "(\"\")"
        ACL GETUSER sel-e
        ACL SETUSER sel-e on "(+get)" "(+nosuch)"
        ACL GETUSER sel-e
        ACL SETUSER sel-e (+get)
        ACL SETUSER sel-e "(+set)" "(~a"
        ACL GETUSER sel-e
        ACL DELUSER sel-e
    """,
}

# Root: keys a*, channels ca*. Selector 1: keys b*, channels cb*. Selector 2: reads r*.
SETUP_RULES = ("on", ">pw", "~a*", "&ca*", "+get", "+mget", "+publish", "+subscribe", "+acl|whoami",
               "+multi", "+exec",
               "(~b* &cb* +set +mget +publish +subscribe)", "(%R~r* +@read -mget)")
SETUP = "ACL SETUSER sel " + " ".join(f'"{rule}"' for rule in SETUP_RULES) + "\n"
CLEANUP = """
    AUTH default any
    ACL DELUSER sel
"""
ENFORCEMENT = {
    "commands_keys_channels": """
        AUTH sel pw
        ACL WHOAMI
        SET b v
        GET a
        GET b
        SET a v
        GET r1
        STRLEN r1
        STRLEN a
        SET r1 v
        MGET a1 a2
        MGET a1 b1
        MGET b1 a1
        MGET c1 a1
        LPUSH a v
        PUBLISH ca m
        PUBLISH cb m
        PUBLISH cc m
        SUBSCRIBE ca cb
        SUBSCRIBE cb ca
        MULTI
        SET b2 v
        SET a2 v
        EXEC
    """,
    "dryrun": """
        ACL DRYRUN sel get a
        ACL DRYRUN sel set b v
        ACL DRYRUN sel set a v
        ACL DRYRUN sel get b
        ACL DRYRUN sel strlen r1
        ACL DRYRUN sel set r1 v
        ACL DRYRUN sel mget a1 b1
        ACL DRYRUN sel mget b1 a1
        ACL DRYRUN sel lpush a v
        ACL DRYRUN sel publish cb m
        ACL DRYRUN sel publish cc m
        ACL DRYRUN sel subscribe ca cb
        ACL DRYRUN sel subscribe cb ca
        ACL DRYRUN sel config get x
    """,
    "selector_with_every_right": """
        ACL SETUSER sel-all on nopass resetchannels -@all "(~* &* +@all)"
        AUTH sel-all x
        SET k v
        GET k
        ACL DRYRUN sel-all flushall
        AUTH default any
        ACL SETUSER sel-all clearselectors
        AUTH sel-all x
        GET k
        AUTH default any
        ACL DELUSER sel-all
    """,
    "first_arguments_and_subcommands": """
        ACL SETUSER sel-f on nopass "(+select|0)" "(+config|get)" "(~k* +@string)"
        AUTH sel-f x
        SELECT 0
        SELECT 1
        CONFIG GET maxclients
        CONFIG SET maxclients 10
        SET k1 v
        SET other v
        AUTH default any
        ACL DELUSER sel-f
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_setuser_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


@pytest.mark.parametrize("name", sorted(ENFORCEMENT))
def test_enforced_as_redis_does(server, reference, name):
    compare(server.port, reference.port, SETUP + ENFORCEMENT[name] + CLEANUP)


def _log(port: int) -> list:
    """The stable fields of the ACL LOG entries that refusals of a user with selectors
    leave: when no permissions allow a command, Redis tells a channel before a key
    before the command, and the key (or channel) named last."""
    with RawConnection(port) as conn:
        conn.call("ACL", "LOG", "RESET")
        conn.call("ACL", "SETUSER", "sel", *SETUP_RULES)
        with RawConnection(port) as user:
            user.call("AUTH", "sel", "pw")
            for command in ("SET a v", "GET b", "SET r1 v", "MGET a1 b1", "MGET b1 a1", "MGET c1 a1",
                            "LPUSH a v", "PUBLISH cc m", "SUBSCRIBE ca cb", "SUBSCRIBE cb ca", "GET a"):
                user.call(*command.split())
        conn.send_command("ACL", "LOG")
        entries = conn.read()
        conn.call("ACL", "LOG", "RESET")
        conn.call("ACL", "DELUSER", "sel")
    out = []
    for entry in entries:
        fields = dict(zip(entry[::2], entry[1::2]))
        assert float(fields.pop(b"age-seconds")) < 60
        assert re.search(rb"\bcmd=\S+ user=sel\b", fields.pop(b"client-info"))
        out.append(list(fields.items()))
    return out


def test_acl_log_tells_what_redis_tells(server, reference):
    expected = _log(reference.port)
    assert _log(server.port) == expected
    assert [(dict(e)[b"reason"], dict(e)[b"object"]) for e in expected] == [
        (b"channel", b"ca"), (b"channel", b"cb"), (b"channel", b"cc"), (b"command", b"lpush"),
        (b"key", b"c1"), (b"key", b"a1"), (b"key", b"b1"), (b"key", b"r1"), (b"key", b"b"), (b"key", b"a"),
    ]


def test_selectors_keep_the_fast_path():
    """The dispatcher tests `unrestricted` alone: a selector with every right sets it,
    and a user without selectors is checked by its root permissions alone."""
    user = User(b"u")
    for rule in (b"on", b"resetchannels", b"-@all", b"(~* &* +@all)"):
        user.apply(rule)
    assert user.unrestricted
    user.apply(b"clearselectors")
    assert not user.unrestricted and user.selectors == []
    user.apply(b"(~* &* +@all -get)")
    assert not user.unrestricted


# ACL files: what ACL SAVE writes, what ACL LOAD reads back, and the errors of a line.
FILE_USERS = (
    b"user default on nopass ~* &* +@all\n"
    b"user fan on #2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 ~a* resetchannels -@all"
    b" (~key* resetchannels -@all +get) (%R~r* %W~w* resetchannels &c* -@all +@read) (~* &* +@all -@dangerous)\n"
)
BAD_FILES = (
    b"user default on nopass ~* &* +@all\nuser u3 on (~a* +nosuch) (on)\n",
    b"user default on nopass ~* &* +@all\nuser x on bogus +nosuch bogus2 ~* ~a (+nosuch2)\n"
    b"user y ~* ~a\nuser y on\nuser w on (~a +get)\t ~b)\n",
)


def _acl_file_session(start, directory) -> list[bytes]:
    path = directory / "users.acl"
    path.write_bytes(FILE_USERS)
    server = start(str(path), directory)
    replies = []
    try:
        with RawConnection(server.port) as conn:
            replies.append(conn.call("ACL", "LIST"))
            replies.append(conn.call("ACL", "GETUSER", "fan"))
            replies.append(conn.call("ACL", "SETUSER", "sel", "on", "~s*", "(~t*", "+@list)", "( &x  +get )"))
            replies.append(conn.call("ACL", "SAVE"))
            replies.append(path.read_bytes())
            for bad in BAD_FILES:
                path.write_bytes(bad)
                replies.append(conn.call("ACL", "LOAD"))
            replies.append(conn.call("ACL", "LIST"))  # unchanged after refused files
            path.write_bytes(b"user y  on  ~a  (+get\t\t) (~b\t +set)\t(+incr)\n")
            replies.append(conn.call("ACL", "LOAD"))
            replies.append(conn.call("ACL", "LIST"))
    finally:
        server.stop()
    return [reply.replace(str(path).encode(), b"<path>") for reply in replies]


def _start_ours(path, directory):
    return start_ours("--aclfile", path, cwd=str(directory))


def _start_reference(path, directory):
    return start_reference("--aclfile", path, cwd=str(directory))


@pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")
def test_acl_files_with_selectors_as_redis_reads_and_writes_them(tmp_path):
    ours_dir, redis_dir = tmp_path / "ours", tmp_path / "redis"
    ours_dir.mkdir()
    redis_dir.mkdir()
    expected = _acl_file_session(_start_reference, redis_dir)
    actual = _acl_file_session(_start_ours, ours_dir)
    assert actual == expected


@pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")
def test_each_loads_the_file_the_other_saved(tmp_path):
    """Redis' ACL SAVE read by us, and ours by Redis: the same users either way."""
    setuser = ("ACL", "SETUSER", "sel", "on", ">pw", "%R~s*", "(~t* &t* +@list -lpush)", "(+@hash ~h*)")
    saved, listed = {}, {}
    for name, start in (("ours", _start_ours), ("redis", _start_reference)):
        directory = tmp_path / name
        directory.mkdir()
        path = directory / "users.acl"
        path.write_bytes(b"user default on nopass ~* &* +@all\n")
        with start(str(path), directory) as server, RawConnection(server.port) as conn:
            assert conn.call(*setuser) == b"+OK\r\n"
            assert conn.call("ACL", "SAVE") == b"+OK\r\n"
            listed[name] = conn.call("ACL", "LIST")
        saved[name] = path.read_bytes()
    assert saved["ours"] == saved["redis"]
    for name, start in (("ours", _start_ours), ("redis", _start_reference)):
        other = "redis" if name == "ours" else "ours"
        directory = tmp_path / f"{name}-reads-{other}"
        directory.mkdir()
        path = directory / "users.acl"
        path.write_bytes(saved[other])
        with start(str(path), directory) as server, RawConnection(server.port) as conn:
            assert conn.call("ACL", "LIST") == listed[other]
            assert conn.call("ACL", "LOAD") == b"+OK\r\n"
            assert conn.call("ACL", "LIST") == listed[other]


def test_unmatched_parenthesis_in_an_acl_file(tmp_path):
    """Redis 7.0.15 crashes on such a line; we give the error later versions give."""
    path = tmp_path / "users.acl"
    path.write_bytes(b"user default on nopass ~* &* +@all\n")
    with start_ours("--aclfile", str(path), cwd=str(tmp_path)) as server, RawConnection(server.port) as conn:
        path.write_bytes(b"user default on nopass ~* &* +@all\nuser u on (~a* +get\n")
        assert conn.call("ACL", "LOAD") == (
            f"-ERR {path}:2: Unmatched parenthesis in selector definition.WARNING: ACL errors detected, no "
            "change to the previously active ACL rules was performed\r\n").encode()
