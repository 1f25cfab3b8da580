"""Connection and server commands compared byte for byte with a real Redis."""

from __future__ import annotations

import re

import pytest

from tests.differential import compare
from tests.helpers import RawConnection

SCRIPTS = {
    "ping_echo": """
        PING
        PING hello
        PING a b
        ECHO "hello world"
        ECHO ""
        ECHO
        ECHO a b
    """,
    "select": """
        SELECT 1
        SET k v
        SELECT 0
        GET k
        SELECT 16
        SELECT 2147483648
        SELECT -2147483649
        SELECT 99999999999
        SELECT -1
        SELECT x
        SELECT 1
        GET k
    """,
    "unknown_and_arity": """
        FOO
        FOO a b c
        foo "a b" c
        GET
        GET a b
        CONFIG
        CONFIG FOO
        CLIENT
        CLIENT foo bar
        OBJECT nosuch
        COMMAND FOO
        # A name cut by NUL ("GET\\x00") is not compared: Redis hashes the whole name but
        # compares it as a C string, so whether it is found depends on its random hash seed.
        "BAD\\x00x" "a\\x00b" c
    """,
    "hello": """
        HELLO 4
        HELLO x
        HELLO 2 foo
        HELLO 2 AUTH default
        HELLO 2 SETNAME "a b"
        ~ HELLO 2 SETNAME ok
        CLIENT GETNAME
    """,
    "auth_without_password": """
        AUTH pw
        AUTH a b
        AUTH a b c
        AUTH default anything
    """,
    "client": """
        CLIENT SETNAME "a b"
        CLIENT SETNAME ""
        CLIENT GETNAME
        CLIENT SETNAME myname
        CLIENT GETNAME
        ~ CLIENT ID
        CLIENT NO-EVICT maybe
        CLIENT NO-EVICT on
        CLIENT NO-EVICT OFF
        CLIENT REPLY maybe
        CLIENT NO-EVICT "on\\x00x"
        CLIENT KILL 1.2.3.4:5
        CLIENT KILL ID 999999
        CLIENT KILL ID x
        CLIENT KILL ID 0
        CLIENT KILL foo bar
        CLIENT KILL SKIPME maybe
        CLIENT KILL ADDR 1.2.3.4:5
        CLIENT KILL TYPE foo
        CLIENT KILL TYPE normal SKIPME yes ID 999999
        CLIENT LIST TYPE foo
        CLIENT LIST ID x
        CLIENT LIST ID 999999
        CLIENT LIST foo
        ~ CLIENT LIST
        ~ CLIENT INFO
    """,
    "config": """
        ~ CONFIG GET DIR x
        CONFIG GET nosuch
        CONFIG GET maxclients
        CONFIG GET slaveof
        CONFIG GET replicaof
        CONFIG GET timeout
        CONFIG GET proto-max-bulk-len
        CONFIG GET appendonly
        CONFIG GET appendfsync
        CONFIG GET appendfilename
        CONFIG GET appenddirname
        CONFIG GET dbfilename
        CONFIG GET requirepass
        CONFIG GET databases
        CONFIG GET hz
        CONFIG GET maxmemory
        CONFIG GET maxmemory-policy
        CONFIG SET nosuch 1
        CONFIG SET port abc
        CONFIG SET maxclients 0
        CONFIG SET timeout -1
        CONFIG SET appendfsync sometimes
        CONFIG SET databases 4
        CONFIG SET timeout 0 timeout 1
        CONFIG SET appendonly maybe
        CONFIG SET proto-max-bulk-len 1k
        CONFIG SET dir /nonexistent
        CONFIG SET dbfilename a
        CONFIG SET hz 20
        CONFIG GET hz
        CONFIG SET hz 10
        CONFIG SET maxmemory 1gb
        CONFIG GET maxmemory
        CONFIG SET maxmemory 0
        CONFIG SET save "3600 1 300 100"
        CONFIG GET save
        CONFIG SET save ""
        CONFIG GET save
        CONFIG SET timeout 5 maxclients 100
        CONFIG GET timeout
        CONFIG SET timeout 0 maxclients 10000
        CONFIG SET a 1 b
        CONFIG SET
        CONFIG SET timeout
        CONFIG GET
        CONFIG RESETSTAT
        CONFIG RESETSTAT x
        CONFIG SET MaxClients 5000
        CONFIG GET maxCLIENTS
        CONFIG SET maxclients 10000
        CONFIG SET slave-read-only no
        CONFIG GET replica-read-only
        CONFIG GET slave-read-only
        CONFIG SET replica-read-only yes
        = CONFIG GET timeout maxclients timeout
        = CONFIG GET append* appendonly
        CONFIG SET maxmemory-policy ALLKEYS-LRU
        CONFIG GET maxmemory-policy
        CONFIG SET maxmemory-policy noeviction
        CONFIG SET appendonly YES
        CONFIG GET appendonly
        CONFIG SET appendonly no
        CONFIG SET maxmemory 10mb
        CONFIG GET maxmemory
        CONFIG SET maxmemory 1G
        CONFIG GET maxmemory
        CONFIG SET maxmemory 0
        CONFIG SET maxmemory -1
        CONFIG SET maxmemory 1x
        CONFIG SET hz 0
        CONFIG GET hz
        CONFIG SET hz 501
        CONFIG GET hz
        CONFIG SET hz -1
        CONFIG SET hz 10
        CONFIG SET loglevel loud
        CONFIG SET replicaof "127.0.0.1 1"
        CONFIG SET save "1 2 3"
        CONFIG SET save "a b"
    """,
    "keyspace_wide": """
        SET a 1
        SET b 2
        DBSIZE
        DBSIZE x
        FLUSHDB foo
        FLUSHDB ASYNC x
        FLUSHDB SYNC
        DBSIZE
        SET a 1
        SELECT 1
        SET c 3
        FLUSHALL ASYNC
        DBSIZE
        SELECT 0
        DBSIZE
        FLUSHALL x
        ~ TIME
        TIME x
    """,
    "debug_and_shutdown_errors": """
        DEBUG SLEEP 0
        DEBUG foo
        SHUTDOWN foo
        SHUTDOWN ABORT
        SHUTDOWN NOSAVE SAVE
        SHUTDOWN ABORT NOW
    """,
    "info": """
        INFO foo
        INFO keyspace
        SET a 1
        ~ INFO keyspace
        ~ INFO
    """,
    "command_introspection": """
        COMMAND INFO get set mset copy rename lcs del exists ttl object|encoding client|list config|get
        COMMAND INFO nosuch
        COMMAND DOCS nosuch
        COMMAND COUNT x
        COMMAND LIST foo
        COMMAND LIST FILTERBY foo
        COMMAND LIST FILTERBY MODULE nosuch
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_matches_redis(server, reference, name):
    compare(server.port, reference.port, SCRIPTS[name])


def test_command_info_matches_redis_for_every_command(server, reference):
    """Arity, flags, key positions, ACL categories and tips of each of our commands.

    Containers (CONFIG, CLIENT...) are compared through their subcommands: Redis has
    subcommands we do not, so the containers' own lists differ. CLIENT SETINFO came in
    Redis 7.2, after the 7.0 we compare with.
    """
    from tests.helpers import RawConnection

    with RawConnection(server.port) as ours:
        ours.send_command("COMMAND", "LIST")
        names = [name.decode() for name in ours.read()]
        containers = {name.split("|")[0] for name in names if "|" in name}
        skipped = containers | {"client|setinfo", "client|no-touch"}  # Redis 7.2
        lines = "\n".join(f"COMMAND INFO {name}" for name in sorted(names) if name not in skipped)
    compare(server.port, reference.port, lines)


def _qbuf_fields(port: int) -> list[bytes]:
    """qbuf= of CLIENT INFO sent alone, pipelined behind other commands, and inline; and
    of another, idle, client in CLIENT LIST."""
    fields = []
    with RawConnection(port) as connection, RawConnection(port) as idle:
        idle.call("CLIENT", "SETNAME", "idle")
        fields.append(connection.call("CLIENT", "INFO"))
        connection.send(b"*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n*1\r\n$4\r\nPING\r\n*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n")
        fields += [connection.read_raw(), connection.read_raw(), connection.read_raw()]
        connection.send(b"CLIENT INFO\r\n")
        fields.append(connection.read_raw())
        listing = connection.call("CLIENT", "LIST")
        fields.append(re.search(rb"name=idle .*", listing).group(0))
    return [field for reply in fields for field in re.findall(rb" (qbuf=\d+) ", reply)]


def test_qbuf_is_the_read_being_run_as_in_redis(server, reference):
    """While a command runs, Redis' qbuf= counts every byte of the read that brought it
    (it trims the buffer after running them all): 26 for a plain CLIENT INFO."""
    ours = _qbuf_fields(server.port)
    assert ours == _qbuf_fields(reference.port)
    assert ours[0] == b"qbuf=26"
