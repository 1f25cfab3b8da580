"""A real redis-sentinel (7.0) watching our servers, as an operator runs it.

Sentinel learns a master's replicas from its INFO (the slave0:... lines), each
instance's role, run ID, link state, priority and offset from the instance's own INFO,
and the other Sentinels from hello messages PUBLISHed on __sentinel__:hello. When the
master stops answering, it sends the chosen replica

    MULTI, SLAVEOF NO ONE, CONFIG REWRITE, CLIENT KILL TYPE normal,
    CLIENT KILL TYPE pubsub, EXEC

and the same with SLAVEOF <new master> to the old master when it comes back. Sentinel
discards those replies, so the tests read what the command left behind on our side: the
role, the rewritten config file, the clients gone, and INFO commandstats and errorstats.

Every test starts its own servers and Sentinels on free loopback ports, each in a
directory of its own under the test's tmp_path with a config file (Sentinel rewrites
its own, and CONFIG REWRITE needs ours), and stops them all at the end, failed or not;
a failed test shows the tail of every log. Failover timings are Sentinel's own: a master
is down after down-after-milliseconds (2 s here: see DOWN_AFTER_MS), and an old master
that comes back is turned into a replica only once it has reported itself master for a
while, on an INFO that Sentinel sends every 10 s, so that test takes about 15 s.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import shutil
import threading
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.helpers import PROGRAM, RawConnection, ServerProcess, free_port, redis_server_path, wait_until

SENTINEL = shutil.which("redis-sentinel")

pytestmark = pytest.mark.skipif(SENTINEL is None,
                                reason="redis-sentinel is not installed (Debian package redis-sentinel)")
needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")

MASTER_NAME = "mymaster"
FAILOVER_WAIT = 30.0  # seconds: down after 2 s, then election, promotion and the next INFO
# Twice Sentinel's ping period (1 s). After a failover Sentinel resets the master's link to
# the promoted replica, but reconnects no sooner than a ping period after its last attempt
# (the attempts at the dead master go on until then), and counts the new master's silence
# from the reset: with 1000 ms here the promoted replica was sometimes declared down 1015
# ms after the reset, before Sentinel had even connected to it, and the failover aborted.
DOWN_AFTER_MS = 2000
REJOIN_WAIT = 60.0  # seconds: Sentinel waits 8 s, on an INFO every 10 s, then a full sync


# redis-py's CLIENT SETINFO on connecting, which Redis 7.0 refuses (an error that would
# count in errorstats), turned off in the spelling of the installed redis-py.
NO_CLIENT_SETINFO = ({"driver_info": None} if "driver_info" in inspect.signature(redis.Redis).parameters
                     else {"lib_name": None, "lib_version": None})


def _client(port: int, **options) -> redis.Redis:
    """A client that reports every failure instead of retrying behind the test's back, in
    RESP2 (Sentinel's replies are then flat lists, as redis-cli shows them)."""
    options = {"socket_timeout": 10, **options}
    return redis.Redis(port=port, protocol=2, decode_responses=True, socket_connect_timeout=2,
                       retry=Retry(NoBackoff(), 0), **NO_CLIENT_SETINFO, **options)


def wait_for(condition, timeout: float = FAILOVER_WAIT, what: str = "condition"):
    """wait_until, where a connection closed under the condition means "not yet": the
    CLIENT KILL TYPE normal that Sentinel sends with SLAVEOF closes the test's own
    connections to that server too, as any client's."""
    def attempt():
        try:
            return condition()
        except redis.ConnectionError:
            return False
    return wait_until(attempt, timeout=timeout, what=what)


def _fields(flat: list) -> dict:
    """Sentinel's [name, value, name, value...] replies as a dict."""
    return dict(zip(flat[::2], flat[1::2]))


# --------------------------------------------------------------------------- processes


class Instance:
    """A server or Sentinel in a directory of its own, with its config file and log."""

    def __init__(self, name: str, directory: Path, program: list[str], port: int, config_name: str, config: str):
        self.name = name
        self.directory = directory
        self.port = port
        self.config_file = directory / config_name
        self.log_file = directory / "log.txt"
        directory.mkdir()
        self.config_file.write_text(config)
        self.argv = [*program, str(self.config_file)]
        self.process: ServerProcess | None = None

    def start(self) -> Instance:
        """Start (or restart, on the same port, directory and config file)."""
        self.stop()  # after a kill: collect what the dead process printed
        self.process = ServerProcess(self.argv, self.port, str(self.directory))
        return self

    def kill(self) -> None:
        """SIGKILL: the server dies without a word, as in a crash."""
        self.process.process.kill()
        self.process.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def client(self) -> redis.Redis:
        return _client(self.port)

    def info(self, section: str) -> dict:
        with self.client() as client:
            return client.info(section)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""


class Deployment:
    """Servers and Sentinels started by one test, all stopped (Sentinels first) at its end."""

    def __init__(self, root: Path):
        self.root = root
        self.servers: list[Instance] = []
        self.sentinels: list[Instance] = []

    def _server(self, program: list[str], name: str, replicaof: Instance | None, extra: str) -> Instance:
        port = free_port()
        directory = self.root / name
        lines = [f"port {port}", "bind 127.0.0.1", f'dir "{directory}"', f'logfile "{directory / "log.txt"}"',
                 'save ""', "appendonly no", "repl-diskless-sync-delay 0"]
        if replicaof is not None:
            lines.append(f"replicaof 127.0.0.1 {replicaof.port}")
        server = Instance(name, directory, program, port, "redis.conf", "\n".join(lines) + "\n" + extra)
        self.servers.append(server.start())
        return server

    def ours(self, name: str, replicaof: Instance | None = None, extra: str = "") -> Instance:
        """Our server, started as redis-server is: ``your_program.sh <config file>``."""
        return self._server([str(PROGRAM)], name, replicaof, extra)

    def reference(self, name: str, replicaof: Instance | None = None, extra: str = "") -> Instance:
        """A real redis-server."""
        return self._server([redis_server_path()], name, replicaof, extra)

    def sentinel(self, name: str, master: Instance, quorum: int = 1) -> Instance:
        port = free_port()
        directory = self.root / name
        config = "\n".join([
            f"port {port}", "bind 127.0.0.1", "daemonize no", f'dir "{directory}"',
            f'logfile "{directory / "log.txt"}"', "loglevel verbose",
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master.port} {quorum}",
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {MASTER_NAME} 5000",
        ]) + "\n"
        sentinel = Instance(name, directory, [SENTINEL], port, "sentinel.conf", config)
        self.sentinels.append(sentinel.start())
        return sentinel

    def close(self) -> None:
        for instance in self.sentinels + self.servers:
            with contextlib.suppress(Exception):
                instance.stop()
        # Printed output shows only when the test failed.
        for instance in self.sentinels + self.servers:
            print(f"----- {instance.name} (port {instance.port}) log, last lines")
            lines = [line for line in instance.log().splitlines() if not re.search(" - (Accepted|Client closed)", line)]
            print("\n".join(lines[-60:]))


