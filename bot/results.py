"""Batch results: each item's aggregated answer, the CSV, the JSON, transcripts put back together.

Label answers are aggregated by Dawid-Skene over the whole batch (gold items keep their known
answer), which also gives each worker's accuracy; transcriptions by the ROVER word vote, which
falls back to the medoid under three answers (``docs/decisions/0007-results-and-fair-pay.md``).
Worker ids never leave as Telegram ids: each is an HMAC of the batch and worker ids under a
secret kept in the database, stable within a batch and unlinkable across batches.
No Telegram here; the SQL is in ``storage/results.py``.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from bot.batches import Viewer, visible_batch
from bot.compute import offload
from bot.payouts import spreadsheet_safe
from bot.quality import normalise_words
from bot.review import Chosen, chosen
from bot.tasks import task_type
from bot.tasks.base import Given, ItemAnswers
from bot.tasks.labels import label_text as label_text  # re-exported
from storage.assignments import assignments_of_batch
from storage.batches import Batch, Item, items_of
from storage.db import Database, Tx, to_db_time
from storage.results import ensure_secret
from storage.review import review_batch_of

CSV_HEADER = (
    "item_id",
    "file",
    "start_ms",
    "end_ms",
    "answer",
    "confidence",
    "answers",
    "agreement",
    "gold_answer",
)
PSEUDONYM_HEX = 12  # 48 bits: no collision in practice among a batch's workers
MAX_OVERLAP_WORDS = 8  # a ~500 ms overlap at a hard cut holds a few words, never this many
MISSING_CHUNK = "[…]"  # a chunk of a recording nobody has transcribed yet


# Pseudonyms ------------------------------------------------------------------------------------


def pseudonym(secret: bytes, batch_id: int, worker_id: int) -> str:
    """``w`` and 12 hex digits of HMAC-SHA256(secret, "batch:worker"): stable within a batch."""
    message = f"{batch_id}:{worker_id}".encode()
    return "w" + hmac.new(secret, message, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


async def pseudonym_secret(db: Database, now: datetime) -> bytes:
    """The database's pseudonym secret, created on first use."""
    async with db.write() as tx:
        return bytes.fromhex(await ensure_secret(tx, secrets.token_hex(32), now))


# Aggregation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """One submitted answer as results show it."""

    worker_id: int
    answer: Any  # as stored: a label, a list of labels, or a text
    duration_ms: int | None
    submitted_at: datetime | None


@dataclass(frozen=True)
class ItemResult:
    """An item, its aggregated answer (None before any answer) and every answer behind it."""

    item: Item
    answer: str | None
    confidence: float | None
    agreement: float | None
    responses: tuple[Response, ...]
    gold_answer: str
    review: Chosen | None = None  # a reviewed item: what its review step chose

    @property
    def answers(self) -> int:
        return len(self.responses)


@dataclass(frozen=True)
class BatchResults:
    """A batch's results; ``partial`` while the batch may still collect answers."""

    batch: Batch
    items: tuple[ItemResult, ...]
    worker_accuracy: Mapping[int, float]
    worker_answers: Mapping[int, int]
    generated_at: datetime
    review_state: str | None = None  # the state of the batch's review step, once made

    @property
    def partial(self) -> bool:
        return any(state not in ("done", "cancelled", None) for state in self.states)

    @property
    def states(self) -> tuple[str | None, ...]:
        return (self.batch.state, self.review_state)

    @property
    def method(self) -> str:
        return "review" if self.review_state else task_type(self.batch.type).aggregation_method

    @property
    def complete_items(self) -> int:
        return sum(1 for result in self.items if result.item.state == "complete")


