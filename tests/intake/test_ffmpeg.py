"""ffmpeg without root: the wheel binary decodes OGG/Opus with no ffmpeg on PATH, killably."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from bot.errors import FfmpegError, FfmpegTimeout
from bot.intake import ffmpeg
from bot.intake.sound import AudioSegment
from tests.intake.media import tone


@pytest.fixture
def relocate() -> Iterator[None]:
    """Forget the located ffmpeg before and after the test, so PATH changes take effect."""
    ffmpeg.ffmpeg_exe.cache_clear()
    yield
    ffmpeg.ffmpeg_exe.cache_clear()


@pytest.fixture
def no_system_ffmpeg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relocate: None) -> None:
    """PATH holds only an empty folder: no system ffmpeg can be found or run."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    assert shutil.which("ffmpeg") is None


async def test_opus_decodes_with_the_wheel_binary_and_no_ffmpeg_on_path(
    no_system_ffmpeg: None,
) -> None:
    exe = ffmpeg.ffmpeg_exe()
    assert exe == imageio_ffmpeg.get_ffmpeg_exe()
    assert AudioSegment.converter == exe

    ogg = await ffmpeg.encode_ogg_opus(tone(3_000, 440, -20))
    assert ogg.startswith(b"OggS")
    assert b"OpusHead" in ogg

    segment = await ffmpeg.load_audio(ogg, timeout=30, max_seconds=60)
    assert segment.channels == 1
    assert segment.sample_width == 2
    assert abs(len(segment) - 3_000) <= 30
    assert -24 < segment.dBFS < -20
    assert await ffmpeg.probe_duration_ms(ogg, timeout=30, max_seconds=60) == len(segment)


async def test_decode_is_bounded_by_max_seconds(no_system_ffmpeg: None) -> None:
    wav = ffmpeg.segment_to_wav(tone(5_000))
    decoded = await ffmpeg.decode_to_wav(wav, timeout=30, max_seconds=2, input_format="wav")
    assert ffmpeg.wav_duration_ms(decoded) == 2_000


def test_a_system_ffmpeg_on_path_is_preferred(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relocate: None
) -> None:
    fake = tmp_path / "ffmpeg"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert ffmpeg.find_ffmpeg() == str(fake)


async def test_a_decode_past_its_time_limit_is_killed(tmp_path: Path) -> None:
    stuck = tmp_path / "never-written.wav"
    os.mkfifo(stuck)  # ffmpeg blocks opening it, for ever: only the kill ends it
    started = time.monotonic()
    with pytest.raises(FfmpegTimeout) as caught:
        await ffmpeg.decode_to_wav(stuck, timeout=0.5, max_seconds=60, input_format="wav")
    assert time.monotonic() - started < 5
    with pytest.raises(ProcessLookupError):
        os.kill(caught.value.pid, 0)  # killed and reaped


async def test_an_endless_run_is_killed() -> None:
    with pytest.raises(FfmpegTimeout) as caught:
        await ffmpeg.run_ffmpeg(["-f", "lavfi", "-i", "anullsrc", "-f", "null", "-"], timeout=0.5)
    assert caught.value.timeout == 0.5
    with pytest.raises(ProcessLookupError):
        os.kill(caught.value.pid, 0)


@pytest.mark.parametrize("forced", [None, "mp3"])
async def test_a_text_file_named_mp3_is_refused(tmp_path: Path, forced: str | None) -> None:
    notes = tmp_path / "song.mp3"
    notes.write_text("These are my meeting notes, not a song.\n" * 50)
    with pytest.raises(FfmpegError) as caught:
        await ffmpeg.decode_to_wav(notes, timeout=30, max_seconds=60, input_format=forced)
    assert not isinstance(caught.value, FfmpegTimeout)
    assert caught.value.returncode != 0
    assert caught.value.stderr  # summarised for the log


def test_stderr_is_summarised() -> None:
    noisy = b"\n".join(f"line {n}".encode() for n in range(100)) + b"\n\n"
    summary = ffmpeg.summarise_stderr(noisy)
    assert summary == "line 95 | line 96 | line 97 | line 98 | line 99"
    assert len(ffmpeg.summarise_stderr(b"x" * 10_000)) == 500
