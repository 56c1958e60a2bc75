"""Content-addressed storage: atomic writes, de-duplication, staging committed or discarded."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.intake.store import Staging, media_path, store_media
from tests.intake.media import snapshot


def test_a_file_is_stored_at_its_content_address(tmp_path: Path) -> None:
    stored = store_media(b"hello", tmp_path, "jpg")
    sha = hashlib.sha256(b"hello").hexdigest()
    assert (stored.sha256, stored.path, stored.size_bytes) == (sha, f"media/{sha[:2]}/{sha}.jpg", 5)
    assert (tmp_path / stored.path).read_bytes() == b"hello"
    assert store_media(b"hello", tmp_path, "jpg") == stored
    assert list(snapshot(tmp_path)) == ["media", f"media/{sha[:2]}", stored.path]  # no temp left


def test_media_path_layout() -> None:
    assert media_path("abcdef" + "0" * 58, "ogg") == "media/ab/abcdef" + "0" * 58 + ".ogg"


def test_staged_files_move_into_place_on_commit(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    existing = store_media(b"old", data_dir, "jpg")
    with Staging(data_dir) as staging:
        new = staging.store(b"new", "jpg")
        again = staging.store(b"old", "jpg")
        assert not (data_dir / new.path).exists()
        staging.commit()
    assert (data_dir / new.path).read_bytes() == b"new"
    assert again == existing
    assert sorted(p for p, content in snapshot(data_dir).items() if content) == sorted(
        [existing.path, new.path]
    )


def test_leaving_without_commit_leaves_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    store_media(b"old", data_dir, "jpg")
    before = snapshot(data_dir)

    def refuse_after_staging() -> None:
        with Staging(data_dir) as staging:
            staging.store(b"new", "jpg")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        refuse_after_staging()
    assert snapshot(data_dir) == before
