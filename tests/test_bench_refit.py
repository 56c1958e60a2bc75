"""The refit bench's short run (``bench/refit_scale.py``): a dynamic batch of 120 items with two
answers each, one refit pass through the bot's code; what it decided adds up. No timing is
asserted."""

from __future__ import annotations

from pathlib import Path

from bench.refit_scale import run


async def test_one_refit_decides_for_every_item_and_reports_its_parts(tmp_path: Path) -> None:
    figures = await run(120, "good", tmp_path)
    assert (figures.items, figures.answers) == (120, 240)
    assert figures.completed + figures.allowed == 120
    assert figures.completed > 0
    assert figures.allowed > 0
    assert 0 < figures.preferred <= 30
    assert set(figures.parts) == {"read", "fits and decoding", "write"}
    assert figures.write_waits  # the small writes went on during the refit
    assert len(figures.claims) == 2
    assert len(figures.lines()) == 6
