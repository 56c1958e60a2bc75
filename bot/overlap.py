"""Aggregation rules, dynamic overlap and routing: buy another answer only where it is needed.

``needs_more`` asks for another answer only while an item's posterior (from the batch's
Dawid-Skene fit) is below ``threshold`` and the item has fewer than ``most`` answers.
``rank_workers`` orders the workers who may answer an item: highest estimated accuracy on the
type first, a worker with no estimate at the prior, and a worker already at ``capacity``
answers last (so the best workers do not take everything and the rest keep being measured).
Pure; the quality benchmark (``bench/quality.py``) measures what they save.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.votes import DEFAULT_ACCURACY


def needs_more(confidence: float, answers: int, *, threshold: float, least: int, most: int) -> bool:
    """Whether an item should get another answer."""
    if answers < least:
        return True
    return answers < most and confidence < threshold


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