@pytest.fixture
def deployment(tmp_path):
    deployed = Deployment(tmp_path)
    try:
        yield deployed
    finally:
        deployed.close()


# --------------------------------------------------------------------------- asking Sentinel


def ask(sentinel: Instance, *args):
    with sentinel.client() as client:
        return client.execute_command("SENTINEL", *args)


def master_address(sentinel: Instance) -> tuple[str, int]:
    host, port = ask(sentinel, "GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
    return host, int(port)


def replicas_seen(sentinel: Instance) -> dict[int, dict]:
    """The replicas Sentinel lists for the master, by port."""
    return {int(fields["port"]): fields for fields in map(_fields, ask(sentinel, "REPLICAS", MASTER_NAME))}


def sees_replica_online(sentinel: Instance, replica: Instance) -> bool:
    """Sentinel has read the replica's INFO, and it says its link to the master is up."""
    seen = replicas_seen(sentinel).get(replica.port)
    return bool(seen) and seen["flags"] == "slave" and seen["master-link-status"] == "ok" and seen["runid"] != ""


def in_sync(master: Instance, replica: Instance) -> bool:
    return master.info("replication")["master_repl_offset"] == replica.info("replication").get("slave_repl_offset")


def write_and_replicate(master: Instance, replica: Instance, count: int) -> None:
    """SET key:<i> <i> for i below count once the replica's link is up (so that its
    offset moves past the full sync's), acknowledged by the replica within a few seconds
    (a replica acknowledges every second, and a diskless Redis master may wait for one
    before it streams), and wait until the replica has them."""
    wait_for(lambda: replica.info("replication").get("master_link_status") == "up", what="the replica's link up")
    with master.client() as client:
        for index in range(count):
            client.set(f"key:{index}", index)
        assert client.execute_command("WAIT", 1, 4000) == 1
    wait_for(lambda: in_sync(master, replica), what="the replica in sync")


def promoted(sentinel: Instance, replica: Instance) -> bool:
    return master_address(sentinel) == ("127.0.0.1", replica.port) and replica.info("replication")["role"] == "master"


def assert_sentinels_commands_succeeded(server: Instance, slaveof_calls: int) -> None:
    """Every command Sentinel sent went through: SLAVEOF, CONFIG REWRITE and CLIENT KILL
    inside MULTI/EXEC, SUBSCRIBE and PUBLISH for the hellos; and no error reply at all."""
    stats = server.info("commandstats")
    for command, calls in [("slaveof", slaveof_calls), ("config|rewrite", slaveof_calls),
                           ("client|kill", 2 * slaveof_calls), ("multi", slaveof_calls), ("exec", slaveof_calls),
                           ("subscribe", 1), ("publish", 1), ("info", 1), ("ping", 1)]:
        assert stats.get(f"cmdstat_{command}", {}).get("calls", 0) >= calls, (command, stats)
    failed = {name: fields for name, fields in stats.items()
              if fields.get("failed_calls") or fields.get("rejected_calls")}
    assert failed == {}
    assert server.info("errorstats") == {}


# --------------------------------------------------------------------------- tests


def test_sentinels_discover_our_master_its_replica_and_each_other(deployment):
    """Three Sentinels read our INFO (master and replica fields) and find each other
    through hello messages published on our servers."""
    master = deployment.ours("master")
    replica = deployment.ours("replica", replicaof=master, extra="replica-priority 42\n")
    write_and_replicate(master, replica, 1)
    sentinels = [deployment.sentinel(f"sentinel{index}", master, quorum=2) for index in range(3)]

    def settled(sentinel):
        others = [_fields(other)["flags"] for other in ask(sentinel, "SENTINELS", MASTER_NAME)]
        return sees_replica_online(sentinel, replica) and others == ["sentinel", "sentinel"]

    for sentinel in sentinels:
        wait_for(lambda sentinel=sentinel: settled(sentinel), what=f"{sentinel.name} to see everyone")

    master_run_id = master.info("server")["run_id"]
    replica_run_id = replica.info("server")["run_id"]
    for sentinel in sentinels:
        seen = _fields(ask(sentinel, "MASTER", MASTER_NAME))
        assert (seen["ip"], seen["port"], seen["runid"]) == ("127.0.0.1", str(master.port), master_run_id)
        assert (seen["flags"], seen["role-reported"]) == ("master", "master")
        assert (seen["num-slaves"], seen["num-other-sentinels"], seen["quorum"]) == ("1", "2", "2")
        assert master_address(sentinel) == ("127.0.0.1", master.port)

        seen = replicas_seen(sentinel)[replica.port]
        assert (seen["name"], seen["ip"], seen["runid"]) == (f"127.0.0.1:{replica.port}", "127.0.0.1", replica_run_id)
        assert (seen["flags"], seen["role-reported"], seen["master-link-status"]) == ("slave", "slave", "ok")
        assert (seen["master-host"], seen["master-port"]) == ("127.0.0.1", str(master.port))
        assert (seen["slave-priority"], seen["replica-announced"], seen["master-link-down-time"]) == ("42", "1", "0")
        assert int(seen["slave-repl-offset"]) > 0

        others = {int(_fields(other)["port"]): _fields(other) for other in ask(sentinel, "SENTINELS", MASTER_NAME)}
        assert set(others) == {other.port for other in sentinels if other is not sentinel}
        assert {(fields["flags"], fields["ip"]) for fields in others.values()} == {("sentinel", "127.0.0.1")}
        assert ask(sentinel, "CKQUORUM", MASTER_NAME).startswith("OK 3 usable Sentinels")

    for server in (master, replica):
        stats = server.info("commandstats")
        assert stats["cmdstat_subscribe"]["calls"] >= 3 and stats["cmdstat_publish"]["calls"] >= 3
        assert server.info("errorstats") == {}
    with master.client() as client:
        # Each Sentinel subscribes on each server, and publishes its hellos there.
        assert client.pubsub_numsub("__sentinel__:hello") == [("__sentinel__:hello", 3)]


def test_failover_promotes_our_replica_and_the_old_master_comes_back_as_its_replica(deployment):
    master = deployment.ours("master")
    replica = deployment.ours("replica", replicaof=master)
    write_and_replicate(master, replica, 100)
    sentinel = deployment.sentinel("sentinel", master)
    wait_for(lambda: sees_replica_online(sentinel, replica), what="Sentinel to see the replica")

    # Clients of the replica that Sentinel's CLIENT KILL TYPE normal and TYPE pubsub end.
    normal = RawConnection(replica.port)
    assert normal.call("PING") == b"+PONG\r\n"
    subscriber = RawConnection(replica.port)
    assert subscriber.call("SUBSCRIBE", "news") == b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"

    master.kill()
    wait_for(lambda: promoted(sentinel, replica), what="the replica promoted")
    assert normal.read_until_closed() == b""
    assert subscriber.read_until_closed() == b""
    with replica.client() as client:
        assert [client.get(f"key:{index}") for index in range(100)] == [str(index) for index in range(100)]
        client.set("after", "failover")
    assert not re.search(r"^(replicaof|slaveof) ", replica.config_file.read_text(), re.MULTILINE)
    assert_sentinels_commands_succeeded(replica, slaveof_calls=1)
    assert "MASTER MODE enabled (user request from" in replica.log()
    assert "CONFIG REWRITE executed with success." in replica.log()

    master.start()  # the same port, directory and config file
    wait_for(lambda: master.info("replication").get("master_link_status") == "up", timeout=REJOIN_WAIT,
             what="the old master to replicate the new one")
    assert master.info("replication")["master_port"] == replica.port
    assert f"\nreplicaof 127.0.0.1 {replica.port}\n" in master.config_file.read_text()
    with replica.client() as client:
        client.set("after", "rejoin")
        assert client.execute_command("WAIT", 1, 10000) == 1
    with master.client() as client:
        assert client.get("after") == "rejoin"
        assert client.get("key:99") == "99"
    assert_sentinels_commands_succeeded(master, slaveof_calls=1)
    assert f"REPLICAOF 127.0.0.1:{replica.port} enabled (user request from" in master.log()
    assert "CONFIG REWRITE executed with success." in master.log()

    log = sentinel.log()
    assert f"+switch-master {MASTER_NAME} 127.0.0.1 {master.port} 127.0.0.1 {replica.port}" in log
    assert f"+convert-to-slave slave 127.0.0.1:{master.port}" in log
    assert "-failover-abort" not in log
    normal.close()
    subscriber.close()


class Writer(threading.Thread):
    """SET k:<i> <i> with i increasing, each followed by WAIT 1, against whatever master
    Sentinel names; notes which writes a replica acknowledged, and which the master
    Sentinel named after the failover took."""

    def __init__(self, sentinel: Instance):
        super().__init__(daemon=True)
        self.sentinel = sentinel
        self.done = threading.Event()
        self.replicated: list[int] = []  # OK, and WAIT 1 answered 1
        self.written_to: dict[int, list[int]] = {}  # master port -> writes answered OK
        self.errors = 0

    def run(self) -> None:
        client, port, index = None, None, 0
        while not self.done.is_set():
            try:
                if client is None:
                    port = master_address(self.sentinel)[1]
                    client = _client(port, socket_timeout=3)
                index += 1
                client.set(f"k:{index}", index)
                self.written_to.setdefault(port, []).append(index)
                if client.execute_command("WAIT", 1, 1000) == 1:
                    self.replicated.append(index)
            except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
                self.errors += 1
                if client is not None:
                    client.close()
                client = None
                self.done.wait(0.05)  # the master is down: ask Sentinel again shortly
        if client is not None:
            client.close()


def test_failover_while_a_client_writes_keeps_every_replicated_write(deployment):
    """Redis' promise: a write acknowledged by WAIT (on the replica) survives the
    failover; the writer carries on against the promoted replica."""
    master = deployment.ours("master")
    replica = deployment.ours("replica", replicaof=master)
    write_and_replicate(master, replica, 1)
    sentinel = deployment.sentinel("sentinel", master)
    wait_for(lambda: sees_replica_online(sentinel, replica), what="Sentinel to see the replica")

    writer = Writer(sentinel)
    writer.start()
    try:
        wait_for(lambda: len(writer.replicated) >= 200, what="200 replicated writes")
        master.kill()
        wait_for(lambda: promoted(sentinel, replica), what="the replica promoted")
        wait_for(lambda: len(writer.written_to.get(replica.port, [])) >= 3, what="writes to the promoted replica")
    finally:
        writer.done.set()
        writer.join(10)
    assert not writer.is_alive()

    with replica.client() as client:
        survivors = set(writer.replicated) | set(writer.written_to[replica.port])
        keys = sorted(survivors)
        values = [client.get(f"k:{index}") for index in keys]
    print(f"{len(writer.replicated)} writes replicated, {len(writer.written_to[replica.port])} to the promoted "
          f"replica, {writer.errors} errors")
    lost = [index for index, value in zip(keys, values) if value != str(index)]
    assert lost == [], f"{len(lost)} acknowledged writes lost of {len(keys)}"
    assert set(writer.written_to[master.port]) >= set(writer.replicated)


@needs_redis
@pytest.mark.parametrize("master_kind, replica_kind", [("reference", "ours"), ("ours", "reference")])
def test_failover_between_ours_and_a_real_redis(deployment, master_kind, replica_kind):
    """A real redis-server master fails over to our replica, and ours to a real replica;
    Sentinel's commands leave the same traces on either kind of server."""
    master = getattr(deployment, master_kind)("master")
    replica = getattr(deployment, replica_kind)("replica", replicaof=master)
    write_and_replicate(master, replica, 100)
    sentinel = deployment.sentinel("sentinel", master)
    wait_for(lambda: sees_replica_online(sentinel, replica), what="Sentinel to see the replica")

    master.kill()
    wait_for(lambda: promoted(sentinel, replica), what="the replica promoted")
    with replica.client() as client:
        assert [client.get(f"key:{index}") for index in range(100)] == [str(index) for index in range(100)]
        assert client.set("after", "failover") is True
    assert not re.search(r"^(replicaof|slaveof) ", replica.config_file.read_text(), re.MULTILINE)
    assert_sentinels_commands_succeeded(replica, slaveof_calls=1)
