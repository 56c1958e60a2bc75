"""Batches, their items and stored media: the SQL behind requester uploads and task content.

The progress readers at the end also read (never write) the assignments and ledger tables:
``/batch ID`` shows answers and escrow movements of one batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.batch_settings import BatchSettings, BatchType, Example
from storage.db import Row, Tx, WriteTx, maybe_time, to_db_time

__all__ = ["BatchSettings", "BatchType"]  # re-exported: storage's callers name them from here
BatchState = Literal["draft", "open", "paused", "done", "cancelled"]
MediaKind = Literal["image", "audio", "text"]


@dataclass(frozen=True)
class NewBatch:
    """What a requester's upload or guided conversation produced, before it is stored."""

    requester_id: int
    settings: BatchSettings
    below_floor: bool
    origin: Literal["zip", "guided"] = "zip"
    review_reward: int | None = None  # cents per review answer when ``settings.review``
    source_batch_id: int | None = None  # a review batch: the batch it reviews


@dataclass(frozen=True)
class NewMedia:
    """A media file already stored content-addressed under DATA_DIR."""

    sha256: str
    kind: MediaKind
    path: str
    size_bytes: int
    duration_ms: int | None = None
    text: str | None = None  # kind "text": the text itself


@dataclass(frozen=True)
class NewItem:
    """One task's content: a media file and, for transcription chunks, where it lies."""

    source_path: str
    media: NewMedia
    recording_path: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    gold_answer: Any = None  # JSON-serialisable; None for an ordinary item
    gold_why: str | None = None  # why the gold answer is right (shown in training)


@dataclass(frozen=True)
class Batch(BatchSettings):
    """A stored batch: its settings (``BatchSettings``, declared once) and its lifecycle."""

    id: int
    requester_id: int
    below_floor: bool
    state: BatchState
    origin: str
    created_at: datetime
    published_at: datetime | None
    ended_at: datetime | None
    review_reward: int | None = field(default=None, kw_only=True)
    source_batch_id: int | None = field(default=None, kw_only=True)
    dynamic_overlap: bool = field(default=False, kw_only=True)  # a refit decides (migration 0020)

    @property
    def escrow_batch_id(self) -> int:
        """The batch whose escrow pays this one: a review batch is paid by the batch it reviews."""
        return self.id if self.source_batch_id is None else self.source_batch_id


@dataclass(frozen=True)
class Item:
    id: int
    batch_id: int
    position: int
    source_path: str
    media_sha256: str
    media_kind: MediaKind
    media_path: str
    duration_ms: int | None
    telegram_file_id: str | None
    recording_path: str | None
    start_ms: int | None
    end_ms: int | None
    gold_answer: Any
    state: Literal["open", "complete"]
    gold_why: str | None = None
    text: str | None = None  # a text item's content (media kind "text")
    source_item_id: int | None = None  # a review item: the item it reviews...
    choices: tuple[str, ...] = ()  # ...and the candidates it offers

    @property
    def is_gold(self) -> bool:
        return self.gold_answer is not None


# Each setting is the column of the same name; these are the ones not stored as they are.
_ENCODE: dict[str, Any] = {
    "labels": lambda labels: json.dumps(list(labels), ensure_ascii=False),
    "multiple": int,
    "examples": lambda examples: json.dumps([e.to_json() for e in examples], ensure_ascii=False),
    "review": int,
}
_DECODE: dict[str, Any] = {
    "labels": lambda text: tuple(json.loads(text)),
    "multiple": bool,
    "examples": lambda text: tuple(Example.from_json(e) for e in json.loads(text or "[]")),
    "review": bool,
}


def _settings_columns(settings: BatchSettings) -> dict[str, Any]:
    """The batch's settings as column values; an optional setting left at its default is not
    written (its column's default holds it), so a database not yet migrated still takes it."""
    optional = BatchSettings.optional()
    return {
        name: _ENCODE.get(name, lambda value: value)(value)
        for name, value in settings.values().items()
        if name not in optional or value != optional[name]
    }


def _settings_of(row: Row) -> dict[str, Any]:
    """The settings read back from their columns (an optional one absent: its default)."""
    present = set(row.keys())
    return {
        name: _DECODE.get(name, lambda value: value)(row[name])
        for name in BatchSettings.names()
        if name in present
    }


