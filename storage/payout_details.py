"""The payout details SQL: how each worker is paid (holder, IBAN, the bank's BIC)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Row, Tx, WriteTx, from_db_time, to_db_time


@dataclass(frozen=True)
class PayoutDetails:
    """A worker's bank details. ``iban`` is whole: never log or show it (mask it)."""

    worker_id: int
    holder: str
    iban: str
    bic: str | None
    updated_at: datetime

    def __repr__(self) -> str:
        return f"PayoutDetails(worker_id={self.worker_id}, iban=<masked>)"


def _details(row: Row) -> PayoutDetails:
    return PayoutDetails(
        worker_id=row["worker_id"],
        holder=row["holder"],
        iban=row["iban"],
        bic=row["bic"],
        updated_at=from_db_time(row["updated_at"]),
    )


async def upsert_details(tx: WriteTx, details: PayoutDetails) -> None:
    await tx.execute(
        "INSERT INTO payout_details (worker_id, holder, iban, bic, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (worker_id) DO UPDATE SET holder = excluded.holder,"
        " iban = excluded.iban, bic = excluded.bic, updated_at = excluded.updated_at",
        (
            details.worker_id,
            details.holder,
            details.iban,
            details.bic,
            to_db_time(details.updated_at),
        ),
    )


async def details_of(tx: Tx, worker_id: int) -> PayoutDetails | None:
    row = await tx.fetch_one("SELECT * FROM payout_details WHERE worker_id = ?", (worker_id,))
    return _details(row) if row is not None else None


async def details_for(tx: Tx, worker_ids: Sequence[int]) -> dict[int, PayoutDetails]:
    """The details of each worker id that has some."""
    if not worker_ids:
        return {}
    marks = ", ".join("?" for _ in worker_ids)
    rows = await tx.fetch_all(
        f"SELECT * FROM payout_details WHERE worker_id IN ({marks})", tuple(worker_ids)
    )
    return {row["worker_id"]: _details(row) for row in rows}
