"""Tasks on the phone: pushing tasks, the buttons and replies that answer them, and their timers.

Rate budget: Telegram allows a bot about 30 messages a second in all, so an answer costs one
rate-limited call where it can (the callback answer is free; a photo task becomes the next photo
task with ``editMessageMedia``). Media is uploaded once per file (a lock per file while the
first upload runs) and sent again by its cached ``file_id``. Timers live in the database; the
JobQueue job ``deadline:ID`` fires at each deadline and is re-armed at start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_time
from telegram import (
    CallbackQuery,
    ChatMember,
    ForceReply,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, JobQueue

from bot import answers
from bot.context import Actor, BotContext, Services
from bot.dispatch import Offer, Policy, dispatch_pass, next_for, push_status
from bot.errors import CapExceeded, InvalidInput, UserError
from bot.handlers.common import callback, callback_args, keyboard
from bot.handlers.quality import pause_notice_text
from bot.i18n import Translator
from storage.assignments import (
    Assignment,
    active_assignment_of,
    active_assignments,
    assignment_for_message,
    get_assignment,
    record_messages,
    refreshable,
    start_timer,
)
from storage.batches import Batch, Item, get_batch, get_item, remember_file_id
from storage.users import User, get_user, mark_unreachable

log = logging.getLogger(__name__)

# Callback data: "PREFIX ASSIGNMENT_ID [LABEL_INDEX]" (STYLE.md 6), well under 64 bytes.
ANSWER = "ta"
TOGGLE = "tt"
DONE = "td"
SKIP = "ts"
PAUSE = "tp"

DISPATCH_INTERVAL = 3.0  # seconds between dispatcher passes (plus one right after events)
TIMER_TICK = 5.0  # how often the timer job looks for captions to refresh
TIMER_REFRESH = timedelta(seconds=15)  # a task message is refreshed at most this often...
TIMER_MIN_LIMIT = 60  # ...and only for tasks of a minute or more
TIMER_BUDGET = 10  # most refresh edits per tick (2 a second), leaving room for real tasks
MAX_INSTRUCTIONS = 600  # characters of instructions in a caption (captions: 1,024)
EMOTIONS = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral")

BotApplication = Application[Any, Any, Any, Any, Any, Any]


# -- per-application runtime state ------------------------------------------------------------


@dataclass
class TaskRuntime:
    """In-memory helpers of one running application: locks, file ids, what each message shows."""

    dispatch_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    dispatch_again: bool = False
    upload_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )
    message_locks: weakref.WeakValueDictionary[tuple[int, int], asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )
    views: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)
    refreshed: dict[int, datetime] = field(default_factory=dict)
    busy: set[int] = field(default_factory=set)  # workers whose answer is being handled

    def upload_lock(self, sha256: str) -> asyncio.Lock:
        lock = self.upload_locks.get(sha256)
        if lock is None:
            lock = self.upload_locks[sha256] = asyncio.Lock()
        return lock

    def message_lock(self, chat_id: int, message_id: int) -> asyncio.Lock:
        """Every edit of a task message happens under its lock, after re-reading the state."""
        lock = self.message_locks.get((chat_id, message_id))
        if lock is None:
            lock = self.message_locks[(chat_id, message_id)] = asyncio.Lock()
        return lock


_RUNTIMES: weakref.WeakKeyDictionary[object, TaskRuntime] = weakref.WeakKeyDictionary()


def runtime_of(application: BotApplication) -> TaskRuntime:
    """The runtime of an application, created on first use."""
    found = _RUNTIMES.get(application)
    if found is None:
        found = _RUNTIMES[application] = TaskRuntime()
    return found


@contextmanager
def handling(application: BotApplication, worker_id: int) -> Iterator[None]:
    """Mark a worker busy while their own action is handled (the dispatcher leaves them be)."""
    busy = runtime_of(application).busy
    busy.add(worker_id)
    try:
        yield
    finally:
        busy.discard(worker_id)


def _services(application: BotApplication) -> Services:
    services: Services = application.bot_data
    return services


def _job_queue(application: BotApplication) -> JobQueue[Any]:
    queue = application.job_queue
    assert queue is not None, "install python-telegram-bot[job-queue]"
    return queue


def _policy(services: Services) -> Policy:
    return Policy.from_settings(services.settings, services.quality)


async def _translator_for(services: Services, worker_id: int) -> Translator:
    user = await services.db.run_read(get_user, worker_id)
    return services.translator(user.language if user else "en", user.timezone if user else None)


# -- rendering -----------------------------------------------------------------------------


def clock_time(t: Translator, moment: datetime) -> str:
    """A deadline with seconds, in the worker's zone: ``14:05:30``."""
    return format_time(moment, "HH:mm:ss", tzinfo=t.timezone, locale=t.locale)


