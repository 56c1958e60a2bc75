"""Aggregation rules, Dawid-Skene: full-confusion, one-coin, shrunk and pooled models by EM (pure).

The models share one EM loop and differ only in how a worker's confusion matrix is estimated
from the expected counts: **full** keeps one row per true class (it learns that a worker calls
fear "surprise", or prefers one label), **one-coin** keeps one accuracy per worker and spreads
the mistakes evenly (fewer parameters: it needs less data and cannot over-fit a sparse worker),
**shrunk** pulls each full row towards the worker's own one coin, and **pooled** pulls it
towards the whole crowd's confusion (a hierarchical prior: a mistake the crowd shares, such as a
preference for one label, is learnt from every answer, and each worker keeps their own deviation
once they have answered enough). ``bot/model_choice.py`` picks among them by held-out
likelihood. A ``multiple = true`` batch fits one binary model per label (``bot/multilabel.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.multilabel import dawid_skene_per_label
from bot.quality import LabelSet
from bot.votes import DEFAULT_ACCURACY, LabelResult, Vote, agreement

Model = Literal["full", "one-coin", "shrunk", "pooled"]
MODELS: tuple[Model, ...] = ("full", "one-coin", "shrunk", "pooled")
SHRINK_ANSWERS = 10.0  # the shrunk model's imaginary answers per row, spread as its one coin
POOL_ANSWERS = 10.0  # the pooled model's imaginary answers per row, spread as the crowd's row
Matrix = list[list[float]]


@dataclass(frozen=True)
class DawidSkeneResult:
    """Item answers from expectation-maximisation, and what it learnt about each worker."""

    items: Mapping[int, LabelResult]
    classes: tuple[LabelSet, ...]
    worker_accuracy: Mapping[int, float]  # share of items a worker answers right, by the model
    iterations: int
    converged: bool
    model: str = "full"


@dataclass(frozen=True)
class Problem:
    """Answers by index: items, classes (the answers seen), workers."""

    item_ids: tuple[int, ...]
    classes: tuple[LabelSet, ...]
    worker_ids: tuple[int, ...]
    observations: tuple[tuple[tuple[int, int], ...], ...]  # per item: (worker, class) indices
    clamped: Mapping[int, int]  # item index -> class index of a known (gold) answer


@dataclass(frozen=True)
class Fit:
    """A fitted model: each item's posterior, the class priors and each worker's confusions."""

    posteriors: Matrix
    priors: list[float]
    confusions: list[Matrix]
    iterations: int
    converged: bool


@dataclass(frozen=True)
class Settings:
    """EM's knobs: stopping, and the imaginary answers each confusion row starts with."""

    max_iterations: int = 50
    tolerance: float = 1e-6
    smoothing: float = 2.0
    prior_accuracy: float = DEFAULT_ACCURACY


def dawid_skene(
    votes_by_item: Mapping[int, Sequence[Vote]],
    *,
    gold: Mapping[int, LabelSet] | None = None,
    max_iterations: int = 50,
    tolerance: float = 1e-6,
    smoothing: float = 2.0,
    prior_accuracy: float = DEFAULT_ACCURACY,
    multiple: bool = False,
    model: Model = "full",
) -> DawidSkeneResult:
    """Dawid-Skene: one confusion matrix per worker (or one accuracy, ``model="one-coin"``).

    Classes are the answers seen in the batch. Each confusion row gets ``smoothing`` imaginary
    answers, ``prior_accuracy`` of them on the diagonal, so a worker with few answers looks like
    an average worker rather than a degenerate one. ``gold`` items keep their known answer.

    With ``multiple`` (a tagging batch), each label is its own two-class model and an item's
    answer is the set of labels more likely ticked than not (``bot/multilabel.py``); the classes
    are then the labels, each as a set of one.
    """
    settings = Settings(max_iterations, tolerance, smoothing, prior_accuracy)
    if multiple:
        return _per_label(votes_by_item, gold or {}, settings)
    problem = index(votes_by_item, gold or {})
    fitted = fit(problem, model, settings)
    return result_of(problem, fitted, votes_by_item, model)


def _per_label(
    votes_by_item: Mapping[int, Sequence[Vote]], gold: Mapping[int, LabelSet], settings: Settings
) -> DawidSkeneResult:
    fitted = dawid_skene_per_label(
        {item: [(v.worker_id, v.labels) for v in votes] for item, votes in votes_by_item.items()},
        gold=gold,
        max_iterations=settings.max_iterations,
        tolerance=settings.tolerance,
        smoothing=settings.smoothing,
        prior_accuracy=settings.prior_accuracy,
    )
    return DawidSkeneResult(
        items={
            item: LabelResult(
                found.answer,
                found.confidence,
                agreement(votes_by_item[item], found.answer),
                len(votes_by_item[item]),
            )
            for item, found in fitted.items.items()
        },
        classes=tuple(frozenset({label}) for label in fitted.labels),
        worker_accuracy=fitted.worker_accuracy,
        iterations=fitted.iterations,
        converged=fitted.converged,
        model="per-label",
    )


def index(votes_by_item: Mapping[int, Sequence[Vote]], gold: Mapping[int, LabelSet]) -> Problem:
    """The answers as indices; classes in the order first seen (gold answers included)."""
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
    clamped = {i: classes[gold[item]] for i, item in enumerate(item_ids) if item in gold}
    return Problem(item_ids, tuple(classes), tuple(workers), tuple(observations), clamped)