def aggregate(
    batch: Batch,
    items: Sequence[Item],
    responses: Mapping[int, Sequence[Response]],
    *,
    now: datetime,
) -> BatchResults:
    """Every item's answer, confidence and agreement, and each worker's accuracy."""
    kind = task_type(batch.type)
    answered = [
        ItemAnswers(
            item.id,
            tuple(Given(r.worker_id, r.answer) for r in responses.get(item.id, ())),
            item.gold_answer,
        )
        for item in items
    ]
    fitted = kind.aggregate(batch, answered)
    results = []
    for item in items:
        found = fitted.items.get(item.id)
        results.append(
            ItemResult(
                item=item,
                answer=None if found is None else found.answer,
                confidence=None if found is None else found.confidence,
                agreement=None if found is None else found.agreement,
                responses=tuple(responses.get(item.id, ())),
                gold_answer=kind.gold_text(batch, item.gold_answer),
            )
        )
    accuracy = fitted.worker_accuracy
    counts: dict[int, int] = {}
    for given in responses.values():
        for response in given:
            counts[response.worker_id] = counts.get(response.worker_id, 0) + 1
    return BatchResults(batch, tuple(results), accuracy, counts, now)


def with_review(results: BatchResults, review: BatchResults) -> BatchResults:
    """A reviewed batch's results: each reviewed item's answer is the candidate its reviewers
    chose ("" when none is right), with the review's confidence, and the share of reviewers who
    picked it as its agreement; items not reviewed (yet) keep their own consensus."""
    picks: dict[int, Chosen] = {}
    for found in review.items:
        if found.item.source_item_id is None or found.answer is None:
            continue
        votes = Counter(str(response.answer) for response in found.responses)
        picks[found.item.source_item_id] = chosen(
            found.item.choices, found.answer, found.confidence or 0.0, votes
        )
    items = tuple(
        result
        if (pick := picks.get(result.item.id)) is None
        else replace(
            result,
            answer=pick.text or "",
            confidence=pick.confidence,
            agreement=pick.support / pick.reviews,
            review=pick,
        )
        for result in results.items
    )
    return replace(results, items=items, review_state=review.batch.state)


async def _answers_of(tx: Tx, batch: Batch) -> tuple[list[Item], dict[int, list[Response]]]:
    """A batch's items and its submitted answers by item."""
    responses: dict[int, list[Response]] = {}
    for assignment in await assignments_of_batch(tx, batch.id):
        if assignment.state != "submitted":
            continue
        responses.setdefault(assignment.item_id, []).append(
            Response(
                assignment.worker_id,
                assignment.answer,
                assignment.duration_ms,
                assignment.ended_at,
            )
        )
    return await items_of(tx, batch.id), responses


async def batch_results(
    db: Database, batch_id: int, viewer: Viewer, *, now: datetime
) -> BatchResults:
    """A batch's results for its requester or an admin (``NotFound`` for anyone else); a batch
    with a review step gives the answers its review chose (``with_review``)."""
    async with db.read() as tx:
        batch = await visible_batch(tx, batch_id, viewer)
        items, responses = await _answers_of(tx, batch)
        review = await review_batch_of(tx, batch_id) if batch.review else None
        reviewed = None if review is None else await _answers_of(tx, review)
    # The fit is CPU work: a worker process runs it while the loop serves everyone else.
    results = await offload(partial(aggregate, now=now), batch, items, responses)
    if review is None or reviewed is None:
        return results
    picked = await offload(partial(aggregate, now=now), review, *reviewed)
    return with_review(results, picked)


# Files -----------------------------------------------------------------------------------------


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _optional(value: int | None) -> str:
    return "" if value is None else str(value)


def _row(result: ItemResult) -> list[str]:
    item = result.item
    return [
        str(item.id),
        item.source_path,
        _optional(item.start_ms),
        _optional(item.end_ms),
        result.answer or "",
        _number(result.confidence),
        str(result.answers),
        _number(result.agreement),
        result.gold_answer,
    ]


