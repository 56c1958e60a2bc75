"""Engine room, rendering: a task as plain values, its caption text and its button specs.

No Telegram here: the delivery layer turns ``Rows`` into a keyboard, so a future per-task-type
plug-in can supply its own rendering.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from babel.dates import format_time

from bot.answers import Credited
from bot.callback_data import callback
from bot.i18n import Translator
from storage.assignments import Assignment
from storage.batches import Batch

# Callback data: "PREFIX ASSIGNMENT_ID [LABEL_INDEX]" (STYLE.md 6), well under 64 bytes.
ANSWER = "ta"
TOGGLE = "tt"
DONE = "td"
SKIP = "ts"
PAUSE = "tp"

MAX_INSTRUCTIONS = 600  # characters of instructions in a caption (captions: 1,024)
EMOTIONS = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral")

Rows = list[list[tuple[str, str]]]
"""Buttons as rows of ``(text, callback data)``."""


def clock_time(t: Translator, moment: datetime) -> str:
    """A deadline with seconds, in the worker's zone: ``14:05:30``."""
    return format_time(moment, "HH:mm:ss", tzinfo=t.timezone, locale=t.locale)


def span(seconds: float) -> str:
    """A duration as ``m:ss``."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def label_text(t: Translator, batch: Batch, label: str) -> str:
    """A label as the worker reads it (the default emotions are translated)."""
    if batch.type == "emotion" and label in EMOTIONS:
        return t(f"tasks.emotion.{label}")
    return label


def answer_text(t: Translator, batch: Batch, answer: Any) -> str:
    """A stored answer as the worker reads it."""
    if isinstance(answer, list):
        return ", ".join(label_text(t, batch, str(a)) for a in answer)
    if batch.type == "transcription":
        text = str(answer)
        return f"« {text[:150]}{'…' if len(text) > 150 else ''} »"
    return label_text(t, batch, str(answer))


def task_caption(
    t: Translator,
    batch: Batch,
    assignment: Assignment,
    deadline: datetime,
    *,
    header: str | None = None,
    left: float | None = None,
) -> str:
    """The text of a task: what to do, the pay, the deadline (and time left when refreshed)."""
    lines: list[str] = []
    if header:
        lines += [header, ""]
    lines.append(t(f"tasks.kind.{batch.type}", title=batch.title))
    instructions = batch.instructions.strip()
    if instructions:
        if len(instructions) > MAX_INSTRUCTIONS:
            instructions = instructions[: MAX_INSTRUCTIONS - 1] + "…"
        lines.append(instructions)
    if batch.type == "transcription":
        lines.append(t("tasks.hint.transcription"))
    elif batch.multiple:
        lines.append(t("tasks.hint.multiple"))
    lines.append("")
    lines.append(
        t(
            "tasks.pay_and_deadline",
            pay=t.money(assignment.reward),
            deadline=clock_time(t, deadline),
            limit=span(assignment.time_limit),
        )
    )
    if left is not None:
        lines.append(t("tasks.time_left", left=span(left)))
    return "\n".join(lines)[:1024]


def task_buttons(
    t: Translator, batch: Batch, assignment_id: int, draft: Sequence[int] = ()
) -> Rows:
    """One button per label (toggles with a tick and Done when ``multiple``), Skip and Pause."""
    rows: Rows = []
    if batch.type != "transcription":
        buttons: list[tuple[str, str]] = []
        for index, label in enumerate(batch.labels):
            text = label_text(t, batch, label)
            if batch.multiple:
                buttons.append(
                    (
                        ("✅ " if index in draft else "") + text,
                        callback(TOGGLE, assignment_id, index),
                    )
                )
            else:
                buttons.append((text, callback(ANSWER, assignment_id, index)))
        width = 3 if all(len(text) <= 10 for text, _ in buttons) else 2
        rows += [buttons[i : i + width] for i in range(0, len(buttons), width)]
        if batch.multiple:
            rows.append([(t("tasks.button.done", count=len(draft)), callback(DONE, assignment_id))])
    rows.append(
        [
            (t("tasks.button.skip"), callback(SKIP, assignment_id)),
            (t("tasks.button.pause"), callback(PAUSE, assignment_id)),
        ]
    )
    return rows


def credited_text(t: Translator, credited: Credited) -> str:
    """What a worker reads when an answer is credited: the amount, the month, the cap left."""
    return t(
        "tasks.credited",
        amount=t.money(credited.amount),
        total=t.money(credited.month_total),
        left=t.money(credited.cap_left),
    )


def answered_caption(t: Translator, credited: Credited) -> str:
    """The last state of an answered task message: the answer, the pay, the time taken."""
    return t(
        "tasks.answered",
        title=credited.batch.title,
        answer=answer_text(t, credited.batch, credited.answer),
        amount=t.money(credited.amount),
        seconds=f"{(credited.assignment.duration_ms or 0) / 1000:.1f}",
    )
