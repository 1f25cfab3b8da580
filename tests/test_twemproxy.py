"""nutcracker (twemproxy 0.5) sharding keys over two of our servers, as an operator runs it.

The proxy hashes each key (fnv1a_64, ketama) to one of its servers, splits MGET, MSET
and DEL across them and joins the replies, routes EVAL by its first key, and forwards
a client's pipeline as it comes. Each test starts its own servers and proxy on free
loopback ports, and stops them at its end, failed or not.

The same command sequence goes through a proxy in front of two of ours and a proxy in
front of two real redis-servers: the replies must be the same bytes. Servers are named
in the proxy's config, and ketama places keys by name, so each key lands on the server
of the same name on both sides: the keyspaces are compared too.
"""

from __future__ import annotations

import contextlib
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

from app.protocol import encode_command
from tests.helpers import RawConnection, ServerProcess, free_port, redis_server_path, start_ours, start_reference

# Debian puts it in /usr/sbin, which a user's PATH may leave out.
NUTCRACKER = shutil.which("nutcracker") or shutil.which("nutcracker", path="/usr/sbin:/usr/local/sbin")

pytestmark = pytest.mark.skipif(NUTCRACKER is None, reason="nutcracker is not installed (Debian package nutcracker)")
needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")
needs_lupa = pytest.mark.skipif(importlib.util.find_spec("lupa") is None, reason="lupa is not installed (EVAL)")

NAMES = ("one", "two")


def proxy_config(port: int, servers: dict[str, int]) -> str:
    lines = [
        "pool:",
        f"  listen: 127.0.0.1:{port}",
        "  hash: fnv1a_64",
        "  hash_tag: \"{}\"",
        "  distribution: ketama",
        "  redis: true",
        "  preconnect: true",
        "  auto_eject_hosts: false",
        "  server_retry_timeout: 2000",
        "  server_failure_limit: 1",
        "  timeout: 5000",
        "  servers:",
        *(f"   - 127.0.0.1:{server_port}:1 {name}" for name, server_port in servers.items()),
    ]
    return "\n".join(lines) + "\n"


class Sharded:
    """Two servers behind one nutcracker."""

    def __init__(self, servers: dict[str, ServerProcess], proxy: ServerProcess, log: Path):
        self.servers = servers
        self.proxy = proxy
        self.log = log

    def connect(self) -> RawConnection:
        return RawConnection(self.proxy.port)

    def keys_by_server(self) -> dict[str, set[bytes]]:
        found = {}
        for name, server in self.servers.items():
            with RawConnection(server.port) as connection:
                connection.send_command("KEYS", "*")
                found[name] = set(connection.read())
        return found


@contextlib.contextmanager
def sharded(start_server, directory: Path):
    """Two servers started by ``start_server(cwd)`` and a nutcracker in front of them."""
    with contextlib.ExitStack() as stack:
        servers = {}
        for name in NAMES:
            (directory / name).mkdir()
            servers[name] = stack.enter_context(start_server(str(directory / name)))
        port = free_port()
        config, log = directory / "nutcracker.yml", directory / "nutcracker.log"
        config.write_text(proxy_config(port, {name: server.port for name, server in servers.items()}))
        subprocess.run([NUTCRACKER, "--test-conf", "-c", str(config)], check=True, capture_output=True)
        argv = [NUTCRACKER, "-c", str(config), "-s", str(free_port()), "-a", "127.0.0.1",
                "-o", str(log), "-p", str(directory / "nutcracker.pid")]
        proxy = stack.enter_context(ServerProcess(argv, port, str(directory)))
        try:
            yield Sharded(servers, proxy, log)
        except BaseException:
            print(f"----- nutcracker log\n{log.read_text(errors='replace')[-5000:]}")
            raise


def ours(cwd: str) -> ServerProcess:
    return start_ours(cwd=cwd)


def reference(cwd: str) -> ServerProcess:
    return start_reference(cwd=cwd)


# --------------------------------------------------------------------------- the sequence

KEYS = [f"key:{index}" for index in range(200)]