def _batch(row: Row) -> Batch:
    return Batch(
        **_settings_of(row),
        id=row["id"],
        requester_id=row["requester_id"],
        below_floor=bool(row["below_floor"]),
        state=row["state"],
        origin=row["origin"],
        created_at=maybe_time(row["created_at"]) or datetime.min,
        published_at=maybe_time(row["published_at"]),
        ended_at=maybe_time(row["ended_at"]),
        review_reward=row["review_reward"],
        source_batch_id=row["source_batch_id"],
        dynamic_overlap=bool(row["dynamic_overlap"]),
    )


_ITEM_COLUMNS = (
    "items.*, media.kind AS media_kind, media.path AS media_path,"
    " media.duration_ms AS duration_ms, media.telegram_file_id AS telegram_file_id,"
    " media.text AS media_text"
)


def _item(row: Row) -> Item:
    gold = row["gold_answer"]
    return Item(
        id=row["id"],
        batch_id=row["batch_id"],
        position=row["position"],
        source_path=row["source_path"],
        media_sha256=row["media_sha256"],
        media_kind=row["media_kind"],
        media_path=row["media_path"],
        duration_ms=row["duration_ms"],
        telegram_file_id=row["telegram_file_id"],
        recording_path=row["recording_path"],
        start_ms=row["start_ms"],
        end_ms=row["end_ms"],
        gold_answer=None if gold is None else json.loads(gold),
        state=row["state"],
        # sqlite3.Row: "in" looks at values, keys() at column names
        gold_why=row["gold_why"] if "gold_why" in row.keys() else None,  # noqa: SIM118
        text=row["media_text"],
        source_item_id=row["source_item_id"],
        choices=tuple(json.loads(row["choices"])) if row["choices"] else (),
    )


async def insert_draft(
    tx: WriteTx, batch: NewBatch, items: Sequence[NewItem], now: datetime
) -> int:
    """Store a draft batch with its items and media, inside the caller's write transaction."""
    stamp = to_db_time(now)
    batch_id = await insert_batch_row(tx, batch, stamp)
    for position, item in enumerate(items, start=1):
        await _insert_media(tx, item.media, stamp)
        row: dict[str, Any] = {
            "batch_id": batch_id,
            "position": position,
            "source_path": item.source_path,
            "media_sha256": item.media.sha256,
            "recording_path": item.recording_path,
            "start_ms": item.start_ms,
            "end_ms": item.end_ms,
            "gold_answer": None if item.gold_answer is None else json.dumps(item.gold_answer),
        }
        if item.gold_why is not None:  # optional, like the batch's optional settings
            row["gold_why"] = item.gold_why
        await tx.execute(
            f"INSERT INTO items ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
    return batch_id


async def insert_batch_row(tx: WriteTx, batch: NewBatch, stamp: str) -> int:
    """Store a batch's row (a draft), inside the caller's write transaction; its id."""
    columns = {
        **_settings_columns(batch.settings),
        "requester_id": batch.requester_id,
        "below_floor": int(batch.below_floor),
        "origin": batch.origin,
        "created_at": stamp,
        "review_reward": batch.review_reward,
        "source_batch_id": batch.source_batch_id,
    }
    cursor = await tx.execute(
        f"INSERT INTO batches ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        tuple(columns.values()),
    )
    batch_id = cursor.lastrowid
    assert batch_id is not None
    return batch_id


async def _insert_media(tx: WriteTx, media: NewMedia, stamp: str) -> None:
    await tx.execute(
        "INSERT OR IGNORE INTO media (sha256, kind, path, size_bytes, duration_ms, text,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            media.sha256,
            media.kind,
            media.path,
            media.size_bytes,
            media.duration_ms,
            media.text,
            stamp,
        ),
    )


async def get_batch(tx: Tx, batch_id: int) -> Batch | None:
    """The batch with this id, or None."""
    row = await tx.fetch_one("SELECT * FROM batches WHERE id = ?", (batch_id,))
    return None if row is None else _batch(row)


async def batches_of(tx: Tx, requester_id: int | None) -> list[Batch]:
    """A requester's batches (every batch for None), newest first."""
    if requester_id is None:
        rows = await tx.fetch_all("SELECT * FROM batches ORDER BY id DESC")
    else:
        rows = await tx.fetch_all(
            "SELECT * FROM batches WHERE requester_id = ? ORDER BY id DESC", (requester_id,)
        )
    return [_batch(row) for row in rows]


