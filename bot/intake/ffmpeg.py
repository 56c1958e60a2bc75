"""Intake, ffmpeg without root: find it, run it as a killable subprocess, decode and encode."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import shutil
import tempfile
import wave
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.errors import FfmpegError, FfmpegTimeout, MediaError
from bot.intake.sound import AudioSegment

SAMPLE_RATE = 16_000
"""Decoded audio is mono 16-bit PCM at this rate: wideband speech, 32 kB per second."""

_STDERR_LINES = 5
_STDERR_CHARS = 500
_ENCODE_TIMEOUT = 120.0


def find_ffmpeg() -> str:
    """The ffmpeg to use: a system ``ffmpeg`` on PATH first, else the imageio-ffmpeg wheel's."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError) as error:
        raise MediaError(f"no ffmpeg on PATH and no imageio-ffmpeg binary: {error}") from error


@functools.cache
def ffmpeg_exe() -> str:
    """The located ffmpeg, found once per process; pydub is pointed at it too."""
    exe = find_ffmpeg()
    AudioSegment.converter = exe
    return exe


def summarise_stderr(stderr: bytes) -> str:
    """The last few lines of ffmpeg's stderr, short enough for a log line."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    kept = [line for line in lines if line][-_STDERR_LINES:]
    return " | ".join(kept)[-_STDERR_CHARS:]


async def run_ffmpeg(
    args: Sequence[str],
    *,
    timeout: float,  # noqa: ASYNC109 - on expiry the child is killed and FfmpegTimeout raised
    stdin: bytes | None = None,
) -> bytes:
    """Run ffmpeg with ``args`` and return its stdout; kill it after ``timeout`` seconds.

    Raises ``FfmpegTimeout`` (the process is killed and reaped) or ``FfmpegError`` on a non-zero
    exit, both with stderr summarised.
    """
    exe = ffmpeg_exe()
    try:
        process = await asyncio.create_subprocess_exec(
            exe,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            *args,
            stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as error:
        raise MediaError(f"cannot run ffmpeg at {exe}: {error}") from error
    # ``shield`` keeps communicate() running when the wait times out, so that after the kill it
    # drains the pipes and reaps the process: no zombie, no transport left open.
    talking = asyncio.ensure_future(process.communicate(stdin))
    try:
        stdout, stderr = await asyncio.wait_for(asyncio.shield(talking), timeout)
    except TimeoutError:
        _, stderr = await _kill(process, talking)
        raise FfmpegTimeout(timeout, pid=process.pid, stderr=summarise_stderr(stderr)) from None
    except BaseException:
        await _kill(process, talking)
        raise
    if process.returncode != 0:
        raise FfmpegError(
            "ffmpeg failed", returncode=process.returncode, stderr=summarise_stderr(stderr)
        )
    return stdout


async def _kill(
    process: asyncio.subprocess.Process, talking: asyncio.Future[tuple[bytes, bytes]]
) -> tuple[bytes, bytes]:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
            process.kill()
    return await talking


async def decode_to_pcm(
    source: bytes | Path,
    *,
    timeout: float,  # noqa: ASYNC109 - passed to run_ffmpeg
    max_seconds: float,
    input_format: str | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> bytes:
    """Decode the first audio stream of ``source`` to raw mono 16-bit PCM, at most ``max_seconds``.

    Only local files are read (``-protocol_whitelist file``); ``input_format`` (an ffmpeg demuxer
    such as ``ogg``, ``mp3``, ``wav`` or ``mov``) stops ffmpeg from guessing.
    """
    async with _input_file(source) as path:
        forced = ["-f", input_format] if input_format else []
        return await run_ffmpeg(
            [
                "-protocol_whitelist",
                "file",
                *forced,
                "-i",
                f"file:{path}",
                "-map",
                "0:a:0",
                "-vn",
                "-sn",
                "-dn",
                "-t",
                f"{max_seconds:.3f}",
                "-ac",
                "1",
                "-ar",
                str(sample_rate),
                "-c:a",
                "pcm_s16le",
                "-f",
                "s16le",
                "pipe:1",
            ],
            timeout=timeout,
        )


async def decode_to_wav(
    source: bytes | Path,
    *,
    timeout: float,  # noqa: ASYNC109 - passed to run_ffmpeg
    max_seconds: float,
    input_format: str | None = None,
    sample_rate: int = SAMPLE_RATE,
) -> bytes:
    """Decode ``source`` to a mono 16-bit WAV of at most ``max_seconds`` (see ``decode_to_pcm``)."""
    pcm = await decode_to_pcm(
        source,
        timeout=timeout,
        max_seconds=max_seconds,
        input_format=input_format,
        sample_rate=sample_rate,
    )
    return pcm_to_wav(pcm, sample_rate=sample_rate)


async def load_audio(
    source: bytes | Path,
    *,
    timeout: float,  # noqa: ASYNC109 - passed to run_ffmpeg
    max_seconds: float,
    input_format: str | None = None,
) -> Any:
    """Decode ``source`` into a mono 16-bit ``pydub.AudioSegment`` (never calls ffprobe)."""
    wav = await decode_to_wav(
        source, timeout=timeout, max_seconds=max_seconds, input_format=input_format
    )
    return await asyncio.to_thread(AudioSegment.from_wav, io.BytesIO(wav))


async def encode_ogg_opus(
    segment: Any,
    *,
    timeout: float = _ENCODE_TIMEOUT,  # noqa: ASYNC109 - passed to run_ffmpeg
    bitrate: str = "32k",
) -> bytes:
    """Encode an ``AudioSegment`` as mono OGG/Opus, what Telegram shows as a voice message."""
    wav = await asyncio.to_thread(segment_to_wav, segment.set_channels(1).set_sample_width(2))
    return await run_ffmpeg(
        [
            "-f",
            "wav",
            "-i",
            "pipe:0",
            "-ac",
            "1",
            "-c:a",
            "libopus",
            "-b:a",
            bitrate,
            "-application",
            "voip",
            "-f",
            "ogg",
            "pipe:1",
        ],
        timeout=timeout,
        stdin=wav,
    )


async def probe_duration_ms(
    source: bytes | Path,
    *,
    timeout: float,  # noqa: ASYNC109 - passed to run_ffmpeg
    max_seconds: float,
    input_format: str | None = None,
) -> int:
    """The audio duration of ``source`` in ms, measured by decoding it (capped at ``max_seconds``).

    The wheel ships no ffprobe, and a container's declared duration is the file's word, not a
    fact: the PCM ffmpeg actually produces is counted instead.
    """
    pcm = await decode_to_pcm(
        source, timeout=timeout, max_seconds=max_seconds, input_format=input_format
    )
    return pcm_duration_ms(len(pcm), sample_rate=SAMPLE_RATE)


def pcm_duration_ms(size: int, *, sample_rate: int = SAMPLE_RATE) -> int:
    """Milliseconds in ``size`` bytes of mono 16-bit PCM."""
    return size * 1000 // (2 * sample_rate)


def wav_duration_ms(wav: bytes) -> int:
    """Milliseconds of audio in a WAV file's bytes."""
    with wave.open(io.BytesIO(wav), "rb") as reader:
        return reader.getnframes() * 1000 // reader.getframerate()


