"""Intake of sentences: ``.txt``/``.csv`` files become the text items of a translation batch,
the manifest's ``review`` setting, and the problems named when a file is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import BatchRejected
from bot.intake.manifest import parse_manifest
from bot.intake.prepare import prepare_batch
from bot.intake.sentences import read_sentences
from bot.tasks.translation import MAX_SENTENCE_CHARS
from tests.intake.media import make_zip, png, toml

RATE = 1_000  # MIN_HOURLY_RATE 10.00
TRANSLATION = {
    "type": "translation",
    "title": "Product sheet",
    "instructions": "Translate into English.",
    "seconds_per_task": 20,
}


def test_a_text_file_gives_a_sentence_a_line_named_by_its_line() -> None:
    found, problems = read_sentences(
        "sheet.txt", "\ufeffChemise  en coton\n\n  Lavable \n".encode()
    )
    assert problems == []
    assert [(s.name, s.text) for s in found] == [
        ("sheet.txt:1", "Chemise en coton"),
        ("sheet.txt:3", "Lavable"),
    ]


def test_a_csv_file_takes_its_text_column_and_names_rows_by_id() -> None:
    data = b'id,text,note\nA1,"Chemise, rouge",x\n,,\nA2,Lavable,y\n'
    found, problems = read_sentences("sheet.csv", data)
    assert problems == []
    assert [(s.name, s.text) for s in found] == [
        ("sheet.csv:A1", "Chemise, rouge"),
        ("sheet.csv:A2", "Lavable"),
    ]


@pytest.mark.parametrize(
    ("name", "data", "key"),
    [
        ("s.txt", b"\xff\xfe", "batch.sentences_not_utf8"),
        ("s.csv", b"id,sentence\n1,x\n", "batch.sentences_header"),
        ("s.csv", b"id,text\n1,x,extra\n", "batch.sentences_row_invalid"),
        ("s.csv", b"id,text\n1,x\n1,y\n", "batch.sentence_duplicate"),
        ("s.txt", b"x" * (MAX_SENTENCE_CHARS + 1), "batch.sentence_too_long"),
    ],
)
def test_a_wrong_sentences_file_is_named(name: str, data: bytes, key: str) -> None:
    _found, problems = read_sentences(name, data)
    assert [problem.key for problem in problems] == [key]
    assert problems[0].params["file"] == name


def test_review_is_on_by_default_for_translation_and_refused_for_labels() -> None:
    spec = parse_manifest(toml(**TRANSLATION), min_hourly_rate=RATE).spec
    assert spec is not None
    assert spec.review
    off = parse_manifest(toml(**TRANSLATION, review=False), min_hourly_rate=RATE).spec
    assert off is not None
    assert not off.review
    text = parse_manifest(toml(**{**TRANSLATION, "type": "image_text"}), min_hourly_rate=RATE).spec
    assert text is not None
    assert not text.review
    labels = parse_manifest(
        toml(**{**TRANSLATION, "type": "emotion"}, review=True), min_hourly_rate=RATE
    )
    assert [(p.key, p.params["field"]) for p in labels.problems] == [
        ("batch.field_not_allowed", "review")
    ]
    review = parse_manifest(toml(**{**TRANSLATION, "type": "review"}), min_hourly_rate=RATE)
    assert [p.key for p in review.problems] == ["batch.type_unknown"]


async def test_a_translation_zip_becomes_text_items_with_gold_and_a_review_price(
    data_dir: Path,
) -> None:
    files = {
        "batch.toml": toml(**TRANSLATION, gold="gold.csv"),
        "b.txt": b"Lavable en machine\n",
        "a.csv": b"id,text\nshirt,Chemise en coton rouge\n",
        "gold.csv": b"file,answer\nb.txt:1,Machine washable\n",
    }
    prepared = await prepare_batch(make_zip(files), data_dir=data_dir, min_hourly_rate=RATE)
    assert [(i.source_path, i.kind, i.text, i.gold_answer) for i in prepared.items] == [
        ("a.csv:shirt", "text", "Chemise en coton rouge", None),
        ("b.txt:1", "text", "Lavable en machine", "Machine washable"),
    ]
    stored = data_dir / prepared.items[0].media.path
    assert stored.read_text("utf-8") == "Chemise en coton rouge"
    assert prepared.review_reward == 5  # 15 s at 10.00 an hour, rounded up to the cent


async def test_a_translation_zip_refuses_images_and_an_image_zip_refuses_sentences(
    data_dir: Path,
) -> None:
    files = {"batch.toml": toml(**TRANSLATION), "s.txt": b"Bonjour\n", "p.png": png(1)}
    with pytest.raises(BatchRejected) as caught:
        await prepare_batch(make_zip(files), data_dir=data_dir, min_hourly_rate=RATE)
    assert [p.key for p in caught.value.problems] == ["batch.item_kind_not_allowed"]
    files["batch.toml"] = toml(**{**TRANSLATION, "type": "image_text"})
    with pytest.raises(BatchRejected) as caught:
        await prepare_batch(make_zip(files), data_dir=data_dir, min_hourly_rate=RATE)
    assert [(p.key, p.params["file"]) for p in caught.value.problems] == [
        ("batch.file_unsupported", "s.txt")
    ]
