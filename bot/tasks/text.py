"""Task types, the text tasks' shared rules: answered by a typed reply, scored by 1 - WER.

``transcription``, ``image_text`` and ``translation`` are text tasks; each module names what
differs (which media, the caption's hint, the longest answer, the consensus, the speed floor).
A text type may be followed by a review step (``review``: ``bot/review.py``), in which other
workers pick the best of each item's answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from bot.aggregation import StopDecision, rover_transcript, should_stop_text
from bot.batch_settings import BatchSettings
from bot.errors import InvalidInput, Problem
from bot.quality import is_implausibly_fast, transcription_gold_score
from bot.tasks.base import (
    Aggregated,
    Button,
    Given,
    ItemAggregate,
    ItemAnswers,
    ReplyPrompt,
    StopThresholds,
    TaskType,
)
from bot.text_consensus import TextAnswer, weighted_rover_batch
from bot.votes import TextResult

if TYPE_CHECKING:
    from bot.i18n import Translator

QUOTE_CHARS = 150  # of a typed answer quoted back to the worker


class TextTask(TaskType):
    """A task answered by typing: a reply to the task or its prompt, or plain text meanwhile."""

    manifest_fields: ClassVar[frozenset[str]] = frozenset({"review"})
    takes_text: ClassVar[bool] = True
    aggregation_method: ClassVar[str] = "rover"
    max_answer_chars: ClassVar[int] = 2000
    """The longest answer taken (a novel is refused)."""
    prompt_key: ClassVar[str] = "tasks.prompt"
    """The reply prompt's catalogue key (what to type, and about what), and its placeholder's."""
    placeholder_key: ClassVar[str] = "tasks.prompt_placeholder"

    def gold_answer(
        self, cell: str, labels: Sequence[str], multiple: bool, where: Mapping[str, Any]
    ) -> tuple[str | None, list[Problem]]:
        """The expected text, trimmed; never empty."""
        text = cell.strip()
        if not text:
            return None, [Problem("batch.gold_answer_empty", dict(where))]
        return text, []

    # -- showing ------------------------------------------------------------------------------
    def answer_text(self, t: Translator, answer: Any) -> str:
        if isinstance(answer, list):
            return super().answer_text(t, answer)
        text = str(answer)
        return f"« {text[:QUOTE_CHARS]}{'…' if len(text) > QUOTE_CHARS else ''} »"

    def hint(self, t: Translator, settings: BatchSettings) -> str | None:
        return t(f"tasks.hint.{self.name}")

    def answer_buttons(
        self, t: Translator, settings: BatchSettings, draft: Sequence[int]
    ) -> list[list[Button]]:
        return []

    def reply_prompt(self, t: Translator) -> ReplyPrompt | None:
        return ReplyPrompt(t(self.prompt_key), t(self.placeholder_key))

    # -- parsing ------------------------------------------------------------------------------
    def button_answer(self, settings: BatchSettings, index: int) -> str:
        raise InvalidInput("error.bad_button")

    def toggled(
        self, settings: BatchSettings, draft: tuple[int, ...], index: int
    ) -> tuple[int, ...]:
        raise InvalidInput("error.bad_button")

    def ticked_answer(self, settings: BatchSettings, draft: tuple[int, ...]) -> list[str]:
        raise InvalidInput("error.bad_button")

    def text_answer(self, settings: BatchSettings, text: str) -> str:
        """The text as typed, trimmed; empty or whitespace only is refused, and so is a novel."""
        cleaned = text.strip()
        if not cleaned:
            raise InvalidInput("tasks.empty_transcript")
        if len(cleaned) > self.max_answer_chars:
            raise InvalidInput("tasks.transcript_too_long", most=self.max_answer_chars)
        return cleaned

    # -- quality ------------------------------------------------------------------------------
    def gold_score(self, gold: Any, answer: Any) -> float:
        """One minus the word error rate against the gold text, clipped to [0, 1]."""
        return transcription_gold_score(str(gold), str(answer))

    def gold_text(self, settings: BatchSettings, gold: Any) -> str:
        return "" if gold is None else str(gold)

    def too_fast(self, duration_ms: int, clip_ms: int | None) -> bool:
        """Under a second, as a label (a clip's length decides for transcription)."""
        return is_implausibly_fast(self.name, duration_ms, clip_ms)

    # -- aggregation --------------------------------------------------------------------------
    def consensus(self, texts: Sequence[str], weights: Sequence[float] | None) -> TextResult:
        """How an item's texts become one: ROVER's weighted word vote (the medoid, for
        sentences whose word order differs from one translator to the next)."""
        return rover_transcript(texts, weights)

    def aggregate(self, settings: BatchSettings, items: Sequence[ItemAnswers]) -> Aggregated:
        """The type's consensus per item, typists weighted by their accuracy over the batch
        (``bot/text_consensus.py``): mean 1 - WER against the gold text of gold items and against
        the voted text of items with at least two answers."""
        fitted = weighted_rover_batch(
            {
                item.item_id: [TextAnswer(g.worker_id, str(g.answer)) for g in item.answers]
                for item in items
            },
            {item.item_id: str(item.gold) for item in items if item.gold is not None},
            vote=self.consensus,
        )
        results = {
            item_id: ItemAggregate(voted.text, voted.confidence, voted.agreement)
            for item_id, voted in fitted.items.items()
        }
        return Aggregated(results, fitted.worker_accuracy)

    def enough(
        self,
        settings: BatchSettings,
        answers: Sequence[Given],
        accuracies: Mapping[int, float],
        thresholds: StopThresholds,
    ) -> StopDecision:
        """The medoid's confidence reaches ``thresholds.text`` (worker accuracy not used)."""
        texts = [str(g.answer) for g in answers]
        return should_stop_text(texts, settings.answers_per_item, thresholds.text)