def span(seconds: float) -> str:
    """A duration as ``m:ss``."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def label_text(t: Translator, batch: Batch, label: str) -> str:
    """A label as the worker reads it (the default emotions are translated)."""
    if batch.type == "emotion" and label in EMOTIONS:
        return t(f"tasks.emotion.{label}")
    return label


def answer_text(t: Translator, batch: Batch, answer: Any) -> str:
    """A stored answer as the worker reads it."""
    if isinstance(answer, list):
        return ", ".join(label_text(t, batch, str(a)) for a in answer)
    if batch.type == "transcription":
        text = str(answer)
        return f"« {text[:150]}{'…' if len(text) > 150 else ''} »"
    return label_text(t, batch, str(answer))


def task_caption(
    t: Translator,
    batch: Batch,
    assignment: Assignment,
    deadline: datetime,
    *,
    header: str | None = None,
    left: float | None = None,
) -> str:
    """The text of a task: what to do, the pay, the deadline (and time left when refreshed)."""
    lines: list[str] = []
    if header:
        lines += [header, ""]
    lines.append(t(f"tasks.kind.{batch.type}", title=batch.title))
    instructions = batch.instructions.strip()
    if instructions:
        if len(instructions) > MAX_INSTRUCTIONS:
            instructions = instructions[: MAX_INSTRUCTIONS - 1] + "…"
        lines.append(instructions)
    if batch.type == "transcription":
        lines.append(t("tasks.hint.transcription"))
    elif batch.multiple:
        lines.append(t("tasks.hint.multiple"))
    lines.append("")
    lines.append(
        t(
            "tasks.pay_and_deadline",
            pay=t.money(assignment.reward),
            deadline=clock_time(t, deadline),
            limit=span(assignment.time_limit),
        )
    )
    if left is not None:
        lines.append(t("tasks.time_left", left=span(left)))
    return "\n".join(lines)[:1024]


def task_keyboard(
    t: Translator, batch: Batch, assignment_id: int, draft: Sequence[int] = ()
) -> InlineKeyboardMarkup:
    """One button per label (toggles with a tick and Done when ``multiple``), Skip and Pause."""
    rows: list[list[tuple[str, str]]] = []
    if batch.type != "transcription":
        buttons: list[tuple[str, str]] = []
        for index, label in enumerate(batch.labels):
            text = label_text(t, batch, label)
            if batch.multiple:
                buttons.append(
                    (
                        ("✅ " if index in draft else "") + text,
                        callback(TOGGLE, assignment_id, index),
                    )
                )
            else:
                buttons.append((text, callback(ANSWER, assignment_id, index)))
        width = 3 if all(len(text) <= 10 for text, _ in buttons) else 2
        rows += [buttons[i : i + width] for i in range(0, len(buttons), width)]
        if batch.multiple:
            rows.append([(t("tasks.button.done", count=len(draft)), callback(DONE, assignment_id))])
    rows.append(
        [
            (t("tasks.button.skip"), callback(SKIP, assignment_id)),
            (t("tasks.button.pause"), callback(PAUSE, assignment_id)),
        ]
    )
    return keyboard(rows)


def refusal(t: Translator, error: UserError) -> str:
    """The text of a refusal in the worker's language."""
    return t.render(error.message_key, error.params)


