"""Aggregation rules, model choice: which Dawid-Skene model (``MODELS``), by held-out answers.

No single model is best on every crowd: the full confusion model learns shared preferences and
colluders, but over-fits when a class is rare or workers answer little; the one-coin model is
the reverse; the pooled model learns a preference the whole crowd shares. Without being told
which crowd it faces, ``choose_model`` holds out one answer per item (every item with two
answers or more: with dynamic overlap, items of three or more are only the disputed ones, a
biased sample), fits each model on the rest and keeps the one that predicts the held-out answers
best (log-likelihood, two folds); the batch is then fitted again on every answer with that
model. Pure and deterministic (which answer is held out depends only
on the item and the fold).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bot.dawid_skene import (
    MODELS,
    DawidSkeneResult,
    Fit,
    Model,
    Problem,
    Settings,
    fit,
    index,
    result_of,
)
from bot.quality import LabelSet
from bot.sums import ordered_sum, sequential_sum
from bot.votes import Vote

FOLDS = 2
MIN_ANSWERS_TO_HOLD_OUT = 2  # an item keeps at least one answer in every fold


@dataclass(frozen=True)
class Choice:
    """The model kept, and each model's held-out log-likelihood per held-out answer."""

    model: Model
    scores: Mapping[str, float]


def _held_out(problem: Problem, fold: int) -> tuple[Problem, list[tuple[int, int, int]]]:
    """The problem without one answer of each item with enough, and (item, worker, class)."""
    kept, held = [], []
    for i, observed in enumerate(problem.observations):
        if len(observed) < MIN_ANSWERS_TO_HOLD_OUT or i in problem.clamped:
            kept.append(observed)
            continue
        out = (problem.item_ids[i] * 7 + fold) % len(observed)
        held.append((i, *observed[out]))
        kept.append(observed[:out] + observed[out + 1 :])
    return replace(problem, observations=tuple(kept)), held


def _log_likelihood(
    fitted: Fit, held: Sequence[tuple[int, int, int]], seen: set[int], s: Settings
) -> float:
    """Sum over held-out answers of log P(answer | the item's other answers)."""
    if not held:
        return 0.0
    size = len(fitted.priors)
    item, worker, answer = np.array(held, dtype=np.intp).T
    known = np.isin(worker, np.fromiter(seen, dtype=np.intp, count=len(seen)))
    # A worker whose only answers were held out: the prior's average worker.
    wrong = (1 - s.prior_accuracy) / max(1, size - 1)
    average = np.where(np.arange(size) == answer[:, None], s.prior_accuracy, wrong)
    likely = np.where(known[:, None], fitted.confusions[worker, :, answer], average)
    probability = sequential_sum(fitted.posteriors[item] * likely)
    return ordered_sum(np.log(np.maximum(probability, 1e-12)))


def choose_model(problem: Problem, settings: Settings) -> Choice:
    """The model whose fits predict held-out answers best; full when nothing can be held out."""
    totals = dict.fromkeys(MODELS, 0.0)
    count = 0
    for fold in range(FOLDS):
        training, held = _held_out(problem, fold)
        seen = {worker for observed in training.observations for worker, _ in observed}
        count += len(held)
        for model in MODELS:
            totals[model] += _log_likelihood(fit(training, model, settings), held, seen, settings)
    if not count:
        return Choice("full", {model: 0.0 for model in MODELS})
    scores: dict[str, float] = {model: total / count for model, total in totals.items()}
    best = max(MODELS, key=lambda model: scores[model])  # ties to full, the first
    return Choice(best, scores)


def best_dawid_skene(
    votes_by_item: Mapping[int, Sequence[Vote]],
    *,
    gold: Mapping[int, LabelSet] | None = None,
    settings: Settings | None = None,
) -> DawidSkeneResult:
    """Dawid-Skene with the model ``choose_model`` keeps, fitted on every answer."""
    chosen_settings = settings or Settings()
    problem = index(votes_by_item, gold or {})
    choice = choose_model(problem, chosen_settings)
    fitted = fit(problem, choice.model, chosen_settings)
    return result_of(problem, fitted, votes_by_item, choice.model)
