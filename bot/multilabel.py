"""Multi-label aggregation: one binary Dawid-Skene model per label (ticked or not).

A tagging batch (``multiple = true``) with L labels has 2**L possible answers; treating each
distinct label set as a class made the model's size grow with the answers seen (36 s for 200
items). Here each label is judged on its own: every worker has a sensitivity (ticks it when it
is there) and a specificity (leaves it when it is not), fitted by EM from a soft majority start,
so the cost is items x answers x labels per iteration. An item's answer is the set of labels
more likely present than not; its confidence is the product of each label's certainty (labels
taken as independent). A worker's accuracy is the mean Jaccard score of their answers against
the aggregated ones, as gold scoring does for tags (``bot.quality.label_gold_score``).

Pure functions over plain values (picklable, so they can run in a worker process).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LabelSet = frozenset[str]
Answer = tuple[int, LabelSet]  # (worker id, the labels they ticked)

MIN_RATE = 1e-6  # sensitivities and specificities stay inside (0, 1)


@dataclass(frozen=True)
class LabelSetResult:
    """An item's aggregated label set and the probability that all of it is right."""

    answer: LabelSet
    confidence: float


@dataclass(frozen=True)
class PerLabelResult:
    """Every item's answer, the labels modelled and what was learnt about each worker."""

    items: Mapping[int, LabelSetResult]
    labels: tuple[str, ...]
    worker_accuracy: Mapping[int, float]
    iterations: int  # the most any label's model took
    converged: bool  # every label's model converged


@dataclass(frozen=True)
class _Binary:
    """One label's fitted model: each item's probability that the label is present."""

    present: list[float]
    iterations: int
    converged: bool


def dawid_skene_per_label(
    answers_by_item: Mapping[int, Sequence[Answer]],
    *,
    gold: Mapping[int, LabelSet],
    max_iterations: int = 50,
    tolerance: float = 1e-6,
    smoothing: float = 2.0,
    prior_accuracy: float = 0.7,
) -> PerLabelResult:
    """Fit one binary model per label seen in the answers or in ``gold``; gold items keep their
    known labels. ``smoothing`` imaginary answers per worker and class, ``prior_accuracy`` of
    them right, keep a worker with few answers close to an average one."""
    item_ids = [item for item in sorted(answers_by_item) if answers_by_item[item]]
    workers: dict[int, int] = {}
    observed = [
        [
            (workers.setdefault(worker, len(workers)), labels)
            for worker, labels in answers_by_item[i]
        ]
        for i in item_ids
    ]
    seen = {label for item in observed for _, labels in item for label in labels}
    seen.update(label for item in item_ids for label in gold.get(item, ()))
    labels = tuple(sorted(seen))
    fits = [
        _fit_label(
            label,
            item_ids,
            observed,
            gold,
            len(workers),
            max_iterations,
            tolerance,
            smoothing,
            prior_accuracy,
        )
        for label in labels
    ]
    items: dict[int, LabelSetResult] = {}
    for index, item in enumerate(item_ids):
        chosen = frozenset(
            label for label, fit in zip(labels, fits, strict=True) if _ticked(fit, index)
        )
        confidence = 1.0
        for fit in fits:
            p = fit.present[index]
            confidence *= max(p, 1 - p)
        items[item] = LabelSetResult(chosen, confidence)
    return PerLabelResult(
        items=items,
        labels=labels,
        worker_accuracy=_worker_accuracy(answers_by_item, items),
        iterations=max((fit.iterations for fit in fits), default=0),
        converged=all(fit.converged for fit in fits),
    )


def _ticked(fit: _Binary, index: int) -> bool:
    return fit.present[index] > 0.5


def _fit_label(
    label: str,
    item_ids: Sequence[int],
    observed: Sequence[Sequence[tuple[int, LabelSet]]],
    gold: Mapping[int, LabelSet],
    worker_count: int,
    max_iterations: int,
    tolerance: float,
    smoothing: float,
    prior_accuracy: float,
) -> _Binary:
    votes = [[(worker, label in labels) for worker, labels in item] for item in observed]
    clamped = {
        index: float(label in gold[item]) for index, item in enumerate(item_ids) if item in gold
    }
    present = [
        clamped.get(index, sum(ticked for _, ticked in item) / len(item))
        for index, item in enumerate(votes)
    ]
    right, wrong = smoothing * prior_accuracy, smoothing * (1 - prior_accuracy)
    iterations, converged = 0, False
    while iterations < max_iterations and not converged:
        iterations += 1
        # M-step: the share of present items, each worker's sensitivity and specificity.
        prior = (sum(present) + 1) / (len(present) + 2)
        hit, miss = [right] * worker_count, [wrong] * worker_count  # label present
        quiet, false = [right] * worker_count, [wrong] * worker_count  # label absent
        for p, item in zip(present, votes, strict=True):
            for worker, ticked in item:
                if ticked:
                    hit[worker] += p
                    false[worker] += 1 - p
                else:
                    miss[worker] += p
                    quiet[worker] += 1 - p
        tick_weight, leave_weight = [], []
        for worker in range(worker_count):
            sensitivity = _rate(hit[worker] / (hit[worker] + miss[worker]))
            specificity = _rate(quiet[worker] / (quiet[worker] + false[worker]))
            tick_weight.append(math.log(sensitivity / (1 - specificity)))
            leave_weight.append(math.log((1 - sensitivity) / specificity))
        # E-step: each item's log-odds of the label being present.
        base = math.log(prior / (1 - prior))
        updated = []
        for index, item in enumerate(votes):
            if index in clamped:
                updated.append(clamped[index])
                continue
            odds = base
            for worker, ticked in item:
                odds += tick_weight[worker] if ticked else leave_weight[worker]
            updated.append(_sigmoid(odds))
        converged = max(
            (abs(a - b) for a, b in zip(present, updated, strict=True)), default=0.0
        ) < (tolerance)
        present = updated
    return _Binary(present, iterations, converged)


def _rate(value: float) -> float:
    return min(1 - MIN_RATE, max(MIN_RATE, value))


def _sigmoid(odds: float) -> float:
    if odds >= 0:
        return 1 / (1 + math.exp(-odds))
    small = math.exp(odds)
    return small / (1 + small)


def _jaccard(expected: LabelSet, given: LabelSet) -> float:
    union = expected | given
    return len(expected & given) / len(union) if union else 1.0


def _worker_accuracy(
    answers_by_item: Mapping[int, Sequence[Answer]], items: Mapping[int, LabelSetResult]
) -> dict[int, float]:
    scores: dict[int, list[float]] = {}
    for item, found in items.items():
        for worker, labels in answers_by_item[item]:
            scores.setdefault(worker, []).append(_jaccard(found.answer, labels))
    return {worker: sum(s) / len(s) for worker, s in scores.items()}
