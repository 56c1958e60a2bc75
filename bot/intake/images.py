"""Intake, images: JPEG, PNG or WebP checked, turned upright, shrunk to 1280 px, stored as JPEG."""

from __future__ import annotations

import asyncio
import io
import warnings
from pathlib import Path

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from bot.errors import InvalidInput
from bot.intake.store import StoredMedia, store_media

FORMATS = ("JPEG", "PNG", "WEBP")
EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp"})
MAX_PIXELS = 40_000_000  # the default of MAX_IMAGE_PIXELS (bot/config.py)
PIXELS_CEILING = 200_000_000  # Pillow's decompression-bomb guard: no setting goes above it
MAX_SIDE = 1280
JPEG_QUALITY = 85

# Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; the warning is made an error
# too, once, at import: a per-call ``catch_warnings`` would race between worker threads.
Image.MAX_IMAGE_PIXELS = PIXELS_CEILING
ImageFile.LOAD_TRUNCATED_IMAGES = False
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def is_image_name(path: str) -> bool:
    """Whether a file name is one of the image types a batch may hold (content is checked later)."""
    return Path(path).suffix.lower() in EXTENSIONS


def normalise_image(data: bytes, *, name: str, max_pixels: int = MAX_PIXELS) -> bytes:
    """Check an uploaded image and return it upright, at most 1280 px a side, as a JPEG.

    Refused with ``InvalidInput`` naming ``name``: another format (even renamed), more than
    ``max_pixels`` (40 megapixels by default), truncated or undecodable data.
    """
    _verify(data, name, max_pixels)
    with _open(data, name, max_pixels) as image:
        try:
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: let the decoder scale down
            image.load()
            upright = ImageOps.exif_transpose(image)
            return _encode_jpeg(_to_rgb(upright))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_large(name, max_pixels) from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError):
            raise InvalidInput("image.corrupt", file=name) from None


async def prepare_image(data: bytes, *, name: str) -> bytes:
    """``normalise_image`` off the event loop."""
    return await asyncio.to_thread(normalise_image, data, name=name)


async def store_image(data: bytes, *, name: str, root: Path) -> StoredMedia:
    """Normalise an image and store the JPEG content-addressed under ``root`` (atomically)."""
    jpeg = await prepare_image(data, name=name)
    return await asyncio.to_thread(store_media, jpeg, root, "jpg")


def _verify(data: bytes, name: str, max_pixels: int) -> None:
    """Pillow's structural check (``verify()`` leaves the image unusable: it is reopened after)."""
    with _open(data, name, max_pixels) as image:
        try:
            image.verify()
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError):
            raise InvalidInput("image.corrupt", file=name) from None


def _open(data: bytes, name: str, max_pixels: int) -> Image.Image:
    """Open with the three allowed decoders only; the size, read from the header, is checked."""
    try:
        image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(name, max_pixels) from None
    except UnidentifiedImageError:
        raise InvalidInput("image.unsupported_format", file=name) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError):
        raise InvalidInput("image.corrupt", file=name) from None
    if image.width * image.height > max_pixels:
        image.close()
        raise _too_large(name, max_pixels)
    return image


def _too_large(name: str, max_pixels: int) -> InvalidInput:
    return InvalidInput("image.too_large", file=name, limit_mp=max(1, max_pixels // 1_000_000))


def _to_rgb(image: Image.Image) -> Image.Image:
    """RGB (or grey) for JPEG; transparency is laid on white, as a viewer would show it."""
    if image.mode in ("RGB", "L") and "transparency" not in image.info:
        return image
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return image.point(lambda value: value / 256).convert("L").convert("RGB")
    return image.convert("RGB")


def _encode_jpeg(image: Image.Image) -> bytes:
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)  # no EXIF: no GPS leaks
    return out.getvalue()
