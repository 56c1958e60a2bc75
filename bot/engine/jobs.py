"""Engine room, jobs: showing a claimed task, its deadline job, the dispatcher and the timer
refresh (PTB's JobQueue, STYLE.md 5).

Timers live in the database and are re-armed at start; in memory each armed deadline is an
entry of one wheel (``TaskRuntime.deadlines``), and the one JobQueue job ``deadlines`` wakes for
the earliest and expires what is due, each in a task named ``deadline:ID``. The dispatcher
runs every few seconds and once right after each event.
A claimed task is queued in the outbox (``bot/engine/outbox.py``); its timer starts (the
deadline is stored) only when its turn comes and it is sent, and a task that waited in the queue
longer than ``MAX_QUEUE_WAIT`` goes back to the pool.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import JobQueue

from bot import answers
from bot.context import BotContext, Services
from bot.dispatch import Offer, Policy, dispatch_pass
from bot.engine.delivery import (
    BotApplication,
    edit_caption,
    markup_of,
    send_task,
    services_of,
)
from bot.engine.examples import show_examples, training_header
from bot.engine.outbox import Priority
from bot.engine.render import task_buttons, task_caption
from bot.reputation import cached, refresh_due
from bot.tasks import task_type
from bot.telegram_ui import translator_for
from storage.assignments import (
    active_assignment_of,
    active_assignments,
    get_assignment,
    record_messages,
    refreshable,
    start_timer,
)
from storage.availability import forget_spans
from storage.batches import Batch, get_batch, get_item
from storage.users import mark_unreachable

log = logging.getLogger(__name__)

DISPATCH_INTERVAL = 3.0  # seconds between dispatcher passes (plus one right after events)
TIMER_TICK = 5.0  # how often the timer job looks for captions to refresh
TIMER_REFRESH = timedelta(seconds=15)  # a task message is refreshed at most this often...
TIMER_MIN_LIMIT = 60  # ...and only for tasks of a minute or more
TIMER_BUDGET = 10  # most refresh edits per tick (2 a second), leaving room for real tasks
# A task queued longer than this goes back to the pool; kept under STALE_OFFER, after which any
# process's sweep releases a claim never shown (its process stopped mid-send).
MAX_QUEUE_WAIT = timedelta(seconds=25)
SWEEP_INTERVAL = 5.0  # seconds between looks for deadlines no live process has armed
SWEEP_GRACE = timedelta(seconds=2)  # the process that armed a deadline goes first
SWEEP_BATCH = 50
EXPIRE_CHUNK = 500  # expiries in one write transaction (at start: every one past its time)
STALE_OFFER = timedelta(seconds=30)  # a claim not shown by then: its process stopped mid-send
DEADLINES_JOB = "deadlines"  # the one job that wakes for the earliest armed deadline
REPUTATION_INTERVAL = 60.0  # seconds between refreshes of requesters' reputation lines...
REPUTATION_FIRST = 10.0  # ...the first once the bot serves (a restart serves first)


def job_queue(application: BotApplication) -> JobQueue[Any]:
    queue = application.job_queue
    assert queue is not None, "install python-telegram-bot[job-queue]"
    return queue


def policy_of(services: Services) -> Policy:
    return Policy.from_settings(services.settings, services.quality)


# -- showing a task ------------------------------------------------------------------------------


def queue_task(
    application: BotApplication,
    offer: Offer,
    priority: Priority,
    *,
    header: str | None = None,
) -> None:
    """Queue a claimed task in the outbox as a new message; its timer starts when it is sent."""
    services = services_of(application)
    queued = services.clock.now()
    prompt = task_type(offer.batch.type).reply_prompt(services.translator(offer.language))
    services.outbox.submit(
        offer.worker_id,
        lambda: show_task(application, offer, header=header, queued=queued),
        priority,
        cost=1 if prompt is None else 2,
        what="task",
    )


async def show_task(
    application: BotApplication,
    offer: Offer,
    *,
    replace: tuple[int, int] | None = None,
    header: str | None = None,
    queued: datetime | None = None,
) -> bool:
    """Deliver a claimed task (the outbox's turn): start its timer, arm its deadline job, send.

    ``replace``: a photo task message (chat, message id) to turn into this task with
    ``editMessageMedia`` (the caller holds its lock; only for an image item). A task ``queued``
    longer than ``MAX_QUEUE_WAIT`` ago goes back to the pool unsent. On a 403 the worker becomes
    unreachable; on any other failure the slot is released; a 429 goes to the outbox, which
    tries again. True when the task is shown.
    """
    services = services_of(application)
    assignment, batch, item = offer.assignment, offer.batch, offer.item
    now = services.clock.now()
    if queued is not None and now - queued > MAX_QUEUE_WAIT:
        log.info("assignment %s waited too long in the outbox; given back", assignment.id)
        await answers.release(services.db, assignment.id, "not_shown", now)
        request_dispatch(application)
        return False
    t = services.translator(offer.language, offer.timezone)
    if offer.examples_due:  # issue 14: a batch's examples come once, before its first task
        await show_examples(application, t, offer)
    if offer.training:
        header = training_header(t, header)
    deadline = now + timedelta(seconds=assignment.time_limit)
    caption = task_caption(
        t, batch, assignment, deadline, header=header, reputation=offer.reputation, item=item
    )
    markup = markup_of(task_buttons(t, batch, assignment.id, choices=item.choices))
    # The deadline is stored and armed just before sending: a bot killed mid-send still ends it.
    if not await services.db.run_write(start_timer, assignment.id, shown_at=now, deadline=deadline):
        log.info("assignment %s ended before it was shown", assignment.id)
        return False
    arm_deadline(application, assignment.id, deadline)
    try:
        message, prompt_id = await send_task(
            application, t, offer.worker_id, batch, item, caption, markup, replace=replace
        )
    except RetryAfter:
        cancel_deadline(application, assignment.id)  # the outbox rests, then sends it again
        raise
    except TelegramError as exc:
        await _not_shown(application, offer, exc)
        return False
    if not await services.db.run_write(
        record_messages,
        assignment.id,
        chat_id=offer.worker_id,
        message_id=message.message_id,
        prompt_message_id=prompt_id,
    ):  # ended meanwhile (answered in a flash, the worker blocked the bot, ...)
        log.info("assignment %s ended while it was being shown", assignment.id)
    return True


async def _not_shown(application: BotApplication, offer: Offer, error: TelegramError) -> None:
    """A task Telegram refused: its slot goes back (a worker who blocked the bot: unreachable)."""
    services = services_of(application)
    assignment_id = offer.assignment.id
    cancel_deadline(application, assignment_id)
    if isinstance(error, Forbidden):
        await answers.release(services.db, assignment_id, "unreachable", services.clock.now())
        await worker_unreachable(application, offer.worker_id)
        return
    log.warning("could not show assignment %s to %s: %s", assignment_id, offer.worker_id, error)
    await answers.release(services.db, assignment_id, "send_failed", services.clock.now())
    request_dispatch(application)


async def edit_task_message(
    application: BotApplication,
    chat_id: int,
    message_id: int,
    caption: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Edit a task message (the caller holds its lock); a worker who blocked the bot becomes
    unreachable."""
    if not await edit_caption(application, chat_id, message_id, caption, markup):
        await worker_unreachable(application, chat_id)


async def worker_unreachable(application: BotApplication, worker_id: int) -> None:
    """The worker blocked the bot: no pushes until they write again; their task is released."""
    services = services_of(application)
    now = services.clock.now()
    if await services.db.run_write(mark_unreachable, worker_id, now):
        log.info("worker %s blocked the bot; marked unreachable", worker_id)
    active = await services.db.run_read(active_assignment_of, worker_id)
    if active is not None:
        await answers.release(services.db, active.id, "unreachable", now)
        cancel_deadline(application, active.id)
        request_dispatch(application)


# -- the dispatcher ------------------------------------------------------------------------------


def request_dispatch(application: BotApplication) -> None:
    """Run a dispatcher pass now (after an answer, an expiry, a publish or a /ready)."""
    runtime = services_of(application).runtime
    if not runtime.dispatch_queued:  # a flag, not a scan of every job (one per open task)
        runtime.dispatch_queued = True
        job_queue(application).run_once(dispatch_job, 0, name="dispatch:now")


async def dispatch_job(context: BotContext) -> None:
    """One dispatcher pass: offer a task to the available workers who have none, as many as the
    outbox can send before the next pass."""
    application = context.application
    services = context.services
    runtime = services.runtime
    runtime.dispatch_queued = False  # this pass serves every request made so far
    if runtime.dispatch_lock.locked():
        runtime.dispatch_again = True  # the running pass goes round once more
        return
    async with runtime.dispatch_lock:
        while True:
            runtime.dispatch_again = False
            # Only what the outbox can send before the next pass: the longest waiting first.
            room = services.outbox.room(DISPATCH_INTERVAL)
            await dispatch_pass(
                services.db,
                policy_of(services),
                services.clock.now(),
                busy=runtime.busy,
                limit=room,
                claimed=lambda offers: _queue_pushed(application, offers),
            )
            if not runtime.dispatch_again:
                break


async def reputation_job(context: BotContext) -> None:
    """Refresh the reputation lines older than ``MAX_AGE`` of requesters with open batches (a
    claim only reads them: ``bot/reputation.py``)."""
    services = context.services
    refreshed = await refresh_due(services.db, services.clock.now())
    if refreshed:
        log.debug("refreshed the reputation of %s requesters", refreshed)


def _queue_pushed(application: BotApplication, offers: list[Offer]) -> None:
    """A write's claims, queued as the pass goes: the longest waiting first; each timer starts
    when its task is sent."""
    for offer in offers:
        queue_task(application, offer, Priority.PUSH)


# -- deadlines -----------------------------------------------------------------------------------


def arm_deadline(application: BotApplication, assignment_id: int, deadline: datetime) -> None:
    """Arm the deadline of ``assignment_id`` (expired at once if past), replacing any twin."""
    cancel_deadline(application, assignment_id)
    wheel = services_of(application).runtime.deadlines
    wheel.arm(assignment_id, deadline)
    _wake_for_earliest(application)


def cancel_deadline(application: BotApplication, assignment_id: int) -> None:
    """Disarm the deadline of an assignment that ended (and forget its timer refresh)."""
    runtime = services_of(application).runtime
    runtime.refreshed.pop(assignment_id, None)
    runtime.deadlines.cancel(assignment_id)  # the job, when it wakes, finds it gone


def _wake_for_earliest(application: BotApplication) -> None:
    """(Re)schedule the ``deadlines`` job for the earliest deadline unless it wakes before."""
    wheel = services_of(application).runtime.deadlines
    earliest = wheel.earliest()
    if earliest is None or (wheel.wake_at is not None and wheel.wake_at <= earliest):
        return
    if wheel.unschedule is not None:
        with contextlib.suppress(LookupError):  # it is running: the scheduler let it go
            wheel.unschedule()
    delay = max(0.0, (earliest - services_of(application).clock.now()).total_seconds())
    # However late the loop gets to it (APScheduler drops a run over a second late by default,
    # and this one run stands for every deadline armed after it).
    job = job_queue(application).run_once(
        deadlines_job, delay, name=DEADLINES_JOB, job_kwargs={"misfire_grace_time": None}
    )
    wheel.wake_at, wheel.unschedule = earliest, job.schedule_removal


async def deadlines_job(context: BotContext) -> None:
    """Expire every assignment whose deadline came, each in a task of its own (as one job per
    deadline did), then sleep until the next deadline."""
    application = context.application
    services = services_of(application)
    wheel = services.runtime.deadlines
    wheel.wake_at = wheel.unschedule = None
    for assignment_id in wheel.pop_due(services.clock.now()):
        application.create_task(
            expire_assignment(application, assignment_id), name=f"deadline:{assignment_id}"
        )
    _wake_for_earliest(application)


async def deadline_sweep(context: BotContext) -> None:
    """Expire what is past its deadline and armed nowhere alive (its process died, or another
    process showed it): the database's state change makes each expiry happen once."""
    services = context.services
    now = services.clock.now()
    await expire_past(context.application, before=now - SWEEP_GRACE, now=now, most=SWEEP_BATCH)
    await release_stale_offers(context.application)


async def expire_past(
    application: BotApplication, *, before: datetime, now: datetime, most: int | None = None
) -> int:
    """Expire what is past its deadline (before ``before``), ``EXPIRE_CHUNK`` to a write, at
    most ``most`` (None: all): each task's message says so, once; one dispatcher pass follows."""
    services = services_of(application)
    done = 0
    batches: dict[int, Batch | None] = {}
    while most is None or done < most:
        chunk = EXPIRE_CHUNK if most is None else min(EXPIRE_CHUNK, most - done)
        expired = await answers.expire_due(services.db, before, now, chunk)
        for one in expired:
            cancel_deadline(application, one.assignment.id)
            await _tell_expired(application, one, batches)
        done += len(expired)
        if len(expired) < chunk:
            break
    if done:
        request_dispatch(application)
    return done


async def release_stale_offers(application: BotApplication, *, everyone: bool = False) -> None:
    """Give back slots claimed but never shown by a process that stopped mid-send, all in one
    write: only offers older than ``STALE_OFFER`` (a live process shows a claimed task within
    seconds), or every one (``everyone``: at start, when this is the only process)."""
    services = services_of(application)
    now = services.clock.now()
    before = None if everyone else now - STALE_OFFER
    released = await answers.release_never_shown(services.db, before, now)
    if released:
        log.info("gave back %s tasks claimed and never shown", released)


async def expire_assignment(application: BotApplication, assignment_id: int) -> None:
    """Expire an assignment whose deadline came (nothing when it already ended)."""
    services = services_of(application)
    services.runtime.deadlines.cancel(assignment_id)  # fired, or the sweep found it first
    now = services.clock.now()
    expired = await answers.expire(services.db, assignment_id, now)
    if expired is None:
        current = await services.db.run_read(get_assignment, assignment_id)
        if current is not None and current.open_at(now) and current.deadline is not None:
            arm_deadline(application, assignment_id, current.deadline)  # fired a bit early
        return
    services.runtime.refreshed.pop(assignment_id, None)
    await _tell_expired(application, expired, {})
    request_dispatch(application)


async def _tell_expired(
    application: BotApplication, expired: answers.Expired, batches: dict[int, Batch | None]
) -> None:
    """The task's message says its time is up (and the worker that they are paused, after
    tasks run out in a row); ``batches`` keeps those already read."""
    services = services_of(application)
    assignment = expired.assignment
    t = await translator_for(services, assignment.worker_id)
    if assignment.batch_id not in batches:
        batches[assignment.batch_id] = await services.db.run_read(get_batch, assignment.batch_id)
    batch = batches[assignment.batch_id]
    if assignment.chat_id is not None and assignment.message_id is not None and batch:
        queue_edit(
            application,
            (assignment.chat_id, assignment.message_id),
            t("tasks.expired", title=batch.title),
            Priority.NOTICE,
        )
    if expired.paused:
        queue_text(application, assignment.worker_id, t("tasks.paused_after_timeouts"))


# -- edits and notices through the outbox ------------------------------------------------------


def queue_edit(
    application: BotApplication,
    message: tuple[int, int],
    caption: str,
    priority: Priority,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Queue an edit of a task message (made under its lock when its turn comes)."""
    chat_id, message_id = message

    async def deliver() -> None:
        async with services_of(application).runtime.message_lock(chat_id, message_id):
            await edit_task_message(application, chat_id, message_id, caption, markup)

    services_of(application).outbox.submit(chat_id, deliver, priority, what="edit")


def queue_text(
    application: BotApplication,
    chat_id: int,
    text: str,
    priority: Priority = Priority.NOTICE,
    *,
    worker: bool = True,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Queue a text message; a ``worker`` who blocked the bot becomes unreachable."""

    async def deliver() -> None:
        try:
            await application.bot.send_message(chat_id, text, reply_markup=reply_markup)
        except Forbidden:
            if worker:
                await worker_unreachable(application, chat_id)
            else:
                log.info("%s blocked the bot; message not delivered", chat_id)
        except BadRequest as exc:
            log.info("message to %s not delivered: %s", chat_id, exc)

    services_of(application).outbox.submit(chat_id, deliver, priority, what="notice")


# -- the visible timer ---------------------------------------------------------------------------


async def timer_job(context: BotContext) -> None:
    """Refresh the time left on long tasks, at most every 15 s each and a few edits a tick."""
    application = context.application
    services = context.services
    runtime = services.runtime
    if services.outbox.waiting:  # a nicety: never queued behind tasks people wait for
        return
    now = services.clock.now()
    due = await services.db.run_read(
        refreshable,
        now=now,
        min_time_limit=TIMER_MIN_LIMIT,
        shown_before=now - TIMER_REFRESH,
        limit=TIMER_BUDGET * 3,
    )
    edits = 0
    for assignment in due:
        last = runtime.refreshed.get(assignment.id)
        if last is not None and now - last < TIMER_REFRESH:
            continue
        if edits >= TIMER_BUDGET:
            break
        runtime.refreshed[assignment.id] = now
        edits += 1
        services.outbox.submit(
            assignment.worker_id,
            _refresher(application, assignment.id),
            Priority.NOTICE,
            what="timer",
        )


def _refresher(application: BotApplication, assignment_id: int) -> Callable[[], Awaitable[bool]]:
    return lambda: _refresh_timer(application, assignment_id)


async def _refresh_timer(application: BotApplication, assignment_id: int) -> bool:
    services = services_of(application)
    first = await services.db.run_read(get_assignment, assignment_id)
    if first is None or first.chat_id is None or first.message_id is None:
        return False
    async with services.runtime.message_lock(first.chat_id, first.message_id):
        now = services.clock.now()
        current = await services.db.run_read(get_assignment, assignment_id)
        if current is None or not current.open_at(now) or current.deadline is None:
            return False
        left = (current.deadline - now).total_seconds()
        if left < 5:
            return False
        batch = await services.db.run_read(get_batch, current.batch_id)
        item = await services.db.run_read(get_item, current.item_id)
        if batch is None or item is None:
            return False
        t = await translator_for(services, current.worker_id)
        reputation = await cached(services.db, batch.requester_id)
        caption = task_caption(
            t,
            batch,
            current,
            current.deadline,
            left=round(left / 5) * 5,
            reputation=reputation,
            item=item,
        )
        markup = markup_of(task_buttons(t, batch, current.id, current.draft, item.choices))
        await edit_task_message(application, first.chat_id, first.message_id, caption, markup)
    return True


async def start_task_loop(application: BotApplication) -> None:
    """At start: re-arm every active assignment from the database and start the jobs.

    Those already past their deadline expire at once, a few hundred to a write (a bot
    restarted after thousands of tasks were on screen serves within seconds); those never
    shown (the bot stopped between claiming and sending) go back to the pool in one write, at
    once when this is the only process (polling), once stale when other processes may be
    showing theirs (webhook mode).
    """
    services = services_of(application)
    now = services.clock.now()
    alone = services.settings.webhook is None
    await release_stale_offers(application, everyone=alone)
    expired = await expire_past(application, before=now, now=now)
    if expired:
        log.info("expired %s tasks whose time ran out while the bot was down", expired)
    armed = 0
    for assignment in await services.db.run_read(active_assignments):
        if assignment.deadline is not None:  # else claimed just now by another process
            arm_deadline(application, assignment.id, assignment.deadline)
            armed += 1
    if armed:
        log.info("re-armed %s task timers", armed)
    # Who is available when is stored per worker (migration 0017): worked out again by the first
    # pass, since TIMEZONE or the zone rules (tzdata) may have changed while the bot was down.
    await services.db.run_write(forget_spans)
    queue = job_queue(application)
    queue.run_repeating(dispatch_job, interval=DISPATCH_INTERVAL, first=1.0, name="dispatch")
    queue.run_repeating(timer_job, interval=TIMER_TICK, first=TIMER_TICK, name="timer-refresh")
    queue.run_repeating(
        deadline_sweep, interval=SWEEP_INTERVAL, first=SWEEP_INTERVAL, name="deadline-sweep"
    )
    queue.run_repeating(
        reputation_job, interval=REPUTATION_INTERVAL, first=REPUTATION_FIRST, name="reputation"
    )
