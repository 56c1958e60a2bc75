"""The multi-process fault run (``bench/faultrun.py --processes``, issue 17) in a short version:
three bot processes on the suite's PostgreSQL behind the router, two SIGKILLs, nothing lost.

It takes about a minute and a half, most of it waiting for what the dead processes left behind
to come due (a deadline, a claim never shown: 30 s); ``make faultrun-pg`` is the full run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BACKEND, database_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    BACKEND != "postgres",
    reason="several bot processes share one PostgreSQL; runs in the suite's PostgreSQL pass",
)
@pytest.mark.timeout(420)
def test_three_processes_killed_twice_lose_nothing(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench.faultrun", "--processes", "3", "--workers", "12"]
    command += ["--seconds", "20", "--kills", "2", "--database-url"]
    command.append(database_url(tmp_path / "faultrun.db"))
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=400, check=False
    )
    report = done.stdout
    print(report, done.stderr[-3000:])
    assert done.returncode == 0, report
    assert re.search(r"^kills 2;", report, re.MULTILINE)
    for zero in (
        "lost (confirmed, not submitted and credited once) 0",
        "double-credited 0; submitted without exactly one credit 0",
        "timers fired twice (two time-is-up notices, or one the database did not expire) 0",
        "stuck (active past deadline, or never shown) 0",
        "presses answered twice (an update handled twice) 0",
        "bot exits nobody asked for 0",
    ):
        assert zero in report
    confirmed = re.search(r"confirmed answers (\d+)", report)
    assert confirmed is not None
    assert int(confirmed.group(1)) > 0  # the load went through
    assert "platform-wide confirmed answers/s" in report
    for process in (1, 2, 3):
        assert re.search(rf"^process {process}: CPU [0-9.]+ s", report, re.MULTILINE)
