"""Aggregation rules, dynamic overlap and routing: buy another answer only where it is needed.

``needs_more`` asks for another answer only while an item's posterior is below ``threshold``
and the item has fewer than ``most`` answers (always up to ``least``). ``refit`` is dynamic
overlap as the bot runs it on a label batch (``bot/refit.py``, in the compute pool) and as the
quality benchmark measures it (``bench/quality.py``): ``batch_stopping`` first runs the model
choice of ``/results`` (``bot/model_choice.py``) on the batch's answers so far. When it keeps
the pooled model (a preference the whole crowd shares, learnt from every answer), an item stops
on the pooled posterior at ``POOLED_THRESHOLD``; otherwise on ``stopping_confidences``: an item
is only as sure as the most doubtful of the full, one-coin and shrunk Dawid-Skene fits, and not
sure at all when they disagree on its answer (one model fitted on few answers per item is
overconfident; asking all three is the stronger prior early on). Each item then either stops or
may have one more answer, up to the batch's ``answers_per_item`` (``rule_for``). Batches the
refit does not serve (several labels per answer, review steps, text types, at most two answers
per item) stop items in the answer's transaction, through each task type's ``enough``: the
accuracy-weighted vote's posterior with gold-measured accuracies. ``OVERLAP_RULE``,
``POOLED_THRESHOLD`` and ``PREFERRED_SHARE`` are tuned on the benchmark's crowds, never per
crowd (README).

Routing: an item's first ``least`` answers come from anyone (until every item has been
cross-checked the estimates come from single answers and are noise); its later answers go
first to the ``preferred_workers``, about the best quarter by the kept model's accuracies.
``worker_order`` is that rule for the benchmark's rounds. ``route_order`` is the dispatcher's
order when open slots are fewer than waiting workers: gold-measured accuracy on the type in
bands, so workers of about the same accuracy keep the least-recently-served order among them.
Pure.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
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
POOLED_THRESHOLD = 0.78
"""The stopping threshold on the pooled posterior, when the model choice keeps the pooled model
(with routing to the preferred workers, on seeds 0-39 of the benchmark's biased crowd: 0.76
loses 1.5 points, 0.79 and 0.8 save 30.5% and 30.3%; README, quality section)."""
ROUTING_BAND = 0.1
"""Accuracy estimates this close count as equal when the dispatcher routes."""
PREFERRED_SHARE = 0.25
"""Later answers go first to the workers in about the best quarter of a batch's estimates (the
best half left the good crowd a full point under fixed overlap; README, quality section)."""


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
        doubtful first."""
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


def rule_for(answers_per_item: int) -> OverlapRule:
    """The bot's rule for a batch: ``OVERLAP_RULE`` up to the batch's ``answers_per_item``."""
    return replace(OVERLAP_RULE, most=answers_per_item)


def is_dynamic(answers_per_item: int, rule: OverlapRule = OVERLAP_RULE) -> bool:
    """Whether a batch has answers to save: it asks for more than the rule's least."""
    return answers_per_item > rule.least


@dataclass(frozen=True)
class Refit:
    """What one refit decided for a batch: the items to complete, and the items that get one
    more answer (with the slots they may then hold), the most doubtful first."""

    complete: tuple[int, ...]
    more: tuple[tuple[int, int], ...]  # (item id, answers wanted)
    model: str
    accuracy: dict[int, float]
    preferred: frozenset[int] = frozenset()  # who later answers go to first (routing)


def refit(votes_by_item: Mapping[int, Sequence[Vote]], rule: OverlapRule = OVERLAP_RULE) -> Refit:
    """Dynamic overlap's decision on a batch's answers so far (every open item, answered or
    not), as the bot and the benchmark take it: while an item has fewer than ``rule.least``
    answers, nothing is decided (the first round is not over: items stopped on a model fitted to
    part of it stay stopped, and the bot's first refits come while answers still stream in);
    then ``batch_stopping``, and each item either stops or may have one more answer. Pure and
    picklable (the bot runs it in the compute pool)."""
    short = [item for item, votes in votes_by_item.items() if len(votes) < rule.least]
    if short:  # the first round is not over: no item is judged on a model of part of it
        return Refit((), tuple((item, rule.least) for item in short), "waiting", {})
    answered = dict(votes_by_item)
    if not answered:
        return Refit((), (), "none", {})
    stopping = batch_stopping(answered, rule)
    counts = {item: len(votes) for item, votes in answered.items()}
    pending = stopping.pending(counts)
    waiting = set(pending)
    complete = tuple(sorted(item for item in answered if item not in waiting))
    more = tuple((item, counts[item] + 1) for item in pending)
    accuracy = stopping.accuracy
    return Refit(complete, more, stopping.model, accuracy, preferred_workers(accuracy))


def preferred_workers(
    accuracy: Mapping[int, float], share: float = PREFERRED_SHARE
) -> frozenset[int]:
    """The workers an item's later answers go to first: an estimated accuracy at least that of
    the worker ranked ``share`` of the way down (best first; ties included)."""
    if not accuracy:
        return frozenset()
    ranked = sorted(accuracy.values(), reverse=True)
    bar = ranked[min(len(ranked) - 1, int(len(ranked) * share))]
    return frozenset(worker for worker, found in accuracy.items() if found >= bar)


def worker_order(
    candidates: Iterable[int],
    answered: int,
    preferred: Collection[int],
    load: Mapping[int, int],
    capacity: int,
    rule: OverlapRule = OVERLAP_RULE,
) -> list[int]:
    """Who gives an item with ``answered`` answers its next one, in a batch that measures its
    workers as it goes (the benchmark's model of the bot's claims): under capacity first; once
    the item has ``rule.least`` answers, the ``preferred`` workers (``preferred_workers``) before
    the rest; equals keep the order given (the benchmark shuffles it)."""
    first = frozenset(preferred) if answered >= rule.least else frozenset()
    return sorted(
        candidates, key=lambda w: (load.get(w, 0) >= capacity, bool(first) and w not in first)
    )


def route_order(
    candidates: Sequence[int], accuracy: Mapping[int, float], band: float = ROUTING_BAND
) -> list[int]:
    """Workers by accuracy band, best first (no estimate: the prior's band), keeping the given
    order (least recently served first) within a band."""
    return sorted(
        candidates,
        key=lambda w: -math.floor(accuracy.get(w, DEFAULT_ACCURACY) / band + 1e-9),
    )
