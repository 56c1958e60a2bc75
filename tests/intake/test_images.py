"""Image items: allowed formats only, bombs and broken files refused, upright, 1280 px, JPEG."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from bot.errors import InvalidInput
from bot.intake.images import normalise_image, store_image
from tests.intake.media import huge_png, image_bytes, png, rotated_jpeg, snapshot


def refused(data: bytes, name: str = "x.png") -> tuple[str, dict[str, object]]:
    with pytest.raises(InvalidInput) as caught:
        normalise_image(data, name=name)
    return caught.value.message_key, caught.value.params


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    return image


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_allowed_formats_become_jpeg(fmt: str) -> None:
    image = opened(normalise_image(image_bytes(fmt, (300, 200)), name=f"a.{fmt.lower()}"))
    assert image.size == (300, 200)


def test_the_exif_rotated_jpeg_comes_out_upright_and_at_most_1280_px() -> None:
    image = opened(normalise_image(rotated_jpeg((1600, 1000)), name="portrait.jpg"))
    assert image.size == (800, 1280)
    top, bottom = image.getpixel((400, 200)), image.getpixel((400, 1080))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert (top[0] > 200, top[2] < 60) == (True, True)  # red above
    assert (bottom[2] > 200, bottom[0] < 60) == (True, True)  # blue below
    assert "exif" not in image.info  # no EXIF (nor GPS) is kept


def test_transparency_is_laid_on_white() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 0, 0)).save(out, "PNG")
    assert opened(normalise_image(out.getvalue(), name="clear.png")).getpixel((5, 5)) == (
        255,
        255,
        255,
    )


def test_a_20000_by_20000_png_is_refused_as_too_large() -> None:
    data = huge_png(20_000, 20_000)
    assert len(data) < 200_000
    assert refused(data, "huge.png") == ("image.too_large", {"file": "huge.png", "limit_mp": 40})


def test_between_the_limit_and_twice_it_is_refused_too() -> None:
    assert refused(huge_png(8_000, 6_000), "big.png")[0] == "image.too_large"  # 48 MP


def test_a_truncated_jpeg_is_refused() -> None:
    noisy = io.BytesIO()
    Image.effect_noise((600, 400), 60).convert("RGB").save(noisy, "JPEG")
    data = noisy.getvalue()
    assert refused(data[: len(data) // 2], "cut.jpg") == ("image.corrupt", {"file": "cut.jpg"})


def test_a_truncated_png_is_refused() -> None:
    data = png(size=(300, 300))
    assert refused(data[:-40], "cut.png")[0] == "image.corrupt"


@pytest.mark.parametrize(
    "data",
    [image_bytes("GIF"), image_bytes("BMP"), image_bytes("TIFF"), b"just some text"],
)
def test_other_formats_are_refused_even_when_renamed(data: bytes) -> None:
    assert refused(data, "photo.png") == ("image.unsupported_format", {"file": "photo.png"})


async def test_stored_content_addressed_by_the_stored_bytes(tmp_path: Path) -> None:
    stored = await store_image(png(1, (2000, 1500)), name="a.png", root=tmp_path)
    written = (tmp_path / stored.path).read_bytes()
    assert stored.sha256 == hashlib.sha256(written).hexdigest()
    assert stored.path == f"media/{stored.sha256[:2]}/{stored.sha256}.jpg"
    assert stored.size_bytes == len(written)
    assert opened(written).size == (1280, 960)
    again = await store_image(png(1, (2000, 1500)), name="b.png", root=tmp_path)
    assert again == stored
    assert list(snapshot(tmp_path)) == ["media", f"media/{stored.sha256[:2]}", stored.path]
