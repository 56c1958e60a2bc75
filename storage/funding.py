"""The funding SQL: invoices sent by ``/fund`` and the Telegram payments that paid them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Row, Tx, WriteTx, from_db_time, to_db_time


@dataclass(frozen=True)
class Invoice:
    """An invoice a requester asked for; its payload is ``fund:ID``."""

    id: int
    requester_id: int
    amount: int
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class Payment:
    """A payment Telegram confirmed, credited to the requester's budget once."""

    telegram_charge_id: str
    provider_charge_id: str
    invoice_id: int
    requester_id: int
    amount: int
    currency: str
    transfer_id: int
    created_at: datetime


def _invoice(row: Row) -> Invoice:
    return Invoice(
        id=row["id"],
        requester_id=row["requester_id"],
        amount=row["amount"],
        currency=row["currency"],
        created_at=from_db_time(row["created_at"]),
    )


def _payment(row: Row) -> Payment:
    return Payment(
        telegram_charge_id=row["telegram_charge_id"],
        provider_charge_id=row["provider_charge_id"],
        invoice_id=row["invoice_id"],
        requester_id=row["requester_id"],
        amount=row["amount"],
        currency=row["currency"],
        transfer_id=row["transfer_id"],
        created_at=from_db_time(row["created_at"]),
    )


async def insert_invoice(
    tx: WriteTx, *, requester_id: int, amount: int, currency: str, now: datetime
) -> Invoice:
    cursor = await tx.execute(
        "INSERT INTO invoices (requester_id, amount, currency, created_at) VALUES (?, ?, ?, ?)",
        (requester_id, amount, currency, to_db_time(now)),
    )
    assert cursor.lastrowid is not None
    found = await invoice_by_id(tx, cursor.lastrowid)
    assert found is not None
    return found


async def invoice_by_id(tx: Tx, invoice_id: int) -> Invoice | None:
    row = await tx.fetch_one("SELECT * FROM invoices WHERE id = ?", (invoice_id,))
    return _invoice(row) if row is not None else None


async def payment_by_charge(tx: Tx, telegram_charge_id: str) -> Payment | None:
    row = await tx.fetch_one(
        "SELECT * FROM payments WHERE telegram_charge_id = ?", (telegram_charge_id,)
    )
    return _payment(row) if row is not None else None


async def insert_payment(tx: WriteTx, payment: Payment) -> None:
    await tx.execute(
        "INSERT INTO payments (telegram_charge_id, provider_charge_id, invoice_id, requester_id,"
        " amount, currency, transfer_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            payment.telegram_charge_id,
            payment.provider_charge_id,
            payment.invoice_id,
            payment.requester_id,
            payment.amount,
            payment.currency,
            payment.transfer_id,
            to_db_time(payment.created_at),
        ),
    )


async def payments_of(tx: Tx, requester_id: int, *, limit: int) -> list[Payment]:
    """A requester's payments, newest first."""
    rows = await tx.fetch_all(
        "SELECT * FROM payments WHERE requester_id = ? ORDER BY created_at DESC, transfer_id DESC"
        " LIMIT ?",
        (requester_id, limit),
    )
    return [_payment(row) for row in rows]
