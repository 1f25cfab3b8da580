"""The AOF persistence stages of the CodeCrafters tester, one test each.

Like the tester, each test starts the server in a fresh working directory with the flags
the stage uses, then looks at the files it made (byte for byte) or, for the replay
stages, writes the directory itself first: a manifest named after --appendfilename that
lists an incr file of another name, which the server must find through the manifest.
"""

from __future__ import annotations

from app.protocol import encode_command
from tests.helpers import start_ours, wait_until


def config_get(server, name: str) -> bytes:
    return server.raw().call("CONFIG", "GET", name)


def bulk_pair(name: str, value: str) -> bytes:
    return b"*2\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(name), name.encode(), len(value), value.encode())


def commands(*argvs: list[str]) -> bytes:
    return b"".join(encode_command([a.encode() for a in argv]) for argv in argvs)


def test_uj3_default_aof_options(tmp_path):
    with start_ours(cwd=str(tmp_path)) as server:  # no flags, as the tester starts it
        assert config_get(server, "dir") == bulk_pair("dir", server.cwd)  # the working directory
        assert config_get(server, "appendonly") == bulk_pair("appendonly", "no")
        assert config_get(server, "appenddirname") == bulk_pair("appenddirname", "appendonlydir")
        assert config_get(server, "appendfilename") == bulk_pair("appendfilename", "appendonly.aof")
        assert config_get(server, "appendfsync") == bulk_pair("appendfsync", "everysec")


def test_vd9_aof_options_from_flags(tmp_path):
    args = ["--dir", str(tmp_path), "--appendonly", "yes", "--appenddirname", "pear",
            "--appendfilename", "grape.aof", "--appendfsync", "always"]
    with start_ours(*args, cwd=str(tmp_path)) as server:
        assert config_get(server, "dir") == bulk_pair("dir", str(tmp_path))
        assert config_get(server, "appendonly") == bulk_pair("appendonly", "yes")
        assert config_get(server, "appenddirname") == bulk_pair("appenddirname", "pear")
        assert config_get(server, "appendfilename") == bulk_pair("appendfilename", "grape.aof")
        assert config_get(server, "appendfsync") == bulk_pair("appendfsync", "always")


def test_fm0_create_append_only_directory(tmp_path):
    with_aof, without = tmp_path / "on", tmp_path / "off"
    with_aof.mkdir()
    without.mkdir()
    with start_ours("--dir", str(with_aof), "--appendonly", "yes", "--appenddirname", "mango", cwd=str(tmp_path)):
        assert (with_aof / "mango").is_dir()
    with start_ours("--dir", str(without), cwd=str(tmp_path)) as server:
        assert server.raw().call("PING") == b"+PONG\r\n"
        assert list(without.iterdir()) == []


def test_dw4_create_append_only_file(tmp_path):
    with start_ours("--dir", str(tmp_path), "--appendonly", "yes", "--appenddirname", "kiwi",
                    "--appendfilename", "banana.aof", cwd=str(tmp_path)):
        assert (tmp_path / "kiwi" / "banana.aof.1.incr.aof").read_bytes() == b""


def test_pb9_create_manifest_file(tmp_path):
    with start_ours("--dir", str(tmp_path), "--appendonly", "yes", "--appenddirname", "kiwi",
                    "--appendfilename", "banana.aof", cwd=str(tmp_path)):
        manifest = (tmp_path / "kiwi" / "banana.aof.manifest").read_bytes()
        assert manifest == b"file banana.aof.1.incr.aof seq 1 type i\n"


def _appending_server(tmp_path):
    return start_ours("--dir", str(tmp_path), "--appendonly", "yes", "--appendfsync", "always", cwd=str(tmp_path))


def _incr(tmp_path) -> bytes:
    return (tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof").read_bytes()


def test_dc8_write_a_single_command(tmp_path):
    with _appending_server(tmp_path) as server:
        assert server.raw().call("SET", "apple", "pie") == b"+OK\r\n"
        # appendfsync always: the reply came after the write reached the file.
        assert _incr(tmp_path) == commands(["SELECT", "0"], ["SET", "apple", "pie"])


def test_fi1_write_multiple_commands(tmp_path):
    with _appending_server(tmp_path) as server:
        connection = server.raw()
        assert connection.call("SET", "apple", "pie") == b"+OK\r\n"
        assert connection.call("SET", "cherry", "tart") == b"+OK\r\n"
        assert _incr(tmp_path) == commands(["SELECT", "0"], ["SET", "apple", "pie"], ["SET", "cherry", "tart"])


def test_ep6_filter_write_commands(tmp_path):
    with _appending_server(tmp_path) as server:
        connection = server.raw()
        assert connection.call("SET", "apple", "pie") == b"+OK\r\n"
        assert connection.call("GET", "apple") == b"$3\r\npie\r\n"
        assert connection.call("ECHO", "hi") == b"$2\r\nhi\r\n"
        assert connection.call("SET", "plum", "jam") == b"+OK\r\n"
        assert _incr(tmp_path) == commands(["SELECT", "0"], ["SET", "apple", "pie"], ["SET", "plum", "jam"])


def _prepared_directory(tmp_path, argvs: list[list[str]]) -> None:
    """As the tester's AofDirectoryCreator: the manifest named after --appendfilename
    (orange.aof) lists an incr named after another word (melon.aof)."""
    directory = tmp_path / "grapefruit"
    directory.mkdir()
    (directory / "melon.aof.1.incr.aof").write_bytes(commands(*argvs))
    (directory / "orange.aof.manifest").write_bytes(b"file melon.aof.1.incr.aof seq 1 type i\n")


def _replaying_server(tmp_path):
    return start_ours("--dir", str(tmp_path), "--appendonly", "yes", "--appenddirname", "grapefruit",
                      "--appendfilename", "orange.aof", cwd=str(tmp_path))


def test_xz2_replay_a_single_command(tmp_path):
    _prepared_directory(tmp_path, [["SET", "banana", "split"]])
    with _replaying_server(tmp_path) as server:
        assert server.raw().call("GET", "banana") == b"$5\r\nsplit\r\n"


def test_kn2_replay_multiple_commands(tmp_path):
    _prepared_directory(tmp_path, [["SET", "banana", "split"], ["SET", "pear", "drop"], ["SET", "banana", "bread"]])
    with _replaying_server(tmp_path) as server:
        connection = server.raw()
        assert connection.call("GET", "banana") == b"$5\r\nbread\r\n"
        assert connection.call("GET", "pear") == b"$4\r\ndrop\r\n"
        # New writes go to the file the manifest names, after what was replayed.
        assert connection.call("SET", "fig", "roll") == b"+OK\r\n"
        incr = tmp_path / "grapefruit" / "melon.aof.1.incr.aof"
        wait_until(lambda: incr.read_bytes().endswith(commands(["SET", "fig", "roll"])), what="the append")
        assert not (tmp_path / "grapefruit" / "orange.aof.1.incr.aof").exists()
