"""Who gets what next: the push policy of DESIGN.md as plain rules over storage (no Telegram).

A pass walks the workers who may get a push (registered, reachable, not blocked or paused,
no active assignment) and whose time rules say "available" now, least recently served first, a
page at a time from one index (when slots are fewer than workers, the most accurate on the type
first: ``routed``), and claims for each one answer slot whose reward fits
under what is left of their monthly cap, until it has claimed what the outbox can send before
the next pass (``limit``; issue 10: when demand exceeds the budget, the longest waiting go
first) or the queue ends. The claim is one ``INSERT ... SELECT ... RETURNING`` inside a
``BEGIN IMMEDIATE`` transaction (``storage.assignments.claim_next``; a push pass makes several
in one), so two passes can never hand out more slots than ``answers_per_item`` nor the same
item twice to a worker.

Whether a worker's time rules say "available" is kept in their row with the instant that
answer next changes (``Availability.span``): a pass first works out again the spans that do not
hold at its time (``refresh_spans``: those whose instant passed, edited rules, every row at
start), then reads only the open ones, so the idle workers outside their windows are never read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.availability import Availability, QuietHours, Status, parse_quiet, parse_windows
from bot.config import Settings
from bot.errors import CapExceeded, InvalidInput, NotFound, PermissionDenied, UserError
from bot.gold import QualityRules
from bot.ledger import month_of, worker_account
from bot.overlap import route_order
from bot.quality import estimate_accuracy
from bot.reputation import Figures
from bot.training import examples_due, is_training
from storage.assignments import (
    GOLD_SEED_NAME,
    Assignment,
    active_assignment_of,
    any_open_slot,
    claim_next,
    open_slots_up_to,
    rewards_open_to,
)
from storage.availability import (
    AvailabilityRecord,
    Candidate,
    QueuePlace,
    Span,
    dispatch_candidates,
    get_availability,
    record_served_all,
    stale_spans,
    store_spans,
)
from storage.batches import Batch, Item, get_batch, get_item, items_by_id
from storage.db import Database, Tx, WriteTx
from storage.ledger import earned_in_month, earned_in_month_by
from storage.quality import batches_with_open_gold, gold_scores_of_workers, server_secret
from storage.reputation import cached_figures
from storage.routing import next_open_type
from storage.users import User, get_user, roles_of

log = logging.getLogger(__name__)

CLAIMS_PER_WRITE = 32  # claims a push pass makes in one write transaction
PAGE_MIN, PAGE_MAX = 64, 1_000  # candidates a pass reads at a time (a few per claim it wants)
SPANS_PER_WRITE = 500  # stored spans worked out again in one write transaction


@dataclass(frozen=True)
class Policy:
    """The settings the rules need: the cap, the ledger's months, the default zone, quality."""

    monthly_cap: int
    zone: ZoneInfo  # TIMEZONE: months of the ledger and workers' default zone
    # gold share, pause and early-stopping thresholds
    quality: QualityRules = field(default_factory=QualityRules)

    @classmethod
    def from_settings(cls, settings: Settings, quality: QualityRules | None = None) -> Policy:
        return cls(
            monthly_cap=settings.monthly_cap,
            zone=settings.timezone,
            quality=quality or QualityRules(),
        )

    def zone_of(self, timezone: str | None) -> ZoneInfo:
        """A worker's zone: their own when set and valid, else TIMEZONE."""
        if timezone:
            try:
                return _zone(timezone)
            except (ZoneInfoNotFoundError, ValueError):
                log.warning("unknown stored time zone %r; using the default", timezone)
        return self.zone

    def next_month_start(self, now: datetime) -> date:
        """The first day of the next month in TIMEZONE, when the cap resets."""
        local = now.astimezone(self.zone).date()
        return date(local.year + local.month // 12, local.month % 12 + 1, 1)


@dataclass(frozen=True)
class Offer:
    """A claimed answer slot, with what the handler needs to show it."""

    assignment: Assignment
    batch: Batch
    item: Item
    worker_id: int
    language: str
    timezone: str | None
    # Issue 14: a training task, examples to show first, the requester's reputation line.
    training: bool = False
    examples_due: bool = False
    reputation: Figures | None = None


# A pass reads every candidate's windows, quiet hours and zone; a crowd shares a few dozen texts
# (ZoneInfo keeps its zones only while referenced: a pass would read the files again).
_windows_of = lru_cache(maxsize=4096)(parse_windows)
_quiet_of = lru_cache(maxsize=1024)(parse_quiet)
_zone = lru_cache(maxsize=1024)(ZoneInfo)


def availability_of(record: AvailabilityRecord) -> Availability:
    """The rules' view of a stored record (unreadable stored text counts as none); each text is
    parsed once (the parsed values are immutable)."""
    try:
        windows = _windows_of(record.windows)
    except InvalidInput:
        log.warning("worker %s has unreadable windows %r", record.worker_id, record.windows)
        windows = ()
    quiet: QuietHours | None
    try:
        quiet = _quiet_of(record.quiet)
    except InvalidInput:
        log.warning("worker %s has unreadable quiet hours %r", record.worker_id, record.quiet)
        quiet = parse_quiet("22:00-08:00")
    return Availability(
        windows=windows,
        quiet=quiet,
        ready_until=record.ready_until,
        paused=record.paused_at is not None,
    )


async def cap_left(tx: Tx, policy: Policy, worker_id: int, now: datetime) -> int:
    """Cents the worker may still earn this month (month of ``now`` in TIMEZONE)."""
    earned = await earned_in_month(tx, worker_account(worker_id), month_of(now, policy.zone))
    return max(policy.monthly_cap - earned, 0)


@dataclass
class _Seen:
    """What one write transaction of a push pass reads once for all its claims."""

    batches: dict[int, Batch] = field(default_factory=dict)
    reputations: dict[int, Figures | None] = field(default_factory=dict)
    items: dict[int, Item] = field(default_factory=dict)


async def _offer(
    tx: WriteTx,
    assignment: Assignment,
    who: User | Candidate | None,
    policy: Policy,
    now: datetime,
    seen: _Seen | None = None,
) -> Offer | None:
    seen = seen or _Seen()
    batch = seen.batches.get(assignment.batch_id) or await get_batch(tx, assignment.batch_id)
    item = seen.items.get(assignment.item_id) or await get_item(tx, assignment.item_id)
    if batch is None or item is None:  # cannot happen with foreign keys on
        log.error("assignment %s points at a missing batch or item", assignment.id)
        return None
    seen.batches[batch.id] = batch
    if batch.requester_id in seen.reputations:
        reputation = seen.reputations[batch.requester_id]
    else:  # as cached, never computed here (bot/reputation.py); none yet: no line
        reputation = await cached_figures(tx, batch.requester_id)
        seen.reputations[batch.requester_id] = reputation
    worker_id = assignment.worker_id
    return Offer(
        assignment=assignment,
        batch=batch,
        item=item,
        worker_id=assignment.worker_id,
        language=who.language if who else "en",
        timezone=who.timezone if who else None,
        training=await is_training(tx, worker_id, item, batch, policy.quality.training_items),
        examples_due=await examples_due(tx, worker_id, batch),
        reputation=reputation,
    )


@dataclass
class PassTally:
    """What a push pass did: stored spans worked out again, candidates read from the queue,
    those available now by their time rules, claims tried (not busy) and made, write
    transactions (the volume bench prints it)."""

    spans: int = 0
    read: int = 0
    available: int = 0
    tried: int = 0
    claims: int = 0
    writes: int = 0


async def dispatch_pass(
    db: Database,
    policy: Policy,
    now: datetime,
    *,
    busy: Container[int] = frozenset(),
    limit: int | None = None,
    tally: PassTally | None = None,
    claimed: Callable[[list[Offer]], None] | None = None,
) -> list[Offer]:
    """Claim one slot for available workers who have none, least recently served first, until
    ``limit`` claims (what the outbox can send before the next pass; None: everyone).
    ``claimed`` is given each write transaction's offers once committed, so the first are
    shown while the pass goes on (a pass of thousands of claims takes seconds).

    Candidates come a page at a time in queue order (a range of one index, never every worker
    sorted); a claimed worker leaves the queue's head (served now), so the next pass starts with
    the next longest waiting. ``busy`` holds workers whose own answer is being handled right now
    (their next task comes from that flow); it is read just before each claim, with no await in
    between (on SQLite the transaction runs whole on the writer's thread, where the set is only
    read). Claims go ``CLAIMS_PER_WRITE`` to a write transaction (each with the cap check that
    bounds it): one commit for several claims, and the writer is never held for long.
    """
    tally = tally if tally is not None else PassTally()
    async with db.read() as tx:
        if not await any_open_slot(tx):
            return []
    tally.spans += await refresh_spans(db, policy, now)
    offers: list[Offer] = []
    after: QueuePlace | None = None
    reputations: dict[int, Figures | None] = {}  # cached figures, read once a pass
    while limit is None or len(offers) < limit:
        wanted = PAGE_MAX if limit is None else 3 * (limit - len(offers))
        page = min(PAGE_MAX, max(PAGE_MIN, wanted))
        async with db.read() as tx:
            candidates = await dispatch_candidates(
                tx, after=after, limit=page, now=now, open_now=True
            )
            # The stored span said "available"; the rules say it again on the row as read now.
            available = [c for c in candidates if _available(c, policy, now)]
            if available and await open_slots_up_to(tx, len(available)) < len(available):
                available = await routed(tx, available)
        tally.read += len(candidates)
        tally.available += len(available)
        for start in range(0, len(available), CLAIMS_PER_WRITE):
            room = None if limit is None else limit - len(offers)
            if room is not None and room <= 0:
                break
            tally.writes += 1
            seen = _Seen(reputations=reputations)
            chunk = available[start : start + CLAIMS_PER_WRITE]
            made = await db.run_write(_push_claims, policy, chunk, now, busy, room, seen, tally)
            offers += made
            if claimed is not None and made:
                claimed(made)
        if len(candidates) < page:
            break  # the end of the queue
        after = candidates[-1].place
    tally.claims = len(offers)
    return offers


async def _push_claims(
    tx: WriteTx,
    policy: Policy,
    chunk: list[Candidate],
    now: datetime,
    busy: Container[int],
    room: int | None,
    seen: _Seen,
    tally: PassTally,
) -> list[Offer]:
    """A pass's claims in one write transaction, at most ``room``: what every claim needs is
    read once (the month's earnings of the chunk, the batches with gold, the gold seed), the
    claims are stamped served together and their items read together. A worker claimed since
    the page was read (their answer's next task) is refused by the claim itself (one active
    assignment per worker)."""
    gold_batches = await batches_with_open_gold(tx)
    secret = await server_secret(tx, GOLD_SEED_NAME, now) if gold_batches else None
    month = month_of(now, policy.zone)
    earned = await earned_in_month_by(tx, [worker_account(c.worker_id) for c in chunk], month)
    claimed: list[tuple[Candidate, Assignment]] = []
    for candidate in chunk:
        if room is not None and len(claimed) >= room:
            break
        worker_id = candidate.worker_id
        if worker_id in busy:
            continue
        tally.tried += 1
        left = max(policy.monthly_cap - earned.get(worker_account(worker_id), 0), 0)
        if left <= 0 or worker_id in busy:
            continue
        assignment = await claim_next(
            tx,
            worker_id=worker_id,
            now=now,
            max_reward=left,
            pick_gold=policy.quality.gold_picker(),
            gold_secret=secret,
            gold_batches=gold_batches,
            record=False,
        )
        if assignment is not None:
            claimed.append((candidate, assignment))
    if not claimed:
        return []
    await record_served_all(tx, [assignment.worker_id for _, assignment in claimed], now)
    seen.items = await items_by_id(tx, [assignment.item_id for _, assignment in claimed])
    offers = []
    for candidate, assignment in claimed:
        offer = await _offer(tx, assignment, candidate, policy, now, seen)
        if offer is not None:
            offers.append(offer)
    return offers


async def refresh_spans(db: Database, policy: Policy, now: datetime) -> int:
    """Work out again, from their time rules and zone, the stored span of every unpaused worker
    whose span does not hold at ``now``; returns how many. Nothing to do is one indexed read;
    each write transaction reads what it works out itself, so an edit made meanwhile is never
    overwritten with a span of the old rules."""
    done = 0
    known: dict[_Rules, tuple[bool, datetime]] = {}  # a crowd shares a few rules and zones
    while True:
        async with db.read() as tx:
            if not await stale_spans(tx, now=now, limit=1):
                return done
        worked_out = await db.run_write(_refresh_some, policy, now, known)
        done += worked_out
        if worked_out < SPANS_PER_WRITE:
            return done


async def _refresh_some(
    tx: WriteTx, policy: Policy, now: datetime, known: dict[_Rules, tuple[bool, datetime]]
) -> int:
    """One write of ``refresh_spans`` (one trip to the writer's thread on SQLite): up to
    ``SPANS_PER_WRITE`` stale spans read and worked out again; how many."""
    stale = await stale_spans(tx, now=now, limit=SPANS_PER_WRITE)
    if stale:  # another process may have worked them out meanwhile
        await store_spans(tx, [span_of(c, policy, now, known) for c in stale])
    return len(stale)


# windows, quiet hours, /ready end, paused, zone: what a span is worked out from
_Rules = tuple[str, str, datetime | None, bool, ZoneInfo]


def span_of(
    candidate: Candidate,
    policy: Policy,
    now: datetime,
    known: dict[_Rules, tuple[bool, datetime]] | None = None,
) -> Span:
    """What the worker's time rules say at ``now`` and until when, in their zone (``known``:
    the answers already worked out at ``now``, by rules and zone)."""
    record = candidate.availability
    zone = policy.zone_of(candidate.timezone)
    rules = (record.windows, record.quiet, record.ready_until, record.paused_at is not None, zone)
    found = known.get(rules) if known is not None else None
    if found is None:
        found = availability_of(record).span(now, zone)
        if known is not None:
            known[rules] = found
    return candidate.worker_id, found[0], now, found[1]


def _available(candidate: Candidate, policy: Policy, now: datetime) -> bool:
    zone = policy.zone_of(candidate.timezone)
    return availability_of(candidate.availability).is_available(now, zone)


async def routed(tx: Tx, candidates: list[Candidate]) -> list[Candidate]:
    """Routing, when there are fewer open slots than waiting workers: the most accurate on the
    type of the next slots first, by gold answers (``bot/overlap.py``: in bands, least recently
    served first within a band; no gold answers yet: the prior's band)."""
    kind = await next_open_type(tx)
    if kind is None:
        return candidates
    scores = await gold_scores_of_workers(tx, [c.worker_id for c in candidates], kind)
    accuracy = {worker: estimate_accuracy(found).score for worker, found in scores.items() if found}
    by_id = {candidate.worker_id: candidate for candidate in candidates}
    return [by_id[worker] for worker in route_order(list(by_id), accuracy)]


async def status_of(db: Database, policy: Policy, worker_id: int, now: datetime) -> Status:
    """Whether the worker's time rules let a task be pushed now, or why not."""
    async with db.read() as tx:
        return await _status(tx, policy, await get_user(tx, worker_id), now, worker_id)


async def _status(
    tx: Tx, policy: Policy, user: User | None, now: datetime, worker_id: int
) -> Status:
    record = await get_availability(tx, worker_id)
    zone = policy.zone_of(user.timezone if user else None)
    return availability_of(record).status(now, zone)


async def next_for(
    db: Database,
    policy: Policy,
    worker_id: int,
    now: datetime,
    *,
    user: User | None = None,
    left: int | None = None,
) -> Offer | None:
    """The task that follows an answer or a skip, if the worker is still available for one.

    ``user`` (the worker's row) and ``left`` (their room under the cap) are what the caller
    already read in this update; given, they are not read again.
    """
    return await db.run_write(_next_in, policy, worker_id, now, user, left)


async def _next_in(
    tx: WriteTx, policy: Policy, worker_id: int, now: datetime, user: User | None, left: int | None
) -> Offer | None:
    """``next_for``'s transaction."""
    if user is None:
        user = await get_user(tx, worker_id)
    if user is None or not _may_work(user) or "worker" not in await roles_of(tx, worker_id):
        return None
    if await _status(tx, policy, user, now, worker_id) != "available":
        return None
    if left is None:
        left = await cap_left(tx, policy, worker_id, now)
    if left <= 0:
        return None
    assignment = await claim_next(
        tx,
        worker_id=worker_id,
        now=now,
        max_reward=left,
        pick_gold=policy.quality.gold_picker(),
    )
    return None if assignment is None else await _offer(tx, assignment, user, policy, now)


async def push_status(
    db: Database,
    policy: Policy,
    worker_id: int,
    now: datetime,
    *,
    user: User | None = None,
    left: int | None = None,
) -> Status | Literal["cap"]:
    """Why tasks do or do not come now: ``cap`` when no open task's reward fits under what is
    left of the cap, else the time rules' status (``available``, ``paused``, ``quiet``, ``off``).

    ``user`` and ``left`` as for ``next_for``."""
    async with db.read() as tx:
        if left is None:
            left = await cap_left(tx, policy, worker_id, now)
        rewards = await rewards_open_to(tx, worker_id)
        if left <= 0 or (rewards and min(rewards) > left):
            return "cap"
        if user is None:
            user = await get_user(tx, worker_id)
        return await _status(tx, policy, user, now, worker_id)


def _may_work(user: User) -> bool:
    return user.registered and user.blocked_at is None and user.unreachable_at is None


async def offer_on_request(db: Database, policy: Policy, worker_id: int, now: datetime) -> Offer:
    """``/task``: one task now, even outside windows and quiet hours.

    Refused with the reason (a ``UserError``) during a pause, a block, before registration, when
    a task is already active, when the cap is reached, or when there is nothing to do.
    """
    offer = await db.run_write(_offer_in, policy, worker_id, now)
    if offer is None:
        raise UserError("error.generic")
    return offer


async def _offer_in(tx: WriteTx, policy: Policy, worker_id: int, now: datetime) -> Offer | None:
    """``offer_on_request``'s transaction (one trip to the writer's thread on SQLite)."""
    user = await get_user(tx, worker_id)
    if user is None or not user.registered:
        raise PermissionDenied("tasks.refused.not_registered")
    if user.blocked_at is not None:
        raise PermissionDenied("tasks.refused.blocked")
    if (await get_availability(tx, worker_id)).paused_at is not None:
        raise PermissionDenied("tasks.refused.paused")
    if await active_assignment_of(tx, worker_id) is not None:
        raise InvalidInput("tasks.refused.already_active")
    left = await cap_left(tx, policy, worker_id, now)
    if left <= 0:
        raise CapExceeded("tasks.refused.cap", reset=policy.next_month_start(now))
    assignment = await claim_next(
        tx,
        worker_id=worker_id,
        now=now,
        max_reward=left,
        forced=True,
        pick_gold=policy.quality.gold_picker(),
    )
    if assignment is None:
        if await claim_possible_above(tx, worker_id, left):
            raise CapExceeded("tasks.refused.cap", reset=policy.next_month_start(now))
        raise NotFound("tasks.none_available")
    return await _offer(tx, assignment, user, policy, now)


async def claim_possible_above(tx: Tx, worker_id: int, left: int) -> bool:
    """Whether some open slot exists for the worker whose reward is above ``left``."""
    return any(reward > left for reward in await rewards_open_to(tx, worker_id))
