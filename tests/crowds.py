"""Crowd simulation for the aggregation tests: a seeded crowd of simulated workers and its report.

The acceptance test of issue 6 (``tests/test_crowd_simulation.py``) runs it once;
``bench/aggregation_report.py`` prints the same report over several seeds.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.aggregation import (
    LabelResult,
    Vote,
    dawid_skene,
    majority_vote,
    medoid_transcript,
    rover_transcript,
    should_stop,
    should_stop_text,
    weighted_vote,
)
from bot.quality import estimate_accuracy, gold_score, word_error_rate

SEED = 2026
CLASSES = 5
ITEMS = 300
WORKERS = 30
ANSWERS_PER_ITEM = 5
GOLD_ITEMS = 40
GOLD_PER_WORKER = 6  # about 1 in 8 of the 50 answers each worker gives
STOP_THRESHOLD = 0.95
TEXT_STOP_THRESHOLD = 0.9

Kind = Literal["random", "constant", "middling", "good"]


@dataclass(frozen=True)
class SimWorker:
    """A simulated worker: how they answer, and how often they are right."""

    worker_id: int
    kind: Kind
    accuracy: float


def make_crowd(rng: random.Random) -> list[SimWorker]:
    """30 workers: 4 random clickers, 2 who always press the first button, 4 good, 20 middling."""
    groups: list[tuple[Kind, float, float, int]] = [
        ("random", 0.0, 0.0, 4),
        ("constant", 0.0, 0.0, 2),
        ("good", 0.88, 0.95, 4),
        ("middling", 0.5, 0.8, 20),
    ]
    kinds = [(kind, low, high) for kind, low, high, count in groups for _ in range(count)]
    return [
        SimWorker(worker_id, kind, rng.uniform(low, high) if high else 1 / CLASSES)
        for worker_id, (kind, low, high) in enumerate(kinds, start=1)
    ]


def label(index: int) -> frozenset[str]:
    return frozenset({f"class{index}"})


def answer_label(worker: SimWorker, truth: int, rng: random.Random) -> int:
    """Right with the worker's accuracy; half the mistakes go to the look-alike next class."""
    if worker.kind == "random":
        return rng.randrange(CLASSES)
    if worker.kind == "constant":
        return 0
    if rng.random() < worker.accuracy:
        return truth
    if rng.random() < 0.5:
        return (truth + 1) % CLASSES
    return rng.choice([c for c in range(CLASSES) if c != truth])


# --- label simulation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelReport:
    seed: int
    majority: float
    weighted: float
    dawid_skene: float
    early_answers: int
    full_answers: int
    early_accuracy: float


@dataclass(frozen=True)
class _LabelCrowdRun:
    truths: Mapping[int, int]
    votes: Mapping[int, Sequence[Vote]]  # every item's answers in arrival order, gold included
    gold: Mapping[int, frozenset[str]]
    accuracies: Mapping[int, float]  # smoothed gold accuracy, as the bot would know it


def _gold_answers(
    crowd: Sequence[SimWorker], rng: random.Random
) -> tuple[dict[int, int], dict[int, list[Vote]], dict[int, float]]:
    gold_truths = {ITEMS + n: rng.randrange(CLASSES) for n in range(GOLD_ITEMS)}
    votes: dict[int, list[Vote]] = {item: [] for item in gold_truths}
    accuracies = {}
    for worker in crowd:
        scores = []
        for item in rng.sample(sorted(gold_truths), GOLD_PER_WORKER):
            given = label(answer_label(worker, gold_truths[item], rng))
            votes[item].append(Vote(worker.worker_id, given))
            scores.append(gold_score("emotion", label(gold_truths[item]), given))
        accuracies[worker.worker_id] = estimate_accuracy(scores).score
    return gold_truths, votes, accuracies


def simulate_label_crowd(seed: int) -> _LabelCrowdRun:
    rng = random.Random(seed)
    crowd = make_crowd(rng)
    gold_truths, votes, accuracies = _gold_answers(crowd, rng)
    truths = {item: rng.randrange(CLASSES) for item in range(ITEMS)}
    for item, truth in truths.items():
        workers = rng.sample(crowd, ANSWERS_PER_ITEM)
        votes[item] = [Vote(w.worker_id, label(answer_label(w, truth, rng))) for w in workers]
    gold = {item: label(truth) for item, truth in gold_truths.items()}
    return _LabelCrowdRun(truths, votes, gold, accuracies)


def _accuracy(results: Mapping[int, LabelResult], truths: Mapping[int, int]) -> float:
    return sum(results[item].answer == label(truth) for item, truth in truths.items()) / len(truths)


def _early_stopping(run: _LabelCrowdRun) -> tuple[int, dict[int, LabelResult]]:
    """Answers arrive one by one; an item stops as soon as ``should_stop`` says so."""
    collected, results = 0, {}
    for item in run.truths:
        answers = list(run.votes[item])
        taken = len(answers)
        for count in range(1, len(answers) + 1):
            decision = should_stop(
                answers[:count],
                run.accuracies,
                ANSWERS_PER_ITEM,
                STOP_THRESHOLD,
                class_count=CLASSES,
            )
            if decision.stop:
                taken = count
                break
        collected += taken
        results[item] = weighted_vote(answers[:taken], run.accuracies, class_count=CLASSES)
    return collected, results


