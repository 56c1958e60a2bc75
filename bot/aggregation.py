"""Answer aggregation: majority, weighted and Dawid-Skene label votes, transcript medoid and ROVER.

Also the early-stopping rule that decides when an item has enough answers. Pure functions: the
caller loads answers and accuracies and stores the results. A label answer is a frozenset of
labels (a set of one for single-label tasks). Votes and early stopping weigh whole label sets;
Dawid-Skene over a ``multiple = true`` batch fits one binary model per label (ticked or not), so
its cost grows with the number of labels, never with the number of distinct label sets
(``bot/multilabel.py``). Transcripts are bounded (``MAX_TRANSCRIPT_CHARS``,
``MAX_TRANSCRIPT_WORDS``) and compared word by word with rapidfuzz's compiled Levenshtein distance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from rapidfuzz.distance import Levenshtein

from bot.dawid_skene import DawidSkeneResult, dawid_skene
from bot.overlap import needs_more
from bot.quality import LabelSet, levenshtein, normalise_words
from bot.votes import DEFAULT_ACCURACY, LabelResult, TextResult, Vote, agreement

MAX_ACCURACY = 0.99  # no worker's vote counts as certain
# A transcript enters aggregation cut to this: a 30 s chunk holds about 100 words, so these only
# stop a pasted essay from making a quadratic comparison slow.
MAX_TRANSCRIPT_CHARS = 2_000
MAX_TRANSCRIPT_WORDS = 400

T = TypeVar("T")

__all__ = [
    "DEFAULT_ACCURACY",
    "DawidSkeneResult",
    "LabelResult",
    "TextResult",
    "Vote",
    "dawid_skene",
]


# --- majority and weighted votes --------------------------------------------------------------


def label_class_count(labels: Sequence[str], multiple: bool) -> int:
    """How many answers are possible: one per label, or one per label set with ``multiple``."""
    return 2 ** len(labels) if multiple else len(labels)


def accuracy_weight(accuracy: float, class_count: int) -> float:
    """Log-odds weight ``log(a (K-1) / (1-a))``: 0 for a random clicker, larger for better.

    It is the weight under which the vote is the posterior of the one-coin model (right with
    probability a, else any wrong class alike). Accuracy is clipped to [1/K, MAX_ACCURACY].
    """
    classes = max(class_count, 2)
    clipped = min(MAX_ACCURACY, max(1 / classes, accuracy))
    return math.log(clipped * (classes - 1) / (1 - clipped))


def majority_vote(
    votes: Sequence[Vote], *, class_count: int, assumed_accuracy: float = DEFAULT_ACCURACY
) -> LabelResult:
    """Plain majority; ties go to the answer given first. Confidence assumes equal workers."""
    weight = accuracy_weight(assumed_accuracy, class_count)
    return _weighted_result(votes, [weight] * len(votes), class_count)


def weighted_vote(
    votes: Sequence[Vote],
    worker_accuracies: Mapping[int, float],
    *,
    class_count: int,
    default_accuracy: float = DEFAULT_ACCURACY,
) -> LabelResult:
    """Vote weighted by each worker's accuracy (``accuracy_weight``); ties go to the first given."""
    weights = [
        accuracy_weight(worker_accuracies.get(vote.worker_id, default_accuracy), class_count)
        for vote in votes
    ]
    return _weighted_result(votes, weights, class_count)


def _weighted_result(
    votes: Sequence[Vote], weights: Sequence[float], class_count: int
) -> LabelResult:
    if not votes:
        raise ValueError("an item needs at least one answer to aggregate")
    scores: dict[LabelSet, float] = {}
    for vote, weight in zip(votes, weights, strict=True):
        scores[vote.labels] = scores.get(vote.labels, 0.0) + weight
    best = max(scores, key=lambda answer: scores[answer])  # first of equals: the earliest given
    unseen = max(0, class_count - len(scores))
    top = scores[best]
    evidence = sum(math.exp(score - top) for score in scores.values()) + unseen * math.exp(-top)
    return LabelResult(best, 1 / evidence, agreement(votes, best), len(votes))


# --- transcription ----------------------------------------------------------------------------


def transcript_words(text: str) -> tuple[str, ...]:
    """A transcript's comparable words, bounded: at most ``MAX_TRANSCRIPT_WORDS`` words of its
    first ``MAX_TRANSCRIPT_CHARS`` characters."""
    return normalise_words(text[:MAX_TRANSCRIPT_CHARS])[:MAX_TRANSCRIPT_WORDS]


def _normalised_distance(first: Sequence[str], second: Sequence[str]) -> float:
    longest = max(len(first), len(second))
    return levenshtein(first, second) / longest if longest else 0.0


def _medoid_index(
    word_lists: Sequence[tuple[str, ...]], weights: Sequence[float] | None = None
) -> int:
    """The answer with the least (weighted) total word edit distance to all others; ties to the
    earliest. Each pair is compared once (the distance is symmetric)."""
    weight = weights or [1.0] * len(word_lists)
    totals = [0.0] * len(word_lists)
    for index, words in enumerate(word_lists):
        for other in range(index + 1, len(word_lists)):
            distance = Levenshtein.distance(words, word_lists[other])
            totals[index] += distance * weight[other]
            totals[other] += distance * weight[index]
    return totals.index(min(totals))


def _text_result(
    text: str,
    words: tuple[str, ...],
    others: Sequence[tuple[str, ...]],
    answers: Sequence[tuple[str, ...]],
) -> TextResult:
    distance = sum(_normalised_distance(words, other) for other in others)
    confidence = 1 - distance / len(others) if others else 0.0
    agreement = sum(answer == words for answer in answers) / len(answers)
    return TextResult(text, confidence, agreement, len(answers))


