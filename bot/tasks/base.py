"""Task types, the interface: what every task type answers, and the plain values it answers with.

A task type (``image_tag``, ``emotion``, ``transcription``, ``image_text``, ``translation``,
``review``) is one module with one ``TaskType``
object, registered in ``bot/tasks/__init__.py``. Its methods cover a task's whole life: the
manifest fields it takes and how its gold cells are checked; how its media are prepared; how it
is shown (caption hint, answer buttons, reply prompt; plain values, no Telegram); how an answer
is parsed; how it is scored against gold; how an item's answers are aggregated; when an item has
enough answers; its speed floor. The algorithms are in ``bot/aggregation.py`` and
``bot/quality.py``; a type picks and feeds them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from bot.aggregation import StopDecision
from bot.batch_settings import BatchSettings, BatchType
from bot.errors import Problem

if TYPE_CHECKING:
    from bot.i18n import Translator

LABEL_SEPARATOR = "|"  # gold.csv and results join several labels with it
ECHO_MAX = 60
MediaKind = Literal["image", "audio", "text"]  # "text": a short text, such as a sentence
Action = Literal["answer", "toggle", "done", "skip", "pause", "report", "mute"]


def echo(text: str) -> str:
    """A user-supplied value short enough to quote back in a message."""
    return text if len(text) <= ECHO_MAX else text[: ECHO_MAX - 1] + "…"


@dataclass(frozen=True)
class Button:
    """A button of a task: its text and what it does (``index``: the label it stands for).

    The bot layer turns ``action`` into callback data (``handlers/tasks.py``: ``ta``, ``tt``...).
    """

    text: str
    action: Action
    index: int | None = None


@dataclass(frozen=True)
class ReplyPrompt:
    """A message asking for a reply (a forced reply with a placeholder in Telegram)."""

    text: str
    placeholder: str


@dataclass(frozen=True)
class Given:
    """One submitted answer as stored: a label, a list of labels, or a text."""

    worker_id: int
    answer: Any


@dataclass(frozen=True)
class ItemAnswers:
    """An item's answers for aggregation, and its stored gold answer (None for most items)."""

    item_id: int
    answers: tuple[Given, ...]
    gold: Any = None


@dataclass(frozen=True)
class ItemAggregate:
    """An item's aggregated answer (labels joined by ``|`` in label order, or a text)."""

    answer: str
    confidence: float
    agreement: float


@dataclass(frozen=True)
class Aggregated:
    """A batch's aggregate: each answered item's result, and each worker's accuracy."""

    items: Mapping[int, ItemAggregate]
    worker_accuracy: dict[int, float]


@dataclass(frozen=True)
class StopThresholds:
    """The confidence that completes an item early: label vote, transcription medoid."""

    label: float
    text: float