def run_label_simulation(seed: int) -> LabelReport:
    run = simulate_label_crowd(seed)
    majority = {item: majority_vote(run.votes[item], class_count=CLASSES) for item in run.truths}
    weighted = {
        item: weighted_vote(run.votes[item], run.accuracies, class_count=CLASSES)
        for item in run.truths
    }
    ds = dawid_skene(run.votes, gold=run.gold)
    early_answers, early = _early_stopping(run)
    return LabelReport(
        seed=seed,
        majority=_accuracy(majority, run.truths),
        weighted=_accuracy(weighted, run.truths),
        dawid_skene=_accuracy(ds.items, run.truths),
        early_answers=early_answers,
        full_answers=ITEMS * ANSWERS_PER_ITEM,
        early_accuracy=_accuracy(early, run.truths),
    )


# --- transcription simulation ---------------------------------------------------------------


@dataclass(frozen=True)
class TypingHabits:
    """Per-word chances of a substitution, a deletion and an insertion; a spammer types noise."""

    substitution: float
    deletion: float
    insertion: float
    spammer: bool = False


@dataclass(frozen=True)
class TextReport:
    seed: int
    random_single_wer: float
    medoid_wer: float
    rover_wer: float
    early_answers: int
    full_answers: int
    early_medoid_wer: float


def make_vocabulary(rng: random.Random, size: int = 400) -> list[str]:
    syllables = [c + v for c in "bcdfglmnprstv" for v in "aeiou"]
    words = {"".join(rng.choices(syllables, k=rng.randint(1, 3))) for _ in range(size * 2)}
    return sorted(words)[:size]


def make_typists(rng: random.Random) -> list[TypingHabits]:
    """30 typists: 4 typing noise, 4 careful, 22 with middling error rates."""
    return (
        [TypingHabits(0, 0, 0, spammer=True)] * 4
        + [TypingHabits(0.02, 0.01, 0.01)] * 4
        + [
            TypingHabits(rng.uniform(0.04, 0.15), rng.uniform(0.01, 0.06), rng.uniform(0.01, 0.05))
            for _ in range(22)
        ]
    )


def typed(
    reference: Sequence[str], habits: TypingHabits, vocabulary: Sequence[str], rng: random.Random
) -> str:
    if habits.spammer:
        return " ".join(rng.choices(vocabulary, k=rng.randint(1, 6)))
    words = []
    for word in reference:
        roll = rng.random()
        if roll >= habits.deletion:
            words.append(
                rng.choice(vocabulary) if roll < habits.deletion + habits.substitution else word
            )
        if rng.random() < habits.insertion:
            words.append(rng.choice(vocabulary))
    return " ".join(words)


def _text_early_stopping(answers: Sequence[str]) -> list[str]:
    for count in range(1, len(answers) + 1):
        if should_stop_text(answers[:count], ANSWERS_PER_ITEM, TEXT_STOP_THRESHOLD).stop:
            return list(answers[:count])
    return list(answers)


def _score_text_item(truth: str, answers: Sequence[str]) -> tuple[float, float, float, float, int]:
    """WER of a random single answer (its mean), the medoid, ROVER and the early-stopped medoid,
    and how many answers early stopping took."""
    collected = _text_early_stopping(answers)
    return (
        statistics.fmean(word_error_rate(truth, answer) for answer in answers),
        word_error_rate(truth, medoid_transcript(answers).text),
        word_error_rate(truth, rover_transcript(answers).text),
        word_error_rate(truth, medoid_transcript(collected).text),
        len(collected),
    )


def run_text_simulation(seed: int) -> TextReport:
    rng = random.Random(seed)
    vocabulary = make_vocabulary(rng)
    typists = make_typists(rng)
    scores = []
    for _ in range(ITEMS):
        reference = rng.choices(vocabulary, k=rng.randint(8, 16))
        answers = [
            typed(reference, habits, vocabulary, rng)
            for habits in rng.sample(typists, ANSWERS_PER_ITEM)
        ]
        scores.append(_score_text_item(" ".join(reference), answers))
    single, medoid, rover, early, taken = zip(*scores, strict=True)
    return TextReport(
        seed=seed,
        random_single_wer=statistics.fmean(single),
        medoid_wer=statistics.fmean(medoid),
        rover_wer=statistics.fmean(rover),
        early_answers=sum(taken),
        full_answers=ITEMS * ANSWERS_PER_ITEM,
        early_medoid_wer=statistics.fmean(early),
    )


def format_report(labels: LabelReport, texts: TextReport) -> str:
    saved = labels.full_answers - labels.early_answers
    text_saved = texts.full_answers - texts.early_answers
    return "\n".join(
        [
            f"seed {labels.seed}: {WORKERS} workers, {ITEMS} items, "
            f"{ANSWERS_PER_ITEM} answers each",
            f"  labels ({CLASSES} classes): majority {labels.majority:.3f}, weighted "
            f"{labels.weighted:.3f}, Dawid-Skene {labels.dawid_skene:.3f}",
            f"  early stopping at {STOP_THRESHOLD}: {labels.early_answers} answers of "
            f"{labels.full_answers} ({saved} saved, {saved / labels.full_answers:.0%}), "
            f"accuracy {labels.early_accuracy:.3f}",
            f"  transcription WER: random single answer {texts.random_single_wer:.3f}, medoid "
            f"{texts.medoid_wer:.3f}, ROVER {texts.rover_wer:.3f}",
            f"  early stopping at {TEXT_STOP_THRESHOLD}: {texts.early_answers} answers of "
            f"{texts.full_answers} ({text_saved} saved, {text_saved / texts.full_answers:.0%}), "
            f"medoid WER {texts.early_medoid_wer:.3f}",
        ]
    )
