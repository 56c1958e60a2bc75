"""A batch ZIP end to end: good uploads become items with stored media; bad ones leave nothing."""

from __future__ import annotations

import io
import itertools
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.errors import BatchRejected, Problem
from bot.intake.archive import ZipLimits
from bot.intake.prepare import IntakeLimits, PreparedBatch, prepare_batch
from tests.intake.media import (
    EMOTION,
    IMAGE_TAG,
    TRANSCRIPTION,
    export,
    huge_png,
    image_bytes,
    make_zip,
    png,
    rotated_jpeg,
    speech_like,
    toml,
    tone,
)

RATE = 1_000  # MIN_HOURLY_RATE 10.00
GOLD = b"file,answer\nphoto1.png,car|person\nphoto4.png,dog\n"


def street_scenes(**overrides: Any) -> dict[str, bytes]:
    """The design's example: 6 PNGs, its manifest and a gold.csv with 2 rows."""
    files = {f"photo{n}.png": png(n) for n in range(1, 7)}
    files["batch.toml"] = toml(**{**IMAGE_TAG, **overrides})
    files["gold.csv"] = GOLD
    return files


async def prepare(files: dict[str, bytes] | bytes, data_dir: Path, **limits: Any) -> PreparedBatch:
    data = files if isinstance(files, bytes) else make_zip(files)
    return await prepare_batch(
        data, data_dir=data_dir, min_hourly_rate=RATE, limits=IntakeLimits(**limits)
    )


async def refused(files: dict[str, bytes] | bytes, data_dir: Path) -> tuple[Problem, ...]:
    with pytest.raises(BatchRejected) as caught:
        await prepare(files, data_dir)
    return caught.value.problems


def media_files(data_dir: Path) -> set[str]:
    return {str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file()}


# --- good uploads ---------------------------------------------------------------------------


async def test_six_pngs_with_manifest_and_gold_become_six_items(data_dir: Path) -> None:
    batch = await prepare(street_scenes(), data_dir)

    assert batch.spec.title == "Street scenes"
    assert [item.source_path for item in batch.items] == [f"photo{n}.png" for n in range(1, 7)]
    assert {item.kind for item in batch.items} == {"image"}
    assert batch.gold_items == 2
    assert [item.gold_answer for item in batch.items][:4] == ["car|person", None, None, "dog"]
    assert (batch.quote.items, batch.quote.gold_items) == (6, 2)
    assert batch.quote.cost == 6 * 3 * 4
    assert batch.quote.shortfall(50) == 22
    assert batch.warnings == ()
    for item in batch.items:
        assert item.media.path == f"media/{item.media.sha256[:2]}/{item.media.sha256}.jpg"
        assert (data_dir / item.media.path).is_file()
        assert (item.recording_path, item.start_ms, item.end_ms, item.duration_ms) == (None,) * 4
    stored = {item.media.path for item in batch.items} | {"media/00/" + "0" * 64 + ".jpg"}
    assert media_files(data_dir) == stored  # no staging left behind


async def test_a_reward_of_one_cent_is_accepted_with_the_floor_warning(data_dir: Path) -> None:
    batch = await prepare(street_scenes(reward="0.01"), data_dir)
    assert batch.spec.reward == 1
    assert [w.key for w in batch.warnings] == ["batch.reward_below_floor"]
    assert batch.warnings[0].params["floor_cents"] == 4
    assert batch.quote.below_floor


async def test_the_default_reward_is_the_floor(data_dir: Path) -> None:
    files = street_scenes()
    files["batch.toml"] = toml(**{k: v for k, v in IMAGE_TAG.items() if k != "reward"})
    batch = await prepare(files, data_dir)
    assert (batch.spec.reward, batch.warnings) == (4, ())  # 10.00/h x 12 s = 0.034 -> 0.04


async def test_emotion_takes_images_and_clips_with_junk_ignored(
    data_dir: Path, tmp_path: Path
) -> None:
    files = {
        "batch.toml": toml(**EMOTION),
        "faces/a.jpg": rotated_jpeg(),
        "faces/b.webp": image_bytes("WEBP", (200, 100)),
        "voices/c.m4a": export(tone(2_000), "m4a", tmp_path),
        "voices/d.ogg": export(tone(2_500, 300), "ogg", tmp_path),
        "__MACOSX/faces/._a.jpg": b"resource fork",
        ".DS_Store": b"junk",
        "faces/": b"",
    }
    batch = await prepare(files, data_dir)
    assert [(i.source_path, i.kind) for i in batch.items] == [
        ("faces/a.jpg", "image"),
        ("faces/b.webp", "image"),
        ("voices/c.m4a", "audio"),
        ("voices/d.ogg", "audio"),
    ]
    durations = [item.duration_ms for item in batch.items]
    assert durations[:2] == [None, None]
    clip_ms = [duration or 0 for duration in durations[2:]]
    assert abs(clip_ms[0] - 2_000) < 120
    assert abs(clip_ms[1] - 2_500) < 120
    assert batch.items[2].media.path.endswith(".ogg")
    assert batch.items[2].recording_path is None


