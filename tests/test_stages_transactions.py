"""The Transactions stages of the CodeCrafters tester, one test each, in raw RESP as it
speaks it (see tests/test_stages_base.py)."""

from __future__ import annotations

from tests.helpers import RawConnection


def cmd(*words: str) -> bytes:
    """A command as the tester sends it: an array of bulk strings."""
    out = b"*%d\r\n" % len(words)
    for word in words:
        data = word.encode()
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    return out


def send(connection: RawConnection, *words: str) -> bytes:
    connection.send(cmd(*words))
    return connection.read_raw()


def test_si4_incr_existing_key(raw):
    """INCR of a numeric value answers the incremented integer."""
    assert send(raw, "SET", "foo", "5") == b"+OK\r\n"
    assert send(raw, "INCR", "foo") == b":6\r\n"
    assert send(raw, "INCR", "foo") == b":7\r\n"


def test_lz8_incr_missing_key(raw):
    """INCR of a missing key starts from 0."""
    assert send(raw, "INCR", "bar") == b":1\r\n"
    assert send(raw, "INCR", "bar") == b":2\r\n"
    assert send(raw, "GET", "bar") == b"$1\r\n2\r\n"


def test_mk1_incr_non_integer(raw):
    """INCR of a value that is not an integer is an error and changes nothing."""
    assert send(raw, "SET", "baz", "xyz") == b"+OK\r\n"
    assert send(raw, "INCR", "baz") == b"-ERR value is not an integer or out of range\r\n"
    assert send(raw, "GET", "baz") == b"$3\r\nxyz\r\n"


def test_pn0_multi(raw):
    """MULTI answers +OK."""
    assert send(raw, "MULTI") == b"+OK\r\n"


def test_lo4_exec_without_multi(raw):
    """EXEC outside a transaction is an error."""
    assert send(raw, "EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_we1_empty_transaction(raw):
    """MULTI then EXEC answers an empty array, and ends the transaction."""
    assert send(raw, "MULTI") == b"+OK\r\n"
    assert send(raw, "EXEC") == b"*0\r\n"
    assert send(raw, "EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_rs9_queueing_commands(raw, server):
    """Commands inside MULTI answer +QUEUED and run only at EXEC: another client sees
    nothing meanwhile."""
    assert send(raw, "MULTI") == b"+OK\r\n"
    assert send(raw, "SET", "foo", "41") == b"+QUEUED\r\n"
    assert send(raw, "INCR", "foo") == b"+QUEUED\r\n"
    with RawConnection(server.port) as other:
        assert send(other, "GET", "foo") == b"$-1\r\n"


def test_fy6_executing_a_transaction(raw, server):
    """EXEC runs the queue and answers an array of every reply; the effects are then
    visible to everyone."""
    assert send(raw, "MULTI") == b"+OK\r\n"
    assert send(raw, "SET", "foo", "6") == b"+QUEUED\r\n"
    assert send(raw, "INCR", "foo") == b"+QUEUED\r\n"
    assert send(raw, "INCR", "bar") == b"+QUEUED\r\n"
    assert send(raw, "GET", "bar") == b"+QUEUED\r\n"
    assert send(raw, "EXEC") == b"*4\r\n+OK\r\n:7\r\n:1\r\n$1\r\n1\r\n"
    with RawConnection(server.port) as other:
        assert send(other, "GET", "foo") == b"$1\r\n7\r\n"


def test_rl9_discard(raw):
    """DISCARD drops the queue and ends the transaction; outside one it is an error."""
    assert send(raw, "MULTI") == b"+OK\r\n"
    assert send(raw, "SET", "foo", "41") == b"+QUEUED\r\n"
    assert send(raw, "INCR", "foo") == b"+QUEUED\r\n"
    assert send(raw, "DISCARD") == b"+OK\r\n"
    assert send(raw, "GET", "foo") == b"$-1\r\n"
    assert send(raw, "DISCARD") == b"-ERR DISCARD without MULTI\r\n"


def test_sg9_failures_within_transactions(raw):
    """A command that fails while EXEC runs fails in its own slot; the others run."""
    assert send(raw, "SET", "foo", "abc") == b"+OK\r\n"
    assert send(raw, "SET", "bar", "7") == b"+OK\r\n"
    assert send(raw, "MULTI") == b"+OK\r\n"
    assert send(raw, "INCR", "foo") == b"+QUEUED\r\n"
    assert send(raw, "INCR", "bar") == b"+QUEUED\r\n"
    assert send(raw, "EXEC") == b"*2\r\n-ERR value is not an integer or out of range\r\n:8\r\n"
    assert send(raw, "GET", "foo") == b"$3\r\nabc\r\n"
    assert send(raw, "GET", "bar") == b"$1\r\n8\r\n"


def test_jf8_multiple_transactions(raw, server):
    """Several clients queue at once; each EXEC runs only its own queue."""
    with RawConnection(server.port) as second, RawConnection(server.port) as third:
        clients = [raw, second, third]
        for client in clients:
            assert send(client, "MULTI") == b"+OK\r\n"
        for client in clients:
            assert send(client, "INCR", "foo") == b"+QUEUED\r\n"
            assert send(client, "INCR", "bar") == b"+QUEUED\r\n"
        for number, client in enumerate(clients, start=1):
            assert send(client, "EXEC") == b"*2\r\n:%d\r\n:%d\r\n" % (number, number)
        assert send(second, "GET", "foo") == b"$1\r\n3\r\n"
