"""The CodeCrafters run as the platform does it.

On every push the platform runs every stage of every extension one after the other, each
starting `.codecrafters/run.sh` in the repository's folder with the stage's flags and
stopping it with SIGTERM. Our stage tests usually start each server in a new temporary
folder, which hides anything a server leaves behind (a `dump.rdb` saved at SIGTERM once
broke 36 of the 115 stages this way). This test runs the stage tests in the platform's
order in a pytest of their own, where every server starts in one shared folder and is
never flushed (see `tests/conftest.py`), so any state leaking from one stage into the
next fails here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

from tests import stages
from tests.helpers import ROOT


def test_every_stage_passes_in_the_platforms_order_in_one_folder(tmp_path):
    folder = tmp_path / "repository"
    folder.mkdir()
    env = {**os.environ, "PYREDIS_PLATFORM_FOLDER": str(folder)}
    # The platform builds once, then starts .codecrafters/run.sh for every stage.
    subprocess.run([str(ROOT / ".codecrafters" / "compile.sh")], cwd=ROOT, check=True, timeout=60)
    report = tmp_path / "report.xml"
    stage_files = sorted(str(path) for path in (ROOT / "tests").glob("test_stages_*.py"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *stage_files],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    # Every test case that ran, in the order run (the report has no failures: see above).
    passed = [case.get("name").split("[")[0] for case in ElementTree.parse(report).iter("testcase")
              if case.find("skipped") is None]
    shown = {slug for name in passed for slug in stages.slugs_of(name)}
    assert shown == set(stages.ORDER), f"stages without a passing test: {sorted(set(stages.ORDER) - shown)}"
    # In the order run: each test's first stage comes no earlier than the one before.
    positions = [stages.POSITION[stages.slugs_of(name)[0]] for name in passed]
    assert positions == sorted(positions)
    # Started bare, a server leaves nothing in its working directory for the next start.
    assert sorted(path.name for path in folder.iterdir()) == []