def medoid_transcript(texts: Sequence[str], weights: Sequence[float] | None = None) -> TextResult:
    """The answer closest to all others (``weights``: each answer's say), as typed (cut to
    ``MAX_TRANSCRIPT_CHARS``); a lone answer has confidence 0."""
    if not texts:
        raise ValueError("an item needs at least one answer to aggregate")
    word_lists = [transcript_words(text) for text in texts]
    best = _medoid_index(word_lists, weights)
    others = word_lists[:best] + word_lists[best + 1 :]
    return _text_result(
        texts[best][:MAX_TRANSCRIPT_CHARS].strip(), word_lists[best], others, word_lists
    )


@dataclass(frozen=True)
class _Alignment:
    """A hypothesis laid on a pivot: the word at each pivot word ('' if dropped), the words
    inserted in each of the ``len(pivot) + 1`` gaps around them."""

    slots: tuple[str, ...]
    gaps: tuple[tuple[str, ...], ...]


def _align(pivot: Sequence[str], hypothesis: Sequence[str]) -> _Alignment:
    """One least-cost word alignment (rapidfuzz's edit operations, in C++)."""
    slots = [""] * len(pivot)
    gaps: list[list[str]] = [[] for _ in range(len(pivot) + 1)]
    for op in Levenshtein.opcodes(pivot, hypothesis):
        if op.tag in ("equal", "replace"):
            for offset in range(op.src_end - op.src_start):
                slots[op.src_start + offset] = hypothesis[op.dest_start + offset]
        elif op.tag == "insert":
            gaps[op.src_start].extend(hypothesis[op.dest_start : op.dest_end])
    return _Alignment(tuple(slots), tuple(tuple(gap) for gap in gaps))


def _plurality(candidates: Sequence[T], default: T, weights: Sequence[float]) -> T:
    """Candidate with the most weight; among equals ``default`` if it is one, else the first."""
    totals: dict[T, float] = {}
    for candidate, weight in zip(candidates, weights, strict=True):
        totals[candidate] = totals.get(candidate, 0.0) + weight
    most = max(totals.values())
    if math.isclose(totals.get(default, -1.0), most):
        return default
    return next(c for c in candidates if math.isclose(totals[c], most))


def rover_transcript(texts: Sequence[str], weights: Sequence[float] | None = None) -> TextResult:
    """ROVER-style word vote: align every answer to the medoid and vote word by word.

    ``weights`` (one per text, default all 1) weigh each typist's words in the vote and in the
    choice of the medoid (``bot/text_consensus.py`` learns them from the batch).

    The text comes out normalised (lower case, no punctuation). Fewer than three answers cannot
    outvote anything, so the medoid is returned as typed.
    """
    if len(texts) < 3:
        return medoid_transcript(texts)
    word_lists = [transcript_words(text) for text in texts]
    weight = list(weights) if weights is not None else [1.0] * len(texts)
    pivot = word_lists[_medoid_index(word_lists, weight)]
    alignments = [_align(pivot, words) for words in word_lists]
    voted: list[str] = []
    for position in range(len(pivot) + 1):
        voted.extend(_plurality([a.gaps[position] for a in alignments], (), weight))
        if position < len(pivot):
            word = _plurality([a.slots[position] for a in alignments], pivot[position], weight)
            voted.extend([word] if word else [])
    words = tuple(voted)
    return _text_result(" ".join(words), words, word_lists, word_lists)


# --- early stopping ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StopDecision:
    """Whether an item stops collecting answers, and why."""

    stop: bool
    reason: Literal["confident", "limit", "collecting"]
    confidence: float
    answers: int


def _stop_decision(
    answers: int, confidence: float, answers_per_item: int, threshold: float, min_answers: int
) -> StopDecision:
    """Dynamic overlap in the worker loop: another answer only while ``needs_more`` says so."""
    if needs_more(
        confidence, answers, threshold=threshold, least=min_answers, most=answers_per_item
    ):
        return StopDecision(False, "collecting", confidence, answers)
    reason: Literal["confident", "limit"] = "limit" if answers >= answers_per_item else "confident"
    return StopDecision(True, reason, confidence, answers)


def should_stop(
    answers: Sequence[Vote],
    worker_accuracies: Mapping[int, float],
    answers_per_item: int,
    threshold: float = 0.95,
    *,
    class_count: int,
    default_accuracy: float = DEFAULT_ACCURACY,
    min_answers: int = 2,
) -> StopDecision:
    """Stop once the weighted vote's confidence reaches ``threshold`` (never on one answer), or
    at ``answers_per_item``. With 5 classes, two agreeing workers of accuracy 0.7 or more pass
    0.95; two newcomers at the prior (0.7) reach 0.956, two at 0.65 only 0.93."""
    confidence = 0.0
    if answers:
        result = weighted_vote(
            answers, worker_accuracies, class_count=class_count, default_accuracy=default_accuracy
        )
        confidence = result.confidence
    return _stop_decision(len(answers), confidence, answers_per_item, threshold, min_answers)


def should_stop_text(
    texts: Sequence[str], answers_per_item: int, threshold: float = 0.9, min_answers: int = 2
) -> StopDecision:
    """Stop a transcription once the medoid's confidence reaches ``threshold``; empty texts
    agreeing (a blank or a lazy answer twice) never stop an item early."""
    if not texts:
        return _stop_decision(0, 0.0, answers_per_item, threshold, min_answers)
    result = medoid_transcript(texts)
    confidence = result.confidence if transcript_words(result.text) else 0.0
    return _stop_decision(len(texts), confidence, answers_per_item, threshold, min_answers)
