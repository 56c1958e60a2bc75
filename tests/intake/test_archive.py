"""Safe ZIP reading: hostile names, links, bombs, lying headers and junk."""

from __future__ import annotations

import io
import stat
import struct
import time
import zipfile

import pytest

from bot.errors import BatchRejected, InvalidInput, Problem
from bot.intake.archive import ZipLimits, normalise_member_path, open_zip, read_zip
from tests.intake.media import make_zip


def rejected(data: bytes, limits: ZipLimits | None = None) -> tuple[Problem, ...]:
    with pytest.raises(BatchRejected) as caught:
        open_zip(data, limits)
    return caught.value.problems


def bomb(size: int = 1 << 30, name: str = "bomb.png") -> bytes:
    """A ZIP whose one member expands to ``size`` zeros, streamed so it never sits in memory."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        zeros = bytes(8 << 20)
        with archive.open(name, "w", force_zip64=True) as member:
            for _ in range(size // len(zeros)):
                member.write(zeros)
    return out.getvalue()


def test_members_come_back_in_path_order_without_junk_or_folders() -> None:
    data = make_zip(
        {
            "b.png": b"B",
            "a/c.png": b"C",
            "a/": b"",
            "__MACOSX/a/._c.png": b"fork",
            "a/.DS_Store": b"junk",
            "._b.png": b"fork",
            "./a.png": b"A",
        }
    )
    members = read_zip(data)
    assert [(m.path, m.data) for m in members] == [
        ("a.png", b"A"),
        ("a/c.png", b"C"),
        ("b.png", b"B"),
    ]


@pytest.mark.parametrize(
    "name",
    [
        "../evil.png",
        "a/../../evil.png",
        "/etc/evil.png",
        "C:/evil.png",
        "c:evil.png",
        "..\\evil.png",
    ],
)
def test_a_path_leaving_the_archive_is_refused_by_name(name: str) -> None:
    problems = rejected(make_zip({"ok.png": b"x", name: b"x"}))
    assert problems == (Problem("batch.zip_unsafe_path", {"file": name}),)


def test_every_unsafe_member_is_named_at_once() -> None:
    problems = rejected(make_zip({"../a.png": b"x", "/b.png": b"x", "fine.png": b"x"}))
    assert [p.params["file"] for p in problems] == ["../a.png", "/b.png"]


def test_a_symlink_member_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        link = zipfile.ZipInfo("photos/link.png")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("photos/real.png", b"x")
    assert rejected(out.getvalue()) == (Problem("batch.zip_symlink", {"file": "photos/link.png"}),)


def test_more_than_5000_members_are_refused() -> None:
    data = make_zip({f"{n:05}.png": b"" for n in range(5_001)}, compression=zipfile.ZIP_STORED)
    assert rejected(data) == (
        Problem("batch.zip_too_many_members", {"count": 5_001, "limit": 5_000}),
    )
    assert len(read_zip(make_zip({f"{n:05}.png": b"" for n in range(5_000)}))) == 5_000


def test_a_gigabyte_bomb_is_refused_from_its_listing_without_inflating_it() -> None:
    data = bomb()
    assert len(data) < 10_000_000
    started = time.monotonic()
    problems = rejected(data)
    assert time.monotonic() - started < 1
    keys = {p.key for p in problems}
    assert keys == {"batch.zip_ratio", "batch.zip_too_large"}
    ratio = next(p for p in problems if p.key == "batch.zip_ratio")
    assert ratio.params["file"] == "bomb.png"
    assert ratio.params["ratio"] > 100


def test_a_declared_total_above_the_limit_is_refused() -> None:
    data = make_zip({"a.wav": bytes(range(256)) * 4_000, "b.wav": bytes(range(256)) * 4_000})
    problems = rejected(data, ZipLimits(max_total_bytes=1_500_000))
    assert problems == (Problem("batch.zip_too_large", {"limit_mb": "1.5"}),)


def test_small_compressible_files_are_not_taken_for_bombs() -> None:
    assert read_zip(make_zip({"silence.wav": bytes(500_000)}))[0].data == bytes(500_000)


def _patch_sizes(data: bytes, declared: int) -> bytes:
    """Make every header of a one-member ZIP declare ``declared`` uncompressed bytes."""
    patched = bytearray(data)
    local = patched.index(b"PK\x03\x04")
    central = patched.index(b"PK\x01\x02")
    struct.pack_into("<I", patched, local + 22, declared)
    struct.pack_into("<I", patched, central + 24, declared)
    return bytes(patched)


def test_a_lying_header_is_read_no_further_than_it_declared() -> None:
    honest = make_zip({"liar.png": bytes(range(256)) * 8_000})  # 2 MB, barely compressible
    with open_zip(_patch_sizes(honest, 1_000)) as archive:
        assert archive.members[0].size == 1_000
        with pytest.raises(InvalidInput) as caught:
            archive.read("liar.png")
    assert caught.value.message_key == "batch.zip_member_corrupt"
    assert caught.value.params == {"file": "liar.png"}


def test_an_encrypted_member_is_refused() -> None:
    data = bytearray(make_zip({"secret.png": b"x" * 100}))
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1
    assert rejected(bytes(data)) == (Problem("batch.zip_encrypted", {"file": "secret.png"}),)


def test_duplicate_names_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.png", b"1")
        archive.writestr("./a.png", b"2")
    assert rejected(out.getvalue()) == (Problem("batch.zip_duplicate", {"file": "a.png"}),)


@pytest.mark.parametrize("data", [b"", b"not a zip at all", make_zip({"a.png": b"x"})[:-30]])
def test_not_a_zip_is_refused_cleanly(data: bytes) -> None:
    assert rejected(data) == (Problem("batch.zip_invalid"),)


def test_a_corrupt_member_is_named() -> None:
    data = bytearray(make_zip({"a.png": bytes(range(256)) * 100}))
    data[60:80] = b"\xff" * 20  # inside the compressed stream
    with open_zip(bytes(data)) as archive, pytest.raises(InvalidInput) as caught:
        archive.read("a.png")
    assert caught.value.params == {"file": "a.png"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a/./b.png", "a/b.png"),
        ("a//b.png", "a/b.png"),
        ("a\\b.png", "a/b.png"),
        ("a\x00.png", None),
    ],
)
def test_member_paths_are_normalised(name: str, expected: str | None) -> None:
    assert normalise_member_path(name) == expected
