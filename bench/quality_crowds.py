"""Bench: seeded simulated crowds for the quality benchmark (labels and transcripts).

Each label crowd is a set of workers, each with a confusion matrix (P(answer | true class)), and
items with a true class drawn from the crowd's class priors. ``answer`` draws one worker's
answer to one item, so the same crowd serves a fixed overlap and a dynamic one (answers bought
one at a time). Transcript crowds are typists with word substitution, deletion and insertion
rates, and spammers who type unrelated words.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

CLASSES = 5
ITEMS = 300
WORKERS = 30
OVERLAP = 5

Row = list[float]


@dataclass(frozen=True)
class LabelCrowd:
    """A crowd: each worker's confusion matrix, each item's true class."""

    name: str
    confusions: dict[int, list[Row]]  # worker id -> rows by true class
    truth: dict[int, int]  # item id -> true class

    def answer(self, worker: int, item: int, rng: random.Random) -> int:
        """One answer of ``worker`` to ``item``, drawn from the worker's confusion row."""
        row = self.confusions[worker][self.truth[item]]
        return rng.choices(range(len(row)), weights=row)[0]


def _uniform_errors(accuracy: float, truth: int) -> Row:
    return [accuracy if j == truth else (1 - accuracy) / (CLASSES - 1) for j in range(CLASSES)]


def _towards(accuracy: float, truth: int, target: int, share: float) -> Row:
    """Right with ``accuracy``; ``share`` of the mistakes go to ``target``, the rest evenly."""
    if truth == target:
        return _uniform_errors(accuracy, truth)
    row = [(1 - accuracy) * (1 - share) / (CLASSES - 2) for _ in range(CLASSES)]
    row[truth], row[target] = accuracy, (1 - accuracy) * share
    return row


def _matrix(row_of: Callable[[int], Row]) -> list[Row]:
    return [row_of(truth) for truth in range(CLASSES)]


def _honest(rng: random.Random, low: float, high: float) -> list[Row]:
    accuracy = rng.uniform(low, high)
    return _matrix(lambda t: _uniform_errors(accuracy, t))


def _spammer() -> list[Row]:
    return _matrix(lambda t: [1 / CLASSES] * CLASSES)


def _colluder() -> list[Row]:
    """Answers the class after the true one, as the other colluders do."""
    return _matrix(lambda t: _towards(0.05, t, (t + 1) % CLASSES, 0.9))


def _biased(rng: random.Random) -> list[Row]:
    """Middling, and 80% of the mistakes go to class 0 (a preference the crowd shares)."""
    accuracy = rng.uniform(0.45, 0.75)
    return _matrix(lambda t: _towards(accuracy, t, 0, 0.8))


def _lookalike(rng: random.Random) -> list[Row]:
    """Middling; half the mistakes go to the look-alike next class."""
    accuracy = rng.uniform(0.5, 0.8)
    return _matrix(lambda t: _towards(accuracy, t, (t + 1) % CLASSES, 0.5))


def _truth(rng: random.Random, priors: Row | None = None, items: int = ITEMS) -> dict[int, int]:
    weights = priors or [1.0] * CLASSES
    return {item: rng.choices(range(CLASSES), weights=weights)[0] for item in range(1, items + 1)}


def make_label_crowd(name: str, seed: int, items: int = ITEMS) -> LabelCrowd:
    """One of ``LABEL_CROWDS`` by name, drawn from ``seed`` (``items``: fewer for a short run)."""
    rng = random.Random(f"{name}:{seed}")
    workers = WORKERS
    makers: list[Callable[[], list[Row]]]
    priors: Row | None = None
    if name == "good":
        makers = [lambda: _honest(rng, 0.7, 0.95)] * workers
    elif name == "spammy":
        makers = [_spammer] * 9 + [lambda: _honest(rng, 0.6, 0.9)] * 21
    elif name == "biased":
        makers = [lambda: _biased(rng)] * workers
    elif name == "imbalanced":
        priors = [0.7] + [0.3 / (CLASSES - 1)] * (CLASSES - 1)
        makers = [lambda: _honest(rng, 0.55, 0.85)] * workers
    elif name == "sparse":
        workers = 150  # 10 answers each on average
        makers = [lambda: _honest(rng, 0.55, 0.9)] * workers
    elif name == "colluders":
        makers = [_colluder] * 6 + [lambda: _honest(rng, 0.6, 0.9)] * 24
    elif name == "lookalike":
        makers = [_spammer] * 4 + [lambda: _honest(rng, 0.88, 0.95)] * 4
        makers += [lambda: _lookalike(rng)] * 22
    else:
        raise ValueError(f"unknown crowd {name!r}")
    confusions = {worker: make() for worker, make in enumerate(makers, start=1)}
    return LabelCrowd(name, confusions, _truth(rng, priors, items))


