"""Intake, audio: OGG/Opus, MP3, WAV or M4A proved by decoding, bounded in time, stored as Opus."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import FfmpegError, FfmpegTimeout, InvalidInput
from bot.intake.ffmpeg import encode_ogg_opus, load_audio
from bot.intake.store import StoredMedia, store_media

EXTENSIONS = frozenset({".ogg", ".oga", ".opus", ".mp3", ".wav", ".m4a"})
MAX_SECONDS = 2 * 3600
DECODE_TIMEOUT = 120.0
MIN_MS = 100


@dataclass(frozen=True)
class AudioLimits:
    """How long a recording may be, and how long ffmpeg may take to decode it."""

    max_seconds: int = MAX_SECONDS
    timeout: float = DECODE_TIMEOUT


@dataclass(frozen=True)
class StoredAudio:
    """An accepted recording stored as mono OGG/Opus, and its duration."""

    media: StoredMedia
    duration_ms: int


def is_audio_name(path: str) -> bool:
    """Whether a file name is one of the audio types a batch may hold (content is checked later)."""
    return Path(path).suffix.lower() in EXTENSIONS


def sniff_format(data: bytes) -> str | None:
    """The ffmpeg demuxer for an allowed container, from its first bytes; None for anything else.

    Naming the demuxer keeps ffmpeg from guessing: a playlist or a concat script renamed ``.mp3``
    never reaches a demuxer that would open other files or URLs.
    """
    if data.startswith(b"OggS"):
        return "ogg"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "wav"
    if data[4:8] == b"ftyp":
        return "mov"  # ffmpeg's demuxer for MP4/M4A
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


async def decode_audio(data: bytes, *, name: str, limits: AudioLimits | None = None) -> Any:
    """Decode an uploaded recording into a mono 16-bit ``AudioSegment``.

    Refused with ``InvalidInput`` naming ``name``: not one of the four containers, not decodable,
    not decoded within ``limits.timeout``, empty, or longer than ``limits.max_seconds``.
    """
    limits = limits or AudioLimits()
    container = sniff_format(data)
    if container is None:
        raise InvalidInput("audio.unsupported_format", file=name)
    try:
        segment = await load_audio(
            data, timeout=limits.timeout, max_seconds=limits.max_seconds + 1, input_format=container
        )
    except FfmpegTimeout:
        seconds = math.ceil(limits.timeout)
        raise InvalidInput("audio.timeout", file=name, seconds=seconds) from None
    except FfmpegError:
        raise InvalidInput("audio.undecodable", file=name) from None
    if len(segment) > limits.max_seconds * 1000:
        raise InvalidInput(
            "audio.too_long",
            file=name,
            max_seconds=limits.max_seconds,
            max_minutes=math.ceil(limits.max_seconds / 60),
        )
    if len(segment) < MIN_MS:
        raise InvalidInput("audio.empty", file=name)
    return segment


async def store_segment(segment: Any, *, root: Path) -> StoredAudio:
    """Encode a segment as mono OGG/Opus and store it content-addressed under ``root``."""
    ogg = await encode_ogg_opus(segment)
    media = await asyncio.to_thread(store_media, ogg, root, "ogg")
    return StoredAudio(media, len(segment))


async def store_audio(
    data: bytes, *, name: str, root: Path, limits: AudioLimits | None = None
) -> StoredAudio:
    """Check an uploaded recording and store it as mono OGG/Opus; see ``decode_audio``."""
    segment = await decode_audio(data, name=name, limits=limits)
    return await store_segment(segment, root=root)
