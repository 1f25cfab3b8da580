"""The RDB persistence stages of the CodeCrafters tester, one test each.

Like the tester, each test writes its own RDB file byte by byte (version 11, AUX fields,
RESIZEDB, FC/FD expiries, integer-encoded strings), starts the server with --dir and
--dbfilename pointing at it, and reads the keys back over raw RESP.
"""

from __future__ import annotations

import struct
import subprocess
import time

import pytest

from app.persistence.crc64 import crc64
from tests.helpers import ROOT, free_port, start_ours


def string(data: bytes) -> bytes:
    """A length-prefixed string (lengths under 64 fit the one-byte form)."""
    assert len(data) < 64
    return bytes([len(data)]) + data


def rdb_file(entries: list[bytes], checksum: bool = True) -> bytes:
    """A REDIS0011 file as the tester writes it, around ``entries`` (each one key's bytes)."""
    body = (b"REDIS0011"
            + b"\xfa" + string(b"redis-ver") + string(b"7.2.0")
            + b"\xfa" + string(b"redis-bits") + b"\xc0\x40"  # 64, integer-encoded
            + b"\xfe\x00"  # SELECTDB 0
            + b"\xfb" + bytes([len(entries), sum(e.startswith((b"\xfc", b"\xfd")) for e in entries)])
            + b"".join(entries) + b"\xff")
    return body + struct.pack("<Q", crc64(body) if checksum else 0)


def key(name: bytes, value: bytes, deadline_ms: int | None = None, seconds: bool = False) -> bytes:
    prefix = b""
    if deadline_ms is not None:
        prefix = b"\xfd" + struct.pack("<I", deadline_ms // 1000) if seconds else b"\xfc" + struct.pack("<Q", deadline_ms)
    return prefix + b"\x00" + string(name) + string(value)


@pytest.fixture
def server_with(tmp_path):
    """Start our server on an RDB file made of the given bytes."""
    started = []

    def start(data: bytes, dbfilename: str = "dump.rdb"):
        (tmp_path / dbfilename).write_bytes(data)
        process = start_ours("--dir", str(tmp_path), "--dbfilename", dbfilename)
        started.append(process)
        return process.raw()

    yield start
    for process in started:
        process.stop()


def resp_array(*items: bytes) -> bytes:
    return b"*%d\r\n" % len(items) + b"".join(b"$%d\r\n%s\r\n" % (len(item), item) for item in items)


def test_zg5_rdb_file_config(tmp_path):
    with start_ours("--dir", str(tmp_path), "--dbfilename", "some.rdb") as server, server.raw() as raw:
        assert raw.call("CONFIG", "GET", "dir") == resp_array(b"dir", str(tmp_path).encode())
        assert raw.call("CONFIG", "GET", "dbfilename") == resp_array(b"dbfilename", b"some.rdb")
        assert raw.call("KEYS", "*") == b"*0\r\n"  # the file does not exist: an empty keyspace


def test_jz6_read_a_key(server_with):
    raw = server_with(rdb_file([key(b"mango", b"pear")]), "custom.rdb")
    assert raw.call("KEYS", "*") == resp_array(b"mango")


def test_gc6_read_a_string_value(server_with):
    raw = server_with(rdb_file([key(b"grape", b"raspberry")]))
    assert raw.call("GET", "grape") == b"$9\r\nraspberry\r\n"


def test_jw4_read_multiple_keys(server_with):
    names = [b"apple", b"banana", b"orange"]
    raw = server_with(rdb_file([key(name, b"v") for name in names]))
    raw.send_command("KEYS", "*")
    assert sorted(raw.read()) == names


def test_dq3_read_multiple_string_values(server_with):
    pairs = {b"apple": b"pineapple", b"banana": b"grape", b"count": b"12"}
    entries = [key(name, value) for name, value in pairs.items() if name != b"count"]
    entries.append(b"\x00" + string(b"count") + b"\xc0\x0c")  # 12 as an 8-bit integer
    entries.append(b"\x00" + string(b"large") + b"\xc2" + struct.pack("<i", -100000))
    raw = server_with(rdb_file(entries, checksum=False))  # a zero checksum means none
    for name, value in pairs.items():
        assert raw.call("GET", name) == b"$%d\r\n%s\r\n" % (len(value), value)
    assert raw.call("GET", "large") == b"$7\r\n-100000\r\n"
    assert raw.call("OBJECT", "ENCODING", "count") == b"$3\r\nint\r\n"


def test_sm4_read_value_with_expiry(server_with):
    now = int(time.time() * 1000)
    raw = server_with(rdb_file([
        key(b"past", b"gone", now - 10_000),
        key(b"future", b"here", now + 3_600_000),
        key(b"old-seconds", b"gone", now - 5_000, seconds=True),
        key(b"seconds", b"here", now + 7_200_000, seconds=True),
        key(b"forever", b"here"),
    ]))
    assert raw.call("GET", "past") == b"$-1\r\n"
    assert raw.call("GET", "old-seconds") == b"$-1\r\n"
    for name in ("future", "seconds", "forever"):
        assert raw.call("GET", name) == b"$4\r\nhere\r\n"
    raw.send_command("KEYS", "*")
    assert sorted(raw.read()) == [b"forever", b"future", b"seconds"]  # expired keys were never loaded
    raw.send_command("PTTL", "future")
    assert 3_500_000 < raw.read() <= 3_600_000


def test_bad_file_stops_the_server(tmp_path):
    good = rdb_file([key(b"a", b"b")])
    (tmp_path / "dump.rdb").write_bytes(good[:-12])  # cut inside the last key
    port = free_port()
    result = subprocess.run([str(ROOT / "your_program.sh"), "--port", str(port), "--dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "Fatal error loading the DB" in result.stdout + result.stderr
    assert "at offset" in result.stdout + result.stderr


def test_many_keys(server_with):
    raw = server_with(rdb_file([key(b"k%d" % i, b"v") for i in range(50)]))
    assert raw.call("DBSIZE") == b":50\r\n"


def test_loading_counts_no_changes(server_with):
    raw = server_with(rdb_file([key(b"a", b"1")]))
    raw.send_command("INFO", "persistence")
    assert b"rdb_changes_since_last_save:0" in raw.read()
