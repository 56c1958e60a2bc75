"""Routing: what the dispatcher reads to prefer the most accurate workers (no writes).

The type of the batch the next claims come from (claims take the oldest open batch first), so
each waiting worker's accuracy is measured on the type they are about to get.
"""

from __future__ import annotations

from storage.db import Tx


async def next_open_type(tx: Tx) -> str | None:
    """The task type of the oldest open batch with an open item, or None."""
    found = await tx.fetch_value(
        "SELECT b.type FROM batches b WHERE b.state = 'open' AND EXISTS"
        " (SELECT 1 FROM items i WHERE i.batch_id = b.id AND i.state = 'open')"
        " ORDER BY b.published_at, b.id LIMIT 1"
    )
    return None if found is None else str(found)
