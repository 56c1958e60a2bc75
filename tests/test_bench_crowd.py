"""The crowd bench (``bench/crowd.py``) in a short version, so it cannot rot: structure only."""

from __future__ import annotations

import re

import pytest

from bench.crowd import run
from tests.conftest import database_url

pytestmark = pytest.mark.long  # tens of seconds: collected first (tests/conftest.py)


# aiohttp (inside the sandbox) reads some large multipart uploads through a deprecated call.
@pytest.mark.filterwarnings("ignore:unread_data\\(\\) is deprecated:DeprecationWarning")
async def test_a_short_crowd_bench_reports_every_figure_and_nothing_failed(tmp_path) -> None:
    report = await run(
        workers=20,
        think=1.0,
        seconds=10,
        result_items=30,
        audio_s=90,
        database=database_url(tmp_path / "bench.db"),
    )
    print(report)
    for figure in (
        "answers/s",
        "of the 30/s ceiling",
        "rate-limited calls per answer",
        "callback answer p50/p95/p99",
        "press to next task p50/p95",
        "unanswered presses",
        '"query is too old"',
        "ERROR lines logged",
        "admin alerts sent",
        "event loop longest stall",
        "/results of 30 multi-label items answered after",
        "audio intake summary after",
    ):
        assert figure in report
    assert not re.search(r"\bnan\b", report)  # every figure measured: results and intake arrived
    assert re.search(r"unanswered presses 0 of [1-9]", report)
    assert '"query is too old" 0' in report
    assert "ERROR lines logged 0" in report
    assert "admin alerts sent 0" in report
