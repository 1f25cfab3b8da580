"""The append-only file beyond the stages: damaged files at start-up, rewrites while
clients write, turning the AOF on at run time, directories exchanged with a real
redis-server 7.0, and a crash under appendfsync always that must lose no acknowledged
write."""

from __future__ import annotations

import os
import signal
import subprocess
import threading

import pytest
import redis

from app.protocol import encode_command
from tests.helpers import ROOT, ServerProcess, free_port, redis_server_path, start_ours, wait_until


def commands(*argvs: list[str]) -> bytes:
    return b"".join(encode_command([a.encode() for a in argv]) for argv in argvs)


def prepare(tmp_path, incr: bytes, base: bytes | None = None) -> None:
    directory = tmp_path / "appendonlydir"
    directory.mkdir()
    manifest = b""
    if base is not None:
        (directory / "appendonly.aof.1.base.aof").write_bytes(base)
        manifest += b"file appendonly.aof.1.base.aof seq 1 type b\n"
    (directory / "appendonly.aof.1.incr.aof").write_bytes(incr)
    (directory / "appendonly.aof.manifest").write_bytes(manifest + b"file appendonly.aof.1.incr.aof seq 1 type i\n")


def aof_server(tmp_path, *args: str) -> ServerProcess:
    return start_ours("--dir", str(tmp_path), "--appendonly", "yes", *args, cwd=str(tmp_path))


def refused(tmp_path, *args: str) -> tuple[int, str]:
    """Start our server expecting it to exit at once: its exit code and its log."""
    argv = [str(ROOT / "your_program.sh"), "--port", str(free_port()), "--dir", str(tmp_path),
            "--appendonly", "yes", *args]
    done = subprocess.run(argv, cwd=str(tmp_path), capture_output=True, timeout=20)
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


def client(server: ServerProcess) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=20)


def info_field(server: ServerProcess, name: str) -> str:
    return str(client(server).info("persistence")[name])


# --------------------------------------------------------------------------- damaged files

COMPLETE = commands(["SET", "a", "1"], ["SET", "b", "2"])
CUT = commands(["SET", "c", "3"])[:-4]


