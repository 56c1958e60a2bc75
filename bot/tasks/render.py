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
MAX_TEXT = 4096  # a text item's task is a text message, which may be longer


@dataclass(frozen=True)
class Content:
    """What an item shows in its task's text: a short text (a sentence to translate) and a
    review item's numbered candidates."""

    text: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def limit(self) -> int:
        """The longest task text: a text message's for a text item, else a caption's."""
        return MAX_TEXT if self.text is not None else MAX_CAPTION

    def lines(self, room: int) -> list[str]:
        """The text, then the candidates numbered, cut to fit in ``room`` characters."""
        lines: list[str] = []
        if self.text is not None:
            lines += ["", cut(self.text, room // 2 if self.choices else room - 2)]
        if self.choices:
            left = room - len("\n".join(lines)) - 2
            share = max(left // len(self.choices) - 5, 12)  # each line's "\nN. "
            lines.append("")
            lines += [f"{n}. {cut(choice, share)}" for n, choice in enumerate(self.choices, 1)]
        return lines


@dataclass(frozen=True)
class TaskView:
    """A task as shown: its caption, its rows of buttons, and the reply prompt if any."""

    caption: str
    buttons: tuple[tuple[Button, ...], ...]
    prompt: ReplyPrompt | None


def cut(text: str, most: int) -> str:
    """``text`` in at most ``most`` characters, an ellipsis marking a cut."""
    return text if len(text) <= most else text[: max(most - 1, 0)] + "…"


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
    content: Content | None = None,
) -> str:
    """The text of a task: what to do, the item's text or candidates if any (``content``), the
    pay, the deadline (and time left when refreshed), then ``footer`` (the requester's
    reputation). The instructions are cut (with "…") so that the whole text fits Telegram's
    limit (a caption's 1,024 characters, a text item's message 4,096); the content gets the
    room left."""
    content = content or Content()
    instructions = settings.instructions.strip()
    if len(instructions) > MAX_INSTRUCTIONS:
        instructions = instructions[: MAX_INSTRUCTIONS - 1] + "…"
    before: list[str] = [header, ""] if header else []
    before.append(t(f"tasks.kind.{settings.type}", title=settings.title))
    hint = task_type(settings.type).hint(t, settings)
    middle: list[str] = [] if hint is None else [hint]
    tail: list[str] = [
        "",
        t(
            "tasks.pay_and_deadline",
            pay=t.money(reward),
            deadline=clock_time(t, deadline),
            limit=span(time_limit),
        ),
    ]
    if left is not None:
        tail.append(t("tasks.time_left", left=span(left)))
    if footer:
        tail.append(footer)
    room = content.limit - len("\n".join([*before, "", *middle, *tail]))
    if len(instructions) > room:
        instructions = instructions[: max(0, room - 1)] + "…" if room > 1 else ""
    lines = [*before, instructions, *middle] if instructions else [*before, *middle]
    room = content.limit - len("\n".join(lines + tail)) - 1
    return "\n".join(lines + content.lines(room) + tail)[: content.limit]


def buttons(
    t: Translator, settings: BatchSettings, draft: Sequence[int] = (), choices: Sequence[str] = ()
) -> tuple[tuple[Button, ...], ...]:
    """The type's answer buttons (a review item's: its candidates), then Skip and Pause, then
    Report and Mute the requester."""
    rows = task_type(settings.type).item_buttons(t, settings, draft, choices)
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
    content: Content | None = None,
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
        content=content,
    )
    kind = task_type(settings.type)
    choices = content.choices if content is not None else ()
    return TaskView(text, buttons(t, settings, draft, choices), kind.reply_prompt(t))
