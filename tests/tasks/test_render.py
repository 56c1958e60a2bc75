"""How a task is shown, from the task types' render spec to the worker loop's buttons.

The spec (``bot/tasks/render.py``) is plain values; the engine (``bot/engine/render.py``) adds
the callback data. Compared here with what a worker reads, for each type.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.batch_settings import BATCH_TYPES, BatchType
from bot.engine import render
from bot.engine.examples import training_header
from bot.i18n import Catalogue, Translator
from bot.reputation import Figures
from bot.tasks import task_type
from bot.tasks.render import MAX_INSTRUCTIONS, task_view
from tests.tasks.conftest import NOW, PARIS, assignment, settings, stored

SKIP_PAUSE = [("⏭ Skip", "ts 42"), ("⏸ Pause", "tp 42")]
REPORT_MUTE = [("⚠️ Report", "tr 42"), ("🔇 Mute requester", "tm 42")]  # on every task


ENGLISH = Translator(Catalogue.load(), "en", PARIS, "EUR")


def rows(name: BatchType, draft: tuple[int, ...] = (), **changes: object):
    batch = stored(settings(name, **changes))
    return render.task_buttons(ENGLISH, batch, 42, draft)


def test_single_choice_labels_answer_at_once() -> None:
    assert rows("image_tag") == [
        [("car", "ta 42 0"), ("bicycle", "ta 42 1"), ("person", "ta 42 2")],
        [("dog", "ta 42 3")],
        SKIP_PAUSE,
        REPORT_MUTE,
    ]


def test_multiple_choice_ticks_and_a_done_button_counting_them() -> None:
    shown = rows("image_tag", (0, 2), multiple=True)
    assert shown[0] == [("✅ car", "tt 42 0"), ("bicycle", "tt 42 1"), ("✅ person", "tt 42 2")]
    assert shown[1] == [("dog", "tt 42 3")]
    assert shown[2] == [("✔️ Done (2)", "td 42")]
    assert shown[3] == SKIP_PAUSE
    assert shown[4] == REPORT_MUTE


def test_long_labels_go_two_a_row() -> None:
    shown = rows("image_tag", labels=("a rather long label", "b", "c"))
    assert [len(row) for row in shown] == [2, 1, 2, 2]


def test_default_emotions_are_translated_and_custom_labels_kept() -> None:
    french = Translator(Catalogue.load(), "fr", PARIS, "EUR")
    batch = stored(settings("emotion"))
    assert render.task_buttons(french, batch, 42)[0][0] == (french("tasks.emotion.joy"), "ta 42 0")
    assert french("tasks.emotion.joy") != "joy"
    custom = stored(settings("emotion", labels=("calm", "joy")))
    assert render.task_buttons(french, custom, 42)[0][0] == ("calm", "ta 42 0")


def test_a_transcription_has_no_label_buttons_and_asks_for_a_reply(t: Translator) -> None:
    assert rows("transcription") == [SKIP_PAUSE, REPORT_MUTE]
    batch = stored(settings("transcription"))
    view = task_view(t, batch, reward=4, time_limit=60, deadline=NOW)
    assert view.prompt is not None
    assert view.prompt.text == t("tasks.prompt")


@pytest.mark.parametrize("name", BATCH_TYPES)
def test_the_caption_says_what_to_do_the_pay_and_the_deadline(
    t: Translator, name: BatchType
) -> None:
    batch = stored(settings(name, instructions="x" * 700))
    task = assignment(batch)
    deadline = NOW + timedelta(seconds=batch.time_limit)
    caption = render.task_caption(t, batch, task, deadline, header="Hello", left=42.0)
    lines = caption.split("\n")
    assert lines[0] == "Hello"
    assert lines[2] == t(f"tasks.kind.{name}", title=batch.title)
    assert lines[3] == "x" * (MAX_INSTRUCTIONS - 1) + "…"
    assert t("tasks.time_left", left="0:42") in caption
    assert t.money(task.reward) in caption
    assert len(caption) <= 1024


@pytest.mark.parametrize("name", BATCH_TYPES)
def test_the_requester_line_comes_last_and_the_longest_caption_still_fits(
    t: Translator, name: BatchType
) -> None:
    batch = stored(settings(name, title="T" * 100, instructions="x" * 800))
    task = assignment(batch)
    deadline = NOW + timedelta(seconds=batch.time_limit)
    figures = Figures(1, "N" * 64, 123_456, 99_999, 9_999, NOW)  # Telegram names: 64 at most
    header = training_header(t, t("tasks.header.credited", amount=t.money(99_999)))
    caption = render.task_caption(
        t, batch, task, deadline, header=header, left=42.0, reputation=figures
    )
    line = render.reputation_text(t, figures)
    assert caption.endswith("\n" + line)
    assert t.money(123_456) in line
    assert str(figures.reports_upheld) in line
    assert len(caption) <= 1024
    new = Figures(1, "Rita", None, 0, 0, NOW)
    assert render.reputation_text(t, new) == t("reports.reputation.new", name="Rita", upheld=0)


@pytest.mark.parametrize("name", BATCH_TYPES)
def test_answers_read_back_as_the_worker_gave_them(t: Translator, name: BatchType) -> None:
    batch = stored(settings(name))
    assert render.answer_text(t, batch, ["car", "dog"]) == "car, dog"
    long = "bonjour " * 40
    shown = render.answer_text(t, batch, long)
    if task_type(name).takes_text:
        assert shown.startswith("« bonjour")
        assert shown.endswith("… »")
    else:
        assert shown == long