def results_csv(results: BatchResults) -> str:
    """One row per item (``CSV_HEADER``); every cell safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for result in results.items:
        writer.writerow([spreadsheet_safe(cell) for cell in _row(result)])
    return buffer.getvalue()


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else to_db_time(moment)


def results_json(results: BatchResults, secret: bytes) -> str:
    """The CSV's rows with every answer behind them, workers by pseudonym, and the method."""
    batch = results.batch

    def name(worker_id: int) -> str:
        return pseudonym(secret, batch.id, worker_id)

    document = {
        "batch_id": batch.id,
        "title": batch.title,
        "type": batch.type,
        "labels": list(batch.labels),
        "state": batch.state,
        "partial": results.partial,
        "generated_at": to_db_time(results.generated_at),
        "items_complete": results.complete_items,
        "items_total": len(results.items),
        "aggregation": results.method,
        "items": [
            {
                "item_id": result.item.id,
                "file": result.item.source_path,
                "start_ms": result.item.start_ms,
                "end_ms": result.item.end_ms,
                "answer": result.answer,
                "confidence": result.confidence,
                "answers": result.answers,
                "agreement": result.agreement,
                "gold_answer": result.gold_answer or None,
                **({} if result.review is None else {"review": _review_json(result.review)}),
                "responses": [
                    {
                        "worker": name(response.worker_id),
                        "answer": response.answer,
                        "duration_ms": response.duration_ms,
                        "submitted_at": _time(response.submitted_at),
                    }
                    for response in result.responses
                ],
            }
            for result in results.items
        ],
        "workers": [
            {
                "worker": name(worker_id),
                "answers": count,
                "accuracy": results.worker_accuracy.get(worker_id),
            }
            for worker_id, count in sorted(
                results.worker_answers.items(), key=lambda pair: name(pair[0])
            )
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def _review_json(review: Chosen) -> dict[str, Any]:
    """What a reviewed item's review step chose, among which candidates, by how many."""
    return {
        "chosen": review.text,
        "none_right": review.text is None,
        "support": review.support,
        "reviews": review.reviews,
        "candidates": list(review.choices),
    }


# Transcripts -----------------------------------------------------------------------------------


def _keys(words: Sequence[str]) -> list[str]:
    return [" ".join(normalise_words(word)) for word in words]


def overlap_words(previous: Sequence[str], following: Sequence[str]) -> int:
    """How many words start ``following`` that end ``previous`` (longest match, compared after
    ``normalise_words``, at most ``MAX_OVERLAP_WORDS``)."""
    before, after = _keys(previous), _keys(following)
    for size in range(min(len(before), len(after), MAX_OVERLAP_WORDS), 0, -1):
        if before[-size:] == after[:size]:
            return size
    return 0


@dataclass(frozen=True)
class Chunk:
    """One piece of a recording: where it lies and its text (None before any answer)."""

    start_ms: int
    end_ms: int
    text: str | None


def assemble(chunks: Sequence[Chunk]) -> str:
    """A recording's text from its chunks in order; where two chunks overlap in time (a hard
    cut), the words the next repeats from the previous one are dropped."""
    words: list[str] = []
    previous: Chunk | None = None
    for chunk in sorted(chunks, key=lambda c: c.start_ms):
        if chunk.text is None:
            words.append(MISSING_CHUNK)
            previous = chunk
            continue
        following = chunk.text.split()
        if previous is not None and previous.text is not None and previous.end_ms > chunk.start_ms:
            following = following[overlap_words(words, following) :]
        words.extend(following)
        previous = chunk
    return " ".join(words)


def recordings(results: BatchResults) -> dict[str, str]:
    """Each recording's assembled text, by its path in the upload."""
    grouped: dict[str, list[Chunk]] = {}
    for result in results.items:
        item = result.item
        path = item.recording_path or item.source_path
        start = item.start_ms if item.start_ms is not None else item.position
        end = item.end_ms if item.end_ms is not None else start
        grouped.setdefault(path, []).append(Chunk(start, end, result.answer))
    return {path: assemble(chunks) for path, chunks in sorted(grouped.items())}


def transcripts_zip(texts: Mapping[str, str]) -> bytes:
    """A ZIP holding one ``<recording path>.txt`` per recording, UTF-8."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, text in texts.items():
            archive.writestr(f"{path}.txt", text + "\n")
    return buffer.getvalue()


def result_files(results: BatchResults, secret: bytes) -> list[tuple[str, bytes]]:
    """The files ``/results`` sends: CSV, JSON and, for transcription, the transcripts."""
    files = [
        ("results.csv", results_csv(results).encode("utf-8")),
        ("results.json", results_json(results, secret).encode("utf-8")),
    ]
    if task_type(results.batch.type).chunks_recordings:
        files.append(("transcripts.zip", transcripts_zip(recordings(results))))
    return files
