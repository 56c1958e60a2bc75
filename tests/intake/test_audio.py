"""Audio items: the four containers decode, anything else is refused, too long is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import InvalidInput
from bot.intake.audio import AudioLimits, decode_audio, sniff_format, store_audio
from tests.intake.media import export, tone


def opus_channels(ogg: bytes) -> int:
    """The channel count of an OGG/Opus stream, from its OpusHead packet."""
    head = ogg.index(b"OpusHead")
    return ogg[head + 9]


@pytest.mark.parametrize(
    ("fmt", "container"), [("ogg", "ogg"), ("mp3", "mp3"), ("wav", "wav"), ("m4a", "mov")]
)
async def test_each_container_decodes(tmp_path: Path, fmt: str, container: str) -> None:
    data = export(tone(3_000, 330), fmt, tmp_path)
    assert sniff_format(data) == container
    segment = await decode_audio(data, name=f"clip.{fmt}")
    assert segment.channels == 1
    assert abs(len(segment) - 3_000) < 120  # encoders pad a little
    assert -24 < segment.dBFS < -19


async def test_stored_as_mono_opus_with_its_duration(tmp_path: Path) -> None:
    stereo = tone(2_000).set_channels(2)
    stored = await store_audio(
        export(stereo, "mp3", tmp_path), name="a.mp3", root=tmp_path / "data"
    )
    assert stored.media.path == f"media/{stored.media.sha256[:2]}/{stored.media.sha256}.ogg"
    assert abs(stored.duration_ms - 2_000) < 120
    ogg = (tmp_path / "data" / stored.media.path).read_bytes()
    assert ogg.startswith(b"OggS")
    assert opus_channels(ogg) == 1


async def refused(
    data: bytes, name: str, limits: AudioLimits | None = None
) -> tuple[str, dict[str, object]]:
    with pytest.raises(InvalidInput) as caught:
        await decode_audio(data, name=name, limits=limits)
    return caught.value.message_key, caught.value.params


async def test_a_text_file_named_mp3_is_refused() -> None:
    text = b"Shopping list: bread, cheese, wine.\n" * 20
    assert await refused(text, "song.mp3") == ("audio.unsupported_format", {"file": "song.mp3"})


async def test_text_that_looks_like_mp3_is_refused_by_ffmpeg() -> None:
    fake = b"ID3" + b"\x04\x00\x00\x00\x00\x00\x00" + b"not audio at all " * 200
    assert await refused(fake, "tricky.mp3") == ("audio.undecodable", {"file": "tricky.mp3"})


async def test_a_playlist_renamed_mp3_never_reaches_its_demuxer() -> None:
    playlist = b"#EXTM3U\n#EXTINF:10,\nfile:///etc/passwd\n"
    assert (await refused(playlist, "list.mp3"))[0] == "audio.unsupported_format"


async def test_longer_than_the_maximum_is_refused(tmp_path: Path) -> None:
    data = export(tone(5_000), "ogg", tmp_path)
    limits = AudioLimits(max_seconds=3)
    assert await refused(data, "long.ogg", limits) == (
        "audio.too_long",
        {"file": "long.ogg", "max_seconds": 3, "max_minutes": 1},
    )


async def test_a_decode_past_the_time_limit_is_refused(tmp_path: Path) -> None:
    data = export(tone(20_000), "mp3", tmp_path)
    limits = AudioLimits(timeout=0.001)
    assert await refused(data, "slow.mp3", limits) == (
        "audio.timeout",
        {"file": "slow.mp3", "seconds": 1},
    )