# -- sending and editing task messages --------------------------------------------------------


def _markup_key(markup: InlineKeyboardMarkup | None) -> str:
    return "" if markup is None else json.dumps(markup.to_dict(), sort_keys=True)


async def _edit_caption(
    application: BotApplication,
    chat_id: int,
    message_id: int,
    caption: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    """Edit a task message's caption and keyboard, skipping an edit that would change nothing.

    The caller holds the message lock. A user who blocked the bot becomes unreachable.
    """
    runtime = runtime_of(application)
    view = (caption, _markup_key(markup))
    if runtime.views.get((chat_id, message_id)) == view:
        return
    try:
        await application.bot.edit_message_caption(
            chat_id=chat_id, message_id=message_id, caption=caption, reply_markup=markup
        )
    except Forbidden:
        await worker_unreachable(application, chat_id)
        return
    except BadRequest as exc:
        log.info("could not edit task message %s/%s: %s", chat_id, message_id, exc)
        return
    if markup is None:  # a task's last state: nothing edits this message again
        runtime.views.pop((chat_id, message_id), None)
    else:
        runtime.views[(chat_id, message_id)] = view


async def _with_media(
    application: BotApplication,
    item: Item,
    send: Callable[[Any], Awaitable[Message | bool]],
) -> Message:
    """Run ``send`` with the item's cached file_id, or upload the file once and cache its id.

    The first upload of a file holds a lock; whoever waited on it finds the file_id stored.
    """
    if item.telegram_file_id is not None:
        return _message(await send(item.telegram_file_id))
    services = _services(application)
    async with runtime_of(application).upload_lock(item.media_sha256):
        fresh = await services.db.run_read(get_item, item.id)
        if fresh is not None and fresh.telegram_file_id is not None:
            return _message(await send(fresh.telegram_file_id))
        path = services.settings.data_dir / item.media_path
        data = await asyncio.to_thread(path.read_bytes)
        message = _message(await send(data))
        file_id = _file_id(message)
        if file_id is not None:
            await services.db.run_write(remember_file_id, item.media_sha256, file_id)
        return message


def _message(result: Message | bool) -> Message:
    if not isinstance(result, Message):
        raise BadRequest("Telegram did not return the message")
    return result


def _file_id(message: Message) -> str | None:
    if message.photo:
        return message.photo[-1].file_id
    if message.voice is not None:
        return message.voice.file_id
    if message.audio is not None:
        return message.audio.file_id
    return None


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
    services = _services(application)
    runtime = runtime_of(application)
    bot = application.bot
    assignment, batch, item = offer.assignment, offer.batch, offer.item
    t = services.translator(offer.language, offer.timezone)
    now = services.clock.now()
    deadline = now + timedelta(seconds=assignment.time_limit)
    caption = task_caption(t, batch, assignment, deadline, header=header)
    markup = task_keyboard(t, batch, assignment.id)
    chat_id = offer.worker_id
    prompt_id: int | None = None
    # The deadline is stored and armed before sending: a bot killed mid-send still ends it.
    if not await services.db.run_write(start_timer, assignment.id, shown_at=now, deadline=deadline):
        log.info("assignment %s ended before it was shown", assignment.id)
        return False
    arm_deadline(application, assignment.id, deadline)
    try:
        if item.media_kind == "image" and replace is not None:
            message = await _with_media(
                application,
                item,
                lambda media: bot.edit_message_media(
                    media=InputMediaPhoto(media, caption=caption),
                    chat_id=replace[0],
                    message_id=replace[1],
                    reply_markup=markup,
                ),
            )
        elif item.media_kind == "image":
            message = await _with_media(
                application,
                item,
                lambda media: bot.send_photo(chat_id, media, caption=caption, reply_markup=markup),
            )
        else:
            duration = timedelta(milliseconds=item.duration_ms) if item.duration_ms else None
            message = await _with_media(
                application,
                item,
                lambda media: bot.send_voice(
                    chat_id, media, duration=duration, caption=caption, reply_markup=markup
                ),
            )
            if batch.type == "transcription":
                prompt = await bot.send_message(
                    chat_id,
                    t("tasks.prompt"),
                    reply_markup=ForceReply(input_field_placeholder=t("tasks.prompt_placeholder")),
                    reply_parameters=ReplyParameters(
                        message.message_id, allow_sending_without_reply=True
                    ),
                )
                prompt_id = prompt.message_id
    except Forbidden:
        _cancel_deadline(application, assignment.id)
        await answers.release(services.db, assignment.id, "unreachable", services.clock.now())
        await worker_unreachable(application, chat_id)
        return False
    except TelegramError as exc:
        log.error("could not show assignment %s to %s: %s", assignment.id, chat_id, exc)
        _cancel_deadline(application, assignment.id)
        await answers.release(services.db, assignment.id, "send_failed", services.clock.now())
        return False
    runtime.views[(chat_id, message.message_id)] = (caption, _markup_key(markup))
    if not await services.db.run_write(
        record_messages,
        assignment.id,
        chat_id=chat_id,
        message_id=message.message_id,
        prompt_message_id=prompt_id,
    ):  # ended meanwhile (answered in a flash, the worker blocked the bot, ...)
        log.info("assignment %s ended while it was being shown", assignment.id)
    return True


async def worker_unreachable(application: BotApplication, worker_id: int) -> None:
    """The worker blocked the bot: no pushes until they write again; their task is released."""
    services = _services(application)
    now = services.clock.now()
    if await services.db.run_write(mark_unreachable, worker_id, now):
        log.info("worker %s blocked the bot; marked unreachable", worker_id)
    active = await services.db.run_read(active_assignment_of, worker_id)
    if active is not None:
        await answers.release(services.db, active.id, "unreachable", now)
        _cancel_deadline(application, active.id)
        request_dispatch(application)


# -- jobs: dispatcher, deadlines, timer refresh ------------------------------------------------


def request_dispatch(application: BotApplication) -> None:
    """Run a dispatcher pass now (after an answer, an expiry, a publish or a /ready)."""
    queue = _job_queue(application)
    if not queue.get_jobs_by_name("dispatch:now"):
        queue.run_once(dispatch_job, 0, name="dispatch:now")


async def dispatch_job(context: BotContext) -> None:
    """One dispatcher pass: offer a task to every available worker who has none."""
    application = context.application
    runtime = runtime_of(application)
    if runtime.dispatch_lock.locked():
        runtime.dispatch_again = True  # the running pass goes round once more
        return
    services = context.services
    async with runtime.dispatch_lock:
        while True:
            runtime.dispatch_again = False
            offers = await dispatch_pass(
                services.db, _policy(services), services.clock.now(), busy=runtime.busy
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


def arm_deadline(application: BotApplication, assignment_id: int, deadline: datetime) -> None:
    """Schedule ``deadline:ID`` at the deadline (at once if past), replacing any twin."""
    _cancel_deadline(application, assignment_id)
    clock = _services(application).clock
    delay = max(0.0, (deadline - clock.now()).total_seconds())
    _job_queue(application).run_once(
        deadline_job, delay, name=f"deadline:{assignment_id}", data=assignment_id
    )


def _cancel_deadline(application: BotApplication, assignment_id: int) -> None:
    runtime_of(application).refreshed.pop(assignment_id, None)
    for job in _job_queue(application).get_jobs_by_name(f"deadline:{assignment_id}"):
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
    runtime_of(application).refreshed.pop(assignment_id, None)
    t = await _translator_for(services, assignment.worker_id)
    batch = await services.db.run_read(get_batch, assignment.batch_id)
    if assignment.chat_id is not None and assignment.message_id is not None and batch:
        chat_id, message_id = assignment.chat_id, assignment.message_id
        async with runtime_of(application).message_lock(chat_id, message_id):
            await _edit_caption(
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


async def timer_job(context: BotContext) -> None:
    """Refresh the time left on long tasks, at most every 15 s each and a few edits a tick."""
    application = context.application
    services = context.services
    runtime = runtime_of(application)
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
    services = _services(application)
    first = await services.db.run_read(get_assignment, assignment_id)
    if first is None or first.chat_id is None or first.message_id is None:
        return False
    async with runtime_of(application).message_lock(first.chat_id, first.message_id):
        now = services.clock.now()
        current = await services.db.run_read(get_assignment, assignment_id)
        if current is None or not current.open_at(now) or current.deadline is None:
            return False
        left = (current.deadline - now).total_seconds()
        if left < 5:
            return False
        batch = await services.db.run_read(get_batch, current.batch_id)
        if batch is None:
            return False
        t = await _translator_for(services, current.worker_id)
        caption = task_caption(t, batch, current, current.deadline, left=round(left / 5) * 5)
        markup = task_keyboard(t, batch, current.id, current.draft)
        await _edit_caption(application, first.chat_id, first.message_id, caption, markup)
    return True


async def start_task_loop(application: BotApplication) -> None:
    """At start: re-arm every active assignment from the database and start the jobs.

    One already past its deadline expires at once; one never shown (the bot stopped between
    claiming and sending) goes back to the pool.
    """
    services = _services(application)
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
    queue = _job_queue(application)
    queue.run_repeating(dispatch_job, interval=DISPATCH_INTERVAL, first=1.0, name="dispatch")
    queue.run_repeating(timer_job, interval=TIMER_TICK, first=TIMER_TICK, name="timer-refresh")


# -- after an answer, a skip or a pause ----------------------------------------------------------


async def _status_line(
    services: Services,
    t: Translator,
    worker_id: int,
    *,
    worker: User | None = None,
    cap_left: int | None = None,
) -> str:
    """Why no task follows: nothing to do, a pause, quiet hours, no window, or the cap."""
    policy = _policy(services)
    now = services.clock.now()
    status = await push_status(services.db, policy, worker_id, now, user=worker, left=cap_left)
    if status == "cap":
        return t("tasks.status.cap", reset=t.date(policy.next_month_start(now)))
    return t(f"tasks.status.{status}")


async def follow_up(
    application: BotApplication,
    worker_id: int,
    old: tuple[int, int, bool],
    *,
    ended_caption: str,
    header: str | None,
    t: Translator | None = None,
    worker: User | None = None,
    cap_left: int | None = None,
) -> bool:
    """Offer the next task after an answer or a skip, spending as few calls as possible.

    ``old`` is (chat, message id, is a photo) of the task just ended. A photo task becomes the
    next photo task in one ``editMessageMedia``; otherwise the old message shows how it ended
    and the next task comes as a new message. True when a next task was shown. ``t``, ``worker``
    and ``cap_left``, when the caller has them (an answer), are not read again.
    """
    services = _services(application)
    runtime = runtime_of(application)
    chat_id, message_id, is_photo = old
    offer = await next_for(
        services.db,
        _policy(services),
        worker_id,
        services.clock.now(),
        user=worker,
        left=cap_left,
    )
    if t is None:
        t = await _translator_for(services, worker_id)
    async with runtime.message_lock(chat_id, message_id):
        if offer is not None and is_photo and offer.item.media_kind == "image":
            if await show_task(application, offer, replace=(chat_id, message_id), header=header):
                return True
            offer = None  # released by show_task; the old message still shows the old task
        status = (
            ""
            if offer is not None
            else "\n\n"
            + await _status_line(services, t, worker_id, worker=worker, cap_left=cap_left)
        )
        await _edit_caption(application, chat_id, message_id, ended_caption + status)
    if offer is None:
        return False
    return await show_task(application, offer, header=header)


def _message_ref(message: object) -> tuple[int, int, bool]:
    """(chat, message id, is a photo) of the message a button was on; zeros if inaccessible."""
    if not isinstance(message, Message):
        return (0, 0, False)
    return (message.chat_id, message.message_id, bool(message.photo))


def _query_message(update: Update) -> tuple[int, int, bool]:
    query = update.callback_query
    assert query is not None
    return _message_ref(query.message)


def _assignment_arg(update: Update, prefix: str, count: int) -> list[int]:
    args = callback_args(update, prefix, count)
    if not all(arg.isdigit() and len(arg) < 19 for arg in args):
        raise InvalidInput("error.bad_button")
    return [int(arg) for arg in args]


# -- callback handlers ----------------------------------------------------------------------


async def answer_button(update: Update, context: BotContext) -> None:
    """A label button of a single-choice task: store, credit, confirm, show the next task."""
    assignment_id, index = _assignment_arg(update, ANSWER, 2)
    await _submit_by_button(update, context, assignment_id, label=index)


async def done_button(update: Update, context: BotContext) -> None:
    """Done on a multiple-choice task: submit the ticked labels."""
    (assignment_id,) = _assignment_arg(update, DONE, 1)
    await _submit_by_button(update, context, assignment_id, from_draft=True)


async def _submit_by_button(
    update: Update,
    context: BotContext,
    assignment_id: int,
    *,
    label: int | None = None,
    from_draft: bool = False,
) -> None:
    actor = await context.actor(update)
    query = update.callback_query
    assert query is not None
    with handling(context.application, actor.user.id):
        await _submit_and_follow(context, query, actor, assignment_id, label, from_draft)


async def _submit_and_follow(
    context: BotContext,
    query: CallbackQuery,
    actor: Actor,
    assignment_id: int,
    label: int | None,
    from_draft: bool,
) -> None:
    services = context.services
    t = actor.t
    try:
        credited = await answers.submit(
            services.db,
            _policy(services),
            assignment_id,
            actor.user.id,
            services.clock.now(),
            label=label,
            from_draft=from_draft,
        )
    except CapExceeded as error:
        await query.answer(refusal(t, error)[:200], show_alert=True)
        chat_id, message_id, _ = _message_ref(query.message)
        if chat_id:
            async with runtime_of(context.application).message_lock(chat_id, message_id):
                await _edit_caption(
                    context.application, chat_id, message_id, t("tasks.released_cap")
                )
        return
    await query.answer(_credited_text(t, credited)[:200])
    await _after_answer(
        context, actor.user.id, _message_ref(query.message), t, credited, actor.user
    )


def _credited_text(t: Translator, credited: answers.Credited) -> str:
    return t(
        "tasks.credited",
        amount=t.money(credited.amount),
        total=t.money(credited.month_total),
        left=t.money(credited.cap_left),
    )


async def _after_answer(
    context: BotContext,
    worker_id: int,
    old: tuple[int, int, bool],
    t: Translator,
    credited: answers.Credited,
    worker: User | None = None,
) -> bool:
    application = context.application
    _cancel_deadline(application, credited.assignment.id)
    request_dispatch(application)  # the item may now be complete; others may be waiting
    await _tell_pauses(application, worker_id, t, credited)
    try:
        return await _follow_answer(application, worker_id, old, t, credited, worker)
    finally:
        await _tell_item_and_batch_end(application, credited)


async def _follow_answer(
    application: BotApplication,
    worker_id: int,
    old: tuple[int, int, bool],
    t: Translator,
    credited: answers.Credited,
    worker: User | None = None,
) -> bool:
    if not old[0]:
        return False
    ended = t(
        "tasks.answered",
        title=credited.batch.title,
        answer=answer_text(t, credited.batch, credited.answer),
        amount=t.money(credited.amount),
        seconds=f"{(credited.assignment.duration_ms or 0) / 1000:.1f}",
    )
    header = t("tasks.header.credited", amount=t.money(credited.amount))
    try:
        return await follow_up(
            application,
            worker_id,
            old,
            ended_caption=ended,
            header=header,
            t=t,
            worker=worker,
            cap_left=credited.cap_left,
        )
    except TelegramError as exc:  # the answer is stored and paid; only the display failed
        log.warning("follow-up after assignment %s failed: %s", credited.assignment.id, exc)
        return False


async def toggle_button(update: Update, context: BotContext) -> None:
    """A label of a multiple-choice task: tick or untick it and show the tick."""
    assignment_id, index = _assignment_arg(update, TOGGLE, 2)
    actor = await context.actor(update)
    t = actor.t
    services = context.services
    query = update.callback_query
    assert query is not None
    assignment, batch = await answers.toggle(
        services.db, assignment_id, actor.user.id, index, services.clock.now()
    )
    ticked = index in assignment.draft
    label = label_text(t, batch, batch.labels[index])
    await query.answer(t("tasks.ticked" if ticked else "tasks.unticked", label=label))
    chat_id, message_id, _ = _query_message(update)
    if not chat_id:
        return
    async with runtime_of(context.application).message_lock(chat_id, message_id):
        current = await services.db.run_read(get_assignment, assignment_id)
        if current is None or not current.open_at(services.clock.now()):
            return
        caption = runtime_of(context.application).views.get((chat_id, message_id))
        markup = task_keyboard(t, batch, assignment_id, current.draft)
        if caption is not None and caption[1] == _markup_key(markup):
            return
        try:
            await context.bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=message_id, reply_markup=markup
            )
        except Forbidden:
            await worker_unreachable(context.application, chat_id)
            return
        except BadRequest as exc:
            log.info("could not show the tick on %s/%s: %s", chat_id, message_id, exc)
            return
        if caption is not None:
            runtime_of(context.application).views[(chat_id, message_id)] = (
                caption[0],
                _markup_key(markup),
            )


async def skip_button(update: Update, context: BotContext) -> None:
    """Skip: the slot goes back to the pool, no pay and no penalty; the next task follows."""
    (assignment_id,) = _assignment_arg(update, SKIP, 1)
    actor = await context.actor(update)
    t = actor.t
    services = context.services
    query = update.callback_query
    assert query is not None
    with handling(context.application, actor.user.id):
        skipped = await answers.skip(
            services.db, assignment_id, actor.user.id, services.clock.now()
        )
        _cancel_deadline(context.application, assignment_id)
        await query.answer(t("tasks.skipped_answer"))
        request_dispatch(context.application)
        batch = await services.db.run_read(get_batch, skipped.batch_id)
        title = batch.title if batch else ""
        old = _query_message(update)
        if not old[0]:
            return
        try:
            await follow_up(
                context.application,
                actor.user.id,
                old,
                ended_caption=t("tasks.skipped", title=title),
                header=t("tasks.header.skipped"),
            )
        except TelegramError as exc:
            log.warning("follow-up after skipping %s failed: %s", assignment_id, exc)


async def pause_button(update: Update, context: BotContext) -> None:
    """Pause on a task: stop pushes and give this task back; /resume brings them back."""
    (assignment_id,) = _assignment_arg(update, PAUSE, 1)
    actor = await context.actor(update)
    t = actor.t
    services = context.services
    query = update.callback_query
    assert query is not None
    released = await answers.pause_from_task(
        services.db, assignment_id, actor.user.id, services.clock.now()
    )
    await query.answer(t("tasks.paused_answer"))
    if released is None:
        return
    _cancel_deadline(context.application, assignment_id)
    request_dispatch(context.application)
    chat_id, message_id, _ = _query_message(update)
    if chat_id:
        async with runtime_of(context.application).message_lock(chat_id, message_id):
            await _edit_caption(context.application, chat_id, message_id, t("tasks.paused"))


# -- transcription replies ------------------------------------------------------------------


async def text_answer(update: Update, context: BotContext) -> None:
    """A text that answers a transcription: a reply to its clip or prompt, or plain text while
    one is active. Anything else goes on to the other handlers (group 0)."""
    message = update.message
    sender = update.effective_user
    if message is None or message.text is None or sender is None:
        return
    services = context.services
    target = message.reply_to_message
    if target is not None:
        assignment = await services.db.run_read(
            assignment_for_message, message.chat_id, target.message_id
        )
    else:
        assignment = await services.db.run_read(active_assignment_of, sender.id)
        if assignment is not None:
            batch = await services.db.run_read(get_batch, assignment.batch_id)
            if batch is None or batch.type != "transcription":
                assignment = None
    if assignment is None:
        return
    actor = await context.actor(update)
    t = actor.t
    with handling(context.application, actor.user.id):
        try:
            credited = await answers.submit(
                services.db,
                _policy(services),
                assignment.id,
                actor.user.id,
                services.clock.now(),
                text=message.text,
            )
        except UserError as error:
            await message.reply_text(refusal(t, error))
            raise ApplicationHandlerStop from None
        old = (assignment.chat_id or 0, assignment.message_id or 0, False)
        shown = await _after_answer(context, actor.user.id, old, t, credited, actor.user)
        if not shown:
            status = await _status_line(
                services, t, actor.user.id, worker=actor.user, cap_left=credited.cap_left
            )
            await message.reply_text(_credited_text(t, credited) + "\n\n" + status)
    raise ApplicationHandlerStop


# -- a worker who blocks the bot ----------------------------------------------------------------


async def my_chat_member(update: Update, context: BotContext) -> None:
    """The worker blocked the bot (Telegram says so): mark them unreachable at once."""
    change = update.my_chat_member
    if change is None or change.chat.type != "private":
        return
    if change.new_chat_member.status == ChatMember.BANNED:
        await worker_unreachable(context.application, change.chat.id)


# -- quality news after an answer: a paused type, an item completed early, a batch done ----------


async def _tell_pauses(
    application: BotApplication, worker_id: int, t: Translator, credited: answers.Credited
) -> None:
    """The worker is told at once why a type was paused, with the numbers, and what to do."""
    for notice in credited.quality.pauses:
        try:
            await application.bot.send_message(worker_id, pause_notice_text(t, notice))
        except Forbidden:
            await worker_unreachable(application, worker_id)
        except TelegramError as exc:
            log.warning("could not tell worker %s about a pause: %s", worker_id, exc)


async def _tell_item_and_batch_end(application: BotApplication, credited: answers.Credited) -> None:
    """Workers whose task an early stop released get the next one; the requester of a batch
    that just ended gets its summary."""
    services = _services(application)
    for released in credited.quality.released:
        _cancel_deadline(application, released.id)
        if released.chat_id is None or released.message_id is None:
            continue
        item = await services.db.run_read(get_item, released.item_id)
        is_photo = item is not None and item.media_kind == "image"
        wt = await _translator_for(services, released.worker_id)
        with handling(application, released.worker_id):
            try:
                await follow_up(
                    application,
                    released.worker_id,
                    (released.chat_id, released.message_id, is_photo),
                    ended_caption=wt("quality.item_completed", title=credited.batch.title),
                    header=wt("quality.header.item_completed"),
                )
            except TelegramError as exc:
                log.warning("follow-up after releasing %s failed: %s", released.id, exc)
    end = credited.quality.batch_end
    if end is None:
        return
    requester = end.batch.requester_id
    if await services.db.run_read(get_user, requester) is None:
        return  # never wrote to the bot: Telegram would refuse the message
    rt = await _translator_for(services, requester)
    text = rt(
        "quality.batch_done",
        id=end.batch.id,
        title=end.batch.title,
        items=end.items,
        answers=end.answers,
        spent=rt.money(end.spent),
        refunded=rt.money(end.refunded),
    )
    try:
        await application.bot.send_message(requester, text)
    except TelegramError as exc:
        log.warning("could not tell requester %s that batch %s ended: %s", requester, end, exc)