def pcm_to_wav(pcm: bytes, *, sample_rate: int = SAMPLE_RATE, channels: int = 1) -> bytes:
    """Wrap raw 16-bit little-endian PCM in a WAV header."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)
    return out.getvalue()


def segment_to_wav(segment: Any) -> bytes:
    """The WAV bytes of an ``AudioSegment`` (written here; pydub would not need ffmpeg either)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(segment.channels)
        writer.setsampwidth(segment.sample_width)
        writer.setframerate(segment.frame_rate)
        writer.writeframes(segment.raw_data)
    return out.getvalue()


@asynccontextmanager
async def _input_file(source: bytes | Path) -> AsyncIterator[Path]:
    """A path for ffmpeg to read: ``source`` itself, or bytes written to a private temp file.

    A file rather than a pipe, because MP4/M4A puts its index at the end and needs seeking.
    """
    if isinstance(source, Path):
        yield await asyncio.to_thread(source.resolve)
        return
    with tempfile.TemporaryDirectory(prefix="pm-ffmpeg-") as folder:
        path = Path(folder) / "input"
        await asyncio.to_thread(path.write_bytes, source)
        yield path


__all__ = [
    "SAMPLE_RATE",
    "AudioSegment",
    "decode_to_pcm",
    "decode_to_wav",
    "encode_ogg_opus",
    "ffmpeg_exe",
    "find_ffmpeg",
    "load_audio",
    "pcm_duration_ms",
    "pcm_to_wav",
    "probe_duration_ms",
    "run_ffmpeg",
    "segment_to_wav",
    "wav_duration_ms",
]
