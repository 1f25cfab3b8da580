"""Save points, and saving at SHUTDOWN and SIGTERM.

The ``save`` points start a BGSAVE from a once-a-second cron, as Redis' serverCron; a
SHUTDOWN or SIGTERM saves the file before exiting when save points are set (or SAVE is
given), and a save that fails keeps the server running. Each test starts its own server
in a directory of its own, and the file it leaves is loaded by the next start.
"""

from __future__ import annotations

import signal

import pytest

from app.config import load_config
from app.persistence import rdb
from app.persistence.snapshots import RETRY_DELAY, due_save_point
from tests.helpers import redis_server_path, start_ours, start_reference, wait_until

CONFIG = load_config([])
DEFAULT_POINTS = [(3600, 1), (300, 100), (60, 10000)]


def saved_keys(directory) -> list[tuple[bytes, bytes]]:
    return [(k.key, k.value) for k in rdb.parse((directory / "dump.rdb").read_bytes(), CONFIG, 0)]


def exit_code(process) -> int:
    return process.process.wait(10)


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("dirty, elapsed, expected", [
    (0, 10_000, None),  # nothing changed: nothing to save, however long ago
    (1, 3600, None),  # "more than 3600 seconds", as serverCron compares
    (1, 3601, (3600, 1)),
    (100, 301, (300, 100)),
    (99, 301, None),
    (10_000, 61, (60, 10000)),
])
def test_a_point_is_due_after_enough_changes_and_time(dirty, elapsed, expected):
    assert due_save_point(DEFAULT_POINTS, dirty, 1_000_000 + elapsed, 1_000_000, 0, True) == expected


def test_a_failed_bgsave_is_retried_only_after_the_delay():
    now = 1_000_000
    point = [(1, 1)]
    assert due_save_point(point, 5, now, now - 100, now - RETRY_DELAY, False) is None
    assert due_save_point(point, 5, now, now - 100, now - RETRY_DELAY - 1, False) == (1, 1)
    assert due_save_point(point, 5, now, now - 100, now, True) == (1, 1)  # the last one went well


def test_no_points_never_save():
    assert due_save_point([], 10**9, 10**9, 0, 0, True) is None


# --------------------------------------------------------------------------- the start-up rule


@pytest.mark.parametrize("args, points", [
    ([], []),  # bare, as the platform starts most stages
    (["--port", "6380", "--replicaof", "localhost 6379"], []),
    (["--appendonly", "no"], []),
    (["--save", ""], []),
    (["--dir", "/tmp"], DEFAULT_POINTS),  # the RDB stages name a place: Redis' points
    (["--dbfilename", "x.rdb"], DEFAULT_POINTS),
    (["--appendonly", "yes"], DEFAULT_POINTS),
    (["--save", "5 1"], [(5, 1)]),
    (["--SAVE", "5 1", "--port", "7000"], [(5, 1)]),
])
def test_save_points_apply_only_when_persistence_is_asked_for(args, points):
    assert load_config(args)["save"] == points


def test_a_configuration_file_gets_redis_default_points(tmp_path):
    conf = tmp_path / "redis.conf"
    conf.write_text("port 7000\n")
    assert load_config([str(conf)])["save"] == DEFAULT_POINTS


def test_a_bare_start_leaves_nothing_for_the_next_one(tmp_path):
    """Started in one folder with no options, as the platform starts every stage: nothing
    is saved at SIGTERM, so the next start there begins empty. SAVE still saves."""
    with start_ours(cwd=str(tmp_path)) as ours, ours.raw() as raw:
        assert raw.call("CONFIG", "GET", "save") == b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
        raw.call("SET", "k", "v")
        ours.process.send_signal(signal.SIGTERM)
        assert exit_code(ours) == 0
    assert list(tmp_path.iterdir()) == []
    with start_ours(cwd=str(tmp_path)) as ours, ours.raw() as raw:
        assert raw.call("DBSIZE") == b":0\r\n"
        raw.call("SET", "k", "v")
        assert raw.call("SAVE") == b"+OK\r\n"  # asked for: written where `dir` says
    assert saved_keys(tmp_path) == [(b"k", b"v")]


# --------------------------------------------------------------------------- the cron


def test_save_point_starts_a_bgsave(tmp_path):
    with start_ours("--dir", str(tmp_path), "--save", "1 2") as ours, ours.raw() as raw:
        raw.call("SET", "a", "1")
        raw.call("SET", "b", "2")

        def saved():
            raw.send_command("INFO", "persistence")
            info = raw.read()
            return b"rdb_changes_since_last_save:0" in info and b"rdb_bgsave_in_progress:0" in info

        wait_until(saved, what="the save point's BGSAVE")
        assert sorted(saved_keys(tmp_path)) == [(b"a", b"1"), (b"b", b"2")]
        assert "2 changes in 1 seconds. Saving..." in ours.stop()


def test_save_points_change_with_config_set(tmp_path):
    with start_ours("--dir", str(tmp_path), "--save", "") as ours, ours.raw() as raw:
        assert raw.call("CONFIG", "SET", "save", "1 1") == b"+OK\r\n"
        raw.call("SET", "k", "v")
        wait_until(lambda: (tmp_path / "dump.rdb").exists(), what="the save point's BGSAVE")
        wait_until(lambda: saved_keys(tmp_path) == [(b"k", b"v")], what="the file to hold k")


# --------------------------------------------------------------------------- SHUTDOWN


def test_shutdown_saves_with_save_points_and_the_next_start_loads_it(tmp_path):
    with start_ours("--dir", str(tmp_path)) as ours, ours.raw() as raw:
        raw.call("SET", "kept", "yes")
        raw.send_command("SHUTDOWN")
        assert raw.read_until_closed() == b""  # no reply: the process ends inside the command
        assert exit_code(ours) == 0
        log = ours.stop()
    assert "Saving the final RDB snapshot before exiting." in log
    assert saved_keys(tmp_path) == [(b"kept", b"yes")]
    with start_ours("--dir", str(tmp_path)) as ours, ours.raw() as raw:
        assert raw.call("GET", "kept") == b"$3\r\nyes\r\n"


@pytest.mark.parametrize("save, command, saves", [
    ("3600 1", ["SHUTDOWN", "NOSAVE"], False),
    ("", ["SHUTDOWN"], False),
    ("", ["SHUTDOWN", "SAVE"], True),
    ("", ["SHUTDOWN", "SAVE", "NOW", "FORCE"], True),
])
def test_shutdown_saves_only_when_asked_or_configured(tmp_path, save, command, saves):
    with start_ours("--dir", str(tmp_path), "--save", save) as ours, ours.raw() as raw:
        raw.call("SET", "k", "v")
        raw.send_command(*command)
        assert raw.read_until_closed() == b""
        assert exit_code(ours) == 0
    assert (tmp_path / "dump.rdb").exists() == saves


def test_sigterm_saves(tmp_path):
    with start_ours("--dir", str(tmp_path)) as ours, ours.raw() as raw:
        raw.call("SET", "k", "v")
        ours.process.send_signal(signal.SIGTERM)
        assert exit_code(ours) == 0
        log = ours.stop()
    assert "Received SIGTERM scheduling shutdown..." in log
    assert saved_keys(tmp_path) == [(b"k", b"v")]


def test_sigterm_without_save_points_does_not_save(tmp_path):
    with start_ours("--dir", str(tmp_path), "--save", "") as ours, ours.raw() as raw:
        raw.call("SET", "k", "v")
        ours.process.send_signal(signal.SIGINT)
        assert exit_code(ours) == 0
    assert not (tmp_path / "dump.rdb").exists()


def test_a_failed_final_save_refuses_shutdown_unless_forced(tmp_path):
    logfile = tmp_path / "server.log"
    data = tmp_path / "data"
    data.mkdir()
    with start_ours("--dir", str(data), "--logfile", str(logfile)) as ours, ours.raw() as raw:
        raw.call("SET", "k", "v")
        (data / "dump.rdb").mkdir()  # the rename onto it fails, even for root
        assert raw.call("SHUTDOWN") == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
        ours.process.send_signal(signal.SIGTERM)  # fails the same way: the server goes on
        wait_until(lambda: logfile.read_text().count("Error trying to save the DB, can't exit.") == 2,
                   what="the SIGTERM's failed save")
        assert raw.call("GET", "k") == b"$1\r\nv\r\n"
        raw.send_command("SHUTDOWN", "FORCE")
        assert raw.read_until_closed() == b""
        assert exit_code(ours) == 0
    assert "Error trying to save the DB. Exit anyway." in logfile.read_text()
    assert not list(data.glob("temp-*"))  # failed saves leave no temporary file behind


def test_failed_shutdown_replies_as_redis_does(tmp_path):
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed: differential tests need it (apt-get install redis-server)")
    starts = {"ours": lambda directory: start_ours("--save", "3600 1", "--dir", str(directory)),
              "redis": lambda directory: start_reference("--save", "3600 1", cwd=str(directory))}
    replies = []
    for name, start in starts.items():
        directory = tmp_path / name
        directory.mkdir()
        with start(directory) as server, server.raw() as raw:
            # Redis listens before it loads the RDB, and a directory named dump.rdb at load time
            # is fatal: wait for an answer, which comes only once loading is over.
            assert raw.call("PING") == b"+PONG\r\n"
            (directory / "dump.rdb").mkdir()
            replies.append([raw.call(*command) for command in (
                ["SET", "k", "v"], ["SHUTDOWN"], ["SHUTDOWN", "SAVE", "NOW"], ["SHUTDOWN", "ABORT"],
                ["SHUTDOWN", "NOSAVE", "ABORT"], ["SHUTDOWN", "NOSAVE", "SAVE"], ["SHUTDOWN", "LATER"])])
            (directory / "dump.rdb").rmdir()  # so that stopping it (SIGTERM) can save
    assert replies[0] == replies[1]
    assert replies[0][1] == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