async def test_a_95_s_recording_becomes_chunk_items_covering_it(
    data_dir: Path, tmp_path: Path
) -> None:
    files = {
        "batch.toml": toml(**TRANSCRIPTION),
        "meeting.wav": export(speech_like(95_000), "wav", tmp_path),
        "short.mp3": export(speech_like(12_000, seed=3), "mp3", tmp_path),
        "gold.csv": b"file,answer\nshort.mp3,Hello there\n",
    }
    batch = await prepare(files, data_dir)

    meeting = [item for item in batch.items if item.recording_path == "meeting.wav"]
    assert len(meeting) >= 4
    assert meeting[0].start_ms == 0
    assert meeting[-1].end_ms == 95_000
    for before, after in itertools.pairwise(meeting):
        assert after.start_ms == before.end_ms
    for item in meeting:
        assert item.start_ms is not None
        assert item.end_ms is not None
        assert 5_000 <= item.end_ms - item.start_ms <= 30_000
        assert item.duration_ms == item.end_ms - item.start_ms
        assert (item.source_path, item.kind, item.gold_answer) == ("meeting.wav", "audio", None)
    assert len({item.media.sha256 for item in meeting}) == len(meeting)

    short = batch.items[-1]
    assert (short.recording_path, short.start_ms, short.gold_answer) == (
        "short.mp3",
        0,
        "Hello there",
    )
    assert batch.gold_items == 1


# --- bad uploads: each refused by name, nothing written --------------------------------------


def symlink_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in street_scenes().items():
            archive.writestr(name, data)
        link = zipfile.ZipInfo("photo7.png")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    return out.getvalue()


def bomb_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, data in street_scenes().items():
            archive.writestr(name, data)
        zeros = bytes(8 << 20)
        with archive.open("photo7.png", "w", force_zip64=True) as member:
            for _ in range(128):  # 1 GiB
                member.write(zeros)
    return out.getvalue()


def truncated_jpeg() -> bytes:
    noisy = io.BytesIO()
    from PIL import Image

    Image.effect_noise((400, 300), 60).convert("RGB").save(noisy, "JPEG")
    return noisy.getvalue()[:3_000]


