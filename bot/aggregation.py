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
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from rapidfuzz.distance import Levenshtein

from bot.multilabel import dawid_skene_per_label
from bot.quality import DEFAULT_PRIOR, LabelSet, levenshtein, normalise_words

DEFAULT_ACCURACY = DEFAULT_PRIOR.mean  # a worker without gold answers counts as the prior says
MAX_ACCURACY = 0.99  # no worker's vote counts as certain
# A transcript enters aggregation cut to this: a 30 s chunk holds about 100 words, so these only
# stop a pasted essay from making a quadratic comparison slow.
MAX_TRANSCRIPT_CHARS = 2_000
MAX_TRANSCRIPT_WORDS = 400

T = TypeVar("T")


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
    return LabelResult(best, 1 / evidence, _agreement(votes, best), len(votes))


def _agreement(votes: Sequence[Vote], answer: LabelSet) -> float:
    return sum(vote.labels == answer for vote in votes) / len(votes)


# --- Dawid-Skene ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DawidSkeneResult:
    """Item answers from expectation-maximisation, and what it learnt about each worker."""

    items: Mapping[int, LabelResult]
    classes: tuple[LabelSet, ...]
    worker_accuracy: Mapping[int, float]  # share of items a worker answers right, by the model
    iterations: int
    converged: bool


@dataclass(frozen=True)
class _Problem:
    item_ids: tuple[int, ...]
    classes: tuple[LabelSet, ...]
    worker_ids: tuple[int, ...]
    observations: tuple[tuple[tuple[int, int], ...], ...]  # per item: (worker, class) indices
    clamped: Mapping[int, int]  # item index -> class index of a known (gold) answer


Matrix = list[list[float]]


def dawid_skene(
    votes_by_item: Mapping[int, Sequence[Vote]],
    *,
    gold: Mapping[int, LabelSet] | None = None,
    max_iterations: int = 50,
    tolerance: float = 1e-6,
    smoothing: float = 2.0,
    prior_accuracy: float = DEFAULT_ACCURACY,
    multiple: bool = False,
) -> DawidSkeneResult:
    """Dawid-Skene: one confusion matrix per worker, fitted by EM from a majority start.

    Classes are the answers seen in the batch. Each confusion row gets ``smoothing`` imaginary
    answers, ``prior_accuracy`` of them on the diagonal, so a worker with few answers looks like
    an average worker rather than a degenerate one. ``gold`` items keep their known answer.

    With ``multiple`` (a tagging batch), each label is its own two-class model and an item's
    answer is the set of labels more likely ticked than not (``bot/multilabel.py``); the classes
    are then the labels, each as a set of one.
    """
    if multiple:
        fitted = dawid_skene_per_label(
            {
                item: [(v.worker_id, v.labels) for v in votes]
                for item, votes in votes_by_item.items()
            },
            gold=gold or {},
            max_iterations=max_iterations,
            tolerance=tolerance,
            smoothing=smoothing,
            prior_accuracy=prior_accuracy,
        )
        return DawidSkeneResult(
            items={
                item: LabelResult(
                    found.answer,
                    found.confidence,
                    _agreement(votes_by_item[item], found.answer),
                    len(votes_by_item[item]),
                )
                for item, found in fitted.items.items()
            },
            classes=tuple(frozenset({label}) for label in fitted.labels),
            worker_accuracy=fitted.worker_accuracy,
            iterations=fitted.iterations,
            converged=fitted.converged,
        )
    problem = _index(votes_by_item, gold or {})
    posteriors = _initial_posteriors(problem)
    iterations, converged = 0, False
    while iterations < max_iterations and not converged:
        iterations += 1
        priors = _class_priors(posteriors, len(problem.classes))
        confusions = _confusions(problem, posteriors, smoothing, prior_accuracy)
        updated = _expected_classes(problem, priors, confusions)
        converged = _largest_change(posteriors, updated) < tolerance
        posteriors = updated
    priors = _class_priors(posteriors, len(problem.classes))
    confusions = _confusions(problem, posteriors, smoothing, prior_accuracy)
    return DawidSkeneResult(
        items=_ds_results(problem, posteriors, votes_by_item),
        classes=problem.classes,
        worker_accuracy=_worker_accuracy(problem, priors, confusions),
        iterations=iterations,
        converged=converged,
    )


def _index(votes_by_item: Mapping[int, Sequence[Vote]], gold: Mapping[int, LabelSet]) -> _Problem:
    item_ids = tuple(sorted(item for item, votes in votes_by_item.items() if votes))
    classes: dict[LabelSet, int] = {}
    workers: dict[int, int] = {}
    observations = []
    for item in item_ids:
        for answer in (*(vote.labels for vote in votes_by_item[item]), gold.get(item)):
            if answer is not None:
                classes.setdefault(answer, len(classes))
        observations.append(
            tuple(
                (workers.setdefault(vote.worker_id, len(workers)), classes[vote.labels])
                for vote in votes_by_item[item]
            )
        )
    clamped = {index: classes[gold[item]] for index, item in enumerate(item_ids) if item in gold}
    return _Problem(item_ids, tuple(classes), tuple(workers), tuple(observations), clamped)


def _initial_posteriors(problem: _Problem) -> Matrix:
    """Vote shares per item (soft majority vote); known answers one-hot."""
    size = len(problem.classes)
    posteriors = []
    for index, observed in enumerate(problem.observations):
        row = [0.0] * size
        if index in problem.clamped:
            row[problem.clamped[index]] = 1.0
        else:
            for _, answer in observed:
                row[answer] += 1 / len(observed)
        posteriors.append(row)
    return posteriors


