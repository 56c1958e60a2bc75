"""Aggregation rules, dynamic overlap and routing: buy another answer only where it is needed.

``needs_more`` asks for another answer only while an item's posterior is below ``threshold``
and the item has fewer than ``most`` answers (always up to ``least``). In the worker loop it is
the stopping rule of every item (``bot/aggregation.py``, through each task type's ``enough``:
the posterior of the accuracy-weighted vote, ``most`` the batch's ``answers_per_item``). Over a
whole batch (the benchmark, ``bench/quality.py``), ``batch_stopping`` first runs the model
choice of ``/results`` (``bot/model_choice.py``) on the answers so far. When it keeps the pooled
model (a preference the whole crowd shares, learnt from every answer), an item stops on the
pooled posterior at ``POOLED_THRESHOLD``; otherwise on ``stopping_confidences``: an item is only
as sure as the most doubtful of the full, one-coin and shrunk Dawid-Skene fits, and not sure at
all when they disagree on its answer (one model fitted on few answers per item is
overconfident; asking all three is the stronger prior early on). Routing uses the worker
accuracies of the model kept; ``Stopping.pending`` lists the most doubtful items first, so they
are the first to choose among the free workers. ``OVERLAP_RULE`` and ``POOLED_THRESHOLD`` are
tuned on the benchmark's crowds, never per crowd (README).

``rank_workers`` orders the workers who may answer an item: highest estimated accuracy on the
type first, a worker with no estimate at the prior, and a worker already at ``capacity``
answers last (so the best workers do not take everything and the rest keep being measured).
``worker_order`` is its form for a batch that measures its workers as it goes (the benchmark):
an item's first ``least`` answers ignore the estimates, which until every item has been
cross-checked come from single answers and are noise (they would spend the capacity of workers
ranked first by chance); later answers go to the best.
``route_order`` is its form for the dispatcher: accuracy in bands, so workers of about the same
accuracy keep the least-recently-served order among them. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.dawid_skene import Model, dawid_skene
from bot.model_choice import best_dawid_skene
from bot.votes import DEFAULT_ACCURACY, LabelResult, Vote


@dataclass(frozen=True)
class OverlapRule:
    """When an item gets another answer: under ``threshold``, at least ``least`` answers, at
    most ``most``."""

    threshold: float = 0.9
    least: int = 2
    most: int = 6

    def needs_more(self, confidence: float, answers: int) -> bool:
        return needs_more(
            confidence, answers, threshold=self.threshold, least=self.least, most=self.most
        )


OVERLAP_RULE = OverlapRule(threshold=0.85)
"""The rule tuned on the quality benchmark (``python -m bench.quality --part overlap``)."""
STOPPING_MODELS: tuple[Model, ...] = ("full", "one-coin", "shrunk")
"""The fits whose most doubtful posterior stops an item unless the model choice keeps the pooled
model."""
POOLED_THRESHOLD = 0.8
"""The stopping threshold on the pooled posterior, when the model choice keeps the pooled model
(0.85 and 0.9 buy too much on the biased crowd: README, quality section)."""
ROUTING_BAND = 0.1
"""Accuracy estimates this close count as equal when the dispatcher routes."""


def needs_more(confidence: float, answers: int, *, threshold: float, least: int, most: int) -> bool:
    """Whether an item should get another answer."""
    if answers < min(least, most):
        return True
    return answers < most and confidence < threshold


def agreed_confidence(found: Sequence[LabelResult]) -> float:
    """An item's posterior under several models: the lowest, or 0 when they disagree."""
    if not found or len({result.answer for result in found}) > 1:
        return 0.0
    return min(result.confidence for result in found)


def stopping_confidences(
    votes_by_item: Mapping[int, Sequence[Vote]],
) -> tuple[dict[int, float], dict[int, float]]:
    """Each answered item's posterior for stopping (``agreed_confidence`` over the three
    Dawid-Skene models), and each worker's accuracy by the shrunk model, for routing."""
    fits = [dawid_skene(votes_by_item, model=model) for model in STOPPING_MODELS]
    confidences = {
        item: agreed_confidence([fitted.items[item] for fitted in fits]) for item in fits[0].items
    }
    return confidences, dict(fits[-1].worker_accuracy)


@dataclass(frozen=True)
class Stopping:
    """A batch's answers so far, read for dynamic overlap: each item's stopping posterior, the
    rule to apply to it, each worker's estimated accuracy (for routing), the model kept."""

    confidences: dict[int, float]
    rule: OverlapRule
    accuracy: dict[int, float]
    model: str

    def pending(self, answers: Mapping[int, int]) -> list[int]:
        """The items (by their count of answers) that should get another answer, the most
        doubtful first (they choose among the free workers first)."""
        return [
            item
            for item, confidence in sorted(self.confidences.items(), key=lambda kv: (kv[1], kv[0]))
            if self.rule.needs_more(confidence, answers[item])
        ]


def batch_stopping(
    votes_by_item: Mapping[int, Sequence[Vote]], rule: OverlapRule = OVERLAP_RULE
) -> Stopping:
    """Model choice on the answers so far; the pooled posterior at ``POOLED_THRESHOLD`` when the
    pooled model is kept, else ``stopping_confidences`` under ``rule``."""
    chosen = best_dawid_skene(votes_by_item)
    accuracy = dict(chosen.worker_accuracy)
    if chosen.model == "pooled":
        confidences = {item: found.confidence for item, found in chosen.items.items()}
        return Stopping(confidences, replace(rule, threshold=POOLED_THRESHOLD), accuracy, "pooled")
    confidences, _ = stopping_confidences(votes_by_item)
    return Stopping(confidences, rule, accuracy, chosen.model)


def rank_workers(
    candidates: Iterable[int],
    accuracy: Mapping[int, float],
    load: Mapping[int, int],
    capacity: int,
) -> list[int]:
    """Workers by preference: under capacity first, then by estimated accuracy; equals keep
    the order given (shuffle them to share work fairly)."""
    return sorted(
        candidates,
        key=lambda w: (load.get(w, 0) >= capacity, -accuracy.get(w, DEFAULT_ACCURACY)),
    )


def worker_order(
    candidates: Iterable[int],
    answered: int,
    accuracy: Mapping[int, float],
    load: Mapping[int, int],
    capacity: int,
    rule: OverlapRule = OVERLAP_RULE,
) -> list[int]:
    """``rank_workers`` for an item with ``answered`` answers: on the estimates once it has
    ``rule.least``, before that under capacity first in the order given."""
    known = accuracy if answered >= rule.least else {}
    return rank_workers(candidates, known, load, capacity)


def route_order(
    candidates: Sequence[int], accuracy: Mapping[int, float], band: float = ROUTING_BAND
) -> list[int]:
    """Workers by accuracy band, best first (no estimate: the prior's band), keeping the given
    order (least recently served first) within a band."""
    return sorted(
        candidates,
        key=lambda w: -math.floor(accuracy.get(w, DEFAULT_ACCURACY) / band + 1e-9),
    )