CASES: dict[str, tuple[Callable[[], dict[str, bytes] | bytes], Problem]] = {
    "dot-dot path": (
        lambda: {**street_scenes(), "../evil.png": png(9)},
        Problem("batch.zip_unsafe_path", {"file": "../evil.png"}),
    ),
    "zip bomb": (
        bomb_zip,
        Problem("batch.zip_ratio", {"file": "photo7.png", "limit": 100}),  # and the ratio
    ),
    "20000 x 20000 png": (
        lambda: {**street_scenes(), "photo7.png": huge_png(20_000, 20_000)},
        Problem("image.too_large", {"file": "photo7.png", "limit_mp": 40}),
    ),
    "truncated jpeg": (
        lambda: {**street_scenes(), "photo7.jpg": truncated_jpeg()},
        Problem("image.corrupt", {"file": "photo7.jpg"}),
    ),
    "text named mp3": (
        lambda: {"batch.toml": toml(**EMOTION), "a.png": png(), "song.mp3": b"la la la\n" * 99},
        Problem("audio.unsupported_format", {"file": "song.mp3"}),
    ),
    "unknown type": (
        lambda: street_scenes(type="video_tag"),
        Problem(
            "batch.type_unknown",
            {
                "field": "type",
                "value": "video_tag",
                "allowed": "image_tag, emotion, transcription, image_text, translation",
            },
        ),
    ),
    "gold answer not a label": (
        lambda: {**street_scenes(), "gold.csv": b"file,answer\nphoto2.png,cat\n"},
        Problem(
            "batch.gold_answer_not_label",
            {"file": "gold.csv", "line": 2, "item": "photo2.png", "answer": "cat"},
        ),
    ),
    "more than 5000 members": (
        lambda: {**street_scenes(), **{f"more/{n:04}.png": b"" for n in range(4_995)}},
        Problem("batch.zip_too_many_members", {"count": 5_003, "limit": 5_000}),
    ),
    "symlink": (symlink_zip, Problem("batch.zip_symlink", {"file": "photo7.png"})),
    "answers_per_item 11": (
        lambda: street_scenes(answers_per_item=11),
        Problem(
            "batch.field_out_of_range",
            {"field": "answers_per_item", "value": 11, "min": 1, "max": 10},
        ),
    ),
    "time_limit 5": (
        lambda: street_scenes(time_limit=5),
        Problem(
            "batch.field_out_of_range", {"field": "time_limit", "value": 5, "min": 15, "max": 600}
        ),
    ),
    "reward below a cent": (
        lambda: street_scenes(reward="0.001"),
        Problem("batch.reward_too_small", {"field": "reward", "value": "0.001", "min_cents": 1}),
    ),
    "not a zip": (lambda: b"PK\x03\x04 but not really", Problem("batch.zip_invalid")),
    "no manifest": (
        lambda: {"a.png": png()},
        Problem("batch.manifest_missing", {"file": "batch.toml"}),
    ),
    "stray file": (
        lambda: {**street_scenes(), "notes.txt": b"hello"},
        Problem("batch.file_unsupported", {"file": "notes.txt"}),
    ),
    "audio in an image batch": (
        lambda: {**street_scenes(), "z.wav": b"RIFF"},
        Problem(
            "batch.item_kind_not_allowed", {"file": "z.wav", "type": "image_tag", "kind": "audio"}
        ),
    ),
    "gold file absent": (
        lambda: {k: v for k, v in street_scenes().items() if k != "gold.csv"},
        Problem("batch.gold_missing", {"field": "gold", "file": "gold.csv"}),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_upload_is_refused_by_name_and_nothing_is_written(
    case: str, data_dir: Path, unchanged: Callable[[], None]
) -> None:
    build, expected = CASES[case]
    problems = await refused(build(), data_dir)
    assert any(
        found.key == expected.key and expected.params.items() <= found.params.items()
        for found in problems
    ), problems
    unchanged()


async def test_every_problem_of_an_upload_is_named_at_once(
    data_dir: Path, unchanged: Callable[[], None]
) -> None:
    files = street_scenes(answers_per_item=11, time_limit=5)
    files["gold.csv"] = b"file,answer\nphoto2.png,cat\nnowhere.png,car\n"
    files["photo7.jpg"] = truncated_jpeg()
    files["notes.txt"] = b"hello"
    problems = await refused(files, data_dir)
    assert [(p.key, p.params.get("field") or p.params.get("file")) for p in problems] == [
        ("batch.field_out_of_range", "answers_per_item"),
        ("batch.field_out_of_range", "time_limit"),
        ("batch.file_unsupported", "notes.txt"),
        ("batch.gold_answer_not_label", "gold.csv"),
        ("batch.gold_unknown_item", "gold.csv"),
        ("image.corrupt", "photo7.jpg"),
    ]
    unchanged()


async def test_a_bad_file_after_good_ones_leaves_no_staged_media(
    data_dir: Path, unchanged: Callable[[], None]
) -> None:
    files = street_scenes()
    files["zz_last.png"] = png(8)[:-40]  # truncated, read after the six good ones
    assert [p.key for p in await refused(files, data_dir)] == ["image.corrupt"]
    unchanged()


async def test_an_actual_total_above_the_limit_stops_reading(
    data_dir: Path, unchanged: Callable[[], None]
) -> None:
    files = street_scenes()
    limits = ZipLimits(max_total_bytes=sum(len(v) for v in files.values()) - 1)
    with pytest.raises(BatchRejected) as caught:
        await prepare(files, data_dir, zip=limits)
    assert [p.key for p in caught.value.problems] == ["batch.zip_too_large"]
    unchanged()


async def test_gold_on_a_recording_that_is_cut_is_refused(
    data_dir: Path, tmp_path: Path, unchanged: Callable[[], None]
) -> None:
    files = {
        "batch.toml": toml(**TRANSCRIPTION),
        "long.wav": export(speech_like(40_000), "wav", tmp_path),
        "gold.csv": b"file,answer\nlong.wav,Too long to check as one\n",
    }
    assert await refused(files, data_dir) == (
        Problem("batch.gold_recording_chunked", {"file": "long.wav"}),
    )
    unchanged()
