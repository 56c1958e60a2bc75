"""Image tagging: buttons and toggles, Jaccard against gold, a weighted vote, the 1 s floor."""

from __future__ import annotations

import pytest

from bot.errors import InvalidInput
from bot.i18n import Translator
from bot.tasks import task_type
from bot.tasks.base import Button, Given, ItemAnswers, StopThresholds
from tests.tasks.conftest import settings

IMAGE_TAG = task_type("image_tag")
SINGLE = settings("image_tag")
TAGS = settings("image_tag", multiple=True)
THRESHOLDS = StopThresholds(label=0.95, text=0.9)


def test_a_single_choice_button_is_its_label() -> None:
    assert IMAGE_TAG.button_answer(SINGLE, 2) == "person"
    for bad in (-1, 4):
        with pytest.raises(InvalidInput):
            IMAGE_TAG.button_answer(SINGLE, bad)
    with pytest.raises(InvalidInput):
        IMAGE_TAG.button_answer(TAGS, 0)  # a multiple choice ticks instead


def test_ticks_toggle_and_done_gives_labels_in_label_order() -> None:
    draft = IMAGE_TAG.toggled(TAGS, (), 3)
    draft = IMAGE_TAG.toggled(TAGS, draft, 0)
    assert draft == (0, 3)
    assert IMAGE_TAG.toggled(TAGS, draft, 3) == (0,)
    assert IMAGE_TAG.ticked_answer(TAGS, (3, 0)) == ["car", "dog"]
    with pytest.raises(InvalidInput) as empty:
        IMAGE_TAG.ticked_answer(TAGS, ())
    assert empty.value.message_key == "tasks.pick_one"
    with pytest.raises(InvalidInput):
        IMAGE_TAG.toggled(SINGLE, (), 0)


def test_text_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        IMAGE_TAG.text_answer(SINGLE, "car")
    assert refused.value.message_key == "tasks.use_buttons"


def test_gold_scores_are_jaccard_of_label_sets() -> None:
    assert IMAGE_TAG.gold_score("car", "car") == 1.0
    assert IMAGE_TAG.gold_score("car|person|dog", ["car", "person"]) == pytest.approx(2 / 3)
    assert IMAGE_TAG.gold_score(["car"], "dog") == 0.0
    assert IMAGE_TAG.gold_text(TAGS, "dog|car") == "car|dog"
    assert IMAGE_TAG.gold_text(TAGS, None) == ""


def test_gold_cells_are_labels_in_label_order() -> None:
    where = {"file": "gold.csv", "line": 2, "item": "a.png"}
    assert IMAGE_TAG.gold_answer(" Dog | car ", TAGS.labels, True, where) == ("car|dog", [])
    answer, problems = IMAGE_TAG.gold_answer("car|dog", TAGS.labels, False, where)
    assert answer is None
    assert [p.key for p in problems] == ["batch.gold_answer_single"]
    answer, problems = IMAGE_TAG.gold_answer("zebra", TAGS.labels, False, where)
    assert answer is None
    assert [(p.key, p.params["answer"]) for p in problems] == [
        ("batch.gold_answer_not_label", "zebra")
    ]


def test_enough_answers_on_clear_agreement_or_the_limit() -> None:
    two = [Given(1, "car"), Given(2, "car")]
    assert IMAGE_TAG.enough(SINGLE, two, {1: 0.9, 2: 0.9}, THRESHOLDS).reason == "confident"
    assert not IMAGE_TAG.enough(SINGLE, two[:1], {1: 0.99}, THRESHOLDS).stop
    split = [Given(1, "car"), Given(2, "dog"), Given(3, "person")]
    assert IMAGE_TAG.enough(SINGLE, split, {}, THRESHOLDS).reason == "limit"


def test_aggregate_by_dawid_skene() -> None:
    items = [
        ItemAnswers(1, (Given(1, ["car", "dog"]), Given(2, ["dog", "car"]), Given(3, ["car"]))),
        ItemAnswers(2, ()),
    ]
    found = IMAGE_TAG.aggregate(TAGS, items)
    assert found.items[1].answer == "car|dog"
    assert 2 not in found.items
    assert set(found.worker_accuracy) == {1, 2, 3}
    assert IMAGE_TAG.aggregate(TAGS, [ItemAnswers(1, ())]).items == {}
    assert IMAGE_TAG.aggregation_method == "dawid-skene"


def test_the_speed_floor_is_one_second() -> None:
    assert IMAGE_TAG.too_fast(999, None)
    assert not IMAGE_TAG.too_fast(1_000, None)


def test_render_single_and_multiple(t: Translator) -> None:
    rows = IMAGE_TAG.answer_buttons(t, SINGLE, ())
    assert rows == [
        [Button("car", "answer", 0), Button("bicycle", "answer", 1), Button("person", "answer", 2)],
        [Button("dog", "answer", 3)],
    ]
    ticked = IMAGE_TAG.answer_buttons(t, TAGS, (1,))
    assert ticked[0][1] == Button("✅ bicycle", "toggle", 1)
    assert ticked[-1] == [Button(t("tasks.button.done", count=1), "done")]
    assert IMAGE_TAG.hint(t, SINGLE) is None
    assert IMAGE_TAG.hint(t, TAGS) == t("tasks.hint.multiple")
    assert IMAGE_TAG.reply_prompt(t) is None
    assert IMAGE_TAG.answer_text(t, ["car", "dog"]) == "car, dog"
