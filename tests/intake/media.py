"""Media made in the tests: tones, noise and pauses, images, ZIPs and manifests."""

from __future__ import annotations

import io
import json
import random
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from bot.intake.ffmpeg import SAMPLE_RATE, ffmpeg_exe, segment_to_wav
from bot.intake.sound import AudioSegment

# --- audio ---------------------------------------------------------------------------------


def tone(ms: int, freq: float = 440.0, volume: float = -20.0) -> Any:
    """A sine tone, mono 16-bit at the decoding rate."""
    from pydub.generators import Sine  # after bot.intake.sound: pydub imported quietly

    return Sine(freq, sample_rate=SAMPLE_RATE).to_audio_segment(duration=ms, volume=volume)


def noise(ms: int, volume: float = -22.0) -> Any:
    """White noise, a stand-in for speech energy."""
    from pydub.generators import WhiteNoise

    return WhiteNoise(sample_rate=SAMPLE_RATE).to_audio_segment(duration=ms, volume=volume)


def silence(ms: int) -> Any:
    return AudioSegment.silent(duration=ms, frame_rate=SAMPLE_RATE)


def speech_like(total_ms: int, *, seed: int = 7) -> Any:
    """Bursts of 2-7 s of noise and tone between 0.4-1.2 s pauses, ``total_ms`` long."""
    rng = random.Random(seed)
    voice = noise(7_000).overlay(tone(7_000, 220, -26))
    out = silence(0)
    while len(out) < total_ms:
        out += voice[: rng.randint(2_000, 7_000)]
        out += silence(rng.randint(400, 1_200))
    return out[:total_ms]


def export(segment: Any, fmt: str, tmp_path: Path) -> bytes:
    """The segment as WAV, OGG/Opus, MP3 or M4A bytes, encoded by the located ffmpeg."""
    if fmt == "wav":
        return segment_to_wav(segment)
    codec = {"ogg": ["-c:a", "libopus", "-f", "ogg"], "mp3": ["-c:a", "libmp3lame", "-f", "mp3"]}
    codec["m4a"] = ["-c:a", "aac", "-f", "ipod"]
    target = tmp_path / f"export.{fmt}"
    subprocess.run(
        [ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-y", "-f", "wav", "-i", "pipe:0"]
        + codec[fmt]
        + [str(target)],
        input=segment_to_wav(segment),
        check=True,
    )
    return target.read_bytes()


# --- images --------------------------------------------------------------------------------


def image_bytes(
    fmt: str, size: tuple[int, int] = (64, 48), color: str = "teal", **save: Any
) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save)
    return out.getvalue()


def png(index: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small PNG; ``index`` changes its colour, so that each has its own content address."""
    return image_bytes("PNG", size, (index * 40 % 256, 90, 160))  # type: ignore[arg-type]


def huge_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of any size, written by hand: a few kB, never a big bitmap in memory."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def rotated_jpeg(size: tuple[int, int] = (1600, 1000)) -> bytes:
    """A landscape JPEG, left half red and right half blue, tagged EXIF orientation 6.

    A viewer turns it 90 degrees clockwise: portrait, red on top, blue below.
    """
    image = Image.new("RGB", size, "blue")
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


# --- archives and manifests ----------------------------------------------------------------


def make_zip(files: Mapping[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def toml(**fields: Any) -> bytes:
    """A ``batch.toml`` of strings, numbers, booleans and string lists (JSON is TOML there)."""
    lines = []
    for key, value in fields.items():
        text = ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)
        lines.append(f"{key} = {text}")
    return ("\n".join(lines) + "\n").encode()


IMAGE_TAG = {
    "type": "image_tag",
    "title": "Street scenes",
    "instructions": "Tick every object you can see.",
    "labels": ["car", "bicycle", "person", "dog"],
    "multiple": True,
    "seconds_per_task": 12,
    "reward": "0.04",
    "answers_per_item": 3,
    "time_limit": 60,
    "gold": "gold.csv",
}
TRANSCRIPTION = {
    "type": "transcription",
    "title": "Meeting",
    "instructions": "Type what you hear.",
    "seconds_per_task": 60,
    "answers_per_item": 2,
}
EMOTION = {
    "type": "emotion",
    "title": "Voices",
    "instructions": "How does this person feel?",
    "seconds_per_task": 10,
}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder under ``folder``."""
    return {
        str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }
