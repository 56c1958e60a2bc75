"""The render spec reproduces what the worker loop shows today (``handlers/tasks.py``).

Compared at the level of caption text and rows of (label, callback data), for every type, single
and multiple choice, ticked drafts, a header, time left, and long instructions.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.batch_settings import BATCH_TYPES, BatchType
from bot.handlers import tasks as loop
from bot.handlers.common import callback
from bot.i18n import Translator
from bot.tasks import task_type
from bot.tasks.base import Button
from bot.tasks.render import task_view
from tests.tasks.conftest import NOW, assignment, settings, stored

PREFIX = {
    "answer": loop.ANSWER,
    "toggle": loop.TOGGLE,
    "done": loop.DONE,
    "skip": loop.SKIP,
    "pause": loop.PAUSE,
}
CASES = [
    *[(name, {}, ()) for name in BATCH_TYPES],
    ("image_tag", {"multiple": True}, ()),
    ("image_tag", {"multiple": True}, (0, 2)),
    ("image_tag", {"labels": ("a rather long label", "b", "c")}, ()),
    ("emotion", {"labels": ("calm", "joy", "fear")}, ()),
    ("image_tag", {"instructions": "x" * 700}, ()),
    ("transcription", {"instructions": "  "}, ()),
]


def as_rows(
    buttons: tuple[tuple[Button, ...], ...], assignment_id: int
) -> list[list[tuple[str, str]]]:
    def data(button: Button) -> str:
        args = () if button.index is None else (button.index,)
        return callback(PREFIX[button.action], assignment_id, *args)

    return [[(button.text, data(button)) for button in row] for row in buttons]


@pytest.mark.parametrize(("name", "changes", "draft"), CASES)
@pytest.mark.parametrize(("header", "left"), [(None, None), ("⏱ Still yours", 42.0)])
def test_the_spec_shows_what_the_loop_shows(
    t: Translator,
    name: BatchType,
    changes: dict[str, object],
    draft: tuple[int, ...],
    header: str | None,
    left: float | None,
) -> None:
    batch = stored(settings(name, **changes))
    task = assignment(batch, draft)
    deadline = NOW + timedelta(seconds=batch.time_limit)
    view = task_view(
        t,
        batch,
        reward=task.reward,
        time_limit=task.time_limit,
        deadline=deadline,
        draft=draft,
        header=header,
        left=left,
    )
    assert view.caption == loop.task_caption(t, batch, task, deadline, header=header, left=left)
    markup = loop.task_keyboard(t, batch, task.id, draft)
    expected = [
        [(button.text, button.callback_data) for button in row] for row in markup.inline_keyboard
    ]
    assert as_rows(view.buttons, task.id) == expected
    if name == "transcription":
        assert view.prompt is not None
        assert view.prompt.text == t("tasks.prompt")
    else:
        assert view.prompt is None


@pytest.mark.parametrize("name", BATCH_TYPES)
def test_answers_read_as_the_loop_reads_them(t: Translator, name: BatchType) -> None:
    batch = stored(settings(name))
    for answer in ("joy", ["car", "dog"], "bonjour " * 40):
        assert task_type(name).answer_text(t, answer) == loop.answer_text(t, batch, answer)
        if isinstance(answer, str):
            assert task_type(name).label_text(t, answer) == loop.label_text(t, batch, answer)
