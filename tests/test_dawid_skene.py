"""The array Dawid-Skene (``bot/dawid_skene.py``, ``bot/multilabel.py``) against the pure-Python
loops it replaced (issue 11): the same answers, the same iterations, posteriors to 1e-12.

The reference below is the old EM, kept only to check the new one; both add in the same order,
so only ``exp`` and ``log`` may differ in the last bit.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from bench.quality_crowds import LABEL_CROWDS, fixed_overlap, make_label_crowd
from bot.dawid_skene import MODELS, Model, Problem, Settings, fit, index
from bot.multilabel import dawid_skene_per_label
from bot.votes import Vote

Matrix = list[list[float]]


def reference_fit(problem: Problem, model: Model, s: Settings) -> tuple[Matrix, int]:
    """The pure-Python EM: posteriors and iterations."""
    size = len(problem.classes)

    def priors_of(posteriors: Matrix) -> list[float]:
        totals = [sum(row[c] for row in posteriors) + 1.0 for c in range(size)]
        return [total / sum(totals) for total in totals]

    def one_coin(matrix: Matrix) -> Matrix:
        right = sum(matrix[c][c] for c in range(size)) + s.smoothing * s.prior_accuracy
        accuracy = min(right / (sum(map(sum, matrix)) + s.smoothing), 1 - 1e-9)
        wrong = (1 - accuracy) / max(1, size - 1)
        return [[accuracy if c == j else wrong for j in range(size)] for c in range(size)]

    def normalised(rows: Matrix) -> Matrix:
        return [[n / sum(row) for n in row] for row in rows]

    def confusions_of(posteriors: Matrix) -> list[Matrix]:
        counts = [[[0.0] * size for _ in range(size)] for _ in problem.worker_ids]
        for row, observed in zip(posteriors, problem.observations, strict=True):
            for worker, answer in observed:
                for c in range(size):
                    counts[worker][c][answer] += row[c]
        if model == "one-coin":
            return [one_coin(m) for m in counts]
        if model == "shrunk":
            return [
                normalised([[n + 10.0 * p for n, p in zip(line, prior, strict=True)]
                            for line, prior in zip(m, one_coin(m), strict=True)])
                for m in counts
            ]  # fmt: skip
        off = s.smoothing * (1 - s.prior_accuracy) / max(1, size - 1)
        diagonal = s.smoothing * s.prior_accuracy

        def smoothed(m: Matrix) -> Matrix:
            return normalised([[n + (diagonal if c == j else off) for j, n in enumerate(line)]
                               for c, line in enumerate(m)])  # fmt: skip

        if model == "pooled":
            pooled = [[sum(m[c][j] for m in counts) for j in range(size)] for c in range(size)]
            crowd = smoothed(pooled)
            return [
                normalised([[n + 10.0 * p for n, p in zip(line, prior, strict=True)]
                            for line, prior in zip(m, crowd, strict=True)])
                for m in counts
            ]  # fmt: skip
        return [smoothed(m) for m in counts]

    posteriors = []
    for i, observed in enumerate(problem.observations):
        row = [0.0] * size
        if i in problem.clamped:
            row[problem.clamped[i]] = 1.0
        else:
            for _, answer in observed:
                row[answer] += 1 / len(observed)
        posteriors.append(row)
    iterations, converged = 0, False
    while iterations < s.max_iterations and not converged:
        iterations += 1
        priors, confusions = priors_of(posteriors), confusions_of(posteriors)
        updated = []
        for i, observed in enumerate(problem.observations):
            if i in problem.clamped:
                updated.append([float(c == problem.clamped[i]) for c in range(size)])
                continue
            logs = [math.log(priors[c]) for c in range(size)]
            for worker, answer in observed:
                for c in range(size):
                    logs[c] += math.log(confusions[worker][c][answer])
            weights = [math.exp(value - max(logs)) for value in logs]
            updated.append([weight / sum(weights) for weight in weights])
        change = max(abs(a - b) for old, new in zip(posteriors, updated) for a, b in zip(old, new))
        converged = change < s.tolerance
        posteriors = updated
    return posteriors, iterations


def _votes(rows: list[tuple[int, int, int]]) -> dict[int, list[Vote]]:
    votes: dict[int, list[Vote]] = {}
    for item, worker, label in rows:
        votes.setdefault(item, []).append(Vote(worker, frozenset({str(label)})))
    return votes


@pytest.mark.parametrize("crowd_name", LABEL_CROWDS)
@pytest.mark.parametrize("model", MODELS)
def test_each_model_fits_as_the_loops_did(crowd_name: str, model: Model) -> None:
    crowd = make_label_crowd(crowd_name, 0)
    votes = _votes(fixed_overlap(crowd, 0))
    gold = {item: votes[item][0].labels for item in sorted(votes)[:8]}
    problem = index(votes, gold)
    expected, iterations = reference_fit(problem, model, Settings())
    fitted = fit(problem, model, Settings())
    assert fitted.iterations == iterations
    assert np.abs(fitted.posteriors - np.array(expected)).max() < 1e-12
    assert (fitted.posteriors.argmax(axis=1) == np.array(expected).argmax(axis=1)).all()


def reference_label(rows: list[list[tuple[int, bool]]]) -> list[float]:
    """The pure-Python binary EM of one label (no gold): each item's P(present)."""
    workers = 1 + max(w for item in rows for w, _ in item)
    present = [sum(t for _, t in item) / len(item) for item in rows]
    right, wrong = 2.0 * 0.7, 2.0 * 0.3
    for _ in range(50):
        prior = (sum(present) + 1) / (len(present) + 2)
        hit, miss, quiet, false = ([start] * workers for start in (right, wrong, right, wrong))
        for p, item in zip(present, rows, strict=True):
            for w, ticked in item:
                if ticked:
                    hit[w] += p
                    false[w] += 1 - p
                else:
                    miss[w] += p
                    quiet[w] += 1 - p
        rate = [
            (_clip(hit[w] / (hit[w] + miss[w])), _clip(quiet[w] / (quiet[w] + false[w])))
            for w in range(workers)
        ]
        updated = []
        for item in rows:
            odds = math.log(prior / (1 - prior))
            for w, ticked in item:
                se, sp = rate[w]
                odds += math.log(se / (1 - sp)) if ticked else math.log((1 - se) / sp)
            updated.append(1 / (1 + math.exp(-odds)))
        done = max(abs(a - b) for a, b in zip(present, updated, strict=True)) < 1e-6
        present = updated
        if done:
            break
    return present


def _clip(rate: float) -> float:
    return min(1 - 1e-6, max(1e-6, rate))


def test_per_label_fits_as_the_loops_did() -> None:
    rng = random.Random(3)
    labels = ("a", "b", "c")
    truth = {i: frozenset(x for x in labels if rng.random() < 0.3) for i in range(300)}
    skill = {w: rng.uniform(0.55, 0.97) for w in range(30)}
    answers = {
        i: [(w, frozenset(x for x in labels if (x in t) == (rng.random() < skill[w])))
            for w in rng.sample(range(30), rng.choice((1, 2, 3, 5)))]
        for i, t in truth.items()
    }  # fmt: skip
    fitted = dawid_skene_per_label(answers, gold={})
    workers: dict[int, int] = {}
    for label in fitted.labels:
        rows = [[(workers.setdefault(w, len(workers)), label in given) for w, given in answers[i]]
                for i in sorted(answers)]  # fmt: skip
        present = reference_label(rows)
        for index_, item in enumerate(sorted(answers)):
            assert (label in fitted.items[item].answer) == (present[index_] > 0.5)
