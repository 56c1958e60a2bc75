"""Cutting recordings for transcription: at pauses, 5-30 s, covering everything in order."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from bot.intake.chunking import (
    MAX_MS,
    MIN_MS,
    OVERLAP_MS,
    chunk_bounds,
    find_pauses,
    split_recording,
)
from tests.intake.media import silence, speech_like, tone


def assert_covers(bounds: list[tuple[int, int]], length: int) -> None:
    """In order, from 0 to ``length``, each starting where the last ended or overlapping it."""
    assert bounds[0][0] == 0
    assert bounds[-1][1] == length
    for (_, end), (start, _) in itertools.pairwise(bounds):
        assert end - OVERLAP_MS <= start <= end


def test_a_95_s_recording_with_pauses_is_cut_at_pauses_into_5_to_30_s_chunks() -> None:
    recording = speech_like(95_000)
    pauses = find_pauses(recording)
    chunks = split_recording(recording)
    bounds = [(c.start_ms, c.end_ms) for c in chunks]

    assert len(chunks) >= 4
    assert_covers(bounds, 95_000)
    assert all(MIN_MS <= c.duration_ms <= MAX_MS for c in chunks)
    for (_, end), (start, _) in itertools.pairwise(bounds):
        assert start == end  # cut in a pause: no overlap needed
        assert any(p_start <= end <= p_end for p_start, p_end in pauses)
    assert sum(len(c.audio) for c in chunks) == 95_000


def test_a_70_s_pause_free_tone_is_cut_hard_at_30_s_with_overlap() -> None:
    chunks = split_recording(tone(70_000))
    assert [(c.start_ms, c.end_ms) for c in chunks] == [
        (0, 30_000),
        (30_000 - OVERLAP_MS, 60_000 - OVERLAP_MS),
        (60_000 - 2 * OVERLAP_MS, 70_000),
    ]
    assert [len(c.audio) for c in chunks] == [30_000, 30_000, 11_000]


def test_a_short_recording_is_one_chunk() -> None:
    recording = speech_like(30_000)
    assert [(c.start_ms, c.end_ms) for c in split_recording(recording)] == [(0, 30_000)]


def test_pauses_are_relative_to_the_recordings_loudness() -> None:
    quiet = tone(4_000, volume=-45) + tone(1_000, volume=-70) + tone(4_000, volume=-45)
    assert find_pauses(quiet) == [(4_000, 5_000)]
    assert find_pauses(silence(5_000)) == []


def test_a_tail_shorter_than_5_s_is_avoided() -> None:
    # 32 s without pause: 30 + 2.5 would leave a 2.5 s tail; cut earlier instead
    assert chunk_bounds(32_000, []) == [(0, 27_500), (27_000, 32_000)]
    # a pause at 29 s would leave 3 s: the pause at 20 s is taken
    assert chunk_bounds(32_000, [(19_800, 20_200), (28_800, 29_200)]) == [
        (0, 20_000),
        (20_000, 32_000),
    ]


def test_a_pause_free_stretch_inside_a_recording_is_cut_hard() -> None:
    bounds = chunk_bounds(80_000, [(9_000, 10_000)])
    assert bounds == [(0, 9_500), (9_500, 39_500), (39_000, 69_000), (68_500, 80_000)]


@given(
    length=st.integers(MAX_MS + 1, 600_000),
    pauses=st.lists(st.tuples(st.integers(0, 600_000), st.integers(300, 3_000)), max_size=40),
)
def test_chunks_always_cover_in_order_within_5_to_30_s(
    length: int, pauses: list[tuple[int, int]]
) -> None:
    spans = sorted((start, min(start + size, length)) for start, size in pauses if start < length)
    bounds = chunk_bounds(length, spans)
    assert_covers(bounds, length)
    assert all(MIN_MS <= end - start <= MAX_MS for start, end in bounds)
