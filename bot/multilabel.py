"""Multi-label aggregation: one binary Dawid-Skene model per label (ticked or not).

A tagging batch (``multiple = true``) with L labels has 2**L possible answers; treating each
distinct label set as a class made the model's size grow with the answers seen (36 s for 200
items). Here each label is judged on its own: every worker has a sensitivity (ticks it when it
is there) and a specificity (leaves it when it is not), fitted by EM from a soft majority start,
so the cost is items x answers x labels per iteration. An item's answer is the set of labels
more likely present than not; its confidence is the product of each label's certainty (labels
taken as independent). A worker's accuracy is the mean Jaccard score of their answers against
the aggregated ones, as gold scoring does for tags (``bot.quality.label_gold_score``).

Each EM step works on every answer at once (numpy), adding in the order the pure-Python loops
did (``bot/sums.py``). Pure functions over plain values (picklable, so they can run in a worker
process).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.sums import add_into, ordered_sum

LabelSet = frozenset[str]
Answer = tuple[int, LabelSet]  # (worker id, the labels they ticked)

MIN_RATE = 1e-6  # sensitivities and specificities stay inside (0, 1)
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]


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

    present: Floats
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
    flat = [(i, worker, given) for i, item in enumerate(observed) for worker, given in item]
    answers = _Answers(
        item=np.array([i for i, _, _ in flat], dtype=np.intp),
        worker=np.array([worker for _, worker, _ in flat], dtype=np.intp),
        counts=np.array([len(item) for item in observed], dtype=np.intp),
        workers=len(workers),
    )
    settings = (max_iterations, tolerance, smoothing, prior_accuracy)
    fits = [
        _fit_label(
            np.array([label in given for _, _, given in flat], dtype=bool),
            {i: float(label in gold[item]) for i, item in enumerate(item_ids) if item in gold},
            answers,
            *settings,
        )
        for label in labels
    ]
    confidence = np.ones(len(item_ids))
    for fit in fits:
        confidence *= np.maximum(fit.present, 1 - fit.present)
    ticked = [(fit.present > 0.5).tolist() for fit in fits]
    items = {
        item: LabelSetResult(
            frozenset(label for label, on in zip(labels, ticked, strict=True) if on[index]),
            float(confidence[index]),
        )
        for index, item in enumerate(item_ids)
    }
    return PerLabelResult(
        items=items,
        labels=labels,
        worker_accuracy=_worker_accuracy(answers_by_item, items),
        iterations=max((fit.iterations for fit in fits), default=0),
        converged=all(fit.converged for fit in fits),
    )


@dataclass(frozen=True)
class _Answers:
    """Every answer as arrays, in item order: its item and worker indices."""

    item: Ints
    worker: Ints
    counts: Ints  # answers per item
    workers: int


def _fit_label(
    ticked: npt.NDArray[np.bool_],
    clamped: Mapping[int, float],
    answers: _Answers,
    max_iterations: int,
    tolerance: float,
    smoothing: float,
    prior_accuracy: float,
) -> _Binary:
    """One label's EM; ``ticked`` says, per answer, whether it holds the label."""
    items, workers = len(answers.counts), answers.workers
    known = np.array(sorted(clamped), dtype=np.intp)
    known_present = np.array([clamped[i] for i in sorted(clamped)])
    present = add_into(answers.item, ticked.astype(np.float64), items) / answers.counts
    present[known] = known_present
    right, wrong = smoothing * prior_accuracy, smoothing * (1 - prior_accuracy)
    left = ~ticked
    iterations, converged = 0, False
    while iterations < max_iterations and not converged:
        iterations += 1
        # M-step: the share of present items, each worker's sensitivity and specificity.
        prior = (ordered_sum(present) + 1) / (items + 2)
        p = present[answers.item]
        hit = _per_worker(right, answers.worker[ticked], p[ticked], workers)  # label present
        miss = _per_worker(wrong, answers.worker[left], p[left], workers)
        quiet = _per_worker(right, answers.worker[left], 1 - p[left], workers)  # label absent
        false = _per_worker(wrong, answers.worker[ticked], 1 - p[ticked], workers)
        sensitivity = _rate(hit / (hit + miss))
        specificity = _rate(quiet / (quiet + false))
        tick_weight = np.log(sensitivity / (1 - specificity))
        leave_weight = np.log((1 - sensitivity) / specificity)
        # E-step: each item's log-odds of the label being present, from the prior's log-odds
        # (first in bincount's input, so each item's sum starts from it).
        weight = np.where(ticked, tick_weight[answers.worker], leave_weight[answers.worker])
        odds = add_into(
            np.concatenate((np.arange(items), answers.item)),
            np.concatenate((np.full(items, np.log(prior / (1 - prior))), weight)),
            items,
        )
        updated = _sigmoid(odds)
        updated[known] = known_present
        converged = (float(np.abs(present - updated).max()) if items else 0.0) < tolerance
        present = updated
    return _Binary(present, iterations, converged)


def _per_worker(start: float, worker: Ints, weight: Floats, workers: int) -> Floats:
    """``start`` plus each worker's weights, added in order."""
    return add_into(
        np.concatenate((np.arange(workers), worker)),
        np.concatenate((np.full(workers, start), weight)),
        workers,
    )


def _rate(value: Floats) -> Floats:
    return np.minimum(1 - MIN_RATE, np.maximum(MIN_RATE, value))


def _sigmoid(odds: Floats) -> Floats:
    """1 / (1 + e^-x), computed on the side that cannot overflow."""
    result = np.empty_like(odds)
    up = odds >= 0
    result[up] = 1 / (1 + np.exp(-odds[up]))
    small = np.exp(odds[~up])
    result[~up] = small / (1 + small)
    return result


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