async def dynamic_batches(tx: Tx) -> list[Batch]:
    """The open and paused batches that buy answers dynamically (migration 0020), oldest
    first."""
    rows = await tx.fetch_all(
        "SELECT * FROM batches WHERE dynamic_overlap = 1 AND state IN ('open', 'paused')"
        " ORDER BY id"
    )
    return [_batch(row) for row in rows]


async def items_of(tx: Tx, batch_id: int) -> list[Item]:
    """A batch's items in position order."""
    rows = await tx.fetch_all(
        f"SELECT {_ITEM_COLUMNS} FROM items JOIN media ON media.sha256 = items.media_sha256"
        " WHERE batch_id = ? ORDER BY position",
        (batch_id,),
    )
    return [_item(row) for row in rows]


async def get_item(tx: Tx, item_id: int) -> Item | None:
    """The item with this id, with its media, or None."""
    row = await tx.fetch_one(
        f"SELECT {_ITEM_COLUMNS} FROM items JOIN media ON media.sha256 = items.media_sha256"
        " WHERE items.id = ?",
        (item_id,),
    )
    return None if row is None else _item(row)


async def items_by_id(tx: Tx, item_ids: list[int]) -> dict[int, Item]:
    """Several items with their media, by id (a push pass's claims of one transaction)."""
    if not item_ids:
        return {}
    marks = ", ".join("?" for _ in item_ids)
    rows = await tx.fetch_all(
        f"SELECT {_ITEM_COLUMNS} FROM items JOIN media ON media.sha256 = items.media_sha256"
        f" WHERE items.id IN ({marks})",
        tuple(item_ids),
    )
    return {item.id: item for item in map(_item, rows)}


async def count_items(tx: Tx, batch_id: int) -> tuple[int, int]:
    """(items, gold items) of a batch."""
    row = await tx.fetch_one(
        "SELECT count(*), count(gold_answer) FROM items WHERE batch_id = ?", (batch_id,)
    )
    assert row is not None
    return int(row[0]), int(row[1])


async def set_batch_state(
    tx: WriteTx,
    batch_id: int,
    *,
    expected: Sequence[BatchState],
    new: BatchState,
    now: datetime,
) -> bool:
    """Move a batch to ``new`` if it is in one of ``expected``; False when it was not.

    Runs inside the caller's write transaction, so the state change and its money movement
    (escrow hold on publish, refund on cancel) commit together.
    """
    stamp = to_db_time(now)
    placeholders = ", ".join("?" for _ in expected)
    cursor = await tx.execute(
        f"UPDATE batches SET state = ?,"
        " published_at = CASE WHEN ? = 'open' THEN coalesce(published_at, ?) ELSE published_at END,"
        " ended_at = CASE WHEN ? IN ('done', 'cancelled') THEN ? ELSE ended_at END"
        f" WHERE id = ? AND state IN ({placeholders})",
        (new, new, stamp, new, stamp, batch_id, *expected),
    )
    return cursor.rowcount == 1


async def remember_file_id(tx: WriteTx, sha256: str, file_id: str) -> None:
    """Cache the Telegram file_id of a media file after its first upload."""
    await tx.execute(
        "UPDATE media SET telegram_file_id = ? WHERE sha256 = ? AND telegram_file_id IS NULL",
        (file_id, sha256),
    )


# --- progress and lists (requester views) ---------------------------------------------------


@dataclass(frozen=True)
class ItemCounts:
    """How many items a batch has, how many are complete, how many are gold."""

    items: int
    complete: int
    gold: int


@dataclass(frozen=True)
class AnswerStats:
    """Answers of a batch: submitted ones, those in progress, and the submitted durations (ms).

    ``tracked`` is False when the assignments table does not exist yet (a database migrated
    before the worker loop): the counts are then zero and say nothing.
    """

    submitted: int
    active: int
    durations_ms: tuple[int, ...]
    tracked: bool = True


@dataclass(frozen=True)
class EscrowFlows:
    """Money through a batch's escrow account, in cents.

    ``held`` entered it (the hold at publishing, corrections in), ``spent`` left it for workers
    (rewards and bonuses), ``returned`` went back to the requester; ``balance`` is still there.
    """

    held: int
    spent: int
    returned: int
    balance: int


async def item_counts(tx: Tx, batch_id: int) -> ItemCounts:
    """(items, complete items, gold items) of a batch."""
    row = await tx.fetch_one(
        "SELECT count(*), count(CASE WHEN state = 'complete' THEN 1 END), count(gold_answer)"
        " FROM items WHERE batch_id = ?",
        (batch_id,),
    )
    assert row is not None
    return ItemCounts(int(row[0]), int(row[1]), int(row[2]))


