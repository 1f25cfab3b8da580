"""A pre-7.0 AOF at start-up: one ``appendonly.aof`` in ``dir``, no directory, no
manifest. Redis 7.0 moves it into ``appendonlydir`` as the base of seq 1, under its own
name, writes a manifest for it, then loads it (aof.c, aofUpgradePrepare); we do the
same. Such a file may start with an RDB preamble followed by the commands appended
after the rewrite that wrote it: both parts load, as they do from any base."""

from __future__ import annotations

import pytest
import redis

from app.config import load_config
from app.persistence import rdb
from app.protocol import encode_command
from tests.helpers import redis_server_path, start_ours, start_reference

MIGRATED = "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir)."
MANIFEST_AFTER_START = b"file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"

needs_redis = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")


def commands(*argvs: list[bytes]) -> bytes:
    return b"".join(encode_command(argv) for argv in argvs)


OLD_COMMANDS = commands([b"SELECT", b"0"], [b"SET", b"foo", b"bar"], [b"RPUSH", b"list", b"a", b"b"],
                        [b"SELECT", b"3"], [b"SET", b"other", b"db"])


def preamble_then_commands() -> bytes:
    """What a Redis 4.0 to 6.2 AOF with aof-use-rdb-preamble looks like after a rewrite
    and some writes: an RDB file, then commands."""
    snapshot = rdb.dump([(0, {b"kept": b"from the snapshot", b"changed": b"old"}, {})])
    return snapshot + commands([b"SELECT", b"0"], [b"SET", b"changed", b"new"], [b"INCR", b"counter"])


def ours(directory, *args: str):
    return start_ours("--dir", str(directory), "--appendonly", "yes", *args, cwd=str(directory))


def reference(directory):
    return start_reference("--appendonly", "yes", cwd=str(directory))


def layout(directory) -> tuple[list[str], list[str], bytes]:
    """What is in ``dir`` and in the AOF directory, and the manifest."""
    aof_directory = directory / "appendonlydir"
    return (sorted(path.name for path in directory.iterdir() if path.name != "appendonlydir"),
            sorted(path.name for path in aof_directory.iterdir()),
            (aof_directory / "appendonly.aof.manifest").read_bytes())


