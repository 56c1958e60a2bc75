"""The live overlap bench's short run (``bench/overlap_live.py``): the bot as a process, a crowd
of 30 answering twelve items twice, fixed overlap 5 then dynamic overlap. What it asserts is what
does not depend on timing: both batches end, the fixed one buys five answers an item, the
dynamic one fewer, and the report says so."""

from __future__ import annotations

from bench.overlap_live import report, run


async def test_the_running_bot_buys_fewer_answers_with_dynamic_overlap() -> None:
    fixed, dynamic = await run("good", 12, 1.2, 0)
    assert fixed.ended
    assert dynamic.ended
    assert fixed.answers == 60
    assert 24 <= dynamic.answers < 60  # at least two an item, fewer than fixed overlap's
    assert 0.0 <= dynamic.accuracy <= 1.0
    lines = report("good", [fixed, dynamic])
    assert lines[-1].startswith("  answers saved ")