def sequence(with_eval: bool) -> list[list]:
    """Commands that nutcracker supports, over keys spread across both servers."""
    commands = [["SET", key, f"value of {key}"] for key in KEYS]
    commands += [["GET", key] for key in KEYS[::7]]
    commands += [
        ["GET", "missing"],
        ["MGET", *KEYS[:40], "missing", "also:missing"],
        ["MSET", *[part for index in range(30) for part in (f"m:{index}", f"m-value {index}")]],
        ["MGET", *[f"m:{index}" for index in range(30)]],
        ["DEL", *KEYS[:25], "missing", "m:0", "m:1"],
        ["MGET", *KEYS[:30]],
        ["EXISTS", "key:30"], ["EXISTS", "key:0"],
        ["INCR", "counter"], ["INCRBY", "counter", "41"], ["DECR", "counter"], ["INCRBYFLOAT", "float", "2.5"],
        ["APPEND", "key:40", " and more"], ["STRLEN", "key:40"], ["GETRANGE", "key:40", "0", "4"],
        ["SETNX", "key:41", "no"], ["GETSET", "key:42", "new"], ["GET", "key:42"],
        ["SETEX", "ttl", "100", "v"], ["TTL", "ttl"], ["EXPIRE", "key:43", "100"], ["PERSIST", "key:43"],
        ["TYPE", "key:44"], ["TYPE", "missing"],
        ["HSET", "hash", "a", "1", "b", "2"], ["HGET", "hash", "a"], ["HINCRBY", "hash", "a", "5"],
        ["HMGET", "hash", "a", "b", "c"], ["HLEN", "hash"],
        ["RPUSH", "list", "a", "b", "c"], ["LPUSH", "list", "z"], ["LRANGE", "list", "0", "-1"], ["LPOP", "list"],
        ["SADD", "set", "x", "y", "z"], ["SISMEMBER", "set", "y"], ["SCARD", "set"], ["SREM", "set", "x"],
        ["ZADD", "zset", "1", "a", "2.5", "b", "3", "c"], ["ZRANGE", "zset", "0", "-1", "WITHSCORES"],
        ["ZSCORE", "zset", "b"], ["ZINCRBY", "zset", "10", "a"], ["ZREVRANGEBYSCORE", "zset", "+inf", "-inf"],
        ["PFADD", "hll", "a", "b", "c"], ["PFCOUNT", "hll"],
        ["LPUSH", "key:45", "x"],  # WRONGTYPE: key:45 holds a string
        ["HGET", "key:45", "field"],  # WRONGTYPE too
        ["INCR", "key:46"],  # not an integer
        ["SET", "{user:7}:name", "ada"], ["SET", "{user:7}:mail", "ada@example.org"],
        ["MGET", "{user:7}:name", "{user:7}:mail"],
    ]
    if with_eval:
        commands += [
            ["EVAL", "return redis.call('INCRBY', KEYS[1], ARGV[1])", "1", "counter", "100"],
            ["EVAL", "return {KEYS[1], redis.call('GET', KEYS[1])}", "1", "key:50"],
            ["EVAL", "return redis.call('HGET', KEYS[1], 'missing')", "1", "hash"],
            ["EVAL", "return redis.call('INCR', KEYS[1])", "1", "key:51"],  # an error inside the script
        ]
    return commands


def replies_of(connection: RawConnection, commands: list[list]) -> list[bytes]:
    """One command at a time, then the same again as one pipeline."""
    replies = [connection.call(*command) for command in commands]
    connection.send(b"".join(_encoded(command) for command in commands))
    replies += [connection.read_raw() for _ in commands]
    return replies


def _encoded(command: list) -> bytes:
    return encode_command([str(part).encode() for part in command])


# --------------------------------------------------------------------------- tests


def test_keys_spread_over_our_two_servers(tmp_path):
    """Every key through the proxy lands on exactly one server, each server has some,
    and the proxy reads each back."""
    with sharded(ours, tmp_path) as deployment, deployment.connect() as client:
        for key in KEYS:
            assert client.call("SET", key, key) == b"+OK\r\n"
        placed = deployment.keys_by_server()
        assert placed["one"] and placed["two"]
        assert placed["one"] | placed["two"] == {key.encode() for key in KEYS}
        assert not placed["one"] & placed["two"]
        for key in KEYS:
            assert client.call("GET", key) == f"${len(key)}\r\n{key}\r\n".encode()

        client.send_command("MGET", *KEYS)
        assert client.read() == [key.encode() for key in KEYS]
        client.send_command("DEL", *KEYS[:100])
        assert client.read() == 100
        placed = deployment.keys_by_server()
        assert placed["one"] | placed["two"] == {key.encode() for key in KEYS[100:]}


@needs_redis
def test_the_same_replies_as_real_redis_behind_the_proxy(tmp_path):
    """The same commands, one by one and pipelined, through a proxy in front of two of
    ours and one in front of two real redis-servers: the same bytes back, and the same
    keys on the server of the same name."""
    with_eval = importlib.util.find_spec("lupa") is not None
    commands = sequence(with_eval)
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    with sharded(ours, tmp_path / "ours") as our_side, sharded(reference, tmp_path / "real") as real_side:
        with our_side.connect() as our_client, real_side.connect() as real_client:
            ours_replies = replies_of(our_client, commands)
            real_replies = replies_of(real_client, commands)
        steps = commands + commands
        different = [(step, mine, theirs) for step, mine, theirs in zip(steps, ours_replies, real_replies)
                     if mine != theirs]
        assert different == []
        our_keys, real_keys = our_side.keys_by_server(), real_side.keys_by_server()
        assert our_keys == real_keys
        assert our_keys["one"] and our_keys["two"]
        # Hash tags: {user:7} decides where both its keys live.
        assert {b"{user:7}:name", b"{user:7}:mail"} <= our_keys["one"] or \
            {b"{user:7}:name", b"{user:7}:mail"} <= our_keys["two"]
