"""Fixtures of the task-rule tests: a data dir with history, and a check that it is unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.intake.media import snapshot


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data dir that already holds a stored file, as a running bot's would."""
    folder = tmp_path / "data"
    (folder / "media" / "00").mkdir(parents=True)
    (folder / "media" / "00" / ("0" * 64 + ".jpg")).write_bytes(b"earlier upload")
    return folder


@pytest.fixture
def unchanged(data_dir: Path) -> Callable[[], None]:
    """Call at the end of a test: asserts the data dir is exactly as it was at the start."""
    before = snapshot(data_dir)

    def check() -> None:
        assert snapshot(data_dir) == before

    return check
