"""Worker quality rules: word error rate, gold scores, accuracy, pauses, levels, speed, gold mix.

Pure functions and small frozen values: no Telegram, no SQL, no clock. The numbers behind the
defaults are in ``docs/decisions/0005-quality-and-aggregation.md``.
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein

from bot.batch_settings import BatchType
from bot.batch_settings import Level as Level

TaskType = BatchType  # a task type's name (the rules of each type: ``bot/tasks/``)
LabelSet = frozenset[str]
GoldAnswer = LabelSet | str  # a label set for label tasks, the expected text for transcription

Z_ONE_SIDED_95 = 1.645  # "we are 95% sure the accuracy is at least (at most) this"
MIN_LABEL_MS = 1_000  # a label task answered faster than this is not humanly plausible
MIN_CLIP_SHARE = 1 / 3  # a transcription typed in less than a third of the clip length neither


# --- words and word error rate ---------------------------------------------------------------


def normalise_words(text: str) -> tuple[str, ...]:
    """Split ``text`` into comparable words: NFKC, case folded, punctuation made into spaces.

    Punctuation becomes a space rather than vanishing, so ``peut-être`` and ``peut être`` compare
    equal (two words each). Accents are kept: ``à`` and ``a`` are different words.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    spaced = "".join(" " if unicodedata.category(char).startswith("P") else char for char in folded)
    return tuple(spaced.split())


def levenshtein(first: Sequence[str], second: Sequence[str]) -> int:
    """Fewest substitutions, deletions and insertions that turn ``first`` into ``second``.

    Works on any sequences of hashables (word tuples here) through rapidfuzz's C++ code."""
    return int(Levenshtein.distance(first, second))


def word_edit_distance(first: str, second: str) -> int:
    """Word-level Levenshtein distance between two texts, after ``normalise_words``."""
    return levenshtein(normalise_words(first), normalise_words(second))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word edits from ``reference`` to ``hypothesis`` over the reference's word count.

    May exceed 1 (insertions). An empty reference (a clip with no speech) gives 0.0 for an empty
    hypothesis and 1.0 for any text: there is nothing to divide by, and the answer is all wrong.
    """
    expected = normalise_words(reference)
    given = normalise_words(hypothesis)
    if not expected:
        return 0.0 if not given else 1.0
    return levenshtein(expected, given) / len(expected)


# --- gold scoring -----------------------------------------------------------------------------


def label_gold_score(expected: LabelSet, given: LabelSet) -> float:
    """Jaccard similarity of two label sets: 1 or 0 for single labels, partial credit for tags.

    Two empty sets (nothing to tick, nothing ticked) score 1.
    """
    union = expected | given
    if not union:
        return 1.0
    return len(expected & given) / len(union)


def transcription_gold_score(expected: str, given: str) -> float:
    """One minus the word error rate against the gold text, clipped to [0, 1]."""
    return min(1.0, max(0.0, 1.0 - word_error_rate(expected, given)))


def gold_score(task_type: TaskType, expected: GoldAnswer, given: GoldAnswer) -> float:
    """Score in [0, 1] of one answer to a gold item of ``task_type``."""
    if task_type == "transcription":
        if not isinstance(expected, str) or not isinstance(given, str):
            raise TypeError("a transcription gold answer is a text")
        return transcription_gold_score(expected, given)
    if isinstance(expected, str) or isinstance(given, str):
        raise TypeError("a label gold answer is a frozenset of labels")
    return label_gold_score(expected, given)


# --- accuracy estimate ------------------------------------------------------------------------


@dataclass(frozen=True)
class BetaPrior:
    """Imaginary gold answers every worker starts with: ``alpha`` right and ``beta`` wrong."""

    alpha: float = 7.0
    beta: float = 3.0

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)


DEFAULT_PRIOR = BetaPrior()


@dataclass(frozen=True)
class AccuracyEstimate:
    """What gold answers say about a worker on one task type."""

    gold_answers: int
    score_sum: float  # sum of gold scores; the count of right answers when scores are 0 or 1
    score: float  # posterior mean under the prior: what the worker sees and what weights votes
    lower_bound: float  # Wilson bound: 95% sure the accuracy is at least this
    upper_bound: float  # Wilson bound: 95% sure the accuracy is at most this


def wilson_interval(
    successes: float, trials: int, z: float = Z_ONE_SIDED_95
) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) when there are no trials.

    ``successes`` may be fractional (sums of transcription scores): the interval is then the
    usual approximation with the mean score as the observed proportion.
    """
    if trials <= 0:
        return 0.0, 1.0
    share = min(1.0, max(0.0, successes / trials))
    z2 = z * z
    centre = share + z2 / (2 * trials)
    margin = z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials))
    denominator = 1 + z2 / trials
    return max(0.0, (centre - margin) / denominator), min(1.0, (centre + margin) / denominator)


