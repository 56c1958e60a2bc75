"""Aggregation rules, Dawid-Skene: full-confusion, one-coin, shrunk and pooled models by EM (numpy).

The models share one EM loop and differ only in how a worker's confusion matrix is estimated
from the expected counts: **full** keeps one row per true class (it learns that a worker calls
fear "surprise", or prefers one label), **one-coin** keeps one accuracy per worker and spreads
the mistakes evenly (fewer parameters: it needs less data and cannot over-fit a sparse worker),
**shrunk** pulls each full row towards the worker's own one coin, and **pooled** pulls it
towards the whole crowd's confusion (a hierarchical prior: a mistake the crowd shares, such as a
preference for one label, is learnt from every answer, and each worker keeps their own deviation
once they have answered enough). ``bot/model_choice.py`` picks among them by held-out
likelihood. A ``multiple = true`` batch fits one binary model per label (``bot/multilabel.py``).

Each EM step is a few array operations over every answer at once (issue 11: the pure-Python
loops took about 20 s per fit of a 10,000-item batch). Sums run in the order the pure-Python
version added them (answers in item order, classes in order), through ``np.bincount``, which
adds its weights in input order, and ``sequential_sum``; only ``exp`` and ``log`` may round
differently in the last bit. ``tests/test_dawid_skene.py`` compares with that version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from bot.multilabel import dawid_skene_per_label
from bot.quality import LabelSet
from bot.sums import add_into, ordered_sum, sequential_sum
from bot.votes import DEFAULT_ACCURACY, LabelResult, Vote, agreement

Model = Literal["full", "one-coin", "shrunk", "pooled"]
MODELS: tuple[Model, ...] = ("full", "one-coin", "shrunk", "pooled")
SHRINK_ANSWERS = 10.0  # the shrunk model's imaginary answers per row, spread as its one coin
POOL_ANSWERS = 10.0  # the pooled model's imaginary answers per row, spread as the crowd's row
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]


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
    """A fitted model: each item's posterior (items x classes), the class priors and each
    worker's confusions (workers x true class x answer)."""

    posteriors: Floats
    priors: Floats
    confusions: Floats
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


@dataclass(frozen=True)
class _Answers:
    """A problem's answers as arrays, in item order: who gave which class on which item."""

    items: int
    classes: int
    workers: int
    item: Ints  # per answer
    worker: Ints
    answer: Ints
    counts: Ints  # answers per item
    clamped: Ints  # item indices with a known answer
    clamped_class: Ints


def _arrays(problem: Problem) -> _Answers:
    flat = [(i, w, a) for i, observed in enumerate(problem.observations) for w, a in observed]
    table = np.array(flat, dtype=np.intp).reshape(-1, 3)
    clamped = sorted(problem.clamped.items())
    return _Answers(
        items=len(problem.observations),
        classes=len(problem.classes),
        workers=len(problem.worker_ids),
        item=table[:, 0].copy(),
        worker=table[:, 1].copy(),
        answer=table[:, 2].copy(),
        counts=np.array([len(observed) for observed in problem.observations], dtype=np.intp),
        clamped=np.array([i for i, _ in clamped], dtype=np.intp),
        clamped_class=np.array([c for _, c in clamped], dtype=np.intp),
    )


def fit(problem: Problem, model: Model, settings: Settings) -> Fit:
    """EM from the soft majority until no posterior moves by ``tolerance``."""
    answers = _arrays(problem)
    posteriors = _initial_posteriors(answers)
    iterations, converged = 0, False
    while iterations < settings.max_iterations and not converged:
        iterations += 1
        priors = _class_priors(posteriors)
        confusions = _confusions(answers, posteriors, model, settings)
        updated = _expected_classes(answers, priors, confusions)
        converged = _largest_change(posteriors, updated) < settings.tolerance
        posteriors = updated
    priors = _class_priors(posteriors)
    confusions = _confusions(answers, posteriors, model, settings)
    return Fit(posteriors, priors, confusions, iterations, converged)


def result_of(
    problem: Problem, fitted: Fit, votes_by_item: Mapping[int, Sequence[Vote]], model: str
) -> DawidSkeneResult:
    """The fit as item results (ties to the class seen first) and worker accuracies."""
    best = np.argmax(fitted.posteriors, axis=1) if len(problem.item_ids) else []
    items = {}
    for i, item in enumerate(problem.item_ids):
        chosen = int(best[i])
        votes = votes_by_item[item]
        answer = problem.classes[chosen]
        confidence = float(fitted.posteriors[i, chosen])
        items[item] = LabelResult(answer, confidence, agreement(votes, answer), len(votes))
    size = len(problem.classes)
    right = fitted.confusions[:, np.arange(size), np.arange(size)] * fitted.priors
    accuracy = sequential_sum(right).tolist() if size else [0] * len(problem.worker_ids)
    return DawidSkeneResult(
        items,
        problem.classes,
        dict(zip(problem.worker_ids, accuracy, strict=True)),
        fitted.iterations,
        fitted.converged,
        model,
    )