def _class_priors(posteriors: Matrix, size: int) -> list[float]:
    totals = [sum(row[c] for row in posteriors) + 1.0 for c in range(size)]
    return [total / sum(totals) for total in totals]


def _confusions(
    problem: _Problem, posteriors: Matrix, smoothing: float, prior_accuracy: float
) -> list[Matrix]:
    """Per worker, P(answer j | true class c), with diagonal-heavy pseudo-counts."""
    size = len(problem.classes)
    off = smoothing * (1 - prior_accuracy) / max(1, size - 1)
    counts = [
        [[smoothing * prior_accuracy if c == j else off for j in range(size)] for c in range(size)]
        for _ in problem.worker_ids
    ]
    for row, observed in zip(posteriors, problem.observations, strict=True):
        for worker, answer in observed:
            for c in range(size):
                counts[worker][c][answer] += row[c]
    return [[[n / sum(line) for n in line] for line in matrix] for matrix in counts]


def _expected_classes(problem: _Problem, priors: list[float], confusions: list[Matrix]) -> Matrix:
    """E-step: each item's posterior over the classes given every worker's confusion matrix."""
    size = len(problem.classes)
    posteriors = []
    for index, observed in enumerate(problem.observations):
        if index in problem.clamped:
            posteriors.append([float(c == problem.clamped[index]) for c in range(size)])
            continue
        logs = [math.log(priors[c]) for c in range(size)]
        for worker, answer in observed:
            for c in range(size):
                logs[c] += math.log(confusions[worker][c][answer])
        top = max(logs)
        weights = [math.exp(value - top) for value in logs]
        posteriors.append([weight / sum(weights) for weight in weights])
    return posteriors


def _largest_change(before: Matrix, after: Matrix) -> float:
    pairs = zip(before, after, strict=True)
    return max(
        (abs(a - b) for old, new in pairs for a, b in zip(old, new, strict=True)), default=0.0
    )


def _ds_results(
    problem: _Problem, posteriors: Matrix, votes_by_item: Mapping[int, Sequence[Vote]]
) -> dict[int, LabelResult]:
    results = {}
    for item, row in zip(problem.item_ids, posteriors, strict=True):
        best = max(range(len(row)), key=lambda c: row[c])  # first of equals: first class seen
        votes = votes_by_item[item]
        answer = problem.classes[best]
        results[item] = LabelResult(answer, row[best], _agreement(votes, answer), len(votes))
    return results


def _worker_accuracy(
    problem: _Problem, priors: list[float], confusions: list[Matrix]
) -> dict[int, float]:
    return {
        worker: sum(prior * confusions[index][c][c] for c, prior in enumerate(priors))
        for index, worker in enumerate(problem.worker_ids)
    }


# --- transcription ----------------------------------------------------------------------------


def transcript_words(text: str) -> tuple[str, ...]:
    """A transcript's comparable words, bounded: at most ``MAX_TRANSCRIPT_WORDS`` words of its
    first ``MAX_TRANSCRIPT_CHARS`` characters."""
    return normalise_words(text[:MAX_TRANSCRIPT_CHARS])[:MAX_TRANSCRIPT_WORDS]


def _normalised_distance(first: Sequence[str], second: Sequence[str]) -> float:
    longest = max(len(first), len(second))
    return levenshtein(first, second) / longest if longest else 0.0


def _medoid_index(word_lists: Sequence[tuple[str, ...]]) -> int:
    """The answer with the least total word edit distance to all others; ties to the earliest.

    Each pair is compared once (the distance is symmetric)."""
    totals = [0] * len(word_lists)
    for index, words in enumerate(word_lists):
        for other in range(index + 1, len(word_lists)):
            distance = Levenshtein.distance(words, word_lists[other])
            totals[index] += distance
            totals[other] += distance
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


def medoid_transcript(texts: Sequence[str]) -> TextResult:
    """The answer closest to all others, as typed (cut to ``MAX_TRANSCRIPT_CHARS``); a lone
    answer has confidence 0."""
    if not texts:
        raise ValueError("an item needs at least one answer to aggregate")
    word_lists = [transcript_words(text) for text in texts]
    best = _medoid_index(word_lists)
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


def _plurality(candidates: Sequence[T], default: T) -> T:
    """Most frequent candidate; among equals ``default`` if it is one, else the first."""
    counts = Counter(candidates)
    most = max(counts.values())
    return default if counts[default] == most else next(c for c in candidates if counts[c] == most)


def rover_transcript(texts: Sequence[str]) -> TextResult:
    """ROVER-style word vote: align every answer to the medoid and vote word by word.

    The text comes out normalised (lower case, no punctuation). Fewer than three answers cannot
    outvote anything, so the medoid is returned as typed.
    """
    if len(texts) < 3:
        return medoid_transcript(texts)
    word_lists = [transcript_words(text) for text in texts]
    pivot = word_lists[_medoid_index(word_lists)]
    alignments = [_align(pivot, words) for words in word_lists]
    voted: list[str] = []
    for position in range(len(pivot) + 1):
        voted.extend(_plurality([a.gaps[position] for a in alignments], default=()))
        if position < len(pivot):
            word = _plurality([a.slots[position] for a in alignments], default=pivot[position])
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
    if answers >= answers_per_item:
        return StopDecision(True, "limit", confidence, answers)
    if answers >= min_answers and confidence >= threshold:
        return StopDecision(True, "confident", confidence, answers)
    return StopDecision(False, "collecting", confidence, answers)


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
