"""The task-type registry: every batch type has one type, one catalogue file, the same face."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.batch_settings import BATCH_TYPES
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
        for key in ("batches.type", "tasks.kind", "quality.type", "newbatch.ask_media"):
            assert f"{key}.{name}" in keys


def test_what_each_type_takes() -> None:
    image_tag, emotion, transcription = (task_type(name) for name in BATCH_TYPES)
    assert image_tag.takes("labels")
    assert image_tag.takes("multiple")
    assert emotion.takes("labels")
    assert not emotion.takes("multiple")
    assert not transcription.takes("labels")
    assert not transcription.takes("multiple")
    assert (image_tag.media_kinds, emotion.media_kinds, transcription.media_kinds) == (
        frozenset({"image"}),
        frozenset({"image", "audio"}),
        frozenset({"audio"}),
    )
    assert [kind.chunks_recordings for kind in TASK_TYPES.values()] == [False, False, True]
    assert [kind.takes_text for kind in TASK_TYPES.values()] == [False, False, True]
    assert image_tag.default_labels is None
    assert transcription.default_labels is None
    assert emotion.default_labels is not None
    assert "joy" in emotion.default_labels