class TaskType(ABC):
    """One kind of task, the same face for every kind (as crowd-kit's ``fit_predict``)."""

    name: ClassVar[BatchType]
    # -- manifest -----------------------------------------------------------------------------
    manifest_fields: ClassVar[frozenset[str]]
    """Type-specific manifest fields it takes (of ``labels``, ``multiple``, ``review``); others
    refused."""
    default_labels: ClassVar[tuple[str, ...] | None] = None
    """The labels when the manifest gives none; None: labels are required (if taken at all)."""
    # -- media --------------------------------------------------------------------------------
    media_kinds: ClassVar[frozenset[MediaKind]]
    """Which item media it takes."""
    chunks_recordings: ClassVar[bool] = False
    """Recordings are cut at pauses into items, and results put each recording back together."""
    # -- answers ------------------------------------------------------------------------------
    takes_text: ClassVar[bool] = False
    """Answered by a text message (else by buttons)."""
    aggregation_method: ClassVar[str]
    """The name ``/results`` gives its aggregation (``dawid-skene``, ``rover``, ``medoid``)."""
    review_by_default: ClassVar[bool] = False
    """A text type whose batches get a review step unless the manifest says ``review = false``."""
    buys_dynamically: ClassVar[bool] = False
    """Single-choice batches buy answers by dynamic overlap (``bot/refit.py``): a refit of the
    whole batch decides which items get another answer."""

    def takes(self, field: str) -> bool:
        """Whether the manifest field ``labels`` or ``multiple`` is this type's to take."""
        return field in self.manifest_fields

    @abstractmethod
    def gold_answer(
        self, cell: str, labels: Sequence[str], multiple: bool, where: Mapping[str, Any]
    ) -> tuple[str | None, list[Problem]]:
        """A ``gold.csv`` answer cell made canonical, or the problems with it (``where`` names
        the file, line and item)."""

    # -- showing a task -------------------------------------------------------------------------
    def label_text(self, t: Translator, label: str) -> str:
        """A label as the worker reads it."""
        return label

    def answer_text(self, t: Translator, answer: Any) -> str:
        """A stored answer as the worker reads it."""
        if isinstance(answer, list):
            return ", ".join(self.label_text(t, str(part)) for part in answer)
        return self.label_text(t, str(answer))

    @abstractmethod
    def hint(self, t: Translator, settings: BatchSettings) -> str | None:
        """The caption's line on how to answer, if any."""

    @abstractmethod
    def answer_buttons(
        self, t: Translator, settings: BatchSettings, draft: Sequence[int]
    ) -> list[list[Button]]:
        """The rows of answer buttons (``draft``: the labels ticked so far)."""

    def reply_prompt(self, t: Translator) -> ReplyPrompt | None:
        """The message asking for a reply after the task, if the type is answered by text."""
        return None

    def item_buttons(
        self,
        t: Translator,
        settings: BatchSettings,
        draft: Sequence[int],
        choices: Sequence[str],
    ) -> list[list[Button]]:
        """The answer buttons of one item: the type's, unless its items offer their own
        candidates (a review item, ``choices``)."""
        return self.answer_buttons(t, settings, draft)

    # -- parsing an answer ----------------------------------------------------------------------
    @abstractmethod
    def button_answer(self, settings: BatchSettings, index: int) -> str:
        """The answer a single-choice button ``index`` stands for; ``InvalidInput`` otherwise."""

    @abstractmethod
    def toggled(
        self, settings: BatchSettings, draft: tuple[int, ...], index: int
    ) -> tuple[int, ...]:
        """The ticked labels after pressing ``index``; ``InvalidInput`` when there is no tick."""

    @abstractmethod
    def ticked_answer(self, settings: BatchSettings, draft: tuple[int, ...]) -> list[str]:
        """The answer of the ticked labels (Done); ``InvalidInput`` when not a multiple choice."""

    @abstractmethod
    def text_answer(self, settings: BatchSettings, text: str) -> str:
        """The answer a text message gives; ``InvalidInput`` when the type takes no text."""

    # -- quality ------------------------------------------------------------------------------
    def fits_item(self, choices: Sequence[str], answer: Any) -> bool:
        """Whether an answer suits its item (a review item's pick must name one of its
        ``choices``); every answer the parser gave suits an ordinary item."""
        return True

    @abstractmethod
    def gold_score(self, gold: Any, answer: Any) -> float:
        """An answer's score in [0, 1] against an item's stored gold answer."""

    @abstractmethod
    def gold_text(self, settings: BatchSettings, gold: Any) -> str:
        """A stored gold answer as results show it ("" for none)."""

    @abstractmethod
    def too_fast(self, duration_ms: int, clip_ms: int | None) -> bool:
        """The speed floor: an answer this fast is not humanly plausible."""

    # -- aggregation --------------------------------------------------------------------------
    @abstractmethod
    def aggregate(self, settings: BatchSettings, items: Sequence[ItemAnswers]) -> Aggregated:
        """Every answered item's result and each worker's accuracy."""

    @abstractmethod
    def enough(
        self,
        settings: BatchSettings,
        answers: Sequence[Given],
        accuracies: Mapping[int, float],
        thresholds: StopThresholds,
    ) -> StopDecision:
        """Whether an ordinary item has enough answers: clear agreement, or answers_per_item."""
