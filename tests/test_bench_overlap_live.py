"""The live overlap bench's short run (``bench/overlap_live.py``): the bot as a process, a crowd
of 30 answering twelve items twice, fixed overlap 5 then dynamic overlap. What it asserts is what
does not depend on timing: both batches end, the fixed one buys five answers an item, the
dynamic one fewer, and the report says so."""

from __future__ import annotations

from bench.overlap_live import DYNAMIC, FIXED, Outcome, offline_line, report, run, summary
from bench.quality import OverlapRun


async def test_the_running_bot_buys_fewer_answers_with_dynamic_overlap() -> None:
    fixed, dynamic = await run("good", 12, 1.2, 0)
    assert fixed.ended
    assert dynamic.ended
    assert fixed.answers == 60
    assert 24 <= dynamic.answers < 60  # at least two an item, fewer than fixed overlap's
    assert 0.0 <= dynamic.accuracy <= 1.0
    lines = report("good", [fixed, dynamic])
    assert lines[-1].startswith("  answers saved ")


def test_the_summary_over_seeds_sets_the_bot_beside_the_offline_rounds() -> None:
    def seed(fixed_accuracy: float, answers: int, accuracy: float) -> list[Outcome]:
        return [
            Outcome(FIXED, 1500, 60.0, fixed_accuracy, ended=True),
            Outcome(DYNAMIC, answers, 90.0, accuracy, ended=True),
        ]

    runs = [seed(0.90, 900, 0.91), seed(0.80, 1200, 0.79)]
    offline = [OverlapRun(1500, 0.90, 1000, 0.90), OverlapRun(1500, 0.80, 1100, 0.82)]
    lines = summary("biased", "0-1", runs, offline)
    assert lines[-2] == "  answers saved 30.0%, accuracy gap +0.000 ± 0.010"
    assert lines[-1] == "  offline rounds, same seeds: answers saved 30.0%, gap +0.010 ± 0.010"
    assert offline_line(offline[0]).endswith("saved 33.3%, gap +0.000")
