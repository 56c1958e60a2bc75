"""Transcription: a text reply, 1 - WER against gold, ROVER, a floor of a third of the clip."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.i18n import Translator
from bot.tasks import task_type
from bot.tasks.base import Given, ItemAnswers, ReplyPrompt, StopThresholds
from bot.tasks.transcription import MAX_TRANSCRIPT_CHARS
from tests.tasks.conftest import settings

TRANSCRIPTION = task_type("transcription")
SETTINGS = settings("transcription")
THRESHOLDS = StopThresholds(label=0.95, text=0.9)


def test_a_text_is_trimmed_and_checked() -> None:
    assert TRANSCRIPTION.text_answer(SETTINGS, "  bonjour le monde \n") == "bonjour le monde"
    with pytest.raises(InvalidInput) as empty:
        TRANSCRIPTION.text_answer(SETTINGS, " \n ")
    assert empty.value.message_key == "tasks.empty_transcript"
    with pytest.raises(InvalidInput) as long:
        TRANSCRIPTION.text_answer(SETTINGS, "a" * (MAX_TRANSCRIPT_CHARS + 1))
    assert long.value.message_key == "tasks.transcript_too_long"


def test_buttons_are_refused() -> None:
    for press in (
        lambda: TRANSCRIPTION.button_answer(SETTINGS, 0),
        lambda: TRANSCRIPTION.toggled(SETTINGS, (), 0),
        lambda: TRANSCRIPTION.ticked_answer(SETTINGS, (0,)),
    ):
        with pytest.raises(InvalidInput):
            press()


def test_gold_is_one_minus_word_error_rate() -> None:
    assert TRANSCRIPTION.gold_score("a b c d", "a b x d") == pytest.approx(0.75)
    assert TRANSCRIPTION.gold_score("a b", "A, b!") == 1.0
    assert TRANSCRIPTION.gold_text(SETTINGS, "Bonjour") == "Bonjour"
    where = {"file": "gold.csv", "line": 2, "item": "a.ogg"}
    assert TRANSCRIPTION.gold_answer("  Bonjour ", (), False, where) == ("Bonjour", [])
    answer, problems = TRANSCRIPTION.gold_answer("  ", (), False, where)
    assert answer is None
    assert [p.key for p in problems] == ["batch.gold_answer_empty"]


def test_enough_answers_when_texts_agree() -> None:
    agree = [Given(1, "Bonjour le monde"), Given(2, "bonjour, le monde")]
    assert TRANSCRIPTION.enough(SETTINGS, agree, {}, THRESHOLDS).reason == "confident"
    differ = [Given(1, "bonjour le monde"), Given(2, "bonsoir la lune")]
    assert not TRANSCRIPTION.enough(SETTINGS, differ, {}, THRESHOLDS).stop
    blank = [Given(1, ""), Given(2, " ")]
    assert not TRANSCRIPTION.enough(SETTINGS, blank, {}, THRESHOLDS).stop


def test_aggregate_by_rover_with_accuracy_against_gold_or_the_vote() -> None:
    items = [
        ItemAnswers(1, (Given(1, "le chat dort"), Given(2, "le chat dort"), Given(3, "le rat"))),
        ItemAnswers(2, (Given(3, "bonjour"),), gold="bonjour"),
        ItemAnswers(3, ()),
    ]
    found = TRANSCRIPTION.aggregate(SETTINGS, items)
    assert found.items[1].answer == "le chat dort"
    assert found.items[2].answer == "bonjour"
    assert 3 not in found.items
    assert found.worker_accuracy[1] == 1.0
    assert found.worker_accuracy[3] == pytest.approx((1 / 3 + 1.0) / 2)
    assert TRANSCRIPTION.aggregation_method == "rover"


def test_the_speed_floor_is_a_third_of_the_clip() -> None:
    assert TRANSCRIPTION.too_fast(2_999, 9_000)
    assert not TRANSCRIPTION.too_fast(3_000, 9_000)
    assert not TRANSCRIPTION.too_fast(1, None)  # no clip length, no basis for a flag


def test_render_is_a_hint_and_a_reply_prompt(t: Translator) -> None:
    assert TRANSCRIPTION.answer_buttons(t, SETTINGS, ()) == []
    assert TRANSCRIPTION.hint(t, SETTINGS) == t("tasks.hint.transcription")
    assert TRANSCRIPTION.reply_prompt(t) == ReplyPrompt(
        t("tasks.prompt"), t("tasks.prompt_placeholder")
    )
    assert TRANSCRIPTION.answer_text(t, "x" * 200) == f"« {'x' * 150}… »"
