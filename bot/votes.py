"""Aggregation's plain values: a worker's label vote and an item's aggregated label or text.

A leaf module (no rules) shared by the votes, Dawid-Skene and model choice modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.quality import DEFAULT_PRIOR, LabelSet

DEFAULT_ACCURACY = DEFAULT_PRIOR.mean  # a worker without gold answers counts as the prior says


@dataclass(frozen=True)
class Vote:
    """One worker's answer to a label item."""

    worker_id: int
    labels: LabelSet


@dataclass(frozen=True)
class LabelResult:
    """An item's aggregated label answer."""

    answer: LabelSet
    confidence: float  # posterior probability of ``answer``
    agreement: float  # share of the answers equal to ``answer``
    answers: int


@dataclass(frozen=True)
class TextResult:
    """An item's aggregated transcription."""

    text: str
    confidence: float  # 1 - mean normalised word distance from ``text`` to the other answers
    agreement: float  # share of the answers with the same words as ``text``
    answers: int


def agreement(votes: Sequence[Vote], answer: LabelSet) -> float:
    """The share of ``votes`` equal to ``answer``."""
    return sum(vote.labels == answer for vote in votes) / len(votes)
