"""Emotion: one label, translated default emotions, images or clips, the 1 s floor."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.i18n import Translator
from bot.tasks import task_type
from bot.tasks.base import Given, StopThresholds
from bot.tasks.emotion import EMOTION_LABELS
from tests.tasks.conftest import settings

EMOTION = task_type("emotion")
DEFAULT = settings("emotion")
OWN = settings("emotion", labels=("calm", "joy"))


def test_a_button_is_one_emotion_and_there_are_no_ticks() -> None:
    assert EMOTION.button_answer(DEFAULT, 0) == "joy"
    with pytest.raises(InvalidInput):
        EMOTION.toggled(DEFAULT, (), 0)
    with pytest.raises(InvalidInput):
        EMOTION.ticked_answer(DEFAULT, (0,))
    with pytest.raises(InvalidInput):
        EMOTION.text_answer(DEFAULT, "joy")


def test_gold_is_right_or_wrong() -> None:
    assert EMOTION.gold_score("joy", "joy") == 1.0
    assert EMOTION.gold_score("joy", "fear") == 0.0
    assert EMOTION.gold_text(DEFAULT, "fear") == "fear"


def test_enough_answers() -> None:
    thresholds = StopThresholds(label=0.95, text=0.9)
    agree = [Given(1, "joy"), Given(2, "joy")]
    assert EMOTION.enough(DEFAULT, agree, {1: 0.8, 2: 0.8}, thresholds).stop
    split = EMOTION.enough(DEFAULT, [Given(1, "joy"), Given(2, "fear")], {}, thresholds)
    assert not split.stop
    three = [Given(1, "joy"), Given(2, "fear"), Given(3, "anger")]
    assert EMOTION.enough(DEFAULT, three, {}, thresholds).reason == "limit"


def test_default_emotions_are_translated_own_labels_are_not(t: Translator) -> None:
    buttons = [b.text for row in EMOTION.answer_buttons(t, DEFAULT, ()) for b in row]
    assert buttons == [t(f"tasks.emotion.{label}") for label in EMOTION_LABELS]
    own = [b.text for row in EMOTION.answer_buttons(t, OWN, ()) for b in row]
    assert own == ["calm", t("tasks.emotion.joy")]
    assert EMOTION.answer_text(t, "fear") == t("tasks.emotion.fear")
    assert EMOTION.hint(t, DEFAULT) is None
    assert EMOTION.reply_prompt(t) is None


def test_the_speed_floor_is_one_second() -> None:
    assert EMOTION.too_fast(500, 20_000)
    assert not EMOTION.too_fast(1_000, 20_000)
