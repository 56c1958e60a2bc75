"""Task types, transcription: type what a clip says; recordings in chunks, weighted ROVER."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from bot.aggregation import StopDecision, should_stop_text
from bot.batch_settings import BatchSettings, BatchType
from bot.errors import InvalidInput, Problem
from bot.quality import is_implausibly_fast, transcription_gold_score
from bot.tasks.base import (
    Aggregated,
    Button,
    Given,
    ItemAggregate,
    ItemAnswers,
    MediaKind,
    ReplyPrompt,
    StopThresholds,
    TaskType,
)
from bot.text_consensus import TextAnswer, weighted_rover_batch

if TYPE_CHECKING:
    from bot.i18n import Translator

MAX_TRANSCRIPT_CHARS = 2000
QUOTE_CHARS = 150  # of a transcript quoted back to the worker


class Transcription(TaskType):
    """No labels; audio only, long recordings in chunks; answered by a text reply."""

    name: ClassVar[BatchType] = "transcription"
    manifest_fields: ClassVar[frozenset[str]] = frozenset()
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"audio"})
    chunks_recordings: ClassVar[bool] = True
    takes_text: ClassVar[bool] = True
    aggregation_method: ClassVar[str] = "rover"

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
        return t("tasks.hint.transcription")

    def answer_buttons(
        self, t: Translator, settings: BatchSettings, draft: Sequence[int]
    ) -> list[list[Button]]:
        return []

    def reply_prompt(self, t: Translator) -> ReplyPrompt | None:
        return ReplyPrompt(t("tasks.prompt"), t("tasks.prompt_placeholder"))

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
        if len(cleaned) > MAX_TRANSCRIPT_CHARS:
            raise InvalidInput("tasks.transcript_too_long", most=MAX_TRANSCRIPT_CHARS)
        return cleaned

    # -- quality ------------------------------------------------------------------------------
    def gold_score(self, gold: Any, answer: Any) -> float:
        """One minus the word error rate against the gold text, clipped to [0, 1]."""
        return transcription_gold_score(str(gold), str(answer))

    def gold_text(self, settings: BatchSettings, gold: Any) -> str:
        return "" if gold is None else str(gold)

    def too_fast(self, duration_ms: int, clip_ms: int | None) -> bool:
        """Under a third of the clip's length; no flag when the length is unknown."""
        if clip_ms is None:
            return False
        return is_implausibly_fast(self.name, duration_ms, clip_ms)

    # -- aggregation --------------------------------------------------------------------------
    def aggregate(self, settings: BatchSettings, items: Sequence[ItemAnswers]) -> Aggregated:
        """ROVER per item, typists weighted by their accuracy over the batch
        (``bot/text_consensus.py``): mean 1 - WER against the gold text of gold items and against
        the voted text of items with at least two answers."""
        fitted = weighted_rover_batch(
            {
                item.item_id: [TextAnswer(g.worker_id, str(g.answer)) for g in item.answers]
                for item in items
            },
            {item.item_id: str(item.gold) for item in items if item.gold is not None},
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


TASK_TYPE = Transcription()
