"""Function libraries are part of the dataset (Redis 7.0): they live in RDB files, AOF
bases and the RDB of a full sync, come back with DEBUG RELOAD, and FLUSHALL keeps them.

Each path is checked with our server on both ends, and with a real redis-server 7.0 on
the other end where there is one (files and replication links both ways). Tests that
need a real redis-server skip with a clear message when it is missing; tests that run
libraries need lupa. A server without lupa must refuse what holds libraries, saying
why, rather than drop them: those tests hide lupa from the server they start.
"""

from __future__ import annotations

import os
import subprocess

import pytest
import redis

from app.config import load_config
from app.persistence import rdb
from app.persistence.crc64 import crc64
from app.protocol import encode_command
from tests.helpers import ROOT, ServerProcess, free_port, redis_server_path, start_ours, start_reference, wait_until

CONFIG = load_config([])

needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="redis-server (7.0) is not installed: "
                                 "the interchange tests need the real one (apt-get install redis-server)")

GREETINGS = (b"#!lua name=greetings\n"
             b"redis.register_function('hello', function(keys, args) return 'hello ' .. args[1] end)\n"
             b"redis.register_function{function_name='shout', description='says it louder', flags={'no-writes'},\n"
             b"    callback=function(keys, args) return string.upper(args[1]) end}\n")
# Long and repetitive: LZF-compressed in a file when rdbcompression is on.
COUNTER = (b"#!lua name=counter\n" + b"-- counts, " * 30 + b"\n"
           b"redis.register_function('bump', function(keys, args) return redis.call('INCR', keys[1]) end)\n")
COUNTER_V2 = COUNTER.replace(b"'INCR', keys[1]", b"'INCRBY', keys[1], 10")
SPARE = b"#!lua name=spare\nredis.register_function('spare', function() return 'spare' end)\n"


def libraries(client: redis.Redis) -> dict:
    """FUNCTION LIST WITHCODE, in an order that does not depend on the server's hash
    tables: library name -> (code, [(function, description, flags)])."""
    return {
        entry[b"library_name"]: (entry[b"library_code"], sorted(
            (function[b"name"], function[b"description"], sorted(function[b"flags"]))
            for function in entry[b"functions"]))
        for entry in client.execute_command("FUNCTION", "LIST", "WITHCODE")
    }


def load_both(client: redis.Redis) -> None:
    assert client.function_load(GREETINGS.decode()) == b"greetings"
    assert client.function_load(COUNTER.decode()) == b"counter"


def assert_they_run(client: redis.Redis) -> None:
    """Both libraries answer: they were loaded, not merely listed."""
    assert client.fcall("hello", 0, "world") == b"hello world"
    assert client.fcall_ro("shout", 0, "hi") == b"HI"
    assert client.fcall("bump", 1, "calls") == int(client.get("calls"))


def connect(server: ServerProcess) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=20)


def function_records(data: bytes) -> bytes:
    """The function records of an RDB file, which must come right after its AUX fields
    and right before its first database."""
    reader = rdb._Reader(data)
    reader.position = 9  # past "REDIS" and the version
    while data[reader.position] == rdb.OP_AUX:
        reader.byte(), reader.string(), reader.string()
    start = reader.position
    while data[reader.position] == rdb.OP_FUNCTION2:
        reader.byte(), reader.string()
    assert data[reader.position] == rdb.OP_SELECTDB
    return data[start:reader.position]


@pytest.fixture
def lua():
    pytest.importorskip("lupa", reason="running libraries needs the optional lupa package")


# --------------------------------------------------------------------------- the file format


def minimal_file(entries: bytes) -> bytes:
    body = b"REDIS0010" + entries + b"\xfe\x00\x00\x01k\x01v\xff"
    return body + crc64(body).to_bytes(8, "little")


