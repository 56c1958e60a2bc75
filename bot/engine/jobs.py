"""Engine room, jobs: showing a claimed task, its deadline job, the dispatcher and the timer
refresh (PTB's JobQueue, STYLE.md 5).

Timers live in the database; the JobQueue job ``deadline:ID`` fires at each deadline and is
re-armed at start. The dispatcher runs every few seconds and once right after each event.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import Forbidden, TelegramError
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
from bot.engine.render import task_buttons, task_caption
from bot.telegram_ui import translator_for
from storage.assignments import (
    active_assignment_of,
    active_assignments,
    get_assignment,
    record_messages,
    refreshable,
    start_timer,
)
from storage.batches import get_batch, get_item
from storage.users import mark_unreachable

log = logging.getLogger(__name__)

DISPATCH_INTERVAL = 3.0  # seconds between dispatcher passes (plus one right after events)
TIMER_TICK = 5.0  # how often the timer job looks for captions to refresh
TIMER_REFRESH = timedelta(seconds=15)  # a task message is refreshed at most this often...
TIMER_MIN_LIMIT = 60  # ...and only for tasks of a minute or more
TIMER_BUDGET = 10  # most refresh edits per tick (2 a second), leaving room for real tasks


def job_queue(application: BotApplication) -> JobQueue[Any]:
    queue = application.job_queue
    assert queue is not None, "install python-telegram-bot[job-queue]"
    return queue


def policy_of(services: Services) -> Policy:
    return Policy.from_settings(services.settings, services.quality)


# -- showing a task ------------------------------------------------------------------------------


async def show_task(
    application: BotApplication,
    offer: Offer,
    *,
    replace: tuple[int, int] | None = None,
    header: str | None = None,
) -> bool:
    """Deliver a claimed task, start its timer (deadline stored) and arm its deadline job.

    ``replace``: a photo task message (chat, message id) to turn into this task with
    ``editMessageMedia`` (the caller holds its lock; only for an image item). On a 403 the worker
    becomes unreachable; on any failure the slot is released. True when the task is shown.
    """
    services = services_of(application)
    assignment, batch, item = offer.assignment, offer.batch, offer.item
    t = services.translator(offer.language, offer.timezone)
    now = services.clock.now()
    deadline = now + timedelta(seconds=assignment.time_limit)
    caption = task_caption(t, batch, assignment, deadline, header=header, item=item)
    markup = markup_of(task_buttons(t, batch, assignment.id, choices=item.choices))
    chat_id = offer.worker_id
    # The deadline is stored and armed before sending: a bot killed mid-send still ends it.
    if not await services.db.run_write(start_timer, assignment.id, shown_at=now, deadline=deadline):
        log.info("assignment %s ended before it was shown", assignment.id)
        return False
    arm_deadline(application, assignment.id, deadline)
    try:
        message, prompt_id = await send_task(
            application, t, chat_id, batch, item, caption, markup, replace=replace
        )
    except Forbidden:
        cancel_deadline(application, assignment.id)
        await answers.release(services.db, assignment.id, "unreachable", services.clock.now())
        await worker_unreachable(application, chat_id)
        return False
    except TelegramError as exc:
        log.error("could not show assignment %s to %s: %s", assignment.id, chat_id, exc)
        cancel_deadline(application, assignment.id)
        await answers.release(services.db, assignment.id, "send_failed", services.clock.now())
        return False
    if not await services.db.run_write(
        record_messages,
        assignment.id,
        chat_id=chat_id,
        message_id=message.message_id,
        prompt_message_id=prompt_id,
    ):  # ended meanwhile (answered in a flash, the worker blocked the bot, ...)
        log.info("assignment %s ended while it was being shown", assignment.id)
    return True


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
    queue = job_queue(application)
    if not queue.get_jobs_by_name("dispatch:now"):
        queue.run_once(dispatch_job, 0, name="dispatch:now")


async def dispatch_job(context: BotContext) -> None:
    """One dispatcher pass: offer a task to every available worker who has none."""
    application = context.application
    services = context.services
    runtime = services.runtime
    if runtime.dispatch_lock.locked():
        runtime.dispatch_again = True  # the running pass goes round once more
        return
    async with runtime.dispatch_lock:
        while True:
            runtime.dispatch_again = False
            offers = await dispatch_pass(
                services.db, policy_of(services), services.clock.now(), busy=runtime.busy
            )
            if offers:
                results = await asyncio.gather(
                    *(show_task(application, offer) for offer in offers), return_exceptions=True
                )
                for offer, result in zip(offers, results, strict=True):
                    if isinstance(result, BaseException):
                        log.error(
                            "showing assignment %s failed",
                            offer.assignment.id,
                            exc_info=result,
                        )
            if not runtime.dispatch_again:
                break


# -- deadlines -----------------------------------------------------------------------------------


def arm_deadline(application: BotApplication, assignment_id: int, deadline: datetime) -> None:
    """Schedule ``deadline:ID`` at the deadline (at once if past), replacing any twin."""
    cancel_deadline(application, assignment_id)
    clock = services_of(application).clock
    delay = max(0.0, (deadline - clock.now()).total_seconds())
    job_queue(application).run_once(
        deadline_job, delay, name=f"deadline:{assignment_id}", data=assignment_id
    )


def cancel_deadline(application: BotApplication, assignment_id: int) -> None:
    """Remove the deadline job of an assignment that ended (and forget its timer refresh)."""
    services_of(application).runtime.refreshed.pop(assignment_id, None)
    for job in job_queue(application).get_jobs_by_name(f"deadline:{assignment_id}"):
        job.schedule_removal()


async def deadline_job(context: BotContext) -> None:
    """Expire an assignment at its deadline: edit its message, give the slot back."""
    job = context.job
    assert job is not None
    assignment_id = job.data
    assert isinstance(assignment_id, int)
    application = context.application
    services = context.services
    now = services.clock.now()
    expired = await answers.expire(services.db, assignment_id, now)
    if expired is None:
        current = await services.db.run_read(get_assignment, assignment_id)
        if current is not None and current.open_at(now) and current.deadline is not None:
            arm_deadline(application, assignment_id, current.deadline)  # fired a bit early
        return
    assignment = expired.assignment
    services.runtime.refreshed.pop(assignment_id, None)
    t = await translator_for(services, assignment.worker_id)
    batch = await services.db.run_read(get_batch, assignment.batch_id)
    if assignment.chat_id is not None and assignment.message_id is not None and batch:
        chat_id, message_id = assignment.chat_id, assignment.message_id
        async with services.runtime.message_lock(chat_id, message_id):
            await edit_task_message(
                application, chat_id, message_id, t("tasks.expired", title=batch.title)
            )
    if expired.paused:
        try:
            await application.bot.send_message(
                assignment.worker_id, t("tasks.paused_after_timeouts")
            )
        except Forbidden:
            await worker_unreachable(application, assignment.worker_id)
    request_dispatch(application)


# -- the visible timer ---------------------------------------------------------------------------


async def timer_job(context: BotContext) -> None:
    """Refresh the time left on long tasks, at most every 15 s each and a few edits a tick."""
    application = context.application
    services = context.services
    runtime = services.runtime
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
        if await _refresh_timer(application, assignment.id):
            runtime.refreshed[assignment.id] = now
            edits += 1


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
        left_shown = round(left / 5) * 5
        caption = task_caption(t, batch, current, current.deadline, left=left_shown, item=item)
        markup = markup_of(task_buttons(t, batch, current.id, current.draft, item.choices))
        await edit_task_message(application, first.chat_id, first.message_id, caption, markup)
    return True


async def start_task_loop(application: BotApplication) -> None:
    """At start: re-arm every active assignment from the database and start the jobs.

    One already past its deadline expires at once; one never shown (the bot stopped between
    claiming and sending) goes back to the pool.
    """
    services = services_of(application)
    now = services.clock.now()
    armed = 0
    for assignment in await services.db.run_read(active_assignments):
        if assignment.deadline is None:
            await answers.release(services.db, assignment.id, "not_shown", now)
            continue
        arm_deadline(application, assignment.id, assignment.deadline)
        armed += 1
    if armed:
        log.info("re-armed %s task timers", armed)
    queue = job_queue(application)
    queue.run_repeating(dispatch_job, interval=DISPATCH_INTERVAL, first=1.0, name="dispatch")
    queue.run_repeating(timer_job, interval=TIMER_TICK, first=TIMER_TICK, name="timer-refresh")