def fit(problem: Problem, model: Model, settings: Settings) -> Fit:
    """EM from the soft majority until no posterior moves by ``tolerance``."""
    posteriors = _initial_posteriors(problem)
    iterations, converged = 0, False
    while iterations < settings.max_iterations and not converged:
        iterations += 1
        priors = _class_priors(posteriors, len(problem.classes))
        confusions = _confusions(problem, posteriors, model, settings)
        updated = _expected_classes(problem, priors, confusions)
        converged = _largest_change(posteriors, updated) < settings.tolerance
        posteriors = updated
    priors = _class_priors(posteriors, len(problem.classes))
    confusions = _confusions(problem, posteriors, model, settings)
    return Fit(posteriors, priors, confusions, iterations, converged)


def result_of(
    problem: Problem, fitted: Fit, votes_by_item: Mapping[int, Sequence[Vote]], model: str
) -> DawidSkeneResult:
    """The fit as item results (ties to the class seen first) and worker accuracies."""
    items = {}
    for item, row in zip(problem.item_ids, fitted.posteriors, strict=True):
        best = max(range(len(row)), key=lambda c: row[c])
        votes = votes_by_item[item]
        answer = problem.classes[best]
        items[item] = LabelResult(answer, row[best], agreement(votes, answer), len(votes))
    accuracy = {
        worker: sum(prior * fitted.confusions[w][c][c] for c, prior in enumerate(fitted.priors))
        for w, worker in enumerate(problem.worker_ids)
    }
    return DawidSkeneResult(
        items, problem.classes, accuracy, fitted.iterations, fitted.converged, model
    )


def _initial_posteriors(problem: Problem) -> Matrix:
    """Vote shares per item (soft majority vote); known answers one-hot."""
    size = len(problem.classes)
    posteriors = []
    for i, observed in enumerate(problem.observations):
        row = [0.0] * size
        if i in problem.clamped:
            row[problem.clamped[i]] = 1.0
        else:
            for _, answer in observed:
                row[answer] += 1 / len(observed)
        posteriors.append(row)
    return posteriors


def _class_priors(posteriors: Matrix, size: int) -> list[float]:
    totals = [sum(row[c] for row in posteriors) + 1.0 for c in range(size)]
    return [total / sum(totals) for total in totals]


def _expected_counts(problem: Problem, posteriors: Matrix) -> list[Matrix]:
    """Per worker, the expected number of answers j given on items of true class c."""
    size = len(problem.classes)
    counts = [[[0.0] * size for _ in range(size)] for _ in problem.worker_ids]
    for row, observed in zip(posteriors, problem.observations, strict=True):
        for worker, answer in observed:
            for c in range(size):
                counts[worker][c][answer] += row[c]
    return counts


def _confusions(problem: Problem, posteriors: Matrix, model: Model, s: Settings) -> list[Matrix]:
    """Per worker, P(answer j | true class c), smoothed towards ``prior_accuracy``."""
    size = len(problem.classes)
    counts = _expected_counts(problem, posteriors)
    if model == "one-coin":
        return [_one_coin(matrix, size, s) for matrix in counts]
    if model == "shrunk":
        return [_shrunk(matrix, _one_coin(matrix, size, s)) for matrix in counts]
    if model == "pooled":
        crowd = _smoothed(_pooled(counts, size), s)
        return [_shrunk(matrix, crowd, POOL_ANSWERS) for matrix in counts]
    return [_smoothed(matrix, s) for matrix in counts]


def _smoothed(matrix: Matrix, s: Settings) -> Matrix:
    """Rows of counts as probabilities, each with ``smoothing`` imaginary answers at
    ``prior_accuracy``."""
    size = len(matrix)
    off = s.smoothing * (1 - s.prior_accuracy) / max(1, size - 1)
    rows = []
    for c, line in enumerate(matrix):
        smoothed = [
            n + (s.smoothing * s.prior_accuracy if c == j else off) for j, n in enumerate(line)
        ]
        total = sum(smoothed)
        rows.append([n / total for n in smoothed])
    return rows


def _pooled(counts: Sequence[Matrix], size: int) -> Matrix:
    """The whole crowd's expected counts: one confusion matrix as if every answer were one
    worker's."""
    return [[sum(matrix[c][j] for matrix in counts) for j in range(size)] for c in range(size)]


def _one_coin(matrix: Matrix, size: int, s: Settings) -> Matrix:
    """One accuracy for every class; the mistakes spread evenly over the other classes."""
    right = sum(matrix[c][c] for c in range(size)) + s.smoothing * s.prior_accuracy
    total = sum(map(sum, matrix)) + s.smoothing
    accuracy = min(right / total, 1 - 1e-9)
    wrong = (1 - accuracy) / max(1, size - 1)
    return [[accuracy if c == j else wrong for j in range(size)] for c in range(size)]


def _shrunk(matrix: Matrix, towards: Matrix, answers: float = SHRINK_ANSWERS) -> Matrix:
    """Full rows pulled towards ``towards`` (the worker's own one coin, or the crowd's pooled
    confusion) by ``answers`` imaginary answers: a row seen little looks like it."""
    rows = []
    for line, prior in zip(matrix, towards, strict=True):
        smoothed = [n + answers * p for n, p in zip(line, prior, strict=True)]
        total = sum(smoothed)
        rows.append([n / total for n in smoothed])
    return rows


def _expected_classes(problem: Problem, priors: list[float], confusions: list[Matrix]) -> Matrix:
    """E-step: each item's posterior over the classes given every worker's confusion matrix."""
    size = len(problem.classes)
    posteriors = []
    for i, observed in enumerate(problem.observations):
        if i in problem.clamped:
            posteriors.append([float(c == problem.clamped[i]) for c in range(size)])
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