@pytest.mark.parametrize("compress", [True, False])
def test_libraries_go_between_the_aux_fields_and_the_databases(compress):
    data = rdb.dump([(0, {b"k": b"v"}, {})], compress=compress, functions=[GREETINGS, COUNTER])
    records = rdb.dump_functions([GREETINGS, COUNTER], {"rdbcompression": compress})[:-10]
    assert function_records(data) == records
    assert (COUNTER in data) is not compress  # compressed like any other string
    codes: list[bytes] = []
    keys = rdb.parse(data, CONFIG, 0, functions=codes)
    assert codes == [GREETINGS, COUNTER]
    assert [(key.key, key.value) for key in keys] == [(b"k", b"v")]


def test_a_caller_with_nowhere_to_put_libraries_refuses_the_file():
    data = rdb.dump([], functions=[GREETINGS])
    with pytest.raises(rdb.RDBError, match="holds Redis functions.* at offset"):
        rdb.parse(data, CONFIG, 0)


def test_the_pre_release_format_is_refused_as_redis_refuses_it():
    with pytest.raises(rdb.RDBError, match="Pre-release function format not supported"):
        rdb.parse(minimal_file(b"\xf6\x00"), CONFIG, 0, functions=[])


def test_function_dump_payloads_hold_the_same_records():
    payload = rdb.dump_functions([GREETINGS, COUNTER], CONFIG)
    assert rdb.restore_functions(payload) == [GREETINGS, COUNTER]
    assert payload[:-10] == function_records(rdb.dump([(0, {b"k": b"v"}, {})], functions=[GREETINGS, COUNTER]))


# --------------------------------------------------------------------------- RDB files, our server alone


@pytest.mark.parametrize("save", ["SAVE", "BGSAVE"])
def test_saved_libraries_come_back_after_a_restart(tmp_path, lua, save):
    with start_ours("--dir", str(tmp_path)) as ours:
        client = connect(ours)
        load_both(client)
        client.execute_command(save)
        wait_until(lambda: client.info("persistence")["rdb_bgsave_in_progress"] == 0
                   and client.info("persistence")["rdb_changes_since_last_save"] == 0, what="the save")
        expected = libraries(client)
    with start_ours("--dir", str(tmp_path)) as ours:
        client = connect(ours)
        assert libraries(client) == expected
        assert_they_run(client)


def test_flushall_keeps_the_libraries(tmp_path, lua):
    with start_ours("--dir", str(tmp_path)) as ours:
        client = connect(ours)
        load_both(client)
        client.set("key", "value")
        expected = libraries(client)
        assert client.flushall()
        assert client.dbsize() == 0
        assert libraries(client) == expected
        assert_they_run(client)
        client.save()
    with start_ours("--dir", str(tmp_path)) as ours:
        assert libraries(connect(ours)) == expected


@pytest.mark.parametrize("which", ["ours", "redis"])
def test_debug_reload_keeps_and_replaces_the_libraries(tmp_path, lua, which):
    if which == "redis" and redis_server_path() is None:
        pytest.skip("redis-server is not installed: this differential test needs it")
    start = start_ours if which == "ours" else start_reference
    with start("--enable-debug-command", "yes", "--dir", str(tmp_path), cwd=str(tmp_path)) as server:
        client = connect(server)
        assert client.function_load(GREETINGS.decode()) == b"greetings"
        assert client.execute_command("DEBUG", "RELOAD") == b"OK"
        assert set(libraries(client)) == {b"greetings"}
        assert client.fcall("hello", 0, "again") == b"hello again"
        # The file's libraries replace those in memory: what was loaded since is gone.
        client.function_delete("greetings")
        client.function_load(COUNTER.decode())
        assert client.execute_command("DEBUG", "RELOAD", "NOSAVE") == b"OK"
        assert set(libraries(client)) == {b"greetings"}
        # NOFLUSH MERGE adds them to those in memory.
        client.function_load(COUNTER.decode())
        assert client.execute_command("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE") == b"OK"
        assert set(libraries(client)) == {b"greetings", b"counter"}
        assert_they_run(client)


