"""Guided /newbatch: the batch's size budget counts every sent file before any ZIP is expanded."""

from __future__ import annotations

import io
import zipfile

import pytest

from bot import guided
from bot.errors import InvalidInput
from bot.guided import ManifestFields, Upload
from bot.intake.archive import MB, ZipLimits
from tests.intake.media import png

ANSWERS: ManifestFields = {
    "type": "image_tag",
    "title": "Street scenes",
    "instructions": "Pick what you see.",
    "labels": ("car", "person"),
}
LIMITS = ZipLimits(max_total_bytes=1 * MB)


def _small_zip_of(size: int) -> bytes:
    """A ZIP of a few hundred bytes that expands to ``size`` bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("street/zeros.png", bytes(size))
    return out.getvalue()


def test_three_small_zips_that_expand_past_the_budget_are_refused_before_expanding() -> None:
    uploads = [Upload(f"00{n}-part.zip", "zip", _small_zip_of(400_000)) for n in range(1, 4)]
    assert sum(len(u.data) for u in uploads) < 10_000  # tiny as sent
    with pytest.raises(InvalidInput) as refused:
        guided.check_total(uploads, LIMITS)
    assert refused.value.message_key == "crowd.uploads_too_large"
    assert refused.value.params == {"size": 2, "limit": "1"}
    with pytest.raises(InvalidInput):
        guided.assemble_zip(ANSWERS, uploads, limits=LIMITS)


def test_sent_files_and_zips_within_the_budget_pass_and_count_together() -> None:
    uploads = [
        Upload("001-a.jpg", "image", png(1)),
        Upload("002-b.zip", "zip", _small_zip_of(300_000)),
    ]
    total = guided.check_total(uploads, LIMITS)
    assert total == len(png(1)) + 300_000
    assert guided.assemble_zip(ANSWERS, uploads, limits=LIMITS)
