"""The task-type registry: every batch type has one type, one catalogue file, the same face."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.batch_settings import BATCH_TYPES, REQUESTED_TYPES
from bot.i18n import LANGUAGES, Catalogue
from bot.tasks import TASK_TYPES, TaskType, task_type

LOCALES = Path(__file__).parents[2] / "bot" / "locales"


def test_every_batch_type_is_registered_in_order() -> None:
    assert tuple(TASK_TYPES) == BATCH_TYPES
    for name in BATCH_TYPES:
        assert isinstance(task_type(name), TaskType)
        assert task_type(name).name == name


def test_an_unknown_type_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        task_type("poetry")


@pytest.mark.parametrize("name", BATCH_TYPES)
def test_each_type_has_its_catalogue_file_with_its_names(name: str) -> None:
    catalogue = Catalogue.load()
    for language in LANGUAGES:
        assert (LOCALES / language / "LC_MESSAGES" / f"type_{name}.po").is_file()
        keys = catalogue.keys(language)
        for key in ("batches.type", "tasks.kind", "quality.type"):
            assert f"{key}.{name}" in keys
        if name in REQUESTED_TYPES:  # a review batch is made by the pipeline, never asked for
            for key in ("newbatch.ask_media", "newbatch.ask_instructions", "newbatch.wrong_kind"):
                assert f"{key}.{name}" in keys


def test_what_each_type_takes() -> None:
    image_tag, emotion, transcription, image_text, translation, review = (
        task_type(name) for name in BATCH_TYPES
    )
    assert image_tag.takes("labels")
    assert image_tag.takes("multiple")
    assert emotion.takes("labels")
    assert not emotion.takes("multiple")
    assert not transcription.takes("labels")
    assert not transcription.takes("multiple")
    assert all(kind.takes("review") for kind in (transcription, image_text, translation))
    assert not any(kind.takes("review") for kind in (image_tag, emotion, review))
    assert [kind.media_kinds for kind in TASK_TYPES.values()] == [
        frozenset({"image"}),
        frozenset({"image", "audio"}),
        frozenset({"audio"}),
        frozenset({"image"}),
        frozenset({"text"}),
        frozenset({"image", "audio", "text"}),
    ]
    assert [kind.chunks_recordings for kind in TASK_TYPES.values()] == [
        False,
        False,
        True,
        False,
        False,
        False,
    ]
    assert [kind.takes_text for kind in TASK_TYPES.values()] == [
        False,
        False,
        True,
        True,
        True,
        False,
    ]
    assert [kind.review_by_default for kind in TASK_TYPES.values()] == [
        False,
        False,
        False,
        False,
        True,
        False,
    ]
    assert "review" not in REQUESTED_TYPES
    assert image_tag.default_labels is None
    assert transcription.default_labels is None
    assert emotion.default_labels is not None
    assert "joy" in emotion.default_labels