def estimate_accuracy(
    gold_scores: Iterable[float], prior: BetaPrior = DEFAULT_PRIOR, z: float = Z_ONE_SIDED_95
) -> AccuracyEstimate:
    """Smoothed accuracy (Beta posterior mean) and Wilson bounds from a worker's gold scores."""
    scores = list(gold_scores)
    total = sum(scores)
    lower, upper = wilson_interval(total, len(scores), z)
    score = (total + prior.alpha) / (len(scores) + prior.alpha + prior.beta)
    return AccuracyEstimate(len(scores), total, score, lower, upper)


# --- pausing a type for low accuracy -----------------------------------------------------------


@dataclass(frozen=True)
class PauseDecision:
    """Whether a type is paused for a worker, with the numbers the bot shows them."""

    paused: bool
    score: float
    upper_bound: float
    gold_answers: int
    threshold: float
    min_gold: int
    right_answers_to_resume: int  # consecutive right gold/training answers that lift the pause


@dataclass(frozen=True)
class QualityPolicy:
    """Pause a type once the worker is 95% surely below ``threshold`` after ``min_gold`` answers.

    The test is the Wilson upper bound, not the score: a worker is paused only when the evidence
    is clear, so that a 0.7 worker checked after every gold answer is rarely paused by bad luck.
    """

    threshold: float = 0.6
    min_gold: int = 10
    z: float = Z_ONE_SIDED_95

    def upper_bound(self, estimate: AccuracyEstimate) -> float:
        return wilson_interval(estimate.score_sum, estimate.gold_answers, self.z)[1]

    def should_pause(self, estimate: AccuracyEstimate) -> bool:
        return self._below(estimate.score_sum, estimate.gold_answers)

    def right_answers_to_resume(self, estimate: AccuracyEstimate) -> int:
        """How many more right answers in a row bring the upper bound back to the threshold."""
        extra = 0
        while self._below(estimate.score_sum + extra, estimate.gold_answers + extra):
            extra += 1
        return extra

    def _below(self, score_sum: float, gold_answers: int) -> bool:
        if gold_answers < self.min_gold:
            return False
        return wilson_interval(score_sum, gold_answers, self.z)[1] < self.threshold

    def decide(self, estimate: AccuracyEstimate) -> PauseDecision:
        return PauseDecision(
            paused=self.should_pause(estimate),
            score=estimate.score,
            upper_bound=self.upper_bound(estimate),
            gold_answers=estimate.gold_answers,
            threshold=self.threshold,
            min_gold=self.min_gold,
            right_answers_to_resume=self.right_answers_to_resume(estimate),
        )


# --- levels -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelRule:
    """What it takes to hold ``level``: tasks done, gold answers, and a sure-enough accuracy."""

    level: Level
    min_tasks: int
    min_gold: int
    min_lower_bound: float


LEVEL_RULES: tuple[LevelRule, ...] = (
    LevelRule("confirmed", min_tasks=50, min_gold=10, min_lower_bound=0.6),
    LevelRule("expert", min_tasks=300, min_gold=30, min_lower_bound=0.8),
)


@dataclass(frozen=True)
class LevelStatus:
    """A worker's level and, when there is one, what is missing to reach the next."""

    level: Level
    next_rule: LevelRule | None
    tasks_missing: int
    gold_missing: int
    lower_bound_missing: float  # how far the accuracy's lower bound is below the rule's


