"""The Optimistic Locking stages of the CodeCrafters tester, one test each, in raw RESP
as it speaks it (see tests/test_stages_base.py)."""

from __future__ import annotations

from tests.helpers import RawConnection
from tests.test_stages_transactions import send


def run_transaction(client: RawConnection, *commands: tuple[str, ...]) -> bytes:
    """MULTI, the commands (each +QUEUED), EXEC; EXEC's reply."""
    assert send(client, "MULTI") == b"+OK\r\n"
    for command in commands:
        assert send(client, *command) == b"+QUEUED\r\n"
    return send(client, "EXEC")


def test_jb7_watch(raw):
    """WATCH answers +OK."""
    assert send(raw, "WATCH", "foo") == b"+OK\r\n"


def test_jq9_watch_inside_multi(raw):
    """WATCH inside MULTI is an error."""
    assert send(raw, "MULTI") == b"+OK\r\n"
    assert send(raw, "WATCH", "foo") == b"-ERR WATCH inside MULTI is not allowed\r\n"


def test_mh8_tracking_key_modifications(raw, server):
    """A watched key changed by another client makes EXEC run nothing and answer a null
    array; untouched, the transaction runs."""
    with RawConnection(server.port) as other:
        assert send(raw, "SET", "foo", "100") == b"+OK\r\n"
        assert send(raw, "WATCH", "foo") == b"+OK\r\n"
        assert send(other, "SET", "foo", "200") == b"+OK\r\n"
        assert run_transaction(raw, ("SET", "foo", "300"), ("INCR", "bar")) == b"*-1\r\n"
        assert send(raw, "GET", "foo") == b"$3\r\n200\r\n"
        assert send(raw, "GET", "bar") == b"$-1\r\n"
        assert send(raw, "WATCH", "foo") == b"+OK\r\n"
        assert run_transaction(raw, ("SET", "foo", "300")) == b"*1\r\n+OK\r\n"
        assert send(other, "GET", "foo") == b"$3\r\n300\r\n"


def test_fp0_watching_multiple_keys(raw, server):
    """Of several watched keys, a change to any one aborts EXEC."""
    with RawConnection(server.port) as other:
        for changed in ("foo", "bar", "baz"):
            assert send(raw, "WATCH", "foo", "bar", "baz") == b"+OK\r\n"
            assert send(other, "SET", changed, "1") == b"+OK\r\n"
            assert run_transaction(raw, ("SET", "done", changed)) == b"*-1\r\n"
        assert send(raw, "GET", "done") == b"$-1\r\n"


def test_uo9_watching_missing_keys(raw, server):
    """Watching a key that does not exist: another client creating it aborts EXEC."""
    with RawConnection(server.port) as other:
        assert send(raw, "WATCH", "missing") == b"+OK\r\n"
        assert send(other, "SET", "missing", "theirs") == b"+OK\r\n"
        assert run_transaction(raw, ("SET", "missing", "mine")) == b"*-1\r\n"
        assert send(raw, "GET", "missing") == b"$6\r\ntheirs\r\n"
        assert send(raw, "WATCH", "absent") == b"+OK\r\n"
        assert run_transaction(raw, ("SET", "absent", "mine")) == b"*1\r\n+OK\r\n"


def test_bn1_unwatch(raw, server):
    """After UNWATCH, a change to a formerly watched key no longer aborts EXEC."""
    with RawConnection(server.port) as other:
        assert send(raw, "WATCH", "foo", "bar") == b"+OK\r\n"
        assert send(raw, "UNWATCH") == b"+OK\r\n"
        assert send(other, "SET", "foo", "1") == b"+OK\r\n"
        assert run_transaction(raw, ("INCR", "foo")) == b"*1\r\n:2\r\n"


def test_fn4_unwatch_on_exec(raw, server):
    """EXEC forgets the watched keys: a later change does not abort the next one."""
    with RawConnection(server.port) as other:
        assert send(raw, "WATCH", "foo") == b"+OK\r\n"
        assert run_transaction(raw, ("SET", "foo", "1")) == b"*1\r\n+OK\r\n"
        assert send(other, "SET", "foo", "2") == b"+OK\r\n"
        assert run_transaction(raw, ("INCR", "foo")) == b"*1\r\n:3\r\n"


def test_hq1_unwatch_on_discard(raw, server):
    """DISCARD forgets the watched keys too."""
    with RawConnection(server.port) as other:
        assert send(raw, "WATCH", "foo") == b"+OK\r\n"
        assert send(raw, "MULTI") == b"+OK\r\n"
        assert send(raw, "SET", "foo", "1") == b"+QUEUED\r\n"
        assert send(raw, "DISCARD") == b"+OK\r\n"
        assert send(other, "SET", "foo", "5") == b"+OK\r\n"
        assert run_transaction(raw, ("INCR", "foo")) == b"*1\r\n:6\r\n"
