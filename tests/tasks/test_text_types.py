"""Text in an image, translation and review: what they take, show, score and aggregate."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.engine import render
from bot.errors import InvalidInput
from bot.i18n import Translator
from bot.tasks import task_type
from bot.tasks.base import Given, ItemAnswers
from bot.tasks.image_text import MAX_IMAGE_TEXT_CHARS
from bot.tasks.render import MAX_CAPTION, Content, caption
from bot.tasks.review import REVIEW_LABELS
from tests.tasks.conftest import NOW, assignment, settings, stored

IMAGE_TEXT, TRANSLATION, REVIEW = (task_type(n) for n in ("image_text", "translation", "review"))


def test_text_in_an_image_takes_a_short_reply_scored_like_a_transcript(t: Translator) -> None:
    batch = settings("image_text")
    assert IMAGE_TEXT.text_answer(batch, "  TOTAL 12,50  ") == "TOTAL 12,50"
    with pytest.raises(InvalidInput) as caught:
        IMAGE_TEXT.text_answer(batch, "x" * (MAX_IMAGE_TEXT_CHARS + 1))
    assert caught.value.params == {"most": MAX_IMAGE_TEXT_CHARS}
    assert IMAGE_TEXT.gold_score("TOTAL 12,50 EUR", "total 12,50 eur") == 1.0
    # four words ("12,50" reads as two), one missing
    assert IMAGE_TEXT.gold_score("TOTAL 12,50 EUR", "TOTAL 12,50") == pytest.approx(3 / 4)
    prompt = IMAGE_TEXT.reply_prompt(t)
    assert prompt is not None
    assert prompt.text == t("tasks.prompt.image_text")
    assert prompt.placeholder == t("tasks.prompt_placeholder.image_text")
    assert IMAGE_TEXT.answer_buttons(t, batch, ()) == []


def test_text_in_an_image_votes_word_by_word_weighting_the_better_typist() -> None:
    items = [
        ItemAnswers(1, (Given(1, "SORTIE DE SECOURS"), Given(2, "SORTIE DE SECOURS"))),
        ItemAnswers(2, (Given(1, "PRIX 3 EUR"), Given(2, "PRlX 8 EUR"), Given(3, "PRIX 3 EUR"))),
    ]
    found = IMAGE_TEXT.aggregate(settings("image_text"), items)
    assert found.items[1].answer == "SORTIE DE SECOURS"
    assert found.items[2].answer == "prix 3 eur"  # ROVER votes on normalised words, as for speech
    assert found.worker_accuracy[1] > found.worker_accuracy[2]


def test_translation_picks_the_translation_closest_to_the_others_never_a_blend() -> None:
    given = (
        Given(1, "Red cotton shirt"),
        Given(2, "Red shirt made of cotton"),
        Given(3, "Red cotton shirt for men"),
    )
    found = TRANSLATION.aggregate(settings("translation"), [ItemAnswers(1, given)])
    assert found.items[1].answer in {g.answer for g in given}
    assert found.items[1].answer == "Red cotton shirt"
    assert TRANSLATION.aggregation_method == "medoid"


def test_a_review_item_shows_buttons_for_its_own_candidates_only(t: Translator) -> None:
    batch = settings("review", labels=REVIEW_LABELS)
    rows = REVIEW.item_buttons(t, batch, (), ("Red cotton shirt", "Red shirt"))
    assert [[(b.text, b.action, b.index) for b in row] for row in rows] == [
        [("1", "answer", 0), ("2", "answer", 1)],
        [(t("tasks.review.none"), "answer", len(REVIEW_LABELS) - 1)],
    ]
    assert REVIEW.button_answer(batch, 1) == "2"
    assert REVIEW.button_answer(batch, len(REVIEW_LABELS) - 1) == "none"
    assert REVIEW.fits_item(("a", "b"), "2")
    assert REVIEW.fits_item(("a", "b"), "none")
    assert not REVIEW.fits_item(("a", "b"), "3")  # a forged button for a missing candidate
    assert IMAGE_TEXT.fits_item((), "anything")


def test_a_text_item_and_its_candidates_are_in_the_task_text(t: Translator) -> None:
    batch = stored(settings("review", labels=REVIEW_LABELS))
    deadline = NOW + timedelta(seconds=batch.time_limit)
    content = Content("Chemise en coton rouge", ("Red cotton shirt", "Red shirt in cotton"))
    text = caption(t, batch, reward=5, time_limit=75, deadline=deadline, content=content)
    lines = text.split("\n")
    assert "Chemise en coton rouge" in lines
    assert lines[lines.index("1. Red cotton shirt") + 1] == "2. Red shirt in cotton"
    assert t.money(5) in lines[-1]


def test_candidates_on_a_photo_are_cut_to_fit_a_caption_keeping_the_pay_line(
    t: Translator,
) -> None:
    batch = stored(settings("review", labels=REVIEW_LABELS))
    deadline = NOW + timedelta(seconds=batch.time_limit)
    content = Content(None, tuple(f"{n} " + "mot " * 200 for n in range(5)))
    text = caption(t, batch, reward=5, time_limit=75, deadline=deadline, content=content)
    assert len(text) <= MAX_CAPTION
    assert t.money(5) in text.split("\n")[-1]
    assert [line[:3] for line in text.split("\n") if line[:1].isdigit()] == [
        "1. ",
        "2. ",
        "3. ",
        "4. ",
        "5. ",
    ]


def test_the_engine_renders_a_review_item_with_its_buttons(t: Translator) -> None:
    batch = stored(settings("review", labels=REVIEW_LABELS))
    rows = render.task_buttons(t, batch, 42, choices=("only one",))
    assert rows[0] == [("1", "ta 42 0")]
    assert rows[1] == [(t("tasks.review.none"), f"ta 42 {len(REVIEW_LABELS) - 1}")]
    task = assignment(batch)
    shown = render.task_caption(t, batch, task, NOW, item=None)
    assert t("tasks.hint.review") in shown
