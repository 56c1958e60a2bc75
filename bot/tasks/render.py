"""Task types, how a task is shown: caption, buttons and reply prompt as plain values (no Telegram).

The bot layer turns a ``TaskView`` into a message: ``Button.action`` into callback data, a
``ReplyPrompt`` into a forced reply. What differs by type comes from the type's ``hint``,
``answer_buttons`` and ``reply_prompt``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_time

from bot.batch_settings import BatchSettings
from bot.i18n import Translator
from bot.tasks import task_type
from bot.tasks.base import Button, ReplyPrompt

MAX_INSTRUCTIONS = 600  # characters of instructions in a caption (captions: 1,024)
MAX_CAPTION = 1024


@dataclass(frozen=True)
class TaskView:
    """A task as shown: its caption, its rows of buttons, and the reply prompt if any."""

    caption: str
    buttons: tuple[tuple[Button, ...], ...]
    prompt: ReplyPrompt | None


def clock_time(t: Translator, moment: datetime) -> str:
    """A deadline with seconds, in the worker's zone: ``14:05:30``."""
    return format_time(moment, "HH:mm:ss", tzinfo=t.timezone, locale=t.locale)


def span(seconds: float) -> str:
    """A duration as ``m:ss``."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def caption(
    t: Translator,
    settings: BatchSettings,
    *,
    reward: int,
    time_limit: int,
    deadline: datetime,
    header: str | None = None,
    left: float | None = None,
    footer: str | None = None,
) -> str:
    """The text of a task: what to do, the pay, the deadline (and time left when refreshed),
    then ``footer`` (the requester's reputation). The instructions are cut (with "…") so that
    the whole caption fits Telegram's 1,024 characters."""
    instructions = settings.instructions.strip()
    if len(instructions) > MAX_INSTRUCTIONS:
        instructions = instructions[: MAX_INSTRUCTIONS - 1] + "…"
    before: list[str] = [header, ""] if header else []
    before.append(t(f"tasks.kind.{settings.type}", title=settings.title))
    after: list[str] = []
    hint = task_type(settings.type).hint(t, settings)
    if hint is not None:
        after.append(hint)
    after.append("")
    after.append(
        t(
            "tasks.pay_and_deadline",
            pay=t.money(reward),
            deadline=clock_time(t, deadline),
            limit=span(time_limit),
        )
    )
    if left is not None:
        after.append(t("tasks.time_left", left=span(left)))
    if footer:
        after.append(footer)
    room = MAX_CAPTION - len("\n".join([*before, "", *after]))
    if len(instructions) > room:
        instructions = instructions[: max(0, room - 1)] + "…" if room > 1 else ""
    lines = [*before, instructions, *after] if instructions else [*before, *after]
    return "\n".join(lines)[:MAX_CAPTION]


def buttons(
    t: Translator, settings: BatchSettings, draft: Sequence[int] = ()
) -> tuple[tuple[Button, ...], ...]:
    """The type's answer buttons, then Skip and Pause, then Report and Mute the requester."""
    rows = task_type(settings.type).answer_buttons(t, settings, draft)
    rows.append([Button(t("tasks.button.skip"), "skip"), Button(t("tasks.button.pause"), "pause")])
    rows.append(
        [Button(t("reports.button.report"), "report"), Button(t("reports.button.mute"), "mute")]
    )
    return tuple(tuple(row) for row in rows)


def task_view(
    t: Translator,
    settings: BatchSettings,
    *,
    reward: int,
    time_limit: int,
    deadline: datetime,
    draft: Sequence[int] = (),
    header: str | None = None,
    left: float | None = None,
) -> TaskView:
    """Everything a task shows, for the bot layer to send."""
    text = caption(
        t,
        settings,
        reward=reward,
        time_limit=time_limit,
        deadline=deadline,
        header=header,
        left=left,
    )
    kind = task_type(settings.type)
    return TaskView(text, buttons(t, settings, draft), kind.reply_prompt(t))
