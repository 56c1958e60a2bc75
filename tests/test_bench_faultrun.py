"""The fault run's short version (2 kills, 30 s of load) so ``make faultrun`` cannot rot.

It checks that the run finishes, prints every check and finds nothing lost; never timings.
"""

from __future__ import annotations

import pytest

from bench import faultrun


# A SIGKILL cuts uploads short: the sandbox's aiohttp leaves their spooled parts to the GC.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_short_fault_run_kills_the_bot_twice_and_loses_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = faultrun.main(["--workers", "10", "--seconds", "30", "--kills", "2"])
    report = capsys.readouterr().out
    for check in ("kills 2;", "lost ", "double-credited 0", "stuck ", "ledger invariant",
                  "answered twice", "exits nobody asked for", "faults injected"):  # fmt: skip
        assert check in report, report
    assert status == 0, report
