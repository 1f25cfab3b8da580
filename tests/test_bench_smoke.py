"""bench/report.py at tiny sizes (--smoke): every section runs against our server and a real
redis-server (and bench/minimal_server.py where it applies) and reports a row per measured
item. Only the shape of the report is checked, never a figure: timings on a shared machine
prove nothing at these sizes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

SMOKE_TIMEOUT = 180  # about 10 s on an idle machine

# The rows --smoke measures: its tests are SET and GET, in two modes.
EXPECTED_ROWS = {
    "## Throughput": ["| SET | -c 50 |", "| GET | -c 50 |", "| SET | -c 50 -P 16 |", "| GET | -c 50 -P 16 |"],
    "## Latency": ["| SET |", "| GET |"],
    "## Memory": ["| string |", "| list |", "| hash |", "| set |", "| zset |", "| ours |", "| redis |"],
    "## Active expiry": ["| ours |", "| redis |"],
    "## Connections": ["| SET |", "| GET |"],
}

# The minimal server's columns, in the sections that measure it.
MINIMAL_COLUMNS = {
    "## Throughput": ["| minimal rps |", "| minimal / redis |", "| ours / minimal |"],
    "## Latency": ["| minimal p50 |", "| minimal p99 |"],
    "## Memory": ["| minimal B/element |", "| minimal / redis |"],
}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> str:
    missing = [tool for tool in ("redis-server", "redis-benchmark") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: the report compares against a real Redis "
                    f"(apt-get install redis-server redis-tools)")
    scratch = tmp_path_factory.mktemp("report")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "report.py"), "--smoke",
         "--out", str(scratch / "report.md"), "--chart", str(scratch / "report.png")],
        capture_output=True, text=True, timeout=SMOKE_TIMEOUT, cwd=scratch,
    )
    assert done.returncode == 0, done.stderr
    written = (scratch / "report.md").read_text()
    assert written == done.stdout  # the file holds exactly what was printed
    assert (scratch / "report.png").exists() or "No chart: matplotlib is not importable" in written
    return written


def section_of(report: str, title: str) -> str:
    """The text from ``title`` to the next section heading."""
    assert title + "\n" in report, f"no {title} section"
    return report.split(title + "\n", 1)[1].split("\n## ", 1)[0]


def test_report_starts_with_the_environment(report):
    for item in ("- date: ", "- ours: python ", "- redis: redis-server ", "CPUs, load average at start"):
        assert item in report


@pytest.mark.parametrize("title", EXPECTED_ROWS)
def test_every_section_has_a_row_per_measured_item(report, title):
    text = section_of(report, title)
    for row in EXPECTED_ROWS[title]:
        assert row in text, f"{title} has no row starting {row!r}:\n{text}"
    assert "ERR" not in text and "Error:" not in text


def test_summary_counts_goals_of_every_section(report):
    summary = section_of(report, "## Summary")
    for title in EXPECTED_ROWS:
        assert f"- {title.removeprefix('## ')}: " in summary


@pytest.mark.parametrize("title", MINIMAL_COLUMNS)
def test_minimal_server_has_its_columns(report, title):
    header = next(line for line in section_of(report, title).splitlines() if line.startswith("| "))
    for column in MINIMAL_COLUMNS[title]:
        assert column in header, f"{title} has no column {column!r}:\n{header}"


def test_memory_leaves_the_sorted_set_out_of_the_minimal_server(report):
    zset = next(line for line in section_of(report, "## Memory").splitlines() if line.startswith("| zset |"))
    assert "| - |" in zset
    string = next(line for line in section_of(report, "## Memory").splitlines() if line.startswith("| string |"))
    assert "| - |" not in string


def test_summary_gives_the_yardstick(report):
    assert "- Yardstick: the minimal server reaches " in section_of(report, "## Summary")


def test_read_loop_runs_ours_and_the_minimal_server():
    """bench/read_loop.py at a tiny size: a figure for each server, each command and read size."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "read_loop.py")], capture_output=True, text=True,
                          timeout=SMOKE_TIMEOUT, env={**os.environ, "READ_LOOP_COMMANDS": "1600"})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" a read")[0].split() for line in lines] == [["SET", "1"], ["SET", "16"], ["GET", "1"],
                                                                     ["GET", "16"]]
    assert all("ours" in line and "minimal" in line for line in lines)


def test_expiry_pauses_reclaims_every_key():
    """bench/expiry_pauses.py on a few thousand keys: all reclaimed, PINGs answered meanwhile."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "expiry_pauses.py"), "2000"], capture_output=True,
                          text=True, timeout=SMOKE_TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("2,000 keys reclaimed in ") and "(0 left)" in done.stdout, done.stdout
    assert "over 5 ms: " in done.stdout


def test_convoy_measures_the_bare_server_with_added_work_and_ours():
    """bench/convoy.py at a tiny size: a row for the bare server, for it with added work
    and for ours, each with a figure (no timing asserted)."""
    if shutil.which("redis-benchmark") is None:
        pytest.skip("redis-benchmark is not installed (apt-get install redis-tools)")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "convoy.py"), "--requests", "500", "--rounds", "1",
                           "--work", "0,4", "--tests", "set"], capture_output=True, text=True, timeout=SMOKE_TIMEOUT)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and not line.startswith("| server")]
    assert [row.split(" | ")[0] for row in rows] == ["| bare", "| bare + 4 turns", "| ours"], done.stdout
    assert "(1.00; " in rows[0] and "failed" not in done.stdout, done.stdout


def test_rdb_codecs_times_each_codec():
    """bench/rdb_codecs.py on a small list: a row for each step, and the strings' checksum."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "rdb_codecs.py"), "--count", "3000"],
                          capture_output=True, text=True, timeout=SMOKE_TIMEOUT)
    assert done.returncode == 0, done.stderr
    for row in ("| lay out the nodes |", "| LZF compress |", "| LZF decompress |", "| CRC-64 |",
                "CRC-64 of the file of 3,000 20-byte strings"):
        assert row in done.stdout, done.stdout
