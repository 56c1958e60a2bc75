"""Review batches: the SQL of the review step (a batch that picks the best of another's answers).

A review batch is an ordinary batch row with ``source_batch_id`` set (one per source batch, a
unique index says so); its items point at the media of the items they review and carry their
candidates (``items.choices``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.batches import Batch, NewBatch, get_batch, insert_batch_row
from storage.db import Tx, WriteTx, to_db_time


@dataclass(frozen=True)
class ReviewItem:
    """One review item: the item it reviews (whose media it shows) and its candidates."""

    source_item_id: int
    choices: tuple[str, ...]


async def insert_review_batch(
    tx: WriteTx, batch: NewBatch, items: Sequence[ReviewItem], now: datetime
) -> int:
    """Store a review batch (a draft) whose items show the reviewed items' media; its id."""
    batch_id = await insert_batch_row(tx, batch, to_db_time(now))
    for position, item in enumerate(items, start=1):
        await tx.execute(
            "INSERT INTO items (batch_id, position, source_path, media_sha256, recording_path,"
            " start_ms, end_ms, source_item_id, choices)"
            " SELECT ?, ?, source_path, media_sha256, recording_path, start_ms, end_ms, id, ?"
            " FROM items WHERE id = ?",
            (batch_id, position, _json_list(item.choices), item.source_item_id),
        )
    return batch_id


def _json_list(values: Sequence[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


async def review_batch_of(tx: Tx, source_batch_id: int) -> Batch | None:
    """The review batch of a batch, if one was made."""
    found = await tx.fetch_value(
        "SELECT id FROM batches WHERE source_batch_id = ?", (source_batch_id,)
    )
    return None if found is None else await get_batch(tx, int(found))