# --------------------------------------------------------------------------- RDB files exchanged with Redis


@needs_redis
def test_a_file_redis_saved_loads_here_and_is_saved_back_byte_for_byte(tmp_path, lua):
    with start_reference(cwd=str(tmp_path)) as reference:
        client = connect(reference)
        load_both(client)
        client.set("key", "value")
        client.save()
        expected = libraries(client)
    theirs = (tmp_path / "dump.rdb").read_bytes()
    with start_ours("--dir", str(tmp_path)) as ours:
        client = connect(ours)
        assert libraries(client) == expected
        assert client.get("key") == b"value"
        assert_they_run(client)
        client.save()
    # Loaded in the file's order and saved in that order: the same records, compression included.
    assert function_records((tmp_path / "dump.rdb").read_bytes()) == function_records(theirs)


@needs_redis
def test_a_file_we_saved_loads_in_redis(tmp_path, lua):
    with start_ours("--dir", str(tmp_path)) as ours:
        client = connect(ours)
        load_both(client)
        client.set("key", "value")
        client.save()
        expected = libraries(client)
    with start_reference("--dbfilename", "dump.rdb", cwd=str(tmp_path)) as reference:
        client = connect(reference)
        assert libraries(client) == expected
        assert client.get("key") == b"value"
        assert_they_run(client)


# --------------------------------------------------------------------------- the AOF


def aof_server(tmp_path, *args: str) -> ServerProcess:
    return start_ours("--dir", str(tmp_path), "--appendonly", "yes", "--enable-debug-command", "yes", *args,
                      cwd=str(tmp_path))


def rewrite(client: redis.Redis) -> None:
    rewrites = client.info("persistence")["aof_rewrites"]
    assert client.bgrewriteaof()

    def done() -> bool:
        info = client.info("persistence")
        return info["aof_rewrites"] > rewrites and not info["aof_rewrite_in_progress"] \
            and not info["aof_rewrite_scheduled"]

    wait_until(done, what="the AOF rewrite")


def base_file(tmp_path) -> bytes:
    (base,) = [name for name in os.listdir(tmp_path / "appendonlydir") if ".base." in name]
    return (tmp_path / "appendonlydir" / base).read_bytes()


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_a_rewritten_aof_keeps_the_libraries(tmp_path, lua, preamble):
    with aof_server(tmp_path, "--aof-use-rdb-preamble", preamble) as ours:
        client = connect(ours)
        load_both(client)
        client.set("key", "value")
        rewrite(client)
        client.function_load(SPARE.decode())  # after the rewrite: in the incr file
        expected = libraries(client)
    base = base_file(tmp_path)
    if preamble == "yes":
        codes: list[bytes] = []
        rdb.parse(base, CONFIG, 0, functions=codes)
        assert codes == [GREETINGS, COUNTER]
    else:
        # As Redis 7.0 writes it: one FUNCTION LOAD per library, before the first SELECT.
        loads = encode_command([b"FUNCTION", b"LOAD", GREETINGS]) + encode_command([b"FUNCTION", b"LOAD", COUNTER])
        assert base.startswith(loads + encode_command([b"SELECT", b"0"]))
    with aof_server(tmp_path) as ours:
        client = connect(ours)
        assert libraries(client) == expected
        assert_they_run(client)
        # DEBUG LOADAOF empties the libraries first: the base's are no duplicates.
        assert client.execute_command("DEBUG", "LOADAOF") == b"OK"
        assert libraries(client) == expected


