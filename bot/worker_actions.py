"""Domain room of per-worker actions for requesters (issue 15; no Telegram): the workers of a
batch by pseudonym with their answers and accuracy, a bonus to one of them, and keeping one
from the requester's batches (reversible).

A requester knows a worker only by the batch's pseudonym (``bot.results.pseudonym``); the
pseudonym is resolved to the worker here and the worker's id never leaves this module's
results. A bonus follows ``/bonus``'s rules: from the requester's budget, only to a worker of
their batch (never themselves), within the monthly cap with the worker's active task's reward
kept aside, under an idempotency key naming the batch, the pseudonym, the requester's message
and the amount, so a message delivered twice or a button pressed twice pays once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.batches import Viewer, visible_batch
from bot.errors import CapExceeded, InsufficientFunds, InvalidInput, NotFound, PermissionDenied
from bot.ledger import grant_bonus, requester_account
from bot.results import batch_results, pseudonym, pseudonym_secret
from storage import assignments as assignments_sql
from storage import exclusions as sql
from storage import ledger as ledger_sql
from storage.batches import Batch
from storage.db import Database
from storage.results import answering_workers

PSEUDONYM_LENGTH = 13  # "w" and 12 hex digits


@dataclass(frozen=True)
class WorkerLine:
    """One worker of a batch as the requester sees them."""

    pseudonym: str
    answers: int
    accuracy: float | None
    excluded: bool


@dataclass(frozen=True)
class WorkerBonus:
    """A bonus to one worker; ``created`` False when this message had already paid it."""

    batch: Batch
    pseudonym: str
    worker_id: int  # for telling the worker; never shown to the requester
    amount: int
    created: bool


@dataclass(frozen=True)
class Exclusion:
    """A worker kept from (or readmitted to) the requester's batches; ``changed`` False when it
    already was so."""

    batch: Batch
    pseudonym: str
    excluded: bool
    changed: bool


def clean_pseudonym(text: str) -> str:
    """A pseudonym as typed or carried by a button, checked for its shape."""
    name = text.strip().lower()
    hex_part = name[1:]
    if (
        len(name) != PSEUDONYM_LENGTH
        or not name.startswith("w")
        or any(c not in "0123456789abcdef" for c in hex_part)
    ):
        raise InvalidInput("workers.bad_pseudonym", name=text[:20])
    return name


async def worker_lines(
    db: Database, batch_id: int, viewer: Viewer, *, now: datetime
) -> tuple[Batch, list[WorkerLine]]:
    """The workers of a batch by pseudonym, most answers first."""
    results = await batch_results(db, batch_id, viewer, now=now)
    secret = await pseudonym_secret(db, now)
    batch = results.batch
    async with db.read() as tx:
        excluded = await sql.excluded_by(tx, batch.requester_id)
    lines = [
        WorkerLine(
            pseudonym(secret, batch.id, worker),
            count,
            results.worker_accuracy.get(worker),
            worker in excluded,
        )
        for worker, count in results.worker_answers.items()
    ]
    lines.sort(key=lambda line: (-line.answers, line.pseudonym))
    return batch, lines


async def worker_line(
    db: Database, batch_id: int, viewer: Viewer, name: str, *, now: datetime
) -> tuple[Batch, WorkerLine]:
    """One worker of a batch by pseudonym (``NotFound`` for a pseudonym not of this batch)."""
    wanted = clean_pseudonym(name)
    batch, lines = await worker_lines(db, batch_id, viewer, now=now)
    for line in lines:
        if line.pseudonym == wanted:
            return batch, line
    raise NotFound("workers.not_found", name=wanted, id=batch_id)


async def _resolve(
    db: Database, batch_id: int, requester_id: int, name: str, now: datetime
) -> tuple[Batch, str, int]:
    """The requester's own batch, the pseudonym and the worker behind it."""
    wanted = clean_pseudonym(name)
    secret = await pseudonym_secret(db, now)
    async with db.read() as tx:
        batch = await visible_batch(tx, batch_id, Viewer(requester_id))
        workers = await answering_workers(tx, batch_id)
    for worker in workers:
        if pseudonym(secret, batch_id, worker) == wanted:
            if worker == requester_id:  # cannot happen (no one answers their own batch): kept
                raise PermissionDenied("workers.self")
            return batch, wanted, worker
    raise NotFound("workers.not_found", name=wanted, id=batch_id)


def worker_bonus_key(batch_id: int, name: str, message: tuple[int, int], amount: int) -> str:
    """The idempotency key of one bonus to one worker asked by one message of the requester (a
    message id is only unique within its chat; each amount on a card is a bonus of its own)."""
    chat_id, message_id = message
    return f"bonus:batch:{batch_id}:pseudonym:{name}:{chat_id}:{message_id}:{amount}"


async def bonus_worker(
    db: Database,
    batch_id: int,
    requester_id: int,
    name: str,
    *,
    amount: int,
    message: tuple[int, int],
    now: datetime,
    tz: ZoneInfo,
    cap: int,
) -> WorkerBonus:
    """Pay ``amount`` from the requester's budget to one worker of their batch, once per message.

    A balance too small raises ``InsufficientFunds`` and moves nothing; a bonus that would take
    the worker over the monthly cap (their active task's reward kept aside) is refused.
    """
    if amount <= 0:
        raise InvalidInput("workers.bad_amount")
    batch, wanted, worker = await _resolve(db, batch_id, requester_id, name, now)
    key = worker_bonus_key(batch.id, wanted, message, amount)
    account = requester_account(requester_id)
    async with db.write() as tx:
        if await ledger_sql.transfer_by_key(tx, key) is None:
            balance = await ledger_sql.account_balance(tx, account)
            if balance < amount:
                raise InsufficientFunds(
                    "bonus.short",
                    total_cents=amount,
                    balance_cents=balance,
                    shortfall_cents=amount - balance,
                    count=1,
                )
        try:
            posted = await grant_bonus(
                tx,
                from_account=account,
                worker_id=worker,
                amount=amount,
                key=key,
                actor_id=requester_id,
                at=now,
                tz=tz,
                cap=cap - await assignments_sql.active_reward(tx, worker),
                memo=f"bonus to {wanted}, batch {batch.id}",
            )
        except CapExceeded:
            raise InvalidInput("workers.over_cap", name=wanted) from None
    return WorkerBonus(batch, wanted, worker, amount, posted.created)


async def set_excluded(
    db: Database, batch_id: int, requester_id: int, name: str, *, excluded: bool, now: datetime
) -> Exclusion:
    """Keep the worker behind a pseudonym from the requester's batches, or readmit them."""
    batch, wanted, worker = await _resolve(db, batch_id, requester_id, name, now)
    async with db.write() as tx:
        if excluded:
            changed = await sql.exclude(tx, requester_id, worker, now)
        else:
            changed = await sql.readmit(tx, requester_id, worker)
    return Exclusion(batch, wanted, excluded, changed)
