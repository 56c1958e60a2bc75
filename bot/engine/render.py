"""Engine room, rendering: a task as plain values, its caption text and its button specs.

No Telegram here: what differs by type comes from the task-type plug-ins (``bot/tasks/``), the
callback data is added here, and the delivery layer turns ``Rows`` into a keyboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.answers import Credited
from bot.batch_settings import BatchSettings
from bot.callback_data import callback
from bot.i18n import Translator
from bot.reputation import Figures
from bot.tasks import task_type
from bot.tasks.base import Action, Button
from bot.tasks.render import Content, buttons, caption
from bot.tasks.render import clock_time as clock_time  # re-exported for the handlers
from storage.assignments import Assignment
from storage.batches import Batch, Item

# Callback data: "PREFIX ASSIGNMENT_ID [LABEL_INDEX]" (STYLE.md 6), well under 64 bytes.
ANSWER = "ta"
TOGGLE = "tt"
DONE = "td"
SKIP = "ts"
PAUSE = "tp"
REPORT = "tr"  # issue 14: Report (then "trr ASSIGNMENT_ID REASON" or "trb ASSIGNMENT_ID")
MUTE = "tm"  # issue 14: mute this task's requester
PREVIEW = "tv"  # issue 15: a button of /newbatch's preview, which does nothing

Rows = list[list[tuple[str, str]]]
"""Buttons as rows of ``(text, callback data)``."""

_PREFIX: dict[Action, str] = {
    "answer": ANSWER,
    "toggle": TOGGLE,
    "done": DONE,
    "skip": SKIP,
    "pause": PAUSE,
    "report": REPORT,
    "mute": MUTE,
}


def label_text(t: Translator, batch: Batch, label: str) -> str:
    """A label as the worker reads it (the task type translates its default labels)."""
    return task_type(batch.type).label_text(t, label)


def answer_text(t: Translator, batch: Batch, answer: Any) -> str:
    """A stored answer as the worker reads it."""
    return task_type(batch.type).answer_text(t, answer)


def task_caption(
    t: Translator,
    batch: Batch,
    assignment: Assignment,
    deadline: datetime,
    *,
    header: str | None = None,
    left: float | None = None,
    reputation: Figures | None = None,
    item: Item | None = None,
) -> str:
    """The text of a task: what to do, the item's text or candidates (``item``), the pay, the
    deadline (and time left when refreshed), and the requester's reputation."""
    return caption(
        t,
        batch,
        reward=assignment.reward,
        time_limit=assignment.time_limit,
        deadline=deadline,
        header=header,
        left=left,
        footer=None if reputation is None else reputation_text(t, reputation),
        content=None if item is None else Content(item.text, item.choices),
    )


def reputation_text(t: Translator, figures: Figures) -> str:
    """One short line on the requester behind a task (issue 14)."""
    if figures.median_rate is None:
        return t("reports.reputation.new", name=figures.name, upheld=figures.reports_upheld)
    return t(
        "reports.reputation",
        name=figures.name,
        rate=t.money(figures.median_rate),
        workers=figures.workers_paid,
        upheld=figures.reports_upheld,
    )


def task_buttons(
    t: Translator,
    batch: Batch,
    assignment_id: int,
    draft: Sequence[int] = (),
    choices: Sequence[str] = (),
) -> Rows:
    """The task type's buttons (a review item's: its ``choices``), then Skip and Pause, as rows
    of (text, callback data)."""
    return [
        [(button.text, button_data(button, assignment_id)) for button in row]
        for row in buttons(t, batch, draft, choices)
    ]


def button_data(button: Button, assignment_id: int) -> str:
    """Callback data of a task button: ``"PREFIX ASSIGNMENT_ID [LABEL_INDEX]"``."""
    args = () if button.index is None else (button.index,)
    return callback(_PREFIX[button.action], assignment_id, *args)


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


def preview(
    t: Translator,
    settings: BatchSettings,
    *,
    reward: int,
    time_limit: int,
    deadline: datetime,
    header: str,
) -> tuple[str, Rows]:
    """A task of a batch not yet made, as a worker will see it (``header`` marks it a preview):
    the same caption and buttons as ``task_caption``/``task_buttons``, each button ``PREVIEW``."""
    text = caption(t, settings, reward=reward, time_limit=time_limit, deadline=deadline,
                   header=header)  # fmt: skip
    rows = [[(button.text, callback(PREVIEW)) for button in row] for row in buttons(t, settings)]
    return text, rows
