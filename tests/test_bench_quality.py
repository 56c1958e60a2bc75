"""The quality benchmark's short run: small seeded crowds, the acceptance bounds where they are
fast to check (dynamic overlap saves answers at equal accuracy; ``auto`` near crowd-kit's best).

Deterministic (every crowd and answer is drawn from a seed); no timing is asserted.
"""

from __future__ import annotations

import pytest

from bench.quality import (
    Predictor,
    crowdkit,
    dynamic_overlap,
    fixed_answers,
    ours,
    overlap_table,
)
from bench.quality_crowds import fixed_overlap, make_label_crowd

SMALL = 120  # items: about half a second per crowd


# Two crowds and a two-row table: each round of dynamic overlap runs the model choice (nine fits),
# so the three crowds and the seven-row table of before would double this file's time.
@pytest.mark.parametrize("name", ["good", "colluders"])
def test_dynamic_overlap_buys_30_percent_fewer_answers_at_equal_accuracy(name: str) -> None:
    crowd = make_label_crowd(name, 0, items=SMALL)
    fixed, fixed_accuracy = fixed_answers(crowd, 0)
    bought, accuracy = dynamic_overlap(crowd, 0)
    assert bought <= 0.7 * fixed
    assert accuracy >= fixed_accuracy - 0.005


def test_the_overlap_table_has_a_row_per_crowd_with_its_verdict() -> None:
    crowds = ("good", "biased")
    lines = overlap_table([0], items=10, crowds=crowds)
    assert lines[0].startswith("| crowd | fixed overlap 5")
    rows = lines[2:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == list(crowds)
    assert all(row.rstrip(" |").split("| ")[-1].split(" ")[0] in {"yes", "no"} for row in rows)


def test_auto_is_within_a_point_of_crowdkits_best_on_a_small_colluding_crowd() -> None:
    pytest.importorskip("crowdkit")
    crowd = make_label_crowd("colluders", 1, items=SMALL)
    rows = fixed_overlap(crowd, 1)
    truth = crowd.truth

    def score(predict: Predictor) -> float:
        found = predict(rows)
        return sum(found[item] == truth[item] for item in truth) / len(truth)

    best = max(score(method) for method in crowdkit().values())
    assert score(ours()["auto"]) >= best - 0.01
