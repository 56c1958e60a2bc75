"""Aggregation rules, transcripts over a batch: ROVER weighted by what each typist is worth.

Plain ROVER counts a spammer's words like anyone's, so on a crowd with 30% spammers the vote
(and the medoid it aligns to) is pulled towards noise. Here the batch is voted twice: a plain
ROVER first, then each typist's accuracy (mean 1 - WER against the gold text, or the voted text
of items with at least two answers) becomes a weight ``log((a + e) / (1 - a + e))`` floored at
``MIN_WEIGHT``, and ROVER runs again with those weights; accuracies are measured again against
the final texts. Pure, picklable values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.aggregation import rover_transcript
from bot.quality import transcription_gold_score
from bot.votes import TextResult

MIN_WEIGHT = 0.01  # a typist at chance still breaks no tie against an honest one
SMOOTH = 0.05  # keeps the weight finite at accuracy 0 or 1
ROUNDS = 2


@dataclass(frozen=True)
class TextAnswer:
    """One typist's text for an item."""

    worker_id: int
    text: str


@dataclass(frozen=True)
class TextBatch:
    """Each item's voted text and each typist's accuracy against it."""

    items: Mapping[int, TextResult]
    worker_accuracy: dict[int, float]


def typist_weight(accuracy: float) -> float:
    """The log-odds of a typist's word accuracy, floored at ``MIN_WEIGHT``."""
    return max(MIN_WEIGHT, math.log((accuracy + SMOOTH) / (1 - accuracy + SMOOTH)))


def _accuracies(
    answers: Mapping[int, Sequence[TextAnswer]],
    voted: Mapping[int, TextResult],
    gold: Mapping[int, str],
) -> dict[int, float]:
    scores: dict[int, list[float]] = {}
    for item, given in answers.items():
        reference = gold.get(item)
        if reference is None and item in voted and len(given) >= 2:
            reference = voted[item].text
        if reference is None:
            continue
        for answer in given:
            score = transcription_gold_score(reference, answer.text)
            scores.setdefault(answer.worker_id, []).append(score)
    return {worker: sum(s) / len(s) for worker, s in scores.items()}


def weighted_rover_batch(
    answers: Mapping[int, Sequence[TextAnswer]],
    gold: Mapping[int, str] | None = None,
    *,
    vote: Callable[[Sequence[str], Sequence[float] | None], TextResult] = rover_transcript,
) -> TextBatch:
    """ROVER per item, the typists weighted by their accuracy over the batch (see above);
    ``vote`` may be another weighted consensus (the weighted medoid, for sentences)."""
    known = gold or {}
    accuracy: dict[int, float] = {}
    voted: dict[int, TextResult] = {}
    for _ in range(ROUNDS):
        voted = {
            item: vote(
                [a.text for a in given],
                [typist_weight(accuracy[a.worker_id]) if accuracy else 1.0 for a in given],
            )
            for item, given in answers.items()
            if given
        }
        accuracy = _accuracies(answers, voted, known)
        accuracy = {w: accuracy.get(w, 0.5) for g in answers.values() for w in _ids(g)}
    return TextBatch(voted, accuracy)


def _ids(given: Sequence[TextAnswer]) -> list[int]:
    return [answer.worker_id for answer in given]