def test_function_commands_replay_from_the_aof(tmp_path, lua):
    with aof_server(tmp_path) as ours:
        client = connect(ours)
        load_both(client)
        payload = client.function_dump()
        client.function_delete("greetings")
        client.function_load(COUNTER_V2.decode(), replace=True)
        client.function_flush("ASYNC")
        client.function_load(SPARE.decode())
        client.function_restore(payload, "APPEND")  # greetings and the first counter
        client.function_delete("spare")
        expected = libraries(client)
        assert set(expected) == {b"greetings", b"counter"}
    with aof_server(tmp_path) as ours:
        client = connect(ours)
        assert libraries(client) == expected
        assert_they_run(client)
        assert client.execute_command("DEBUG", "LOADAOF") == b"OK"
        assert libraries(client) == expected


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_an_rdb_of_libraries_alone_gets_an_aof_base(tmp_path, lua, preamble):
    """appendonly yes over an RDB file and no AOF yet: the base written from what was
    loaded holds the libraries even when there is no key."""
    with start_ours("--dir", str(tmp_path)) as ours:
        load_both(connect(ours))
        connect(ours).save()
        expected = libraries(connect(ours))
    with aof_server(tmp_path, "--aof-use-rdb-preamble", preamble) as ours:
        assert libraries(connect(ours)) == expected
    (tmp_path / "dump.rdb").unlink()
    with aof_server(tmp_path) as ours:
        assert libraries(connect(ours)) == expected


def real_aof_server(tmp_path, *args: str) -> ServerProcess:
    return start_reference("--appendonly", "yes", *args, cwd=str(tmp_path))


@needs_redis
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_an_aof_we_wrote_loads_in_redis(tmp_path, lua, preamble):
    with aof_server(tmp_path, "--aof-use-rdb-preamble", preamble) as ours:
        client = connect(ours)
        load_both(client)
        rewrite(client)
        client.function_load(SPARE.decode())
        expected = libraries(client)
    with real_aof_server(tmp_path) as real:
        client = connect(real)
        assert libraries(client) == expected
        assert_they_run(client)


@needs_redis
@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_an_aof_redis_wrote_loads_here(tmp_path, lua, preamble):
    with real_aof_server(tmp_path, "--aof-use-rdb-preamble", preamble) as real:
        client = connect(real)
        load_both(client)
        rewrite(client)
        client.function_load(SPARE.decode())
        expected = libraries(client)
    with aof_server(tmp_path) as ours:
        client = connect(ours)
        assert libraries(client) == expected
        assert_they_run(client)


# --------------------------------------------------------------------------- replication


def link_up(client: redis.Redis) -> bool:
    return client.info("replication").get("master_link_status") == "up"


def follows(master: redis.Redis, replica: redis.Redis) -> None:
    """The replica got the master's libraries by full sync (its own are gone), and then
    every FUNCTION command that changes them, FCALL's writes included."""
    wait_until(lambda: link_up(replica), what="the replica's link")
    wait_until(lambda: libraries(replica) == libraries(master), what="the libraries of the full sync")
    assert replica.fcall_ro("shout", 0, "replica") == b"REPLICA"
    payload = master.function_dump()
    steps = [
        lambda: master.function_load(COUNTER.decode()),
        lambda: master.fcall("bump", 1, "calls"),
        lambda: master.function_load(COUNTER_V2.decode(), replace=True),
        lambda: master.function_delete("greetings"),
        lambda: master.function_flush(),
        lambda: master.function_restore(payload),
    ]
    for step in steps:
        step()
        wait_until(lambda: libraries(replica) == libraries(master), what="the replica to follow")
    wait_until(lambda: replica.get("calls") == master.get("calls") == b"1", what="FCALL's write")
    assert set(libraries(replica)) == {b"greetings"}


def test_our_replica_of_our_master(lua):
    with start_ours() as master, start_ours() as replica:
        connect(master).function_load(GREETINGS.decode())
        connect(replica).function_load(SPARE.decode())  # replaced by the master's at the full sync
        connect(replica).replicaof("127.0.0.1", master.port)
        follows(connect(master), connect(replica))


@needs_redis
def test_our_replica_of_a_real_master(tmp_path, lua):
    with start_reference("--repl-diskless-sync-delay", "0", cwd=str(tmp_path)) as master, start_ours() as replica:
        connect(master).function_load(GREETINGS.decode())
        connect(replica).function_load(SPARE.decode())
        connect(replica).replicaof("127.0.0.1", master.port)
        follows(connect(master), connect(replica))


