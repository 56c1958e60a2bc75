"""Intake, chunking: a recording cut for transcription, chunks of at most 30 s, at pauses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.intake.sound import detect_silence

MAX_MS = 30_000
MIN_MS = 5_000
OVERLAP_MS = 500
MIN_SILENCE_MS = 300
SILENCE_BELOW_DB = 16.0
SEEK_STEP_MS = 10

__all__ = ["Chunk", "chunk_bounds", "find_pauses", "split_recording"]


@dataclass(frozen=True)
class Chunk:
    """A stretch of a recording, ``start_ms`` included to ``end_ms`` excluded, and its audio."""

    start_ms: int
    end_ms: int
    audio: Any = None

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def find_pauses(segment: Any) -> list[tuple[int, int]]:
    """Pauses as ``(start_ms, end_ms)``: at least 300 ms quieter than the loudness minus 16 dB."""
    loudness = segment.dBFS
    if loudness == float("-inf"):  # all digital silence: nothing to cut between
        return []
    found = detect_silence(
        segment,
        min_silence_len=MIN_SILENCE_MS,
        silence_thresh=loudness - SILENCE_BELOW_DB,
        seek_step=SEEK_STEP_MS,
    )
    return [(int(start), int(end)) for start, end in found]


def chunk_bounds(
    length_ms: int,
    pauses: list[tuple[int, int]],
    *,
    max_ms: int = MAX_MS,
    min_ms: int = MIN_MS,
    overlap_ms: int = OVERLAP_MS,
) -> list[tuple[int, int]]:
    """Where to cut a recording of ``length_ms``, given its pauses.

    Each cut is the latest pause point leaving a chunk of ``min_ms``-``max_ms`` and a rest of at
    least ``min_ms``; with no pause there, the cut is hard at ``max_ms`` and the next chunk starts
    ``overlap_ms`` earlier, so no word is lost at the seam. Chunks cover the recording in order.
    """
    bounds: list[tuple[int, int]] = []
    start = 0
    while length_ms - start > max_ms:
        cut = _pause_cut(pauses, start + min_ms, min(start + max_ms, length_ms - min_ms))
        if cut is not None:
            bounds.append((start, cut))
            start = cut
        else:
            cut = min(start + max_ms, length_ms - min_ms + overlap_ms)
            bounds.append((start, cut))
            start = cut - overlap_ms
    bounds.append((start, length_ms))
    return bounds


def _pause_cut(pauses: list[tuple[int, int]], low: int, high: int) -> int | None:
    """The latest point in ``[low, high]`` that lies in a pause, as near its middle as allowed."""
    best: int | None = None
    for pause_start, pause_end in pauses:
        inside_low, inside_high = max(pause_start, low), min(pause_end, high)
        if inside_low > inside_high:
            continue
        middle = (pause_start + pause_end) // 2
        point = min(max(middle, inside_low), inside_high)
        if best is None or point > best:
            best = point
    return best


def split_recording(segment: Any, *, max_ms: int = MAX_MS) -> list[Chunk]:
    """Cut a recording longer than ``max_ms`` at pauses; a shorter one is a single chunk."""
    length = len(segment)
    pauses = find_pauses(segment) if length > max_ms else []
    return [
        Chunk(start, end, segment[start:end])
        for start, end in chunk_bounds(length, pauses, max_ms=max_ms)
    ]
