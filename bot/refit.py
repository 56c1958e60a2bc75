"""Domain room of dynamic overlap in the bot (no Telegram): refits that decide who answers next.

A batch that buys answers dynamically (``bot.batches.buys_dynamically``) hands out each item's
first ``OVERLAP_RULE.least`` answers; after that, an item gets another answer only when a refit
says so. A refit reads the batch's answers so far, runs ``bot.overlap.refit`` (the rule the
quality benchmark measures: ``python -m bench.quality --part overlap``) in the compute pool, and
writes its decision in one short transaction: items sure enough are completed (the batch ends
when none is left: the unspent escrow goes back to the requester), uncertain ones may hold one
more answer slot. Until the batch ends, the items completed earlier are judged again on a
model fitted on more answers, once a round (``storage.overlap.rejudge_at``: when each item left
open has had about one more answer, as the benchmark's rounds judge every item each round):
one now found doubtful is opened again with one more slot. Without it, items stopped on the
first, two-answer model stayed stopped, and the biased crowd lost 12-19 points live; at every
refit, they had many more looks than a round gives, and the bot bought more than the
benchmark says. That slot is routed: for ``route_window`` (30 s) only the batch's preferred
workers (about the best quarter by the refit's estimates, ``bot.overlap.preferred_workers``) may
take it, then anyone. An item still being answered, or answered again since the read, is left to the
next refit (the writes are guarded by the slots read, ``storage/overlap.py``).

The memory here only skips work: a batch is read again once it has a new answer, and a batch
whose refit took long waits ``SPACING`` times as long before the next. Every decision is made on
the database; an empty memory (a restart, another process) reads every dynamic batch once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.batches import end_if_complete
from bot.compute import offload
from bot.gold import ITEM_COMPLETE, ROUTE_WINDOW, BatchEnd, batch_end_of
from bot.overlap import OVERLAP_RULE, Refit, refit, rule_for
from bot.tasks.labels import answer_labels
from bot.votes import Vote
from storage import overlap as sql
from storage.assignments import (
    Assignment,
    complete_gold_if_rest_done,
    release_active_of_items,
    submitted_count_in,
)
from storage.batches import Batch, dynamic_batches
from storage.db import Database, WriteTx

log = logging.getLogger(__name__)

RETRY_AFTER = 60.0
"""Seconds before a batch whose refit failed is tried again."""
SPACING = 2.0
"""A batch's next refit waits this many times its last refit's duration (a large batch's fits
take seconds of a core; the answers keep coming meanwhile)."""


@dataclass
class RefitMemo:
    """What the passes remember between them: each batch's answer count at its last refit, and
    when it may be refitted again (``spacing`` times its last refit's duration after it).
    ``running`` keeps passes from overlapping."""

    spacing: float = SPACING
    seen: dict[int, int] = field(default_factory=dict)
    not_before: dict[int, float] = field(default_factory=dict)
    running: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class RefitNews:
    """What one refit did to one batch."""

    batch: Batch
    completed: tuple[int, ...]
    allowed: int  # items given one more answer slot
    reopened: tuple[int, ...] = ()  # items completed earlier, found doubtful on more answers
    released: tuple[Assignment, ...] = ()  # gold tasks on screen when the batch's items ended
    batch_end: BatchEnd | None = None
    timings: tuple[float, float, float] = (0.0, 0.0, 0.0)  # seconds: read, fits, write


async def refit_pass(
    db: Database,
    *,
    now: datetime,
    tz: ZoneInfo,
    memo: RefitMemo | None = None,
    route_window: timedelta = ROUTE_WINDOW,
) -> list[RefitNews]:
    """Refit every open or paused dynamic batch with new answers; what each refit changed (a
    slot it opens is kept for the preferred workers for ``route_window``).

    A pass already running makes this one return at once with nothing."""
    memo = memo if memo is not None else RefitMemo()
    if memo.running.locked():
        return []
    async with memo.running:
        news = []
        for batch in await db.run_read(dynamic_batches):
            try:
                found = await _refit_batch(
                    db, batch, now=now, tz=tz, memo=memo, window=route_window
                )
            except Exception:  # one batch's failure must not stop the others' refits
                log.exception("refit of batch %s failed; tried again in a minute", batch.id)
                memo.not_before[batch.id] = time.monotonic() + RETRY_AFTER
                continue
            if found is not None:
                news.append(found)
        return news


async def _refit_batch(
    db: Database,
    batch: Batch,
    *,
    now: datetime,
    tz: ZoneInfo,
    memo: RefitMemo,
    window: timedelta,
) -> RefitNews | None:
    """One batch's refit, unless it has no new answer or its spacing has not passed."""
    if time.monotonic() < memo.not_before.get(batch.id, 0.0):
        return None
    count = await db.run_read(submitted_count_in, batch.id)
    if memo.seen.get(batch.id) == count:
        return None
    started = time.monotonic()
    items = await db.run_read(sql.item_answers, batch.id)
    read = time.monotonic()
    decided = await offload(decide, items, batch.answers_per_item)
    fitted = time.monotonic()
    news = await db.run_write(_apply, batch, items, decided, now + window, now, tz)
    written = time.monotonic()
    news = replace(news, timings=(read - started, fitted - read, written - fitted))
    memo.seen[batch.id] = count
    memo.not_before[batch.id] = written + memo.spacing * (written - started)
    log.debug(
        "refit of batch %s (%s, %s items): %s completed, %s allowed one more (%s reopened), %.3f s",
        batch.id,
        decided.model,
        len(items),
        len(news.completed),
        news.allowed,
        len(news.reopened),
        written - started,
    )
    return news


def decide(items: Sequence[sql.ItemAnswers], answers_per_item: int) -> Refit:
    """``bot.overlap.refit`` on the stored answers of all a batch's items, complete ones too,
    as the benchmark refits (in the compute pool: decoding a large batch's answers is CPU work
    too)."""
    votes = {
        item.item_id: [
            Vote(worker, answer_labels(json.loads(answer))) for worker, answer in item.answers
        ]
        for item in items
    }
    return refit(votes, rule_for(answers_per_item))


def _all_in(item: sql.ItemAnswers) -> bool:
    """Whether every answer the item was last allowed is in (none still being given): only then
    is it judged again, as in the benchmark's rounds. Judging it again while its next answer is
    on its way would give a doubtful item more looks, and some look would find it sure."""
    return item.taken == len(item.answers) and len(item.answers) >= (item.wanted or 0)


async def _apply(
    tx: WriteTx,
    batch: Batch,
    items: list[sql.ItemAnswers],
    decided: Refit,
    routed_until: datetime,
    now: datetime,
    tz: ZoneInfo,
) -> RefitNews:
    """A refit's decision in one transaction, each item only if its slots are as read: open
    items completed or allowed one more answer; once a round (``rejudge_at``), completed ones
    opened again while the batch runs (before the batch's end is checked)."""
    read = {item.item_id: item for item in items if item.open}
    given = sum(len(item.answers) for item in items)
    rejudge = decided.model != "waiting" and given >= await sql.rejudge_at(tx, batch.id)
    settled = {item.item_id: item for item in items if rejudge and not item.open}
    sure = [item for item in decided.complete if item in read and _all_in(read[item])]
    completed = await sql.complete_settled(
        tx, sure, taken=[len(read[item].answers) for item in sure], now=now
    )
    await sql.set_preferred(tx, batch.id, decided.preferred)
    routed = bool(decided.preferred) and routed_until > now
    allowed, reopened = 0, []
    for item_id, wanted in decided.more:
        routing = routed_until if routed and wanted > OVERLAP_RULE.least else None
        if item_id in read:
            allowed += await sql.allow_more(
                tx, item_id, taken=read[item_id].taken, wanted=wanted, routed_until=routing
            )
        elif item_id in settled and await sql.reopen(
            tx, item_id, taken=settled[item_id].taken, wanted=wanted, routed_until=routing
        ):
            reopened.append(item_id)
    if rejudge:  # next, once each item left open has had about one more answer (a round)
        left_open = len(read) - len(completed) + len(reopened)
        await sql.set_rejudge_at(tx, batch.id, given + left_open)
    released: list[Assignment] = []
    batch_end = None
    if completed:
        gold = await complete_gold_if_rest_done(tx, batch.id, now)
        released = await release_active_of_items(tx, gold, ITEM_COMPLETE, now)
        refunded = await end_if_complete(tx, batch.id, now=now, tz=tz)
        if refunded is not None:
            batch_end = await batch_end_of(tx, batch, refunded)
    return RefitNews(
        batch,
        tuple(completed),
        allowed + len(reopened),
        tuple(reopened),
        tuple(released),
        batch_end,
    )