async def has_table(tx: Tx, name: str) -> bool:
    """Whether the database holds table ``name`` (migrations of other features may be missing)."""
    found = await tx.fetch_value(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    )
    return found is not None


async def answer_stats(tx: Tx, batch_id: int) -> AnswerStats:
    """Submitted and active assignments of a batch, with the submitted answers' durations."""
    if not await has_table(tx, "assignments"):
        return AnswerStats(0, 0, (), tracked=False)
    active = await tx.fetch_value(
        "SELECT count(*) FROM assignments WHERE batch_id = ? AND state = 'active'", (batch_id,)
    )
    rows = await tx.fetch_all(
        "SELECT duration_ms FROM assignments WHERE batch_id = ? AND state = 'submitted'",
        (batch_id,),
    )
    durations = tuple(sorted(int(row[0]) for row in rows if row[0] is not None))
    return AnswerStats(len(rows), int(active or 0), durations)


async def submitted_since(tx: Tx, batch_id: int, since: datetime) -> int:
    """A batch's answers submitted at or after ``since`` (the estimated end's measure)."""
    if not await has_table(tx, "assignments"):
        return 0
    value = await tx.fetch_value(
        "SELECT count(*) FROM assignments"
        " WHERE batch_id = ? AND state = 'submitted' AND ended_at >= ?",
        (batch_id, to_db_time(since)),
    )
    return int(value or 0)


async def escrow_flows(tx: Tx, escrow_account: str) -> EscrowFlows:
    """What entered and left one escrow account, by the ledger's transfers (read only).

    ``tx`` is a read transaction, or the caller's write transaction.
    """
    found = await tx.fetch_all(
        "SELECT kind, debit_account = ? AS outgoing, coalesce(sum(amount), 0) FROM transfers"
        " WHERE debit_account = ? OR credit_account = ? GROUP BY kind, outgoing",
        (escrow_account, escrow_account, escrow_account),
    )
    held = spent = returned = corrected_out = 0
    for kind, outgoing, amount in ((row[0], bool(row[1]), int(row[2])) for row in found):
        if not outgoing:
            held += amount
        elif kind in ("reward", "bonus"):
            spent += amount
        elif kind == "refund":
            returned += amount
        else:
            corrected_out += amount
    return EscrowFlows(held, spent, returned, held - spent - returned - corrected_out)


@dataclass(frozen=True)
class BatchLine:
    """A batch as ``/batches`` lists it: the batch and its progress counts."""

    batch: Batch
    items: int
    complete: int
    answers: int


async def batch_lines(tx: Tx, requester_id: int | None, *, limit: int) -> list[BatchLine]:
    """A requester's batches (every batch for None), newest first, with their progress."""
    answers = (
        "(SELECT count(*) FROM assignments a WHERE a.batch_id = b.id AND a.state = 'submitted')"
        if await has_table(tx, "assignments")
        else "0"
    )
    where = "" if requester_id is None else "WHERE b.requester_id = :requester"
    rows = await tx.fetch_all(
        "SELECT b.*,"
        " (SELECT count(*) FROM items i WHERE i.batch_id = b.id) AS n_items,"
        " (SELECT count(*) FROM items i WHERE i.batch_id = b.id AND i.state = 'complete')"
        " AS n_complete,"
        f" {answers} AS n_answers"
        f" FROM batches b {where} ORDER BY b.id DESC LIMIT :limit",
        {"requester": requester_id, "limit": limit},
    )
    return [
        BatchLine(_batch(row), int(row["n_items"]), int(row["n_complete"]), int(row["n_answers"]))
        for row in rows
    ]


async def active_assignment_ids(tx: WriteTx, batch_id: int) -> list[int]:
    """Ids of a batch's active assignments, inside the caller's write transaction."""
    if not await has_table(tx, "assignments"):
        return []
    return [
        int(row[0])
        for row in await tx.fetch_all(
            "SELECT id FROM assignments WHERE batch_id = ? AND state = 'active' ORDER BY id",
            (batch_id,),
        )
    ]


async def any_open_item(tx: Tx, batch_id: int) -> bool:
    """Whether an item of a batch still collects answers (one probe of ``items_open``, whatever
    the batch's size: the worker loop asks after every completed item)."""
    found = await tx.fetch_value(
        "SELECT EXISTS (SELECT 1 FROM items WHERE batch_id = ? AND state = 'open')", (batch_id,)
    )
    return bool(found)