def _meets(rule: LevelRule, tasks_done: int, estimate: AccuracyEstimate) -> bool:
    return (
        tasks_done >= rule.min_tasks
        and estimate.gold_answers >= rule.min_gold
        and estimate.lower_bound >= rule.min_lower_bound
    )


def worker_level(
    tasks_done: int, estimate: AccuracyEstimate, rules: Sequence[LevelRule] = LEVEL_RULES
) -> LevelStatus:
    """Highest level whose rule (and every lower one) is met; ``estimate`` pools all gold."""
    level: Level = "newcomer"
    for rule in rules:
        if not _meets(rule, tasks_done, estimate):
            return LevelStatus(
                level=level,
                next_rule=rule,
                tasks_missing=max(0, rule.min_tasks - tasks_done),
                gold_missing=max(0, rule.min_gold - estimate.gold_answers),
                lower_bound_missing=max(0.0, rule.min_lower_bound - estimate.lower_bound),
            )
        level = rule.level
    return LevelStatus(level, None, 0, 0, 0.0)


# --- speed checks -----------------------------------------------------------------------------


def is_implausibly_fast(task_type: TaskType, duration_ms: int, clip_ms: int | None = None) -> bool:
    """Under 1 s for a label task, or under a third of the clip for a transcription."""
    if task_type != "transcription":
        return duration_ms < MIN_LABEL_MS
    if clip_ms is None:
        raise ValueError("a transcription speed check needs the clip length")
    return duration_ms < clip_ms * MIN_CLIP_SHARE


@dataclass(frozen=True)
class SpeedDecision:
    """Whether too many recent answers of a type were implausibly fast."""

    paused: bool
    flags: int
    window: int
    max_flags: int


@dataclass(frozen=True)
class SpeedPolicy:
    """``max_flags`` speed flags within a worker's last ``window`` answers of a type pause it."""

    max_flags: int = 3
    window: int = 10

    def decide(self, recent_flags: Sequence[bool]) -> SpeedDecision:
        """``recent_flags``: one per answer of the type, oldest first."""
        flags = sum(recent_flags[-self.window :])
        return SpeedDecision(flags >= self.max_flags, flags, self.window, self.max_flags)

    def should_pause(self, recent_flags: Sequence[bool]) -> bool:
        return self.decide(recent_flags).paused


# --- gold mixing ------------------------------------------------------------------------------


def is_gold_turn(answers_served_in_batch: int, seed: str, gold_share: float = 1 / 8) -> bool:
    """Whether a worker's next task in a batch is gold: one at a secret place in every block.

    Tasks are counted in blocks of ``round(1 / gold_share)``; in each block one position, drawn
    from ``seed`` and the block number, is gold. The share is exact, yet the worker cannot tell
    which task it is as long as ``seed`` (per worker and batch, with a server secret) is unknown.
    """
    if not 0 < gold_share <= 1:
        raise ValueError("gold_share must be in (0, 1]")
    block_size = max(1, round(1 / gold_share))
    block, position = divmod(answers_served_in_batch, block_size)
    return random.Random(f"{seed}:{block}").randrange(block_size) == position


def next_gold_item(
    gold_item_ids: Sequence[int], seen_item_ids: Collection[int], seed: str
) -> int | None:
    """The worker's next unseen gold item, in an order shuffled by ``seed``; None when all seen."""
    order = sorted(gold_item_ids)
    random.Random(seed).shuffle(order)
    return next((item for item in order if item not in seen_item_ids), None)


def choose_gold(
    answers_served_in_batch: int,
    gold_item_ids: Sequence[int],
    seen_item_ids: Collection[int],
    seed: str,
    gold_share: float = 1 / 8,
) -> int | None:
    """The gold item to serve now, or None for an ordinary task (not its turn, none left)."""
    if not gold_item_ids or not is_gold_turn(answers_served_in_batch, seed, gold_share):
        return None
    return next_gold_item(gold_item_ids, seen_item_ids, seed)
