"""Guided batch creation, the rules of its last steps: time limit, worked examples, gold answers,
and the review before the draft (no Telegram here).

Examples and gold answers become the same ``examples.csv`` and ``gold.csv`` an uploaded ZIP
carries (README, "Batch manifest: optional parts"), so the manifest parser and the intake check
them as they check an upload. An answer is made canonical by the task type's ``gold_answer``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.errors import InvalidInput, Problem
from bot.guided import ManifestFields, manifest, parse_number, parse_text
from bot.i18n import Translator
from bot.intake.manifest import (
    DEFAULT_EXAMPLES_NAME,
    DEFAULT_GOLD_NAME,
    LABEL_SEPARATOR,
    TIME_LIMIT_RANGE,
    WHY_MAX,
    BatchSpec,
    parse_manifest,
)
from bot.intake.prepare import EXAMPLES_MAX
from bot.tasks import task_type

EXAMPLE_PREFIX = "example-"
"""Example files get this prefix in the batch, so they never share a name with an item."""

EDITABLE = (
    "type",
    "title",
    "instructions",
    "labels",
    "multiple",
    "seconds_per_task",
    "answers_per_item",
    "time_limit",
    "files",
    "examples",
    "gold",
)
"""What the review offers to change, in the order it lists them."""


@dataclass(frozen=True)
class Worked:
    """A worked example (its file's name in the batch, its answer, why) or a gold answer
    (the item's file name, its answer; ``why`` may be empty)."""

    name: str
    answer: str
    why: str = ""


def parse_time_limit(text: str) -> int:
    return parse_number(text, TIME_LIMIT_RANGE, "newbatch.time_limit_invalid")


def parse_why(text: str) -> str:
    return parse_text(text, limit=WHY_MAX, key="newbatch.why_invalid")


def parse_answer(answers: ManifestFields, text: str) -> tuple[str | None, list[Problem]]:
    """An example's or a gold item's answer as ``gold.csv`` writes it, by the task type.

    Several labels may be separated by commas (they are joined by ``|``)."""
    batch_type = str(answers["type"])
    kind = task_type(batch_type)
    labels = tuple(str(label) for label in answers.get("labels", ()) or ())  # type: ignore[union-attr]
    if not labels and kind.default_labels is not None:
        labels = kind.default_labels
    cell = text.strip()
    if kind.takes("labels"):
        cell = LABEL_SEPARATOR.join(part.strip() for part in cell.split(",") if part.strip())
    multiple = bool(answers.get("multiple", False))
    return kind.gold_answer(cell, labels, multiple, {"file": "", "line": 0, "item": ""})


def answer_choices(answers: ManifestFields) -> tuple[str, ...]:
    """The labels a requester may tap for an answer (none: the type is answered by text)."""
    kind = task_type(str(answers["type"]))
    if not kind.takes("labels"):
        return ()
    given = answers.get("labels")
    if isinstance(given, tuple) and given:
        return given
    return kind.default_labels or ()


def csv_bytes(rows: Sequence[Worked], *, with_why: bool) -> bytes:
    """``examples.csv`` or ``gold.csv``: the header, then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "answer", "why"] if with_why else ["file", "answer"])
    for row in rows:
        writer.writerow([row.name, row.answer, row.why] if with_why else [row.name, row.answer])
    return out.getvalue().encode("utf-8")


def extras(
    answers: ManifestFields, examples: Sequence[Worked], gold: Sequence[Worked]
) -> tuple[dict[str, str], dict[str, bytes]]:
    """The manifest fields and the files that examples and gold add to the batch."""
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    if examples:
        fields["examples"] = DEFAULT_EXAMPLES_NAME
        files[DEFAULT_EXAMPLES_NAME] = csv_bytes(examples, with_why=True)
    if gold:
        fields["gold"] = DEFAULT_GOLD_NAME
        files[DEFAULT_GOLD_NAME] = csv_bytes(gold, with_why=False)
    return fields, files


def check_more_examples(count: int) -> None:
    if count >= EXAMPLES_MAX:
        raise InvalidInput("newbatch.examples_full", limit=EXAMPLES_MAX)


def gold_room(items: int, gold: int) -> bool:
    """Whether another item may become gold: at least one item stays an ordinary task."""
    return gold < items - 1


def settings_of(answers: ManifestFields, *, min_hourly_rate: int) -> BatchSpec:
    """The batch's settings the answers stand for (reward and defaults filled in), by the
    manifest parser itself; ``InvalidInput`` naming the first problem otherwise."""
    result = parse_manifest(manifest(answers), min_hourly_rate=min_hourly_rate)
    if result.spec is None:
        raise InvalidInput("newbatch.review_invalid")
    return result.spec


def review_text(
    t: Translator,
    spec: BatchSpec,
    answers: Mapping[str, object],
    *,
    files: int,
    examples: int,
    gold: int,
) -> str:
    """The review: every answer and what it sets, before the draft is made."""
    kind = task_type(spec.type)
    lines = [
        t("newbatch.review.title"),
        "",
        t("newbatch.review.type", type=t(f"batches.type.{spec.type}")),
        t("newbatch.review.name", title=spec.title),
        t("newbatch.review.instructions", instructions=spec.instructions),
    ]
    if kind.takes("labels"):
        labels = ", ".join(kind.label_text(t, label) for label in spec.labels)
        lines.append(t("newbatch.review.labels", labels=labels))
    if kind.takes("multiple"):
        yes_no = t("newbatch.button.yes") if spec.multiple else t("newbatch.button.no")
        lines.append(t("newbatch.review.multiple", multiple=yes_no))
    default_answers = "answers_per_item" not in answers
    default_limit = "time_limit" not in answers
    lines += [
        t("newbatch.review.seconds", seconds=spec.seconds_per_task, pay=t.money(spec.reward)),
        t("newbatch.review.answers", count=spec.answers_per_item)
        + (" " + t("newbatch.review.default") if default_answers else ""),
        t("newbatch.review.time_limit", seconds=spec.time_limit)
        + (" " + t("newbatch.review.default") if default_limit else ""),
        t("newbatch.review.files", count=files),
        t("newbatch.review.examples", count=examples),
        t("newbatch.review.gold", count=gold),
        "",
        t("newbatch.review.hint"),
    ]
    return "\n".join(lines)


def editable(answers: ManifestFields) -> tuple[str, ...]:
    """The fields this batch's review offers (labels and multiple only where the type takes
    them)."""
    kind = task_type(str(answers["type"]))
    return tuple(
        name for name in EDITABLE if name not in ("labels", "multiple") or kind.takes(name)
    )
