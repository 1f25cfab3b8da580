"""The server as a whole: pipelining, concurrency, inline commands, limits, start-up
options and shutdown, checked through real sockets, redis-py and redis-cli."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading

import pytest
import redis

from app.protocol import encode_command
from tests.helpers import ROOT, RawConnection, start_ours, start_reference, wait_until



def closed_by_server(connection: RawConnection) -> bool:
    """Block until the server closes the connection; True if it did (EOF)."""
    return connection.read_until_closed() == b""


# --------------------------------------------------------------------------- pipelining


def test_pipeline_of_ten_thousand_commands_in_one_write(raw):
    commands = [encode_command([b"INCR", b"counter"]) for _ in range(10_000)]
    commands.append(encode_command([b"GET", b"counter"]))
    raw.send(b"".join(commands))
    replies = [raw.read_raw() for _ in range(10_001)]
    assert replies[:10_000] == [b":%d\r\n" % i for i in range(1, 10_001)]
    assert replies[-1] == b"$5\r\n10000\r\n"


def test_pipeline_split_across_reads_mid_command(raw):
    payload = encode_command([b"SET", b"k", b"x" * 100_000]) + encode_command([b"STRLEN", b"k"])
    for start in range(0, len(payload), 7_919):  # a prime, so cuts fall everywhere
        raw.send(payload[start : start + 7_919])
    assert raw.read_raw() == b"+OK\r\n"
    assert raw.read_raw() == b":100000\r\n"


def test_two_hundred_concurrent_clients(server):
    redis.Redis(port=server.port).delete("shared")
    errors = []
    ready = threading.Barrier(200)

    def work(n: int) -> None:
        try:
            with RawConnection(server.port) as connection:
                ready.wait()  # all 200 connected at once
                for i in range(20):
                    connection.send_command("INCR", "shared")
                    connection.read_raw()
                    assert connection.call("SET", f"own:{n}", i) == b"+OK\r\n"
                    assert connection.call("GET", f"own:{n}") == b"$%d\r\n%d\r\n" % (len(str(i)), i)
        except Exception as error:  # collected and reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert redis.Redis(port=server.port).get("shared") == b"4000"


# --------------------------------------------------------------------------- inline and protocol errors


def test_inline_commands_as_typed_in_telnet(raw):
    raw.send(b"PING\r\n")
    assert raw.read_raw() == b"+PONG\r\n"
    raw.send(b'SET greeting "hello world"\n')
    assert raw.read_raw() == b"+OK\r\n"
    raw.send(b"get greeting\r\n")
    assert raw.read_raw() == b"$11\r\nhello world\r\n"
    raw.send(b"\r\n\r\nECHO 'it''s'\r\n")  # blank lines are ignored
    assert raw.read_raw() == b"-ERR Protocol error: unbalanced quotes in request\r\n"
    assert closed_by_server(raw)


def test_protocol_error_answers_earlier_commands_then_closes_only_that_client(server):
    with RawConnection(server.port) as bystander, RawConnection(server.port) as offender:
        offender.send(b"*1\r\n$4\r\nPING\r\n*1\r\n+PING\r\n")
        assert offender.read_raw() == b"+PONG\r\n"
        assert offender.read_raw() == b"-ERR Protocol error: expected '$', got '+'\r\n"
        assert closed_by_server(offender)
        assert bystander.call("PING") == b"+PONG\r\n"


def test_bulk_length_limit_follows_proto_max_bulk_len(server):
    with RawConnection(server.port) as connection:
        connection.send(b"*2\r\n$4\r\nECHO\r\n$536870913\r\n")
        assert connection.read_raw() == b"-ERR Protocol error: invalid bulk length\r\n"
        assert closed_by_server(connection)


# --------------------------------------------------------------------------- connection life


def test_quit_answers_then_closes_and_skips_the_rest(raw):
    raw.send(encode_command([b"QUIT"]) + encode_command([b"SET", b"after", b"quit"]))
    assert raw.read_raw() == b"+OK\r\n"
    assert closed_by_server(raw)
    assert redis.Redis(port=raw.sock.getpeername()[1]).exists("after") == 0


def test_client_reply_off_skip_on(raw):
    raw.send_command("CLIENT", "REPLY", "OFF")
    raw.send_command("SET", "a", "1")
    raw.send_command("CLIENT", "REPLY", "ON")
    assert raw.read_raw() == b"+OK\r\n"  # the first reply after OFF is ON's own
    raw.send_command("CLIENT", "REPLY", "SKIP")
    raw.send_command("GET", "a")
    raw.send_command("GET", "a")
    assert raw.read_raw() == b"$1\r\n1\r\n"  # only the second GET answered


def test_client_kill_closes_another_connection(server):
    with RawConnection(server.port) as victim, RawConnection(server.port) as killer:
        victim_id = int(victim.call("CLIENT", "ID")[1:-2])
        assert killer.call("CLIENT", "KILL", "ID", victim_id) == b":1\r\n"
        assert closed_by_server(victim)
        assert killer.call("PING") == b"+PONG\r\n"


def test_client_list_and_info_describe_connections(r):
    r.client_setname("lister")
    listing = r.client_list()
    me = [c for c in listing if c["name"] == "lister"]
    assert len(me) == 1 and me[0]["cmd"] == "client|list" and me[0]["db"] == "0"
    assert r.client_info()["name"] == "lister"


def test_select_keeps_databases_apart(r):
    r.set("k", "zero")
    r.execute_command("SELECT", 1)
    assert r.get("k") is None
    r.set("k", "one")
    r.execute_command("SELECT", 0)
    assert r.get("k") == b"zero"


def test_reset_restores_a_fresh_connection(raw):
    raw.call("SELECT", "3")
    raw.call("CLIENT", "SETNAME", "temp")
    raw.call("HELLO", "3")
    assert raw.call("RESET") == b"+RESET\r\n"
    assert raw.call("CLIENT", "GETNAME") == b"$-1\r\n"  # RESP2 again, name gone
    assert b" db=0 " in raw.call("CLIENT", "INFO")


# --------------------------------------------------------------------------- RESP3 and clients


def test_redis_py_resp3_handshake(r3):
    assert r3.ping() is True
    r3.set("k", "v")
    assert r3.get("k") == b"v"
    info = r3.client_info()
    assert info["resp"] == "3" and info["lib-name"] == "redis-py"


def test_hello_3_switches_reply_encoding(raw):
    hello = raw.call("HELLO", "3")
    assert hello.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
    raw.call("SET", "k", "v")
    assert raw.call("GET", "missing") == b"_\r\n"
    assert raw.call("HELLO", "2").startswith(b"*14\r\n")
    assert raw.call("GET", "missing") == b"$-1\r\n"


def test_redis_cli_talks_to_us(server):
    def cli(*args: str) -> str:
        done = subprocess.run(["redis-cli", "-p", str(server.port), *args], capture_output=True, text=True, timeout=20)
        return done.stdout.strip()

    if subprocess.run(["which", "redis-cli"], capture_output=True).returncode:
        pytest.skip("redis-cli is not installed (apt-get install redis-tools)")
    assert cli("SET", "from-cli", "hello") == "OK"
    assert cli("GET", "from-cli") == "hello"
    assert cli("INCRBYFLOAT", "f", "0.1") == "0.1"
    assert cli("--no-raw", "MGET", "from-cli", "nope") == '1) "hello"\n2) (nil)'


# --------------------------------------------------------------------------- expiry


def test_active_expiry_removes_keys_nobody_reads(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    for i in range(200):
        r.set(f"short:{i}", "v", px=50)
    r.set("long", "v")
    wait_until(lambda: r.dbsize() == 1)  # DBSIZE never triggers lazy expiry
    assert r.info("stats")["expired_keys"] >= 200


def test_lazy_expiry_on_access(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("soon", "v", px=1)
        wait_until(lambda: r.pttl("soon") == -2)  # PTTL reads it as gone ...
        r.set("other", "v")
        assert r.get("soon") is None
        assert r.dbsize() == 1  # ... and the access deleted it
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


# --------------------------------------------------------------------------- start-up options and limits


def test_unknown_option_exits_with_a_clear_error():
    done = subprocess.run([str(ROOT / "your_program.sh"), "--no-such-option", "1"], capture_output=True, text=True, timeout=20)
    assert done.returncode != 0
    assert "no-such-option" in done.stderr


def test_daemonize_is_refused_rather_than_ignored():
    done = subprocess.run([str(ROOT / "your_program.sh"), "--daemonize", "yes"], capture_output=True, text=True, timeout=20)
    assert done.returncode != 0 and "daemonize" in done.stderr


def test_pidfile_is_written_and_removed(tmp_path):
    pidfile = tmp_path / "server.pid"
    server = start_ours("--pidfile", str(pidfile))
    try:
        # Written just after the listeners open, as Redis does: it may come after the port.
        wait_until(lambda: pidfile.exists() and pidfile.read_text().endswith("\n"), what="the pidfile")
        assert pidfile.read_text() == f"{server.process.pid}\n"
    finally:
        server.stop()
    assert not pidfile.exists()


def test_bad_value_exits_with_a_clear_error():
    done = subprocess.run([str(ROOT / "your_program.sh"), "--port", "http"], capture_output=True, text=True, timeout=20)
    assert done.returncode != 0
    assert "port" in done.stderr and "integer" in done.stderr


@pytest.mark.parametrize("form", [["--replicaof", "localhost 6399"], ["--replicaof", "localhost", "6399"]])
def test_replicaof_in_both_forms(form):
    with start_ours(*form) as server:
        client = redis.Redis(port=server.port)
        assert client.config_get("replicaof") == {"replicaof": "localhost 6399"}
        assert client.info("replication")["role"] == "slave"


def test_dir_and_dbfilename_flags(tmp_path):
    with start_ours("--dir", str(tmp_path), "--dbfilename", "data.rdb") as server:
        client = redis.Redis(port=server.port, decode_responses=True)
        assert client.config_get("dir") == {"dir": str(tmp_path)}
        assert client.config_get("dbfilename") == {"dbfilename": "data.rdb"}


def test_dir_defaults_to_the_working_directory(tmp_path):
    with start_ours(cwd=str(tmp_path)) as server:
        assert redis.Redis(port=server.port, decode_responses=True).config_get("dir") == {"dir": str(tmp_path)}


def test_config_file_then_flags(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text('# a comment\nmaxclients 77\nsave ""\nrequirepass "p w"\n')
    with start_ours(config_file=str(conf)) as server:
        client = redis.Redis(port=server.port, password="p w", decode_responses=True)
        assert client.config_get("maxclients") == {"maxclients": "77"}
        assert client.config_get("save") == {"save": ""}


def test_requirepass_gates_every_command_but_auth(tmp_path):
    with start_ours("--requirepass", "secret") as server:
        with RawConnection(server.port) as connection:
            assert connection.call("GET", "k") == b"-NOAUTH Authentication required.\r\n"
            assert connection.call("AUTH", "wrong") == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
            assert connection.call("AUTH", "secret") == b"+OK\r\n"
            assert connection.call("GET", "k") == b"$-1\r\n"
        for protocol in (2, 3):
            assert redis.Redis(port=server.port, password="secret", protocol=protocol).ping() is True


def test_maxclients_refuses_the_extra_client():
    with start_ours("--maxclients", "2") as server:
        with RawConnection(server.port) as first, RawConnection(server.port) as second:
            assert first.call("PING") == b"+PONG\r\n" and second.call("PING") == b"+PONG\r\n"
            with RawConnection(server.port) as third:
                assert third.read_until_closed() == b"-ERR max number of clients reached\r\n"


def test_idle_clients_are_closed_after_timeout():
    with start_ours("--timeout", "1") as server:
        with RawConnection(server.port) as idle:
            assert idle.call("PING") == b"+PONG\r\n"
            assert closed_by_server(idle)


def test_subscribers_are_spared_the_idle_timeout_until_they_unsubscribe():
    """As in Redis: a subscriber waits for messages, however long; once it has no
    subscription left it is an ordinary client again, closed when idle."""
    with start_ours("--timeout", "1") as server:
        with RawConnection(server.port) as subscriber:
            subscriber.call("SUBSCRIBE", "ch")
            subscriber.sock.settimeout(2.5)
            with pytest.raises(socket.timeout):  # idle past the timeout, and still connected
                subscriber.sock.recv(100)
            with RawConnection(server.port) as publisher:  # a fresh one: idle ones are closed
                assert publisher.call("PUBLISH", "ch", "still there") == b":1\r\n"
            assert subscriber.read() == [b"message", b"ch", b"still there"]
            subscriber.sock.settimeout(10)
            subscriber.call("UNSUBSCRIBE")
            assert closed_by_server(subscriber)


def test_listens_on_ipv6_loopback_too(server):
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        connection = socket.create_connection(("::1", server.port), timeout=5)
    except OSError:
        pytest.skip("::1 is not available on this machine")
    with connection:
        connection.sendall(b"PING\r\n")
        assert connection.recv(100) == b"+PONG\r\n"


# --------------------------------------------------------------------------- shutdown


def test_shutdown_command_stops_the_server():
    server = start_ours()
    with RawConnection(server.port) as connection:
        connection.send_command("SHUTDOWN", "NOSAVE")
        assert closed_by_server(connection)
    assert server.process.wait(10) == 0
    assert "ready to exit" in server.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_the_server_cleanly(signum):
    server = start_ours()
    with RawConnection(server.port) as connection:
        assert connection.call("PING") == b"+PONG\r\n"
        os.kill(server.process.pid, signum)
        assert server.process.wait(10) == 0
        assert closed_by_server(connection)
    server.stop()


# --------------------------------------------------------------------------- before AUTH

UNAUTHENTICATED_CASES = {
    "too_many_arguments": encode_command([b"ECHO"] + [b"x"] * 11),
    "long_bulk_string": b"*2\r\n$4\r\nECHO\r\n$16385\r\n",
    "small_command_is_parsed_then_refused": encode_command([b"ECHO", b"x" * 16384]) + b"QUIT\r\n",
    "auth_then_big_command_in_one_packet": encode_command([b"AUTH", b"pw"]) + encode_command([b"ECHO"] + [b"x"] * 11) + b"QUIT\r\n",
    "inline_auth_then_big_command": b"AUTH pw\r\n" + encode_command([b"ECHO", b"y" * 20000]) + b"QUIT\r\n",
}


@pytest.mark.parametrize("name", sorted(UNAUTHENTICATED_CASES))
def test_limits_before_auth_match_redis(tmp_path, name):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed: this compares with it")
    payload = UNAUTHENTICATED_CASES[name]
    answers = []
    for start in (start_ours, start_reference):
        with start("--requirepass", "pw", cwd=str(tmp_path)) as server, RawConnection(server.port) as connection:
            connection.send(payload)
            answers.append(connection.read_until_closed())
    ours, theirs = answers
    assert ours == theirs


# --------------------------------------------------------------------------- introspection


def test_command_count_info_docs_list_agree(raw):
    raw.send_command("COMMAND")
    everything = raw.read()
    raw.send_command("COMMAND", "COUNT")
    assert raw.read() == len(everything) > 50
    raw.send_command("COMMAND", "LIST")
    names = raw.read()
    assert b"get" in names and b"config|get" in names
    raw.send_command("COMMAND", "DOCS", "get")
    docs = raw.read()
    assert docs[0] == b"get"
    fields = dict(zip(docs[1][::2], docs[1][1::2]))
    assert fields[b"group"] == b"string" and fields[b"since"] == b"1.0.0" and fields[b"summary"]


def test_config_get_glob_patterns(r):
    found = r.config_get("*max*")
    assert {"maxclients", "maxmemory", "maxmemory-policy", "proto-max-bulk-len"} <= set(found)
    assert set(r.config_get("append*")) == {"appendonly", "appenddirname", "appendfilename", "appendfsync"}
    assert r.config_get("MAXCLIENTS") == {"MAXCLIENTS": "10000"}  # a plain name is echoed as given


def test_info_sections(r, server):
    default = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules",
               "Errorstats", "Cluster", "Keyspace"]
    r.set("k", "v")
    with RawConnection(server.port) as connection:

        def info(*names: str) -> str:
            return connection.call("INFO", *names).split(b"\r\n", 1)[1].decode()

        def titles(text: str) -> list[str]:
            return [line[2:] for line in text.split("\r\n") if line.startswith("# ")]

        assert titles(info()) == default == titles(info("default"))
        everything = default[:8] + ["Commandstats", "Errorstats", "Latencystats"] + default[9:]  # Redis' order
        assert titles(info("all")) == everything == titles(info("everything"))
        only = info("replication")
        assert only.startswith("# Replication\r\nrole:master\r\n") and "# Server" not in only
        both = info("clients", "stats")
        assert "# Clients" in both and "# Stats" in both and "# Memory" not in both
    stats = r.info("stats")
    assert stats["total_net_input_bytes"] > 0 and stats["total_net_output_bytes"] > 0
    with RawConnection(server.port) as connection:  # a client that comes and goes still counts
        connection.call("ECHO", "x" * 10_000)
    assert r.info("stats")["total_net_output_bytes"] > stats["total_net_output_bytes"] + 10_000
    replication = r.info("replication")
    assert len(replication["master_replid"]) == 40 and replication["master_repl_offset"] == 0
    assert r.info("keyspace")["db0"]["keys"] == 1


def test_commandstats_and_errorstats():
    with start_ours() as fresh, RawConnection(fresh.port) as connection:

        def info(section: str) -> dict[str, str]:
            text = connection.call("INFO", section).split(b"\r\n", 1)[1].decode()
            return dict(line.split(":", 1) for line in text.split("\r\n")[1:] if ":" in line)

        connection.call("SET", "k", "v")
        connection.call("GET")  # refused: wrong number of arguments
        connection.call("INCR", "k")  # runs and fails
        connection.call("NOSUCH")
        stats = info("commandstats")
        assert stats["cmdstat_set"].startswith("calls=1,")
        assert stats["cmdstat_get"].startswith("calls=0,") and "rejected_calls=1," in stats["cmdstat_get"]
        assert stats["cmdstat_incr"].endswith("failed_calls=1")
        assert info("errorstats") == {"errorstat_ERR": "count=3"}
        assert connection.call("CONFIG", "RESETSTAT") == b"+OK\r\n"
        assert "cmdstat_set" not in info("commandstats") and info("errorstats") == {}


def test_redis_benchmark_default_tests_run_without_error(server):
    if shutil.which("redis-benchmark") is None:
        pytest.skip("redis-benchmark is not installed (apt-get install redis-tools)")
    for extra in ([], ["-P", "16"]):
        done = subprocess.run(
            ["redis-benchmark", "-p", str(server.port), "-t", "ping,set,get,incr,mset", "-n", "2000", "-c", "20", "-q", *extra],
            capture_output=True, text=True, timeout=120,
        )
        finished = [line for line in done.stdout.replace("\r", "\n").splitlines() if "requests per second" in line]
        assert done.returncode == 0, done.stderr
        assert [line.split(":")[0] for line in finished] == ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]


def test_resetstat_restarts_the_network_byte_counts_as_redis():
    """After CONFIG RESETSTAT, INFO counts the bytes of PING and INFO itself (39 in) and
    the replies to RESETSTAT and PING (12 out), as Redis does; the counts of live
    clients are never zeroed under their threads (see ServerState.reset_stats)."""
    with start_ours() as server, server.raw() as client:
        client.call("SET", "a", "b")
        client.call("CONFIG", "RESETSTAT")
        client.call("PING")
        info = client.call("INFO", "stats")
        assert b"total_net_input_bytes:39\r\n" in info
        assert b"total_net_output_bytes:12\r\n" in info
