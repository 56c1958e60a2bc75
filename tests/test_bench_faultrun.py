"""The fault runs' short versions, so ``make faultrun`` and ``make faultrun-pg`` cannot rot.

One bot process on SQLite, killed twice under faults (issue 11); three processes on the suite's
PostgreSQL behind the router, two SIGKILLs (issue 17), which takes about a minute and a half,
most of it waiting for what the dead processes left behind to come due (a deadline, a claim
never shown: 30 s). Each checks that the run finishes, prints every check and finds nothing
lost; never timings.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import faultrun
from tests.conftest import BACKEND, database_url

pytestmark = pytest.mark.long  # tens of seconds: collected first (tests/conftest.py)

ROOT = Path(__file__).resolve().parent.parent


# A SIGKILL cuts uploads short: the sandbox's aiohttp leaves their spooled parts to the GC.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.skipif(BACKEND != "sqlite", reason="the single-process run is the SQLite pass's")
def test_a_short_fault_run_kills_the_bot_twice_and_loses_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 20 s of load, as the PostgreSQL run: both kills fall in it (about 5 s and 11 s in), the
    # bot serves again after each, and the settling after the load is the same as for 30 s.
    status = faultrun.main(["--workers", "10", "--seconds", "20", "--kills", "2"])
    report = capsys.readouterr().out
    for check in ("kills 2;", "lost ", "double-credited 0", "stuck ", "ledger invariant",
                  "answered twice", "exits nobody asked for", "faults injected"):  # fmt: skip
        assert check in report, report
    assert status == 0, report


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
