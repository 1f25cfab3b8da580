"""bench/rdb_types.py at a tiny size: every case runs against our server and a real
redis-server and reports its rows. Only the shape of the table is checked, never a
figure: timings at this size prove nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_every_case_reports_its_rows(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "rdb_types.py"), "--count", "3000"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "measure" not in line]
    expected = [(case, measure) for case in ("strings", "list", "hash", "set", "zset", "stream")
                for measure in ("SAVE", "load at start-up", "DEBUG RELOAD")] + [("aof", "AOF load at start-up")]
    assert [tuple(cell.strip() for cell in row.split("|")[1:3]) for row in rows] == expected
    assert all(len(row.split("|")) == 7 for row in rows)  # case, measure, ours, redis, ratio


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_parameter_for_both_servers_is_named_in_the_table(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "rdb_types.py"), "--count", "300", "--cases", "list",
                           "--config", "rdbcompression=no"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "300 items per case; rdbcompression=no; seconds" in done.stdout
