"""Task types, review: pick the best of an item's typed answers, or say none is right.

A review batch is made by the pipeline (``bot/review.py``), never asked for: when a text batch
with ``review`` ends, each ordinary item that got answers becomes a review item showing the same
content and its distinct answers, numbered. Its labels are the candidate numbers and ``none``;
an item shows the buttons of its own candidates only, and an answer naming a candidate the item
does not have is refused. Aggregated like any single-choice label task (Dawid-Skene).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from bot.batch_settings import BatchSettings, BatchType
from bot.tasks.base import Button, MediaKind
from bot.tasks.labels import LabelTask

if TYPE_CHECKING:
    from bot.i18n import Translator

MAX_CHOICES = 5
"""Candidates one review item offers at most (the most supported answers first)."""
NONE_RIGHT = "none"
REVIEW_LABELS: tuple[str, ...] = (*(str(n) for n in range(1, MAX_CHOICES + 1)), NONE_RIGHT)
"""A review batch's labels: the candidate numbers, then "none is right"."""


class Review(LabelTask):
    """One pick per answer among an item's candidates; any media the reviewed batch had."""

    name: ClassVar[BatchType] = "review"
    manifest_fields: ClassVar[frozenset[str]] = frozenset()
    media_kinds: ClassVar[frozenset[MediaKind]] = frozenset({"image", "audio", "text"})
    buys_dynamically: ClassVar[bool] = False  # opened by start_review; candidates differ per item

    def label_text(self, t: Translator, label: str) -> str:
        return t("tasks.review.none") if label == NONE_RIGHT else label

    def hint(self, t: Translator, settings: BatchSettings) -> str | None:
        return t("tasks.hint.review")

    def item_buttons(
        self,
        t: Translator,
        settings: BatchSettings,
        draft: Sequence[int],
        choices: Sequence[str],
    ) -> list[list[Button]]:
        """A button per candidate the item has, then "none is right" on its own row."""
        numbers = [Button(str(n + 1), "answer", n) for n in range(min(len(choices), MAX_CHOICES))]
        rows = [numbers[i : i + MAX_CHOICES] for i in range(0, len(numbers), MAX_CHOICES)]
        none = settings.labels.index(NONE_RIGHT)
        rows.append([Button(self.label_text(t, NONE_RIGHT), "answer", none)])
        return rows

    def fits_item(self, choices: Sequence[str], answer: Any) -> bool:
        """``none``, or the number of a candidate this item offers."""
        text = str(answer)
        return text == NONE_RIGHT or (text.isdigit() and 1 <= int(text) <= len(choices))


TASK_TYPE = Review()
