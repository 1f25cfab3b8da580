"""The authentication stages of the CodeCrafters tester, one test each, in raw RESP.

Each test gets a server of its own: setting the default user's password changes what
every later connection sees.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.helpers import RawConnection, start_ours

PASSWORD = b"mysecretpassword"
PASSWORD_HASH = hashlib.sha256(PASSWORD).hexdigest().encode()
WHOAMI = b"*2\r\n$3\r\nACL\r\n$6\r\nWHOAMI\r\n"
GETUSER_DEFAULT = b"*3\r\n$3\r\nACL\r\n$7\r\nGETUSER\r\n$7\r\ndefault\r\n"
SET_PASSWORD = b"*4\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$7\r\ndefault\r\n$17\r\n>mysecretpassword\r\n"
AUTH_RIGHT = b"*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$16\r\nmysecretpassword\r\n"


@pytest.fixture
def fresh(tmp_path):
    """A server of our own, its default user as a new server has it."""
    with start_ours(cwd=str(tmp_path)) as server:
        yield server


def getuser_reply(flags: list[bytes], passwords: list[bytes]) -> bytes:
    """ACL GETUSER default in RESP2, as Redis 7.0 sends it."""
    def bulk(value: bytes) -> bytes:
        return b"$%d\r\n%s\r\n" % (len(value), value)

    def array(items: list[bytes]) -> bytes:
        return b"*%d\r\n" % len(items) + b"".join(bulk(item) for item in items)

    return (
        b"*12\r\n" + bulk(b"flags") + array(flags) + bulk(b"passwords") + array(passwords)
        + bulk(b"commands") + bulk(b"+@all") + bulk(b"keys") + bulk(b"~*")
        + bulk(b"channels") + bulk(b"&*") + bulk(b"selectors") + b"*0\r\n"
    )


def test_jn4_respond_to_acl_whoami(fresh):
    with RawConnection(fresh.port) as connection:
        connection.send(WHOAMI)
        assert connection.read_raw() == b"$7\r\ndefault\r\n"


def test_gx8_respond_to_acl_getuser(fresh):
    with RawConnection(fresh.port) as connection:
        connection.send(GETUSER_DEFAULT)
        reply = connection.read_raw()
    assert reply.startswith(b"*12\r\n$5\r\nflags\r\n*")  # an array whose first property is flags


def test_ql6_the_nopass_flag(fresh):
    with RawConnection(fresh.port) as connection:
        connection.send(GETUSER_DEFAULT)
        assert connection.read_raw() == getuser_reply([b"on", b"nopass"], [])


def test_pl7_the_passwords_property(fresh):
    with RawConnection(fresh.port) as connection:
        connection.send(GETUSER_DEFAULT)
        reply = connection.read_raw()
    assert b"$9\r\npasswords\r\n*0\r\n" in reply and reply == getuser_reply([b"on", b"nopass"], [])


def test_uv9_setting_default_user_password(fresh):
    with RawConnection(fresh.port) as connection:
        connection.send(SET_PASSWORD)
        assert connection.read_raw() == b"+OK\r\n"
        connection.send(GETUSER_DEFAULT)
        assert connection.read_raw() == getuser_reply([b"on"], [PASSWORD_HASH])


def test_hz3_the_auth_command(fresh):
    with RawConnection(fresh.port) as connection:
        connection.send(SET_PASSWORD)
        assert connection.read_raw() == b"+OK\r\n"
        connection.send(b"*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$5\r\nwrong\r\n")
        assert connection.read_raw() == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        connection.send(AUTH_RIGHT)
        assert connection.read_raw() == b"+OK\r\n"


def test_nm2_enforce_authentication(fresh):
    with RawConnection(fresh.port) as first:
        first.send(SET_PASSWORD)
        assert first.read_raw() == b"+OK\r\n"
        with RawConnection(fresh.port) as second:
            second.send(WHOAMI)
            assert second.read_raw() == b"-NOAUTH Authentication required.\r\n"
        # The connection that was already in carries on.
        first.send(WHOAMI)
        assert first.read_raw() == b"$7\r\ndefault\r\n"


def test_ws7_authenticate_using_auth(fresh):
    with RawConnection(fresh.port) as first:
        first.send(SET_PASSWORD)
        assert first.read_raw() == b"+OK\r\n"
    with RawConnection(fresh.port) as connection:
        connection.send(WHOAMI)
        assert connection.read_raw() == b"-NOAUTH Authentication required.\r\n"
        connection.send(AUTH_RIGHT)
        assert connection.read_raw() == b"+OK\r\n"
        connection.send(WHOAMI)
        assert connection.read_raw() == b"$7\r\ndefault\r\n"
        connection.send(b"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\n")
        assert connection.read_raw() == b"+OK\r\n"
        connection.send(b"*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n")
        assert connection.read_raw() == b"$3\r\nbar\r\n"
        connection.send(b"*1\r\n$4\r\nPING\r\n")
        assert connection.read_raw() == b"+PONG\r\n"
        connection.send(b"*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n")
        assert connection.read_raw() == b"$2\r\nhi\r\n"


def test_requirepass_and_config_set_set_the_default_users_password(tmp_path):
    """requirepass is the default user's single password, set again by each CONFIG SET
    (even to the same text), and CONFIG SET requirepass "" makes the user nopass."""
    with start_ours("--requirepass", "pw", cwd=str(tmp_path)) as server, RawConnection(server.port) as connection:
        assert connection.call("AUTH", "pw") == b"+OK\r\n"
        digest = hashlib.sha256(b"pw").hexdigest().encode()
        assert connection.call("ACL", "GETUSER", "default") == getuser_reply([b"on"], [digest])
        assert connection.call("ACL", "SETUSER", "default", ">other") == b"+OK\r\n"
        assert connection.call("CONFIG", "SET", "maxclients", "100") == b"+OK\r\n"  # not requirepass: no change
        assert connection.call("ACL", "GETUSER", "default") == getuser_reply(
            [b"on"], [digest, hashlib.sha256(b"other").hexdigest().encode()]
        )
        assert connection.call("CONFIG", "SET", "requirepass", "pw") == b"+OK\r\n"
        assert connection.call("ACL", "GETUSER", "default") == getuser_reply([b"on"], [digest])
        assert connection.call("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
        assert connection.call("ACL", "GETUSER", "default") == getuser_reply([b"on", b"nopass"], [])


def test_connections_show_their_user_and_deleting_it_closes_them(fresh):
    with RawConnection(fresh.port) as admin, RawConnection(fresh.port) as other:
        assert admin.call("ACL", "SETUSER", "alice", "on", ">pw", "allkeys", "allcommands") == b"+OK\r\n"
        assert other.call("AUTH", "alice", "pw") == b"+OK\r\n"
        assert other.call("ACL", "WHOAMI") == b"$5\r\nalice\r\n"
        assert b" user=alice " in other.call("CLIENT", "INFO")
        assert admin.call("CLIENT", "KILL", "USER", "nobody") == b"-ERR No such user 'nobody'\r\n"
        assert admin.call("ACL", "DELUSER", "alice") == b":1\r\n"
        try:  # closed by the server: end of stream, or a reset if our PING arrived after
            other.send(b"*1\r\n$4\r\nPING\r\n")
            received = other.sock.recv(100)
        except (ConnectionResetError, BrokenPipeError):
            received = b""
        assert received == b""
        assert admin.call("ACL", "WHOAMI") == b"$7\r\ndefault\r\n"