LABEL_CROWDS = ("good", "spammy", "biased", "imbalanced", "sparse", "colluders", "lookalike")


def fixed_overlap(
    crowd: LabelCrowd, seed: int, overlap: int = OVERLAP
) -> list[tuple[int, int, int]]:
    """``overlap`` answers per item from distinct workers drawn at random: (item, worker, class)."""
    rng = random.Random(f"answers:{crowd.name}:{seed}")
    workers = sorted(crowd.confusions)
    rows = []
    for item in sorted(crowd.truth):
        for worker in rng.sample(workers, overlap):
            rows.append((item, worker, crowd.answer(worker, item, rng)))
    return rows


# --- transcripts ------------------------------------------------------------------------------

VOCABULARY = (
    "le la les un une de du des et est sont dans sur avec pour par pas plus tout bien "
    "maison rue ville train gare matin soir jour nuit temps pluie soleil vent mer port "
    "prix kilo litre boite paquet sucre farine lait pain beurre sel huile eau vin"
)
WORDS = tuple(VOCABULARY.split(" "))
SENTENCES = 200


@dataclass(frozen=True)
class Typist:
    """Per word: substitution, deletion and insertion rates; a spammer types anything."""

    substitute: float
    delete: float
    insert: float
    spammer: bool = False

    def type(self, words: list[str], rng: random.Random) -> str:
        if self.spammer:
            return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10)))
        typed: list[str] = []
        for word in words:
            if rng.random() < self.insert:
                typed.append(rng.choice(WORDS))
            roll = rng.random()
            if roll < self.delete:
                continue
            typed.append(rng.choice(WORDS) if roll < self.delete + self.substitute else word)
        return " ".join(typed)


@dataclass(frozen=True)
class TextCrowd:
    """Typists, and the true sentences."""

    name: str
    typists: dict[int, Typist]
    truth: dict[int, str]


def make_text_crowd(name: str, seed: int) -> TextCrowd:
    """``clean`` (careful typists), ``noisy`` (4-15% substitutions) or ``spammy`` (30% spam)."""
    rng = random.Random(f"{name}:{seed}")
    truth = {
        item: " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 16)))
        for item in range(1, SENTENCES + 1)
    }

    def middling() -> Typist:
        return Typist(rng.uniform(0.04, 0.15), rng.uniform(0.01, 0.06), rng.uniform(0.01, 0.05))

    if name == "clean":
        typists = [Typist(0.02, 0.01, 0.01) for _ in range(WORKERS)]
    elif name == "noisy":
        typists = [middling() for _ in range(WORKERS)]
    elif name == "spammy":
        typists = [Typist(0, 0, 0, spammer=True) for _ in range(9)]
        typists += [middling() for _ in range(WORKERS - 9)]
    else:
        raise ValueError(f"unknown crowd {name!r}")
    return TextCrowd(name, dict(enumerate(typists, start=1)), truth)


TEXT_CROWDS = ("clean", "noisy", "spammy")


def text_answers(crowd: TextCrowd, seed: int, overlap: int = OVERLAP) -> list[tuple[int, int, str]]:
    """``overlap`` transcripts per sentence from distinct typists: (item, worker, text)."""
    rng = random.Random(f"texts:{crowd.name}:{seed}")
    workers = sorted(crowd.typists)
    rows = []
    for item, sentence in sorted(crowd.truth.items()):
        for worker in rng.sample(workers, overlap):
            rows.append((item, worker, crowd.typists[worker].type(sentence.split(), rng)))
    return rows