def _initial_posteriors(answers: _Answers) -> Floats:
    """Vote shares per item (soft majority vote); known answers one-hot."""
    size = answers.classes
    share = 1 / answers.counts[answers.item]
    posteriors = add_into(answers.item * size + answers.answer, share, answers.items * size)
    posteriors = posteriors.reshape(answers.items, size)
    return _clamp(posteriors, answers)


def _clamp(posteriors: Floats, answers: _Answers) -> Floats:
    posteriors[answers.clamped] = 0.0
    posteriors[answers.clamped, answers.clamped_class] = 1.0
    return posteriors


def _class_priors(posteriors: Floats) -> Floats:
    totals: Floats = posteriors.sum(axis=0) + 1.0  # along axis 0 numpy adds row after row
    return totals / ordered_sum(totals)


def _expected_counts(answers: _Answers, posteriors: Floats) -> Floats:
    """Per worker, the expected number of answers j given on items of true class c."""
    size = answers.classes
    base = answers.worker * size * size + answers.answer  # true class 0
    slots = base[:, None] + np.arange(size) * size  # answers x true class
    counts = add_into(slots.ravel(), posteriors[answers.item].ravel(), answers.workers * size**2)
    return counts.reshape(answers.workers, size, size)


def _confusions(answers: _Answers, posteriors: Floats, model: Model, s: Settings) -> Floats:
    """Per worker, P(answer j | true class c), smoothed towards ``prior_accuracy``."""
    size = answers.classes
    counts = _expected_counts(answers, posteriors)
    if model == "one-coin":
        return _one_coin(counts, s)
    if model == "shrunk":
        return _normalised(counts + SHRINK_ANSWERS * _one_coin(counts, s))
    prior = _smoothing_prior(size, s)
    if model == "pooled":
        crowd = _normalised(sequential_sum(np.moveaxis(counts, 0, -1)) + prior)  # all workers
        return _normalised(counts + POOL_ANSWERS * crowd)
    return _normalised(counts + prior)


def _smoothing_prior(size: int, s: Settings) -> Floats:
    """``smoothing`` imaginary answers per row at ``prior_accuracy``."""
    off = s.smoothing * (1 - s.prior_accuracy) / max(1, size - 1)
    prior = np.full((size, size), off)
    np.fill_diagonal(prior, s.smoothing * s.prior_accuracy)
    return prior


def _normalised(smoothed: Floats) -> Floats:
    """Each row divided by its sum (added left to right)."""
    return smoothed / sequential_sum(smoothed)[..., None]


def _one_coin(counts: Floats, s: Settings) -> Floats:
    """One accuracy for every class; the mistakes spread evenly over the other classes."""
    size = counts.shape[-1]
    diagonal = np.arange(size)
    right = sequential_sum(counts[:, diagonal, diagonal]) + s.smoothing * s.prior_accuracy
    total = sequential_sum(sequential_sum(counts)) + s.smoothing
    accuracy = np.minimum(right / total, 1 - 1e-9)
    wrong = (1 - accuracy) / max(1, size - 1)
    return np.where(np.eye(size, dtype=bool), accuracy[:, None, None], wrong[:, None, None])


def _expected_classes(answers: _Answers, priors: Floats, confusions: Floats) -> Floats:
    """E-step: each item's posterior over the classes given every worker's confusion matrix."""
    size, items = answers.classes, answers.items
    # Each answer's log-likelihood under every true class, added to the item's log prior: the
    # priors go first in bincount's input, so each item's sum starts from them as it did.
    logs = np.log(confusions[answers.worker, :, answers.answer])  # answers x true class
    slots = answers.item[:, None] * size + np.arange(size)
    weights = np.concatenate((np.tile(np.log(priors), items), logs.ravel()))
    where = np.concatenate((np.arange(items * size), slots.ravel()))
    totals = add_into(where, weights, items * size).reshape(items, size)
    top = totals.max(axis=1, keepdims=True) if items else totals
    exp = np.exp(totals - top)
    return _clamp(exp / sequential_sum(exp)[:, None], answers)


def _largest_change(before: Floats, after: Floats) -> float:
    return float(np.abs(before - after).max()) if before.size else 0.0