def test_an_old_style_aof_moves_into_the_directory_and_loads(tmp_path):
    (tmp_path / "appendonly.aof").write_bytes(OLD_COMMANDS)
    server = ours(tmp_path)
    try:
        client = redis.Redis(port=server.port)
        assert client.get("foo") == b"bar"
        assert client.lrange("list", 0, -1) == [b"a", b"b"]
        assert redis.Redis(port=server.port, db=3).get("other") == b"db"
        client.set("after", "the upgrade")
        assert layout(tmp_path) == ([], ["appendonly.aof", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"],
                                    MANIFEST_AFTER_START)
        # The old file is the base, untouched; writes go to the new incr.
        assert (tmp_path / "appendonlydir" / "appendonly.aof").read_bytes() == OLD_COMMANDS
    finally:
        output = server.stop()
    assert MIGRATED in output
    assert "Creating AOF incr file appendonly.aof.1.incr.aof on server start" in output
    server = ours(tmp_path)  # and the migrated directory loads as any other
    try:
        assert redis.Redis(port=server.port).mget("foo", "after") == [b"bar", b"the upgrade"]
    finally:
        server.stop()


@needs_redis
def test_the_migration_leaves_what_redis_leaves(tmp_path):
    results = []
    for start in (ours, reference):
        directory = tmp_path / start.__name__
        directory.mkdir()
        (directory / "appendonly.aof").write_bytes(OLD_COMMANDS)
        server = start(directory)
        try:
            values = redis.Redis(port=server.port).mget("foo", "missing")
            results.append((values, layout(directory)))
        finally:
            server.stop()
    assert results[0] == results[1]


def test_an_old_style_aof_with_an_rdb_preamble_replays_its_tail(tmp_path):
    (tmp_path / "appendonly.aof").write_bytes(preamble_then_commands())
    server = ours(tmp_path)
    try:
        client = redis.Redis(port=server.port)
        assert client.mget("kept", "changed", "counter") == [b"from the snapshot", b"new", b"1"]
    finally:
        output = server.stop()
    assert "Reading RDB preamble from AOF file..." in output
    assert "Reading the remaining AOF tail..." in output


@needs_redis
def test_redis_loads_the_preamble_and_tail_as_we_do(tmp_path):
    results = []
    for start in (ours, reference):
        directory = tmp_path / start.__name__
        directory.mkdir()
        (directory / "appendonly.aof").write_bytes(preamble_then_commands())
        server = start(directory)
        try:
            results.append(redis.Redis(port=server.port).mget("kept", "changed", "counter"))
        finally:
            server.stop()
    assert results[0] == results[1] == [b"from the snapshot", b"new", b"1"]


def test_a_base_of_the_directory_with_commands_after_its_snapshot_replays_them(tmp_path):
    directory = tmp_path / "appendonlydir"
    directory.mkdir()
    (directory / "appendonly.aof.1.base.rdb").write_bytes(preamble_then_commands())
    (directory / "appendonly.aof.1.incr.aof").write_bytes(commands([b"SELECT", b"0"], [b"INCR", b"counter"]))
    (directory / "appendonly.aof.manifest").write_bytes(
        b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n")
    server = ours(tmp_path)
    try:
        assert redis.Redis(port=server.port).mget("kept", "changed", "counter") == [b"from the snapshot", b"new", b"2"]
    finally:
        output = server.stop()
    assert "Reading RDB base file on AOF loading..." in output
    assert "Reading the remaining AOF tail..." not in output  # said of old-style files only, as Redis


def test_a_tail_cut_short_is_truncated_like_any_last_file(tmp_path):
    whole = preamble_then_commands()
    (tmp_path / "appendonly.aof").write_bytes(whole[:-3])  # the INCR cut in its last bulk
    server = ours(tmp_path, "--aof-load-truncated", "yes")
    try:
        assert redis.Redis(port=server.port).mget("changed", "counter") == [b"new", None]
    finally:
        server.stop()
    cut = len(whole) - len(commands([b"INCR", b"counter"]))
    assert (tmp_path / "appendonlydir" / "appendonly.aof").read_bytes() == whole[:cut]


def test_a_migration_cut_short_by_a_crash_is_finished(tmp_path):
    # The manifest was written, the file not yet moved (Redis' third case).
    directory = tmp_path / "appendonlydir"
    directory.mkdir()
    (directory / "appendonly.aof.manifest").write_bytes(b"file appendonly.aof seq 1 type b\n")
    (tmp_path / "appendonly.aof").write_bytes(OLD_COMMANDS)
    server = ours(tmp_path)
    try:
        assert redis.Redis(port=server.port).get("foo") == b"bar"
        assert layout(tmp_path)[:2] == ([], ["appendonly.aof", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"])
    finally:
        assert MIGRATED in server.stop()


def test_an_old_file_beside_a_directory_in_use_is_left_alone(tmp_path):
    directory = tmp_path / "appendonlydir"
    directory.mkdir()
    (directory / "appendonly.aof.1.incr.aof").write_bytes(commands([b"SET", b"new", b"style"]))
    (directory / "appendonly.aof.manifest").write_bytes(b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    (tmp_path / "appendonly.aof").write_bytes(OLD_COMMANDS)
    server = ours(tmp_path)
    try:
        assert redis.Redis(port=server.port).mget("new", "foo") == [b"style", None]
    finally:
        assert MIGRATED not in server.stop()
    assert (tmp_path / "appendonly.aof").read_bytes() == OLD_COMMANDS


def test_with_appendonly_no_the_old_file_stays_where_it_is(tmp_path):
    (tmp_path / "appendonly.aof").write_bytes(OLD_COMMANDS)
    server = start_ours("--dir", str(tmp_path), "--appendonly", "no", cwd=str(tmp_path))
    try:
        assert redis.Redis(port=server.port).get("foo") is None
    finally:
        server.stop()
    assert not (tmp_path / "appendonlydir").exists()


def test_the_rdb_part_ends_where_the_commands_start():
    tail = commands([b"SET", b"a", b"b"])
    snapshot = rdb.dump([(0, {b"k": b"v"}, {})])
    keys, end = rdb.parse_prefix(snapshot + tail, load_config([]), 0)
    assert end == len(snapshot)
    assert [(key.key, key.value) for key in keys] == [(b"k", b"v")]