def test_truncated_last_command_is_dropped_with_aof_load_truncated_yes(tmp_path):
    prepare(tmp_path, COMPLETE + CUT)
    with aof_server(tmp_path) as server:
        assert client(server).mget("a", "b", "c") == [b"1", b"2", None]
        assert client(server).set("d", "4")
        output = server.stop()
    assert f"!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {len(COMPLETE)} !!!" in output
    assert "loaded anyway because aof-load-truncated is enabled" in output
    # The file was cut at the last whole command, and the next write followed it.
    incr = (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes()
    assert incr == COMPLETE + commands(["SELECT", "0"], ["SET", "d", "4"])


def test_truncated_last_command_is_refused_with_aof_load_truncated_no(tmp_path):
    prepare(tmp_path, COMPLETE + CUT)
    code, output = refused(tmp_path, "--aof-load-truncated", "no")
    assert code == 1
    assert "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof" in output
    assert (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes() == COMPLETE + CUT


def test_truncated_file_that_is_not_the_last_is_refused(tmp_path):
    prepare(tmp_path, COMPLETE, base=COMPLETE + CUT)
    code, output = refused(tmp_path)
    assert code == 1
    assert "Fatal error: the truncated file is not the last file" in output


def test_corruption_is_refused_with_the_file_and_offset(tmp_path):
    prepare(tmp_path, COMPLETE + b"+garbage\r\n" + COMPLETE)
    code, output = refused(tmp_path)
    assert code == 1
    assert f"Bad file format reading the append only file appendonly.aof.1.incr.aof at offset {len(COMPLETE)}" in output


def test_unknown_command_is_refused(tmp_path):
    prepare(tmp_path, commands(["NOSUCHCOMMAND", "x"]))
    code, output = refused(tmp_path)
    assert code == 1
    assert "Unknown command 'NOSUCHCOMMAND' reading the append only file appendonly.aof.1.incr.aof" in output


def test_unfinished_multi_is_reverted(tmp_path):
    unfinished = commands(["MULTI"], ["SET", "c", "3"])
    prepare(tmp_path, COMPLETE + unfinished)
    with aof_server(tmp_path) as server:
        assert client(server).mget("a", "b", "c") == [b"1", b"2", None]
        output = server.stop()
    assert "Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof" in output
    assert (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes() == COMPLETE


def test_commands_replay_on_keys_whose_deadline_passed(tmp_path):
    """Redis expires nothing while loading: APPEND finds the key SET made, and the key
    then expires as it would have."""
    prepare(tmp_path, commands(["SET", "k", "v", "PXAT", "1"], ["APPEND", "k", "w"], ["SET", "kept", "1"]))
    with aof_server(tmp_path) as server:
        assert client(server).get("k") is None
        assert client(server).get("kept") == b"1"


# --------------------------------------------------------------------------- rewriting


def _writers(server: ServerProcess, count: int, stop: threading.Event, acknowledged: dict) -> list[threading.Thread]:
    def write(number: int) -> None:
        connection = client(server)
        while not stop.is_set():
            value = connection.incr(f"counter:{number}")
            connection.set(f"last:{number}", value)
            acknowledged[number] = value

    threads = [threading.Thread(target=write, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    return threads


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_rewrite_while_clients_write_loses_nothing(tmp_path, preamble):
    acknowledged: dict[int, int] = {}
    stop = threading.Event()
    with aof_server(tmp_path, "--aof-use-rdb-preamble", preamble) as server:
        admin = client(server)
        threads = _writers(server, 4, stop, acknowledged)
        for _ in range(3):
            wait_until(lambda: len(acknowledged) == 4 and min(acknowledged.values()) > 50, what="writes")
            assert admin.bgrewriteaof() is True
            wait_until(lambda: info_field(server, "aof_rewrite_in_progress") == "0", what="the rewrite")
            acknowledged_before = dict(acknowledged)
            wait_until(lambda: all(acknowledged[n] > acknowledged_before[n] + 20 for n in range(4)), what="more writes")
        stop.set()
        for thread in threads:
            thread.join()
        assert info_field(server, "aof_rewrites") == "3"
        assert info_field(server, "aof_last_bgrewrite_status") == "ok"
    directory = tmp_path / "appendonlydir"
    suffix = "rdb" if preamble == "yes" else "aof"
    manifest = (directory / "appendonly.aof.manifest").read_text()
    # Three rewrites: bases 1 to 3, each with a new incr after the first one.
    assert manifest == f"file appendonly.aof.3.base.{suffix} seq 3 type b\nfile appendonly.aof.4.incr.aof seq 4 type i\n"
    assert sorted(os.listdir(directory)) == [f"appendonly.aof.3.base.{suffix}", "appendonly.aof.4.incr.aof",
                                             "appendonly.aof.manifest"]
    with aof_server(tmp_path) as server:
        connection = client(server)
        for number, value in acknowledged.items():
            assert int(connection.get(f"counter:{number}")) == value
            assert int(connection.get(f"last:{number}")) == value


def test_bgrewriteaof_replies(tmp_path):
    with aof_server(tmp_path, "--save", "") as server:
        raw = server.raw()
        assert raw.call("MULTI") == b"+OK\r\n"
        assert raw.call("BGREWRITEAOF") == b"+QUEUED\r\n"
        assert raw.call("EXEC") == b"*1\r\n+Background append only file rewriting scheduled\r\n"
        wait_until(lambda: info_field(server, "aof_rewrites") == "1", what="the scheduled rewrite")
        wait_until(lambda: info_field(server, "aof_rewrite_in_progress") == "0", what="its end")
        assert (tmp_path / "appendonlydir" / "appendonly.aof.1.base.rdb").exists()


def test_automatic_rewrite_when_the_file_doubles(tmp_path):
    with aof_server(tmp_path, "--auto-aof-rewrite-min-size", "1kb", "--auto-aof-rewrite-percentage", "100") as server:
        connection = client(server)
        for number in range(40):
            connection.set(f"key:{number}", "x" * 40)
        wait_until(lambda: info_field(server, "aof_rewrites") == "1", what="an automatic rewrite")
        wait_until(lambda: info_field(server, "aof_rewrite_in_progress") == "0", what="its end")
        assert int(info_field(server, "aof_base_size")) > 0
    with aof_server(tmp_path) as server:
        assert client(server).dbsize() == 40


# --------------------------------------------------------------------------- CONFIG SET


def test_config_set_appendonly_yes_writes_a_base_then_appends(tmp_path):
    with start_ours("--dir", str(tmp_path), "--save", "", cwd=str(tmp_path)) as server:
        connection = client(server)
        connection.set("before", "1")
        connection.rpush("list", "a", "b")
        assert connection.config_set("appendonly", "yes")
        connection.set("after", "2")
        wait_until(lambda: info_field(server, "aof_rewrite_in_progress") == "0"
                   and (tmp_path / "appendonlydir" / "appendonly.aof.manifest").exists(), what="the first rewrite")
        connection.set("later", "3")
        assert connection.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert connection.config_set("appendfsync", "always")
        connection.set("synced", "4")
    manifest = (tmp_path / "appendonlydir" / "appendonly.aof.manifest").read_text()
    assert manifest == "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    with aof_server(tmp_path) as server:
        connection = client(server)
        assert connection.mget("before", "after", "later", "synced") == [b"1", b"2", b"3", b"4"]
        assert connection.lrange("list", 0, -1) == [b"a", b"b"]
        assert connection.config_set("appendonly", "no")
        connection.set("not-logged", "5")
    with aof_server(tmp_path) as server:
        assert client(server).get("not-logged") is None
        assert client(server).get("synced") == b"4"


def test_an_rdb_loaded_when_no_aof_exists_is_kept_in_a_base(tmp_path):
    with start_ours("--dir", str(tmp_path), cwd=str(tmp_path)) as server:
        client(server).set("from-rdb", "1")
        client(server).save()
    with aof_server(tmp_path) as server:
        assert client(server).get("from-rdb") == b"1"
    assert (tmp_path / "appendonlydir" / "appendonly.aof.1.base.rdb").exists()
    (tmp_path / "dump.rdb").unlink()
    with aof_server(tmp_path) as server:
        assert client(server).get("from-rdb") == b"1"


def test_info_persistence_fields_in_redis_order(tmp_path):
    off = ["aof_enabled", "aof_rewrite_in_progress", "aof_rewrite_scheduled", "aof_last_rewrite_time_sec",
           "aof_current_rewrite_time_sec", "aof_last_bgrewrite_status", "aof_rewrites",
           "aof_rewrites_consecutive_failures", "aof_last_write_status", "aof_last_cow_size",
           "module_fork_in_progress", "module_fork_last_cow_size"]
    on = off + ["aof_current_size", "aof_base_size", "aof_pending_rewrite", "aof_buffer_length",
                "aof_pending_bio_fsync", "aof_delayed_fsync"]
    for args, expected in (([], off), (["--appendonly", "yes"], on)):
        with start_ours("--dir", str(tmp_path), *args, cwd=str(tmp_path)) as server:
            text = server.raw().call("INFO", "persistence").decode()
            names = [line.split(":")[0] for line in text.split("\r\n") if ":" in line]
            aof_part = names[names.index("aof_enabled"):]
            assert aof_part == expected


# --------------------------------------------------------------------------- a crash


def test_no_acknowledged_write_is_lost_when_killed(tmp_path):
    acknowledged: dict[int, int] = {}
    stop = threading.Event()
    server = aof_server(tmp_path, "--appendfsync", "always")
    failures = []

    def write(number: int) -> None:
        connection = client(server)
        try:
            while not stop.is_set():
                acknowledged[number] = connection.incr(f"counter:{number}")
        except redis.ConnectionError:
            pass
        except Exception as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(acknowledged) == 8 and min(acknowledged.values()) > 100, what="writes")
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    stop.set()
    for thread in threads:
        thread.join()
    server.stop()
    assert not failures
    with aof_server(tmp_path) as restarted:
        connection = client(restarted)
        for number, value in acknowledged.items():
            # At least every acknowledged INCR; one more if it reached the disk unanswered.
            assert int(connection.get(f"counter:{number}")) in (value, value + 1)


# --------------------------------------------------------------------------- with a real redis-server


needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="redis-server (7.0) is not installed: "
                                 "the interchange tests need the real one")


def _fill(connection: redis.Redis) -> None:
    connection.set("string", "value")
    connection.set("expiring", "soon", px=500_000)
    connection.rpush("list", *[f"item{n}" for n in range(100)])
    connection.hset("hash", mapping={f"field{n}": n for n in range(70)})
    connection.sadd("set", "a", "b", "c")
    connection.zadd("zset", {"one": 1, "half": 0.5, "big": 1e300})
    connection.xadd("stream", {"f": "v"}, id="1-1")
    connection.xadd("stream", {"g": "w"}, id="2-1")
    connection.xgroup_create("stream", "group", id="0")
    connection.xreadgroup("group", "alice", {"stream": ">"}, count=1)
    connection.execute_command("SELECT", "5")
    connection.execute_command("SET", "in-db-5", "x")
    connection.execute_command("SELECT", "0")


def _dump(connection: redis.Redis) -> dict:
    found = {}
    for db in (0, 5):
        connection.execute_command("SELECT", db)
        for key in sorted(connection.keys()):
            kind = connection.type(key)
            value = {
                b"string": lambda: connection.get(key),
                b"list": lambda: connection.lrange(key, 0, -1),
                b"hash": lambda: connection.hgetall(key),
                b"set": lambda: sorted(connection.smembers(key)),
                b"zset": lambda: connection.zrange(key, 0, -1, withscores=True),
                b"stream": lambda: (connection.xrange(key), connection.xpending(key, "group")["pending"]),
            }[kind]()
            ttl = connection.pttl(key)
            found[(db, key)] = (kind, value, ttl > 0)
    connection.execute_command("SELECT", 0)
    return found


def _real_redis(tmp_path, *args: str) -> ServerProcess:
    port = free_port()
    argv = [redis_server_path(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
            "--dir", str(tmp_path), *args]
    return ServerProcess(argv, port, str(tmp_path))


@needs_redis
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_a_directory_we_wrote_loads_in_redis(tmp_path, preamble):
    with aof_server(tmp_path, "--aof-use-rdb-preamble", preamble) as ours:
        _fill(client(ours))
        assert client(ours).bgrewriteaof()
        wait_until(lambda: info_field(ours, "aof_rewrite_in_progress") == "0", what="the rewrite")
        client(ours).set("after-rewrite", "1")
        expected = _dump(client(ours))
    with _real_redis(tmp_path) as real:
        assert _dump(client(real)) == expected


@needs_redis
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_a_directory_redis_wrote_loads_here(tmp_path, preamble):
    with _real_redis(tmp_path, "--aof-use-rdb-preamble", preamble) as real:
        _fill(client(real))
        client(real).bgrewriteaof()
        wait_until(lambda: info_field(real, "aof_rewrite_in_progress") == "0", what="redis' rewrite")
        client(real).set("after-rewrite", "1")
        expected = _dump(client(real))
    with aof_server(tmp_path) as ours:
        assert _dump(client(ours)) == expected
