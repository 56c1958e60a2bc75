"""Task types, the label tasks' shared rules: answered by buttons, scored by Jaccard, Dawid-Skene.

``image_tag`` and ``emotion`` are both label tasks; each module names what differs (which media,
default labels, translated labels, several labels per answer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from bot.aggregation import StopDecision, Vote, dawid_skene, label_class_count, should_stop
from bot.batch_settings import BatchSettings
from bot.errors import InvalidInput, Problem
from bot.model_choice import best_dawid_skene
from bot.quality import LabelSet, is_implausibly_fast, label_gold_score
from bot.tasks.base import (
    LABEL_SEPARATOR,
    Aggregated,
    Button,
    Given,
    ItemAggregate,
    ItemAnswers,
    StopThresholds,
    TaskType,
    echo,
)

if TYPE_CHECKING:
    from bot.i18n import Translator


def answer_labels(answer: Any) -> LabelSet:
    """A stored label answer (one label, or a list of labels) as a set."""
    if isinstance(answer, list | tuple):
        return frozenset(str(part) for part in answer)
    return frozenset({str(answer)})


def gold_labels(stored: Any) -> LabelSet:
    """An item's stored gold answer (``"car|dog"`` or a list) as a set."""
    if isinstance(stored, str):
        return frozenset(part for part in stored.split(LABEL_SEPARATOR) if part)
    return answer_labels(stored)


def result_labels(answer: Any) -> LabelSet:
    """A stored label answer as results read it: ``"car"``, ``["car", "dog"]`` or ``"car|dog"``."""
    if isinstance(answer, str):
        return frozenset(part for part in answer.split(LABEL_SEPARATOR) if part)
    if isinstance(answer, list | tuple):
        return frozenset(str(part) for part in answer)
    return frozenset()


def label_text(labels: LabelSet, order: Sequence[str]) -> str:
    """Labels joined by ``|`` in the batch's label order (unknown ones last, alphabetically)."""
    rank = {label: index for index, label in enumerate(order)}
    return LABEL_SEPARATOR.join(sorted(labels, key=lambda x: (rank.get(x, len(rank)), x)))


class LabelTask(TaskType):
    """A task answered by picking labels: one, or several with ``multiple``."""

    manifest_fields: ClassVar[frozenset[str]] = frozenset({"labels"})
    aggregation_method: ClassVar[str] = "dawid-skene"
    buys_dynamically: ClassVar[bool] = True

    def gold_answer(
        self, cell: str, labels: Sequence[str], multiple: bool, where: Mapping[str, Any]
    ) -> tuple[str | None, list[Problem]]:
        """Labels of the batch (case aside), joined by ``|`` in label order."""
        problems: list[Problem] = []
        by_fold = {label.casefold(): label for label in labels}
        given = [part.strip() for part in cell.split(LABEL_SEPARATOR)]
        if not all(given):
            return None, [Problem("batch.gold_answer_empty", dict(where))]
        unknown = [part for part in given if part.casefold() not in by_fold]
        for part in unknown:
            problems.append(Problem("batch.gold_answer_not_label", {**where, "answer": echo(part)}))
        chosen = {by_fold[part.casefold()] for part in given if part.casefold() in by_fold}
        if len(chosen) > 1 and not multiple:
            problems.append(Problem("batch.gold_answer_single", dict(where)))
            return None, problems
        if unknown:
            return None, problems
        return LABEL_SEPARATOR.join(label for label in labels if label in chosen), problems

    # -- showing ------------------------------------------------------------------------------
    def hint(self, t: Translator, settings: BatchSettings) -> str | None:
        return t("tasks.hint.multiple") if settings.multiple else None

    def answer_buttons(
        self, t: Translator, settings: BatchSettings, draft: Sequence[int]
    ) -> list[list[Button]]:
        """One button per label (a tick on ticked ones and Done with ``multiple``)."""
        buttons: list[Button] = []
        for index, label in enumerate(settings.labels):
            text = self.label_text(t, label)
            if settings.multiple:
                buttons.append(Button(("✅ " if index in draft else "") + text, "toggle", index))
            else:
                buttons.append(Button(text, "answer", index))
        width = 3 if all(len(button.text) <= 10 for button in buttons) else 2
        rows = [buttons[i : i + width] for i in range(0, len(buttons), width)]
        if settings.multiple:
            rows.append([Button(t("tasks.button.done", count=len(draft)), "done")])
        return rows

    # -- parsing ------------------------------------------------------------------------------
    def button_answer(self, settings: BatchSettings, index: int) -> str:
        if settings.multiple or not 0 <= index < len(settings.labels):
            raise InvalidInput("error.bad_button")
        return settings.labels[index]

    def toggled(
        self, settings: BatchSettings, draft: tuple[int, ...], index: int
    ) -> tuple[int, ...]:
        if not settings.multiple or not 0 <= index < len(settings.labels):
            raise InvalidInput("error.bad_button")
        return tuple(sorted(set(draft) ^ {index}))

    def ticked_answer(self, settings: BatchSettings, draft: tuple[int, ...]) -> list[str]:
        if not settings.multiple:
            raise InvalidInput("error.bad_button")
        if not draft:
            raise InvalidInput("tasks.pick_one")
        labels = settings.labels
        return [labels[index] for index in sorted(set(draft)) if 0 <= index < len(labels)]

    def text_answer(self, settings: BatchSettings, text: str) -> str:
        raise InvalidInput("tasks.use_buttons")

    # -- quality ------------------------------------------------------------------------------
    def gold_score(self, gold: Any, answer: Any) -> float:
        """Jaccard similarity of the label sets: partial credit for tags."""
        return label_gold_score(gold_labels(gold), answer_labels(answer))

    def gold_text(self, settings: BatchSettings, gold: Any) -> str:
        return "" if gold is None else label_text(result_labels(gold), settings.labels)

    def too_fast(self, duration_ms: int, clip_ms: int | None) -> bool:
        """Under a second (``bot.quality.MIN_LABEL_MS``)."""
        return is_implausibly_fast(self.name, duration_ms, clip_ms)

    # -- aggregation --------------------------------------------------------------------------
    def aggregate(self, settings: BatchSettings, items: Sequence[ItemAnswers]) -> Aggregated:
        """Dawid-Skene over the whole batch, the model chosen by held-out answers
        (``bot/model_choice.py``); gold items keep their known answer."""
        votes = {
            item.item_id: [Vote(g.worker_id, result_labels(g.answer)) for g in item.answers]
            for item in items
        }
        gold = {
            item.item_id: result_labels(item.gold)
            for item in items
            if item.gold is not None and votes[item.item_id]
        }
        if not any(votes.values()):
            return Aggregated({}, {})
        fitted = (
            dawid_skene(votes, gold=gold, multiple=True)
            if settings.multiple
            else best_dawid_skene(votes, gold=gold)
        )
        results = {
            item_id: ItemAggregate(
                label_text(found.answer, settings.labels), found.confidence, found.agreement
            )
            for item_id, found in fitted.items.items()
        }
        return Aggregated(results, dict(fitted.worker_accuracy))

    def enough(
        self,
        settings: BatchSettings,
        answers: Sequence[Given],
        accuracies: Mapping[int, float],
        thresholds: StopThresholds,
    ) -> StopDecision:
        """The accuracy-weighted vote's confidence reaches ``thresholds.label``."""
        votes = [Vote(g.worker_id, answer_labels(g.answer)) for g in answers]
        return should_stop(
            votes,
            accuracies,
            settings.answers_per_item,
            thresholds.label,
            class_count=label_class_count(settings.labels, settings.multiple),
        )