@needs_redis
def test_a_real_replica_of_our_master(tmp_path, lua):
    with start_ours() as master, start_reference(cwd=str(tmp_path)) as replica:
        connect(master).function_load(GREETINGS.decode())
        connect(replica).function_load(SPARE.decode())
        connect(replica).replicaof("127.0.0.1", master.port)
        follows(connect(master), connect(replica))


# --------------------------------------------------------------------------- without lupa


def hide_lupa(tmp_path, monkeypatch) -> None:
    """Servers started from now on find a lupa that fails to import, as if missing."""
    hidden = tmp_path / "hide-lupa" / "lupa"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text('raise ImportError("lupa is hidden by this test")\n')
    monkeypatch.setenv("PYTHONPATH", str(hidden.parent))


@pytest.fixture
def no_lupa(tmp_path, monkeypatch):
    hide_lupa(tmp_path, monkeypatch)


def refused_start(directory, *args: str) -> tuple[int, str]:
    """Start our server expecting it to exit at once: its exit code and its log."""
    argv = [str(ROOT / "your_program.sh"), "--port", str(free_port()), "--dir", str(directory), *args]
    done = subprocess.run(argv, cwd=str(directory), capture_output=True, timeout=20, check=False)
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


def write_rdb_with_a_library(directory) -> None:
    (directory / "dump.rdb").write_bytes(rdb.dump([(0, {b"k": b"v"}, {})], functions=[GREETINGS]))


def test_without_lupa_an_rdb_with_libraries_stops_the_start(tmp_path, no_lupa):
    write_rdb_with_a_library(tmp_path)
    code, output = refused_start(tmp_path)
    assert code == 1
    assert "Fatal error loading the DB" in output
    assert "Failed loading library, Lua scripting is not available" in output and "lupa" in output


def test_without_lupa_an_aof_with_function_load_stops_the_start(tmp_path, no_lupa):
    directory = tmp_path / "appendonlydir"
    directory.mkdir()
    (directory / "appendonly.aof.1.incr.aof").write_bytes(encode_command([b"FUNCTION", b"LOAD", GREETINGS]))
    (directory / "appendonly.aof.manifest").write_text("file appendonly.aof.1.incr.aof seq 1 type i\n")
    code, output = refused_start(tmp_path, "--appendonly", "yes")
    assert code == 1
    assert "The AOF file appendonly.aof.1.incr.aof holds function libraries" in output and "lupa" in output


def test_without_lupa_debug_reload_refuses_a_file_with_libraries(tmp_path, no_lupa):
    with start_ours("--enable-debug-command", "yes", "--dir", str(tmp_path), cwd=str(tmp_path)) as ours:
        client = connect(ours)
        client.set("kept", "1")
        write_rdb_with_a_library(tmp_path)
        with pytest.raises(redis.ResponseError, match="Error trying to load the RDB dump"):
            client.execute_command("DEBUG", "RELOAD", "NOSAVE")
        assert client.keys() == [b"kept"]  # nothing changed
        output = ours.stop()
    assert "Failed loading library, Lua scripting is not available" in output


def test_without_lupa_a_replica_refuses_a_full_sync_with_libraries(tmp_path, lua, monkeypatch):
    with start_ours() as master:
        connect(master).function_load(GREETINGS.decode())
        connect(master).set("k", "v")
        hide_lupa(tmp_path, monkeypatch)  # from the replica only
        log = tmp_path / "replica.log"
        with start_ours("--logfile", str(log), "--replicaof", f"127.0.0.1 {master.port}") as replica:
            wait_until(lambda: log.exists() and "Failed loading library, Lua scripting is not available"
                       in log.read_text(), what="the replica to say why it cannot sync")
            assert not link_up(connect(replica))
            assert connect(replica).dbsize() == 0
